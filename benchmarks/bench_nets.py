"""Runnable networks: parameter counts against the benchmarks, build/forward/FLOPs time.

    python benchmarks/bench_nets.py [--quick] [--threads 1] [--chunk 1000]
    python benchmarks/bench_nets.py --flops-only     # re-measure only the NB101 FLOPs timing
    python benchmarks/bench_nets.py --markdown-only  # rewrite nets.md from nets.json

The full run takes about 25 CPU minutes (NB201 ~20 ms and NB101 ~20 ms of CPU per
cell); results are rewritten after every chunk, so an interrupted run leaves honest
partial counts ("checked so far").

Writes ``benchmarks/results/nets.json`` and the BENCHMARKS.md section
``benchmarks/results/nets.md``:

* NB201: trainable parameters of the built network vs the table's ``params`` column
  for all 15,625 cells x CIFAR-10 / CIFAR-100 / ImageNet16-120 (``--quick``: a
  random 1,000 of CIFAR-10 only);
* NB101: vs ``params`` for every sample cell with a spec: all 30,001 once the
  joined table ``data/nb101/nb101_sample.npz`` exists, else the 1,000 specs of the
  raw sample (``--quick``: the 1,000 specs);
* time to build a network (meta device, i.e. structure only, and with real weights),
  forward time on CPU (batch 1 and 64, 32x32, eval mode), NB101 FLOPs time through
  the flop counter and through the shape formula, and their agreement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nasviz.bench.nb201 import NB201Benchmark  # noqa: E402
from nasviz.nets import verify  # noqa: E402
from nasviz.nets.nb101 import build_nb101, nb101_flops, nb101_flops_fast  # noqa: E402
from nasviz.nets.nb201 import build_nb201, cost_info_flops_m  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
N_NB101_ENUMERATED = 423_624


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def forward_times(net: torch.nn.Module, batches=(1, 64), repeat: int = 3) -> dict:
    net.eval()
    out = {}
    with torch.no_grad():
        for b in batches:
            x = torch.randn(b, 3, 32, 32)
            net(x)  # warm-up
            out[f"batch{b}_ms"] = round(1e3 * _median_time(lambda: net(x), repeat), 2)
    return out


def nb101_flops_section(spec_rows, quick: bool) -> dict:
    """Time NB101 FLOPs through the built network (counter) and the shape formula; check they agree."""
    flops: dict = {}
    if spec_rows:
        sample = spec_rows[:100] if not quick else spec_rows[:30]
        t, c = time.perf_counter(), time.process_time()
        counted = [nb101_flops((r.matrix, r.ops)) for r in verify.iter_progress(sample, "NB101 FLOPs (counter)")]
        counter_s = (time.perf_counter() - t) / len(sample)
        counter_cpu = (time.process_time() - c) / len(sample)
        t, c = time.perf_counter(), time.process_time()
        fast = [nb101_flops_fast((r.matrix, r.ops)) for r in spec_rows]
        fast_s = (time.perf_counter() - t) / len(spec_rows)
        fast_cpu = (time.process_time() - c) / len(spec_rows)
        flops = {
            "counter_s_per_cell": round(counter_s, 4),
            "formula_ms_per_cell": round(1e3 * fast_s, 4),
            "formula_equals_counter": f"{sum(a == b for a, b in zip(counted, fast))}/{len(sample)}",
            "counter_hours_for_enumeration": round(counter_s * N_NB101_ENUMERATED / 3600, 1),
            "counter_cpu_s_per_cell": round(counter_cpu, 4),
            "counter_cpu_hours_for_enumeration": round(counter_cpu * N_NB101_ENUMERATED / 3600, 1),
            "formula_cpu_ms_per_cell": round(1e3 * fast_cpu, 4),
            "formula_minutes_for_enumeration": round(fast_s * N_NB101_ENUMERATED / 60, 1),
            "formula_cpu_minutes_for_enumeration": round(fast_cpu * N_NB101_ENUMERATED / 60, 1),
            "gflops_range_specs": [round(min(fast) / 1e9, 3), round(max(fast) / 1e9, 3)],
        }
    stored = ROOT / "data" / "nb101" / "flops.npz"
    if stored.exists():
        with np.load(stored, allow_pickle=False) as z:
            flops["stored_column"] = {"path": str(stored.relative_to(ROOT)), "cells": int(len(z["flops"])),
                                      "meta": json.loads(bytes(z["meta"]).decode())}
    return flops


def _merge(acc: verify.ParamCheck | None, part: verify.ParamCheck) -> verify.ParamCheck:
    if acc is None:
        return part
    acc.checked += part.checked
    acc.equal += part.equal
    acc.seconds += part.seconds
    acc.mismatches = (acc.mismatches + part.mismatches)[:20]
    return acc


def _summary(r: verify.ParamCheck, total: int, cpu: float) -> dict:
    return {"source": r.source, "equal": r.equal, "checked": r.checked, "total": total,
            "seconds": round(r.seconds, 1), "ms_per_cell_meta_build": round(1e3 * r.seconds / max(r.checked, 1), 2),
            "cpu_ms_per_cell": round(1e3 * cpu / max(r.checked, 1), 2), "mismatches": r.mismatches}


def _write(res: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nets.json").write_text(json.dumps(res, indent=2) + "\n")
    (RESULTS / "nets.md").write_text(markdown(res))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 NB201 + the 1,000 NB101 specs only")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--chunk", type=int, default=1000, help="cells between result checkpoints")
    ap.add_argument("--markdown-only", action="store_true", help="rewrite nets.md from nets.json and stop")
    ap.add_argument("--flops-only", action="store_true", help="re-measure the NB101 FLOPs section of nets.json")
    args = ap.parse_args(argv)
    if args.markdown_only or args.flops_only:
        res = json.loads((RESULTS / "nets.json").read_text())
        if args.flops_only:  # re-measure the NB101 FLOPs section of an existing run
            res["nb101_flops"] = nb101_flops_section(verify.nb101_rows("specs")[1], args.quick)
            (RESULTS / "nets.json").write_text(json.dumps(res, indent=2) + "\n")
        (RESULTS / "nets.md").write_text(markdown(res))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    bench = NB201Benchmark()
    res: dict = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "python": platform.python_version(), "load_average_at_start": load_start},
        "quick": args.quick,
        "complete": False,
    }
    spec_src, spec_rows = verify.nb101_rows("specs")

    # -- NB201 FLOPs from the built network vs the table's cost_info FLOPs -----------------------------
    n_flops = 30 if args.quick else 100
    pick = np.random.default_rng(1).choice(15625, n_flops, replace=False)
    nb201_fl = {}
    for ds, classes, side in (("cifar10", 10, 32), ("cifar100", 100, 32), ("ImageNet16-120", 120, 16)):
        col = bench.column("flops", ds)
        t = time.perf_counter()
        eq = sum(round(cost_info_flops_m(bench.space.cell(int(i)), classes, side), 6) == round(float(col[i]), 6)
                 for i in verify.iter_progress(pick, f"NB201 FLOPs {ds}"))
        nb201_fl[ds] = {"equal": int(eq), "checked": int(n_flops),
                        "s_per_cell": round((time.perf_counter() - t) / n_flops, 3)}
        print(f"NB201 FLOPs {ds}: {eq}/{n_flops} equal", flush=True)
    res["nb201_flops"] = nb201_fl

    # -- NB101 FLOPs ----------------------------------------------------------------------------------
    flops = nb101_flops_section(spec_rows, args.quick)
    res["nb101_flops"] = flops

    # -- build and forward time with real weights -------------------------------------------------------
    c10 = bench.column("params", "cifar10")
    small201, big201 = int(np.argmin(c10)), int(np.argmax(c10))
    med201 = int(np.argsort(c10)[len(c10) // 2])
    timing201 = {}
    for label, i in (("smallest", small201), ("median", med201), ("largest", big201)):
        cell = bench.space.cell(i)
        build_s = _median_time(lambda: build_nb201(cell), 3)
        net = build_nb201(cell)
        timing201[label] = {"index": i, "arch": cell.to_str(), "params": net.num_params(),
                            "build_ms": round(1e3 * build_s, 1), **forward_times(net)}
    res["nb201_timing"] = timing201
    timing101 = {}
    if spec_rows:
        by_params = sorted(spec_rows, key=lambda r: r.params)
        for label, row in (("smallest", by_params[0]), ("median", by_params[len(by_params) // 2]),
                           ("largest", by_params[-1])):
            cell = (row.matrix, row.ops)
            build_s = _median_time(lambda: build_nb101(cell), 2)
            net = build_nb101(cell)
            timing101[label] = {"hash": row.hash, "params": net.num_params(), "build_ms": round(1e3 * build_s, 1),
                                **forward_times(net, repeat=2)}
            del net
    res["nb101_timing"] = timing101
    _write(res)

    # -- parameter equality, in chunks; results are rewritten after each chunk ---------------------------------
    # NB201: all 15,625 cells x 3 datasets (one build per cell); NB101: every sample cell with a spec.
    datasets = ("cifar10", "cifar100", "ImageNet16-120")
    indices = np.random.default_rng(0).permutation(15625)[: 1000 if args.quick else 15625]
    source, rows = verify.nb101_rows("specs" if args.quick else "auto")
    acc201: dict[str, verify.ParamCheck | None] = dict.fromkeys(datasets)
    acc101: verify.ParamCheck | None = None
    cpu201 = cpu101 = 0.0
    k201 = k101 = 0
    while k201 < len(indices) or k101 < len(rows):
        if k201 < len(indices):
            part = indices[k201:k201 + args.chunk]
            cpu0 = time.process_time()
            got = verify.check_nb201_datasets(part, bench, datasets)
            cpu201 += time.process_time() - cpu0
            for ds in datasets:
                acc201[ds] = _merge(acc201[ds], got[ds])
            k201 += len(part)
            res["nb201_params"] = {ds: _summary(acc201[ds], len(indices), cpu201) for ds in datasets}
        if k101 < len(rows):
            part = rows[k101:k101 + args.chunk]
            cpu0 = time.process_time()
            acc101 = _merge(acc101, verify.check_nb101(part, source))
            cpu101 += time.process_time() - cpu0
            k101 += len(part)
            res["nb101_params"] = _summary(acc101, len(rows), cpu101)
        res["seconds_total"] = round(time.time() - started, 1)
        _write(res)
        print(f"NB201 {k201}/{len(indices)} cells: "
              + ", ".join(f"{ds} {acc201[ds].equal}/{acc201[ds].checked}" for ds in datasets)
              + (f" | NB101 {acc101.equal}/{acc101.checked} of {len(rows)}" if acc101 else ""), flush=True)
    res["complete"] = True
    res["seconds_total"] = round(time.time() - started, 1)
    _write(res)
    print(f"wrote {RESULTS / 'nets.json'} and nets.md in {res['seconds_total']} s")
    ok = (all(r.ok for r in acc201.values()) and (acc101 is None or acc101.ok)
          and all(v["equal"] == v["checked"] for v in nb201_fl.values()))
    return 0 if ok else 1


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [
        "## Runnable networks (`benchmarks/bench_nets.py`)",
        "",
        f"Machine: {m['cpus']} CPUs, torch {m['torch']} ({m['torch_threads']} thread(s)), Python {m['python']}; "
        f"load average {m['load_average_at_start']:.1f} at start: other jobs shared the 2 cores, so wall times are "
        "upper bounds; CPU times (process time) are less affected."
        + (" **Quick run** (subsets)." if res["quick"] else ""),
        "",
        "Trainable parameters of the built network vs the benchmark (NB201: `params` column in millions, "
        "compared at 6 decimals; NB101: exact count). Networks are built on the meta device (structure only).",
        "",
        "| space | compared with | equal | ms per cell, wall / CPU (build + count) |",
        "|---|---|---|---|",
    ]
    def of_total(v: dict) -> str:
        return "" if v["checked"] == v["total"] else f" (checked so far, of {v['total']:,})"

    for ds, v in res.get("nb201_params", {}).items():
        lines.append(f"| NB201 | {ds} params | **{v['equal']:,} / {v['checked']:,}**{of_total(v)} | "
                     f"{v['ms_per_cell_meta_build']} / {v['cpu_ms_per_cell']} (one build for the 3 datasets) |")
    if "nb101_params" in res:
        v = res["nb101_params"]
        lines.append(f"| NB101 | {v['source']} | **{v['equal']:,} / {v['checked']:,}**{of_total(v)} | "
                     f"{v['ms_per_cell_meta_build']} / {v['cpu_ms_per_cell']} |")
    if not res.get("complete"):
        lines += ["", "_Run not finished when this section was written: counts are of the cells checked so far._"]
    fl = res.get("nb201_flops", {})
    if fl:
        lines += ["", "NB201 FLOPs counted on the built network (`FlopCounterMode` multiply-adds + classifier bias, "
                  "the API's `cost_info` convention; 16x16 input for ImageNet16-120) vs the table's `flops` column "
                  "(random cells):", "", "| dataset | equal | s per cell |", "|---|---|---|"]
        for ds, v in fl.items():
            lines.append(f"| {ds} | **{v['equal']} / {v['checked']}** | {v['s_per_cell']} |")
    lines += ["", "Build (real weights; NB101 with the official initialisers) and CPU forward time, eval mode, "
              "3x32x32 input:", "",
              "| space | cell | params | build ms | forward ms, batch 1 | forward ms, batch 64 |", "|---|---|---|---|---|---|"]
    for label, t in res["nb201_timing"].items():
        lines.append(f"| NB201 | {label} (#{t['index']}) | {t['params']:,} | {t['build_ms']} | {t['batch1_ms']} | "
                     f"{t['batch64_ms']} |")
    for label, t in res["nb101_timing"].items():
        lines.append(f"| NB101 | {label} ({t['hash'][:8]}) | {t['params']:,} | {t['build_ms']} | {t['batch1_ms']} | "
                     f"{t['batch64_ms']} |")
    f = res["nb101_flops"]
    if f:
        lines += [
            "",
            "NB101 FLOPs (1x3x32x32, `FlopCounterMode` convention: 2 per multiply-add of convs and the dense "
            "layer, nothing for BN/ReLU/pooling/additions):",
            "",
            f"- through the built network (meta device) with the flop counter: {f['counter_s_per_cell']} s per cell "
            f"wall ({f.get('counter_cpu_s_per_cell', '?')} s CPU) -> "
            f"{f['counter_hours_for_enumeration']} hours for all 423,624 cells at this wall rate "
            f"({f.get('counter_cpu_hours_for_enumeration', '?')} CPU hours): not affordable on this machine;",
            f"- from the layer shapes (`nb101_flops_fast`): {f['formula_ms_per_cell']} ms per cell wall "
            f"({f.get('formula_cpu_ms_per_cell', '?')} ms CPU) -> "
            f"{f['formula_minutes_for_enumeration']} min for all cells "
            f"({f.get('formula_cpu_minutes_for_enumeration', '?')} CPU min); equal to the counter on "
            f"{f['formula_equals_counter']} cells;",
            f"- range over the 1,000 specs: {f['gflops_range_specs'][0]} - {f['gflops_range_specs'][1]} GFLOPs.",
        ]
        if "stored_column" in f:
            sc = f["stored_column"]
            meta = sc["meta"]
            lines.append(f"- stored column `{sc['path']}`: {sc['cells']:,} cells, computed by `{meta.get('command')}` "
                         f"in {meta.get('seconds_total')} s, {meta.get('verified_with_counter')} random cells "
                         "re-counted with the flop counter, all equal.")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
