"""Search runs as background jobs, outside the web server process.

Backends
--------
* ``local`` (default): one detached worker *process* per run
  (``python -m nasviz.search.worker --db PATH --run ID``, its own session, so closing
  the CLI or the app does not stop it). No service to start.
* ``ray``: one Ray task per run (``ray`` package, pinned in requirements). The
  cluster address comes from ``address=``, else ``$NASVIZ_RAY_ADDRESS``, else
  ``$RAY_ADDRESS``, else a local Ray instance is started; a run with
  ``device="cuda"`` asks Ray for one GPU. Workers open the same SQLite file, so the
  store must be on a filesystem every Ray node sees (always true for a local
  instance). The submitting process waits for its tasks (a local Ray instance
  ends with its driver).

Both execute :func:`execute_run`, which runs the body registered for the run's kind
in :data:`RUN_KINDS` (a search, or an architecture-distribution run of
:mod:`nasviz.distributions.job`): heartbeats and progress go to the store after
every trial (a distribution run: every step) and every ``heartbeat_s`` from a side thread; a requested cancel stops
the run at its next ask; an exception leaves the run ``failed`` with its traceback
and every completed trial. A worker killed outright (``kill -9``) cannot write
anything, so whoever notices marks the run failed: the launching process when it
reaps the child (:meth:`LocalJob.wait`), or :func:`reap_stale` (run by ``list``,
``show``, ``resume`` and the waiters) when the worker's pid is gone or its heartbeat
is older than ``stale_after`` seconds. ``resume`` replays the stored trials and
continues (see :mod:`nasviz.search.strategies`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback as tb
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from nasviz.errors import NasvizError
from nasviz.search.store import Run, RunState, Store, Trial

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
STALE_AFTER_S = 60.0
RAY_ADDRESS_ENV = "NASVIZ_RAY_ADDRESS"
#: Test-only (the suite's kill/cancel tests; never set it in normal use): the path of a file holding an integer N.
#: A worker whose environment names it holds once its run has N trials (steps of a distribution run) and waits,
#: still answering a cancel, until the file allows more; a missing or unreadable file allows none. A test can so
#: interrupt a run at an exact trial, however fast or loaded the machine, without any mock of the worker. N counts
#: the loop's position, so a resumed worker can be held mid-replay too; while held it names its position in the
#: file ``<gate>.held``.
TRIAL_GATE_ENV = "NASVIZ_TEST_TRIAL_GATE"


_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def single_thread() -> None:
    """One compute thread per worker: the same numerics everywhere (local or Ray) and no
    oversubscription when many runs share a few cores."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def worker_id(prefix: str = "local") -> str:
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}"


# -- the job itself ----------------------------------------------------------------------
#: What a worker runs, by the ``kind`` in a run's stored config (absent: a search). Each body
#: is ``"module:function"``, imported only by the worker that needs it, called as
#: ``body(store, run, ctx) -> (final state, stats)``; it raises to fail the run.
RUN_KINDS: dict[str, str] = {
    "search": "nasviz.search.jobs:_search_body",
    "distribution": "nasviz.distributions.job:run_body",
}


def run_kind(run: Run) -> str:
    return str(run.config.get("kind", "search"))


class JobContext:
    """What a run body shares with its worker: progress for the heartbeat thread, and cancel checks."""

    def __init__(self, store: Store, run_id: int, progress: int) -> None:
        self.store, self.run_id = store, int(run_id)
        #: trials stored when this worker started: a resume replays them first, and while it does, the loop's
        #: position (0, 1, 2, ...) is not the run's progress (a run at 252 trials read 167 mid-replay)
        self.stored = int(progress)
        self.progress = int(progress)
        self.cancel = False
        self._last_check = 0.0

    def should_stop(self, progress: int, stats: dict | None = None, every_s: float = 0.25) -> bool:
        """Record progress (and stats) at most every ``every_s`` seconds; True once a cancel was requested.

        ``progress`` is the loop's position. While it is inside the replay of the stored trials, the stored
        progress and stats stay as they were (the replay's running stats, e.g. its best value so far, would
        read as the run going backwards)."""
        position = int(progress)
        replaying = position < self.stored
        self.progress = max(self.stored, position)
        now = time.monotonic()
        if now - self._last_check >= every_s:
            self._last_check = now
            self.cancel = self.store.heartbeat(self.run_id, self.progress, None if replaying else stats) or self.cancel
        gate = os.environ.get(TRIAL_GATE_ENV)
        if gate and not self.cancel:
            self._hold_at_gate(Path(gate), position, None if replaying else stats)
        return self.cancel

    def _hold_at_gate(self, gate: Path, position: int, stats: dict | None) -> None:
        """Test-only (:data:`TRIAL_GATE_ENV`): wait while the gate file allows no more than ``position`` trials
        (the loop's position, so a resume can be held mid-replay too); while held, ``<gate>.held`` names it."""
        held, marked = gate.with_name(gate.name + ".held"), False
        try:
            while not self.cancel:
                try:
                    allowed = int(gate.read_text().strip() or 0)
                except (OSError, ValueError):
                    allowed = 0
                if position < allowed:
                    return
                if not marked:
                    tmp = held.with_name(held.name + ".tmp")
                    tmp.write_text(str(position))
                    tmp.replace(held)
                    marked = True
                time.sleep(0.1)
                self.cancel = self.store.heartbeat(self.run_id, self.progress, stats) or self.cancel
        finally:
            if marked:
                held.unlink(missing_ok=True)


