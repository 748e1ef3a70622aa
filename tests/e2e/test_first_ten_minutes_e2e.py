"""A newcomer's first ten minutes, scripted (issue 16): open the app at ``/``, then every page from the sidebar by
clicking its link, in the order app.py's ``PAGES`` lists them (read from app.py when the test runs, so a new page is
walked too), with one natural first interaction where it is cheap (Learn: answer lesson 1; NB201 table: type a cell;
Cell editor: change an op; Latent map: wait for the map; Latent traversal: wait for the diagrams; the rest: let the
page settle).

The walk fails on anything a newcomer would see go wrong:

* a Streamlit exception box (``stException``) or any ``st.error`` box: the walk types no bad input, so no error
  message is expected anywhere, but for the error of a failed run that the Search runs page shows from the run store
  (a newcomer has none; a developer's own store may);
* any JavaScript error: an uncaught exception (``pageerror``) or a console message of type ``error``, in the page or
  its component iframes. None is tolerated: the app's pages log none (a failed resource load, such as a blocked
  outside request, would show here too);
* any request (page, scripts, fonts, iframes, websockets) to a host other than the app's own server. As in the
  offline test (test_offline_e2e.py), only URLs that never leave the browser (``data:``, ``blob:``, ``about:``) and
  the loopback names are let through.

Each page is waited for as a person would: its h1 replaced the previous page's, no "Running..." status widget and no
spinner, both gone for a moment together. Timings per page are printed.

Screenshots (issue 16's README gallery): one per page, the viewport only, at a laptop's 1400x900. With
``NASVIZ_GALLERY=1`` they are written to docs/gallery/<nn>-<page-slug>.png (a JPEG at quality 80 where the PNG would
pass 300 KB), replacing the gallery's old images; otherwise to test-artifacts/first-ten-minutes/, so a test run never
changes the checkout.
"""

from __future__ import annotations

import ast
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _browser import CHART_FRAMES, DIAGRAMS, MAP_IFRAME, first_plot, map_plot
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
GALLERY = REPO / "docs" / "gallery"
VIEWPORT = {"width": 1400, "height": 900}
MAX_PNG = 300_000  # bytes; a bigger screenshot is stored as a JPEG
LOCAL = {"127.0.0.1", "localhost", "::1", "[::1]"}
PAGE_S = 120  # the longest wait for one page to settle (a first run that loads tables and models, under load)


