"""Run history in SQLite: runs, their trials and artifacts (stdlib ``sqlite3`` only).

The split follows optuna: a *run* (optuna's study) is one seeded search with a full
configuration; a *trial* is one benchmark query it made; the *store* keeps both.

Schema (version :data:`SCHEMA_VERSION`)::

    nasviz_meta(key, value)         app = "nasviz.search", schema_version = "1"
    runs(id, state, strategy, space, dataset, budget, seed, config JSON, nasviz_version,
         created_at, started_at, finished_at, heartbeat_at, progress, worker,
         cancel_requested, stats JSON, error, traceback)
    trials(run_id, number, cell, cell_index, value, state, started_at, finished_at,
           duration_s, extra JSON)                     -- PRIMARY KEY (run_id, number)
    artifacts(id, run_id, name, kind, data, created_at)

Guarantees
----------
* **Foreign files are refused before anything is written.** A path that exists is
  first opened read-only and must carry our ``nasviz_meta`` row; a file that is not
  SQLite, an SQLite file of another application or of a newer schema raises
  :class:`~nasviz.errors.NasvizError` and the file is left byte-for-byte unchanged
  (WAL mode is switched on only after the check).
* **Finished trials never change.** Triggers in the database abort any UPDATE of a
  trial whose state is not ``RUNNING`` and any DELETE of a trial.
* **Many processes.** WAL journal, ``BEGIN IMMEDIATE`` for writes and a busy timeout,
  so eight workers and a reader (the CLI, the app) can share one file.

Timestamps are UNIX seconds (float, UTC).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterator

from nasviz.errors import NasvizError

SCHEMA_VERSION = 1
APP_ID = "nasviz.search"
DB_ENV = "NASVIZ_DB"


class RunState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunState.COMPLETE, RunState.FAILED, RunState.CANCELLED)


class TrialState(str, Enum):
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Trial:
    """One benchmark query of a run (immutable once finished)."""

    number: int  # 0-based, in query order
    cell: str  # the space's own string form
    cell_index: int | None  # official index (NB201) / row in the benchmark table
    value: float | None  # the search signal (e.g. 12-epoch cifar10-valid valid acc)
    state: TrialState
    started_at: float
    finished_at: float | None
    duration_s: float | None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """One seeded search and where it stands."""

    id: int
    state: RunState
    strategy: str
    space: str
    dataset: str
    budget: int
    seed: int
    config: dict
    nasviz_version: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    heartbeat_at: float | None
    progress: int
    worker: str | None
    cancel_requested: bool
    stats: dict
    error: str | None
    traceback: str | None
    damaged: str | None = None  # what is unreadable in the stored row (edited outside nasviz), else None

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["state"] = self.state.value
        return d


_SCHEMA = """
CREATE TABLE nasviz_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state TEXT NOT NULL CHECK (state IN ('queued','running','complete','failed','cancelled')),
    strategy TEXT NOT NULL,
    space TEXT NOT NULL,
    dataset TEXT NOT NULL,
    budget INTEGER NOT NULL CHECK (budget > 0),
    seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    nasviz_version TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    heartbeat_at REAL,
    progress INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    stats TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    traceback TEXT
);
CREATE TABLE trials (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    number INTEGER NOT NULL,
    cell TEXT NOT NULL,
    cell_index INTEGER,
    value REAL,
    state TEXT NOT NULL CHECK (state IN ('RUNNING','COMPLETE','FAIL')),
    started_at REAL NOT NULL,
    finished_at REAL,
    duration_s REAL,
    extra TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, number)
);
CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id);
CREATE TRIGGER trials_finished_immutable BEFORE UPDATE ON trials
    WHEN OLD.state != 'RUNNING'
    BEGIN SELECT RAISE(ABORT, 'finished trials are immutable'); END;
CREATE TRIGGER trials_never_deleted BEFORE DELETE ON trials
    BEGIN SELECT RAISE(ABORT, 'trials are never deleted'); END;
