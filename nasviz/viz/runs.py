"""Search-run history for the app: frames and figures from the run store (no Streamlit here).

Reads :class:`nasviz.search.store.Store` (runs, trials); every function takes plain
``Run`` / ``Trial`` objects so tests can build them from a real store.
"""

from __future__ import annotations

import datetime as dt

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
