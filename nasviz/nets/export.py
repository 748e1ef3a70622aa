"""Write a runnable network for one cell to a file.

Two forms, picked by the suffix of the output path:

``.py``  Python source that rebuilds the network for the cell and needs only torch:
         ``from model import build; net = build()`` gives a freshly initialised,
         trainable ``nn.Module``; ``python model.py`` builds it, runs one forward
         pass on random input and prints the logits' shape and the parameter count.
         It holds the network's classes copied from the installed nasviz
         (``inspect.getsource``, so they cannot drift from it) and a small stand-in
         for nasviz's cell class; it imports neither nasviz nor numpy, and with the
         same torch seed it builds the same weights as nasviz does.
``.pt``  A TorchScript archive of the network with freshly initialised weights
         (``--seed``): ``torch.jit.load("model.pt")`` needs only torch, not nasviz;
         the loaded module trains (``.train()``, ``backward``) and runs in eval mode
         like the original. TorchScript is deprecated in recent torch in favour of
         ``torch.export``, but it is the format that keeps a trainable module with
         its train/eval behaviour in one file.

Neither form holds trained weights: the benchmarks publish none.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nasviz.errors import NasvizError
from nasviz.fileio import atomic_write_bytes
from nasviz.nets import build_net

#: Output suffixes and what each writes.
FORMATS: dict[str, str] = {
    ".py": "Python source that rebuilds the network (needs only torch, not nasviz)",
    ".pt": "TorchScript archive (loads with torch.jit.load, no nasviz needed)",
}


def _parse_nb201(text: str) -> Any:
    from nasviz.spaces import get_space

    return get_space("nb201").parse(text)


def _parse_nb101(text: str) -> Any:
    s = str(text).strip()
    if s.startswith("{"):  # a spec needs no data file
        from nasviz.spaces.nb101 import NB101Cell

        return NB101Cell.from_json(s)
    from nasviz.spaces import get_space

    return get_space("nb101").parse(s)  # a module hash or an index of the stored enumeration


#: space name -> parser of the ARCH text the export command takes.
PARSERS = {"nb201": _parse_nb201, "nb101": _parse_nb101}


def parse_arch(space: str, text: str) -> Any:
    """The cell for ``text`` in ``space``.

    NB201: an official string or index (``nasviz.spaces.get_space("nb201").parse``).
    NB101: a JSON spec ``{"matrix": [[...]], "ops": [...]}``, a module hash or an index
    of the stored enumeration (the benchmark's representative of that hash).
    """
    key = str(space).strip().lower()
    if key not in PARSERS:
        raise NasvizError(f"unknown space {space!r}; accepted: {', '.join(PARSERS)}")
    return PARSERS[key](text)


_PY_TEMPLATE = '''"""{title}

Written by `nasviz export` (nasviz {version}). {paper}
Stand-alone: needs only torch (the classes below are copied from nasviz.nets.{space}).

    from {module} import build
    net = build()            # a freshly initialised torch.nn.Module, ready to train
    logits = net(images)     # images: (B, 3, 32, 32) -> logits: (B, {classes})

`python {filename}` builds it and runs one forward pass on random input.
Trainable parameters: {params:,}.
"""

# (no `from __future__ import annotations`: its string annotations make @dataclass look the module up in
# sys.modules, which fails when the file is loaded with importlib's spec_from_file_location/exec_module)
import math
from dataclasses import asdict, dataclass, field
from typing import Any, List, Sequence, Union

import torch
import torch.nn as nn

NasvizError = ValueError  # nasviz raises a ValueError subclass for bad options; the same here
Device = Union[str, torch.device, None]
{constants}

@@SHIM@@


# -- the network, as nasviz.nets.{space} defines it ----------------------------------------------
@@CLASSES@@

CONFIG = {cfg_class}(**{config})


def build() -> {net_class}:
    """The network for this cell, freshly initialised."""
    return {net_class}(CONFIG)


if __name__ == "__main__":
    net = build().eval()
    with torch.no_grad():
        logits = net(torch.randn(2, CONFIG.in_channels, 32, 32))
    print(f"{{type(net).__name__}}: logits {{tuple(logits.shape)}}, {{net.num_params():,}} trainable parameters")
'''

# Stand-ins for the nasviz cell classes the network code refers to. The exported config holds the
# cell already parsed (NB201) or validated and pruned (NB101) by nasviz, so they only carry it.
_NB201_SHIM = '''class NB201Cell:
    """Stand-in for nasviz.spaces.nb201.NB201Cell: the six edge ops of an official arch string, in order."""

    OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)

    @classmethod
    def from_str(cls, arch: str) -> "NB201Cell":
        names = [tok.split("~")[0] for node in str(arch).split("+") for tok in node.strip("|").split("|")]
        if len(names) != 6 or any(n not in cls.OPS for n in names):
            raise NasvizError(f"not an NB201 arch string: {arch!r}")
        return cls(names)

    def to_str(self) -> str:
        n = self.names
        return f"|{n[0]}~0|+|{n[1]}~0|{n[2]}~1|+|{n[3]}~0|{n[4]}~1|{n[5]}~2|"'''

_NB101_SHIM = '''class NB101Cell:
    """Stand-in for nasviz.spaces.nb101.NB101Cell: carries a cell nasviz already validated and pruned."""

    def __init__(self, matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> None:
        self.matrix = [[int(v) for v in row] for row in matrix]
        self.ops = list(ops)
        n = len(self.matrix)
        if n < 2 or len(self.ops) != n or any(len(row) != n for row in self.matrix):
            raise NasvizError("an NB101 cell needs an n x n matrix and n ops")'''


def _standalone_parts(space: str) -> tuple[str, str, str]:
    """(constants, stand-in cell class, network sources) of the stand-alone ``.py`` for ``space``."""
    import inspect

    if space == "nb201":
        from nasviz.nets import nb201 as m

        objs = [m.NB201NetConfig, m.ReLUConvBN, m.Zero, m.make_op, m.ResNetBasicBlock, m.NB201InferCell, m.NB201Net]
        constants, shim = "", _NB201_SHIM
    else:
        from nasviz.nets import nb101 as m

        objs = [m.compute_vertex_channels, m.conv_bn_relu, m.make_op, m.Vertex, m.NB101Module, m.NB101NetConfig,
                m.NB101Net]
        constants = (f"INTERIOR_OPS = {tuple(m.INTERIOR_OPS)!r}\nBN_MOMENTUM = {m.BN_MOMENTUM!r}\n"
                     f"BN_EPSILON = {m.BN_EPSILON!r}\n")
        shim = _NB101_SHIM
    sources = "\n\n".join(inspect.getsource(o).rstrip() + "\n" for o in objs)
    return constants, shim, sources


_PAPERS = {
    "nb201": "NAS-Bench-201 CIFAR skeleton (Dong & Yang, ICLR 2020).",
    "nb101": "NAS-Bench-101 CIFAR-10 skeleton (Ying et al., ICML 2019).",
}


def python_source(space: str, net, filename: str = "model.py") -> str:
    """Source of a stand-alone ``.py`` file (torch only) that rebuilds ``net`` (built by :func:`build_net`)."""
    import nasviz

    key = str(space).strip().lower()
    cfg = asdict(net.config)
    title = (f"NB201 network for {cfg['arch']}" if key == "nb201"
             else f"NB101 network for the cell {json.dumps({'matrix': cfg['matrix'], 'ops': cfg['ops']})}")
    constants, shim, sources = _standalone_parts(key)
    text = _PY_TEMPLATE.format(
        title=title,
        version=nasviz.__version__,
        paper=_PAPERS[key],
        space=key,
        module=Path(filename).stem,
        filename=Path(filename).name,
        classes=cfg["num_classes"],
        params=net.num_params(),
        constants=constants,
        net_class=type(net).__name__,
        cfg_class=type(net.config).__name__,
        config=repr(cfg),
    )
    return text.replace("@@SHIM@@", shim).replace("@@CLASSES@@", sources)


def torchscript_bytes(net) -> bytes:
    """``net`` as a TorchScript archive (in memory)."""
    import io

    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.*deprecated", category=Warning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        scripted = torch.jit.script(net)
        buf = io.BytesIO()
        torch.jit.save(scripted, buf)
    return buf.getvalue()


def export(space: str, arch: str, out: str | Path, num_classes: int = 10, seed: int = 0) -> dict:
    """Parse ``arch``, build its network and write it to ``out`` (``.py`` or ``.pt``).

    Returns a summary: space, arch, path, format, classes, trainable params.
    Raises :class:`NasvizError` for a bad architecture, space, class count or suffix.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        accepted = "; ".join(f"{k}: {v}" for k, v in FORMATS.items())
        raise NasvizError(f"cannot export to {str(out)!r}: unknown suffix {path.suffix or '(none)'!r}; accepted: {accepted}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise NasvizError(f"--classes must be a positive integer; got {num_classes!r}")
    if path.exists() and path.is_dir():
        raise NasvizError(f"{path} is a directory; give a file name ending in .py or .pt")
    cell = parse_arch(space, arch)

    import torch

    torch.manual_seed(int(seed))
    net = build_net(space, cell, num_classes)
    if suffix == ".py":
        atomic_write_bytes(path, python_source(space, net, path.name).encode())
    else:
        atomic_write_bytes(path, torchscript_bytes(net))
    cfg = asdict(net.config)
    arch_out = cfg["arch"] if "arch" in cfg else {"matrix": cfg["matrix"], "ops": cfg["ops"]}
    return {
        "space": str(space).lower(),
        "arch": arch_out,
        "path": str(path),
        "format": FORMATS[suffix],
        "classes": num_classes,
        "params": net.num_params(),
        "seed": int(seed) if suffix == ".pt" else None,
    }
