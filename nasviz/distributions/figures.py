"""Plotly figures of architecture-distribution runs (no Streamlit here; pages wrap these).

Every function takes :class:`~nasviz.distributions.results.RunResult` objects (from
:func:`~nasviz.distributions.run.run_search` or :func:`~nasviz.distributions.results.load_run`)
and returns a ``plotly.graph_objects.Figure``:

* :func:`anytime_weights_figure` — per-edge op probabilities over steps, one row per
  run (method), one column per edge (VIM-NAS Fig. 2/6/7);
* :func:`regret_figure` — anytime test regret of the derived cell on an NB201 dataset,
  mean and min-max band over seeds per method;
* :func:`mutual_information_figure` — heat maps of the mutual information between
  sampled edge ops, side by side (e.g. DARTS's independent edges vs VIM-NAS);
* :func:`estimator_variance_figure` — UNAS estimator variance at the measured states;
* :func:`flops_estimator_variance_figure` — UNAS FLOPs-term estimator variance at every step.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nasviz.distributions.results import RunResult
from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import EDGES, OPS

#: One colour per op, fixed across figures.
OP_COLORS: dict[str, str] = {
    "none": "#9e9e9e", "skip_connect": "#1f77b4", "nor_conv_1x1": "#ff7f0e",
    "nor_conv_3x3": "#d62728", "avg_pool_3x3": "#2ca02c",
}
METHOD_COLORS: dict[str, str] = {"darts": "#1f77b4", "gumbel": "#9467bd", "vimnas": "#d62728", "unas": "#2ca02c"}
EDGE_LABELS: tuple[str, ...] = tuple(f"{frm}→{to}" for to, frm in EDGES)


def _runs(runs: RunResult | Iterable[RunResult]) -> list[RunResult]:
    out = [runs] if isinstance(runs, RunResult) else list(runs)
    if not out:
        raise NasvizError("no runs to plot; run `nasviz distribution run` first")
    return out


def anytime_weights_figure(runs: RunResult | Iterable[RunResult], *, per_epoch: bool = False,
                           edges: Sequence[int] | None = None) -> go.Figure:
    """Op probabilities per edge over training, one row per run and one column per edge."""
    rs = _runs(runs)
    cols = list(range(len(EDGES))) if edges is None else [int(e) for e in edges]
    for e in cols:
        if not 0 <= e < len(EDGES):
            raise NasvizError(f"edge {e} out of range; accepted 0..{len(EDGES) - 1}")
    # short panel titles (run, then edge): "<run> · edge <i>→<j>" ran into its neighbours at six panels a row
    titles = [f"{r.method} s{r.seed} · {EDGE_LABELS[e]}" for r in rs for e in cols]
    fig = make_subplots(rows=len(rs), cols=len(cols), shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=titles, vertical_spacing=0.08 / max(1, len(rs)) + 0.02,
                        horizontal_spacing=0.02)
    for i, r in enumerate(rs, start=1):
        x = np.arange(r.probs.shape[0]) / (r.steps_per_epoch if per_epoch else 1)
        for j, e in enumerate(cols, start=1):
            for o, op in enumerate(OPS):
                fig.add_trace(go.Scatter(x=x, y=r.probs[:, e, o], mode="lines", name=op, legendgroup=op,
                                         showlegend=(i == 1 and j == 1), line={"color": OP_COLORS[op], "width": 1.5},
                                         hovertemplate=f"{op}<br>%{{x}}: p=%{{y:.3f}}<extra></extra>"),
                              row=i, col=j)
    fig.update_yaxes(range=[0, 1])
    fig.update_xaxes(title_text="epoch" if per_epoch else "step", row=len(rs))
    fig.update_annotations(font_size=12)
    fig.update_layout(title="Anytime architectural weights (per-edge op probabilities; panels: run · edge)",
                      height=220 * len(rs) + 80, legend={"orientation": "h", "y": -0.08})
    return fig


def regret_figure(runs: Iterable[RunResult], dataset: str = "cifar10", *, per_epoch: bool = True) -> go.Figure:
    """Anytime test regret (best in the NB201 table minus the derived cell's test accuracy), per method."""
    groups: dict[str, list[RunResult]] = defaultdict(list)
    for r in _runs(runs):
        if dataset not in r.test_acc:
            raise NasvizError(f"no {dataset!r} accuracies in the run; stored: {', '.join(r.test_acc)}")
        groups[r.method].append(r)
    fig = go.Figure()
    for m, rs in groups.items():
        n = min(r.probs.shape[0] for r in rs)
        reg = np.stack([r.regret(dataset)[:n] for r in rs])
        x = np.arange(n) / (rs[0].steps_per_epoch if per_epoch else 1)
        color = METHOD_COLORS.get(m, "#333333")
        if len(rs) > 1:
            fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]),
                                     y=np.concatenate([reg.max(0), reg.min(0)[::-1]]), fill="toself",
                                     fillcolor=color, opacity=0.15, line={"width": 0}, hoverinfo="skip",
                                     showlegend=False, legendgroup=m))
        fig.add_trace(go.Scatter(x=x, y=reg.mean(0), mode="lines", name=f"{m} (n={len(rs)})", legendgroup=m,
                                 line={"color": color, "width": 2}))
    fig.update_layout(title=f"Anytime test regret on NB201 {dataset} (200 epochs); mean and min-max over seeds",
                      xaxis_title="epoch" if per_epoch else "step", yaxis_title="regret (accuracy points)")
    return fig


