"""2-D projections of embeddings (PCA, UMAP, t-SNE), cached by input hash.

Like umap-learn, a projection is keyed by a hash of its input (bytes, shape, dtype)
plus the method and its parameters, so an unchanged embedding is never re-projected.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Callable

import numpy as np

from nasviz.errors import NasvizError

log = logging.getLogger(__name__)


def array_hash(*arrays: np.ndarray, extra: str = "") -> str:
    """sha256 over arrays' dtype, shape and bytes (and ``extra``); 16 hex digits."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    h.update(extra.encode())
    return h.hexdigest()[:16]


def _pca(x: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(x)


def _umap(x: np.ndarray, seed: int) -> np.ndarray:
    """UMAP (15 neighbours, min_dist 0.1); above :data:`FIT_MAX` points fitted on a subset (:func:`_fit_subset`)."""
    try:
        import umap
    except ImportError as e:  # pragma: no cover - depends on the install
        raise NasvizError("UMAP needs the umap-learn package (pip install umap-learn)") from e

    def fit(a: np.ndarray) -> np.ndarray:
        return umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, random_state=seed).fit_transform(a)

    return _fit_subset(x, seed, fit)


#: UMAP is fitted on at most this many points, t-SNE on :data:`TSNE_FIT_MAX`; see :func:`_fit_subset`.
FIT_MAX = 50_000
#: t-SNE's cap: Barnes-Hut t-SNE of 50,000 points took over 15 min on the shared 2 cores
TSNE_FIT_MAX = 20_000
#: neighbours whose positions place a point that was not in the fit
PLACE_K = 10


def _fit_subset(x: np.ndarray, seed: int, fit: Callable[[np.ndarray], np.ndarray], cap: int | None = None) -> np.ndarray:
    """``fit(x)`` when ``len(x) <= FIT_MAX``; else fit a seeded random subset of ``FIT_MAX`` points
    and place every other point at the mean 2-D position of its :data:`PLACE_K` nearest fitted
    neighbours in the input space (how openTSNE initialises new points before optimising them).

    NB101's 423,624 cells would take hours of t-SNE and about an hour of UMAP on 2 shared cores.
    """
    cap = FIT_MAX if cap is None else cap
    if len(x) <= cap:
        return fit(x)
    fit_idx = fit_subset_indices(len(x), seed, cap)
    out = np.empty((len(x), 2), dtype=np.float32)
    out[fit_idx] = fit(x[fit_idx])
    rest = np.setdiff1d(np.arange(len(x)), fit_idx)
    out[rest] = place_new(x[fit_idx], out[fit_idx], x[rest])
    return out


def fit_subset_indices(n: int, seed: int, cap: int) -> np.ndarray:
    """The sorted indices of the seeded random ``cap`` of ``n`` points that :func:`_fit_subset` fits
    (all ``n`` when ``n <= cap``)."""
    if n <= cap:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=cap, replace=False))


def place_new(x_fit: np.ndarray, xy_fit: np.ndarray, x_new: np.ndarray, k: int = PLACE_K) -> np.ndarray:
    """(m, 2): each row of ``x_new`` at the mean 2-D position (``xy_fit``) of its ``k`` nearest rows of
    ``x_fit`` in the input space: how :func:`_fit_subset` places the points that were not in the fit."""
    from sklearn.neighbors import NearestNeighbors

    x_new = np.asarray(x_new)
    out = np.empty((len(x_new), 2), dtype=np.float32)
    nn = NearestNeighbors(n_neighbors=min(int(k), len(x_fit))).fit(x_fit)
    for s in range(0, len(x_new), 50_000):
        _, nb = nn.kneighbors(x_new[s:s + 50_000])
        out[s:s + 50_000] = np.asarray(xy_fit)[nb].mean(axis=1)
    return out


def _tsne(x: np.ndarray, seed: int) -> np.ndarray:
    """Barnes-Hut t-SNE (perplexity 30, PCA init); above :data:`TSNE_FIT_MAX` points see :func:`_fit_subset`."""
    from sklearn.manifold import TSNE

    return _fit_subset(x, seed, lambda a: TSNE(n_components=2, perplexity=30.0, init="pca",
                                               random_state=seed).fit_transform(a), TSNE_FIT_MAX)


def projection_note(method: str, n: int) -> str:
    """How a projection of ``n`` points was made (for meta and captions)."""
    m = str(method).lower()
    cap = TSNE_FIT_MAX if m == "tsne" else FIT_MAX
    if m in ("tsne", "umap") and n > cap:
        return (f"{'t-SNE' if m == 'tsne' else 'UMAP'} fitted on a seeded random {cap:,} of {n:,} points; the "
                f"others placed at the mean position of their {PLACE_K} nearest fitted neighbours in latent space")
    return "exact"


#: method name -> f(x, seed) -> (n, 2)
PROJECTIONS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {"pca": _pca, "umap": _umap, "tsne": _tsne}


def project(x: np.ndarray, method: str, seed: int = 0, cache: dict | None = None) -> np.ndarray:
    """(n, d) -> (n, 2) float32 by ``method``; ``cache`` (a dict) is consulted by input hash."""
    m = str(method).lower()
    if m not in PROJECTIONS:
        raise NasvizError(f"unknown projection {method!r}; accepted: {', '.join(PROJECTIONS)}")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or len(x) < 3:
        raise NasvizError(f"a projection needs an (n >= 3, d) array; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise NasvizError("embeddings to project contain NaN or inf")
    key = f"{m}:{seed}:{array_hash(x)}"
    if cache is not None and key in cache:
        return cache[key]
    y = np.asarray(PROJECTIONS[m](x, seed), dtype=np.float32)
    if cache is not None:
        cache[key] = y
    return y
