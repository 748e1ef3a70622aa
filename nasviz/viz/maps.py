"""Latent maps: every cell of a space at its 2-D projection, coloured by a benchmark column.

Built here (not in the page) so tests can call them without Streamlit.

* :func:`list_sources` / :func:`load_source` — the embeddings a map can show: the
  built-in discrete encoding of the space (always there, projected with PCA) and every
  precomputed file ``data/embeddings/<name>.npz`` of that space (arch2vec, supervised
  arch2vec, beta-VAE per beta, ENAS controller hidden states; written by
  ``nasviz embed`` and ``nasviz controller embed``), with whichever of ``pca`` /
  ``umap`` / ``tsne`` the file holds;
* :func:`space_frame` — one row per cell with the columns a map can colour and filter by
  (NB201: :func:`~nasviz.viz.tables.nb201_frame`; NB101: all 423,624 cells, accuracy
  columns NaN where the table has no results);
* :func:`filter_mask` — ranges and ops present / absent;
* :func:`map_figure` — a WebGL scatter (``go.Scattergl``) of the shown cells, or, when
  more than ``max_points`` cells are in view, a density shading (2-D histogram: each bin
  coloured by the mean of the colour column, hover gives the cell count) that drills
  down to raw points once a zoom window holds few enough;
* :func:`selection_region` — a plotly selection event (click, box, lasso) as the
  search-region dict (format below) with the indices of the selected cells;
* :func:`nearest_neighbours` — the closest cells in latent space (L2 on the means);
* :func:`top_k` / :func:`focus_mask` / :func:`focus_points` — the cells a map keeps in colour (its selection,
  its top k % by a column) while the others stay visible in grey: in points mode as each trace's
  ``selectedpoints`` (plotly styles the rest with ``unselected``), in density mode as the colour of the bins;
  :func:`region_outline` draws the selection's box or lasso over the map.

Region format (``st.session_state["map_region"]``, consumed by the search issue)::

    {"space": "nb201", "embedding": "nb201-arch2vec", "projection": "pca",
     "kind": "box",   "dims": [0, 1], "x": [lo, hi], "y": [lo, hi],     # or
     "kind": "lasso", "dims": [0, 1], "polygon": [[x, y], ...],          # or
     "kind": "points",                                                   # clicked points only
     "indices": [official cell indices inside and passing the page's filters], "n": len(indices)}

``kind``/``dims``/``x``/``y``/``polygon`` are what :func:`nasviz.search.region.parse_region`
reads; the shape is drawn in the 2-D projection, so :func:`nasviz.search.region.region_mask`
needs ``embedding=<that projection>`` (``load_source(space, embedding)[projection]``).
"""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nasviz.errors import DataFileError, NasvizError

log = logging.getLogger(__name__)

DISCRETE = "discrete"
PROJECTION_LABELS = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}
SPACE_LABELS = {"nb201": "NAS-Bench-201 (15,625 cells)", "nb101": "NAS-Bench-101 (423,624 cells)"}
SPACE_SIZES = {"nb201": 15_625, "nb101": 423_624}
#: Above this many cells in view the map shades density instead of drawing points.
MAX_POINTS = 20_000
MISSING_COLOR = "#c7c7c7"
HIGHLIGHT = "#d62728"
#: cells outside the focus (the selection, the top k %): kept visible, in light grey (``unselected`` marker style)
UNSELECTED_COLOR = "#d9d9d9"
UNSELECTED = dict(marker=dict(color=UNSELECTED_COLOR, opacity=0.5))


# -- embeddings --------------------------------------------------------------------------
@dataclass(frozen=True)
class MapSource:
    """One embedding a map can show."""

    name: str  # DISCRETE or the stem of data/embeddings/<name>.npz
    space: str
    label: str
    projections: tuple[str, ...]
    dim: int
    path: Path | None = None
    #: cells the file covers when it holds a subset of the space (e.g. NB101 controller hidden states
    #: of the 30,001 benchmark sample cells, listed in its ``index`` array); None = every cell
    n_cells: int | None = None
    #: (projection, how it was made) for projections that are not exact, e.g. UMAP/t-SNE of NB101
    #: fitted on a subset (``meta["projection_notes"]`` written by ``nasviz embed``)
    notes: tuple[tuple[str, str], ...] = ()

    def note(self, projection: str) -> str | None:
        return dict(self.notes).get(projection)

    @property
    def subset(self) -> bool:
        return self.n_cells is not None


def _label(name: str, meta: dict) -> str:
    space = str(meta.get("space", ""))
    short = name[len(space) + 1:] if space and name.startswith(space + "-") else name
    if meta.get("kind") == "controller-hidden-state":
        return f"ENAS controller hidden state ({meta.get('controller_kind', short)})"
    if short.startswith("arch2vec"):
        return "supervised arch2vec" if "supervised" in short else "arch2vec"
    if short.startswith("bvae-beta"):
        return f"beta-VAE (beta = {short[len('bvae-beta'):]})"
    return short


