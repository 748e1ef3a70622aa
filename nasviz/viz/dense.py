"""Dense sampling page (DNAS, paper 000: Eq. 4, Algorithm 1): frames, figures, regions, launch.

No Streamlit here, so tests call every function directly.

* :func:`searchable_embeddings` -- the shipped embeddings a latent search can use in a space;
* :func:`latent_table` -- the raw embedding of every cell of a space (table order) with the
  search signal (the accuracy the search sees) and FLOPs;
* :func:`eq4_bands` -- Eq. 4's promising region per latent dimension:
  ``U_{i in top-k} [z_is - sigma*sd_s, z_is + sigma*sd_s]`` over the ``k`` best cells
  (``sigma`` in standardised units, as in :mod:`nasviz.search.strategies.dense`);
* :func:`fig_bands` -- dimension-vs-accuracy scatter per chosen dimension, the Eq. 4
  bands and the user's interval shaded;
* :func:`intervals_region` / :func:`map_region` / :func:`region_size` -- the region a
  ``region`` run searches (format of :mod:`nasviz.search.region`);
* :func:`launch` -- validate and start background runs exactly as ``nasviz search run``;
* :func:`top_cells_frame`, :func:`baseline_curves` -- results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nasviz.errors import NasvizError

#: the strategies the page offers: DNAS dense sampling, search in a user region, and baselines
STRATEGY_LABELS = {
    "dense": "dense sampling (DNAS Algorithm 1, Eq. 4 regions learned during the search)",
    "region": "region search (your region: the bands below or the map selection)",
    "random": "random search (baseline)",
    "evolution": "regularized evolution (baseline)",
}
BASELINES = ("random", "evolution")


@dataclass(frozen=True)
class LatentTable:
    embedding: str
    z: np.ndarray  # (n_cells, d) raw embedding, table order
    mean: np.ndarray  # (d,)
    sd: np.ndarray  # (d,) (1 where a column is constant)
    acc: np.ndarray  # (n_cells,) search signal
    flops: np.ndarray  # (n_cells,)
    signal: str  # what acc is, in words


def _rows(path: Path) -> int | None:
    """Rows of the array a latent search reads from an embeddings file, from its header alone."""
    import zipfile

    from nasviz.search.embeddings import _MEANS_KEYS

    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            for key in _MEANS_KEYS:
                if f"{key}.npy" in names:
                    with zf.open(f"{key}.npy") as f:
                        major, _ = np.lib.format.read_magic(f)
                        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                        shape = read(f)[0]
                    return int(shape[0]) if len(shape) == 2 else None
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    return None


def searchable_embeddings(space: str) -> list[str]:
    """Learned embeddings shipped for ``space`` with one row per cell, as dense/region search needs.

    Files that embed only a sample of the space (the NB101 controllers' hidden states of the
    cells they sampled) are left out, as are unreadable ones; the one-hot encoding is not listed.
    """
    from nasviz.search.embeddings import _embedding_dir, available_embeddings
    from nasviz.spaces import get_space

    n = get_space(space).n_cells
    return [name for name in available_embeddings(space)
            if name != "onehot" and _rows(_embedding_dir(space) / f"{name}.npz") == n]


def latent_table(embedding: str, dataset: str = "cifar10", space: str = "nb201") -> LatentTable:
    from nasviz.search.embeddings import load_embedding
    from nasviz.search.problem import make_problem

    problem = make_problem(space, dataset)
    z = np.asarray(load_embedding(problem, embedding), dtype=np.float64)
    sd = z.std(axis=0)
    sd[sd == 0] = 1.0
    acc = problem.signal_column()
    flops = problem.flops if problem.flops is not None else np.zeros(len(z))
    metric, ds, ep = problem.signal
    return LatentTable(embedding, z, z.mean(axis=0), sd, acc, np.asarray(flops, dtype=np.float64),
                       f"{metric} ({ds}, {ep} epochs)" if ep else f"{metric} ({ds})")


def eq4_bands(t: LatentTable, dims, k: int = 3, sigma: float = 0.25) -> dict[int, list[tuple[float, float]]]:
    """Eq. 4 per dimension (raw units): one interval per top-k cell, ``z_is +- sigma * sd_s``."""
    if k <= 0:
        raise NasvizError(f"top-k must be >= 1; got {k}")
    if sigma <= 0:
        raise NasvizError(f"sigma must be > 0; got {sigma}")
    acc = np.where(np.isfinite(t.acc), t.acc, -np.inf)
    top = np.argsort(-acc, kind="stable")[:k]
    out = {}
    for s in dims:
        s = int(s)
        if not 0 <= s < t.z.shape[1]:
            raise NasvizError(f"latent dimension {s} is out of range 0..{t.z.shape[1] - 1} for {t.embedding}")
        h = sigma * t.sd[s]
        out[s] = [(float(t.z[i, s] - h), float(t.z[i, s] + h)) for i in top]
    return out


def band_hull(bands: list[tuple[float, float]]) -> tuple[float, float]:
    return min(b[0] for b in bands), max(b[1] for b in bands)


#: each panel's picture of the cells (pixels): about twice the plot area of one of three panels in the page's main
#: column, and the dots' diameter there (the marker size 3 of a WebGL scatter, doubled)
BANDS_PICTURE = (660, 460)
BANDS_DOT = 6


def fig_bands(t: LatentTable, bands: dict[int, list[tuple[float, float]]],
              chosen: dict[int, tuple[float, float]] | None = None, max_points: int = 4000, seed: int = 0):
    """One panel per dimension: every cell (a fixed random sample of ``max_points`` plus the top 200)
    at (z_s, accuracy), Eq. 4's top-k bands (green) and the chosen interval (outlined).

    The cells are a picture per panel (:func:`nasviz.viz.pictures.translucent_dots`: blue dots at opacity 0.35,
    darker where they overlap, as a WebGL scatter draws them) behind the bands: three WebGL panels of 4,200 points
    were the page's slowest draw in the browser. The axes are fixed to the pictures' ranges (x: the dimension's
    range over every cell, its bands and the chosen interval, so any interval the sliders allow is inside; y: the
    drawn cells' signal range)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from nasviz.viz import pictures as P

    dims = list(bands)
    if not dims:
        raise NasvizError("choose at least one latent dimension")
    ok = np.flatnonzero(np.isfinite(t.acc))
    rng = np.random.default_rng(seed)
    pick = rng.choice(ok, size=min(max_points, len(ok)), replace=False)
    pick = np.union1d(pick, ok[np.argsort(-t.acc[ok])[:200]])
    cols = min(3, len(dims))
    rows = (len(dims) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"dim {s}" for s in dims])
    yr = P.padded(float(t.acc[pick].min()), float(t.acc[pick].max())) if len(pick) else (0.0, 1.0)
    for n, s in enumerate(dims):
        r, c = n // cols + 1, n % cols + 1
        z = t.z[:, s]
        # every cell, its bands and the chosen interval (a band around a cell at the edge reaches past it)
        ends = [float(np.nanmin(z)), float(np.nanmax(z)), *(v for b in bands[s] for v in b),
                *((chosen or {}).get(s, ()))]
        xr = P.padded(min(ends), max(ends))
        x, y = z[pick], t.acc[pick]
        # kept per input: a slider move redraws the figure around the same pictures (~50 ms each to draw)
        uri = P.memo_uri([x, y, xr, yr, BANDS_PICTURE, BANDS_DOT], lambda: P.png_data_uri(P.translucent_dots(
            x, y, xr, yr, color=(31, 119, 180), opacity=0.35, size=BANDS_PICTURE, dot=BANDS_DOT)))
        suffix = "" if n == 0 else str(n + 1)
        fig.add_layout_image(P.axis_image(uri, xr, yr, xref=f"x{suffix}", yref=f"y{suffix}"))
        fig.update_xaxes(range=list(xr), row=r, col=c)
        fig.update_yaxes(range=list(yr), row=r, col=c)
        for lo, hi in bands[s]:
            fig.add_vrect(x0=lo, x1=hi, fillcolor="#2ca02c", opacity=0.2, line_width=0, row=r, col=c)
        if chosen and s in chosen:
            lo, hi = chosen[s]
            fig.add_vrect(x0=lo, x1=hi, fillcolor="rgba(0,0,0,0)", line=dict(color="#d62728", width=2), row=r, col=c)
    # two title lines: on one, the legend of the colours ran past the chart's right edge at laptop widths
    fig.update_layout(template="plotly_white", height=300 * rows + 40, margin=dict(l=40, r=20, t=95, b=40),
                      title=dict(text=f"{t.embedding}: latent dimension vs {t.signal} ({len(pick):,} cells)",
                                 subtitle=dict(text="green = Eq. 4 top-k bands, " + (
                                     "red = your interval" if chosen else "(region search uses the map selection)"))))
    return fig


