"""The jobs tests in a loop under extra load (issue 18: "20 runs under stress-like load, two busy processes").

tests/test_search_jobs.py and tests/test_distribution_jobs.py kill, cancel and resume real worker processes; their
runs are held at a trial gate (NASVIZ_TEST_TRIAL_GATE), so no kill can land after a run finished however loaded the
machine is. This script shows it: it starts two busy processes (``while True: pass``, at nice 19, like
``stress --cpu 2``), runs the two files ``--runs`` times one after another, records per run the pass/fail counts,
the wall time and /proc/loadavg before and after, and always kills its busy processes at the end.

    python benchmarks/jobs_loop.py --runs 20     # writes benchmarks/results/jobs_loop.{json,md}
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FILES = ["tests/test_search_jobs.py", "tests/test_distribution_jobs.py"]
#: a busy loop that also ends by itself if this script dies without its cleanup (its parent changes)
BUSY = "import os; p = os.getppid()\nwhile os.getppid() == p: pass"


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def counts(text: str) -> dict[str, int]:
    """pytest's last summary line ("3 failed, 20 passed, 1 skipped in 80.1s") as numbers."""
    last = [ln for ln in text.splitlines() if re.search(r"\b(passed|failed|error)s?\b.* in [\d.]+s", ln)]
    out = {k: 0 for k in ("passed", "failed", "skipped", "error")}
    if last:
        for n, what in re.findall(r"(\d+) (passed|failed|skipped|errors?)", last[-1]):
            out["error" if what.startswith("error") else what] += int(n)
    return out


def start_busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen(["nice", "-n", "19", sys.executable, "-c", BUSY], start_new_session=True)
            for _ in range(n)]


def stop_busy(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()  # by its own pid only
        p.wait()


def run_once(i: int, logs: Path) -> dict:
    cmd = ["nice", "-n", "19", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FILES]
    before = loadavg()
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = loadavg()
    log = p.stdout + p.stderr
    (logs / f"run{i:02d}.log").write_text(log)
    c = counts(log)
    failed = [ln.split(" ", 1)[1].split(" - ")[0] for ln in log.splitlines() if ln.startswith(("FAILED ", "ERROR "))]
    return {"run": i, "rc": p.returncode, **c, "failed_tests": failed, "wall_s": round(wall, 1),
            "loadavg_before": before, "loadavg_after": after}


def write(runs: list[dict], meta: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "jobs_loop.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1) + "\n")
    walls = [r["wall_s"] for r in runs]
    loads = [x for r in runs for x in (r["loadavg_before"][0], r["loadavg_after"][0])]
    ok = sum(r["rc"] == 0 and r["failed"] == 0 and r["error"] == 0 for r in runs)
    lines = [
        "## Jobs tests in a loop under load (`benchmarks/jobs_loop.py`)",
        "",
        "The kill, cancel and resume tests of real worker processes (`tests/test_search_jobs.py`, "
        f"`tests/test_distribution_jobs.py`) run one after another while {meta['busy_processes']} extra busy processes "
        "spin (`nice -n 19 python -c` of a pure-Python busy loop, `while os.getppid() == parent: pass`, as "
        "`stress --cpu 2`; the loop also ends if the script dies), on top of whatever else the machine runs. "
        "Each interrupted run is held at a trial gate (`NASVIZ_TEST_TRIAL_GATE`): the test acts once the Nth trial is "
        "stored and the run cannot finish first, so load can only slow the tests down, not change their outcome.",
        "",
        f"Measured {meta['started']} to {meta['finished']}, Python {meta['python']}, {meta['cpus']} CPUs; "
        f"command per run: `{meta['command']}`.",
        "",
        *([f"Already running on the machine: {meta['background']}.", ""] if meta.get("background") else []),
        f"**{ok} of {len(runs)} runs passed in full** "
        f"({sum(r['passed'] for r in runs)} test passes, {sum(r['failed'] for r in runs)} failures, "
        f"{sum(r['error'] for r in runs)} errors, {sum(r['skipped'] for r in runs)} skips); "
        f"1-minute load average {min(loads):.1f} to {max(loads):.1f} (median {statistics.median(loads):.1f}); "
        f"wall time per run median {statistics.median(walls):.0f} s (min {min(walls):.0f} s, max {max(walls):.0f} s).",
        "",
        "| run | passed | failed | errors | skipped | wall (s) | loadavg before (1/5/15 min) | loadavg after |",
        "|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in runs:
        lines.append(f"| {r['run']} | {r['passed']} | {r['failed']} | {r['error']} | {r['skipped']} | {r['wall_s']:.0f} "
                     f"| {' / '.join(f'{x:.2f}' for x in r['loadavg_before'])} "
                     f"| {' / '.join(f'{x:.2f}' for x in r['loadavg_after'])} |")
    fails = [(r["run"], t) for r in runs for t in r["failed_tests"]]
    if fails:
        lines += ["", "Failures: " + "; ".join(f"run {i}: `{t}`" for i, t in fails)]
    skipped = {r["skipped"] for r in runs}
    if skipped != {0}:
        lines += ["", "The skip is `test_ray_backend_runs_the_same_distribution_job` where `ray` is not installed, or "
                      "the no-CUDA test on a GPU machine (the only skips the suite allows)."]
    (RESULTS / "jobs_loop.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--busy", type=int, default=2, help="extra busy processes (default 2)")
    ap.add_argument("--logs", type=Path, default=RESULTS / "logs" / "jobs_loop")
    ap.add_argument("--report", action="store_true", help="only rewrite jobs_loop.md from jobs_loop.json")
    ap.add_argument("--background", help="with --report: what else loaded the machine (recorded in the meta)")
    args = ap.parse_args()
    if args.report:
        doc = json.loads((RESULTS / "jobs_loop.json").read_text())
        if args.background:
            doc["meta"]["background"] = args.background
            (RESULTS / "jobs_loop.json").write_text(json.dumps(doc, indent=1) + "\n")
        write(doc["runs"], doc["meta"])
        return 0
    args.logs.mkdir(parents=True, exist_ok=True)
    meta = {"started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "python": platform.python_version(),
            "cpus": os.cpu_count(), "busy_processes": args.busy, "busy_command": f"nice -n 19 python -c {BUSY!r}",
            "command": f"nice -n 19 python -m pytest -q -p no:cacheprovider {' '.join(FILES)}"}
    busy = start_busy(args.busy)
    # a SIGTERM (or SIGHUP) to this script still kills the busy processes, through the finally below
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    runs: list[dict] = []
    try:
        for i in range(1, args.runs + 1):
            r = run_once(i, args.logs)
            runs.append(r)
            print(json.dumps(r), flush=True)
            meta["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            meta["busy_pids"] = [p.pid for p in busy]
            write(runs, meta)  # after every run: a partial loop is still recorded
    finally:
        stop_busy(busy)
    return 0 if all(r["rc"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