def _body(kind: str) -> Callable:
    import importlib

    if kind not in RUN_KINDS:
        raise NasvizError(f"run kind {kind!r} is unknown to this nasviz; known: {', '.join(RUN_KINDS)}")
    module, name = RUN_KINDS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def execute_run(db_path: str | Path, run_id: int, *, worker: str | None = None,
                heartbeat_s: float = HEARTBEAT_S) -> dict:
    """Run (or resume) one stored run to a final state in this process; returns its summary."""
    single_thread()
    worker = worker or worker_id()
    store = Store(db_path, create=False)
    store.mark_running(run_id, worker)
    run = store.get_run(run_id)
    stop = threading.Event()
    beat_store = Store(db_path, create=False)
    ctx = JobContext(store, run_id, store.n_trials(run_id))

    def beat() -> None:
        while not stop.wait(heartbeat_s):
            try:
                ctx.cancel = beat_store.heartbeat(run_id, ctx.progress) or ctx.cancel
            except Exception:  # noqa: BLE001 - a missed heartbeat is not fatal
                log.debug("heartbeat failed", exc_info=True)

    thread = threading.Thread(target=beat, name=f"nasviz-heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        t0 = time.perf_counter()
        final, stats_out = _body(run_kind(run))(store, run, ctx)
        stats_out["wall_seconds_last_session"] = time.perf_counter() - t0
        stop.set()
        thread.join()
        store.finish_run(run_id, final, stats=stats_out, only_if_worker=worker)
    except BaseException as e:  # noqa: BLE001 - every failure is recorded, then re-raised
        stop.set()
        thread.join()
        store.finish_run(run_id, RunState.FAILED, error=f"{type(e).__name__}: {e}", traceback=tb.format_exc(),
                         only_if_worker=worker)
        if not isinstance(e, Exception):
            raise
        log.error("run %s failed: %s", run_id, e)
    finally:
        beat_store.close()
    out = store.get_run(run_id).to_dict()
    store.close()
    return out


def _search_body(store: Store, run: Run, ctx: JobContext) -> tuple[RunState, dict]:
    """A search: the strategy's ask/tell loop, one trial per new benchmark query (stored ones replayed)."""
    from nasviz.search.loop import Cancelled, run_loop
    from nasviz.search.runs import RunConfig, build

    cfg = RunConfig.from_dict(run.config)
    problem, strategy = build(cfg)
    history = store.trials(run.id)

    def on_trial(trial: Trial, stats) -> None:
        store.add_trial(run.id, trial)
        ctx.progress = trial.number + 1

    def check_cancel(n: int, stats) -> bool:
        return ctx.should_stop(n, _stats(stats, strategy))

    try:
        res = run_loop(problem, strategy, cfg.budget, history=history, on_trial=on_trial, check_cancel=check_cancel)
    except Cancelled:
        return RunState.CANCELLED, dict(store.get_run(run.id).stats)
    return RunState.COMPLETE, _stats(res.stats, strategy)


def _stats(stats, strategy) -> dict:
    d = stats.to_dict() if stats is not None else {}
    extra = getattr(strategy, "extra_stats", None)
    if callable(extra):
        d.update(extra())
    return d


# -- local worker processes ----------------------------------------------------------------
@dataclass
class LocalJob:
    run_id: int
    db_path: Path
    proc: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        rc = self.proc.poll()
        if rc is not None:
            self._record_exit(rc)
        return rc

    def wait(self, timeout: float | None = None) -> int:
        rc = self.proc.wait(timeout)
        self._record_exit(rc)
        return rc

    def _record_exit(self, rc: int) -> None:
        """A worker that died without writing its final state leaves the run failed."""
        if rc == 0:
            return
        with Store(self.db_path, create=False) as store:
            run = store.get_run(self.run_id)
            if run.state == RunState.RUNNING and run.worker and run.worker.endswith(f":{self.proc.pid}"):
                store.finish_run(self.run_id, RunState.FAILED, error=_exit_message(rc, self.proc.pid),
                                 traceback=_dead_worker_trace(rc, self.proc.pid, run, self.log_path),
                                 only_if_worker=run.worker)


def _exit_message(rc: int, pid: int) -> str:
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return f"worker process {pid} was killed by {name}"
    return f"worker process {pid} exited with status {rc}"


def _dead_worker_trace(rc: int | None, pid: int, run: Run, log_path: Path | None) -> str:
    lines = [
        f"{_exit_message(rc, pid) if rc is not None else f'worker process {pid} is gone'} "
        f"while the run was running (no Python traceback: the process was stopped from outside).",
        f"last heartbeat: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(run.heartbeat_at or 0))} UTC; "
        f"completed trials kept: {run.progress}.",
        f"resume with: nasviz search resume {run.id}",
    ]
    if log_path is not None and log_path.exists():
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        if tail:
            lines += ["worker log (last lines):", *tail]
    return "\n".join(lines)


def log_dir(db_path: Path) -> Path:
    return Path(str(db_path) + ".logs")


def launch_local(db_path: str | Path, run_id: int, *, env: dict | None = None) -> LocalJob:
    """Start a detached worker process for a queued run."""
    db_path = Path(db_path).resolve()
    logs = log_dir(db_path)
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"run-{run_id}.log"
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.update(_THREAD_ENV)
    root = str(Path(__file__).resolve().parent.parent.parent)
    full_env["PYTHONPATH"] = root + (os.pathsep + full_env["PYTHONPATH"] if full_env.get("PYTHONPATH") else "")
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nasviz.search.worker", "--db", str(db_path), "--run", str(int(run_id))],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=full_env,
            start_new_session=True, cwd=root,
        )
    return LocalJob(run_id=int(run_id), db_path=db_path, proc=proc, log_path=log_path)


