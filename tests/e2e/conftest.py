"""Real-browser fixtures: a `streamlit run app.py` server on a free localhost port and
headless Debian Chromium driven by Playwright.

Chromium is Debian's (/usr/bin/chromium; `apt-get install chromium`, which README
command (2) does). Playwright's own browser download is never used. Without the
browser these tests fail with a message saying what to install: they are part of
the suite, not optional.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from _browser import running_app
from playwright.sync_api import expect

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("NASVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
START_TIMEOUT_S = 90
#: Every wait of a page action or ``expect`` (Playwright's default is 5 s): server-side work such as a
#: diagram rendered by ``dot`` or a page's first run can take tens of seconds on a loaded shared machine.
WAIT_MS = 60_000
expect.set_options(timeout=WAIT_MS)  # every expect() in tests/e2e


@pytest.fixture(scope="session")
def app_url():
    """Start the app as a user would (./nasviz-app: scripts/serve.py) and yield its URL."""
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    with running_app(env, "streamlit", START_TIMEOUT_S) as (url, log):
        try:
            yield url
        finally:  # the server's output, kept for a failed run to be read
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "streamlit-server.log").write_text(log.read_text())


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium) or set NASVIZ_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ (gitignored): screenshots and the server log."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture()
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1600, "height": 2000})
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    pg.set_default_navigation_timeout(WAIT_MS)
    try:
        yield pg
    finally:
        context.close()
