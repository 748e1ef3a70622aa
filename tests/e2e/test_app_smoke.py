"""Smoke test of the app in a real browser: `streamlit run app.py`, headless Debian Chromium.

Loads the NB201 table page, finds real rows, picks cells by clicking a row and by
typing, checks the cell diagram (an SVG rendered on the server by Graphviz, shown as an image) and the metrics,
and checks that a malformed arch string shows the library's message while the page
keeps working. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from _browser import DIAGRAMS, svg_nodes, svg_texts, wait_diagram
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARCH_6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ROW_H = 35  # st.dataframe's default header and row height, in CSS pixels


def _heading(page):
    return page.get_by_role("heading", name=re.compile(r"^Cell #\d+"))


def _metric(page, label: str):
    tile = page.locator("[data-testid='stMetric']").filter(has=page.get_by_text(label, exact=True))
    return tile.locator("[data-testid='stMetricValue']")


def _enter(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")


def test_table_diagram_selection_and_bad_input(page, app_url, artifacts):
    page.goto(app_url)
    svg = page.locator(DIAGRAMS)
    expect(svg).to_be_visible(timeout=60_000)
    expect(page.get_by_text("15,625 of 15,625 cells match")).to_be_visible()

    # Real rows: sorted by CIFAR-10 test accuracy, the best cell (6111) comes first.
    grid_cell = page.locator("td", has_text=ARCH_6111)
    expect(grid_cell.first).to_be_attached()
    expect(page.locator("td#glide-cell-1-0")).to_have_text("6111")
    # ... and it is the cell shown below, with its real metrics and its diagram.
    expect(_heading(page)).to_have_text("Cell #6111")
    expect(_metric(page, "cifar10 test %")).to_have_text("94.37")
    # edge view: input, node 1, node 2, output; one 1x1 conv
    wait_diagram(svg, lambda s: svg_nodes(s) == 4 and svg_texts(s, "conv 1x1") == 1)
    page.screenshot(path=str(artifacts / "01-loaded.png"))

    # A filter narrows the table: avg_pool on edge 0->1 leaves 5**5 = 3,125 cells.
    _enter(page, "Arch string contains", "avg_pool_3x3~0|+")
    expect(page.get_by_text("3,125 of 15,625 cells match")).to_be_visible()
    first_index = page.locator("td#glide-cell-1-0")
    expect(first_index).not_to_have_text("6111")
    picked = first_index.inner_text().strip()

    # Clicking the first row's selection box shows that cell.
    grid = page.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + ROW_H + ROW_H // 2)
    expect(_heading(page)).to_have_text(f"Cell #{picked}")
    expect(page.get_by_label("Official arch string or index", exact=True)).to_have_value(picked)
    wait_diagram(svg, lambda s: svg_texts(s, "avg pool 3x3") >= 1)
    page.screenshot(path=str(artifacts / "02-row-selected.png"))

    # Typing an official string selects it; the node view draws arch2vec's 8 nodes.
    _enter(page, "Official arch string or index", ARCH_6111)
    expect(_heading(page)).to_have_text("Cell #6111")
    page.get_by_text("node ops (arch2vec)").click()
    wait_diagram(svg, lambda s: svg_nodes(s) == 8)
    page.screenshot(path=str(artifacts / "03-node-view.png"))

    # A malformed string: the library's message, no traceback, the page keeps working.
    _enter(page, "Official arch string or index", "|nor_conv_3x3~0|+|bogus")
    alert = page.locator("[data-testid='stAlertContentError']")
    expect(alert).to_contain_text("malformed NB201 string")
    expect(alert).to_contain_text("expected 3 node groups separated by '+', got 2")
    expect(alert).to_contain_text("|op~0|+|op~0|op~1|+|op~0|op~1|op~2|")  # verbatim, not read as Markdown
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    expect(page.get_by_text("3,125 of 15,625 cells match")).to_be_visible()
    # ... and the last valid cell stays shown beside the message
    expect(alert).to_contain_text("showing #6111 (the last cell that was valid)")
    expect(_heading(page)).to_have_text("Cell #6111")
    page.screenshot(path=str(artifacts / "04-bad-input.png"))

    _enter(page, "Official arch string or index", "9930")
    expect(_heading(page)).to_have_text("Cell #9930")
    expect(alert).to_have_count(0)
    expect(_metric(page, "cifar100 test %")).to_have_text("73.51")  # the best CIFAR-100 test accuracy
    expect(svg).to_have_count(1)  # the diagram drawn during the error is replaced, not added to
    expect(svg).to_be_visible()
    page.screenshot(path=str(artifacts / "05-recovered.png"))
