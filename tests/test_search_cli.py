"""`nasviz search` CLI: bad input -> clear error and nothing written; run/list/show/cancel/resume."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasviz.commands.search import app
from nasviz.errors import NasvizError

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def cli(*args, env=None):
    """The module's own entry (error handling as nasviz.cli.main): exit 2 + one stderr line."""
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "nasviz.commands.search", *args], capture_output=True, text=True,
                          cwd=ROOT, env=e, timeout=120)


def invoke(*args):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("args, message", [
    (["--strategy", "hill-climb"], "unknown strategy 'hill-climb'; accepted: arch2vec-bo"),
    (["--strategy", "random", "--space", "darts"], "unknown space 'darts'; accepted: nb101, nb201"),
    (["--strategy", "random", "--budget", "0"], "budget must be a positive integer"),
    (["--strategy", "random", "--budget", "-5"], "budget must be a positive integer"),
    (["--strategy", "random", "--dataset", "mnist"], "unknown dataset 'mnist' for nb201"),
    (["--strategy", "dense", "--param", "eps1=0.7", "--param", "eps2=0.5", "--param", "embedding=onehot"],
     "eps1 + eps2 must be <= 1"),
    (["--strategy", "evolution", "--param", "popsize=3"], "unknown parameter(s) popsize for strategy 'evolution'"),
    (["--strategy", "random", "--backend", "slurm"], "unknown backend 'slurm'"),
    (["--strategy", "random", "--seeds", "0"], "--seeds must be >= 1"),
    (["--strategy", "region"], "needs a region"),
    (["--strategy", "reinforce", "--space", "nb101"], "no controller for space 'nb101'"),
    (["--strategy", "arch2vec-bo", "--param", "embedding=no-such-model"], "no embedding 'no-such-model'"),
    (["--strategy", "random", "--device", "tpu"], "unknown device 'tpu'; accepted: cpu, cuda"),
    (["--strategy", "evolution", "--device", "cuda"],
     "strategy 'evolution' computes nothing with torch, so device 'cuda' would have no effect; use device cpu"),
    (["--strategy", "arch2vec-bo", "--param", "embedding=onehot", "--device", "cuda"],
     "computes nothing with torch with surrogate 'gp'"),
])
def test_bad_input_is_refused_before_writing(tmp_path, args, message):
    db = tmp_path / "runs.sqlite"
    r = invoke("run", *args, "--db", str(db))
    assert isinstance(r.exception, NasvizError), r.output
    assert message in str(r.exception)
    assert not db.exists() and list(tmp_path.iterdir()) == []


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(_cuda(), reason="the error of a machine without CUDA (this one has a GPU)")
@pytest.mark.parametrize("args", [
    ["--strategy", "reinforce"],
    ["--strategy", "arch2vec-rl", "--param", "embedding=onehot"],
    ["--strategy", "dense", "--param", "embedding=onehot"],
    ["--strategy", "arch2vec-bo", "--param", "embedding=onehot", "--param", "surrogate=dngo"],
])
def test_cuda_without_a_gpu_is_refused_before_writing(tmp_path, args):
    db = tmp_path / "runs.sqlite"
    p = cli("run", *args, "--budget", "5", "--device", "cuda", "--db", str(db))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith("error: device cuda: no CUDA device is visible to torch on this machine"), p.stderr
    assert "use --device cpu" in p.stderr
    assert list(tmp_path.iterdir()) == []  # no store file, no log folder


