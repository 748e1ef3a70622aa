"""The NAS-Bench-101 CIFAR-10 network for one cell (Ying et al., ICML 2019).

NAS-Bench-101: Towards Reproducible Neural Architecture Search,
https://arxiv.org/abs/1902.09635 (Section 2.1, Figure 1), built with the semantics
of the official ``nasbench/lib/model_builder.py`` and ``base_ops.py``:

    stem     conv3x3(3 -> 128) + BN + ReLU                         32x32
    stack 1  3 modules (cells), 128 channels                        32x32
    down     max-pool 2x2 stride 2, channels x2                     16x16
    stack 2  3 modules, 256 channels
    down     max-pool 2x2 stride 2, channels x2                     8x8
    stack 3  3 modules, 512 channels
    head     global average pool, dense(512 -> 10)

Inside a module (the cell, after official pruning of vertices that are not on an
input-to-output path):

* the output's channels are split evenly over the vertices that feed the output
  (the first ``channels % k`` of them get one more), and every other interior
  vertex takes the largest width among the vertices it feeds
  (:func:`compute_vertex_channels`);
* a vertex sums its inputs: interior sources truncated to its width (they are
  at most one channel wider), the module input through a 1x1 conv-BN-ReLU
  projection when it feeds the vertex; then applies its op (conv3x3 / conv1x1 are
  conv-BN-ReLU, maxpool3x3 is stride 1 'same');
* the output concatenates the vertices that feed it, plus the projected input when
  the input connects to the output directly (only that projection when the module
  has no interior vertex).

Batch norm uses the official momentum 0.997 (PyTorch ``momentum=0.003``) and eps
1e-5; convolutions have no bias. The trainable parameter count equals the
benchmark's ``trainable_parameters`` for every cell.

The network depends on the vertex *order*, not only on the isomorphism class: the
output's leftover channels (``channels % k``) go to the lowest-numbered vertices,
so two isomorphic specs can differ by thousands of parameters and millions of
FLOPs (about one cell in ten has such isomorphs). The benchmark trained the representative the official
generator kept, which is what ``NB101Space`` stores and ``NB101Cell.canonical()``
returns; build that one to reproduce the benchmark's numbers for a hash.

The benchmark's first cell (hash 00005c142e6f48ac74fdcf73e3439874, 8,555,530
trainable parameters in the official file):

>>> matrix = [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
...           [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
>>> ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu",
...        "conv1x1-bn-relu", "output"]
>>> build_nb101((matrix, ops), device="meta").num_params()
8555530
"""


import math
from dataclasses import asdict, dataclass, field
from typing import Any, List, Sequence, Union

import numpy as np
import torch
import torch.nn as nn

from nasviz.errors import NasvizError
from nasviz.spaces.nb101 import OPS, NB101Cell

#: Ops an interior vertex may carry (official ``available_ops`` order).
INTERIOR_OPS: tuple[str, ...] = OPS
BN_MOMENTUM = 0.997  # TensorFlow convention: running = 0.997 * running + 0.003 * batch
BN_EPSILON = 1e-5
Device = Union[str, torch.device, None]


# -- the spec -------------------------------------------------------------------------
def as_cell(cell: Any) -> NB101Cell:
    """An :class:`NB101Cell` (validated and pruned the official way) from a cell, a
    ``(matrix, ops)`` pair, a ``{"matrix", "ops"}`` mapping or any object with
    ``.matrix`` and ``.ops``."""
    if isinstance(cell, NB101Cell):
        return cell
    if isinstance(cell, dict):
        return NB101Cell.from_dict(cell)
    if hasattr(cell, "matrix") and hasattr(cell, "ops"):
        return NB101Cell(cell.matrix, cell.ops)
    if isinstance(cell, (tuple, list)) and len(cell) == 2:
        return NB101Cell(*cell)
    raise NasvizError(f"cannot read an NB101 cell from {type(cell).__name__}; give (matrix, ops), "
                      '{"matrix": [[...]], "ops": [...]} or an object with .matrix and .ops')


