"""What a user runs from the shell and no other test ran: ``nasviz train`` (one tiny epoch into a temporary
folder) and ``nasviz show <hash> --space nb101``. Each is a real subprocess, as the console script runs it; results
are checked against values computed here from the files the command wrote, and against the shipped data.
(``nasviz train`` took 4-8 minutes at load ~20 on the shared 2 cores: it enumerates and splits all 15,625 cells
and measures reconstruction on both splits.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
