"""ENAS controller on NB101: decision order, reward policy, training, analyses, bad input (real tables)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nasviz.analysis import controller as A
from nasviz.analysis import ged as G
from nasviz.bench import get_benchmark
from nasviz.controllers import io
from nasviz.controllers.enas import ControllerConfig, get_decision_space
from nasviz.controllers.nb101 import CHOICES, CONN_POS, INVALID, IN_TABLE, MAPPED, OP_POS, STEP_LABELS
from nasviz.controllers.train import RewardSpec, TrainConfig, make_controller, save_result, train
from nasviz.errors import NasvizError
from nasviz.spaces.nb101 import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, NB101Cell

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def bench():
    return get_benchmark("nb101")


@pytest.fixture(scope="module")
def ds():
    return get_decision_space("nb101")


def small(seed=0, hidden=16):
    return make_controller(TrainConfig(kind="random", space="nb101", seed=seed,
                                       controller=ControllerConfig(hidden_size=hidden, embed_size=hidden)))


# a 5-vertex cell: in -> a(3x3) -> b(1x1) -> out, in -> c(mp) -> out, a -> c
CELL = NB101Cell([[0, 1, 0, 1, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                 [INPUT, CONV3X3, CONV1X1, MAXPOOL3X3, OUTPUT])


# -- decision order -----------------------------------------------------------------------------
def test_decision_order_is_op_then_inputs_per_vertex():
    assert len(CHOICES) == 26 and CHOICES.count(3) == 5 and CHOICES.count(2) == 21
    assert STEP_LABELS[:6] == ("op1", "0->1", "op2", "0->2", "1->2", "op3")
    assert STEP_LABELS[14:21] == ("op5", "0->5", "1->5", "2->5", "3->5", "4->5", "0->6")
    assert STEP_LABELS[-1] == "5->6"
    assert [OP_POS[v] for v in range(1, 6)] == [0, 2, 5, 9, 14]
    assert CONN_POS[(0, 6)] == 20 and CONN_POS[(4, 5)] == 19


def test_encode_decode_round_trip_and_isomorphic_cells_share_a_code(ds, bench):
    d = ds.encode(CELL)
    m, ops = ds.spec(d)
    # canonical cell laid out on 7 vertices: unused interior vertices isolated conv3x3, output at 6
    assert ops[0] == INPUT and ops[6] == OUTPUT and len(ops) == 7
    assert sum(map(sum, m)) == CELL.n_edges and all(m[u][5] == 0 and m[5][v] == 0 for u in range(7) for v in range(7))
    back = ds.decode(d)
    assert back.hash == CELL.hash and back.n_vertices == 5  # the padding vertices are pruned again
    # the same cell with interior vertices listed in another (topological) order
    iso = NB101Cell([[0, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                    [INPUT, CONV3X3, MAXPOOL3X3, CONV1X1, OUTPUT])
    assert iso.hash == CELL.hash and iso.matrix != CELL.matrix
    assert ds.encode(iso) == d
    ctrl = small()
    h = ctrl.final_hidden([CELL, iso, CELL.to_json(), CELL.hash])
    assert np.array_equal(h[0], h[1]) and np.array_equal(h[0], h[2]) and np.array_equal(h[0], h[3])
    # vectorised codes of table cells agree with one-by-one encoding and decode to the same index
    rows = [0, 17, 12345, len(bench) - 1]
    idx = bench.indices[rows]
    codes = ds.codes(idx)
    for i, c in zip(idx, codes):
        assert tuple(c) == ds.encode(int(i))
    assert ds.to_index(codes).tolist() == idx.tolist()


def test_sequences_outside_the_space_are_recognised(ds):
    none = np.zeros(26, dtype=np.int64)  # no edge at all: the input does not reach the output
    full = np.array([1 if k == 2 else 0 for k in CHOICES])  # every connection: 21 edges
    skip = none.copy()
    skip[CONN_POS[(0, 6)]] = 1  # input -> output only: the 2-vertex cell, valid
    assert ds.to_index(np.stack([none, full, skip])).tolist()[:2] == [-1, -1]
    assert ds.to_index(skip[None])[0] >= 0 and ds.decode(skip).n_vertices == 2
    with pytest.raises(NasvizError, match="input is not connected to the output"):
        ds.decode(none)
    with pytest.raises(NasvizError, match="too many edges: 21"):
        ds.decode(full)
    assert ds.try_decode(none) is None


def test_rows_in_table_mapped_and_invalid(ds, bench):
    in_table = ds.codes(bench.indices[[5]])[0]
    missing_index = int(np.setdiff1d(np.arange(len(bench.space)), bench.indices)[0])  # a valid cell not in the sample
    missing = ds.codes([missing_index])[0]
    invalid = np.zeros(26, dtype=np.int64)
    rows, status = ds.rows(np.stack([in_table, missing, invalid]), bench)
    assert status.tolist() == [IN_TABLE, MAPPED, INVALID]
    assert rows[0] == 5 and rows[2] == -1
    # the mapped row is a nearest table cell by Hamming distance of the canonical codes (lowest row on ties)
    dist = (ds.codes(bench.indices) != missing).sum(1)
    assert dist[rows[1]] == dist.min() and rows[1] == int(np.argmin(dist)) and dist.min() > 0


# -- teacher forcing: bad input ------------------------------------------------------------------
def test_teacher_forcing_rejects_cells_outside_the_space():
    ctrl = small()
    with pytest.raises(NasvizError, match="outside the nb101 space.*not connected to the output"):
        ctrl.teacher_force(np.zeros((1, 26), dtype=np.int64))
    with pytest.raises(NasvizError, match="decision 0 is 3, accepted 0..2"):
        ctrl.teacher_force(np.array([[3] + [0] * 25]))
    with pytest.raises(NasvizError, match="too many edges"):
        ctrl.teacher_force([{"matrix": np.triu(np.ones((7, 7), dtype=int), 1).tolist(),
                             "ops": [INPUT] + [CONV3X3] * 5 + [OUTPUT]}])
    with pytest.raises(NasvizError, match="not connected"):
        ctrl.teacher_force(['{"matrix": [[0,0],[0,0]], "ops": ["input","output"]}'])
    with pytest.raises(NasvizError, match=r"must be \(n, 26\)"):
        ctrl.teacher_force(np.zeros((2, 6), dtype=int))
    from nasviz.spaces.nb201 import NB201Cell

    with pytest.raises(NasvizError, match="nb201 cell, but this controller samples nb101"):
        ctrl.teacher_force([NB201Cell((0, 1, 2, 3, 4, 0))])
    # the memory buffer's reconstruction loss accepts whatever was sampled, valid or not
    assert float(ctrl.nll(np.zeros((2, 26), dtype=np.int64)).detach()) > 0


def test_unknown_space_and_checkpoints_of_the_other_space(tmp_path):
    with pytest.raises(NasvizError, match="no controller for space 'nb999'; accepted: nb101, nb201"):
        get_decision_space("nb999")
    ck101 = io.save(small(), tmp_path / "nb101ck", {"kind": "random", "seed": 0}, "card")
    with pytest.raises(NasvizError, match="space 'nb101', not 'nb201'"):
        io.load(ck101, space="nb201")
    ctrl, doc = io.load(ck101, space="nb101")
    assert doc["space"] == "nb101" and ctrl.n_decisions == 26
    ck201 = io.save(make_controller(TrainConfig(kind="random", controller=ControllerConfig(hidden_size=8, embed_size=8))),
                    tmp_path / "nb201ck", {"kind": "random", "seed": 0}, "card")
    with pytest.raises(NasvizError, match="space 'nb201', not 'nb101'"):
        io.load(ck201, space="nb101")


# -- training ----------------------------------------------------------------------------------
def test_reinforce_on_nb101_counts_cases_and_learns_valid_cells(bench, tmp_path):
    cfg = TrainConfig(kind="unsupervised", space="nb101", seed=0, epochs=3, steps_per_epoch=30, batch_size=16,
                      lr=0.02, controller=ControllerConfig(hidden_size=16, embed_size=16))
    assert cfg.reward.label == "cifar10:valid_acc:108"  # the NB101 default reward
    res = train(cfg, bench=bench)
    h = res.history
    assert all(r["in_table"] + r["mapped"] + r["invalid"] == 30 * 16 for r in h)
    assert sum(res.counts.values()) == 3 * 30 * 16 and res.counts["invalid"] == sum(r["invalid"] for r in h)
    assert h[-1]["invalid"] < h[0]["invalid"] * 0.7, [r["invalid"] for r in h]  # reward 0 teaches validity
    assert h[-1]["reward"] > h[0]["reward"] + 0.05
    values = bench.column("valid_acc", "cifar10", 108)
    before = A.sampled_accuracy(small(hidden=16), values, 300, seed=1, bench=bench).mean()
    after = A.sampled_accuracy(res.controller, values, 300, seed=1, bench=bench).mean()
    assert after > before, (before, after)
    # the model card reports the counts
    folder = save_result(res, tmp_path / "ck")
    card = (folder / "README.md").read_text()
    assert f"{res.counts['invalid']:,} outside the space" in card and "nearest table cell" in card
    doc = json.loads((folder / "config.json").read_text())
    assert doc["training"]["sampled"] == res.counts


def test_supervised_nb101_buffer_and_wrong_benchmark(bench):
    cfg = TrainConfig(kind="supervised", space="nb101", seed=1, epochs=4, steps_per_epoch=4, batch_size=2,
                      buffer_start_epoch=1, buffer_add=20, buffer_size=40, buffer_replace=5, sup_start_epoch=2,
                      sup_batch=10, controller=ControllerConfig(hidden_size=8, embed_size=8))
    res = train(cfg, bench=bench)
    assert [r["buffer"] for r in res.history] == [0, 20, 40, 40]
    assert res.buffer.data.shape[1] == 26 and all(r["loss_sup"] > 0 for r in res.history[2:])
    with pytest.raises(NasvizError, match="needs the nb101 benchmark; got the nb201 one"):
        train(cfg, bench=get_benchmark("nb201"))
    with pytest.raises(NasvizError, match="NB101 has no"):
        RewardSpec.parse("cifar10:valid_acc:200", "nb101").values(bench)
    assert RewardSpec.parse("cifar10:valid_acc:12", "nb101").values(bench).shape == (len(bench),)


# -- analyses ---------------------------------------------------------------------------------------
def test_sample_valid_drops_sequences_outside_the_space(ds):
    ctrl = small(seed=3)
    roll, invalid = A.sample_valid(ctrl, 200, seed=2)
    assert roll.decisions.shape == (200, 26) and (ds.to_index(roll.decisions.numpy()) >= 0).all()
    assert invalid > 20  # an untrained controller emits many invalid specs (about 27% of uniform draws)
    raw = ctrl.sample(200 + invalid, torch.Generator().manual_seed(2))
    assert sum(c is None for c in raw.cells) > 0
    with torch.no_grad():  # the teacher-forced states equal those of sampling
        again = ctrl.teacher_force(roll.decisions)
    assert torch.allclose(again.hidden, roll.hidden, atol=1e-6)


def test_nb101_pair_measures_known_values(ds, bench):
    values = bench.column("valid_acc", "cifar10", 108)
    a = ds.encode(CELL)
    # b: the same cell with another op on vertex 1
    b = list(a)
    b[OP_POS[1]] = (a[OP_POS[1]] + 1) % 3
    c = ds.codes(bench.indices[[3]])[0]
    m = A.pair_measures("nb101", np.array([a, a, a]), np.array([a, b, c]), values, bench)
    assert m["common_ops"][:2].tolist() == [3, 2]
    n_conn = sum(a[t] for t in sorted(CONN_POS.values()))
    assert m["common_connections"][:2].tolist() == [n_conn, n_conn]
    assert m["ged"][:2].tolist() == [0, 1]
    assert m["abs_acc_diff"][0] == 0
    with pytest.raises(NasvizError, match="outside the NB101 space"):
        A.pair_measures("nb101", np.zeros((1, 26), int), np.array([a]), values, bench)
    with pytest.raises(NasvizError, match="similarity measures are defined for nb101, nb201"):
        A.pair_measures("nb999", np.array([a]), np.array([a]), values)


def test_nb101_ged_fast_solver_matches_exhaustive_search():
    from nasviz.spaces.nb101 import NB101Space

    space = NB101Space()
    rng = np.random.default_rng(4)
    a = [space.sample(rng) for _ in range(40)] + [CELL]
    b = [space.sample(rng) for _ in range(40)] + [NB101Cell([[0, 1], [0, 0]], [INPUT, OUTPUT])]
    fast = G.pairwise("nb101", a, b)
    slow = [G.ged(x, y) for x, y in zip(G._nb101_graphs(a), G._nb101_graphs(b))]
    assert fast.tolist() == slow
    iso = [space.cell(space.index(x)) for x in a]
    assert (G.pairwise("nb101", a, iso) == 0).all()


def test_hidden_states_of_the_table_cells(tmp_path, bench, ds):
    ctrl = small(hidden=8)
    folder = io.save(ctrl, tmp_path / "ck", {"kind": "random", "seed": 0}, "card")
    meta = A.write_latents(ctrl, {"space": "nb101", "kind": "random", "seed": 0}, folder, tmp_path / "nb101-x.npz")
    with np.load(tmp_path / "nb101-x.npz", allow_pickle=False) as z:
        lat, idx, pca = z["latent"].astype(np.float32), z["index"], z["pca"]
        if meta["latent_centred"]:  # float32 arithmetic merged some cells' states: stored centred, from float64
            lat = (lat + z["latent_offset"]).astype(np.float32)
    assert lat.shape == (len(bench), 8) and pca.shape == (len(bench), 2) and meta["n_cells"] == len(bench)
    assert np.array_equal(idx, bench.indices)
    for r in (0, 999, len(bench) - 1):
        h = ctrl.final_hidden([bench.space.cell(int(idx[r]))])[0]
        assert np.abs(lat[r] - h).max() <= meta["latent_max_abs_err"] + 1e-6
    # the PCA is that of the table cells' hidden states, row for row (each axis up to its sign)
    from sklearn.decomposition import PCA

    full = A.all_hidden(ctrl)
    want = PCA(n_components=2).fit_transform(full.astype(np.float64))
    got = pca.astype(np.float32)
    for j in range(2):
        sign = np.sign(want[:, j] @ got[:, j])
        np.testing.assert_allclose(got[:, j], sign * want[:, j], rtol=0, atol=2e-3 * np.abs(want).max())
    # the latent map offers the file as a subset of the space: the sample cells, by their index
    from nasviz.viz import maps

    src = {s.name: s for s in maps.list_sources("nb101", folder=tmp_path)}["nb101-x"]
    assert src.n_cells == len(bench)
    loaded = maps.load_source("nb101", "nb101-x", tmp_path)
    assert np.array_equal(loaded["cells"], np.sort(bench.indices))
    assert np.allclose(loaded["pca"][idx], pca.astype(np.float32), equal_nan=False)


def test_cli_nb101_train_analyze_and_bad_input(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from nasviz.commands.controller import app

    runner = CliRunner()
    models = tmp_path / "models"
    for kind in A.KINDS:
        r = runner.invoke(app, ["train", "--space", "nb101", "--kind", kind, "--epochs", "1", "--steps-per-epoch", "3",
                                "--hidden-size", "8", "--out", str(models / f"nb101-controller-{kind}" / "seed0"),
                                "--json"])
        assert r.exit_code == 0, r.output
        out = json.loads(r.output)
        assert out["kind"] == kind and (kind == "random" or sum(out["final"][k] for k in
                                                                ("in_table", "mapped", "invalid")) == 3)
    monkeypatch.setenv("NASVIZ_MODELS_DIR", str(models))
    out = tmp_path / "out"
    r = runner.invoke(app, ["analyze", "--space", "nb101", "--out", str(out), "--n-archs", "60", "--n-pairs", "200",
                            "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["space"] == "nb101" and set(summary["table1"]["rows"]) == set(A.KINDS)
    assert len(summary["fig1_mean_max_prob_per_step"]["random"]) == 26
    assert all(v["in_table"] + v["mapped"] == 60 for v in summary["fig2_sampled"].values())
    assert (out / "table1_spearman.html").stat().st_size > 1000 and "paper -0.404" in (out / "table1.md").read_text()
    bad = runner.invoke(app, ["analyze", "--space", "nb999", "--out", str(out)])
    assert isinstance(bad.exception, NasvizError) and "accepted: nb101, nb201" in str(bad.exception)
    # an NB201 checkpoint where NB101 ones are expected
    wrong = tmp_path / "wrong"
    r = runner.invoke(app, ["train", "--space", "nb201", "--kind", "random", "--hidden-size", "8", "--out",
                            str(wrong / "nb101-controller-random" / "seed0"), "--json"])
    assert r.exit_code == 0, r.output
    for kind in ("unsupervised", "supervised"):
        (wrong / f"nb101-controller-{kind}").symlink_to(models / f"nb101-controller-{kind}")
    bad = runner.invoke(app, ["analyze", "--space", "nb101", "--out", str(out)], env={"NASVIZ_MODELS_DIR": str(wrong)})
    assert isinstance(bad.exception, NasvizError) and "space 'nb201', not 'nb101'" in str(bad.exception)


def test_shipped_collapsed_controller_is_stored_as_its_float64_states(bench):
    """The shipped NB101 unsupervised controller collapsed below float32's resolution for some cells; its file
    holds the float64 states, centred: latent + latent_offset is the hidden state, row for row."""
    from nasviz.analysis.embeddings import embeddings_dir

    with np.load(embeddings_dir() / "nb101-controller-unsupervised.npz", allow_pickle=False) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        if not meta.get("latent_centred"):
            pytest.skip("the shipped controller's float32 states keep every cell apart")
        lat, off, idx = z["latent"], z["latent_offset"], z["index"]
    ctrl, _ = io.load(io.list_checkpoints("nb101", "unsupervised")[0], space="nb101")
    rows = [0, 1234, len(idx) - 1]
    cells = [bench.space.cell(int(idx[r])) for r in rows]
    exact = ctrl.final_hidden(cells, exact=True)
    # float32 storage of the centred states: ~1e-7 of their own size (~1e-3), far below the spacing of the points
    assert np.abs(lat[rows].astype(np.float64) + off - exact).max() < 1e-9
    assert np.abs(exact - ctrl.final_hidden(cells)).max() < 1e-6  # the float32 states, more exactly
    assert meta["float32_duplicate_rows"] > 0 and meta["duplicate_rows"] == 0
