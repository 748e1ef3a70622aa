"""User-facing errors.

Every error a user can act on is a :class:`NasvizError`: its message says what was
wrong with the input and what is accepted. The CLI prints the message and exits
with status 2; the app shows it in the page. It subclasses ``ValueError`` so
library callers can catch it the usual way.
"""


class NasvizError(ValueError):
    """Bad input (architecture, file, option) with a message a user can act on."""


class DataFileError(NasvizError):
    """A data or checkpoint file is missing, corrupt or of the wrong kind."""
