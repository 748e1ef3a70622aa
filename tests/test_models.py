"""Latent models: interface, checkpoints, determinism, input errors, shipped models, analysis functions."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from nasviz.analysis import latent as L
from nasviz.analysis.projections import project
from nasviz.errors import DataFileError, NasvizError
from nasviz.models import MODELS, Arch2Vec, BetaVAE, Encoder, Invalid, NotFittedError, load_model, shipped_models
from nasviz.models._common import split_indices
from nasviz.paths import models_dir
from nasviz.spaces.nb201 import EDGES, N_OPS, NB201Cell, NB201Space

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def space():
    return NB201Space()


@pytest.fixture(scope="module")
def cells(space):
    return list(space.enumerate())


def tiny_a2v(**kw):
    cfg = dict(gin_dims=(32, 32, 32, 32, 32), latent_dim=8, epochs=2, seed=0)
    cfg.update(kw)
    return Arch2Vec(**cfg)


def tiny_bvae(**kw):
    cfg = dict(latent_dim=6, hidden=16, embed_dim=8, epochs=2, seed=0)
    cfg.update(kw)
    return BetaVAE(**cfg)


@pytest.fixture(scope="module")
def fitted_a2v(cells):
    return tiny_a2v().fit(cells[:256])


@pytest.fixture(scope="module")
def fitted_bvae(cells):
    acc = np.full(256, np.nan)
    acc[:64] = np.linspace(50, 90, 64)
    return tiny_bvae().fit(cells[:256], acc=acc, flops=np.linspace(10, 200, 256))


# -- interface -------------------------------------------------------------------------
def test_registry_and_protocol(fitted_a2v, fitted_bvae):
    assert set(MODELS) == {"arch2vec", "beta-vae"}
    assert isinstance(fitted_a2v, Encoder) and isinstance(fitted_bvae, Encoder)


@pytest.mark.parametrize("make", [tiny_a2v, tiny_bvae])
def test_transform_before_fit_is_clear(make, cells):
    m = make()
    for call in (lambda: m.transform(cells[:3]), lambda: m.decode(np.zeros(m.latent_shape))):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()


def test_shapes_and_fit_returns_self(cells, fitted_a2v, fitted_bvae):
    assert fitted_a2v.transform(cells[:5]).shape == (5, 8)
    assert fitted_a2v.latent(cells[:5]).shape == (5, 8, 8)
    np.testing.assert_allclose(fitted_a2v.transform(cells[:5]), fitted_a2v.latent(cells[:5]).sum(1), rtol=1e-5)
    assert fitted_bvae.transform(cells[:5]).shape == (5, 6)
    m = tiny_bvae(epochs=1)
    assert m.fit(cells[:64]) is m


def test_training_reduces_loss(cells):
    m = tiny_a2v(epochs=4).fit(cells[:512])
    assert m.history_[-1] < 0.85 * m.history_[0]
    b = tiny_bvae(epochs=4).fit(cells[:512], flops=np.arange(512.0))
    assert b.history_[-1] < b.history_[0]


@pytest.mark.parametrize("bad,msg", [
    (np.zeros(5), "shape"), (np.zeros((2, 7)), "shape"),
    (np.array([[np.nan] * 6]), "NaN"), (np.array([[0, 0, np.inf, 0, 0, 0]]), "inf"), ("abc", "numeric"),
])
def test_bad_latent_input_bvae(fitted_bvae, bad, msg):
    with pytest.raises(NasvizError, match=msg):
        fitted_bvae.decode(bad)


def test_bad_latent_input_arch2vec(fitted_a2v):
    with pytest.raises(NasvizError, match="shape"):
        fitted_a2v.decode(np.zeros((3, 7, 8)))
    z = np.zeros((2, 8, 8))
    z[1, 3, 2] = np.nan
    with pytest.raises(NasvizError, match="code 1 contains NaN"):
        fitted_a2v.decode(z)
    assert len(fitted_a2v.decode(np.zeros((2, 64)))) == 2  # flat codes are accepted


def test_arch2vec_decode_gives_explicit_invalid(fitted_a2v):
    # all-zero node latents: sigma(0) = 0.5 is not an edge, so the graph misses NB201's fixed data flow
    out = fitted_a2v.decode(np.zeros((1, 8, 8)))[0]
    assert isinstance(out, Invalid) and not out and "adjacency" in out.reason


def test_wrong_cell_type(fitted_a2v):
    with pytest.raises(NasvizError, match="NB201"):
        fitted_a2v.transform(["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"])


def test_unsupervised_has_no_predictor(fitted_a2v, cells):
    with pytest.raises(NasvizError, match="no accuracy predictor"):
        fitted_a2v.predict(cells[:2])


def test_supervised_needs_labels(cells):
    with pytest.raises(NasvizError, match="needs y"):
        tiny_a2v(supervised=True).fit(cells[:64])


def test_bvae_predictors_learn_flops(cells):
    flops = np.array([sum(o in (2, 3) for o in c.ops) for c in cells[:512]], dtype=float)  # convs per cell
    m = tiny_bvae(epochs=6, alpha=0.0, mu=0.2).fit(cells[:512], flops=flops)
    pf = m.predict_flops(cells[:512])
    assert np.corrcoef(pf, flops)[0, 1] > 0.5


# -- determinism & checkpoints ------------------------------------------------------------
def test_deterministic_from_seed(cells, fitted_a2v):
    again = tiny_a2v().fit(cells[:256])
    np.testing.assert_array_equal(again.latent(cells[:50]), fitted_a2v.latent(cells[:50]))
    other = tiny_a2v(seed=1).fit(cells[:256])
    assert not np.allclose(other.latent(cells[:50]), fitted_a2v.latent(cells[:50]))


def test_split_is_seeded():
    a, b = split_indices(15625, 0), split_indices(15625, 0)
    assert np.array_equal(a[1], b[1]) and len(a[1]) == 1562 and len(np.intersect1d(a[0], a[1])) == 0
    assert not np.array_equal(split_indices(15625, 1)[1], a[1])


def test_bvae_nb101_options_train_save_and_load(tmp_path, cells):
    """Position-aware decoder input, KL warm-up and the cosine learning rate (the NB101 settings)."""
    m = tiny_bvae(dec_position=True, kl_warmup=8, lr=3e-3, lr_final=1e-4).fit(cells[:256])
    for flag in ({"dec_position": False}, {"kl_warmup": 0}, {"lr_final": None}):  # each option changes training
        other = tiny_bvae(**{"dec_position": True, "kl_warmup": 8, "lr": 3e-3, "lr_final": 1e-4, **flag})
        assert other.fit(cells[:256]).history_ != m.history_, flag
    assert "dec_pos" in dict(m.model_.named_parameters())
    m.save(tmp_path / "ck")
    back = load_model(tmp_path / "ck", space="nb201")
    assert back.config.dec_position and back.config.kl_warmup == 8 and back.config.lr_final == 1e-4
    z = m.latent(cells[:30])
    np.testing.assert_array_equal(back.latent(cells[:30]), z)
    assert back.decode(z) == m.decode(z)
    # the warm-up weight ramps: with beta huge, warm-up keeps the first epoch's loss far below no warm-up
    hot = tiny_bvae(beta=50.0, epochs=1).fit(cells[:256]).history_[0]
    warm = tiny_bvae(beta=50.0, epochs=1, kl_warmup=1000).fit(cells[:256]).history_[0]
    assert warm < hot
    with pytest.raises(NasvizError, match="lr_final"):
        tiny_bvae(lr=1e-3, lr_final=1e-2).fit(cells[:64])


@pytest.mark.parametrize("mix", ["mlp", "attn"])
def test_arch2vec_decoder_mixing_trains_saves_and_loads(tmp_path, cells, mix):
    """The mixing decoders (every node's decode sees all node latents) and the cosine learning rate: each changes
    training, the mixer's weights are saved, and a loaded model decodes as the trained one."""
    m = tiny_a2v(dec_mix=mix, dec_hidden=16, lr_final=1e-4).fit(cells[:256])
    assert m.history_ != tiny_a2v(dec_hidden=16, lr_final=1e-4).fit(cells[:256]).history_
    assert m.history_ != tiny_a2v(dec_mix=mix, dec_hidden=16).fit(cells[:256]).history_
    assert any(n.startswith("dec_mixer.") for n, _ in m.model_.named_parameters())
    m.save(tmp_path / "ck")
    back = load_model(tmp_path / "ck", space="nb201")
    assert back.config.dec_mix == mix and back.config.lr_final == 1e-4
    z = m.latent(cells[:30])
    np.testing.assert_array_equal(back.latent(cells[:30]), z)
    assert back.decode(z) == m.decode(z)
    # the mixer changes what a code decodes to: the same latents through the mixer-free decoder differ
    plain_ops, _ = m.model_.dec_ops(torch.as_tensor(z)), None
    mixed_ops, _ = m.model_.decode(torch.as_tensor(z))
    assert not torch.allclose(plain_ops, mixed_ops)
    with pytest.raises(NasvizError, match="dec_mix must be none, mlp or attn"):
        tiny_a2v(dec_mix="gru").fit(cells[:64])


@pytest.mark.parametrize("which", ["a2v", "bvae"])
def test_save_load_roundtrip(tmp_path, cells, fitted_a2v, fitted_bvae, which):
    m = fitted_a2v if which == "a2v" else fitted_bvae
    m.save(tmp_path / "ck", info={"data": {"cells": 256}})
    assert {p.name for p in (tmp_path / "ck").iterdir()} == {"model.safetensors", "config.json", "README.md"}
    back = load_model(tmp_path / "ck", space="nb201")
    np.testing.assert_array_equal(back.latent(cells[:20]), m.latent(cells[:20]))
    z = m.latent(cells[:20])
    assert back.decode(z) == m.decode(z)
    if which == "bvae":
        np.testing.assert_allclose(back.predict(cells[:5]), m.predict(cells[:5]), rtol=1e-6)


def test_bad_checkpoints(tmp_path, fitted_a2v):
    good = tmp_path / "good"
    fitted_a2v.save(good)
    with pytest.raises(DataFileError, match="not a folder"):
        load_model(tmp_path / "nope")
    # missing weights
    miss = tmp_path / "miss"
    shutil.copytree(good, miss)
    (miss / "model.safetensors").unlink()
    with pytest.raises(DataFileError, match="missing model.safetensors"):
        load_model(miss)
    # corrupt weights
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    (bad / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(DataFileError, match="safetensors"):
        load_model(bad)
    # corrupt JSON
    bj = tmp_path / "bj"
    shutil.copytree(good, bj)
    (bj / "config.json").write_text("{not json")
    with pytest.raises(DataFileError, match="not valid JSON"):
        load_model(bj)
    # other space
    with pytest.raises(DataFileError, match="trained on space 'nb201', not 'nb101'"):
        load_model(good, space="nb101")
    # weights that do not fit the config
    wf = tmp_path / "wf"
    shutil.copytree(good, wf)
    doc = json.loads((wf / "config.json").read_text())
    doc["config"]["latent_dim"] = 9
    (wf / "config.json").write_text(json.dumps(doc))
    with pytest.raises(DataFileError, match="do not fit"):
        load_model(wf)
    # a pickle is never read: a torch.save file in place of the weights is refused
    pk = tmp_path / "pk"
    shutil.copytree(good, pk)
    torch.save(fitted_a2v.model_.state_dict(), pk / "model.safetensors")
    with pytest.raises(DataFileError):
        load_model(pk)


# -- shipped checkpoints ---------------------------------------------------------------
SHIPPED = [m for m in shipped_models() if m.startswith("nb201-")]
# held-out reconstruction each shipped model must keep (measured values are in models/*/README.md)
# (measured on the full held-out split: arch2vec 100 %, beta-VAEs beta 0 / 0.5 / 1 / 2: 99.8 / see card / 99.8 /
# 99.3 %; issue 14 ships a beta-VAE only at >= 99.5 % (beta <= 1) or >= 95 % (beta > 1). The supervised arch2vec
# does not reconstruct (0 %: its encoder is trained through the predictor only), so only the embedding checks apply)
RECON_FLOOR = {"nb201-arch2vec": 0.99, "nb201-bvae-beta0": 0.99, "nb201-bvae-beta0.5": 0.99,
               "nb201-bvae-beta1": 0.99, "nb201-bvae-beta2": 0.95, "nb201-arch2vec-supervised": 0.0}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_reconstructs_real_cells(name, cells):
    m = load_model(models_dir() / name, space="nb201")
    _, test = split_indices(len(cells), m.config.seed)
    sample = [cells[i] for i in test[:400]]
    rec = L.reconstruction_accuracy(m, sample)
    assert rec >= RECON_FLOOR[name], f"{name}: held-out reconstruction {rec:.3f}"
    emb = m.transform(sample)
    assert emb.shape == (400, m.embedding_dim) and np.isfinite(emb).all()


# NB101: held-out reconstruction on 400 cells of each model's own 10 % split (full split, measured: arch2vec
# 99.988 %, beta-VAE beta=1 99.88 %, beta=0 99.99 %; the supervised arch2vec has no decoder target)
NB101_RECON_FLOOR = {"nb101-arch2vec": 0.995, "nb101-bvae-beta1": 0.99, "nb101-bvae-beta0": 0.99}


@pytest.mark.parametrize("name", sorted(NB101_RECON_FLOOR))
def test_shipped_nb101_latent_models_reconstruct_held_out_cells(name):
    from nasviz.spaces.nb101 import NB101Space

    sp = NB101Space()
    m = load_model(models_dir() / name, space="nb101")
    _, test = split_indices(sp.n_cells, m.config.seed)
    sample = [sp.cell(int(i)) for i in test[:400]]
    rec = L.reconstruction_accuracy(m, sample)
    assert rec >= NB101_RECON_FLOOR[name], f"{name}: held-out reconstruction {rec:.3f}"


def test_every_shipped_latent_model_has_its_embedding():
    """The map, traversal and search pages read data/embeddings/<model>.npz for every shipped latent model."""
    from nasviz.analysis.embeddings import embeddings_dir

    latent = [m for m in shipped_models()
              if json.loads((models_dir() / m / "config.json").read_text()).get("format") == "nasviz-latent-model"]
    assert len(latent) >= 8
    missing = [m for m in latent if not (embeddings_dir() / f"{m}.npz").is_file()]
    assert not missing, f"run `nasviz embed` for {missing}"


def test_core_models_are_shipped():
    for name in ("nb201-arch2vec", "nb201-arch2vec-supervised", "nb201-bvae-beta0", "nb201-bvae-beta1",
                 "nb201-bvae-beta2"):
        assert name in SHIPPED, f"{name} missing from models/"


# -- analysis functions on models with known structure ---------------------------------------
class EdgeCoded:
    """A decoder whose latent dim k sets the op of edge k (perfectly disentangled by construction)."""

    space = "nb201"
    latent_shape = (6,)
    embedding_dim = 6

    def latent(self, cells):
        return np.array([c.ops for c in cells], dtype=np.float32) - 2.0

    transform = latent

    def decode(self, z):
        z = np.asarray(z, dtype=np.float32).reshape(-1, 6)
        ops = np.clip(np.rint(z + 2.0), 0, N_OPS - 1).astype(int)
        return [NB201Cell(tuple(o)) for o in ops]


def test_disentanglement_scores_a_disentangled_decoder(cells):
    res = L.disentanglement(EdgeCoded(), cells, n_anchors=20, n_points=11, seed=0)
    assert res.score() == pytest.approx(1.0)
    assert res.top_factor == [f"op of edge {frm}->{to}" for to, frm in EDGES]
    assert (res.steps_changed > 0).all() and res.invalid.sum() == 0


class Mixed(EdgeCoded):
    """Every latent dim moves two edges at once: share must drop to 0.5."""

    def decode(self, z):
        z = np.asarray(z, dtype=np.float32).reshape(-1, 6)
        mixed = z + np.roll(z, 1, axis=1)
        ops = np.clip(np.rint(mixed / 2 + 2.0), 0, N_OPS - 1).astype(int)
        return [NB201Cell(tuple(o)) for o in ops]


def test_disentanglement_detects_mixing(cells):
    res = L.disentanglement(Mixed(), cells, n_anchors=20, seed=0)
    assert res.score() == pytest.approx(0.5, abs=0.05)


def test_reconstruction_and_validity_on_known_decoder(cells):
    assert L.reconstruction_accuracy(EdgeCoded(), cells[:100]) == 1.0
    vu = L.validity_uniqueness(EdgeCoded(), cells, n=2000, seed=0)
    assert vu["validity"] == 1.0 and 0.3 < vu["uniqueness"] <= 1.0


def test_distance_by_edit_is_monotone_for_onehots(space):
    walk = L.random_walk(space, 200, np.random.default_rng(0))
    assert all(a.hamming(b) == 1 for a, b in zip(walk, walk[1:]))
    onehot = np.array([np.eye(N_OPS)[list(c.ops)].ravel() for c in walk])
    res = L.distance_by_edit(onehot, walk)
    for k, v in res["by_edit"].items():
        assert v["mean"] == pytest.approx(np.sqrt(2 * k))
    assert res["monotonic"]
    rnd = L.distance_by_edit(np.random.default_rng(0).normal(size=(200, 6)), walk)
    assert not all(abs(v["mean"] - np.sqrt(2 * k)) < 1e-6 for k, v in rnd["by_edit"].items())


def test_gp_predicts_smooth_function_not_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3))
    smooth = L.gp_predictive(x, np.sin(x[:, 0]) + 0.5 * x[:, 1], n_train=80, seeds=[0], restarts=0)
    noise = L.gp_predictive(x, rng.normal(size=500), n_train=80, seeds=[0], restarts=0)
    assert smooth["pearson_mean"] > 0.9 and abs(noise["pearson_mean"]) < 0.15
    assert smooth["rmse_mean"] < noise["rmse_mean"]


