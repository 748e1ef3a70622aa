"""The run database: schema check, foreign files untouched, immutable trials, many writers."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import sqlite3
import time

import pytest

from nasviz.errors import NasvizError
from nasviz.search.store import SCHEMA_VERSION, RunState, Store, Trial, TrialState, check_db_file, default_db_path


def _digest(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _trial(n, value=90.0, state=TrialState.COMPLETE):
    t = time.time()
    return Trial(n, f"cell{n}", n, value, state, t, t, 0.0)


def _run(store, **kw):
    args = dict(strategy="random", space="nb201", dataset="cifar10", budget=10, seed=0, config={"x": 1})
    args.update(kw)
    return store.create_run(**args)


def test_new_store_has_schema_and_wal(tmp_path):
    p = tmp_path / "runs.sqlite"
    s = Store(p)
    rid = _run(s)
    assert s.get_run(rid).state == RunState.QUEUED
    s.close()
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    meta = dict(con.execute("SELECT key, value FROM nasviz_meta"))
    assert meta == {"app": "nasviz.search", "schema_version": str(SCHEMA_VERSION)}
    assert {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")} >= {"runs", "trials", "artifacts"}


def test_text_file_is_refused_and_left_unchanged(tmp_path):
    p = tmp_path / "notes.db"
    p.write_text("my notes\n")
    before = _digest(p)
    with pytest.raises(NasvizError, match="not a nasviz run database"):
        Store(p)
    assert _digest(p) == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["notes.db"]


def test_other_sqlite_app_is_refused_and_left_unchanged(tmp_path):
    p = tmp_path / "other.sqlite"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE runs (id INTEGER, name TEXT)")  # same table name, not ours
    con.execute("INSERT INTO runs VALUES (1, 'theirs')")
    con.commit()
    con.close()
    before = _digest(p)
    with pytest.raises(NasvizError, match="another application"):
        Store(p)
    assert _digest(p) == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["other.sqlite"]
    assert sqlite3.connect(p).execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # WAL never switched on


def test_newer_schema_is_refused(tmp_path):
    p = tmp_path / "runs.sqlite"
    Store(p).close()
    con = sqlite3.connect(p)
    con.execute("UPDATE nasviz_meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(NasvizError, match="schema version '99'"):
        Store(p)


def test_missing_db_without_create(tmp_path):
    with pytest.raises(NasvizError, match="no run database"):
        Store(tmp_path / "nope.sqlite", create=False)
    assert not (tmp_path / "nope.sqlite").exists()
    assert check_db_file(tmp_path / "nope.sqlite") is False


def test_default_path_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVIZ_DB", str(tmp_path / "x.sqlite"))
    assert default_db_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("NASVIZ_DB")
    monkeypatch.setenv("NASVIZ_HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / "search.sqlite"


def test_finished_trials_are_immutable(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    rid = _run(s)
    s.add_trial(rid, _trial(0, 91.5))
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        s._con.execute("UPDATE trials SET value = 99 WHERE run_id = ?", (rid,))
    with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
        s._con.execute("DELETE FROM trials")
    # a RUNNING trial may finish once, then it is frozen too
    s.add_trial(rid, _trial(1, None, TrialState.RUNNING))
    s.finish_trial(rid, 1, TrialState.COMPLETE, 88.0)
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        s.finish_trial(rid, 1, TrialState.FAIL, None)
    assert [(t.number, t.value, t.state) for t in s.trials(rid)] == [(0, 91.5, TrialState.COMPLETE),
                                                                      (1, 88.0, TrialState.COMPLETE)]
    with pytest.raises(sqlite3.IntegrityError):
        s.add_trial(rid, _trial(0, 1.0))  # a trial number is written once


def test_run_lifecycle_and_cancel(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    a, b = _run(s), _run(s, seed=1)
    assert s.request_cancel(a) == RunState.CANCELLED
    assert s.get_run(a).state == RunState.CANCELLED
    s.mark_running(b, "w")
    assert s.request_cancel(b) == RunState.RUNNING
    assert s.heartbeat(b, 3) is True
    assert s.finish_run(b, RunState.FAILED, error="boom", traceback="tb", only_if_worker="other") is False
    assert s.finish_run(b, RunState.FAILED, error="boom", traceback="tb", only_if_worker="w") is True
    r = s.get_run(b)
    assert (r.state, r.error, r.traceback) == (RunState.FAILED, "boom", "tb")
    with pytest.raises(NasvizError, match="already failed"):
        s.request_cancel(b)
    s.requeue(b)
    assert s.get_run(b).state == RunState.QUEUED and not s.get_run(b).cancel_requested
    with pytest.raises(NasvizError, match="no run 999"):
        s.get_run(999)


def test_artifacts_roundtrip(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    rid = _run(s)
    s.add_artifact(rid, "curve", {"best": [1, 2]})
    s.add_artifact(rid, "note", "hello")
    s.add_artifact(rid, "blob", b"\x00\x01", kind="npy")
    arts = s.artifacts(rid)
    assert [(a["name"], a["data"]) for a in arts] == [("curve", {"best": [1, 2]}), ("note", "hello"), ("blob", b"\x00\x01")]


def _writer(path, rid, start, n):
    s = Store(path)
    for k in range(start, start + n):
        s.add_trial(rid, _trial(k, float(k)))
    s.close()


def test_concurrent_writers_lose_nothing(tmp_path):
    p = tmp_path / "r.sqlite"
    s = Store(p)
    rids = [_run(s, seed=i) for i in range(4)]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(p), rid, 0, 50)) for rid in rids]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(60)
        assert pr.exitcode == 0
    for rid in rids:
        assert [t.number for t in s.trials(rid)] == list(range(50))
        assert s.get_run(rid).progress == 50


def test_opening_a_second_store_keeps_held_connections_consistent(tmp_path):
    """Checking the file must not drop this process's SQLite locks (POSIX locks die with any
    close() of the file): a Streamlit session's held Store must see another session's writes."""
    p = tmp_path / "shared.sqlite"
    held = Store(p)
    rid = _run(held)
    assert held.get_run(rid).state == RunState.QUEUED
    for _ in range(3):
        other = Store(p)  # what another browser session does on every poll
        other.mark_running(rid, "worker-1")
        other.close()
        assert held.get_run(rid).state == RunState.RUNNING
        other = Store(p)
        other.finish_run(rid, "failed", error="worker lost")
        other.close()
        assert held.get_run(rid).state == RunState.FAILED
        other = Store(p)
        other.requeue(rid)
        other.close()
        assert held.get_run(rid).state == RunState.QUEUED
    held.close()


def test_text_file_is_refused_without_python_open(tmp_path):
    p = tmp_path / "notes.sqlite"
    p.write_text("my notes, not a database\n" * 50)
    with pytest.raises(NasvizError, match="not an SQLite file"):
        Store(p)
    assert p.read_text().startswith("my notes")
