"""Bad input to the ``nasviz`` command line: the fuzz table of ``tests/test_cli_fuzz.py``, counted.

    nice -n 10 python benchmarks/bench_badinput.py            # -> benchmarks/results/badinput.json + .md
    PYTHONPATH=/tmp/old-nasviz python benchmarks/bench_badinput.py --save-as badinput_before.json --no-md

Every row of ``tests/cli_fuzz_table.py`` runs ``nasviz.cli.main`` in this process against a sandbox (copies of
``data/`` and ``models/``, a run database with real runs, broken databases and benchmark files), with a
per-case time limit. For each invocation it records: a clean error (exactly one ``error:`` line on stderr,
exit 2, nothing written), a traceback, a wrong result (the bad input was accepted: exit 0 or still running at
the limit), a payload run (a pickle in a benchmark file created its marker file), data lost (a file that
existed before in the database, data/, models/ or an output folder was changed or deleted). With
``--baseline FILE`` (a JSON this script wrote for older code, e.g. the commit before the hardening) the table
shows both. The second form above measures older code: put its ``nasviz`` package first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "tests"))

import cli_fuzz_table as T  # noqa: E402


def measure(timeout: float, skip: str | None = None) -> dict:
    import nasviz

    root = Path(tempfile.mkdtemp(prefix="nasviz-badinput-"))
    try:
        box = T.make_sandbox(root)
        T.warm_up()
        table = T.cases(box["paths"])
        rows = []
        t0 = time.perf_counter()
        for cls, argv in table:
            if skip and re.search(skip, " ".join(argv)):  # e.g. old code forking 2^63 workers
                rows.append({"class": cls, "argv": [a if len(a) <= 80 else a[:40] + f"...({len(a)} chars)"
                                                    for a in argv], "clean": False, "traceback": False,
                             "wrong_result": True, "payload_ran": False, "data_lost": [], "exit": None, "lines": 0,
                             "seconds": 0.0, "last_line": f"not run (--skip {skip}): accepted, known to misbehave"})
                continue
            o = T.run_case(argv, box, timeout=timeout)
            payload = T.payloads_run(box["paths"])
            accepted = o.code == 0 or o.code is None
            rows.append({
                "class": cls, "argv": [a if len(a) <= 80 else a[:40] + f"...({len(a)} chars)" for a in argv],
                "clean": o.clean, "traceback": o.traceback, "wrong_result": accepted and not o.traceback,
                "payload_ran": bool(payload), "data_lost": [p.replace(str(root), "<sandbox>") for p in o.lost],
                "exit": o.code, "lines": len(o.lines), "seconds": round(o.seconds, 3),
                "last_line": (o.lines[-1] if o.lines else "")[:300].replace(str(root), "<sandbox>"),
            })
            print(("ok  " if o.clean else "BAD ") + f"{o.seconds:6.2f}s [{cls}] " + " ".join(rows[-1]["argv"])[:150]
                  + ("" if o.clean else f" | {o.why()}"), file=sys.stderr, flush=True)
        wall = time.perf_counter() - t0
    finally:
        T.remove_sandbox(root)
    return {"nasviz": str(Path(nasviz.__file__).parent), "python": platform.python_version(),
            "cpus": os.cpu_count(), "timeout_s": timeout, "wall_seconds": round(wall, 1),
            "summary": summarize(rows), "by_class": by_class(rows), "rows": rows}


def summarize(rows: list[dict]) -> dict:
    return {"inputs tried": len(rows), "clean errors": sum(r["clean"] for r in rows),
            "tracebacks": sum(r["traceback"] for r in rows), "wrong results": sum(r["wrong_result"] for r in rows),
            "payloads run": sum(r["payload_ran"] for r in rows), "data lost": sum(bool(r["data_lost"]) for r in rows),
            "other (not one error line, or wrote files)": sum(not (r["clean"] or r["traceback"] or r["wrong_result"])
                                                             for r in rows)}


def by_class(rows: list[dict]) -> dict:
    groups = collections.defaultdict(list)
    for r in rows:
        groups[r["class"]].append(r)
    return {k: summarize(v) for k, v in groups.items()}


#: what issue 15's probe reported for the code before the hardening: (CLI inputs, run-store corruptions)
ISSUE_PROBE_BEFORE = {"inputs tried": (170, 26), "clean errors": (120, 20), "tracebacks": (29, 5),
                      "wrong results (accepted silently)": (12, 1), "payloads run (code from a file)": (1, 0)}


def markdown(res: dict, base: dict | None) -> str:
    s = res["summary"]
    keys = list(s)
    out = ["## Bad input (CLI fuzz table)", "",
           f"`benchmarks/bench_badinput.py` runs the {s['inputs tried']} malformed `nasviz` invocations of "
           "`tests/cli_fuzz_table.py` (every command; whole numbers out of 64-bit range, `²`, 5,000 digits, "
           "NaN/inf floats and `--param` values, bad architectures and choices, unwritable outputs, shipped "
           "checkpoints, corrupt/foreign/read-only run databases, an unreachable Ray address, NB101 records "
           "with NaN/inf/negative/over-100 % accuracies, pickles that run code) in one process against a sandbox "
           f"copy of data/ and models/, {res['timeout_s']:g} s limit per case. A *clean error* is exactly one "
           "`error:` line on stderr, exit 2, and no file written; a *wrong result* accepted the input (exit 0, "
           "or still running at the limit); *data lost*: a file that existed (database, data/, models/, "
           "outputs) was changed or deleted.", ""]
    if base:
        b = base["summary"]
        out += ["| | before | after |", "|---|---:|---:|"]
        out += [f"| {k} | {b.get(k, '')} | {s[k]} |" for k in keys]
        out += ["", f"Before: the code at {base.get('label', 'the baseline')}; after: this tree. "
                f"Table run in {res['wall_seconds']:.0f} s (before: {base['wall_seconds']:.0f} s, most of it "
                "bad input that was accepted and ran until the limit)."]
    else:
        out += ["| | count |", "|---|---:|"] + [f"| {k} | {s[k]} |" for k in keys]
        out += ["", f"Table run in {res['wall_seconds']:.0f} s."]
    out += ["", "By class (after):", "", "| class | inputs | clean | tracebacks | wrong results | data lost |",
            "|---|---:|---:|---:|---:|---:|"]
    for k, v in res["by_class"].items():
        out.append(f"| {k} | {v['inputs tried']} | {v['clean errors']} | {v['tracebacks']} | {v['wrong results']} "
                   f"| {v['data lost']} |")
    if base:
        out += ["", "By class (before):", "", "| class | inputs | clean | tracebacks | wrong results | data lost |",
                "|---|---:|---:|---:|---:|---:|"]
        for k, v in base["by_class"].items():
            out.append(f"| {k} | {v['inputs tried']} | {v['clean errors']} | {v['tracebacks']} | "
                       f"{v['wrong results']} | {v['data lost']} |")
    out += ["", "Before, as the issue's independent probe found it on the code before this hardening (its own input "
            "set, so the rows do not match the table above one to one):", "",
            "| | CLI inputs | run-store corruptions |", "|---|---:|---:|"]
    out += [f"| {k} | {a} | {b} |" for k, (a, b) in ISSUE_PROBE_BEFORE.items()]
    bad = [r for r in res["rows"] if not r["clean"]]
    if bad:
        out += ["", "Invocations that still break the contract:", ""]
        out += [f"- `nasviz {' '.join(r['argv'])}`: {r['last_line']}" for r in bad[:20]]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per invocation")
    ap.add_argument("--save-as", default="badinput.json", help="file name under benchmarks/results/")
    ap.add_argument("--baseline", help="a JSON this script wrote for older code (shown as 'before')")
    ap.add_argument("--label", default="", help="what the measured code is (e.g. a commit)")
    ap.add_argument("--skip", help="regex: invocations not to run, counted as wrong results (for old code: "
                                   "'--workers (9|18)' forked that many worker processes)")
    ap.add_argument("--no-md", action="store_true", help="write the JSON only")
    ap.add_argument("--render-only", action="store_true", help="rewrite badinput.md from the stored JSON")
    args = ap.parse_args()
    if args.render_only:
        res = json.loads((RESULTS / args.save_as).read_text())
        base = json.loads(Path(args.baseline).read_text()) if args.baseline else None
        (RESULTS / "badinput.md").write_text(markdown(res, base))
        return 0
    res = measure(args.timeout, args.skip)
    res["label"] = args.label
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.save_as).write_text(json.dumps(res, indent=1) + "\n")
    base = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    if not args.no_md:
        (RESULTS / "badinput.md").write_text(markdown(res, base))
    print(json.dumps(res["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
