"""The ENAS controller study (Adam & Lorraine, paper 001) as tables the app shows.

The figures themselves are :mod:`nasviz.analysis.controller`'s ``fig_*`` functions; this
module turns its Table 1 dict into a frame with the paper's numbers beside ours, reads
the stored benchmark result (``benchmarks/results/controller.json``, all seeds, written
by ``benchmarks/bench_controller.py``), and computes the figure data on one torch thread.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nasviz.errors import DataFileError
from nasviz.paths import REPO_ROOT

RESULT_PATH = REPO_ROOT / "benchmarks" / "results" / "controller.json"


def table1_frame(t: dict) -> pd.DataFrame:
    """One row per controller kind; per measure ``ours`` (mean ± std over seeds) and ``paper``."""
    from nasviz.analysis.controller import MEASURE_LABELS, MEASURES

    rows = []
    for kind, row in t["rows"].items():
        out = {"controller": kind, "seeds": len(row["seeds"])}
        for m in MEASURES:
            s = row["measures"][m]
            mean = s["mean"] if s["mean"] is not None else float("nan")
            std = s["std"] if s.get("std") is not None else float("nan")
            label = MEASURE_LABELS[m]
            out[f"{label} (ours)"] = ("undefined" if np.isnan(mean) else
                                      f"{mean:+.3f}" + ("" if np.isnan(std) else f" ± {std:.3f}"))
            out[f"{label} (paper)"] = "" if s.get("paper") is None else f"{s['paper']:+.3f}"
        rows.append(out)
    return pd.DataFrame(rows)


def stored_table1(path: Path | None = None, space: str = "nb201") -> dict | None:
    """``{"table1", "n_archs", "n_pairs", "hardware", ...}`` of ``space`` from the benchmark result (NB201 at
    the top level, NB101 under its ``nb101`` key), or None if absent."""
    p = Path(path) if path else RESULT_PATH
    if not p.is_file():
        return None
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise DataFileError(f"{p} is not readable JSON ({e}); rerun benchmarks/bench_controller.py") from e
    if space != doc.get("space", "nb201"):
        doc = doc.get(space)
        if doc is None:
            return None
    if "table1" not in doc:
        raise DataFileError(f"{p} has no {space} table1; rerun benchmarks/bench_controller.py")
    t = doc["table1"]
    for row in t["rows"].values():  # strict JSON stores NaN as null
        for s in row["measures"].values():
            s["mean"] = float("nan") if s["mean"] is None else s["mean"]
            s["std"] = float("nan") if s.get("std") is None else s["std"]
    return doc


def figure_data(controllers: dict, bench, *, n: int = 100, n_acc: int = 1000, seed: int = 0) -> dict:
    """Data of Fig. 1/4 (max action probs), Fig. 2 (sampled accuracy) and Fig. 3 (hidden states),
    one checkpoint per kind (``controllers``: ``{kind: (ctrl, doc)}``)."""
    from nasviz.analysis import controller as A
    from nasviz.viz.traversal import one_thread

    with one_thread():
        probs = {k: A.max_action_probs(c, n, seed) for k, (c, _) in controllers.items()}
        acc = {k: A.sampled_accuracy(c, A.reward_values(doc, bench), n_acc, seed) for k, (c, doc) in controllers.items()}
        hidden = {k: A.sampled_hidden(c, n, seed)[0] for k, (c, _) in controllers.items()}
    return {"probs": probs, "acc": acc, "hidden": hidden}


def table1_live(controllers: dict, bench, *, n_archs: int, n_pairs: int, seed: int = 0) -> dict:
    """Table 1 computed now (on one torch thread) over the given checkpoints (``{kind: [(ctrl, doc), ...]}``)."""
    from nasviz.analysis import controller as A
    from nasviz.viz.traversal import one_thread

    with one_thread():
        return A.table1(controllers, bench, n_archs=n_archs, n_pairs=n_pairs, seed=seed)