def _read_meta(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        if "meta" not in z.files:
            raise DataFileError(f"{path} has no meta array; not a nasviz embeddings file")
        meta = json.loads(bytes(z["meta"]).decode())
        meta["_projections"] = [p for p in PROJECTION_LABELS if p in z.files]
        meta["_has_means"] = "means" in z.files or "latent" in z.files
        meta["_has_index"] = "index" in z.files
    return meta


def discrete_dim(space: str) -> int:
    return {"nb201": 30, "nb101": 36}[space]


def list_sources(space: str, folder: Path | None = None, *, whole_space_only: bool = False) -> list[MapSource]:
    """The discrete encoding first, then every readable ``<folder>/*.npz`` of ``space`` (sorted by name).

    A file that covers only some cells (``meta["n_cells"]`` below the space size) is listed when it names
    them in an ``index`` array (``MapSource.n_cells`` set), unless ``whole_space_only`` (pages that need a
    row per cell, e.g. correlations over the whole space)."""
    from nasviz.analysis.embeddings import embeddings_dir

    if space not in SPACE_LABELS:
        raise NasvizError(f"unknown space {space!r}; accepted: {', '.join(SPACE_LABELS)}")
    out = [MapSource(DISCRETE, space, "discrete encoding (one-hot, no learning)", ("pca",), discrete_dim(space))]
    root = Path(folder) if folder else embeddings_dir()
    for p in sorted(root.glob("[!.]*.npz")) if root.is_dir() else []:  # not the writers' .tmp files
        try:
            meta = _read_meta(p)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, UnicodeDecodeError, DataFileError) as e:
            log.warning("skipping unreadable embeddings file %s (%s)", p, e)
            continue
        if meta.get("space") != space or not meta["_projections"] or not meta["_has_means"]:
            continue
        n_cells = meta.get("n_cells")
        subset = n_cells not in (None, SPACE_SIZES[space])
        if subset and (whole_space_only or not meta["_has_index"]):
            log.info("%s covers %s of the %s %s cells%s; skipped", p.name, n_cells, f"{SPACE_SIZES[space]:,}", space,
                     "" if meta["_has_index"] else " without an index array")
            continue
        label = _label(p.stem, meta) + (f", {int(n_cells):,} sample cells" if subset else "")
        notes = tuple((k, v) for k, v in sorted((meta.get("projection_notes") or {}).items()) if v != "exact")
        out.append(MapSource(p.stem, space, label, tuple(meta["_projections"]), int(meta.get("dim", 0)), p,
                             int(n_cells) if subset else None, notes))
    return out


def nb201_discrete(index_ops: np.ndarray) -> np.ndarray:
    """(15625, 30) one-hot op per edge, official index order."""
    ops = np.asarray(index_ops, dtype=np.int64)
    out = np.zeros((ops.shape[0], ops.shape[1] * 5), dtype=np.float32)
    for k in range(ops.shape[1]):
        out[np.arange(ops.shape[0]), k * 5 + ops[:, k]] = 1.0
    return out


