"""The ``nasviz`` command line.

Every command has ``--help``; commands that report data take ``--json`` and then
print exactly one JSON object on stdout. Bad input prints one line, ``error: ...``,
on stderr and exits with status 2 (no traceback).
"""

from __future__ import annotations

import errno
import functools
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

    if out is not None:
        from nasviz.fileio import check_writable_file

        check_writable_file(out, (".svg", ".png"))
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
    typer.echo(f"  data: {_space_summary(space.lower(), bench)['source']}")
    if rec.get("canonical_rule") != "nb201":
        typer.echo(f"  canonical: {rec['canonical']} (#{rec['canonical_index']})")
    else:
        typer.echo(f"  canonical: {rec['canonical']} (#{rec['canonical_index']}; NAS-Bench-201's identity rule)")
        if rec["same_expression_index"] != rec["canonical_index"]:
            typer.echo(f"  same expression as #{rec['same_expression_index']} (stricter merge: flattens sums, "
                       "ignores weight sharing; not the same function)")
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


def _imports() -> list[dict]:
    """The imported official tables in the user folder (they take the place of the embedded data)."""
    from nasviz.bench import nb101, nb201
    from nasviz.fileio import read_npz

    out = []
    for space, mod in (("nb201", nb201), ("nb101", nb101)):
        path = mod.imported_table_path()
        if not path.exists():
            continue
        try:
            _, meta = read_npz(path, what=f"{space} import", required=(), not_found="", remedy="remove it")
            info = {k: meta.get(k) for k in ("source", "records", "cells", "epochs", "imported_utc") if k in meta}
        except NasvizError as e:
            info = {"damaged": str(e)}
        out.append({"space": space, "table": str(path), "bytes": path.stat().st_size, **info})
    return out


@import_app.command("list")
def import_list(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """List the imported tables (in the user folder); each is used instead of the embedded data of its space."""
    from nasviz.paths import data_dir

    found = _imports()
    if as_json:
        _emit_json({"imports": found, "embedded": str(data_dir())})
        return
    if not found:
        typer.echo(f"no imports; every space uses the embedded data in {data_dir()}")
    for d in found:
        typer.echo(f"{d['space']}: {d['table']} ({d['bytes'] / 1e6:.1f} MB"
                   + (f", {d['records']:,} records" if d.get("records") else "")
                   + (f", imported {d['imported_utc']}" if d.get("imported_utc") else "")
                   + (f"; DAMAGED: {d['damaged']}" if d.get("damaged") else "")
                   + f"); used instead of the embedded data. `nasviz import remove {d['space']}` goes back")


@import_app.command("remove")
def import_remove(space: str = typer.Argument(..., help="nb201 or nb101: whose imported table to delete."),
                  as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Delete an imported table; the space then uses the embedded data again (which is never touched)."""
    from nasviz.bench import nb101, nb201

    mods = {"nb201": nb201, "nb101": nb101}
    key = str(space).strip().lower()
    if key not in mods:
        raise NasvizError(f"unknown space {space!r}; accepted: {', '.join(mods)}")
    path = mods[key].imported_table_path()
    if not path.exists():
        raise NasvizError(f"no imported {key} table at {path}; `nasviz import list` shows the imports")
    path.unlink()
    from nasviz.bench import _CACHE

    _CACHE.pop(key, None)  # this process, too, reads the embedded data from now on
    if as_json:
        _emit_json({"removed": str(path), "space": key})
    else:
        typer.echo(f"removed {path}; {key} uses the embedded data again")


_register_subcommands()


#: What every whole-number option accepts: SQLite's INTEGER and numpy/torch seeds are 64-bit.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def _check_number(ctx, param, value):
    """A click callback wrapped around every parameter's own: whole numbers within 64 bits, finite floats."""
    import math

    items = value if isinstance(value, (list, tuple)) else [value]
    for v in items:
        if isinstance(v, bool):
            continue
        if isinstance(v, int) and not INT_MIN <= v <= INT_MAX:
            raise typer.BadParameter(f"{_short(str(v))} is out of range; accepted: whole numbers "
                                     f"{INT_MIN}..{INT_MAX} (this option's own limits may be narrower)")
        if isinstance(v, float) and not math.isfinite(v):
            raise typer.BadParameter(f"{v} is not a finite number; give an ordinary number such as 0.5 or 1e-3")
    return value


def _harden(cmd) -> None:
    """Give every parameter of every command :func:`_check_number` before its own callback."""
    for p in cmd.params:
        own = p.callback

        def cb(ctx, param, value, _own=own):
            value = _check_number(ctx, param, value)
            return _own(ctx, param, value) if _own is not None else value

        p.callback = cb
    for sub in getattr(cmd, "commands", {}).values():
        _harden(sub)


def _short(text: str, keep: int = 24) -> str:
    """``text`` with any run of more than 200 non-blank characters cut (a 5,000-digit index stays short)."""
    import re

    return re.sub(r"\S{201,}", lambda m: f"{m.group(0)[:keep]}... ({len(m.group(0)):,} characters)", text)


def _one_line(text: str) -> str:
    return _short(" ".join(str(text).split()))


@functools.lru_cache(maxsize=1)
def command():
    """The click command tree of ``nasviz`` with the number checks of :func:`_harden` (built once)."""
    cmd = typer.main.get_command(app)
    _harden(cmd)
    return cmd


def main(argv: Optional[list[str]] = None) -> None:
    """Console-script entry. Bad input of any kind -- a usage error of click, a :class:`NasvizError`, a file
    that cannot be written, a broken run database -- prints one line ``error: ...`` on stderr, exit status 2."""
    import sqlite3

    from typer._click.exceptions import ClickException, NoArgsIsHelpError  # typer >= 0.29 vendors click

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        rv = command().main(args=args, prog_name="nasviz", standalone_mode=False)
    except NoArgsIsHelpError as e:  # `nasviz` or `nasviz search` alone: the help, as click prints it
        typer.echo(e.format_message())
        sys.exit(2)
    except ClickException as e:  # usage errors: one line instead of click's box
        where = f" (see `{e.ctx.command_path} --help`)" if getattr(e, "ctx", None) is not None else ""
        _fail(e.format_message() + where)
    except typer.Abort:
        sys.exit(130)
    except NasvizError as e:
        _fail(str(e))
    except sqlite3.DatabaseError as e:
        _fail(f"the run database cannot be used ({e}); nothing was written. Give another --db path or set "
              "NASVIZ_DB")
    except OSError as e:
        if e.errno == errno.EPIPE:  # stdout closed by `| head`: not an error of the input
            sys.exit(1)
        what = f"{e.filename}: " if e.filename else ""
        _fail(f"cannot read or write {what}{e.strerror or e}")
    sys.exit(rv if isinstance(rv, int) else 0)


def _fail(message: str) -> None:
    typer.echo(f"error: {_one_line(message)}", err=True)
    sys.exit(2)


if __name__ == "__main__":
    main()
