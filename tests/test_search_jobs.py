"""Background jobs with real worker processes: kill -9, cancel, resume, 8 concurrent runs."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from _helpers import TrialGate, wait_stored
from nasviz.search import jobs as J
from nasviz.search.loop import run_loop
from nasviz.search.runs import build, validate_config
from nasviz.search.store import RunState, Store


def reference_trials(cfg):
    """The same seeded run, uninterrupted, in this process (no store)."""
    problem, strategy = build(cfg)
    return [(t.cell_index, t.value) for t in run_loop(problem, strategy, cfg.budget).trials]


def stored(store, rid):
    return [(t.cell_index, t.value) for t in store.trials(rid)]


# The kill and cancel tests hold each worker at a TrialGate (a file this test controls; see
# nasviz.search.jobs.TRIAL_GATE_ENV) once it stored N trials: they act only when the Nth trial is in the
# store, and the run cannot finish first however fast or loaded the machine is.
LONG = 400


def test_kill_9_keeps_trials_marks_failed_and_resume_matches(tmp_path, monkeypatch):
    db = tmp_path / "runs.sqlite"
    store = Store(db)
    gate = TrialGate(monkeypatch, tmp_path / "gate", 50)
    cfg = validate_config("evolution", "nb201", "cifar10", budget=LONG, seed=3)
    rid, job = J.submit(store, cfg)
    wait_stored(store, rid, 50)
    os.kill(job.pid, signal.SIGKILL)
    assert job.wait(30) == -signal.SIGKILL
    run = store.get_run(rid)
    kept = stored(store, rid)
    assert run.state == RunState.FAILED
    assert "SIGKILL" in run.error and "SIGKILL" in run.traceback and f"resume {rid}" in run.traceback
    assert len(kept) == 50 and run.progress == 50
    assert [t.number for t in store.trials(rid)] == list(range(50))  # no gap, no half-written trial

    ref = reference_trials(cfg)
    assert kept == ref[:50]  # every completed trial was stored as it happened
    gate.open()
    job2 = J.resume(store, rid)
    runs = J.wait(store, [rid], [job2], timeout=600)
    assert runs[0].state == RunState.COMPLETE, runs[0].traceback
    assert stored(store, rid) == ref  # resumed == uninterrupted, trial for trial
    assert runs[0].stats["replayed"] == 50 and runs[0].stats["queries"] == LONG - 50


def test_dead_worker_found_by_reaper_without_parent(tmp_path, monkeypatch):
    db = tmp_path / "runs.sqlite"
    store = Store(db)
    TrialGate(monkeypatch, tmp_path / "gate", 5)
    cfg = validate_config("random", "nb201", "cifar10", budget=LONG, seed=1)
    rid, job = J.submit(store, cfg)
    wait_stored(store, rid, 5)
    os.kill(job.pid, signal.SIGKILL)
    job.proc.wait(30)  # reap the zombie but do not record the exit: the reaper must notice
    assert store.get_run(rid).state == RunState.RUNNING
    assert J.reap_stale(store) == [rid]
    r = store.get_run(rid)
    assert r.state == RunState.FAILED and "stopped without finishing" in r.error
    assert len(store.trials(rid)) == r.progress == 5


def test_cancel_then_resume(tmp_path, monkeypatch):
    db = tmp_path / "runs.sqlite"
    store = Store(db)
    # REINFORCE: a stateful torch strategy, so resume must rebuild its controller from the stored trials.
    # The worker holds at the gate after 5 trials; the cancel reaches it there.
    budget = 40
    gate = TrialGate(monkeypatch, tmp_path / "gate", 5)
    cfg = validate_config("reinforce", "nb201", "cifar10", budget=budget, seed=5)
    rid, job = J.submit(store, cfg)
    wait_stored(store, rid, 5)
    store.request_cancel(rid)
    assert job.wait(600) == 0
    r = store.get_run(rid)
    assert r.state == RunState.CANCELLED and len(store.trials(rid)) == 5
    before = stored(store, rid)
    gate.open()
    job2 = J.resume(store, rid)
    r = J.wait(store, [rid], [job2], timeout=600)[0]
    assert r.state == RunState.COMPLETE, r.traceback
    after = stored(store, rid)
    assert after[: len(before)] == before  # finished trials never change
    assert r.stats["replayed"] == len(before) and r.stats["queries"] == budget - len(before)
    # resumed == uninterrupted, trial for trial: the reference runs in this process at its own
    # torch thread count, the workers at one thread (the strategy pins one thread itself)
    assert after == reference_trials(cfg)


def test_eight_concurrent_local_runs(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = Store(db)
    cfgs = [validate_config(s, "nb201", "cifar10", budget=60, seed=k)
            for k, s in enumerate(["random", "evolution"] * 4)]
    submitted = [J.submit(store, c) for c in cfgs]
    pids = {j.pid for _, j in submitted}
    assert len(pids) == 8  # one worker process per run
    runs = J.wait(store, [r for r, _ in submitted], [j for _, j in submitted], timeout=120)
    assert [r.state for r in runs] == [RunState.COMPLETE] * 8, [r.traceback for r in runs]
    for (rid, _), cfg in zip(submitted, cfgs):
        assert stored(store, rid) == reference_trials(cfg)
        assert len({i for i, _ in stored(store, rid)}) == 60  # budget = distinct cells
    # history survives a restart: a new Store (new process view) sees the same runs
    store.close()
    again = Store(db, create=False)
    assert len(again.list_runs(RunState.COMPLETE)) == 8


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_run_on_a_worker_without_gpu_fails_with_the_reason(tmp_path):
    """A stored cuda run (submitted where a GPU was, resumed where none is) fails cleanly, no trial written."""
    from nasviz.search.runs import RunConfig

    store = Store(tmp_path / "runs.sqlite")
    cfg = RunConfig(strategy="reinforce", budget=20, seed=0, params=validate_config("reinforce").params,
                    device="cuda")
    rid, _ = J.submit(store, cfg, launch=False)
    out = J.execute_run(store.path, rid)
    assert out["state"] == "failed"
    assert out["error"].startswith("NasvizError: device cuda: no CUDA device is visible to torch")
    assert store.trials(rid) == []


def test_worker_exception_stores_traceback_and_trials(tmp_path):
    """A strategy that breaks mid-run (invalid replay: stored trials edited by hand) fails cleanly."""
    db = tmp_path / "runs.sqlite"
    store = Store(db)
    cfg = validate_config("evolution", "nb201", "cifar10", budget=30, seed=0)
    rid, _ = J.submit(store, cfg, launch=False)
    # a stored history that the seeded strategy cannot have produced
    from nasviz.search.store import Trial, TrialState

    t = time.time()
    store.add_trial(rid, Trial(0, "bogus", 0, 50.0, TrialState.COMPLETE, t, t, 0.0))
    out = J.execute_run(db, rid)
    assert out["state"] == "failed"
    assert "ReplayMismatch" in out["error"] and "Traceback" in out["traceback"]
    assert len(store.trials(rid)) == 1  # nothing lost, nothing added