def test_latent_correlations_sign():
    x = np.arange(100.0)[:, None] * np.array([[1.0, -1.0]])
    rho = L.latent_correlations(x, acc=np.arange(100.0) ** 2)
    assert rho["acc"] == pytest.approx([1.0, -1.0])


def test_projection_cache_and_errors():
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    cache = {}
    a = project(x, "pca", cache=cache)
    assert a.shape == (50, 2) and len(cache) == 1
    assert project(x, "pca", cache=cache) is a
    with pytest.raises(NasvizError, match="unknown projection"):
        project(x, "mds")
    with pytest.raises(NasvizError, match="NaN"):
        project(np.full((5, 2), np.nan), "pca")


def test_decode_latency_measures(fitted_bvae, cells):
    r = L.decode_latency(fitted_bvae, fitted_bvae.latent(cells[:1])[0], n_points=11, repeats=5)
    assert 0 < r["median_ms"] < 1000


# -- NB101 encodings (models are not trained on NB101 yet; see benchmarks/results/models.md) ----------
def test_nb101_encodings_round_trip():
    from nasviz.models._common import get_encoding
    from nasviz.spaces import get_space

    sp = get_space("nb101")
    rng = np.random.default_rng(0)
    cells = [sp.sample(rng) for _ in range(60)]
    g, s = get_encoding("nb101", "graph"), get_encoding("nb101", "sequence")
    A, X = g.encode(cells)
    assert A.shape == (60, 7, 7) and X.shape == (60, 7, 6) and (X.sum(-1) == 1).all()
    T = s.encode(cells)
    assert T.shape == (60, 26)
    for i, c in enumerate(cells):
        assert g.decode_one(np.triu(A[i], 1), X[i].argmax(1)).hash == c.hash
        assert s.decode_one(T[i]).hash == c.hash
    bad = T[0].copy()
    bad[21:] = [5, 2, 5, 5, 5]  # a pad vertex before a real one
    assert isinstance(s.decode_one(bad), Invalid)


