"""Latent models: what an architecture embeds to.

Two families, one interface (:class:`Encoder`):

* ``arch2vec`` (:mod:`nasviz.models.arch2vec`): a variational graph isomorphism
  autoencoder on the node-op DAG (Yan et al., NeurIPS 2020), plus its supervised
  counterpart (same encoder trained with an accuracy predictor);
* ``beta-vae`` (:mod:`nasviz.models.beta_vae`): the DNAS controller, an LSTM
  sequence beta-VAE with accuracy and FLOPs predictors (semi-supervised).

Every encoder is scikit-learn shaped: the constructor only stores its config,
``fit(cells, ...)`` returns ``self``, fitted state ends in ``_``, ``transform``
raises a clear error before ``fit``. ``transform(cells)`` gives the *embedding*
(latent means, one row per cell) used for maps and predictors; ``latent(cells)``
gives the *decodable* latent code (the same for the beta-VAE; the per-node latent
matrix for arch2vec, whose embedding is the sum over nodes); ``decode(z)`` maps
latent codes back to cells or to an explicit :class:`Invalid`.

``MODELS`` maps a model kind to its class (importing this package imports torch); :func:`load_model` reads a checkpoint
folder (safetensors + JSON, never pickle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from nasviz.errors import NasvizError
from nasviz.models._common import Invalid, NotFittedError, is_valid
from nasviz.models._checkpoint import read_checkpoint


@runtime_checkable
class Encoder(Protocol):
    """What every latent model offers (see the module docstring)."""

    kind: str  # registry key: "arch2vec" or "beta-vae"
    space: str  # "nb201" (or "nb101")

    @property
    def embedding_dim(self) -> int: ...  # width of transform(cells)
    @property
    def latent_shape(self) -> tuple[int, ...]: ...  # shape of one decodable code

    def fit(self, cells: Sequence, *args, **kwargs) -> "Encoder": ...
    def transform(self, cells: Sequence) -> np.ndarray: ...  # (n, embedding_dim) latent means
    def latent(self, cells: Sequence) -> np.ndarray: ...  # (n, *latent_shape) decodable means
    def decode(self, z: np.ndarray) -> list: ...  # cells or Invalid
    def save(self, folder: str | Path, **card) -> Path: ...


from nasviz.models.arch2vec import Arch2Vec  # noqa: E402  (after the protocol: they import _common)
from nasviz.models.beta_vae import BetaVAE  # noqa: E402

#: model kind -> estimator class (each has ``from_checkpoint``).
MODELS: dict[str, type] = {"arch2vec": Arch2Vec, "beta-vae": BetaVAE}


def get_model_class(kind: str) -> type:
    if kind not in MODELS:
        raise NasvizError(f"unknown model kind {kind!r}; accepted: {', '.join(sorted(MODELS))}")
    return MODELS[kind]


def load_model(folder: str | Path, *, space: str | None = None, device: str = "cpu") -> Encoder:
    """Load a checkpoint folder (``model.safetensors`` + ``config.json``).

    ``space`` (optional) is the space the caller expects; a checkpoint trained on
    another space raises :class:`~nasviz.errors.DataFileError`.
    """
    ckpt = read_checkpoint(folder, expected_space=space)
    return get_model_class(ckpt.kind).from_checkpoint(ckpt, device=device)


def shipped_models(root: str | Path | None = None) -> list[str]:
    """Names of the latent-model checkpoint folders under ``models/`` (other kinds of folder are skipped)."""
    import json

    from nasviz.models._checkpoint import CONFIG, FORMAT
    from nasviz.paths import models_dir

    root = Path(root) if root is not None else models_dir()
    if not root.is_dir():
        return []
    names = []
    for p in sorted(root.iterdir()):
        try:
            if json.loads((p / CONFIG).read_text()).get("format") == FORMAT:
                names.append(p.name)
        except (OSError, ValueError, AttributeError):
            continue
    return names


__all__ = ["Arch2Vec", "BetaVAE", "Encoder", "get_model_class", "Invalid", "MODELS", "NotFittedError", "is_valid", "load_model", "shipped_models"]
