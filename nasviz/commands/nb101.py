"""NB101 commands: ``nasviz enumerate nb101`` and ``nasviz import nb101 FILE``.

To register in nasviz/cli.py (lead engineer):

    from nasviz.commands.nb101 import enumerate_app, import_nb101
    app.add_typer(enumerate_app, name="enumerate")
    import_app.command("nb101")(import_nb101)

Errors are :class:`~nasviz.errors.NasvizError` (cli.main prints one line, exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

enumerate_app = typer.Typer(help="Enumerate a whole search space offline with nasviz's own code.",
                            no_args_is_help=True)


def _echo_json(obj: dict) -> None:
    typer.echo(json.dumps(obj, indent=2))


@enumerate_app.command("nb101")
def enumerate_nb101(
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write the .npz (default: data/nb101/enumeration.npz)."),
    max_vertices: int = typer.Option(7, "--max-vertices", min=2, max=7, help="Largest vertex count (2..7)."),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="Processes that hash cells (1..64)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Generate every NAS-Bench-101 cell (423,624 with 7 vertices) and store it compactly."""
    from tqdm import tqdm

    from nasviz.spaces.nb101_enum import OFFICIAL_TOTAL, enumerate_space, enumeration_path, write_enumeration
    from nasviz.fileio import check_writable_file

    check_writable_file(out if out is not None else enumeration_path(), (".npz",))

    bar = tqdm(total=0, unit="cell", desc="hashing NB101 cells", disable=as_json)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        result = enumerate_space(range(2, max_vertices + 1), workers=workers, progress=progress)
    finally:
        bar.close()
    path = write_enumeration(out if out is not None else enumeration_path(), result)
    meta = dict(result.meta, path=str(path), bytes=path.stat().st_size)
    if as_json:
        _echo_json(meta)
        return
    typer.echo(f"{meta['cells']:,} cells in {meta['seconds']:.1f} s -> {path} ({meta['bytes'] / 1e6:.1f} MB)")
    for n, c in meta["cells_per_vertex_count"].items():
        typer.echo(f"  {n} vertices: {c:>7,} cells ({meta['topologies_per_vertex_count'][n]:,} topologies)")
    if max_vertices == 7:
        ok = "matches" if meta["cells"] == OFFICIAL_TOTAL else "DOES NOT match"
        typer.echo(f"  total {ok} the official {OFFICIAL_TOTAL:,}")


def import_nb101(
    path: Path = typer.Argument(..., help="nasbench_only108.tfrecord or nasbench_full.tfrecord."),
    out: Optional[Path] = typer.Option(None, "--out", help="Table to write (default: the user folder)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Read an official NAS-Bench-101 tfrecord (no TensorFlow needed); write the local table."""
    from tqdm import tqdm

    from nasviz.bench.nb101_import import import_official
    from nasviz.errors import NasvizError

    if not path.is_file():
        raise NasvizError(f"no such file: {path}; give nasbench_only108.tfrecord or nasbench_full.tfrecord")
    from nasviz.bench.nb101 import imported_table_path
    from nasviz.fileio import check_writable_file

    check_writable_file(out if out is not None else imported_table_path(), (".npz",))
    size = path.stat().st_size
    bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"reading {path.name}", disable=as_json,
               delay=1.0)  # a file refused at once prints its one error line, no bar

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        result = import_official(path, out=out, progress=progress)
    finally:
        bar.close()
    if out is None:
        from nasviz.bench import _CACHE

        _CACHE.pop("nb101", None)  # this process, too, reads the new table from now on
    if as_json:
        _echo_json(result)
    else:
        typer.echo(f"imported {result['records']:,} runs of {result['rows']:,} NB101 cells "
                   f"(epochs {', '.join(map(str, result['epochs']))}) in {result['seconds']:.1f} s "
                   f"into {result['table']}")
        if out is None:
            typer.echo("  nb101 commands now use this table instead of the embedded 30,001-cell sample "
                       "(`nasviz import list`; `nasviz import remove nb101` goes back)")