def nb101_discrete(n_vertices: np.ndarray, bits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(n, 36) adjacency bits of the spec padded to 7 vertices (output moved to vertex 6) + one-hot
    interior ops (5 slots x 3 ops) for every enumerated NB101 cell, vectorised (hash order)."""
    from nasviz.spaces.nb101 import N_OPS, edge_bit

    n = np.asarray(n_vertices, dtype=np.int64)
    b = np.asarray(bits, dtype=np.int64)
    lab = np.asarray(labels, dtype=np.int64)
    iu = list(zip(*np.triu_indices(7, 1)))
    col = {pair: k for k, pair in enumerate(iu)}
    out = np.zeros((len(n), 21 + 5 * N_OPS), dtype=np.float32)
    rows = np.arange(len(n))
    for nv in np.unique(n):
        sel = rows[n == nv]
        for y in range(1, nv):
            for x in range(y):
                on = ((b[sel] >> edge_bit(x, y)) & 1).astype(bool)
                out[sel[on], col[(x, 6 if y == nv - 1 else y)]] = 1.0
        code = lab[sel].copy()
        for slot in range(nv - 3, -1, -1):  # last interior vertex is the least significant digit
            out[sel, 21 + slot * N_OPS + code % N_OPS] = 1.0
            code //= N_OPS
    return out


def pca2(x: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, 2) principal components (eigenvectors of the d x d covariance; deterministic sign)."""
    from threadpoolctl import threadpool_limits

    x = np.asarray(x, dtype=np.float64)
    c = x - x.mean(0)
    with threadpool_limits(1):  # a d x d product: BLAS threads only contend on a shared machine
        w, v = np.linalg.eigh(c.T @ c)
    v = v[:, np.argsort(w)[::-1][:2]].T  # (2, d), largest variance first
    v *= np.sign(v[np.arange(2), np.abs(v).argmax(1)])[:, None]
    with threadpool_limits(1):
        return (c @ v.T).astype(np.float32)


def load_source(space: str, name: str, folder: Path | None = None) -> dict:
    """``{"means": (n, d) float32, "<projection>": (n, 2) float32 ..., "meta": dict}``, official order."""
    if name == DISCRETE:
        from nasviz.spaces import get_space

        sp = get_space(space)
        if space == "nb201":
            means = nb201_discrete(sp.index_ops)
        else:
            e = sp.enumeration
            means = nb101_discrete(e.n_vertices, e.bits, e.labels)
        return {"means": means, "pca": pca2(means), "meta": {"model": DISCRETE, "space": space}}
    from nasviz.analysis.embeddings import load_embeddings

    out = load_embeddings(name, folder)
    if "means" not in out and "latent" in out:  # controller hidden states: the state is the embedding
        out["means"] = out["latent"]
    if "means" not in out:
        raise DataFileError(f"embedding file {name!r} has no means/latent array")
    if out["meta"].get("space") != space:
        raise NasvizError(f"embedding {name!r} is for space {out['meta'].get('space')!r}, not {space!r}")
    if "index" in out and len(out["means"]) != SPACE_SIZES[space]:
        # a subset of the cells: projections spread to one row per cell (NaN where not covered), so the map
        # indexes them by cell like a whole-space file; the means stay one row per covered cell ("cells")
        cells = np.asarray(out.pop("index"), dtype=np.int64)
        if len(cells) != len(out["means"]) or len(np.unique(cells)) != len(cells) or not (
                (cells >= 0) & (cells < SPACE_SIZES[space])).all():
            raise DataFileError(f"embedding {name!r}: its index array does not list {len(out['means'])} distinct "
                                f"{space} cells")
        order = np.argsort(cells)
        out["cells"], out["means"] = cells[order], out["means"][order]
        for proj in PROJECTION_LABELS:
            if proj in out:
                full = np.full((SPACE_SIZES[space], 2), np.nan, dtype=np.float32)
                full[out["cells"]] = out[proj][order]
                out[proj] = full
    return out


def covered(src: dict, n: int) -> np.ndarray:
    """(n,) bool: the cells a loaded source has an embedding for (all of them for a whole-space file)."""
    if "cells" not in src:
        return np.ones(n, dtype=bool)
    m = np.zeros(n, dtype=bool)
    m[src["cells"]] = True
    return m


def shown_numbers(dist) -> np.ndarray:
    """Numbers (the neighbour tables' L2 distances) rounded to 4 significant digits, so that a collapsed
    embedding's ~1e-8 distances do not read as 0 (0 only when the points coincide)."""
    return np.array([float(f"{float(d):.4g}") for d in np.asarray(dist).ravel()])


def source_neighbours(src: dict, index: int, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nearest_neighbours` of cell ``index`` in a loaded source, also a subset one (official indices)."""
    if "cells" not in src:
        return nearest_neighbours(src["means"], index, k)
    cells = src["cells"]
    pos = int(np.searchsorted(cells, int(index)))
    if pos >= len(cells) or cells[pos] != int(index):
        raise NasvizError(f"cell #{int(index)} is not among the {len(cells):,} cells this embedding covers")
    nb, d = nearest_neighbours(src["means"], pos, k)
    return cells[nb], d


# -- the per-cell frame ------------------------------------------------------------------
def nb101_frame(bench) -> pd.DataFrame:
    """All 423,624 NB101 cells (hash order = index): structure columns, op counts, and every
    benchmark column of ``bench`` (an NB101Benchmark; NaN for cells it has no results for)."""
    from nasviz.spaces.nb101 import OPS

    e = bench.space.enumeration
    n = len(e)
    nv = np.asarray(e.n_vertices, dtype=np.int64)
    bits = np.asarray(e.bits, dtype=np.uint32)
    n_edges = np.zeros(n, dtype=np.int8)
    b = bits.copy()
    while b.any():
        n_edges += (b & 1).astype(np.int8)
        b >>= 1
    data: dict[str, object] = {"index": np.arange(n, dtype=np.int64), "vertices": nv.astype(np.int8),
                               "edges": n_edges}
    counts = np.zeros((n, len(OPS)), dtype=np.int8)
    code = np.asarray(e.labels, dtype=np.int64).copy()
    for slot in range(5):
        active = slot < (nv - 2)
        d = code % len(OPS)
        counts[np.flatnonzero(active), d[active]] += 1
        code = np.where(active, code // len(OPS), code)
    for o, op in enumerate(OPS):
        data[f"#{op}"] = counts[:, o]
    rows = bench.indices
    for spec in bench.columns():
        col = np.full(n, np.nan)
        col[rows] = np.asarray(bench.column(spec.metric, spec.dataset, spec.epochs), dtype=np.float64)
        data[_nb101_name(spec)] = col
    frame = pd.DataFrame(data)
    frame.index = frame["index"].to_numpy()
    return frame


def _nb101_name(spec) -> str:
    names = {"valid_acc": "valid %", "test_acc": "test %", "train_acc": "train %", "train_time": "train time s",
             "params": "params (M)"}
    base = names.get(spec.metric.value, spec.metric.value)
    return base if spec.epochs is None else f"{base} ({spec.epochs} ep)"


def space_frame(space: str, bench) -> pd.DataFrame:
    if space == "nb201":
        from nasviz.viz.tables import nb201_frame

        return nb201_frame(bench)
    if space == "nb101":
        return nb101_frame(bench)
    raise NasvizError(f"unknown space {space!r}; accepted: {', '.join(SPACE_LABELS)}")


def op_columns(frame: pd.DataFrame) -> dict[str, str]:
    """op name -> its count column (``#op``)."""
    return {c[1:]: c for c in frame.columns if isinstance(c, str) and c.startswith("#")}


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns a map can colour by (numbers, not the index)."""
    return [c for c in frame.columns if c != "index" and pd.api.types.is_numeric_dtype(frame[c])]


def default_color(space: str, frame: pd.DataFrame) -> str:
    prefer = {"nb201": "cifar10 test %", "nb101": "valid % (108 ep)"}[space]
    return prefer if prefer in frame.columns else numeric_columns(frame)[0]


def filter_mask(frame: pd.DataFrame, *, ranges: dict[str, tuple[float, float]] | None = None,
                with_ops=(), without_ops=()) -> np.ndarray:
    """Cells passing every filter. A range keeps ``low <= v <= high`` (cells without a value drop out);
    ``with_ops`` / ``without_ops``: ops that must appear somewhere / nowhere in the cell."""
    ops = op_columns(frame)
    both = set(with_ops) & set(without_ops)
    if both:
        raise NasvizError(f"op(s) {', '.join(sorted(both))} cannot be both required and excluded")
    mask = np.ones(len(frame), dtype=bool)
    for op in (*with_ops, *without_ops):
        if op not in ops:
            raise NasvizError(f"unknown op {op!r}; accepted: {', '.join(ops)}")
    for op in with_ops:
        mask &= frame[ops[op]].to_numpy() > 0
    for op in without_ops:
        mask &= frame[ops[op]].to_numpy() == 0
    for col, (lo, hi) in (ranges or {}).items():
        if col not in frame.columns:
            raise NasvizError(f"no column {col!r}; accepted: {', '.join(numeric_columns(frame))}")
        if lo > hi:
            raise NasvizError(f"empty range for {col}: low {lo} is above high {hi}")
        v = frame[col].to_numpy(dtype=np.float64)
        mask &= (v >= lo) & (v <= hi)
    return mask


# -- the figure --------------------------------------------------------------------------
_NB201_SHORT = {"skip_connect": "skip", "nor_conv_1x1": "1x1", "nor_conv_3x3": "3x3", "avg_pool_3x3": "pool"}


def hover_labels(space: str, frame: pd.DataFrame, idx: np.ndarray) -> np.ndarray:
    """The cell part of each hover label (one string per cell of ``idx``). NB201 cells are written compactly,
    node by node (``3x3 + 3x3 3x3 + skip 3x3 1x1`` = the ops into nodes 1, 2, 3); NB101 cells: vertex and edge
    counts, op counts. The index and the metrics come from the figure's ``customdata`` (:func:`map_figure`)."""
    sub = frame.loc[np.asarray(idx, dtype=np.int64)]
    if space == "nb201":
        short = sub["arch"].str.replace(r"~\d", "", regex=True).str.strip("|").str.replace("|+|", " + ", regex=False)
        for op, label in _NB201_SHORT.items():
            short = short.str.replace(op, label, regex=False)
        return short.str.replace("|", " ", regex=False).to_numpy(dtype=object)
    ops = op_columns(frame)
    shape = (sub["vertices"].astype(str) + " vertices, " + sub["edges"].astype(str) + " edges; ")
    opsum = sum((sub[c].astype(str) + f" {o.split('-')[0]}" + (", " if k < len(ops) - 1 else "")
                 for k, (o, c) in enumerate(ops.items())), start=pd.Series("", index=sub.index))
    return (shape + opsum).to_numpy(dtype=object)


def hover_texts(space: str, frame: pd.DataFrame, idx: np.ndarray, columns: list[str]) -> list[str]:
    """One full hover label per cell, as the map shows it: ``#index``, the cell (:func:`hover_labels`),
    then ``column: value`` (2 decimals, ``no result`` where the table has none) per column."""
    idx = np.asarray(idx, dtype=np.int64)
    parts = [np.char.add("#", idx.astype(str)), hover_labels(space, frame, idx)]
    sub = frame.loc[idx]
    for c in columns:
        v = sub[c].to_numpy(dtype=np.float64)
        parts.append(np.where(np.isnan(v), f"{c}: no result", [f"{c}: {x:.2f}" for x in v]))
    return ["<br>".join(str(p[i]) for p in parts) for i in range(len(idx))]


def cell_of(customdata) -> int | None:
    """The cell index a picked point carries: its ``customdata``, or the first entry of a customdata row
    (a list, or the ``{"0": ..., "1": ...}`` object a browser's typed-array row becomes in JSON)."""
    cd = customdata
    if isinstance(cd, dict):
        cd = cd.get("0", cd.get(0))
    elif isinstance(cd, (list, tuple)):
        cd = cd[0] if cd else None
    return None if cd is None else int(round(float(cd)))


def _hover_traces(go, pts, cells, labels, columns, color_label, vals, *, name: str, marker: dict,
                  unselected: dict) -> list:
    """Scattergl trace(s) of these points: the hover label is written by a ``hovertemplate`` from per-point
    data (``customdata`` = float32 rows ``[index, other columns...]``, ``text`` = the cell label, the colour
    column from ``marker.color``) instead of one hover string per point (most of a 15,625-point figure's
    bytes). Points are split by which hover columns have no value, so those read ``no result``; the split
    traces share the colour scale (``cmin``/``cmax`` in ``marker``) and one legend entry."""
    others = [c for c in columns if c != color_label]
    data = np.column_stack([cells.astype(np.float32)]
                           + [np.asarray(columns[c], dtype=np.float32)[cells] for c in others])
    colour_known = bool(len(vals)) and not np.isnan(vals).all()
    if len(cells):
        patterns, group = np.unique(np.isnan(data[:, 1:]), axis=0, return_inverse=True)
        group = np.asarray(group).ravel()
    else:
        patterns, group = np.zeros((1, len(others)), dtype=bool), np.zeros(0, dtype=np.int64)
    out = []
    for g, pattern in enumerate(patterns):
        sel = group == g
        lines = ["#%{customdata[0]}", "%{text}"]
        for c in columns:
            if c == color_label:
                lines.append(f"{c}: %{{marker.color:.2f}}" if colour_known else f"{c}: no result")
            else:
                j = others.index(c)
                lines.append(f"{c}: no result" if pattern[j] else f"{c}: %{{customdata[{j + 1}]:.2f}}")
        m = dict(marker)
        if isinstance(m.get("color"), np.ndarray):
            m["color"] = m["color"][sel]
        if g > 0:
            m.pop("colorbar", None)
            m["showscale"] = False
        out.append(go.Scattergl(x=pts[sel, 0], y=pts[sel, 1], mode="markers", name=name, legendgroup=name,
                                showlegend=g == 0, marker=m, unselected=unselected, customdata=data[sel],
                                text=labels[sel],
                                hovertemplate="<br>".join(lines) + "<extra></extra>"))
    return out


def highlight_traces(xy: np.ndarray, highlight: int | None, neighbours: np.ndarray | None = None) -> list:
    """The marks for one cell on a map: its nearest neighbours (open rings, when given) and the cell (a star),
    as Scattergl traces in that order; [] without a cell. ``xy``: every cell's 2-D point, by index."""
    import plotly.graph_objects as go

    if highlight is None:
        return []
    out = []
    h = xy[int(highlight)]
    if neighbours is not None and len(neighbours):
        nb = xy[np.asarray(neighbours, dtype=np.int64)]
        # WebGL traces too: plotly draws its WebGL layer over SVG traces, which would hide them
        out.append(go.Scattergl(x=nb[:, 0], y=nb[:, 1], mode="markers", name="nearest in latent space",
                                marker=dict(symbol="circle-open", size=13, color="#ff7f0e", line=dict(width=2)),
                                customdata=np.asarray(neighbours), hovertemplate="#%{customdata}<extra></extra>"))
    out.append(go.Scattergl(x=[h[0]], y=[h[1]], mode="markers", name=f"cell #{int(highlight)}",
                            marker=dict(symbol="star", size=18, color=HIGHLIGHT, line=dict(width=1, color="white")),
                            customdata=[int(highlight)], hovertemplate="#%{customdata}<extra></extra>"))
    return out


def map_figure(xy: np.ndarray, values: np.ndarray, shown: np.ndarray, *, color_label: str,
               labels=None, hover_columns: dict[str, np.ndarray] | None = None, title: str = "",
               axis_labels: tuple[str, str] = ("1", "2"), max_points: int = MAX_POINTS, bins: int = 160,
               window: tuple | None = None, highlight: int | None = None, neighbours: np.ndarray | None = None,
               uirevision: str = "map", focus: np.ndarray | None = None):
    """The map of the ``shown`` cells (official indices) at ``xy[shown]``, coloured by ``values[shown]``.

    ``window = ((x0, x1), (y0, y1))`` zooms to a range (only cells inside are drawn). When more
    than ``max_points`` cells are in view the map is density-shaded (mode ``"density"``),
    else every cell is a WebGL point (mode ``"points"``) whose ``customdata`` row starts with its index.
    In points mode ``labels`` (one cell label per cell in view, :func:`hover_labels`) is required;
    its hover reads ``#index``, the label, then ``column: value`` for each of ``hover_columns``
    (column name -> values of every cell, official order; ``color_label`` among them shows ``values``),
    the same text as :func:`hover_texts`.
    ``focus`` (bool per cell of the space, :func:`focus_mask`): the cells kept in colour; the others stay
    visible in light grey (points: each cell trace's ``selectedpoints``, :func:`focus_points`, with the
    ``unselected`` style every cell trace carries; density: bins coloured by the mean over their focus cells,
    grey where they hold none). ``None``: every cell in colour.
    Returns ``(figure, mode, in_view)`` where ``in_view`` are the indices drawn.
    """
    import plotly.graph_objects as go

    shown = np.asarray(shown, dtype=np.int64)
    pts = xy[shown]
    if window is not None:
        (x0, x1), (y0, y1) = window
        keep = (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
        shown, pts = shown[keep], pts[keep]
    vals = np.asarray(values, dtype=np.float64)[shown]
    fig = go.Figure()
    mode = "points" if len(shown) <= max_points else "density"
    if mode == "points":
        if labels is None or len(labels) != len(shown):
            raise NasvizError("points mode needs one hover label per cell in view")
        labels = np.asarray(labels, dtype=object)
        columns = dict(hover_columns or {})
        if color_label not in columns:
            columns = {color_label: np.asarray(values), **columns}
        pts = pts.astype(np.float32)
        missing = np.isnan(vals)
        if missing.any():
            for t in _hover_traces(go, pts[missing], shown[missing], labels[missing], columns, color_label,
                                   vals[missing], name="no result",
                                   marker=dict(color=MISSING_COLOR, size=4, opacity=0.5),
                                   unselected=dict(marker=dict(opacity=0.25))):
                fig.add_trace(t)
        ok = ~missing
        v = vals[ok].astype(np.float32)
        marker = dict(color=v, colorscale="Viridis", size=5 if len(shown) > 3000 else 7, opacity=0.8,
                      colorbar=dict(title=dict(text=color_label, side="right"), thickness=14),
                      showscale=bool(ok.any()))
        if ok.any():
            marker.update(cmin=float(v.min()), cmax=float(v.max()))
        for t in _hover_traces(go, pts[ok], shown[ok], labels[ok], columns, color_label, vals[ok],
                               name=color_label, marker=marker, unselected=UNSELECTED):
            fig.add_trace(t)
    else:
        (x0, x1), (y0, y1) = window if window is not None else (
            (float(pts[:, 0].min()), float(pts[:, 0].max())), (float(pts[:, 1].min()), float(pts[:, 1].max())))
        ex = np.linspace(x0, x1 if x1 > x0 else x0 + 1e-6, bins + 1)
        ey = np.linspace(y0, y1 if y1 > y0 else y0 + 1e-6, bins + 1)
        if focus is not None:  # bins are coloured by their focus cells only; the others count towards grey
            vals = np.where(np.asarray(focus, dtype=bool)[shown], vals, np.nan)
        count, n_val, s_val = _binned(pts, vals, ex, ey)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n_val > 0, s_val / n_val, np.nan)
        # cells in bins without any value are shaded grey by count (log), valued bins by mean colour
        grey = np.where((count > 0) & (n_val == 0), np.log10(np.maximum(count, 1)), np.nan)
        cx, cy = (ex[:-1] + ex[1:]) / 2, (ey[:-1] + ey[1:]) / 2
        if np.isfinite(grey).any():
            # hover text, not customdata: customdata of a picked point is read as a cell index
            text = np.where(count.T > 0, count.T.astype(np.int64).astype(str), "")
            what = "none selected with a result" if focus is not None else "no results"
            fig.add_trace(go.Heatmap(x=cx, y=cy, z=grey.T, colorscale=[[0, "#eeeeee"], [1, "#8c8c8c"]],
                                     showscale=False, text=text,
                                     name="other cells" if focus is not None else "cells without results",
                                     hovertemplate=f"x %{{x:.3g}}, y %{{y:.3g}}<br>%{{text}} cells, {what}"
                                                   "<extra></extra>"))
        text = np.char.add(np.char.add(count.T.astype(np.int64).astype(str),
                                       " cells; mean over " if focus is None else " cells; mean over the "),
                           n_val.T.astype(np.int64).astype(str))
        if focus is not None:
            text = np.char.add(text, " selected")
        fig.add_trace(go.Heatmap(x=cx, y=cy, z=mean.T, colorscale="Viridis", text=text,
                                 colorbar=dict(title=dict(text=f"mean {color_label}", side="right"), thickness=14),
                                 name="density", hovertemplate="x %{x:.3g}, y %{y:.3g}<br>%{text}"
                                 f"<br>mean {color_label}: %{{z:.4g}}<extra></extra>"))
    for t in highlight_traces(xy, highlight, neighbours):
        fig.add_trace(t)
    if focus is not None and mode == "points":
        for t, sp in zip(fig.data, focus_points(trace_cells(fig), focus)):
            if sp is not None:
                t.selectedpoints = sp
    fig.update_layout(title=title, template="plotly_white", height=620, uirevision=uirevision,
                      legend=dict(orientation="h", y=-0.08), margin=dict(l=40, r=20, t=50, b=40),
                      xaxis_title=axis_labels[0], yaxis_title=axis_labels[1])
    if window is not None:
        fig.update_xaxes(range=list(window[0]))
        fig.update_yaxes(range=list(window[1]))
    return fig, mode, shown


def _binned(pts: np.ndarray, vals: np.ndarray, ex: np.ndarray, ey: np.ndarray):
    """(count, number of values, sum of values) per 2-D bin, as ``np.histogram2d`` on equal-width edges
    (the last bin includes its right edge), in one bin-index pass and three ``bincount``s."""
    nx, ny = len(ex) - 1, len(ey) - 1
    ix = np.clip(((pts[:, 0] - ex[0]) / (ex[-1] - ex[0]) * nx).astype(np.int64), 0, nx - 1)
    iy = np.clip(((pts[:, 1] - ey[0]) / (ey[-1] - ey[0]) * ny).astype(np.int64), 0, ny - 1)
    inside = (pts[:, 0] >= ex[0]) & (pts[:, 0] <= ex[-1]) & (pts[:, 1] >= ey[0]) & (pts[:, 1] <= ey[-1])
    flat = (ix * ny + iy)[inside]
    have = ~np.isnan(vals[inside])
    count = np.bincount(flat, minlength=nx * ny).reshape(nx, ny).astype(np.float64)
    n_val = np.bincount(flat[have], minlength=nx * ny).reshape(nx, ny).astype(np.float64)
    s_val = np.bincount(flat[have], weights=vals[inside][have], minlength=nx * ny).reshape(nx, ny)
    return count, n_val, s_val


# -- focus: the cells kept in colour ---------------------------------------------------------
_COST_WORDS = ("params", "flops", "time", "latency")


def lower_is_better(column: str) -> bool:
    """Whether the best cells of ``column`` are its lowest (costs: params, FLOPs, times), not its highest."""
    return any(w in column.lower() for w in _COST_WORDS)


def cost_columns(frame: pd.DataFrame) -> list[str]:
    """The cost columns a Pareto view can put on x: params and FLOPs (NB201 ``params (M)``/``FLOPs (M)``,
    NB101 ``params (M)``/``flops``)."""
    return [c for c in numeric_columns(frame) if "params" in c.lower() or "flops" in c.lower()]


@dataclass(frozen=True)
class TopK:
    """The top ``percent`` % of ranked cells by ``column``: ``mask`` (bool per cell of the space), ``n`` cells
    kept out of ``n_ranked`` (the cells considered that have a value), ``threshold`` the value of the k-th
    best (every cell at least as good is kept, so ties can make ``n`` exceed ``ceil(percent % of
    n_ranked)``)."""

    mask: np.ndarray
    n: int
    n_ranked: int
    k: int
    threshold: float
    percent: float
    column: str
    lower_is_better: bool

    def caption(self) -> str:
        if self.n_ranked == 0:
            return f"Top {self.percent:g} % by {self.column}: no cell considered has a value"
        op = "≤" if self.lower_is_better else "≥"
        return (f"Top {self.percent:g} % by {self.column} ({'lowest' if self.lower_is_better else 'highest'}): "
                f"{self.n:,} of {self.n_ranked:,} cells with a value ({self.column} {op} {self.threshold:.4g})")


def top_k(values, percent: float, among=None, *, column: str = "value", lower: bool | None = None) -> TopK:
    """The best ``percent`` % (0 < percent <= 100) of the cells ``among`` (bool mask, default all) that have a
    value: ``k = ceil(percent / 100 * n_ranked)`` (at least 1) and every cell at least as good as the k-th
    best. ``lower`` (default :func:`lower_is_better` of ``column``): best = lowest."""
    v = np.asarray(values, dtype=np.float64)
    percent = float(percent)
    if not 0 < percent <= 100:
        raise NasvizError(f"top k % must be above 0 and at most 100, got {percent:g}")
    low = lower_is_better(column) if lower is None else bool(lower)
    cand = np.isfinite(v) if among is None else (np.asarray(among, dtype=bool) & np.isfinite(v))
    n_ranked = int(cand.sum())
    if n_ranked == 0:
        return TopK(np.zeros(len(v), dtype=bool), 0, 0, 0, float("nan"), percent, column, low)
    k = max(1, int(np.ceil(percent / 100 * n_ranked - 1e-9)))
    ranked = v[cand]
    if low:
        thr = float(np.partition(ranked, k - 1)[k - 1])
        mask = cand & (v <= thr)
    else:
        thr = float(-np.partition(-ranked, k - 1)[k - 1])
        mask = cand & (v >= thr)
    return TopK(mask, int(mask.sum()), n_ranked, k, thr, percent, column, low)


def focus_mask(n: int, region=None, top: np.ndarray | None = None) -> np.ndarray | None:
    """The cells a map keeps in colour (bool per cell of the space): those of ``region`` (indices) that are
    also in ``top`` (bool mask); either may be None; None when both are (no focus: every cell in colour)."""
    if region is None and top is None:
        return None
    out = np.ones(n, dtype=bool) if top is None else np.asarray(top, dtype=bool).copy()
    if region is not None:
        sel = np.zeros(n, dtype=bool)
        sel[np.asarray(list(region), dtype=np.int64)] = True
        out &= sel
    return out


def trace_cells(fig) -> list[np.ndarray | None]:
    """The cell index of each point of each cell trace of a :func:`map_figure` (its ``customdata`` rows), None
    for the other traces (density bins, the shown cell's star and its neighbours)."""
    out = []
    for t in fig.data:
        cd = getattr(t, "customdata", None)
        arr = None if cd is None else np.asarray(cd)
        out.append(arr[:, 0].astype(np.int64) if arr is not None and arr.ndim == 2 and t.type == "scattergl"
                   else None)
    return out


def focus_points(cells: list[np.ndarray | None], focus: np.ndarray | None) -> list[list[int] | None] | None:
    """Per trace (``cells`` from :func:`trace_cells`), the positions of its focus cells: plotly's
    ``selectedpoints``, drawn in the trace's colours while the rest take its ``unselected`` style (grey).
    None for traces without cells; None altogether when there is no focus (every cell in colour)."""
    if focus is None:
        return None
    focus = np.asarray(focus, dtype=bool)
    return [None if c is None else np.flatnonzero(focus[c]).tolist() for c in cells]


def region_outline(region: dict | None) -> dict | None:
    """The outline of a box or lasso region as a plotly layout shape (dotted), drawn over the map while its
    cells are in focus; None for no region or picked points."""
    if region is None or region.get("kind") not in ("box", "lasso"):
        return None
    style = {"xref": "x", "yref": "y", "line": {"color": "#444444", "width": 1, "dash": "dot"},
             "fillcolor": "rgba(0,0,0,0)", "layer": "above"}
    if region["kind"] == "box":
        (x0, x1), (y0, y1) = region["x"], region["y"]
        return {"type": "rect", "x0": x0, "x1": x1, "y0": y0, "y1": y1, **style}
    path = "M" + "L".join(f"{x:.6g},{y:.6g}" for x, y in region["polygon"]) + "Z"
    return {"type": "path", "path": path, **style}


# -- selections --------------------------------------------------------------------------
def points_in_polygon(xy: np.ndarray, poly) -> np.ndarray:
    """Even-odd rule, vectorised over points."""
    poly = np.asarray(poly, dtype=np.float64)
    x, y = xy[:, 0], xy[:, 1]
    inside = np.zeros(len(xy), dtype=bool)
    for k in range(len(poly)):
        (x1, y1), (x2, y2) = poly[k], poly[(k + 1) % len(poly)]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < xint)
    return inside


def selection_region(selection: dict, xy: np.ndarray, shown: np.ndarray, *, space: str, embedding: str,
                     projection: str) -> dict | None:
    """The region of a plotly selection (``event.selection``: ``box``, ``lasso``, ``points``) over the
    ``shown`` cells; ``None`` when nothing is selected. A box or lasso selects every shown cell inside
    it (also in density mode, where there are no points to pick); otherwise the picked points."""
    shown = np.asarray(shown, dtype=np.int64)
    base = {"space": space, "embedding": embedding, "projection": projection, "dims": [0, 1]}
    box = list(selection.get("box") or [])
    lasso = list(selection.get("lasso") or [])
    pts = xy[shown].astype(np.float64)
    if box:
        b = box[-1]
        xs, ys = [float(v) for v in b["x"]], [float(v) for v in b["y"]]
        x, y = [min(xs), max(xs)], [min(ys), max(ys)]
        inside = (pts[:, 0] >= x[0]) & (pts[:, 0] <= x[1]) & (pts[:, 1] >= y[0]) & (pts[:, 1] <= y[1])
        region = {**base, "kind": "box", "x": x, "y": y}
    elif lasso:
        poly = [[float(a), float(b)] for a, b in zip(lasso[-1]["x"], lasso[-1]["y"])]
        if len(poly) < 3:
            return None
        inside = points_in_polygon(pts, poly)
        region = {**base, "kind": "lasso", "polygon": poly}
    else:
        picked = []
        for p in selection.get("points") or []:
            cell = cell_of(p.get("customdata"))
            if cell is not None:
                picked.append(cell)
        if not picked:
            return None
        region = {**base, "kind": "points"}
        region.pop("dims")
        idx = np.unique(np.asarray(picked, dtype=np.int64))
        region["indices"] = idx.tolist()
        region["n"] = len(idx)
        return region
    idx = np.sort(shown[inside])
    region["indices"] = idx.tolist()
    region["n"] = int(len(idx))
    return region


def box_region(x: tuple[float, float], y: tuple[float, float], xy: np.ndarray, shown: np.ndarray, *, space: str,
               embedding: str, projection: str) -> dict:
    """A typed box as a region (same format as :func:`selection_region`)."""
    return selection_region({"box": [{"x": list(x), "y": list(y)}]}, xy, shown, space=space, embedding=embedding,
                            projection=projection)


def clicked_cell(selection: dict) -> int | None:
    """The index of a clicked point (no box or lasso), else ``None``. A click on overlapping markers
    selects a point of each trace; the one drawn on top (highest ``curve_number``) wins."""
    if selection.get("box") or selection.get("lasso"):
        return None
    pts = [p for p in (selection.get("points") or []) if p.get("customdata") is not None]
    if not pts:
        return None
    top = max(pts, key=lambda p: p.get("curve_number", 0))
    return cell_of(top["customdata"])


def selection_effect(selection: dict, xy: np.ndarray, shown: np.ndarray, *, space: str, embedding: str,
                     projection: str) -> tuple[str, object] | None:
    """What a click or selection on the map does to the page (``selection``: the chart's ``event.selection``).

    ``("cell", index)``: a click on a cell (the point drawn on top, :func:`clicked_cell`);
    ``("region", region)``: a box or lasso (:func:`selection_region`), or ``("region", None)`` when the
    selection was cleared (nothing picked, no box, no lasso); ``None``: a click that picked no cell, such
    as a density bin, which leaves the current cell and selection as they are.
    """
    cell = clicked_cell(selection)
    if cell is not None:
        return "cell", cell
    if not (selection.get("box") or selection.get("lasso")) and (selection.get("points") or []):
        return None  # points were picked, none of them a cell (clicked_cell found no customdata)
    return "region", selection_region(selection, xy, shown, space=space, embedding=embedding,
                                      projection=projection)


def nearest_neighbours(means: np.ndarray, index: int, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` cells closest to ``index`` in latent space (L2 on the means): (indices, distances)."""
    m = np.asarray(means, dtype=np.float32)
    if not 0 <= int(index) < len(m):
        raise NasvizError(f"cell index {index} is out of range 0..{len(m) - 1}")
    d = np.sqrt(((m - m[int(index)]) ** 2).sum(1))
    d[int(index)] = np.inf
    k = min(int(k), len(m) - 1)
    part = np.argpartition(d, k)[:k]
    order = part[np.lexsort((part, d[part]))]
    return order.astype(np.int64), d[order].astype(np.float64)


def selection_frame(frame: pd.DataFrame, indices, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of the selected cells (for the table and its CSV/JSON download)."""
    idx = np.asarray(list(indices), dtype=np.int64)
    if len(idx) == 0:
        return frame.iloc[:0]
    sub = frame.loc[idx]
    return sub if columns is None else sub[[c for c in columns if c in sub.columns]]
