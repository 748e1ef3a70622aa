"""``nasviz distribution``: learn an architecture distribution on the NB201 supernet.

Registration (nasviz/cli.py, owned by the lead):

    from nasviz.commands.distribution import app as distribution_app; app.add_typer(distribution_app, name="distribution")

    nasviz distribution run --method vimnas --seed 0 --epochs 3
    nasviz distribution run --method unas --seed 1 --lambda 0.5 --json
    nasviz distribution run --method darts --dataset ~/data/cifar-10-batches-py --device cuda
    nasviz distribution run --method vimnas --detach            # a background job; nasviz search show ID
    nasviz distribution run --method unas --backend ray         # a Ray task; waits with a progress bar

Without ``--backend``/``--detach`` the run trains in this process and is recorded in the
run database when it ends. With them it is a background job of the search job system
(:mod:`nasviz.distributions.job`): it is queued in the run database, a worker process
(or a Ray task) records every step as it happens, and ``nasviz search
list|show|cancel|resume`` follow, stop and continue it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

import typer

from nasviz.errors import NasvizError

app = typer.Typer(help="Architecture distributions over time: DARTS, Gumbel-Softmax, VIM-NAS, UNAS on an NB201 "
                       "supernet.", no_args_is_help=True)
log = logging.getLogger(__name__)


@app.callback()
def _group() -> None:
    """Architecture distributions over time on an NB201 supernet."""


@app.command("run")
def run(
    method: str = typer.Option(..., "--method", "-m", help="darts, gumbel, vimnas or unas."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the data split, supernet init and every sample."),
    epochs: int = typer.Option(10, "--epochs", min=1, help="Epochs over the search-train split (14 steps each on digits)."),
    dataset: str = typer.Option("digits", "--dataset",
                                help="'digits' (scikit-learn, offline) or a CIFAR-10 python-version folder "
                                     "(data_batch_1 .. data_batch_5)."),
    lam: float = typer.Option(0.5, "--lambda", help="UNAS generalization-gap weight (Eq. 8), >= 0."),
    estimator: str = typer.Option("rebar", "--estimator", help="UNAS gradient estimator: rebar (REBAR + RELAX), "
                                                              "reinforce or gumbel."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when present), cpu, cuda or cuda:N."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Stop after this many steps."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the run folder "
                                                           "(default: NASVIZ_HOME/runs/distributions)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Run database to record the run in (default: "
                                                         "$NASVIZ_DB or NASVIZ_HOME/search.sqlite)."),
    store: bool = typer.Option(True, "--store/--no-store", help="Also record the run in the run database."),
    backend: Optional[str] = typer.Option(None, "--backend",
                                          help="Run as a background job: local (a detached worker process) or "
                                               "ray (a Ray task). Default: in this process."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address",
                                              help="Ray cluster (default $NASVIZ_RAY_ADDRESS; else a local one)."),
    detach: bool = typer.Option(False, "--detach", help="Start the run as a background job (--backend local "
                                                        "unless given) and return at once."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the run summary)."),
) -> None:
    """Train the supernet with one method; record the distribution at every step; save the run."""
    import torch
    from tqdm import tqdm

    from nasviz.distributions.learners import LearnerConfig
    from nasviz.distributions.run import SearchConfig, run_search
    from nasviz.distributions.supernet import pick_device

    if lam < 0:
        raise NasvizError(f"--lambda must be >= 0 (the weight of |L_val - L_train| in UNAS Eq. 8); got {lam}")
    cfg = SearchConfig(method=method, seed=seed, epochs=epochs, dataset=dataset, device=device, max_steps=max_steps,
                       learner=LearnerConfig(lam=lam, estimator=estimator))
    cfg.validate()  # bad method / options fail before any data is read
    if out is not None:
        from nasviz.fileio import check_writable_dir

        check_writable_dir(out)  # before training: nothing written on a bad --out
    if backend is not None or detach:
        if not store:
            raise NasvizError("a background run (--backend/--detach) is recorded in the run database; drop --no-store")
        _run_job(cfg, backend or "local", out, db, ray_address, detach, as_json)
        return
    if pick_device(device).type == "cpu":
        torch.set_num_threads(1)  # the supernet is tiny: extra threads only spin (and slow a shared machine)
    bars: list = []  # created at the first step, so input errors print no empty bar

    def on_step(step: int, total: int, info: dict) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc=f"{cfg.method} seed {seed}", unit="step", disable=as_json,
                             leave=False))
        bars[0].update(1)
        bars[0].set_postfix(epoch=info["epoch"], loss=f"{info['train_loss']:.3f}")

    try:
        result = run_search(cfg, on_step=on_step)
    finally:
        for b in bars:
            b.close()
    folder = result.save(out)
    summary = result.summary()
    summary["run_folder"] = str(folder)
    if store:
        summary["run_id"] = result.save_to_store(db)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    _print_summary(summary)


def _run_job(cfg, backend: str, out: Optional[Path], db: Optional[Path], ray_address: Optional[str], detach: bool,
             as_json: bool) -> None:
    """Queue the run in the run database, start its worker, and wait for it unless ``detach``."""
    from nasviz.commands.search import _wait_or_detach
    from nasviz.distributions import job as DJ
    from nasviz.search.store import Store, check_db_file, default_db_path

    job = DJ.validate_job(cfg, backend=backend, out=out)  # reads the data set: nothing is written on bad input
    if backend == "ray":
        from nasviz.search.jobs import init_ray

        init_ray(ray_address)  # an unreachable cluster is refused before the run is stored
    check_db_file(Path(db) if db is not None else default_db_path())  # refuse a foreign file before writing
    st = Store(db, create=True)
    rid, handle = DJ.submit(st, job, ray_address=ray_address)
    if not as_json:
        typer.echo(f"started distribution run {rid} ({job.search.method} seed {job.search.seed}, "
                   f"{job.total_steps} steps) in {st.path}", err=True)
    run = _wait_or_detach(st, [rid], [handle], detach, as_json, quiet=False)[0]
    out_d = {"db": str(st.path), "run_id": rid, "state": run.state.value, "progress": run.progress,
             "steps": run.budget}
    if run.state.value == "complete":
        summary = DJ.stored_summary(run)  # computed by the worker, as the foreground run computes it
        summary.update(run_id=rid, state="complete", db=str(st.path))
        out_d = summary
    elif run.error:
        out_d["error"] = run.error
    if as_json:
        typer.echo(json.dumps(out_d, indent=2))
    elif run.state.value == "complete":
        _print_summary(out_d)
    elif detach:
        typer.echo(f"run {rid} is {run.state.value}; follow it with: nasviz search show {rid}"
                   + ("" if db is None else f" --db {db}") + f"; stop it with: nasviz search cancel {rid}")
    else:
        typer.echo(f"run {rid} {run.state.value} after {run.progress}/{run.budget} steps"
                   + (f": {run.error}" if run.error else "") + f" (nasviz search show {rid}, "
                   f"nasviz search resume {rid})")
    if run.state.value == "failed":
        raise typer.Exit(1)


def _print_summary(summary: dict) -> None:
    conv = summary["convergence"]
    typer.echo(f"{summary['method']} seed {summary['seed']}: {summary['steps']} steps "
               f"({summary['epochs']:.2f} epochs, {summary['seconds_per_epoch']:.1f} s/epoch)")
    typer.echo("  converged (max per-edge TV change <= %.2f for the rest of the run): %s" % (
        conv["delta"], "no" if conv["step"] is None else f"step {conv['step']} (epoch {conv['epoch']:.2f})"))
    typer.echo(f"  final cell: {summary['final_cell']} (#{summary['final_index']})")
    acc = summary["final_test_acc"]
    typer.echo("  NB201 test accuracy (200 ep): " + ", ".join(f"{k} {v:.2f}" for k, v in acc.items())
               + f"; CIFAR-10 regret {summary['final_regret']['cifar10']:.2f}")
    if "estimator_variance" in summary:
        tv = summary["estimator_variance"]["mean_trace_var"]
        typer.echo("  estimator variance (trace): " + ", ".join(f"{k} {v:.3g}" for k, v in tv.items()))
    stored = f" and run {summary['run_id']} of the run database" if summary.get("run_id") is not None else ""
    typer.echo(f"  saved to {summary['run_folder']}{stored}")


def main() -> None:
    """Stand-alone entry (``python -m nasviz.commands.distribution``) with the CLI's error contract."""
    import sys

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except NasvizError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
