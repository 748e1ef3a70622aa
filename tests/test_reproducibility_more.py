"""Stored "measured" figures beyond arch2vec's Table 1, recomputed in reduced form with the current code.

The reduced figures live in benchmarks/results/reduced_results.json, written by benchmarks/reduced_results.py
(its docstring says what each reduces and how it is tied to the full stored file). Everything is seeded and runs
with one compute thread, so:

* ENAS controller Table 1 (controller.json): the seed-0 checkpoint of each kind on 300 cells / 2,000 pairs. Counts
  (distinct cells sampled, identical pairs) must be equal; each Spearman rho within 1e-6 (float round-off of the
  float32 hidden states only; any change to sampling, pairs or a measure moves rho by far more). The stored full-size
  seed-0 row in controller.json must still be the one the reduced file was checked against.
* Search means (search.json): random and evolution, NB201 cifar10, seeds 0 and 1, 30 queries. The queried cells are
  compared exactly, the mean test accuracy of the best-by-signal cell within 1e-9; the runs behind search.json
  (search_runs.jsonl) must start with the same 30 cells (no strategy sees its budget).
* The dense / disentangled ablation (``ablation`` in search.json): ``dense`` on the NB201 bvae-beta1 embedding, the
  same seeds and budget, exact cells. When the embedding's model was retrained since the reduced figure was stored,
  the test says so instead of reporting a cell mismatch.

A failure on a changed checkpoint, embedding or table is on purpose: rerun benchmarks/reduced_results.py (and the
benchmark that owns the full figure) when the change was meant.
"""

from __future__ import annotations

import json
import math
import sys

import pytest

from nasviz.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import reduced_results as R  # noqa: E402

REDUCED = json.loads(R.OUT.read_text())
RERUN = "rerun benchmarks/reduced_results.py if the change was meant"
RHO_TOL = 1e-6


def _same_rho(now: dict, stored: dict) -> bool:
    return now.keys() == stored.keys() and all(
        (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=0, abs_tol=RHO_TOL))
        for a, b in ((now[m], stored[m]) for m in stored))


# -- ENAS controller Table 1 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["random", "unsupervised", "supervised"])
def test_controller_table1_row_of_a_shipped_checkpoint_is_reproduced(kind):
    stored = REDUCED["controller_table1"]["rows"][kind]
    now = R.controller_row(kind)
    assert now["checkpoint_hash"] == stored["checkpoint_hash"], (
        f"{stored['checkpoint']}: the checkpoint changed since the reduced Table 1 row was measured; {RERUN}")
    assert (now["n_archs"], now["n_pairs"], now["sample_seed"]) == (stored["n_archs"], stored["n_pairs"],
                                                                     stored["sample_seed"])
    assert (now["n_unique_archs"], now["identical_pairs"], now["invalid_draws"]) == (
        stored["n_unique_archs"], stored["identical_pairs"], stored["invalid_draws"])
    assert _same_rho(now["spearman"], stored["spearman"]), (now["spearman"], stored["spearman"])
    assert _same_rho(now["spearman_distinct"], stored["spearman_distinct"]), (now["spearman_distinct"],
                                                                              stored["spearman_distinct"])
    assert now["mean_distance"] == pytest.approx(stored["mean_distance"], rel=1e-6)
    # the table the Controller page shows still holds the full-size row this reduced one was checked against
    assert R.stored_controller_seed_row(kind) == stored["controller_json_seed_row"], (
        f"controller.json's {kind} seed-{R.CONTROLLER_SEED} row changed since reduced_results.json was written; {RERUN}")


# -- search means and the ablation -----------------------------------------------------------------------------
def _check_search(label: str, stored: dict) -> None:
    from nasviz.paths import data_dir
    from nasviz.search.problem import make_problem

    table = data_dir() / R.TABLE_FILE
    assert R.sha256(table) == stored["table_sha256"], f"{table}: the benchmark table changed since measured; {RERUN}"
    assert R._variants()[label] == (stored["strategy"], stored["params"])  # the arm bench_search.py runs
    problem = make_problem(stored["space"], stored["dataset"])
    now = {str(s): R.search_run(label, s, stored["budget"], problem) for s in stored["seeds"]}
    for seed, run in stored["runs"].items():
        assert len(now[seed]["cells"]) == stored["budget"] == len(set(now[seed]["cells"]))
        assert now[seed]["cells"] == run["cells"], f"{label} seed {seed}: the queried cells differ"
        assert now[seed]["best_cell"] == run["best_cell"]
        assert now[seed]["best_test_acc"] == pytest.approx(run["best_test_acc"], abs=1e-9)
    mean = sum(r["best_test_acc"] for r in now.values()) / len(now)
    assert mean == pytest.approx(stored["mean_best_test_acc"], abs=1e-9)
    # the runs search.json is derived from start with the same cells
    emb_hash = stored.get("embedding", {}).get("checkpoint_hash")
    for seed in stored["seeds"]:
        for d in R.stored_runs(label, seed, emb_hash):
            assert d["cells"][: stored["budget"]] == now[str(seed)]["cells"], (
                f"{label} seed {seed}: the stored run of budget {d['budget']} in search_runs.jsonl started otherwise")


@pytest.mark.parametrize("label", ["random", "evolution"])
def test_search_cells_and_mean_are_reproduced(label):
    stored = REDUCED["search"][label]
    _check_search(label, stored)
    # the reduced figure is tied to the stored runs: each seed was checked against one behind search.json
    assert all(r["stored_runs_checked"] for r in stored["runs"].values())


def test_evolution_is_not_random_search_at_the_reduced_budget():
    """So the two search tests check different code: the first `population` cells are random, then mutations."""
    ev, rnd = REDUCED["search"]["evolution"]["runs"]["0"]["cells"], REDUCED["search"]["random"]["runs"]["0"]["cells"]
    assert ev[:10] == rnd[:10] and ev[10:] != rnd[10:]


def test_dense_bvae_beta1_ablation_arm_is_reproduced():
    label = R.ABLATION_LABEL
    stored = REDUCED["ablation"][label]
    emb = R.embedding_meta(stored["params"]["embedding"])
    assert emb["checkpoint_hash"] == stored["embedding"]["checkpoint_hash"], (
        f"{emb['file']}: the embedding changed since it was measured (its model was retrained: checkpoint "
        f"{emb['checkpoint_hash']}, measured with {stored['embedding']['checkpoint_hash']}); {RERUN}")
    try:
        _check_search(label, stored)
    except AssertionError as e:
        if emb["sha256"] != stored["embedding"]["sha256"]:  # same model, the file was written again
            raise AssertionError(f"{e}\n(note: {emb['file']} was rewritten since it was measured, from the same "
                                 "checkpoint)") from e
        raise
