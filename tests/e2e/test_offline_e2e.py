"""The app asks no outside host for anything: every request of every page goes to the local server.

Every request the browser makes (the page, its scripts, fonts, favicon, the component iframes and their
assets, websockets) is recorded at the browser-context level; one to any host but the app's own fails the
test with its URL. Each page is opened and then rerun twice (a widget change), since the request the issue
saw (the favicon, fetched from fonts.gstatic.com) came on every rerun.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOCAL = {"127.0.0.1", "localhost", "::1", "[::1]"}
#: The pages by their sidebar link; the first is the landing page.
PAGES = ("NB201 table", "Learn", "Cell editor", "Latent map", "Latent traversal", "Controller study", "Correlations",
         "Distributions", "Search runs", "Dense sampling")


def test_no_page_requests_an_outside_host(page, artifacts, app_url):
    context = page.context
    seen: list[str] = []
    outside: list[str] = []

    def record(url: str) -> None:  # every request of every frame (component iframes too), and websockets
        seen.append(url)
        if not url.startswith(("data:", "blob:", "about:")) and urlsplit(url).hostname not in LOCAL:
            outside.append(url)

    context.on("request", lambda r: record(r.url))
    page.on("websocket", lambda ws: record(ws.url))
    try:
        page.goto(app_url, wait_until="commit")  # a loaded shared machine can take over a minute to "load"
        for name in PAGES:
            if name != PAGES[0]:
                # the sidebar's link: a page's own links (Learn's "Open this on the NB201 table page") never match
                page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=name).click()
            expect(page.locator("[data-testid='stMain'] h1").first).to_be_visible(timeout=180_000)
            expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=180_000)
            # two reruns: the sidebar's figure-format choice is on every page
            for fmt in ("SVG", "PNG"):
                page.locator("[data-testid='stSidebar']").get_by_text(fmt, exact=True).click()
                page.wait_for_timeout(300)
                expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=180_000)
        page.wait_for_load_state("load", timeout=180_000)
        page.screenshot(path=str(artifacts / "offline-last-page.png"))
    finally:
        print("outside hosts:", sorted(set(outside)), "requests:", len(seen))
    assert seen, "no request was recorded: the check saw nothing"
    assert any(re.search(r"/static/js/", u) for u in seen), "the app's own scripts were not among the requests"
    assert not outside, f"requests to outside hosts: {sorted(set(outside))}"
