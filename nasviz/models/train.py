"""Train a shipped-style model end to end: data, seeded 90/10 split, labels, fit, held-out check, save.

``train_model("arch2vec", "nb201", ...)`` is what ``nasviz train`` runs. The split is
a seeded permutation of the space's cells in official index order
(:func:`~nasviz.models._common.split_indices`); the test cells never enter ``fit``.
"""

from __future__ import annotations

import math

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasviz.errors import NasvizError
from nasviz.models._common import split_indices

log = logging.getLogger(__name__)

ARCH2VEC_PAPER = ("Yan et al., Does Unsupervised Architecture Representation Learning Help Neural Architecture "
                  "Search? NeurIPS 2020 (arch2vec)")
DNAS_PAPER = "Disentangled Neural Architecture Search (DNAS), beta-VAE controller, Eq. 1-5"


@dataclass
class LabelSpec:
    """Which benchmark column is the accuracy label."""

    metric: str = "valid_acc"
    dataset: str = "cifar10-valid"
    epochs: int | None = 12

    def describe(self) -> str:
        ep = f", {self.epochs} epochs" if self.epochs is not None else ""
        return f"{self.dataset} {self.metric}{ep}"


#: NB101 default label: 108-epoch validation accuracy (the embedded sample has no test accuracy)
NB101_LABEL = LabelSpec("valid_acc", "cifar10", 108)
#: NB101 default epochs (the whole 381,261-cell training split per epoch; measured about 2.5 min
#: (arch2vec) and 6-7 min (beta-VAE, batch 64, one thread, both cores busy) per epoch on the 2-core CPU). arch2vec's own NB101
#: pre-training script runs 8 epochs.
NB101_EPOCHS = {"arch2vec": 8, "beta-vae": 4}
#: NB101 beta-VAE settings (see nasviz.models.beta_vae's docstring for the measurements behind
#: them): the paper's width-26 LSTMs, z-only decoder input and constant KL weight did not learn
#: the 26-token NB101 sequence (0.08 % reconstruction after 10 epochs).
NB101_OVERRIDES = {"beta-vae": {"batch_size": 64, "hidden": 128, "dec_position": True, "kl_warmup": 8000,
                                "lr": 3e-3, "lr_final": 1e-4},
                   # arch2vec: node positions, light decoder dropout, the mixing decoder with KL weight 40 reached
                   # through a 2-epoch warm-up and a cosine learning rate (see nasviz.models.arch2vec's docstring for
                   # the measurements: without positions 257,184 of the 423,624 cells shared their point; without the
                   # mixing decoder, KL weight and cosine lr, prior samples decoded to 71.8 % distinct cells; KL 16:
                   # 95.1 %, KL 40: 96.7 %; KL 32 without the warm-up collapsed), and the penalty on prior decodes'
                   # dangling op vertices at weight 0.25 (96.7 -> 98.4 % distinct cells, validity 80.3 -> 49.3 %)
                   "arch2vec": {"node_position": True, "dropout": 0.1, "dec_mix": "mlp", "kl_weight": 40.0,
                                "kl_warmup_epochs": 2.0, "lr_final": 1e-4, "dangling_weight": 0.25}}
#: arch2vec options that the supervised counterpart refuses (it has no prior to sample): left out of its defaults
UNSUPERVISED_ONLY = ("dangling_weight",)
#: NB201 beta-VAE settings: the same decoder options. With the paper's settings (LSTM width 64, z-only
#: decoder input, constant KL weight and lr, 50 epochs) held-out reconstruction was 98.6 / 79.3 / 0.8 % at
#: beta 0 / 1 / 4; with these, beta 1 reached 99.8 % after 100 epochs (96.6 % after 20).
NB201_OVERRIDES = {"beta-vae": {**NB101_OVERRIDES["beta-vae"], "epochs": 100}}


#: held-out cells decoded after every epoch for the card's reconstruction curve
CURVE_CELLS = 5000
#: per-epoch training state inside the output folder (``--resume`` reads it)
STATE_FILE = "train_state.pt"


