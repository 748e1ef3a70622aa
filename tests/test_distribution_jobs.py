"""Distribution runs as background jobs of the search job system: real worker processes, kill -9, cancel,
resume, the CLI's --detach/--backend paths, and bad input that writes nothing."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import numpy as np
import pytest
import torch

from _helpers import TrialGate, wait_stored
from nasviz.distributions import job as DJ
from nasviz.distributions.learners import LearnerConfig
from nasviz.distributions.results import load_run, load_run_from_store
from nasviz.distributions.run import SearchConfig, run_search
from nasviz.errors import DataFileError, NasvizError
from nasviz.search import jobs as J
from nasviz.search.store import RunState, Store, Trial, TrialState

torch.set_num_threads(1)  # as the workers run: the reference must be computed the same way


def tiny(method: str = "vimnas", **kw) -> SearchConfig:
    base = dict(method=method, seed=0, epochs=60, batch_size=16, channels=4, max_steps=6, mi_samples=400,
                variance_points=0, flops_variance_every_step=0, device="cpu",
                learner=LearnerConfig(arch_lr=0.05, surrogate_samples=500))
    base.update(kw)
    return SearchConfig(**base)


def stored_probs(store, rid) -> np.ndarray:
    return np.asarray([t.extra["probs"] for t in store.trials(rid)])


def wait_steps(store, rid, n, timeout=600):
    """Wait until the worker, held at a TrialGate of ``n``, stored its nth step (it cannot finish first)."""
    return wait_stored(store, rid, n, timeout, unit="steps")


def test_a_background_job_records_every_step_and_equals_the_in_process_run(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    job = DJ.validate_job(tiny("vimnas", max_steps=8), out=tmp_path / "folders")
    assert (job.total_steps, job.steps_per_epoch, job.dataset) == (8, 56, "digits")
    rid, handle = DJ.submit(store, job)
    assert isinstance(handle, J.LocalJob) and handle.pid != os.getpid()
    run = J.wait(store, [rid], [handle], timeout=180)[0]
    assert run.state == RunState.COMPLETE, run.traceback
    assert handle.wait(30) == 0
    assert run.strategy == "distribution-vimnas" and run.dataset == "digits" and run.budget == 8
    assert run.worker.startswith("local:") and run.worker.endswith(f":{handle.pid}")
    assert run.progress == 8 and [t.number for t in store.trials(rid)] == list(range(8))

    ref = run_search(tiny("vimnas", max_steps=8))  # the same seeded run, in this process
    np.testing.assert_allclose(stored_probs(store, rid), ref.probs[1:], rtol=0, atol=1e-6)
    assert [t.cell_index for t in store.trials(rid)] == ref.derived_index[1:].tolist()
    assert [t.value for t in store.trials(rid)] == pytest.approx(ref.test_acc["cifar10"][1:].tolist())
    back = load_run_from_store(rid, store)  # the artifacts
    np.testing.assert_allclose(back.probs, ref.probs, rtol=0, atol=1e-6)
    assert run.stats["final_cell"] == ref.summary()["final_cell"] == back.summary()["final_cell"]
    assert load_run(run.stats["run_folder"]).summary()["final_cell"] == ref.summary()["final_cell"]
    assert str(tmp_path / "folders") in run.stats["run_folder"]
    part = DJ.partial_result(store, rid)  # a complete run: from its artifacts
    np.testing.assert_allclose(part.probs, ref.probs, atol=1e-6)


def test_cancel_stops_a_running_job_and_keeps_its_steps(tmp_path, monkeypatch):
    store = Store(tmp_path / "runs.sqlite")
    TrialGate(monkeypatch, tmp_path / "gate", 3)
    job = DJ.validate_job(tiny("vimnas", max_steps=20))
    rid, handle = DJ.submit(store, job)
    wait_steps(store, rid, 3)
    assert store.request_cancel(rid) == RunState.RUNNING
    assert handle.wait(600) == 0
    run = store.get_run(rid)
    n = len(store.trials(rid))
    assert run.state == RunState.CANCELLED and n == 3 and run.progress == n
    assert not [a for a in store.artifacts(rid)]  # no result artifacts for an unfinished run
    part = DJ.partial_result(store, rid)  # the kept steps, drawn from the trials
    assert part.probs.shape == (n + 1, 6, 5) and part.steps_per_epoch == 56
    np.testing.assert_allclose(part.probs[1:], stored_probs(store, rid))
    np.testing.assert_allclose(part.probs.sum(axis=2), 1.0, atol=1e-9)
    assert part.regret("cifar10")[-1] == pytest.approx(run.stats["best_test_acc"]["cifar10"]
                                                       - store.trials(rid)[-1].value)


def test_kill_9_leaves_the_run_failed_with_its_steps_and_resume_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    store = Store(tmp_path / "runs.sqlite")
    total = 8  # the gate holds the worker at step 3, so a short run is enough to be caught mid-run
    gate = TrialGate(monkeypatch, tmp_path / "gate", 3)
    cfg = tiny("vimnas", max_steps=total, seed=4)
    rid, handle = DJ.submit(store, DJ.validate_job(cfg, out=tmp_path))
    wait_steps(store, rid, 3)
    os.kill(handle.pid, signal.SIGKILL)
    assert handle.wait(30) == -signal.SIGKILL
    run = store.get_run(rid)
    kept = store.trials(rid)
    assert run.state == RunState.FAILED
    assert "SIGKILL" in run.error and f"resume {rid}" in run.traceback
    assert len(kept) == 3 and run.progress == 3
    assert [t.number for t in kept] == list(range(len(kept)))  # no gap, no half-written step

    ref = run_search(tiny("vimnas", max_steps=total, seed=4))
    np.testing.assert_allclose(stored_probs(store, rid), ref.probs[1:len(kept) + 1], rtol=0, atol=1e-6)
    gate.open()
    handle2 = J.resume(store, rid)  # the same call as `nasviz search resume`
    run = J.wait(store, [rid], [handle2], timeout=600)[0]
    assert run.state == RunState.COMPLETE, run.traceback
    assert run.stats["kept_steps"] == len(kept)
    assert [(t.number, t.started_at) for t in store.trials(rid)][:len(kept)] == [(t.number, t.started_at)
                                                                                for t in kept]  # never rewritten
    np.testing.assert_allclose(stored_probs(store, rid), ref.probs[1:], rtol=0, atol=1e-6)
    assert run.stats["final_cell"] == ref.summary()["final_cell"]


def test_a_crash_mid_run_stores_the_traceback_and_keeps_the_steps(tmp_path):
    """A resume whose stored steps the seeded run cannot reproduce fails at that step, as a crash would."""
    db = tmp_path / "runs.sqlite"
    store = Store(db)
    rid, _ = DJ.submit(store, DJ.validate_job(tiny("darts", max_steps=4)), launch=False)
    t = time.time()
    bogus = np.full((6, 5), 0.2)
    store.add_trial(rid, Trial(0, "x", 0, 50.0, TrialState.COMPLETE, t, t, 0.0, {"probs": bogus.tolist()}))
    out = J.execute_run(db, rid)  # the worker's own entry, in this process
    assert out["state"] == "failed"
    assert "ReplayMismatch" in out["error"] and "resume diverged at step 1" in out["error"]
    assert "Traceback" in out["traceback"] and "run_body" in out["traceback"]
    assert len(store.trials(rid)) == 1  # nothing lost, nothing added


def test_a_data_folder_that_vanished_before_the_worker_started_fails_the_run_with_its_reason(tmp_path):
    import pickle

    folder = tmp_path / "cifar"
    folder.mkdir()
    rng = np.random.default_rng(0)
    with open(folder / "data_batch_1", "wb") as f:  # the CIFAR-10 python layout: 40 images, 3072 bytes each
        pickle.dump({b"labels": [int(y) for y in rng.integers(0, 10, 40)],
                     b"data": rng.integers(0, 256, size=(40, 3072)).astype(np.uint8)}, f)
    db = tmp_path / "runs.sqlite"
    store = Store(db)
    job = DJ.validate_job(tiny("gumbel", dataset=str(folder), max_images=None, max_steps=2))
    assert job.dataset == "cifar10" and (job.steps_per_epoch, job.total_steps) == (1, 2)  # 20 images per split
    rid, _ = DJ.submit(store, job, launch=False)
    for f in folder.iterdir():
        f.unlink()
    out = J.execute_run(db, rid)
    assert out["state"] == "failed" and "no data_batch_" in out["error"] and "DataFileError" in out["traceback"]


# -- bad input writes nothing ----------------------------------------------------------------
def test_validate_job_refuses_bad_input_before_anything_exists(tmp_path):
    with pytest.raises(NasvizError, match="unknown method 'enas'"):
        DJ.validate_job(tiny("enas"))
    with pytest.raises(NasvizError, match="lambda .* must be >= 0"):
        DJ.validate_job(tiny("unas", learner=LearnerConfig(lam=-1.0)))
    with pytest.raises(NasvizError, match="unknown backend 'slurm'"):
        DJ.validate_job(tiny(), backend="slurm")
    with pytest.raises(DataFileError, match="does not exist"):
        DJ.validate_job(tiny(dataset=str(tmp_path / "missing")))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(DataFileError, match="not a CIFAR-10 python batch"):
        DJ.validate_job(tiny(dataset=str(tmp_path / "bad")))


def _cli(capsys, monkeypatch, *args) -> tuple[int, str, str]:
    from nasviz.cli import main

    monkeypatch.setattr(sys, "argv", ["nasviz", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


@pytest.mark.parametrize("args, message", [
    (("--method", "enas"), "unknown method 'enas'"),
    (("--method", "unas", "--lambda", "-1"), "--lambda must be >= 0"),
    (("--method", "darts", "--dataset", "/nonexistent/cifar"), "does not exist"),
    (("--method", "darts", "--dataset", "MALFORMED"), "not a CIFAR-10 python batch"),
    (("--method", "darts", "--backend", "slurm"), "unknown backend 'slurm'"),
    (("--method", "darts", "--no-store"), "drop --no-store"),
])
def test_cli_background_bad_input_is_one_line_exit_2_and_no_run(capsys, monkeypatch, tmp_path, args, message):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "data_batch_1").write_bytes(b"not a pickle")
    args = tuple(str(bad) if a == "MALFORMED" else a for a in args)
    db = tmp_path / "runs.sqlite"
    code, out, err = _cli(capsys, monkeypatch, "distribution", "run", *args, "--detach", "--db", str(db))
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: ")
    assert not db.exists()  # nothing written


def test_cli_detach_returns_at_once_and_search_commands_follow_the_run(capsys, monkeypatch, tmp_path):
    db = tmp_path / "runs.sqlite"
    monkeypatch.setenv("NASVIZ_HOME", str(tmp_path / "home"))
    code, out, err = _cli(capsys, monkeypatch, "distribution", "run", "--method", "gumbel", "--seed", "1",
                          "--max-steps", "3", "--db", str(db), "--detach", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["state"] in ("queued", "running") and d["steps"] == 3
    rid = d["run_id"]
    with Store(db, create=False) as s:
        run = J.wait(s, [rid], timeout=180)[0]  # no handle: the reaper watches the detached worker
    assert run.state == RunState.COMPLETE, run.traceback
    code, out, err = _cli(capsys, monkeypatch, "search", "list", "--db", str(db), "--json")
    listed = {r["id"]: r for r in json.loads(out)["runs"]}
    assert listed[rid]["strategy"] == "distribution-gumbel" and listed[rid]["progress"] == 3
    code, out, err = _cli(capsys, monkeypatch, "search", "show", str(rid), "--db", str(db), "--json")
    shown = json.loads(out)
    assert [t["number"] for t in shown["trials"]] == [0, 1, 2]
    assert {a["name"] for a in shown["artifacts"]} == {"distribution.json", "distribution-history.npz"}
    assert shown["config"]["kind"] == "distribution" and shown["config"]["search"]["seed"] == 1
    code, out, err = _cli(capsys, monkeypatch, "search", "cancel", str(rid), "--db", str(db))
    assert code == 2 and "already complete" in err


def test_cli_backend_local_waits_and_prints_the_same_summary_as_the_foreground_run(capsys, monkeypatch, tmp_path):
    db = tmp_path / "runs.sqlite"
    args = ("distribution", "run", "--method", "gumbel", "--seed", "2", "--max-steps", "2", "--db", str(db),
            "--out", str(tmp_path), "--json")
    code, out, err = _cli(capsys, monkeypatch, *args, "--backend", "local")
    assert code == 0, err
    job = json.loads(out)
    code, out, err = _cli(capsys, monkeypatch, *args)  # in this process
    assert code == 0, err
    fg = json.loads(out)
    assert job["state"] == "complete" and job["run_id"] != fg["run_id"]
    for k in ("method", "seed", "steps", "final_cell", "final_index", "final_test_acc", "travelled_tv"):
        assert job[k] == fg[k], k
    with Store(db, create=False) as s:  # both record the same steps in the store
        a, b = s.get_run(job["run_id"]), s.get_run(fg["run_id"])
        assert a.worker.startswith("local:") and b.worker.startswith("inline:")
        assert a.progress == b.progress == 2 and a.config["search"] == b.config["search"]
        np.testing.assert_allclose(stored_probs(s, a.id), stored_probs(s, b.id), atol=1e-6)


def test_ray_backend_runs_the_same_distribution_job(tmp_path):
    ray = pytest.importorskip("ray", reason="the ray backend needs the 'ray' package (pip install ray==2.60.0)")
    store = Store(tmp_path / "runs.sqlite")
    J.init_ray(num_cpus=1)
    try:
        rid, ref = DJ.submit(store, DJ.validate_job(tiny("vimnas", max_steps=4), backend="ray", out=tmp_path))
        summary = ray.get(ref, timeout=300)
    finally:
        ray.shutdown()
    assert summary["state"] == "complete", summary.get("traceback")
    run = store.get_run(rid)
    assert run.worker.startswith("ray:") and run.progress == 4
    expected = run_search(tiny("vimnas", max_steps=4))
    np.testing.assert_allclose(stored_probs(store, rid), expected.probs[1:], rtol=0, atol=1e-6)
