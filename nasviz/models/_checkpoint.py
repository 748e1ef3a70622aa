"""Checkpoint folders: ``model.safetensors`` + ``config.json`` + ``README.md`` (model card).

Loading never unpickles: weights come from safetensors, everything else from JSON.
Whatever is wrong with a folder (missing, corrupt, another model or space, weights
that do not fit the config) becomes a :class:`~nasviz.errors.DataFileError` that
says which file and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasviz.errors import DataFileError
from nasviz.fileio import atomic_write_bytes
from nasviz.integrity import verify

FORMAT = "nasviz-latent-model"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"


@dataclass
class Checkpoint:
    kind: str  # "arch2vec" | "beta-vae"
    space: str
    config: dict  # the model's dataclass config, asdict()
    state: dict  # fitted non-tensor state (label normalisation, ...)
    tensors: dict  # name -> torch.Tensor
    info: dict = field(default_factory=dict)  # training / data / metrics for the card
    folder: Path | None = None


def write_checkpoint(folder: str | Path, ckpt: Checkpoint, card: str) -> Path:
    from safetensors.torch import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in ckpt.tensors.items()}
    atomic_write_bytes(folder / WEIGHTS, save(tensors, metadata={"format": FORMAT, "kind": ckpt.kind, "space": ckpt.space}))
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": ckpt.kind,
        "space": ckpt.space,
        "config": ckpt.config,
        "state": ckpt.state,
        "info": ckpt.info,
    }
    atomic_write_bytes(folder / CONFIG, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
    atomic_write_bytes(folder / CARD, card.encode())
    return folder


def read_checkpoint(folder: str | Path, *, expected_space: str | None = None,
                    expected_kind: str | None = None) -> Checkpoint:
    from safetensors import SafetensorError
    from safetensors.torch import load

    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(f"no model checkpoint at {folder}: not a folder (a checkpoint is a folder with "
                            f"{WEIGHTS} and {CONFIG}; shipped ones are under models/)")
    cfg_path, w_path = folder / CONFIG, folder / WEIGHTS
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise DataFileError(f"model checkpoint {folder} is missing {p.name}; re-download it or retrain with "
                                "`nasviz train ...`")
        verify(p)  # a shipped checkpoint must be the one the manifest records
    try:
        doc = json.loads(cfg_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFileError(f"{cfg_path} is not valid JSON ({e}); the checkpoint is corrupt") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DataFileError(f"{cfg_path} is not a nasviz latent-model config (format {FORMAT!r} expected)")
    if doc.get("format_version") != FORMAT_VERSION:
        raise DataFileError(f"{cfg_path} has format version {doc.get('format_version')!r}; this nasviz reads "
                            f"version {FORMAT_VERSION}")
    for key in ("kind", "space", "config", "state"):
        if key not in doc:
            raise DataFileError(f"{cfg_path} lacks the {key!r} entry; the checkpoint is corrupt")
    if expected_kind is not None and doc["kind"] != expected_kind:
        raise DataFileError(f"{folder} holds a {doc['kind']!r} model, not {expected_kind!r}")
    if expected_space is not None and str(doc["space"]).lower() != str(expected_space).lower():
        raise DataFileError(f"{folder} was trained on space {doc['space']!r}, not {expected_space!r}; pick a "
                            f"{expected_space} checkpoint")
    try:
        tensors = load(w_path.read_bytes())
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise DataFileError(f"{w_path} is not a readable safetensors file ({e}); the checkpoint is corrupt") from e
    return Checkpoint(kind=doc["kind"], space=doc["space"], config=doc["config"], state=doc["state"],
                      tensors=tensors, info=doc.get("info", {}), folder=folder)


def load_weights(module, tensors: dict, where: Any) -> None:
    """``module.load_state_dict(tensors, strict=True)`` with a clear error on mismatch."""
    try:
        module.load_state_dict(tensors, strict=True)
    except (RuntimeError, KeyError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataFileError(f"weights in {where} do not fit the model its config describes ({msg}); "
                            "the checkpoint is corrupt or from another model") from e


def model_card(title: str, info: dict, config: dict) -> str:
    """A markdown model card from the training info (data, split, hyper-parameters, metrics, time, hardware)."""
    lines = [f"# {title}", ""]
    if info.get("summary"):
        lines += [info["summary"], ""]
    if info.get("paper"):
        lines += [f"Paper: {info['paper']}", ""]
    for section, key in (("Data", "data"), ("Training", "training"), ("Metrics", "metrics"),
                         ("Differences from the reference implementation", "differences"), ("Hardware", "hardware")):
        val = info.get(key)
        if not val:
            continue
        lines += [f"## {section}", ""]
        if isinstance(val, dict):
            for k, v in val.items():
                if isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v):
                    pct = "reconstruction" in k and all(0 <= x <= 1 for x in v)  # shares shown as percentages
                    v = ", ".join(f"{100 * x:.1f} %" if pct else f"{x:g}" for x in v)
                lines.append(f"- **{k}**: {v}")
        else:
            lines.append(str(val))
        lines.append("")
    lines += ["## Hyper-parameters", "", "```json", json.dumps(config, indent=2, sort_keys=True), "```", ""]
    lines += ["## Files", "",
              f"- `{WEIGHTS}`: weights (safetensors; loading never unpickles)",
              f"- `{CONFIG}`: config, fitted state and this card's data (JSON)",
              "",
              "Load with `nasviz.models.load_model(folder)`.", ""]
    return "\n".join(lines)
