"""``nasviz controller``: train ENAS controllers and regenerate the paper-001 analyses.

Registration (in nasviz/cli.py, owned by the lead):

    from nasviz.commands.controller import app as controller_app
    app.add_typer(controller_app, name="controller")
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

import typer

from nasviz.errors import NasvizError

app = typer.Typer(help="ENAS controllers (paper 001): train random/unsupervised/supervised, analyse hidden states.",
                  no_args_is_help=True)



#: Training steps at which ``controller train`` also saves the controller (schedule curve, issue: how
#: separation appears with training); the run's own end (300,000 for the default 150 x 2,000) is the checkpoint.
SNAPSHOT_STEPS: tuple[int, ...] = (8_000, 40_000, 100_000)
STATE_FILE = "train_state.pt"


@app.callback()
def _group() -> None:
    """ENAS controllers (paper 001): train random/unsupervised/supervised, analyse hidden states."""


def _check_space(space: str) -> str:
    from nasviz.controllers.enas import DECISION_SPACES

    key = space.lower()
    if key not in DECISION_SPACES:
        raise NasvizError(f"no controller for space {space!r}; accepted: {', '.join(sorted(DECISION_SPACES))}")
    return key


@app.command()
def train(
    space: str = typer.Option("nb201", "--space", "-s", help="Search space (nb201 or nb101)."),
    kind: str = typer.Option(..., "--kind", "-k", help="random | unsupervised | supervised."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the initialisation, sampling and buffer."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs (default: the paper's 150)."),
    steps_per_epoch: Optional[int] = typer.Option(None, "--steps-per-epoch", min=1, help="Controller steps per epoch (default 2000)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, max=1_000_000, help="Architectures per step (default 1)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Adam learning rate (default 3.5e-4)."),
    entropy_coeff: Optional[float] = typer.Option(None, "--entropy-coeff", min=0, help="Entropy bonus (default 1e-4)."),
    hidden_size: int = typer.Option(64, "--hidden-size", min=1, max=4096, help="LSTM hidden size."),
    reward_column: Optional[str] = typer.Option(
        None, "--reward-column",
        help="dataset:metric:epochs (e.g. cifar100:valid_acc:200) or a stored column; default nb201 "
             "cifar10-valid:valid_acc:12, nb101 cifar10:valid_acc:108."),
    device: str = typer.Option("cpu", "--device", help="torch device (cpu, cuda)."),
    threads: int = typer.Option(1, "--threads", min=1, max=256, help="torch CPU threads."),
    out: Optional[Path] = typer.Option(None, "--out", help="Checkpoint folder (default models/<space>-controller-<kind>/seed<N>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run whose training state is in --out (same options)."),
    force: bool = typer.Option(False, "--force", help="Overwrite a finished checkpoint already in --out."),
    snapshot_steps: str = typer.Option(
        ",".join(str(s) for s in SNAPSHOT_STEPS), "--snapshot-steps",
        help="Also save the controller after these many steps (comma list; multiples of --steps-per-epoch), "
             "under OUT/schedule/steps<N>/; '' for none."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Train one controller on real benchmark rewards and save safetensors + config + model card.

    The full training state is written to OUT/train_state.pt after every epoch, so a stopped run
    continues with --resume and ends exactly where an uninterrupted one would."""
    import torch
    from tqdm import tqdm

    from nasviz.controllers.enas import ControllerConfig
    from nasviz.controllers.io import checkpoint_dir
    from nasviz.controllers.train import KINDS, RewardSpec, TrainConfig, read_state, save_result
    from nasviz.controllers.train import train as run_train

    space = _check_space(space)
    if lr is not None and lr <= 0:
        raise NasvizError(f"--lr must be > 0 (Adam's step size); got {lr}")
    if kind not in KINDS:
        raise NasvizError(f"unknown controller kind {kind!r}; accepted: {', '.join(KINDS)}")
    if device != "cpu" and not (device.startswith("cuda") and torch.cuda.is_available()):
        raise NasvizError(f"device {device!r} is not available here; accepted: cpu" +
                          (", cuda" if torch.cuda.is_available() else ""))
    torch.set_num_threads(max(1, threads))
    overrides = {k: v for k, v in dict(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, lr=lr,
                                        entropy_coeff=entropy_coeff).items() if v is not None}
    cfg = TrainConfig(kind=kind, space=space, seed=seed, reward=RewardSpec.parse(reward_column, space),
                      controller=ControllerConfig(hidden_size=hidden_size, embed_size=hidden_size), device=device,
                      **overrides)
    from nasviz.bench import get_benchmark

    bench = get_benchmark(space)
    cfg.reward.values(bench)  # fail early on a bad column
    folder = Path(out or checkpoint_dir(space, kind, seed))
    snaps = _parse_snapshot_steps(snapshot_steps, cfg.steps_per_epoch, cfg.epochs)
    state_path = folder / STATE_FILE
    _check_out(folder, state_path, resume=resume, force=force)
    start = 0
    if resume:
        start = int(read_state(state_path)["epochs_done"])
    total = 0 if kind == "random" else cfg.epochs

    def snapshot(epoch: int, partial) -> None:
        steps = (epoch + 1) * cfg.steps_per_epoch
        if steps in snaps and epoch + 1 < cfg.epochs:
            save_result(partial, folder / "schedule" / f"steps{steps}")

    with tqdm(total=total, initial=min(start, total), desc=f"{space} {kind} seed {seed}", unit="epoch",
              disable=as_json) as bar:
        def progress(epoch: int, row: dict) -> None:
            bar.update(1)
            bar.set_postfix(reward=f"{row['reward']:.4f}", entropy=f"{row['entropy']:.2f}", buffer=row["buffer"])

        res = run_train(cfg, bench=bench, progress=progress, state_path=None if kind == "random" else state_path,
                        resume=resume, on_epoch_end=snapshot)
    folder = save_result(res, folder)
    state_path.unlink(missing_ok=True)  # the run is complete: the checkpoint holds what it learned
    summary = {"checkpoint": str(folder), "kind": kind, "seed": seed, "seconds": round(res.seconds, 2),
               "final": res.history[-1] if res.history else None}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        fin = summary["final"]
        extra = f"; last epoch reward {fin['reward']:.4f}, entropy {fin['entropy']:.3f}" if fin else ""
        typer.echo(f"saved {folder} ({res.seconds:.1f} s{extra})")