"""


# executescript() would COMMIT our BEGIN IMMEDIATE first; run the statements one by one.
_SCHEMA_STATEMENTS = [s.strip() for s in _SCHEMA.split(";\n") if s.strip()]


def default_db_path() -> Path:
    """``$NASVIZ_DB``, else ``<user_dir>/search.sqlite``."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    from nasviz.paths import user_dir

    return user_dir() / "search.sqlite"


def db_uri(path: Path | str) -> str:
    """``file:`` URI of ``path`` with every character SQLite's URI parser treats specially (``#``, ``?``, ``%``,
    spaces) percent-escaped; without it ``runs#1.sqlite`` would open ``runs`` (and create a stray file)."""
    from urllib.parse import quote

    return "file:" + quote(str(Path(path).absolute()), safe="/")


def check_db_file(path: Path) -> bool:
    """Raise :class:`NasvizError` if ``path`` exists but is not a nasviz run database.

    Returns True when the file exists and is ours, False when it does not exist (or is
    empty) and may be created. Opens the file read-only: nothing is ever written here.
    """
    path = Path(path)
    if path.is_dir():
        raise NasvizError(f"the run database path {path} is a folder; give a file path (e.g. {path / 'search.sqlite'})")
    if not path.exists() or path.stat().st_size == 0:
        return False
    # Read the file through SQLite only: opening and closing it with Python's open() would
    # drop every POSIX lock this process's other SQLite connections hold on it (fcntl locks
    # belong to the process and inode), leaving them reading stale pages. SQLite's own VFS
    # shares one lock set per inode between connections, so this check is safe.
    try:
        con = sqlite3.connect(f"{db_uri(path)}?mode=ro", uri=True, timeout=30)
        try:
            has = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='nasviz_meta'").fetchone()
            meta = dict(con.execute("SELECT key, value FROM nasviz_meta").fetchall()) if has else {}
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            raise NasvizError(
                f"{path} is not a nasviz run database (not an SQLite file); nothing was written. "
                f"Give another --db path or set {DB_ENV}."
            ) from e
        raise NasvizError(f"{path} is not a readable nasviz run database ({e}); nothing was written") from e
    if meta.get("app") != APP_ID:
        raise NasvizError(
            f"{path} is an SQLite file of another application (no nasviz run tables); nothing was written. "
            f"Give another --db path or set {DB_ENV}."
        )
    try:
        version = int(meta.get("schema_version", "0"))
    except ValueError:
        version = -1
    if version != SCHEMA_VERSION:
        raise NasvizError(
            f"{path} has run-database schema version {meta.get('schema_version')!r}; this nasviz reads version "
            f"{SCHEMA_VERSION}. Use the nasviz that wrote it or another --db path; nothing was written."
        )
    return True


