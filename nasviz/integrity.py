"""Integrity of the shipped files: a sha256 manifest checked on load, and value ranges of tables.

``data/SHA256SUMS`` and ``models/SHA256SUMS`` list a sha256 for every shipped table,
embedding file and checkpoint file (the ``sha256sum`` format, so
``cd data && sha256sum -c SHA256SUMS`` checks them too). Every loader of those files calls
:func:`verify` first: a file the manifest lists must have the recorded hash, or loading
stops with a :class:`~nasviz.errors.DataFileError` that names the file. One changed float
in a checkpoint moves most of a latent map's neighbours without any other sign, so the
check is not optional. Files the manifest does not list (a model the user trained into
another folder, an imported table in the user folder) are loaded as they are.

A file is hashed once per process: the result is kept per (path, size, mtime, inode), so
a file replaced on disk is hashed again. ``python tools/update_manifest.py`` rewrites both
manifests after a deliberate retrain or re-embedding (:func:`write_manifest`).

:func:`check_ranges` checks a loaded table's values against what the quantity can be
(accuracies within 0-100, positive sizes, finite embeddings), for the shipped tables and
for imported ones alike.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from nasviz.errors import DataFileError
from nasviz.paths import REPO_ROOT, data_dir, models_dir

MANIFEST = "SHA256SUMS"
#: Files in a checkpoint folder that are not shipped data: training state of a run in progress.
TRAIN_STATE = "train_state.pt"
UPDATE_COMMAND = "python tools/update_manifest.py"

_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_lock = threading.Lock()
_manifests: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}  # manifest path -> (stat key, entries)
_verified: dict[tuple[str, int, int, int], str] = {}  # (path, size, mtime_ns, inode) -> sha256 that matched


def sha256_file(path: Path | str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def roots() -> list[Path]:
    """The folders whose manifests apply: the data and models folders in use and the checkout's own."""
    out: list[Path] = []
    for r in (data_dir(), models_dir(), REPO_ROOT / "data", REPO_ROOT / "models"):
        try:
            r = r.resolve()
        except OSError:
            continue
        if r not in out:
            out.append(r)
    return out


def read_manifest(root: Path | str) -> dict[str, str]:
    """``{relative path: sha256}`` of ``root/SHA256SUMS`` ({} when there is none)."""
    path = Path(root) / MANIFEST
    try:
        st = path.stat()
    except OSError:
        return {}
    key = (st.st_size, st.st_mtime_ns)
    cached = _manifests.get(str(path))
    if cached is not None and cached[0] == key:
        return cached[1]
    entries: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataFileError(f"checksum manifest {path} is unreadable ({e}); restore it from the repository or "
                            f"rebuild it with `{UPDATE_COMMAND}`") from e
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            raise DataFileError(f"checksum manifest {path}, line {n}, is not '<sha256>  <path>'; restore it from "
                                f"the repository or rebuild it with `{UPDATE_COMMAND}`")
        entries[m.group(2)] = m.group(1)
    with _lock:
        _manifests[str(path)] = (key, entries)
    return entries


def _listed(path: Path) -> tuple[Path, str, str] | None:
    """(manifest root, relative path, recorded sha256) when a manifest lists ``path``."""
    for root in roots():
        try:
            rel = path.relative_to(root)
        except ValueError:
            continue
        want = read_manifest(root).get(rel.as_posix())
        if want is not None:
            return root, rel.as_posix(), want
    return None


def verify(path: Path | str) -> None:
    """Raise :class:`DataFileError` when a file a manifest lists differs from its recorded sha256.

    A file no manifest lists, or one that does not exist (the caller reports that), passes.
    """
    try:
        p = Path(path).resolve()
        st = p.stat()
    except OSError:
        return
    key = (str(p), st.st_size, st.st_mtime_ns, st.st_ino)
    listed = _listed(p)
    if listed is None:
        return
    root, rel, want = listed
    if _verified.get(key) == want:
        return
    try:
        got = sha256_file(p)
    except OSError as e:
        raise DataFileError(f"cannot read {p} to check it against {root / MANIFEST} ({e})") from e
    if got != want:
        raise DataFileError(
            f"{p} is not the file the project shipped: its sha256 is {got[:16]}..., {root / MANIFEST} records "
            f"{want[:16]}... for {rel}. The file is damaged or was changed; restore it (e.g. `git checkout -- "
            f"{_display(root, rel)}`), or after a deliberate retrain record the new checksums with "
            f"`{UPDATE_COMMAND}`")
    with _lock:
        _verified[key] = got


