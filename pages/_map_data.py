"""The latent map's data: loaded once per server (``st.cache_resource``, read-only) and warmed at start.

Not a page. ``pages/latent_map.py`` reads everything through these functions; ``scripts/serve.py``
calls :func:`warm_up` in a background thread once the server listens, so the imports (pandas,
Plotly, nasviz) and the default NB201 view are ready by the time a browser has loaded Streamlit's
JavaScript (about a second on the benchmark machine), instead of being paid on the first page run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from nasviz.bench import get_benchmark
from nasviz.viz import maps


@st.cache_resource(show_spinner=False)
def bench(space: str):
    return get_benchmark(space)


@st.cache_resource(show_spinner=False)
def frame(space: str):
    return maps.space_frame(space, bench(space))


@st.cache_resource(show_spinner=False)
def sources(space: str):
    return maps.list_sources(space)


@st.cache_resource(show_spinner=False)
def source(space: str, name: str):
    return maps.load_source(space, name)


@st.cache_resource(show_spinner=False)
def all_labels(space: str):
    f = frame(space)
    return maps.hover_labels(space, f, f["index"].to_numpy())


def labels_for(space: str, idx: np.ndarray) -> np.ndarray:
    if space == "nb201":  # 15,625 labels, built once per server
        return all_labels(space)[idx]
    return maps.hover_labels(space, frame(space), idx)


def preferred_source(space: str, names: list[str]) -> str:
    """The embedding a map of ``space`` opens with: the space's arch2vec when shipped, else a learned one."""
    learned = [n for n in names if n != maps.DISCRETE]
    if f"{space}-arch2vec" in learned:
        return f"{space}-arch2vec"
    return next((n for key in ("arch2vec", "bvae", "supervised") for n in learned if key in n),
                learned[0] if learned else maps.DISCRETE)


def hover_columns(colour: str, columns: list[str]) -> tuple[str, ...]:
    """The colour column and up to three accuracy columns, shown when hovering a point."""
    return tuple(dict.fromkeys([colour, *(c for c in columns if "test %" in c or "108" in c)][:4]))


@dataclass(frozen=True)
class MapView:
    """A drawn map: its Plotly JSON (what the chart component receives), ``mode`` ("points"/"density"), the
    cells in view and, per trace, the cells it draws (:func:`nasviz.viz.maps.trace_cells`)."""

    spec: str
    mode: str
    in_view: np.ndarray
    trace_cells: list
    build_ms: float


def _digest(a: np.ndarray | None) -> str | None:
    # the whole array's bytes: st.cache_* hashes large arrays from a sample of them, which two different
    # masks of NB101's 423,624 cells could share
    return None if a is None else hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()


def map_view(space: str, name: str, proj: str, colour: str, shown: np.ndarray, *, window=None,
             focus: np.ndarray | None = None) -> MapView:
    """The map of ``shown`` (official indices), built once per server for the same view and reused on reruns
    (a box or lasso, a table click, a cell click, a toggle: the figure is not built and serialised again).
    ``focus`` is drawn into the figure in density mode only; points take it as each trace's
    ``selectedpoints``, sent to the chart apart from the figure (:func:`nasviz.viz.maps.focus_points`). The
    shown cell's marks are not in it either: see :func:`cell_overlay`."""
    shown = np.asarray(shown, dtype=np.int64)
    n_in = len(shown)
    if window is not None:
        pts = source(space, name)[proj][shown]
        (x0, x1), (y0, y1) = window
        n_in = int(((pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)).sum())
    if n_in <= maps.MAX_POINTS:
        focus = None
    win = None if window is None else tuple(tuple(float(v) for v in w) for w in window)
    return _map_view(space, name, proj, colour, _digest(shown), win, _digest(focus), shown, focus)


