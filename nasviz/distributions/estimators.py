"""Gradient estimators for a factorial categorical architecture distribution.

UNAS (Vahdat et al., CVPR 2020, Sec. 3.1) writes every estimator of
``d/dphi E_{p_phi(z)}[L(z)]`` for ``p_phi(z) = prod_e Cat(z_e; softmax(phi_e))`` as
REINFORCE plus a control variate:

* REINFORCE with a baseline ``b`` (Eq. 2 with ``c(z) = b``):
  ``(L(z) - b) d log p(z)``;
* Gumbel-Softmax (SNAS): ``d L(zeta)`` with ``zeta = softmax((log p + G) / tau)`` —
  the reparameterised gradient of the *relaxed* loss, biased for ``E[L(z)]``;
* REBAR (Eq. 3): ``(L(z) - L(zeta~)) d log p(z) - d L(zeta~) + d L(zeta)``, where
  ``zeta~ ~ r(zeta | z)`` is the conditional Gumbel-Softmax sample given ``z``;
* RELAX (Eq. 5) for a non-differentiable ``L_n``: the same with a differentiable
  surrogate ``g`` in the control variate:
  ``(L_n(z) - g(zeta~)) d log p(z) - d g(zeta~) + d g(zeta)``.

REBAR and RELAX are unbiased for any ``tau`` and any ``g`` (the control variate has
a known expectation); they reduce variance when the control variate tracks ``L``.

All functions work on ``S`` independent samples at once and return *per-sample*
gradients ``(S, E, K)``, so the same code trains (S = 1) and measures estimator
variance on a frozen state (S > 1). ``f`` callables map a ``(S, E, K)`` tensor of
one-hot or relaxed weights to ``(S,)`` losses.

Conditional Gumbel sample (Tucker et al. 2017, App. C): with ``v ~ U(0, 1)^K`` and
``k = z``: ``b~_k = -log(-log v_k)``, ``b~_i = -log(-log(v_i) / p_i - log v_k)`` for
``i != k``; then ``argmax b~ = k`` and ``b~`` is distributed as ``log p + G`` given
``argmax = k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

F_ = Callable[[torch.Tensor], torch.Tensor]

#: The estimators :func:`estimate` knows.
ESTIMATORS: tuple[str, ...] = ("reinforce", "gumbel", "rebar", "relax")


@dataclass
class GumbelSamples:
    """One draw of ``S`` samples, shared by every estimator (paired comparisons)."""

    logits: torch.Tensor  # (S, E, K) leaf, requires grad; per-sample copy of the logits
    probs: torch.Tensor  # (S, E, K) softmax(logits), differentiable
    z: torch.Tensor  # (S, E, K) one-hot discrete samples (no grad)
    zeta: torch.Tensor  # (S, E, K) Gumbel-Softmax relaxation of z (same noise), differentiable
    zeta_tilde: torch.Tensor  # (S, E, K) conditional relaxation given z, differentiable
    tau: float

    @property
    def score_grad(self) -> torch.Tensor:
        """``d log p(z) / d logits`` per sample: ``onehot(z) - softmax(logits)``, (S, E, K)."""
        return (self.z - self.probs).detach()


def _uniform(shape: tuple[int, ...], generator: torch.Generator | None, device, dtype) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, dtype=dtype, device="cpu" if generator is None else generator.device)
    return u.to(device).clamp_(1e-10, 1.0 - 1e-7)


def draw(logits: torch.Tensor, n: int, tau: float, generator: torch.Generator | None = None) -> GumbelSamples:
    """Draw ``n`` samples of ``z``, ``zeta`` and ``zeta~`` from logits ``(E, K)``."""
    if tau <= 0:
        raise ValueError(f"temperature must be positive; got {tau}")
    e, k = logits.shape
    lg = logits.detach().unsqueeze(0).expand(n, e, k).clone().requires_grad_(True)
    logp = torch.log_softmax(lg, dim=-1)
    p = logp.exp()
    u = _uniform((n, e, k), generator, lg.device, lg.dtype)
    b = logp - torch.log(-torch.log(u))  # log p + Gumbel
    idx = b.detach().argmax(dim=-1)  # (S, E)
    z = torch.nn.functional.one_hot(idx, k).to(lg.dtype)
    zeta = torch.softmax(b / tau, dim=-1)
    v = _uniform((n, e, k), generator, lg.device, lg.dtype)
    log_vk = torch.log(torch.gather(v, -1, idx.unsqueeze(-1)))  # (S, E, 1)
    others = -torch.log(-torch.log(v) / p - log_vk)
    top = -torch.log(-log_vk).expand_as(others)
    b_tilde = torch.where(z.bool(), top, others)
    zeta_tilde = torch.softmax(b_tilde / tau, dim=-1)
    return GumbelSamples(lg, p, z, zeta, zeta_tilde, float(tau))


def _grad(total: torch.Tensor, s: GumbelSamples) -> torch.Tensor:
    (g,) = torch.autograd.grad(total, s.logits, allow_unused=True, retain_graph=True)  # samples are shared
    return torch.zeros_like(s.logits) if g is None else g


def reinforce(s: GumbelSamples, f_discrete: F_, baseline: float | torch.Tensor = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """REINFORCE with a constant baseline (Eq. 1/2). Returns (grads (S,E,K), f(z) (S,))."""
    with torch.no_grad():
        fz = f_discrete(s.z)
    return (fz - baseline).view(-1, 1, 1) * s.score_grad, fz


def gumbel_softmax(s: GumbelSamples, f_relaxed: F_) -> torch.Tensor:
    """Reparameterised gradient of the relaxed loss (SNAS); biased for E[f(z)]."""
    return _grad(f_relaxed(s.zeta).sum(), s)


def control_variate(s: GumbelSamples, f_discrete: F_, f_relaxed: F_) -> tuple[torch.Tensor, torch.Tensor]:
    """REBAR (``f_relaxed`` = the loss itself, Eq. 3) or RELAX (``f_relaxed`` = surrogate g, Eq. 5).

    Returns (grads (S,E,K), f(z) (S,)).
    """
    with torch.no_grad():
        fz = f_discrete(s.z)
    c_tilde = f_relaxed(s.zeta_tilde)  # (S,)
    c = f_relaxed(s.zeta)  # (S,)
    reparam = _grad((c - c_tilde).sum(), s)  # (iii) - (ii)
    score = (fz - c_tilde.detach()).view(-1, 1, 1) * s.score_grad  # (i)
    return score + reparam, fz


def estimate(name: str, s: GumbelSamples, f_discrete: F_, f_relaxed: F_ | None = None,
             baseline: float | torch.Tensor = 0.0) -> torch.Tensor:
    """Per-sample gradient ``(S, E, K)`` of ``E[f(z)]`` w.r.t. the logits by estimator ``name``."""
    if name == "reinforce":
        return reinforce(s, f_discrete, baseline)[0]
    if f_relaxed is None:
        raise ValueError(f"estimator {name!r} needs a differentiable f_relaxed")
    if name == "gumbel":
        return gumbel_softmax(s, f_relaxed)
    if name in ("rebar", "relax"):
        return control_variate(s, f_discrete, f_relaxed)[0]
    raise ValueError(f"unknown estimator {name!r}; accepted: {', '.join(ESTIMATORS)}")


def exact_gradient(logits: torch.Tensor, f_discrete: F_) -> torch.Tensor:
    """``d E[f(z)] / d logits`` by enumerating every z (small E, K only: K**E states)."""
    e, k = logits.shape
    if k**e > 200_000:
        raise ValueError(f"{k}**{e} states are too many to enumerate")
    lg = logits.detach().clone().requires_grad_(True)
    logp = torch.log_softmax(lg, dim=-1)
    grid = torch.cartesian_prod(*[torch.arange(k)] * e) if e > 1 else torch.arange(k).unsqueeze(1)
    z = torch.nn.functional.one_hot(grid, k).to(lg.dtype)  # (N, E, K)
    with torch.no_grad():
        fz = f_discrete(z)
    logpz = (z * logp.unsqueeze(0)).sum(dim=(1, 2))
    expected = (logpz.exp() * fz).sum()
    (g,) = torch.autograd.grad(expected, lg)
    return g
