"""Measurements of latent models (arch2vec paper 003 Table 1 and Fig. 2-3; DNAS paper 000 Fig. 3-4).

Every function takes a fitted :class:`~nasviz.models.Encoder` (or its embeddings) and
returns plain data; randomness comes from an explicit seed or ``numpy.random.Generator``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from nasviz.errors import NasvizError
from nasviz.models._common import is_valid


# -- Table 1 -----------------------------------------------------------------------------
def reconstruction_accuracy(model, cells: Sequence) -> float:
    """Share of ``cells`` that decode, from their latent means, to exactly themselves."""
    cells = list(cells)
    if not cells:
        raise NasvizError("reconstruction accuracy needs at least one cell")
    dec = model.decode(model.latent(cells))
    return float(np.mean([d == c for d, c in zip(dec, cells)]))


def prior_samples(train_latent: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws z ~ N(0, I), scaled by std and shifted by mean of the training latents (element-wise)."""
    mean, std = train_latent.mean(axis=0), train_latent.std(axis=0)
    return (rng.standard_normal((n, *train_latent.shape[1:])) * std + mean).astype(np.float32)


def validity_uniqueness(model, train_cells: Sequence, n: int = 10_000, seed: int = 0) -> dict:
    """Paper 003 Appendix B: decode ``n`` prior samples; validity = valid share, uniqueness = unique/valid.

    ``uniqueness`` counts distinct *cells* (NB101: after pruning); ``uniqueness_raw`` (models with
    ``decode_raw_keys``) counts distinct decoded graphs before pruning, as the authors' code does
    (it hashes the unpruned 7 x 7 decode), so it is at least ``uniqueness``."""
    z = prior_samples(model.latent(list(train_cells)), n, np.random.default_rng(seed))
    dec = model.decode(z)
    valid = [d for d in dec if is_valid(d)]
    out = {"n_samples": n, "n_valid": len(valid), "n_unique": len(set(valid)),
           "validity": len(valid) / n, "uniqueness": (len(set(valid)) / len(valid)) if valid else float("nan")}
    if hasattr(model, "decode_raw_keys"):  # the authors' count: distinct decoded graphs before pruning
        raw = model.decode_raw_keys(z)
        keys = {k for k, d in zip(raw, dec) if is_valid(d)}
        out["n_unique_raw"] = len(keys)
        out["uniqueness_raw"] = len(keys) / len(valid) if valid else float("nan")
    return out


# -- Fig. 2: GP on embeddings ----------------------------------------------------------------
def gp_predictive(emb: np.ndarray, y: np.ndarray, *, n_train: int = 250, seeds: Sequence[int] = range(10),
                  candidates: np.ndarray | None = None, test: np.ndarray | None = None, restarts: int = 2) -> dict:
    """Fit a GP on ``n_train`` random embeddings, predict the rest; RMSE and Pearson r per seed.

    ``candidates``: indices the training cells are drawn from (default all); ``test``:
    indices evaluated (default: every cell not drawn). Kernel: C * RBF + white noise,
    normalised targets, ``restarts`` optimiser restarts (default 2).
    """
    from scipy.stats import pearsonr
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    emb = np.asarray(emb, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(emb)
    cand = np.arange(n) if candidates is None else np.asarray(candidates)
    # standardise features so one length-scale prior fits every model
    x = (emb - emb.mean(0)) / (emb.std(0) + 1e-9)
    rmse, r = [], []
    for s in seeds:
        rng = np.random.default_rng(s)
        tr = rng.choice(cand, size=n_train, replace=False)
        if test is None:
            mask = np.ones(n, bool)
            mask[tr] = False
            te = np.flatnonzero(mask)
        else:
            te = np.setdiff1d(np.asarray(test), tr)
        kernel = ConstantKernel(1.0) * RBF(length_scale=np.full(x.shape[1], 3.0)) + WhiteKernel(0.1)
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=restarts, random_state=s)
        gp.fit(x[tr], y[tr])
        pred = gp.predict(x[te])
        rmse.append(float(np.sqrt(np.mean((pred - y[te]) ** 2))))
        r.append(float(pearsonr(pred, y[te])[0]))
    return {"n_train": n_train, "seeds": list(seeds), "rmse": rmse, "pearson": r,
            "rmse_mean": float(np.mean(rmse)), "rmse_std": float(np.std(rmse)),
            "pearson_mean": float(np.mean(r)), "pearson_std": float(np.std(r))}


# -- Fig. 3: latent distance vs edit distance ---------------------------------------------------
def random_walk(space, n: int, rng: np.random.Generator) -> list:
    """``n`` cells, each one edit (``space.mutate``) from the previous, starting at a random cell."""
    cells = [space.sample(rng)]
    while len(cells) < n:
        cells.append(space.mutate(cells[-1], rng))
    return cells


