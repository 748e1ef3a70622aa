"""``nasviz search``: run, list, show, cancel and resume searches.

Registration in ``nasviz/cli.py`` (owned by the lead)::

    from nasviz.commands.search import app as search_app
    app.add_typer(search_app, name="search")

Runs are stored in the run database (``--db PATH``, else ``$NASVIZ_DB``, else
``<user dir>/search.sqlite``) and executed by background workers (``--backend
local``: detached processes; ``ray``: Ray tasks). ``run`` and ``resume`` wait with a
progress bar on stderr unless ``--detach``; ``--json`` prints one JSON object on
stdout. Every input is checked before anything is written.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import List, Optional

import typer

from nasviz.errors import NasvizError

app = typer.Typer(help="Search NAS-Bench spaces (random, evolution, reinforce, latent BO/RL, dense sampling, "
                       "region); runs are persistent background jobs.", no_args_is_help=True)

_DB_HELP = "Run database (default: $NASVIZ_DB or <user dir>/search.sqlite)."


def _emit(obj) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def _open_store(db: Optional[Path], create: bool):
    from nasviz.search.store import Store

    return Store(db, create=create)


def _parse_params(items: List[str]) -> dict:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise NasvizError(f"--param takes KEY=VALUE; got {it!r}")
        k, v = it.split("=", 1)
        k = k.strip()
        if not k:
            raise NasvizError(f"--param takes KEY=VALUE; got {it!r}")
        try:  # numbers, true/false, null, lists as JSON; NaN and Infinity refused (json reads them)
            val = json.loads(v, parse_constant=_no_constant)
        except json.JSONDecodeError:
            val = v
        except ValueError as e:
            raise NasvizError(f"--param {k}={v[:40]}: {e}; give a finite number") from None
        if isinstance(val, float) and not math.isfinite(val):  # 1e999 reads as inf
            raise NasvizError(f"--param {k}={v[:40]} is not a finite number; give an ordinary number such as 0.5")
        out[k] = val
    return out


def _no_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def summarize(store, run) -> dict:
    """A run with its best trial and that cell's reported metrics (free look-ups)."""
    d = run.to_dict()
    trials = store.trials(run.id)
    d["n_trials"] = len(trials)
    done = [t for t in trials if t.value is not None]
    if done:
        best = max(done, key=lambda t: t.value)
        d["best"] = {"number": best.number, "cell": best.cell, "cell_index": best.cell_index, "value": best.value}
        try:
            from nasviz.search.problem import make_problem

            p = make_problem(run.space, run.dataset)
            d["best"]["report"] = {k: float(v[best.cell_index]) for k, v in p.report_columns().items()}
        except NasvizError:
            pass
    return d


def _progress_waiter(store, run_ids, jobs, quiet: bool):
    from nasviz.search import jobs as J

    if quiet:
        return J.wait(store, run_ids, jobs)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as prog:
        tasks = {}
        for rid in run_ids:
            r = store.get_run(rid)
            tasks[rid] = prog.add_task(f"run {rid} {r.strategy} seed {r.seed}", total=r.budget)

        def update(runs):
            for r in runs:
                prog.update(tasks[r.id], completed=r.progress,
                            description=f"run {r.id} {r.strategy} seed {r.seed} [{r.state.value}]")

        return J.wait(store, run_ids, jobs, on_progress=update)


def _wait_or_detach(store, run_ids, handles, detach: bool, as_json: bool, quiet: bool):
    from nasviz.search import jobs as J

    if detach:
        return [store.get_run(r) for r in run_ids]
    ray_refs = [h for h in handles if h is not None and not isinstance(h, J.LocalJob)]
    local = [h for h in handles if isinstance(h, J.LocalJob)]
    try:
        runs = _progress_waiter(store, run_ids, local, quiet)  # progress goes to stderr, also with --json
        if ray_refs:
            import ray

            ray.get(ray_refs)
    except KeyboardInterrupt:
        typer.echo(f"stopped waiting; the runs go on in the background (nasviz search show ID, "
                   f"nasviz search cancel ID): {', '.join(map(str, run_ids))}", err=True)
        raise typer.Exit(130)
    return runs


