"""Reduced versions of the stored controller, search and ablation figures, for the reproducibility tests.

The app shows three more kinds of "measured" figure than arch2vec's Table 1 (see reduced_models.py):

* **ENAS controller Table 1** (benchmarks/results/controller.json, by bench_controller.py): per kind, Spearman
  correlations between hidden-state distances and four similarity measures over 10,000 pairs of 1,000 sampled
  cells, per shipped seed. Reduced here: the seed-0 checkpoint of each kind, 300 sampled cells, 2,000 pairs
  (sampling seed 0), with the checkpoint hash. Before storing, the full-size seed-0 row is recomputed and must equal
  the per-seed values controller.json holds, so the reduced figure and the stored table come from the same
  checkpoints and code.
* **Search means** (benchmarks/results/search.json, derived by bench_search.py from the queried cells in
  search_runs.jsonl): ``random`` and ``evolution`` on NB201 cifar10, seeds 0 and 1, budget 30: the queried cells
  in order and the mean 200-epoch test accuracy of the best-by-signal cell (the figure search.json reports, at
  budget 30). The strategies never see the budget, so these cells must also be the first 30 of the stored runs.
* **The dense / disentangled ablation** (``ablation`` in search.json): strategy ``dense`` on the NB201
  ``bvae-beta1`` embedding, seeds 0 and 1, budget 30, with the embedding's checkpoint hash (from the file's meta)
  and the file's sha256, so a test can tell "the embedding changed" from "the search changed".

Everything here is seeded and runs with one compute thread, so the test expects the same numbers (see
tests/test_reproducibility_more.py for the tolerances). Run it again only when a checkpoint, an embedding or the
benchmark table is changed on purpose:

    python benchmarks/reduced_results.py     # writes benchmarks/results/reduced_results.json
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks/results/reduced_results.json"
CONTROLLER_JSON = ROOT / "benchmarks/results/controller.json"
SEARCH_RUNS = ROOT / "benchmarks/results/search_runs.jsonl"

# -- what is reduced, and how far
CONTROLLER_SEED = 0  # the shipped checkpoint (models/nb201-controller-<kind>/seed0)
N_ARCHS, N_PAIRS, SAMPLE_SEED = 300, 2_000, 0  # controller.json: 1,000 cells, 10,000 pairs, seed 0
SEARCH_SPACE, SEARCH_DATASET = "nb201", "cifar10"
SEARCH_LABELS = ("random", "evolution")
ABLATION_LABEL = "dense-bvae-beta1"
SEARCH_SEEDS = (0, 1)
BUDGET = 30  # search.json: 50-200 queries, 50 seeds (ablation: 50-100 queries, 20-50 seeds)
TABLE_FILE = "nb201/nb201.npz"  # the benchmark table the searches query (under data/)


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- controller Table 1 ---------------------------------------------------------------------------------------
def controller_row(kind: str, n_archs: int = N_ARCHS, n_pairs: int = N_PAIRS) -> dict:
    """Table 1's measures for the seed-0 checkpoint of ``kind`` on ``n_archs`` sampled cells, ``n_pairs`` pairs."""
    import torch

    from nasviz.analysis import controller as A
    from nasviz.analysis.embeddings import checkpoint_hash
    from nasviz.bench import get_benchmark
    from nasviz.controllers import io

    torch.set_num_threads(1)  # as bench_controller.py
    bench = get_benchmark("nb201")
    (ctrl, doc), = A.load_shipped("nb201", kinds=[kind], seeds=[CONTROLLER_SEED])[kind]
    sc = A.similarity_correlations(ctrl, A.reward_values(doc, bench), n_archs, n_pairs, SAMPLE_SEED, bench)
    folder = io.checkpoint_dir("nb201", kind, CONTROLLER_SEED)
    return {"spearman": {m: _num(v) for m, v in sc["spearman"].items()},
            "spearman_distinct": {m: _num(v) for m, v in sc["spearman_distinct"].items()},
            "n_unique_archs": sc["n_unique_archs"], "identical_pairs": sc["identical_pairs"],
            "mean_distance": sc["mean_distance"], "invalid_draws": sc["invalid_draws"],
            "n_archs": n_archs, "n_pairs": n_pairs, "sample_seed": SAMPLE_SEED,
            "checkpoint": str(folder.relative_to(ROOT)), "checkpoint_hash": checkpoint_hash(folder)}


