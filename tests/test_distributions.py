"""Architecture distributions: supernet runs, estimators, convergence, storage, figures, bad input."""

from __future__ import annotations

import json
import math
import os
import pickle
import sys

import numpy as np
import pytest
import torch

from nasviz.bench.nb201 import NB201Benchmark
from nasviz.distributions import estimators as est
from nasviz.distributions.figures import (anytime_weights_figure, estimator_variance_figure,
                                          flops_estimator_variance_figure, mutual_information_figure,
                                          regret_figure, run_mutual_information)
from nasviz.distributions.learners import METHODS, LearnerConfig
from nasviz.distributions.results import convergence_step, load_run, load_run_from_store, mutual_information
from nasviz.distributions.run import SearchConfig, run_search
from nasviz.distributions.supernet import load_cifar10_folder, load_search_data
from nasviz.errors import DataFileError, NasvizError
from nasviz.spaces.nb201 import NB201Cell

torch.set_num_threads(1)


def tiny(method: str, **kw) -> SearchConfig:
    base = dict(method=method, seed=0, epochs=1, batch_size=16, channels=4, max_steps=3, mi_samples=400,
                variance_points=1, variance_samples=2, variance_samples_flops=50, flops_variance_every_step=300, device="cpu",
                learner=LearnerConfig(arch_lr=0.05, surrogate_samples=500))
    base.update(kw)
    return SearchConfig(**base)


@pytest.fixture(scope="module")
def bench():
    return NB201Benchmark()


@pytest.fixture(scope="module")
def runs(bench):
    return {m: run_search(tiny(m), bench=bench) for m in METHODS}


# -- every method runs on the supernet ------------------------------------------------
@pytest.mark.parametrize("method", list(METHODS))
def test_method_runs_and_records_valid_distributions(runs, bench, method):
    r = runs[method]
    assert r.probs.shape == (4, 6, 5) and r.steps == 3
    assert np.all(r.probs >= 0) and np.allclose(r.probs.sum(axis=2), 1.0, atol=1e-6)
    assert not np.allclose(r.probs[-1], r.probs[0]), "the distribution never moved"
    for t in range(4):  # the derived cell is the argmax, looked up in the real table
        cell = NB201Cell(tuple(int(i) for i in r.probs[t].argmax(axis=1)))
        assert r.derived_index[t] == bench.space.index(cell)
        assert r.test_acc["cifar10"][t] == pytest.approx(bench.query(cell, "test", "cifar10", 200))
    assert np.isfinite(r.train_loss).all() and len(r.train_loss) == 3


def test_regret_is_against_the_best_cell_of_the_real_table(runs, bench):
    r = runs["darts"]
    assert r.best_test_acc["cifar10"] == pytest.approx(94.37, abs=0.005)  # cell 6111, the published optimum
    assert r.best_test_acc["cifar10"] == pytest.approx(bench.best("test", "cifar10", 200)[1])
    cell = bench.space.cell(int(r.derived_index[-1]))
    expected = 94.37 - bench.query(cell, "test", "cifar10", 200)
    assert r.regret("cifar10")[-1] == pytest.approx(expected, abs=0.005)
    assert np.all(r.regret("cifar100") >= 0) and np.all(r.regret("ImageNet16-120") >= 0)


def test_unas_records_estimator_variance_and_a_linear_flops_surrogate(runs):
    r = runs["unas"]
    assert len(r.estimator_variance) == 1
    tv = r.estimator_variance[0]["trace_var"]
    assert set(tv) == {"d:reinforce", "d:gumbel", "d:rebar", "n:reinforce", "n:gumbel", "n:relax"}
    assert all(v >= 0 and math.isfinite(v) for v in tv.values())
    assert r.extra["flops_surrogate_r2"] > 0.999  # NB201 FLOPs are linear in the op one-hots
    per_step = r.extra["flops_estimator_trace_var_per_step"]
    assert set(per_step) == {"n:reinforce", "n:gumbel", "n:relax"} and all(len(v) == 3 for v in per_step.values())
    # a near-perfect linear surrogate must make RELAX clearly better than REINFORCE on the FLOPs term
    assert np.mean(per_step["n:relax"]) < 0.6 * np.mean(per_step["n:reinforce"])


def test_measuring_estimator_variance_does_not_change_the_run(bench, runs):
    quiet = run_search(tiny("unas", variance_points=0, flops_variance_every_step=0, mi_samples=0), bench=bench)
    assert not quiet.estimator_variance and runs["unas"].estimator_variance
    np.testing.assert_allclose(quiet.probs, runs["unas"].probs, rtol=0, atol=1e-6)


