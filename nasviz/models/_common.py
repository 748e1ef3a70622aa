"""Pieces shared by the latent models: encodings of cells, decode results, input checks.

The models see a space only through an *encoding*:

* :class:`GraphEncoding` (arch2vec): cells <-> (adjacency N x N, one-hot ops N x K);
* :class:`SequenceEncoding` (beta-VAE): cells <-> a fixed-length token sequence.

``ENCODINGS[(space, "graph"|"sequence")]`` builds one; NB201 is the reference.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from nasviz.errors import NasvizError

log = logging.getLogger(__name__)


class NotFittedError(NasvizError):
    """A model was asked to transform/decode/predict before ``fit`` (or ``load_model``)."""


@dataclass(frozen=True, slots=True)
class Invalid:
    """A decode that is not a cell of the space, and why."""

    reason: str

    def __bool__(self) -> bool:  # so `if decoded:` skips invalid decodes
        return False


def is_valid(x) -> bool:
    return not isinstance(x, Invalid)


# -- encodings -----------------------------------------------------------------------
class GraphEncoding:
    """NB201 as arch2vec's node-op DAG: 8 nodes, 7 node types (input, 5 ops, output)."""

    space = "nb201"
    n_nodes = 8

    def __init__(self) -> None:
        from nasviz.spaces.nb201 import NODE_OPS

        self.node_ops = NODE_OPS
        self.n_ops = len(NODE_OPS)

    def encode(self, cells: Sequence) -> tuple[np.ndarray, np.ndarray]:
        """``(A (n, 8, 8) float32 directed, X (n, 8, 7) float32 one-hot)``."""
        from nasviz.spaces.nb201 import NB201Cell

        cells = list(cells)
        for c in cells:
            if not isinstance(c, NB201Cell):
                raise NasvizError(f"this model encodes NB201 cells; got {type(c).__name__}")
        n = len(cells)
        from nasviz.spaces.nb201 import NODE_ADJACENCY

        A = np.broadcast_to(NODE_ADJACENCY.astype(np.float32), (n, 8, 8)).copy()
        X = np.zeros((n, 8, self.n_ops), dtype=np.float32)
        X[:, 0, 0] = 1
        X[:, 7, self.n_ops - 1] = 1
        if n:
            ops = np.array([c.ops for c in cells], dtype=np.int64)  # (n, 6)
            rows = np.arange(n)[:, None]
            X[rows, np.arange(1, 7)[None, :], 1 + ops] = 1
        return A, X

    def decode_one(self, adjacency: np.ndarray, op_index: np.ndarray):
        from nasviz.spaces.nb201 import NB201Cell

        names = [self.node_ops[int(i)] for i in op_index]
        try:
            return NB201Cell.from_node_dag(adjacency, names)
        except NasvizError as e:
            return Invalid(str(e))


class SequenceEncoding:
    """NB201 as the DNAS token sequence: the 6 edge ops in official-string order, 5 tokens."""

    space = "nb201"
    length = 6

    def __init__(self) -> None:
        from nasviz.spaces.nb201 import OPS

        self.tokens = OPS
        self.n_tokens = len(OPS)

    def encode(self, cells: Sequence) -> np.ndarray:
        from nasviz.spaces.nb201 import NB201Cell

        cells = list(cells)
        for c in cells:
            if not isinstance(c, NB201Cell):
                raise NasvizError(f"this model encodes NB201 cells; got {type(c).__name__}")
        return np.array([c.ops for c in cells], dtype=np.int64).reshape(len(cells), self.length)

    def decode_one(self, tokens: np.ndarray):
        from nasviz.spaces.nb201 import NB201Cell

        try:
            return NB201Cell(tuple(int(t) for t in tokens))
        except NasvizError as e:  # cannot happen for 5-way tokens, kept for other spaces
            return Invalid(str(e))


class NB101GraphEncoding:
    """NB101 as arch2vec's padded graph (paper 003, Appendix A.1): 7x7 adjacency, 7 node types.

    Node types are arch2vec's 5 ops {input, conv1x1, conv3x3, maxpool3x3, output} plus
    ``pad`` for the trailing rows of cells with fewer than 7 vertices (the softmax op
    decoder needs a class for them). A decode is valid when pad rows are trailing, the
    padding has no edges and the graph is a valid NB101 spec (``NB101Cell.from_onehot``).
    """

    space = "nb101"
    n_nodes = 7

    def __init__(self) -> None:
        from nasviz.spaces.nb101 import ARCH2VEC_OPS

        self.node_ops = (*ARCH2VEC_OPS, "pad")
        self.n_ops = len(self.node_ops)

    def encode(self, cells: Sequence) -> tuple[np.ndarray, np.ndarray]:
        from nasviz.spaces.nb101 import NB101Cell

        n = len(cells)
        A = np.zeros((n, 7, 7), dtype=np.float32)
        X = np.zeros((n, 7, self.n_ops), dtype=np.float32)
        for i, c in enumerate(cells):
            if not isinstance(c, NB101Cell):
                raise NasvizError(f"this model encodes NB101 cells; got {type(c).__name__}")
            a, o = c.to_onehot()
            A[i] = a
            X[i, :, :5] = o
            X[i, ~o.any(axis=1), 5] = 1
        return A, X

    def decode_one(self, adjacency: np.ndarray, op_index: np.ndarray):
        from nasviz.spaces.nb101 import NB101Cell

        onehot = np.zeros((7, 5), dtype=np.float32)
        for v, k in enumerate(op_index):
            if int(k) < 5:
                onehot[v, int(k)] = 1
        try:
            return NB101Cell.from_onehot(adjacency, onehot)
        except NasvizError as e:
            return Invalid(str(e))


