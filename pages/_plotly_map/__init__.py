"""The latent map's chart: a Plotly figure drawn in a small Streamlit component with a lean plotly.js.

``st.plotly_chart`` loads Streamlit's full plotly.js (4.7 MB, about 1.8 s to evaluate in headless
Chromium on the 2-core benchmark machine) when the first chart arrives. The map needs two trace
types, so :func:`plotly_map` draws it with ``plotly-map.min.js``: plotly.js 3.7.0 core + scattergl +
heatmap (1.5 MB, ~0.3 s to evaluate), built by ``tools/plotly_map_bundle/build.sh`` (see README.md).
The component's page loads that script as soon as the element reaches the browser.

Same behaviour as ``st.plotly_chart(fig, on_select=..., selection_mode=("points", "box", "lasso"))``
for what the map uses: the figure (Plotly JSON, typed arrays included), the toolbar config (figure
download format and file name), and the selection as ``{"selection": {"points", "box", "lasso"},
"event": id}`` in session state under ``key`` (a new id per event, so the same click twice is a change). Clicks carry the picked points (``curve_number``,
``point_index``, ``x``, ``y``, ``customdata``); a box or lasso carries its geometry only.

The figure itself is not a component argument: it is written once as a file into the folder the component
is served from and fetched by the browser once per page (:func:`figure_url`). Streamlit sends every
argument again whenever any argument changes, so with the figure inline each click, box or lasso sent the
whole figure (~1.1 MB for NB201) back to the browser. The selection's focus (cells kept in colour, the rest
grey), its outline and the shown cell's star and neighbours (``overlay``) are the small arguments that
change (see :func:`plotly_map`). The page's Pareto view uses the same component (scattergl only), so the
map page never loads Streamlit's full plotly.js.

The other pages' charts of these trace types use the same component (:func:`pages._ui.chart`); a page's
consecutive charts can share one frame (:func:`plotly_charts`, :func:`pages._ui.charts`), since each frame loads
and evaluates plotly.js on its own. ``index.html`` tells Streamlit the frame is ready before plotly.js loads and
starts downloading the figure its arguments name, so the download overlaps plotly.js's evaluation.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

HERE = Path(__file__).resolve().parent


#: the component's files, copied into the folder it is served from (see :func:`_served_dir`)
ASSETS = ("index.html", "map.js", "plotly-map.min.js", "LICENSE-plotly.js.txt")
#: figure files kept in that folder; the oldest go first beyond this many bytes
MAX_FIGURE_BYTES = 512 * 2**20
_SERVED: Path | None = None
_LOCK = threading.Lock()


def _served_dir() -> Path:
    """The folder the component is served from: a private temporary copy of its files, plus ``fig/``, the
    figures it fetches (one file per figure, named by its digest). Streamlit serves a component's folder
    over HTTP; a figure sent that way reaches the browser once per page, while a component argument is
    sent again with every rerun that changes any argument (a click, a box: ~1.1 MB for NB201's map)."""
    global _SERVED
    with _LOCK:
        if _SERVED is None or not (_SERVED / "fig").is_dir():
            d = Path(tempfile.mkdtemp(prefix="nasviz-map-"))
            for name in ASSETS:
                shutil.copyfile(HERE / name, d / name)
            (d / "fig").mkdir()
            atexit.register(shutil.rmtree, d, True)
            _SERVED = d
        return _SERVED


def _component():
    # declared on each use: Streamlit registers a component only when it is declared inside a script run,
    # and this module may first be imported outside one (the server's warm-up thread, scripts/serve.py)
    return components.declare_component("plotly_map", path=str(_served_dir()))


def figure_json(fig) -> str:
    """The figure as Plotly JSON (numpy arrays as base64 typed arrays), as the component receives it."""
    import plotly.io as pio

    return pio.to_json(fig, validate=False, remove_uids=True)


def figure_url(spec: str) -> str:
    """Store a figure's JSON where the component fetches it; its path relative to the component's page.
    The name is the JSON's digest, so the same figure is written once and a changed one never reads stale."""
    data = spec.encode()
    name = f"fig/{hashlib.sha256(data).hexdigest()[:32]}.json"
    path = _served_dir() / name
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a reader never sees half a file
        _trim(path.parent)
    return name


def _trim(folder: Path) -> None:
    files = sorted(folder.glob("*.json"), key=lambda f: f.stat().st_mtime, reverse=True)
    total = 0
    for f in files:
        total += f.stat().st_size
        if total > MAX_FIGURE_BYTES:
            f.unlink(missing_ok=True)


def read_figure(args: dict) -> dict:
    """The figure a drawn component instance shows, from its arguments (``spec_url``): for tests and tools."""
    return json.loads((_served_dir() / args["spec_url"]).read_text())


def plotly_map(fig, *, key: str | None, config: dict, on_select: Callable[[], None] | None = None,
               focus: list | None = None, outline: dict | None = None, overlay: str = "[]",
               events: bool = True) -> dict | None:
    """Draw ``fig`` (a figure, or its :func:`figure_json` already made); the latest click or selection (see the
    module docstring), or None before the first.

    The figure goes to the browser as a file (:func:`figure_url`), fetched once per page: the arguments that
    change on a click or a selection stay a few kB. ``focus`` (:func:`nasviz.viz.maps.focus_points`): per
    trace the points kept in colour, the others drawn in the trace's ``unselected`` style (grey); None: all
    in colour. ``outline``: a layout shape drawn over the map (the selection's box or lasso,
    :func:`nasviz.viz.maps.region_outline`). ``overlay``: a JSON list of traces drawn after the figure's
    own (the clicked cell's star and neighbours). A new focus, outline or overlay restyles the drawn map
    instead of drawing the whole figure again. Applying the focus replaces plotly's own selection outline,
    which would otherwise re-select its points on every redraw. ``events=False``: a chart that only shows
    (:func:`pages._ui.chart` with ``lean=True``): clicks and selections are not reported."""
    spec = fig if isinstance(fig, str) else figure_json(fig)
    # the id of the last event this run answers: a new box drawn over the same cells is still a new focus to
    # apply (it replaces plotly's outline), and a repeated render of the same run's args is not
    value = st.session_state.get(key) if key is not None else None
    event = value.get("event") if isinstance(value, dict) else None
    focus_json = json.dumps({"points": focus, "outline": outline, "event": event})
    return _component()(spec_url=figure_url(spec), config=json.dumps(config), focus=focus_json, overlay=overlay,
                        events=events, key=key, on_change=on_select, default=None)


def plotly_charts(figs: list, configs: list[dict]) -> None:
    """Several figures that only show, stacked in one component frame (:func:`pages._ui.charts`): the frame loads
    and evaluates plotly.js once for all of them, where one frame per figure pays ~0.3 s each in the browser.
    Each figure is a file fetched once per page (:func:`figure_url`); ``configs`` gives each its toolbar."""
    if len(figs) != len(configs) or not figs:
        raise ValueError(f"one config per figure, at least one figure; got {len(figs)} figures, {len(configs)} configs")
    urls = [figure_url(f if isinstance(f, str) else figure_json(f)) for f in figs]
    _component()(spec_urls=json.dumps(urls), configs=json.dumps(configs), events=False, key=None, default=None)


def selection(value) -> dict:
    """The ``selection`` of a component value (session state under the chart's key); ``{}`` when none."""
    return dict((value or {}).get("selection") or {}) if isinstance(value, dict) else {}