def test_runs_are_reproducible_from_the_seed(bench):
    a = run_search(tiny("vimnas", max_steps=2), bench=bench)
    b = run_search(tiny("vimnas", max_steps=2), bench=bench)
    np.testing.assert_allclose(a.probs, b.probs, rtol=0, atol=1e-6)


# -- estimators: unbiased vs REINFORCE / the exact gradient (statistical) --------------
LOGITS = torch.tensor([[0.5, -0.3, 0.1], [1.0, 0.0, -1.0]])
TARGET = torch.tensor([[0.1, 0.9, 0.3], [0.7, 0.2, 0.5]])


def f_toy(w: torch.Tensor) -> torch.Tensor:  # differentiable, with an edge interaction
    return ((w - TARGET) ** 2).sum(dim=(1, 2)) + 2.0 * w[:, 0, 1] * w[:, 1, 2]


def _z(grads: torch.Tensor, exact: torch.Tensor) -> float:
    se = grads.std(0) / math.sqrt(grads.shape[0])
    return float(((grads.mean(0) - exact) / se).abs().max())


def test_rebar_is_unbiased_like_reinforce_and_gumbel_softmax_is_not():
    exact = est.exact_gradient(LOGITS, f_toy)
    s = est.draw(LOGITS, 40_000, tau=0.5, generator=torch.Generator().manual_seed(3))
    g_rf = est.estimate("reinforce", s, f_toy, baseline=float(f_toy(s.z).mean()))
    g_rb = est.estimate("rebar", s, f_toy, f_toy)
    g_gs = est.estimate("gumbel", s, f_toy, f_toy)
    assert _z(g_rf, exact) < 4.5
    assert _z(g_rb, exact) < 4.5
    diff = g_rb - g_rf  # paired: REBAR and REINFORCE agree in expectation
    assert float((diff.mean(0) / (diff.std(0) / math.sqrt(len(diff)))).abs().max()) < 4.5
    assert _z(g_gs, exact) > 10, "Gumbel-Softmax should be detectably biased here; the test has no power"


def test_relax_is_unbiased_for_a_non_differentiable_loss_and_lowers_variance():
    rng = np.random.default_rng(0)
    table = torch.as_tensor(rng.normal(size=9), dtype=torch.float32)
    coef = torch.as_tensor(rng.normal(size=(2, 3)), dtype=torch.float32)
    table = table * 0.1 + torch.tensor([[a + b for b in coef[1]] for a in coef[0]]).flatten()  # ~linear + noise

    def f_n(z):  # a table look-up: no gradient w.r.t. z exists
        idx = z.argmax(-1)
        return table[idx[:, 0] * 3 + idx[:, 1]]

    def g(zeta):  # linear surrogate
        return (zeta * coef).sum(dim=(1, 2))

    exact = est.exact_gradient(LOGITS, f_n)
    s = est.draw(LOGITS, 40_000, tau=0.5, generator=torch.Generator().manual_seed(4))
    g_rx = est.estimate("relax", s, f_n, g)
    g_rf = est.estimate("reinforce", s, f_n, baseline=float(f_n(s.z).mean()))
    assert _z(g_rx, exact) < 4.5 and _z(g_rf, exact) < 4.5
    assert float(g_rx.var(0).sum()) < 0.8 * float(g_rf.var(0).sum())  # measured ratio ~0.58


def test_conditional_relaxation_keeps_the_sampled_op():
    s = est.draw(LOGITS, 2000, tau=0.3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(s.zeta_tilde.argmax(-1), s.z.argmax(-1))
    assert torch.equal(s.zeta.argmax(-1), s.z.argmax(-1))
    freq = s.z.mean(0)  # z ~ softmax(logits)
    assert torch.allclose(freq, torch.softmax(LOGITS, -1), atol=0.04)


# -- convergence criterion, mutual information -----------------------------------------
def test_convergence_step_finds_when_the_distribution_stops_moving():
    p = np.full((21, 6, 5), 0.2)
    for t in range(1, 8):  # edge 0 moves to op 3 over steps 1..7, then stays
        p[t:, 0] = [0.2 - 0.025 * t] * 3 + [0.2 + 0.1 * t] + [0.2 - 0.025 * t]
    assert convergence_step(p, delta=0.05, window=5) == 7
    assert convergence_step(p, delta=0.25, window=5) == 5  # looser threshold: earlier
    drift = np.full((21, 6, 5), 0.2)
    drift[:, 2, 0] = np.linspace(0.2, 0.9, 21)
    drift[:, 2, 1:] = ((1 - drift[:, 2, 0]) / 4)[:, None]
    assert convergence_step(drift, delta=0.05, window=5) is None  # keeps moving to the end
    with pytest.raises(NasvizError, match="positive"):
        convergence_step(p, delta=0)


def test_mutual_information_zero_for_independent_and_entropy_for_copied_edges():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, size=(20_000, 6))
    mi = mutual_information(s)
    assert np.abs(mi - np.diag(np.diag(mi))).max() < 0.003
    s[:, 3] = s[:, 0]
    mi = mutual_information(s)
    assert mi[0, 3] == pytest.approx(math.log(5), abs=0.01) and mi[0, 3] == pytest.approx(mi[0, 0])


