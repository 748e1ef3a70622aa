"""The NAS-Bench-101 cell space (Ying et al., ICML 2019).

A cell is a DAG on 2..7 vertices given by an upper-triangular 0/1 adjacency matrix
and one op per vertex: vertex 0 is ``input``, the last vertex ``output``, and each
interior vertex one of ``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``.
At most 9 edges. The space holds 423,624 cells up to isomorphism.

Validity and pruning follow the official ``nasbench`` ``ModelSpec`` and
``NASBench._check_spec`` exactly:

1. the matrix must be square, match the ops in length and be strictly upper
   triangular (no diagonal or lower entries, which is what rules out cycles);
2. vertices that are not on some input -> output path are removed (pruned); if the
   input does not reach the output the spec is invalid;
3. the *pruned* spec must have at most 7 vertices and at most 9 edges, ``input``
   first, ``output`` last and only the three known ops in between.

So, as in the official API, an 8-vertex spec whose extra vertex is pruned is
accepted, and so is an unknown op on a vertex that gets pruned. nasviz also
rejects entries other than 0 and 1 (the official code would count a 2 as two edges).
:class:`NB101Cell` keeps the unpruned spec in ``original_matrix``/``original_ops``
(diagrams fade the pruned vertices).

The module hash (``graph_util.hash_module``): each vertex starts from
``md5(str((out_degree, in_degree, label)))`` with labels -1 (input), -2 (output),
0/1/2 (conv3x3, conv1x1, maxpool, the order of ``config['available_ops']``); then,
``n`` times, every vertex is re-hashed from its sorted in-neighbour hashes, ``|``,
its sorted out-neighbour hashes, ``|``, its own hash; the fingerprint is
``md5(str(sorted(vertex_hashes)))``. Isomorphic cells share a hash and, in this
space, only they do (the NB101 authors checked it; nasviz's enumeration re-checks
it: 423,624 isomorphism classes, 423,624 hashes).

Canonical representative: the official generator (``generate_graphs.py``) walks
vertex counts, then adjacency bit masks upward (bit ``x + y(y-1)/2`` is edge
``x -> y``), then labelings in ``itertools.product`` order, and keeps the first
graph of every hash. :meth:`NB101Cell.canonical` computes that same first graph
directly (the smallest ``(bits, labels)`` over all topological relabelings), so it
needs no data file.

arch2vec encoding (paper 003, Appendix A.1): a 7x7 adjacency and a 7x5 one-hot op
matrix in the order {input, conv1x1, conv3x3, maxpool3x3, output}; cells with fewer
than 7 vertices are padded with trailing zero rows/columns.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from nasviz.errors import NasvizError

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: Interior ops in the official ``config['available_ops']`` order; the hash labels are their indices.
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
N_OPS = len(OPS)
MAX_VERTICES = 7
MAX_EDGES = 9
N_CELLS = 423_624
#: One-hot op order of arch2vec (paper 003, Appendix A.1).
ARCH2VEC_OPS: tuple[str, ...] = (INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT)
#: Short names for display.
SHORT: dict[str, str] = {INPUT: "in", OUTPUT: "out", CONV3X3: "3x3", CONV1X1: "1x1", MAXPOOL3X3: "mp"}

_ACCEPTED = f"accepted interior ops: {', '.join(OPS)}"
_SPEC = 'a JSON spec {"matrix": [[0,1,...],...], "ops": ["input", ..., "output"]}'
_FORMAT = f"expected {_SPEC}"
_HEX = set("0123456789abcdef")

Matrix = tuple[tuple[int, ...], ...]


def edge_bit(x: int, y: int) -> int:
    """Bit index of edge ``x -> y`` (x < y) in the official bit mask (``gen_is_edge_fn``)."""
    return x + y * (y - 1) // 2


def hash_module(matrix: Sequence[Sequence[int]], labeling: Sequence[int]) -> str:
    """The official NB101 module hash of a 0/1 adjacency and integer labels (see module doc)."""
    n = len(matrix)
    if len(labeling) != n:
        raise NasvizError(f"labeling has {len(labeling)} entries for a {n}-vertex matrix")
    ins = [[w for w in range(n) if matrix[w][v]] for v in range(n)]
    outs = [[w for w in range(n) if matrix[v][w]] for v in range(n)]
    md5 = hashlib.md5
    hashes = [md5(str((len(outs[v]), len(ins[v]), int(labeling[v]))).encode()).hexdigest() for v in range(n)]
    for _ in range(n):
        hashes = [
            md5(
                ("".join(sorted([hashes[w] for w in ins[v]])) + "|" + "".join(sorted([hashes[w] for w in outs[v]]))
                 + "|" + hashes[v]).encode()
            ).hexdigest()
            for v in range(n)
        ]
    return md5(str(sorted(hashes)).encode()).hexdigest()


def labels_of(ops: Sequence[str]) -> list[int]:
    """Hash labels of an op list: -1 input, -2 output, index into :data:`OPS` otherwise."""
    return [-1] + [OPS.index(o) for o in ops[1:-1]] + [-2]


def _as_matrix(matrix) -> Matrix:
    """Nested sequence / array -> tuple of int tuples, with clear errors for bad shapes."""
    if isinstance(matrix, (str, bytes)):
        raise NasvizError(f"the adjacency must be a list of rows, got text {matrix!r}; {_FORMAT}")
    try:
        arr = np.asarray(matrix)
    except (ValueError, TypeError) as e:  # ragged rows
        raise NasvizError(f"the adjacency matrix must be square: rows of unequal length ({e}); {_FORMAT}") from None
    if arr.dtype == object:
        raise NasvizError(f"the adjacency matrix must be square: rows of unequal length or non-numbers; {_FORMAT}")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise NasvizError(f"the adjacency matrix must be square; got shape {tuple(arr.shape)}")
    if arr.dtype.kind not in "biuf":
        raise NasvizError(f"adjacency entries must be 0 or 1; got {arr.dtype} values")
    bad = np.argwhere((arr != 0) & (arr != 1))
    if len(bad):
        i, j = (int(x) for x in bad[0])
        raise NasvizError(f"adjacency entry ({i},{j}) is {arr[i, j]!r}; entries must be 0 or 1")
    return tuple(tuple(int(x) for x in row) for row in arr.astype(np.int64))


def _prune(matrix: Matrix) -> set[int] | None:
    """Vertices on an input -> output path (official ``ModelSpec._prune``); None when disconnected."""
    n = len(matrix)
    fwd = {0}
    frontier = [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if matrix[top][v] and v not in fwd:
                fwd.add(v)
                frontier.append(v)
    bwd = {n - 1}
    frontier = [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(0, top):
            if matrix[v][top] and v not in bwd:
                bwd.add(v)
                frontier.append(v)
    keep = fwd & bwd
    if len(keep) < 2:
        return None
    return keep


@dataclass(frozen=True, slots=True)
class NB101Cell:
    """One NAS-Bench-101 cell: pruned adjacency (tuple of 0/1 tuples) and op names.

    ``NB101Cell(matrix, ops)`` validates and prunes like the official ``ModelSpec``;
    the fields then hold the *pruned* spec and ``original_matrix``/``original_ops``
    the spec as given. Equality and ``hash()`` compare the pruned spec exactly (same
    vertex order); isomorphic cells share :attr:`hash` and :meth:`canonical`.
    """

    matrix: Matrix
    ops: tuple[str, ...]
    original_matrix: Matrix = field(init=False, compare=False, repr=False)
    original_ops: tuple[str, ...] = field(init=False, compare=False, repr=False)
    _fingerprint: str | None = field(init=False, compare=False, repr=False, default=None)

    def __post_init__(self) -> None:
        matrix = _as_matrix(self.matrix)
        if isinstance(self.ops, (str, bytes)) or not isinstance(self.ops, Sequence | np.ndarray):
            raise NasvizError(f"ops must be a list of op names; got {self.ops!r}; {_FORMAT}")
        ops = tuple(str(o) for o in self.ops)
        n = len(matrix)
        if n != len(ops):
            raise NasvizError(f"the matrix has {n} vertices but {len(ops)} ops are given; they must match")
        if n < 2:
            raise NasvizError(f"a cell needs at least 2 vertices (input and output); got {n}")
        for i in range(n):
            for j in range(i + 1):
                if matrix[i][j]:
                    what = "a self-loop" if i == j else "a backward edge (lower triangle), which would allow cycles"
                    raise NasvizError(
                        f"adjacency entry ({i},{j}) is 1: {what}; the matrix must be strictly upper triangular "
                        "(edges only from a lower to a higher vertex)"
                    )
        keep = _prune(matrix)
        if keep is None:
            raise NasvizError("invalid spec: the input is not connected to the output (no input -> output path)")
        kept = sorted(keep)
        pruned = tuple(tuple(matrix[i][j] for j in kept) for i in kept)
        pops = tuple(ops[i] for i in kept)
        nv, ne = len(kept), sum(map(sum, pruned))
        if nv > MAX_VERTICES:
            raise NasvizError(f"too many vertices: {nv} after pruning (at most {MAX_VERTICES}, input and output included)")
        if ne > MAX_EDGES:
            raise NasvizError(f"too many edges: {ne} after pruning (at most {MAX_EDGES})")
        if pops[0] != INPUT:
            raise NasvizError(f"the first op must be 'input'; got {pops[0]!r}")
        if pops[-1] != OUTPUT:
            raise NasvizError(f"the last op must be 'output'; got {pops[-1]!r}")
        for k, o in zip(kept[1:-1], pops[1:-1]):
            if o not in OPS:
                raise NasvizError(f"unknown op {o!r} on vertex {k}; {_ACCEPTED}")
        object.__setattr__(self, "matrix", pruned)
        object.__setattr__(self, "ops", pops)
        object.__setattr__(self, "original_matrix", matrix)
        object.__setattr__(self, "original_ops", ops)
        object.__setattr__(self, "_fingerprint", None)

    # -- construction -------------------------------------------------------------
    @classmethod
    def _trusted(cls, matrix: Matrix, ops: tuple[str, ...]) -> "NB101Cell":
        """Build from an already pruned, valid spec (the stored enumeration) without re-checking."""
        self = object.__new__(cls)
        object.__setattr__(self, "matrix", matrix)
        object.__setattr__(self, "ops", ops)
        object.__setattr__(self, "original_matrix", matrix)
        object.__setattr__(self, "original_ops", ops)
        object.__setattr__(self, "_fingerprint", None)
        return self

    @classmethod
    def from_dict(cls, spec: dict) -> "NB101Cell":
        """From ``{"matrix": [[...]], "ops": [...]}`` (also accepts the official keys
        ``module_adjacency`` / ``module_operations``)."""
        if not isinstance(spec, dict):
            raise NasvizError(f"an NB101 spec must be a JSON object; got {type(spec).__name__}; {_FORMAT}")
        matrix = spec.get("matrix", spec.get("module_adjacency"))
        ops = spec.get("ops", spec.get("module_operations"))
        if matrix is None or ops is None:
            raise NasvizError(f"an NB101 spec needs keys 'matrix' and 'ops'; got {sorted(spec)}; {_FORMAT}")
        return cls(matrix, ops)

    @classmethod
    def from_json(cls, text: str) -> "NB101Cell":
        """Parse ``{"matrix": [[...]], "ops": [...]}``."""
        try:
            spec = json.loads(text)
        except (json.JSONDecodeError, TypeError) as e:
            raise NasvizError(f"malformed NB101 spec JSON ({e}); {_FORMAT}") from None
        return cls.from_dict(spec)

    @classmethod
    def from_bits(cls, n_vertices: int, bits: int, labels: Sequence[int]) -> "NB101Cell":
        """From the official bit mask and interior labels (indices into :data:`OPS`)."""
        n = int(n_vertices)
        if not 2 <= n <= MAX_VERTICES:
            raise NasvizError(f"vertex count {n} out of range 2..{MAX_VERTICES}")
        if len(labels) != n - 2:
            raise NasvizError(f"{n} vertices need {n - 2} interior labels; got {len(labels)}")
        m = tuple(tuple(1 if (y > x and (int(bits) >> edge_bit(x, y)) & 1) else 0 for y in range(n)) for x in range(n))
        return cls(m, (INPUT, *(OPS[int(k)] for k in labels), OUTPUT))

    # -- views ----------------------------------------------------------------------
    @property
    def n_vertices(self) -> int:
        return len(self.matrix)

    @property
    def n_edges(self) -> int:
        return sum(map(sum, self.matrix))

    @property
    def labels(self) -> tuple[int, ...]:
        """Interior labels (indices into :data:`OPS`, the official hash labels)."""
        return tuple(OPS.index(o) for o in self.ops[1:-1])

    @property
    def bits(self) -> int:
        """The official adjacency bit mask of the pruned matrix."""
        b = 0
        n = len(self.matrix)
        for x in range(n):
            row = self.matrix[x]
            for y in range(x + 1, n):
                if row[y]:
                    b |= 1 << edge_bit(x, y)
        return b

    @property
    def hash(self) -> str:
        """The official module hash (32 hex digits); what NAS-Bench-101 keys its rows by."""
        h = self._fingerprint
        if h is None:
            h = hash_module(self.matrix, labels_of(self.ops))
            object.__setattr__(self, "_fingerprint", h)
        return h

    @property
    def pruned_vertices(self) -> tuple[int, ...]:
        """Vertices of the original spec that pruning removed (empty when none)."""
        keep = _prune(self.original_matrix) or set()
        return tuple(v for v in range(len(self.original_matrix)) if v not in keep)

    @property
    def was_pruned(self) -> bool:
        return len(self.original_matrix) != len(self.matrix) or self.original_matrix != self.matrix

    def to_dict(self, original: bool = False) -> dict:
        m, o = (self.original_matrix, self.original_ops) if original else (self.matrix, self.ops)
        return {"matrix": [list(r) for r in m], "ops": list(o)}

    def to_json(self, original: bool = False) -> str:
        """Compact JSON spec; ``NB101Cell.from_json(c.to_json()) == c``."""
        return json.dumps(self.to_dict(original), separators=(",", ":"))

    def to_str(self) -> str:
        return self.to_json()

    def __str__(self) -> str:
        return self.to_json()

    def edges(self) -> list[tuple[int, int]]:
        n = len(self.matrix)
        return [(x, y) for x in range(n) for y in range(x + 1, n) if self.matrix[x][y]]

    # -- identity up to isomorphism ---------------------------------------------------
    def canonical(self) -> "NB101Cell":
        """The official representative of this cell's isomorphism class (see module doc)."""
        n = len(self.matrix)
        edges = self.edges()
        labels = self.labels
        best: tuple[int, tuple[int, ...]] | None = None
        for perm in itertools.permutations(range(1, n - 1)):
            p = (0, *perm, n - 1)  # p[v] = new position of vertex v
            if any(p[x] >= p[y] for x, y in edges):
                continue
            bits = 0
            for x, y in edges:
                bits |= 1 << edge_bit(p[x], p[y])
            new = [0] * (n - 2)
            for v in range(1, n - 1):
                new[p[v] - 1] = labels[v - 1]
            key = (bits, tuple(new))
            if best is None or key < best:
                best = key
        assert best is not None  # the identity is always a topological order
        cell = NB101Cell.from_bits(n, best[0], best[1])
        object.__setattr__(cell, "_fingerprint", self._fingerprint)
        return cell

    def is_isomorphic(self, other: "NB101Cell") -> bool:
        return self.canonical() == other.canonical()

    # -- arch2vec encoding ---------------------------------------------------------
    def to_onehot(self) -> tuple[np.ndarray, np.ndarray]:
        """``(adjacency 7x7, one-hot ops 7x5)`` float32, padded with trailing zeros (arch2vec A.1)."""
        n = len(self.matrix)
        adj = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.float32)
        adj[:n, :n] = np.asarray(self.matrix, dtype=np.float32)
        ops = np.zeros((MAX_VERTICES, len(ARCH2VEC_OPS)), dtype=np.float32)
        for v, o in enumerate(self.ops):
            ops[v, ARCH2VEC_OPS.index(o)] = 1
        return adj, ops

    @classmethod
    def from_onehot(cls, adjacency, ops) -> "NB101Cell":
        """Inverse of :meth:`to_onehot`. The vertex count is the number of non-zero op rows;
        padding rows/columns must be zero. ``ops`` may also be a list of names."""
        adj = np.asarray(adjacency)
        if adj.shape != (MAX_VERTICES, MAX_VERTICES):
            raise NasvizError(f"an arch2vec NB101 adjacency is {MAX_VERTICES}x{MAX_VERTICES}; got shape {adj.shape}")
        if isinstance(ops, np.ndarray) or (len(ops) and not isinstance(ops[0], str)):
            oh = np.asarray(ops)
            if oh.shape != (MAX_VERTICES, len(ARCH2VEC_OPS)):
                raise NasvizError(f"one-hot ops must be {MAX_VERTICES} x {len(ARCH2VEC_OPS)}; got {oh.shape}")
            present = oh.any(axis=1)
            n = int(present.sum())
            if not present[:n].all():
                raise NasvizError("one-hot ops: padding rows (all zero) must come after the cell's vertices")
            names = [ARCH2VEC_OPS[int(i)] for i in oh[:n].argmax(axis=1)]
        else:
            names = [str(o) for o in ops]
            n = len(names)
        if (adj[n:, :] != 0).any() or (adj[:, n:] != 0).any():
            raise NasvizError(f"adjacency has edges on padding vertices (the cell has {n} vertices)")
        return cls(adj[:n, :n], names)


    # -- comparisons ---------------------------------------------------------------
    def edit_distance(self, other: "NB101Cell") -> int:
        """Adjacency entries plus vertex ops that differ between the two arch2vec encodings
        (both padded to 7 vertices). Depends on vertex order: isomorphic cells can be at a
        positive distance; a graph edit distance that is not is in :mod:`nasviz.analysis.ged`."""
        a_adj, a_ops = self.to_onehot()
        b_adj, b_ops = other.to_onehot()
        op_diff = (a_ops != b_ops).any(axis=1)
        return int((a_adj != b_adj).sum() + op_diff.sum())