@app.command()
def run(
    strategy: str = typer.Option(..., "--strategy", help="random, evolution, reinforce, arch2vec-bo, arch2vec-rl, dense, region."),
    space: str = typer.Option("nb201", "--space", help="nb201 or nb101."),
    dataset: str = typer.Option("cifar10", "--dataset", help="nb201: cifar10, cifar100, ImageNet16-120; nb101: cifar10."),
    budget: int = typer.Option(100, "--budget", help="Benchmark queries per run (distinct cells)."),
    seeds: int = typer.Option(1, "--seeds", max=1000, help="Number of runs (1..1000), seeds seed0 .. seed0+K-1."),
    seed0: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="First seed."),
    param: List[str] = typer.Option([], "--param", help="Strategy parameter KEY=VALUE (repeatable)."),
    region: Optional[Path] = typer.Option(None, "--region", help="Region JSON file (strategy region)."),
    device: str = typer.Option("cpu", "--device", help=(
        "cpu or cuda: where the torch strategies compute (reinforce, arch2vec-rl, dense, region, arch2vec-bo "
        "with surrogate=dngo); refused for the others and, on the local backend, without a CUDA device.")),
    backend: str = typer.Option("local", "--backend", help="local (worker processes) or ray."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster (default $NASVIZ_RAY_ADDRESS)."),
    db: Optional[Path] = typer.Option(None, "--db", help=_DB_HELP),
    detach: bool = typer.Option(False, "--detach", help="Start the workers and return at once."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Start K seeded runs of a strategy as background jobs and (by default) wait for them."""
    from nasviz.search import jobs as J
    from nasviz.search.runs import validate_config
    from nasviz.search.store import check_db_file, default_db_path

    if seeds <= 0:
        raise NasvizError(f"--seeds must be >= 1; got {seeds}")
    params = _parse_params(param)
    configs = [validate_config(strategy, space, dataset, budget, seed=seed0 + k, params=params, region=region,
                               device=device, backend=backend, preflight=(k == 0)) for k in range(seeds)]
    # --device cuda: validate_config refused it already on the local backend without a CUDA device
    if configs[0].backend == "ray":
        J.init_ray(ray_address)  # no ray package or an unreachable cluster: refused before the store is opened
    if configs[0].backend == "ray" and configs[0].device == "cuda":
        J.ray_gpu_check(ray_address)  # a cluster without GPUs: refused before the store is opened
    check_db_file(Path(db) if db is not None else default_db_path())  # refuse a foreign file before writing
    store = _open_store(db, create=True)
    run_ids, handles = [], []
    for cfg in configs:
        rid, h = J.submit(store, cfg, ray_address=ray_address)
        run_ids.append(rid)
        handles.append(h)
    if not as_json:
        typer.echo(f"started run(s) {', '.join(map(str, run_ids))} in {store.path}", err=True)
    runs = _wait_or_detach(store, run_ids, handles, detach, as_json, quiet=False)
    out = [summarize(store, r) for r in runs]
    if as_json:
        _emit({"db": str(store.path), "runs": out})
    else:
        for d in out:
            _print_line(d)
    if any(r.state.value == "failed" for r in runs):
        raise typer.Exit(1)


def _print_line(d: dict) -> None:
    best = d.get("best")
    b = ""
    if best:
        rep = ", ".join(f"{k} {v:.2f}" for k, v in best.get("report", {}).items())
        b = f" best {best['value']:.2f} (#{best['cell_index']}{'; ' + rep if rep else ''})"
    err = f" error: {d['error']}" if d.get("error") else ""
    if d.get("damaged"):  # a row edited outside nasviz: listed, flagged, its unreadable fields shown empty
        err += f" DAMAGED ROW: {d['damaged']}"
    typer.echo(f"{d['id']:>5} {d['state']:<9} {d['strategy']:<12} {d['space']} {d['dataset']:<14} seed {d['seed']:<4} "
               f"{d['progress']}/{d['budget']}{b}{err}")


@app.command("list")
def list_runs(
    db: Optional[Path] = typer.Option(None, "--db", help=_DB_HELP),
    state: Optional[str] = typer.Option(None, "--state", help="queued, running, complete, failed or cancelled."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many runs, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List runs, newest first (runs whose worker died are marked failed first)."""
    from nasviz.search.jobs import reap_stale
    from nasviz.search.store import RunState

    if state is not None and state not in {s.value for s in RunState}:
        raise NasvizError(f"unknown state {state!r}; accepted: {', '.join(s.value for s in RunState)}")
    store = _open_store(db, create=False)
    reap_stale(store)
    runs = store.list_runs(state, limit=limit)
    out = [summarize(store, r) for r in runs]
    if as_json:
        _emit({"db": str(store.path), "runs": out})
        return
    if not out:
        typer.echo("no runs")
    for d in out:
        _print_line(d)


@app.command()
def show(
    run_id: int = typer.Argument(..., help="Run id (see nasviz search list)."),
    db: Optional[Path] = typer.Option(None, "--db", help=_DB_HELP),
    trials: bool = typer.Option(False, "--trials", help="Print every trial."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (with every trial)."),
) -> None:
    """Show a run: configuration, state, statistics, best cell, trials."""
    from dataclasses import asdict

    from nasviz.search.jobs import reap_stale

    store = _open_store(db, create=False)
    reap_stale(store)
    run = store.get_run(run_id)
    d = summarize(store, run)
    ts = store.trials(run_id)
    if as_json:
        d["trials"] = [dict(asdict(t), state=t.state.value) for t in ts]
        d["artifacts"] = [{k: a[k] for k in ("id", "name", "kind", "created_at")} for a in store.artifacts(run_id)]
        _emit(d)
        return
    _print_line(d)
    typer.echo(f"  config: {json.dumps(run.config, sort_keys=True)}")
    typer.echo(f"  nasviz {run.nasviz_version}; worker {run.worker}; stats {json.dumps(run.stats, sort_keys=True)}")
    if run.traceback:
        typer.echo("  traceback:\n" + "\n".join("    " + ln for ln in run.traceback.splitlines()))
    best = -float("inf")
    for t in ts:
        best = max(best, t.value if t.value is not None else best)
        if trials:
            typer.echo(f"  {t.number:>4} {t.state.value:<8} {t.value!s:>10} best {best:.3f}  #{t.cell_index} {t.cell}")


@app.command()
def cancel(
    run_id: int = typer.Argument(..., help="Run id."),
    db: Optional[Path] = typer.Option(None, "--db", help=_DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Ask a run to stop (a queued run stops at once, a running one at its next step)."""
    store = _open_store(db, create=False)
    st = store.request_cancel(run_id)
    msg = "cancelled" if st.value == "cancelled" else "cancel requested; the worker stops at its next step"
    if as_json:
        _emit({"id": run_id, "result": msg})
    else:
        typer.echo(f"run {run_id}: {msg}")


@app.command()
def resume(
    run_id: int = typer.Argument(..., help="Run id of a failed or cancelled run."),
    db: Optional[Path] = typer.Option(None, "--db", help=_DB_HELP),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster for a ray run."),
    detach: bool = typer.Option(False, "--detach", help="Start the worker and return at once."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Continue a failed or cancelled run: its stored trials are replayed, then it goes on."""
    from nasviz.search import jobs as J

    store = _open_store(db, create=False)
    h = J.resume(store, run_id, ray_address=ray_address)
    runs = _wait_or_detach(store, [run_id], [h], detach, as_json, quiet=False)
    d = summarize(store, runs[0])
    if as_json:
        _emit(d)
    else:
        _print_line(d)
    if runs[0].state.value == "failed":
        raise typer.Exit(1)


def main() -> None:
    """Stand-alone entry (``python -m nasviz.commands.search``), with the CLI's error handling."""
    try:
        app(standalone_mode=True)
    except NasvizError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