# -- ray -------------------------------------------------------------------------------------
def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _ray_execute(db_path: str, run_id: int) -> dict:
    import ray

    ctx = ray.get_runtime_context()
    return execute_run(db_path, run_id, worker=f"ray:{socket.gethostname()}:{os.getpid()}:{ctx.get_task_id()}")


def init_ray(address: str | None = None, num_cpus: int | None = None):
    """Connect to ``address`` / $NASVIZ_RAY_ADDRESS / $RAY_ADDRESS, or start a local instance.

    An address nothing listens on is refused within seconds, before ``ray`` is even imported."""
    address = address or os.environ.get(RAY_ADDRESS_ENV) or os.environ.get("RAY_ADDRESS") or None
    if address is not None:
        check_ray_address(address)
    try:
        import ray
    except ImportError:
        raise NasvizError("the ray backend needs the 'ray' package (pip install ray==2.60.0)") from None
    if ray.is_initialized():
        return ray
    root = str(Path(__file__).resolve().parent.parent.parent)
    kwargs = dict(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False,
                  runtime_env={"env_vars": {"PYTHONPATH": root, **_THREAD_ENV}})
    if address is None and num_cpus is not None:
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as e:
        raise NasvizError(f"cannot connect to the Ray cluster at {address or 'a new local instance'} "
                          f"({' '.join(str(e).split())[:200]}); nothing was started") from None
    return ray


