"""``nasviz train ...`` and ``nasviz embed``: train latent models, precompute embeddings/projections.

Registration in nasviz/cli.py (owned by the lead):

    from nasviz.commands.models import train_app, embed
    app.add_typer(train_app, name="train")
    app.command("embed")(embed)

``nasviz train arch2vec [--supervised] --space nb201 [--device cpu|cuda] [--seed N] [--epochs E] [--out DIR]``
``nasviz train beta-vae [--beta B] [--latent-dim D] --space nb201 [...]``
``nasviz embed [--model NAME ...] [--methods pca,umap,tsne] [--force]``
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from nasviz.errors import NasvizError

train_app = typer.Typer(help="Train a latent model (arch2vec or the DNAS beta-VAE) and write its checkpoint.",
                        no_args_is_help=True)

_SPACE = typer.Option("nb201", "--space", "-s", help="Search space: nb201 or nb101 (all 423,624 enumerated cells).")
_DEVICE = typer.Option("auto", "--device", help="cpu, cuda, or auto (cuda when a GPU is present).")
_SEED = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the split, weights, batch order and noise.")
_EPOCHS = typer.Option(None, "--epochs", min=1, help="Training epochs (default: the model config's).")
_OUT = typer.Option(None, "--out", help="Checkpoint folder (default: models/<space>-<model>...).")
_JSON = typer.Option(False, "--json", help="Print one JSON object.")
_FORCE = typer.Option(False, "--force", help="Overwrite a checkpoint already in the folder (e.g. a shipped one).")
_RESUME = typer.Option(False, "--resume", help="Continue the run whose per-epoch training state is in the output "
                                               "folder (train_state.pt; same options).")
_NICE = typer.Option(0, "--nice", min=0, max=19, help="Lower this process's CPU priority by N (as nice -n N) "
                                                     "before training, so a long run leaves the machine usable.")


def _renice(n: int) -> None:
    import os

    if n:
        os.nice(n)


def _threads() -> None:
    import os

    import torch

    torch.set_num_threads(int(os.environ.get("NASVIZ_THREADS", min(2, os.cpu_count() or 1))))


def _report(folder, info, as_json: bool) -> None:
    out = {"checkpoint": str(folder), "metrics": info["metrics"], "data": info["data"]}
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        typer.echo(f"saved {folder}")
        for k, v in info["metrics"].items():
            typer.echo(f"  {k}: {v}")


@train_app.command("arch2vec")
def train_arch2vec(
    supervised: bool = typer.Option(False, "--supervised", help="Train the supervised counterpart instead."),
    dec_mix: Optional[str] = typer.Option(None, "--dec-mix",
                                          help="Decoder: none (the paper's, each node latent alone), mlp or attn "
                                               "(node latents mixed first; see the model card)."),
    kl_weight: Optional[float] = typer.Option(None, "--kl-weight",
                                              help="Weight of the KL term, a finite number >= 0 (default 1)."),
    kl_warmup: Optional[float] = typer.Option(None, "--kl-warmup",
                                              help="Ramp the KL weight linearly from 0 over this many epochs, a "
                                                   "finite number >= 0 (default 0: no ramp, the paper's)."),
    latent_dim: Optional[int] = typer.Option(None, "--latent-dim", min=1, max=4096,
                                             help="Per-node latent size (paper 16)."),
    dropout: Optional[float] = typer.Option(None, "--dropout",
                                            help="Dropout on the node latents before the decoder, a number in "
                                                 "[0, 1) (NB101 default 0.1; the authors' script 0.3)."),
    lr_final: Optional[float] = typer.Option(None, "--lr-final",
                                             help="Cosine-anneal the learning rate (1e-3) to this, a number in "
                                                  "[0, 1e-3] (default: constant, the paper's)."),
    dangling_weight: Optional[float] = typer.Option(None, "--dangling-weight",
                                                    help="Weight of the penalty on op vertices without an incoming "
                                                         "or outgoing edge in the decodes of prior samples, a finite "
                                                         "number >= 0 (NB101 default 0.25, NB201 0; see the model card)."),
    edge_budget: Optional[int] = typer.Option(None, "--edge-budget", min=1, max=10_000,
                                              help="With --dangling-weight: also penalise decodes of prior samples "
                                                   "expected to have more edges than this (NB101 allows 9)."),
    edge_count: Optional[str] = typer.Option(None, "--edge-count",
                                             help="How --edge-budget counts edges: expected (sum of the edge "
                                                  "probabilities; default) or decoded (the edges a decode has, "
                                                  "paying for the weakest ones over the budget)."),
    mask_pad: bool = typer.Option(False, "--mask-pad",
                                  help="With --dangling-weight: an edge to or from a likely pad row does not count as "
                                       "one of an op vertex's edges (such a decode is invalid, not pruned)."),
    space: str = _SPACE, device: str = _DEVICE, seed: int = _SEED,
    epochs: Optional[int] = _EPOCHS, out: Optional[Path] = _OUT, force: bool = _FORCE, resume: bool = _RESUME,
    nice: int = _NICE, as_json: bool = _JSON,
) -> None:
    """arch2vec: variational graph isomorphism autoencoder (Yan et al. 2020). Writes the training state after
    every epoch; an interrupted run continues with --resume."""
    import math

    options: dict = {}
    if dec_mix is not None:  # before torch is imported: a bad value is refused at once, nothing written
        if dec_mix not in ("none", "mlp", "attn"):
            raise NasvizError(f"--dec-mix must be none, mlp or attn; got {dec_mix!r}")
        options["dec_mix"] = dec_mix
    if kl_weight is not None:
        if not math.isfinite(kl_weight) or kl_weight < 0:
            raise NasvizError(f"--kl-weight must be a finite number >= 0; got {kl_weight}")
        options["kl_weight"] = float(kl_weight)
    if kl_warmup is not None:
        if not math.isfinite(kl_warmup) or kl_warmup < 0:
            raise NasvizError(f"--kl-warmup must be a finite number of epochs >= 0; got {kl_warmup}")
        options["kl_warmup_epochs"] = float(kl_warmup)
    if dropout is not None:
        if not math.isfinite(dropout) or not 0 <= dropout < 1:
            raise NasvizError(f"--dropout must be a number in [0, 1); got {dropout}")
        options["dropout"] = float(dropout)
    if lr_final is not None:
        if not math.isfinite(lr_final) or not 0 <= lr_final <= 1e-3:
            raise NasvizError(f"--lr-final must be a number in [0, 1e-3] (the learning rate); got {lr_final}")
        options["lr_final"] = float(lr_final)
    if dangling_weight is not None:
        if not math.isfinite(dangling_weight) or dangling_weight < 0:
            raise NasvizError(f"--dangling-weight must be a finite number >= 0; got {dangling_weight}")
        options["dangling_weight"] = float(dangling_weight)
    if edge_budget is not None:  # combinations (e.g. without the penalty) are checked with the space's defaults
        options["edge_budget"] = int(edge_budget)
    if edge_count is not None:
        if edge_count not in ("expected", "decoded"):
            raise NasvizError(f"--edge-count must be expected or decoded; got {edge_count!r}")
        options["edge_count"] = edge_count
    if mask_pad:
        options["mask_pad"] = True
    from nasviz.models.train import train_model

    _threads()
    _renice(nice)
    _, folder, info = train_model("arch2vec", space, supervised=supervised, seed=seed, epochs=epochs,
                                  device=device, out=out, progress=not as_json, force=force, resume=resume,
                                  latent_dim=latent_dim, options=options)
    _report(folder, info, as_json)


@train_app.command("beta-vae")
def train_beta_vae(
    beta: float = typer.Option(1.0, "--beta", help="KL weight, a finite number >= 0 (paper 1; 0 = entangled ablation)."),
    latent_dim: int = typer.Option(26, "--latent-dim", min=1, max=4096, help="Latent size (paper 26)."),
    hidden: Optional[int] = typer.Option(None, "--hidden", min=1, max=65_536,
                                         help="LSTM width of encoder and decoder (default: the paper's 26 on NB201, "
                                              "128 on NB101; the shipped NB201 models use 64)."),
    n_labelled: int = typer.Option(1000, "--labelled", min=1,
                                   help="NB201: training cells with an accuracy label (NB101: every sample cell)."),
    label: Optional[str] = typer.Option(None, "--label",
                                        help="Accuracy label as METRIC:DATASET:EPOCHS (any benchmark column; default "
                                             "valid_acc:cifar10-valid:12 on NB201, valid_acc:cifar10:108 on NB101)."),
    space: str = _SPACE, device: str = _DEVICE, seed: int = _SEED,
    epochs: Optional[int] = _EPOCHS, out: Optional[Path] = _OUT, force: bool = _FORCE, resume: bool = _RESUME,
    nice: int = _NICE, as_json: bool = _JSON,
) -> None:
    """DNAS beta-VAE: LSTM sequence VAE with accuracy and FLOPs predictors (semi-supervised). Writes the training
    state after every epoch; an interrupted run continues with --resume."""
    import math

    if not math.isfinite(beta) or beta < 0:  # before torch is imported: a bad value is refused at once
        raise NasvizError(f"--beta must be a finite number >= 0 (the KL weight); got {beta}")
    from nasviz.models.train import LabelSpec, train_model

    parts = (label or "").split(":")
    if label is not None and len(parts) != 3:
        raise NasvizError(f"--label must be METRIC:DATASET:EPOCHS, e.g. valid_acc:cifar10-valid:12; got {label!r}")
    spec = None
    if label is not None:
        try:
            spec = LabelSpec(parts[0], parts[1], int(parts[2]))
        except ValueError:
            raise NasvizError(f"--label epochs must be an integer; got {parts[2]!r}") from None
    _threads()
    _renice(nice)
    _, folder, info = train_model("beta-vae", space, beta=beta, seed=seed, epochs=epochs, device=device, out=out,
                                  label=spec, n_labelled=n_labelled, latent_dim=latent_dim, hidden=hidden,
                                  progress=not as_json, force=force, resume=resume)
    _report(folder, info, as_json)


def embed(
    model: Optional[List[str]] = typer.Option(None, "--model", "-m",
                                              help="Checkpoint name under models/ (repeatable; default: all)."),
    methods: str = typer.Option("pca,umap,tsne", "--methods", help="Comma-separated projections."),
    force: bool = typer.Option(False, "--force", help="Recompute even when the cache matches."),
    as_json: bool = _JSON,
) -> None:
    """Precompute latent means of every cell and 2-D projections for every shipped model (data/embeddings/)."""
    from nasviz.analysis.embeddings import precompute

    _threads()
    results = precompute(model or None, methods=[m.strip() for m in methods.split(",") if m.strip()],
                         force=force, progress=not as_json)
    if as_json:
        typer.echo(json.dumps({"embeddings": results}, indent=2))
    else:
        for r in results:
            typer.echo(f"{r['model']}: {r['path']} ({r['status']}; {', '.join(r['projections'])})")