def compute_vertex_channels(in_channels: int, out_channels: int, matrix) -> list[int]:
    """Channels of every vertex of a pruned module (official channel splitting).

    ``matrix``: the adjacency as rows (lists or a 2-D array), read ``matrix[i][j]`` only, so that
    ``nasviz export``'s stand-alone ``.py`` copies this code without numpy."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[n - 1] = in_channels, out_channels
    if n == 2:
        return channels
    fan_in = sum(int(row[n - 1]) for row in matrix[1:])  # interior vertices feeding the output
    base, extra = divmod(out_channels, fan_in)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = base + (1 if extra else 0)
            extra -= 1 if extra else 0
    for v in range(n - 3, 0, -1):  # vertex n-2 can only feed the output
        if not matrix[v][n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v][dst]:
                    channels[v] = max(channels[v], channels[dst])
    assert all(c > 0 for c in channels[1:-1]), channels
    return channels


# -- layers -------------------------------------------------------------------------
def conv_bn_relu(c_in: int, c_out: int, kernel: int, device: Device = None) -> nn.Sequential:
    """conv (stride 1, 'same', no bias) -> BN(0.997, 1e-5) -> ReLU, the official ``conv_bn_relu``."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=1, padding=kernel // 2, bias=False, device=device),
        nn.BatchNorm2d(c_out, eps=BN_EPSILON, momentum=1.0 - BN_MOMENTUM, device=device),
        nn.ReLU(inplace=False),
    )


def make_op(name: str, channels: int, device: Device = None) -> nn.Module:
    if name == "conv3x3-bn-relu":
        return conv_bn_relu(channels, channels, 3, device)
    if name == "conv1x1-bn-relu":
        return conv_bn_relu(channels, channels, 1, device)
    if name == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise NasvizError(f"unknown NB101 op {name!r}; accepted: {', '.join(INTERIOR_OPS)}")


class Vertex(nn.Module):
    """One interior vertex: sum(truncated interior sources [+ projected input]) -> op."""

    sources: List[int]  # (annotated for TorchScript, which cannot infer an empty list)

    def __init__(self, sources: list[int], from_input: bool, in_channels: int, channels: int, op: str,
                 device: Device = None) -> None:
        super().__init__()
        self.sources = sources  # interior vertices feeding this one (indices into the tensor list)
        self.channels = channels
        self.proj = conv_bn_relu(in_channels, channels, 1, device) if from_input else None
        self.op = make_op(op, channels, device)

    def forward(self, tensors: list[torch.Tensor]) -> torch.Tensor:  # tensors[0]: (B, Cin, H, W)
        out = torch.zeros(0)
        first = True
        for s in self.sources:
            t = tensors[s][:, : self.channels]  # (B, channels, H, W); sources are at most 1 wider
            out = t if first else out + t
            first = False
        proj = self.proj
        if proj is not None:
            p = proj(tensors[0])  # (B, channels, H, W)
            out = p if first else out + p
        return self.op(out)  # (B, channels, H, W)


class NB101Module(nn.Module):
    """One NB101 cell ("module") mapping ``in_channels`` to ``out_channels``."""

    concat: List[int]
    vertex_channels: List[int]

    def __init__(self, matrix: list[list[int]], ops: Sequence[str], in_channels: int, out_channels: int,
                 device: Device = None) -> None:
        super().__init__()
        n = len(matrix)  # matrix[i][j]: edge i -> j of the pruned cell (rows: lists or a 2-D array)
        self.vertex_channels = compute_vertex_channels(in_channels, out_channels, matrix)
        self.vertices = nn.ModuleList(
            Vertex([s for s in range(1, t) if matrix[s][t]], bool(matrix[0][t]), in_channels,
                   self.vertex_channels[t], ops[t], device)
            for t in range(1, n - 1)
        )
        self.concat = [t for t in range(1, n - 1) if matrix[t][n - 1]]  # vertices feeding the output
        self.has_interior = len(self.concat) > 0
        self.out_proj = conv_bn_relu(in_channels, out_channels, 1, device) if matrix[0][n - 1] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, Cin, H, W) -> (B, Cout, H, W)
        tensors = [x]
        for vertex in self.vertices:
            tensors.append(vertex(tensors))
        out_proj = self.out_proj
        if not self.has_interior:
            assert out_proj is not None
            return out_proj(x)  # (B, Cout, H, W)
        out = torch.cat([tensors[t] for t in self.concat], dim=1)  # (B, Cout, H, W)
        if out_proj is not None:
            out = out + out_proj(x)
        return out


