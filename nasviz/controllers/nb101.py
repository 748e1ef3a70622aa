"""NAS-Bench-101 as a sequence of controller decisions (ENAS-style), and how rewards are read.

Decision order
--------------
A cell is laid out on the full 7 vertices: 0 = ``input``, 1..5 interior, 6 = ``output``.
For every vertex after the input, in vertex order, the controller emits first the
vertex's op (interior vertices only; 3 options, index into
:data:`nasviz.spaces.nb101.OPS` = conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3),
then one binary decision per earlier vertex ``u = 0 .. v-1``: 1 = edge ``u -> v``
(ENAS macro-search style: an op, then a skip/no-skip choice for every earlier layer)::

    t :  0    1     2    3     4     5    6     7     8     9   ...  14  ... 19   20 ... 25
         op1  0->1  op2  0->2  1->2  op3  0->3  1->3  2->3  op4 ...  op5 ... 4->5 0->6 ... 5->6

26 decisions in all (5 ops with 3 options, 21 connections with 2); a 26-step
sequence always defines a 7-vertex spec (upper-triangular, so acyclic).

Cell -> decisions (teacher forcing, the memory buffer, :meth:`NB101Decisions.encode`):
the cell's stored canonical representative (:meth:`NB101Space.cell`) with its ``n``
vertices placed at 0 .. n-2 and 6 (output), and the 7 - n unused interior vertices
``n-1 .. 5`` isolated with op conv3x3 (decision 0). Pruning removes isolated
vertices, so the sequence decodes back to the same cell; isomorphic cells share one
sequence and hence one hidden state.

Decisions -> cell (:meth:`NB101Decisions.decode`): the 7-vertex spec is pruned and
checked exactly like the official ``ModelSpec`` (:class:`nasviz.spaces.nb101.NB101Cell`).

Sequences outside the space, and cells without a result (the reward policy)
-------------------------------------------------------------------------------
Every sampled sequence falls in one of three cases (:data:`STATUS`), counted per
epoch by :func:`nasviz.controllers.train.train` and reported in the model card:

* ``in_table``: a valid cell the benchmark table has a result for; reward = its value.
* ``mapped``: a valid cell that the table lacks (the embedded table is a 30,001-cell
  sample, 7.1% of the space); reward = the value of the *nearest table cell*: the
  smallest Hamming distance between the two cells' canonical 26-decision sequences
  (ops and connections that differ on the padded canonical specs), ties to the
  lowest table row. With the full table imported (``nasviz import nb101``) this case
  never happens.
* ``invalid``: the spec is outside the space (the input does not reach the output,
  or more than 9 edges remain after pruning); reward = ``TrainConfig.invalid_reward``
  (default 0). We do not resample: resampling would train on the policy conditioned
  on validity without correcting its gradient, whereas a fixed low reward keeps
  REINFORCE unbiased for "expected reward, invalid = 0" and teaches the controller
  to emit valid cells. Invalid sequences still enter the memory buffer (they are
  what the controller sampled; the reconstruction loss is defined on any sequence).

The analyses (:mod:`nasviz.analysis.controller`) draw sampled *cells*: invalid
sequences are dropped and drawn again (counted), and accuracies of ``mapped`` cells
are the nearest table cell's value, as during training.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from nasviz.errors import NasvizError

N_VERTICES = 7
#: The three cases of a sampled sequence (status codes 0, 1, 2).
STATUS: tuple[str, ...] = ("in_table", "mapped", "invalid")
IN_TABLE, MAPPED, INVALID = 0, 1, 2


def _layout() -> tuple[dict[int, int], dict[tuple[int, int], int], tuple[int, ...]]:
    op_pos: dict[int, int] = {}
    conn_pos: dict[tuple[int, int], int] = {}
    choices: list[int] = []
    for v in range(1, N_VERTICES):
        if v < N_VERTICES - 1:
            op_pos[v] = len(choices)
            choices.append(3)
        for u in range(v):
            conn_pos[(u, v)] = len(choices)
            choices.append(2)
    return op_pos, conn_pos, tuple(choices)


OP_POS, CONN_POS, CHOICES = _layout()
N_DECISIONS = len(CHOICES)  # 26


def _step_labels() -> tuple[str, ...]:
    out = [""] * N_DECISIONS
    for v, t in OP_POS.items():
        out[t] = f"op{v}"
    for (u, v), t in CONN_POS.items():
        out[t] = f"{u}->{v}"
    return tuple(out)


#: Step index -> human label ("op1", "0->1", ...), for figures and messages.
STEP_LABELS: tuple[str, ...] = _step_labels()
#: Steps of the op decisions (vertices 1..5) and of the connection decisions (sorted (u, v) pairs).
OP_STEPS = np.array([OP_POS[v] for v in range(1, N_VERTICES - 1)])
CONN_STEPS = np.array([CONN_POS[p] for p in sorted(CONN_POS)])


class NB101Decisions:
    """NB101 as 26 decisions (see the module docstring); rewards through :meth:`rows`."""

    name = "nb101"
    choices = CHOICES
    always_valid = False  # some sequences are outside the space (see the module docstring)
    step_labels = STEP_LABELS

    def __init__(self, space=None) -> None:
        from nasviz.spaces.nb101 import NB101Space

        self.space = space if space is not None else NB101Space()
        self._index_cache: dict[bytes, int] = {}
        self._tables: dict[tuple, tuple[np.ndarray, np.ndarray, dict[int, int]]] = {}

    # -- cells <-> decisions ------------------------------------------------------------
    def codes(self, indices) -> np.ndarray:
        """(n, 26) decisions of the canonical cells at these enumeration indices (vectorised)."""
        from nasviz.spaces.nb101 import edge_bit

        e = self.space.enumeration
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        nv = e.n_vertices[idx].astype(np.int64)
        bits = e.bits[idx].astype(np.int64)
        lab = e.labels[idx].astype(np.int64)
        out = np.zeros((len(idx), N_DECISIONS), dtype=np.int64)
        for n in range(2, N_VERTICES + 1):
            rows = np.nonzero(nv == n)[0]
            if not len(rows):
                continue
            pos = list(range(n - 1)) + [N_VERTICES - 1]  # canonical vertex -> padded vertex
            for x in range(n):
                for y in range(x + 1, n):
                    out[rows, CONN_POS[(pos[x], pos[y])]] = (bits[rows] >> edge_bit(x, y)) & 1
            code = lab[rows].copy()
            for v in range(n - 2, 0, -1):  # base-3 code, first interior vertex most significant
                out[rows, OP_POS[v]] = code % 3
                code //= 3
        return out

    def encode(self, cell: Any) -> tuple[int, ...]:
        from nasviz.spaces.nb101 import NB101Cell

        if isinstance(cell, NB101Cell) or isinstance(cell, (str, dict, int, np.integer)):
            try:
                c = self.space.parse(cell)
                i = self.space.index(c)
            except NasvizError as e:
                raise NasvizError(f"cannot teacher-force {cell!r} on an NB101 controller: {e}") from None
            return tuple(int(x) for x in self.codes([i])[0])
        raise NasvizError(
            f"cannot teacher-force {type(cell).__name__} {cell!r} on an NB101 controller: give an NB101Cell, "
            "a JSON spec {\"matrix\": ..., \"ops\": ...}, a module hash or an enumeration index 0..423623"
        )

    def spec(self, decisions: Sequence[int]) -> tuple[list[list[int]], list[str]]:
        """The unpruned 7-vertex (matrix, ops) of a decision sequence."""
        from nasviz.spaces.nb101 import INPUT, OPS, OUTPUT

        d = [int(x) for x in decisions]
        if len(d) != N_DECISIONS:
            raise NasvizError(f"an NB101 decision sequence has {N_DECISIONS} entries; got {len(d)}")
        for t, k in enumerate(CHOICES):
            if not 0 <= d[t] < k:
                raise NasvizError(f"NB101 decision {t} ({STEP_LABELS[t]}) is {d[t]}, accepted 0..{k - 1}")
        m = [[0] * N_VERTICES for _ in range(N_VERTICES)]
        for (u, v), t in CONN_POS.items():
            m[u][v] = d[t]
        ops = [INPUT] + [OPS[d[OP_POS[v]]] for v in range(1, N_VERTICES - 1)] + [OUTPUT]
        return m, ops

    def decode(self, decisions: Sequence[int]):
        """The NB101Cell (pruned) of a decision sequence; :class:`NasvizError` says why when it is outside the space."""
        from nasviz.spaces.nb101 import NB101Cell

        m, ops = self.spec(decisions)
        try:
            return NB101Cell(m, ops)
        except NasvizError as e:
            raise NasvizError(f"the decisions define a spec outside the NB101 space: {e}") from None

    def try_decode(self, decisions: Sequence[int]):
        """Like :meth:`decode`, ``None`` for a spec outside the space."""
        try:
            return self.decode(decisions)
        except NasvizError:
            return None

    def to_index(self, decisions: np.ndarray) -> np.ndarray:
        """(n, 26) decisions -> (n,) enumeration indices of their cells; -1 outside the space (cached)."""
        d = np.asarray(decisions, dtype=np.int64).reshape(-1, N_DECISIONS)
        out = np.empty(len(d), dtype=np.int64)
        for k, row in enumerate(d):
            key = row.astype(np.uint8).tobytes()
            i = self._index_cache.get(key)
            if i is None:
                c = self.try_decode(row)
                i = -1 if c is None else self.space.find(c.hash)
                if len(self._index_cache) < 2_000_000:
                    self._index_cache[key] = i
            out[k] = i
        return out

    def all_decisions(self) -> np.ndarray:
        """(423624, 26) decisions of every cell, in enumeration order (large: 88 MB)."""
        return self.codes(np.arange(len(self.space)))

    # -- rewards ---------------------------------------------------------------------------
    def _table(self, bench) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
        key = (str(getattr(bench, "path", id(bench))), len(bench))
        if key not in self._tables:
            idx = np.asarray(bench.indices, dtype=np.int64)
            self._tables[key] = (idx, self.codes(idx).astype(np.int8), {})
        return self._tables[key]

    def rows(self, decisions: np.ndarray, bench) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, status)`` for (n, 26) decisions: the benchmark row whose value is the reward
        and the case (:data:`STATUS`); row -1 for ``invalid`` (see the module docstring)."""
        idx = self.to_index(decisions)
        table_idx, table_codes, nearest = self._table(bench)
        r = np.searchsorted(table_idx, np.maximum(idx, 0))
        rc = np.minimum(r, len(table_idx) - 1)
        hit = (idx >= 0) & (table_idx[rc] == idx)
        rows = np.where(hit, rc, -1)
        status = np.where(idx < 0, INVALID, np.where(hit, IN_TABLE, MAPPED)).astype(np.int64)
        for k in np.nonzero(status == MAPPED)[0]:
            i = int(idx[k])
            row = nearest.get(i)
            if row is None:
                code = self.codes([i]).astype(np.int8)
                row = int(np.argmin((table_codes != code).sum(axis=1)))  # first minimum = lowest row
                nearest[i] = row
            rows[k] = row
        return rows, status