def test_precompute_embeddings_and_cache(tmp_path, fitted_bvae):
    from nasviz.analysis.embeddings import load_embeddings, precompute

    root, out = tmp_path / "models", tmp_path / "emb"
    fitted_bvae.save(root / "nb201-tiny")
    r1 = precompute(["nb201-tiny"], methods=["pca"], models_root=root, out_dir=out)
    assert r1[0]["status"] == "computed"
    e = load_embeddings("nb201-tiny", out)
    assert e["means"].shape == (15625, 6) and e["pca"].shape == (15625, 2)
    assert e["meta"]["means_max_abs_err"] < 0.01 and e["meta"]["means_dtype"] in ("float16", "float32")
    space = NB201Space()
    np.testing.assert_allclose(e["means"][:50], fitted_bvae.transform([space.cell(i) for i in range(50)]),
                               atol=0.01)
    assert precompute(["nb201-tiny"], methods=["pca"], models_root=root, out_dir=out)[0]["status"] == "cached"
    cfg_path = root / "nb201-tiny" / "config.json"
    doc = json.loads(cfg_path.read_text())
    doc.setdefault("info", {}).setdefault("metrics", {})["a card measurement"] = "updated"
    cfg_path.write_text(json.dumps(doc, indent=1))  # the card (info) changed, the model did not
    assert precompute(["nb201-tiny"], methods=["pca"], models_root=root, out_dir=out)[0]["status"] == "cached"
    doc["config"]["lr"] = doc["config"]["lr"] * 2  # a hyper-parameter changed: the embedding is stale
    cfg_path.write_text(json.dumps(doc, indent=1))
    assert precompute(["nb201-tiny"], methods=["pca"], models_root=root, out_dir=out)[0]["status"] == "computed"
    (root / "nb201-tiny" / "model.safetensors").write_bytes(b"")  # so are changed weights (caught before loading)
    from nasviz.analysis.embeddings import checkpoint_hash

    assert checkpoint_hash(root / "nb201-tiny") != load_embeddings("nb201-tiny", out)["meta"]["checkpoint_hash"]
    with pytest.raises(DataFileError, match="another version"):
        load_embeddings("nb201-tiny", out, checkpoint=root / "nb201-tiny")


