"""Search in a pretrained latent space (arch2vec, Yan et al., NeurIPS 2020; paper 003 section 3.3).

Both strategies take ``embedding``: a matrix with one row per benchmark cell, in
table order (NB201: official index order), resolved by
:func:`nasviz.search.embeddings.load_embedding` -- ``"arch2vec"`` (the pretrained
unsupervised embedding, default), any other precomputed name, or ``"onehot"`` (the
discrete encoding, arch2vec's comparison arm). Columns are standardised (zero mean,
unit variance) before use, so length scales, the policy's identity covariance and
distances mean the same thing for every embedding.

arch2vec-BO (section 3.3.2 / Appendix A)
    ``n_init`` random cells (16), then rounds: fit a surrogate to every queried cell,
    score every unqueried cell by expected improvement, query the ``top_k`` best.
    ``surrogate="gp"``: scikit-learn ``GaussianProcessRegressor`` (Matern 5/2 +
    white noise, normalised targets); ``"dngo"``: the paper's DNGO -- a one-hidden-layer
    (128 tanh) network trained 100 epochs with Adam (lr 1e-2), then Bayesian linear
    regression on its hidden features. The paper selects the top-5 per round for NB101
    and the best one per round for NB201; ``top_k`` defaults to 5 for both here because
    one surrogate fit per query makes 50-seed benchmarks too slow on a shared CPU.
    ``ei_best``: the incumbent of EI (default: the best value seen; the paper fixes it
    to 1.0, i.e. 100 %).

arch2vec-RL (section 3.3.1 / Appendix A)
    REINFORCE with a Gaussian policy: a one-layer LSTM (hidden 128) reads the current
    cell's embedding and outputs the mean of ``N(mu, I)``; the sampled point is mapped
    to a valid cell by nearest-neighbour retrieval (L2) and that cell's embedding is the
    next state. Episodes of 16 steps, Adam lr 1e-2, discount 0.4 and baseline decay 0.4
    for NB201 (0.8 / 0.95 for NB101), reward = accuracy / 100. ``retrieval="nearest"``
    is the paper's rule (the nearest cell, possibly one already queried: a duplicate,
    free of budget); ``"unvisited"`` takes the nearest cell not queried yet.

Devices: arch2vec-RL (its policy) and arch2vec-BO with the DNGO surrogate (its
network) compute on ``device`` ("cpu" or "cuda"); the GP surrogate is scikit-learn and
CPU only, so arch2vec-BO refuses cuda with it. Random numbers are drawn on the CPU from
the seeded generators and moved to the device, so only float rounding differs between
a cpu and a cuda run of the same seed.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from nasviz.errors import NasvizError
from nasviz.search.strategies import Strategy, _positive_int


def standardized_embedding(problem, name: str) -> np.ndarray:
    from nasviz.search.embeddings import load_embedding

    z = np.asarray(load_embedding(problem, name), dtype=np.float64)
    sd = z.std(axis=0)
    sd[sd == 0] = 1.0
    return (z - z.mean(axis=0)) / sd


class ResultCounter:
    """Counts latent points whose nearest cell of the *whole* space has no benchmark result.

    On a sampled benchmark (NB101: results for 30,001 of 423,624 cells) the strategies decode
    a latent point to the nearest cell *that has a result* (the embedding's sample rows, see
    :func:`nasviz.search.embeddings.load_embedding`), so no proposal is ever a cell without
    one. When the embedding covers the whole space this counter also decodes against every
    cell and counts how often the unrestricted nearest cell had no result
    (``decoded_without_result`` in the run's statistics): how often the sample, not the
    latent space, chose the proposal. Inactive (``None`` state, no cost) otherwise.
    """

    def __init__(self, problem, name: str, mean: np.ndarray, sd: np.ndarray) -> None:
        from nasviz.search.embeddings import whole_space_embedding

        self.count = 0
        self.decoded = 0
        full = whole_space_embedding(problem, name)
        self.active = full is not None
        if self.active:
            z, self.has_result = full
            self.Z = ((np.asarray(z, dtype=np.float64) - mean) / sd).astype(np.float32)
            self.sqn = (self.Z.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)

    def note(self, a: np.ndarray) -> None:
        if not self.active:
            return
        self.decoded += 1
        j = int(np.argmin(self.sqn - 2.0 * (self.Z @ np.asarray(a, dtype=np.float32))))
        if not self.has_result[j]:
            self.count += 1

    def stats(self) -> dict:
        return {"decoded_without_result": self.count, "decoded_points": self.decoded} if self.active else {}


def embedding_stats(problem, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (0 -> 1) of the embedding's table rows."""
    from nasviz.search.embeddings import load_embedding

    z = np.asarray(load_embedding(problem, name), dtype=np.float64)
    sd = z.std(axis=0)
    sd[sd == 0] = 1.0
    return z.mean(axis=0), sd


def expected_improvement(mu: np.ndarray, sigma: np.ndarray, best: float) -> np.ndarray:
    from scipy.stats import norm

    sigma = np.maximum(sigma, 1e-12)
    g = (mu - best) / sigma
    return sigma * (g * norm.cdf(g) + norm.pdf(g))


class _GP:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "_GP":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(length_scale=3.0, length_scale_bounds=(1e-2, 1e3), nu=2.5) \
            + WhiteKernel(1e-2, (1e-6, 1e1))
        self.gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=0,
                                           random_state=self.seed)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.gp.fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, sd = self.gp.predict(X, return_std=True)
        return mu, sd