# -- storage and figures -----------------------------------------------------------------
def test_run_round_trips_through_its_folder(runs, tmp_path):
    r = runs["unas"]
    folder = r.save(tmp_path)
    assert (folder / "result.json").is_file() and (folder / "history.npz").is_file()
    back = load_run(folder)
    np.testing.assert_allclose(back.probs, r.probs, atol=1e-6)
    np.testing.assert_array_equal(back.derived_index, r.derived_index)
    assert back.summary()["final_cell"] == r.summary()["final_cell"]
    assert back.estimator_variance == json.loads(json.dumps(r.estimator_variance))
    with pytest.raises(DataFileError, match="not a distribution run folder"):
        load_run(tmp_path)


def test_figures_plot_the_recorded_numbers(runs):
    fig = anytime_weights_figure([runs["darts"], runs["vimnas"]])
    assert len(fig.data) == 2 * 6 * 5
    np.testing.assert_allclose(fig.data[3].y, runs["darts"].probs[:, 0, 3])
    fig = regret_figure(list(runs.values()))
    means = [t for t in fig.data if t.mode == "lines"]
    assert {t.name.split(" ")[0] for t in means} == set(METHODS)
    np.testing.assert_allclose(means[0].y, runs["darts"].regret("cifar10"))
    mats = run_mutual_information([runs["darts"], runs["vimnas"]])
    assert set(mats) == {"darts s0 (as_trained)", "vimnas s0 (as_trained)", "vimnas s0 (eps_resample)"}
    fig = mutual_information_figure(mats)
    assert len(fig.data) == 3
    for trace, m in zip(fig.data, mats.values()):  # each stored matrix, its diagonal (an entropy) blanked
        z = np.asarray(trace.z, dtype=float)
        assert np.isnan(np.diag(z)).all()
        off = ~np.eye(6, dtype=bool)
        np.testing.assert_allclose(z[off], np.asarray(m, dtype=float)[off])
    unas = runs["unas"]
    fig = estimator_variance_figure(unas)
    assert len(fig.data) == 6
    for trace in fig.data:  # every measured state of one (term, estimator), at its epoch
        (key,) = [k for k in unas.estimator_variance[0]["trace_var"]
                  if (k.split(":")[0] == "d") == trace.name.startswith("L_d")
                  and k.split(":")[1] == trace.name.split(" · ")[1]]
        pts = sorted((e["step"] / unas.steps_per_epoch, e["trace_var"][key]) for e in unas.estimator_variance)
        np.testing.assert_allclose(trace.x, [p[0] for p in pts])
        np.testing.assert_allclose(trace.y, [p[1] for p in pts])
    fig = flops_estimator_variance_figure(unas)
    per_step = unas.extra["flops_estimator_trace_var_per_step"]
    assert [t.name for t in fig.data] == [k.split(":")[1] for k in sorted(per_step)] and len(fig.data) == 3
    for trace, k in zip(fig.data, sorted(per_step)):
        np.testing.assert_allclose(trace.y, per_step[k])
        np.testing.assert_allclose(trace.x, np.arange(len(per_step[k])) / unas.steps_per_epoch)
    with pytest.raises(NasvizError, match="estimator-variance"):
        estimator_variance_figure(runs["darts"])


# -- CIFAR-10 folder reader ---------------------------------------------------------------
def write_cifar(folder, batches=2, n=40):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for b in range(1, batches + 1):
        labels = [int(x) for x in rng.integers(0, 10, size=n)]
        data = np.zeros((n, 3072), dtype=np.uint8)
        for i, y in enumerate(labels):  # red plane brightness encodes the label
            data[i, :1024] = 20 * y
            data[i, 1024:] = rng.integers(0, 256, size=2048)
        with open(folder / f"data_batch_{b}", "wb") as f:
            pickle.dump({b"batch_label": b"x", b"labels": labels, b"data": data}, f)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"labels": [0], b"data": np.zeros((1, 3072), np.uint8)}, f)
    return folder


