"""Architecture-distribution runs as background jobs of the search job system.

A distribution run is a run of the run database (:mod:`nasviz.search.store`) whose
config has ``kind = "distribution"``, executed by the same workers as searches
(:mod:`nasviz.search.jobs`: a detached worker process, or a Ray task), so
``nasviz search list|show|cancel|resume`` and the Search runs page handle it too.

What the store holds for one run
--------------------------------
* the row: strategy ``distribution-<method>``, space ``nb201``, dataset (``digits``
  or ``cifar10``), budget = the number of supernet steps, the seed, and the config
  ``{"kind": "distribution", "search": asdict(SearchConfig), "backend", "device",
  "out", "steps_per_epoch"}``; ``progress`` = steps done;
* one trial per step, written when the step ends: ``number`` = step - 1, the derived
  (argmax) cell and its official index, ``value`` = that cell's NB201 200-epoch
  CIFAR-10 test accuracy, ``extra`` = the step's per-edge op probabilities (6 x 5),
  the three data sets' test accuracies, the losses and the epoch;
* ``stats``: from the start, the steps per epoch, the initial distribution and the
  table's best accuracies (so :func:`partial_result` draws a running, cancelled or
  failed run); once complete, also the run summary, and the artifacts
  ``distribution.json`` and ``distribution-history.npz``
  (:func:`~nasviz.distributions.results.load_run_from_store`).

:func:`validate_job` checks every input (method, lambda, estimator, device, backend,
and the data set, which it reads once) before anything is written; :func:`submit`
stores a queued run and starts its worker; the worker runs :func:`run_body`.

Resume (``nasviz search resume ID``) recomputes the seeded run from step 0, checks
every recomputed step against the stored one (same derived cell, probabilities within
``REPLAY_ATOL``) and stores only the steps after them. A run is reproducible from its
seed on one device, so a resumed run equals an uninterrupted one; the kept steps are
recomputed, not skipped (no supernet checkpoint is stored), so a resume costs the
time of the kept steps again.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nasviz.distributions.run import SearchConfig, plan_steps, search_config_from_dict
from nasviz.errors import NasvizError

log = logging.getLogger(__name__)

KIND = "distribution"
STRATEGY_PREFIX = "distribution-"
BACKENDS = ("local", "ray")
REPLAY_ATOL = 1e-4


@dataclass
class DistributionJob:
    """A validated distribution run, ready to be stored (see :func:`validate_job`)."""

    search: SearchConfig
    steps_per_epoch: int
    total_steps: int
    dataset: str  # the data set's name as stored in the run row ("digits", "cifar10")
    backend: str = "local"
    out: str | None = None  # parent folder of the run folder written when complete (None: the default)

    def to_config(self) -> dict:
        return {"kind": KIND, "search": asdict(self.search), "backend": self.backend, "device": self.search.device,
                "out": self.out, "steps_per_epoch": self.steps_per_epoch}


def is_distribution_run(run) -> bool:
    return run.config.get("kind") == KIND


def validate_job(cfg: SearchConfig, *, backend: str = "local", out: str | Path | None = None) -> DistributionJob:
    """A :class:`DistributionJob`, or a :class:`NasvizError` saying what is wrong (nothing is written).

    The data set is read here (digits, or every batch of a CIFAR-10 folder), so a missing or
    malformed folder is refused before a run exists; that also fixes the number of steps.
    """
    from nasviz.distributions.supernet import load_search_data, pick_device

    cfg.validate()
    be = str(backend).strip().lower()
    if be not in BACKENDS:
        raise NasvizError(f"unknown backend {backend!r}; accepted: {', '.join(BACKENDS)}")
    if be == "ray":
        from nasviz.search.jobs import ray_available

        if not ray_available():
            raise NasvizError("the ray backend needs the 'ray' package (pip install ray==2.60.0); or use local")
    else:
        pick_device(cfg.device)  # a local worker sees this machine's devices
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise NasvizError(f"--out {out} is a file; give a folder for the run folders")
    data = load_search_data(cfg.dataset, cfg.seed, image_size=cfg.image_size, val_fraction=cfg.val_fraction,
                            max_images=cfg.max_images)
    spe, total = plan_steps(cfg, data)
    return DistributionJob(search=cfg, steps_per_epoch=spe, total_steps=total, dataset=dataset_label(cfg.dataset),
                           backend=be,
                           out=None if out is None else str(Path(out).expanduser().resolve()))


def dataset_label(dataset: str) -> str:
    """The run row's data set: ``digits``, or ``cifar10`` for a CIFAR-10 folder (its path is in the config)."""
    return "digits" if str(dataset).strip().lower() == "digits" else "cifar10"


