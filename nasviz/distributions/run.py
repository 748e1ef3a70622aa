"""Run one architecture-distribution search: data, supernet, learner, per-step records.

>>> from nasviz.distributions.run import SearchConfig, run_search
>>> result = run_search(SearchConfig(method="vimnas", seed=0, epochs=2))   # doctest: +SKIP
>>> result.summary()["final_cell"], result.regret("cifar10")[-1]          # doctest: +SKIP

Every step records the learner's per-edge op probabilities, the derived (argmax)
cell and that cell's real NB201 200-epoch test accuracies (CIFAR-10, CIFAR-100,
ImageNet16-120) from the benchmark table, so the anytime test regret is
``best accuracy in the table - derived cell's accuracy``. UNAS runs additionally
freeze the state at ``variance_points`` evenly spaced steps and draw
``variance_samples`` gradients of each estimator on the same batch and the same
Gumbel noise (paired), recording the trace of each estimator's covariance.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from nasviz.distributions.learners import METHODS, Batch, LearnerConfig, UNASLearner, VIMNASLearner, parse_method
from nasviz.distributions.results import DATASET_KEYS, RunResult, mutual_information
from nasviz.distributions.supernet import NB201Supernet, SupernetConfig, load_search_data, pick_device
from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import NB201Cell

log = logging.getLogger(__name__)

#: Estimators whose variance UNAS runs measure: L_d (Eq. 8 loss) and L_n (FLOPs).
VARIANCE_ESTIMATORS: tuple[str, ...] = ("d:reinforce", "d:gumbel", "d:rebar", "n:reinforce", "n:gumbel", "n:relax")


@dataclass
class SearchConfig:
    method: str = "darts"  # one of METHODS
    seed: int = 0
    epochs: int = 10
    dataset: str = "digits"  # "digits" or a CIFAR-10 python-version folder
    batch_size: int = 64
    w_lr: float = 0.05  # SGD for supernet weights, cosine-annealed to w_lr_min
    w_lr_min: float = 1e-3
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    channels: int = 8  # supernet width C
    cells_per_stage: int = 1  # supernet depth N (3N search cells)
    image_size: int = 8
    val_fraction: float = 0.5
    max_images: int | None = 5000  # CIFAR-10 folders only
    max_steps: int | None = None  # stop after this many steps (tests, quick looks)
    variance_points: int = 4  # UNAS: states at which estimator variance is measured (0: none)
    variance_samples: int = 8  # UNAS: gradients per estimator and state (network-loss estimators)
    variance_samples_flops: int = 2000  # UNAS: gradients per state for the FLOPs estimators (no network)
    flops_variance_every_step: int = 500  # UNAS: samples for the FLOPs-estimator variance recorded at every step (0: off)
    mi_samples: int = 20_000  # cells sampled at the end for the edge mutual-information matrix
    device: str = "auto"
    learner: LearnerConfig = field(default_factory=LearnerConfig)

    def validate(self) -> None:
        self.method = parse_method(self.method)
        self.learner.validate()
        for name in ("epochs", "batch_size", "channels", "cells_per_stage"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise NasvizError(f"{name} must be a positive integer; got {v!r}")
        if self.max_steps is not None and self.max_steps < 1:
            raise NasvizError(f"max_steps must be a positive integer; got {self.max_steps}")
        if self.variance_points < 0 or self.variance_samples < 2:
            raise NasvizError("variance_points must be >= 0 and variance_samples >= 2")


def plan_steps(cfg: SearchConfig, data) -> tuple[int, int]:
    """``(steps per epoch, total steps)`` of a run on ``data`` (a :class:`SearchData`)."""
    n = min(len(data.x_train), len(data.x_val))
    steps_per_epoch = n // cfg.batch_size
    if steps_per_epoch < 1:
        raise NasvizError(f"batch_size {cfg.batch_size} is larger than the {n} images per split")
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    return steps_per_epoch, total


def search_config_from_dict(d: dict) -> SearchConfig:
    """Rebuild a :class:`SearchConfig` from ``asdict(cfg)`` (as stored in JSON)."""
    d = dict(d)
    lc = {k: (tuple(v) if k == "arch_betas" else v) for k, v in dict(d.pop("learner", {}) or {}).items()
          if k in LearnerConfig.__dataclass_fields__}
    return SearchConfig(**{k: v for k, v in d.items() if k in SearchConfig.__dataclass_fields__},
                        learner=LearnerConfig(**lc))


def _trace_var(g: torch.Tensor) -> float:
    return float(g.double().var(dim=0, unbiased=True).sum())


def run_search(cfg: SearchConfig, *, bench=None, on_step: Callable[[int, int, dict], None] | None = None,
               on_start: Callable[[dict], None] | None = None) -> RunResult:
    """Train the supernet and the method's distribution; return the per-step record.

    ``on_start(info)`` is called once before the first step with ``total`` steps,
    ``steps_per_epoch``, the initial ``probs`` (6, 5) and ``derived_index``;
    ``on_step(step, total, info)`` after every step with ``epoch``, ``train_loss``,
    ``arch_loss``, ``cell`` (official index of the derived cell) and ``probs`` (6, 5).
    Either may raise to stop the run (the background job's cancel does).
    """
    cfg.validate()
    if bench is None:
        from nasviz.bench.nb201 import NB201Benchmark

        bench = NB201Benchmark()
    device = pick_device(cfg.device)
    data = load_search_data(cfg.dataset, cfg.seed, image_size=cfg.image_size, val_fraction=cfg.val_fraction,
                            max_images=cfg.max_images).to(device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    var_gen = torch.Generator().manual_seed(cfg.seed + 104729)  # measurements only: the run is the same without them
    net = NB201Supernet(SupernetConfig(cfg.channels, cfg.cells_per_stage, data.in_channels,
                                       data.num_classes)).to(device)
    n_tr, n_va = len(data.x_train), len(data.x_val)
    steps_per_epoch, total = plan_steps(cfg, data)
    cls = METHODS[cfg.method]
    kwargs = {"bench": bench} if cls is UNASLearner else {}
    learner = cls(net, cfg.learner, gen, total, device, **kwargs)
    w_opt = torch.optim.SGD(net.parameters(), lr=cfg.w_lr, momentum=cfg.w_momentum, weight_decay=cfg.w_weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, T_max=total, eta_min=cfg.w_lr_min)

    acc_cols = {k: np.asarray(bench.column("test", k, 200), dtype=np.float64) for k in DATASET_KEYS}
    best = {k: float(np.nanmax(v)) for k, v in acc_cols.items()}
    space = bench.space

    probs = [learner.probs()]
    derived = [space.index(learner.derived())]
    train_loss, arch_loss, epoch_seconds, epoch_cpu_seconds, variances = [], [], [], [], []
    var_steps = set()
    step_var: dict[str, list[float]] = {}
    if isinstance(learner, UNASLearner) and cfg.variance_points > 0:
        var_steps = {int(round(i * (total - 1) / max(1, cfg.variance_points - 1))) for i in range(cfg.variance_points)}

    if on_start is not None:
        on_start({"total": total, "steps_per_epoch": steps_per_epoch, "probs": probs[0],
                  "derived_index": int(derived[0]), "best_test_acc": best})
    step = 0
    net.train()
    for epoch in range(math.ceil(total / steps_per_epoch)):
        perm_t = torch.randperm(n_tr, generator=gen).to(device)
        perm_v = torch.randperm(n_va, generator=gen).to(device)
        t0, c0 = time.perf_counter(), time.process_time()
        paused = paused_cpu = 0.0
        for b in range(steps_per_epoch):
            if step >= total:
                break
            it, iv = perm_t[b * cfg.batch_size:(b + 1) * cfg.batch_size], perm_v[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            batch = Batch(data.x_train[it], data.y_train[it], data.x_val[iv], data.y_val[iv])
            if step in var_steps:
                tv, cv = time.perf_counter(), time.process_time()
                variances.append(_measure_variance(learner, batch, cfg, step, var_gen))
                paused += time.perf_counter() - tv
                paused_cpu += time.process_time() - cv
            if isinstance(learner, UNASLearner) and cfg.flops_variance_every_step > 1:
                # the FLOPs term needs no network pass, so its estimators' variance is cheap at every step
                tv, cv = time.perf_counter(), time.process_time()
                gn, _ = learner.estimator_grads(batch, cfg.flops_variance_every_step,
                                                tuple(n for n in VARIANCE_ESTIMATORS if n.startswith("n:")), var_gen)
                for k, v in gn.items():
                    step_var.setdefault(k, []).append(_trace_var(v))
                paused += time.perf_counter() - tv
                paused_cpu += time.process_time() - cv
            info = learner.step(batch, w_opt)
            sched.step()
            probs.append(learner.probs())
            derived.append(space.index(learner.derived()))
            train_loss.append(info.train_loss)
            arch_loss.append(info.arch_loss)
            step += 1
            if on_step is not None:
                on_step(step, total, {"epoch": epoch, "train_loss": info.train_loss, "arch_loss": info.arch_loss,
                                      "cell": int(derived[-1]), "probs": probs[-1]})
        if step > 0:
            epoch_seconds.append(time.perf_counter() - t0 - paused)
            epoch_cpu_seconds.append(time.process_time() - c0 - paused_cpu)
        log.info("%s seed %d epoch %d: %.1fs, train loss %.3f", cfg.method, cfg.seed, epoch, epoch_seconds[-1],
                 train_loss[-1])
        if step >= total:
            break

    p = np.stack(probs)
    d = np.asarray(derived, dtype=np.int64)
    extra: dict = {"data": data.describe(), "device": str(device),
                   "supernet_params": int(sum(q.numel() for q in net.parameters()))}
    if cfg.mi_samples > 1:
        mgen = torch.Generator().manual_seed(cfg.seed + 7919)
        extra["mutual_information"] = {"as_trained": mutual_information(learner.sample_ops(cfg.mi_samples, mgen))}
        if isinstance(learner, VIMNASLearner):
            other = "resample" if cfg.learner.vim_eps == "fixed" else "fixed"
            extra["mutual_information"][f"eps_{other}"] = mutual_information(
                learner.sample_ops(cfg.mi_samples, mgen, eps=other))
        extra["mi_samples"] = cfg.mi_samples
    if isinstance(learner, UNASLearner):
        extra["flops_surrogate_r2"] = learner.flops.r2
        if step_var:
            extra["flops_estimator_trace_var_per_step"] = step_var  # name -> (T,), state before each step
    if epoch_seconds and step % steps_per_epoch:
        # the last epoch was partial (max_steps): scale its time to a full epoch
        epoch_seconds[-1] *= steps_per_epoch / (step % steps_per_epoch)
        epoch_cpu_seconds[-1] *= steps_per_epoch / (step % steps_per_epoch)
    extra["cpu_seconds_per_epoch"] = epoch_cpu_seconds
    extra["torch_threads"] = torch.get_num_threads()
    return RunResult(
        method=cfg.method, seed=cfg.seed, config=asdict(cfg), steps_per_epoch=steps_per_epoch, probs=p,
        derived_index=d, test_acc={k: v[d] for k, v in acc_cols.items()}, best_test_acc=best,
        train_loss=np.asarray(train_loss), arch_loss=np.asarray(arch_loss), epoch_seconds=epoch_seconds,
        estimator_variance=variances, extra=extra,
    )


def _measure_variance(learner: UNASLearner, batch: Batch, cfg: SearchConfig, step: int,
                      generator: torch.Generator) -> dict:
    """Paired estimator gradients on one frozen state; returns the trace of each covariance."""
    d_names = tuple(n for n in VARIANCE_ESTIMATORS if n.startswith("d:"))
    n_names = tuple(n for n in VARIANCE_ESTIMATORS if n.startswith("n:"))
    gd, _ = learner.estimator_grads(batch, cfg.variance_samples, d_names, generator)
    gn, _ = learner.estimator_grads(batch, cfg.variance_samples_flops, n_names, generator)
    grads = {**gd, **gn}
    return {
        "step": step,
        "samples": {"d": cfg.variance_samples, "n": cfg.variance_samples_flops},
        "trace_var": {k: _trace_var(v) for k, v in grads.items()},
        "mean_grad_norm": {k: float(v.double().mean(0).norm()) for k, v in grads.items()},
    }


def describe_cell(index: int, bench) -> str:
    return NB201Cell.to_str(bench.space.cell(index))
