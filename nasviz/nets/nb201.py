"""The NAS-Bench-201 CIFAR network for one cell (Dong & Yang, ICLR 2020).

NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search,
https://arxiv.org/abs/2001.00326 (Section 2.1, Figure 1). The skeleton is the one
the benchmark trained (xautodl's ``TinyNetwork`` with ``InferCell``):

    stem      conv3x3(3 -> C) + BN                                    32x32, C=16
    stage 1   N cells, C channels                                     32x32
    reduce    residual basic block, stride 2, C -> 2C                 16x16
    stage 2   N cells, 2C channels
    reduce    residual basic block, stride 2, 2C -> 4C                8x8
    stage 3   N cells, 4C channels
    head      BN + ReLU, global average pool, linear(4C -> classes)

with N = 5 (15 cells). Inside a cell, node j sums one op on every earlier node i;
the ops are ``none`` (zero), ``skip_connect`` (identity), ``nor_conv_1x1`` /
``nor_conv_3x3`` (ReLU -> conv -> BN) and ``avg_pool_3x3`` (stride 1,
``count_include_pad=False``). Every edge is built and executed, also ``none`` edges
and edges that cannot reach the output, exactly as the benchmark did, so the
trainable parameter count equals its ``params`` column for every cell
(10 / 100 / 120 classes for CIFAR-10 / CIFAR-100 / ImageNet16-120).

>>> net = NB201Net(NB201NetConfig(arch="|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+"
...                                    "|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"))
>>> net.num_params()
802426
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Union

import torch
import torch.nn as nn

from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import NB201Cell

Device = Union[str, torch.device, None]
#: Classes of the three NB201 datasets (CIFAR-10, CIFAR-100, ImageNet16-120).
DATASET_CLASSES: dict[str, int] = {"cifar10": 10, "cifar10-valid": 10, "cifar100": 100, "ImageNet16-120": 120}


@dataclass
class NB201NetConfig:
    arch: str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    # ^ the cell, as the official string (NB201Cell.to_str()); the default is index 9930
    num_classes: int = 10  # 10 CIFAR-10, 100 CIFAR-100, 120 ImageNet16-120
    channels: int = 16  # C: stem / first-stage width; stages use C, 2C, 4C
    cells_per_stage: int = 5  # N: cells between reductions (15 cells in all)
    in_channels: int = 3  # RGB input

    def __post_init__(self) -> None:
        if isinstance(self.arch, NB201Cell):
            self.arch = self.arch.to_str()
        NB201Cell.from_str(self.arch)  # raises NasvizError with the accepted form
        for name in ("num_classes", "channels", "cells_per_stage", "in_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise NasvizError(f"NB201 network option {name} must be a positive integer; got {value!r}")

    @property
    def cell(self) -> NB201Cell:
        return NB201Cell.from_str(self.arch)


# -- operations ---------------------------------------------------------------------
class ReLUConvBN(nn.Sequential):
    """ReLU -> conv (no bias) -> BN(affine, running stats): NB201's ``nor_conv_kxk``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, device: Device = None) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False, device=device),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=True, device=device),
        )


class Zero(nn.Module):
    """NB201's ``none``: the input times zero (kept in the graph, as the benchmark did)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int, device: Device = None) -> nn.Module:
    """One cell edge (stride 1, same channels in and out, as in every NB201 cell)."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, device)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, device)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise NasvizError(f"unknown NB201 op {name!r}")


class ResNetBasicBlock(nn.Module):
    """The reduction between stages: two ReLUConvBN 3x3 (the first with stride 2)
    plus a shortcut avg-pool 2x2 -> conv1x1 (no BN), summed."""

    def __init__(self, c_in: int, c_out: int, device: Device = None) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, device)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, device)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False, device=device),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, Cin, H, W)
        return self.downsample(x) + self.conv_b(self.conv_a(x))  # (B, Cout, H/2, W/2)


