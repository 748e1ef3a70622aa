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

The selection's focus (cells kept in colour, the rest grey) and outline travel apart from the figure
(see :func:`plotly_map`); the page's Pareto view uses the same component (scattergl only), so the map
page never loads Streamlit's full plotly.js.

Other pages keep ``st.plotly_chart``: they draw other trace types, and only the map is on the
cold-start path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

HERE = Path(__file__).resolve().parent


def _component():
    # declared on each use: Streamlit registers a component only when it is declared inside a script run,
    # and this module may first be imported outside one (the server's warm-up thread, scripts/serve.py)
    return components.declare_component("plotly_map", path=str(HERE))


def figure_json(fig) -> str:
    """The figure as Plotly JSON (numpy arrays as base64 typed arrays), as the component receives it."""
    import plotly.io as pio

    return pio.to_json(fig, validate=False, remove_uids=True)


def plotly_map(fig, *, key: str, config: dict, on_select: Callable[[], None] | None = None,
               focus: list | None = None, outline: dict | None = None) -> dict | None:
    """Draw ``fig`` (a figure, or its :func:`figure_json` already made); the latest click or selection (see the
    module docstring), or None before the first.

    ``focus`` (:func:`nasviz.viz.maps.focus_points`): per trace the points kept in colour, the others drawn
    in the trace's ``unselected`` style (grey); None: all in colour. ``outline``: a layout shape drawn over
    the map (the selection's box or lasso, :func:`nasviz.viz.maps.region_outline`). Both travel apart from
    the figure, so a new selection restyles the drawn map (one ``Plotly.update``) instead of sending and
    drawing the whole figure again. Applying them replaces plotly's own selection outline, which would
    otherwise re-select its points on every redraw."""
    spec = fig if isinstance(fig, str) else figure_json(fig)
    # the id of the last event this run answers: a new box drawn over the same cells is still a new focus to
    # apply (it replaces plotly's outline), and a repeated render of the same run's args is not
    event = (st.session_state.get(key) or {}).get("event") if isinstance(st.session_state.get(key), dict) else None
    focus_json = json.dumps({"points": focus, "outline": outline, "event": event})
    return _component()(spec=spec, config=json.dumps(config), focus=focus_json, key=key, on_change=on_select,
                        default=None)


def selection(value) -> dict:
    """The ``selection`` of a component value (session state under the chart's key); ``{}`` when none."""
    return dict((value or {}).get("selection") or {}) if isinstance(value, dict) else {}