class _DNGO:
    """Adaptive basis regression (Snoek et al. 2015): NN features + Bayesian linear regression."""

    def __init__(self, seed: int, hidden: int = 128, epochs: int = 100, lr: float = 1e-2, device=None) -> None:
        self.seed, self.hidden, self.epochs, self.lr = seed, hidden, epochs, lr
        self.device = device

    def fit(self, X: np.ndarray, y: np.ndarray) -> "_DNGO":
        import torch

        g = torch.Generator().manual_seed(self.seed)
        dev = self.device or torch.device("cpu")
        self.ym, self.ys = float(y.mean()), float(y.std() or 1.0)
        Xt = torch.as_tensor(X, dtype=torch.float32, device=dev)
        yt = torch.as_tensor((y - self.ym) / self.ys, dtype=torch.float32, device=dev)
        d = X.shape[1]
        # initial weights drawn on the CPU (the same on every device), then moved
        W1 = (torch.randn(d, self.hidden, generator=g) / np.sqrt(d)).to(dev).requires_grad_()
        b1 = torch.zeros(self.hidden, device=dev, requires_grad=True)
        w2 = (torch.randn(self.hidden, generator=g) / np.sqrt(self.hidden)).to(dev).requires_grad_()
        b2 = torch.zeros(1, device=dev, requires_grad=True)
        opt = torch.optim.Adam([W1, b1, w2, b2], lr=self.lr)
        for _ in range(self.epochs):
            opt.zero_grad()
            pred = torch.tanh(Xt @ W1 + b1) @ w2 + b2
            loss = ((pred - yt) ** 2).mean()
            loss.backward()
            opt.step()
        self.W1, self.b1 = W1.detach().cpu().numpy().astype(np.float64), b1.detach().cpu().numpy().astype(np.float64)
        yt = yt.cpu()
        Phi = self._phi(X)
        # Bayesian linear regression with prior precision alpha and noise precision beta (evidence-free:
        # beta from the training residual of the network's own head, alpha = 1).
        resid = (Phi @ np.append(w2.detach().cpu().numpy(), b2.detach().cpu().numpy()) - yt.numpy())
        self.beta = 1.0 / max(float(np.mean(resid**2)), 1e-3)
        alpha = 1.0
        A = alpha * np.eye(Phi.shape[1]) + self.beta * Phi.T @ Phi
        self.A_inv = np.linalg.inv(A)
        self.m = self.beta * self.A_inv @ Phi.T @ yt.numpy()
        return self

    def _phi(self, X: np.ndarray) -> np.ndarray:
        H = np.tanh(X @ self.W1 + self.b1)
        return np.hstack([H, np.ones((H.shape[0], 1))])

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Phi = self._phi(X)
        mu = Phi @ self.m
        var = 1.0 / self.beta + ((Phi @ self.A_inv) * Phi).sum(axis=1)
        return mu * self.ys + self.ym, np.sqrt(np.maximum(var, 1e-12)) * self.ys