def stored_controller_seed_row(kind: str, doc: dict | None = None) -> dict:
    """controller.json's Table 1 values for the seed-0 checkpoint of ``kind`` (4 decimals, as stored)."""
    doc = doc if doc is not None else json.loads(CONTROLLER_JSON.read_text())
    out = {}
    for key, table in (("spearman", "table1"), ("spearman_distinct", "table1_distinct_pairs")):
        row = doc[table]["rows"][kind]
        i = row["seeds"].index(CONTROLLER_SEED)
        out[key] = {m: v["per_seed"][i] for m, v in row["measures"].items()}
    row = doc["table1"]["rows"][kind]
    i = row["seeds"].index(CONTROLLER_SEED)
    out["n_unique_archs"], out["identical_pairs"] = row["n_unique_archs"][i], row["identical_pairs"][i]
    return out


def _rounded(d: dict) -> dict:
    return {m: None if v is None else round(v, 4) for m, v in d.items()}


def controller_section() -> dict:
    from nasviz.analysis.controller import KINDS

    stored = json.loads(CONTROLLER_JSON.read_text())
    if (stored["n_archs"], stored["n_pairs"], stored["seed"]) != (1000, 10_000, SAMPLE_SEED):
        raise SystemExit(f"controller.json was measured at {stored['n_archs']} cells / {stored['n_pairs']} pairs / "
                         f"seed {stored['seed']}; this script checks it at 1000 / 10000 / {SAMPLE_SEED}")
    rows = {}
    for kind in KINDS:
        # the full-size seed-0 row first: it must be what controller.json shows, else the stored table is stale
        full = controller_row(kind, stored["n_archs"], stored["n_pairs"])
        table = stored_controller_seed_row(kind, stored)
        now = {"spearman": _rounded(full["spearman"]), "spearman_distinct": _rounded(full["spearman_distinct"]),
               "n_unique_archs": full["n_unique_archs"], "identical_pairs": full["identical_pairs"]}
        if now != table:
            raise SystemExit(f"{kind} seed {CONTROLLER_SEED}: the full-size Table 1 row recomputed now\n  {now}\n"
                             f"differs from controller.json's\n  {table}\nrerun benchmarks/bench_controller.py first")
        rows[kind] = {**controller_row(kind), "controller_json_seed_row": table}
        print(f"controller {kind:<12} seed {CONTROLLER_SEED}: full-size row equals controller.json; reduced "
              f"{_rounded(rows[kind]['spearman'])}", flush=True)
    return {"what": f"Table 1 (Spearman of hidden-state distance vs each measure) of the seed-{CONTROLLER_SEED} "
                    f"checkpoint per kind, on {N_ARCHS} sampled cells and {N_PAIRS} pairs (sampling seed "
                    f"{SAMPLE_SEED}); controller_json_seed_row: that checkpoint's full-size values in "
                    "controller.json (1,000 cells, 10,000 pairs), recomputed equal before this file was written",
            "rows": rows}


# -- searches -------------------------------------------------------------------------------------------------
def _variants() -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_search import VARIANTS  # the strategy parameters the stored runs used

    return VARIANTS


def embedding_meta(embedding: str, space: str = SEARCH_SPACE) -> dict:
    """The embedding file a latent strategy reads: its checkpoint hash (from its meta) and its sha256."""
    from nasviz.analysis.embeddings import embeddings_dir, load_embeddings

    path = embeddings_dir() / f"{space}-{embedding}.npz"
    meta = load_embeddings(f"{space}-{embedding}")["meta"]
    return {"file": str(path.relative_to(ROOT)), "checkpoint_hash": meta.get("checkpoint_hash"),
            "sha256": sha256(path)}


