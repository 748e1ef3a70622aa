"""Stored "measured" figures, recomputed in reduced form with the current code (README: Tests, reproducibility).

Table 1 of arch2vec (held-out reconstruction of each shipped NB201 latent model, benchmarks/results/models.json)
is recomputed on the first 400 held-out cells and compared with the reduced figure stored beside it
(benchmarks/results/models_reduced.json, written by benchmarks/reduced_models.py). Decoding is deterministic, so
the tolerance is one cell in 400; a change to the models, the encodings, the decoder or the split that alters
the result fails here. The reduced figure must also agree with the full-split figure within sampling error.
"""

from __future__ import annotations

import json

import pytest

from nasviz.paths import REPO_ROOT

REDUCED = json.loads((REPO_ROOT / "benchmarks/results/models_reduced.json").read_text())["models"]
FULL = json.loads((REPO_ROOT / "benchmarks/results/models.json").read_text())["models"]


@pytest.mark.parametrize("name", sorted(REDUCED))
def test_held_out_reconstruction_of_a_shipped_model_is_reproduced(name):
    import sys

    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    from reduced_models import reduced_recon

    stored = REDUCED[name]
    now = reduced_recon(name)
    assert now["checkpoint_hash"] == stored["checkpoint_hash"], f"{name}: the checkpoint changed since it was measured"
    assert now["recon_test_first_400"] == pytest.approx(stored["recon_test_first_400"], abs=1 / 400 + 1e-9)
    # 400 of the 1,562 held-out cells: within 5 points of the full-split figure Table 1 shows
    assert stored["recon_test_first_400"] == pytest.approx(FULL[name]["recon_test"], abs=0.05)