SURROGATES = {"gp": _GP, "dngo": _DNGO}


class Arch2VecBO(Strategy):
    name = "arch2vec-bo"
    latent = True
    uses_device = True
    defaults: dict[str, Any] = {"embedding": "arch2vec", "n_init": 16, "top_k": 5, "surrogate": "gp",
                                "ei_best": None}

    @classmethod
    def check(cls, params, space_name) -> None:
        _positive_int(params, "n_init", cls.name)
        _positive_int(params, "top_k", cls.name)
        if params["surrogate"] not in SURROGATES:
            raise NasvizError(f"{cls.name}: surrogate must be one of {', '.join(SURROGATES)}; got {params['surrogate']!r}")
        if not isinstance(params["embedding"], str):
            raise NasvizError(f"{cls.name}: embedding must be a name; got {params['embedding']!r}")

    @classmethod
    def computes_on_device(cls, params) -> bool:
        return params.get("surrogate") == "dngo"  # the GP is scikit-learn (CPU)

    def __init__(self, problem, rng, **params) -> None:
        super().__init__(problem, rng, **params)
        self.Z = standardized_embedding(problem, self.params["embedding"])
        self.dev = None
        if self.params["surrogate"] == "dngo":
            from nasviz.search.numerics import torch_device

            self.dev = torch_device(self.device)
        self.X_idx: list[int] = []
        self.y: list[float] = []
        self.queried = np.zeros(self.Z.shape[0], dtype=bool)
        self.queue: deque[int] = deque()
        self.fits = 0

    def ask(self):
        if len(self.y) < int(self.params["n_init"]):
            return self.problem.cell(int(self.rng.integers(self.Z.shape[0])))
        if not self.queue:
            self._round()
        return self.problem.cell(self.queue.popleft())

    def _round(self) -> None:
        X = self.Z[self.X_idx]
        y = np.asarray(self.y)
        seed = int(self.rng.integers(2**31))
        model = (_DNGO(seed, device=self.dev) if self.params["surrogate"] == "dngo" else _GP(seed)).fit(X, y)
        self.fits += 1
        cand = np.flatnonzero(~self.queried)
        mu, sd = model.predict(self.Z[cand])
        best = float(y.max()) if self.params["ei_best"] is None else float(self.params["ei_best"])
        ei = expected_improvement(mu, sd, best)
        k = min(int(self.params["top_k"]), len(cand))
        top = cand[np.argsort(-ei, kind="stable")[:k]]
        self.queue.extend(int(i) for i in top)

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
        return {"surrogate_fits": self.fits}


