"""``nasviz export ARCH --space nb201|nb101 --out model.py|model.pt [--classes N]``.

Register in nasviz/cli.py with:

    from nasviz.commands.export import export as export_cmd; app.command("export")(export_cmd)

Writes a runnable network for one cell (see :mod:`nasviz.nets.export` for the two
formats). Bad input raises :class:`~nasviz.errors.NasvizError`, which ``cli.main``
turns into one ``error: ...`` line and exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer


def export(
    arch: str = typer.Argument(
        ...,
        help='NB201: an official string or an index 0..15624. NB101: a JSON spec {"matrix": [[...]], "ops": [...]}, '
        "a module hash or an index.",
    ),
    out: Path = typer.Option(..., "--out", "-o",
                             help="model.py (source that rebuilds the net with nasviz) or model.pt (TorchScript, "
                                  "loads with torch.jit.load without nasviz)."),
    space: str = typer.Option("nb201", "--space", "-s", help="Search space: nb201 or nb101."),
    classes: int = typer.Option(10, "--classes", min=1, max=100_000, help="Output classes (NB201: 10 CIFAR-10, 100 CIFAR-100, "
                                                      "120 ImageNet16-120; NB101: 10)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the initial weights written to a .pt file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Write a runnable PyTorch network for one cell (freshly initialised, untrained)."""
    from nasviz.nets.export import export as do_export
    from nasviz.fileio import check_writable_file

    check_writable_file(out, (".py", ".pt"))  # before the net is built: nothing written on a bad --out

    result = do_export(space, arch, out, num_classes=classes, seed=seed)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    arch_text = result["arch"] if isinstance(result["arch"], str) else json.dumps(result["arch"])
    typer.echo(f"wrote {result['path']}: {result['space']} network for {arch_text}")
    typer.echo(f"  {result['format']}; {result['classes']} classes, {result['params']:,} trainable parameters")
    if out.suffix.lower() == ".py":
        typer.echo(f"  use: from {out.stem} import build; net = build()   or run: python {out}")
    else:
        typer.echo(f"  use: net = torch.jit.load({str(out)!r})")