def search_run(label: str, seed: int, budget: int = BUDGET, problem=None) -> dict:
    """One seeded run as bench_search.py runs it: queried cells, best-by-signal cell, its 200-epoch test acc."""
    from nasviz.search.jobs import single_thread
    from nasviz.search.loop import run_loop
    from nasviz.search.problem import make_problem
    from nasviz.search.strategies import get_strategy

    single_thread()
    problem = problem or make_problem(SEARCH_SPACE, SEARCH_DATASET)
    strategy, params = _variants()[label]
    s = get_strategy(strategy)(problem, np.random.default_rng(seed), **params)
    cells = [t.cell_index for t in run_loop(problem, s, budget).trials]
    sig = problem.signal_column()[cells]
    best = cells[int(np.argmax(sig))]  # the first best, as bench_search.py's report
    return {"cells": cells, "best_cell": int(best), "best_signal": float(sig.max()),
            "best_test_acc": float(problem.report_columns()["test_200ep"][best])}


def stored_runs(label: str, seed: int, embedding_hash: str | None = None) -> list[dict]:
    """The runs behind search.json for (label, seed) on NB201 cifar10 (a latent arm: only those that searched
    the embedding with ``embedding_hash``; rows written before the hash was recorded are left out)."""
    out = []
    if not SEARCH_RUNS.exists():
        return out
    for line in SEARCH_RUNS.read_text().splitlines():
        try:
            d = json.loads(line)
        except ValueError:  # a line being appended by a running benchmark
            continue
        if (d.get("space", "nb201"), d["variant"], d["dataset"], d["seed"]) != (SEARCH_SPACE, label, SEARCH_DATASET,
                                                                                  seed):
            continue
        if embedding_hash is not None and d.get("embedding_checkpoint_hash") != embedding_hash:
            continue
        out.append(d)
    return out


def search_section(label: str) -> dict:
    from nasviz.paths import data_dir
    from nasviz.search.problem import make_problem

    problem = make_problem(SEARCH_SPACE, SEARCH_DATASET)
    strategy, params = _variants()[label]
    emb = embedding_meta(params["embedding"]) if "embedding" in params else None
    runs = {str(seed): search_run(label, seed, BUDGET, problem) for seed in SEARCH_SEEDS}
    for seed, r in runs.items():
        stored = stored_runs(label, int(seed), emb and emb["checkpoint_hash"])
        bad = [d["budget"] for d in stored if d["cells"][:BUDGET] != r["cells"]]
        if bad:
            raise SystemExit(f"{label} seed {seed}: the stored run(s) of budget {bad} in search_runs.jsonl do not start "
                             f"with the cells queried now; rerun benchmarks/bench_search.py for this arm first")
        r["stored_runs_checked"] = [d["budget"] for d in stored]
    out = {"strategy": strategy, "params": params, "space": SEARCH_SPACE, "dataset": SEARCH_DATASET,
           "budget": BUDGET, "seeds": list(SEARCH_SEEDS),
           "mean_best_test_acc": float(np.mean([r["best_test_acc"] for r in runs.values()])),
           "table_sha256": sha256(data_dir() / TABLE_FILE), "runs": runs}
    if emb:
        out["embedding"] = emb
    print(f"search {label:<18} budget {BUDGET} seeds {list(SEARCH_SEEDS)}: mean test {out['mean_best_test_acc']:.3f}; "
          f"stored runs checked: {[r['stored_runs_checked'] for r in runs.values()]}", flush=True)
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="write benchmarks/results/reduced_results.json")
    ap.add_argument("--only", choices=("controller", "search", "ablation"), action="append",
                    help="recompute only these sections (the others are kept from the file); default: all")
    args = ap.parse_args()
    only = set(args.only or ("controller", "search", "ablation"))
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    out = {"what": "reduced versions of stored figures the app shows as measured, recomputed by "
                   "tests/test_reproducibility_more.py; written by benchmarks/reduced_results.py",
           "controller_table1": controller_section() if "controller" in only else old.get("controller_table1", {}),
           "search": ({label: search_section(label) for label in SEARCH_LABELS} if "search" in only
                      else old.get("search", {})),
           "ablation": {ABLATION_LABEL: search_section(ABLATION_LABEL)} if "ablation" in only else old.get("ablation", {})}
    OUT.write_text(json.dumps(out, indent=1, allow_nan=False) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
