"""Check the built networks against the benchmarks' own parameter counts.

Used by ``tests/test_nets.py`` (a random subset) and ``benchmarks/bench_nets.py``
(every cell). NB201: the table's ``params`` columns (millions, 6 decimals) for any
official indices. NB101: whatever cells with a spec and an official count are
available: the joined 30,001-cell sample ``data/nb101/nb101_sample.npz`` (specs from
the enumeration), else the 1,000 specs of ``shared/data/nb101_sample.parquet``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from nasviz.integrity import verify
from nasviz.paths import REPO_ROOT, data_dir

#: The raw sample with 1,000 specs (outside the repository, read-only).
SHARED_SAMPLE = REPO_ROOT.parent / "shared" / "data" / "nb101_sample.parquet"
NB201_CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


@dataclass
class ParamCheck:
    """Outcome of comparing built networks with a benchmark's counts."""

    space: str
    source: str
    checked: int = 0
    equal: int = 0
    seconds: float = 0.0
    mismatches: list[dict] = field(default_factory=list)  # the first few, for the report

    def add(self, key, built: int, expected: int, equal: bool) -> None:
        self.checked += 1
        if equal:
            self.equal += 1
        elif len(self.mismatches) < 20:
            self.mismatches.append({"cell": key, "built": int(built), "benchmark": expected})

    @property
    def ok(self) -> bool:
        return self.checked > 0 and self.equal == self.checked


def check_nb201(indices: Iterable[int], dataset: str = "cifar10", bench=None) -> ParamCheck:
    """Build (on the meta device) the network of each official index and compare its
    trainable parameters with the table (``params/1e6`` rounded to 6 decimals)."""
    from nasviz.bench.nb201 import NB201Benchmark
    from nasviz.nets.nb201 import count_params

    bench = bench if bench is not None else NB201Benchmark()
    col = bench.column("params", dataset)
    classes = NB201_CLASSES[dataset]
    out = ParamCheck("nb201", f"{bench.path.name} params column, {dataset}")
    t0 = time.perf_counter()
    for i in indices:
        built = count_params(bench.space.cell(int(i)), classes)
        out.add(int(i), built, float(col[int(i)]), round(built / 1e6, 6) == round(float(col[int(i)]), 6))
    out.seconds = time.perf_counter() - t0
    return out


def check_nb201_datasets(indices: Iterable[int], bench=None,
                         datasets: tuple[str, ...] = tuple(NB201_CLASSES)) -> dict[str, ParamCheck]:
    """:func:`check_nb201` for several datasets with one build per cell: the network is
    built for the first dataset, then its classifier is replaced by one for each other
    dataset's class count (which is exactly the network built for that count)."""
    import torch.nn as nn

    from nasviz.bench.nb201 import NB201Benchmark
    from nasviz.nets.nb201 import build_nb201

    bench = bench if bench is not None else NB201Benchmark()
    cols = {ds: bench.column("params", ds) for ds in datasets}
    out = {ds: ParamCheck("nb201", f"{bench.path.name} params column, {ds}") for ds in datasets}
    t0 = time.perf_counter()
    for i in indices:
        i = int(i)
        net = build_nb201(bench.space.cell(i), NB201_CLASSES[datasets[0]], device="meta")
        for ds in datasets:
            if net.classifier.out_features != NB201_CLASSES[ds]:
                net.classifier = nn.Linear(net.classifier.in_features, NB201_CLASSES[ds], device="meta")
            built = net.num_params()
            expected = float(cols[ds][i])
            out[ds].add(i, built, expected, round(built / 1e6, 6) == round(expected, 6))
    for r in out.values():
        r.seconds = time.perf_counter() - t0
    return out


@dataclass
class NB101Row:
    hash: str
    matrix: np.ndarray
    ops: list[str]
    params: int


def nb101_rows(source: str = "auto", select=None) -> tuple[str, list[NB101Row]]:
    """Cells with a spec and an official parameter count.

    ``source``: ``"joined"`` (``data/nb101/nb101_sample.npz`` + enumeration, 30,001
    cells), ``"specs"`` (the 1,000 specs of the shared parquet), or ``"auto"`` (joined
    when present, else specs). Returns ``(description, rows)``; no rows when neither
    file exists. ``select`` (positions in the table) keeps only those rows.
    """
    joined = data_dir() / "nb101" / "nb101_sample.npz"
    if source in ("joined", "auto") and joined.exists():
        from nasviz.spaces.nb101 import NB101Space

        verify(joined)
        with np.load(joined, allow_pickle=False) as z:
            if {"index", "params", "hash"} <= set(z.files):
                index, params, hashes = z["index"], z["params"], z["hash"]
                if select is not None:
                    index, params, hashes = index[select], params[select], hashes[select]
                space = NB101Space()
                rows = []
                for i, p, h in zip(index, params, hashes):
                    cell = space.cell(int(i))
                    rows.append(NB101Row(bytes(h).hex(), np.asarray(cell.matrix), list(cell.ops), int(p)))
                return f"{joined.relative_to(REPO_ROOT) if joined.is_relative_to(REPO_ROOT) else joined} " \
                       f"(specs from the enumeration)", rows
        if source == "joined":
            return f"{joined} lacks index/params/hash", []
    if source == "joined":
        return f"{joined} not found", []
    if not SHARED_SAMPLE.exists():
        return f"{SHARED_SAMPLE} not found", []
    import pandas as pd

    df = pd.read_parquet(SHARED_SAMPLE, columns=["module_hash", "params", "has_spec", "adjacency", "ops"])
    df = df[df["has_spec"]]
    if select is not None:
        df = df.iloc[np.asarray(select)]
    rows = [NB101Row(r.module_hash, np.stack(r.adjacency).astype(np.int64), [str(o) for o in r.ops], int(r.params))
            for r in df.itertuples()]
    return f"{SHARED_SAMPLE.name} (cells with has_spec)", rows


def check_nb101(rows: Iterable[NB101Row], source: str = "") -> ParamCheck:
    """Build (on the meta device) each cell's network and compare with ``params``."""
    from nasviz.nets.nb101 import count_params

    out = ParamCheck("nb101", source)
    t0 = time.perf_counter()
    for r in rows:
        built = count_params((r.matrix, r.ops))
        out.add(r.hash, built, r.params, built == r.params)
    out.seconds = time.perf_counter() - t0
    return out


def iter_progress(items, desc: str, enabled: bool = True) -> Iterator:
    """``items`` with a tqdm bar when tqdm is installed and ``enabled``."""
    if enabled:
        try:
            from tqdm import tqdm

            return iter(tqdm(items, desc=desc, mininterval=2.0))
        except ImportError:
            pass
    return iter(items)