class NB101SequenceEncoding:
    """NB101 as a fixed-length DNAS token sequence of 26 tokens (documented choice).

    Positions 0..20: the 21 upper-triangular entries of the padded 7x7 adjacency in
    row-major order (token 0 = no edge, 1 = edge); positions 21..25: the ops of
    vertices 1..5 (token 2 = conv3x3, 3 = conv1x1, 4 = maxpool3x3, 5 = pad). Vertex 0
    is always the input and the output is the last non-pad vertex, so they carry no
    token. Cells with fewer than 7 vertices are padded as in arch2vec (output moved to
    the last real vertex, trailing pad vertices without edges).
    """

    space = "nb101"
    length = 26

    def __init__(self) -> None:
        from nasviz.spaces.nb101 import OPS

        self.ops = OPS
        self.tokens = ("0", "1", *OPS, "pad")
        self.n_tokens = len(self.tokens)
        self._iu = np.triu_indices(7, 1)

    def encode(self, cells: Sequence) -> np.ndarray:
        from nasviz.spaces.nb101 import NB101Cell

        out = np.zeros((len(cells), self.length), dtype=np.int64)
        for i, c in enumerate(cells):
            if not isinstance(c, NB101Cell):
                raise NasvizError(f"this model encodes NB101 cells; got {type(c).__name__}")
            a, _ = c.to_onehot()
            out[i, :21] = a[self._iu]
            n = len(c.ops)
            inner = [2 + self.ops.index(o) for o in c.ops[1:n - 1]]
            out[i, 21:] = inner + [5] * (5 - len(inner))
        return out

    def decode_one(self, tokens: np.ndarray):
        from nasviz.spaces.nb101 import NB101Cell

        t = [int(x) for x in tokens]
        if any(x > 1 for x in t[:21]) or any(x < 2 for x in t[21:]):
            return Invalid("token of the wrong kind: positions 0-20 must be edge bits, 21-25 ops or pad")
        inner = t[21:]
        k = inner.index(5) if 5 in inner else 5
        if any(x != 5 for x in inner[k:]):
            return Invalid("pad vertices must be trailing")
        n = k + 2
        a = np.zeros((7, 7), dtype=np.int64)
        a[self._iu] = t[:21]
        ops = ["input", *(self.ops[x - 2] for x in inner[:k]), "output"]
        if a[n:, :].any() or a[:, n:].any():
            return Invalid(f"edges on padding vertices (the cell has {n} vertices)")
        try:
            return NB101Cell(a[:n, :n], ops)
        except NasvizError as e:
            return Invalid(str(e))


ENCODINGS: dict[tuple[str, str], Callable[[], object]] = {
    ("nb201", "graph"): GraphEncoding,
    ("nb201", "sequence"): SequenceEncoding,
    ("nb101", "graph"): NB101GraphEncoding,
    ("nb101", "sequence"): NB101SequenceEncoding,
}


def get_encoding(space: str, kind: str):
    key = (str(space).lower(), kind)
    if key not in ENCODINGS:
        have = sorted({s for s, k in ENCODINGS if k == kind})
        raise NasvizError(f"no {kind} encoding for space {space!r} yet; accepted: {', '.join(have)}")
    return ENCODINGS[key]()


# -- checks ----------------------------------------------------------------------------
def check_latent(z, shape: tuple[int, ...], what: str = "latent") -> np.ndarray:
    """``z`` as float32 of shape (n, *shape); one code of shape ``shape`` is accepted too.

    A flat (n, prod(shape)) array is accepted for matrix-shaped codes.
    Raises :class:`NasvizError` for a wrong size, NaN or inf.
    """
    try:
        arr = np.asarray(z, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise NasvizError(f"{what} vectors must be numeric arrays; got {type(z).__name__} ({e})") from None
    size = int(np.prod(shape))
    if arr.shape == tuple(shape):
        arr = arr[None]
    elif arr.ndim == 1 and arr.size == size:
        arr = arr[None]
    if arr.ndim >= 2 and arr.shape[1:] != tuple(shape):
        if int(np.prod(arr.shape[1:])) == size:
            arr = arr.reshape((arr.shape[0], *shape))
    if arr.ndim < 2 or arr.shape[1:] != tuple(shape):
        want = " x ".join(map(str, shape))
        raise NasvizError(
            f"{what} has shape {tuple(np.shape(z))}; this model expects codes of shape ({want}) "
            f"(one code, or n codes as (n, {want})" + (f" or (n, {size})" if len(shape) > 1 else "") + ")"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argwhere(bad.reshape(len(arr), -1).any(axis=1))[0, 0])
        kind = "NaN" if np.isnan(arr).any() else "inf"
        raise NasvizError(f"{what} code {i} contains {kind}; every entry must be a finite number")
    return arr.astype(np.float32)


def split_indices(n: int, seed: int, test_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) index arrays: a seeded permutation, the first ``round(n * f)`` held out."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def resolve_device(device: str | None) -> str:
    """``None``/``"auto"`` -> cuda when available, else cpu; ``"cuda"`` without a GPU is an error."""
    import torch

    d = "auto" if device is None else str(device).lower()
    if d == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if d == "cuda" and not torch.cuda.is_available():
        raise NasvizError("--device cuda was asked for, but torch sees no CUDA GPU here; use --device cpu")
    if d not in ("cpu", "cuda") and not d.startswith("cuda:"):
        raise NasvizError(f"unknown device {device!r}; accepted: cpu, cuda, auto")
    return d
