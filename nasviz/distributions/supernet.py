"""A small NAS-Bench-201 weight-sharing supernet and the image data it trains on.

The supernet is the NB201 skeleton (Dong & Yang, ICLR 2020, Section 2.1) shrunk to
run on a laptop CPU: every cell holds all 6 edges x 5 ops of the NB201 space, each
edge a *mixed op* ``sum_o w[e, o] * op_o(x)`` (DARTS, Liu et al. 2019, Eq. 2). The
same ``(6, 5)`` weight matrix drives every cell, as in DARTS/GDAS on NB201, so one
matrix is one point (or one sample) of the architecture distribution:

    stem      conv3x3(in -> C) + BN                                 H x W
    stage 1   N search cells, C channels                            H x W
    reduce    residual basic block, stride 2, C -> 2C               H/2
    stage 2   N search cells, 2C channels                           H/2
    reduce    residual basic block, stride 2, 2C -> 4C              H/4
    stage 3   N search cells, 4C channels                           H/4
    head      BN + ReLU, global average pool, linear(4C -> classes)

Defaults: C = 8, N = 1 (3 search cells), 8 x 8 inputs (8 -> 4 -> 2 after the reductions). The ops are NB201's:
``none`` (zero), ``skip_connect`` (identity), ``nor_conv_1x1`` / ``nor_conv_3x3``
(ReLU -> conv -> BN) and ``avg_pool_3x3`` (stride 1, ``count_include_pad=False``).
BN inside the search cells has no affine parameters (DARTS's search setting), so the
architecture weights cannot be absorbed into BN scales.

Data
----
``digits`` (the default) is scikit-learn's bundled handwritten digits: 1,797 grey
8 x 8 images, 10 classes, pixel values 0..16, available offline. Each image is
scaled to [0, 1] (divided by 16), kept at its native 8 x 8 by default (``image_size``
other than 8 resizes it with bilinear interpolation, ``torch.nn.functional.interpolate``,
``align_corners=False``; 16 makes an epoch about 2.5x slower on a CPU) and
standardised with the mean and std of the *search-train* split (one channel). The images are split
once with a seeded permutation into search-train (weights, 50 %) and search-val
(architecture, 50 %), as DARTS splits the CIFAR-10 train set.

A **CIFAR-10 folder** is read without torchvision. Accepted layout: the official
"CIFAR-10 python version" folder (``cifar-10-batches-py``), i.e. a folder holding
one or more files ``data_batch_1`` .. ``data_batch_5``, each a pickled ``dict``
with ``b"data"`` (uint8 array, N x 3072: 1024 red, 1024 green, 1024 blue values
of a 32 x 32 image, row-major) and ``b"labels"`` (N ints in 0..9). ``test_batch``
and ``batches.meta`` may be present and are ignored (search never sees test data).
Files are unpickled with a restricted unpickler that only rebuilds numpy arrays,
so a folder cannot run code. Pixels are scaled to [0, 1] and standardised per
channel with the search-train split's statistics; ``max_images`` (default 5,000)
caps how many training images are used so one epoch stays at CPU scale, and
``image_size`` (default 8, as digits; 16 or 32 when time allows) downsamples the
32 x 32 images by area averaging.
"""

from __future__ import annotations

import io
import logging
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from nasviz.errors import DataFileError, NasvizError
from nasviz.spaces.nb201 import EDGES, N_EDGES, N_OPS, OPS

log = logging.getLogger(__name__)

CIFAR_LAYOUT = (
    "a CIFAR-10 python-version folder (cifar-10-batches-py): files data_batch_1 .. data_batch_5, each a pickled "
    "dict with b'data' (uint8, N x 3072, RGB planes of 32x32 images) and b'labels' (N ints 0..9)"
)


