"""Exact graph edit distance (GED) between cells of the same space.

Graphs and costs
----------------
A cell is a directed graph with labelled nodes and unlabelled edges
(:class:`LabeledDAG`). An edit path turns graph 1 into graph 2 with these unit costs
(:class:`GEDCosts`, the usual choice for NAS cells, e.g. NAS-Bench-101's edit
distance and arch2vec's Fig. 3):

* substitute a node's label: 1 (0 if the labels are equal);
* insert or delete a node: 1;
* insert or delete an edge: 1 (edges carry no labels; an edge survives when both
  its end points are matched to the end points of an edge of the other graph).

The GED is the cheapest edit path. For graphs of equal size with these costs an
optimal path never deletes and re-inserts a node (a substitution is never dearer),
so, after padding the smaller graph with isolated "empty" nodes, it is the minimum
over node bijections ``pi`` of ``sum_i sub(l1[i], l2[pi(i)]) + #edges(i, j) that do
not match (pi(i), pi(j))``. :func:`ged` enumerates every bijection (exact, n <= 8;
vectorised with numpy).

NB201 (``space="nb201"``)
-------------------------
The GED is taken in the node-op DAG view (arch2vec, paper 003, App. A.2;
:meth:`nasviz.spaces.nb201.NB201Cell.to_node_dag`): 8 nodes ``input``, one node
per edge carrying that edge's op (``none`` included, as a label), ``output``; the
adjacency is the same for every cell. With a shared skeleton ``A`` the edge cost of
a bijection, ``E(pi) = sum |A - A[pi][:, pi]|``, does not depend on the cells, so
:class:`FixedSkeletonGED` precomputes it once and keeps the bijections that could
beat the identity (``E(pi) < 8``: 41 of the 40,320). The identity costs the Hamming
distance (<= 6: input and output always match) and bijections are tried in order of
edge cost until that cost reaches the best found, so at most 9 are evaluated
(E = 0: 1, 2: 2, 4: 6). The result is exact (the tests check it against the
exhaustive solver); 10,000 pairs take about a second. The skeleton has no
non-trivial automorphism, so the GED is 0 exactly when the cells are equal. It never
exceeds the Hamming distance and is smaller for about 0.2% of random pairs, e.g.
Hamming 5 -> GED 4 when a bijection that breaks two edges saves three substitutions.

NB101 (``space="nb101"``)
-------------------------
The pruned cell itself (ops on vertices, 2..7 vertices, at most 9 edges), padded to
7 nodes with empty nodes. :class:`PaddedPermutationGED` enumerates all 5,040
bijections of every pair exactly like :func:`ged`, vectorised over pairs: an
adjacency is a 49-bit mask, the mask of graph 2 under every bijection is the sum of
one precomputed bit per edge (at most 9), and the edge cost is the popcount of its
XOR with graph 1's mask; with unit costs the node cost is the number of differing
labels (an empty node against a real one is an insertion or deletion, cost 1).
Isomorphic cells are at distance 0. About 0.2 ms a pair (10,000 pairs in a few
seconds; the generic solver needs 3-5 ms a pair).

Other spaces plug in by registering a function ``cells -> list[LabeledDAG]`` in
:data:`GRAPH_VIEWS` (the generic exact solver handles different sizes and
topologies; for 7 nodes it enumerates 5,040 bijections per pair, a few ms).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from nasviz.errors import NasvizError

MAX_NODES = 8  # the generic solver enumerates n! bijections


@dataclass(frozen=True)
class GEDCosts:
    node_sub: float = 1.0  # change a node's label
    node_indel: float = 1.0  # insert or delete a node (an "empty" padding node costs nothing)
    edge_indel: float = 1.0  # insert or delete an edge


UNIT = GEDCosts()


@dataclass(frozen=True)
class LabeledDAG:
    """A directed graph with labelled nodes: ``adjacency[i][j] == 1`` for an edge i -> j."""

    adjacency: tuple[tuple[int, ...], ...]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        adj = np.asarray(self.adjacency)
        n = len(self.labels)
        if adj.shape != (n, n):
            raise NasvizError(f"adjacency must be {n}x{n} for {n} labels; got {adj.shape}")
        if not np.isin(adj, (0, 1)).all():
            raise NasvizError("adjacency entries must be 0 or 1")
        object.__setattr__(self, "adjacency", tuple(tuple(int(x) for x in row) for row in adj))
        object.__setattr__(self, "labels", tuple(str(x) for x in self.labels))

    @classmethod
    def from_arrays(cls, adjacency, labels: Sequence[str]) -> "LabeledDAG":
        return cls(tuple(map(tuple, np.asarray(adjacency).tolist())), tuple(labels))

    @property
    def n(self) -> int:
        return len(self.labels)

    def array(self) -> np.ndarray:
        return np.asarray(self.adjacency, dtype=np.int16)


@functools.lru_cache(maxsize=MAX_NODES + 1)
def _perms(n: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(n))), dtype=np.int64).reshape(-1, n)


def ged(g1: LabeledDAG, g2: LabeledDAG, costs: GEDCosts = UNIT) -> float:
    """Exact GED between two labelled directed graphs of at most :data:`MAX_NODES` nodes."""
    n = max(g1.n, g2.n)
    if n > MAX_NODES:
        raise NasvizError(f"exact GED is limited to graphs of at most {MAX_NODES} nodes; got {n}")
    if costs.node_sub > 2 * costs.node_indel:
        raise NasvizError("node_sub must not exceed 2 * node_indel (a substitution would never be used)")
    a1 = np.zeros((n, n), dtype=np.int16)
    a2 = np.zeros((n, n), dtype=np.int16)
    a1[: g1.n, : g1.n] = g1.array()
    a2[: g2.n, : g2.n] = g2.array()
    l1 = list(g1.labels) + [None] * (n - g1.n)
    l2 = list(g2.labels) + [None] * (n - g2.n)
    lab = np.zeros((n, n))
    for i, x in enumerate(l1):
        for j, y in enumerate(l2):
            if x is None and y is None:
                lab[i, j] = 0.0
            elif x is None or y is None:
                lab[i, j] = costs.node_indel
            else:
                lab[i, j] = 0.0 if x == y else costs.node_sub
    P = _perms(n)  # (n!, n): node i of g1 -> node P[:, i] of g2
    node_cost = lab[np.arange(n), P].sum(axis=1)
    best = np.inf
    for start in range(0, len(P), 8192):
        Q = P[start : start + 8192]
        a2p = a2[Q[:, :, None], Q[:, None, :]]  # (m, n, n)
        edge_cost = np.abs(a1[None] - a2p).sum(axis=(1, 2)) * costs.edge_indel
        best = min(best, float((node_cost[start : start + 8192] + edge_cost).min()))
    return best


class FixedSkeletonGED:
    """Exact GED for graphs that share one adjacency and differ only in node labels.

    Labels are integer codes, one row per graph: ``(N, n)``. Precomputes the edge cost
    of every bijection and keeps those that can beat the identity.
    """

    def __init__(self, adjacency: np.ndarray, costs: GEDCosts = UNIT) -> None:
        a = np.asarray(adjacency, dtype=np.int16)
        n = a.shape[0]
        if a.shape != (n, n) or n > MAX_NODES:
            raise NasvizError(f"skeleton must be square with at most {MAX_NODES} nodes; got {a.shape}")
        self.costs = costs
        self.n = n
        P = _perms(n)
        e = np.abs(a[None] - a[P[:, :, None], P[:, None, :]]).sum(axis=(1, 2)) * costs.edge_indel
        bound = n * costs.node_sub  # the identity never costs more than this
        keep = e < bound
        order = np.argsort(e[keep], kind="stable")
        self.perms = P[keep][order]  # (m, n), identity first
        self.edge_cost = e[keep][order].astype(np.float64)  # (m,)
        self.n_automorphisms = int((e == 0).sum())

    def pairs(self, labels1: np.ndarray, labels2: np.ndarray) -> np.ndarray:
        """(N,) exact GED between row k of ``labels1`` and row k of ``labels2``."""
        l1 = np.asarray(labels1)
        l2 = np.asarray(labels2)
        if l1.shape != l2.shape or l1.ndim != 2 or l1.shape[1] != self.n:
            raise NasvizError(f"label arrays must both be (N, {self.n}); got {l1.shape} and {l2.shape}")
        best = np.full(len(l1), np.inf)
        for perm, e in zip(self.perms, self.edge_cost):
            if e >= best.max(initial=0.0):
                break  # sorted by edge cost: no later bijection can win
            cost = e + (l1 != l2[:, perm]).sum(axis=1) * self.costs.node_sub
            np.minimum(best, cost, out=best)
        return best


# -- per-space graph views ----------------------------------------------------------------
def _nb201_labels(cells) -> np.ndarray:
    """(N, 8) node-op labels of NB201 cells: 0 = input, 1 + op index, 6 = output."""
    from nasviz.spaces.nb201 import N_OPS, NB201Cell

    rows = []
    for c in cells:
        if not isinstance(c, NB201Cell):
            raise NasvizError(f"GED for space nb201 needs NB201Cell values; got {type(c).__name__}")
        rows.append((0, *(1 + o for o in c.ops), N_OPS + 1))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 8)


def _nb201_graphs(cells) -> list[LabeledDAG]:
    out = []
    for c in cells:
        adj, ops = c.to_node_dag()
        out.append(LabeledDAG.from_arrays(adj, ops))
    return out


@functools.lru_cache(maxsize=1)
def _nb201_solver() -> FixedSkeletonGED:
    from nasviz.spaces.nb201 import NODE_ADJACENCY

    return FixedSkeletonGED(NODE_ADJACENCY)


def _nb101_graphs(cells) -> list[LabeledDAG]:
    """NB101 cells as their pruned node-op DAGs (ops on vertices, up to 7 vertices)."""
    from nasviz.spaces.nb101 import NB101Cell

    out = []
    for c in cells:
        if not isinstance(c, NB101Cell):
            raise NasvizError(f"GED for space nb101 needs NB101Cell values; got {type(c).__name__}")
        out.append(LabeledDAG.from_arrays(c.matrix, c.ops))
    return out


class PaddedPermutationGED:
    """Exact unit-cost GED of graphs with at most ``n`` nodes, vectorised over pairs.

    Graphs come as ``(N, n, n)`` 0/1 adjacencies and ``(N, n)`` integer labels with
    :data:`EMPTY` on padding nodes (which must have no edges).
    """

    EMPTY = -1

    def __init__(self, n: int = 7) -> None:
        if not 1 <= n <= 7:  # n * n bits must fit an int64
            raise NasvizError(f"PaddedPermutationGED handles at most 7 nodes; got {n}")
        self.n = n
        self.perms = _perms(n)  # (m, n): node i of graph 1 <-> node perms[:, i] of graph 2
        inv = np.argsort(self.perms, axis=1)  # inv[p, x] = i with perms[p, i] = x
        # bit of edge x -> y of graph 2 once graph 2 is relabelled by the bijection
        x, y = np.divmod(np.arange(n * n), n)
        self.edge_bit = np.zeros((len(self.perms), n * n + 1), dtype=np.int64)  # last column: "no edge"
        self.edge_bit[:, : n * n] = np.left_shift(np.int64(1), inv[:, x] * n + inv[:, y])

    def masks(self, adjacency: np.ndarray) -> np.ndarray:
        a = np.asarray(adjacency, dtype=np.int64).reshape(len(adjacency), self.n * self.n)
        return (a << np.arange(self.n * self.n, dtype=np.int64)).sum(axis=1)

    def pairs(self, adj1: np.ndarray, lab1: np.ndarray, adj2: np.ndarray, lab2: np.ndarray,
              chunk: int = 8) -> np.ndarray:
        """(N,) exact GED between graph k of set 1 and graph k of set 2."""
        adj1, adj2 = np.asarray(adj1), np.asarray(adj2)
        lab1, lab2 = np.asarray(lab1, dtype=np.int64), np.asarray(lab2, dtype=np.int64)
        N, n = len(adj1), self.n
        if adj1.shape != (N, n, n) or adj2.shape != (N, n, n) or lab1.shape != (N, n) or lab2.shape != (N, n):
            raise NasvizError(f"need (N, {n}, {n}) adjacencies and (N, {n}) labels for both sets")
        m1 = self.masks(adj1)
        flat2 = np.asarray(adj2, dtype=bool).reshape(N, n * n)
        k = max(1, int(flat2.sum(1).max(initial=0)))
        # the (at most k) edge positions of every graph 2, padded with the "no edge" column
        order = np.argsort(~flat2, axis=1, kind="stable")[:, :k]
        pos = np.where(np.take_along_axis(flat2, order, 1), order, n * n)  # (N, k)
        out = np.empty(N, dtype=np.float64)
        for s in range(0, N, chunk):
            sl = slice(s, s + chunk)
            m2p = self.edge_bit[:, pos[sl]].sum(axis=2)  # (m, B): graph 2's mask under every bijection
            edge = np.bitwise_count(m2p ^ m1[sl][None, :])  # (m, B)
            node = (lab1[sl][None, :, :] != lab2[sl][:, self.perms].transpose(1, 0, 2)).sum(axis=2)  # (m, B)
            out[sl] = (edge + node).min(axis=0)
        return out


_NB101_LABELS = {"input": 0, "output": 1}


def _nb101_padded(cells) -> tuple[np.ndarray, np.ndarray]:
    from nasviz.spaces.nb101 import MAX_VERTICES, OPS, NB101Cell

    adj = np.zeros((len(cells), MAX_VERTICES, MAX_VERTICES), dtype=np.int8)
    lab = np.full((len(cells), MAX_VERTICES), PaddedPermutationGED.EMPTY, dtype=np.int64)
    codes = {**_NB101_LABELS, **{o: 2 + k for k, o in enumerate(OPS)}}
    for k, c in enumerate(cells):
        if not isinstance(c, NB101Cell):
            raise NasvizError(f"GED for space nb101 needs NB101Cell values; got {type(c).__name__}")
        n = len(c.matrix)
        adj[k, :n, :n] = c.matrix
        lab[k, :n] = [codes[o] for o in c.ops]
    return adj, lab


@functools.lru_cache(maxsize=1)
def _nb101_solver() -> PaddedPermutationGED:
    return PaddedPermutationGED(7)


#: space name -> function(cells) -> list[LabeledDAG] (the generic exact solver's input)
GRAPH_VIEWS: dict[str, Callable[[Sequence], list[LabeledDAG]]] = {"nb201": _nb201_graphs, "nb101": _nb101_graphs}


def pairwise(space: str, cells1: Sequence, cells2: Sequence, costs: GEDCosts = UNIT) -> np.ndarray:
    """(N,) exact GED between ``cells1[k]`` and ``cells2[k]``, cells of one space."""
    key = str(space).lower()
    if len(cells1) != len(cells2):
        raise NasvizError(f"need two equally long lists of cells; got {len(cells1)} and {len(cells2)}")
    if key == "nb201" and costs == UNIT:
        return _nb201_solver().pairs(_nb201_labels(cells1), _nb201_labels(cells2))
    if key == "nb201":
        from nasviz.spaces.nb201 import NODE_ADJACENCY

        return FixedSkeletonGED(NODE_ADJACENCY, costs).pairs(_nb201_labels(cells1), _nb201_labels(cells2))
    if key == "nb101" and costs == UNIT:
        a1, l1 = _nb101_padded(cells1)
        a2, l2 = _nb101_padded(cells2)
        return _nb101_solver().pairs(a1, l1, a2, l2)
    if key not in GRAPH_VIEWS:
        raise NasvizError(f"no graph view for space {space!r}; accepted: {', '.join(sorted(GRAPH_VIEWS))}")
    view = GRAPH_VIEWS[key]
    g1, g2 = view(cells1), view(cells2)
    return np.array([ged(a, b, costs) for a, b in zip(g1, g2)], dtype=np.float64)


def distance(space: str, a, b, costs: GEDCosts = UNIT) -> float:
    """Exact GED between two cells of one space."""
    return float(pairwise(space, [a], [b], costs)[0])
