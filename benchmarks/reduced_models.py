"""Reduced versions of the measured latent-model figures, for the reproducibility tests.

Table 1 of arch2vec (benchmarks/results/models.json, by bench_models.py) reports each shipped model's held-out
reconstruction over the whole held-out split. This script stores the same figure on the first 400 held-out cells of
each shipped NB201 model (seconds instead of minutes), with the checkpoint hash it was measured from:
tests/test_reproducibility.py recomputes it with the current code and compares. Run it again only when a checkpoint
is retrained on purpose:

    python benchmarks/reduced_models.py        # writes benchmarks/results/models_reduced.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_CELLS = 400
OUT = ROOT / "benchmarks/results/models_reduced.json"


def reduced_recon(name: str) -> dict:
    import torch

    from nasviz.analysis import latent as L
    from nasviz.analysis.embeddings import checkpoint_hash
    from nasviz.models import load_model
    from nasviz.models._common import split_indices
    from nasviz.paths import models_dir
    from nasviz.spaces import get_space

    torch.set_num_threads(1)
    m = load_model(models_dir() / name, space="nb201")
    cells = list(get_space("nb201").enumerate())
    _, test = split_indices(len(cells), m.config.seed)
    sample = [cells[i] for i in test[:N_CELLS]]
    return {"recon_test_first_400": L.reconstruction_accuracy(m, sample), "n_cells": N_CELLS,
            "checkpoint_hash": checkpoint_hash(models_dir() / name)}


def main() -> None:
    from nasviz.models import shipped_models

    names = [m for m in shipped_models() if m.startswith("nb201-") and "controller" not in m]
    out = {"what": "held-out reconstruction on the first 400 held-out cells (split_indices, the model's seed); "
                   "the full-split figure is recon_test in models.json",
           "models": {n: reduced_recon(n) for n in names}}
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
