"""The ``nasviz`` command line.

Every command has ``--help``; commands that report data take ``--json`` and then
print exactly one JSON object on stdout. Bad input prints one line, ``error: ...``,
on stderr and exits with status 2 (no traceback).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from nasviz.errors import NasvizError

app = typer.Typer(
    name="nasviz",
    help="Look inside neural architecture search: NAS-Bench spaces, real benchmark results, diagrams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Convert an official benchmark file once into nasviz's fast local format.",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")


def _register_subcommands() -> None:
    """Commands that live in :mod:`nasviz.commands` (one module per area)."""
    from nasviz.commands.controller import app as controller_app
    from nasviz.commands.distribution import app as distribution_app
    from nasviz.commands.export import export as export_cmd
    from nasviz.commands.models import embed, train_app
    from nasviz.commands.nb101 import enumerate_app, import_nb101
    from nasviz.commands.search import app as search_app

    app.add_typer(enumerate_app, name="enumerate")
    import_app.command("nb101")(import_nb101)
    app.command("export")(export_cmd)
    app.add_typer(train_app, name="train")
    app.command("embed")(embed)
    app.add_typer(controller_app, name="controller")
    app.add_typer(distribution_app, name="distribution")
    app.add_typer(search_app, name="search")


def _emit_json(obj: dict) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=False))


# -- spaces -------------------------------------------------------------------------
@app.command()
def spaces(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """List the search spaces: number of cells, cells with results, datasets, metrics."""
    from nasviz.bench import get_benchmark
    from nasviz.spaces import SPACES

    out = {}
    for name in sorted(SPACES):
        bench = get_benchmark(name)
        out[name] = _space_summary(name, bench)
    if as_json:
        _emit_json({"spaces": out})
        return
    for name, info in out.items():
        typer.echo(f"{name}: {info['cells']:,} cells, {info['cells_with_results']:,} with results ({info['source']})")
        typer.echo(f"  datasets: {', '.join(info['datasets'])}")
        for col in info["columns"]:
            ep = f" @ {col['epochs']} ep" if col["epochs"] is not None else ""
            typer.echo(f"    {col['dataset']:<15} {col['metric']:<10}{ep}")


def _space_summary(name: str, bench) -> dict:
    info = bench.summary() if hasattr(bench, "summary") else {}
    cols = bench.columns()
    return {
        "cells": info.get("cells", len(bench)),
        "cells_with_results": info.get("cells_with_results", len(bench)),
        "source": info.get("source", str(getattr(bench, "path", ""))),
        "datasets": sorted({c.dataset for c in cols}, key=[c.dataset for c in cols].index),
        "metrics": sorted({c.metric.value for c in cols}),
        "columns": [{"dataset": c.dataset, "metric": c.metric.value, "epochs": c.epochs, "unit": c.unit} for c in cols],
    }


# -- show ---------------------------------------------------------------------------
@app.command()
def show(
    arch: str = typer.Argument(..., help="NB201: an official string or an index 0..15624. "
                               'NB101: a module hash or a JSON spec {"matrix": [[...]], "ops": [...]}.'),
    space: str = typer.Option("nb201", "--space", "-s", help="Search space."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    dot: bool = typer.Option(False, "--dot", help="Print the cell diagram as Graphviz DOT."),
    view: Optional[str] = typer.Option(None, "--view", help="Diagram view: NB201 edge (default) or node "
                                       "(arch2vec); NB101 node."),
    out: Optional[Path] = typer.Option(None, "--out", help="Render the diagram to FILE.svg or FILE.png."),
) -> None:
    """Print a cell, its canonical form and every benchmark metric."""
    from nasviz.bench import get_benchmark
    from nasviz.viz.diagrams import cell_dot, write

    bench = get_benchmark(space)
    cell = bench.space.parse(arch)
    rec = bench.record(cell)
    diagram = cell_dot(space, cell, view=view, title=cell.to_str() if space.lower() == "nb201" else rec.get("hash"))
    if out is not None:
        write(diagram, out)
        rec["diagram"] = str(out)
    if dot:
        typer.echo(diagram)
        return
    if as_json:
        _emit_json(rec)
        return
    typer.echo(f"{rec['space']} cell #{rec['index']}: {rec['arch']}")
    typer.echo(f"  canonical: {rec['canonical']} (#{rec['canonical_index']})")
    for ds, by_ep in rec["metrics"].items():
        parts = []
        for ep, vals in by_ep.items():
            parts.append(ep + ": " + ", ".join(f"{k}={v:.4g}" for k, v in vals.items()))
        typer.echo(f"  {ds:<15} " + " | ".join(parts))
    if out is not None:
        typer.echo(f"  diagram written to {out}")


# -- import -------------------------------------------------------------------------
@import_app.command("nb201")
def import_nb201(
    path: Path = typer.Argument(..., help="NAS-Bench-201 (.pth) or NATS-Bench tss file/folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Read an official NB201/NATS-Bench file with the official package; write the local table."""
    from nasviz.bench.nb201_import import import_official

    result = import_official(path)
    if as_json:
        _emit_json(result)
    else:
        typer.echo(f"imported {result['rows']:,} NB201 cells from {path} into {result['table']}")


_register_subcommands()


def main() -> None:
    """Console-script entry: NasvizError -> one line on stderr, exit status 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()  # click handles usage errors itself (message + exit 2)
    except NasvizError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)

if __name__ == "__main__":
    main()
