"""Hand-edited URLs with bad numbers: the page shows one clean message, never a traceback.

``/?cell=²`` (a character ``str.isdigit`` calls a digit that ``int()`` refuses) and a 5,000-digit index (more
digits than ``int()`` converts) used to escape the pages' ``NasvizError`` handling as ``ValueError``.
"""

from __future__ import annotations

import pytest
from _helpers import run_page
from streamlit.testing.v1 import AppTest

from pathlib import Path

PAGES = Path(__file__).resolve().parents[1] / "pages"
MAP, TRAVERSAL = str(PAGES / "latent_map.py"), str(PAGES / "traversal.py")


def _open(script: str, **params) -> AppTest:
    at = AppTest.from_file(script, default_timeout=300)
    at.query_params.update(params)
    return run_page(script, at)  # fails on any exception the page raised


@pytest.mark.parametrize("value", ["²", "٣", "9" * 5000, "-1", "15625"])
def test_map_cell_from_the_url(value):
    at = _open(MAP, cell=value)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "15624" in errors[0], errors
    assert len(errors[0]) < 300 and "\n" not in errors[0].strip()


@pytest.mark.parametrize("value", ["9" * 5000, "²"])
def test_traversal_anchor_from_the_url(value):
    at = _open(TRAVERSAL, anchor=value)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "NB201 index" in errors[0], errors
    assert len(errors[0]) < 300
    assert "showing #6111 (the best cell)" in errors[0]  # no valid anchor yet: the page shows the best cell
