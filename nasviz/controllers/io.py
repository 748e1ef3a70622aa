"""Controller checkpoints: ``model.safetensors`` + ``config.json`` + ``README.md`` (model card).

Loading never unpickles: weights come from safetensors, everything else from JSON.
A checkpoint folder holds::

    model.safetensors   the state dict (float32)
    config.json         {"format": "nasviz-controller", "version": 1, "space": ...,
                         "kind": ..., "seed": ..., "config": <ControllerConfig>,
                         "train": <TrainConfig>, "training": {...}}
    README.md           the model card

Shipped checkpoints live under ``models/<space>-controller-<kind>/seed<N>/`` (space nb201 or nb101).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from nasviz.controllers.enas import ControllerConfig, ENASController, get_decision_space
from nasviz.errors import DataFileError, NasvizError
from nasviz.fileio import atomic_write_path
from nasviz.integrity import verify
from nasviz.paths import models_dir

FORMAT = "nasviz-controller"
VERSION = 1


def checkpoint_dir(space: str, kind: str, seed: int, root: Path | None = None) -> Path:
    return Path(root or models_dir()) / f"{space}-controller-{kind}" / f"seed{int(seed)}"


def list_checkpoints(space: str, kind: str, root: Path | None = None) -> list[Path]:
    """Checkpoint folders of one space and kind, sorted by seed."""
    base = Path(root or models_dir()) / f"{space}-controller-{kind}"
    if not base.is_dir():
        return []
    found = [p for p in base.iterdir() if p.is_dir() and (p / "config.json").exists() and p.name.startswith("seed")]
    return sorted(found, key=lambda p: int(p.name[4:]) if p.name[4:].isdigit() else 1 << 30)


def save(ctrl: ENASController, folder: Path, meta: dict, card: str) -> Path:
    """Write a checkpoint folder (files are written to temporaries and renamed)."""
    from safetensors.torch import save_file

    from dataclasses import asdict

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = asdict(ctrl.config)
    cfg["choices"] = list(cfg["choices"])
    doc = {"format": FORMAT, "version": VERSION, "space": ctrl.config.space, "config": cfg, **meta}
    tensors = {k: v.detach().cpu().contiguous() for k, v in ctrl.state_dict().items()}
    atomic_write_path(folder / "model.safetensors", lambda p: save_file(tensors, str(p), metadata={"format": FORMAT}))
    atomic_write_path(folder / "config.json", lambda p: Path(p).write_text(json.dumps(doc, indent=2) + "\n"))
    atomic_write_path(folder / "README.md", lambda p: Path(p).write_text(card))
    return folder


def read_config(folder: Path | str) -> dict:
    folder = Path(folder)
    path = folder / "config.json"
    if not folder.exists():
        raise DataFileError(f"controller checkpoint {folder} not found (train one with `nasviz controller train`)")
    if not path.exists():
        raise DataFileError(f"{folder} is not a controller checkpoint: config.json is missing")
    verify(path)
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFileError(f"controller checkpoint {path} is corrupt ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DataFileError(f"{path} is not a nasviz controller config (format != {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise DataFileError(f"{path} has controller format version {doc.get('version')}; this nasviz reads {VERSION}")
    return doc


def load(folder: Path | str, space: str | None = None) -> tuple[ENASController, dict]:
    """Rebuild a controller from a checkpoint folder; ``space`` checks what it samples."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    doc = read_config(folder)
    ck_space = str(doc.get("space"))
    if space is not None and ck_space != str(space).lower():
        raise NasvizError(
            f"checkpoint {folder} is a controller for space {ck_space!r}, not {space!r}; "
            f"use one under models/{space}-controller-<kind>/"
        )
    try:
        cfg = ControllerConfig(**doc["config"])
    except (TypeError, KeyError) as e:
        raise DataFileError(f"controller checkpoint {folder} has an unreadable config ({e})") from e
    ds = get_decision_space(cfg.space)
    if tuple(ds.choices) != tuple(cfg.choices):
        raise DataFileError(
            f"checkpoint {folder} expects decisions {cfg.choices}, but the {cfg.space} space has {ds.choices}"
        )
    wpath = folder / "model.safetensors"
    if not wpath.exists():
        raise DataFileError(f"controller checkpoint {folder} has no model.safetensors")
    verify(wpath)
    try:
        state = load_file(str(wpath))
    except (SafetensorError, OSError, ValueError) as e:
        raise DataFileError(f"controller weights {wpath} are corrupt or not safetensors ({e})") from e
    ctrl = ENASController(cfg)
    try:
        ctrl.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise DataFileError(f"controller weights {wpath} do not match its config ({str(e).splitlines()[0]})") from e
    ctrl.eval()
    return ctrl, doc


def hardware() -> str:
    from nasviz.machine import cpu_name

    cpu = cpu_name()
    return f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