@dataclass
class NB101NetConfig:
    matrix: list[list[int]] = field(default_factory=lambda: [
        [0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]])
    # ^ the cell's adjacency (strictly upper-triangular 0/1; <= 7 vertices and <= 9 edges after
    #   pruning); stored pruned. The default is the benchmark's first cell by hash (00005c14...)
    ops: list[str] = field(default_factory=lambda: [
        "input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu",
        "conv1x1-bn-relu", "output"])
    # ^ one op per vertex: input, then conv3x3-bn-relu / conv1x1-bn-relu / maxpool3x3, then output
    num_classes: int = 10  # CIFAR-10
    stem_channels: int = 128  # stem conv width = first stack's module width
    num_stacks: int = 3  # stacks, separated by max-pool 2x2 downsampling that doubles the channels
    modules_per_stack: int = 3  # cells per stack
    in_channels: int = 3  # RGB input

    def __post_init__(self) -> None:
        cell = NB101Cell(self.matrix, self.ops)  # validates and prunes (NasvizError with the reason)
        self.matrix = [list(row) for row in cell.matrix]
        self.ops = list(cell.ops)
        for name in ("num_classes", "stem_channels", "num_stacks", "modules_per_stack", "in_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise NasvizError(f"NB101 network option {name} must be a positive integer; got {value!r}")

    @property
    def cell(self) -> NB101Cell:
        return NB101Cell(self.matrix, self.ops)


class NB101Net(nn.Module):
    """The NB101 network for ``config``'s cell; ``forward`` returns logits (B, classes)."""

    def __init__(self, config: NB101NetConfig, device: Device = None) -> None:
        super().__init__()
        self.config = config
        matrix, ops = [[int(v) for v in row] for row in config.matrix], config.ops  # pruned by the config
        c = config.stem_channels
        self.stem = conv_bn_relu(config.in_channels, c, 3, device)
        layers: list[nn.Module] = []
        c_prev = c
        for stack in range(config.num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True))  # TF 'same': ceil(H/2)
                c *= 2
            for _ in range(config.modules_per_stack):
                layers.append(NB101Module(matrix, ops, c_prev, c, device))
                c_prev = c
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_prev, config.num_classes, device=device)
        if not self.classifier.weight.is_meta:  # meta tensors hold no values to initialise
            self.reset_parameters()

    def reset_parameters(self) -> None:
        """The official initialisers: convs ``variance_scaling`` (fan-in, truncated normal),
        dense glorot-uniform with zero bias, BN gamma 1 / beta 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                std = math.sqrt(1.0 / fan_in) / 0.87962566103423978  # TF's truncated-normal correction
                nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 32, 32)
        x = self.stem(x)  # (B, 128, 32, 32)
        x = self.layers(x)  # (B, 512, 8, 8)
        x = x.mean(dim=(2, 3))  # (B, 512)
        return self.classifier(x)  # (B, classes)

    def num_params(self, trainable_only: bool = True) -> int:
        """Trainable parameters, as the benchmark's ``trainable_parameters`` counts them."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def checkpoint(self) -> dict:
        """``{"model": state_dict, "config": asdict(config)}``; rebuild with :meth:`from_checkpoint`."""
        return {"model": self.state_dict(), "config": asdict(self.config)}

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> "NB101Net":
        net = cls(NB101NetConfig(**ckpt["config"]))
        net.load_state_dict(ckpt["model"])
        return net


def build_nb101(cell: Any, num_classes: int = 10, *, device: str | torch.device | None = None,
                **options) -> NB101Net:
    """The network for an NB101 cell: ``(matrix, ops)``, ``{"matrix", "ops"}`` or any
    object with ``.matrix``/``.ops``; pruned the official way.

    ``device="meta"`` builds the structure without allocating or initialising weights.
    """
    c = as_cell(cell)
    cfg = NB101NetConfig(matrix=[list(r) for r in c.matrix], ops=list(c.ops), num_classes=num_classes, **options)
    return NB101Net(cfg, device=device)