def intervals_region(embedding: str, chosen: dict[int, tuple[float, float]]) -> dict:
    """An intervals region (raw embedding units) for the ``region`` strategy."""
    if not chosen:
        raise NasvizError("choose at least one latent dimension for the region")
    return {"kind": "intervals", "embedding": embedding,
            "intervals": {str(int(s)): [float(lo), float(hi)] for s, (lo, hi) in chosen.items()}}


def map_region(region: dict) -> dict:
    """The latent map's selection (``st.session_state["search_region"]``) as a search region.

    A box or lasso drawn in a stored projection stays a shape (``EMBEDDING:projection``); the
    discrete encoding's projection is computed by the map only, so its selection is passed as
    the indices of the selected cells."""
    if not isinstance(region, dict) or "kind" not in region:
        raise NasvizError("the map selection is not a region; select cells on the latent map again")
    if region["kind"] in ("box", "lasso") and region.get("embedding") not in (None, "discrete"):
        keep = {k: region[k] for k in ("kind", "embedding", "projection", "dims", "x", "y", "polygon") if k in region}
        return keep
    idx = [int(i) for i in region.get("indices") or []]
    if not idx:
        raise NasvizError("the map selection holds no cell; select cells on the latent map again")
    return {"kind": "points", "embedding": "onehot", "indices": idx}


