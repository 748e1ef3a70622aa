"""DNAS dense sampling (paper 000: Eq. 4-7, Algorithm 1) adapted to a tabular benchmark, and region search.

DenseSampling (``dense``), per Algorithm 1:

1. query ``n_init`` random cells (M, the labelled set D');
2. each round, train the accuracy predictor ``f_acc`` (an MLP on the latent code) on
   D' plus the pseudo-labelled candidates of earlier rounds (D-hat, weight
   ``semi_weight``: the semi-supervised step; the encoder itself is the pretrained
   model and stays fixed -- retraining it between rounds is out of reach for 50-seed
   benchmarks on a CPU);
3. promising region (Eq. 4): ``R_s = U_{i in top-k} [z_is - sigma, z_is + sigma]`` per
   latent dimension s over the ``top_k`` best queried cells;
4. sample ``candidates`` latent points: with probability ``eps1`` uniformly in R (one
   of the top-k intervals per dimension), ``eps2`` from the FLOPs edge (cells with
   ``F - edge <= FLOPs <= F``), ``eps3 = 1 - eps1 - eps2`` anywhere; decode each point
   to a cell (nearest cell in the latent space: in a tabular benchmark every cell is
   known, so decoding by retrieval never yields an invalid cell);
5. screen the candidates with ``f_acc`` (FLOPs must be <= F) and query the best
   ``per_round``;
6. move the top ``moves`` queried cells with ``FLOPs <= F + tau`` by Eq. 7,
   ``z' = z + eta1 * d f_acc/dz - eta2 * d f_flops/dz`` (gradients normalised to unit
   length, so the etas are step lengths in standardised latent units), decode ``z'``
   to the nearest cell not queried yet and query it.

FLOPs are computed, not trained, so reading them is free; ``f_flops`` is an MLP fitted
once to the FLOPs of 2,000 random cells. ``flops_limit`` F defaults to the largest
FLOPs in the space (no limit; the edge is then the most expensive cells, the paper's
"deeper and higher-FLOPs networks" prior). Switches (paper Table 3): ``dense=False``
sets eps1 = eps2 = 0 (candidates from the whole space, still screened); the
"disentangled" switch is the choice of embedding (a beta-VAE with beta > 0 vs beta = 0):
the default ``embedding`` is ``bvae-beta1`` (``<space>-bvae-beta1``, the shipped
disentangled beta-VAE), ``bvae-beta0`` is the entangled arm.
The paper's sigma = 0.05 is in its own latent units; ours are standardised (unit
variance per dimension), hence the default sigma = 0.25.

``device`` ("cpu" or "cuda") is where the predictors train and where Eq. 7's
gradients are taken; their initial weights come from the seeded CPU generator on every
device. Decoding (nearest cell) and sampling stay in numpy.

RegionSearch (``region``): the same loop with the user's region (a box or lasso in a
2-D projection, or intervals on latent dimensions; :mod:`nasviz.search.region`) as the
promising region: with probability ``eps1`` a candidate is a cell inside the region,
otherwise anywhere; no FLOPs edge by default.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from nasviz.errors import NasvizError
from nasviz.search.strategies import Strategy, _positive_int
from nasviz.search.strategies.latent import ResultCounter, embedding_stats, standardized_embedding


def _check_eps(params: dict, name: str) -> None:
    e1, e2 = float(params["eps1"]), float(params["eps2"])
    if e1 < 0 or e2 < 0:
        raise NasvizError(f"{name}: eps1 and eps2 must be >= 0; got eps1={e1}, eps2={e2}")
    if e1 + e2 > 1 + 1e-12:
        raise NasvizError(
            f"{name}: eps1 + eps2 must be <= 1 (eps3 = 1 - eps1 - eps2 samples anywhere); got {e1} + {e2} = {e1 + e2:g}"
        )


class DenseSampling(Strategy):
    name = "dense"
    latent = True
    uses_device = True
    takes_region = False
    defaults: dict[str, Any] = {
        "embedding": "bvae-beta1", "n_init": 16, "candidates": 100, "per_round": 4, "moves": 1, "top_k": 3,
        "sigma": 0.25, "eps1": 0.5, "eps2": 0.1, "dense": True, "flops_limit": None, "flops_edge": 0.1,
        "tau": 0.0, "eta1": 0.5, "eta2": 0.0, "semi_weight": 0.1, "hidden": 64, "epochs": 100,
    }

    @classmethod
    def check(cls, params, space_name) -> None:
        for k in ("n_init", "candidates", "per_round", "top_k", "hidden", "epochs"):
            _positive_int(params, k, cls.name)
        if int(params["moves"]) < 0:
            raise NasvizError(f"{cls.name}: moves must be >= 0; got {params['moves']}")
        _check_eps(params, cls.name)
        if float(params["sigma"]) <= 0:
            raise NasvizError(f"{cls.name}: sigma must be > 0; got {params['sigma']}")
        if not 0 <= float(params["semi_weight"]) <= 1:
            raise NasvizError(f"{cls.name}: semi_weight must be in [0, 1]; got {params['semi_weight']}")
        if not isinstance(params["dense"], bool):
            raise NasvizError(f"{cls.name}: dense must be true or false; got {params['dense']!r}")

    def __init__(self, problem, rng, **params) -> None:
        region = params.pop("region", None)
        super().__init__(problem, rng, **params)
        import torch

        from nasviz.search.numerics import torch_device

        self.torch = torch
        self.dev = torch_device(self.device)
        p = self.params
        self.Z = standardized_embedding(problem, p["embedding"])
        self.Zt = torch.as_tensor(self.Z, dtype=torch.float32, device=self.dev)
        self.sqn = (self.Z**2).sum(axis=1)
        self.n = self.Z.shape[0]
        self.results = ResultCounter(problem, p["embedding"], *embedding_stats(problem, p["embedding"]))
        self.gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        self.flops = problem.flops if problem.flops is not None else np.zeros(self.n)
        self.F = float(np.max(self.flops)) if p["flops_limit"] is None else float(p["flops_limit"])
        span = float(np.ptp(self.flops)) or 1.0
        self.edge = np.flatnonzero((self.flops <= self.F) & (self.flops >= self.F - float(p["flops_edge"]) * span))
        self.region_cells = self._region_cells(region)
        self.eps1 = float(p["eps1"]) if p["dense"] else 0.0
        self.eps2 = float(p["eps2"]) if p["dense"] else 0.0
        self.queried = np.zeros(self.n, dtype=bool)
        self.X_idx: list[int] = []
        self.y: list[float] = []
        self.pseudo: dict[int, float] = {}
        self.queue: deque[int] = deque()
        self.f_acc = self._mlp(self.Z.shape[1])
        self.opt = torch.optim.Adam(self.f_acc.parameters(), lr=1e-2)
        self.f_flops = self._fit_flops() if float(p["eta2"]) > 0 else None
        self.rounds = 0
        self.sampled = {"region": 0, "edge": 0, "anywhere": 0, "moves": 0}

    # -- models ---------------------------------------------------------------------------
    def _mlp(self, d: int):
        torch = self.torch
        h = int(self.params["hidden"])
        net = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.Tanh(), torch.nn.Linear(h, h), torch.nn.Tanh(),
                                  torch.nn.Linear(h, 1))
        with torch.no_grad():
            for prm in net.parameters():
                prm.uniform_(-1 / np.sqrt(prm.shape[-1]), 1 / np.sqrt(prm.shape[-1]), generator=self.gen)
        return net.to(self.dev)

    def _fit_flops(self):
        torch = self.torch
        net = self._mlp(self.Z.shape[1])
        idx = self.rng.choice(self.n, size=min(2000, self.n), replace=False)
        y = np.log1p(self.flops[idx])
        ym, ys = y.mean(), y.std() or 1.0
        X = self.Zt[idx]
        yt = torch.as_tensor((y - ym) / ys, dtype=torch.float32, device=self.dev)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(200):
            opt.zero_grad()
            loss = ((net(X).squeeze(1) - yt) ** 2).mean()
            loss.backward()
            opt.step()
        return net

    def _train_acc(self) -> None:
        torch = self.torch
        idx = list(self.X_idx)
        y = list(self.y)
        w = [1.0] * len(idx)
        sw = float(self.params["semi_weight"])
        if sw > 0:
            for i, v in self.pseudo.items():
                if not self.queried[i]:
                    idx.append(i)
                    y.append(v)
                    w.append(sw)
        yv = np.asarray(y)
        self.ym, self.ys = float(np.mean(self.y)), float(np.std(self.y) or 1.0)
        X = self.Zt[idx]
        yt = torch.as_tensor((yv - self.ym) / self.ys, dtype=torch.float32, device=self.dev)
        wt = torch.as_tensor(w, dtype=torch.float32, device=self.dev)
        for _ in range(int(self.params["epochs"])):
            self.opt.zero_grad()
            loss = (wt * (self.f_acc(X).squeeze(1) - yt) ** 2).sum() / wt.sum()
            loss.backward()
            self.opt.step()

    def _predict(self, idx: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            return self.f_acc(self.Zt[idx]).squeeze(1).cpu().numpy() * self.ys + self.ym

    # -- sampling ---------------------------------------------------------------------------
    def _region_cells(self, region) -> np.ndarray | None:
        return None

    def _nearest(self, z: np.ndarray, exclude_queried: bool = False) -> int:
        self.results.note(z)
        d = self.sqn - 2.0 * self.Z @ z
        if exclude_queried and not self.queried.all():
            d = np.where(self.queried, np.inf, d)
        return int(np.argmin(d))

    def _promising_point(self) -> np.ndarray:
        """A uniform point of R = prod_s U_{i in top-k} [z_is - sigma, z_is + sigma] (Eq. 4)."""
        order = np.argsort(-np.asarray(self.y), kind="stable")[: int(self.params["top_k"])]
        top = self.Z[np.asarray(self.X_idx)[order]]  # (k, S)
        pick = self.rng.integers(len(top), size=top.shape[1])
        sigma = float(self.params["sigma"])
        return top[pick, np.arange(top.shape[1])] + self.rng.uniform(-sigma, sigma, size=top.shape[1])

    def _sample_candidate(self) -> int:
        u = self.rng.random()
        if u < self.eps1:
            self.sampled["region"] += 1
            if self.region_cells is not None:
                return int(self.region_cells[int(self.rng.integers(len(self.region_cells)))])
            return self._nearest(self._promising_point())
        if u < self.eps1 + self.eps2 and len(self.edge):
            self.sampled["edge"] += 1
            return int(self.edge[int(self.rng.integers(len(self.edge)))])
        self.sampled["anywhere"] += 1
        return int(self.rng.integers(self.n))

    def _move(self, i: int) -> int:
        """Eq. 7 from cell i, decoded to the nearest unqueried cell."""
        torch = self.torch
        z = self.Zt[i].clone().requires_grad_(True)
        g_acc = torch.autograd.grad(self.f_acc(z.unsqueeze(0)).sum(), z)[0].cpu().numpy().astype(np.float64)
        step = float(self.params["eta1"]) * g_acc / (np.linalg.norm(g_acc) or 1.0)
        if self.f_flops is not None:
            z2 = self.Zt[i].clone().requires_grad_(True)
            g_fl = torch.autograd.grad(self.f_flops(z2.unsqueeze(0)).sum(), z2)[0].cpu().numpy().astype(np.float64)
            step -= float(self.params["eta2"]) * g_fl / (np.linalg.norm(g_fl) or 1.0)
        return self._nearest(self.Z[i] + step, exclude_queried=True)

    def _round(self) -> None:
        p = self.params
        self.rounds += 1
        self._train_acc()
        cand = {self._sample_candidate() for _ in range(int(p["candidates"]))}
        cand = np.asarray(sorted(c for c in cand if not self.queried[c] and self.flops[c] <= self.F), dtype=np.int64)
        picks: list[int] = []
        if len(cand):
            pred = self._predict(cand)
            order = np.argsort(-pred, kind="stable")
            picks = [int(c) for c in cand[order[: int(p["per_round"])]]]
            # D-hat (Algorithm 1, steps 8-9): this round's candidates with predicted labels,
            # used with D' when the predictor is retrained next round
            self.pseudo = {int(c): float(v) for c, v in zip(cand.tolist(), pred.tolist())}
        if int(p["moves"]) > 0:
            ok = [i for i in np.asarray(self.X_idx)[np.argsort(-np.asarray(self.y), kind="stable")]
                  if self.flops[i] <= self.F + float(p["tau"])]
            for i in ok[: int(p["moves"])]:
                j = self._move(int(i))
                if j not in picks:
                    picks.append(j)
                    self.sampled["moves"] += 1
        if not picks:  # everything screened out: fall back to a random unqueried cell
            free = np.flatnonzero(~self.queried)
            picks = [int(free[int(self.rng.integers(len(free)))])]
        self.queue.extend(picks)

    # -- ask / tell -----------------------------------------------------------------------------
    def ask(self):
        if len(self.y) < int(self.params["n_init"]):
            if self.region_cells is not None and self.rng.random() < self.eps1:
                return self.problem.cell(int(self.region_cells[int(self.rng.integers(len(self.region_cells)))]))
            return self.problem.cell(int(self.rng.integers(self.n)))
        while self.queue and self.queried[self.queue[0]]:
            self.queue.popleft()
        if not self.queue:
            self._round()
        return self.problem.cell(self.queue.popleft())

    def tell(self, cell, value) -> None:
        if value is None:
            return
        i = self.problem.index(cell)
        if i is None or self.queried[i]:
            return
        self.queried[i] = True
        self.X_idx.append(i)
        self.y.append(float(value))

    def extra_stats(self) -> dict:
        return {"rounds": self.rounds, "sampled": dict(self.sampled), **self.results.stats()}


class RegionSearch(DenseSampling):
    name = "region"
    takes_region = True
    needs_region = True
    defaults: dict[str, Any] = dict(DenseSampling.defaults, embedding=None, eps1=0.8, eps2=0.0, moves=0)

    def __init__(self, problem, rng, **params) -> None:
        if params.get("region") is None:
            raise NasvizError("strategy 'region' needs a region (--region FILE)")
        if params.get("embedding") is None:
            params["embedding"] = params["region"]["embedding"]
        super().__init__(problem, rng, **params)

    @classmethod
    def space_defaults(cls, params, space_name):
        return params

    @classmethod
    def check(cls, params, space_name) -> None:
        p = dict(params)
        p["embedding"] = p["embedding"] or "region"
        super().check(p, space_name)

    def _region_cells(self, region) -> np.ndarray:
        from nasviz.search.region import region_mask

        return np.flatnonzero(region_mask(region, problem=self.problem))

    def extra_stats(self) -> dict:
        d = super().extra_stats()
        d["region_cells"] = int(len(self.region_cells))
        return d