# -- data -------------------------------------------------------------------------
@dataclass
class SearchData:
    """Search-train / search-val tensors (N, C, H, W) float32 and labels int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int
    in_channels: int
    name: str  # "digits" or the CIFAR folder path

    def describe(self) -> dict:
        return {
            "dataset": self.name,
            "train_images": int(self.x_train.shape[0]),
            "val_images": int(self.x_val.shape[0]),
            "image_shape": list(self.x_train.shape[1:]),
            "num_classes": self.num_classes,
        }

    def to(self, device: torch.device | str) -> "SearchData":
        return SearchData(self.x_train.to(device), self.y_train.to(device), self.x_val.to(device),
                          self.y_val.to(device), self.num_classes, self.in_channels, self.name)


def _split_and_normalise(x: np.ndarray, y: np.ndarray, seed: int, val_fraction: float, name: str,
                         num_classes: int) -> SearchData:
    if not 0.0 < val_fraction < 1.0:
        raise NasvizError(f"val_fraction must be strictly between 0 and 1; got {val_fraction}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    n_val = int(round(len(x) * val_fraction))
    if n_val < 1 or n_val >= len(x):
        raise NasvizError(f"cannot split {len(x)} images into search-train and search-val with fraction {val_fraction}")
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    xt = x[train_idx]
    mean = xt.mean(axis=(0, 2, 3), keepdims=True)
    std = xt.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    xn = ((x - mean) / std).astype(np.float32)
    return SearchData(
        torch.from_numpy(xn[train_idx]), torch.from_numpy(y[train_idx].astype(np.int64)),
        torch.from_numpy(xn[val_idx]), torch.from_numpy(y[val_idx].astype(np.int64)),
        num_classes, int(x.shape[1]), name,
    )


def load_digits_data(seed: int = 0, *, image_size: int = 8, val_fraction: float = 0.5) -> SearchData:
    """scikit-learn's digits, scaled to [0, 1], resized to ``image_size``, standardised (see module doc)."""
    from sklearn.datasets import load_digits

    if int(image_size) < 4:
        raise NasvizError(f"image_size must be at least 4 (two stride-2 reductions); got {image_size}")
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0).unsqueeze(1)  # (1797, 1, 8, 8)
    if image_size != 8:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return _split_and_normalise(x.numpy(), d.target.astype(np.int64), seed, val_fraction, "digits", 10)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes and numpy arrays; refuses every other global."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a CIFAR batch holds only arrays and lists")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            obj = _NumpyOnlyUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as e:
        raise DataFileError(f"{path} is not a CIFAR-10 python batch ({e}); expected {CIFAR_LAYOUT}") from e
    if not isinstance(obj, dict):
        raise DataFileError(f"{path} holds a {type(obj).__name__}, not a dict; expected {CIFAR_LAYOUT}")
    obj = {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}
    if "data" not in obj or "labels" not in obj:
        raise DataFileError(f"{path} lacks the keys data/labels (has {sorted(map(str, obj))}); expected {CIFAR_LAYOUT}")
    data = np.asarray(obj["data"])
    labels = np.asarray(obj["labels"])
    if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8:
        raise DataFileError(f"{path}: data must be uint8 N x 3072; got {data.dtype} {data.shape}; expected {CIFAR_LAYOUT}")
    if labels.shape != (data.shape[0],) or labels.size == 0 or labels.min() < 0 or labels.max() > 9:
        raise DataFileError(f"{path}: labels must be {data.shape[0]} ints in 0..9; expected {CIFAR_LAYOUT}")
    return data, labels.astype(np.int64)


def load_cifar10_folder(path: str | Path, seed: int = 0, *, image_size: int = 8, val_fraction: float = 0.5,
                        max_images: int | None = 5000) -> SearchData:
    """Read a CIFAR-10 python-version folder (see the module doc for the layout)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DataFileError(f"dataset folder {root} does not exist; give 'digits' or {CIFAR_LAYOUT}")
    if not root.is_dir():
        raise DataFileError(f"dataset {root} is a file, not a folder; give 'digits' or {CIFAR_LAYOUT}")
    if (root / "cifar-10-batches-py").is_dir():  # the parent of the extracted archive
        root = root / "cifar-10-batches-py"
    files = sorted(p for p in root.glob("data_batch_*") if p.is_file())
    if not files:  # (the message does not list the folder: the app shows it to a browser user)
        raise DataFileError(f"no data_batch_* files in {root}; expected {CIFAR_LAYOUT}")
    if 32 % int(image_size) != 0 or int(image_size) < 4:
        raise NasvizError(f"image_size for CIFAR-10 must divide 32 and be at least 4; got {image_size}")
    xs, ys = [], []
    for f in files:
        d, lab = _read_cifar_batch(f)
        xs.append(d)
        ys.append(lab)
    data = np.concatenate(xs)
    labels = np.concatenate(ys)
    if max_images is not None and len(data) > int(max_images):
        keep = np.sort(np.random.default_rng(seed).choice(len(data), size=int(max_images), replace=False))
        data, labels = data[keep], labels[keep]
    x = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    if image_size != 32:
        k = 32 // int(image_size)
        x = x.reshape(-1, 3, image_size, k, image_size, k).mean(axis=(3, 5))
    return _split_and_normalise(x, labels, seed, val_fraction, str(root), 10)


def load_search_data(dataset: str | Path = "digits", seed: int = 0, *, image_size: int = 8,
                     val_fraction: float = 0.5, max_images: int | None = 5000) -> SearchData:
    """``"digits"`` or a path to a CIFAR-10 python-version folder."""
    if str(dataset).strip().lower() == "digits":
        return load_digits_data(seed, image_size=image_size, val_fraction=val_fraction)
    return load_cifar10_folder(dataset, seed, image_size=image_size, val_fraction=val_fraction,
                               max_images=max_images)


# -- operations -------------------------------------------------------------------
class _ReLUConvBN(nn.Sequential):
    def __init__(self, c: int, kernel: int, affine: bool) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c, affine=affine),
        )


class _Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _make_op(name: str, c: int) -> nn.Module:
    if name == "none":
        return _Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return _ReLUConvBN(c, 1, affine=False)
    if name == "nor_conv_3x3":
        return _ReLUConvBN(c, 3, affine=False)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise NasvizError(f"unknown op {name!r}; accepted: {', '.join(OPS)}")


class MixedEdge(nn.Module):
    """One edge: ``sum_o w[o] * op_o(x)``; ops with weight exactly 0 and no gradient are skipped."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(_make_op(n, c) for n in OPS)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # x: (B, C, H, W); w: (5,)
        out = None
        skip_zeros = not w.requires_grad
        for o, op in enumerate(self.ops):
            if skip_zeros and float(w[o]) == 0.0:
                continue
            if o == 0:  # none: contributes 0 (and 0 gradient to w[0] through op output)
                y = x.mul(0.0) * w[o]
            else:
                y = op(x) * w[o]
            out = y if out is None else out + y
        return out if out is not None else x.mul(0.0)


