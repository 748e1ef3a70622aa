"""User-given regions of a latent space or of a 2-D projection (for region search).

A region file is JSON, one of::

    {"kind": "box", "embedding": "onehot", "dims": [0, 1], "x": [lo, hi], "y": [lo, hi]}
    {"kind": "lasso", "embedding": "arch2vec", "dims": [0, 1], "polygon": [[x, y], [x, y], [x, y], ...]}
    {"kind": "intervals", "embedding": "arch2vec", "intervals": {"3": [lo, hi], "7": [lo, hi]}}
    {"kind": "points", "indices": [cell indices]}

The app's latent map (:func:`nasviz.viz.maps.selection_region`) writes the same
format with ``"embedding": "nb201-arch2vec", "projection": "pca"``: the shape is then
drawn in that 2-D projection (``MODEL:pca`` in :mod:`nasviz.search.embeddings`).

``embedding`` names a matrix with one row per cell (see
:mod:`nasviz.search.embeddings`; a 2-D projection stored there works the same way,
with ``dims`` [0, 1]); ``dims`` picks the two columns the box/lasso is drawn in.
:func:`region_mask` gives the cells inside; a region with no cell is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nasviz.errors import NasvizError

KINDS = ("box", "lasso", "intervals", "points")
_FORMAT = ('a region is a JSON object: {"kind": "box", "embedding": NAME, "dims": [i, j], "x": [lo, hi], '
           '"y": [lo, hi]} or {"kind": "lasso", ..., "polygon": [[x, y], ...]} or {"kind": "intervals", '
           '"embedding": NAME, "intervals": {"dim": [lo, hi]}}')


def _pair(v, what: str) -> list[float]:
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise NasvizError(f"region {what} must be [lo, hi]; got {v!r}")
    try:
        lo, hi = float(v[0]), float(v[1])
    except (TypeError, ValueError):
        raise NasvizError(f"region {what} must be two numbers; got {v!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise NasvizError(f"region {what} must be finite with lo <= hi; got {v!r}")
    return [lo, hi]


def parse_region(obj) -> dict:
    """A normalised region dict, or a NasvizError naming what is malformed."""
    if not isinstance(obj, dict):
        raise NasvizError(f"malformed region: {_FORMAT}")
    kind = obj.get("kind")
    if kind not in KINDS:
        raise NasvizError(f"region kind must be one of {', '.join(KINDS)}; got {kind!r}. {_FORMAT}")
    emb = obj.get("embedding", "onehot")
    if not isinstance(emb, str) or not emb:
        raise NasvizError(f"region embedding must be a name; got {emb!r}")
    out: dict = {"kind": kind, "embedding": emb}
    proj = obj.get("projection")
    if proj is not None:
        if not isinstance(proj, str) or not proj or ":" in proj:
            raise NasvizError(f"region projection must be a name such as 'pca'; got {proj!r}")
        out["projection"] = proj
    if kind == "points":
        idx = obj.get("indices")
        if not isinstance(idx, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in idx):
            raise NasvizError(f'a points region needs "indices": a list of cell indices; got {idx!r}')
        out["indices"] = sorted({int(i) for i in idx})
        return out
    if kind in ("box", "lasso"):
        dims = obj.get("dims", [0, 1])
        if (not isinstance(dims, (list, tuple)) or len(dims) != 2
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims) or dims[0] == dims[1]):
            raise NasvizError(f"region dims must be two different column numbers >= 0; got {dims!r}")
        out["dims"] = [int(dims[0]), int(dims[1])]
    if kind == "box":
        out["x"] = _pair(obj.get("x"), "x")
        out["y"] = _pair(obj.get("y"), "y")
    elif kind == "lasso":
        poly = obj.get("polygon")
        if not isinstance(poly, (list, tuple)) or len(poly) < 3:
            raise NasvizError(f"a lasso region needs a polygon of at least 3 [x, y] points; got {poly!r}")
        pts = []
        for p in poly:
            if not isinstance(p, (list, tuple)) or len(p) != 2:
                raise NasvizError(f"lasso polygon points must be [x, y]; got {p!r}")
            try:
                x, y = float(p[0]), float(p[1])
            except (TypeError, ValueError):
                raise NasvizError(f"lasso polygon points must be numbers; got {p!r}") from None
            if not (np.isfinite(x) and np.isfinite(y)):
                raise NasvizError(f"lasso polygon points must be finite; got {p!r}")
            pts.append([x, y])
        out["polygon"] = pts
    elif kind == "intervals":
        iv = obj.get("intervals")
        if not isinstance(iv, dict) or not iv:
            raise NasvizError('an intervals region needs "intervals": {"dim": [lo, hi], ...} with at least one dim')
        norm = {}
        for k, v in iv.items():
            try:
                d = int(k)
            except (TypeError, ValueError):
                raise NasvizError(f"interval keys must be latent dimension numbers; got {k!r}") from None
            if d < 0:
                raise NasvizError(f"latent dimension must be >= 0; got {d}")
            norm[str(d)] = _pair(v, f"interval for dim {d}")
        out["intervals"] = norm
    return out


def load_region(source, space: str | None = None) -> dict:
    """Read a region from a dict, a JSON string or a file path."""
    if isinstance(source, dict):
        return parse_region(source)
    p = Path(str(source))
    try:
        is_file = p.exists()
    except OSError:  # e.g. a long JSON string is no possible file name (ENAMETOOLONG): read it as JSON below
        is_file = False
    if is_file:
        try:
            obj = json.loads(p.read_text())
        except (OSError, UnicodeDecodeError) as e:
            raise NasvizError(f"cannot read region file {p}: {e}") from e
        except json.JSONDecodeError as e:
            raise NasvizError(f"malformed region file {p}: not JSON ({e.msg} at line {e.lineno}). {_FORMAT}") from e
        return parse_region(obj)
    if isinstance(source, str) and source.lstrip().startswith("{"):
        try:
            return parse_region(json.loads(source))
        except json.JSONDecodeError as e:
            raise NasvizError(f"malformed region JSON ({e.msg}). {_FORMAT}") from e
    raise NasvizError(f"region file {source} does not exist")


def _points_in_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorised over points."""
    x, y = xy[:, 0], xy[:, 1]
    inside = np.zeros(len(xy), dtype=bool)
    n = len(poly)
    for k in range(n):
        x1, y1 = poly[k]
        x2, y2 = poly[(k + 1) % n]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < xint)
    return inside


