"""Speed of the embedded NB201 table: load time, single-query and column-query throughput.

Usage: python benchmarks/bench_nb201.py [--repeats 7] [--queries 20000]

Writes benchmarks/results/nb201.json (every sample) and benchmarks/results/nb201.md
(the section BENCHMARKS.md includes; run benchmarks/make_report.py after).

* load: ``NB201Benchmark()`` in a fresh Python process each time (cold imports
  included, and separately the table read alone, imports done first); target < 0.5 s;
* single query: ``bench.query(cell, "test", "cifar10", 200)`` for random cells, given as
  ``NB201Cell`` values, as official indices, and as official strings (parsed each time);
* column query: ``bench.column(metric, dataset, epochs)`` (all 15,625 values), and a
  fancy-indexed batch of 1,000 values from it.

Figures are medians over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasviz.bench.nb201 import NB201Benchmark  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
LOAD_TARGET_S = 0.5

_LOAD_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
from nasviz.bench.nb201 import NB201Benchmark
t1 = time.perf_counter()
bench = NB201Benchmark()
t2 = time.perf_counter()
assert len(bench.column("test", "cifar10", 200)) == 15625
print(json.dumps({"with_imports_s": t2 - t0, "table_only_s": t2 - t1}))
"""


def _fresh_load() -> dict:
    out = subprocess.run([sys.executable, "-c", _LOAD_SNIPPET], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rate(fn, n: int, repeats: int) -> list[float]:
    """Calls per second of ``fn(i)`` for i in range(n), once per repeat."""
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for i in range(n):
            fn(i)
        rates.append(n / (time.perf_counter() - t))
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--queries", type=int, default=20_000, help="queries per repeat")
    args = ap.parse_args()

    load_avg = os.getloadavg()[0]
    _fresh_load()  # warm the OS file cache; not counted
    loads = [_fresh_load() for _ in range(args.repeats)]
    load_imports = statistics.median(x["with_imports_s"] for x in loads)
    load_table = statistics.median(x["table_only_s"] for x in loads)

    bench = NB201Benchmark()
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(bench), size=args.queries)
    cells = [bench.space.cell(int(i)) for i in idx]
    strings = [c.to_str() for c in cells]
    ints = [int(i) for i in idx]
    # every value the benchmark returns must be the table's own
    assert bench.query(cells[0], "test", "cifar10", 200) == bench.column("test", "cifar10", 200)[ints[0]]

    q_cell = _rate(lambda i: bench.query(cells[i], "test", "cifar10", 200), args.queries, args.repeats)
    q_index = _rate(lambda i: bench.query(ints[i], "test", "cifar10", 200), args.queries, args.repeats)
    q_str = _rate(lambda i: bench.query(strings[i], "test", "cifar10", 200), args.queries, args.repeats)

    specs = [(c.metric, c.dataset, c.epochs) for c in bench.columns()]
    n_cols = 20_000
    col = _rate(lambda i: bench.column(*specs[i % len(specs)]), n_cols, args.repeats)
    batch_idx = rng.integers(0, len(bench), size=1000)
    batch = _rate(lambda i: bench.column(*specs[i % len(specs)])[batch_idx], n_cols, args.repeats)

    med = statistics.median
    result = {
        "benchmark": "nb201",
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "table": {"path": "data/nb201/nb201.npz", "bytes": bench.path.stat().st_size, "rows": len(bench),
                  "stored_columns": len(bench.stored_columns())},
        "load_average_1min": load_avg,
        "repeats": args.repeats,
        "queries_per_repeat": args.queries,
        "load": {
            "target_s": LOAD_TARGET_S,
            "median_with_imports_s": load_imports,
            "median_table_only_s": load_table,
            "meets_target": load_imports < LOAD_TARGET_S,
            "samples": loads,
        },
        "single_query_per_s": {
            "NB201Cell": {"median": med(q_cell), "samples": q_cell},
            "index": {"median": med(q_index), "samples": q_index},
            "arch_string": {"median": med(q_str), "samples": q_str},
        },
        "column_query_per_s": {
            "whole_column": {"median": med(col), "values_per_call": len(bench), "samples": col},
            "batch_of_1000": {"median": med(batch), "values_per_call": 1000, "samples": batch},
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nb201.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "nb201.md").write_text(_markdown(result))
    print(_markdown(result))


def _markdown(r: dict) -> str:
    ld, sq, cq = r["load"], r["single_query_per_s"], r["column_query_per_s"]
    ok = "meets" if ld["meets_target"] else "**misses**"
    return f"""## NB201 table (`benchmarks/bench_nb201.py`)

Embedded table `{r['table']['path']}`: {r['table']['rows']:,} cells, {r['table']['stored_columns']} stored
columns, {r['table']['bytes'] / 1e6:.1f} MB. Medians of {r['repeats']} repeats; single queries use
{r['queries_per_repeat']:,} random cells per repeat. Measured {r['date_utc']} UTC, Python {r['python']},
NumPy {r['numpy']}, machine load average {r['load_average_1min']:.1f} at the start (2 cores).

| what | median | note |
|---|---:|---|
| load `NB201Benchmark()`, fresh process, imports included | {ld['median_with_imports_s'] * 1000:.0f} ms | target < {ld['target_s'] * 1000:.0f} ms: {ok} it |
| load, table read only (imports done) | {ld['median_table_only_s'] * 1000:.0f} ms | |
| `query(cell, "test", "cifar10", 200)`, cell an `NB201Cell` | {sq['NB201Cell']['median']:,.0f} /s | counted look-up (query budget) |
| same, cell an official index | {sq['index']['median']:,.0f} /s | |
| same, cell an official string (parsed every call) | {sq['arch_string']['median']:,.0f} /s | |
| `column(metric, dataset, epochs)`: all 15,625 values | {cq['whole_column']['median']:,.0f} /s | not counted; a read-only view |
| a column indexed by 1,000 cells | {cq['batch_of_1000']['median']:,.0f} /s | {cq['batch_of_1000']['median'] * 1000:,.0f} values/s |

For comparison, the official `nas-bench-201` API reads a multi-GB `.pth` file with `torch.load`;
`nasviz import nb201` converts such a file once into this format.
"""


if __name__ == "__main__":
    main()
