"""The estimator shell every latent model shares: config, seeded training loop, save/load.

A subclass provides ``kind``, ``Config`` (a dataclass), ``_build(config) -> nn.Module``
and the model-specific ``fit``/``transform``/``latent``/``decode``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from nasviz.errors import NasvizError
from nasviz.models._checkpoint import Checkpoint, load_weights, model_card, write_checkpoint
from nasviz.models._common import NotFittedError, resolve_device

log = logging.getLogger(__name__)


def _config_from_dict(cls, d: dict):
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise NasvizError(f"unknown {cls.__name__} fields: {', '.join(unknown)}; accepted: {', '.join(names)}")
    kw = {}
    for k, v in d.items():
        default = names[k].default
        kw[k] = tuple(v) if isinstance(default, tuple) and isinstance(v, list) else v
    return cls(**kw)


#: Training state written after every epoch (``state_path``), read back by ``resume``.
STATE_FORMAT = "nasviz-latent-train-state"
STATE_VERSION = 1


def _jsonable(d: dict) -> dict:
    """A config dict as JSON would give it back (tuples become lists), so saved and live configs compare."""
    import json

    return json.loads(json.dumps(d))


def read_train_state(path, kind: str | None = None) -> dict:
    """A latent model's training state, checked: a clear error for a missing, corrupt or foreign file, or (``kind``)
    the state of another kind of model. Read with ``weights_only=True``: nothing in it can run code."""
    from nasviz.errors import DataFileError
    from nasviz.fileio import load_train_state

    st = load_train_state(path, STATE_FORMAT, STATE_VERSION, "latent-model")
    if kind is not None and st.get("kind") != kind:
        raise DataFileError(f"{path} is the training state of a {st.get('kind')} model, not of a {kind}")
    return st


def hardware() -> str:
    import torch

    from nasviz.machine import cpu_name

    cpu = cpu_name()
    try:
        load = f"; machine load average {os.getloadavg()[1]:.1f} on {os.cpu_count()} cores (shared)"
    except OSError:
        load = ""
    return f"{cpu}; torch {torch.__version__}; {torch.get_num_threads()} thread(s){load}"


class TorchEncoder:
    """Base class: stores a config; ``fit`` sets ``model_``, ``history_``, ``fit_seconds_``."""

    kind: str = ""
    Config: type = object

    def __init__(self, config=None, *, device: str = "cpu", progress: bool = False, **overrides) -> None:
        cfg = config if config is not None else self.Config()
        if overrides:
            try:
                cfg = dataclasses.replace(cfg, **overrides)
            except TypeError as e:
                raise NasvizError(f"{self.Config.__name__}: {e}") from None
        self.config = cfg
        self.device = device
        self.progress = progress
        self.state_path: Path | None = None  # write the training state here after every epoch (resumable)
        self.resume = False  # continue from state_path
        self.epoch_hook: Callable | None = None  # called as hook(epoch, model) after every epoch; results kept
        self._prior_seconds = 0.0

    # -- sklearn-ish --------------------------------------------------------------------
    @property
    def space(self) -> str:
        return self.config.space

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(cells) first, or load a trained one with "
                "nasviz.models.load_model(folder)"
            )

    def _build(self, config):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- training ----------------------------------------------------------------------
    def _train_loop(self, model, n: int, step: Callable, *, epochs: int, batch_size: int, lr: float, seed: int,
                    desc: str, lr_final: float | None = None, grad_clip: float | None = None) -> list[float]:
        """Adam over ``epochs`` passes of seeded mini-batches; ``step(idx, gen) -> loss`` (a scalar tensor).
        ``lr_final``: cosine-anneal the learning rate from ``lr`` to it over all steps (None: constant).
        ``grad_clip``: clip the global gradient norm at it (None: no clipping).

        With ``self.state_path`` set, the full training state (weights, Adam, scheduler, every RNG, the
        history) is written there after each epoch; with ``self.resume`` the loop continues from that
        file, and the result is the same as an uninterrupted run. ``self.step_`` counts optimizer steps
        (a step function may read it, e.g. for a KL warm-up); ``self.epoch_cpu_seconds_`` records the
        process CPU time of each epoch."""
        import torch
        from tqdm.auto import tqdm

        dev = torch.device(self.device)
        gen = torch.Generator(device=dev).manual_seed(int(seed) + 1)
        order_gen = torch.Generator().manual_seed(int(seed) + 2)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        history: list[float] = []
        n_batches = (n + batch_size - 1) // batch_size
        if lr_final is not None and not 0 <= lr_final <= lr:
            raise NasvizError(f"lr_final must be in [0, lr={lr}]; got {lr_final}")
        if grad_clip is not None and not (math.isfinite(grad_clip) and grad_clip > 0):
            raise NasvizError(f"grad_clip must be a positive finite number; got {grad_clip}")
        sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * n_batches), eta_min=lr_final)
                 if lr_final is not None else None)
        self.step_ = 0
        self.epoch_cpu_seconds_ = []
        self.epoch_metrics_: list = []  # what ``self.epoch_hook(epoch, model)`` returned after each epoch
        start = 0
        state_path = getattr(self, "state_path", None)
        if state_path is not None and getattr(self, "resume", False):
            st = read_train_state(state_path, self.kind)
            now = _jsonable(dataclasses.asdict(self.config))
            # a state written before a config field existed holds that field's default (e.g. arch2vec's mmd_weight)
            added = {f.name: f.default for f in dataclasses.fields(self.config)
                     if f.name not in st["config"] and f.default is not dataclasses.MISSING}
            then = {**_jsonable(added), **st["config"]}
            if then != now or st["n"] != n:
                raise NasvizError(f"{state_path} was written by another training run (its config or training set "
                                  "differs); resume with the same options, or train afresh without --resume")
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["optimizer"])
            if sched is not None:
                sched.load_state_dict(st["scheduler"])
            gen.set_state(st["gen"])
            order_gen.set_state(st["order_gen"])
            torch.set_rng_state(st["torch_rng"])
            history = list(st["history"])
            self.epoch_metrics_ = list(st.get("epoch_metrics", []))
            self.step_ = int(st["steps"])
            self.epoch_cpu_seconds_ = list(st["epoch_cpu_seconds"])
            self._prior_seconds = float(st["seconds"])
            start = int(st["epochs_done"])
            log.info("%s: resuming after epoch %d/%d from %s", desc, start, epochs, state_path)
        t_run = time.perf_counter()
        bar = tqdm(total=epochs * n_batches, initial=start * n_batches, desc=desc, disable=not self.progress,
                   unit="batch", mininterval=0.5)
        for epoch in range(start, epochs):
            c0 = time.process_time()
            model.train()
            perm = torch.randperm(n, generator=order_gen)
            total = 0.0
            for b in range(n_batches):
                idx = perm[b * batch_size:(b + 1) * batch_size]
                if len(idx) < 2:  # BatchNorm needs two samples
                    continue
                self.step_ += 1
                loss = step(idx.to(dev), gen)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                opt.step()
                if sched is not None:
                    sched.step()
                total += float(loss.detach()) * len(idx)
                bar.update(1)
            history.append(total / n)
            self.epoch_cpu_seconds_.append(round(time.process_time() - c0, 2))
            hook = getattr(self, "epoch_hook", None)
            if hook is not None:  # e.g. held-out reconstruction after every epoch (uses no RNG)
                model.eval()
                self.epoch_metrics_.append(hook(epoch, model))
            bar.set_postfix(epoch=epoch + 1, loss=f"{history[-1]:.4f}")
            log.info("%s epoch %d/%d loss %.5f", desc, epoch + 1, epochs, history[-1])
            if state_path is not None:
                from nasviz.fileio import save_train_state

                state = {"format": STATE_FORMAT, "version": STATE_VERSION, "kind": self.kind,
                         "config": _jsonable(dataclasses.asdict(self.config)), "n": int(n), "epochs_done": epoch + 1,
                         "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                         "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched is not None else None,
                         "gen": gen.get_state(), "order_gen": order_gen.get_state(), "torch_rng": torch.get_rng_state(),
                         "history": history, "epoch_metrics": self.epoch_metrics_, "steps": self.step_, "epoch_cpu_seconds": self.epoch_cpu_seconds_,
                         "seconds": self._prior_seconds + time.perf_counter() - t_run}
                save_train_state(state_path, state)
        bar.close()
        model.eval()
        return history

    def _start_fit(self):
        import torch

        self.device = resolve_device(self.device)
        self._prior_seconds = 0.0  # training time of earlier sessions, when resumed
        torch.manual_seed(int(self.config.seed))
        model = self._build(self.config).to(self.device)
        return model, time.perf_counter()

    # -- checkpoints -------------------------------------------------------------------
    def _state(self) -> dict:
        return {}

    def _set_state(self, state: dict) -> None:
        pass

    def save(self, folder: str | Path, *, title: str | None = None, info: dict | None = None) -> Path:
        """Write ``model.safetensors`` + ``config.json`` + ``README.md`` into ``folder``."""
        self._check_fitted()
        info = dict(info or {})
        info.setdefault("training", {})
        cpu = list(getattr(self, "epoch_cpu_seconds_", []) or [])
        info["training"] = {"fit seconds": round(getattr(self, "fit_seconds_", 0.0), 1),
                            "epochs": self.config.epochs,
                            **({"CPU seconds per epoch (median, process time)": round(float(np.median(cpu)), 1),
                                "CPU seconds per epoch": cpu} if cpu else {}),
                            "final loss": round(self.history_[-1], 5) if getattr(self, "history_", None) else None,
                            "device": self.device, **info["training"]}
        info.setdefault("hardware", hardware())
        ckpt = Checkpoint(kind=self.kind, space=self.space, config=dataclasses.asdict(self.config),
                          state=self._state(), tensors=dict(self.model_.state_dict()), info=info)
        return write_checkpoint(folder, ckpt, model_card(title or f"{self.kind} on {self.space}", info, ckpt.config))

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, device: str = "cpu"):
        from nasviz.errors import DataFileError

        try:
            cfg = _config_from_dict(cls.Config, ckpt.config)
        except (NasvizError, TypeError) as e:
            raise DataFileError(f"config in {ckpt.folder} does not describe a {cls.kind} model ({e})") from e
        est = cls(cfg, device=resolve_device(device))
        model = est._build(cfg)
        load_weights(model, ckpt.tensors, ckpt.folder)
        est.model_ = model.to(est.device).eval()
        try:
            est._set_state(ckpt.state)
        except (KeyError, TypeError, ValueError) as e:
            raise DataFileError(f"fitted state in {ckpt.folder}/config.json is incomplete ({e})") from e
        est.history_ = []
        est.info_ = ckpt.info
        est.folder_ = ckpt.folder
        return est

    # -- helpers -----------------------------------------------------------------------
    def _tensor(self, a: np.ndarray, dtype=None):
        import torch

        return torch.as_tensor(a, dtype=dtype, device=self.device)
