"""What the browser tests share (imported as ``_browser``: pytest puts tests/e2e on sys.path)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from playwright.sync_api import Error as PlaywrightError

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


def plot_titled(page, title: str, timeout: float = 90):
    """The Plotly chart whose title contains ``title``, wherever it is drawn: in the page (st.plotly_chart) or
    in a chart component's frame (pages/_plotly_map: the latent map, and the charts pages/_ui.chart draws
    with the lean plotly.js). Waits up to ``timeout`` s for it to appear."""
    import time

    end = time.monotonic() + timeout
    while True:
        for frame in _chart_frames(page):
            found = frame.locator(".js-plotly-plot").filter(has=frame.locator(".gtitle", has_text=title))
            try:
                if found.count():
                    return found.first
            except PlaywrightError:  # the frame was detached meanwhile (a rerun replacing a lean chart's frame)
                continue
        if time.monotonic() > end:
            titles = [f.evaluate("() => [Array.from(document.querySelectorAll('.gtitle')).map(e => e.textContent), "
                                 "(document.getElementById('note') || {}).textContent, "
                                 "((document.getElementById('map') || {}).data || []).length]")
                      for f in _chart_frames(page)]
            raise AssertionError(f"no chart titled {title!r} on the page; chart titles per frame: {titles}")
        _load_chart_frames(page)
        page.wait_for_timeout(200)


def _chart_frames(page) -> list:
    """The page, then the frame of each chart component now in it (not a frame a rerun is replacing)."""
    frames = [page.main_frame]
    for handle in page.locator(MAP_IFRAME).element_handles():
        try:
            frame = handle.content_frame()
        except Exception:  # removed meanwhile
            frame = None
        if frame is not None and not frame.is_detached():
            frames.append(frame)
    return frames


def _load_chart_frames(page) -> None:
    """Scroll each chart component's frame into view once: the browser loads a frame below the fold only when
    it comes near the viewport (Streamlit's component frames load lazily)."""
    frames = page.locator(MAP_IFRAME)
    for i in range(frames.count()):
        try:
            frames.nth(i).scroll_into_view_if_needed(timeout=2_000)
        except Exception:  # a frame removed by a rerun meanwhile
            pass


#: charts drawn by st.plotly_chart in the page, or by the chart component (pages/_plotly_map) in its frame
CHART_FRAMES = "[data-testid='stPlotlyChart'], iframe[title*='plotly_map']"


def first_plot(page, timeout: float = 90):
    """The first Plotly chart of the page's main area, wherever it is drawn (the page itself, or a chart
    component's frame: the lean charts of pages/_ui.chart), once its SVG layer is there."""
    import time

    end = time.monotonic() + timeout
    while True:
        for frame in _chart_frames(page):
            found = frame.locator("[data-testid='stMain'] .js-plotly-plot, body > #map.js-plotly-plot, "
                                   "body > .nv-chart.js-plotly-plot")
            if found.count() and found.first.locator(".main-svg").count():
                return found.first
        if time.monotonic() > end:
            raise AssertionError("no Plotly chart drawn on the page")
        _load_chart_frames(page)
        page.wait_for_timeout(200)


#: JavaScript: every Plotly chart element of the page and of its same-origin frames (the chart components)
ALL_PLOTS_JS = """() => {
  const docs = [document];
  for (const f of document.querySelectorAll('iframe')) { try { if (f.contentDocument) docs.push(f.contentDocument); } catch (e) {} }
  return docs.flatMap(d => Array.from(d.querySelectorAll('.js-plotly-plot')));
}"""
