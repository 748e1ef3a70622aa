"""Tables that name cells show the cell's diagram on a click (issue 16, item 12: "I don't know (4, 0, 3, 1, 4, 3)
represents what architecture", NASLib #144), in a real browser: the Cell editor's neighbour list (a click on a
cell's number unfolds its diagram) and the latent map's selection (its best cells listed the same way; the whole
selection as a grid on request, where a click on a row draws the cell). Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from nasviz.viz import maps

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _click_row(page, table, row: int, shown) -> None:
    """Click the row-selection cell (left edge) of data row ``row`` (0-based) of a Streamlit dataframe until
    ``shown`` (a locator) is visible: the grid takes clicks only once it has been drawn, which can follow the
    canvas's appearance by a moment on a loaded machine."""
    expect(table.locator("[data-testid='stDataFrameResizable']")).to_be_attached()
    grid = table.locator("canvas").first
    for attempt in range(4):
        grid.scroll_into_view_if_needed()  # the canvas itself: its container counts as visible by one pixel row
        b = grid.bounding_box()
        page.mouse.click(b["x"] + 12, b["y"] + 35 * (row + 1) + 17)
        try:
            expect(shown).to_be_visible(timeout=15_000)
            return
        except AssertionError:
            if attempt == 3:
                raise


def _unfold(page, listing, index: int) -> None:
    """Click cell ``index``'s number in a ``pages/_ui.cell_list`` table: its diagram unfolds under it."""
    summary = listing.locator("summary", has_text=re.compile(rf"^{index}$"))
    img = summary.locator("xpath=ancestor::tr[1]/following-sibling::tr[1]").locator("img")
    expect(img).to_be_hidden()
    summary.click()
    expect(img).to_be_visible()
    # loaded once unfolded (loading=lazy): decode() settles when the image has loaded and decoded
    width = img.evaluate("i => i.decode().then(() => Math.min(i.naturalWidth, i.getBoundingClientRect().width))")
    assert width > 100, "the diagram did not load"


def test_a_click_on_a_neighbour_draws_that_cell(page, app_url, artifacts):
    src = maps.load_source("nb201", "nb201-arch2vec")
    nb, _ = maps.source_neighbours(src, 6111, 8)
    page.goto(f"{app_url}/cell_editor?space=nb201&cell=6111&embedding=nb201-arch2vec")
    expect(page.get_by_text("Valid NAS-Bench-201 cell #6111.", exact=True)).to_be_visible(timeout=90_000)
    listing = page.locator("table.nv-cells", has=page.locator("th", has_text="L2 distance"))
    expect(listing.locator("tbody tr:not(.nv-diagram)")).to_have_count(8)
    _unfold(page, listing, int(nb[1]))
    page.screenshot(path=str(artifacts / "60-editor-neighbour-row.png"))
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


def test_a_click_on_a_map_selection_row_draws_that_cell(page, app_url, artifacts):
    # a shared URL with a box: the selection table lists the cells inside, by index
    page.goto(f"{app_url}/latent_map?space=nb201&embedding=nb201-arch2vec&projection=pca&box=-100,100,-100,100")
    heading = page.get_by_text(re.compile(r"^[\d,]+ cells selected"))
    expect(heading).to_be_visible(timeout=90_000)
    # at once: the 10 best cells by the colour, each unfolding its diagram; no grid until asked for
    listing = page.locator("table.nv-cells").last
    expect(listing.locator("tbody tr:not(.nv-diagram)")).to_have_count(10)
    first = int(listing.locator("summary").first.inner_text())
    _unfold(page, listing, first)
    expect(page.locator("[data-testid='stDataFrame']")).to_have_count(0)
    page.get_by_text(re.compile(r"^List all [\d,]+ cells")).click()
    table = page.locator("[class*='st-key-map_selection_table-']")
    got = page.get_by_text(re.compile(r"^Row 1: cell #\d+$"))
    _click_row(page, table, 0, got)
    expect(page.locator(".st-key-map_selection_table_diagram_svg")).to_be_visible()
    # the first row is the selection's smallest index (maps.selection_frame sorts by index)
    xy = maps.load_source("nb201", "nb201-arch2vec")["pca"]
    region = maps.box_region((-100, 100), (-100, 100), xy, np.arange(len(xy)), space="nb201",
                             embedding="nb201-arch2vec", projection="pca")
    assert got.inner_text() == f"Row 1: cell #{int(np.sort(region['indices'])[0])}"
    page.screenshot(path=str(artifacts / "61-map-selection-row.png"))
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