def create_run(store, job: DistributionJob) -> int:
    """Store ``job`` as a queued run; returns its id."""
    from nasviz.distributions.results import _jsonable

    return store.create_run(strategy=STRATEGY_PREFIX + job.search.method, space="nb201", dataset=job.dataset,
                            budget=job.total_steps, seed=job.search.seed, config=_jsonable(job.to_config()))


def submit(store, job: DistributionJob, *, launch: bool = True, ray_address: str | None = None):
    """Store ``job`` as a queued run and start its worker; returns ``(run_id, handle)``.

    The handle is a :class:`~nasviz.search.jobs.LocalJob` or a Ray ObjectRef (None without ``launch``).
    """
    from nasviz.search import jobs as J

    rid = create_run(store, job)
    if not launch:
        return rid, None
    return rid, J.start(store, rid, ray_address=ray_address)


def step_trial(number: int, cell_index: int, probs: np.ndarray, test_acc: dict[str, float], *, train_loss: float,
               arch_loss: float, epoch: int | None, started_at: float, finished_at: float):
    """The stored trial of one step (``number`` = step - 1): the derived cell and the distribution."""
    from nasviz.search.store import Trial, TrialState
    from nasviz.spaces.nb201 import NB201Cell

    p = np.asarray(probs, dtype=np.float64)
    cell = NB201Cell(tuple(int(i) for i in p.argmax(axis=1)))
    return Trial(number=int(number), cell=cell.to_str(), cell_index=int(cell_index),
                 value=float(test_acc["cifar10"]), state=TrialState.COMPLETE, started_at=float(started_at),
                 finished_at=float(finished_at), duration_s=float(finished_at - started_at),
                 extra={"probs": p.tolist(), "test_acc": {k: float(v) for k, v in test_acc.items()},
                        "train_loss": _num(train_loss), "arch_loss": _num(arch_loss), "epoch": epoch})


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def result_trials(result) -> list:
    """Every step of a finished :class:`RunResult` as stored trials (the foreground CLI's record)."""
    now = time.time()
    acc = result.test_acc
    return [step_trial(t, int(result.derived_index[t + 1]), result.probs[t + 1],
                       {k: float(v[t + 1]) for k, v in acc.items()}, train_loss=result.train_loss[t],
                       arch_loss=result.arch_loss[t], epoch=t // result.steps_per_epoch, started_at=now,
                       finished_at=now)
            for t in range(result.steps)]


def start_stats(info: dict, initial_test_acc: dict[str, float]) -> dict:
    """The stats a run carries from its start: what :func:`partial_result` needs besides the trials.

    ``info`` is what :func:`~nasviz.distributions.run.run_search` passes to ``on_start``.
    """
    return {"steps_per_epoch": int(info["steps_per_epoch"]), "total_steps": int(info["total"]),
            "initial_probs": np.asarray(info["probs"], dtype=np.float64).tolist(),
            "initial_index": int(info["derived_index"]),
            "initial_test_acc": {k: float(v) for k, v in initial_test_acc.items()},
            "best_test_acc": {k: float(v) for k, v in info["best_test_acc"].items()}}


def store_result(store, run_id: int, result) -> None:
    """Add the finished run's ``distribution.json`` and ``distribution-history.npz`` artifacts."""
    from nasviz.distributions.results import _jsonable

    store.add_artifact(run_id, "distribution.json", _jsonable(result.to_json()))
    buf = io.BytesIO()
    np.savez_compressed(buf, **result.arrays())
    store.add_artifact(run_id, "distribution-history.npz", buf.getvalue(), kind="npz")


