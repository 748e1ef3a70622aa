"""The cell editor's logic: build a cell by hand and see where it lands (no Streamlit here).

``pages/cell_editor.py`` keeps an *editor spec* per space and draws widgets from it:

* NB201: the six edge ops in official-string edge order (:data:`nasviz.spaces.nb201.EDGES`),
  ``["nor_conv_3x3", ...]``; every spec is a valid cell;
* NB101: ``{"matrix": n x n 0/1 rows, "ops": ["input", ..., "output"]}`` with 2..7 vertices,
  upper-triangular as the editor's grid draws it. It may be an *invalid* graph (input not
  connected to the output, more than 9 edges after pruning): :func:`build_cell` then raises the
  space's own one-line :class:`~nasviz.errors.NasvizError` saying what is wrong.

Around the cell:

* :func:`spec_of` / :func:`spec_text` / :func:`spec_from_text` — cell -> spec, spec <-> the URL's
  ``cell`` parameter (NB201 arch string; NB101 compact JSON of the spec as edited, so a copied URL
  reopens the same grid, invalid ones included), and typed input (index, arch string, hash, JSON);
* :func:`resize_nb101` / :func:`mutate` — the vertex-count control and "Mutate" (the space's own
  ``mutate`` with an injected ``numpy.random.Generator``);
* :func:`canonical_form` — NB201 ``unique_str`` and class representative; NB101 module hash and the
  official representative after pruning;
* :func:`cell_vector` — the cell's row of an embedding: the stored row when the embedding covers
  the cell, else encoded on the fly with the embedding's latent model (the discrete encoding is
  computed exactly);
* :func:`place` — the vector on the embedding's 2-D projection: the stored point for a covered
  cell; PCA exactly (the affine map recovered from the stored means and PCA points, :func:`pca_map`);
  UMAP/t-SNE by the rule ``nasviz embed`` itself uses for NB101 cells outside the fitted subset
  (:func:`nasviz.analysis.projections.place_new`: mean position of the ``PLACE_K`` nearest fitted cells);
* :func:`round_trip` — encode -> decode with the latent model and whether the same cell comes back;
* :func:`vector_neighbours` — nearest cells in latent space (L2 on the means, as on the latent map);
* :func:`neighbourhood_region` — the cell and its k nearest neighbours as a search region in the
  format of :mod:`nasviz.viz.maps` (``kind: "points"``), for the dense-sampling page;
* :func:`editor_figure` — every cell at its projected point (density-shaded above
  :data:`nasviz.viz.maps.MAX_POINTS` by :func:`nasviz.viz.maps.map_figure`) with the edited cell as a large
  star and its neighbours ringed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nasviz.errors import NasvizError

SPACES = ("nb201", "nb101")
#: marker of the edited cell on the map
STAR = "#d62728"


def _space_name(space) -> str:
    name = space if isinstance(space, str) else getattr(space, "name", "")
    if name not in SPACES:
        raise NasvizError(f"unknown space {name!r}; accepted: {', '.join(SPACES)}")
    return name


# -- specs --------------------------------------------------------------------------------
def spec_of(space: str, cell) -> Any:
    """The editor spec of a cell (NB101: the spec as given, before pruning, when it fits the editor)."""
    if _space_name(space) == "nb201":
        return list(cell.names)
    from nasviz.spaces.nb101 import MAX_VERTICES

    original = cell.to_dict(original=True)
    return original if len(original["ops"]) <= MAX_VERTICES else cell.to_dict()


def nb101_check_shape(spec) -> dict:
    """A raw NB101 spec the editor can draw: 2..7 vertices, 0/1 upper-triangular matrix, ``input`` first,
    ``output`` last, known interior ops. Returns it normalised (lists of ints); NasvizError otherwise.
    Graph validity (connected, at most 9 edges) is :func:`build_cell`'s."""
    from nasviz.spaces.nb101 import INPUT, MAX_VERTICES, OPS, OUTPUT

    if not isinstance(spec, dict) or "matrix" not in spec or "ops" not in spec:
        raise NasvizError('an NB101 spec is {"matrix": [[0,1,...],...], "ops": ["input", ..., "output"]}')
    ops = spec["ops"]
    if isinstance(ops, str) or not isinstance(ops, Sequence) or not all(isinstance(o, str) for o in ops):
        raise NasvizError("the spec's ops must be a list of op names")
    n = len(ops)
    if not 2 <= n <= MAX_VERTICES:
        raise NasvizError(f"the editor holds 2..{MAX_VERTICES} vertices; this spec has {n}")
    try:
        m = np.asarray(spec["matrix"])
    except (ValueError, TypeError):
        m = np.zeros(0)
    if m.shape != (n, n) or m.dtype.kind not in "biuf" or not np.isin(m, (0, 1)).all():
        raise NasvizError(f"the spec's matrix must be {n} x {n} (one row per op) of 0/1 entries")
    if np.tril(m).any():
        i, j = (int(v) for v in np.argwhere(np.tril(m))[0])
        raise NasvizError(f"adjacency entry ({i},{j}) is 1: edges go only from a lower to a higher vertex")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise NasvizError("the first op must be 'input' and the last 'output'")
    for v, o in enumerate(ops[1:-1], start=1):
        if o not in OPS:
            raise NasvizError(f"unknown op {o!r} on vertex {v}; accepted interior ops: {', '.join(OPS)}")
    return {"matrix": m.astype(np.int64).tolist(), "ops": list(ops)}


