"""Stored architecture-distribution runs for the app (figures: :mod:`nasviz.distributions.figures`).

Runs are folders ``<root>/<variant>-seed<N>/`` (``result.json`` + ``history.npz``) written by
``nasviz distribution run`` / ``benchmarks/bench_distributions.py``; the benchmark's runs live
in ``benchmarks/results/distribution_runs/``. A variant (``darts@lr0.03``) is the method plus
the tag its runs were made with; figures group by it.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from nasviz.errors import NasvizError
from nasviz.paths import REPO_ROOT

BENCHMARK_RUNS = REPO_ROOT / "benchmarks" / "results" / "distribution_runs"
_NAME = re.compile(r"^(?P<variant>.+)-seed(?P<seed>\d+)(?:-.*)?$")


def list_runs(root: Path | str | None = None) -> dict[str, Path]:
    """``{run name: folder}`` for every run folder under ``root``, sorted by variant then seed."""
    r = Path(root) if root else BENCHMARK_RUNS
    if not r.is_dir():
        return {}
    found = [p for p in r.iterdir() if (p / "result.json").is_file() and (p / "history.npz").is_file()]

    def key(p: Path):
        m = _NAME.match(p.name)
        return (m["variant"], int(m["seed"])) if m else (p.name, 0)

    return {p.name: p for p in sorted(found, key=key)}


def variant(name: str) -> str:
    m = _NAME.match(name)
    return m["variant"] if m else name


def load_runs(runs: dict[str, Path], names) -> list:
    """The named runs as RunResults whose ``method`` is their variant (e.g. ``darts@lr0.03``)."""
    from nasviz.distributions.results import load_run

    out = []
    for n in names:
        if n not in runs:
            raise NasvizError(f"no distribution run {n!r}; available: {', '.join(runs)}")
        r = load_run(runs[n])
        out.append(dataclasses.replace(r, method=variant(n)))
    return out