class NB201InferCell(nn.Module):
    """Four nodes; node j = sum over i < j of edge(j <- i)(node i). Edges in
    official-string order: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2."""

    def __init__(self, cell: NB201Cell, channels: int, device: Device = None) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(name, channels, device) for name in cell.names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H, W)
        n1 = self.edges[0](x)
        n2 = self.edges[1](x) + self.edges[2](n1)
        return self.edges[3](x) + self.edges[4](n1) + self.edges[5](n2)


# -- the network ------------------------------------------------------------------------
class NB201Net(nn.Module):
    """The NB201 network for ``config.arch``; ``forward`` returns logits (B, classes)."""

    def __init__(self, config: NB201NetConfig, device: Device = None) -> None:
        super().__init__()
        self.config = config
        cell = config.cell
        c = config.channels
        self.stem = nn.Sequential(
            nn.Conv2d(config.in_channels, c, kernel_size=3, padding=1, bias=False, device=device),
            nn.BatchNorm2d(c, device=device),
        )
        layers: list[nn.Module] = []
        c_prev = c
        for stage in range(3):
            c_stage = c * 2**stage
            if stage > 0:
                layers.append(ResNetBasicBlock(c_prev, c_stage, device))
            layers.extend(NB201InferCell(cell, c_stage, device) for _ in range(config.cells_per_stage))
            c_prev = c_stage
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev, device=device), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, config.num_classes, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 32, 32)
        x = self.stem(x)  # (B, C, 32, 32)
        x = self.cells(x)  # (B, 4C, 8, 8)
        x = self.lastact(x)  # (B, 4C, 8, 8)
        x = self.global_pooling(x).flatten(1)  # (B, 4C)
        return self.classifier(x)  # (B, classes)

    def num_params(self, trainable_only: bool = True) -> int:
        """Parameter count as the benchmark's ``params`` column counts it (all edges)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def checkpoint(self) -> dict:
        """``{"model": state_dict, "config": asdict(config)}``; rebuild with :meth:`from_checkpoint`."""
        return {"model": self.state_dict(), "config": asdict(self.config)}

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> "NB201Net":
        net = cls(NB201NetConfig(**ckpt["config"]))
        net.load_state_dict(ckpt["model"])
        return net


def build_nb201(cell: NB201Cell | str, num_classes: int = 10, *, device: str | torch.device | None = None,
                **options) -> NB201Net:
    """The network for an :class:`NB201Cell` or official string.

    ``device="meta"`` builds the structure without allocating or initialising weights
    (parameter counts and FLOPs in microseconds per layer).
    """
    arch = cell.to_str() if isinstance(cell, NB201Cell) else str(cell)
    cfg = NB201NetConfig(arch=arch, num_classes=num_classes, **options)
    return NB201Net(cfg, device=device)


def count_params(cell: NB201Cell | str, num_classes: int = 10) -> int:
    """Trainable parameters of the built network (built on the meta device)."""
    return build_nb201(cell, num_classes, device="meta").num_params()


def nb201_flops(cell: NB201Cell | str, num_classes: int = 10, input_size: int = 32) -> int:
    """Forward FLOPs for one ``3 x input_size x input_size`` image, counted by
    ``torch.utils.flop_counter.FlopCounterMode`` on the built network (meta device):
    2 per multiply-add of the convolutions and the classifier; BN, ReLU, pooling and
    sums count 0 (the same convention as ``nasviz.nets.nb101.nb101_flops``)."""
    from torch.utils.flop_counter import FlopCounterMode

    net = build_nb201(cell, num_classes, device="meta").eval()
    x = torch.empty(1, net.config.in_channels, input_size, input_size, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    return int(counter.get_total_flops())


def cost_info_flops_m(cell: NB201Cell | str, num_classes: int = 10, input_size: int = 32) -> float:
    """The NB201 API's ``cost_info`` FLOPs (the table's ``flops`` column), in millions,
    from the built network: multiply-adds (:func:`nb201_flops` / 2) plus the
    classifier's bias additions. Input 32x32 for CIFAR, 16x16 for ImageNet16-120."""
    return (nb201_flops(cell, num_classes, input_size) // 2 + num_classes) / 1e6
