"""The DNAS controller: a sequence beta-VAE with accuracy and FLOPs predictors.

Reference: "Disentangled Neural Architecture Search" (DNAS; paper 000 in
shared/papers): Framework, Disentangled Representation Learning, Implementation,
Eq. 1-5. It follows NAO's encoder-predictor-decoder controller without attention.

An architecture is a token sequence (NB201: the 6 edge ops in official-string order,
5 tokens). Pieces:

* encoder: token embedding -> single-layer LSTM -> mean of its outputs (as NAO) -> linear heads
  for the mean and log-variance of q(z | x) (latent size: paper 26);
* decoder: single-layer LSTM, no attention. Its initial state is tanh(W z) and its
  input at every step is z itself (not the previous token), so a decode is a
  deterministic, parallel function of z with no teacher-forcing / exposure gap;
  a linear layer + softmax gives each position's token;
* accuracy predictor: MLP latent -> 64 -> 1 (paper: 26, 64, 1);
* FLOPs predictor: MLP latent -> latent -> 1 (paper's ImageNet setting: 46, 1).

Loss (Eq. 5):  alpha * L_acc + lambda * L_flops + mu * L_rec + beta * L_kl with
alpha, lambda, mu, beta = 0.8, 0.3, 0.2, 1 by default; beta = 0 is the "entangled"
ablation. L_rec is the sequence negative log-likelihood (sum over positions), L_kl
the KL to N(0, I) *averaged* over latent dimensions, both batch means; L_acc and
L_flops are MSEs on standardised targets. The paper does not give its reductions.
With L_kl summed over dimensions, mu = 0.2 < beta = 1 makes "encode nothing" the
optimum (each nat in z costs beta and saves mu; measured: 0.06 % reconstruction),
so nasviz averages the KL per dimension (``kl_reduction="mean"``, default):
effective beta/mu = 0.19 at beta = 1 and 0.77 at beta = 4.

Shipped NB201 models use LSTM width 64 (``--hidden 64``; latent stays 26): at the
paper's width 26 the beta = 1 loss was 1.98 after 14 epochs against 1.51 after 12
at width 64 on this CPU, and there was no time to train both to the end.

NB101 (26 tokens: 21 adjacency bits and 5 vertex ops, see ``NB101SequenceEncoding``) needs
the three settings below, all off by default (NB201 and older checkpoints) and on for NB101 in
``nasviz train`` (``NB101_OVERRIDES`` in nasviz.models.train):

* ``dec_position``: the decoder's input at step t is z plus a learned position vector p_t.
  With z alone at every step the LSTM must count positions in its state; over 26 steps it
  learned slowly (measured: 65 % token accuracy, 0 % of cells exact after 3 epochs on
  60k cells);
* ``kl_warmup``: the KL weight ramps from 0 to beta over the first steps (Bowman et al.
  2016). Without it the NB101 posterior collapsed (KL -> 0.001 nats per dimension within
  1,000 steps; the shipped beta = 1 model of the previous version reconstructed 0.08 %);
* a larger learning rate (3e-3) annealed to 1e-4 (``lr_final``, cosine), LSTM width 128 and
  mini-batches of 64: at a constant 3e-3 held-out exact reconstruction swung between 78 % and
  99 % from one 500-step check to the next.

Semi-supervised (SemiNAS setting): accuracy labels for a subset (NaN marks an
unlabelled cell; those contribute only L_rec, L_kl and L_flops — FLOPs are computed
from the cell, so they cost no training run).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from nasviz.errors import NasvizError
from nasviz.models._base import TorchEncoder
from nasviz.models._common import check_latent, get_encoding


@dataclass
class BetaVAEConfig:
    space: str = "nb201"  # search space whose token sequences are encoded
    seq_len: int = 6  # tokens per architecture (NB201: 6 edge ops; set from the encoding)
    n_tokens: int = 5  # vocabulary (NB201: 5 ops; set from the encoding)
    latent_dim: int = 26  # z size (paper: 26)
    hidden: int = 26  # LSTM width of encoder and decoder (paper: 26)
    embed_dim: int = 26  # token embedding width
    logvar_init: float = -5.0  # initial log-variance bias: unit noise at init stalls learning (measured)
    pool: str = "mean"  # encoder summary: "mean" of LSTM outputs (NAO) or "last" hidden state
    predictor_hidden: int = 64  # accuracy predictor latent -> 64 -> 1 (paper)
    alpha: float = 0.8  # weight of L_acc (paper: 0.8)
    lam: float = 0.3  # weight of L_flops, lambda (paper: 0.3)
    mu: float = 0.2  # weight of L_rec (paper: 0.2)
    beta: float = 1.0  # weight of L_kl (paper: 1; 0 = entangled ablation)
    kl_reduction: str = "mean"  # "mean": L_kl averaged over latent dims; "sum": summed (collapses, see docstring)
    epochs: int = 40  # passes over the training split
    batch_size: int = 32  # mini-batch size
    lr: float = 1e-3  # Adam (paper: 0.001)
    seed: int = 0  # weights init, batch order and reparameterisation noise
    dec_position: bool = False  # add a learned position vector to the decoder's input z at each step (NB101)
    kl_warmup: int = 0  # optimizer steps over which the KL weight ramps linearly from 0 to beta (NB101)
    lr_final: float | None = None  # cosine-anneal lr to this over the run (None: constant lr, the paper's)


class BetaVAEModel(nn.Module):
    def __init__(self, cfg: BetaVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.n_tokens, cfg.embed_dim)
        self.enc = nn.LSTM(cfg.embed_dim, cfg.hidden, num_layers=1, batch_first=True)
        self.fc_mu = nn.Linear(cfg.hidden, cfg.latent_dim)
        self.fc_logvar = nn.Linear(cfg.hidden, cfg.latent_dim)
        nn.init.constant_(self.fc_logvar.bias, cfg.logvar_init)  # start near-deterministic (see config)
        self.dec_init = nn.Linear(cfg.latent_dim, cfg.hidden)
        self.dec = nn.LSTM(cfg.latent_dim, cfg.hidden, num_layers=1, batch_first=True)
        if cfg.dec_position:
            self.dec_pos = nn.Parameter(0.1 * torch.randn(cfg.seq_len, cfg.latent_dim))
        self.out = nn.Linear(cfg.hidden, cfg.n_tokens)
        self.acc = nn.Sequential(nn.Linear(cfg.latent_dim, cfg.predictor_hidden), nn.ReLU(),
                                 nn.Linear(cfg.predictor_hidden, 1))
        self.flops = nn.Sequential(nn.Linear(cfg.latent_dim, cfg.latent_dim), nn.ReLU(), nn.Linear(cfg.latent_dim, 1))

    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.embed(tokens)  # (B, L, E)
        out, (h, _) = self.enc(e)  # out: (B, L, H), h: (1, B, H)
        h = out.mean(1) if self.cfg.pool == "mean" else h[0]  # (B, H) NAO-style mean of the outputs
        return self.fc_mu(h), self.fc_logvar(h)  # (B, Z) each

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        h0 = torch.tanh(self.dec_init(z))[None]  # (1, B, H)
        c0 = torch.zeros_like(h0)
        inp = z[:, None, :].expand(b, self.cfg.seq_len, z.shape[1])  # (B, L, Z): z at every step
        if self.cfg.dec_position:
            inp = inp + self.dec_pos[None]  # (B, L, Z): z plus where in the sequence the step is
        out, _ = self.dec(inp, (h0, c0))  # (B, L, H)
        return self.out(out)  # (B, L, V) token logits

    def predict(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.acc(z).squeeze(-1), self.flops(z).squeeze(-1)  # (B,), (B,) standardised


class BetaVAE(TorchEncoder):
    """DNAS beta-VAE estimator: ``fit(cells, acc, flops)``, ``transform``, ``decode``, ``predict``."""

    kind = "beta-vae"
    Config = BetaVAEConfig

    def __init__(self, config: BetaVAEConfig | None = None, *, device: str = "cpu", progress: bool = False,
                 **overrides) -> None:
        super().__init__(config, device=device, progress=progress, **overrides)
        enc = get_encoding(self.config.space, "sequence")
        self.config.seq_len, self.config.n_tokens = enc.length, enc.n_tokens
        if self.config.beta < 0 or self.config.latent_dim < 1:
            raise NasvizError(f"beta must be >= 0 and latent_dim >= 1; got beta={self.config.beta}, "
                              f"latent_dim={self.config.latent_dim}")
        self.encoding = enc

    def _build(self, config: BetaVAEConfig) -> BetaVAEModel:
        return BetaVAEModel(config)

    @property
    def embedding_dim(self) -> int:
        return self.config.latent_dim

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    has_predictor = True

    # -- fit -----------------------------------------------------------------------------
    def fit(self, cells: Sequence, acc: np.ndarray | None = None, flops: np.ndarray | None = None) -> "BetaVAE":
        """Train on ``cells``. ``acc``: accuracy per cell, NaN = unlabelled (semi-supervised);
        ``flops``: FLOPs per cell (all known). Either may be None (that loss term is dropped)."""
        cells = list(cells)
        n = len(cells)
        if n < 2:
            raise NasvizError(f"the beta-VAE needs at least 2 cells to train; got {n}")
        cfg = self.config
        tok = self.encoding.encode(cells)

        def targets(v, name):
            if v is None:
                return np.full(n, np.nan), 0.0, 1.0
            v = np.asarray(v, dtype=np.float64)
            if v.shape != (n,):
                raise NasvizError(f"{name} must have one value per cell ({n}); got shape {v.shape}")
            if np.isinf(v).any():
                raise NasvizError(f"{name} contains inf; use NaN for an unlabelled cell")
            known = v[np.isfinite(v)]
            m, s = (float(known.mean()), float(known.std() or 1.0)) if len(known) else (0.0, 1.0)
            return (v - m) / s, m, s

        acc_n, self.acc_mean_, self.acc_std_ = targets(acc, "acc")
        flops_n, self.flops_mean_, self.flops_std_ = targets(flops, "flops")
        self.n_labelled_ = int(np.isfinite(acc_n).sum())
        model, t0 = self._start_fit()
        tok_t = self._tensor(tok)
        acc_t = self._tensor(np.nan_to_num(acc_n), torch.float32)
        acc_m = self._tensor(np.isfinite(acc_n), torch.float32)
        flops_t = self._tensor(np.nan_to_num(flops_n), torch.float32)
        flops_m = self._tensor(np.isfinite(flops_n), torch.float32)

        def masked_mse(pred, target, mask):
            return ((pred - target) ** 2 * mask).sum() / mask.sum().clamp(min=1.0)

        def step(idx, gen):
            kl_weight = cfg.beta * (min(1.0, self.step_ / cfg.kl_warmup) if cfg.kl_warmup > 0 else 1.0)
            x = tok_t[idx]  # (B, L)
            mu, logvar = model.encode(x)  # (B, Z)
            eps = torch.randn(mu.shape, generator=gen, device=mu.device)
            z = mu + eps * torch.exp(0.5 * logvar)
            logits = model.decode(z)  # (B, L, V)
            l_rec = F.cross_entropy(logits.reshape(-1, cfg.n_tokens), x.reshape(-1), reduction="sum") / len(idx)
            l_kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(idx)
            if cfg.kl_reduction == "mean":
                l_kl = l_kl / cfg.latent_dim
            pa, pf = model.predict(z)
            l_acc = masked_mse(pa, acc_t[idx], acc_m[idx])
            l_flops = masked_mse(pf, flops_t[idx], flops_m[idx])
            return cfg.alpha * l_acc + cfg.lam * l_flops + cfg.mu * l_rec + kl_weight * l_kl

        self.history_ = self._train_loop(model, n, step, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                                         seed=cfg.seed, desc=f"beta-vae(beta={cfg.beta:g}) {cfg.space}",
                                         lr_final=cfg.lr_final)
        self.model_ = model
        self.fit_seconds_ = self._prior_seconds + time.perf_counter() - t0
        return self

    def _state(self) -> dict:
        return {"acc_mean": self.acc_mean_, "acc_std": self.acc_std_, "flops_mean": self.flops_mean_,
                "flops_std": self.flops_std_, "n_labelled": self.n_labelled_}

    def _set_state(self, state: dict) -> None:
        self.acc_mean_, self.acc_std_ = float(state["acc_mean"]), float(state["acc_std"])
        self.flops_mean_, self.flops_std_ = float(state["flops_mean"]), float(state["flops_std"])
        self.n_labelled_ = int(state["n_labelled"])

    # -- inference -------------------------------------------------------------------------
    @torch.no_grad()
    def latent(self, cells: Sequence, batch_size: int = 8192) -> np.ndarray:
        """Latent means (n, Z) float32."""
        self._check_fitted()
        tok = self.encoding.encode(list(cells))
        out = np.zeros((len(tok), self.config.latent_dim), dtype=np.float32)
        for s in range(0, len(tok), batch_size):
            mu, _ = self.model_.encode(self._tensor(tok[s:s + batch_size]))
            out[s:s + batch_size] = mu.cpu().numpy()
        return out

    transform = latent  # the embedding is the latent mean itself

    @torch.no_grad()
    def decode(self, z) -> list:
        """Latent codes (n, Z) (or one (Z,)) -> cells or :class:`Invalid`."""
        self._check_fitted()
        z = check_latent(z, self.latent_shape, "beta-VAE latent")
        tokens = self.model_.decode(self._tensor(z)).argmax(-1).cpu().numpy()  # (n, L)
        return [self.encoding.decode_one(t) for t in tokens]

    @torch.no_grad()
    def decode_raw_keys(self, z) -> list[tuple]:
        """What the decoder emits for each code before it becomes a cell: the token sequence (NB101: a spec
        whose dangling vertices pruning removes differs from the cell it prunes to)."""
        self._check_fitted()
        z = check_latent(z, self.latent_shape, "beta-VAE latent")
        return [tuple(int(x) for x in t) for t in self.model_.decode(self._tensor(z)).argmax(-1).cpu().numpy()]

    @torch.no_grad()
    def predict_latent(self, z) -> tuple[np.ndarray, np.ndarray]:
        """(accuracy, FLOPs) predicted from latent codes, in the units of the training targets."""
        self._check_fitted()
        z = check_latent(z, self.latent_shape, "beta-VAE latent")
        pa, pf = self.model_.predict(self._tensor(z))
        return (pa.cpu().numpy() * self.acc_std_ + self.acc_mean_,
                pf.cpu().numpy() * self.flops_std_ + self.flops_mean_)

    def predict(self, cells: Sequence) -> np.ndarray:
        """Predicted accuracy of cells (from their latent means)."""
        return self.predict_latent(self.latent(cells))[0]

    def predict_flops(self, cells: Sequence) -> np.ndarray:
        return self.predict_latent(self.latent(cells))[1]
