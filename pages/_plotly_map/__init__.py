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

Other pages keep ``st.plotly_chart``: they draw other trace types, and only the map is on the
cold-start path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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


def plotly_map(fig, *, key: str, config: dict, on_select: Callable[[], None] | None = None) -> dict | None:
    """Draw ``fig``; the latest click or selection (see the module docstring), or None before the first."""
    return _component()(spec=figure_json(fig), config=json.dumps(config), key=key, on_change=on_select,
                      default=None)


def selection(value) -> dict:
    """The ``selection`` of a component value (session state under the chart's key); ``{}`` when none."""
    return dict((value or {}).get("selection") or {}) if isinstance(value, dict) else {}
