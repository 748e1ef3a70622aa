"""REINFORCE with the ENAS controller (Williams 1992; Pham et al. 2018).

The policy is :class:`nasviz.controllers.enas.ENASController` (an LSTM emitting one
categorical decision per edge). The controller samples ``batch`` cells in one pass;
they are asked one by one, and once all are told it makes one policy-gradient step
``-mean((r - b) * log p(cell)) - w_ent * mean(H)`` with Adam, reward
``r = accuracy / 100`` and an exponential-moving-average baseline ``b`` (per sample).
``batch=1`` is the per-sample update of NB201's baseline; the default 8 is ENAS-style
batching, 8x cheaper per proposal (a converged controller proposes mostly cells it has
already queried, which cost no budget but do cost controller passes).
NAS-Bench-201's own REINFORCE baseline uses Adam, learning rate 0.01 (NATS-Bench
``reinforce.py --learning_rate 0.01``) and EMA momentum 0.9; those are the defaults.

``device="cuda"`` puts the controller and its optimiser on the GPU. The initial
weights are drawn on the CPU from the seeded generator either way, so both devices
start from the same controller; the decisions are then sampled with a generator on the
controller's device (seeded from the first), so a cuda run is reproducible from its
seed but is another run than the cpu one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasviz.errors import NasvizError
from nasviz.search.strategies import Strategy


def _controller_cls():
    try:
        from nasviz.controllers.enas import ControllerConfig, ENASController, get_decision_space
    except ImportError as e:  # the controller package is optional in a partial install
        raise NasvizError(f"strategy 'reinforce' needs the ENAS controller (nasviz.controllers.enas): {e}") from e
    return ControllerConfig, ENASController, get_decision_space


class Reinforce(Strategy):
    name = "reinforce"
    uses_device = True
    defaults: dict[str, Any] = {"lr": 0.01, "ema": 0.9, "entropy_weight": 0.0, "hidden_size": 64, "batch": 8}

    @classmethod
    def check(cls, params, space_name) -> None:
        if not 0 < float(params["lr"]) < 10:
            raise NasvizError(f"reinforce: lr must be in (0, 10); got {params['lr']}")
        if not 0 <= float(params["ema"]) < 1:
            raise NasvizError(f"reinforce: ema must be in [0, 1); got {params['ema']}")
        if not isinstance(params["batch"], int) or params["batch"] < 1:
            raise NasvizError(f"reinforce: batch must be a positive integer; got {params['batch']!r}")

    def __init__(self, problem, rng, **params) -> None:
        super().__init__(problem, rng, **params)
        import torch

        ControllerConfig, ENASController, get_decision_space = _controller_cls()
        ds = get_decision_space(problem.space_name)
        if not getattr(ds, "always_valid", True):  # NB101: sequences can fall outside the space
            raise NasvizError(f"no controller for space {problem.space_name!r} in search yet: its decision sequences "
                              "can fall outside the space (see nasviz.controllers.nb101); reinforce search runs on nb201")
        from nasviz.search.numerics import torch_device

        self.dev = torch_device(self.device)
        self._gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        cfg = ControllerConfig(space=problem.space_name, choices=tuple(ds.choices),
                               hidden_size=int(self.params["hidden_size"]))
        self.controller = ENASController(cfg)
        self.controller.reset_parameters(generator=self._gen)  # on the CPU: the same start on every device
        if self.dev.type != "cpu":
            self.controller.to(self.dev)
            self._gen = torch.Generator(device=self.dev).manual_seed(int(self._gen.initial_seed()) + 1)
        self.opt = torch.optim.Adam(self.controller.parameters(), lr=float(self.params["lr"]))
        self.baseline: float | None = None
        self._pending = None

    def ask(self):
        if self._pending is None or self._next >= len(self._pending.cells):
            self._pending = self.controller.sample(int(self.params["batch"]), generator=self._gen)
            self._next = 0
            self._rewards: list[float | None] = []
        cell = self._pending.cells[self._next]
        self._next += 1
        return cell

    def tell(self, cell, value) -> None:
        if self._pending is None:
            return
        self._rewards.append(None if value is None else float(value) / 100.0)
        if len(self._rewards) < len(self._pending.cells):
            return
        import torch

        roll, self._pending = self._pending, None
        m = float(self.params["ema"])
        adv = []
        for r in self._rewards:
            if r is None:
                adv.append(0.0)
                continue
            b = r if self.baseline is None else self.baseline
            adv.append(r - b)
            self.baseline = r if self.baseline is None else m * self.baseline + (1 - m) * r
        a = torch.tensor(adv, dtype=torch.float32, device=self.dev)
        loss = -(a * roll.log_probs).mean() - float(self.params["entropy_weight"]) * roll.entropies.mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()

    def probabilities(self) -> np.ndarray:
        """(T, K) current per-decision probabilities of the most recent sample (for display)."""
        roll = self.controller.sample(1, generator=None)
        return np.stack([p[0].detach().cpu().numpy() for p in roll.step_probs])
