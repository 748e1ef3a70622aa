"""Shipped files are checked against data/SHA256SUMS and models/SHA256SUMS on load; table values against
their ranges. Every test works on copies under tmp_path (NASVIZ_DATA_DIR / NASVIZ_MODELS_DIR), never on
the shipped files themselves."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasviz import integrity
from nasviz.errors import DataFileError
from nasviz.paths import REPO_ROOT

ARCH2VEC = REPO_ROOT / "models" / "nb201-arch2vec"


def _change_one_float(weights: Path, tensor: str, index: int = 0, delta: float = 0.5) -> None:
    """Add ``delta`` to one float32 of ``tensor`` in a safetensors file, in place (header untouched)."""
    raw = bytearray(weights.read_bytes())
    n = struct.unpack("<Q", raw[:8])[0]
    spec = json.loads(raw[8:8 + n])[tensor]
    assert spec["dtype"] == "F32"
    at = 8 + n + spec["data_offsets"][0] + 4 * index
    (value,) = struct.unpack("<f", raw[at:at + 4])
    raw[at:at + 4] = struct.pack("<f", value + delta)
    weights.write_bytes(bytes(raw))


@pytest.fixture
def models_copy(tmp_path, monkeypatch) -> Path:
    """models/ with the shipped nb201-arch2vec and a manifest for it, as the models folder in use."""
    root = tmp_path / "models"
    shutil.copytree(ARCH2VEC, root / "nb201-arch2vec")
    integrity.write_manifest(root)
    monkeypatch.setenv("NASVIZ_MODELS_DIR", str(root))
    return root


def test_shipped_manifests_match_the_shipped_files():
    for root, must in ((REPO_ROOT / "data", ["nb201/nb201.npz", "nb101/enumeration.npz",
                                             "embeddings/nb201-arch2vec.npz"]),
                       (REPO_ROOT / "models", ["nb201-arch2vec/model.safetensors", "nb201-arch2vec/config.json",
                                               "nb201-controller-supervised/seed0/model.safetensors"])):
        listed = integrity.read_manifest(root)
        assert set(must) <= set(listed), f"{root / integrity.MANIFEST} lacks {set(must) - set(listed)}"
        assert not any(rel.endswith(".md") or rel.endswith(integrity.TRAIN_STATE) for rel in listed)
        assert integrity.check_manifest(root) == [], f"run `{integrity.UPDATE_COMMAND}` after a deliberate change"


def test_every_committed_checkpoint_and_table_is_in_its_manifest():
    """A checkpoint committed without `tools/update_manifest.py` loads unverified (two sweep checkpoints did)."""
    git = (REPO_ROOT / ".git").exists() and shutil.which("git") is not None
    for name in ("data", "models"):
        root = REPO_ROOT / name
        covered = {p.relative_to(root).as_posix() for p in integrity.shipped_files(root)}
        want = covered  # a copy of the repository without git holds committed files only
        if git:  # in a working tree, files trained or imported here but not committed are not checked
            committed = subprocess.run(["git", "ls-files", "-z", name], cwd=REPO_ROOT, capture_output=True,
                                       check=True, timeout=60).stdout.decode().split("\0")
            want = {Path(f).relative_to(name).as_posix() for f in committed if f} & covered
        missing = sorted(want - set(integrity.read_manifest(root)))
        assert not missing, f"{root / integrity.MANIFEST} lacks {missing}; run `{integrity.UPDATE_COMMAND}`"


def test_one_changed_float_in_a_checkpoint_is_refused_with_the_file_name(models_copy):
    from nasviz.models import load_model
    from nasviz.spaces.nb201 import NB201Space

    folder = models_copy / "nb201-arch2vec"
    cells = [NB201Space().cell(i) for i in (0, 6111, 15624)]
    before = load_model(folder).transform(cells)
    _change_one_float(folder / "model.safetensors", "fc_mu.weight")
    with pytest.raises(DataFileError) as err:
        load_model(folder)
    msg = str(err.value)
    assert str((folder / "model.safetensors").resolve()) in msg and "SHA256SUMS" in msg
    assert integrity.UPDATE_COMMAND in msg and "\n" not in msg
    # what the check prevents: without the manifest the same file loads, and its embedding has moved
    (models_copy / integrity.MANIFEST).unlink()
    after = load_model(folder).transform(cells)
    assert not np.allclose(before, after)


def test_a_model_the_manifest_does_not_list_loads(models_copy, tmp_path):
    """A user's own checkpoint (another folder, or a new folder beside the shipped ones) is not checked."""
    from nasviz.models import load_model

    for mine in (tmp_path / "elsewhere" / "my-arch2vec", models_copy / "my-arch2vec"):
        shutil.copytree(ARCH2VEC, mine)
        _change_one_float(mine / "model.safetensors", "fc_mu.weight")
        assert load_model(mine).config.latent_dim > 0