def mutual_information_figure(matrices: Mapping[str, np.ndarray], *, zmax: float | None = None) -> go.Figure:
    """Heat maps of (6 x 6) edge-op mutual information, one panel per entry; diagonal (entropy) blanked."""
    if not matrices:
        raise NasvizError("no mutual-information matrices to plot")
    names = list(matrices)
    mats = []
    for k in names:
        m = np.asarray(matrices[k], dtype=np.float64).copy()
        if m.shape != (len(EDGES), len(EDGES)):
            raise NasvizError(f"MI matrix {k!r} must be {len(EDGES)}x{len(EDGES)}; got {m.shape}")
        np.fill_diagonal(m, np.nan)
        mats.append(m)
    top = zmax if zmax is not None else max(float(np.nanmax(m)) for m in mats) or 1e-3
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    for j, m in enumerate(mats, start=1):
        fig.add_trace(go.Heatmap(z=m, x=list(EDGE_LABELS), y=list(EDGE_LABELS), zmin=0, zmax=top,
                                 colorscale="Viridis", showscale=(j == len(mats)),
                                 colorbar={"title": "MI (nats)"},
                                 hovertemplate="edges %{y} & %{x}: %{z:.4f} nats<extra></extra>"), row=1, col=j)
        fig.update_yaxes(autorange="reversed", row=1, col=j)
    # no fixed width: the chart takes its container's (a width of 380 px per panel ran past the page's edge,
    # cutting off the title and the last panels)
    fig.update_layout(title="Mutual information between sampled edge ops (0 = independent edges)", height=380)
    return fig


def run_mutual_information(runs: Iterable[RunResult]) -> dict[str, np.ndarray]:
    """The MI matrices stored with runs, keyed ``"<method> s<seed> (<mode>)"``, for :func:`mutual_information_figure`."""
    out = {}
    for r in _runs(runs):
        for mode, m in r.extra.get("mutual_information", {}).items():
            out[f"{r.method} s{r.seed} ({mode})"] = np.asarray(m)
    return out


def estimator_variance_figure(runs: RunResult | Iterable[RunResult]) -> go.Figure:
    """UNAS: trace of each estimator's gradient covariance at the measured states (log scale)."""
    rs = [r for r in _runs(runs) if r.estimator_variance]
    if not rs:
        raise NasvizError("no estimator-variance measurements in these runs (UNAS runs record them)")
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in rs:
        for e in r.estimator_variance:
            for name, v in e["trace_var"].items():
                series[name].append((e["step"] / r.steps_per_epoch, v))
    fig = go.Figure()
    dash = {"reinforce": "dot", "gumbel": "dash", "rebar": "solid", "relax": "solid"}
    for name, pts in sorted(series.items()):
        pts.sort()
        term, est = name.split(":")
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers+lines",
                                 name=f"{'L_d (Eq. 8)' if term == 'd' else 'FLOPs'} · {est}",
                                 line={"dash": dash.get(est, "solid")}))
    fig.update_layout(title="UNAS gradient-estimator variance on the same states",
                      xaxis_title="epoch", yaxis_title="trace of gradient covariance", yaxis_type="log")
    return fig


def flops_estimator_variance_figure(run: RunResult) -> go.Figure:
    """UNAS: variance of the FLOPs-term estimators (REINFORCE, Gumbel-Softmax, RELAX) at every step."""
    per_step = run.extra.get("flops_estimator_trace_var_per_step")
    if not per_step:
        raise NasvizError("this run has no per-step FLOPs-estimator variance (UNAS runs record it)")
    fig = go.Figure()
    for name, values in sorted(per_step.items()):
        x = np.arange(len(values)) / run.steps_per_epoch
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines", name=name.split(":")[1]))
    fig.update_layout(title=f"UNAS {run.method} s{run.seed}: FLOPs-term gradient variance at every step",
                      xaxis_title="epoch", yaxis_title="trace of gradient covariance", yaxis_type="log")
    return fig