def count_params(cell: Any, num_classes: int = 10) -> int:
    """Trainable parameters of the built network (built on the meta device)."""
    return build_nb101(cell, num_classes, device="meta").num_params()


def nb101_flops(cell: Any, input_size: int = 32) -> int:
    """Forward FLOPs of the built network for one ``3 x input_size x input_size`` image,
    as ``torch.utils.flop_counter.FlopCounterMode`` counts them: 2 per multiply-add of
    convolutions and the dense layer; batch norm, ReLU, pooling, additions and
    concatenation count 0. Runs on the meta device (no arithmetic is done)."""
    from torch.utils.flop_counter import FlopCounterMode

    net = build_nb101(cell, device="meta").eval()
    x = torch.empty(1, net.config.in_channels, input_size, input_size, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    return int(counter.get_total_flops())


def nb101_flops_fast(cell: Any, input_size: int = 32, **options) -> int:
    """The same number as :func:`nb101_flops`, from the layer shapes without building
    the network (about 1000x faster; the two are checked equal in the tests and in
    ``benchmarks/bench_nets.py``). ``options`` are :class:`NB101NetConfig` fields."""
    c = as_cell(cell)
    cfg = NB101NetConfig(matrix=[list(r) for r in c.matrix], ops=list(c.ops), **options)
    matrix, ops = np.asarray(cfg.matrix, dtype=np.int64), cfg.ops
    n = matrix.shape[0]
    kernel = {"conv3x3-bn-relu": 9, "conv1x1-bn-relu": 1, "maxpool3x3": 0}
    side = input_size
    c = cfg.stem_channels
    flops = 2 * side * side * cfg.in_channels * c * 9  # stem conv3x3
    c_prev = c
    for stack in range(cfg.num_stacks):
        if stack > 0:
            side = -(-side // 2)  # max-pool 2x2 stride 2, 'same'
            c *= 2
        hw = side * side
        for _ in range(cfg.modules_per_stack):
            vc = compute_vertex_channels(c_prev, c, matrix)
            for t in range(1, n - 1):
                if matrix[0, t]:
                    flops += 2 * hw * c_prev * vc[t]  # 1x1 projection of the input
                flops += 2 * hw * vc[t] * vc[t] * kernel[ops[t]]
            if matrix[0, n - 1]:
                flops += 2 * hw * c_prev * c  # projection of the input onto the output
            c_prev = c
    return int(flops + 2 * c_prev * cfg.num_classes)  # dense


def enumeration_digest(enum, n: int | None = None) -> str:
    """sha256 of an NB101 enumeration's (first ``n``) module hashes, in row order."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(enum.hashes[:n]).tobytes()).hexdigest()


def stored_flops(path=None, enum=None) -> np.ndarray:
    """The FLOPs column of the whole enumeration (``data/nb101/flops.npz``, written by
    ``tools/nb101_flops.py``), row-aligned with ``NB101Space``; checked against the
    enumeration it was computed for."""
    import json
    from pathlib import Path

    from nasviz.errors import DataFileError
    from nasviz.integrity import verify
    from nasviz.paths import data_dir
    from nasviz.spaces.nb101_enum import load_enumeration

    path = Path(path) if path is not None else data_dir() / "nb101" / "flops.npz"
    if not path.exists():
        raise DataFileError(f"NB101 FLOPs column not found at {path}; compute it with `python tools/nb101_flops.py`")
    enum = enum if enum is not None else load_enumeration()
    verify(path)
    with np.load(path, allow_pickle=False) as z:
        flops, meta = z["flops"], json.loads(bytes(z["meta"]).decode())
    if len(flops) != len(enum) or meta.get("enumeration_sha256") != enumeration_digest(enum, len(flops)):
        raise DataFileError(f"{path} was computed for a different NB101 enumeration; rerun tools/nb101_flops.py")
    return flops
