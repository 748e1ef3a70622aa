"""Architecture-distribution learners that share one NB201 supernet.

Every learner owns the parameters of a distribution over the ``(6 edges, 5 ops)``
NB201 cell and does one alternating step: network weights ``theta`` on a
search-train batch, then the distribution on a search-val batch (first order, no
unrolling). It reports its current per-edge op probabilities ("anytime
architectural weights", VIM-NAS Fig. 2/6/7) and can sample cells for dependence
measurements.

* ``darts`` — DARTS (Liu et al., ICLR 2019), first order: independent edges,
  ``w_e = softmax(alpha_e)``, the mixed op is the expectation under ``w``.
* ``gumbel`` — GDAS (Dong & Yang, CVPR 2019) style Gumbel-Softmax: a hard
  one-hot sample per edge in the forward pass, the straight-through soft sample
  ``softmax((alpha + G) / tau)`` in the backward pass, ``tau`` annealed 10 -> 0.1.
* ``vimnas`` — VIM-NAS (Wang et al., ICCV 2021, Algorithm 1): an architecture
  network ``phi`` = ConvReLUBN(3, 14, 3) - ConvReLUBN(14, 1, 3) maps a fixed
  Gaussian noise map ``eps`` (3 x 6 x 5) to logits; each step draws
  ``xi ~ N(0, 1)`` and uses ``A = phi(eps) + xi``, mixing ops with ``softmax(A)``;
  theta and phi are updated alternately on ``-log q_theta(D | A)`` (cross-entropy).
  Its op probabilities are ``softmax(phi(eps))``. BN in ``phi`` normalises each
  noise map over its 6 x 5 positions (one map per step = a batch of one).
* ``unas`` — UNAS (Vahdat et al., CVPR 2020): independent categorical edges,
  objective Eq. 8 ``L_train + lambda |L_val - L_train|`` (differentiable part) plus
  ``lat_weight * FLOPs(z) / max FLOPs`` (non-differentiable: the sampled cell's
  NB201 CIFAR-10 FLOPs from the benchmark table), gradient by ``estimator``:
  ``rebar`` (REBAR Eq. 3 for L_d + RELAX Eq. 5 for FLOPs with a linear surrogate
  g fitted on 10,000 random cells), ``reinforce`` (moving-average baseline for
  both), or ``gumbel`` (Gumbel-Softmax for L_d, ``g(zeta)`` for FLOPs; biased).
  Weights theta are trained on discrete samples (Eq. 7).

:data:`METHODS` maps a name to its class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from nasviz.distributions import estimators as est
from nasviz.distributions.supernet import NB201Supernet
from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import N_EDGES, N_OPS, NB201Cell


@dataclass
class LearnerConfig:
    """Hyper-parameters of the distribution learners (shared so methods are comparable)."""

    arch_lr: float = 3e-3  # Adam learning rate of alpha / phi, every method
    arch_betas: tuple[float, float] = (0.5, 0.999)  # DARTS's Adam betas
    arch_weight_decay: float = 1e-3  # DARTS's alpha weight decay
    tau_start: float = 10.0  # GDAS temperature, annealed linearly ...
    tau_end: float = 0.1  # ... to this at the last step
    vim_eps: str = "fixed"  # VIM-NAS input noise: "fixed" (Algorithm 1) or "resample" (fresh each step)
    lam: float = 0.5  # UNAS Eq. 8 lambda (generalization gap weight)
    lat_weight: float = 0.05  # UNAS weight of FLOPs(z) / max FLOPs, the non-differentiable term
    estimator: str = "rebar"  # UNAS: rebar (REBAR + RELAX), reinforce, gumbel
    rebar_tau: float = 0.5  # UNAS temperature of zeta, zeta~ (0.5 gave RELAX the lowest FLOPs-gradient variance of 0.1..2)
    baseline_decay: float = 0.9  # UNAS REINFORCE moving-average baseline
    surrogate_samples: int = 10_000  # UNAS: random cells to fit the linear FLOPs surrogate g

    def validate(self) -> None:
        if not (isinstance(self.lam, (int, float)) and math.isfinite(self.lam)) or self.lam < 0:
            raise NasvizError(f"lambda (UNAS generalization-gap weight, Eq. 8) must be >= 0; got {self.lam}")
        if self.estimator not in UNAS_ESTIMATORS:
            raise NasvizError(f"unknown UNAS estimator {self.estimator!r}; accepted: {', '.join(UNAS_ESTIMATORS)}")
        if self.vim_eps not in ("fixed", "resample"):
            raise NasvizError(f"unknown VIM-NAS noise mode {self.vim_eps!r}; accepted: fixed, resample")
        if self.arch_lr <= 0:
            raise NasvizError(f"arch_lr must be positive; got {self.arch_lr}")
        if self.lat_weight < 0:
            raise NasvizError(f"lat_weight must be >= 0; got {self.lat_weight}")
        if not (self.tau_start > 0 and self.tau_end > 0 and self.rebar_tau > 0):
            raise NasvizError("temperatures must be positive")


UNAS_ESTIMATORS: tuple[str, ...] = ("rebar", "reinforce", "gumbel")


@dataclass
class Batch:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


@dataclass
class StepInfo:
    """What one step reports beyond the probabilities."""

    train_loss: float
    arch_loss: float
    extra: dict = field(default_factory=dict)


class Learner:
    """Base class: a distribution over NB201 cells, trained jointly with a supernet."""

    name = "base"

    def __init__(self, net: NB201Supernet, cfg: LearnerConfig, generator: torch.Generator, total_steps: int,
                 device: torch.device) -> None:
        cfg.validate()
        self.net = net
        self.cfg = cfg
        self.gen = generator
        self.total_steps = max(1, int(total_steps))
        self.device = device
        self.step_count = 0

    # -- the distribution ------------------------------------------------------------
    def arch_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError

    def _make_optimizer(self) -> None:
        self.arch_opt = torch.optim.Adam(self.arch_parameters(), lr=self.cfg.arch_lr, betas=self.cfg.arch_betas,
                                         weight_decay=self.cfg.arch_weight_decay)

    def logits(self) -> torch.Tensor:
        """(6, 5) logits whose per-edge softmax is :meth:`probs`."""
        raise NotImplementedError

    @torch.no_grad()
    def probs(self) -> np.ndarray:
        """(6, 5) per-edge op probabilities; rows sum to 1."""
        return torch.softmax(self.logits().double(), dim=-1).cpu().numpy()

    def derived(self) -> NB201Cell:
        """The argmax cell."""
        return NB201Cell(tuple(int(i) for i in self.probs().argmax(axis=1)))

    @torch.no_grad()
    def sample_ops(self, n: int, generator: torch.Generator) -> np.ndarray:
        """(n, 6) op indices drawn from the learned distribution (independent edges by default)."""
        p = torch.as_tensor(self.probs(), dtype=torch.float64)
        return torch.multinomial(p, n, replacement=True, generator=generator).T.numpy()

    # -- one step ----------------------------------------------------------------------
    def theta_weights(self) -> torch.Tensor:
        """(6, 5) weights (no grad) for the network-weight step."""
        raise NotImplementedError

    def arch_step(self, batch: Batch) -> tuple[float, dict]:
        raise NotImplementedError

    def step(self, batch: Batch, w_opt: torch.optim.Optimizer) -> StepInfo:
        """One alternating update: theta on the train batch, then the distribution on the val batch."""
        w = self.theta_weights()
        loss = F.cross_entropy(self.net(batch.x_train, w), batch.y_train)
        w_opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
        w_opt.step()
        arch_loss, extra = self.arch_step(batch)
        self.step_count += 1
        return StepInfo(float(loss.detach()), float(arch_loss), extra)

    def _ce(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.net(x, w), y)


class DARTSLearner(Learner):
    name = "darts"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        init = 1e-3 * torch.randn(N_EDGES, N_OPS, generator=self.gen)
        self.alpha = nn.Parameter(init.to(self.device))
        self._make_optimizer()

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha]

    def logits(self) -> torch.Tensor:
        return self.alpha.detach()

    def theta_weights(self) -> torch.Tensor:
        return torch.softmax(self.alpha.detach(), dim=-1)

    def arch_step(self, batch: Batch) -> tuple[float, dict]:
        loss = self._ce(batch.x_val, batch.y_val, torch.softmax(self.alpha, dim=-1))
        self.arch_opt.zero_grad(set_to_none=True)
        self.net.zero_grad(set_to_none=True)
        loss.backward()
        self.arch_opt.step()
        return float(loss.detach()), {}


class GumbelLearner(DARTSLearner):
    """GDAS-style hard Gumbel-Softmax with a straight-through gradient."""

    name = "gumbel"

    def tau(self) -> float:
        frac = min(1.0, self.step_count / max(1, self.total_steps - 1))
        return self.cfg.tau_start + (self.cfg.tau_end - self.cfg.tau_start) * frac

    def _sample(self, differentiable: bool) -> torch.Tensor:
        alpha = self.alpha if differentiable else self.alpha.detach()
        u = torch.rand(alpha.shape, generator=self.gen).to(alpha.device).clamp_(1e-10, 1 - 1e-7)
        soft = torch.softmax((torch.log_softmax(alpha, -1) - torch.log(-torch.log(u))) / self.tau(), dim=-1)
        hard = F.one_hot(soft.detach().argmax(-1), N_OPS).to(soft.dtype)
        return hard - soft.detach() + soft if differentiable else hard

    def theta_weights(self) -> torch.Tensor:
        return self._sample(differentiable=False)

    def arch_step(self, batch: Batch) -> tuple[float, dict]:
        loss = self._ce(batch.x_val, batch.y_val, self._sample(differentiable=True))
        self.arch_opt.zero_grad(set_to_none=True)
        self.net.zero_grad(set_to_none=True)
        loss.backward()
        self.arch_opt.step()
        return float(loss.detach()), {"tau": self.tau()}


class ConvReLUBN(nn.Module):
    """Conv(k, padding k//2) -> ReLU -> BN, BN over the positions of each noise map."""

    def __init__(self, c_in: int, c_out: int, k: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, padding=k // 2)
        self.weight = nn.Parameter(torch.ones(c_out))
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, c_in, 6, 5) -> (B, c_out, 6, 5); each map normalised on its own = BN with a batch of one
        h = F.relu(self.conv(x))
        return F.instance_norm(h, weight=self.weight, bias=self.bias, eps=1e-5)


class ArchitectureNetwork(nn.Module):
    """VIM-NAS's architecture network: ConvReLUBN(3, 14, 3) - ConvReLUBN(14, 1, 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvReLUBN(3, 14, 3), ConvReLUBN(14, 1, 3))

    def forward(self, eps: torch.Tensor) -> torch.Tensor:
        # eps: (B, 3, 6, 5) -> logits (B, 6, 5)
        return self.body(eps).squeeze(1)


class VIMNASLearner(Learner):
    name = "vimnas"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        torch_state = torch.random.get_rng_state()
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=self.gen)))  # seeded init of phi
        self.phi = ArchitectureNetwork().to(self.device)
        torch.random.set_rng_state(torch_state)
        self.eps = torch.randn(1, 3, N_EDGES, N_OPS, generator=self.gen).to(self.device)
        self._make_optimizer()

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.phi.parameters())

    def _noise_input(self) -> torch.Tensor:
        if self.cfg.vim_eps == "resample":
            return torch.randn(1, 3, N_EDGES, N_OPS, generator=self.gen).to(self.device)
        return self.eps

    def logits(self) -> torch.Tensor:
        with torch.no_grad():
            return self.phi(self.eps)[0]

    def _sample_a(self) -> torch.Tensor:
        xi = torch.randn(N_EDGES, N_OPS, generator=self.gen).to(self.device)
        return self.phi(self._noise_input())[0] + xi  # A = phi(eps) + xi

    def theta_weights(self) -> torch.Tensor:
        with torch.no_grad():
            return torch.softmax(self._sample_a(), dim=-1)

    def arch_step(self, batch: Batch) -> tuple[float, dict]:
        loss = self._ce(batch.x_val, batch.y_val, torch.softmax(self._sample_a(), dim=-1))
        self.arch_opt.zero_grad(set_to_none=True)
        self.net.zero_grad(set_to_none=True)
        loss.backward()
        self.arch_opt.step()
        return float(loss.detach()), {}

    @torch.no_grad()
    def sample_ops(self, n: int, generator: torch.Generator, eps: str | None = None) -> np.ndarray:
        """(n, 6) argmax ops of ``A = phi(eps) + xi``; ``eps`` "fixed" (as trained) or "resample"."""
        mode = eps or self.cfg.vim_eps
        if mode == "resample":
            noise = torch.randn(n, 3, N_EDGES, N_OPS, generator=generator).to(self.device)
            mean = self.phi(noise)
        else:
            mean = self.phi(self.eps).expand(n, N_EDGES, N_OPS)
        a = mean + torch.randn(n, N_EDGES, N_OPS, generator=generator).to(self.device)
        return a.argmax(-1).cpu().numpy()


class FlopsObjective:
    """The non-differentiable term: NB201 CIFAR-10 FLOPs of the sampled cell / the table's max FLOPs,
    with the linear surrogate ``g(z) = sum_{e,o} l_{e,o} z_{e,o} + b`` of UNAS Sec. 5, fitted by least
    squares on random cells."""

    def __init__(self, bench, n_samples: int, generator: torch.Generator) -> None:
        flops = np.asarray(bench.column("flops", "cifar10"), dtype=np.float64)
        self.table = torch.as_tensor(flops / flops.max(), dtype=torch.float32)
        ops = np.asarray(bench.space.index_ops, dtype=np.int64)
        codes = np.zeros(len(ops), dtype=np.int64)
        for k in range(N_EDGES):
            codes = codes * N_OPS + ops[:, k]
        lookup = np.zeros(len(ops), dtype=np.int64)
        lookup[codes] = np.arange(len(ops))
        self._code_to_index = torch.as_tensor(lookup)
        rows = torch.randint(0, N_OPS, (int(n_samples), N_EDGES), generator=generator)
        x = F.one_hot(rows, N_OPS).reshape(len(rows), -1).double()
        x1 = torch.cat([x, torch.ones(len(rows), 1, dtype=torch.float64)], dim=1)
        y = self.values(F.one_hot(rows, N_OPS).float()).double()
        # the one-hot columns of each edge sum to the bias column: rank-deficient, so use numpy's SVD solver
        sol = torch.as_tensor(np.linalg.lstsq(x1.numpy(), y.numpy(), rcond=None)[0])
        self.coef = sol[:-1].reshape(N_EDGES, N_OPS).float()
        self.intercept = float(sol[-1])
        pred = x1 @ sol
        self.r2 = float(1 - ((pred - y) ** 2).sum() / ((y - y.mean()) ** 2).sum())

    def values(self, z: torch.Tensor) -> torch.Tensor:
        """(S, 6, 5) one-hot -> (S,) normalised FLOPs from the table."""
        idx = z.argmax(-1).cpu()
        code = torch.zeros(idx.shape[0], dtype=torch.long)
        for k in range(N_EDGES):
            code = code * N_OPS + idx[:, k]
        return self.table[self._code_to_index[code]].to(z.device)

    def surrogate(self, zeta: torch.Tensor) -> torch.Tensor:
        """g: (S, 6, 5) relaxed -> (S,)."""
        return (zeta * self.coef.to(zeta.device)).sum(dim=(1, 2)) + self.intercept


class UNASLearner(DARTSLearner):
    name = "unas"

    def __init__(self, net, cfg, generator, total_steps, device, *, bench=None) -> None:
        super().__init__(net, cfg, generator, total_steps, device)
        if bench is None:
            from nasviz.bench.nb201 import NB201Benchmark

            bench = NB201Benchmark()
        self.flops = FlopsObjective(bench, cfg.surrogate_samples, self.gen)
        self.baseline_d: float | None = None
        self.baseline_n: float | None = None

    def theta_weights(self) -> torch.Tensor:
        p = torch.softmax(self.alpha.detach(), dim=-1).cpu()
        idx = torch.multinomial(p, 1, generator=self.gen).squeeze(1)
        return F.one_hot(idx, N_OPS).float().to(self.device)

    # f_d for S samples (one supernet pass per sample), Eq. 8
    def _gen_loss(self, batch: Batch, weights: torch.Tensor) -> torch.Tensor:
        out = []
        for w in weights:
            lt = self._ce(batch.x_train, batch.y_train, w)
            lv = self._ce(batch.x_val, batch.y_val, w)
            out.append(lt + self.cfg.lam * (lv - lt).abs())
        return torch.stack(out)

    def estimator_grads(self, batch: Batch, n: int, which: tuple[str, ...],
                        generator: torch.Generator | None = None) -> tuple[dict[str, torch.Tensor], dict]:
        """Per-sample gradients (n, 6, 5) of each estimator in ``which`` on the same samples.

        Names: ``d:reinforce``, ``d:gumbel``, ``d:rebar`` for the Eq. 8 loss; ``n:reinforce``,
        ``n:gumbel``, ``n:relax`` for the FLOPs term (unscaled). ``generator`` (default: the
        learner's own) draws the Gumbel noise; measurements pass their own so they do not change
        the run (the supernet's BN layers normalise with batch statistics in every pass, so the extra
        forward passes do not change the training trajectory either).
        """
        s = est.draw(self.alpha.detach(), n, self.cfg.rebar_tau, self.gen if generator is None else generator)
        f_d = lambda w: self._gen_loss(batch, w)  # noqa: E731
        out: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            fz_d = f_d(s.z) if any(w.startswith("d:") for w in which) else torch.zeros(n)
            fz_n = self.flops.values(s.z)
        bd = float(fz_d.mean()) if self.baseline_d is None else self.baseline_d
        bn = float(fz_n.mean()) if self.baseline_n is None else self.baseline_n
        c = f_d(s.zeta) if ("d:gumbel" in which or "d:rebar" in which) else None  # shared by both
        for name in which:
            part, kind = name.split(":")
            if part == "d":
                if kind == "reinforce":
                    out[name] = (fz_d - bd).view(-1, 1, 1) * s.score_grad
                elif kind == "gumbel":
                    out[name] = est._grad(c.sum(), s)
                elif kind == "rebar":
                    c_tilde = f_d(s.zeta_tilde)
                    reparam = est._grad((c - c_tilde).sum(), s)
                    out[name] = (fz_d - c_tilde.detach()).view(-1, 1, 1) * s.score_grad + reparam
                else:
                    raise ValueError(name)
            else:
                if kind == "reinforce":
                    out[name] = (fz_n - bn).view(-1, 1, 1) * s.score_grad
                elif kind == "gumbel":
                    out[name] = est.gumbel_softmax(s, self.flops.surrogate)
                elif kind == "relax":
                    out[name] = est.control_variate(s, self.flops.values, self.flops.surrogate)[0]
                else:
                    raise ValueError(name)
        self.net.zero_grad(set_to_none=True)
        return out, {"f_d": fz_d.detach(), "f_n": fz_n.detach()}

    def arch_step(self, batch: Batch) -> tuple[float, dict]:
        kind = self.cfg.estimator
        names = {"rebar": ("d:rebar", "n:relax"), "reinforce": ("d:reinforce", "n:reinforce"),
                 "gumbel": ("d:gumbel", "n:gumbel")}[kind]
        grads, vals = self.estimator_grads(batch, 1, names)
        g = grads[names[0]].mean(0) + self.cfg.lat_weight * grads[names[1]].mean(0)
        fd, fn = float(vals["f_d"].mean()), float(vals["f_n"].mean())
        a = self.cfg.baseline_decay
        self.baseline_d = fd if self.baseline_d is None else a * self.baseline_d + (1 - a) * fd
        self.baseline_n = fn if self.baseline_n is None else a * self.baseline_n + (1 - a) * fn
        self.arch_opt.zero_grad(set_to_none=True)
        self.alpha.grad = g.to(self.alpha.dtype)
        self.arch_opt.step()
        return fd + self.cfg.lat_weight * fn, {"gen_loss": fd, "flops_norm": fn}


#: Method name -> learner class.
METHODS: dict[str, type[Learner]] = {
    "darts": DARTSLearner,
    "gumbel": GumbelLearner,
    "vimnas": VIMNASLearner,
    "unas": UNASLearner,
}


def parse_method(name: str) -> str:
    key = str(name).strip().lower().replace("-", "").replace("_", "")
    aliases = {"vim": "vimnas", "vimnas": "vimnas", "gdas": "gumbel", "snas": "gumbel", "gumbelsoftmax": "gumbel"}
    key = aliases.get(key, key)
    if key not in METHODS:
        raise NasvizError(f"unknown method {name!r}; accepted: {', '.join(METHODS)}")
    return key
