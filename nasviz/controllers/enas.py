"""ENAS-style LSTM controller for cell search spaces.

References:
  * Pham et al., "Efficient Neural Architecture Search via Parameter Sharing",
    ICML 2018 (the controller: one LSTM cell, the embedding of the previous decision
    is the next input, logits squashed by ``tanh_c * tanh(logits / temperature)``).
  * Adam & Lorraine, "Understanding Neural Architecture Search Techniques"
    (``shared/papers/001_*``): the analysis of its hidden state, and the
    memory-buffer reconstruction loss (see :mod:`nasviz.controllers.train`).

Decision order
--------------
A space is seen by the controller as a fixed sequence of categorical decisions
(:class:`DecisionSpace`). NB201: six decisions, the op on each edge in the official
string order ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2``, 5 choices each
(:data:`nasviz.spaces.nb201.OPS`). Every decision sequence is a valid NB201 cell,
so nothing has to be resampled or repaired.

NB101: 26 decisions, for each vertex 1..6 its op (interior vertices, 3 choices)
then one binary input decision per earlier vertex; sequences outside the space
(no input -> output path, more than 9 edges after pruning) and valid cells the
benchmark table lacks are handled as documented in :mod:`nasviz.controllers.nb101`.

Time steps
----------
Step 0 reads a learned start token; step t > 0 reads the embedding of decision t-1
(one embedding table, each decision's choices at their own offset, as in ENAS).
Step t emits the logits of decision t from its hidden state. After the last
decision its embedding is fed through the LSTM cell once more, with no decision
emitted: that state is the *final hidden state* ``h(A)`` used as the latent code.
We include the last decision on purpose: without it, the 5 NB201 cells that differ
only on the last edge would share one code. (The paper's wording, "the hidden
state at the final time-step of the sampling process", allows either reading.)

Checkpoint = ``{"model": state_dict, "config": asdict(cfg)}`` stored as
safetensors + JSON (:mod:`nasviz.controllers.io`); ``ENASController(ControllerConfig(**cfg))``
rebuilds it.
"""

from __future__ import annotations

import copy

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from nasviz.errors import NasvizError


# -- what the controller sees of a space --------------------------------------------------
class DecisionSpace(Protocol):
    """A search space as a fixed sequence of categorical decisions."""

    name: str
    choices: tuple[int, ...]  # number of options of each decision, in decision order
    always_valid: bool  # False when some sequences are outside the space (try_decode -> None)

    def encode(self, cell: Any) -> tuple[int, ...]: ...
    def decode(self, decisions: Sequence[int]) -> Any: ...
    def to_index(self, decisions: np.ndarray) -> np.ndarray: ...
    def all_decisions(self) -> np.ndarray: ...
    def rows(self, decisions: np.ndarray, bench) -> tuple[np.ndarray, np.ndarray]:
        """(benchmark row whose value is the reward, -1 outside the space; status 0/1/2 =
        in table / mapped to the nearest table cell / outside the space)."""
        ...


class NB201Decisions:
    """NB201 as 6 op decisions in official edge order (every sequence is a valid cell)."""

    name = "nb201"
    always_valid = True  # every decision sequence is a cell

    def __init__(self, space=None) -> None:
        from nasviz.spaces.nb201 import N_EDGES, N_OPS, NB201Space

        self.space = space if space is not None else NB201Space()
        self.choices = (N_OPS,) * N_EDGES
        ops = np.asarray(self.space.index_ops, dtype=np.int64)
        self._weights = N_OPS ** np.arange(N_EDGES - 1, -1, -1, dtype=np.int64)  # base-5, edge 0 first
        self._code_to_index = np.full(N_OPS**N_EDGES, -1, dtype=np.int64)
        self._code_to_index[ops @ self._weights] = np.arange(len(ops))
        self._index_ops = ops

    def encode(self, cell: Any) -> tuple[int, ...]:
        from nasviz.spaces.nb201 import NB201Cell

        if isinstance(cell, NB201Cell):
            return cell.ops
        if isinstance(cell, (str, int, np.integer)):
            return self.space.parse(cell).ops  # raises NasvizError with the accepted forms
        raise NasvizError(
            f"cannot teacher-force {type(cell).__name__} {cell!r} on an NB201 controller: give an NB201Cell, "
            "an official NB201 string or an official index 0..15624"
        )

    def decode(self, decisions: Sequence[int]):
        from nasviz.spaces.nb201 import NB201Cell

        return NB201Cell(tuple(int(d) for d in decisions))

    def to_index(self, decisions: np.ndarray) -> np.ndarray:
        """(n, 6) decisions -> (n,) official NB201 indices."""
        d = np.asarray(decisions, dtype=np.int64)
        return self._code_to_index[d @ self._weights]

    def all_decisions(self) -> np.ndarray:
        """(15625, 6) decisions of every cell, in official index order."""
        return self._index_ops.copy()

    def try_decode(self, decisions: Sequence[int]):
        return self.decode(decisions)

    def rows(self, decisions: np.ndarray, bench) -> tuple[np.ndarray, np.ndarray]:
        """Benchmark rows are official indices; every sequence is a cell with a result (status 0)."""
        idx = self.to_index(decisions)
        return idx, np.zeros(len(idx), dtype=np.int64)