def _space_labels(bench, space: str, lab: LabelSpec, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The label column in space order and a mask of the cells that have a result.

    NB201's table covers every cell; NB101's rows cover the embedded sample (or all
    cells once the official file is imported), mapped to space indices via ``indices``.
    """
    col = np.asarray(bench.column(lab.metric, lab.dataset, lab.epochs), dtype=np.float64)
    if space == "nb201":
        return col, np.isfinite(col)
    y = np.full(n_cells, np.nan)
    y[np.asarray(bench.indices)] = col
    return y, np.isfinite(y)


def _track_state(model, folder: Path | None, resume: bool, test_cells: list) -> None:
    """Per-epoch training state in ``folder`` (resumable) and the held-out reconstruction after each epoch."""
    if folder is not None:  # the folder is created by the first state write, after every input was checked
        model.state_path, model.resume = folder / STATE_FILE, bool(resume)

    def held_out(epoch, net):
        model.model_ = net  # decode with the weights of this epoch (eval mode; no RNG is used)
        try:
            return round(reconstruction_accuracy(model, test_cells), 6)
        finally:
            del model.model_

    model.epoch_hook = held_out


def default_name(kind: str, space: str, supervised: bool = False, beta: float | None = None) -> str:
    if kind == "arch2vec":
        return f"{space}-arch2vec" + ("-supervised" if supervised else "")
    if kind == "beta-vae":
        return f"{space}-bvae-beta{beta:g}"
    raise NasvizError(f"unknown model kind {kind!r}; accepted: arch2vec, beta-vae")


def reconstruction_accuracy(model, cells) -> float:
    """Share of cells decoded (from their latent means) to exactly themselves."""
    dec = model.decode(model.latent(cells))
    return float(np.mean([d == c for d, c in zip(dec, cells)])) if len(cells) else float("nan")


def config_overrides(kind: str, space: str, *, supervised: bool = False, seed: int = 0, epochs: int | None = None,
                     latent_dim: int | None = None, hidden: int | None = None, options: dict | None = None,
                     n_train: int) -> dict:
    """The config fields ``train_model`` gives a model: the space's defaults (``NB101_OVERRIDES``,
    ``NB201_OVERRIDES``; the supervised arch2vec without the options only the unsupervised one takes), then
    ``latent_dim``, ``hidden`` and ``options``; a warm-up given in epochs becomes optimizer steps over ``n_train``
    training cells."""
    overrides: dict = {"space": space, "seed": seed}
    if epochs is None and space == "nb101" and not supervised:
        epochs = NB101_EPOCHS[kind]  # the supervised arch2vec trains on the 27k sample cells: config default
    if epochs is not None:
        overrides["epochs"] = int(epochs)
    if space == "nb101" and kind in NB101_OVERRIDES:  # the prior-decode penalty is the unsupervised model's
        overrides.update({k: v for k, v in NB101_OVERRIDES[kind].items()
                          if not (supervised and k in UNSUPERVISED_ONLY)})
    if space == "nb201" and kind in NB201_OVERRIDES:
        overrides.update({k: v for k, v in NB201_OVERRIDES[kind].items() if k != "epochs" or epochs is None})
    if latent_dim is not None:
        overrides["latent_dim"] = int(latent_dim)
    if options:  # other config fields (e.g. arch2vec's dec_mix, kl_weight): applied last, checked by the config
        overrides.update(options)
    if "kl_warmup_epochs" in overrides:  # the CLI counts epochs; the model, optimizer steps
        from nasviz.models.arch2vec import Arch2VecConfig

        per_epoch = math.ceil(n_train / int(overrides.get("batch_size", Arch2VecConfig.batch_size)))
        overrides["kl_warmup"] = int(round(float(overrides.pop("kl_warmup_epochs")) * per_epoch))
    if hidden is not None:
        if kind != "beta-vae":
            raise NasvizError("--hidden applies to the beta-VAE's LSTMs")
        overrides["hidden"] = int(hidden)
    return overrides


def train_model(kind: str, space: str = "nb201", *, supervised: bool = False, beta: float = 1.0,
                seed: int = 0, epochs: int | None = None, device: str = "cpu", out: str | Path | None = None,
                label: LabelSpec | None = None, n_labelled: int = 1000, test_fraction: float = 0.1,
                latent_dim: int | None = None, hidden: int | None = None, progress: bool = True,
                save: bool = True, force: bool = False, resume: bool = False, options: dict | None = None):
    """Train one model on all cells of ``space`` (90/10 split) and write its checkpoint folder.

    ``options``: further config fields, applied after the space's defaults (``nasviz train arch2vec --dec-mix
    mlp --kl-weight 16``). Returns ``(model, folder, info)``; ``folder`` is None when ``save`` is False. A folder that already holds a
    checkpoint (e.g. a shipped one in ``models/``) is overwritten only with ``force``. The training state is
    written to ``folder/train_state.pt`` after every epoch; ``resume`` continues from it (same options).
    arch2vec supervised labels: 200-epoch cifar10-valid validation accuracy of every
    training cell. beta-VAE: ``label`` (default 12-epoch cifar10-valid validation
    accuracy) for ``n_labelled`` random training cells, NaN for the rest; FLOPs
    (cifar10) for all training cells.
    """
    from nasviz.bench import get_benchmark
    from nasviz.models import MODELS
    from nasviz.paths import models_dir

    space = str(space).lower()
    if space not in ("nb201", "nb101"):
        raise NasvizError(f"unknown space {space!r}; accepted: nb201, nb101")
    if kind not in MODELS:
        raise NasvizError(f"unknown model kind {kind!r}; accepted: {', '.join(sorted(MODELS))}")
    if supervised and kind != "arch2vec":
        raise NasvizError("--supervised applies to arch2vec (the beta-VAE is always semi-supervised)")
    if epochs is not None and int(epochs) < 1:
        raise NasvizError(f"epochs must be >= 1; got {epochs}")
    if not math.isfinite(float(beta)) or beta < 0:
        raise NasvizError(f"beta must be a finite number >= 0; got {beta}")
    if save:  # refused before any training: a shipped or finished checkpoint, a folder we cannot write
        target = Path(out) if out is not None else models_dir() / default_name(kind, space, supervised, beta)
        if resume and not (target / STATE_FILE).is_file():
            raise NasvizError(f"nothing to resume: {target / STATE_FILE} does not exist (train without --resume "
                              "first; the state is written after every epoch)")
        if (target / "config.json").exists() and not force:
            raise NasvizError(f"{target} already holds a trained model; give --force to overwrite it, or another "
                              "--out")
        if (target / STATE_FILE).exists() and not (resume or force):
            raise NasvizError(f"{target} holds an unfinished run ({STATE_FILE}); continue it with --resume, or give "
                              "--force to start afresh")
        from nasviz.fileio import check_writable_dir

        check_writable_dir(target, need_bytes=64 * 2**20)  # checkpoint + per-epoch training state
    bench = get_benchmark(space)
    train_idx, test_idx = split_indices(len(bench.space), seed, test_fraction)
    overrides = config_overrides(kind, space, supervised=supervised, seed=seed, epochs=epochs, latent_dim=latent_dim,
                                 hidden=hidden, options=options, n_train=len(train_idx))
    if kind == "arch2vec":  # built now: option values and combinations refused before 423,624 NB101 cells are read
        model = MODELS[kind](device=device, progress=progress, supervised=supervised, **overrides)
        model.check_options()
    cells = list(bench.space.enumerate())
    train_cells = [cells[i] for i in train_idx]
    test_cells = [cells[i] for i in test_idx]
    order = "official index order" if space == "nb201" else "enumeration order, i.e. sorted module hashes"
    data = {"space": f"{space}: all {len(cells):,} cells ({order})",
            "split": f"seeded permutation (numpy default_rng({seed})): {len(train_idx):,} train / "
                     f"{len(test_idx):,} held-out test ({test_fraction:.0%})"}
    extra_info: dict = {}
    if kind == "arch2vec":
        _track_state(model, target if save else None, resume, test_cells[:CURVE_CELLS])
        if supervised:
            lab = LabelSpec("valid_acc", "cifar10-valid", 200) if space == "nb201" else NB101_LABEL
            y, have = _space_labels(bench, space, lab, len(cells))
            sel = train_idx[have[train_idx]]
            data["labels"] = (f"{lab.describe()} for the {len(sel):,} training cells that have results"
                              + ("" if len(sel) == len(train_idx) else
                                 f" (the embedded table is a {int(have.sum()):,}-cell sample; only these train)"))
            model.fit([cells[i] for i in sel], y[sel])
        else:
            data["labels"] = "none (unsupervised)"
            model.fit(train_cells)
        paper = ARCH2VEC_PAPER
        if space == "nb101":
            from nasviz.models.arch2vec import REFERENCE_DIFFERENCES

            extra_info = {"differences": REFERENCE_DIFFERENCES}
    else:
        lab = label or (LabelSpec() if space == "nb201" else NB101_LABEL)
        model = MODELS[kind](device=device, progress=progress, beta=float(beta), **overrides)
        _track_state(model, target if save else None, resume, test_cells[:CURVE_CELLS])
        acc_space, have = _space_labels(bench, space, lab, len(cells))
        acc_all = acc_space[train_idx]
        if space == "nb201":
            flops = np.asarray(bench.column("flops", "cifar10"), dtype=np.float64)[train_idx]
            rng = np.random.default_rng(seed + 7)
            labelled = rng.choice(len(train_idx), size=min(n_labelled, len(train_idx)), replace=False)
            how = f"{len(labelled):,} random training cells (default_rng({seed + 7}))"
        else:
            flops = np.asarray(bench.space_flops(), dtype=np.float64)[train_idx]
            labelled = np.flatnonzero(have[train_idx])
            how = f"the {len(labelled):,} training cells in the embedded sample"
        acc = np.full(len(train_idx), np.nan)
        acc[labelled] = acc_all[labelled]
        data["labels"] = (f"accuracy = {lab.describe()} for {how}, the other "
                          f"{len(train_idx) - len(labelled):,} unlabelled; "
                          "FLOPs (cifar10, computed from the cell) for all training cells")
        model.fit(train_cells, acc=acc, flops=flops)
        paper = DNAS_PAPER
    recon = reconstruction_accuracy(model, test_cells)
    curve = list(getattr(model, "epoch_metrics_", []) or [])
    train_sub, train_label = train_cells, "train reconstruction accuracy"
    if len(train_cells) > 50_000:  # decoding all 381k NB101 training cells adds minutes for little information
        pick = np.random.default_rng(seed).choice(len(train_cells), 50_000, replace=False)
        train_sub = [train_cells[i] for i in pick]
        train_label = "train reconstruction accuracy (50,000 random training cells)"
    info = {
        "paper": paper,
        "summary": f"{kind}{' (supervised counterpart)' if supervised else ''} trained by nasviz on {space}.",
        "data": data,
        "metrics": {"held-out reconstruction accuracy": f"{recon:.4%}",
                    train_label: f"{reconstruction_accuracy(model, train_sub):.4%}",
                    **({"held-out reconstruction after each epoch" + (
                        f" (first {CURVE_CELLS:,} held-out cells)" if len(test_cells) > CURVE_CELLS else ""): curve}
                       if curve else {}),
                    "more": "validity, uniqueness, GP, disentanglement: benchmarks/results/models.md"},
        "training": {"seed": seed, "split seed": seed, "test fraction": test_fraction},
        **extra_info,
    }
    folder = None
    if save:
        name = default_name(kind, space, supervised, beta)
        folder = Path(out) if out is not None else models_dir() / name
        model.save(folder, title=f"{name}", info=info)
        (folder / STATE_FILE).unlink(missing_ok=True)  # finished: the checkpoint replaces the training state
        log.info("saved %s (held-out recon %.4f) to %s", name, recon, folder)
    return model, folder, info
