"""Real UMAP and t-SNE fits (umap-learn and scikit-learn, nothing replaced): 400 NB201 cells' shipped arch2vec latent
means are projected to 2-D through :func:`nasviz.analysis.projections.project`, as ``nasviz embed`` does. A projection
must keep neighbourhoods far better than chance, be the same map for the same seed, and also hold when only a subset
is fitted and the rest are placed by their neighbours (what NB101's 423,624 cells get)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

from nasviz.analysis import projections as P
from nasviz.paths import REPO_ROOT

pytestmark = pytest.mark.slow
K = 10
N = 400


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    with np.load(REPO_ROOT / "data/embeddings/nb201-arch2vec.npz", allow_pickle=False) as z:
        means = z["means"].astype(np.float32)
    rows = np.random.default_rng(0).choice(len(means), size=N, replace=False)
    out = means[rows]
    assert len(np.unique(out, axis=0)) > 0.95 * N  # distinct points: neighbourhoods are defined
    return out


def _knn(a: np.ndarray, k: int = K) -> np.ndarray:
    return NearestNeighbors(n_neighbors=k + 1).fit(a).kneighbors(a, return_distance=False)[:, 1:]


def _kept_neighbours(x: np.ndarray, y: np.ndarray, rows: np.ndarray | None = None) -> float:
    """Mean share of a point's K nearest neighbours in ``x`` that are also among its K nearest in ``y``."""
    a, b = _knn(x), _knn(y)
    rows = np.arange(len(x)) if rows is None else rows
    return float(np.mean([len(set(a[i]) & set(b[i])) / K for i in rows]))


def _near_over_random(x: np.ndarray, y: np.ndarray) -> float:
    """Mean 2-D distance from each point to its K nearest neighbours *in the input*, over its mean 2-D distance to
    K random other points: well below 1 when input neighbours stay together."""
    rng = np.random.default_rng(7)
    nb = _knn(x)
    rand = np.stack([rng.choice(np.delete(np.arange(len(x)), i), size=K, replace=False) for i in range(len(x))])
    d_near = np.linalg.norm(y[:, None, :] - y[nb], axis=-1).mean()
    d_rand = np.linalg.norm(y[:, None, :] - y[rand], axis=-1).mean()
    return float(d_near / d_rand)


@pytest.fixture(scope="module")
def fits(x) -> dict:
    """Each method fitted once with seed 0 (the module's tests share the fits). Over a minute on the loaded 2 cores
    (70 s at nice 19 beside two trainings): umap-learn compiles its numba kernels on first use, and Barnes-Hut
    t-SNE runs its full 1,000 iterations; a smaller sample would not have neighbourhoods worth checking."""
    return {m: P.project(x, m, seed=0) for m in ("umap", "tsne")}


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_a_real_fit_keeps_input_neighbours_together(x, fits, method):
    y = fits[method]
    assert y.shape == (N, 2) and y.dtype == np.float32 and np.isfinite(y).all()
    assert np.ptp(y, axis=0).min() > 1e-3  # a real 2-D layout, not a point or a line
    shuffled = np.random.default_rng(1).permutation(y)  # the same points, neighbourhoods destroyed
    t, t_random = trustworthiness(x, y, n_neighbors=K), trustworthiness(x, shuffled, n_neighbors=K)
    assert t > 0.85 and t_random < 0.6, (t, t_random)
    kept = _kept_neighbours(x, y)
    assert kept > 8 * K / (N - 1), kept  # chance keeps ~K/(N-1) of them
    ratio, ratio_random = _near_over_random(x, y), _near_over_random(x, shuffled)
    assert ratio < 0.5 and ratio_random > 0.8, (ratio, ratio_random)


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_the_same_seed_gives_the_same_map(x, fits, method):
    """A second real fit (t-SNE: ~40 s under load), since only a fit can show the map depends on nothing but the
    seed."""
    cache: dict = {}
    again = P.project(x.copy(), method, seed=0, cache=cache)
    np.testing.assert_array_equal(again, fits[method])
    assert P.project(x.copy(), method, seed=0, cache=cache) is again  # the second call is the cached array


def test_umap_uses_its_seed(x, fits):
    other = P.project(x, "umap", seed=1)
    assert not np.allclose(other, fits["umap"], atol=1e-3)  # another seed, another layout ...
    assert trustworthiness(x, other, n_neighbors=K) > 0.85  # ... just as faithful


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_points_left_out_of_the_fit_land_among_their_neighbours(x, method, monkeypatch):
    """Above the cap (50,000 / 20,000 points) a seeded subset is fitted and every other point placed at the mean
    position of its nearest fitted neighbours; here the caps are lowered to 250 so 150 of the 400 are placed."""
    monkeypatch.setattr(P, "FIT_MAX", 250)
    monkeypatch.setattr(P, "TSNE_FIT_MAX", 250)
    y = P.project(x, method, seed=0)
    assert y.shape == (N, 2) and y.dtype == np.float32 and np.isfinite(y).all()
    fitted = np.sort(np.random.default_rng(0).choice(N, size=250, replace=False))  # the subset _fit_subset draws
    placed = np.setdiff1d(np.arange(N), fitted)
    # each placed point sits exactly at the mean of its PLACE_K nearest fitted points (input space)
    nb = NearestNeighbors(n_neighbors=P.PLACE_K).fit(x[fitted]).kneighbors(x[placed], return_distance=False)
    np.testing.assert_allclose(y[placed], y[fitted][nb].mean(axis=1), rtol=1e-5, atol=1e-5)
    assert trustworthiness(x, y, n_neighbors=K) > 0.8
    assert _kept_neighbours(x, y, placed) > 5 * K / (N - 1)  # the placed points' neighbourhoods survive too