def test_cifar_folder_reader_reads_the_documented_layout(tmp_path, bench):
    folder = write_cifar(tmp_path / "cifar-10-batches-py")
    d = load_cifar10_folder(tmp_path, seed=1, image_size=8, max_images=None)  # parent folder accepted too
    assert d.in_channels == 3 and d.x_train.shape[1:] == (3, 8, 8)
    assert len(d.x_train) + len(d.x_val) == 80  # test_batch is not used
    x = torch.cat([d.x_train, d.x_val])
    y = torch.cat([d.y_train, d.y_val])
    red = x[:, 0].mean(dim=(1, 2))
    assert torch.all(red[y == 9].min() > red[y == 0].max())  # the label-coded red plane survived
    assert abs(float(d.x_train.mean())) < 0.2
    r = run_search(tiny("darts", dataset=str(folder), max_steps=1, max_images=None), bench=bench)
    assert r.extra["data"]["image_shape"] == [3, 8, 8] and r.steps == 1


def test_bad_cifar_folders_get_clear_messages(tmp_path):
    with pytest.raises(DataFileError, match="does not exist.*data_batch_1"):
        load_search_data(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError, match="no data_batch_"):
        load_search_data(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(DataFileError, match="not a CIFAR-10 python batch"):
        load_search_data(bad)
    with open(bad / "data_batch_1", "wb") as f:
        pickle.dump({b"labels": [1, 2], b"data": np.zeros((2, 100), np.uint8)}, f)
    with pytest.raises(DataFileError, match="N x 3072"):
        load_search_data(bad)
    with open(bad / "data_batch_1", "wb") as f:
        pickle.dump({b"images": []}, f)
    with pytest.raises(DataFileError, match="lacks the keys"):
        load_search_data(bad)


def test_cifar_reader_refuses_pickles_that_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    folder = tmp_path / "evil"
    folder.mkdir()
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": [0]}, f)
    with pytest.raises(DataFileError, match="refusing"):
        load_search_data(folder)
    assert not (tmp_path / "pwned").exists()


# -- bad input -----------------------------------------------------------------------------
def test_unknown_method_and_negative_lambda_are_rejected():
    with pytest.raises(NasvizError, match="unknown method 'enas'; accepted: darts, gumbel, vimnas, unas"):
        run_search(tiny("enas"))
    with pytest.raises(NasvizError, match="lambda .* must be >= 0"):
        run_search(tiny("unas", learner=LearnerConfig(lam=-0.5)))
    with pytest.raises(NasvizError, match="unknown UNAS estimator"):
        run_search(tiny("unas", learner=LearnerConfig(estimator="score")))


def _cli(capsys, monkeypatch, *args) -> tuple[int, str, str]:
    """Run the command's console entry in-process (argv, exit status, stdout, stderr as a user sees them)."""
    from nasviz.commands.distribution import main

    monkeypatch.setattr(sys, "argv", ["nasviz-distribution", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


@pytest.mark.parametrize("args, message", [
    (("--method", "enas"), "unknown method 'enas'"),
    (("--method", "unas", "--lambda", "-1"), "--lambda must be >= 0"),
    (("--method", "darts", "--dataset", "/nonexistent/cifar"), "does not exist"),
])
def test_cli_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, args, message):
    code, _, err = _cli(capsys, monkeypatch, "run", *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: ")


def test_cli_run_json_writes_the_run_folder_and_the_run_database(capsys, monkeypatch, tmp_path):
    db = tmp_path / "runs.sqlite"
    code, out, err = _cli(capsys, monkeypatch, "run", "--method", "gumbel", "--seed", "2", "--max-steps", "2",
                          "--out", str(tmp_path), "--db", str(db), "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["method"] == "gumbel" and res["seed"] == 2 and res["steps"] == 2
    back = load_run(res["run_folder"])
    assert back.summary()["final_cell"] == res["final_cell"]
    from nasviz.search.store import Store

    with Store(db) as st:
        run = st.get_run(res["run_id"])
        assert run.strategy == "distribution-gumbel" and run.state.value == "complete" and run.seed == 2
        assert run.stats["final_cell"] == res["final_cell"]
        stored = load_run_from_store(res["run_id"], st)
    np.testing.assert_allclose(stored.probs, back.probs, atol=1e-6)


def test_committed_convergence_ignores_a_distribution_that_never_leaves_uniform():
    flat = np.full((30, 6, 5), 0.2)
    flat[:, :, 0] += np.linspace(0, 0.01, 30)[:, None]
    flat /= flat.sum(axis=2, keepdims=True)
    assert convergence_step(flat, delta=0.05, window=5) == 0  # stable from the start ...
    assert convergence_step(flat, delta=0.05, window=5, min_max_prob=0.5) is None  # ... but never committed
    sharp = np.full((30, 6, 5), 0.2)
    for t in range(30):
        q = min(1.0, t / 10)
        sharp[t] = (1 - q) * 0.2
        sharp[t, :, 2] += q
    assert convergence_step(sharp, delta=0.05, window=5, min_max_prob=0.5) == 10