def test_embeddings_are_stored_in_float32_when_float16_would_merge_points():
    from nasviz.analysis.embeddings import distinct_rows, storage_means

    apart = np.array([[1.0, 2.0], [1.0, 2.5], [1.0, 2.0]], dtype=np.float32)
    stored, n = storage_means(apart)
    assert stored.dtype == np.float16 and n == 2 == distinct_rows(stored)
    close = np.array([[1000.0, 0.0], [1000.1, 0.0]], dtype=np.float32)  # float16 spacing at 1000 is 0.5
    assert distinct_rows(close.astype(np.float16)) == 1
    stored, n = storage_means(close)
    assert stored.dtype == np.float32 and n == 2 == distinct_rows(stored)
    np.testing.assert_array_equal(stored, close)


def test_shipped_embeddings_match_their_checkpoints():
    """Every shipped embedding was computed from the checkpoint now in models/ (same weights and config)."""
    import glob

    from nasviz.analysis.embeddings import checkpoint_hash, embeddings_dir

    files = sorted(glob.glob(str(embeddings_dir() / "*.npz")))
    assert len(files) >= 14
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
        folder = models_dir() / meta.get("checkpoint", meta["model"])
        assert meta["checkpoint_hash"] == checkpoint_hash(folder), f"{f} is stale: run `nasviz embed`"