def _nb101_decisions() -> DecisionSpace:
    from nasviz.controllers.nb101 import NB101Decisions

    return NB101Decisions()


#: Decision views of the spaces a controller can search (a factory per space name).
DECISION_SPACES: dict[str, Callable[[], DecisionSpace]] = {"nb201": NB201Decisions, "nb101": _nb101_decisions}
_DS_CACHE: dict[str, DecisionSpace] = {}


def get_decision_space(name: str) -> DecisionSpace:
    key = str(name).lower()
    if key not in DECISION_SPACES:
        raise NasvizError(
            f"no controller for space {name!r}; accepted: {', '.join(sorted(DECISION_SPACES))}"
        )
    if key not in _DS_CACHE:
        _DS_CACHE[key] = DECISION_SPACES[key]()
    return _DS_CACHE[key]


# -- the model ---------------------------------------------------------------------------
@dataclass
class ControllerConfig:
    space: str = "nb201"  # which DecisionSpace the decisions belong to
    choices: tuple[int, ...] = (5, 5, 5, 5, 5, 5)  # options per decision (NB201: 6 edges x 5 ops)
    hidden_size: int = 64  # LSTM hidden size (ENAS-pytorch uses 100; the issue asks for 64)
    embed_size: int = 64  # size of the decision embeddings and of the start token
    temperature: float = 5.0  # logits / temperature ... (ENAS-pytorch default)
    tanh_c: float = 2.5  # ... then tanh_c * tanh(.) bounds them to [-2.5, 2.5] (ENAS-pytorch)
    init_range: float = 0.1  # uniform(-r, r) init of every weight, as ENAS-pytorch

    def __post_init__(self) -> None:
        self.choices = tuple(int(c) for c in self.choices)
        if not self.choices or min(self.choices) < 2:
            raise NasvizError(f"every decision needs at least 2 options; got choices={self.choices}")
        if self.hidden_size < 1 or self.embed_size < 1:
            raise NasvizError("hidden_size and embed_size must be positive")


@dataclass
class Rollout:
    """What the controller did for a batch of n cells (sampled or teacher-forced)."""

    decisions: torch.Tensor  # (n, T) int64
    log_probs: torch.Tensor  # (n,) sum over steps of log p(decision_t | past)
    entropies: torch.Tensor  # (n,) sum over steps of the entropy of each step's distribution
    step_probs: list[torch.Tensor]  # T tensors (n, choices_t): the distribution at each step
    hidden: torch.Tensor  # (n, H) final hidden state h(A) (after reading the last decision)
    cells: list = field(default_factory=list)  # decoded cells (sampling only; None for a sequence outside the space)

    @property
    def max_probs(self) -> torch.Tensor:
        """(n, T) probability of the most likely action at each step (paper Fig. 1/4)."""
        return torch.stack([p.max(dim=1).values for p in self.step_probs], dim=1)


