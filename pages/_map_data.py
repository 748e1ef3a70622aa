"""The latent map's data: loaded once per server (``st.cache_resource``, read-only) and warmed at start.

Not a page. ``pages/latent_map.py`` reads everything through these functions; ``scripts/serve.py``
calls :func:`warm_up` in a background thread once the server listens, so the imports (pandas,
Plotly, nasviz) and the default NB201 view are ready by the time a browser has loaded Streamlit's
JavaScript (about a second on the benchmark machine), instead of being paid on the first page run.
"""

from __future__ import annotations

from collections.abc import Callable

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


def warm_up(space: str = "nb201", pause: Callable[[], None] = lambda: None) -> None:
    """Load what the map's default view needs, and build that figure once (Plotly loads its trace
    classes on first use) so that the first page run finds everything in memory. ``pause`` is called
    between the steps (scripts/serve.py: wait while a page script runs, so the warm-up does not take
    CPU from the page a user has opened; a map page loads what it still needs itself)."""
    import nasviz.viz.diagrams  # noqa: F401  (imported by the map page)
    import nasviz.viz.markdown  # noqa: F401
    from pages._plotly_map import figure_json

    pause()
    table = frame(space)
    pause()
    srcs = {s.name: s for s in sources(space)}
    name = preferred_source(space, list(srcs))
    xy = source(space, name)[srcs[name].projections[0]]
    pause()
    colour = maps.default_color(space, table)
    shown = table["index"].to_numpy()
    labels = labels_for(space, shown)
    pause()
    fig, _, _ = maps.map_figure(xy, table[colour].to_numpy(), shown, color_label=colour, labels=labels,
                                hover_columns={c: table[c].to_numpy()
                                               for c in hover_columns(colour, maps.numeric_columns(table))})
    figure_json(fig)
