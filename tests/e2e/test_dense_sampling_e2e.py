"""Issue 7's search flow in a real browser: box-select cells on the NB201 latent map, use them as
the search region, launch a region search with a small budget on the Dense sampling page, watch it
complete and open its best cell's diagram. The app runs with its own empty run store (NASVIZ_DB in
a temporary folder), so the user's runs are never touched. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import re

import pytest
from _browser import DIAGRAMS, map_plot, running_app
from playwright.sync_api import expect

from nasviz.search.store import RunState, Store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def dense_app(tmp_path_factory):
    """The app (scripts/serve.py, as ./nasviz-app) with NASVIZ_DB pointing at an empty store; yields (url, db path)."""
    db = tmp_path_factory.mktemp("dense-e2e") / "runs.sqlite"
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", NASVIZ_DB=str(db))
    with running_app(env, "dense-e2e") as (url, _):
        yield url, db


def test_box_select_on_map_then_dense_search_to_best_cell(browser, dense_app, artifacts):
    url, db = dense_app
    context = browser.new_context(viewport={"width": 1600, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(url)
        expect(page.locator("h1").first).to_be_visible(timeout=90_000)
        page.get_by_role("link", name="Latent map").click()
        plot = map_plot(page)
        expect(page.get_by_text(re.compile(r"^15,625 of 15,625 cells in view \(points"))).to_be_visible(
            timeout=90_000)
        plot.hover()
        plot.locator(".modebar-btn[data-title='Box Select']").click()
        b = plot.locator(".nsewdrag").first.bounding_box()
        assert b is not None
        page.mouse.move(b["x"] + b["width"] * 0.05, b["y"] + b["height"] * 0.05)
        page.mouse.down()
        page.mouse.move(b["x"] + b["width"] * 0.5, b["y"] + b["height"] * 0.6, steps=12)
        page.mouse.up()
        heading = page.get_by_text(re.compile(r"^[\d,]+ cells selected \(box\)"))
        expect(heading).to_be_visible(timeout=60_000)
        n = int(heading.inner_text().split(" ")[0].replace(",", ""))
        page.get_by_role("button", name="Use as search region").click()
        expect(page.get_by_text(f"Search region set: {n:,} cells")).to_be_visible(timeout=60_000)

        page.get_by_role("link", name="Dense sampling").click()
        expect(page.get_by_role("heading", name="Dense sampling")).to_be_visible(timeout=90_000)
        page.get_by_label("Strategy").click()
        page.get_by_role("option", name=re.compile(r"^region search")).click()
        expect(page.get_by_text(re.compile(r"^Region: the map selection \([\d,]+ cells selected, box\); "
                                           r"[\d,]+ cells inside"))).to_be_visible(timeout=60_000)
        budget = page.get_by_label("Budget (queries)")
        expect(budget).to_have_count(1)  # the rerun the strategy started may still show the input it replaces
        budget.fill("10")
        budget.press("Enter")
        expect(budget).to_have_value("10")
        page.screenshot(path=str(artifacts / "30-dense-setup.png"))
        page.get_by_role("button", name="Launch").click()
        expect(page.get_by_text(re.compile(r"^Started run\(s\) #1"))).to_be_visible(timeout=60_000)
        expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=120_000)
        best = page.get_by_text(re.compile(r"^Best cell #\d+"))
        expect(best).to_be_visible()
        diagram = page.locator(DIAGRAMS).first
        expect(diagram).to_be_visible()
        diagram.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "31-dense-results.png"), full_page=True)
        expect(page.locator("[data-testid='stException']")).to_have_count(0)
        with Store(db, create=False) as s:
            run = s.get_run(1)
            assert run.state == RunState.COMPLETE and run.strategy == "region"
            assert run.config["region"]["kind"] == "box" and len(s.trials(1)) == 10
            idx = re.match(r"Best cell #(\d+)", best.inner_text()).group(1)
            assert int(idx) == max(s.trials(1), key=lambda t: t.value).cell_index
    finally:
        context.close()


def test_space_round_trip_shows_the_embedding_the_page_uses(browser, dense_app, artifacts):
    """After NB201 -> NB101 -> NB201 the browser drew the Embedding box anew from its default (nb201-arch2vec)
    while the page went on using the embedding chosen before (its Eq. 4 chart said controller-supervised): the
    box must show what the page uses, and keep it after a visit to another page."""
    url, _ = dense_app
    context = browser.new_context(viewport={"width": 1500, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(60_000)

    def settle():
        page.wait_for_timeout(800)
        expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=120_000)

    def box(label):
        return page.locator(f"input[role='combobox'][aria-label='{label}']").first

    def chart_title():
        return " ".join(t for f in page.frames for t in f.locator(".gtitle").all_text_contents())

    def shows(embedding):
        expect(box("Embedding")).to_have_value(embedding)
        for _ in range(50):  # the chart is redrawn in its own frame a moment after the run
            if f"{embedding}: latent dimension" in chart_title():
                return
            page.wait_for_timeout(200)
        assert f"{embedding}: latent dimension" in chart_title(), chart_title()

    def to_space(name):
        page.locator("[data-testid='stRadio']").filter(has_text="Space").first.get_by_text(name).first.click()
        settle()

    try:
        page.goto(url + "/dense_sampling")
        expect(page.get_by_role("heading", name="Dense sampling")).to_be_visible(timeout=90_000)
        settle()
        box("Embedding").click()
        page.get_by_role("option", name="nb201-controller-supervised", exact=True).click()
        settle()
        shows("nb201-controller-supervised")
        to_space("NAS-Bench-101")
        shows("nb101-arch2vec")
        to_space("NAS-Bench-201")
        shows("nb201-controller-supervised")
        page.get_by_role("link", name="Learn").first.click()
        settle()
        page.get_by_role("link", name="Dense sampling").first.click()
        expect(page.get_by_role("heading", name="Dense sampling")).to_be_visible(timeout=90_000)
        settle()
        shows("nb201-controller-supervised")
        expect(page.locator("[data-testid='stException']")).to_have_count(0)
    finally:
        page.screenshot(path=str(artifacts / "32-dense-space-round-trip.png"))
        context.close()