def build_cell(space: str, spec):
    """The cell of an editor spec; NasvizError (one line, what is wrong) for an invalid NB101 graph."""
    if _space_name(space) == "nb201":
        from nasviz.spaces.nb201 import NB201Cell

        return NB201Cell.from_names(list(spec))
    from nasviz.spaces.nb101 import NB101Cell

    spec = nb101_check_shape(spec)
    return NB101Cell(spec["matrix"], spec["ops"])


def spec_text(space: str, spec) -> str:
    """The URL's ``cell`` value for a spec: NB201 arch string, NB101 compact JSON of the spec as edited."""
    if _space_name(space) == "nb201":
        return build_cell(space, spec).to_str()
    return json.dumps(nb101_check_shape(spec), separators=(",", ":"))


def spec_from_text(space, text: str) -> Any:
    """A spec from typed text or the URL: an index, an NB201 arch string, an NB101 module hash, or an NB101
    JSON spec (kept as given when the editor can draw it, even when it is not a valid graph)."""
    name = _space_name(space)
    s = str(text).strip()
    if not s:
        raise NasvizError("give a cell: an index, an arch string (NB201), or a module hash / JSON spec (NB101)")
    if name == "nb101" and s.startswith("{"):
        try:
            raw = json.loads(s)
        except (json.JSONDecodeError, TypeError) as e:
            raise NasvizError(f"malformed NB101 spec JSON ({e})") from None
        if isinstance(raw, dict) and "matrix" not in raw and "module_adjacency" in raw:
            raw = {"matrix": raw["module_adjacency"], "ops": raw.get("module_operations")}
        try:
            return nb101_check_shape(raw)
        except NasvizError:
            from nasviz.spaces.nb101 import NB101Cell

            return spec_of(name, NB101Cell.from_dict(raw))  # a valid spec the grid cannot hold as given
    return spec_of(name, space.parse(s) if not isinstance(space, str) else _get(name).parse(s))


def _get(name: str):
    from nasviz.spaces import get_space

    return get_space(name)


