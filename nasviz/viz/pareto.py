"""Pareto view of a latent map: accuracy against a cost (params or FLOPs), the non-dominated cells drawn as a
front, the map's selection highlighted. Built without Streamlit (``pages/latent_map.py`` draws it).

* :func:`pareto_front` — the exact non-dominated set of ``(cost, accuracy)`` points (maximise accuracy,
  minimise cost) in one sort and one running maximum, O(n log n);
* :func:`pareto_view` — the front of every cell shown and the front of the highlighted cells (the map's
  selection, or its top-k %);
* :func:`pareto_figure` — the cells as a grey cloud, the highlighted ones in colour, each front as a
  staircase line with its cells marked; every point carries its cell index in ``customdata``, so a
  click on it shows that cell as a click on the map does.

Dominance: cell ``a`` dominates ``b`` when ``acc[a] >= acc[b]`` and ``cost[a] <= cost[b]`` with at least one
strict. Cells with the same accuracy and cost do not dominate each other, so tied cells on the front are
all on it. Cells with no accuracy or no cost (NaN) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: colour of the highlighted cells and of their front; grey for the others and for the front of all cells
SELECTED_COLOR = "#1f77b4"
FRONT_COLOR = "#d62728"
OTHER_COLOR = "#c7c7c7"
ALL_FRONT_COLOR = "#7f7f7f"


def pareto_front(acc, cost) -> np.ndarray:
    """Positions of the non-dominated points (maximise ``acc``, minimise ``cost``), ordered by cost ascending
    (then position); points where either value is NaN are never on the front.

    Sorted by cost ascending and accuracy descending, a point is on the front exactly when its accuracy is
    the highest of its cost (ties kept) and above every accuracy at a strictly lower cost."""
    acc = np.asarray(acc, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    if acc.shape != cost.shape or acc.ndim != 1:
        raise ValueError(f"acc and cost must be 1-D arrays of the same length, got {acc.shape} and {cost.shape}")
    ok = np.flatnonzero(np.isfinite(acc) & np.isfinite(cost))
    if len(ok) == 0:
        return np.zeros(0, dtype=np.int64)
    order = ok[np.lexsort((ok, -acc[ok], cost[ok]))]  # cost asc, acc desc, position asc
    a, c = acc[order], cost[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])  # first point of each cost group: its best accuracy
    group = np.cumsum(np.r_[True, c[1:] != c[:-1]]) - 1
    best = a[starts]  # best accuracy per cost group
    before = np.r_[-np.inf, np.maximum.accumulate(best)[:-1]]  # best accuracy at any strictly lower cost
    on = (a == best[group]) & (a > before[group])
    return order[on].astype(np.int64)


@dataclass(frozen=True)
class ParetoView:
    """The cells of a Pareto plot (official indices, each with a finite accuracy and cost)."""

    cells: np.ndarray  # every cell drawn
    front: np.ndarray  # the front of all of them, by cost ascending
    highlighted: np.ndarray | None  # the map's selection among ``cells`` (None: nothing highlighted)
    highlighted_front: np.ndarray | None  # the front of the highlighted cells, by cost ascending


def pareto_view(acc, cost, shown, highlight=None) -> ParetoView:
    """Fronts of the ``shown`` cells and of ``highlight`` (indices, or None) among them; ``acc``/``cost`` hold
    one value per cell of the space (official order)."""
    acc = np.asarray(acc, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    shown = np.asarray(shown, dtype=np.int64)
    cells = shown[np.isfinite(acc[shown]) & np.isfinite(cost[shown])]
    front = cells[pareto_front(acc[cells], cost[cells])]
    if highlight is None:
        return ParetoView(cells, front, None, None)
    hl = np.intersect1d(cells, np.asarray(highlight, dtype=np.int64))
    return ParetoView(cells, front, hl, hl[pareto_front(acc[hl], cost[hl])])


def _staircase(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The front as the boundary of what it attains: from each point right at its accuracy, then up to the next."""
    if len(x) < 2:
        return x, y
    sx = np.repeat(x, 2)[1:]
    sy = np.repeat(y, 2)[:-1]
    return sx, sy


def pareto_figure(view: ParetoView, acc, cost, *, x_label: str, y_label: str, title: str = "",
                  uirevision: str = "pareto", highlight_name: str = "selected"):
    """The Pareto plot of ``view``: cells not highlighted in grey (all cells in colour when nothing is), the
    highlighted ones in colour, the front of all cells (grey) and of the highlighted ones (red) as staircases
    with their cells marked. Trace names: ``"other cells"`` / ``highlight_name`` / ``"all cells"``, ``"front (all
    cells)"``, ``"front (<highlight_name>)"``; every point's ``customdata`` is its cell index."""
    import plotly.graph_objects as go

    acc = np.asarray(acc, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    fig = go.Figure()
    hover = (f"#%{{customdata}}<br>{x_label}: %{{x:.4g}}<br>{y_label}: %{{y:.2f}}<extra>%{{fullData.name}}"
             "</extra>")

    def points(cells, name, color, size, opacity):
        cells = np.asarray(cells, dtype=np.int64)
        fig.add_trace(go.Scattergl(x=cost[cells].astype(np.float32), y=acc[cells].astype(np.float32),
                                   mode="markers", name=name, customdata=cells,
                                   marker=dict(color=color, size=size, opacity=opacity), hovertemplate=hover))

    if view.highlighted is None:
        points(view.cells, "all cells", SELECTED_COLOR, 4, 0.5)
    else:
        points(np.setdiff1d(view.cells, view.highlighted, assume_unique=True), "other cells", OTHER_COLOR, 4, 0.5)
        points(view.highlighted, highlight_name, SELECTED_COLOR, 5, 0.8)
    fronts = [(view.front, "front (all cells)", ALL_FRONT_COLOR)]
    if view.highlighted_front is not None and len(view.highlighted_front):
        fronts.append((view.highlighted_front, f"front ({highlight_name})", FRONT_COLOR))
    for cells, name, color in fronts:
        sx, sy = _staircase(cost[cells], acc[cells])
        # WebGL too: plotly draws its WebGL layer over SVG traces, which would hide the line under the cloud
        fig.add_trace(go.Scattergl(x=sx, y=sy, mode="lines", name=name, legendgroup=name, hoverinfo="skip",
                                   line=dict(color=color, width=2)))
        fig.add_trace(go.Scattergl(x=cost[cells], y=acc[cells], mode="markers", name=name, legendgroup=name,
                                   showlegend=False, customdata=np.asarray(cells, dtype=np.int64),
                                   marker=dict(color=color, size=8, line=dict(width=1, color="white")),
                                   hovertemplate=hover))
    fig.update_layout(title=title, template="plotly_white", height=480, uirevision=uirevision,
                      legend=dict(orientation="h", y=-0.15), margin=dict(l=50, r=20, t=50, b=40),
                      xaxis_title=x_label, yaxis_title=y_label, dragmode="zoom")
    return fig
