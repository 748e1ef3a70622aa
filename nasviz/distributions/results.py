"""What a distribution run records, how convergence is measured, and how runs are stored.

Convergence criterion ("the op distribution stops changing")
------------------------------------------------------------
Let ``p_t[e]`` be edge ``e``'s op distribution after step ``t`` and
``TV(p, q) = 0.5 * sum_o |p_o - q_o|`` the total-variation distance. The run has
converged at the first step ``t`` such that

    max_{s >= t} max_e TV(p_s[e], p_t[e]) <= delta        (delta = 0.05 by default)

and at least ``window`` steps (default: one epoch) follow ``t``. In words: from
``t`` to the end of the run, no edge's distribution moves more than ``delta`` away
from where it was at ``t``. A run without such a ``t`` has not converged
(``None``).

Stability alone is not commitment: a distribution that barely leaves uniform is
"stable" almost at once. The *committed* variant adds one condition at ``t``: the
mean over edges of the largest op probability is at least ``min_max_prob``
(default 0.5, i.e. on average one op holds the majority of an edge; uniform is
0.2). Summaries report both, with the final mean max-probability and the distance
travelled from step 0 (``max_e TV(p_T[e], p_0[e])``).

Storage
-------
Each run is a folder ``<out>/<method>-seed<N>-<UTC time>/`` with ``result.json``
(config, summary, per-step scalars, per-step derived cells) and ``history.npz``
(``probs``: (T+1, 6, 5) float32 — the anytime weights, row 0 before any step —
and the per-step arrays). :func:`load_run` reads it back. :meth:`RunResult.save_to_store`
also records a run in the search run database (:mod:`nasviz.search.store`) with both
files as artifacts; :func:`load_run_from_store` reads it from there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nasviz.errors import DataFileError, NasvizError
from nasviz.fileio import atomic_savez, atomic_write_bytes
from nasviz.paths import user_dir
from nasviz.spaces.nb201 import N_EDGES, N_OPS, NB201Cell

DATASET_KEYS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-edge TV distance between (..., 6, 5) distributions -> (..., 6)."""
    return 0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum(axis=-1)


