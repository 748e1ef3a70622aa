"""Precomputed latent means and 2-D projections of every cell, for every shipped model.

``data/embeddings/<model>.npz`` holds (NB201: official index order; NB101: enumeration order):

* ``means``: (n_cells, d) latent means (``transform``), float16 unless float16 would merge rows that
  float32 keeps apart, then float32 (``meta["means_dtype"]``); ``meta["means_max_abs_err"]`` records the
  storage rounding error and ``meta["duplicate_rows"]`` how many cells share their stored point with an
  earlier cell (0 for a model that tells every cell apart);
* ``pca``, ``umap``, ``tsne``: (n_cells, 2) float16 projections of the means;
* ``meta``: JSON bytes — model, space, checkpoint hash, method list, seed.

A file is recomputed only when the checkpoint's hash (weights + config, not the card) changed, a
method is missing, or ``force`` is set (caching by input hash, as umap-learn does).
Loading uses ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from nasviz.errors import DataFileError, NasvizError
from nasviz.fileio import atomic_savez
from nasviz.integrity import check_ranges, verify
from nasviz.paths import data_dir, models_dir

log = logging.getLogger(__name__)


_ORDER = {"nb201": "official index order", "nb101": "enumeration order (sorted module hashes)"}


def embeddings_dir() -> Path:
    return data_dir() / "embeddings"


def checkpoint_hash(folder: Path) -> str:
    """Hash of what decides a model's outputs: the weights and config.json without the record of
    how it went (``info``: a latent model's card with metrics and timings; ``training``: a
    controller's timings, hardware and curves). Updating those must not mark the model's
    embeddings stale; retraining or changing a hyper-parameter must."""
    h = hashlib.sha256()
    for name in ("model.safetensors", "config.json"):
        p = Path(folder) / name
        if not p.is_file():
            raise DataFileError(f"model checkpoint {folder} is missing {name}")
        data = p.read_bytes()
        if name == "config.json":
            try:
                doc = json.loads(data)
            except (ValueError, UnicodeDecodeError) as e:
                raise DataFileError(f"{p} is not valid JSON ({e})") from e
            if isinstance(doc, dict):
                doc.pop("info", None)
                doc.pop("training", None)
            data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        h.update(data)
    return h.hexdigest()[:16]


def distinct_rows(a: np.ndarray) -> int:
    """How many distinct rows ``a`` has (exact equality, as the map and the searches compare points)."""
    a = np.ascontiguousarray(a)
    return int(len(np.unique(a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))))))


def storage_means(means: np.ndarray) -> tuple[np.ndarray, int]:
    """``(array to store, distinct float32 rows)``: float16 halves the file, but is used only when it merges no
    points that float32 keeps apart; otherwise float32."""
    means = np.asarray(means, dtype=np.float32)
    half = means.astype(np.float16)
    distinct32 = distinct_rows(means)
    return (half if distinct_rows(half) == distinct32 else means), distinct32


def load_embeddings(model: str, folder: Path | None = None, *, checkpoint: Path | None = None) -> dict:
    """``{"means": float32 (n, d), "pca"/"umap"/"tsne": float32 (n, 2), "meta": dict}`` for one model.
    ``checkpoint``: the model's folder; DataFileError when the file was computed from another version."""
    p = (Path(folder) if folder else embeddings_dir()) / f"{model}.npz"
    if not p.is_file():
        raise DataFileError(f"no precomputed embeddings for model {model!r} at {p}; run `nasviz embed`")
    verify(p)
    try:
        with np.load(p, allow_pickle=False) as z:
            out = {k: (z[k].astype(np.float32) if k != "meta" else z[k]) for k in z.files}
        out["meta"] = json.loads(bytes(out["meta"]).decode())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, UnicodeDecodeError) as e:
        raise DataFileError(f"{p} is corrupt or not a nasviz embeddings file ({e}); run `nasviz embed --force`") from e
    check_ranges({k: v for k, v in out.items() if k != "meta"}, p, "embeddings file",
                 ((r"means_max_abs_err", 0.0, 1.0), (r".*", -np.inf, np.inf)), "run `nasviz embed --force`")
    if checkpoint is not None and out["meta"].get("checkpoint_hash") != checkpoint_hash(checkpoint):
        raise DataFileError(f"{p} was computed from another version of {model}; run `nasviz embed --model {model}`")
    return out


def precompute(models: Sequence[str] | None = None, *, methods: Sequence[str] = ("pca", "umap", "tsne"),
               force: bool = False, seed: int = 0, progress: bool = False, out_dir: Path | None = None,
               models_root: Path | None = None) -> list[dict]:
    """Write ``<out_dir>/<model>.npz`` for each model (default: every folder under ``models/``)."""
    from tqdm.auto import tqdm

    from nasviz.analysis.projections import PROJECTIONS, project, projection_note
    from nasviz.models import load_model
    from nasviz.spaces import get_space

    root = Path(models_root) if models_root else models_dir()
    out_dir = Path(out_dir) if out_dir else embeddings_dir()
    from nasviz.models import shipped_models

    names = list(models) if models else shipped_models(root)
    if not names:
        raise NasvizError(f"no model checkpoints found under {root}; train one with `nasviz train ...`")
    for m in methods:
        if m not in PROJECTIONS:
            raise NasvizError(f"unknown projection {m!r}; accepted: {', '.join(PROJECTIONS)}")
    results = []
    for name in names:
        folder = root / name
        h = checkpoint_hash(folder)
        path = out_dir / f"{name}.npz"
        reuse: dict = {}
        if path.is_file() and not force:
            try:
                old = load_embeddings(name, out_dir)
                if old["meta"].get("checkpoint_hash") == h:
                    if all(m in old for m in methods):
                        results.append({"model": name, "path": str(path), "status": "cached",
                                        "projections": [m for m in PROJECTIONS if m in old]})
                        continue
                    reuse = {m: old[m] for m in PROJECTIONS if m in old}  # same input: keep finished ones
            except DataFileError:
                pass
        model = load_model(folder)
        space = get_space(model.space)
        cells = list(space.enumerate())
        t0 = time.perf_counter()
        means = model.transform(cells)
        stored, distinct32 = storage_means(means)
        arrays = {"means": stored}
        err = float(np.abs(stored.astype(np.float32) - means).max())
        timing = {"means_s": round(time.perf_counter() - t0, 2)}
        done: list[str] = []
        for m in tqdm(list(methods), desc=f"embed {name}", disable=not progress):
            t = time.perf_counter()
            arrays[m] = reuse[m].astype(np.float16) if m in reuse else project(means, m, seed).astype(np.float16)
            timing[f"{m}_s"] = round(time.perf_counter() - t, 1)
            done.append(m)
            meta = {"model": name, "space": model.space, "checkpoint_hash": h, "n_cells": len(cells),
                    "dim": int(means.shape[1]), "order": _ORDER.get(model.space, "space order"), "methods": done,
                    "projection_notes": {k: projection_note(k, len(cells)) for k in done},
                    "seed": seed, "means_dtype": str(stored.dtype), "means_max_abs_err": err,
                    "duplicate_rows": int(len(cells) - distinct32), "seconds": timing}
            arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
            atomic_savez(path, arrays)  # after every projection, so a long run keeps what it finished
        log.info("wrote %s", path)
        results.append({"model": name, "path": str(path), "status": "computed", "projections": list(methods),
                        "seconds": timing})
    return results