class SearchCell(nn.Module):
    """NB201 cell with every candidate op on every edge: node j = sum_{i<j} edge_{j,i}(node i)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(c) for _ in EDGES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        # weights: (6, 5), rows in EDGES order
        nodes = [x]
        for j in range(1, 4):
            s = None
            for k, (to, frm) in enumerate(EDGES):
                if to == j:
                    y = self.edges[k](nodes[frm], weights[k])
                    s = y if s is None else s + y
            nodes.append(s)
        return nodes[3]


class _Reduction(nn.Module):
    """NB201's residual basic block with stride 2 (C -> 2C)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out))
        self.b = nn.Sequential(nn.ReLU(), nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + self.shortcut(x)


@dataclass
class SupernetConfig:
    channels: int = 8  # C: first-stage width; stages use C, 2C, 4C
    cells_per_stage: int = 1  # N: search cells between reductions (3N in all)
    in_channels: int = 1  # 1 for digits, 3 for CIFAR-10
    num_classes: int = 10

    def __post_init__(self) -> None:
        for name in ("channels", "cells_per_stage", "in_channels", "num_classes"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise NasvizError(f"supernet option {name} must be a positive integer; got {v!r}")


class NB201Supernet(nn.Module):
    """Weight-sharing NB201 network; ``forward(x, weights)`` with ``weights`` of shape (6, 5)."""

    def __init__(self, config: SupernetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or SupernetConfig()
        c = cfg.channels
        self.stem = nn.Sequential(nn.Conv2d(cfg.in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for stage in range(3):
            width = c * 2**stage
            if stage > 0:
                layers.append(_Reduction(width // 2, width))
            layers.extend(SearchCell(width) for _ in range(cfg.cells_per_stage))
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(nn.BatchNorm2d(4 * c), nn.ReLU())
        self.classifier = nn.Linear(4 * c, cfg.num_classes)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        # x: (B, in, H, W) -> logits (B, classes)
        if weights.shape != (N_EDGES, N_OPS):
            raise NasvizError(f"architecture weights must have shape ({N_EDGES}, {N_OPS}); got {tuple(weights.shape)}")
        h = self.stem(x)
        for layer in self.layers:
            h = layer(h, weights) if isinstance(layer, SearchCell) else layer(h)
        h = self.head(h).mean(dim=(2, 3))  # (B, 4C)
        return self.classifier(h)

    def state(self) -> dict:
        """Checkpoint in the project's shape: ``{"model": state_dict, "config": asdict(cfg)}``."""
        return {"model": self.state_dict(), "config": asdict(self.config)}


def pick_device(device: str | None = None) -> torch.device:
    """``None``/"auto": CUDA when present, else CPU; otherwise the named device."""
    if device is None or str(device).lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(str(device))
    except RuntimeError:
        raise NasvizError(f"unknown device {device!r}; accepted: auto, cpu, cuda, cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise NasvizError(f"device {device!r} asked for, but CUDA is not available here; use cpu or auto")
    return dev