def resize_nb101(spec, n: int) -> dict:
    """The spec with ``n`` vertices: interior vertices beyond ``n - 2`` are dropped with their edges, new
    ones (``conv3x3-bn-relu``, no edges) are added before the output; edges into the output stay edges
    into the output."""
    from nasviz.spaces.nb101 import CONV3X3, MAX_VERTICES

    spec = nb101_check_shape(spec)
    n = int(n)
    if not 2 <= n <= MAX_VERTICES:
        raise NasvizError(f"an NB101 cell has 2..{MAX_VERTICES} vertices; got {n}")
    old = len(spec["ops"])
    keep = min(old, n) - 1  # vertices 0 .. keep-1 keep their position (input + interior)
    m = np.zeros((n, n), dtype=np.int64)
    src = np.asarray(spec["matrix"])
    m[:keep, :keep] = src[:keep, :keep]
    m[:keep, n - 1] = src[:keep, old - 1]
    ops = spec["ops"][:keep] + [CONV3X3] * (n - 1 - keep) + ["output"]
    return {"matrix": m.tolist(), "ops": ops}


def compact_nb101(spec) -> dict:
    """The spec without interior vertices that have no edge at all (pruned anyway: the cell is the same)."""
    spec = nb101_check_shape(spec)
    m = np.asarray(spec["matrix"])
    n = len(m)
    keep = [v for v in range(n) if v in (0, n - 1) or m[v].any() or m[:, v].any()]
    return {"matrix": m[np.ix_(keep, keep)].tolist(), "ops": [spec["ops"][v] for v in keep]}


def mutate(space, cell, rng: np.random.Generator) -> Any:
    """The spec of ``space.mutate(cell, rng)``: one random edit (NB201: one edge's op; NB101: one edge or one
    interior op of the 7-vertex padded spec, shown without the padding vertices it left unconnected)."""
    new = space.mutate(cell, rng)
    if space.name == "nb201":
        return spec_of("nb201", new)
    return compact_nb101(spec_of("nb101", new))


# -- what the cell is -----------------------------------------------------------------------
@dataclass(frozen=True)
class Canonical:
    index: int  # official index of the cell (NB101: of its isomorphism class)
    key: str  # NB201 unique_str, NB101 module hash
    representative: str  # NB201 arch string of the class's first cell / NB101 JSON of the official spec
    representative_index: int
    is_representative: bool
    pruned: tuple[int, ...] = ()  # NB101 vertices removed by pruning


def canonical_form(space, cell) -> Canonical:
    if space.name == "nb201":
        rep = cell.canonical()
        return Canonical(int(space.index(cell)), cell.unique_str(), rep.to_str(), int(space.index(rep)), rep == cell)
    index = int(space.index(cell))
    rep = space.cell(index)
    return Canonical(index, cell.hash, rep.to_json(), index, rep == cell and not cell.was_pruned,
                     tuple(cell.pruned_vertices))


def results(frame, index: int, columns: Sequence[str]) -> dict[str, float] | None:
    """The benchmark's values of ``columns`` for a cell (a row of :func:`nasviz.viz.maps.space_frame`);
    ``None`` when it has none (NB101 cells outside the benchmark's 30,001-cell sample)."""
    row = frame.loc[int(index), list(columns)].to_numpy(dtype=np.float64)
    if np.isnan(row).all():
        return None
    return {c: float(v) for c, v in zip(columns, row)}


# -- latent models and embeddings ------------------------------------------------------------
def latent_model_name(source: str, root: Path | None = None) -> str | None:
    """The latent-model checkpoint folder behind a map source (``models/<name>``), or None (the discrete
    encoding, controller hidden states)."""
    from nasviz.paths import models_dir

    cfg = (Path(root) if root else models_dir()) / source / "config.json"
    try:
        doc = json.loads(cfg.read_text())
    except (OSError, ValueError):
        return None
    return source if isinstance(doc, dict) and doc.get("format") == "nasviz-latent-model" else None


def encode(model, cells) -> np.ndarray:
    """(n, d) embedding (latent means) of cells computed now, on one thread."""
    from nasviz.viz.traversal import embeddings

    return embeddings(model, list(cells))