class ENASController(nn.Module):
    """One LSTMCell; input = learned start token, then the previous decision's embedding."""

    def __init__(self, config: ControllerConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.offsets = [int(x) for x in np.concatenate([[0], np.cumsum(c.choices)[:-1]])]
        self.start = nn.Parameter(torch.zeros(c.embed_size))
        self.embed = nn.Embedding(int(sum(c.choices)), c.embed_size)
        self.lstm = nn.LSTMCell(c.embed_size, c.hidden_size)
        self.heads = nn.ModuleList(nn.Linear(c.hidden_size, k) for k in c.choices)
        self.reset_parameters()

    @property
    def n_decisions(self) -> int:
        return len(self.config.choices)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        r = self.config.init_range
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-r, r, generator=generator)
            for h in self.heads:
                h.bias.zero_()

    def _logits(self, h: torch.Tensor, t: int) -> torch.Tensor:
        c = self.config
        return c.tanh_c * torch.tanh(self.heads[t](h) / c.temperature)  # (n, choices_t)

    def _run(self, n: int, forced: torch.Tensor | None, generator: torch.Generator | None) -> Rollout:
        """Run ``n`` rows; the last ``len(forced)`` rows follow ``forced``, the others are sampled.

        Mixing lets a training step sample its policy-gradient batch and teacher-force
        its reconstruction batch in one pass (rows are independent).
        """
        c = self.config
        dev = self.start.device
        m = 0 if forced is None else int(forced.shape[0])
        s = n - m  # sampled rows come first
        h = torch.zeros(n, c.hidden_size, device=dev, dtype=self.start.dtype)
        cs = torch.zeros(n, c.hidden_size, device=dev, dtype=self.start.dtype)
        x = self.start.unsqueeze(0).expand(n, -1)  # (n, E)
        kmax = max(c.choices)
        decisions, logits_t = [], []
        for t in range(self.n_decisions):
            h, cs = self.lstm(x, (h, cs))  # (n, H)
            logits = self._logits(h, t)  # (n, K_t)
            if s > 0:
                with torch.no_grad():
                    p = torch.softmax(logits[:s], dim=-1)
                    d = torch.multinomial(p, 1, generator=generator).squeeze(1)  # (s,)
                d = d if m == 0 else torch.cat([d, forced[:, t]])
            else:
                d = forced[:, t]
            decisions.append(d)
            if logits.shape[1] < kmax:  # pad to a common width; padded options get p = 0
                logits = F.pad(logits, (0, kmax - logits.shape[1]), value=float("-inf"))
            logits_t.append(logits)
            x = self.embed(d + self.offsets[t])  # (n, E)
        h, cs = self.lstm(x, (h, cs))  # read the last decision: h(A), (n, H)
        dec = torch.stack(decisions, dim=1)  # (n, T)
        logp = F.log_softmax(torch.stack(logits_t, dim=1), dim=-1)  # (n, T, Kmax)
        p = logp.exp()
        ent = -(p * logp.masked_fill(p == 0, 0.0)).sum(dim=-1)  # (n, T)
        chosen = logp.gather(2, dec.unsqueeze(2)).squeeze(2)  # (n, T)
        return Rollout(
            decisions=dec,
            log_probs=chosen.sum(dim=1),
            entropies=ent.sum(dim=1),
            step_probs=[p[:, t, : c.choices[t]] for t in range(self.n_decisions)],
            hidden=h,
        )

    # -- public API ----------------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator | None = None) -> Rollout:
        """Sample ``n`` cells; gradients flow through ``log_probs``/``entropies``."""
        if int(n) < 1:
            raise NasvizError(f"number of samples must be >= 1; got {n}")
        out = self._run(int(n), None, generator)
        ds = _maybe_space(self.config.space)
        if ds is not None:
            out.cells = [ds.try_decode(row) for row in out.decisions.tolist()]  # None: outside the space
        return out

    def teacher_force(self, cells_or_decisions, check_cells: bool = True) -> Rollout:
        """Run the controller on given cells (or an (n, T) decision array).

        Cells are checked against this controller's space; a cell of another space,
        a malformed string, an out-of-range decision or (``check_cells``) a decision
        row that is no cell of the space raises :class:`NasvizError`.
        """
        d = self.to_decisions(cells_or_decisions, check_cells)
        return self._run(d.shape[0], d.to(self.start.device), None)

    def final_hidden(self, cells_or_decisions, batch_size: int = 4096, check_cells: bool = True,
                     exact: bool = False) -> np.ndarray:
        """(n, H) float32 final hidden states h(A), teacher-forced, without gradients.

        ``exact``: computed in float64 (on a float64 copy of the weights) and returned as float64. A
        collapsed controller's states differ by less than float32's resolution for some cells; float32
        arithmetic then gives distinct cells bit-identical states that float64 keeps apart."""
        d = self.to_decisions(cells_or_decisions, check_cells)
        net = copy.deepcopy(self).double() if exact else self
        out = []
        with torch.no_grad():
            for i in range(0, d.shape[0], batch_size):
                out.append(net._run(min(batch_size, d.shape[0] - i), d[i : i + batch_size], None).hidden)
        return torch.cat(out).cpu().numpy().astype(np.float64 if exact else np.float32)

    def nll(self, cells_or_decisions) -> torch.Tensor:
        """Mean over sequences of -log p(sequence): the reconstruction loss of the memory buffer
        (which holds whatever was sampled, so rows outside the space are allowed)."""
        return -self.teacher_force(cells_or_decisions, check_cells=False).log_probs.mean()

    def to_decisions(self, cells_or_decisions, check_cells: bool = True) -> torch.Tensor:
        """(n, T) int64 decisions of cells (or a decision array, checked: every row must be a
        cell of the space unless ``check_cells`` is False, as for memory-buffer rows)."""
        c = self.config
        from_array = isinstance(cells_or_decisions, (np.ndarray, torch.Tensor))
        if from_array:
            arr = torch.as_tensor(np.asarray(cells_or_decisions.cpu() if torch.is_tensor(cells_or_decisions)
                                             else cells_or_decisions))
            if arr.ndim != 2 or arr.shape[1] != self.n_decisions:
                raise NasvizError(
                    f"a decision array for a {c.space} controller must be (n, {self.n_decisions}); got {tuple(arr.shape)}"
                )
            if arr.dtype.is_floating_point and not torch.equal(arr, arr.round()):
                raise NasvizError("decisions must be integers")
            arr = arr.long()
        else:
            if isinstance(cells_or_decisions, (str, bytes)) or not hasattr(cells_or_decisions, "__len__"):
                cells_or_decisions = [cells_or_decisions]
            ds = _maybe_space(c.space)
            if ds is None:
                raise NasvizError(f"no decision view for space {c.space!r}; pass an (n, T) decision array")
            rows = []
            for cell in cells_or_decisions:
                cell_space = getattr(cell, "space_name", None) or _space_of(cell)
                if cell_space is not None and cell_space != c.space:
                    raise NasvizError(
                        f"{type(cell).__name__} is a {cell_space} cell, but this controller samples {c.space} cells"
                    )
                rows.append(ds.encode(cell))
            if not rows:
                raise NasvizError("no cells given")
            arr = torch.tensor(rows, dtype=torch.long)
        if arr.shape[0] == 0:
            raise NasvizError("no cells given")
        for t, k in enumerate(c.choices):
            col = arr[:, t]
            bad = (col < 0) | (col >= k)
            if bool(bad.any()):
                i = int(bad.nonzero()[0, 0])
                raise NasvizError(
                    f"cell {i} is outside the {c.space} space: decision {t} is {int(col[i])}, accepted 0..{k - 1}"
                )
        if check_cells and from_array:
            ds = _maybe_space(c.space)
            if ds is not None:
                bad_rows = np.nonzero(ds.to_index(arr.numpy()) < 0)[0]
                if len(bad_rows):
                    i = int(bad_rows[0])
                    try:
                        ds.decode(arr[i].tolist())
                        why = "not in the stored enumeration"
                    except NasvizError as e:
                        why = str(e)
                    raise NasvizError(f"cell {i} is outside the {c.space} space ({len(bad_rows)} of {len(arr)} "
                                      f"rows are): {why}")
        return arr


def _space_of(cell: Any) -> str | None:
    mod = type(cell).__module__
    if mod.startswith("nasviz.spaces."):
        return mod.rsplit(".", 1)[-1]
    return None


def _maybe_space(name: str) -> DecisionSpace | None:
    try:
        return get_decision_space(name)
    except NasvizError:
        return None