def _region(tmp_path, obj, name="region.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


@pytest.mark.parametrize("obj, message", [
    ('{"kind": "box", "x": [0, 1]', "malformed region file"),  # not JSON
    ({"kind": "circle"}, "region kind must be one of box, lasso, intervals, points"),
    ({"kind": "box", "embedding": "onehot", "x": [1, 0], "y": [0, 1]}, "lo <= hi"),
    ({"kind": "lasso", "embedding": "onehot", "polygon": [[0, 0], [1, 1]]}, "at least 3"),
    ({"kind": "intervals", "embedding": "onehot", "intervals": {"0": [5, 6]}}, "the region contains no cell"),
    ({"kind": "box", "embedding": "onehot", "dims": [0, 1], "x": [0.2, 0.8], "y": [0.2, 0.8]},
     "the region contains no cell"),  # one-hot coordinates are 0 or 1: nothing strictly inside
    ({"kind": "intervals", "embedding": "onehot", "intervals": {"99": [0, 1]}}, "out of range"),
])
def test_bad_region_is_refused_before_writing(tmp_path, obj, message):
    reg = _region(tmp_path, obj)
    db = tmp_path / "runs.sqlite"
    r = invoke("run", "--strategy", "region", "--region", str(reg), "--db", str(db))
    assert isinstance(r.exception, NasvizError), r.output
    assert message in str(r.exception)
    assert not db.exists()


def test_foreign_db_is_refused_unchanged(tmp_path):
    db = tmp_path / "thesis.db"
    db.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)  # looks like SQLite, is not a database we know
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    p = cli("run", "--strategy", "random", "--budget", "5", "--db", str(db))
    assert p.returncode == 2 and p.stderr.startswith("error: ") and "nothing was written" in p.stderr
    assert "Traceback" not in p.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["thesis.db"]


def test_run_json_list_show_and_restart_keeps_history(tmp_path):
    db = tmp_path / "runs.sqlite"
    p = cli("run", "--strategy", "evolution", "--budget", "30", "--seeds", "2", "--db", str(db), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [r["state"] for r in out["runs"]] == ["complete", "complete"]
    assert [r["seed"] for r in out["runs"]] == [0, 1]
    best = out["runs"][0]["best"]
    assert set(best["report"]) == {"test_200ep", "valid_200ep"} and 80 < best["report"]["test_200ep"] < 95
    assert "run 1 evolution seed 0" in p.stderr  # progress bar on stderr, JSON alone on stdout

    # a new process (a "restarted CLI") sees the same history
    r = invoke("list", "--db", str(db), "--json")
    runs = json.loads(r.stdout)["runs"]
    assert sorted(x["id"] for x in runs) == [1, 2] and all(x["n_trials"] == 30 for x in runs)
    r = invoke("show", "1", "--db", str(db), "--json")
    shown = json.loads(r.stdout)
    assert len(shown["trials"]) == 30 and shown["config"]["params"] == {"population": 10, "sample": 3}
    assert shown["nasviz_version"] and shown["stats"]["queries"] == 30
    assert max(t["value"] for t in shown["trials"]) == shown["best"]["value"]
    r = invoke("show", "1", "--db", str(db), "--trials")
    assert r.exit_code == 0 and r.output.count("COMPLETE") == 30


def test_cancel_and_resume_from_cli(tmp_path):
    from nasviz.search import jobs as J
    from nasviz.search.runs import validate_config
    from nasviz.search.store import Store

    db = tmp_path / "runs.sqlite"
    store = Store(db)
    rid, _ = J.submit(store, validate_config("random", "nb201", "cifar10", budget=20, seed=4), launch=False)
    r = invoke("cancel", str(rid), "--db", str(db))
    assert r.exit_code == 0 and "cancelled" in r.stdout
    assert store.get_run(rid).state.value == "cancelled"
    r = invoke("cancel", str(rid), "--db", str(db))
    assert "already cancelled; nothing to cancel" in str(r.exception)
    r = invoke("resume", str(rid), "--db", str(db), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["state"] == "complete" and d["n_trials"] == 20 and d["seed"] == 4


def test_resume_refuses_a_complete_run_and_unknown_ids(tmp_path):
    db = tmp_path / "runs.sqlite"
    invoke("run", "--strategy", "random", "--budget", "5", "--db", str(db), "--json")
    r = invoke("resume", "1", "--db", str(db))
    assert "only failed or cancelled runs can be resumed" in str(r.exception)
    r = invoke("show", "7", "--db", str(db))
    assert "no run 7" in str(r.exception)
    r = invoke("list", "--db", str(tmp_path / "none.sqlite"))
    assert "no run database" in str(r.exception) and not (tmp_path / "none.sqlite").exists()
