"""How latent embeddings relate to accuracy, cost and structure: data + Plotly figures (no Streamlit).

* :func:`dim_correlation_frame` / :func:`fig_dim_ranking` / :func:`fig_dim_scatter` — each latent
  dimension against accuracy and FLOPs, ranked by |Spearman| (DNAS Fig. 4/5); the numbers of
  :func:`nasviz.analysis.latent.latent_correlations`, vectorised (:func:`spearman_columns`);
* :func:`edit_distance_curve` / :func:`fig_edit_distance` — latent L2 between the cells of a long
  random walk, grouped by their edit distance (arch2vec Fig. 3), using
  :func:`nasviz.analysis.latent.random_walk` and :func:`~nasviz.analysis.latent.distance_by_edit`;
* :func:`gp_scatter` / :func:`fig_gp` — a GP fitted on a few labelled embeddings predicting the
  rest (arch2vec Fig. 2): the same kernel and standardisation as
  :func:`nasviz.analysis.latent.gp_predictive`, which reports only RMSE/Pearson; here the
  predictions are kept for the scatter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nasviz.errors import NasvizError


def spearman_columns(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of every column of ``x`` (n, d) with ``y`` (n,), vectorised (average ranks for ties,
    as scipy's ``spearmanr``; NaN for a constant column). Same numbers as
    :func:`nasviz.analysis.latent.latent_correlations`, one rank pass instead of d scipy calls."""
    from scipy.stats import rankdata

    rx = rankdata(np.asarray(x, dtype=np.float64), axis=0)
    ry = rankdata(np.asarray(y, dtype=np.float64))
    rx -= rx.mean(0)
    ry -= ry.mean()
    den = np.sqrt((rx ** 2).sum(0) * (ry ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry[:, None]).sum(0) / den, np.nan)


def dim_correlation_frame(means: np.ndarray, accuracy: np.ndarray, flops: np.ndarray) -> pd.DataFrame:
    """One row per latent dim: Spearman rho with accuracy and with FLOPs, sorted by |rho(accuracy)|."""
    f = pd.DataFrame({"dim": np.arange(np.asarray(means).shape[1]), "rho accuracy": spearman_columns(means, accuracy),
                      "rho FLOPs": spearman_columns(means, flops)})
    f["|rho accuracy|"] = f["rho accuracy"].abs()
    return f.sort_values("|rho accuracy|", ascending=False, kind="stable", na_position="last").reset_index(drop=True)


def fig_dim_ranking(frame: pd.DataFrame, top: int = 20):
    import plotly.graph_objects as go

    f = frame.head(top)
    labels = [f"z{d}" for d in f["dim"]]
    fig = go.Figure([go.Bar(x=labels, y=f["rho accuracy"], name="accuracy", marker_color="#1f77b4"),
                     go.Bar(x=labels, y=f["rho FLOPs"], name="FLOPs", marker_color="#ff7f0e")])
    fig.update_layout(barmode="group", template="plotly_white", height=340, yaxis_title="Spearman rho",
                      title=f"Latent dimensions ranked by |Spearman| with accuracy (top {len(f)})",
                      yaxis_range=[-1, 1], margin=dict(l=40, r=20, t=50, b=40))
    return fig


