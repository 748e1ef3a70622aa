"""What the browser tests share (imported as ``_browser``: pytest puts tests/e2e on sys.path)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[2]
MAP_IFRAME = "iframe[title*='plotly_map']"


def serve(port: int, log, env: dict) -> subprocess.Popen:
    """The app served as ./nasviz-app serves it (scripts/serve.py: streamlit run app.py + the map's warm-up),
    on 127.0.0.1:``port``, its output to ``log``."""
    return subprocess.Popen(
        [sys.executable, "scripts/serve.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
    )


@contextlib.contextmanager
def running_app(env: dict, name: str, timeout: float = 90) -> Iterator[tuple[str, Path]]:
    """The app served by :func:`serve` on a free port with ``env``, once healthy: yields ``(url, log path)``
    and stops the server afterwards (its log file, named after ``name``, is removed)."""
    from _helpers import stop_server, wait_healthy

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tempfile.NamedTemporaryFile(prefix=f"nasviz-{name}-", suffix=".log", delete=False)
    proc = serve(port, log, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, url, log.name, timeout)
        yield url, Path(log.name)
    finally:
        stop_server(proc)
        log.close()
        Path(log.name).unlink(missing_ok=True)


def map_plot(page):
    """The latent map's Plotly chart, inside its component iframe (pages/_plotly_map)."""
    return page.frame_locator(MAP_IFRAME).first.locator(".js-plotly-plot").first


def map_point(page, plot, js: str) -> list:
    """``js`` (a function of the chart element returning ``[x, y, ...]`` in the iframe's pixels) evaluated
    on the map, with x and y moved into page pixels for ``page.mouse``."""
    box = page.locator(MAP_IFRAME).first.bounding_box()
    got = plot.evaluate(js)
    return [got[0] + box["x"], got[1] + box["y"], *got[2:]]


#: the cell diagrams of a page: SVGs drawn on the server by Graphviz, shown as images (pages/_ui.graph)
DIAGRAMS = "img[alt='Cell diagram']"


def diagram_svg(img) -> str:
    """The SVG a diagram image shows (its data URI decoded), once it is visible."""
    import base64

    from playwright.sync_api import expect

    expect(img).to_be_visible()
    src = img.get_attribute("src") or ""
    head = "data:image/svg+xml;base64,"
    assert src.startswith(head), src[:80]
    return base64.b64decode(src[len(head):]).decode()


def wait_diagram(img, check, timeout: float = 60) -> str:
    """Wait until the SVG that diagram image ``img`` shows passes ``check`` (a predicate on the SVG text, e.g. a
    node count) and return it; fails with the last SVG's start after ``timeout`` s (an image's source changes
    when the page redraws it, as playwright's expect waits for an element's state)."""
    import time

    end = time.monotonic() + timeout
    while True:
        try:
            svg = diagram_svg(img)
        except AssertionError:
            svg = ""
        if svg and check(svg):
            return svg
        if time.monotonic() > end:
            raise AssertionError(f"the diagram never passed the check; it shows: {svg[:300]!r}")
        time.sleep(0.2)


def svg_nodes(svg: str) -> int:
    """The nodes Graphviz drew in an SVG."""
    return svg.count('class="node"')


def svg_texts(svg: str, text: str) -> int:
    """How many text elements of an SVG read exactly ``text``."""
    return svg.count(f">{text}</text>")
