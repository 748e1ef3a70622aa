"""Strategies: seeded, budget = distinct queries, resume by replay == uninterrupted, paper parameters."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.errors import NasvizError
from nasviz.search.loop import ReplayMismatch, run_loop
from nasviz.search.problem import make_problem
from nasviz.search.runs import build, validate_config
from nasviz.search.strategies import STRATEGIES, Invalid, Strategy

# onehot: the discrete encoding, always available, so these tests do not depend on shipped models
FAST = {
    "random": {},
    "evolution": {},
    "reinforce": {},
    "arch2vec-bo": {"embedding": "onehot", "top_k": 10},
    "arch2vec-rl": {"embedding": "onehot"},
    "dense": {"embedding": "onehot", "per_round": 8, "epochs": 30},
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    from nasviz.search.jobs import single_thread

    single_thread()


def trials_of(cfg):
    problem, strategy = build(cfg)
    res = run_loop(problem, strategy, cfg.budget)
    return res


@pytest.mark.parametrize("name", sorted(FAST))
def test_seeded_budgeted_and_resumable(name):
    cfg = validate_config(name, "nb201", "cifar10", budget=40, seed=7, params=FAST[name])
    full = trials_of(cfg)
    cells = [t.cell_index for t in full.trials]
    assert len(cells) == 40 and len(set(cells)) == 40  # budget counts distinct benchmark queries
    assert [t.number for t in full.trials] == list(range(40))
    problem = make_problem("nb201", "cifar10")
    signal = problem.signal_column()
    assert all(t.value == signal[t.cell_index] for t in full.trials)  # the 12-epoch cifar10-valid valid acc
    assert full.stats.queries == 40 and full.stats.asks == 40 + full.stats.duplicates + full.stats.invalid

    again = trials_of(cfg)
    assert [t.cell_index for t in again.trials] == cells  # same seed, same trials
    other = trials_of(validate_config(name, "nb201", "cifar10", budget=40, seed=8, params=FAST[name]))
    assert [t.cell_index for t in other.trials] != cells

    # interrupted after 17 trials: a fresh strategy replays them and finishes identically
    p2, s2 = build(cfg)
    resumed = run_loop(p2, s2, cfg.budget, history=full.trials[:17])
    assert resumed.stats.replayed == 17 and resumed.stats.queries == 23
    assert [t.cell_index for t in full.trials[:17] + resumed.trials] == cells
    assert [t.value for t in resumed.trials] == [t.value for t in full.trials[17:]]


def test_seeded_run_does_not_depend_on_the_callers_thread_count():
    """A run computes with one thread whatever the caller set, and gives the caller its setting back.

    Without the pin, the REINFORCE controller after 100 trials differs by ~1e-7 between 1 and 2
    torch threads (the LSTM's matrix products split their sums by thread), and a long run's
    trials diverge (a resumed worker at 1 thread vs a 2-thread process, after ~566 trials).
    """
    import torch

    saved = torch.get_num_threads()
    cfg = validate_config("reinforce", "nb201", "cifar10", budget=100, seed=5)
    out = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            problem, s = build(cfg)
            res = run_loop(problem, s, cfg.budget)
            assert torch.get_num_threads() == threads
            out.append(([t.cell_index for t in res.trials], [q.detach().clone() for q in s.controller.parameters()]))
    finally:
        torch.set_num_threads(saved)
    (cells1, w1), (cells2, w2) = out
    assert cells1 == cells2
    assert all(torch.equal(a, b) for a, b in zip(w1, w2))  # bit for bit


def test_replay_of_foreign_history_is_refused():
    cfg = validate_config("evolution", "nb201", "cifar10", budget=20, seed=1)
    a = trials_of(cfg)
    p, s = build(validate_config("evolution", "nb201", "cifar10", budget=20, seed=2))
    with pytest.raises(ReplayMismatch, match="resume diverged at trial 0"):
        run_loop(p, s, 20, history=a.trials)


def test_rea_uses_the_benchmark_papers_sizes():
    assert validate_config("evolution", "nb201").params == {"population": 10, "sample": 3}
    assert validate_config("evolution", "nb101").params == {"population": 100, "sample": 10}
    with pytest.raises(NasvizError, match="sample .* must not exceed population"):
        validate_config("evolution", "nb201", params={"population": 2, "sample": 3})


def test_rea_population_ages_out():
    problem = make_problem("nb201", "cifar10")
    s = STRATEGIES["evolution"](problem, np.random.default_rng(0))
    res = run_loop(problem, s, 60)
    told = [t.cell_index for t in res.trials]
    pop = [problem.index(c) for c, _ in s.population]
    assert len(pop) == 10 and pop == told[-10:]  # the 10 most recent distinct cells, oldest gone


def test_arch2vec_rl_paper_settings():
    p = validate_config("arch2vec-rl", "nb201", params={"embedding": "onehot"}).params
    assert (p["hidden"], p["episode"], p["lr"], p["discount"], p["baseline_decay"]) == (128, 16, 1e-2, 0.4, 0.4)
    p = validate_config("arch2vec-rl", "nb101", params={"embedding": "onehot"}).params
    assert (p["discount"], p["baseline_decay"]) == (0.8, 0.95)


class _Invalids(Strategy):
    """Proposes an invalid point, a duplicate and a new cell in turn (exercises the loop's accounting)."""

    name = "test-invalids"

    def __init__(self, problem, rng):
        super().__init__(problem, rng)
        self.k = 0
        self.last = None
        self.told = []

    def ask(self):
        self.k += 1
        if self.k % 3 == 1:
            return Invalid("decoded to no cell")
        if self.k % 3 == 2 and self.last is not None:
            return self.last
        self.last = self.problem.sample(self.rng)
        return self.last

    def tell(self, cell, value):
        self.told.append(value)


def test_invalid_and_duplicate_cost_no_budget_and_are_counted():
    problem = make_problem("nb201", "cifar10")
    s = _Invalids(problem, np.random.default_rng(0))
    res = run_loop(problem, s, 10)
    # asks 1..27: invalid at 1, 4, .., 25; duplicate at 5, 8, .., 26; new at 2, 3, 6, .., 27
    assert (res.stats.queries, res.stats.invalid, res.stats.duplicates, res.stats.asks) == (10, 9, 8, 27)
    assert problem.bench.counter.used == 10  # only new cells reached the benchmark
    assert s.told.count(None) == res.stats.invalid


def test_stalled_strategy_stops_with_a_clear_error():
    problem = make_problem("nb201", "cifar10")

    class Stuck(_Invalids):
        def ask(self):
            return Invalid("never valid")

    with pytest.raises(NasvizError, match="proposed 50 cells in a row without a new one"):
        run_loop(problem, Stuck(problem, np.random.default_rng(0)), 5, max_stall=50)


def test_dense_sampling_switches_and_eq4_region():
    problem = make_problem("nb201", "cifar10")
    s = STRATEGIES["dense"](problem, np.random.default_rng(0), embedding="onehot", epochs=20)
    run_loop(problem, s, 40)
    assert s.sampled["region"] > 0 and s.sampled["edge"] > 0 and s.sampled["anywhere"] > 0
    # Eq. 4: every promising point lies within sigma of some top-k code, per dimension
    top = s.Z[np.asarray(s.X_idx)[np.argsort(-np.asarray(s.y), kind="stable")[:3]]]
    for _ in range(50):
        z = s._promising_point()
        assert (np.abs(top - z).min(axis=0) <= 0.25 + 1e-12).all()
    off = STRATEGIES["dense"](problem, np.random.default_rng(0), embedding="onehot", epochs=20, dense=False)
    run_loop(problem, off, 40)
    assert off.sampled["region"] == 0 and off.sampled["edge"] == 0 and off.sampled["anywhere"] > 0


def test_dense_default_embedding_is_the_shipped_disentangled_beta_vae():
    cfg = validate_config("dense", "nb201", "cifar10", budget=5)  # builds once: the embedding must exist
    assert cfg.params["embedding"] == "bvae-beta1"
    _, s = build(cfg)
    assert s.Z.shape == (15625, 26)  # nb201-bvae-beta1: 26 latent dimensions, one row per cell


def test_region_search_samples_inside_the_region():
    problem = make_problem("nb201", "cifar10")
    # onehot dims 0..4 are edge 0's op; dim 3 = nor_conv_3x3
    region = {"kind": "intervals", "embedding": "onehot", "intervals": {"3": [0.5, 1.0]}}
    cfg = validate_config("region", "nb201", "cifar10", budget=30, seed=0, region=region,
                          params={"eps1": 1.0, "epochs": 20, "n_init": 8})
    res = trials_of(cfg)
    assert all(problem.cell(t.cell_index).ops[0] == 3 for t in res.trials)


def test_bo_surrogates_rank_better_than_chance():
    """EI on a GP/DNGO fitted to 16 random cells must pick better-than-median cells."""
    problem = make_problem("nb201", "cifar10")
    sig = problem.signal_column()
    for surrogate in ("gp", "dngo"):
        s = STRATEGIES["arch2vec-bo"](problem, np.random.default_rng(0), embedding="onehot", surrogate=surrogate)
        res = run_loop(problem, s, 26)
        picked = [sig[t.cell_index] for t in res.trials[16:]]
        assert np.median(picked) > np.median(sig), surrogate


@pytest.mark.parametrize("name", ["random", "evolution"])
def test_nb101_sample_stays_inside_the_table(name):
    cfg = validate_config(name, "nb101", "cifar10", budget=120, seed=0)
    problem, strategy = build(cfg)
    res = run_loop(problem, strategy, cfg.budget)
    sig = problem.signal_column()
    rows = [t.cell_index for t in res.trials]
    assert len(set(rows)) == 120 and res.stats.unavailable == 0
    assert [t.value for t in res.trials] == [sig[r] for r in rows]  # NB101 108-epoch validation accuracy


_NB101_ARCH2VEC = __import__("pathlib").Path(__file__).resolve().parent.parent / "data/embeddings/nb101-arch2vec.npz"


@pytest.mark.parametrize("name", ["arch2vec-rl", "dense"])
def test_nb101_latent_strategies_decode_to_cells_with_results(name):
    """The whole-space NB101 embedding (423,624 rows) is cut to the 30,001 sample rows; latent points
    are decoded to sample cells, and those whose nearest cell of the whole space has no result are counted."""
    from nasviz.search.embeddings import load_embedding

    params = {"embedding": "arch2vec"} if name == "dense" else {}
    cfg = validate_config(name, "nb101", "cifar10", budget=30, seed=0, params=params)
    problem, strategy = build(cfg)
    full = np.load(_NB101_ARCH2VEC)["means"]
    assert full.shape[0] == 423_624
    z = load_embedding(problem, "arch2vec")
    assert z.shape == (30_001, full.shape[1]) and np.array_equal(z, full[problem.bench.indices].astype(np.float32))
    res = run_loop(problem, strategy, cfg.budget)
    sig = problem.signal_column()
    assert len({t.cell_index for t in res.trials}) == 30 and res.stats.unavailable == 0
    assert [t.value for t in res.trials] == [sig[t.cell_index] for t in res.trials]
    st = strategy.extra_stats()
    # 93% of NB101 cells have no result in the sample: most decoded points land on one first
    assert st["decoded_points"] >= 30 and 0 < st["decoded_without_result"] <= st["decoded_points"]
