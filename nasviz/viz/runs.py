"""Search-run history for the app: frames and figures from the run store (no Streamlit here).

Reads :class:`nasviz.search.store.Store` (runs, trials); every function takes plain
``Run`` / ``Trial`` objects so tests can build them from a real store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nasviz.errors import NasvizError


def _when(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def runs_frame(runs) -> pd.DataFrame:
    """One row per run: id, state, strategy, space, dataset, budget, seed, progress, best value, times."""
    rows = [{"id": r.id, "state": r.state.value, "strategy": r.strategy, "space": r.space, "dataset": r.dataset,
             "budget": r.budget, "seed": r.seed, "progress": r.progress,
             "best value": r.stats.get("best_value"), "created (UTC)": _when(r.created_at),
             "finished (UTC)": _when(r.finished_at),
             "error": (f"DAMAGED ROW: {r.damaged}" + (f"; {r.error}" if r.error else "")) if getattr(r, "damaged", None)
             else r.error or ""} for r in runs]
    cols = ["id", "state", "strategy", "space", "dataset", "budget", "seed", "progress", "best value",
            "created (UTC)", "finished (UTC)", "error"]
    return pd.DataFrame(rows, columns=cols)


def trials_frame(trials) -> pd.DataFrame:
    """The trials of one run in query order, with the best value so far."""
    f = pd.DataFrame([{"number": t.number, "cell": t.cell, "index": t.cell_index, "value": t.value,
                       "state": t.state.value, "duration s": t.duration_s} for t in trials],
                     columns=["number", "cell", "index", "value", "state", "duration s"])
    v = f["value"].to_numpy(dtype=np.float64)
    f["best so far"] = np.fmax.accumulate(np.where(np.isnan(v), -np.inf, v)) if len(v) else v
    f.loc[np.isinf(f["best so far"]), "best so far"] = np.nan
    return f


def best_trials(trials, k: int = 3) -> list:
    """The ``k`` completed trials with the highest value (ties: earlier first), distinct cells."""
    done = [t for t in trials if t.value is not None and t.state.value == "COMPLETE"]
    out, seen = [], set()
    for t in sorted(done, key=lambda t: (-t.value, t.number)):
        if t.cell not in seen:
            out.append(t)
            seen.add(t.cell)
        if len(out) == k:
            break
    return out


def fig_curves(curves: dict[str, pd.DataFrame], value_label: str = "value"):
    """Best value so far against the number of queries, one line per run."""
    import plotly.graph_objects as go

    if not curves:
        raise NasvizError("pick at least one run to plot")
    fig = go.Figure()
    for name, f in curves.items():
        fig.add_trace(go.Scatter(x=f["number"] + 1, y=f["best so far"], mode="lines", name=name,
                                 line=dict(shape="hv")))
    fig.update_layout(template="plotly_white", height=360, xaxis_title="queries", yaxis_title=f"best {value_label}",
                      title="Best so far per run", margin=dict(l=40, r=20, t=50, b=40))
    return fig


# -- which runs to compare -----------------------------------------------------------------
def default_compare(runs, k: int = 3) -> list[int]:
    """The runs whose curves a page compares first: the first ``k`` of ``runs`` (newest first) that share the
    space of the first one. Values of two spaces (NB201 vs NB101 accuracies) are not comparable."""
    runs = list(runs)
    if not runs:
        return []
    space = runs[0].space
    return [r.id for r in runs if r.space == space][:k]


def split_by_space(runs) -> dict[str, list]:
    """``{space: [runs]}`` in the order the spaces first appear."""
    out: dict[str, list] = {}
    for r in runs:
        out.setdefault(r.space, []).append(r)
    return out


# -- the search path on a latent map ----------------------------------------------------------
#: Above this many cells the grey background of a path is a density image instead of one point per cell.
MAX_BACKGROUND_POINTS = 20_000
BACKGROUND = "#d9d9d9"
BEST_COLOR = "#d62728"


def run_source(config: dict, space: str, names) -> str | None:
    """The map embedding a run searched in, when its stored config names one that ``names`` holds, else None.

    Latent strategies keep it in ``params["embedding"]`` (``arch2vec``, ``nb201-bvae-beta1``, ``onehot``,
    ``MODEL:ARRAY``), region searches in ``region["embedding"]``; short names carry the space prefix on the map."""
    from nasviz.viz.maps import DISCRETE

    names = list(names)
    params = config.get("params") or {}
    region = config.get("region") or {}
    emb = params.get("embedding") or (region.get("embedding") if isinstance(region, dict) else None)
    if not isinstance(emb, str) or not emb.strip():
        return None
    emb = emb.split(":")[0].strip()
    candidates = [DISCRETE] if emb == "onehot" else [emb, f"{space}-{emb}"]
    return next((c for c in candidates if c in names), None)


def run_projection(config: dict, projections) -> str:
    """The projection a region run drew its region in (when ``projections`` has it), else the first one."""
    projections = list(projections)
    region = config.get("region") or {}
    proj = region.get("projection") if isinstance(region, dict) else None
    return proj if proj in projections else projections[0]


def map_indices(space: str, trials, bench=None) -> np.ndarray:
    """(T,) the map index (row of a map source's arrays) of each trial's cell; -1 where a trial has none.

    NB201: the official index, which the trials store. NB101: trials store the row of the benchmark table
    (its sample of cells); the map indexes every enumerated cell, so the row goes through ``bench.indices``."""
    idx = np.array([-1 if t.cell_index is None else int(t.cell_index) for t in trials], dtype=np.int64)
    if space == "nb101" and len(idx):
        if bench is None:
            from nasviz.bench import get_benchmark

            bench = get_benchmark("nb101")
        rows = np.asarray(bench.indices, dtype=np.int64)
        ok = (idx >= 0) & (idx < len(rows))
        idx = np.where(ok, rows[np.clip(idx, 0, len(rows) - 1)], -1)
    return idx


def best_so_far_marks(values) -> np.ndarray:
    """(T,) bool: the trials that raised the best value so far (the first trial with a value included).
    A missing value (NaN, a failed trial) never counts."""
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(len(v), dtype=bool)
    best = -np.inf
    for i, x in enumerate(v):
        if not np.isnan(x) and x > best:
            best, out[i] = x, True
    return out


@dataclass(frozen=True)
class SearchPath:
    """The trials of a run placed on a 2-D map, in query order (what :func:`path_figure` draws)."""

    positions: np.ndarray  # (P,) where the placed trials are in the trials given
    numbers: np.ndarray  # (P,) trial numbers of the placed trials, in query order
    cells: np.ndarray  # (P,) their map indices
    xy: np.ndarray  # (P, 2) their coordinates
    values: np.ndarray  # (P,) their values (NaN: none)
    improved: np.ndarray  # (P,) bool: the trial raised the run's best so far
    best: int | None  # position (in the placed trials) of the run's overall best trial, None if not placed
    n_trials: int  # every trial given
    n_outside: int  # trials with no coordinates in this projection (a cell outside a subset embedding)


def search_path(xy_all, trial_cell_indices, values, numbers=None) -> SearchPath:
    """Place trials on a map: ``xy_all`` (n_cells, 2) with NaN rows for cells a projection does not cover
    (e.g. NB101 controller states of the 30,001 sample cells, see :func:`nasviz.viz.maps.load_source`); such
    trials, and trials without a cell (index -1), are left out of the path and counted in ``n_outside``, as the
    map leaves uncovered cells out. Best-so-far marks are computed over every trial, in query order."""
    xy_all = np.asarray(xy_all, dtype=np.float64)
    cells = np.asarray(trial_cell_indices, dtype=np.int64).reshape(-1)
    v = np.asarray([np.nan if x is None else x for x in values], dtype=np.float64).reshape(-1)
    nums = np.arange(len(cells)) if numbers is None else np.asarray(numbers, dtype=np.int64).reshape(-1)
    if not len(cells) == len(v) == len(nums):
        raise NasvizError(f"a search path needs one cell, value and number per trial; got {len(cells)} cells, "
                          f"{len(v)} values, {len(nums)} numbers")
    if xy_all.ndim != 2 or xy_all.shape[1] != 2:
        raise NasvizError(f"map coordinates must be (n_cells, 2); got shape {xy_all.shape}")
    ok = (cells >= 0) & (cells < len(xy_all))
    pts = np.full((len(cells), 2), np.nan)
    pts[ok] = xy_all[cells[ok]]
    placed = ok & np.isfinite(pts).all(axis=1)
    improved = best_so_far_marks(v)
    best = None
    if np.isfinite(v).any():
        b = int(np.nanargmax(v))  # the first trial with the highest value
        best = int(placed[:b].sum()) if placed[b] else None
    return SearchPath(positions=np.flatnonzero(placed), numbers=nums[placed], cells=cells[placed], xy=pts[placed], values=v[placed],
                      improved=improved[placed], best=best, n_trials=len(cells),
                      n_outside=int((~placed).sum()))


def _background(go, xy_all: np.ndarray):
    shown = xy_all[np.isfinite(xy_all).all(axis=1)]
    if len(shown) <= MAX_BACKGROUND_POINTS:
        return go.Scattergl(x=shown[:, 0].astype(np.float32), y=shown[:, 1].astype(np.float32), mode="markers",
                            marker=dict(size=3, color=BACKGROUND), hoverinfo="skip",
                            name=f"all {len(shown):,} cells")
    h, ex, ey = np.histogram2d(shown[:, 0], shown[:, 1], bins=160)
    z = np.where(h > 0, np.log1p(h), np.nan).T
    return go.Heatmap(x=(ex[:-1] + ex[1:]) / 2, y=(ey[:-1] + ey[1:]) / 2, z=z.astype(np.float32),
                      colorscale=[[0, "#f0f0f0"], [1, "#bdbdbd"]], showscale=False, hoverinfo="skip",
                      name=f"all {len(shown):,} cells (density)", showlegend=True)


def path_figure(xy_all, trial_cell_indices, values, *, numbers=None, labels=None, title: str | None = None,
                value_label: str = "value", axis_label: str = "", height: int = 560, budget: int | None = None):
    """A search's trials on a latent map in query order (Plotly).

    Traces, in order: ``all cells`` (every cell of the projection in light grey; a grey density image above
    :data:`MAX_BACKGROUND_POINTS` cells), ``path`` (thin lines joining consecutive queries), ``trials`` (one
    point per trial coloured by its trial number, ``customdata`` = [number, cell, value]), ``best so far`` (star
    markers joined by a line at the trials that raised the best value), ``best`` (the overall best trial, large,
    red). ``labels`` (optional, per trial) adds a line of hover text. ``budget`` fixes the colour scale at
    0..budget-1, so a trial keeps its colour while a running search adds more. See :func:`search_path`."""
    import plotly.graph_objects as go

    path = search_path(xy_all, trial_cell_indices, values, numbers)
    xy_all = np.asarray(xy_all, dtype=np.float64)
    fig = go.Figure()
    fig.add_trace(_background(go, xy_all))
    x, y = path.xy[:, 0], path.xy[:, 1]
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line=dict(width=0.8, color="rgba(60,60,60,0.45)"),
                             hoverinfo="skip", name="path (query order)"))
    hover = [f"trial {n}<br>cell #{c}<br>{value_label}: {'—' if np.isnan(v) else f'{v:.2f}'}"
             for n, c, v in zip(path.numbers, path.cells, path.values)]
    if labels is not None:
        lab = np.asarray(labels, dtype=object)
        hover = [h + f"<br>{lab[k]}" for h, k in zip(hover, path.positions)]
    custom = np.column_stack([path.numbers, path.cells, path.values]) if len(path.numbers) else np.empty((0, 3))
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="markers", name="trials", text=hover, hovertemplate="%{text}<extra></extra>",
        customdata=custom,
        marker=dict(size=8, color=path.numbers, colorscale="Viridis", line=dict(width=0.5, color="white"),
                    cmin=0, cmax=max(1, (budget or path.n_trials) - 1),
                    colorbar=dict(title="trial", thickness=12)),
    ))
    imp = path.improved
    fig.add_trace(go.Scatter(x=x[imp], y=y[imp], mode="lines+markers", name="best so far",
                             line=dict(width=1.2, dash="dot", color=BEST_COLOR),
                             marker=dict(symbol="star", size=13, color="#ffbf00", line=dict(width=1, color="black")),
                             customdata=path.numbers[imp], text=[hover[i] for i in np.flatnonzero(imp)],
                             hovertemplate="best so far<br>%{text}<extra></extra>"))
    b = [] if path.best is None else [path.best]
    fig.add_trace(go.Scatter(x=x[b], y=y[b], mode="markers", name="best",
                             marker=dict(symbol="star", size=24, color=BEST_COLOR, line=dict(width=1.5, color="black")),
                             customdata=path.numbers[b], text=[hover[i] for i in b],
                             hovertemplate="overall best<br>%{text}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=height, title=title, margin=dict(l=40, r=20, t=50, b=40),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
                      xaxis_title=f"{axis_label} 1".strip(), yaxis_title=f"{axis_label} 2".strip())
    return fig

