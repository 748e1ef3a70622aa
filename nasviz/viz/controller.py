"""The ENAS controller study (Adam & Lorraine, paper 001) as tables the app shows.

The figures themselves are :mod:`nasviz.analysis.controller`'s ``fig_*`` functions; this
module turns its Table 1 dict into a frame with the paper's numbers beside ours, reads
the stored benchmark result (``benchmarks/results/controller.json``, all seeds, written
by ``benchmarks/bench_controller.py``), and computes the figure data on one torch thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nasviz.errors import DataFileError
from nasviz.paths import REPO_ROOT

RESULT_PATH = REPO_ROOT / "benchmarks" / "results" / "controller.json"


def table1_frame(t: dict) -> pd.DataFrame:
    """One row per controller kind; per measure ``ours`` (mean and 95 % interval over seeds, or mean ± std
    where no interval is stored) and ``paper``."""
    from nasviz.analysis.controller import MEASURE_LABELS, MEASURES

    rows = []
    for kind, row in t["rows"].items():
        out = {"controller": kind, "seeds": len(row["seeds"])}
        for m in MEASURES:
            s = row["measures"][m]
            mean = s["mean"] if s["mean"] is not None else float("nan")
            std = s["std"] if s.get("std") is not None else float("nan")
            label = MEASURE_LABELS[m]
            ci = [float("nan") if x is None else x for x in (s.get("ci95") or [None, None])]
            out[f"{label} (ours)"] = ("undefined" if np.isnan(mean) else
                                      f"{mean:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]" if not np.isnan(ci[0]) else
                                      f"{mean:+.3f}" + ("" if np.isnan(std) else f" ± {std:.3f}"))
            out[f"{label} (paper)"] = "" if s.get("paper") is None else f"{s['paper']:+.3f}"
        rows.append(out)
    return pd.DataFrame(rows)


def stored_table1(path: Path | None = None, space: str = "nb201") -> dict | None:
    """``{"table1", "n_archs", "n_pairs", "hardware", ...}`` of ``space`` from the benchmark result (NB201 at
    the top level, NB101 under its ``nb101`` key), or None if absent."""
    from nasviz.fileio import read_result

    p = Path(path) if path else RESULT_PATH
    doc = read_result(p, script="bench_controller.py")
    if doc is None:
        return None
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


def separation_frame(sep: dict) -> pd.DataFrame:
    """The supervised - unsupervised verdicts (``analysis.controller.separation``) as a table."""
    from nasviz.analysis.controller import MEASURE_LABELS

    rows = []
    for m, x in sep.items():
        lo, hi = (float("nan") if v is None else v for v in x["ci95"])
        rows.append({"measure": MEASURE_LABELS[m], "supervised - unsupervised": f"{x['diff']:+.3f}",
                     "95 % interval": f"[{lo:+.3f}, {hi:+.3f}]", "paper": f"{x['paper_diff']:+.3f}",
                     "verdict": x["verdict"]})
    return pd.DataFrame(rows)


def determinism_caption(probs: dict[str, np.ndarray], skip: int = 2) -> str:
    """Paper Fig. 1/4's claim and what the plotted max-probabilities say about it: the lowest mean (over the
    sampled architectures) max-probability of each controller after its first ``skip`` decisions."""
    parts = []
    for kind, p in probs.items():
        m = np.asarray(p, dtype=np.float64).mean(0)[skip:]
        if m.size:
            parts.append(f"{kind} {m.min():.2f} (step {int(m.argmin()) + skip + 1})")
    trained = [k for k in probs if k != "random"]
    lows = {k: np.asarray(probs[k], dtype=np.float64).mean(0)[skip:].min() for k in trained if
            np.asarray(probs[k]).shape[1] > skip}
    if lows and all(v >= 0.9 for v in lows.values()):
        verdict = "Here too: every trained controller stays near-deterministic (mean max-probability >= 0.9)."
    elif lows:
        verdict = ("Not here for every step: " +
                   ", ".join(f"{k}'s mean max-probability dips to {v:.2f}" for k, v in lows.items() if v < 0.9) + ".")
    else:
        verdict = ""
    return ("Paper Fig. 1/4: trained ENAS controllers become near-deterministic after the first few decisions. "
            f"Lowest mean max-probability after decision {skip}: " + ", ".join(parts) + ". " + verdict).strip()


def hidden_caption(hidden: dict[str, np.ndarray]) -> str:
    """Paper Fig. 3's claim and what the plotted hidden states say about it: each controller's mean per-neuron
    variance of the final hidden state across its sampled architectures, and how the supervised controller's
    compares with the unsupervised one's (the paper: the unsupervised state collapses to one vector, the
    supervised one varies). The untrained (random) controller's state is small for every architecture, so its
    variance is the floor, not the paper's collapse."""
    from nasviz.analysis.controller import mean_neuron_variance

    var = mean_neuron_variance(hidden)
    parts = ", ".join(f"{k} {v:.2e}" for k, v in var.items())
    verdict = ""
    if "supervised" in var and "unsupervised" in var:
        sup, uns = var["supervised"], var["unsupervised"]
        ratio = sup / max(uns, 1e-300)
        if ratio >= 2:  # the Learn lesson's threshold: a collapse is a difference of at least 2x
            verdict = f"Here too: the supervised controller's state varies {ratio:.1f}x more than the unsupervised one's."
        elif ratio > 0.5:
            verdict = (f"Not clearly here: the two controllers' states vary within 2x of each other "
                       f"(supervised / unsupervised {ratio:.2f}).")
        else:
            verdict = (f"Not here: the supervised controller's state varies less than the unsupervised one's "
                       f"({ratio:.2f}x).")
    return ("Paper Fig. 3: the unsupervised ENAS controller's final hidden state converges to the same vector "
            "whatever it samples; the supervised one (memory buffer) varies per neuron, so it tells architectures "
            f"apart. Mean per-neuron variance here: {parts}. {verdict}").strip()


def stored_schedule(space: str = "nb201", path: Path | None = None) -> dict | None:
    """The stored separation-along-training result (``schedule`` of controller.json) with its step marks."""
    doc = stored_table1(path, space=space)
    if doc is None or "schedule" not in doc:
        return None
    return {"curve": doc["schedule"], **doc.get("schedule_marks", {})}