# -- the worker's body -------------------------------------------------------------------------
def run_body(store, run, ctx):
    """Run (or resume) one stored distribution run; registered in :data:`nasviz.search.jobs.RUN_KINDS`."""
    from nasviz.bench.nb201 import NB201Benchmark
    from nasviz.distributions.results import DATASET_KEYS, _jsonable
    from nasviz.distributions.run import run_search
    from nasviz.search.loop import Cancelled, ReplayMismatch
    from nasviz.search.store import RunState

    cfg = search_config_from_dict(run.config["search"])
    kept = store.trials(run.id)
    bench = NB201Benchmark()
    acc_cols = {k: np.asarray(bench.column("test", k, 200), dtype=np.float64) for k in DATASET_KEYS}
    stats: dict = dict(run.stats)
    last = [time.time()]

    def on_start(info: dict) -> None:
        if info["total"] != run.budget:
            raise NasvizError(f"the run was stored with {run.budget} steps, but its data now gives {info['total']} "
                              "(was the data set folder changed?)")
        stats.update(start_stats(info, {k: v[int(info['derived_index'])] for k, v in acc_cols.items()}))
        stats["kept_steps"] = len(kept)
        store.heartbeat(run.id, len(kept), _jsonable(stats))
        last[0] = time.time()

    def on_step(step: int, total: int, info: dict) -> None:
        n = step - 1
        if n < len(kept):
            old = kept[n]
            if old.cell_index != info["cell"] or not np.allclose(old.extra.get("probs"), info["probs"], rtol=0,
                                                                 atol=REPLAY_ATOL):
                raise ReplayMismatch(
                    f"resume diverged at step {step}: the recomputed distribution differs from the stored one "
                    f"(derived cell #{info['cell']} vs #{old.cell_index}); was the run moved to another device?")
        else:
            idx = int(info["cell"])
            now = time.time()
            store.add_trial(run.id, step_trial(n, idx, info["probs"], {k: v[idx] for k, v in acc_cols.items()},
                                               train_loss=info["train_loss"], arch_loss=info["arch_loss"],
                                               epoch=info["epoch"], started_at=last[0], finished_at=now))
        last[0] = time.time()
        if ctx.should_stop(step):
            raise Cancelled()

    try:
        result = run_search(cfg, bench=bench, on_step=on_step, on_start=on_start)
    except Cancelled:
        return RunState.CANCELLED, _jsonable(stats)
    store_result(store, run.id, result)
    summary = result.summary()
    folder = result.save(run.config.get("out"))
    summary["run_folder"] = str(folder)
    return RunState.COMPLETE, _jsonable({**stats, **summary})


# -- reading runs back -------------------------------------------------------------------------
def partial_result(store, run_id: int):
    """The run as a :class:`RunResult` from its stored steps, whatever its state (None before its first step).

    A complete run is read from its artifacts; a running, cancelled or failed one from its
    trials and start stats (no epoch times, no estimator variance, no mutual information).
    """
    from nasviz.distributions.results import RunResult, load_run_from_store

    run = store.get_run(run_id)
    if not is_distribution_run(run):
        raise NasvizError(f"run {run_id} is a {run.strategy} search, not a distribution run")
    names = {a["name"] for a in store.artifacts(run_id)}
    if {"distribution.json", "distribution-history.npz"} <= names:
        return load_run_from_store(run_id, store)
    st = run.stats
    trials = store.trials(run_id)
    if "initial_probs" not in st or not trials:
        return None
    probs = np.stack([np.asarray(st["initial_probs"])] + [np.asarray(t.extra["probs"]) for t in trials])
    derived = np.asarray([st["initial_index"]] + [t.cell_index for t in trials], dtype=np.int64)
    test_acc = {k: np.asarray([st["initial_test_acc"][k]] + [t.extra["test_acc"][k] for t in trials])
                for k in st["initial_test_acc"]}

    def losses(key):
        return np.asarray([np.nan if t.extra.get(key) is None else t.extra[key] for t in trials], dtype=np.float64)

    return RunResult(method=run.strategy.removeprefix(STRATEGY_PREFIX), seed=run.seed,
                     config=run.config.get("search", {}), steps_per_epoch=int(st["steps_per_epoch"]), probs=probs,
                     derived_index=derived, test_acc=test_acc, best_test_acc=st["best_test_acc"],
                     train_loss=losses("train_loss"), arch_loss=losses("arch_loss"), epoch_seconds=[])


START_KEYS = ("total_steps", "initial_probs", "initial_index", "initial_test_acc", "best_test_acc", "kept_steps",
              "wall_seconds_last_session")


def stored_summary(run) -> dict:
    """A complete run's :meth:`RunResult.summary` (and ``run_folder``) as its worker stored it in ``stats``."""
    return {k: v for k, v in run.stats.items() if k not in START_KEYS}


def list_distribution_runs(store, state=None) -> list:
    """The store's distribution runs (newest first), optionally of one state."""
    return [r for r in store.list_runs(state) if is_distribution_run(r)]