def check_ray_address(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a Ray address nothing listens on, within ``timeout_s`` (``ray.init`` would retry for a minute).

    Accepts ``auto``/``local``, ``HOST:PORT`` (the cluster's GCS) and ``ray://HOST:PORT`` (Ray Client)."""
    if address in ("auto", "local"):
        return
    rest = address.split("://", 1)[1] if "://" in address else address
    host, _, port_text = rest.rpartition(":")
    if not host or not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise NasvizError(f"Ray address {address!r} is not HOST:PORT or ray://HOST:PORT (e.g. 10.0.0.5:6379); "
                          "or leave it out for a local instance")
    try:
        socket.create_connection((host.strip("[]"), int(port_text)), timeout=timeout_s).close()
    except OSError as e:
        raise NasvizError(f"cannot reach the Ray cluster at {address} ({e.strerror or e}); is it running? "
                          "Nothing was started") from None


def launch_ray(db_path: str | Path, run_id: int, *, gpus: float = 0, address: str | None = None):
    """Submit a queued run as a Ray task; returns its ObjectRef (``ray.get`` gives the summary)."""
    ray = init_ray(address)
    task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(_ray_execute)
    return task.remote(str(Path(db_path).resolve()), int(run_id))


# -- submit / wait / reap ------------------------------------------------------------------------
def ray_gpu_check(address: str | None = None) -> float:
    """The GPUs of the Ray cluster, or a :class:`NasvizError` when it has none (a cuda run would never start)."""
    ray = init_ray(address)
    gpus = float(ray.cluster_resources().get("GPU", 0))
    if gpus < 1:
        raise NasvizError("device cuda on the ray backend: the Ray cluster at "
                          f"{address or os.environ.get(RAY_ADDRESS_ENV) or os.environ.get('RAY_ADDRESS') or 'local'} "
                          "has no GPU (ray.cluster_resources() lists none); use --device cpu or a cluster with GPUs")
    return gpus


def submit(store: Store, config, *, launch: bool = True, ray_address: str | None = None):
    """Store a validated :class:`~nasviz.search.runs.RunConfig` as a queued run and start its worker.

    A cuda run on the ray backend asks the cluster for one GPU per task; a cluster without
    GPUs is refused here, before the run is stored (the task would wait forever).
    """
    if launch and getattr(config, "backend", "local") == "ray":
        init_ray(ray_address)  # an unreachable cluster is refused before the run is stored
        if getattr(config, "device", "cpu") == "cuda":
            ray_gpu_check(ray_address)
    run_id = store.create_run(strategy=config.strategy, space=config.space, dataset=config.dataset,
                              budget=config.budget, seed=config.seed, config=config.to_dict())
    if not launch:
        return run_id, None
    return run_id, start(store, run_id, ray_address=ray_address)


def start(store: Store, run_id: int, *, ray_address: str | None = None):
    """Start the worker of a queued run; when it cannot be started the run is marked failed (never left
    queued forever) and the error re-raised."""
    run = store.get_run(run_id)
    try:
        if run.config.get("backend", "local") == "ray":
            gpus = 1 if str(run.config.get("device", "cpu")).startswith("cuda") else 0
            return launch_ray(store.path, run_id, gpus=gpus, address=ray_address)
        return launch_local(store.path, run_id)
    except BaseException as e:
        store.finish_run(run_id, RunState.FAILED, error=f"the worker could not be started: {e}")
        raise


def resume(store: Store, run_id: int, *, ray_address: str | None = None):
    """Requeue a failed or cancelled run and start a worker that replays its trials and continues."""
    reap_stale(store)
    if store.get_run(run_id).config.get("backend", "local") == "ray":
        init_ray(ray_address)  # an unreachable cluster is refused before the run is requeued
    store.requeue(run_id)
    return start(store, run_id, ray_address=ray_address)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is dead for us
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def reap_stale(store: Store, stale_after: float = STALE_AFTER_S) -> list[int]:
    """Mark running runs whose worker is gone (same host, pid dead) or silent as failed."""
    reaped = []
    host = socket.gethostname()
    now = time.time()
    for run in store.list_runs(RunState.RUNNING):
        parts = (run.worker or "").split(":")
        dead, rc = False, None
        if len(parts) >= 3 and parts[0] == "local" and parts[1] == host:
            try:
                dead = not _pid_alive(int(parts[2]))
            except ValueError:
                dead = False
        if not dead and run.heartbeat_at is not None and now - run.heartbeat_at > stale_after:
            dead = True
        if dead:
            pid = int(parts[2]) if len(parts) >= 3 and parts[2].isdigit() else -1
            log_path = log_dir(store.path) / f"run-{run.id}.log"
            if store.finish_run(run.id, RunState.FAILED,
                                error=f"worker {run.worker} stopped without finishing (no heartbeat since "
                                      f"{now - (run.heartbeat_at or now):.0f} s)",
                                traceback=_dead_worker_trace(rc, pid, run, log_path), only_if_worker=run.worker):
                reaped.append(run.id)
    return reaped


def wait(store: Store, run_ids: Sequence[int], jobs: Sequence | None = None, *, timeout: float | None = None,
         poll_s: float = 0.2, on_progress: Callable[[list[Run]], None] | None = None) -> list[Run]:
    """Poll the store until every run is finished (reaping dead local workers); returns the runs."""
    t_end = None if timeout is None else time.monotonic() + timeout
    jobs = list(jobs or [])
    while True:
        for j in jobs:
            if isinstance(j, LocalJob):
                j.poll()
        runs = [store.get_run(r) for r in run_ids]
        if on_progress is not None:
            on_progress(runs)
        if all(r.state.finished for r in runs):
            return runs
        if t_end is not None and time.monotonic() > t_end:
            raise TimeoutError(f"runs not finished after {timeout} s: "
                               + ", ".join(f"{r.id}={r.state.value}" for r in runs if not r.state.finished))
        if not any(isinstance(j, LocalJob) for j in jobs):
            reap_stale(store)
        time.sleep(poll_s)
