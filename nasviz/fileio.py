"""Atomic file writes: a temporary file beside the target, renamed into place.

A reader never sees a half-written table, checkpoint or result, and a failure (or a
kill) mid-write leaves the previous file, if any, untouched. Files get ordinary
0644-minus-umask permissions (``mkstemp`` alone would make them 0600).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Mapping

import numpy as np


def _mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o644 & ~umask


def atomic_write(path: Path | str, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a binary temporary file, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, _mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_path(path: Path | str, write: Callable[[str], None]) -> Path:
    """Like :func:`atomic_write` for writers that want a file name (e.g. safetensors' ``save_file``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path | str, data: bytes | str) -> Path:
    raw = data.encode() if isinstance(data, str) else data
    return atomic_write(path, lambda f: f.write(raw))


def meta_array(meta: Mapping) -> np.ndarray:
    """JSON metadata as a uint8 array, so an npz holds it without pickling."""
    return np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)


def atomic_savez(path: Path | str, arrays: Mapping[str, np.ndarray], *, compressed: bool = True) -> Path:
    """Write an ``.npz`` atomically (``compressed=False`` for data that does not compress)."""
    save = np.savez_compressed if compressed else np.savez
    return atomic_write(path, lambda f: save(f, **arrays))
