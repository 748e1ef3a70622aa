"""A resumed run's progress never goes backwards (issue #16: a run at 252 trials read 167 after a resume).

Cause: a resumed worker replays the stored trials through the strategy, and the loop's cancel check reported
its replay position (0, 1, 2, ...) as the run's progress. Here a real worker is held by a TrialGate in the
middle of its replay, where the old code wrote the replay position to the store, and the progress read by
polling the store (as the CLI and the app do) is checked to be monotonic from the cancel to the end.
"""

from __future__ import annotations

import time

from _helpers import TrialGate, wait_stored
from nasviz.search import jobs as J
from nasviz.search.runs import validate_config
from nasviz.search.store import RunState, Store

STORED, HOLD_AT, BUDGET = 30, 10, 60


def _held(gate: TrialGate, position: int, store: Store, rid: int, timeout: float = 600) -> None:
    """Wait until the worker of ``rid`` holds at the gate at loop position ``position``."""
    marker = gate.path.with_name(gate.path.name + ".held")
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        try:
            if int(marker.read_text()) == position and store.get_run(rid).state == RunState.RUNNING:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"the worker of run {rid} never held at position {position}")


def test_progress_polled_during_a_resume_never_goes_backwards(tmp_path, monkeypatch):
    store = Store(tmp_path / "runs.sqlite")
    gate = TrialGate(monkeypatch, tmp_path / "gate", STORED)
    cfg = validate_config("evolution", "nb201", "cifar10", budget=BUDGET, seed=7)
    rid, job = J.submit(store, cfg)
    wait_stored(store, rid, STORED)
    store.request_cancel(rid)
    assert job.wait(600) == 0
    run = store.get_run(rid)
    assert run.state == RunState.CANCELLED and run.progress == STORED
    best_before = run.stats["best_value"]

    gate.allow(HOLD_AT)  # the resumed worker holds after replaying HOLD_AT of the STORED trials
    job2 = J.resume(store, rid)
    seen = [store.get_run(rid).progress]
    _held(gate, HOLD_AT, store, rid)
    t_end = time.monotonic() + 1.0  # held: the worker heartbeats every 0.1 s (the old code wrote HOLD_AT each time)
    while time.monotonic() < t_end:
        r = store.get_run(rid)
        seen.append(r.progress)
        assert r.state == RunState.RUNNING and r.error is None  # the resumed state reads correctly
        assert r.progress == STORED, seen  # mid-replay the run still reads as far as it got, not HOLD_AT
        assert r.stats["best_value"] == best_before  # the replay's partial best is not written over the run's
        time.sleep(0.05)
    assert set(seen) == {STORED}, seen

    gate.open()
    while True:
        r = store.get_run(rid)
        seen.append(r.progress)
        if r.state.finished:
            break
        job2.poll()
        time.sleep(0.02)
    job2.wait(60)
    assert r.state == RunState.COMPLETE, r.traceback
    assert all(a <= b for a, b in zip(seen, seen[1:])), seen  # monotonic, from the cancel to the end
    assert seen[-1] == BUDGET == len(store.trials(rid))
    assert r.stats["replayed"] == STORED and r.stats["queries"] == BUDGET - STORED


def test_a_heartbeat_never_lowers_progress_below_the_stored_trials(tmp_path):
    """The store's own guarantee, whoever reports: a replay position below the completed trials is not written."""
    from nasviz.search.jobs import execute_run

    store = Store(tmp_path / "runs.sqlite")
    cfg = validate_config("random", budget=12, seed=1)
    rid = store.create_run(strategy=cfg.strategy, space=cfg.space, dataset=cfg.dataset, budget=cfg.budget,
                           seed=cfg.seed, config=cfg.to_dict())
    execute_run(store.path, rid)
    assert store.get_run(rid).progress == 12
    store.heartbeat(rid, 3)
    assert store.get_run(rid).progress == 12
    store.heartbeat(rid, 3, {"best_value": 1.0})
    assert store.get_run(rid).progress == 12 and store.get_run(rid).stats == {"best_value": 1.0}