def test_a_file_changed_after_it_was_verified_is_checked_again(models_copy):
    """The per-process cache (path, size, mtime, inode) must not hide a file replaced on disk."""
    from nasviz.models import load_model

    folder = models_copy / "nb201-arch2vec"
    load_model(folder)
    load_model(folder)  # cached: same file, no second hash needed
    w = folder / "model.safetensors"
    st = w.stat()
    _change_one_float(w, "fc_mu.bias", delta=1e-3)
    os.utime(w, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(DataFileError, match="model.safetensors is not the file the project shipped"):
        load_model(folder)


def test_the_cache_hashes_a_file_once_per_process(models_copy, monkeypatch):
    calls = []
    real = integrity.sha256_file
    monkeypatch.setattr(integrity, "sha256_file", lambda p: calls.append(Path(p).name) or real(p))
    from nasviz.models import load_model

    for _ in range(3):
        load_model(models_copy / "nb201-arch2vec")
    assert sorted(calls) == ["config.json", "model.safetensors"]


def test_controller_checkpoint_is_verified(tmp_path, monkeypatch):
    from nasviz.controllers import io

    src = REPO_ROOT / "models" / "nb201-controller-supervised" / "seed0"
    root = tmp_path / "models"
    folder = root / "nb201-controller-supervised" / "seed0"
    shutil.copytree(src, folder)
    integrity.write_manifest(root)
    monkeypatch.setenv("NASVIZ_MODELS_DIR", str(root))
    io.load(folder)
    doc = json.loads((folder / "config.json").read_text())
    doc["config"]["temperature"] = float(doc["config"].get("temperature") or 1.0) + 1.0
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(DataFileError, match="config.json is not the file the project shipped"):
        io.load(folder)


# -- tables -----------------------------------------------------------------------------------------------
@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    (root / "nb201").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "data" / "nb201" / "nb201.npz", root / "nb201" / "nb201.npz")
    integrity.write_manifest(root)
    monkeypatch.setenv("NASVIZ_DATA_DIR", str(root))
    monkeypatch.setenv("NASVIZ_HOME", str(tmp_path / "home"))  # no imported table takes precedence
    return root


def _rewrite_nb201(path: Path, column: str, row: int, value: float) -> None:
    from nasviz.bench.nb201 import write_table
    from nasviz.fileio import read_npz

    data, meta = read_npz(path, what="t", required=(), not_found="", remedy="")
    cols = {k: np.array(v) for k, v in data.items() if k != "ops"}
    cols[column][row] = value
    write_table(path, data["ops"], cols, meta)


def test_a_changed_value_in_a_shipped_table_is_refused(data_copy):
    from nasviz.bench.nb201 import NB201Benchmark

    table = data_copy / "nb201" / "nb201.npz"
    assert NB201Benchmark(table).query(6111, "test", "cifar10", 200) == pytest.approx(94.37, abs=0.01)
    _rewrite_nb201(table, "nats_c10_test", 6111, 94.38)  # plausible, in range: only the checksum can tell
    with pytest.raises(DataFileError, match=r"nb201\.npz is not the file the project shipped"):
        NB201Benchmark(table)


