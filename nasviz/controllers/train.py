"""Train ENAS controllers with REINFORCE on real benchmark rewards.

Three kinds (Adam & Lorraine, ``shared/papers/001_*``, Sec. 3.3):

* ``random``: the untrained controller (initialisation only);
* ``unsupervised``: REINFORCE with a moving-average baseline and an entropy bonus;
* ``supervised``: the same, plus a memory buffer of sampled architectures and a
  reconstruction loss on it, ``L = L_PG + L_Sup``.

Buffer schedule (epochs counted from 0; every count is a :class:`TrainConfig` field):

* at the start of every epoch ``e >= buffer_start_epoch`` (5: after 5 completed
  epochs) sample ``buffer_add`` (1,000) architectures from the current controller and
  append them until the buffer holds ``buffer_size`` (10,000); once full, sample
  ``buffer_replace`` (100) and write them over 100 distinct random slots;
* from epoch ``sup_start_epoch`` (10) on, every controller step adds the
  teacher-forced negative log-likelihood (mean over ``sup_batch`` = 100 random buffer
  architectures) to the policy-gradient loss.

Reward: the benchmark column given by :class:`RewardSpec` (NB201 default: validation
accuracy after 12 epochs on cifar10-valid; NB101: validation accuracy after 108
epochs), divided by 100 (accuracy in [0, 1]). Every sampled cell's reward is read
from the real table through the space's decision view (``DecisionSpace.rows``); for
NB101, sequences outside the space get ``invalid_reward`` and valid cells the table
lacks the value of the nearest table cell (:mod:`nasviz.controllers.nb101`); the
three cases are counted per epoch (``in_table``, ``mapped``, ``invalid``).

The paper states no schedule or optimiser settings, only the buffer counts above. The
other defaults are those of ENAS-pytorch (carpedm20), the PyTorch port of ENAS's PTB
search, the setting the paper analyses: 150 epochs of 2,000 controller steps, one
architecture per step, Adam lr 3.5e-4, entropy coefficient 1e-4, baseline decay 0.9,
logits ``2.5 * tanh(logits / 5)``. ENAS alternates these steps with shared-weight
training, which a tabular benchmark replaces by look-ups.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from nasviz.controllers.enas import ControllerConfig, ENASController, get_decision_space
from nasviz.errors import NasvizError

log = logging.getLogger(__name__)

#: How a sampled sequence got its reward (see ``DecisionSpace.rows``): status code -> name.
STATUS: tuple[str, ...] = ("in_table", "mapped", "invalid")
KINDS: tuple[str, ...] = ("random", "unsupervised", "supervised")


@dataclass
class RewardSpec:
    """Which benchmark column is the reward."""

    metric: str = "valid_acc"
    dataset: str = "cifar10-valid"
    epochs: int | None = 12
    column: str | None = None  # a stored column name instead of (metric, dataset, epochs)
    scale: float = 0.01  # reward = value * scale (percent -> fraction)

    @classmethod
    def default(cls, space: str = "nb201") -> "RewardSpec":
        """The default reward of a space (NB201: 12-epoch cifar10-valid; NB101: 108-epoch validation accuracy)."""
        return cls(**DEFAULT_REWARDS.get(str(space).lower(), {}))

    @classmethod
    def parse(cls, text: str | None, space: str = "nb201") -> "RewardSpec":
        """``None`` (the space's default), ``dataset:metric:epochs`` (``cifar100:valid_acc:200``) or a stored column name."""
        if text is None or str(text).strip() == "":
            return cls.default(space)
        s = str(text).strip()
        if ":" in s:
            parts = s.split(":")
            if len(parts) != 3:
                raise NasvizError(
                    f"reward column {text!r}: expected dataset:metric:epochs (e.g. cifar10-valid:valid_acc:12) "
                    "or a stored column name"
                )
            ds, metric, ep = parts
            try:
                epochs = None if ep.lower() in ("", "none") else int(ep)
            except ValueError:
                raise NasvizError(f"reward column {text!r}: epochs must be an integer; got {ep!r}") from None
            return cls(metric=metric, dataset=ds, epochs=epochs)
        return cls(column=s)

    def values(self, bench) -> np.ndarray:
        """The column in official index order (float64)."""
        if self.column is not None:
            v = bench.raw_column(self.column)
        else:
            v = bench.column(self.metric, self.dataset, self.epochs)
        v = np.asarray(v, dtype=np.float64)
        if np.isnan(v).any():
            raise NasvizError(f"reward column {self.label} has {int(np.isnan(v).sum())} missing values")
        return v

    @property
    def label(self) -> str:
        if self.column is not None:
            return self.column
        return f"{self.dataset}:{self.metric}:{self.epochs}"

    @property
    def title(self) -> str:
        """The label in words, for axis titles: ``cifar10-valid validation accuracy after 12 epochs (%)``."""
        if self.column is not None:
            return f"{self.column} (%)"
        what = {"valid_acc": "validation accuracy", "test_acc": "test accuracy",
                "train_acc": "training accuracy"}.get(self.metric, self.metric)
        when = f" after {self.epochs} epochs" if self.epochs is not None else ""
        return f"{self.dataset} {what}{when} (%)"


#: Default reward column per space (RewardSpec fields).
DEFAULT_REWARDS: dict[str, dict] = {
    "nb201": {"metric": "valid_acc", "dataset": "cifar10-valid", "epochs": 12},
    "nb101": {"metric": "valid_acc", "dataset": "cifar10", "epochs": 108},
}


@dataclass
class TrainConfig:
    kind: str = "unsupervised"  # random | unsupervised | supervised
    space: str = "nb201"
    seed: int = 0
    epochs: int = 150  # ENAS-pytorch max_epoch
    steps_per_epoch: int = 2000  # controller steps per epoch (ENAS-pytorch controller_max_step)
    batch_size: int = 1  # architectures sampled per controller step (ENAS-pytorch: 1)
    lr: float = 3.5e-4  # Adam (ENAS-pytorch controller_lr)
    entropy_coeff: float = 1e-4  # entropy bonus (ENAS-pytorch entropy_coeff)
    baseline_decay: float = 0.9  # b <- d b + (1 - d) r (ENAS-pytorch ema_baseline_decay)
    grad_clip: float = 0.0  # 0 = off (ENAS-pytorch default)
    buffer_start_epoch: int = 5  # paper: "after 5 epochs of training"
    buffer_add: int = 1000  # architectures stored per epoch while filling
    buffer_size: int = 10_000  # buffer capacity
    buffer_replace: int = 100  # architectures replaced per epoch once full
    sup_start_epoch: int = 10  # paper: "at the 10th epoch"
    sup_batch: int = 100  # buffer architectures in the reconstruction loss per step
    sup_weight: float = 1.0  # L = L_PG + sup_weight * L_Sup (paper: 1)
    invalid_reward: float = 0.0  # reward of a sampled sequence outside the space (NB101; NB201 has none)
    reward: RewardSpec | None = None  # None: the space's default (RewardSpec.default)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.reward is None:
            self.reward = RewardSpec.default(self.space)
        if isinstance(self.reward, dict):
            self.reward = RewardSpec(**self.reward)
        if isinstance(self.controller, dict):
            self.controller = ControllerConfig(**self.controller)
        if self.kind not in KINDS:
            raise NasvizError(f"unknown controller kind {self.kind!r}; accepted: {', '.join(KINDS)}")
        for name in ("epochs", "steps_per_epoch", "batch_size", "buffer_add", "buffer_size", "buffer_replace",
                     "sup_batch", "buffer_start_epoch", "sup_start_epoch"):
            if int(getattr(self, name)) < 0 or (name in ("steps_per_epoch", "batch_size") and getattr(self, name) < 1):
                raise NasvizError(f"{name} must be a positive integer; got {getattr(self, name)}")
        if self.buffer_replace > self.buffer_size:
            raise NasvizError("buffer_replace cannot exceed buffer_size")


class MemoryBuffer:
    """Fixed-capacity store of sampled decision sequences (paper Sec. 3.3)."""

    def __init__(self, capacity: int, n_decisions: int) -> None:
        self.capacity = int(capacity)
        self.data = np.zeros((self.capacity, n_decisions), dtype=np.int64)
        self.size = 0
        self.added = 0  # total rows appended while filling
        self.replaced = 0  # total rows written over once full

    def __len__(self) -> int:
        return self.size

    @property
    def full(self) -> bool:
        return self.size >= self.capacity

    def fill(self, rows: np.ndarray) -> int:
        """Append up to the free room; returns how many were stored."""
        k = min(len(rows), self.capacity - self.size)
        self.data[self.size : self.size + k] = rows[:k]
        self.size += k
        self.added += k
        return k

    def replace(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Write ``rows`` over distinct random slots; returns the slots."""
        slots = rng.choice(self.size, size=len(rows), replace=False)
        self.data[slots] = rows
        self.replaced += len(rows)
        return slots

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        idx = rng.choice(self.size, size=min(n, self.size), replace=False)
        return self.data[idx]


@dataclass
class TrainResult:
    controller: ENASController
    config: TrainConfig
    history: list[dict]  # one row per epoch
    seconds: float  # wall clock
    buffer: MemoryBuffer | None
    cpu_seconds: float = float("nan")  # CPU time of this process (wall clock is inflated on a shared machine)
    counts: dict = field(default_factory=lambda: {k: 0 for k in STATUS})  # sampled sequences per case, all epochs


def buffer_update(buffer: MemoryBuffer, epoch: int, cfg: TrainConfig, sample_fn: Callable[[int], np.ndarray],
                  rng: np.random.Generator) -> tuple[int, int]:
    """The epoch-start buffer step; returns (stored, replaced)."""
    if epoch < cfg.buffer_start_epoch:
        return 0, 0
    if not buffer.full:
        return buffer.fill(sample_fn(min(cfg.buffer_add, buffer.capacity - buffer.size))), 0
    if cfg.buffer_replace == 0:
        return 0, 0
    buffer.replace(sample_fn(cfg.buffer_replace), rng)
    return 0, cfg.buffer_replace


def make_controller(cfg: TrainConfig) -> ENASController:
    ds = get_decision_space(cfg.space)
    ccfg = cfg.controller
    ccfg.space = ds.name
    ccfg.choices = tuple(ds.choices)
    ctrl = ENASController(ccfg)
    g = torch.Generator().manual_seed(int(cfg.seed))
    ctrl.reset_parameters(generator=g)
    return ctrl


#: Training state written after every epoch (``train(state_path=...)``), read back by ``resume``.
STATE_FORMAT = "nasviz-controller-train-state"
STATE_VERSION = 1


def _save_state(path, *, cfg: TrainConfig, epoch: int, ctrl: ENASController, opt, gen: torch.Generator,
                rng: np.random.Generator, buffer: "MemoryBuffer | None", baseline: float | None, history: list[dict],
                totals: dict, seconds: float, cpu_seconds: float) -> None:
    """Everything the loop needs to continue after ``epoch`` exactly as if it had never stopped.

    Written with ``torch.save`` and read back with ``weights_only=True`` (tensors, dicts, lists and
    numbers only, no arbitrary objects), atomically, so a kill mid-write keeps the previous epoch's state.
    """
    from nasviz.fileio import save_train_state

    state = {
        "format": STATE_FORMAT, "version": STATE_VERSION, "config": config_dict(cfg), "epochs_done": int(epoch) + 1,
        "model": {k: v.detach().cpu() for k, v in ctrl.state_dict().items()}, "optimizer": opt.state_dict(),
        "gen": gen.get_state(), "rng": rng.bit_generator.state, "baseline": baseline, "history": history,
        "totals": dict(totals), "seconds": float(seconds), "cpu_seconds": float(cpu_seconds),
        "buffer": None if buffer is None else {
            "data": torch.from_numpy(buffer.data.copy()), "size": buffer.size, "added": buffer.added,
            "replaced": buffer.replaced},
    }
    save_train_state(path, state)


def read_state(path) -> dict:
    """A training state file, checked; a clear error for a missing, corrupt or foreign file."""
    from nasviz.fileio import load_train_state

    return load_train_state(path, STATE_FORMAT, STATE_VERSION, "controller")


def train(cfg: TrainConfig, bench=None, progress: Callable[[int, dict], None] | None = None, *,
          state_path=None, resume: bool = False,
          on_epoch_end: Callable[[int, "TrainResult"], None] | None = None) -> TrainResult:
    """Train one controller; deterministic for a given config (CPU).

    ``state_path``: write the full training state there after every epoch. ``resume``: continue from
    that file (its config must equal ``cfg``); the result is the same as an uninterrupted run.
    ``on_epoch_end(epoch, partial_result)``: called after each epoch (e.g. to save snapshots).
    """
    t0 = time.perf_counter()
    c0 = time.process_time()
    ds = get_decision_space(cfg.space)
    if bench is None:
        from nasviz.bench import get_benchmark

        bench = get_benchmark(cfg.space)
    bench_space = getattr(bench, "space_name", cfg.space)
    if bench_space != cfg.space:
        raise NasvizError(f"a {cfg.space} controller needs the {cfg.space} benchmark; got the {bench_space} one")
    values = torch.tensor(cfg.reward.values(bench) * cfg.reward.scale, dtype=torch.float32)
    ctrl = make_controller(cfg).to(cfg.device)
    history: list[dict] = []
    totals = {k: 0 for k in STATUS}
    if cfg.kind == "random":
        return TrainResult(ctrl, cfg, history, time.perf_counter() - t0, None, time.process_time() - c0, totals)

    gen = torch.Generator().manual_seed(int(cfg.seed) + 1)  # sampling stream
    rng = np.random.default_rng(int(cfg.seed) + 2)  # buffer stream
    opt = torch.optim.Adam(ctrl.parameters(), lr=cfg.lr)
    buffer = MemoryBuffer(cfg.buffer_size, ctrl.n_decisions) if cfg.kind == "supervised" else None
    baseline: float | None = None

    def sample_rows(n: int) -> np.ndarray:
        with torch.no_grad():
            return ctrl._run(n, None, gen).decisions.cpu().numpy()

    start, done_s, done_cpu = 0, 0.0, 0.0
    if resume:
        if state_path is None:
            raise NasvizError("resume needs the training state file (state_path)")
        state = read_state(state_path)
        want = {k: v for k, v in config_dict(cfg).items() if k != "device"}  # a run may move to a GPU
        have = {k: v for k, v in state["config"].items() if k != "device"}
        if have != want:
            diff = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
            raise NasvizError(f"training state {state_path} was made with other settings ({', '.join(diff)} differ); "
                              "resume with the same options, or train afresh without --resume")
        ctrl.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["gen"])
        rng.bit_generator.state = state["rng"]
        baseline, history, start = state["baseline"], list(state["history"]), int(state["epochs_done"])
        totals.update(state["totals"])
        done_s, done_cpu = float(state["seconds"]), float(state["cpu_seconds"])
        if buffer is not None:
            b = state["buffer"]
            buffer.data[:] = b["data"].numpy()
            buffer.size, buffer.added, buffer.replaced = int(b["size"]), int(b["added"]), int(b["replaced"])
        log.info("resumed %s at epoch %d of %d", state_path, start, cfg.epochs)

    def elapsed() -> tuple[float, float]:
        return done_s + time.perf_counter() - t0, done_cpu + time.process_time() - c0

    for epoch in range(start, cfg.epochs):
        stored = replaced = 0
        if buffer is not None:
            stored, replaced = buffer_update(buffer, epoch, cfg, sample_rows, rng)
        use_sup = buffer is not None and epoch >= cfg.sup_start_epoch and len(buffer) > 0
        sums = np.zeros(5)
        counts = np.zeros(len(STATUS), dtype=np.int64)
        for _ in range(cfg.steps_per_epoch):
            B = cfg.batch_size
            rows = torch.from_numpy(buffer.sample(cfg.sup_batch, rng)) if use_sup else None
            roll = ctrl._run(B + (0 if rows is None else rows.shape[0]), rows, gen)  # sampled rows first
            bench_rows, status = ds.rows(roll.decisions[:B].cpu().numpy(), bench)
            counts += np.bincount(status, minlength=len(STATUS))
            r = torch.where(torch.from_numpy(bench_rows >= 0),
                            values[torch.from_numpy(np.maximum(bench_rows, 0))],
                            torch.tensor(float(cfg.invalid_reward)))  # (B,)
            rm = float(r.mean())
            baseline = rm if baseline is None else cfg.baseline_decay * baseline + (1 - cfg.baseline_decay) * rm
            adv = (r - baseline).to(roll.log_probs.device)
            ent = roll.entropies[:B].mean()
            loss_pg = -(adv * roll.log_probs[:B]).mean() - cfg.entropy_coeff * ent
            loss = loss_pg
            l_sup = 0.0
            if rows is not None:
                sup = -roll.log_probs[B:].mean()  # teacher-forced NLL of buffer architectures
                loss = loss + cfg.sup_weight * sup
                l_sup = float(sup.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(ctrl.parameters(), cfg.grad_clip)
            opt.step()
            sums += (rm, float(ent.detach()), float(loss_pg.detach()), l_sup, baseline)
        row = dict(zip(("reward", "entropy", "loss_pg", "loss_sup", "baseline"), (sums / cfg.steps_per_epoch).tolist()))
        row.update(epoch=epoch, buffer=len(buffer) if buffer is not None else 0, stored=stored, replaced=replaced,
                   sup=use_sup, seconds=elapsed()[0], **{k: int(n) for k, n in zip(STATUS, counts)})
        for k, n in zip(STATUS, counts):
            totals[k] += int(n)
        history.append(row)
        log.info("epoch %d: %s", epoch, row)
        if state_path is not None:
            _save_state(state_path, cfg=cfg, epoch=epoch, ctrl=ctrl, opt=opt, gen=gen, rng=rng, buffer=buffer,
                        baseline=baseline, history=history, totals=totals, seconds=elapsed()[0],
                        cpu_seconds=elapsed()[1])
        if on_epoch_end is not None:
            secs, cpu = elapsed()
            on_epoch_end(epoch, TrainResult(ctrl, cfg, list(history), secs, buffer, cpu, dict(totals)))
        if progress is not None:
            progress(epoch, row)
    return TrainResult(ctrl, cfg, history, elapsed()[0], buffer, elapsed()[1], totals)


def config_dict(cfg: TrainConfig) -> dict:
    d = asdict(cfg)
    d["controller"]["choices"] = list(d["controller"]["choices"])
    return d


# -- shipping --------------------------------------------------------------------------
def save_result(res: TrainResult, folder) -> "Path":
    """Write the checkpoint (safetensors + config JSON + model card) of a training run."""
    from pathlib import Path

    from nasviz.controllers import io

    cfg = res.config
    last = res.history[-1] if res.history else {}
    training = {
        "seconds": round(res.seconds, 2),
        "cpu_seconds": None if res.cpu_seconds != res.cpu_seconds else round(res.cpu_seconds, 2),
        "hardware": io.hardware(),
        "final_epoch": last,
        "reward_per_epoch": [round(h["reward"], 5) for h in res.history],
        "entropy_per_epoch": [round(h["entropy"], 4) for h in res.history],
        "loss_sup_per_epoch": [round(h["loss_sup"], 4) for h in res.history],
        "buffer_per_epoch": [h["buffer"] for h in res.history],
        "buffer_replaced_total": res.buffer.replaced if res.buffer is not None else 0,
        "sampled": dict(res.counts),
        "invalid_per_epoch": [h.get("invalid", 0) for h in res.history],
        "mapped_per_epoch": [h.get("mapped", 0) for h in res.history],
        "reward_table": _table_note(cfg.space),
    }
    meta = {"kind": cfg.kind, "seed": cfg.seed, "reward": cfg.reward.label, "train": config_dict(cfg),
            "training": training}
    return io.save(res.controller, Path(folder), meta, model_card(cfg, training))


def _table_note(space: str) -> str:
    if space == "nb101":
        from nasviz.bench import get_benchmark

        b = get_benchmark("nb101")
        kind = "imported official NAS-Bench-101 table (all cells)" if b.meta.get("kind") == "official" else \
            "embedded real 30,001-cell NAS-Bench-101 sample (`data/nb101/nb101_sample.npz`, see `data/nb101/SOURCE.md`)"
        return f"{kind}, {len(b):,} cells with results"
    return "embedded real NAS-Bench-201 table (`data/nb201/nb201.npz`, see `data/nb201/SOURCE.md`)"


def model_card(cfg: TrainConfig, training: dict) -> str:
    c = cfg.controller
    what = {
        "random": "the untrained controller: initialisation only (uniform(-0.1, 0.1) weights, zero head biases). "
                  "It is the paper's *random* baseline.",
        "unsupervised": "REINFORCE only (policy gradient with a moving-average baseline and an entropy bonus).",
        "supervised": "REINFORCE plus the paper's memory buffer and reconstruction loss, L = L_PG + L_Sup.",
    }[cfg.kind]
    lines = [
        f"# {cfg.space}-controller-{cfg.kind} (seed {cfg.seed})",
        "",
        f"ENAS-style LSTM controller for the {cfg.space.upper()} space, {what}",
        "Study: Adam & Lorraine, *Understanding Neural Architecture Search Techniques* (paper 001); "
        "controller: Pham et al., ENAS (2018). Code: `nasviz/controllers/`.",
        "",
        "## Data and reward",
        f"- Reward: benchmark column `{cfg.reward.label}` x {cfg.reward.scale} "
        "(defaults: NB201 validation accuracy after 12 epochs on cifar10-valid, NB101 validation accuracy after "
        f"108 epochs), read from nasviz's {training.get('reward_table') or _table_note(cfg.space)}.",
        "- No images are used: every sampled cell's reward is a table look-up.",
    ]
    if cfg.space == "nb101" and cfg.kind != "random":
        cnt = training.get("sampled") or {}
        n = sum(cnt.values()) or 1
        lines += [
            f"- Sequences outside the space (no input -> output path, > 9 edges after pruning) get reward "
            f"{cfg.invalid_reward}; valid cells the table lacks get the value of the nearest table cell (Hamming "
            "distance of the canonical 26-decision sequences); see `nasviz/controllers/nb101.py`.",
            f"- Sampled during training: {cnt.get('in_table', 0):,} in the table ({100 * cnt.get('in_table', 0) / n:.1f}%), "
            f"{cnt.get('mapped', 0):,} mapped to the nearest table cell ({100 * cnt.get('mapped', 0) / n:.1f}%), "
            f"{cnt.get('invalid', 0):,} outside the space ({100 * cnt.get('invalid', 0) / n:.1f}%)"
            + (f"; last epoch: {training['final_epoch'].get('in_table', 0)} / {training['final_epoch'].get('mapped', 0)}"
               f" / {training['final_epoch'].get('invalid', 0)}" if training.get("final_epoch") else "") + ".",
        ]
    lines += [
        "",
        "## Model",
        f"- One `LSTMCell`, hidden {c.hidden_size}, embeddings {c.embed_size}, learned start token; "
        f"{len(c.choices)} decisions with {list(c.choices)} options; logits = {c.tanh_c} * tanh(logits / {c.temperature}).",
        "- Final hidden state h(A): the LSTM state after reading the last decision (the latent code).",
        "",
        "## Training hyper-parameters",
    ]
    if cfg.kind == "random":
        lines.append(f"- none (seed {cfg.seed} only sets the initialisation)")
    else:
        lines += [
            f"- epochs {cfg.epochs} x {cfg.steps_per_epoch} controller steps, {cfg.batch_size} architecture(s) "
            f"per step; Adam lr {cfg.lr}; entropy coefficient {cfg.entropy_coeff}; baseline decay {cfg.baseline_decay}; "
            f"grad clip {cfg.grad_clip or 'off'}; seed {cfg.seed}",
        ]
        if cfg.kind == "supervised":
            lines += [
                f"- memory buffer: from epoch {cfg.buffer_start_epoch} (0-based) store {cfg.buffer_add} sampled "
                f"architectures per epoch up to {cfg.buffer_size}, then replace {cfg.buffer_replace} at random per "
                f"epoch; from epoch {cfg.sup_start_epoch} add the teacher-forced NLL of {cfg.sup_batch} random buffer "
                f"architectures (weight {cfg.sup_weight}) at every step",
            ]
        fe = training.get("final_epoch", {})
        lines += [
            "",
            "## Result of training",
            f"- last epoch: mean reward {fe.get('reward', float('nan')):.4f}, mean entropy of a sampled cell "
            f"{fe.get('entropy', float('nan')):.3f} nats (uniform: {sum(np.log(k) for k in c.choices):.3f})"
            + (f", reconstruction NLL {fe.get('loss_sup', 0):.3f}" if cfg.kind == "supervised" else ""),
        ]
    lines += [
        "",
        "## Training time and hardware",
        f"- {training['seconds']:.1f} s wall clock"
        + (f" ({training['cpu_seconds']:.1f} s CPU time)" if training.get("cpu_seconds") is not None else "")
        + f" on {training['hardware']} (shared machine; niced)",
        "",
        "## Reproduce",
        f"`nasviz controller train --space {cfg.space} --kind {cfg.kind} --seed {cfg.seed} --epochs {cfg.epochs} "
        f"--steps-per-epoch {cfg.steps_per_epoch} --reward-column {cfg.reward.label}`",
        "",
        "Load with `nasviz.controllers.io.load(folder)` (safetensors + JSON; nothing is unpickled).",
        "",
    ]
    return "\n".join(lines)
