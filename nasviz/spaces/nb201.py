"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020).

A cell is a DAG on 4 nodes; node 0 is the cell input, node 3 the output, and every
node j > 0 sums one operation applied to each earlier node i < j. That makes 6 edges
with 5 candidate operations each: 5**6 = 15,625 cells. The official string lists,
for each node j = 1..3, the ops on its inputs:

    |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
     node1  node2        node3

``op~i`` is the operation applied to node i. :class:`NB201Cell` keeps the six ops
as indices into :data:`OPS` in that string order (:data:`EDGES`).

Canonical form: NAS-Bench-201's own rule (default) and a stricter expression merge
-------------------------------------------------------------------------------------
:meth:`NB201Cell.canonical` returns the member of a cell's class with the smallest op-index
tuple, so ``a.canonical() == b.canonical()`` exactly when the rule puts ``a`` and ``b`` in one
class. Two rules are offered:

* ``"nb201"`` (default): NAS-Bench-201's own identity, ``to_unique_str(consider_zero=True)`` of its
  ``CellStructure``, reproduced by :meth:`NB201Cell.unique_str`: 6,466 classes. Per node, each
  incoming edge gives a term: ``none``, or any op applied to a node whose string is exactly zero,
  gives zero; ``skip_connect`` passes its input's string on; any other op wraps it; the node is the
  sorted ``+`` of its terms. Sums are not flattened across nodes, and a node whose inputs are all
  zero is not itself treated as zero downstream (the benchmark's rule stops zero propagation there).
  Assumptions it makes: skip is the identity, and an op applied to a zero input outputs zero. The
  latter does not hold exactly for a trained ReLU-conv-BN (BN's learned shift makes it a constant),
  so the class is the benchmark's notion of "the same architecture", not a proof that two cells
  compute the same function.
* ``"expression"``: the stricter merge of earlier nasviz versions, 4,930 classes
  (:meth:`NB201Cell.functional_key`): additionally flattens nested sums (``a + (b + c)`` = ``a + b + c``)
  and propagates zero through whole nodes. Its assumptions go further than NB-201's: every op of a
  zero input is exactly zero, and two occurrences of the same sub-expression are interchangeable.
  That ignores *sharing*: a conv whose output reaches two consumers (through a skip edge) is one
  set of weights in one cell and two independent ones in another cell of the same class, so
  merged cells can differ in function class (measured by an independent check: Jacobian ranks 76
  vs 110 on the same input). Use it to group cells by expression, never as "same function".

Weight values are never modelled: even cells of one class are trained separately, which is why
the benchmark lists them with slightly different accuracies.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from nasviz.errors import NasvizError

#: Candidate operations, in NAS-Bench-201's own order.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: The six edges ``(to_node, from_node)`` in official-string order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_EDGES = len(EDGES)
N_OPS = len(OPS)
N_CELLS = N_OPS**N_EDGES  # 15,625

#: Operation types of the node-op DAG (arch2vec, paper 003 Appendix A.2).
NODE_OPS: tuple[str, ...] = ("input",) + OPS + ("output",)
#: Adjacency of the node-op DAG: node 0 = input, node k = edge k-1 of EDGES, node 7 = output.
NODE_ADJACENCY: np.ndarray = np.zeros((8, 8), dtype=np.int8)
for _k, (_to, _frm) in enumerate(EDGES, start=1):
    if _frm == 0:
        NODE_ADJACENCY[0, _k] = 1  # the input feeds every edge that reads node 0
    for _m, (_to2, _frm2) in enumerate(EDGES, start=1):
        if _frm2 == _to:
            NODE_ADJACENCY[_k, _m] = 1  # edge k writes node `_to`, which edge m reads
    if _to == 3:
        NODE_ADJACENCY[_k, 7] = 1  # edges into node 3 feed the output
NODE_ADJACENCY.setflags(write=False)

_ACCEPTED = "accepted ops: " + ", ".join(OPS)
_FORMAT = "the official form is |op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
_TOKEN = re.compile(r"^([A-Za-z0-9_]+)~(\d+)$")


def _op_index(name: str, where: str) -> int:
    try:
        return OPS.index(name)
    except ValueError:
        raise NasvizError(f"unknown op {name!r} {where}; {_ACCEPTED}") from None


@dataclass(frozen=True, slots=True)
class NB201Cell:
    """One NAS-Bench-201 cell: six op indices in official-string edge order.

    Immutable and hashable. Build it from the official string with
    :meth:`from_str`, from op names with :meth:`from_names`, or from indices
    directly: ``NB201Cell((3, 3, 3, 1, 3, 3))``.
    """

    ops: tuple[int, ...]

    def __post_init__(self) -> None:
        ops = tuple(int(o) for o in self.ops)
        if len(ops) != N_EDGES:
            raise NasvizError(f"an NB201 cell has {N_EDGES} edges; got {len(ops)} ops")
        for k, o in enumerate(ops):
            if not 0 <= o < N_OPS:
                raise NasvizError(f"op index {o} on edge {k} is out of range; accepted: 0..{N_OPS - 1} ({_ACCEPTED})")
        object.__setattr__(self, "ops", ops)

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_str(cls, text: str) -> "NB201Cell":
        """Parse the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
        if not isinstance(text, str):
            raise NasvizError(f"an NB201 architecture string must be text, got {type(text).__name__}")
        s = text.strip()
        groups = s.split("+")
        if len(groups) != 3:
            raise NasvizError(
                f"malformed NB201 string {text!r}: expected 3 node groups separated by '+', got {len(groups)}; {_FORMAT}"
            )
        ops: list[int] = []
        for j, group in enumerate(groups, start=1):
            if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
                raise NasvizError(
                    f"malformed NB201 string {text!r}: node {j} group {group!r} must start and end with '|'; {_FORMAT}"
                )
            tokens = group[1:-1].split("|")
            if len(tokens) != j:
                raise NasvizError(
                    f"malformed NB201 string {text!r}: node {j} lists {len(tokens)} input(s), expected {j} "
                    f"(op~0 .. op~{j - 1}); {_FORMAT}"
                )
            for i, tok in enumerate(tokens):
                m = _TOKEN.match(tok)
                if m is None:
                    raise NasvizError(
                        f"malformed NB201 string {text!r}: token {tok!r} in node {j} is not of the form op~{i}; {_FORMAT}"
                    )
                name, src = m.group(1), int(m.group(2))
                if src != i:
                    raise NasvizError(
                        f"malformed NB201 string {text!r}: token {tok!r} in node {j} reads node {src}, "
                        f"expected ~{i} at position {i + 1}; {_FORMAT}"
                    )
                ops.append(_op_index(name, f"on edge {j}<-{i}"))
        return cls(tuple(ops))

    @classmethod
    def from_names(cls, names: Sequence[str]) -> "NB201Cell":
        """Build from the six op names in edge order."""
        if len(names) != N_EDGES:
            raise NasvizError(f"an NB201 cell has {N_EDGES} edges; got {len(names)} op names")
        return cls(tuple(_op_index(n, f"on edge {EDGES[k][0]}<-{EDGES[k][1]}") for k, n in enumerate(names)))

    @classmethod
    def from_code(cls, code: int) -> "NB201Cell":
        """Inverse of :attr:`code` (base-5 digits, edge 0 most significant)."""
        if not 0 <= int(code) < N_CELLS:
            raise NasvizError(f"cell code {code} out of range 0..{N_CELLS - 1}")
        digits = []
        c = int(code)
        for _ in range(N_EDGES):
            digits.append(c % N_OPS)
            c //= N_OPS
        return cls(tuple(reversed(digits)))

    # -- views ----------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """The six op names in edge order."""
        return tuple(OPS[o] for o in self.ops)

    @property
    def code(self) -> int:
        """A dense integer id 0..15624 (base-5 digits of the op tuple); not the official index."""
        c = 0
        for o in self.ops:
            c = c * N_OPS + o
        return c

    def to_str(self) -> str:
        """The official string; ``NB201Cell.from_str(c.to_str()) == c``."""
        parts = []
        k = 0
        for j in range(1, 4):
            toks = []
            for i in range(j):
                toks.append(f"{OPS[self.ops[k]]}~{i}")
                k += 1
            parts.append("|" + "|".join(toks) + "|")
        return "+".join(parts)

    def __str__(self) -> str:
        return self.to_str()

    def op(self, to: int, frm: int) -> str:
        """The op name on edge ``frm -> to``."""
        return OPS[self.ops[EDGES.index((to, frm))]]

    # -- function-level identity ---------------------------------------------------
    def functional_key(self) -> tuple:
        """The ``"expression"`` rule's key: the output as a flattened sum of op terms, zero propagated (module
        docstring: it ignores weight sharing, so equal keys do not mean the same function)."""
        # value of node j: sorted tuple of terms; () means zero.
        values: list[tuple] = [(("input",),)]
        for j in range(1, 4):
            terms: list = []
            for k, (to, frm) in enumerate(EDGES):
                if to != j:
                    continue
                op = OPS[self.ops[k]]
                src = values[frm]
                if op == "none" or not src:
                    continue
                if op == "skip_connect":
                    terms.extend(src)
                else:
                    terms.append((op, src))
            values.append(tuple(sorted(terms, key=repr)))
        return values[3]

    def unique_str(self) -> str:
        """NAS-Bench-201's identity string (its ``to_unique_str(consider_zero=True)``; module docstring)."""
        nodes = ["0"]
        for j in range(1, 4):
            terms = []
            for k, (to, frm) in enumerate(EDGES):
                if to != j:
                    continue
                op, src = OPS[self.ops[k]], nodes[frm]
                if op == "none" or src == "#":
                    terms.append("#")
                elif op == "skip_connect":
                    terms.append(src)
                else:
                    terms.append(f"({src})@{op}")
            nodes.append("+".join(sorted(terms)))
        return nodes[3]

    def canonical(self, rule: str = "nb201") -> "NB201Cell":
        """The representative of this cell's class (its smallest op tuple) under ``rule``: ``"nb201"``
        (the benchmark's own identity, 6,466 classes) or ``"expression"`` (4,930; see the module docstring
        for what each assumes)."""
        return _canonical_table(_check_rule(rule))[self.code]

    def is_canonical(self, rule: str = "nb201") -> bool:
        return self.canonical(rule) == self

    def computes_zero(self) -> bool:
        """True when no input-to-output path exists (the cell outputs zero)."""
        return self.functional_key() == ()

    # -- comparisons ---------------------------------------------------------------
    def diff(self, other: "NB201Cell") -> tuple[int, ...]:
        """Edge positions (0..5) whose op differs from ``other``."""
        return tuple(k for k in range(N_EDGES) if self.ops[k] != other.ops[k])

    def hamming(self, other: "NB201Cell") -> int:
        """Number of edges whose op differs (the edit distance in this fixed-topology space)."""
        return len(self.diff(other))

    # -- arch2vec node-op DAG ------------------------------------------------------
    def to_node_dag(self) -> tuple[np.ndarray, list[str]]:
        """arch2vec's view (paper 003, Appendix A.2, Fig. 8): 8 nodes, ops on nodes.

        Returns ``(adjacency 8x8 int8, ops)`` with ops ``[input, <6 edge ops>, output]``.
        """
        return NODE_ADJACENCY.copy(), ["input", *self.names, "output"]

    def to_onehot(self) -> tuple[np.ndarray, np.ndarray]:
        """``(adjacency 8x8, one-hot ops 8x7)`` over :data:`NODE_OPS`, as float32 arrays."""
        onehot = np.zeros((8, len(NODE_OPS)), dtype=np.float32)
        onehot[0, 0] = 1
        for k, o in enumerate(self.ops, start=1):
            onehot[k, 1 + o] = 1
        onehot[7, len(NODE_OPS) - 1] = 1
        return NODE_ADJACENCY.astype(np.float32), onehot

    @classmethod
    def from_node_dag(cls, adjacency, ops) -> "NB201Cell":
        """Inverse of :meth:`to_node_dag`; ``ops`` may be names or a one-hot (8 x 7) matrix.

        Raises :class:`NasvizError` when the graph is not an NB201 cell (NB201's data
        flow is fixed, so the adjacency must equal :data:`NODE_ADJACENCY`).
        """
        adj = np.asarray(adjacency)
        if adj.shape != (8, 8):
            raise NasvizError(f"an NB201 node-op DAG has an 8x8 adjacency; got shape {adj.shape}")
        if not np.array_equal((adj != 0).astype(np.int8), NODE_ADJACENCY):
            bad = np.argwhere((adj != 0).astype(np.int8) != NODE_ADJACENCY)
            i, j = (int(x) for x in bad[0])
            raise NasvizError(
                f"not an NB201 cell: adjacency entry ({i},{j}) is {int(adj[i, j] != 0)}, but NB201's data flow is "
                f"fixed and needs {int(NODE_ADJACENCY[i, j])} there"
            )
        if isinstance(ops, np.ndarray) and ops.ndim == 2:
            if ops.shape != (8, len(NODE_OPS)):
                raise NasvizError(f"one-hot ops must be 8 x {len(NODE_OPS)}; got {ops.shape}")
            names = [NODE_OPS[int(i)] for i in ops.argmax(axis=1)]
        else:
            names = [str(o) for o in ops]
        if len(names) != 8:
            raise NasvizError(f"an NB201 node-op DAG has 8 nodes; got {len(names)} ops")
        if names[0] != "input" or names[7] != "output":
            raise NasvizError(f"node 0 must be 'input' and node 7 'output'; got {names[0]!r} and {names[7]!r}")
        return cls.from_names(names[1:7])


#: the canonical-form rules (module docstring) and the number of classes each gives
RULES: dict[str, int] = {"nb201": 6466, "expression": 4930}


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise NasvizError(f"unknown canonical-form rule {rule!r}; accepted: {', '.join(RULES)}")
    return rule


@functools.lru_cache(maxsize=2)
def _canonical_table(rule: str = "nb201") -> tuple[NB201Cell, ...]:
    """code -> canonical cell under ``rule``, for all 15,625 cells (built once, ~0.2 s)."""
    best: dict = {}
    cells = [NB201Cell.from_code(c) for c in range(N_CELLS)]  # increasing op tuples
    keys = [c.unique_str() if rule == "nb201" else c.functional_key() for c in cells]
    for cell, key in zip(cells, keys):
        best.setdefault(key, cell)
    return tuple(best[k] for k in keys)


def n_unique_functions(rule: str = "nb201") -> int:
    """Number of classes in the space under ``rule`` (nb201: 6,466; expression: 4,930)."""
    return len(set(_canonical_table(_check_rule(rule))))


class NB201Space:
    """The NB201 search space: official index order, sampling, mutation, neighbours.

    ``index_ops`` is the (15625, 6) op-index array in official index order; by default
    it is read from the embedded benchmark table.
    """

    name = "nb201"
    n_cells = N_CELLS
    ops = OPS

    def __init__(self, index_ops: np.ndarray | None = None) -> None:
        if index_ops is None:
            from nasviz.spaces._nb201_index import load_index_ops

            index_ops = load_index_ops()
        arr = np.asarray(index_ops, dtype=np.int64)
        if arr.shape != (N_CELLS, N_EDGES):
            raise NasvizError(f"NB201 index table must be {N_CELLS} x {N_EDGES}; got {arr.shape}")
        codes = np.zeros(N_CELLS, dtype=np.int64)
        for k in range(N_EDGES):
            codes = codes * N_OPS + arr[:, k]
        code_to_index = np.full(N_CELLS, -1, dtype=np.int64)
        code_to_index[codes] = np.arange(N_CELLS)
        if (code_to_index < 0).any():
            raise NasvizError("NB201 index table does not list every cell exactly once")
        self._index_ops = arr
        self._code_to_index = code_to_index

    # -- official order --------------------------------------------------------------
    def cell(self, index: int) -> NB201Cell:
        """The cell at an official NB201 index."""
        try:
            i = int(index)
        except (TypeError, ValueError):
            raise NasvizError(f"an NB201 index must be an integer 0..{N_CELLS - 1}; got {index!r}") from None
        if not 0 <= i < N_CELLS:
            raise NasvizError(f"NB201 index {i} is out of range; accepted: 0..{N_CELLS - 1}")
        return NB201Cell(tuple(int(o) for o in self._index_ops[i]))

    def index(self, cell: NB201Cell) -> int:
        """The official NB201 index of a cell."""
        return int(self._code_to_index[cell.code])

    def indices(self, cells: Sequence[NB201Cell]) -> np.ndarray:
        codes = np.fromiter((c.code for c in cells), dtype=np.int64, count=len(cells))
        return self._code_to_index[codes]

    def parse(self, text: str | int) -> NB201Cell:
        """An official string or an official index (as int or decimal text)."""
        if isinstance(text, (int, np.integer)):
            return self.cell(int(text))
        s = str(text).strip()
        if s.lstrip("-").isdigit():
            if not s.isascii() or len(s) > 18:  # '²' is a digit to str.isdigit; 5,000 digits overflow int()
                raise NasvizError(f"cannot read {s[:24]!r}{'...' if len(s) > 24 else ''} ({len(s)} characters) as "
                                  f"an NB201 index; accepted: a whole number 0..{N_CELLS - 1} in the digits 0-9")
            return self.cell(int(s))
        if "~" not in s and "|" not in s:
            raise NasvizError(
                f"cannot read {text!r} as an NB201 architecture: give an official index 0..{N_CELLS - 1} "
                f"or an official string; {_FORMAT}"
            )
        return NB201Cell.from_str(s)

    def __iter__(self) -> Iterator[NB201Cell]:
        return self.enumerate()

    def __len__(self) -> int:
        return N_CELLS

    def enumerate(self) -> Iterator[NB201Cell]:
        """All 15,625 cells in official index order."""
        for row in self._index_ops:
            yield NB201Cell(tuple(int(o) for o in row))

    @property
    def index_ops(self) -> np.ndarray:
        """(15625, 6) op indices in official order (read-only view)."""
        v = self._index_ops.view()
        v.setflags(write=False)
        return v

    # -- random moves ----------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> NB201Cell:
        """A uniformly random cell."""
        return NB201Cell(tuple(int(o) for o in rng.integers(0, N_OPS, size=N_EDGES)))

    def mutate(self, cell: NB201Cell, rng: np.random.Generator) -> NB201Cell:
        """Change the op on one random edge to a different op."""
        k = int(rng.integers(N_EDGES))
        new = int(rng.integers(N_OPS - 1))
        if new >= cell.ops[k]:
            new += 1
        ops = list(cell.ops)
        ops[k] = new
        return NB201Cell(tuple(ops))

    def neighbours(self, cell: NB201Cell) -> list[NB201Cell]:
        """The 24 cells that differ from ``cell`` on exactly one edge."""
        out = []
        for k in range(N_EDGES):
            for o in range(N_OPS):
                if o != cell.ops[k]:
                    ops = list(cell.ops)
                    ops[k] = o
                    out.append(NB201Cell(tuple(ops)))
        return out