def discrete_vector(space, cell) -> np.ndarray:
    """The cell's row of the discrete (one-hot) encoding, exactly as :func:`nasviz.viz.maps.load_source` builds it."""
    from nasviz.viz import maps

    if space.name == "nb201":
        return maps.nb201_discrete(np.asarray([cell.ops]))[0]
    rep = space.cell(space.index(cell))
    return maps.nb101_discrete(np.asarray([rep.n_vertices]), np.asarray([rep.bits]), np.asarray([_label_code(rep)]))[0]


def _label_code(cell) -> int:
    from nasviz.spaces.nb101 import N_OPS

    code = 0
    for lab in cell.labels:  # first interior vertex most significant (nasviz.viz.maps.nb101_discrete)
        code = code * N_OPS + int(lab)
    return code


def stored_row(src: dict, index: int) -> np.ndarray | None:
    """The stored embedding row of cell ``index`` in a loaded source, or None when it does not cover it."""
    if "cells" not in src:
        return np.asarray(src["means"][int(index)], dtype=np.float32) if 0 <= int(index) < len(src["means"]) else None
    pos = int(np.searchsorted(src["cells"], int(index)))
    if pos < len(src["cells"]) and src["cells"][pos] == int(index):
        return np.asarray(src["means"][pos], dtype=np.float32)
    return None


def cell_vector(src: dict, space, cell, *, model=None, discrete: bool = False) -> tuple[np.ndarray, str]:
    """``(vector, how)``: the stored row when the source covers the cell, else the cell encoded now
    (``model``'s transform, or the discrete encoding); NasvizError when neither is possible."""
    index = int(space.index(cell))
    row = stored_row(src, index)
    if row is not None:
        return row, "stored row"
    if discrete:
        return discrete_vector(space, cell), "discrete encoding computed now"
    if model is not None:
        return encode(model, [cell])[0], "encoded now with the latent model"
    raise NasvizError(f"cell #{index} is not among the cells this embedding covers and it has no model to "
                      "encode it; pick a latent model's embedding (arch2vec, beta-VAE)")