class Arch2VecRL(Strategy):
    name = "arch2vec-rl"
    latent = True
    uses_device = True
    defaults: dict[str, Any] = {"embedding": "arch2vec", "hidden": 128, "lr": 1e-2, "episode": 16,
                                "discount": None, "baseline_decay": None, "retrieval": "nearest"}

    @classmethod
    def space_defaults(cls, params, space_name):
        d, b = (0.4, 0.4) if space_name == "nb201" else (0.8, 0.95)
        params["discount"] = d if params["discount"] is None else params["discount"]
        params["baseline_decay"] = b if params["baseline_decay"] is None else params["baseline_decay"]
        return params

    @classmethod
    def check(cls, params, space_name) -> None:
        _positive_int(params, "hidden", cls.name)
        _positive_int(params, "episode", cls.name)
        for k in ("discount", "baseline_decay"):
            if not 0 <= float(params[k]) <= 1:
                raise NasvizError(f"{cls.name}: {k} must be in [0, 1]; got {params[k]}")
        if params["retrieval"] not in ("nearest", "unvisited"):
            raise NasvizError(f"{cls.name}: retrieval must be 'nearest' or 'unvisited'; got {params['retrieval']!r}")

    def __init__(self, problem, rng, **params) -> None:
        super().__init__(problem, rng, **params)
        import torch

        from nasviz.search.numerics import torch_device

        self.torch = torch
        self.dev = torch_device(self.device)
        self.Z = standardized_embedding(problem, self.params["embedding"])
        self.Zt = torch.as_tensor(self.Z, dtype=torch.float32, device=self.dev)
        self.sqn = (self.Z**2).sum(axis=1)
        d = self.Z.shape[1]
        self.gen = torch.Generator().manual_seed(int(rng.integers(2**62)))  # CPU: the same draws on every device
        self.lstm = torch.nn.LSTMCell(d, int(self.params["hidden"]))
        self.head = torch.nn.Linear(int(self.params["hidden"]), d)
        with torch.no_grad():
            for p in list(self.lstm.parameters()) + list(self.head.parameters()):
                p.uniform_(-0.1, 0.1, generator=self.gen)
        self.lstm.to(self.dev)
        self.head.to(self.dev)
        self.opt = torch.optim.Adam(list(self.lstm.parameters()) + list(self.head.parameters()),
                                    lr=float(self.params["lr"]))
        self.visited = np.zeros(self.Z.shape[0], dtype=bool)
        self.baseline: float | None = None
        self.results = ResultCounter(problem, self.params["embedding"], *embedding_stats(problem, self.params["embedding"]))
        self._new_episode()

    def _new_episode(self) -> None:
        torch = self.torch
        h = int(self.params["hidden"])
        self.hc = (torch.zeros(1, h, device=self.dev), torch.zeros(1, h, device=self.dev))
        self.state = int(self.rng.integers(self.Z.shape[0]))  # start from a random cell
        self.logps: list = []
        self.rewards: list[float] = []
        self._pending = None

    def _nearest(self, a: np.ndarray) -> int:
        self.results.note(a)
        d = self.sqn - 2.0 * self.Z @ a
        if self.params["retrieval"] == "unvisited" and not self.visited.all():
            d = np.where(self.visited, np.inf, d)
        return int(np.argmin(d))

    def ask(self):
        torch = self.torch
        x = self.Zt[self.state].unsqueeze(0)
        h, c = self.lstm(x, self.hc)
        self.hc = (h, c)
        mu = self.head(h)[0]
        eps = torch.randn(mu.shape, generator=self.gen).to(self.dev)
        a = (mu + eps).detach()
        logp = -0.5 * ((a - mu) ** 2).sum()  # N(mu, I), constants dropped
        nxt = self._nearest(a.cpu().numpy().astype(np.float64))
        self._pending = (logp, nxt)
        return self.problem.cell(nxt)

    def tell(self, cell, value) -> None:
        if self._pending is None:
            return
        logp, nxt = self._pending
        self._pending = None
        r = 0.0 if value is None else float(value) / 100.0
        self.visited[nxt] = True
        self.logps.append(logp)
        self.rewards.append(r)
        self.state = nxt
        if len(self.rewards) >= int(self.params["episode"]):
            self._update()

    def _update(self) -> None:
        torch = self.torch
        g = float(self.params["discount"])
        R, returns = 0.0, []
        for r in reversed(self.rewards):
            R = r + g * R
            returns.append(R)
        returns.reverse()
        dec = float(self.params["baseline_decay"])
        mean_r = float(np.mean(returns))
        self.baseline = mean_r if self.baseline is None else dec * self.baseline + (1 - dec) * mean_r
        adv = torch.tensor([Rt - self.baseline for Rt in returns], dtype=torch.float32, device=self.dev)
        loss = -(torch.stack(self.logps) * adv).sum()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self._new_episode()

    def extra_stats(self) -> dict:
        return self.results.stats()
