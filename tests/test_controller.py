"""ENAS controller, its training, checkpoints, GED and the paper-001 analyses (tiny configs, real table)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nasviz.analysis import controller as A
from nasviz.analysis import ged as G
from nasviz.bench import get_benchmark
from nasviz.controllers import io
from nasviz.controllers.enas import ControllerConfig, ENASController, get_decision_space
from nasviz.controllers.train import (MemoryBuffer, RewardSpec, TrainConfig, buffer_update, make_controller,
                                      train)
from nasviz.errors import DataFileError, NasvizError
from nasviz.spaces.nb201 import N_CELLS, NB201Cell, NB201Space

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def bench():
    return get_benchmark("nb201")


@pytest.fixture(scope="module")
def space():
    return NB201Space()


def small(seed=0, hidden=16, **kw) -> ENASController:
    return make_controller(TrainConfig(kind="random", seed=seed, controller=ControllerConfig(hidden_size=hidden,
                                                                                              embed_size=hidden), **kw))


# -- sampling and teacher forcing -------------------------------------------------------------
def test_sample_gives_valid_cells_and_consistent_log_probs():
    ctrl = small()
    with torch.no_grad():
        roll = ctrl.sample(64, torch.Generator().manual_seed(3))
    assert len(roll.cells) == 64 and all(isinstance(c, NB201Cell) for c in roll.cells)
    assert roll.decisions.shape == (64, 6) and int(roll.decisions.min()) >= 0 and int(roll.decisions.max()) <= 4
    assert [c.ops for c in roll.cells] == [tuple(r) for r in roll.decisions.tolist()]
    # the log-prob of a sample is the sum of log p(decision) read from the per-step distributions
    manual = sum(torch.log(roll.step_probs[t].gather(1, roll.decisions[:, t:t + 1]).squeeze(1)) for t in range(6))
    assert torch.allclose(roll.log_probs, manual, atol=1e-5)
    for p in roll.step_probs:
        assert torch.allclose(p.sum(1), torch.ones(64), atol=1e-5)
    ent = sum(-(p * p.log()).sum(1) for p in roll.step_probs)
    assert torch.allclose(roll.entropies, ent, atol=1e-5)
    # teacher forcing the sampled cells reproduces log-probs and hidden states exactly
    with torch.no_grad():
        tf = ctrl.teacher_force(roll.cells)
    assert torch.allclose(tf.log_probs, roll.log_probs, atol=1e-6)
    assert torch.allclose(tf.hidden, roll.hidden, atol=1e-6)


def test_log_probs_form_a_distribution_over_the_whole_space():
    ctrl = make_controller(TrainConfig(kind="random", seed=1))
    with torch.no_grad():  # make it far from uniform so the check means something
        for h in ctrl.heads:
            h.weight.mul_(60)
        lp = ctrl.teacher_force(get_decision_space("nb201").all_decisions()).log_probs
    assert abs(float(torch.logsumexp(lp.double(), 0).exp()) - 1.0) < 1e-4
    assert float(lp.exp().max()) > 5.0 / N_CELLS  # not the uniform distribution


def test_sampling_is_deterministic_and_follows_the_probabilities():
    ctrl = small(seed=2)
    with torch.no_grad():
        ctrl.heads[0].bias.copy_(torch.tensor([3.0, 0, 0, 0, -3.0]) * ctrl.config.temperature)
        a = ctrl.sample(4000, torch.Generator().manual_seed(7))
        b = ctrl.sample(4000, torch.Generator().manual_seed(7))
    assert torch.equal(a.decisions, b.decisions)
    freq = np.bincount(a.decisions[:, 0].numpy(), minlength=5) / 4000
    expect = a.step_probs[0][0].numpy()
    assert np.abs(freq - expect).max() < 0.03
    z = np.exp(2.5 * np.tanh([3.0, 0, 0, 0, -3.0]))  # logits squashed by tanh_c * tanh(. / temperature)
    assert np.allclose(expect, z / z.sum(), atol=0.01)  # heads' small random weights shift it a little


def test_final_hidden_reads_the_last_decision(space):
    ctrl = small()
    a = NB201Cell((3, 3, 3, 3, 3, 0))
    b = NB201Cell((3, 3, 3, 3, 3, 4))
    h = ctrl.final_hidden([a, b, a])
    assert h.shape == (3, 16) and h.dtype == np.float32
    assert not np.allclose(h[0], h[1]) and np.array_equal(h[0], h[2])
    # strings and official indices are accepted too
    assert np.array_equal(ctrl.final_hidden([a.to_str(), space.index(a)]), h[[0, 0]])


def test_teacher_forcing_rejects_cells_outside_the_space():
    ctrl = small()
    with pytest.raises(NasvizError, match="decision 2 is 5, accepted 0..4"):
        ctrl.teacher_force(np.array([[0, 1, 5, 0, 0, 0]]))
    with pytest.raises(NasvizError, match=r"must be \(n, 6\)"):
        ctrl.teacher_force(np.zeros((2, 7), dtype=int))
    with pytest.raises(NasvizError, match="malformed NB201 string"):
        ctrl.teacher_force(["|nor_conv_3x3~0|+|none~0|"])
    with pytest.raises(NasvizError, match="out of range"):
        ctrl.teacher_force([20000])
    with pytest.raises(NasvizError, match="cannot teacher-force tuple"):
        ctrl.teacher_force([(0, 1, 2, 3, 4, 0)])
    with pytest.raises(NasvizError, match="no cells"):
        ctrl.teacher_force([])


def test_teacher_forcing_rejects_a_cell_of_another_space():
    from nasviz.spaces.nb101 import NB101Space

    cell = NB101Space().sample(np.random.default_rng(0))
    with pytest.raises(NasvizError, match="nb101 cell, but this controller samples nb201"):
        small().teacher_force([cell])


# -- training ----------------------------------------------------------------------------------
def test_reinforce_improves_mean_reward_on_the_real_table(bench):
    values = bench.column("valid_acc", "cifar10-valid", 12)
    cfg = TrainConfig(kind="unsupervised", seed=0, epochs=2, steps_per_epoch=40, batch_size=16, lr=0.02,
                      controller=ControllerConfig(hidden_size=16, embed_size=16))
    res = train(cfg, bench=bench)
    untrained = make_controller(TrainConfig(kind="random", seed=0, controller=ControllerConfig(hidden_size=16,
                                                                                             embed_size=16)))
    before = A.sampled_accuracy(untrained, values, 2000, seed=5).mean()
    after = A.sampled_accuracy(res.controller, values, 2000, seed=5).mean()
    assert abs(before - values.mean()) < 1.5  # the untrained controller samples like uniform
    assert after > before + 5.0, (before, after)
    assert res.history[-1]["entropy"] < res.history[0]["entropy"]
    # same config, same numbers
    short = TrainConfig(**{**cfg.__dict__, "epochs": 1, "steps_per_epoch": 10})
    a, b = train(short, bench=bench), train(short, bench=bench)
    assert a.history[0]["reward"] == b.history[0]["reward"]
    assert all(torch.equal(x, y) for x, y in zip(a.controller.parameters(), b.controller.parameters()))


def test_buffer_schedule_with_paper_counts():
    cfg = TrainConfig(kind="supervised")
    buf = MemoryBuffer(cfg.buffer_size, 6)
    rng = np.random.default_rng(0)
    counter = iter(range(10**9))

    def fresh(n):  # distinct rows so overwritten slots are visible
        return np.array([[next(counter)] * 6 for _ in range(n)])

    sizes, stored, replaced = [], [], []
    for epoch in range(20):
        s, r = buffer_update(buf, epoch, cfg, fresh, rng)
        sizes.append(len(buf)), stored.append(s), replaced.append(r)
    assert sizes == [0] * 5 + [1000 * k for k in range(1, 11)] + [10_000] * 5
    assert stored == [0] * 5 + [1000] * 10 + [0] * 5
    assert replaced == [0] * 15 + [100] * 5
    assert buf.added == 10_000 and buf.replaced == 500
    assert (buf.data[:, 0] >= 10_000).sum() > 400  # ~500 slots rewritten (a few twice)


def test_supervised_training_follows_the_schedule_and_fits_the_buffer(bench):
    cfg = TrainConfig(kind="supervised", seed=1, epochs=7, steps_per_epoch=5, batch_size=2, lr=0.01,
                      buffer_start_epoch=1, buffer_add=30, buffer_size=100, buffer_replace=10, sup_start_epoch=3,
                      sup_batch=20, controller=ControllerConfig(hidden_size=16, embed_size=16))
    res = train(cfg, bench=bench)
    h = res.history
    assert [r["buffer"] for r in h] == [0, 30, 60, 90, 100, 100, 100]
    assert [r["stored"] for r in h] == [0, 30, 30, 30, 10, 0, 0]
    assert [r["replaced"] for r in h] == [0, 0, 0, 0, 0, 10, 10]
    assert [r["sup"] for r in h] == [False, False, False, True, True, True, True]
    assert all(r["loss_sup"] == 0 for r in h[:3]) and all(r["loss_sup"] > 0 for r in h[3:])
    # the reconstruction loss is the teacher-forced NLL of buffer cells
    with torch.no_grad():
        nll = float(res.controller.nll(res.buffer.data[: res.buffer.size]))
    assert abs(nll - h[-1]["loss_sup"]) < 2.0


def test_train_config_rejects_bad_values(bench):
    with pytest.raises(NasvizError, match="unknown controller kind"):
        TrainConfig(kind="greedy")
    with pytest.raises(NasvizError, match="steps_per_epoch"):
        TrainConfig(steps_per_epoch=0)
    with pytest.raises(NasvizError, match="no column"):
        RewardSpec.parse("c10v_nope").values(bench)
    with pytest.raises(NasvizError, match="no controller for space"):
        TrainConfig(space="nb999") and get_decision_space("nb999")
    assert RewardSpec.parse("cifar100:valid_acc:200").values(bench).max() > 70


# -- checkpoints -------------------------------------------------------------------------------
def test_checkpoint_round_trip_and_bad_files(tmp_path, bench):
    cfg = TrainConfig(kind="unsupervised", seed=3, epochs=1, steps_per_epoch=3,
                      controller=ControllerConfig(hidden_size=8, embed_size=8))
    from nasviz.controllers.train import save_result

    res = train(cfg, bench=bench)
    folder = save_result(res, tmp_path / "ck")
    assert {p.name for p in folder.iterdir()} >= {"model.safetensors", "config.json", "README.md"}
    ctrl, doc = io.load(folder, space="nb201")
    assert doc["kind"] == "unsupervised" and doc["train"]["reward"]["epochs"] == 12
    cells = [NB201Cell((1, 2, 3, 4, 0, 1)), NB201Cell((3, 3, 3, 3, 3, 3))]
    assert np.array_equal(ctrl.final_hidden(cells), res.controller.final_hidden(cells))
    assert "Training time and hardware" in (folder / "README.md").read_text()

    with pytest.raises(NasvizError, match="space 'nb201', not 'nb101'"):
        io.load(folder, space="nb101")
    with pytest.raises(DataFileError, match="not found"):
        io.load(tmp_path / "missing")
    (folder / "model.safetensors").write_bytes(b"\x80\x04garbage-not-safetensors")
    with pytest.raises(DataFileError, match="corrupt or not safetensors"):
        io.load(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(DataFileError, match="corrupt"):
        io.load(folder)
    (folder / "config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(DataFileError, match="not a nasviz controller"):
        io.load(folder)


def test_checkpoint_for_another_space_is_rejected(tmp_path):
    ctrl = small()
    io.save(ctrl, tmp_path / "ck", {"kind": "random", "seed": 0}, "card")
    doc = json.loads((tmp_path / "ck" / "config.json").read_text())
    doc["space"] = doc["config"]["space"] = "nb101"
    (tmp_path / "ck" / "config.json").write_text(json.dumps(doc))
    with pytest.raises(NasvizError, match="for space 'nb101', not 'nb201'"):
        io.load(tmp_path / "ck", space="nb201")


# -- graph edit distance -------------------------------------------------------------------------
def test_ged_properties_on_samples(space):
    rng = np.random.default_rng(0)
    a = [space.sample(rng) for _ in range(400)]
    b = [space.sample(rng) for _ in range(400)]
    c = [space.sample(rng) for _ in range(400)]
    ab, ba = G.pairwise("nb201", a, b), G.pairwise("nb201", b, a)
    bc, ac = G.pairwise("nb201", b, c), G.pairwise("nb201", a, c)
    assert np.array_equal(ab, ba)
    assert (ac <= ab + bc).all()
    ham = np.array([x.hamming(y) for x, y in zip(a, b)])
    assert (ab <= ham).all() and (ab >= np.ceil(ham / 2)).all()
    assert (G.pairwise("nb201", a, a) == 0).all()
    eq = np.array([x == y for x, y in zip(a, b)])
    assert ((ab == 0) == eq).all()
    near = [space.mutate(x, rng) for x in a]
    assert (G.pairwise("nb201", a, near) == 1).all()  # one op changed = one substitution


def test_ged_fast_path_matches_exhaustive_search(space):
    rng = np.random.default_rng(1)
    a = [space.sample(rng) for _ in range(12)]
    b = [space.sample(rng) for _ in range(12)]
    fast = G.pairwise("nb201", a, b)
    slow = [G.ged(x, y) for x, y in zip(G._nb201_graphs(a), G._nb201_graphs(b))]
    assert fast.tolist() == slow


def test_ged_known_values():
    # swapping the ops of edges 3<-0 and 3<-1 (nodes 4 and 5 of the node-op DAG) and relabelling:
    a = NB201Cell.from_names(["nor_conv_3x3", "avg_pool_3x3", "avg_pool_3x3", "none", "skip_connect", "nor_conv_3x3"])
    b = NB201Cell.from_names(["nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "avg_pool_3x3", "skip_connect"])
    assert a.hamming(b) == 5
    assert G.distance("nb201", a, b) == 4.0  # a bijection breaking 2 edges saves 3 substitutions
    assert G.ged(*G._nb201_graphs([a, b])) == 4.0
    # generic solver on graphs of different size: a 2-node chain vs a 3-node chain
    g2 = G.LabeledDAG(((0, 1), (0, 0)), ("in", "out"))
    g3 = G.LabeledDAG(((0, 1, 0), (0, 0, 1), (0, 0, 0)), ("in", "conv", "out"))
    # map out -> conv (1 substitution), insert out (1) and the edge conv -> out (1)
    assert G.ged(g2, g3) == 3.0
    assert G.ged(g3, g2) == 3.0
    assert G.ged(g2, g2) == 0.0
    with pytest.raises(NasvizError, match="no graph view"):
        G.pairwise("nb999", [a], [b])
    with pytest.raises(NasvizError, match="NB201Cell"):
        G.pairwise("nb201", [a], ["x"])


# -- analyses ------------------------------------------------------------------------------------
def test_pair_measures_known_values(bench):
    values = bench.column("valid_acc", "cifar10-valid", 12)
    d1 = np.array([[3, 3, 0, 1, 2, 4], [0, 0, 0, 0, 0, 0]])
    d2 = np.array([[3, 3, 0, 1, 2, 4], [3, 0, 0, 0, 0, 1]])
    m = A.pair_measures("nb201", d1, d2, values)
    assert m["common_ops"].tolist() == [6, 4]
    assert m["common_connections"].tolist() == [5, 0]
    assert m["ged"].tolist() == [0, 2]
    assert m["abs_acc_diff"][0] == 0 and m["abs_acc_diff"][1] > 0


def test_similarity_table_and_figures(bench):
    values = bench.column("valid_acc", "cifar10-valid", 12)
    ctrls = {"random": [(small(seed=s), {"seed": s}) for s in range(2)]}
    t = A.table1(ctrls, bench, n_archs=200, n_pairs=500)
    row = t["rows"]["random"]["measures"]
    assert set(row) == set(A.MEASURES) and row["ged"]["paper"] == -0.064
    assert all(-1 <= x <= 1 for m in A.MEASURES for x in row[m]["per_seed"])
    assert "paper -0.064" in A.table1_markdown(t)
    # a collapsed controller (always the same cell) has no defined correlation
    collapsed = small()
    collapsed.config.tanh_c = 60.0  # unbounded enough that a huge bias makes sampling deterministic
    with torch.no_grad():
        for h in collapsed.heads:
            h.bias.copy_(torch.tensor([0, 0, 0, 1e4, 0]))
    res = A.similarity_correlations(collapsed, values, 100, 300)
    assert res["n_unique_archs"] == 1 and np.isnan(res["spearman"]["ged"])
    probs = A.max_action_probs(small(), 100)
    assert probs.shape == (100, 6) and (probs >= 0.2 - 1e-6).all()
    hid, dec = A.sampled_hidden(small(), 100)
    acc = A.sampled_accuracy(small(), values, 100)
    # each figure draws the numbers it is given: Fig. 1 one line per sampled architecture over the 6 decisions
    f1 = A.fig_max_action_probs({"random": probs})
    assert len(f1.data) == 100 and list(f1.data[0].x) == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(np.array([tr.y for tr in f1.data]), probs)
    # Fig. 3: the hidden states as a heatmap (rows = architectures) and their per-neuron variance as bars
    f3 = A.fig_hidden_heatmap({"random": hid})
    assert [tr.type for tr in f3.data] == ["heatmap", "bar"]
    np.testing.assert_array_equal(np.asarray(f3.data[0].z), hid)
    np.testing.assert_allclose(f3.data[1].y, hid.var(axis=0))
    assert f3.data[0].zmax == -f3.data[0].zmin == pytest.approx(float(np.abs(hid).max()))
    # Fig. 2: the sampled accuracies, their median in the legend
    f2 = A.fig_accuracy_distribution({"random": acc})
    assert len(f2.data) == 1 and f2.data[0].name == f"random (median {np.median(acc):.2f})"
    np.testing.assert_array_equal(f2.data[0].x, acc)
    # Table 1: per measure, our mean (error bar: std over seeds) beside the paper's value
    f4 = A.fig_table1(t)
    assert len(f4.data) == 2 * len(A.MEASURES)
    for k, m in enumerate(A.MEASURES):
        ours, paper = f4.data[2 * k], f4.data[2 * k + 1]
        cell = t["rows"]["random"]["measures"][m]
        assert list(ours.x) == list(paper.x) == ["random"]
        assert ours.y[0] == pytest.approx(cell["mean"]) and paper.y[0] == cell["paper"]
        assert ours.error_y.array[0] == pytest.approx(cell["std"])


def test_hidden_state_of_every_cell_in_official_order(tmp_path, space):
    ctrl = small(hidden=8)
    h = A.all_hidden(ctrl)
    assert h.shape == (N_CELLS, 8)
    for i in (0, 1234, N_CELLS - 1):
        assert np.allclose(h[i], ctrl.final_hidden([space.cell(i)])[0], atol=1e-6)
    folder = tmp_path / "ck"
    io.save(ctrl, folder, {"kind": "random", "seed": 0}, "card")
    meta = A.write_latents(ctrl, {"space": "nb201", "kind": "random", "seed": 0}, folder, tmp_path / "e.npz")
    with np.load(tmp_path / "e.npz", allow_pickle=False) as z:
        assert z["latent"].dtype == np.float16 and z["latent"].shape == (N_CELLS, 8)
        assert np.abs(z["latent"].astype(np.float32) - h).max() == pytest.approx(meta["latent_max_abs_err"])
        pca = z["pca"].astype(np.float32)
    # the PCA is that of the hidden states (float32 values, each axis up to its sign)
    from sklearn.decomposition import PCA

    h64 = h.astype(np.float64)  # (float32 PCA: covariance round-off above the float16 storage error)
    ref = PCA(n_components=2).fit(h64)
    want = ref.transform(h64)
    assert pca.shape == want.shape == (N_CELLS, 2)
    for j in range(2):
        sign = np.sign(want[:, j] @ pca[:, j])
        np.testing.assert_allclose(pca[:, j], sign * want[:, j], rtol=0, atol=2e-3 * np.abs(want).max())
    np.testing.assert_allclose(meta["pca_explained"], ref.explained_variance_ratio_, rtol=1e-4)


def test_ged_plugs_in_nb101():
    from nasviz.spaces import nb101

    a = nb101.NB101Cell([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                        ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    b = nb101.NB101Cell([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                        ["input", "maxpool3x3", "conv3x3-bn-relu", "output"])  # the same graph, vertices swapped
    c = nb101.NB101Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    d = G.pairwise("nb101", [a, a, a, c], [a, b, c, a])
    assert d.tolist() == [0.0, 0.0, 3.0, 3.0]  # isomorphic -> 0; drop a vertex and its 2 edges -> 3
    assert d[0] <= a.edit_distance(b)


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_train_then_analyze(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from nasviz.commands.controller import app

    runner = CliRunner()
    models = tmp_path / "models"
    for kind in A.KINDS:
        r = runner.invoke(app, ["train", "--space", "nb201", "--kind", kind, "--epochs", "1", "--steps-per-epoch", "3",
                                "--hidden-size", "8", "--out", str(models / f"nb201-controller-{kind}" / "seed0"),
                                "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["kind"] == kind
    monkeypatch.setenv("NASVIZ_MODELS_DIR", str(models))
    out = tmp_path / "out"
    r = runner.invoke(app, ["analyze", "--space", "nb201", "--out", str(out), "--n-archs", "100", "--n-pairs", "300",
                            "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert set(summary["table1"]["rows"]) == set(A.KINDS)
    for name in ("fig1_max_action_prob", "fig2_accuracy_distribution", "fig3_hidden_states", "table1_spearman"):
        assert (out / f"{name}.html").stat().st_size > 1000
    assert "paper -0.404" in (out / "table1.md").read_text()
    bad = runner.invoke(app, ["train", "--kind", "greedy"])
    assert isinstance(bad.exception, NasvizError) and "accepted: random, unsupervised, supervised" in str(bad.exception)
    missing = runner.invoke(app, ["analyze", "--space", "nb201", "--out", str(out)], env={"NASVIZ_MODELS_DIR": str(tmp_path / "none")})
    assert isinstance(missing.exception, DataFileError) and "nasviz controller train" in str(missing.exception)


def test_latents_keep_float32_when_float16_would_erase_a_collapsed_spread(tmp_path):
    ctrl = small(hidden=8)
    with torch.no_grad():
        ctrl.embed.weight.mul_(1e-4)  # inputs barely differ: h(A) is nearly the same vector for every cell
    folder = tmp_path / "ck"
    io.save(ctrl, folder, {"kind": "unsupervised", "seed": 0}, "card")
    meta = A.write_latents(ctrl, {"space": "nb201", "kind": "unsupervised", "seed": 0}, folder, tmp_path / "e.npz")
    with np.load(tmp_path / "e.npz", allow_pickle=False) as z:
        lat = z["latent"]
    assert meta["latent_dtype"] == "float32" and lat.dtype == np.float32
    assert len(np.unique(lat, axis=0)) == N_CELLS  # every cell keeps its own code
    assert len(np.unique(lat.astype(np.float16), axis=0)) < N_CELLS  # float16 would have merged some


def test_latents_computed_in_float64_when_float32_arithmetic_merges_cells(tmp_path):
    """A controller collapsed below float32's resolution: its float32 states are bit-identical for
    distinct cells, its float64 ones are not; the file keeps them apart (centred) and says so."""
    ctrl = small(hidden=8)
    with torch.no_grad():
        ctrl.embed.weight.mul_(1e-9)  # the inputs move h(A) by ~1e-9: below float32's 6e-8 around ~0.1-1
    h32 = A.all_hidden(ctrl)
    assert len(np.unique(h32, axis=0)) < N_CELLS  # the merge this guards against happens
    h64 = A.all_hidden(ctrl, exact=True)
    assert h64.dtype == np.float64 and len(np.unique(h64, axis=0)) == N_CELLS
    assert np.abs(h64 - h32).max() < 1e-6  # the same states, only computed more exactly
    folder = tmp_path / "ck"
    io.save(ctrl, folder, {"kind": "unsupervised", "seed": 0}, "card")
    meta = A.write_latents(ctrl, {"space": "nb201", "kind": "unsupervised", "seed": 0}, folder, tmp_path / "e.npz")
    with np.load(tmp_path / "e.npz", allow_pickle=False) as z:
        lat, off = z["latent"], z["latent_offset"]
    assert meta["latent_centred"] and meta["float32_duplicate_rows"] == N_CELLS - len(np.unique(h32, axis=0))
    assert meta["duplicate_rows"] == 0 and len(np.unique(lat, axis=0)) == N_CELLS
    assert np.allclose(lat.astype(np.float64) + off, h64, rtol=0, atol=1e-12)
    # what the map and the searches read (float32) keeps every cell apart
    assert len(np.unique(lat.astype(np.float32), axis=0)) == N_CELLS
    assert "latent + latent_offset" in meta["definition"]


# -- long runs: per-epoch state, resume, schedule snapshots ----------------------------------------
def _sup_cfg(epochs: int) -> TrainConfig:
    return TrainConfig(kind="supervised", seed=4, epochs=epochs, steps_per_epoch=4, batch_size=2, lr=0.01,
                       buffer_start_epoch=1, buffer_add=30, buffer_size=60, buffer_replace=10, sup_start_epoch=2,
                       sup_batch=20, controller=ControllerConfig(hidden_size=8, embed_size=8))


def test_resume_continues_exactly_where_an_uninterrupted_run_ends(tmp_path, bench):
    whole = train(_sup_cfg(5), bench=bench)
    state = tmp_path / "train_state.pt"

    class Stop(Exception):
        pass

    def stop_after_3(epoch, partial):
        if epoch == 2:
            raise Stop  # as if killed after epoch 3's state was written

    with pytest.raises(Stop):
        train(_sup_cfg(5), bench=bench, state_path=state, on_epoch_end=stop_after_3)
    from nasviz.controllers.train import read_state

    assert read_state(state)["epochs_done"] == 3
    resumed = train(_sup_cfg(5), bench=bench, state_path=state, resume=True)
    assert [r["epoch"] for r in resumed.history] == list(range(5))
    for a, b in zip(whole.history, resumed.history):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    for k, v in whole.controller.state_dict().items():
        assert torch.equal(v, resumed.controller.state_dict()[k]), k
    assert np.array_equal(whole.buffer.data, resumed.buffer.data)
    with pytest.raises(NasvizError, match="other settings .*epochs"):
        train(_sup_cfg(6), bench=bench, state_path=state, resume=True)
    state.write_bytes(b"not a torch file")
    with pytest.raises(DataFileError, match="corrupt"):
        train(_sup_cfg(5), bench=bench, state_path=state, resume=True)


def test_cli_train_snapshots_resume_and_refuses_to_overwrite(tmp_path):
    from typer.testing import CliRunner

    from nasviz.commands.controller import app

    runner = CliRunner()
    out = tmp_path / "ck"
    args = ["train", "--kind", "unsupervised", "--epochs", "4", "--steps-per-epoch", "5", "--hidden-size", "8",
            "--out", str(out), "--snapshot-steps", "5,15,20,7", "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    # 5 and 15 are epoch ends before the last; 20 is the run's end (the checkpoint itself); 7 is mid-epoch
    assert sorted(p.name for p in (out / "schedule").iterdir()) == ["steps15", "steps5"]
    snap = io.read_config(out / "schedule" / "steps5")
    assert len(snap["training"]["reward_per_epoch"]) == 1
    assert not (out / "train_state.pt").exists()
    again = runner.invoke(app, args)
    assert isinstance(again.exception, NasvizError) and "--force" in str(again.exception)
    nothing = runner.invoke(app, args + ["--resume"])
    assert isinstance(nothing.exception, NasvizError) and "no training state" in str(nothing.exception)
    bad = runner.invoke(app, args[:-3] + ["--snapshot-steps", "8k", "--force"])
    assert isinstance(bad.exception, NasvizError) and "8k" in str(bad.exception)
    blocked = tmp_path / "file"
    blocked.write_text("x")
    r = runner.invoke(app, ["train", "--kind", "unsupervised", "--out", str(blocked / "sub")])
    assert isinstance(r.exception, NasvizError) and "is a file" in str(r.exception)


def test_interval_difference_and_verdicts_are_computed_from_seeds():
    lo, hi = A.interval95([1.0, 2.0, 3.0])
    assert lo == pytest.approx(2 - 4.302653 / np.sqrt(3)) and hi == pytest.approx(2 + 4.302653 / np.sqrt(3))
    assert np.isnan(A.interval95([1.0])[0])
    d, lo, hi = A.difference95([-0.5, -0.52, -0.48], [-0.1, -0.12, -0.08])
    assert d == pytest.approx(-0.4) and hi < 0
    assert A.verdict_of(d, lo, hi, -1) == "separated in the paper's direction"
    assert A.verdict_of(d, lo, hi, +1) == "separated the other way"
    assert A.verdict_of(0.1, -0.2, 0.4, +1) == "not separated"
    assert A.PAPER_DIRECTION == {"common_ops": -1, "common_connections": -1, "ged": 1, "abs_acc_diff": 1}
    t = {"rows": {k: {"measures": {m: {"per_seed": v} for m in A.MEASURES}} for k, v in
                  (("supervised", [0.30, 0.32, 0.31]), ("unsupervised", [0.10, 0.11, 0.09]))}}
    sep = A.separation(t)
    assert sep["ged"]["verdict"] == "separated in the paper's direction"
    assert sep["common_ops"]["verdict"] == "separated the other way"  # the paper wants supervised lower there
    assert sep["ged"]["paper_diff"] == pytest.approx(0.128)


def test_schedule_curve_reads_snapshots_of_every_seed(tmp_path, bench):
    from typer.testing import CliRunner

    from nasviz.commands.controller import app

    runner = CliRunner()
    for kind in ("unsupervised", "supervised"):
        for seed in (0, 1):
            r = runner.invoke(app, ["train", "--kind", kind, "--seed", str(seed), "--epochs", "3",
                                    "--steps-per-epoch", "4", "--hidden-size", "8", "--snapshot-steps", "4,8",
                                    "--out", str(tmp_path / f"nb201-controller-{kind}" / f"seed{seed}")])
            assert r.exit_code == 0, r.output
    assert {s: list(v) for s, v in A.schedule_checkpoints("nb201", "supervised", tmp_path).items()} == \
        {0: [4, 8, 12], 1: [4, 8, 12]}
    curve = A.schedule_curve("nb201", bench, n_archs=60, n_pairs=200, root=tmp_path)
    assert curve["steps"] == [4, 8, 12]
    cell = curve["rows"]["supervised"][12]["distinct"]["ged"]
    assert len(cell["per_seed"]) == 2 and cell["ci95"][0] <= cell["mean"] <= cell["ci95"][1]
    # the final point is the seed's own checkpoint: the same correlation as computed on it directly
    ctrl, doc = io.load(tmp_path / "nb201-controller-supervised" / "seed1", space="nb201")
    direct = A.similarity_correlations(ctrl, A.reward_values(doc, bench), 60, 200, 0, bench)
    assert cell["per_seed"][1] == pytest.approx(direct["spearman_distinct"]["ged"], abs=1e-4)
    fig = A.fig_schedule(curve)
    assert [t.x for t in fig.data[:1]] == [(4, 8, 12)] and len(fig.data) == 6
    cap = A.schedule_caption(curve, buffer_start_step=20, sup_start_step=40)
    assert cap.count("steps:") == 3 and "from step 40;" in cap and "before step 20 " in cap
    # before the buffer starts (epoch 5 by default, after step 20 here) both kinds of a seed are one network
    v = A.schedule_verdicts(curve)
    assert v[4]["ged"]["diff"] == 0 and v[4]["ged"]["verdict"] == "not separated"
