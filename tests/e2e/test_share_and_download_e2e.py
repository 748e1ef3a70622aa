"""A shared URL opens the same view, and figures download as SVG, in a real browser.

Opens the latent map from a URL carrying the embedding, projection, colour and cell,
checks the page shows that view and keeps it in its URL, switches the sidebar's figure
format to SVG, and downloads the map from the chart toolbar (drawn by Plotly in the
browser) and the cell diagram from its SVG button (rendered by Graphviz on the server).
"""

from __future__ import annotations

import re

import pytest
from _browser import map_plot
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]



def _download(page, click, tries: int = 3, each_ms: int = 30_000):
    """The download a click starts, clicking again when none arrives: a rerun still under way can replace the
    button under the click, and that click's download is never served (a fresh clone's first, cold run saw a
    60-second wait for one)."""
    for attempt in range(tries):
        try:
            with page.expect_download(timeout=each_ms) as got:
                click()
            return got.value
        except PlaywrightError:
            if attempt == tries - 1:
                raise
            expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=60_000)

def test_shared_map_url_and_svg_downloads(page, app_url, artifacts):
    page.goto(f"{app_url}/latent_map?embedding=nb201-bvae-beta1&projection=umap&colour=params+%28M%29&cell=6111")
    plot = map_plot(page)
    expect(plot.locator(".gl-container canvas").first).to_be_attached(timeout=90_000)
    expect(page.get_by_text("Cell #6111", exact=True)).to_be_visible(timeout=60_000)
    expect(plot.locator(".gtitle")).to_contain_text("UMAP")
    expect(plot.locator(".colorbar")).to_contain_text("params (M)")
    expect(page).to_have_url(re.compile(r"embedding=nb201-bvae-beta1.*projection=umap"))
    page.screenshot(path=str(artifacts / "40-map-from-shared-url.png"))

    page.locator("[data-testid='stSidebar']").get_by_text("SVG", exact=True).click()
    plot.hover()
    button = plot.locator(".modebar-btn[data-title^='Download plot']")
    expect(button).to_have_attribute("data-title", "Download plot")  # plotly's title for non-PNG
    d = _download(page, lambda: (plot.hover(), button.click()))
    assert d.suggested_filename == "nasviz-map-nb201-nb201-bvae-beta1-umap.svg"
    svg = open(d.path(), encoding="utf-8").read()
    assert svg.lstrip().startswith("<svg") and "params (M)" in svg

    # the format change reran the page: click the diagram's button once that run is over (a button of a run
    # still going can be replaced under the click, and its download is then never served)
    expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=60_000)
    d = _download(page, lambda: page.get_by_role("button", name="SVG").click())
    assert d.suggested_filename == "nasviz-nb201-cell-6111.svg"
    diagram = open(d.path(), encoding="utf-8").read()
    assert "<svg" in diagram and diagram.count("conv 3x3") == 4
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