class Store:
    """A nasviz run database. Open with ``Store(path)``; ``path=None`` uses :func:`default_db_path`.

    One :class:`sqlite3.Connection` per ``Store``; create one ``Store`` per process
    (worker processes open their own).
    """

    def __init__(self, path: str | Path | None = None, *, create: bool = True) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        exists = check_db_file(self.path)
        if not exists and not create:
            raise NasvizError(f"no run database at {self.path}; start a run first (nasviz search run ...)")
        if not exists:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(str(self.path), timeout=60, isolation_level=None, check_same_thread=False)
        self._ident = _file_ident(self.path)
        self._con.row_factory = sqlite3.Row
        self._con.execute("PRAGMA busy_timeout = 60000")
        if not exists:
            try:
                self._create()
            except sqlite3.DatabaseError:  # e.g. a full disk: leave no empty database file behind
                self._con.close()
                for suffix in ("", "-journal", "-wal", "-shm"):
                    q = self.path.with_name(self.path.name + suffix)
                    if q.is_file() and q.stat().st_size == 0 or (suffix and q.is_file()):
                        q.unlink(missing_ok=True)
                raise
        self._con.execute("PRAGMA journal_mode = WAL")
        self._con.execute("PRAGMA synchronous = NORMAL")
        self._con.execute("PRAGMA foreign_keys = ON")

    def _create(self) -> None:
        with self._tx():
            has = self._con.execute("SELECT 1 FROM sqlite_master WHERE name='nasviz_meta'").fetchone()
            if has:  # another process created it between our check and here
                return
            for stmt in _SCHEMA_STATEMENTS:
                self._con.execute(stmt)
            self._con.executemany(
                "INSERT INTO nasviz_meta(key, value) VALUES (?, ?)",
                [("app", APP_ID), ("schema_version", str(SCHEMA_VERSION))],
            )

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check_same_file(self) -> None:
        """Raise :class:`NasvizError` when the database file was deleted or replaced since it was opened.

        SQLite keeps writing to an unlinked file without a word, so a worker would "complete" a run into a
        database nobody can read; every write checks this first."""
        if _file_ident(self.path) != self._ident:
            raise NasvizError(f"the run database {self.path} was deleted or replaced while in use; "
                              "nothing more is written to it")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.check_same_file()
        try:
            self._con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "readonly" in str(e) or "read-only" in str(e):
                raise NasvizError(f"the run database {self.path} is read-only ({e}); nothing was written. Make it "
                                  f"writable, or give another --db path or {DB_ENV}") from None
            raise
        try:
            yield self._con
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")

    # -- runs --------------------------------------------------------------------------
    def create_run(self, *, strategy: str, space: str, dataset: str, budget: int, seed: int, config: dict,
                   nasviz_version: str | None = None) -> int:
        """Insert a queued run; the caller validated ``config`` (nothing is checked here but types)."""
        if nasviz_version is None:
            from nasviz import __version__ as nasviz_version
        with self._tx() as con:
            cur = con.execute(
                "INSERT INTO runs(state, strategy, space, dataset, budget, seed, config, nasviz_version, created_at) "
                "VALUES ('queued', ?, ?, ?, ?, ?, ?, ?, ?)",
                (strategy, space, dataset, int(budget), int(seed), json.dumps(config, sort_keys=True),
                 nasviz_version, time.time()),
            )
            return int(cur.lastrowid)

    def get_run(self, run_id: int) -> Run:
        row = self._con.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise NasvizError(f"no run {run_id} in {self.path}; `nasviz search list` shows the runs")
        return _run_from_row(row)

    def list_runs(self, state: RunState | str | None = None, limit: int | None = None) -> list[Run]:
        q, args = "SELECT * FROM runs", []
        if state is not None:
            q += " WHERE state = ?"
            args.append(RunState(state).value)
        q += " ORDER BY id DESC"
        if limit is not None:
            q += f" LIMIT {int(limit)}"
        return [_run_from_row(r) for r in self._con.execute(q, args).fetchall()]

    def mark_running(self, run_id: int, worker: str) -> None:
        """queued/failed/cancelled -> running (a resume clears error, traceback and cancel flag)."""
        now = time.time()
        with self._tx() as con:
            run = self.get_run(run_id)
            if run.state == RunState.COMPLETE:
                raise NasvizError(f"run {run_id} is already complete")
            if run.state == RunState.RUNNING and run.worker != worker:
                raise NasvizError(f"run {run_id} is already running in worker {run.worker}")
            con.execute(
                "UPDATE runs SET state='running', worker=?, started_at=COALESCE(started_at, ?), heartbeat_at=?, "
                "finished_at=NULL, error=NULL, traceback=NULL, cancel_requested=0 WHERE id=?",
                (worker, now, now, int(run_id)),
            )

    def requeue(self, run_id: int) -> None:
        """A failed or cancelled run -> queued (before a resume is launched)."""
        with self._tx() as con:
            run = self.get_run(run_id)
            if run.state not in (RunState.FAILED, RunState.CANCELLED, RunState.QUEUED):
                raise NasvizError(
                    f"run {run_id} is {run.state.value}; only failed or cancelled runs can be resumed"
                )
            con.execute("UPDATE runs SET state='queued', cancel_requested=0, worker=NULL WHERE id=?", (int(run_id),))

    def heartbeat(self, run_id: int, progress: int, stats: dict | None = None) -> bool:
        """Record liveness and progress; returns True when a cancel was requested.

        The stored progress never drops below the run's completed trials: a resumed worker reports the
        position of its replay (0, 1, 2, ... up to the stored trials), which is not how far the run is."""
        floor = "MAX(?, (SELECT COUNT(*) FROM trials WHERE run_id=runs.id AND state='COMPLETE'))"
        with self._tx() as con:
            if stats is None:
                con.execute(f"UPDATE runs SET heartbeat_at=?, progress={floor} WHERE id=?",
                            (time.time(), int(progress), int(run_id)))
            else:
                con.execute(f"UPDATE runs SET heartbeat_at=?, progress={floor}, stats=? WHERE id=?",
                            (time.time(), int(progress), json.dumps(stats, sort_keys=True), int(run_id)))
            row = con.execute("SELECT cancel_requested FROM runs WHERE id=?", (int(run_id),)).fetchone()
        return bool(row[0])

    def finish_run(self, run_id: int, state: RunState | str, *, stats: dict | None = None, error: str | None = None,
                   traceback: str | None = None, only_if_worker: str | None = None) -> bool:
        """Set a final state. With ``only_if_worker``, only if that worker still owns the running run."""
        state = RunState(state)
        if not state.finished:
            raise ValueError(f"{state} is not a final state")
        with self._tx() as con:
            q = ("UPDATE runs SET state=?, finished_at=?, error=?, traceback=?, stats=COALESCE(?, stats), "
                 "progress=(SELECT COUNT(*) FROM trials WHERE run_id=runs.id AND state='COMPLETE') WHERE id=?")
            args: list[Any] = [state.value, time.time(), error, traceback,
                               None if stats is None else json.dumps(stats, sort_keys=True), int(run_id)]
            if only_if_worker is not None:
                q += " AND state='running' AND worker=?"
                args.append(only_if_worker)
            cur = con.execute(q, args)
            return cur.rowcount > 0

    def request_cancel(self, run_id: int) -> RunState:
        """Ask a run to stop. A queued run is cancelled at once; a running one at its next trial."""
        with self._tx() as con:
            run = self.get_run(run_id)
            if run.state.finished:
                raise NasvizError(f"run {run_id} is already {run.state.value}; nothing to cancel")
            if run.state == RunState.QUEUED:
                con.execute("UPDATE runs SET state='cancelled', cancel_requested=1, finished_at=? WHERE id=?",
                            (time.time(), int(run_id)))
                return RunState.CANCELLED
            con.execute("UPDATE runs SET cancel_requested=1 WHERE id=?", (int(run_id),))
            return RunState.RUNNING

    # -- trials ------------------------------------------------------------------------
    def add_trial(self, run_id: int, trial: Trial) -> None:
        """Store one trial and the run's progress in one transaction."""
        with self._tx() as con:
            con.execute(
                "INSERT INTO trials(run_id, number, cell, cell_index, value, state, started_at, finished_at, "
                "duration_s, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (int(run_id), trial.number, trial.cell, trial.cell_index, trial.value, TrialState(trial.state).value,
                 trial.started_at, trial.finished_at, trial.duration_s, json.dumps(trial.extra, sort_keys=True)),
            )
            con.execute("UPDATE runs SET progress=?, heartbeat_at=? WHERE id=?",
                        (trial.number + 1, time.time(), int(run_id)))

    def finish_trial(self, run_id: int, number: int, state: TrialState | str, value: float | None) -> None:
        """RUNNING -> COMPLETE/FAIL (the database refuses changes to finished trials)."""
        now = time.time()
        with self._tx() as con:
            con.execute(
                "UPDATE trials SET state=?, value=?, finished_at=?, duration_s=?-started_at "
                "WHERE run_id=? AND number=?",
                (TrialState(state).value, value, now, now, int(run_id), int(number)),
            )

    def trials(self, run_id: int, state: TrialState | str | None = None) -> list[Trial]:
        q, args = "SELECT * FROM trials WHERE run_id=?", [int(run_id)]
        if state is not None:
            q += " AND state=?"
            args.append(TrialState(state).value)
        q += " ORDER BY number"
        return [_trial_from_row(r) for r in self._con.execute(q, args).fetchall()]

    def n_trials(self, run_id: int) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM trials WHERE run_id=?", (int(run_id),)).fetchone()[0])

    # -- artifacts ---------------------------------------------------------------------
    def add_artifact(self, run_id: int, name: str, data: bytes | str | dict, kind: str | None = None) -> int:
        if isinstance(data, dict):
            data, kind = json.dumps(data, sort_keys=True).encode(), kind or "json"
        elif isinstance(data, str):
            data, kind = data.encode(), kind or "text"
        with self._tx() as con:
            cur = con.execute("INSERT INTO artifacts(run_id, name, kind, data, created_at) VALUES (?, ?, ?, ?, ?)",
                              (int(run_id), name, kind or "bytes", bytes(data), time.time()))
            return int(cur.lastrowid)

    def artifacts(self, run_id: int) -> list[dict]:
        rows = self._con.execute("SELECT * FROM artifacts WHERE run_id=? ORDER BY id", (int(run_id),)).fetchall()
        out = []
        for r in rows:
            data: Any = bytes(r["data"])
            if r["kind"] == "json":
                data = json.loads(data)
            elif r["kind"] == "text":
                data = data.decode()
            out.append({"id": r["id"], "name": r["name"], "kind": r["kind"], "data": data, "created_at": r["created_at"]})
        return out


