"""Analyses of ENAS controllers (Adam & Lorraine, paper 001): data + Plotly figures.

Every function takes loaded controllers (see :func:`load_shipped`) and returns plain
numpy/dict data; the ``fig_*`` functions turn that data into Plotly figures.

* Fig. 1/4 :func:`max_action_probs` / :func:`fig_max_action_probs`: probability of
  the most likely action at each step for 100 sampled architectures.
* Fig. 2 :func:`sampled_accuracy` / :func:`fig_accuracy_distribution`: benchmark
  accuracy of sampled architectures, trained vs random.
* Fig. 3 :func:`sampled_hidden` / :func:`fig_hidden_heatmap`: final hidden states of
  100 sampled architectures x neurons, and the per-neuron variance.
* Table 1 :func:`similarity_correlations` / :func:`table1`: Spearman correlation
  between ``||h(A1) - h(A2)||_2`` and four similarity measures over sampled pairs.

Similarity measures for NB201 (the paper's RNN cells choose an activation and an
input per node; NB201 cells choose an op per edge, so we translate):

* common operations: size of the multiset intersection of the two cells' six ops
  (``sum_o min(count_1(o), count_2(o))``) - order-free, like counting shared
  activation functions;
* common connections: edges that carry data in both cells (op != ``none``);
* graph edit distance: exact, node-op DAG view (:mod:`nasviz.analysis.ged`);
* absolute accuracy difference: on the reward column (NB201 default: 12-epoch
  cifar10-valid validation accuracy, in percent).

Similarity measures for NB101 (26 decisions: per vertex an op, then one input bit per
earlier vertex; :mod:`nasviz.controllers.nb101`):

* common operations: multiset intersection of the interior ops of the two (pruned)
  cells, as for NB201;
* common connections: input connections ``u -> v`` switched on in both decision
  sequences (same vertex pair, as sampled, before pruning) - the analogue of the
  paper's "same input chosen for a node";
* graph edit distance: exact, on the pruned cells (isomorphic cells are at 0);
* absolute accuracy difference: on the reward column (default 108-epoch validation
  accuracy); a cell missing from the embedded 30,001-cell sample takes the value of
  its nearest table cell, as during training.

Sampled architectures are *cells*: for NB101, sequences outside the space are
dropped and sampled again (:func:`sample_valid`); how many is reported.

A measure that is constant over the pairs (e.g. a controller that always samples
the same cell) has no Spearman correlation; it is reported as ``nan``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from nasviz.errors import DataFileError, NasvizError
from nasviz.fileio import atomic_savez, meta_array

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("random", "unsupervised", "supervised")
MEASURES: tuple[str, ...] = ("common_ops", "common_connections", "ged", "abs_acc_diff")
MEASURE_LABELS = {
    "common_ops": "# common ops",
    "common_connections": "# common connections",
    "ged": "GED",
    "abs_acc_diff": "abs. acc. diff",
}
#: Adam & Lorraine, Table 1 (ENAS RNN cells on PTB).
PAPER_TABLE1: dict[str, dict[str, float]] = {
    "random": {"common_ops": -0.090, "common_connections": -0.130, "ged": -0.064, "abs_acc_diff": 0.004},
    "supervised": {"common_ops": -0.404, "common_connections": -0.160, "ged": 0.100, "abs_acc_diff": 0.163},
    "unsupervised": {"common_ops": -0.315, "common_connections": -0.072, "ged": -0.028, "abs_acc_diff": -0.001},
}
COLORS = {"random": "#7f7f7f", "unsupervised": "#d62728", "supervised": "#1f77b4"}


# -- loading -------------------------------------------------------------------------------
def load_shipped(space: str = "nb201", kinds: Sequence[str] = KINDS, root: Path | None = None,
                 seeds: Sequence[int] | None = None) -> dict[str, list[tuple]]:
    """``{kind: [(controller, config_doc), ...]}`` for the shipped checkpoints, sorted by seed."""
    from nasviz.controllers import io
    from nasviz.controllers.enas import get_decision_space

    get_decision_space(space)  # clear error for an unknown space
    out: dict[str, list[tuple]] = {}
    for kind in kinds:
        if kind not in KINDS:
            raise NasvizError(f"unknown controller kind {kind!r}; accepted: {', '.join(KINDS)}")
        folders = io.list_checkpoints(space, kind, root)
        if seeds is not None:
            folders = [f for f in folders if int(f.name[4:]) in set(seeds)]
        if not folders:
            raise DataFileError(
                f"no {space} {kind} controller checkpoints under {io.checkpoint_dir(space, kind, 0, root).parent}; "
                f"train one with `nasviz controller train --space {space} --kind {kind}`"
            )
        out[kind] = [io.load(f, space=space) for f in folders]
    return out


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def reward_values(doc: dict, bench) -> np.ndarray:
    """The benchmark column a checkpoint was trained on, in table-row order (percent for accuracies)."""
    from nasviz.controllers.train import RewardSpec

    if "train" in doc and doc["train"].get("reward"):
        spec = RewardSpec(**doc["train"]["reward"])
    else:
        spec = RewardSpec.default(doc.get("space") or getattr(bench, "space_name", "nb201"))
    return spec.values(bench)


def _bench_for(ctrl, values: np.ndarray | None = None, bench=None):
    """The benchmark whose rows ``values`` follows (the space's default table unless given)."""
    if bench is None:
        from nasviz.bench import get_benchmark

        bench = get_benchmark(ctrl.config.space)
    if values is not None and len(values) != len(bench):
        raise NasvizError(f"{len(values)} values given for a {ctrl.config.space} table of {len(bench)} rows")
    return bench


def sample_valid(ctrl, n: int, seed: int = 0, max_draws: int | None = None):
    """``(rollout, n_invalid)``: ``n`` sampled sequences that are cells of the space.

    Draws in rounds from one generator and keeps the valid ones in order (NB201: every
    sequence is valid, one round); the rollout is the teacher-forced run of the kept
    sequences (identical probabilities and hidden states to the sampling run).
    """
    from nasviz.controllers.enas import get_decision_space

    ds = get_decision_space(ctrl.config.space)
    g = _gen(seed)
    kept: list[np.ndarray] = []
    got = invalid = drawn = 0
    limit = max_draws if max_draws is not None else 200 * int(n)
    with torch.no_grad():
        while got < n:
            if drawn >= limit:
                raise NasvizError(f"the {ctrl.config.space} controller sampled {invalid} sequences outside the space "
                                  f"in {drawn} draws; only {got} of {n} were cells")
            k = max(n - got, 64)
            d = ctrl.sample(k, g).decisions.cpu().numpy()
            drawn += k
            ok = ds.to_index(d) >= 0
            invalid += int((~ok).sum())
            kept.append(d[ok][: n - got])
            got += int(min(ok.sum(), n - got))
        dec = np.concatenate(kept)
        roll = ctrl.teacher_force(dec, check_cells=False)
    return roll, invalid


# -- Fig. 1/4 --------------------------------------------------------------------------------
def max_action_probs(ctrl, n: int = 100, seed: int = 0) -> np.ndarray:
    """(n, T) probability of the most likely action at each step, for n sampled cells."""
    roll, _ = sample_valid(ctrl, n, seed)
    return roll.max_probs.detach().cpu().numpy()


def fig_max_action_probs(data: dict[str, np.ndarray], title: str | None = None):
    """One panel per controller; one line per sampled architecture (paper Fig. 1 and 4)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    kinds = list(data)
    fig = make_subplots(rows=1, cols=len(kinds), shared_yaxes=True, subplot_titles=kinds)
    for c, kind in enumerate(kinds, start=1):
        arr = np.asarray(data[kind])
        steps = np.arange(1, arr.shape[1] + 1)
        for i, row in enumerate(arr):
            fig.add_trace(go.Scatter(x=steps, y=row, mode="lines", line=dict(width=1, color=COLORS.get(kind)),
                                     opacity=0.35, showlegend=False, hovertemplate=f"{kind} arch {i}<br>step %{{x}}: "
                                     "%{y:.3f}<extra></extra>"), row=1, col=c)
        fig.update_xaxes(title_text="decision (time step)", row=1, col=c, dtick=1)
    fig.update_yaxes(title_text="max action probability", row=1, col=1, range=[0, 1.02])
    fig.update_layout(title=title or f"Probability of the most likely action, {arr.shape[0]} sampled architectures",
                      template="plotly_white", height=380)
    return fig


# -- Fig. 2 ----------------------------------------------------------------------------------
def sampled_accuracy(ctrl, values: np.ndarray, n: int = 1000, seed: int = 0, bench=None) -> np.ndarray:
    """(n,) benchmark values (``values`` in table-row order of ``bench``, default the space's
    table) of n sampled cells (NB101: nearest table cell for cells the table lacks)."""
    return sampled_rewards(ctrl, values, n, seed, bench)["values"]


def sampled_rewards(ctrl, values: np.ndarray, n: int = 1000, seed: int = 0, bench=None) -> dict:
    """``{"values": (n,), "rows": (n,), "in_table": int, "mapped": int, "invalid_draws": int}`` for n
    sampled cells: how their rewards were read (see :mod:`nasviz.controllers.nb101`)."""
    from nasviz.controllers.enas import get_decision_space

    ds = get_decision_space(ctrl.config.space)
    bench = _bench_for(ctrl, values, bench)
    roll, invalid = sample_valid(ctrl, n, seed)
    rows, status = ds.rows(roll.decisions.cpu().numpy(), bench)
    return {"values": np.asarray(values)[rows], "rows": rows, "in_table": int((status == 0).sum()),
            "mapped": int((status == 1).sum()), "invalid_draws": int(invalid)}


def fig_accuracy_distribution(data: dict[str, np.ndarray], label: str = "validation accuracy (%)",
                              title: str | None = None):
    """Overlaid histograms of sampled-architecture accuracy (paper Fig. 2)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for kind, acc in data.items():
        acc = np.asarray(acc)
        fig.add_trace(go.Histogram(x=acc, name=f"{kind} (median {np.median(acc):.2f})", opacity=0.55,
                                   marker_color=COLORS.get(kind), xbins=dict(size=0.5), histnorm="probability"))
    fig.update_layout(barmode="overlay", template="plotly_white", height=380, xaxis_title=label,
                      yaxis_title="fraction of sampled architectures",
                      title=title or "Accuracy of architectures sampled by trained vs random controllers")
    return fig


# -- Fig. 3 ----------------------------------------------------------------------------------
def sampled_hidden(ctrl, n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(hidden (n, H), decisions (n, T))`` for n sampled cells."""
    roll, _ = sample_valid(ctrl, n, seed)
    return roll.hidden.detach().cpu().numpy(), roll.decisions.cpu().numpy()


def mean_neuron_variance(hidden: dict[str, np.ndarray]) -> dict[str, float]:
    """Per controller kind: the variance of each hidden neuron across the sampled architectures, averaged over
    neurons (paper 001 Fig. 3's measure; the heat map's panel titles, its caption and Learn lesson 6 use it)."""
    return {k: float(np.var(np.asarray(h, dtype=np.float64), axis=0).mean()) for k, h in hidden.items()}


def fig_hidden_heatmap(data: dict[str, np.ndarray], title: str | None = None):
    """Heatmap of final hidden states (rows = architectures, columns = neurons) and per-neuron variance."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    kinds = list(data)
    # short titles: three panels a row leave ~330 px each, and longer ones ran into their neighbours
    fig = make_subplots(rows=2, cols=len(kinds), row_heights=[0.7, 0.3], vertical_spacing=0.16,
                        horizontal_spacing=0.06, subplot_titles=[f"{k}: h(A)" for k in kinds]
                        + [f"{k}: variance, mean {v:.1e}" for k, v in mean_neuron_variance(data).items()])
    fig.update_annotations(font_size=13)
    vmax = max(float(np.abs(np.asarray(h)).max()) for h in data.values()) or 1.0
    for c, kind in enumerate(kinds, start=1):
        h = np.asarray(data[kind])
        fig.add_trace(go.Heatmap(z=h, zmin=-vmax, zmax=vmax, colorscale="RdBu", showscale=(c == len(kinds)),
                                 hovertemplate="arch %{y}, neuron %{x}: %{z:.3f}<extra></extra>"), row=1, col=c)
        fig.add_trace(go.Bar(y=np.var(h, axis=0), marker_color=COLORS.get(kind), showlegend=False,
                             hovertemplate="neuron %{x}: var %{y:.2e}<extra></extra>"), row=2, col=c)
        fig.update_xaxes(title_text="neuron", row=2, col=c)
        fig.update_yaxes(title_text="architecture", row=1, col=c, autorange="reversed")
    fig.update_layout(title=title or "Final controller hidden state of 100 sampled architectures",
                      template="plotly_white", height=640)
    return fig


# -- Table 1 ---------------------------------------------------------------------------------
def pair_measures(space: str, d1: np.ndarray, d2: np.ndarray, values: np.ndarray, bench=None) -> dict[str, np.ndarray]:
    """The four similarity measures between decision rows ``d1[k]`` and ``d2[k]`` (cells of ``space``)."""
    key = str(space).lower()
    if key not in PAIR_MEASURES:
        raise NasvizError(f"similarity measures are defined for {', '.join(sorted(PAIR_MEASURES))}; got {space!r}")
    return PAIR_MEASURES[key](np.asarray(d1, dtype=np.int64), np.asarray(d2, dtype=np.int64), np.asarray(values), bench)


def _nb201_measures(d1: np.ndarray, d2: np.ndarray, v: np.ndarray, bench=None) -> dict[str, np.ndarray]:
    from nasviz.analysis import ged as G
    from nasviz.controllers.enas import get_decision_space
    from nasviz.spaces.nb201 import N_OPS, OPS

    ds = get_decision_space("nb201")
    c1 = np.stack([(d1 == o).sum(1) for o in range(N_OPS)], axis=1)
    c2 = np.stack([(d2 == o).sum(1) for o in range(N_OPS)], axis=1)
    none = OPS.index("none")
    solver = G._nb201_solver()
    lab = lambda d: np.concatenate([np.zeros((len(d), 1), np.int64), d + 1, np.full((len(d), 1), N_OPS + 1)], 1)
    return {
        "common_ops": np.minimum(c1, c2).sum(1).astype(np.float64),
        "common_connections": ((d1 != none) & (d2 != none)).sum(1).astype(np.float64),
        "ged": solver.pairs(lab(d1), lab(d2)),
        "abs_acc_diff": np.abs(v[ds.to_index(d1)] - v[ds.to_index(d2)]),
    }


def _nb101_measures(d1: np.ndarray, d2: np.ndarray, v: np.ndarray, bench=None) -> dict[str, np.ndarray]:
    from nasviz.analysis import ged as G
    from nasviz.controllers.enas import get_decision_space
    from nasviz.controllers.nb101 import CONN_STEPS
    from nasviz.spaces.nb101 import OPS

    ds = get_decision_space("nb101")
    if bench is None:
        from nasviz.bench import get_benchmark

        bench = get_benchmark("nb101")
    if len(v) != len(bench):
        raise NasvizError(f"{len(v)} values given for an NB101 table of {len(bench)} rows")
    # one decode per distinct sequence (pairs reuse the same sampled cells)
    allrows = np.concatenate([d1, d2])
    uniq, inv = np.unique(allrows, axis=0, return_inverse=True)
    cells = [ds.try_decode(r) for r in uniq]
    bad = [k for k, c in enumerate(cells) if c is None]
    if bad:
        raise NasvizError(f"decision row {uniq[bad[0]].tolist()} is outside the NB101 space; "
                          "similarity measures need cells (sample with sample_valid)")
    counts = np.array([[sum(o == op for o in c.ops) for op in OPS] for c in cells], dtype=np.int64)
    rows, _ = ds.rows(uniq, bench)
    inv = inv.reshape(-1)
    i1, i2 = inv[: len(d1)], inv[len(d1):]
    # GED once per distinct unordered pair of cells
    pair = np.stack([np.minimum(i1, i2), np.maximum(i1, i2)], 1)
    up, pinv = np.unique(pair, axis=0, return_inverse=True)
    ged = G.pairwise("nb101", [cells[a] for a in up[:, 0]], [cells[b] for b in up[:, 1]])[pinv.reshape(-1)]
    conn = (d1[:, CONN_STEPS] == 1) & (d2[:, CONN_STEPS] == 1)
    return {
        "common_ops": np.minimum(counts[i1], counts[i2]).sum(1).astype(np.float64),
        "common_connections": conn.sum(1).astype(np.float64),
        "ged": ged.astype(np.float64),
        "abs_acc_diff": np.abs(v[rows[i1]] - v[rows[i2]]),
    }


#: space -> function(d1, d2, values, bench) -> {measure: (N,) array}
PAIR_MEASURES = {"nb201": _nb201_measures, "nb101": _nb101_measures}


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def similarity_correlations(ctrl, values: np.ndarray, n_archs: int = 1000, n_pairs: int = 10_000,
                            seed: int = 0, bench=None) -> dict:
    """Spearman(||h(A1) - h(A2)||_2, measure) over random pairs of ``n_archs`` sampled cells.

    Returns ``{"spearman": {measure: rho}, "n_pairs", "n_unique_archs", "mean_distance", "invalid_draws"}``.
    """
    roll, invalid = sample_valid(ctrl, n_archs, seed)
    h = roll.hidden.detach().cpu().numpy().astype(np.float64)
    d = roll.decisions.cpu().numpy()
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n_archs, size=n_pairs)
    j = (i + rng.integers(1, n_archs, size=n_pairs)) % n_archs  # j != i (pairs of two draws)
    dist = np.linalg.norm(h[i] - h[j], axis=1)
    meas = pair_measures(ctrl.config.space, d[i], d[j], values, bench)
    distinct = ~(d[i] == d[j]).all(axis=1)  # a collapsed controller samples many identical pairs (distance 0)
    return {
        "spearman": {m: _spearman(dist, meas[m]) for m in MEASURES},
        "spearman_distinct": {m: _spearman(dist[distinct], meas[m][distinct]) if distinct.sum() > 2 else float("nan")
                              for m in MEASURES},
        "n_pairs": int(n_pairs),
        "n_unique_archs": int(len(np.unique(d, axis=0))),
        "identical_pairs": int((d[i] == d[j]).all(1).sum()),
        "mean_distance": float(dist.mean()),
        "invalid_draws": int(invalid),
    }


def table1(controllers: dict[str, list[tuple]], bench, n_archs: int = 1000, n_pairs: int = 10_000,
           seed: int = 0, key: str = "spearman") -> dict:
    """Table 1 over every shipped seed: per kind, per measure: mean, std, per-seed values, paper value.

    ``key="spearman_distinct"`` leaves out pairs of identical architectures.
    """
    return table1_both(controllers, bench, n_archs, n_pairs, seed)[key]


def table1_both(controllers: dict[str, list[tuple]], bench, n_archs: int = 1000, n_pairs: int = 10_000,
                seed: int = 0) -> dict[str, dict]:
    """``{"spearman": all sampled pairs, "spearman_distinct": pairs of different cells}`` in one pass."""
    results = {kind: [] for kind in controllers}
    for kind, items in controllers.items():
        for ctrl, doc in items:
            res = similarity_correlations(ctrl, reward_values(doc, bench), n_archs, n_pairs, seed, bench)
            res["seed"] = doc.get("seed")
            results[kind].append(res)
    space = next((c.config.space for items in controllers.values() for c, _ in items), None)
    out = {key: _aggregate(results, key, n_archs, n_pairs, seed) for key in ("spearman", "spearman_distinct")}
    for t in out.values():
        t["space"] = space
    return out


def _aggregate(results: dict[str, list[dict]], key: str, n_archs: int, n_pairs: int, seed: int) -> dict:
    rows: dict[str, dict] = {}
    for kind, per_seed in results.items():
        stats = {}
        for m in MEASURES:
            vals = np.array([r[key][m] for r in per_seed], dtype=np.float64)
            ok = vals[~np.isnan(vals)]
            lo, hi = interval95(ok)
            stats[m] = {
                "mean": float(ok.mean()) if ok.size else float("nan"),
                "std": float(ok.std(ddof=1)) if ok.size > 1 else float("nan"),
                "ci95": [lo, hi],
                "n_defined": int(ok.size),
                "per_seed": [None if np.isnan(x) else round(float(x), 4) for x in vals],
                "paper": PAPER_TABLE1.get(kind, {}).get(m),
            }
        rows[kind] = {"measures": stats, "seeds": [r["seed"] for r in per_seed],
                      "n_unique_archs": [r["n_unique_archs"] for r in per_seed],
                      "identical_pairs": [r["identical_pairs"] for r in per_seed],
                      "invalid_draws": [r.get("invalid_draws", 0) for r in per_seed]}
    return {"rows": rows, "n_archs": n_archs, "n_pairs": n_pairs, "seed": seed, "pairs": key,
            "measures": {m: MEASURE_LABELS[m] for m in MEASURES}}


# -- intervals and verdicts ------------------------------------------------------------------
#: The direction of the paper's Table 1 separation per measure: sign of supervised - unsupervised
#: (-0.404 vs -0.315 common ops, -0.160 vs -0.072 connections, +0.100 vs -0.028 GED, +0.163 vs -0.001 |acc diff|).
PAPER_DIRECTION: dict[str, int] = {m: int(np.sign(PAPER_TABLE1["supervised"][m] - PAPER_TABLE1["unsupervised"][m]))
                                   for m in MEASURES}
VERDICTS = ("separated in the paper's direction", "not separated", "separated the other way")


def interval95(values) -> tuple[float, float]:
    """Student-t 95 % interval of the mean over seeds (NaN, NaN with fewer than 2 values)."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return float(v.mean() - half), float(v.mean() + half)


def difference95(a, b) -> tuple[float, float, float]:
    """``(mean(a) - mean(b), lo, hi)``: Welch 95 % interval of a difference of means of independent seeds."""
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return (float(a.mean() - b.mean()) if a.size and b.size else float("nan")), float("nan"), float("nan")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    d = float(a.mean() - b.mean())
    se = float(np.sqrt(va + vb))
    if se == 0:
        return d, d, d
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = float(stats.t.ppf(0.975, df) * se)
    return d, d - half, d + half


def verdict_of(diff: float, lo: float, hi: float, direction: int) -> str:
    """One of :data:`VERDICTS` from a difference interval and the paper's sign."""
    if np.isnan(lo) or np.isnan(hi) or lo <= 0 <= hi:
        return VERDICTS[1]
    return VERDICTS[0] if np.sign(diff) == direction else VERDICTS[2]


def separation(t: dict, a: str = "supervised", b: str = "unsupervised") -> dict[str, dict]:
    """Per measure: is ``a`` separated from ``b`` in the paper's direction? From the per-seed values of a
    Table 1 dict (``table1``/``_aggregate``): the Welch 95 % interval of mean(a) - mean(b), the paper's
    difference and the verdict sentence (:data:`VERDICTS`)."""
    out = {}
    for m in MEASURES:
        va = [np.nan if x is None else x for x in t["rows"][a]["measures"][m]["per_seed"]]
        vb = [np.nan if x is None else x for x in t["rows"][b]["measures"][m]["per_seed"]]
        d, lo, hi = difference95(va, vb)
        out[m] = {"diff": d, "ci95": [lo, hi], "n": [len(va), len(vb)],
                  "paper_diff": PAPER_TABLE1[a][m] - PAPER_TABLE1[b][m],
                  "verdict": verdict_of(d, lo, hi, PAPER_DIRECTION[m])}
    return out


def table1_markdown(t: dict) -> str:
    head = "| controller | " + " | ".join(MEASURE_LABELS[m] for m in MEASURES) + " |"
    lines = [head, "|---|" + "---|" * len(MEASURES)]
    for kind, row in t["rows"].items():
        cells = []
        for m in MEASURES:
            s = row["measures"][m]
            ci = s.get("ci95") or [float("nan")] * 2
            ci = [float("nan") if x is None else x for x in ci]
            ours = ("undefined" if np.isnan(s["mean"]) else
                    f"{s['mean']:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]" if not np.isnan(ci[0]) else
                    f"{s['mean']:+.3f} ± {s['std']:.3f}" if not np.isnan(s["std"]) else f"{s['mean']:+.3f}")
            if s["n_defined"] < len(row["seeds"]):
                ours += f" ({s['n_defined']}/{len(row['seeds'])} seeds defined)"
            paper = s["paper"]
            cells.append(f"{ours} (paper {paper:+.3f})" if paper is not None else ours)
        lines.append(f"| {kind} (n={len(row['seeds'])} seeds) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fig_table1(t: dict, space: str | None = None):
    """Grouped bars: ours (mean ± std over seeds) next to the paper's value, per measure and controller."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(MEASURES), subplot_titles=[MEASURE_LABELS[m] for m in MEASURES],
                        shared_yaxes=True)
    kinds = list(t["rows"])
    for c, m in enumerate(MEASURES, start=1):
        ours = [t["rows"][k]["measures"][m] for k in kinds]
        fig.add_trace(go.Bar(x=kinds, y=[o["mean"] for o in ours], name=f"nasviz ({(space or t.get('space') or 'nb201').upper()})", marker_color="#1f77b4",
                             error_y=dict(type="data", array=[0 if np.isnan(o["std"]) else o["std"] for o in ours]),
                             showlegend=(c == 1)), row=1, col=c)
        fig.add_trace(go.Bar(x=kinds, y=[o["paper"] for o in ours], name="paper (ENAS, PTB)", marker_color="#bbbbbb",
                             showlegend=(c == 1)), row=1, col=c)
    fig.update_yaxes(title_text="Spearman rho with ||h(A1)-h(A2)||", row=1, col=1)
    fig.update_layout(barmode="group", template="plotly_white", height=380,
                      title="Table 1: hidden-state distance vs architecture similarity")
    return fig


# -- hidden states of every cell ---------------------------------------------------------------
def all_hidden(ctrl, indices: np.ndarray | None = None, exact: bool = False) -> np.ndarray:
    """(n, H) float32 teacher-forced final hidden states in space-index order (float64 computed in
    float64 when ``exact``; see ``ENASController.final_hidden``).

    ``indices=None``: every cell of NB201 (15,625); for NB101 the cells of its
    benchmark table (the 30,001-cell sample, or all 423,624 when imported).
    """
    from nasviz.controllers.enas import get_decision_space

    ds = get_decision_space(ctrl.config.space)
    if indices is None and ctrl.config.space == "nb201":
        return ctrl.final_hidden(ds.all_decisions(), exact=exact)
    if indices is None:
        indices = table_indices(ctrl.config.space)
    # canonical codes of stored cells: valid
    return ctrl.final_hidden(ds.codes(indices), check_cells=False, exact=exact)


def table_indices(space: str) -> np.ndarray:
    """Space indices of the rows of the space's benchmark table (NB201: all cells)."""
    from nasviz.bench import get_benchmark

    b = get_benchmark(space)
    return np.asarray(getattr(b, "indices", np.arange(len(b))), dtype=np.int64)


def write_latents(ctrl, doc: dict, folder: Path, path: Path, f16_tolerance: float = 0.05) -> dict:
    """Write ``path`` (npz): ``latent`` (n, H), ``pca`` (n, 2) and ``meta`` (JSON); rows in the order
    of the space's benchmark table (NB201: the 15,625 cells in official index order; NB101: the table's
    cells, with their space indices in ``index``).

    ``latent`` is float16 when float16 rounding moves every neuron by less than
    ``f16_tolerance`` of its spread over the cells (median over neurons) and merges no two
    cells' points that float32 keeps apart, float32 otherwise: a collapsed controller's
    hidden states differ by less than float16's resolution, and rounding them would erase
    exactly what the map should show.

    When float32 arithmetic itself gives distinct cells bit-identical states (a controller collapsed
    to within ~1e-7), the states are computed in float64 and stored centred: ``latent`` = h - offset
    in float32, ``latent_offset`` = offset (float64, the mean state), ``meta["latent_centred"]``. Distances,
    nearest neighbours and the PCA are those of h; ``meta["float32_duplicate_rows"]`` keeps the count
    of cells that float32 merged, and ``duplicate_rows`` the count that the stored file still merges.
    """
    from nasviz.analysis.embeddings import checkpoint_hash

    t0 = time.perf_counter()
    subset = ctrl.config.space != "nb201"
    idx = table_indices(ctrl.config.space) if subset else None
    h = all_hidden(ctrl, idx)
    from nasviz.analysis.embeddings import distinct_rows

    distinct = distinct_rows(h)
    offset, merged32 = None, int(len(h) - distinct)
    if merged32:
        # float32 arithmetic gave distinct cells bit-identical states (a collapsed controller's states differ
        # by ~1e-7 around values ~1): compute them in float64 and, when that keeps them apart, store them
        # centred (h - offset, offset stored), whose float32 keeps differences ~1e-7 of their own size
        h64 = all_hidden(ctrl, idx, exact=True)
        off = h64.mean(0)
        centred32 = (h64 - off).astype(np.float32)
        if (kept := distinct_rows(centred32)) > distinct:
            offset, h, distinct = off, centred32, kept
    h16 = h.astype(np.float16)
    err16 = np.abs(h16.astype(np.float32) - h)
    spread = h.std(0)
    rel = float(np.median(err16.max(0) / np.maximum(spread, 1e-30)))
    # float16 also must not merge two cells' points that float32 keeps apart
    use16 = rel < f16_tolerance and distinct_rows(h16) == distinct
    latent = h16 if use16 else h
    err = float(np.abs(latent.astype(np.float32) - h).max())
    centred = h - h.mean(0)
    _, s, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    pca = (centred @ vt[:2].T.astype(np.float32))
    pca = pca.astype(np.float16) if use16 else pca.astype(np.float32)
    meta = {"model": f"{doc['space']}-controller-{doc['kind']}", "kind": "controller-hidden-state",
            "controller_kind": doc["kind"], "seed": doc.get("seed"), "space": doc["space"],
            "checkpoint": str(Path(folder).as_posix().split("models/")[-1]),
            "checkpoint_hash": checkpoint_hash(Path(folder)), "n_cells": int(h.shape[0]), "dim": int(h.shape[1]),
            "latent_dtype": str(latent.dtype), "latent_max_abs_err": err,
            "float16_error_over_spread_median": rel, "duplicate_rows": int(len(h) - distinct),
            "order": "benchmark table rows (space indices in `index`)" if subset else "official index",
            "projections": ["pca"],
            "pca_explained": [float(x) for x in (s[:2] ** 2 / (s**2).sum())],
            "definition": "LSTM hidden state after teacher-forcing the cell's decisions and reading the last one"
                          + ("" if offset is None else "; computed in float64 and stored minus `latent_offset` "
                             "(the mean state): the hidden state is latent + latent_offset"),
            "float32_duplicate_rows": merged32, "latent_centred": offset is not None,
            "seconds": round(time.perf_counter() - t0, 2)}
    arrays = {"latent": latent, "pca": pca, "meta": meta_array(meta)}
    if offset is not None:
        arrays["latent_offset"] = offset.astype(np.float64)
    if subset:
        arrays["index"] = idx.astype(np.uint32)
    atomic_savez(path, arrays)
    return meta


def jsonable(obj):
    """A copy with NaN/inf floats as ``None`` and numpy scalars as Python numbers (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


# -- separation along training (schedule snapshots) ---------------------------------------------
SCHEDULE_MEASURES: tuple[str, ...] = ("common_ops", "ged", "abs_acc_diff")


def schedule_checkpoints(space: str, kind: str, root: Path | None = None) -> dict[int, dict[int, Path]]:
    """``{seed: {steps: folder}}`` for the shipped checkpoints of one kind: each seed folder (at its full
    schedule, epochs x steps_per_epoch) and the snapshots ``controller train`` saved along the way under
    ``seed<N>/schedule/steps<k>/``."""
    from nasviz.controllers import io

    out: dict[int, dict[int, Path]] = {}
    for folder in io.list_checkpoints(space, kind, root):
        doc = io.read_config(folder)
        tr = doc.get("train") or {}
        steps = {int(tr.get("epochs", 0)) * int(tr.get("steps_per_epoch", 0)): folder}
        snaps = folder / "schedule"
        if snaps.is_dir():
            for sub in snaps.iterdir():
                if sub.is_dir() and sub.name.startswith("steps") and sub.name[5:].isdigit() and \
                        (sub / "config.json").exists():
                    steps[int(sub.name[5:])] = sub
        out[int(doc.get("seed", folder.name[4:]))] = dict(sorted(steps.items()))
    return out


def schedule_curve(space: str, bench, kinds: Sequence[str] = ("unsupervised", "supervised"), *,
                   n_archs: int = 1000, n_pairs: int = 10_000, seed: int = 0, root: Path | None = None) -> dict:
    """Table 1's Spearman correlations at every training step that all seeds of a kind have a checkpoint for.

    ``{"steps": [...], "rows": {kind: {steps: {"all"|"distinct": {measure: {mean, ci95, per_seed}}}}}, ...}``
    """
    from nasviz.controllers import io

    rows: dict[str, dict] = {}
    all_steps: set[int] = set()
    for kind in kinds:
        per_seed = schedule_checkpoints(space, kind, root)
        if not per_seed:
            raise DataFileError(f"no {space} {kind} controller checkpoints for the schedule curve")
        common = set.intersection(*(set(v) for v in per_seed.values()))
        rows[kind] = {}
        for steps in sorted(common):
            res = []
            for sd, by_steps in sorted(per_seed.items()):
                ctrl, doc = io.load(by_steps[steps], space=space)
                res.append(similarity_correlations(ctrl, reward_values(doc, bench), n_archs, n_pairs, seed, bench))
            cell = {}
            for pairs, key in (("all", "spearman"), ("distinct", "spearman_distinct")):
                cell[pairs] = {}
                for m in MEASURES:
                    vals = np.array([np.nan if r[key][m] is None else r[key][m] for r in res], dtype=np.float64)
                    lo, hi = interval95(vals)
                    cell[pairs][m] = {"mean": float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan"),
                                      "ci95": [lo, hi], "per_seed": [round(float(x), 4) for x in vals]}
            cell["seeds"] = sorted(per_seed)
            cell["unique_archs"] = [int(r["n_unique_archs"]) for r in res]
            rows[kind][steps] = cell
            all_steps.add(steps)
    return {"space": space, "steps": sorted(all_steps), "rows": rows, "n_archs": n_archs, "n_pairs": n_pairs,
            "seed": seed, "measures": {m: MEASURE_LABELS[m] for m in SCHEDULE_MEASURES}}


def _curve_rows(curve: dict, kind: str) -> dict[int, dict]:
    return {int(k): v for k, v in curve["rows"][kind].items()}  # JSON keys are strings


def schedule_verdicts(curve: dict, pairs: str = "distinct") -> dict[int, dict[str, dict]]:
    """``{steps: {measure: {diff, ci95, verdict}}}``: supervised vs unsupervised at each step both have."""
    sup, uns = _curve_rows(curve, "supervised"), _curve_rows(curve, "unsupervised")
    out = {}
    for steps in sorted(set(sup) & set(uns)):
        out[steps] = {}
        for m in SCHEDULE_MEASURES:
            d, lo, hi = difference95(sup[steps][pairs][m]["per_seed"], uns[steps][pairs][m]["per_seed"])
            out[steps][m] = {"diff": d, "ci95": [lo, hi], "verdict": verdict_of(d, lo, hi, PAPER_DIRECTION[m])}
    return out


def schedule_caption(curve: dict, pairs: str = "distinct", buffer_start_step: int | None = None,
                     sup_start_step: int | None = None) -> str:
    """What the schedule plot shows, in words computed from it."""
    v = schedule_verdicts(curve, pairs)
    if not v:
        return "No training step has checkpoints of both controllers."
    steps = sorted(v)
    which = "pairs of different architectures" if pairs == "distinct" else "all sampled pairs"
    parts = []
    for s in steps:
        sep = [MEASURE_LABELS[m] for m in SCHEDULE_MEASURES if v[s][m]["verdict"] == VERDICTS[0]]
        other = [MEASURE_LABELS[m] for m in SCHEDULE_MEASURES if v[s][m]["verdict"] == VERDICTS[2]]
        txt = f"{s:,} steps: " + (f"separated in the paper's direction on {', '.join(sep)}" if sep else
                                  "not separated in the paper's direction on any measure")
        if other:
            txt += f"; the other way on {', '.join(other)}"
        parts.append(txt)
    head = (f"Spearman correlation of hidden-state distance with each measure ({which}), mean and 95 % interval "
            f"over seeds, at each saved training step; supervised vs unsupervised (Welch 95 % interval of the "
            f"difference) at ")
    tail = ""
    if buffer_start_step and sup_start_step:
        tail = (f" The supervised controller's buffer starts filling at step {buffer_start_step:,} and its "
                f"reconstruction loss applies from step {sup_start_step:,}; before step {buffer_start_step:,} the "
                "two controllers of a seed are the same network, so their points there coincide.")
    return head + "; ".join(parts) + "." + tail


def fig_schedule(curve: dict, pairs: str = "distinct"):
    """Spearman vs training steps per measure (log x), mean ± 95 % interval per controller, paper's values dashed."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(SCHEDULE_MEASURES), shared_xaxes=True,
                        subplot_titles=[MEASURE_LABELS[m] for m in SCHEDULE_MEASURES])
    for kind in curve["rows"]:
        rows = _curve_rows(curve, kind)
        steps = sorted(rows)
        for c, m in enumerate(SCHEDULE_MEASURES, start=1):
            mean = [rows[s][pairs][m]["mean"] for s in steps]
            ci = [[np.nan if x is None else x for x in rows[s][pairs][m]["ci95"]] for s in steps]
            fig.add_trace(go.Scatter(
                x=steps, y=mean, mode="lines+markers", name=kind, legendgroup=kind, showlegend=(c == 1),
                line=dict(color=COLORS.get(kind)),
                error_y=dict(type="data", symmetric=False, array=[0 if np.isnan(h) else h - y for (_, h), y in zip(ci, mean)],
                             arrayminus=[0 if np.isnan(lo) else y - lo for (lo, _), y in zip(ci, mean)]),
                hovertemplate=f"{kind}<br>%{{x:,}} steps<br>rho %{{y:+.3f}}<extra></extra>"), row=1, col=c)
            paper = PAPER_TABLE1.get(kind, {}).get(m)
            if paper is not None:
                fig.add_hline(y=paper, line=dict(color=COLORS.get(kind), dash="dash", width=1), row=1, col=c)
    fig.update_xaxes(type="log", title_text="training steps")
    fig.update_yaxes(title_text="Spearman rho", row=1, col=1)
    fig.update_layout(template="plotly_white", height=380,
                      title=f"Separation along training ({'distinct pairs' if pairs == 'distinct' else 'all pairs'}; "
                            "dashed: paper)")
    return fig
