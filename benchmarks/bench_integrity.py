"""What the sha256 check of shipped files (nasviz.integrity.verify) costs when loading them.

Usage: python benchmarks/bench_integrity.py [--repeats 5]

Writes benchmarks/results/integrity.json (every sample) and benchmarks/results/integrity.md
(the section BENCHMARKS.md includes; run benchmarks/make_report.py after).

Each loader runs in a fresh Python process (imports done before the clock starts), so the
first load hashes the file: once with the manifests as shipped, once with verification
switched off inside that process (``read_manifest`` returning nothing), interleaved. A second
load in the same process shows what the per-process cache leaves (a stat and a dict look-up).
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
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

#: (label, file it reads, setup code, the load timed)
CASES = (
    ("`NB201Benchmark()`", "data/nb201/nb201.npz",
     "from nasviz.bench.nb201 import NB201Benchmark", "NB201Benchmark()"),
    ("`NB101Benchmark()` (30,001-cell sample + 423,624-cell enumeration)", "data/nb101/nb101_sample.npz, enumeration.npz",
     "from nasviz.bench.nb101 import NB101Benchmark", "NB101Benchmark()"),
    ("`load_model(models/nb201-arch2vec)`", "models/nb201-arch2vec/*",
     "from nasviz.models import load_model", "load_model('models/nb201-arch2vec')"),
    ("controller `io.load(models/nb201-controller-supervised/seed0)`", "models/nb201-controller-supervised/seed0/*",
     "from nasviz.controllers import io", "io.load('models/nb201-controller-supervised/seed0')"),
    ("`load_embeddings('nb101-bvae-beta1')` (largest file)", "data/embeddings/nb101-bvae-beta1.npz",
     "from nasviz.analysis.embeddings import load_embeddings", "load_embeddings('nb101-bvae-beta1')"),
)

_CHILD = """
import json, sys, time
import nasviz.integrity as integrity
{setup}
if {off}:
    integrity.read_manifest = lambda root: {{}}
t0 = time.perf_counter(); {load}; t1 = time.perf_counter(); {load}; t2 = time.perf_counter()
print(json.dumps({{"first": t1 - t0, "second": t2 - t1}}))
"""


def run(setup: str, load: str, off: bool) -> dict:
    code = _CHILD.format(setup=setup, load=load, off=off)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    samples = {}
    for label, _, setup, load in CASES:
        on, off = [], []
        for _ in range(args.repeats):
            on.append(run(setup, load, False))
            off.append(run(setup, load, True))
        samples[label] = {"on": on, "off": off}
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "integrity.json").write_text(json.dumps({"when": when, "load_average": load0,
                                                        "repeats": args.repeats, "samples": samples}, indent=1))
    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    sizes = {}
    for label, files, *_ in CASES:
        sizes[label] = files
    lines = [
        "## Integrity check of shipped files (`benchmarks/bench_integrity.py`)",
        "",
        "Every loader of a shipped table, embedding or checkpoint checks the file's sha256 against",
        "`data/SHA256SUMS` / `models/SHA256SUMS` (`nasviz.integrity.verify`), once per process per file.",
        f"Medians of {args.repeats} fresh processes per row, verification on and off interleaved; measured {when},",
        f"Python {platform.python_version()}, load average {load0:.1f} at the start (2 cores, shared with training jobs).",
        "",
        "| load | file(s) | first load, off | first load, verified | cost | second load, verified |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, s in samples.items():
        a = ms([x["first"] for x in s["off"]])
        b = ms([x["first"] for x in s["on"]])
        c = ms([x["second"] for x in s["on"]])
        lines.append(f"| {label} | {sizes[label]} | {a:.0f} ms | {b:.0f} ms | {b - a:+.0f} ms ({(b - a) / a:+.0%}) "
                     f"| {c:.1f} ms |")
    lines += ["", "A second load in the same process does not hash again (cached by path, size, mtime and inode).", ""]
    (RESULTS / "integrity.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