def region_mask(region: dict, space: str | None = None, *, problem=None, embedding: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask over the problem's cells (table order); NasvizError if no cell is inside."""
    from nasviz.search.embeddings import load_embedding

    if problem is None:
        from nasviz.search.problem import make_problem

        problem = make_problem(space or "nb201", "cifar10")
    kind = region["kind"]
    if kind == "points":
        idx = np.asarray(region["indices"], dtype=np.int64)
        bad = idx[(idx < 0) | (idx >= problem.n_cells)]
        if len(bad):
            raise NasvizError(f"region cell index {int(bad[0])} is out of range 0..{problem.n_cells - 1}")
        if not len(idx):
            raise NasvizError("the region contains no cell (empty indices)")
        mask = np.zeros(problem.n_cells, dtype=bool)
        mask[idx] = True
        return mask
    name = region["embedding"] + (f":{region['projection']}" if region.get("projection") else "")
    z = load_embedding(problem, name) if embedding is None else embedding
    d = z.shape[1]
    if kind in ("box", "lasso"):
        i, j = region["dims"]
        if max(i, j) >= d:
            raise NasvizError(f"region dims {region['dims']} are out of range: embedding {region['embedding']!r} "
                              f"has {d} dimensions (0..{d - 1})")
        xy = z[:, [i, j]].astype(np.float64)
        if kind == "box":
            (x0, x1), (y0, y1) = region["x"], region["y"]
            mask = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
        else:
            mask = _points_in_polygon(xy, np.asarray(region["polygon"], dtype=np.float64))
    else:
        mask = np.ones(z.shape[0], dtype=bool)
        for k, (lo, hi) in region["intervals"].items():
            k = int(k)
            if k >= d:
                raise NasvizError(f"latent dimension {k} is out of range: embedding {region['embedding']!r} "
                                  f"has {d} dimensions (0..{d - 1})")
            mask &= (z[:, k] >= lo) & (z[:, k] <= hi)
    if not mask.any():
        lo, hi = z.min(axis=0), z.max(axis=0)
        raise NasvizError(
            f"the region contains no cell of {problem.space_name} in embedding {region['embedding']!r} "
            f"(its cells span {np.round(lo[:4], 3).tolist()}..{np.round(hi[:4], 3).tolist()} in the first dims); "
            "draw it where the cells are"
        )
    return mask
