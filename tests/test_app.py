"""The NB201 table page, run headless with Streamlit's AppTest (no browser).

Checks that the page runs without exception on the real table and that its widgets
change what it shows: filters change the row count, a different arch changes the
metrics and the diagram, and bad input shows the library's message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers import diagrams
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
ARCH_6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def _run(script: str = "pages/nb201_table.py") -> AppTest:
    at = AppTest.from_file(str(REPO / script), default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _count_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if "cells match" in c.value)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _dot(at: AppTest) -> str:
    """The SVG of the page's one cell diagram (rendered on the server by Graphviz)."""
    svgs = diagrams(at)
    assert len(svgs) == 1
    return svgs[0]


def _table(at: AppTest):
    return at.dataframe[0].value


@pytest.fixture(scope="module")
def page() -> AppTest:
    return _run()


def test_entry_point_serves_the_table_page():
    at = _run("app.py")
    assert at.title[0].value == "NAS-Bench-201: all 15,625 cells"
    assert _count_caption(at).startswith("15,625 of 15,625")
    assert not at.error


def test_opens_on_all_rows_and_the_best_cifar10_cell(page):
    table = _table(page)
    assert len(table) == 15_625
    # sorted by CIFAR-10 test accuracy, descending: the published optimum first
    assert table.iloc[0]["index"] == 6111
    assert table.iloc[0]["arch"] == ARCH_6111
    assert table["cifar10 test %"].is_monotonic_decreasing
    assert page.text_input(key="nb201_arch").value == "6111"
    m = _metrics(page)
    assert m["cifar10 test %"] == "94.37"
    assert page.subheader[0].value == "Cell #6111"
    assert any(m.value == f"`{ARCH_6111}`" for m in page.markdown)  # inline code (no 1.5 MB highlighter)
    dot = _dot(page)
    assert dot.count('class="edge"') == 6 and "conv 1x1" in dot  # edge view of 6111: 6 edges, one 1x1 conv


def test_text_filter_changes_row_count():
    at = _run()
    at.text_input[0].set_value("avg_pool_3x3~0|+").run()
    assert _count_caption(at).startswith("3,125 of 15,625")  # 5**5 cells have a pool on edge 0->1
    assert len(_table(at)) == 3125
    assert _table(at)["arch"].str.startswith("|avg_pool_3x3~0|+").all()


def test_op_filters_and_sort():
    at = _run()
    at.multiselect[1].set_value(["none", "avg_pool_3x3"]).run()  # "has op on no edge"
    assert _count_caption(at).startswith(f"{3 ** 6:,} of")  # 3 ops left on 6 edges
    at.multiselect[0].set_value(["nor_conv_1x1"]).run()  # and at least one 1x1 conv
    assert len(_table(at)) == 3 ** 6 - 2 ** 6
    at.selectbox[1].set_value("params (M)").run()  # sort by params, descending
    table = _table(at)
    assert table["params (M)"].is_monotonic_decreasing
    assert (table["#nor_conv_1x1"] > 0).all() and (table["#none"] == 0).all()


def test_range_sliders_filter_rows():
    at = _run()
    params = at.slider[1]
    assert params.label == "params (M) range"
    params.set_range(params.min, 0.2).run()  # only the cheapest cells
    table = _table(at)
    assert 0 < len(table) < 15_625
    assert (table["params (M)"] <= 0.2).all() and (table["#nor_conv_3x3"] == 0).all()
    acc = at.slider[0]
    assert acc.label == "cifar10 test % range"
    acc.set_range(90.0, acc.max).run()  # and cifar10 test >= 90 %
    narrower = _table(at)
    assert 0 < len(narrower) < len(table)
    assert (narrower["cifar10 test %"] >= 90.0).all()


def test_other_arch_changes_metrics_and_diagram():
    at = _run()
    before = (_metrics(at), _dot(at))
    at.text_input(key="nb201_arch").set_value("9930").run()
    after = _metrics(at)
    assert at.subheader[0].value == "Cell #9930"
    assert after["cifar100 test %"] == "73.51"  # the CIFAR-100 optimum
    assert after != before[0]
    assert _dot(at) != before[1]
    at.radio[0].set_value("node").run()
    assert _dot(at).count('class="edge"') == 10  # arch2vec's 8-node DAG has 10 edges


def test_compare_highlights_differences():
    at = _run()
    at.text_input(key="nb201_arch").set_value("6111").run()
    at.text_input[2].set_value("9930").run()
    assert not at.error
    assert "(was " in _dot(at)  # the one changed edge is labelled
    assert any("1 edge(s) differ" in c.value for c in at.caption)


@pytest.mark.parametrize("bad, fragment", [
    ("|nor_conv_3x3~0|+|bogus", "expected 3 node groups"),
    ("15625", "out of range"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
    ("hello", "cannot read 'hello'"),
])
def test_bad_arch_shows_library_error_and_page_recovers(bad, fragment):
    at = _run()
    at.text_input(key="nb201_arch").set_value(bad).run()
    assert not at.exception
    assert len(at.error) == 1 and fragment in at.error[0].value
    assert len(_table(at)) == 15_625  # the table above still works
    # the cell shown before (the best cell, the default) stays shown
    assert "showing #6111 (the last cell that was valid)" in at.error[0].value
    assert any("#6111" in s.value for s in at.subheader)
    at.text_input(key="nb201_arch").set_value("857").run()
    assert not at.error
    assert _metrics(at)["ImageNet16-120 test %"] == "47.31"
    at.text_input(key="nb201_arch").set_value(bad).run()
    assert "showing #857 (the last cell that was valid)" in at.error[0].value
    assert _metrics(at)["ImageNet16-120 test %"] == "47.31"


@pytest.mark.parametrize("bad", ["zzz", "15625", "-5"])
def test_a_bad_compare_with_keeps_the_selected_cell(bad):
    at = _run()
    at.text_input(key="nb201_arch").set_value("857").run()
    at.text_input(key="nb201_compare").set_value(bad).run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("Compare with: ")
    assert "no comparison drawn" in at.error[0].value
    assert _metrics(at)["ImageNet16-120 test %"] == "47.31" and any("#857" in s.value for s in at.subheader)
    assert "(was " not in _dot(at)
