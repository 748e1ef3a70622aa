"""Where nasviz finds its embedded data and models, and where it keeps user state.

The embedded ``data/`` and ``models/`` folders sit beside the package in a source
checkout. ``NASVIZ_DATA_DIR`` / ``NASVIZ_MODELS_DIR`` override them;
``NASVIZ_HOME`` overrides the per-user folder (imported official benchmark files,
run history).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The folder with the embedded benchmark tables and precomputed embeddings."""
    return Path(os.environ.get("NASVIZ_DATA_DIR", REPO_ROOT / "data"))


def models_dir() -> Path:
    """The folder with the pretrained checkpoints."""
    return Path(os.environ.get("NASVIZ_MODELS_DIR", REPO_ROOT / "models"))


def user_dir() -> Path:
    """The per-user folder: imported official tables, run history."""
    default = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "nasviz"
    return Path(os.environ.get("NASVIZ_HOME", default))