class VertexCountCoded:
    """An NB101 decoder whose only latent dim chooses how many conv3x3 vertices sit in a chain."""

    space = "nb101"
    latent_shape = (1,)
    embedding_dim = 1

    def latent(self, cells):
        return np.array([[len(c.ops)] for c in cells], dtype=np.float32)

    def decode(self, z):
        from nasviz.spaces.nb101 import NB101Cell

        out = []
        for v in np.asarray(z, dtype=np.float32).reshape(-1):
            n = int(np.clip(np.rint(v), 2, 7))
            m = np.eye(n, k=1, dtype=int)
            out.append(NB101Cell(m, ["input", *["conv3x3-bn-relu"] * (n - 2), "output"]))
        return out


def test_nb101_factors_count_vertex_number_and_edges():
    from nasviz.spaces.nb101 import NB101Cell

    names, changes = L.structural_factors("nb101")
    assert names[0] == "number of vertices" and len(names) == 1 + 5 + 21
    chain = NB101Cell(np.eye(4, k=1, dtype=int), ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"])
    other_op = NB101Cell(np.eye(4, k=1, dtype=int), ["input", "maxpool3x3", "conv1x1-bn-relu", "output"])
    m = np.eye(4, k=1, dtype=int)
    m[0, 3] = 1
    extra_edge = NB101Cell(m, list(chain.ops))
    assert [names[k] for k in changes(chain, other_op)] == ["op of vertex 1"]
    assert [names[k] for k in changes(chain, extra_edge)] == ["edge 0->3"]  # padding is trailing
    assert changes(chain, NB101Cell(np.eye(3, k=1, dtype=int), ["input", "conv3x3-bn-relu", "output"])) == [0]
    chains = [NB101Cell(np.eye(n, k=1, dtype=int), ["input", *["conv3x3-bn-relu"] * (n - 2), "output"])
              for n in range(2, 8)]
    res = L.disentanglement(VertexCountCoded(), chains * 5, n_anchors=10, seed=0)
    assert res.top_factor == ["number of vertices"] and res.score() == pytest.approx(1.0)


def test_nb101_edit_distances_match_the_cell_method():
    from nasviz.spaces import get_space

    sp = get_space("nb101")
    rng = np.random.default_rng(1)
    cells = [sp.cell(int(i)) for i in rng.choice(len(sp), 40, replace=False)]
    d = L.edit_distances(cells)
    assert all(d[i, j] == cells[i].edit_distance(cells[j]) for i in range(40) for j in range(40))


def test_nb101_training_labels_cover_exactly_the_sample():
    from nasviz.bench import get_benchmark
    from nasviz.models.train import NB101_LABEL, _space_labels

    bench = get_benchmark("nb101")
    y, have = _space_labels(bench, "nb101", NB101_LABEL, len(bench.space))
    assert have.sum() == len(bench.indices) == 30_001
    i = int(bench.indices[123])
    assert y[i] == bench.query(bench.space.cell(i), "valid_acc", "cifar10", 108)


def test_large_projections_fit_a_subset_and_place_the_rest(monkeypatch):
    from nasviz.analysis import projections as P

    monkeypatch.setattr(P, "FIT_MAX", 300)
    monkeypatch.setattr(P, "TSNE_FIT_MAX", 300)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (600, 4)), rng.normal(40, 1, (600, 4))]).astype(np.float32)
    y = P.project(x, "pca", seed=0)  # exact below and above the cap
    assert y.shape == (1200, 2)
    fitted = []
    out = P._fit_subset(x, 0, lambda a: (fitted.append(len(a)), a[:, :2] * 10)[1])
    assert fitted == [300]
    # every placed point lands among its own cluster's fitted points
    assert (out[:600, 0] < 200).all() and (out[600:, 0] > 200).all()
    assert "fitted on a seeded random 300 of 1,200" in P.projection_note("umap", 1200)
    assert P.projection_note("pca", 1200) == "exact"


