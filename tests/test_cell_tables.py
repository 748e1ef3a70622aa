"""Which cell a table row names (pages/_ui.cell_of_row, behind every table whose rows show a diagram on a click)."""

from __future__ import annotations

import pytest

from nasviz.errors import NasvizError
from nasviz.spaces import get_space
from pages._ui import cell_of_row


def test_a_row_names_its_cell_by_string_first_then_by_index():
    nb201 = get_space("nb201")
    assert nb201.index(cell_of_row("nb201", {"index": 6111, "arch": "x"})) == 6111
    text = nb201.cell(42).to_str()
    # a trial row: the string wins over an index that is not the space's (NB101 trials store a sample row)
    assert nb201.index(cell_of_row("nb201", {"index": 7, "cell": text})) == 42
    nb101 = get_space("nb101")
    c = nb101.cell(1234)
    assert nb101.index(cell_of_row("nb101", {"index": 0, "cell": c.to_json()})) == 1234
    assert nb101.index(cell_of_row("nb101", {"index": 1234})) == 1234


@pytest.mark.parametrize("row", [{}, {"index": None}, {"index": float("nan")}, {"index": "abc"}, {"cell": "  ", "index": None}])
def test_a_row_without_a_cell_says_so(row):
    with pytest.raises(NasvizError, match="names no cell"):
        cell_of_row("nb201", row)


def test_a_malformed_cell_string_is_the_space_s_own_error():
    with pytest.raises(NasvizError):
        cell_of_row("nb201", {"cell": "|conv~0|+|"})
