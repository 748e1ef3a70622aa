"""Which cell a table row names (pages/_ui.cell_of_row, behind every table whose rows show a diagram on a click)."""

from __future__ import annotations

import numpy as np
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


def _table_app():
    import pandas as pd
    import streamlit as st

    from pages import _ui

    cells = {"a": [6111, 42], "b": [6111, 43]}[st.radio("rows", ["a", "b"], key="rows")]
    _ui.cell_table(pd.DataFrame({"index": cells}), space="nb201", key="t")
    _ui.cell_table(pd.DataFrame({"index": cells}), space="nb201", key="grows", scope="run-7")


def test_a_table_s_selection_is_kept_by_what_it_lists():
    """Other cells: a new key (no stale row selected); the same scope (a live run's growing trials): the same."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_table_app, default_timeout=60)
    at.run()
    def keys() -> list[str]:  # the user key ends each table's element id ("$$ID-<hash>-<key>")
        return sorted(d.proto.id.split("-", 2)[2] for d in at.dataframe)

    first = keys()
    assert "grows-run-7" in first and len(first) == 2
    at.radio(key="rows").set_value("b")
    at.run()
    assert not at.exception
    second = keys()
    assert "grows-run-7" in second
    assert [k for k in second if k.startswith("t-")] != [k for k in first if k.startswith("t-")]


def _list_app():
    import pandas as pd

    from pages import _ui

    _ui.cell_list(pd.DataFrame({"index": [6111, 42], "score": [91.234567, float("nan")],
                                "note": ["<b>not bold</b>", "a|b"]}), space="nb201")
    _ui.cell_list(pd.DataFrame({"index": [None], "score": [1e-9]}), space="nb201")


def test_a_cell_list_unfolds_each_cells_diagram_and_shows_text_verbatim():
    """pages/_ui.cell_list: the first column of each row that names a cell unfolds that cell's diagram (the SVG
    dot drew for it); numbers to 4 significant digits (a collapsed embedding's 1e-9 is not 0); text escaped."""
    import base64
    import re

    from streamlit.testing.v1 import AppTest

    from _helpers import html_tables
    from nasviz.viz.diagrams import cell_dot, dot_available, render_svgs

    at = AppTest.from_function(_list_app, default_timeout=60)
    at.run()
    assert not at.exception
    first, second = html_tables(at)
    assert first["index"].tolist() == [6111, 42] and first["score"].tolist()[0] == 91.23
    assert np.isnan(first["score"].tolist()[1])
    assert first["note"].tolist() == ["<b>not bold</b>", "a|b"]
    assert second["score"].tolist() == [1e-9] and not second["diagram"].any()  # a row without a cell: no diagram
    body = at.get("html")[0].proto.body
    assert "<b>" not in body and "&lt;b&gt;" in body
    if dot_available():
        assert first["diagram"].all()
        def drawing(svg: str) -> str:  # dot numbers the ids of a graph by its place in the run that drew it
            return re.sub(r' id="[^"]*"', "", svg)

        shown = [base64.b64decode(s).decode() for s in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', body)]
        want = [render_svgs([cell_dot("nb201", get_space("nb201").cell(i))])[0] for i in (6111, 42)]
        assert [drawing(s) for s in shown] == [drawing(s) for s in want]


def _charts_app():
    import plotly.graph_objects as go
    import streamlit as st

    from pages import _ui

    bar = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    line = go.Figure(go.Scatter(x=[1, 2], y=[2, 1]))
    pie = go.Figure(go.Pie(values=[1, 2]))  # not in the lean plotly.js build
    which = st.radio("case", ["lean", "cached", "alone", "mixed"], key="case")
    if which == "lean":
        _ui.charts([(bar, "a-bar"), (line, "a-line")])
    elif which == "cached":
        _ui.charts([(_ui.lean_spec(bar), "b-bar"), (line, "b-line")])
    elif which == "alone":
        _ui.charts([(_ui.lean_spec(line), "c-line")])
    else:
        _ui.charts([(bar, "d-bar"), (pie, "d-pie")])


@pytest.mark.parametrize("case, frames, kinds", [
    ("lean", 1, ["component", "component"]), ("cached", 1, ["component", "component"]),
    ("alone", 1, ["component"]), ("mixed", 1, ["component", "plotly_chart"])])
def test_consecutive_charts_share_one_frame_when_all_are_lean(case, frames, kinds):
    """_ui.charts: lean figures (or their cached JSON) in one component frame, each with its own download name;
    a single one in a frame of its own; with a trace the lean build lacks, each chart is drawn as chart() draws it
    (the bar in a frame of its own, the pie by st.plotly_chart)."""
    from streamlit.testing.v1 import AppTest

    from _helpers import chart_args, chart_configs, figures

    at = AppTest.from_function(_charts_app, default_timeout=60)
    at.run()
    at.radio(key="case").set_value(case)
    at.run()
    assert not at.exception
    groups = [el for el in at.get("component_instance")]
    assert len(groups) == frames
    assert [k for k, _ in chart_args(at)] == kinds
    names = [c["toImageButtonOptions"]["filename"] for c in chart_configs(at)]
    prefix = {"lean": "a", "cached": "b", "alone": "c", "mixed": "d"}[case]
    assert all(n.startswith(f"nasviz-{prefix}-") for n in names) and len(names) == len(kinds)
    types = [[t.get("type") for t in f["data"]] for f in figures(at)]
    assert types == {"lean": [["bar"], ["scatter"]], "cached": [["bar"], ["scatter"]], "alone": [["scatter"]],
                     "mixed": [["bar"], ["pie"]]}[case]
