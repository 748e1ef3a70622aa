"""Embedding matrices for the latent strategies: one row per benchmark row, in table order.

``load_embedding(problem, name)`` resolves

* ``"onehot"`` -- the discrete encoding (NB201: one-hot op per edge, 30 dims; NB101:
  upper-triangular adjacency bits + one-hot interior ops, padded to 7 vertices, 36
  dims). Always available; it is the "discrete encoding" arm of arch2vec's comparison.
* ``MODEL`` or ``MODEL:ARRAY`` -- a precomputed file ``<data_dir>/embeddings/MODEL.npz``
  (written by :mod:`nasviz.analysis.embeddings`: ``means`` or ``latent``, and 2-D
  projections ``pca``/``umap``/``tsne``); ``ARRAY`` picks one (default: the means).
  A short name is tried with the space prefix too (``arch2vec`` -> ``nb201-arch2vec``).
  Without a file, a checkpoint folder ``<models_dir>/MODEL`` is run once over every
  cell and cached under ``<user_dir>/embeddings/``.

The matrix must have one row per cell of the problem's table (NB201: the 15,625
cells in official index order). A benchmark that holds results for a sample of its
space (NB101: 30,001 of 423,624 cells) takes an embedding of the whole space too: its
sample's rows are kept (``bench.indices``), so latent strategies search, and decode to,
only cells with a result.
"""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

import numpy as np

from nasviz.errors import DataFileError, NasvizError
from nasviz.integrity import verify


def discrete_encoding(problem) -> np.ndarray:
    if problem.space_name == "nb201":
        ops = np.asarray(problem.space.index_ops, dtype=np.int64)  # (15625, 6)
        out = np.zeros((ops.shape[0], ops.shape[1] * 5), dtype=np.float32)
        for k in range(ops.shape[1]):
            out[np.arange(ops.shape[0]), k * 5 + ops[:, k]] = 1.0
        return out
    if problem.space_name == "nb101":
        return _nb101_encoding(problem)
    raise NasvizError(f"no discrete encoding for space {problem.space_name!r}")


def _nb101_encoding(problem) -> np.ndarray:
    from nasviz.spaces.nb101 import OPS

    iu = np.triu_indices(7, 1)
    rows = []
    for r in range(problem.n_cells):
        c = problem.cell(r)
        m = np.zeros((7, 7), dtype=np.float32)
        a = np.asarray(c.matrix, dtype=np.float32)
        n = a.shape[0]
        # pad as NB101's 7-vertex layout: interior vertices first, output moved to vertex 6
        m[: n - 1, : n - 1] = a[: n - 1, : n - 1]
        m[: n - 1, 6] = a[: n - 1, n - 1]
        ops = np.zeros((5, len(OPS)), dtype=np.float32)
        for j, op in enumerate(c.ops[1:-1]):
            ops[j, OPS.index(op)] = 1.0
        rows.append(np.concatenate([m[iu], ops.ravel()]))
    return np.stack(rows)


_DISCRETE: dict[tuple[str, int], np.ndarray] = {}


def load_embedding(problem, name: str) -> np.ndarray:
    """(n_cells, d) float32 embedding in table order (see the module docstring)."""
    key = str(name).strip()
    if key == "onehot":
        ck = (problem.space_name, problem.n_cells)
        if ck not in _DISCRETE:
            _DISCRETE[ck] = discrete_encoding(problem)
        return _DISCRETE[ck]
    z = _from_files(problem.space_name, key)
    if z is None:
        raise NasvizError(
            f"no embedding {name!r} for space {problem.space_name}: looked for "
            f"{_embedding_dir(problem.space_name) / (key.partition(':')[0] + '.npz')} and a checkpoint folder "
            f"models/{key.partition(':')[0]}; available: {', '.join(available_embeddings(problem.space_name))}"
        )
    rows = getattr(problem.bench, "indices", None)
    if rows is not None and z.ndim == 2 and z.shape[0] != problem.n_cells and z.shape[0] == len(problem.space):
        # an embedding of the whole space (NB101: all 423,624 cells, enumeration order) for a benchmark
        # that holds results for a sample: keep the sample's rows, so a latent strategy retrieves (decodes
        # to) cells that have a result; the others are never proposed
        z = z[np.asarray(rows, dtype=np.int64)]
    if z.ndim != 2 or z.shape[0] != problem.n_cells:
        raise DataFileError(
            f"embedding {name!r} has shape {z.shape}; expected ({problem.n_cells}, d): one row per "
            f"{problem.space_name} cell in table order"
        )
    if not np.isfinite(z).all():
        raise DataFileError(f"embedding {name!r} contains NaN or infinite values")
    return z


