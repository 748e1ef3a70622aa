"""Measure the NB101 ground-truth layer; write benchmarks/results/nb101.{json,md}.

    python benchmarks/bench_nb101.py            # ~2 min: rehash check, import, load, query
    python benchmarks/bench_nb101.py --enumerate  # also re-run the whole enumeration (~2 min more)

Without ``--enumerate`` the enumeration run time is the one stored in
data/nb101/enumeration.npz by the ``nasviz enumerate nb101`` run that produced it.
Times are medians over repeats; the machine is the project's shared 2-core box, so
absolute numbers vary with its load.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasviz.bench.nb101 import NB101Benchmark, embedded_table_path  # noqa: E402
from nasviz.bench.nb101_import import crc32c, import_official, masked_crc  # noqa: E402
from nasviz.spaces.nb101 import hash_module, labels_of  # noqa: E402
from nasviz.spaces.nb101_enum import (  # noqa: E402
    OFFICIAL_TOTAL, enumerate_space, enumeration_path, load_enumeration,
)

RESULTS = ROOT / "benchmarks" / "results"


def _median_time(fn, repeats: int) -> tuple[float, list[float]]:
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts


# -- a writer of the official tfrecord format (for the import benchmark) ---------------
def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | 0x80 if v else b)
        if not v:
            return bytes(out)


def _eval(ep: float, tt: float, tr: float, va: float, te: float) -> bytes:
    body = b"".join(_varint(f << 3 | 1) + struct.pack("<d", x) for f, x in ((1, ep), (2, tt), (3, tr), (4, va),
                                                                          (5, te)))
    path = b"/cns/nasbench/model.ckpt-123456"
    return body + _varint(6 << 3 | 2) + _varint(len(path)) + path


def write_official_file(path: Path, enum, n_records: int, rng: np.random.Generator) -> int:
    per_cell = 12  # 4 epoch budgets x 3 repeats, as in nasbench_full.tfrecord
    cells = rng.choice(len(enum), size=-(-n_records // per_cell), replace=False)
    n = 0
    with open(path, "wb") as f:
        for i in cells:
            c = enum.cell(int(i))
            adj = "".join(str(x) for row in c.matrix for x in row)
            ops = ",".join(c.ops)
            for ep in (4, 12, 36, 108):
                for _ in range(3):
                    ev = [_eval(0, 0, 0.1, 0.1, 0.1), _eval(ep / 2, 500, 0.8, 0.8, 0.8),
                          _eval(ep, 1000 + rng.random(), rng.random(), rng.random(), rng.random())]
                    msg = b"".join(_varint(1 << 3 | 2) + _varint(len(e)) + e for e in ev)
                    msg += _varint(2 << 3) + _varint(1_000_000) + _varint(3 << 3 | 1) + struct.pack("<d", 1234.5)
                    data = json.dumps([c.hash, ep, adj, ops, base64.b64encode(msg).decode()]).encode()
                    head = struct.pack("<Q", len(data))
                    f.write(head + struct.pack("<I", masked_crc(crc32c(head))) + data
                            + struct.pack("<I", masked_crc(crc32c(data))))
                    n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enumerate", action="store_true", help="re-run the whole enumeration and time it")
    ap.add_argument("--import-records", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    out: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "platform": platform.platform(), "load_average_at_start": os.getloadavg()[0]},
                 "measured_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    enum = load_enumeration()
    stored = enum.meta
    out["enumeration"] = {
        "cells": len(enum), "official_total": OFFICIAL_TOTAL, "matches_official": len(enum) == OFFICIAL_TOTAL,
        "cells_per_vertex_count": {str(k): v for k, v in enum.counts().items()},
        "topologies_per_vertex_count": stored.get("topologies_per_vertex_count"),
        "hash_collisions": stored.get("hash_collisions"),
        "stored_run_seconds": stored.get("seconds"), "stored_run_workers": stored.get("workers"),
        "stored_run_utc": stored.get("created_utc"),
        "file_bytes": enumeration_path().stat().st_size,
        "official_generator_hashes": sum(int(m) * 3 ** (int(n) - 2) for n, m in
                                         (stored.get("full_dag_masks_per_vertex_count") or {}).items()),
    }
    if args.enumerate:
        t = time.perf_counter()
        r = enumerate_space(workers=2)
        secs = time.perf_counter() - t
        same = bool(np.array_equal(r.hashes, enum.hashes) and np.array_equal(r.bits, enum.bits)
                    and np.array_equal(r.labels, enum.labels))
        out["enumeration"].update({"rerun_seconds": round(secs, 1), "rerun_identical_to_stored": same})
        print(f"enumeration re-run: {secs:.1f} s, identical to stored: {same}")

    # re-hash every stored spec
    t = time.perf_counter()
    hexes = enum.hex_hashes()
    bad = 0
    for i in range(len(enum)):
        c = enum.cell(i)
        bad += hash_module(c.matrix, labels_of(c.ops)) != hexes[i]
    out["rehash_all"] = {"cells": len(enum), "mismatches": bad, "seconds": round(time.perf_counter() - t, 1)}
    print(f"re-hashed {len(enum):,} stored specs: {bad} mismatches")

    # import speed
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "nasbench_full_part.tfrecord"
        n = write_official_file(src, enum, args.import_records, rng)
        med, ts = _median_time(lambda: import_official(src, out=Path(tmp) / "t.npz", enumeration=enum), args.repeats)
        out["import"] = {"records": n, "file_bytes": src.stat().st_size, "median_seconds": round(med, 4),
                         "records_per_s": round(n / med), "mb_per_s": round(src.stat().st_size / med / 1e6, 2),
                         "seconds_all": [round(x, 4) for x in ts]}
    print(f"import: {n} records in {med:.3f} s (median) = {n / med:,.0f} records/s")

    # load time: in this process (data files only) and in a fresh process (imports included)
    med_enum, _ = _median_time(load_enumeration, args.repeats)
    med_table, _ = _median_time(lambda: NB101Benchmark(embedded_table_path()), args.repeats)
    code = ("import time; t=time.perf_counter(); from nasviz.bench.nb101 import NB101Benchmark; "
            "NB101Benchmark(); print(time.perf_counter()-t)")
    env = dict(os.environ, NASVIZ_HOME=tempfile.mkdtemp())
    fresh = [float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                                  check=True).stdout) for _ in range(args.repeats)]
    out["machine"]["load_average_at_end"] = os.getloadavg()[0]
    out["load"] = {"enumeration_median_s": round(med_enum, 4), "benchmark_median_s": round(med_table, 4),
                   "fresh_process_median_s": round(statistics.median(fresh), 4)}
    print(f"load: enumeration {med_enum:.3f} s, benchmark {med_table:.3f} s, fresh process "
          f"{statistics.median(fresh):.3f} s")

    # query throughput
    bench = NB101Benchmark(embedded_table_path())
    pick = rng.choice(bench.indices, size=5000)
    hashes = [enum.hash_hex(int(i)) for i in pick]
    cells = [enum.cell(int(i)) for i in pick]
    med_h, _ = _median_time(lambda: [bench.query(h) for h in hashes], args.repeats)
    med_c, _ = _median_time(lambda: [bench.query(c) for c in cells], args.repeats)
    specs = [c.to_json() for c in cells[:500]]
    med_j, _ = _median_time(lambda: [bench.query(s) for s in specs], args.repeats)
    med_col, _ = _median_time(lambda: bench.column("valid_acc", "cifar10", 108), args.repeats)
    out["query"] = {"by_hash_per_s": round(len(hashes) / med_h), "by_cell_per_s": round(len(cells) / med_c),
                    "by_json_spec_per_s": round(len(specs) / med_j), "column_median_s": med_col}
    print(f"query: {len(hashes) / med_h:,.0f}/s by hash, {len(cells) / med_c:,.0f}/s by cell, "
          f"{len(specs) / med_j:,.0f}/s by JSON spec (validate + prune + hash)")

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nb101.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "nb101.md").write_text(markdown(out))
    print(f"wrote {RESULTS / 'nb101.json'} and nb101.md")


def markdown(r: dict) -> str:
    e = r["enumeration"]
    per_n = ", ".join(f"{k}: {v:,}" for k, v in e["cells_per_vertex_count"].items())
    run = f"{e['stored_run_seconds']:.0f} s with {e['stored_run_workers']} worker processes (stored run)"
    if "rerun_seconds" in e:
        run += f"; re-run now: {e['rerun_seconds']:.0f} s, identical to the stored file: {e['rerun_identical_to_stored']}"
    imp, ld, q = r["import"], r["load"], r["query"]
    return f"""## NAS-Bench-101 ground truth