def _parse_snapshot_steps(text: str, steps_per_epoch: int, epochs: int) -> set[int]:
    out: set[int] = set()
    for part in filter(None, (t.strip() for t in text.split(","))):
        if not (part.isascii() and part.isdigit()) or len(part) > 12:
            raise NasvizError(f"--snapshot-steps: {part!r} is not a whole number of steps; give e.g. 8000,40000")
        n = int(part)
        if n % steps_per_epoch:
            continue  # not at an epoch boundary of this schedule (e.g. a short test schedule): skipped
        if 0 < n < epochs * steps_per_epoch:
            out.add(n)
    return out


def _check_out(folder: Path, state_path: Path, *, resume: bool, force: bool) -> None:
    """Refuse before any training: resuming without a state, or overwriting a finished checkpoint."""
    if resume:
        if not state_path.exists():
            what = "a finished checkpoint" if (folder / "config.json").exists() else "nothing"
            raise NasvizError(f"--resume: {folder} holds {what} and no training state ({STATE_FILE}); "
                              "train without --resume")
        return
    if (folder / "config.json").exists() and not force:
        raise NasvizError(f"{folder} already holds a trained controller; give --force to overwrite it, "
                          "or another --out")
    if state_path.exists() and not force:
        raise NasvizError(f"{folder} holds an unfinished run ({STATE_FILE}); continue it with --resume, "
                          "or give --force to start afresh")
    from nasviz.fileio import check_writable_dir

    check_writable_dir(folder, need_bytes=16 * 2**20)  # checkpoint, training state, snapshots


def _write_figure(fig, base: Path) -> list[str]:
    """HTML (plotly.js written once beside it, offline) + PNG when kaleido can render, else JSON."""
    written = [str(base.with_suffix(".html"))]
    fig.write_html(str(base.with_suffix(".html")), include_plotlyjs="directory")
    try:
        import kaleido  # noqa: F401

        fig.write_image(str(base.with_suffix(".png")), scale=2)
        written.append(str(base.with_suffix(".png")))
    except Exception as e:  # kaleido missing or unable to start its browser offline
        logging.getLogger(__name__).info("PNG export unavailable (%s); writing JSON", e)
        fig.write_json(str(base.with_suffix(".json")))
        written.append(str(base.with_suffix(".json")))
    return written