def whole_space_embedding(problem, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(z, has_result)`` for a sampled benchmark whose embedding covers the whole space, else None.

    ``z``: (cells of the space, d) float32; ``has_result``: (cells of the space,) bool, True on
    the sample's rows. Latent strategies use it to count the latent points that decode (nearest
    cell of the whole space) to a cell without a result (see :func:`load_embedding`).
    """
    rows = getattr(problem.bench, "indices", None)
    key = str(name).strip()
    if rows is None or key == "onehot":
        return None
    z = _from_files(problem.space_name, key)
    if z is None or z.ndim != 2 or z.shape[0] == problem.n_cells or z.shape[0] != len(problem.space):
        return None
    has = np.zeros(z.shape[0], dtype=bool)
    has[np.asarray(rows, dtype=np.int64)] = True
    return z, has


def _embedding_dir(space: str) -> Path:
    from nasviz.paths import data_dir

    return data_dir() / "embeddings"


def available_embeddings(space: str) -> list[str]:
    names = ["onehot"]
    d = _embedding_dir(space)
    if d.is_dir():
        names += sorted(p.stem for p in d.glob(f"{space}-*.npz"))
    return names


_MEANS_KEYS = ("means", "latent", "embedding", "z", "mu")


@functools.lru_cache(maxsize=16)
def _from_files(space: str, name: str) -> np.ndarray | None:
    model, _, array = name.partition(":")
    candidates = [model] if model.startswith(space + "-") else [model, f"{space}-{model}"]
    d = _embedding_dir(space)
    for m in candidates:
        p = d / f"{m}.npz"
        if p.is_file():
            verify(p)
            try:
                with np.load(p, allow_pickle=False) as f:
                    keys = [array] if array else [k for k in _MEANS_KEYS if k in f.files]
                    if not keys or keys[0] not in f.files:
                        raise DataFileError(f"embedding file {p} has no array {array or 'means'!r}; "
                                            f"it holds {', '.join(f.files)}")
                    return np.asarray(f[keys[0]], dtype=np.float32)
            except (OSError, ValueError, zipfile.BadZipFile) as e:
                raise DataFileError(f"embedding file {p} is unreadable ({e})") from e
    if array:
        return None
    for m in candidates:
        z = _from_checkpoint(space, m)
        if z is not None:
            return z
    return None
def _from_checkpoint(space: str, name: str) -> np.ndarray | None:
    from nasviz.paths import models_dir, user_dir

    folder = models_dir() / name
    if not (folder / "config.json").is_file():
        return None
    cache = user_dir() / "embeddings" / space / f"{name}.npy"
    ckpt = folder / "model.safetensors"
    verify(ckpt)  # the cached means are only as good as the checkpoint they came from
    if cache.is_file() and (not ckpt.exists() or cache.stat().st_mtime >= ckpt.stat().st_mtime):
        return np.load(cache)
    from nasviz.models import load_model
    from nasviz.bench import get_benchmark

    model = load_model(folder, space=space)
    bench = get_benchmark(space)
    cells = list(bench.space.enumerate()) if space == "nb201" else bench.cells()
    z = np.asarray(model.transform(cells), dtype=np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, z)
    tmp.replace(cache)
    return z