Measured {r['measured_utc']} on the project's {r['machine']['cpus']}-core machine, shared with other jobs
(1-min load average {r['machine']['load_average_at_start']:.0f} at the start, so absolute times are pessimistic);
times are medians of repeats. Script: `python benchmarks/bench_nb101.py [--enumerate]`.

| what | nasviz | reference |
|---|---|---|
| cells enumerated (`nasviz enumerate nb101`) | {e['cells']:,} | 423,624 (NB101 paper) |
| cells per vertex count | {per_n} | |
| distinct topologies per vertex count | {', '.join(f'{k}: {v:,}' for k, v in (e['topologies_per_vertex_count'] or {}).items())} | |
| hash collisions between non-isomorphic cells | {e['hash_collisions']} | 0 (checked by the NB101 authors) |
| enumeration run time | {run} | |
| module hashes computed | {e['cells']:,} (one per isomorphism class) | {e['official_generator_hashes']:,} in the official generator (one per labeled matrix) |
| stored enumeration | {e['file_bytes'] / 1e6:.1f} MB | |
| stored specs re-hashed to their stored hash | {r['rehash_all']['cells'] - r['rehash_all']['mismatches']:,} / {r['rehash_all']['cells']:,} | |
| sample cells (real, 30,001) whose hash is in the enumeration | 30,001 / 30,001 (test) | |
| official tfrecord import ({imp['records']:,} generated records, official format) | {imp['records_per_s']:,} records/s ({imp['mb_per_s']} MB/s) | |
| table load: enumeration / benchmark object / fresh process incl. imports | {ld['enumeration_median_s'] * 1000:.0f} ms / {ld['benchmark_median_s'] * 1000:.0f} ms / {ld['fresh_process_median_s'] * 1000:.0f} ms | |
| queries per second: by hash / by cell / by JSON spec | {q['by_hash_per_s']:,} / {q['by_cell_per_s']:,} / {q['by_json_spec_per_s']:,} | |

At the measured rate, the 5.0 M records of `nasbench_full.tfrecord` would take about
{5_000_000 / imp['records_per_s'] / 60:.0f} min and the 1.27 M of `nasbench_only108.tfrecord` about
{1_270_000 / imp['records_per_s'] / 60:.1f} min (estimate; the official files cannot be downloaded here).
"""


if __name__ == "__main__":
    main()