def _file_ident(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _json_field(r: sqlite3.Row, name: str, damage: list[str]) -> dict:
    """A JSON column of a stored row; a value that is not a JSON object is noted in ``damage`` and read as {}."""
    raw = r[name]
    try:
        val = json.loads(raw or "{}")
    except (TypeError, ValueError):
        val = None
    if not isinstance(val, dict):
        damage.append(f"{name} is not a JSON object")
        return {}
    return val


def _run_from_row(r: sqlite3.Row) -> Run:
    """A run; a row damaged outside nasviz (invalid JSON, an unknown state) is flagged in ``Run.damaged``
    instead of breaking every listing of the database."""
    damage: list[str] = []
    config = _json_field(r, "config", damage)
    stats = _json_field(r, "stats", damage)
    try:
        state = RunState(r["state"])
    except ValueError:
        damage.append(f"state {r['state']!r} is unknown")
        state = RunState.FAILED
    return Run(
        id=r["id"], state=state, strategy=r["strategy"], space=r["space"], dataset=r["dataset"],
        budget=r["budget"], seed=r["seed"], config=config, nasviz_version=r["nasviz_version"],
        created_at=r["created_at"], started_at=r["started_at"], finished_at=r["finished_at"],
        heartbeat_at=r["heartbeat_at"], progress=r["progress"], worker=r["worker"],
        cancel_requested=bool(r["cancel_requested"]), stats=stats, error=r["error"],
        traceback=r["traceback"], damaged="; ".join(damage) or None,
    )


def _trial_from_row(r: sqlite3.Row) -> Trial:
    return Trial(
        number=r["number"], cell=r["cell"], cell_index=r["cell_index"], value=r["value"],
        state=TrialState(r["state"]), started_at=r["started_at"], finished_at=r["finished_at"],
        duration_s=r["duration_s"], extra=_json_field(r, "extra", []),
    )