def test_every_shipped_embedding_gives_distinct_cells_distinct_points():
    """Issue 14: no two cells share a point in any stored embedding, read as the map and the searches read it
    (float32), controllers' hidden states included."""
    from nasviz.analysis.embeddings import distinct_rows, embeddings_dir
    from nasviz.search.embeddings import _MEANS_KEYS

    files = sorted(embeddings_dir().glob("*.npz"))
    assert len(files) >= 10
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            key = next(k for k in _MEANS_KEYS if k in z.files)
            pts = z[key].astype(np.float32)
        assert distinct_rows(pts) == len(pts), f"{f.name}: {len(pts) - distinct_rows(pts)} cells share a point"


def test_arch2vec_kl_warmup_ramps_the_kl_weight_from_zero(cells):
    """One optimizer step (32 cells, batch 32): with a warm-up its KL weight is 0, so it equals a KL-free step;
    without one a large KL weight changes the weights."""
    def one_step(**kw):
        m = tiny_a2v(epochs=1, batch_size=32, progress=False, **kw).fit(cells[:32])
        return torch.cat([p.detach().flatten() for p in m.model_.parameters()])

    free = one_step(kl_weight=0.0)
    assert torch.equal(one_step(kl_weight=1e4, kl_warmup=10), free)
    assert not torch.equal(one_step(kl_weight=1e4), free)
    with pytest.raises(NasvizError, match="kl_warmup"):
        tiny_a2v(kl_warmup=-3, progress=False).fit(cells[:32])


def test_arch2vec_mmd_compares_whole_codes_with_the_prior(cells):
    """The MMD term (an option that did not raise NB101 prior uniqueness, BENCHMARKS training probes): ~0 for
    codes drawn from the prior, clearly positive for shrunk, shifted or node-correlated codes; in training it
    changes the weights, and a bad weight is refused before anything trains."""
    from nasviz.models.arch2vec import mmd

    g = torch.Generator().manual_seed(0)
    prior = torch.randn(256, 112, generator=g)
    same = mmd(torch.randn(64, 112, generator=g), prior)
    assert abs(float(same)) < 0.02
    assert float(mmd(0.5 * torch.randn(64, 112, generator=g), prior)) > 10 * abs(float(same))
    assert float(mmd(torch.randn(64, 112, generator=g) + 1.0, prior)) > 10 * abs(float(same))
    # every node the same latent: each entry is N(0, 1) on its own (a per-entry KL sees nothing), the code is not
    tied = torch.randn(64, 1, 16, generator=g).expand(64, 7, 16).reshape(64, 112)
    assert float(mmd(tied, prior)) > 10 * abs(float(same))

    def weights(**kw):
        m = tiny_a2v(epochs=1, batch_size=32, progress=False, **kw).fit(cells[:64])
        return torch.cat([p.detach().flatten() for p in m.model_.parameters()])

    # the term sends gradients to the codes ...
    z = torch.randn(16, 112, generator=g, requires_grad=True)
    mmd(0.5 * z, prior).backward()
    assert z.grad is not None and float(z.grad.abs().sum()) > 0
    # ... and through them to the encoder: a tiny weight draws the same random numbers (the prior sample shifts the
    # generator) and trains almost as without the term; a real weight trains otherwise
    tiny, real = weights(mmd_weight=1e-12), weights(mmd_weight=10.0)
    assert torch.allclose(tiny, weights(mmd_weight=2e-12), atol=1e-6)
    assert not torch.allclose(real, tiny, atol=1e-4)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(NasvizError, match="mmd_weight"):
            tiny_a2v(mmd_weight=bad, progress=False).fit(cells[:32])
    with pytest.raises(NasvizError, match="unsupervised arch2vec only"):
        tiny_a2v(mmd_weight=1.0, supervised=True, progress=False).fit(cells[:32], np.linspace(50, 90, 32))