@app.command()
def analyze(
    space: str = typer.Option("nb201", "--space", "-s", help="Search space (nb201 or nb101)."),
    out: Path = typer.Option(Path("controller-analysis"), "--out", help="Output folder."),
    n_archs: int = typer.Option(1000, "--n-archs", min=1, max=1_000_000, help="Sampled architectures per controller for Fig. 2 and Table 1."),
    n_pairs: int = typer.Option(10_000, "--n-pairs", min=1, max=10_000_000, help="Sampled pairs per controller for Table 1."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Sampling seed of the analyses."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the table and the file list)."),
) -> None:
    """Regenerate Fig. 1/4, 2, 3 and Table 1 of paper 001 from the shipped checkpoints."""
    import time

    import numpy as np
    import torch
    from tqdm import tqdm

    from nasviz.analysis import controller as A
    from nasviz.bench import get_benchmark

    space = _check_space(space)
    from nasviz.fileio import check_writable_dir

    check_writable_dir(out)  # before the analyses: nothing written on a bad --out
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    ctrls = A.load_shipped(space)
    bench = get_benchmark(space)
    out.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    first = {k: v[0] for k, v in ctrls.items()}  # lowest seed of each kind for the figures
    steps = tqdm(total=4, desc="controller analyses", disable=as_json)
    probs = {k: A.max_action_probs(c, 100, seed) for k, (c, _) in first.items()}
    files += _write_figure(A.fig_max_action_probs(probs), out / "fig1_max_action_prob")
    steps.update(1)
    sampled = {k: A.sampled_rewards(c, A.reward_values(d, bench), n_archs, seed, bench) for k, (c, d) in first.items()}
    acc = {k: v["values"] for k, v in sampled.items()}
    files += _write_figure(A.fig_accuracy_distribution(acc, label=f"{first['random'][1]['reward']} (%)"),
                           out / "fig2_accuracy_distribution")
    steps.update(1)
    hidden = {k: A.sampled_hidden(c, 100, seed)[0] for k, (c, _) in first.items()}
    files += _write_figure(A.fig_hidden_heatmap(hidden), out / "fig3_hidden_states")
    steps.update(1)
    both = A.table1_both(ctrls, bench, n_archs=n_archs, n_pairs=n_pairs, seed=seed)
    table = both["spearman"]
    files += _write_figure(A.fig_table1(table, space), out / "table1_spearman")
    steps.update(1)
    steps.close()
    summary = {
        "space": space,
        "checkpoints": {k: [d["seed"] for _, d in v] for k, v in ctrls.items()},
        "fig1_mean_max_prob_per_step": {k: np.round(v.mean(0), 4).tolist() for k, v in probs.items()},
        "fig2_accuracy": {k: {"mean": float(v.mean()), "median": float(np.median(v)), "std": float(v.std())} for k, v in acc.items()},
        "fig2_sampled": {k: {x: v[x] for x in ("in_table", "mapped", "invalid_draws")} for k, v in sampled.items()},
        "fig3_mean_neuron_variance": {k: float(np.var(v, axis=0).mean()) for k, v in hidden.items()},
        "table1": table,
        "table1_distinct_pairs": both["spearman_distinct"],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out / "table1.md").write_text(
        "All sampled pairs:\n\n" + A.table1_markdown(table) + "\n\nPairs of different architectures only:\n\n"
        + A.table1_markdown(both["spearman_distinct"]) + "\n")
    (out / "summary.json").write_text(json.dumps(A.jsonable(summary), indent=2, allow_nan=False) + "\n")
    files += [str(out / "table1.md"), str(out / "summary.json")]
    if as_json:
        typer.echo(json.dumps(A.jsonable({"files": files, **summary}), indent=2, allow_nan=False))
        return
    typer.echo(A.table1_markdown(table))
    typer.echo(f"wrote {len(files)} files to {out} in {summary['seconds']} s")


@app.command()
def embed(
    space: str = typer.Option("nb201", "--space", "-s", help="Search space (nb201 or nb101)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, max=2**32 - 1, help="Which shipped seed (default: the lowest)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder (default data/embeddings)."),
) -> None:
    """Write the final hidden state of every cell, per shipped controller kind, to data/embeddings/."""
    import torch
    from tqdm import tqdm

    from nasviz.analysis import controller as A
    from nasviz.analysis.embeddings import embeddings_dir
    from nasviz.controllers import io

    space = _check_space(space)
    torch.set_num_threads(1)
    folder = Path(out) if out else embeddings_dir()
    from nasviz.fileio import check_writable_dir

    check_writable_dir(folder)
    chosen = {}
    for kind in A.KINDS:  # every checkpoint found before the first is embedded: a missing one writes nothing
        cands = io.list_checkpoints(space, kind)
        if seed is not None:
            cands = [c for c in cands if c.name == f"seed{seed}"]
        if not cands:
            raise NasvizError(f"no shipped {space} {kind} controller" + (f" with seed {seed}" if seed is not None else ""))
        chosen[kind] = cands
    for kind in tqdm(A.KINDS, desc="hidden states of every cell" if space == "nb201" else "hidden states of the table cells"):
        cands = chosen[kind]
        ctrl, doc = io.load(cands[0], space=space)
        meta = A.write_latents(ctrl, doc, cands[0], folder / f"{space}-controller-{kind}.npz")
        typer.echo(f"{folder / f'{space}-controller-{kind}.npz'}: {meta['n_cells']} x {meta['dim']} "
                   f"({meta['latent_dtype']}, max error {meta['latent_max_abs_err']:.1e}, {meta['seconds']} s)"
                   + (f"; float32 arithmetic merged {meta['float32_duplicate_rows']} cells' states, so they were "
                      f"computed in float64 and stored centred ({meta['duplicate_rows']} still merged)"
                      if meta["latent_centred"] else ""))
