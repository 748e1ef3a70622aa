"""Issue #16 item 10 in a real browser: a search runs in a real background worker, the user opens its path on
the latent map from the Search runs page with one click, and sees the path grow while the run goes, without
reloading the page. The worker is held by a TrialGate (a file this test controls), so the numbers of trials
seen are exact however loaded the machine is. The app has its own store (NASVIZ_DB in a temporary folder).
"""

from __future__ import annotations

import os
import re
import time

import pytest
from _browser import ALL_PLOTS_JS, running_app
from playwright.sync_api import expect

from _helpers import TrialGate, wait_stored
from nasviz.search import jobs as J
from nasviz.search.runs import validate_config
from nasviz.search.store import RunState, Store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: the number of points of the path figure's "trials" trace, read from the chart Plotly drew in the page
TRIALS_IN_CHART = """() => {
  for (const el of (""" + ALL_PLOTS_JS + """)()) {
    const t = (el._fullData || []).find(d => d.name === 'trials');  // x arrives base64-typed: count what Plotly drew
    if (t) return t._length;
  }
  return -1;
}"""


@pytest.fixture(scope="module")
def path_app(tmp_path_factory):
    """The app (scripts/serve.py, as ./nasviz-app) with NASVIZ_DB pointing at an empty store; yields (url, db)."""
    db = tmp_path_factory.mktemp("path-e2e") / "runs.sqlite"
    Store(db).close()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", NASVIZ_DB=str(db))
    with running_app(env, "path-e2e") as (url, _):
        yield url, db


def test_path_of_a_running_search_grows_live_on_the_runs_page(browser, path_app, artifacts, tmp_path, monkeypatch):
    url, db = path_app
    store = Store(db, create=False)
    gate = TrialGate(monkeypatch, tmp_path / "gate", 5)
    rid, job = J.submit(store, validate_config("evolution", budget=20, seed=3))
    context = browser.new_context(viewport={"width": 1600, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        wait_stored(store, rid, 5)
        t0 = time.monotonic()
        page.goto(url)
        expect(page.locator("h1").first).to_be_visible(timeout=90_000)
        page.get_by_role("link", name="Search runs").click()
        expect(page.get_by_role("heading", name="Search runs")).to_be_visible(timeout=60_000)
        expect(page.get_by_text(f"Run #{rid}").first).to_be_visible()
        expect(page.get_by_text(re.compile(r"Refreshing every"))).to_be_visible()
        page.get_by_text("Path on the map", exact=True).first.click()  # the one click
        caption = page.get_by_text(re.compile(r"^\d+ of \d+ trials on the map"))
        expect(caption).to_have_text(re.compile(r"^5 of 5 trials on the map"))
        expect(page).to_have_url(re.compile(rf"run={rid}.*view=path|view=path.*run={rid}"))
        page.wait_for_function(f"({TRIALS_IN_CHART})() === 5", timeout=30_000)  # drawn in the chart's frame
        page.screenshot(path=str(artifacts / "60-search-path-5-trials.png"), full_page=True)
        navigations = []
        page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)

        gate.allow(12)  # the worker goes on to 12 trials; the page must follow without a reload
        wait_stored(store, rid, 12)
        expect(caption).to_have_text(re.compile(r"^12 of 12 trials on the map"), timeout=30_000)
        page.wait_for_function(f"({TRIALS_IN_CHART})() === 12", timeout=30_000)
        expect(page.get_by_text(re.compile(r"12/20 queries, running"))).to_be_visible()
        page.screenshot(path=str(artifacts / "61-search-path-12-trials.png"), full_page=True)

        gate.open()  # to the end: the page shows the finished run and stops polling
        expect(page.get_by_text(re.compile(r"20/20 queries, complete"))).to_be_visible(timeout=60_000)
        expect(caption).to_have_text(re.compile(r"^20 of 20 trials on the map"))
        expect(page.get_by_text(re.compile(r"Refreshing every"))).to_have_count(0)
        page.wait_for_function(f"({TRIALS_IN_CHART})() === 20", timeout=30_000)
        assert navigations == []  # never reloaded
        expect(page.locator("[data-testid='stException']")).to_have_count(0)
        assert store.get_run(rid).state == RunState.COMPLETE

        # from Dense sampling: launch a search there, and its link opens this page on that run's path
        gate.open()
        page.get_by_role("link", name="Dense sampling").click()
        expect(page.get_by_role("heading", name="Dense sampling")).to_be_visible(timeout=60_000)
        budget = page.get_by_label("Budget (queries)")
        budget.fill("6")
        budget.press("Enter")
        expect(budget).to_have_value("6")
        page.get_by_role("button", name="Launch").click()
        expect(page.get_by_text(re.compile(rf"^Started run\(s\) #{rid + 1}"))).to_be_visible(timeout=60_000)
        page.get_by_role("link", name=f"Path of #{rid + 1} on the map").click()
        expect(page.get_by_role("heading", name="Path on the map")).to_be_visible(timeout=60_000)
        expect(page).to_have_url(re.compile(rf"run={rid + 1}"))
        expect(page.get_by_text(re.compile(rf"^Run #{rid + 1}: dense on nb201"))).to_be_visible()
        expect(caption).to_have_text(re.compile(r"^6 of 6 trials on the map"), timeout=90_000)
        page.screenshot(path=str(artifacts / "62-search-path-from-dense.png"), full_page=True)
        expect(page.locator("[data-testid='stException']")).to_have_count(0)
        print(f"path e2e: {time.monotonic() - t0:.1f} s from opening the app")
    finally:
        context.close()
        gate.open()
        job.wait(120)
        store.close()
