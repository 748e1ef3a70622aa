"""Runnable PyTorch networks for the cells of each space.

``nets.nb201`` builds the NAS-Bench-201 CIFAR network and ``nets.nb101`` the
NAS-Bench-101 one, exactly as the benchmarks trained them (trainable parameter
counts equal the benchmarks' ``params`` columns). Needs ``torch``; the rest of
nasviz does not import this package.
"""

from __future__ import annotations

from typing import Any, Callable

from nasviz.errors import NasvizError


def _nb201(cell: Any, num_classes: int = 10, **options):
    from nasviz.nets.nb201 import build_nb201

    return build_nb201(cell, num_classes, **options)


def _nb101(cell: Any, num_classes: int = 10, **options):
    from nasviz.nets.nb101 import build_nb101

    return build_nb101(cell, num_classes, **options)


#: space name -> builder ``(cell, num_classes=10, *, device=None, **config fields) -> nn.Module``.
NETS: dict[str, Callable[..., Any]] = {"nb201": _nb201, "nb101": _nb101}


def build_net(space: str, cell: Any, num_classes: int = 10, **options):
    """The runnable network for a cell of ``space`` (see :data:`NETS`)."""
    key = str(space).strip().lower()
    if key not in NETS:
        raise NasvizError(f"no runnable network for space {space!r}; accepted: {', '.join(NETS)}")
    return NETS[key](cell, num_classes, **options)
