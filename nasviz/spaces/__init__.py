"""Search spaces: what an architecture is.

``SPACES`` maps a space name to a factory; :func:`get_space` gives a clear error for
unknown names.
"""

from __future__ import annotations

from typing import Callable, Iterator, Protocol, runtime_checkable

import numpy as np

from nasviz.errors import NasvizError


@runtime_checkable
class SearchSpace(Protocol):
    """What every space offers (cells are immutable, hashable values)."""

    name: str

    def parse(self, text: str): ...
    def enumerate(self) -> Iterator: ...
    def sample(self, rng: np.random.Generator): ...
    def mutate(self, cell, rng: np.random.Generator): ...
    def neighbours(self, cell) -> list: ...


def _nb201():
    from nasviz.spaces.nb201 import NB201Space

    return NB201Space()


def _nb101():
    from nasviz.spaces.nb101 import NB101Space

    return NB101Space()


SPACES: dict[str, Callable[[], SearchSpace]] = {"nb201": _nb201, "nb101": _nb101}
_CACHE: dict[str, SearchSpace] = {}


def get_space(name: str) -> SearchSpace:
    """The space called ``name`` (built once per process)."""
    key = str(name).lower()
    if key not in SPACES:
        raise NasvizError(f"unknown space {name!r}; accepted: {', '.join(sorted(SPACES))}")
    if key not in _CACHE:
        _CACHE[key] = SPACES[key]()
    return _CACHE[key]