def edit_distances(cells: Sequence) -> np.ndarray:
    """(n, n) edit distances: NB201 op Hamming distance; NB101 the arch2vec-encoding distance
    (:meth:`~nasviz.spaces.nb101.NB101Cell.edit_distance`: differing adjacency entries plus
    differing vertex ops of the two 7-vertex padded encodings)."""
    from nasviz.spaces.nb101 import NB101Cell

    cells = list(cells)
    if cells and isinstance(cells[0], NB101Cell):
        enc = [c.to_onehot() for c in cells]
        adj = np.stack([a for a, _ in enc]).reshape(len(cells), -1).astype(np.int8)
        ops = np.stack([o for _, o in enc]).argmax(-1) + 10 * (~np.stack([o for _, o in enc]).any(-1))
        return ((adj[:, None, :] != adj[None, :, :]).sum(-1)
                + (ops[:, None, :] != ops[None, :, :]).sum(-1))
    ops = np.array([c.ops for c in cells])
    return (ops[:, None, :] != ops[None, :, :]).sum(-1)


def distance_by_edit(emb: np.ndarray, cells: Sequence) -> dict:
    """Mean/std latent L2 over all pairs of ``cells``, grouped by edit distance (:func:`edit_distances`)."""
    emb = np.asarray(emb, dtype=np.float64)
    iu = np.triu_indices(len(cells), k=1)
    ed = edit_distances(cells)[iu]
    d = np.sqrt(((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1))[iu]
    out = {}
    for k in np.unique(ed):
        sel = d[ed == k]
        out[int(k)] = {"n_pairs": int(sel.size), "mean": float(sel.mean()), "std": float(sel.std())}
    means = [out[k]["mean"] for k in sorted(out) if k > 0]
    return {"by_edit": out, "monotonic": bool(all(a < b for a, b in zip(means, means[1:])))}


def walk_distances(model, space, n: int = 1000, seed: int = 0) -> dict:
    cells = random_walk(space, n, np.random.default_rng(seed))
    res = distance_by_edit(model.transform(cells), cells)
    res["n_cells"] = n
    res["n_distinct"] = len(set(cells))
    return res


# -- DNAS Fig. 3/4: traversals ---------------------------------------------------------------------
@dataclass
class TraversalResult:
    """Per latent dimension: which structural factor (op of edge k) changes along a traversal."""

    factors: list[str]
    counts: np.ndarray  # (n_dims, n_factors) changes of each factor over all anchors and steps
    steps_changed: np.ndarray  # (n_dims,) steps whose decode changed at all
    invalid: np.ndarray  # (n_dims,) invalid decodes
    n_steps: int  # steps per dimension (anchors * (points - 1))
    extra: dict = field(default_factory=dict)

    @property
    def share(self) -> np.ndarray:
        """Per dim: share of its factor changes explained by its most frequent factor (NaN if inactive)."""
        tot = self.counts.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tot > 0, self.counts.max(1) / np.maximum(tot, 1), np.nan)

    @property
    def top_factor(self) -> list[str | None]:
        return [self.factors[int(i)] if t > 0 else None for i, t in zip(self.counts.argmax(1), self.counts.sum(1))]

    def score(self) -> float:
        """Disentanglement score: change-weighted mean of :attr:`share` over active dims."""
        tot = self.counts.sum(1)
        return float((self.counts.max(1)).sum() / tot.sum()) if tot.sum() else float("nan")

    def to_dict(self) -> dict:
        share = self.share
        return {
            "factors": self.factors, "n_steps_per_dim": self.n_steps, "score": self.score(),
            "active_dims": int((self.steps_changed > 0).sum()),
            "dims": [{"dim": d, "top_factor": self.top_factor[d],
                      "share": None if np.isnan(share[d]) else float(share[d]),
                      "steps_changed": int(self.steps_changed[d]), "invalid": int(self.invalid[d]),
                      "counts": self.counts[d].astype(int).tolist()} for d in range(len(share))],
            **self.extra,
        }


def traversal_points(center: float, std: float, n_points: int = 11, span: float = 2.0) -> np.ndarray:
    return center + np.linspace(-span, span, n_points) * std


def traverse(model, anchors: np.ndarray, dim: int, values: np.ndarray) -> list[list]:
    """Decode each anchor (n, Z) with latent ``dim`` set to each of ``values``; [anchor][point] -> cell/Invalid."""
    a = np.repeat(np.asarray(anchors, dtype=np.float32)[:, None, :], len(values), axis=1)  # (n, P, Z)
    a[:, :, dim] = values[None, :]
    dec = model.decode(a.reshape(-1, a.shape[-1]))
    return [dec[i * len(values):(i + 1) * len(values)] for i in range(len(anchors))]