def test_nb101_defaults_give_each_arch2vec_only_options_it_takes():
    """The NB101 defaults carry the prior-decode penalty (weight 0.25); the supervised arch2vec, which has no prior
    and refuses the penalty, gets the other defaults without it, so `nasviz train arch2vec --space nb101
    --supervised` trains; an explicit penalty for it is still refused."""
    from nasviz.models.train import NB101_OVERRIDES, config_overrides

    n = 381_262
    unsup = config_overrides("arch2vec", "nb101", n_train=n)
    assert unsup["dangling_weight"] == NB101_OVERRIDES["arch2vec"]["dangling_weight"] == 0.25
    assert unsup["kl_warmup"] == 2 * 11_915 and "kl_warmup_epochs" not in unsup
    Arch2Vec(**unsup).check_options()
    sup = config_overrides("arch2vec", "nb101", supervised=True, n_train=n)
    assert "dangling_weight" not in sup and sup["dec_mix"] == "mlp"
    Arch2Vec(supervised=True, **sup).check_options()
    forced = config_overrides("arch2vec", "nb101", supervised=True, n_train=n, options={"dangling_weight": 1.0})
    with pytest.raises(NasvizError, match="unsupervised arch2vec only"):
        Arch2Vec(supervised=True, **forced).check_options()
    assert "dangling_weight" not in config_overrides("arch2vec", "nb201", n_train=14_062)


@pytest.mark.parametrize("opts, message", [
    ({"edge_budget": 9}, "needs dangling_weight > 0"),
    ({"mask_pad": True}, "needs dangling_weight > 0"),
    ({"edge_budget": 9, "mask_pad": True}, "edge_budget and mask_pad are part"),
    ({"dangling_weight": 1.0, "edge_count": "decoded"}, "needs edge_budget"),
    ({"dangling_weight": 1.0, "edge_budget": 9, "edge_count": "all"}, "expected or decoded"),
    ({"dangling_weight": 1.0, "edge_budget": 0}, "whole number of edges >= 1"),
    ({"dangling_weight": 1.0, "edge_budget": -3}, "whole number of edges >= 1"),
    ({"dangling_weight": 1.0, "edge_budget": 9.7}, "whole number of edges >= 1"),
    ({"dangling_weight": 1.0, "mask_pad": True, "space": "nb201"}, "no pad rows"),
])
def test_arch2vec_refuses_penalty_options_that_would_do_nothing(opts, message):
    """An option that would be ignored (a budget without the penalty, pad masking where cells have no pad rows)
    or misread (a negative or fractional budget) is refused by name before training."""
    kw = {"space": "nb101", **opts}
    with pytest.raises(NasvizError, match=message):
        Arch2Vec(**kw).check_options()
    Arch2Vec(space="nb101", dangling_weight=1.0, edge_budget=9, edge_count="decoded", mask_pad=True).check_options()