def region_size(region: dict, dataset: str = "cifar10", space: str = "nb201") -> int:
    """Number of cells inside (a NasvizError saying so when there is none)."""
    from nasviz.search.problem import make_problem
    from nasviz.search.region import parse_region, region_mask

    return int(region_mask(parse_region(region), space, problem=make_problem(space, dataset)).sum())


def dense_params(strategy: str, *, embedding: str, eps1: float, eps2: float, flops_limit: float | None,
                 top_k: int, sigma: float) -> dict:
    """Strategy parameters from the page's widgets (the baselines take none)."""
    if strategy not in ("dense", "region"):
        return {}
    if eps1 < 0 or eps2 < 0 or eps1 + eps2 > 1 + 1e-12:
        raise NasvizError(f"eps1 + eps2 must be <= 1 (eps3 = 1 - eps1 - eps2 samples anywhere); "
                          f"got {eps1:g} + {eps2:g} = {eps1 + eps2:g}")
    return {"embedding": embedding, "eps1": float(eps1), "eps2": float(eps2), "flops_limit": flops_limit,
            "top_k": int(top_k), "sigma": float(sigma)}


def launch(strategy: str, *, space: str = "nb201", dataset: str = "cifar10", budget: int = 100, seeds: int = 1,
           seed0: int = 0, params: dict | None = None, region: dict | None = None, device: str = "cpu",
           backend: str = "local", db: str | Path | None = None, store=None):
    """Validate and start ``seeds`` runs as background jobs, the same calls as ``nasviz search run``.

    Returns ``(store, run_ids, handles)``; nothing is written when an input is refused. Pass an open
    ``store`` to reuse its connection: constructing a second :class:`Store` on the same file in one
    process reads the file with ``open()``, and closing that descriptor drops the process's POSIX
    locks that SQLite's WAL relies on (stale reads or "disk I/O error" in the other connection)."""
    from nasviz.search import jobs as J
    from nasviz.search.runs import validate_config
    from nasviz.search.store import Store, check_db_file, default_db_path

    if int(seeds) <= 0:
        raise NasvizError(f"seeds must be >= 1; got {seeds}")
    configs = [validate_config(strategy, space, dataset, budget, seed=seed0 + k, params=params, region=region,
                               device=device, backend=backend, preflight=(k == 0)) for k in range(int(seeds))]
    if configs[0].device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise NasvizError("device cuda: no CUDA device is visible to torch on this machine; use cpu")
    if configs[0].backend == "ray" and not J.ray_available():
        raise NasvizError("backend ray needs the 'ray' package (pip install ray==2.60.0); or use local")
    if store is None:
        path = Path(db) if db is not None else default_db_path()
        check_db_file(path)
        store = Store(path, create=True)
    ids, handles = [], []
    for cfg in configs:
        rid, h = J.submit(store, cfg)
        ids.append(rid)
        handles.append(h)
    return store, ids, handles


def top_cells_frame(trials, dataset: str = "cifar10", space: str = "nb201", k: int = 5) -> pd.DataFrame:
    """The ``k`` best distinct cells of some runs' trials with their reported metrics and FLOPs."""
    from nasviz.search.problem import make_problem
    from nasviz.viz.runs import best_trials

    best = best_trials(trials, k)
    if not best:
        return pd.DataFrame(columns=["index", "cell", "search value"])
    p = make_problem(space, dataset)
    rep = p.report_columns()
    rows = []
    for t in best:
        r = {"index": t.cell_index, "cell": t.cell, "search value": t.value}
        for name, col in rep.items():
            r[name] = float(np.asarray(col)[t.cell_index])
        if p.flops is not None:
            r["FLOPs (M)"] = float(p.flops[t.cell_index])
        rows.append(r)
    return pd.DataFrame(rows)


def baseline_curves(store, *, dataset: str, space: str = "nb201", exclude=(), strategies=BASELINES,
                    limit: int = 5) -> dict:
    """Best-so-far frames of stored complete baseline runs on ``space``/``dataset`` (newest first)."""
    from nasviz.search.store import RunState
    from nasviz.viz.runs import trials_frame

    out = {}
    for r in store.list_runs(RunState.COMPLETE):
        if r.id in exclude or r.strategy not in strategies or r.space != space or r.dataset != dataset:
            continue
        out[f"#{r.id} {r.strategy} (seed {r.seed}, baseline)"] = trials_frame(store.trials(r.id))
        if len(out) >= limit:
            break
    return out