class NB101Space:
    """The NB101 search space over the stored enumeration (``data/nb101/enumeration.npz``).

    Index order: the 423,624 cells sorted by module hash (index = rank of the hash).
    Cells returned by :meth:`cell` are the official representatives.
    """

    name = "nb101"
    n_cells = N_CELLS
    ops = OPS

    def __init__(self, enumeration=None) -> None:
        from nasviz.spaces.nb101_enum import Enumeration, load_enumeration

        self._enum: Enumeration = enumeration if enumeration is not None else load_enumeration()

    @property
    def enumeration(self):
        return self._enum

    def __len__(self) -> int:
        return len(self._enum)

    def __iter__(self) -> Iterator[NB101Cell]:
        return self.enumerate()

    # -- index <-> cell ---------------------------------------------------------------
    def cell(self, index: int) -> NB101Cell:
        """The official representative at an index (0 .. len-1, hash order)."""
        try:
            i = int(index)
        except (TypeError, ValueError):
            raise NasvizError(f"an NB101 index must be an integer 0..{len(self) - 1}; got {index!r}") from None
        if not 0 <= i < len(self):
            raise NasvizError(f"NB101 index {i} is out of range; accepted: 0..{len(self) - 1}")
        return self._enum.cell(i)

    def find(self, module_hash: str) -> int:
        """Index of a module hash, or -1 when it is not in the space."""
        return self._enum.find(module_hash)

    def index(self, cell: NB101Cell) -> int:
        """Index of a cell (through its hash)."""
        i = self.find(cell.hash)
        if i < 0:  # cannot happen for a valid cell with a complete enumeration
            raise NasvizError(f"cell {cell.hash} is not in the stored enumeration ({len(self)} cells)")
        return i

    def by_hash(self, module_hash: str) -> NB101Cell:
        h = str(module_hash).strip().lower()
        if len(h) != 32 or not set(h) <= _HEX:
            raise NasvizError(f"an NB101 module hash is 32 hex digits; got {module_hash!r}")
        i = self.find(h)
        if i < 0:
            raise NasvizError(f"no NB101 cell has module hash {h} (the space has {len(self):,} cells)")
        return self._enum.cell(i)

    def canonical(self, cell: NB101Cell) -> NB101Cell:
        """The stored representative of ``cell``'s isomorphism class."""
        return self._enum.cell(self.index(cell))

    def parse(self, text) -> NB101Cell:
        """A module hash, a JSON spec ``{"matrix": ..., "ops": ...}``, a dict spec, or an index."""
        if isinstance(text, NB101Cell):
            return text
        if isinstance(text, dict):
            return NB101Cell.from_dict(text)
        if isinstance(text, (int, np.integer)):
            return self.cell(int(text))
        s = str(text).strip()
        if s.startswith("{"):
            return NB101Cell.from_json(s)
        if len(s) == 32 and set(s.lower()) <= _HEX:
            return self.by_hash(s)
        if s.lstrip("-").isdigit():
            if not s.isascii() or len(s) > 18:  # '²' is a digit to str.isdigit; 5,000 digits overflow int()
                raise NasvizError(f"cannot read {s[:24]!r}{'...' if len(s) > 24 else ''} ({len(s)} characters) as "
                                  f"an NB101 index; accepted: a whole number 0..{len(self) - 1} in the digits 0-9")
            return self.cell(int(s))
        raise NasvizError(
            f"cannot read {s[:80]!r} as an NB101 architecture: give a module hash (32 hex digits), "
            f"an index 0..{len(self) - 1}, or {_SPEC}"
        )

    def enumerate(self) -> Iterator[NB101Cell]:
        """All cells in index (hash) order."""
        for i in range(len(self)):
            yield self._enum.cell(i)

    # -- random moves ----------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> NB101Cell:
        """A cell drawn uniformly from the 423,624 unique cells."""
        return self._enum.cell(int(rng.integers(len(self))))

    def sample_spec(self, rng: np.random.Generator, max_tries: int = 10_000) -> NB101Cell:
        """The NB101 paper's random-search sampler: uniform 7x7 upper-triangular bits and
        interior ops, redrawn until valid (favours cells with many isomorphic forms)."""
        iu = np.triu_indices(MAX_VERTICES, 1)
        for _ in range(max_tries):
            m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
            m[iu] = rng.integers(0, 2, size=len(iu[0]))
            ops = [INPUT, *(OPS[int(k)] for k in rng.integers(0, N_OPS, size=MAX_VERTICES - 2)), OUTPUT]
            try:
                return NB101Cell(m, ops)
            except NasvizError:
                continue
        raise NasvizError(f"no valid NB101 spec in {max_tries} random draws")

    @staticmethod
    def padded_spec(cell: NB101Cell) -> tuple[list[list[int]], list[str]]:
        """The 7-vertex spec that :meth:`neighbours` edits: the cell's original (unpruned) spec,
        or, when that has fewer than 7 vertices, the same with isolated ``conv3x3-bn-relu``
        vertices inserted before the output (they join the cell once edits connect them)."""
        m, o = cell.original_matrix, cell.original_ops
        if len(m) > MAX_VERTICES:
            m, o = cell.matrix, cell.ops
        n = len(m)
        pad = MAX_VERTICES - n
        rows = [list(r[:-1]) + [0] * pad + [r[-1]] for r in m[:-1]]
        rows += [[0] * MAX_VERTICES for _ in range(pad)]
        rows.append([0] * MAX_VERTICES)
        ops = list(o[:-1]) + [CONV3X3] * pad + [o[-1]]
        return rows, ops

    def neighbours(self, cell: NB101Cell) -> list[NB101Cell]:
        """Valid cells one edit away from :meth:`padded_spec`: one upper-triangular adjacency
        entry flipped or one interior op changed, then pruned; de-duplicated by hash, cells
        isomorphic to ``cell`` excluded. Each neighbour keeps its 7-vertex unpruned spec as
        ``original_matrix``, so a walk can reconnect vertices it pruned earlier (as in the
        NB101 paper's mutation). The bare 2-vertex cell has no neighbour."""
        rows, ops = self.padded_spec(cell)
        n = len(rows)
        seen = {cell.hash}
        out: list[NB101Cell] = []

        def consider(m, o) -> None:
            try:
                c = NB101Cell(tuple(tuple(r) for r in m), tuple(o))
            except NasvizError:
                return
            if c.hash not in seen:
                seen.add(c.hash)
                out.append(c)

        for x in range(n):
            for y in range(x + 1, n):
                rows[x][y] ^= 1
                consider(rows, ops)
                rows[x][y] ^= 1
        for v in range(1, n - 1):
            for o in OPS:
                if o != ops[v]:
                    new = list(ops)
                    new[v] = o
                    consider(rows, new)
        return out

    def mutate(self, cell: NB101Cell, rng: np.random.Generator) -> NB101Cell:
        """A uniformly random element of :meth:`neighbours` (always valid, never ``cell``'s class).
        The 2-vertex cell, which has no neighbour, mutates to a 3-vertex cell (a vertex with a
        random op inserted between input and output, the skip edge kept)."""
        nb = self.neighbours(cell)
        if not nb:
            op = OPS[int(rng.integers(N_OPS))]
            return NB101Cell(((0, 1, 1), (0, 0, 1), (0, 0, 0)), (INPUT, op, OUTPUT))
        return nb[int(rng.integers(len(nb)))]