def _display(root: Path, rel: str) -> str:
    try:
        return (root / rel).relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(root / rel)


# -- the manifest tool -------------------------------------------------------------------------------
def in_progress(path: Path, root: Path) -> bool:
    """A file of a training run that is not finished: its folder, or one above it, holds ``train_state.pt``."""
    folder = path.parent
    while True:
        if (folder / TRAIN_STATE).exists():
            return True
        if folder == root or folder.parent == folder:
            return False
        folder = folder.parent


def shipped_files(root: Path | str) -> list[Path]:
    """The files of ``root`` a manifest covers: tables, embeddings, checkpoint weights and configs.

    Left out: docs and model cards (``*.md``), hidden and temporary files, ``train_state.pt`` and every
    file of a training run still in progress (see :func:`in_progress`), and the manifest itself.
    """
    root = Path(root).resolve()
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or p.name == MANIFEST or p.suffix == ".md" or p.name == TRAIN_STATE:
            continue
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if in_progress(p, root):
            continue
        out.append(p)
    return out


def build_manifest(root: Path | str) -> dict[str, str]:
    root = Path(root).resolve()
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in shipped_files(root)}


def write_manifest(root: Path | str) -> tuple[Path, dict[str, str]]:
    """Write ``root/SHA256SUMS`` for the files :func:`shipped_files` finds; returns (path, entries)."""
    from nasviz.fileio import atomic_write_bytes

    root = Path(root).resolve()
    entries = build_manifest(root)
    text = "".join(f"{h}  {rel}\n" for rel, h in sorted(entries.items()))
    path = atomic_write_bytes(root / MANIFEST, text)
    with _lock:
        _manifests.pop(str(path), None)
    return path, entries


def check_manifest(root: Path | str) -> list[str]:
    """Problems with ``root``'s manifest: listed files missing or changed (empty when all match)."""
    root = Path(root).resolve()
    problems = []
    for rel, want in sorted(read_manifest(root).items()):
        p = root / rel
        if not p.is_file():
            problems.append(f"{rel}: listed but missing")
        elif sha256_file(p) != want:
            problems.append(f"{rel}: sha256 differs from the manifest")
    return problems


# -- value ranges -------------------------------------------------------------------------------------
def check_ranges(data: Mapping[str, np.ndarray], path: Path | str, what: str,
                 ranges: Iterable[tuple[str, float, float]], remedy: str) -> None:
    """Every array whose name matches a ``(regex, low, high)`` rule is finite and within [low, high].

    The first matching rule applies; arrays that match none are not checked.
    """
    rules = [(re.compile(pat), lo, hi) for pat, lo, hi in ranges]
    for name, values in data.items():
        rule = next(((lo, hi) for rx, lo, hi in rules if rx.fullmatch(name)), None)
        if rule is None:
            continue
        lo, hi = rule
        v = np.asarray(values)
        if v.dtype.kind not in "fiu":
            raise DataFileError(f"{what} {path}: column {name} holds {v.dtype} values, not numbers; {remedy}")
        bad = ~np.isfinite(v) if v.dtype.kind == "f" else np.zeros(v.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            bad |= (v < lo) | (v > hi)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DataFileError(
                f"{what} {path}: column {name} has {int(bad.sum()):,} value(s) outside {lo:g}..{hi:g} or not "
                f"finite (first at row {at[0]}: {v[at].item()!r}); the file is damaged or not what it claims; "
                f"{remedy}")


__all__ = ["MANIFEST", "UPDATE_COMMAND", "verify", "read_manifest", "write_manifest", "build_manifest",
           "check_manifest", "shipped_files", "in_progress", "check_ranges", "sha256_file", "roots"]