def convergence_step(probs: np.ndarray, delta: float = 0.05, window: int = 1,
                     min_max_prob: float | None = None) -> int | None:
    """First step t after which no edge moves more than ``delta`` (TV) from p_t; see module doc.

    ``probs`` is (T+1, 6, 5) with row 0 the initial distribution; returns t in 0..T-window or None.
    With ``min_max_prob``, t must also have ``mean_e max_o p_t[e, o] >= min_max_prob`` (committed).
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (N_EDGES, N_OPS):
        raise NasvizError(f"probabilities must be (steps, {N_EDGES}, {N_OPS}); got {p.shape}")
    if delta <= 0:
        raise NasvizError(f"convergence threshold delta must be positive; got {delta}")
    last = p.shape[0] - 1
    sharp = p.max(axis=2).mean(axis=1)  # (T+1,)
    for t in range(0, last - max(0, int(window)) + 1):
        if min_max_prob is not None and sharp[t] < min_max_prob:
            continue
        if total_variation(p[t:], p[t]).max() <= delta:
            return t
    return None


def derived_stable_step(cells: np.ndarray) -> int:
    """First step after which the derived (argmax) cell never changes again."""
    c = np.asarray(cells)
    change = np.nonzero(c[1:] != c[:-1])[0]
    return 0 if len(change) == 0 else int(change[-1]) + 1


def mutual_information(samples: np.ndarray, n_ops: int = N_OPS) -> np.ndarray:
    """Plug-in mutual information (nats) between the ops of every pair of edges.

    ``samples``: (n, 6) op indices. Returns a symmetric (6, 6) matrix with each edge's
    entropy on the diagonal. The plug-in estimate is biased upward by about
    ``(n_ops - 1)^2 / (2 n)`` for independent edges.
    """
    s = np.asarray(samples, dtype=np.int64)
    if s.ndim != 2 or s.shape[0] < 2:
        raise NasvizError(f"samples must be (n >= 2, edges); got {s.shape}")
    n, e = s.shape
    out = np.zeros((e, e))
    marg = [np.bincount(s[:, i], minlength=n_ops) / n for i in range(e)]
    for i in range(e):
        for j in range(i, e):
            joint = np.bincount(s[:, i] * n_ops + s[:, j], minlength=n_ops * n_ops).reshape(n_ops, n_ops) / n
            outer = np.outer(marg[i], marg[j])
            m = joint > 0
            out[i, j] = out[j, i] = float((joint[m] * np.log(joint[m] / outer[m])).sum())
    return out


@dataclass
class RunResult:
    """One run of one method: per-step history plus a summary."""

    method: str
    seed: int
    config: dict
    steps_per_epoch: int
    probs: np.ndarray  # (T+1, 6, 5)
    derived_index: np.ndarray  # (T+1,) official NB201 index of the argmax cell
    test_acc: dict[str, np.ndarray]  # dataset -> (T+1,) NB201 200-epoch test accuracy of the derived cell
    best_test_acc: dict[str, float]  # dataset -> best test accuracy in the table
    train_loss: np.ndarray  # (T,)
    arch_loss: np.ndarray  # (T,)
    epoch_seconds: list[float]
    estimator_variance: list[dict] = field(default_factory=list)  # UNAS: one entry per measured state
    extra: dict = field(default_factory=dict)  # e.g. MI matrices, surrogate fit

    # -- derived quantities ------------------------------------------------------------
    @property
    def steps(self) -> int:
        return int(self.probs.shape[0] - 1)

    def regret(self, dataset: str = "cifar10") -> np.ndarray:
        """(T+1,) anytime test regret: best test accuracy in the table minus the derived cell's."""
        return self.best_test_acc[dataset] - self.test_acc[dataset]

    def final_cell(self) -> NB201Cell:
        return NB201Cell(tuple(int(i) for i in self.probs[-1].argmax(axis=1)))

    def summary(self, delta: float = 0.05, window: int | None = None, min_max_prob: float = 0.5) -> dict:
        w = self.steps_per_epoch if window is None else int(window)
        conv = convergence_step(self.probs, delta, w)
        committed = convergence_step(self.probs, delta, w, min_max_prob)
        cell = self.final_cell()
        out = {
            "method": self.method,
            "seed": self.seed,
            "steps": self.steps,
            "epochs": self.steps / self.steps_per_epoch,
            "steps_per_epoch": self.steps_per_epoch,
            "convergence": {
                "delta": delta,
                "window_steps": w,
                "step": conv,
                "epoch": None if conv is None else conv / self.steps_per_epoch,
                "min_max_prob": min_max_prob,
                "committed_step": committed,
                "committed_epoch": None if committed is None else committed / self.steps_per_epoch,
            },
            "derived_stable_step": derived_stable_step(self.derived_index),
            "final_cell": cell.to_str(),
            "final_index": int(self.derived_index[-1]),
            "final_test_acc": {k: float(v[-1]) for k, v in self.test_acc.items()},
            "final_regret": {k: float(self.regret(k)[-1]) for k in self.test_acc},
            "final_mean_max_prob": float(self.probs[-1].max(axis=1).mean()),
            "travelled_tv": float(total_variation(self.probs[-1], self.probs[0]).max()),
            "seconds_per_epoch": float(np.mean(self.epoch_seconds)) if self.epoch_seconds else None,
            "cpu_seconds_per_epoch": (float(np.mean(self.extra["cpu_seconds_per_epoch"]))
                                      if self.extra.get("cpu_seconds_per_epoch") else None),
        }
        if self.estimator_variance:
            out["estimator_variance"] = aggregate_variance(self.estimator_variance)
        return out

    # -- storage -------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "format": "nasviz.distribution-run/1",
            "method": self.method,
            "seed": self.seed,
            "config": self.config,
            "steps_per_epoch": self.steps_per_epoch,
            "best_test_acc": self.best_test_acc,
            "epoch_seconds": self.epoch_seconds,
            "estimator_variance": self.estimator_variance,
            "extra": self.extra,
            "summary": self.summary(),
            "derived_cells": [NB201Cell(tuple(int(i) for i in p.argmax(axis=1))).to_str() for p in self.probs],
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-step arrays stored in ``history.npz``."""
        arrays = {"probs": self.probs.astype(np.float32), "derived_index": self.derived_index.astype(np.int64),
                  "train_loss": self.train_loss.astype(np.float32), "arch_loss": self.arch_loss.astype(np.float32)}
        for k, v in self.test_acc.items():
            arrays[f"test_acc__{k}"] = np.asarray(v, dtype=np.float64)
        return arrays

    def save(self, out_dir: str | Path | None = None, name: str | None = None) -> Path:
        """Write ``result.json`` + ``history.npz`` into a new run folder; returns the folder."""
        import datetime as _dt

        root = Path(out_dir) if out_dir is not None else default_runs_dir()
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        folder = root / (name or f"{self.method}-seed{self.seed}-{stamp}")
        try:
            folder.mkdir(parents=True, exist_ok=False)
        except OSError as e:
            raise NasvizError(f"cannot create the run folder {folder} ({e}); give another --out") from e
        arrays = self.arrays()
        atomic_savez(folder / "history.npz", arrays)
        atomic_write_bytes(folder / "result.json", json.dumps(_jsonable(self.to_json()), indent=1))
        return folder

    def save_to_store(self, store=None) -> int:
        """Record the finished run in the search run database (:mod:`nasviz.search.store`).

        It is stored as a complete run exactly as a background job stores one
        (:mod:`nasviz.distributions.job`): strategy ``distribution-<method>``, space ``nb201``,
        the data set, the step count as budget, the seed, one trial per step (derived cell,
        its CIFAR-10 test accuracy, the step's distribution), the summary as stats and the
        artifacts ``distribution.json`` and ``distribution-history.npz``.
        ``store`` is a :class:`~nasviz.search.store.Store` or a path (None: the default database).
        Returns the run id; :func:`load_run_from_store` reads it back.
        """
        import os as _os

        from nasviz.distributions import job as J
        from nasviz.distributions.run import search_config_from_dict
        from nasviz.search.store import RunState, Store

        st = store if isinstance(store, Store) else Store(store)
        try:
            cfg = search_config_from_dict(self.config)
            dj = J.DistributionJob(search=cfg, steps_per_epoch=self.steps_per_epoch, total_steps=self.steps,
                                   dataset=J.dataset_label(cfg.dataset),
                                   backend="inline")
            rid = J.create_run(st, dj)
            st.mark_running(rid, worker=f"inline:{_os.getpid()}")
            for trial in J.result_trials(self):
                st.add_trial(rid, trial)
            J.store_result(st, rid, self)
            info = {"derived_index": int(self.derived_index[0]), "steps_per_epoch": self.steps_per_epoch,
                    "total": self.steps, "probs": self.probs[0], "best_test_acc": self.best_test_acc}
            start = J.start_stats(info, {k: float(v[0]) for k, v in self.test_acc.items()})
            st.finish_run(rid, RunState.COMPLETE, stats=_jsonable({**start, **self.summary()}))
            return rid
        finally:
            if st is not store:
                st.close()


def aggregate_variance(entries: list[dict]) -> dict:
    """Mean over measured states of each estimator's gradient variance (trace of the 30x30 covariance)."""
    names = sorted({k for e in entries for k in e.get("trace_var", {})})
    return {
        "states": len(entries),
        "samples_per_state": entries[0].get("samples") if entries else None,
        "mean_trace_var": {n: float(np.mean([e["trace_var"][n] for e in entries if n in e["trace_var"]]))
                           for n in names},
    }


def default_runs_dir() -> Path:
    return user_dir() / "runs" / "distributions"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def load_run(folder: str | Path) -> RunResult:
    """Read a run folder written by :meth:`RunResult.save`."""
    folder = Path(folder)
    rj, hz = folder / "result.json", folder / "history.npz"
    if not rj.is_file() or not hz.is_file():
        raise DataFileError(f"{folder} is not a distribution run folder (needs result.json and history.npz)")
    try:
        meta = json.loads(rj.read_text())
        with np.load(hz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, json.JSONDecodeError) as e:
        raise DataFileError(f"run folder {folder} is unreadable ({e})") from e
    return _from_parts(meta, arrays, str(rj))


def load_run_from_store(run_id: int, store=None) -> RunResult:
    """Read a run recorded by :meth:`RunResult.save_to_store` (``store``: Store, path or None)."""
    import io

    from nasviz.search.store import Store

    st = store if isinstance(store, Store) else Store(store, create=False)
    try:
        arts = {a["name"]: a for a in st.artifacts(int(run_id))}
    finally:
        if st is not store:
            st.close()
    if "distribution.json" not in arts or "distribution-history.npz" not in arts:
        raise NasvizError(f"run {run_id} is not a distribution run (no distribution artifacts)")
    with np.load(io.BytesIO(arts["distribution-history.npz"]["data"]), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return _from_parts(arts["distribution.json"]["data"], arrays, f"run {run_id}")


def _from_parts(meta: dict, arrays: dict[str, np.ndarray], where: str) -> RunResult:
    if meta.get("format") != "nasviz.distribution-run/1":
        raise DataFileError(f"{where} is not a nasviz distribution run (format {meta.get('format')!r})")
    test_acc = {k.split("__", 1)[1]: v for k, v in arrays.items() if k.startswith("test_acc__")}
    return RunResult(
        method=meta["method"], seed=int(meta["seed"]), config=meta["config"],
        steps_per_epoch=int(meta["steps_per_epoch"]), probs=arrays["probs"].astype(np.float64),
        derived_index=arrays["derived_index"], test_acc=test_acc, best_test_acc=meta["best_test_acc"],
        train_loss=arrays["train_loss"], arch_loss=arrays["arch_loss"], epoch_seconds=meta["epoch_seconds"],
        estimator_variance=meta.get("estimator_variance", []), extra=meta.get("extra", {}),
    )