def disentanglement(model, cells: Sequence, *, n_anchors: int = 100, n_points: int = 11, span: float = 2.0,
                    seed: int = 0) -> TraversalResult:
    """Traverse every latent dim from ``n_anchors`` random cells' means over mean +- span * std (n_points).

    At each step between consecutive valid decodes, each structural factor that changed
    (:func:`structural_factors`: NB201 the op of an edge; NB101 vertex count, vertex op,
    edge) counts once. Needs a model with vector latents (the beta-VAE).
    """
    if len(model.latent_shape) != 1:
        raise NasvizError("latent traversals need a model with vector latents (the beta-VAE)")
    factors, changes = structural_factors(model.space)
    cells = list(cells)
    lat = model.latent(cells)
    mean, std = lat.mean(0), lat.std(0)
    rng = np.random.default_rng(seed)
    anchors = lat[rng.choice(len(cells), size=n_anchors, replace=False)]
    n_dims = lat.shape[1]
    counts = np.zeros((n_dims, len(factors)))
    changed = np.zeros(n_dims, int)
    invalid = np.zeros(n_dims, int)
    for d in range(n_dims):
        vals = traversal_points(mean[d], std[d], n_points, span)
        for seq in traverse(model, anchors, d, vals):
            invalid[d] += sum(not is_valid(c) for c in seq)
            for a, b in zip(seq, seq[1:]):
                if not (is_valid(a) and is_valid(b)) or a == b:
                    continue
                changed[d] += 1
                for k in changes(a, b):
                    counts[d, k] += 1
    return TraversalResult(factors, counts, changed, invalid, n_anchors * (n_points - 1),
                           extra={"n_anchors": n_anchors, "n_points": n_points, "span_std": span, "seed": seed})


def structural_factors(space: str):
    """``(factor names, changes(a, b) -> factor indices)`` for a space's decoded cells.

    NB201: the op of each of the 6 edges. NB101 (cells compared in the arch2vec 7-vertex
    padded encoding, output on the last real vertex): the number of vertices; when that
    is equal, the op of each intermediate vertex 1..5 and each of the 21 possible edges.
    A change of the vertex count moves the output, so it counts for that factor alone.
    """
    if space == "nb201":
        from nasviz.spaces.nb201 import EDGES

        return [f"op of edge {frm}->{to}" for to, frm in EDGES], lambda a, b: a.diff(b)
    if space == "nb101":
        iu = list(zip(*np.triu_indices(7, 1)))
        factors = ["number of vertices", *(f"op of vertex {v}" for v in range(1, 6)),
                   *(f"edge {i}->{j}" for i, j in iu)]

        def changes(a, b) -> list[int]:
            if len(a.ops) != len(b.ops):
                return [0]
            (aa, ao), (ba, bo) = a.to_onehot(), b.to_onehot()
            out = [v for v in range(1, 6) if (ao[v] != bo[v]).any()]
            out += [6 + k for k, (i, j) in enumerate(iu) if aa[i, j] != ba[i, j]]
            return out

        return factors, changes
    raise NasvizError(f"no structural factors defined for space {space!r}; accepted: nb201, nb101")


def latent_correlations(emb: np.ndarray, **targets: np.ndarray) -> dict[str, list[float]]:
    """Spearman rho of each latent dim with each target (e.g. accuracy=..., flops=...)."""
    from scipy.stats import spearmanr

    emb = np.asarray(emb, dtype=np.float64)
    out = {}
    for name, y in targets.items():
        y = np.asarray(y, dtype=np.float64)
        rhos = []
        for d in range(emb.shape[1]):
            rho = spearmanr(emb[:, d], y).statistic if np.ptp(emb[:, d]) > 0 else np.nan
            rhos.append(float(rho))
        out[name] = rhos
    return out


def decode_latency(model, anchor: np.ndarray, dim: int = 0, n_points: int = 11, repeats: int = 50) -> dict:
    """Wall time of decoding one ``n_points`` traversal (one decode call), median and p90 over repeats."""
    z = np.repeat(np.asarray(anchor, dtype=np.float32).reshape(1, -1), n_points, axis=0)
    z[:, dim] = np.linspace(-2, 2, n_points)
    z = z.reshape(n_points, *model.latent_shape)
    model.decode(z)  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.decode(z)
        ts.append((time.perf_counter() - t) * 1000)
    return {"n_points": n_points, "repeats": repeats, "median_ms": float(np.median(ts)),
            "p90_ms": float(np.percentile(ts, 90)), "max_ms": float(np.max(ts))}
