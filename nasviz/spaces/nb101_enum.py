"""Enumerate the whole NAS-Bench-101 space offline, and store / load the result.

The official generator (``nasbench/scripts/generate_graphs.py``) hashes every
upper-triangular matrix with every labeling. nasviz gets the same 423,624 cells
with about a third of the hashing:

1. for each vertex count n = 2..7, all ``2**(n(n-1)/2)`` bit masks are screened at
   once with numpy: at most 9 edges and every vertex on an input -> output path
   (every non-output vertex has an out-edge, every non-input vertex an in-edge);
2. the survivors are grouped into unlabeled topologies up to isomorphism (input and
   output fixed): the canonical code of a matrix is the smallest n*n-bit code over
   all ``(n-2)!`` relabelings of the interior vertices, computed as one integer
   matrix product per vertex count;
3. each topology is represented by its smallest bit mask (the one the official
   generator meets first), and its automorphism group is read off the same codes;
4. labelings are enumerated modulo the automorphisms (a labeling is kept when it is
   the smallest in ``itertools.product`` order of its orbit), so every isomorphism
   class of labeled cells is produced exactly once, already as the official
   representative (smallest bit mask, then smallest labeling);
5. only those representatives are hashed (optionally on several processes).

The number of isomorphism classes must equal the number of distinct hashes (the
hash has no false positives in this space); :func:`enumerate_space` checks it.

Storage (``data/nb101/enumeration.npz``, uncompressed npz, no pickles; 9.3 MB, of
which the incompressible hashes are 6.8 MB), rows sorted by hash:
``n_vertices`` uint8, ``bits`` uint32 (official edge bit mask, bit ``x + y(y-1)/2``
is edge ``x -> y``), ``labels`` uint8 (interior ops as base-3 digits, first interior
vertex most significant, digit = index into ``OPS``), ``hash`` uint8 (N, 16) (the
module hash as bytes), ``meta`` (JSON as uint8).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from nasviz.fileio import atomic_savez, meta_array
from nasviz.errors import DataFileError, NasvizError
from nasviz.integrity import check_ranges, verify
from nasviz.paths import data_dir
from nasviz.spaces.nb101 import INPUT, MAX_EDGES, MAX_VERTICES, OPS, OUTPUT, NB101Cell, edge_bit

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: Official count of unique cells (NB101 paper, README of google-research/nasbench).
OFFICIAL_TOTAL = 423_624


def enumeration_path() -> Path:
    return data_dir() / "nb101" / "enumeration.npz"


# -- the enumeration ------------------------------------------------------------------
def _pairs(n: int) -> list[tuple[int, int]]:
    """Edges (x, y) in official bit order: bit k is pairs[k]."""
    out = [(0, 0)] * (n * (n - 1) // 2)
    for y in range(n):
        for x in range(y):
            out[edge_bit(x, y)] = (x, y)
    return out


def full_dag_masks(n: int, max_edges: int = MAX_EDGES) -> np.ndarray:
    """All bit masks of n-vertex upper-triangular matrices with <= max_edges edges and
    every vertex on an input -> output path (official ``is_full_dag``), ascending."""
    pairs = _pairs(n)
    m = len(pairs)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    masks = np.arange(1 << m, dtype=np.int64)
    bitset = ((masks[:, None] >> np.arange(m, dtype=np.int64)) & 1).astype(bool)  # (2**m, m)
    ok = bitset.sum(axis=1) <= max_edges
    for v in range(n):
        if v < n - 1:  # needs an out-edge
            ok &= bitset[:, [k for k, (x, _) in enumerate(pairs) if x == v]].any(axis=1)
        if v > 0:  # needs an in-edge
            ok &= bitset[:, [k for k, (_, y) in enumerate(pairs) if y == v]].any(axis=1)
    return masks[ok]


def _interior_perms(n: int) -> np.ndarray:
    """(P, n) array; row p maps vertex v to position p[v]; input/output fixed; row 0 = identity."""
    return np.array([(0, *p, n - 1) for p in itertools.permutations(range(1, n - 1))], dtype=np.int64)


@dataclass
class _Topology:
    n: int
    bits: int
    edges: list[tuple[int, int]]
    labelings: np.ndarray  # (K, n-2) orbit representatives, product order


def topologies(n: int, max_edges: int = MAX_EDGES) -> tuple[list[_Topology], int]:
    """Topologies up to isomorphism with their labelings modulo automorphisms; also returns
    the number of full-DAG bit masks screened in."""
    masks = full_dag_masks(n, max_edges)
    if n == 2:
        return [_Topology(2, int(masks[0]), [(0, 1)], np.zeros((1, 0), dtype=np.int64))], len(masks)
    pairs = _pairs(n)
    m = len(pairs)
    bitset = ((masks[:, None] >> np.arange(m, dtype=np.int64)) & 1).astype(np.int64)  # (M, m)
    perms = _interior_perms(n)  # (P, n)
    src = np.array([x for x, _ in pairs])
    dst = np.array([y for _, y in pairs])
    weights = np.left_shift(1, perms[:, src] * n + perms[:, dst]).astype(np.int64)  # (P, m)
    codes = bitset @ weights.T  # (M, P): code of the matrix relabeled by each perm
    canon = codes.min(axis=1)
    _, first = np.unique(canon, return_index=True)  # masks ascend, so first = smallest mask
    first.sort()
    n_int = n - 2
    labelings = np.array(list(itertools.product(range(len(OPS)), repeat=n_int)), dtype=np.int64)
    place = len(OPS) ** np.arange(n_int - 1, -1, -1, dtype=np.int64)
    lab_codes = labelings @ place  # product order == ascending code
    out = []
    for row in first:
        aut = np.flatnonzero(codes[row] == codes[row, 0])
        best = lab_codes.copy()
        for a in aut[1:]:
            p = perms[a]
            inv = np.empty(n_int, dtype=np.int64)
            inv[p[1:-1] - 1] = np.arange(n_int)  # new position j holds old interior vertex inv[j]
            best = np.minimum(best, labelings[:, inv] @ place)
        keep = labelings[best == lab_codes]
        mask = int(masks[row])
        edges = [pairs[k] for k in range(m) if (mask >> k) & 1]
        out.append(_Topology(n, mask, edges, keep))
    return out, len(masks)


def _hash_topology(args: tuple[int, list[tuple[int, int]], np.ndarray]) -> list[bytes]:
    """Module hashes of one topology under each labeling (same algorithm as ``hash_module``,
    with the neighbour lists built once)."""
    n, edges, labelings = args
    ins: list[list[int]] = [[] for _ in range(n)]
    outs: list[list[int]] = [[] for _ in range(n)]
    for x, y in edges:
        outs[x].append(y)
        ins[y].append(x)
    md5 = hashlib.md5
    res = []
    for lab in labelings.tolist():
        labels = [-1, *lab, -2]
        h = [md5(str((len(outs[v]), len(ins[v]), labels[v])).encode()).hexdigest() for v in range(n)]
        for _ in range(n):
            h = [
                md5(("".join(sorted([h[w] for w in ins[v]])) + "|" + "".join(sorted([h[w] for w in outs[v]]))
                     + "|" + h[v]).encode()).hexdigest()
                for v in range(n)
            ]
        res.append(md5(str(sorted(h)).encode()).digest())
    return res


@dataclass
class EnumerationResult:
    n_vertices: np.ndarray
    bits: np.ndarray
    labels: np.ndarray
    hashes: np.ndarray  # (N, 16) uint8
    meta: dict = field(default_factory=dict)


def enumerate_space(
    vertices: Iterable[int] = range(2, MAX_VERTICES + 1),
    max_edges: int = MAX_EDGES,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> EnumerationResult:
    """Enumerate every NB101 cell with the given vertex counts (see module doc).

    ``progress(done, total)`` is called as labeled cells are hashed. Rows come back
    sorted by hash. Raises :class:`NasvizError` if two non-isomorphic cells share a hash.
    """
    t0 = time.perf_counter()
    vs = sorted(set(int(v) for v in vertices))
    if not vs or vs[0] < 2 or vs[-1] > MAX_VERTICES:
        raise NasvizError(f"vertex counts must lie in 2..{MAX_VERTICES}; got {vs}")
    jobs: list[tuple[int, list[tuple[int, int]], np.ndarray]] = []
    topo_counts: dict[str, int] = {}
    mask_counts: dict[str, int] = {}
    for n in vs:
        topos, n_masks = topologies(n, max_edges)
        topo_counts[str(n)] = len(topos)
        mask_counts[str(n)] = n_masks
        jobs.extend((t.n, t.edges, t.labelings) for t in topos)
    t_topo = time.perf_counter() - t0
    total = sum(len(j[2]) for j in jobs)
    log.info("NB101 enumeration: %d topologies, %d labeled classes to hash (%.1f s)", len(jobs), total, t_topo)
    done = 0
    results: list[list[bytes]] = []
    if workers > 1 and len(jobs) > 64:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        with ctx.Pool(workers) as pool:
            for res in pool.imap(_hash_topology, jobs, chunksize=16):
                results.append(res)
                done += len(res)
                if progress:
                    progress(done, total)
    else:
        for job in jobs:
            res = _hash_topology(job)
            results.append(res)
            done += len(res)
            if progress:
                progress(done, total)
    n_arr = np.concatenate([np.full(len(j[2]), j[0], dtype=np.uint8) for j in jobs])
    bits_arr = np.concatenate([np.full(len(j[2]), _mask_of(j[0], j[1]), dtype=np.uint32) for j in jobs])
    lab_arr = np.concatenate([_label_codes(j[2]) for j in jobs]).astype(np.uint8)
    hashes = np.frombuffer(b"".join(b for r in results for b in r), dtype=np.uint8).reshape(-1, 16)
    keys = hashes.view("S16").ravel()
    order = np.argsort(keys, kind="stable")
    keys_sorted = keys[order]
    dupes = int((keys_sorted[1:] == keys_sorted[:-1]).sum())
    if dupes:
        raise NasvizError(f"{dupes} pairs of non-isomorphic NB101 cells share a module hash; enumeration is wrong")
    seconds = time.perf_counter() - t0
    counts = {str(n): int((n_arr == n).sum()) for n in vs}
    meta = {
        "format_version": FORMAT_VERSION,
        "what": "every NAS-Bench-101 cell up to isomorphism (official representatives), sorted by module hash",
        "vertices": vs,
        "max_edges": max_edges,
        "cells": int(len(n_arr)),
        "cells_per_vertex_count": counts,
        "topologies_per_vertex_count": topo_counts,
        "full_dag_masks_per_vertex_count": mask_counts,
        "hash_collisions": dupes,
        "seconds": round(seconds, 2),
        "seconds_topologies": round(t_topo, 2),
        "workers": workers,
        "cpu_count": os.cpu_count(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "nasviz enumerate nb101",
    }
    log.info("NB101 enumeration done: %d cells in %.1f s", len(n_arr), seconds)
    return EnumerationResult(n_arr[order], bits_arr[order], lab_arr[order], np.ascontiguousarray(hashes[order]), meta)


def _mask_of(n: int, edges: list[tuple[int, int]]) -> int:
    b = 0
    for x, y in edges:
        b |= 1 << edge_bit(x, y)
    return b


def _label_codes(labelings: np.ndarray) -> np.ndarray:
    k = labelings.shape[1]
    if k == 0:
        return np.zeros(len(labelings), dtype=np.int64)
    return labelings @ (len(OPS) ** np.arange(k - 1, -1, -1, dtype=np.int64))


# -- storage --------------------------------------------------------------------------
def write_enumeration(path: Path | str, result: EnumerationResult) -> Path:
    """Write atomically (temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "n_vertices": np.asarray(result.n_vertices, dtype=np.uint8),
        "bits": np.asarray(result.bits, dtype=np.uint32),
        "labels": np.asarray(result.labels, dtype=np.uint8),
        "hash": np.asarray(result.hashes, dtype=np.uint8).reshape(-1, 16),
        "meta": meta_array(result.meta),
    }
    # uncompressed: the hashes do not compress, and loading is 10x faster
    return atomic_savez(path, arrays, compressed=False)