def test_arch2vec_dangling_penalty_counts_op_vertices_off_every_path(cells):
    """The penalty on prior decodes (dangling_weight): ~0 when every op vertex has an edge in and out, ~1 per
    op vertex without an incoming (or outgoing) edge, nothing for a pad row; its gradient raises the missing
    edge; in training it changes the weights, and a bad weight is refused."""
    from nasviz.models.arch2vec import dangling_penalty, decoded_edge_excess, edge_excess

    n, big = 7, 20.0
    ops = torch.full((1, n, 6), -big)
    ops[0, 0, 0] = ops[0, 6, 4] = big  # input, output
    ops[0, 1:6, 2] = big  # five conv3x3 rows
    chain = torch.full((1, n, n), -big)
    for i in range(n - 1):
        chain[0, i, i + 1] = big  # 0 -> 1 -> ... -> 6: every op vertex has an edge in and out
    rows = [1, 2, 3]
    assert float(dangling_penalty(ops, chain, rows)) < 1e-6
    cut = chain.clone()
    cut[0, 2, 3] = -big  # vertex 2 has no way out, vertex 3 no way in
    assert abs(float(dangling_penalty(ops, cut, rows)) - 2.0) < 1e-4
    padded = ops.clone()
    padded[0, 3] = -big
    padded[0, 3, 5] = big  # row 3 is pad: its missing edges do not count, vertex 2's still does
    assert abs(float(dangling_penalty(padded, cut, rows)) - 1.0) < 1e-4
    edge = cut.clone().requires_grad_(True)
    dangling_penalty(ops, edge, rows).backward()
    assert float(edge.grad[0, 2, 3]) < 0  # descending it raises the missing edge
    # the edge budget: a 6-edge chain is within 9; all 21 pairs connected are 12 expected edges over
    full = torch.triu(torch.full((1, n, n), big), 1) + torch.tril(torch.full((1, n, n), -big))
    assert float(edge_excess(chain, 9)) < 1e-6 and abs(float(edge_excess(full, 9)) - 12.0) < 1e-3
    over = (torch.triu(torch.ones(1, n, n), 1) * 2.0).requires_grad_(True)  # 21 edges at P = 0.88: over 9
    edge_excess(over, 9).backward()
    assert float(over.grad[0, 0, 1]) > 0  # descending it lowers the edges' logits
    # the decoded count: a 6-edge chain with 15 uncertain pairs (P = 0.27) pays nothing, unlike the expected count
    unsure = chain.clone()
    unsure[unsure < 0] = -1.0
    unsure = torch.triu(unsure, 1) + torch.tril(torch.full((1, n, n), -big))
    assert float(edge_excess(unsure, 6)) > 3 and float(decoded_edge_excess(unsure, 6)) == 0.0
    eleven = torch.tril(torch.full((1, n, n), -big)) + torch.triu(torch.full((1, n, n), -3.0), 1)
    for k, (i, j) in enumerate([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (0, 2), (0, 3), (1, 3), (2, 4), (3, 5)]):
        eleven[0, i, j] = 10.0 - 0.5 * k  # 11 decoded edges, the last two (5.5, 5.0) the weakest
    eleven.requires_grad_(True)
    ex = decoded_edge_excess(eleven, 9)
    assert abs(float(ex.detach()) - 10.5) < 1e-5
    ex.backward()
    g = eleven.grad[0]
    assert float(g[2, 4]) == 1.0 and float(g[3, 5]) == 1.0 and float(g[0, 1]) == 0.0 and float(g[1, 4]) == 0.0
    # pad masking: an op vertex whose only way out is an edge to a pad row counts as dangling
    to_pad = chain.clone()
    to_pad[0, 2, 3] = -big
    to_pad[0, 2, 4] = big  # 2 -> 4, and row 4 is pad; 3 has no way in
    pad4 = ops.clone()
    pad4[0, 4] = -big
    pad4[0, 4, 5] = big
    plain, masked = dangling_penalty(pad4, to_pad, rows), dangling_penalty(pad4, to_pad, rows, pad_row=5)
    # plain: vertex 3 has no way in. Masked, row 4's edges no longer count: also vertex 2 and 3 out, vertex 5 in
    assert abs(float(plain) - 1.0) < 1e-4 and abs(float(masked) - 4.0) < 1e-4
    assert abs(float(dangling_penalty(ops, chain, rows, pad_row=5))) < 1e-4  # clamped at P = 1 - 1e-6

    def weights(**kw):
        m = tiny_a2v(epochs=1, batch_size=32, progress=False, **kw).fit(cells[:64])
        return torch.cat([p.detach().flatten() for p in m.model_.parameters()])

    assert not torch.allclose(weights(dangling_weight=1e-12), weights(dangling_weight=5.0), atol=1e-4)
    # the edge terms and pad masking act through the decoder's mixing layer (NB101's defaults; the inner-product
    # adjacency has no weights of its own) and need pad rows, so they are trained on NB101 cells
    from nasviz.spaces import get_space

    sp = get_space("nb101")
    rng = np.random.default_rng(0)
    nb101 = [sp.sample(rng) for _ in range(64)]

    def weights101(**kw):
        m = tiny_a2v(space="nb101", epochs=1, batch_size=32, dec_mix="mlp", progress=False, **kw).fit(nb101)
        return torch.cat([p.detach().flatten() for p in m.model_.parameters()])

    base = weights101(dangling_weight=5.0)
    budget = weights101(dangling_weight=5.0, edge_budget=2)
    assert not torch.allclose(base, budget, atol=1e-6)
    assert not torch.allclose(budget, weights101(dangling_weight=5.0, edge_budget=2, edge_count="decoded"), atol=1e-6)
    assert not torch.allclose(base, weights101(dangling_weight=5.0, mask_pad=True), atol=1e-6)
    with pytest.raises(NasvizError, match="expected or decoded"):
        tiny_a2v(dangling_weight=1.0, edge_budget=9, edge_count="all", progress=False).fit(cells[:32])
    for bad in (-1.0, float("nan")):
        with pytest.raises(NasvizError, match="dangling_weight"):
            tiny_a2v(dangling_weight=bad, progress=False).fit(cells[:32])
    with pytest.raises(NasvizError, match="unsupervised arch2vec only"):
        tiny_a2v(dangling_weight=1.0, supervised=True, progress=False).fit(cells[:32], np.linspace(50, 90, 32))