def app_pages() -> list[str]:
    """The titles of app.py's ``PAGES`` (``st.Page(..., title=...)``), in their order, read from its source."""
    tree = ast.parse((REPO / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets):
            titles = [kw.value.value for call in node.value.elts for kw in call.keywords if kw.arg == "title"]
            assert len(titles) == len(node.value.elts), "every st.Page in app.py's PAGES needs a title="
            return titles
    raise AssertionError("app.py has no PAGES list")


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _main(page):
    return page.locator("[data-testid='stMain']")


def _h1(page):
    return _main(page).locator("h1").first


def _settle(page, timeout_s: float = PAGE_S) -> None:
    """Wait until the page has no "Running..." status widget and no spinner, both absent for 0.6 s together (a
    rerun that a widget change or a page's own refresh starts right after the last one ended is waited for too)."""
    status = page.locator("[data-testid='stStatusWidget']")
    spinner = page.locator("[data-testid='stSpinner']")
    end = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < end:
        busy = status.count() > 0 or spinner.count() > 0
        now = time.monotonic()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= 0.6:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the page did not settle in {timeout_s:.0f} s ({page.url}): still running or spinning")


def _words(text: str) -> str:
    return " ".join(text.split())


def stored_run_errors() -> set[str]:
    """The error of every run in the run store the app reads (``NASVIZ_DB``, else the user's; none for a newcomer):
    the Search runs page shows a failed run's error in an error box, which is the store's content, not a fault."""
    from nasviz.search.store import Store, default_db_path

    path = default_db_path()
    if not path.exists():
        return set()
    return {_words(r.error) for r in Store(path, create=False).list_runs() if r.error}


def _no_error_boxes(page, where: str, expected: set[str] = frozenset()) -> None:
    exc = page.locator("[data-testid='stException']")
    assert exc.count() == 0, f"{where}: Streamlit exception box: {exc.first.inner_text()[:500]}"
    err = page.locator("[data-testid='stAlertContentError']")
    texts = [t for t in (_words(err.nth(k).inner_text()) for k in range(err.count())) if t not in expected]
    assert not texts, f"{where}: error box(es) on a walk that typed no bad input: {texts}"


# -- one first interaction per page, where cheap ------------------------------------------------------------------------
def _learn(page) -> None:
    """Answer lesson 1's question with the option a newcomer might guess; the page says right or not quite and
    shows what the data says."""
    main = _main(page)
    expect(main.locator("h2").filter(has_text=re.compile(r"^Lesson 1: "))).to_be_visible()
    first_plot(page)
    main.locator("[data-testid='stRadio']").get_by_text("3x3 convolution", exact=True).click()
    expect(main.get_by_text(re.compile(r"^(Right|Not quite): "))).to_be_visible()
    expect(main.get_by_text(re.compile(r"^What the data says\."))).to_be_visible()


def _nb201_table(page) -> None:
    """Type a cell index: its heading, diagram and metrics show."""
    expect(page.get_by_text("15,625 of 15,625 cells match")).to_be_visible()
    box = page.get_by_label("Official arch string or index", exact=True)
    box.fill("1462")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Cell #1462")).to_be_visible()
    expect(page.locator(DIAGRAMS).first).to_be_visible()


def _cell_editor(page) -> None:
    """Change edge 0 -> 1's op: another valid cell, with its diagram."""
    valid = _main(page).get_by_text(re.compile(r"^Valid NAS-Bench-201 cell #\d+\.$"))
    expect(valid).to_be_visible()
    before = valid.inner_text()
    page.get_by_label("Edge 0 → 1").click()
    page.get_by_role("option", name="avg_pool_3x3", exact=True).click()
    expect(valid).not_to_have_text(before)
    expect(page.locator(DIAGRAMS).first).to_be_visible()


def _latent_map(page) -> None:
    """The map draws every NB201 cell (WebGL canvas in the component's iframe)."""
    expect(map_plot(page).locator(".gl-container canvas").first).to_be_attached()
    expect(page.get_by_text(re.compile(r"^15,625 of 15,625 cells in view \(points"))).to_be_visible()


def _traversal(page) -> None:
    """The decoded cells of the default traversal are drawn."""
    expect(page.get_by_text(re.compile(r"^Encoded and decoded in \d+ ms"))).to_be_visible()
    expect(page.locator(DIAGRAMS).nth(8)).to_be_visible()


FIRST_STEP = {"Learn": _learn, "NB201 table": _nb201_table, "Cell editor": _cell_editor, "Latent map": _latent_map,
              "Latent traversal": _traversal}

#: What a page's picture starts at (the top of the viewport, less a margin), where the page's h1 would leave its main
#: figure below the fold; other pages (and these, if their layout no longer has it) start at their h1.
SHOT_FROM = {
    "Learn": lambda page: _main(page).locator("h2").filter(has_text=re.compile(r"^Lesson 1: ")).first,
    "Latent map": lambda page: page.locator(MAP_IFRAME).first,
    "Latent traversal": lambda page: _main(page).locator("h2").filter(has_text=re.compile(r"valid decodes")).first,
    "Correlations": lambda page: _main(page).locator("h2").first,
    "Dense sampling": lambda page: _main(page).locator(CHART_FRAMES).first,
}


def _shoot(page, out: Path, stem: str) -> Path:
    """The viewport as PNG, or as a JPEG (quality 80) when the PNG would pass MAX_PNG bytes."""
    png = page.screenshot(type="png")
    if len(png) <= MAX_PNG:
        path = out / f"{stem}.png"
        path.write_bytes(png)
    else:
        path = out / f"{stem}.jpg"
        path.write_bytes(page.screenshot(type="jpeg", quality=80))
    return path


def test_first_ten_minutes(page, app_url, artifacts):
    """About 35-50 s on the shared 2 cores at load 1-3; minutes under heavy load: every page's first run (tables,
    embeddings, models, the controllers' samples, Graphviz diagrams) is paid here, one after another."""
    titles = app_pages()
    assert "NB201 table" in titles and "Learn" in titles, titles
    out = GALLERY if os.environ.get("NASVIZ_GALLERY") == "1" else artifacts / "first-ten-minutes"
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("[0-9][0-9]-*.png"), *out.glob("[0-9][0-9]-*.jpg")]:
        old.unlink()  # a renamed or removed page (or a PNG now a JPEG) leaves no stale picture

    page.set_viewport_size(VIEWPORT)
    requests: list[str] = []
    outside: list[str] = []
    js_errors: list[str] = []
    where = ["/"]  # the page being walked, for the messages

    def on_request(url: str) -> None:
        requests.append(url)
        if not url.startswith(("data:", "blob:", "about:")) and urlsplit(url).hostname not in LOCAL:
            outside.append(f"{where[0]}: {url}")

    def on_console(msg) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            js_errors.append(f"{where[0]}: console error: {msg.text} ({loc.get('url', '?')}:{loc.get('lineNumber')})")

    page.context.on("request", lambda r: on_request(r.url))
    page.on("websocket", lambda ws: on_request(ws.url))
    page.on("console", on_console)
    page.on("pageerror", lambda e: js_errors.append(f"{where[0]}: uncaught {e.name}: {e.message}"))

    timings: dict[str, float] = {}
    t_walk = time.monotonic()
    try:
        # the landing page, as a newcomer opens it
        t0 = time.monotonic()
        page.goto(app_url, wait_until="commit")  # a loaded shared machine can take long to fire "load"
        expect(_h1(page)).to_be_visible(timeout=PAGE_S * 1000)
        _settle(page)
        _no_error_boxes(page, "/")
        timings["/"] = time.monotonic() - t0
        nav = page.locator("[data-testid='stSidebarNav']")
        for k, title in enumerate(titles, start=1):
            where[0] = title
            t0 = time.monotonic()
            before = _h1(page).inner_text()
            link = nav.get_by_role("link", name=re.compile(rf"(^|\s){re.escape(title)}$"))
            expect(link).to_have_count(1)
            link.click()
            # the new page's h1 replaced the previous one (every page has its own title), then it settles
            expect(_h1(page)).not_to_have_text(before, timeout=PAGE_S * 1000)
            expect(_h1(page)).to_be_visible()
            _settle(page)
            expected = stored_run_errors() if title == "Search runs" else frozenset()
            _no_error_boxes(page, f"{title} (opened)", expected)
            if step := FIRST_STEP.get(title):
                step(page)
                _settle(page)
                _no_error_boxes(page, f"{title} (first interaction)", expected)
            start = SHOT_FROM.get(title, _h1)(page)
            if start.count() == 0:  # a page whose layout changed: its picture starts at its h1
                start = _h1(page)
            start.evaluate("el => { el.style.scrollMarginTop = '24px'; el.scrollIntoView({block: 'start'}); }")
            page.mouse.move(VIEWPORT["width"] - 5, VIEWPORT["height"] - 5)  # no hover label on the picture
            page.wait_for_timeout(300)  # a frame for what the scroll uncovered (the map's WebGL canvas)
            _shoot(page, out, f"{k:02d}-{slug(title)}")
            timings[title] = time.monotonic() - t0
            assert not (js_errors or outside), {"JavaScript errors": js_errors, "requests to outside hosts": outside}
    finally:
        total = time.monotonic() - t_walk
        print(f"first ten minutes: {total:.1f} s; " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        print(f"requests: {len(requests)}, outside: {outside}, JS errors: {js_errors}")
    assert requests and any("/static/js/" in u for u in requests), "the request recording saw nothing"
    assert not (js_errors or outside), {"JavaScript errors": js_errors, "requests to outside hosts": outside}
    assert set(timings) == {"/", *titles}