def fig_dim_scatter(means: np.ndarray, dims, accuracy: np.ndarray, flops: np.ndarray, *, acc_label: str,
                    max_points: int = 4000, seed: int = 0):
    """DNAS Fig. 4/5: for each of ``dims``, z_d against accuracy, coloured by FLOPs (a seeded subsample)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    dims = [int(d) for d in dims]
    if not dims:
        raise NasvizError("pick at least one latent dimension to plot")
    n = len(means)
    idx = np.sort(np.random.default_rng(seed).choice(n, size=min(max_points, n), replace=False))
    fig = make_subplots(rows=1, cols=len(dims), subplot_titles=[f"z{d}" for d in dims], shared_yaxes=True)
    for k, d in enumerate(dims, start=1):
        fig.add_trace(go.Scattergl(x=means[idx, d], y=accuracy[idx], mode="markers", showlegend=False,
                                   marker=dict(size=4, color=flops[idx], colorscale="Plasma", opacity=0.7,
                                               showscale=(k == len(dims)), colorbar=dict(title="FLOPs (M)")),
                                   customdata=idx, hovertemplate=f"#%{{customdata}}<br>z{d} %{{x:.3f}}<br>"
                                                                 "acc %{y:.2f}<extra></extra>"), row=1, col=k)
        fig.update_xaxes(title_text=f"z{d}", row=1, col=k)
    fig.update_yaxes(title_text=acc_label, row=1, col=1)
    fig.update_layout(template="plotly_white", height=360, margin=dict(l=40, r=20, t=50, b=40),
                      title=f"Latent dimension vs accuracy, coloured by FLOPs ({len(idx):,} cells)")
    return fig


def edit_distance_curve(means: np.ndarray, space, n: int = 1000, seed: int = 0) -> dict:
    """arch2vec Fig. 3: latent L2 between all pairs of an ``n``-cell random walk, by edit distance."""
    from nasviz.analysis.latent import distance_by_edit, random_walk

    cells = random_walk(space, n, np.random.default_rng(seed))
    idx = space.indices(cells)
    out = distance_by_edit(np.asarray(means)[idx], cells)
    out["n_cells"], out["n_distinct"] = n, len(set(cells))
    return out


def edit_distance_caption(curves: dict[str, dict]) -> str:
    """The paper's Fig. 3 claim beside what the plotted curves show: for each curve whether its mean L2
    rises at every edit distance (monotonic), and how far it rises from edit 1 to the largest one."""
    parts = []
    for name, c in curves.items():
        ks = sorted(k for k in c["by_edit"] if k > 0)
        if not ks:
            continue
        lo, hi = c["by_edit"][ks[0]]["mean"], c["by_edit"][ks[-1]]["mean"]
        shape = ("rises at every step" if c["monotonic"] else
                 "rises overall but not at every step" if hi > lo else "does not rise")
        parts.append(f"{name} {shape} ({lo:.2f} at edit {ks[0]} -> {hi:.2f} at edit {ks[-1]}, x{hi / lo:.2f})"
                     if lo > 0 else f"{name} {shape}")
    head = ("Paper (arch2vec Fig. 3, NB101): the mean L2 grows with the edit distance for arch2vec, not for the "
            "supervised encoder. Here: ")
    return head + ("; ".join(parts) if parts else "no curve") + ". '(monotonic)' marks a curve that rises at every edit distance."


def fig_edit_distance(curves: dict[str, dict]):
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, c in curves.items():
        ks = sorted(k for k in c["by_edit"] if k > 0)
        mean = [c["by_edit"][k]["mean"] for k in ks]
        std = [c["by_edit"][k]["std"] for k in ks]
        fig.add_trace(go.Scatter(x=ks, y=mean, error_y=dict(type="data", array=std), mode="lines+markers",
                                 name=f"{name}{' (monotonic)' if c['monotonic'] else ''}"))
    fig.update_layout(template="plotly_white", height=340, xaxis_title="edit distance", yaxis_title="L2 distance",
                      title="Latent L2 distance by edit distance, pairs of a random walk (mean ± std)",
                      margin=dict(l=40, r=20, t=50, b=40))
    return fig


def gp_scatter(emb: np.ndarray, y: np.ndarray, *, n_train: int = 250, n_test: int = 2000, seed: int = 0,
               restarts: int = 2) -> dict:
    """Fit a GP on ``n_train`` random cells, predict ``n_test`` others: predictions, RMSE, Pearson r."""
    from scipy.stats import pearsonr
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    emb = np.asarray(emb, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not 2 <= n_train < len(emb):
        raise NasvizError(f"n_train must be 2..{len(emb) - 1}; got {n_train}")
    x = (emb - emb.mean(0)) / (emb.std(0) + 1e-9)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(emb))
    tr, te = perm[:n_train], perm[n_train:n_train + n_test]
    kernel = ConstantKernel(1.0) * RBF(length_scale=np.full(x.shape[1], 3.0)) + WhiteKernel(0.1)
    gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=restarts, random_state=seed)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # length scales at their bounds: irrelevant dimensions, expected
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x[tr], y[tr])
    pred = gp.predict(x[te])
    return {"test": te, "true": y[te], "pred": pred, "rmse": float(np.sqrt(np.mean((pred - y[te]) ** 2))),
            "pearson": float(pearsonr(pred, y[te])[0]), "n_train": n_train}


def fig_gp(results: dict[str, dict], label: str):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = list(results)
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True,
                        subplot_titles=[f"{n}: RMSE {r['rmse']:.2f}, r {r['pearson']:.3f}" for n, r in results.items()])
    lo = min(float(np.min(r["true"])) for r in results.values())
    hi = max(float(np.max(r["true"])) for r in results.values())
    for k, (n, r) in enumerate(results.items(), start=1):
        fig.add_trace(go.Scattergl(x=r["true"], y=r["pred"], mode="markers", showlegend=False,
                                   marker=dict(size=4, opacity=0.5), customdata=r["test"],
                                   hovertemplate="#%{customdata}<br>true %{x:.2f}<br>predicted %{y:.2f}<extra></extra>"),
                      row=1, col=k)
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=dict(color="#888", dash="dash"),
                                 showlegend=False, hoverinfo="skip"), row=1, col=k)
        fig.update_xaxes(title_text=f"true {label}", row=1, col=k)
    fig.update_yaxes(title_text=f"GP predicted {label}", row=1, col=1)
    fig.update_layout(template="plotly_white", height=380, margin=dict(l=40, r=20, t=60, b=40),
                      title="GP on the embeddings: predicted vs true (arch2vec Fig. 2)")
    return fig


def stored_disentanglement(name: str, path=None) -> dict | None:
    """The disentanglement result ``benchmarks/bench_models.py`` stored for model ``name`` (the dict of
    :func:`nasviz.analysis.latent.disentanglement`, with its ``n_anchors``), or None when there is none."""
    from nasviz.fileio import read_result
    from nasviz.paths import REPO_ROOT

    doc = read_result(path or REPO_ROOT / "benchmarks" / "results" / "models.json", script="bench_models.py")
    if doc is None:
        return None
    got = (doc.get("models") or {}).get(name, {}).get("disentanglement")
    return got if isinstance(got, dict) and "dims" in got and "n_anchors" in got else None