def cell_overlay(space: str, name: str, proj: str, highlight: int | None, neighbours=None) -> str:
    """The shown cell's star and its neighbours' rings (:func:`nasviz.viz.maps.highlight_traces`) as the JSON
    list of traces the map draws over its figure: a click sends these few points, not the figure again."""
    import plotly.io as pio

    if highlight is None:
        return "[]"
    traces = maps.highlight_traces(source(space, name)[proj], highlight, neighbours)
    return "[" + ",".join(pio.to_json(t, validate=False, remove_uids=True) for t in traces) + "]"


@st.cache_resource(show_spinner=False, max_entries=12)
def _map_view(space, name, proj, colour, shown_key, window, focus_key, _shown, _focus):
    import time

    from pages._plotly_map import figure_json

    t0 = time.perf_counter()
    table = frame(space)
    srcs = {s.name: s for s in sources(space)}
    xy = source(space, name)[proj]
    in_win = _shown
    if window is not None:
        pts = xy[_shown]
        (x0, x1), (y0, y1) = window
        in_win = _shown[(pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)]
    labels = labels_for(space, in_win) if len(in_win) <= maps.MAX_POINTS else None
    label = maps.PROJECTION_LABELS[proj]
    fig, mode, in_view = maps.map_figure(
        xy, table[colour].to_numpy(), _shown, color_label=colour, labels=labels, window=window,
        hover_columns={c: table[c].to_numpy() for c in hover_columns(colour, maps.numeric_columns(table))},
        title=f"{srcs[name].label}, {label} of the latent means", axis_labels=(f"{label} 1", f"{label} 2"),
        uirevision=f"{space}/{name}/{proj}", focus=_focus)
    spec = figure_json(fig)
    return MapView(spec, mode, in_view, maps.trace_cells(fig), (time.perf_counter() - t0) * 1000)


@st.cache_resource(show_spinner=False, max_entries=8)
def _pareto(space, x, y, shown_key, highlight_key, highlight_name, _shown, _highlight):
    from nasviz.viz import pareto
    from pages._plotly_map import figure_json

    table = frame(space)
    acc, cost = table[y].to_numpy(dtype=np.float64), table[x].to_numpy(dtype=np.float64)
    view = pareto.pareto_view(acc, cost, _shown, _highlight)
    fig = pareto.pareto_figure(view, acc, cost, x_label=x, y_label=y, uirevision=f"pareto/{space}/{x}/{y}",
                               title=f"{y} against {x}: {len(view.cells):,} cells", highlight_name=highlight_name)
    return view, figure_json(fig)


def pareto_view(space: str, x: str, y: str, shown: np.ndarray, highlight: np.ndarray | None,
                highlight_name: str = "selected"):
    """``(ParetoView, figure JSON)`` of the Pareto plot of ``y`` against ``x`` (:mod:`nasviz.viz.pareto`), built
    once per server for the same cells and highlight: a rerun that changes neither (a click on the map, a
    toggle elsewhere) does not sort the front or serialise the figure again."""
    shown = np.asarray(shown, dtype=np.int64)
    hl = None if highlight is None else np.asarray(highlight, dtype=np.int64)
    return _pareto(space, x, y, _digest(shown), _digest(hl), highlight_name, shown, hl)


def warm_up(space: str = "nb201", pause: Callable[[], None] = lambda: None) -> None:
    """Load what the map's default view needs, and build that figure once (Plotly loads its trace
    classes on first use; :func:`map_view` keeps its JSON) so that the first page run finds everything in memory. ``pause`` is called
    between the steps (scripts/serve.py: wait while a page script runs, so the warm-up does not take
    CPU from the page a user has opened; a map page loads what it still needs itself)."""
    import nasviz.viz.diagrams  # noqa: F401  (imported by the map page)
    import nasviz.viz.markdown  # noqa: F401

    pause()
    table = frame(space)
    pause()
    srcs = {s.name: s for s in sources(space)}
    name = preferred_source(space, list(srcs))
    source(space, name)
    pause()
    labels_for(space, table["index"].to_numpy())
    pause()
    # the default view's figure, as the page asks for it (same arguments, so its first run finds it built)
    map_view(space, name, srcs[name].projections[0], maps.default_color(space, table), table["index"].to_numpy())
