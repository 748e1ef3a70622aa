"""What a user runs from the shell and no other test ran: ``nasviz train`` (one tiny epoch into a temporary
folder), ``nasviz embed`` of that checkpoint (into a temporary data folder), ``nasviz controller embed --out`` and
``nasviz show <hash> --space nb101``. Each is a real subprocess, as the console script runs it; results
are checked against values computed here from the files the command wrote, and against the shipped data.
(``nasviz train`` took 4-8 minutes at load ~20 on the shared 2 cores: it enumerates and splits all 15,625 cells
and measures reconstruction on both splits.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasviz.paths import REPO_ROOT

pytestmark = pytest.mark.slow


def cli(*args: str, env: dict | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
    full = dict(os.environ, NASVIZ_THREADS="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "nasviz.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=full, cwd=REPO_ROOT, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``nasviz train beta-vae``: one epoch of a small beta-VAE into a temporary models folder."""
    root = tmp_path_factory.mktemp("models")
    folder = root / "nb201-tiny"
    p = cli("train", "beta-vae", "--epochs", "1", "--hidden", "8", "--latent-dim", "4", "--labelled", "100",
            "--device", "cpu", "--seed", "3", "--out", str(folder), "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    return root, folder, json.loads(p.stdout)


def test_train_writes_a_checkpoint_that_reloads_to_the_model_it_reported(trained):
    from nasviz.models import BetaVAE, load_model
    from nasviz.models._common import split_indices
    from nasviz.models.train import reconstruction_accuracy
    from nasviz.spaces import get_space

    root, folder, out = trained
    assert out["checkpoint"] == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert "14,063 train / 1,562 held-out" in out["data"]["split"]
    m = load_model(folder, space="nb201")
    assert isinstance(m, BetaVAE)
    assert (m.config.epochs, m.config.latent_dim, m.config.hidden, m.config.seed) == (1, 4, 8, 3)
    # the reloaded weights give the held-out reconstruction the command printed (to its 4 decimals of a percent)
    cells = list(get_space("nb201").enumerate())
    _, test = split_indices(len(cells), 3)
    printed = float(out["metrics"]["held-out reconstruction accuracy"].rstrip("%"))
    assert 100 * reconstruction_accuracy(m, [cells[i] for i in test]) == pytest.approx(printed, abs=5e-5)


def test_train_resume_and_unfinished_runs_get_one_line_errors(trained, tmp_path):
    """A finished folder has nothing to resume; a folder with a training state is not silently restarted; a
    corrupt state is named. Each is one ``error:`` line, exit 2, and the folder keeps what it had."""
    _, folder, _ = trained
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    p = cli("train", "beta-vae", "--epochs", "1", "--out", str(folder), "--resume")
    assert p.returncode == 2 and p.stderr.startswith("error: nothing to resume"), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert {q.name: q.read_bytes() for q in folder.iterdir()} == before
    unfinished = tmp_path / "run"
    unfinished.mkdir()
    (unfinished / "train_state.pt").write_bytes(b"PK\x03\x04 truncated")
    p = cli("train", "beta-vae", "--epochs", "1", "--out", str(unfinished))
    assert p.returncode == 2 and "holds an unfinished run" in p.stderr and "--resume" in p.stderr, p.stderr
    p = cli("train", "beta-vae", "--epochs", "1", "--out", str(unfinished), "--resume", "--nice", "1")
    assert p.returncode == 2 and "corrupt" in p.stderr and "train_state.pt" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert sorted(q.name for q in unfinished.iterdir()) == ["train_state.pt"]


def test_show_an_nb101_cell_by_its_hash():
    from nasviz.spaces.nb101 import hash_module, labels_of

    with np.load(REPO_ROOT / "data/nb101/nb101_sample.npz", allow_pickle=False) as z:
        row = 12_345
        h, index = bytes(z["hash"][row]).hex(), int(z["index"][row])
        valid108, params = float(z["valid_e108"][row]), int(z["params"][row])
    p = cli("show", h, "--space", "nb101", "--json", timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    d = json.loads(p.stdout)
    assert (d["space"], d["hash"], d["index"], d["source"]) == ("nb101", h, index, "sample")
    assert hash_module(np.asarray(d["matrix"]), labels_of(d["ops"])) == h  # the cell shown is the one asked for
    assert d["params"] == params
    assert d["metrics"]["cifar10"]["108ep"]["valid_acc"] == pytest.approx(valid108)
    text = cli("show", h.upper(), "--space", "nb101", timeout=300)  # a hash as copied from elsewhere
    assert text.returncode == 0, text.stderr[-3000:]
    assert text.stdout.startswith(f"nb101 cell #{index}: ")
    assert f"valid_acc={valid108:.2f}".rstrip("0").rstrip(".") in text.stdout


def _same_up_to_sign(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    """``a`` and ``b`` agree column by column, each column possibly negated (a principal axis has no sign)."""
    for j in range(a.shape[1]):
        sign = 1.0 if np.abs(a[:, j] - b[:, j]).max() <= np.abs(a[:, j] + b[:, j]).max() else -1.0
        np.testing.assert_allclose(a[:, j], sign * b[:, j], rtol=0, atol=atol, err_msg=f"column {j}")


def test_embed_writes_every_cells_latent_mean_and_pca_then_reuses_them(trained, tmp_path):
    """``nasviz embed --model`` on the tiny checkpoint, with NASVIZ_MODELS_DIR / NASVIZ_DATA_DIR pointing at
    temporary folders (the repository's models/ and data/embeddings/ are never written). Every stored row is the
    model's latent mean of that NB201 cell (official index order), recomputed here; the PCA is that of these means;
    a second call finds the file current and leaves it as it was."""
    from nasviz.analysis.embeddings import checkpoint_hash
    from nasviz.analysis.projections import project
    from nasviz.models import load_model
    from nasviz.spaces import get_space

    root, folder, _ = trained
    data = tmp_path / "data"
    data.mkdir()
    (data / "nb201").symlink_to(REPO_ROOT / "data" / "nb201")  # the benchmark table, read-only
    env = {"NASVIZ_MODELS_DIR": str(root), "NASVIZ_DATA_DIR": str(data)}
    p = cli("embed", "--model", folder.name, "--methods", "pca", "--json", env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    (r,) = json.loads(p.stdout)["embeddings"]
    out = data / "embeddings" / f"{folder.name}.npz"
    assert (r["model"], r["status"], r["projections"], Path(r["path"])) == (folder.name, "computed", ["pca"], out)
    assert sorted(q.name for q in (data / "embeddings").iterdir()) == [out.name]
    with np.load(out, allow_pickle=False) as z:
        assert sorted(z.files) == ["means", "meta", "pca"]
        stored, pca = z["means"], z["pca"].astype(np.float32)
        meta = json.loads(bytes(z["meta"]).decode())
    assert (meta["model"], meta["space"], meta["n_cells"], meta["dim"], meta["methods"], meta["seed"]) == (
        folder.name, "nb201", 15_625, 4, ["pca"], 0)
    assert meta["checkpoint_hash"] == checkpoint_hash(folder)

    ours = load_model(folder, space="nb201").transform(list(get_space("nb201").enumerate()))
    assert stored.shape == ours.shape == (15_625, 4)
    # row i is cell i; float16 storage rounds to 2^-11 relative (float32 storage: exact up to thread-count noise)
    np.testing.assert_allclose(stored.astype(np.float32), ours, rtol=1e-3, atol=1e-4)
    assert len(np.unique(ours.round(4), axis=0)) > 1_000  # the check above compared distinct points, not a constant
    ref = project(ours, "pca", 0)
    _same_up_to_sign(pca, ref, atol=2e-3 * float(np.abs(ref).max()))
    assert pca[:, 0].var() >= pca[:, 1].var() > 0

    before = out.read_bytes()
    again = cli("embed", "--model", folder.name, "--methods", "pca", "--json", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["embeddings"][0]["status"] == "cached"
    assert out.read_bytes() == before
    bad = cli("embed", "--model", folder.name, "--methods", "pca,mds", env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown projection 'mds'"), bad.stderr
    assert out.read_bytes() == before


def test_controller_embed_writes_each_kinds_hidden_states_of_every_cell(tmp_path):
    """``nasviz controller embed --space nb201 --seed 0 --out DIR``: one file per controller kind, whose row i is the
    final hidden state of NB201 cell i as the seed-0 checkpoint computes it here (teacher-forced from the cell
    object, not from the decision array the command uses), and whose PCA is that of those hidden states."""
    from sklearn.decomposition import PCA

    from nasviz.analysis.controller import KINDS, all_hidden
    from nasviz.analysis.embeddings import checkpoint_hash
    from nasviz.controllers import io
    from nasviz.paths import models_dir
    from nasviz.spaces import get_space

    space = get_space("nb201")
    out = tmp_path / "emb"
    p = cli("controller", "embed", "--space", "nb201", "--seed", "0", "--out", str(out), timeout=1800)
    assert p.returncode == 0, p.stderr[-3000:]
    assert sorted(q.name for q in out.iterdir()) == sorted(f"nb201-controller-{k}.npz" for k in KINDS)
    rows = np.r_[0, np.random.default_rng(0).choice(15_625, size=300, replace=False), 15_624]
    for kind in KINDS:
        path = out / f"nb201-controller-{kind}.npz"
        with np.load(path, allow_pickle=False) as z:
            assert sorted(z.files) == ["latent", "meta", "pca"]  # NB201: every cell, no index column
            latent, pca = z["latent"].astype(np.float32), z["pca"].astype(np.float32)
            meta = json.loads(bytes(z["meta"]).decode())
        folder = models_dir() / "nb201-controller-{}".format(kind) / "seed0"
        assert (meta["controller_kind"], meta["seed"], meta["checkpoint"]) == (kind, 0, f"nb201-controller-{kind}/seed0")
        assert meta["checkpoint_hash"] == checkpoint_hash(folder)
        ctrl, _ = io.load(folder, space="nb201")
        hidden = ctrl.config.hidden_size
        assert latent.shape == (15_625, hidden) and pca.shape == (15_625, 2) and meta["dim"] == hidden
        assert f"{path}: 15625 x {hidden} ({meta['latent_dtype']}, " in p.stdout
        ours = ctrl.final_hidden([space.cell(int(i)) for i in rows])
        err = np.abs(latent[rows] - ours).max()
        assert err <= meta["latent_max_abs_err"] + 1e-5, (kind, err)
        assert meta["latent_max_abs_err"] < 0.05 * float(np.median(ours.std(0))) + 1e-3, (kind, meta)
        full = all_hidden(ctrl).astype(np.float64)  # a float32 PCA's round-off can exceed the storage error
        ref = PCA(n_components=2).fit(full)
        _same_up_to_sign(pca, ref.transform(full).astype(np.float32), atol=2e-3 * float(np.abs(pca).max()) + 1e-6)
        np.testing.assert_allclose(meta["pca_explained"], ref.explained_variance_ratio_, rtol=1e-3, atol=1e-6)


def test_controller_embed_of_a_seed_that_is_not_shipped_writes_nothing(tmp_path):
    p = cli("controller", "embed", "--space", "nb201", "--seed", "99", "--out", str(tmp_path), timeout=600)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stderr.strip() == "error: no shipped nb201 random controller with seed 99", p.stderr
    assert list(tmp_path.iterdir()) == []
