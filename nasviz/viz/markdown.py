"""Showing library text (arch strings, error messages) in Markdown-rendering UIs.

NB201 strings are full of ``~`` and ``|``; Markdown (Streamlit's st.error, st.caption,
...) turns ``~text~`` into strikethrough and ``|`` rows into tables. Escape first.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$])")


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown-special character backslash-escaped, so it shows verbatim."""
    return _SPECIAL.sub(r"\\\1", str(text))