def _rows(src: dict, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(means, 2-D points) row-aligned, for the covered cells."""
    means = np.asarray(src["means"], dtype=np.float32)
    pts = xy[src["cells"]] if "cells" in src else xy
    return means, np.asarray(pts, dtype=np.float64)


def pca_map(src: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """``(W (d, 2), b (2,), max residual)``: the affine map means -> stored PCA points, recovered by least
    squares. PCA is affine in its input, so this is the projection itself (up to the files' float16
    rounding, which the residual measures)."""
    means, pts = _rows(src, src["pca"])
    a = np.hstack([means.astype(np.float64), np.ones((len(means), 1))])
    coef, *_ = np.linalg.lstsq(a, pts, rcond=None)
    resid = float(np.abs(a @ coef - pts).max())
    return coef[:-1], coef[-1], resid


def fit_rows(src: dict, projection: str) -> np.ndarray:
    """Row positions (in ``src["means"]``) of the cells ``projection`` was fitted on (``nasviz embed``:
    a seeded random subset above :data:`~nasviz.analysis.projections.FIT_MAX` /
    :data:`~nasviz.analysis.projections.TSNE_FIT_MAX` cells, else all)."""
    from nasviz.analysis import projections as P

    cap = P.TSNE_FIT_MAX if projection == "tsne" else P.FIT_MAX
    return P.fit_subset_indices(len(src["means"]), int(src["meta"].get("seed", 0)), cap)


@dataclass(frozen=True)
class Placement:
    xy: tuple[float, float]
    how: str  # "stored point", "PCA (exact)" or the nearest-neighbour rule


def place(src: dict, projection: str, vector: np.ndarray, *, index: int | None = None,
          pca: tuple[np.ndarray, np.ndarray, float] | None = None, stored: bool = True) -> Placement:
    """Where ``vector`` lands on ``src[projection]``: the stored point of cell ``index`` when it has one
    (``stored``), else PCA through :func:`pca_map` (``pca``: its result, cached by the caller), else the
    nearest-neighbour rule of :func:`nasviz.analysis.projections.place_new` over the fitted cells."""
    if projection not in src:
        raise NasvizError(f"this embedding has no {projection!r} projection")
    xy = src[projection]
    if stored and index is not None and np.isfinite(xy[int(index)]).all():
        p = xy[int(index)]
        return Placement((float(p[0]), float(p[1])), "stored point")
    v = np.asarray(vector, dtype=np.float64).reshape(1, -1)
    if projection == "pca":
        w, b, _ = pca if pca is not None else pca_map(src)
        p = (v @ w + b)[0]
        return Placement((float(p[0]), float(p[1])),
                         "PCA applied exactly (components recovered from the stored points)")
    from nasviz.analysis.projections import PLACE_K, place_new

    means, pts = _rows(src, xy)
    rows = fit_rows(src, projection)
    p = place_new(means[rows], pts[rows], v.astype(np.float32))[0]
    return Placement((float(p[0]), float(p[1])),
                     f"mean position of its {PLACE_K} nearest fitted cells in latent space (the rule nasviz embed "
                     "uses for cells outside the fitted subset)")


def vector_neighbours(src: dict, vector: np.ndarray, k: int = 8, *, exclude: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` covered cells closest to ``vector`` (L2 on the stored means): (official indices, distances),
    nearest first (ties by index); ``exclude`` (the cell itself) is left out. For a covered cell this is
    :func:`nasviz.viz.maps.source_neighbours`."""
    means = np.asarray(src["means"], dtype=np.float32)
    cells = src["cells"] if "cells" in src else np.arange(len(means))
    d = np.sqrt(((means - np.asarray(vector, dtype=np.float32)) ** 2).sum(1)).astype(np.float64)
    if exclude is not None:
        d[cells == int(exclude)] = np.inf
    k = min(int(k), int(np.isfinite(d).sum()))
    part = np.argpartition(d, k)[:k] if k < len(d) else np.arange(len(d))
    order = part[np.lexsort((cells[part], d[part]))][:k]
    return cells[order].astype(np.int64), d[order]


@dataclass(frozen=True)
class RoundTrip:
    decoded: object  # a cell, or nasviz.models.Invalid
    valid: bool
    index: int | None  # official index of the decoded cell
    same: bool  # decodes back to the same cell (NB101: the same isomorphism class)
    same_class: bool  # NB201: same unique_str class (NB101: == same)
    reason: str = ""


def round_trip(model, space, cell) -> RoundTrip:
    """Encode ``cell`` (its decodable latent mean) and decode it again with ``model``."""
    from nasviz.models import is_valid
    from nasviz.viz.traversal import one_thread

    with one_thread():
        z = np.asarray(model.latent([cell]), dtype=np.float32)
        dec = model.decode(z)[0]
    if not is_valid(dec):
        return RoundTrip(dec, False, None, False, False, getattr(dec, "reason", "invalid"))
    di, ci = int(space.index(dec)), int(space.index(cell))
    same_class = dec.unique_str() == cell.unique_str() if space.name == "nb201" else di == ci
    return RoundTrip(dec, True, di, di == ci, same_class)


def neighbourhood_region(space: str, embedding: str, projection: str, index: int, neighbours) -> dict:
    """The cell and its nearest neighbours as a search region, in the format of :mod:`nasviz.viz.maps`
    (``st.session_state["search_region"]``; what the dense-sampling page reads)."""
    idx = np.unique(np.asarray([int(index), *[int(i) for i in neighbours]], dtype=np.int64))
    return {"space": _space_name(space), "embedding": str(embedding), "projection": str(projection),
            "kind": "points", "indices": idx.tolist(), "n": int(len(idx)), "origin": "editor", "anchor": int(index)}


# -- the map ---------------------------------------------------------------------------------
#: the editor map's picture of every cell: its size in pixels, about twice the plot area of a 620 px tall figure in
#: the page's 1,140 px main column (so the dots stay sharp on a high-density screen), and the dots' diameter there
RASTER_SIZE = (2020, 1060)
RASTER_DOT = 10


def _viridis_lut():
    from plotly.colors import sample_colorscale, unlabel_rgb

    return np.array([unlabel_rgb(c) for c in sample_colorscale("Viridis", list(np.linspace(0, 1, 256)))],
                    dtype=np.float64)


def points_picture(pts: np.ndarray, vals: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float],
                   *, cmin: float, cmax: float, size: tuple[int, int] = RASTER_SIZE, dot: int = RASTER_DOT) -> str:
    """Every point as a dot coloured by its value (Viridis from ``cmin`` to ``cmax``; grey where the value is NaN),
    drawn at 80 % opacity over white as the latent map draws its points, in a transparent PNG whose edges are the
    two ranges; returned as a ``data:`` URI for a Plotly layout image. Kept per input
    (:func:`nasviz.viz.pictures.memo_uri`: the same map is not drawn twice)."""
    from nasviz.viz.pictures import memo_uri

    pts = np.asarray(pts, dtype=np.float64)
    vals = np.asarray(vals, dtype=np.float64)
    return memo_uri([pts, vals, x_range, y_range, cmin, cmax, size, dot],
                    lambda: _draw_points(pts, vals, x_range, y_range, cmin=cmin, cmax=cmax, size=size, dot=dot))