@pytest.mark.parametrize(("column", "value", "words"), [
    ("c100_test", 107.0, "c100_test has 1 value(s) outside 0..100"),
    ("in16_valid", float("nan"), "in16_valid has 1 value(s) outside 0..100 or not finite"),
    ("c10_flops_m", -3.0, "c10_flops_m has 1 value(s) outside 0..1e+06"),
    ("e12_c10v_valid", float("inf"), "e12_c10v_valid"),
])
def test_table_values_out_of_range_are_refused(tmp_path, monkeypatch, column, value, words):
    """Ranges apply to any table, listed or not (e.g. an imported one in the user folder)."""
    from nasviz.bench.nb201 import NB201Benchmark

    monkeypatch.setenv("NASVIZ_DATA_DIR", str(tmp_path / "nowhere"))
    table = tmp_path / "nb201.npz"
    shutil.copy(REPO_ROOT / "data" / "nb201" / "nb201.npz", table)
    _rewrite_nb201(table, column, 42, value)
    with pytest.raises(DataFileError) as err:
        NB201Benchmark(table)
    assert words in str(err.value) and str(table) in str(err.value) and "row 42" in str(err.value)


def test_nb101_table_values_out_of_range_are_refused(tmp_path):
    from nasviz.bench.nb101 import NB101Benchmark

    src = REPO_ROOT / "data" / "nb101" / "nb101_sample.npz"
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k].copy() for k in z.files}
    arrays["valid_e108"][7] = -7.0
    bad = tmp_path / "nb101.npz"
    np.savez_compressed(bad, **arrays)
    with pytest.raises(DataFileError, match=r"valid_e108 has 1 value\(s\) outside 0..100.*row 7"):
        NB101Benchmark(bad)


def test_embeddings_must_be_finite(tmp_path):
    from nasviz.analysis.embeddings import load_embeddings

    with np.load(REPO_ROOT / "data" / "embeddings" / "nb201-arch2vec.npz", allow_pickle=False) as z:
        arrays = {k: z[k].copy() for k in z.files}
    arrays["means"][3, 1] = np.nan
    np.savez_compressed(tmp_path / "nb201-arch2vec.npz", **arrays)
    with pytest.raises(DataFileError, match=r"column means has 1 value\(s\).*not finite \(first at row 3"):
        load_embeddings("nb201-arch2vec", tmp_path)


# -- the manifest tool ------------------------------------------------------------------------------------
def test_update_manifest_tool(tmp_path):
    data, models = tmp_path / "data", tmp_path / "models"
    (data / "nb201").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "data" / "nb201" / "nb201.npz", data / "nb201" / "nb201.npz")
    (data / "nb201" / "SOURCE.md").write_text("docs are not checked\n")
    shutil.copytree(ARCH2VEC, models / "nb201-arch2vec")
    running = models / "nb201-controller-supervised" / "full-seed0"  # a training run in progress
    (running / "schedule" / "steps8000").mkdir(parents=True)
    (running / "train_state.pt").write_bytes(b"state")
    (running / "schedule" / "steps8000" / "model.safetensors").write_bytes(b"w")
    env = {**os.environ, "NASVIZ_DATA_DIR": str(data), "NASVIZ_MODELS_DIR": str(models)}
    tool = [sys.executable, str(REPO_ROOT / "tools" / "update_manifest.py")]

    r = subprocess.run(tool, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert sorted(integrity.read_manifest(data)) == ["nb201/nb201.npz"]
    assert sorted(integrity.read_manifest(models)) == ["nb201-arch2vec/config.json", "nb201-arch2vec/model.safetensors"]
    # the manifest is in sha256sum's format
    check = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=models, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    r = subprocess.run([*tool, "--check"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "2 files match" in r.stdout, r.stdout + r.stderr
    _change_one_float(models / "nb201-arch2vec" / "model.safetensors", "fc_mu.weight")
    (running / "train_state.pt").unlink()  # the run finished: its folder is now shipped
    r = subprocess.run([*tool, "--check"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1
    assert "nb201-arch2vec/model.safetensors: sha256 differs" in r.stdout
    assert "nb201-controller-supervised/full-seed0/schedule/steps8000/model.safetensors: not recorded" in r.stdout

    r = subprocess.run(tool, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "1 changed, 1 added, 0 removed" in r.stdout, r.stdout
    assert integrity.check_manifest(models) == []