class Enumeration:
    """The stored enumeration: hash lookup (binary search) and cell decoding."""

    def __init__(self, n_vertices, bits, labels, hashes, meta: dict | None = None, path: Path | None = None) -> None:
        self.n_vertices = np.asarray(n_vertices, dtype=np.uint8)
        self.bits = np.asarray(bits, dtype=np.uint32)
        self.labels = np.asarray(labels, dtype=np.uint8)
        self.hashes = np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, 16)
        self.meta = meta or {}
        self.path = path
        self._keys = self.hashes.view("S16").ravel()
        for a in (self.n_vertices, self.bits, self.labels, self.hashes):
            a.setflags(write=False)
        if not (len(self.n_vertices) == len(self.bits) == len(self.labels) == len(self.hashes)):
            raise DataFileError("NB101 enumeration arrays have different lengths")

    @classmethod
    def from_result(cls, r: EnumerationResult) -> "Enumeration":
        return cls(r.n_vertices, r.bits, r.labels, r.hashes, r.meta)

    def __len__(self) -> int:
        return len(self.bits)

    def hash_hex(self, i: int) -> str:
        return self.hashes[i].tobytes().hex()

    def hex_hashes(self) -> list[str]:
        """All hashes as hex text, in index order."""
        raw = self.hashes.tobytes()
        return [raw[k:k + 16].hex() for k in range(0, len(raw), 16)]

    def find(self, module_hash: str) -> int:
        try:
            raw = bytes.fromhex(str(module_hash).strip())
        except ValueError:
            return -1
        if len(raw) != 16:
            return -1
        key = np.frombuffer(raw, dtype="S16")
        i = int(np.searchsorted(self._keys, key[0]))
        return i if i < len(self._keys) and self._keys[i] == key[0] else -1

    def find_many(self, hashes: np.ndarray) -> np.ndarray:
        """Indices of many hashes given as (M, 16) uint8 (or hex strings); -1 where absent."""
        arr = np.asarray(hashes)
        if arr.dtype.kind in "UO":
            arr = np.frombuffer(b"".join(bytes.fromhex(h) for h in arr.tolist()), dtype=np.uint8).reshape(-1, 16)
        keys = np.ascontiguousarray(arr, dtype=np.uint8).reshape(-1, 16).view("S16").ravel()
        idx = np.searchsorted(self._keys, keys)
        idx_c = np.minimum(idx, len(self._keys) - 1)
        found = self._keys[idx_c] == keys
        return np.where(found, idx_c, -1).astype(np.int64)

    def cell(self, i: int) -> NB101Cell:
        n = int(self.n_vertices[i])
        bits = int(self.bits[i])
        code = int(self.labels[i])
        labs = []
        for _ in range(n - 2):
            labs.append(code % len(OPS))
            code //= len(OPS)
        labs.reverse()
        m = tuple(tuple(1 if (y > x and (bits >> edge_bit(x, y)) & 1) else 0 for y in range(n)) for x in range(n))
        c = NB101Cell._trusted(m, (INPUT, *(OPS[k] for k in labs), OUTPUT))
        object.__setattr__(c, "_fingerprint", self.hash_hex(i))
        return c

    def counts(self) -> dict[int, int]:
        v, c = np.unique(self.n_vertices, return_counts=True)
        return {int(a): int(b) for a, b in zip(v, c)}


def load_enumeration(path: Path | str | None = None) -> Enumeration:
    p = Path(path) if path is not None else enumeration_path()
    if not p.exists():
        raise DataFileError(
            f"NB101 enumeration not found at {p}; it ships in the repository's data/nb101/ "
            "(regenerate it with `nasviz enumerate nb101`, or set NASVIZ_DATA_DIR)"
        )
    verify(p)
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataFileError(f"NB101 enumeration {p} is corrupt or not a nasviz file ({e}); regenerate it") from e
    missing = [k for k in ("n_vertices", "bits", "labels", "hash") if k not in data]
    if missing:
        raise DataFileError(f"NB101 enumeration {p} lacks arrays {', '.join(missing)}; regenerate it")
    try:
        meta = json.loads(bytes(data["meta"]).decode()) if "meta" in data else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFileError(f"NB101 enumeration {p} has unreadable metadata ({e})") from e
    check_ranges(data, p, "NB101 enumeration", (("n_vertices", 2, MAX_VERTICES),), "regenerate it")
    return Enumeration(data["n_vertices"], data["bits"], data["labels"], data["hash"], meta, p)