def _draw_points(pts, vals, x_range, y_range, *, cmin: float, cmax: float, size: tuple[int, int], dot: int) -> str:
    from PIL import Image, ImageDraw

    from nasviz.viz.maps import MISSING_COLOR
    from nasviz.viz.pictures import pixels, png_data_uri

    w, h = size
    px, py = pixels(pts[:, 0], pts[:, 1], x_range, y_range, size)
    span = cmax - cmin if cmax > cmin else 1.0
    lut = _viridis_lut()
    grey = np.array([int(MISSING_COLOR[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    rgb = np.where(np.isnan(vals)[:, None], grey,
                   lut[np.clip(np.nan_to_num((vals - cmin) / span * 255), 0, 255).astype(int)])
    rgb = np.rint(0.8 * rgb + 0.2 * 255).astype(int)  # opacity 0.8 over the white plot area
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    r = dot / 2
    order = np.argsort(~np.isnan(vals), kind="stable")  # cells without a value first, under the coloured ones
    for i in order:
        draw.ellipse((px[i] - r, py[i] - r, px[i] + r, py[i] + r), fill=(*rgb[i], 255))
    return png_data_uri(img)


def editor_figure(xy: np.ndarray, values: np.ndarray, shown: np.ndarray, point: tuple[float, float], *,
                  color_label: str, neighbours=None, cell_label: str = "edited cell", title: str = "",
                  axis_labels: tuple[str, str] = ("1", "2"), uirevision: str = "editor",
                  max_points: int | None = None):
    """The map of the ``shown`` cells (official indices) with the edited cell as a large star at ``point`` and
    its ``neighbours`` (official indices) ringed. Returns ``(figure, mode)``.

    Up to ``max_points`` cells (:data:`nasviz.viz.maps.MAX_POINTS`; mode ``"points"``) are one picture
    (:func:`points_picture`): a dot per cell, coloured by ``values`` (grey where there is none), as the latent map
    draws them, behind the star and the rings. A picture, not a WebGL point each: drawing 15,625 WebGL points took
    ~0.7 s of the page's deep link in headless Chromium (its slowest part, BENCHMARKS), and again after every edit;
    a cell of the background is not hovered or clicked here (the latent map page does that). Axes are fixed to the
    picture's ranges. More cells are density-shaded by :func:`nasviz.viz.maps.map_figure`, without its per-bin
    count text (NB201-sized bins of all 423,624 NB101 cells: 1.35 MB with it). The star and the rings are SVG
    points (no WebGL context at all)."""
    import plotly.graph_objects as go

    from nasviz.viz import maps
    from nasviz.viz.pictures import axis_image, padded

    shown = np.asarray(shown, dtype=np.int64)
    cap = maps.MAX_POINTS if max_points is None else int(max_points)
    if len(shown) > cap:
        fig, mode, _ = maps.map_figure(xy, values, shown, color_label=color_label, title=title,
                                       axis_labels=axis_labels, max_points=cap, uirevision=uirevision)
        for t in fig.data:  # no per-bin count text (most of the 1.35 MB NB101 figure): the mean colour only
            if t.type == "heatmap":
                t.text = None
                t.z = np.asarray(t.z, dtype=np.float32)  # sent as a typed array, not nested number lists
                t.hovertemplate = ("x %{x:.3g}, y %{y:.3g}: cells without results<extra></extra>"
                                   if t.name == "cells without results" else
                                   f"x %{{x:.3g}}, y %{{y:.3g}}<br>mean {color_label}: %{{z:.4g}}<extra></extra>")
    else:
        mode = "points"
        fig = go.Figure()
        pts = np.asarray(xy[shown], dtype=np.float64)
        vals = np.asarray(values, dtype=np.float64)[shown]
        ok = ~np.isnan(vals)
        cmin, cmax = (float(vals[ok].min()), float(vals[ok].max())) if ok.any() else (0.0, 1.0)
        every = np.vstack([pts, np.asarray(point, dtype=np.float64)[None]]) if len(pts) else \
            np.asarray(point, dtype=np.float64)[None]
        xr, yr = padded(every[:, 0].min(), every[:, 0].max()), padded(every[:, 1].min(), every[:, 1].max())
        fig.add_layout_image(axis_image(points_picture(pts, vals, xr, yr, cmin=cmin, cmax=cmax), xr, yr),
                             name="every cell")
        if (~ok).any():  # the legend says what the grey dots are
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"no result ({int((~ok).sum()):,})",
                                     marker=dict(color=maps.MISSING_COLOR, size=6), hoverinfo="skip"))
        # the colour scale of the dots (a trace without points: it draws the colour bar only)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{color_label} ({int(ok.sum()):,} cells)",
                                 showlegend=False, hoverinfo="skip",
                                 marker=dict(color=[cmin, cmax], colorscale="Viridis", cmin=cmin, cmax=cmax,
                                             showscale=bool(ok.any()),
                                             colorbar=dict(title=dict(text=color_label, side="right"),
                                                           thickness=14))))
        fig.update_layout(title=title, template="plotly_white", height=620, uirevision=uirevision,
                          legend=dict(orientation="h", y=-0.08), margin=dict(l=40, r=20, t=50, b=40),
                          xaxis_title=axis_labels[0], yaxis_title=axis_labels[1])
        fig.update_xaxes(range=list(xr), showgrid=False, zeroline=False)
        fig.update_yaxes(range=list(yr), showgrid=False, zeroline=False)
    if neighbours is not None and len(neighbours):
        nb = np.asarray(neighbours, dtype=np.int64)
        p = xy[nb]
        fig.add_trace(go.Scatter(x=p[:, 0], y=p[:, 1], mode="markers", name="nearest in latent space",
                                 marker=dict(symbol="circle-open", size=13, color="#ff7f0e", line=dict(width=2)),
                                 customdata=nb, hovertemplate="#%{customdata}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name=cell_label,
                             marker=dict(symbol="star", size=24, color=STAR, line=dict(width=1.5, color="white")),
                             hovertemplate=f"{cell_label}<extra></extra>"))
    return fig, mode
