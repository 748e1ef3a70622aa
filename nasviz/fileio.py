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

    def to_file(tmp: str) -> None:
        with open(tmp, "wb") as f:
            write(f)

    return atomic_write_path(path, to_file)


def atomic_write_path(path: Path | str, write: Callable[[str], None]) -> Path:
    """Call ``write(name)`` with a temporary file name beside ``path`` (for writers that want a file name,
    e.g. safetensors' ``save_file``), then rename that file to ``path``; on any error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _mode())
        os.replace(tmp, path)
    except OSError as e:  # e.g. a full disk: name the file the user asked for, not the temporary one
        Path(tmp).unlink(missing_ok=True)
        if e.filename in (None, tmp):
            raise OSError(e.errno, e.strerror or str(e), str(path)) from e
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_train_state(path: Path | str, state: dict) -> Path:
    """A training state (tensors, dicts, lists, numbers) written atomically with ``torch.save``, so a kill
    mid-write keeps the previous epoch's state; read it back with :func:`load_train_state`."""
    import torch

    return atomic_write_path(path, lambda tmp: torch.save(state, tmp))


def load_train_state(path: Path | str, fmt: str, version: int, what: str) -> dict:
    """A training state file written by :func:`save_train_state`, checked: read with ``weights_only=True``
    (nothing in it can run code) and refused with a clear error when missing, corrupt, or of another format
    (``fmt`` / ``version``; ``what`` names the kind of state in the message)."""
    import torch

    from nasviz.errors import DataFileError

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"no training state to resume at {path} (train without --resume first)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, a pickle weights_only refuses, ...
        raise DataFileError(f"training state {path} is corrupt or not a nasviz training state ({e})") from e
    if not isinstance(state, dict) or state.get("format") != fmt or state.get("version") != version:
        raise DataFileError(f"{path} is not a nasviz {what} training state (format {fmt!r} v{version})")
    return state


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


def read_result(path: Path | str, *, script: str) -> dict | None:
    """A stored benchmark result (the JSON ``benchmarks/<script>`` writes): None when the file is absent, a
    :class:`~nasviz.errors.DataFileError` naming the script to rerun when it is not readable JSON."""
    from nasviz.errors import DataFileError

    p = Path(path)
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise DataFileError(f"{p} is not readable JSON ({e}); rerun benchmarks/{script}") from e


def read_npz(path: Path | str, *, what: str, required: tuple[str, ...], not_found: str,
             remedy: str) -> tuple[dict[str, np.ndarray], dict]:
    """Load a nasviz ``.npz`` table: every array read-only, ``meta`` parsed from JSON.

    Missing, corrupt or incomplete files raise :class:`DataFileError` naming ``what`` and
    the ``remedy``; the file is opened with ``allow_pickle=False``. A file a checksum manifest
    lists must match it (:func:`nasviz.integrity.verify`).
    """
    import zipfile

    from nasviz.errors import DataFileError
    from nasviz.integrity import verify

    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{what} not found at {path}; {not_found}")
    verify(path)  # a shipped table must be the file the manifest records
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
        raise DataFileError(f"{what} {path} is corrupt or not a nasviz table ({e}); {remedy}") from e
    missing = [c for c in required if c not in data]
    if missing:
        raise DataFileError(f"{what} {path} lacks columns {', '.join(missing)}; {remedy}")
    try:
        meta = json.loads(bytes(data.pop("meta")).decode()) if "meta" in data else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFileError(f"{what} {path} has unreadable metadata ({e}); {remedy}") from e
    for v in data.values():
        v.setflags(write=False)
    return data, meta


def check_writable_dir(folder: Path | str, need_bytes: int = 0) -> Path:
    """Fail early, writing nothing, when ``folder`` could not be created or written to, or (``need_bytes``)
    its file system has less free space than a run will write (a full disk found before hours of training).

    Checks the folder itself when it exists, else its nearest existing parent; raises
    :class:`nasviz.errors.NasvizError` naming the path (a file in the way, no write permission,
    a read-only or pseudo file system such as ``/proc``).
    """
    from nasviz.errors import NasvizError

    folder = Path(folder)
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise NasvizError(f"cannot write to {folder}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise NasvizError(f"cannot write to {folder}: {probe} is not writable")
    try:
        st = os.statvfs(probe)
    except OSError as e:
        raise NasvizError(f"cannot write to {folder}: {e.strerror or e}") from e
    if st.f_flag & os.ST_RDONLY:
        raise NasvizError(f"cannot write to {folder}: {probe} is on a read-only file system")
    if str(probe.resolve()).startswith(("/proc", "/sys")):
        raise NasvizError(f"cannot write to {folder}: {probe} is a kernel pseudo file system")
    free = st.f_bavail * st.f_frsize
    if need_bytes and free < need_bytes:
        raise NasvizError(f"cannot write to {folder}: its file system has {free / 2**20:.1f} MiB free and this run "
                          f"writes up to {need_bytes / 2**20:.0f} MiB (the disk is full or nearly so)")
    return folder


def check_writable_file(path: Path | str, suffixes: tuple[str, ...] = ()) -> Path:
    """Fail early, writing nothing, when a file could not be written at ``path``: a folder there, an unknown
    suffix (``suffixes``, lower case with the dot, when given), or a folder we cannot create or write."""
    from nasviz.errors import NasvizError

    path = Path(path)
    if path.is_dir():
        raise NasvizError(f"cannot write {path}: it is a folder; give a file name"
                          + (f" ending in {' or '.join(suffixes)}" if suffixes else ""))
    if suffixes and path.suffix.lower() not in suffixes:
        raise NasvizError(f"cannot write {path}: unknown file type {path.suffix or '(none)'!r}; accepted: "
                          f"{', '.join(suffixes)}")
    check_writable_dir(path.parent)
    return path
