"""Controller-study tables (nasviz.viz.controller), without Streamlit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nasviz.analysis.controller import PAPER_TABLE1
from nasviz.errors import DataFileError
from nasviz.viz import controller as V


def _table(mean_ged):
    rows = {}
    for kind in ("random", "supervised"):
        rows[kind] = {"seeds": [0, 1], "measures": {
            m: {"mean": (mean_ged if m == "ged" else 0.25), "std": (None if m == "ged" else 0.05),
                "paper": PAPER_TABLE1[kind][m]} for m in ("common_ops", "common_connections", "ged", "abs_acc_diff")}}
    return {"rows": rows, "n_archs": 10, "n_pairs": 20}


def test_table1_frame_puts_the_paper_next_to_ours():
    f = V.table1_frame(_table(0.5))
    assert list(f["controller"]) == ["random", "supervised"]
    assert list(f["# common ops (ours)"]) == ["+0.250 ± 0.050"] * 2
    assert list(f["GED (ours)"]) == ["+0.500"] * 2  # no std: only the mean
    assert list(f["GED (paper)"]) == ["-0.064", "+0.100"]
    assert list(V.table1_frame(_table(float("nan")))["GED (ours)"]) == ["undefined"] * 2


def test_stored_table1_reads_null_as_undefined(tmp_path):
    p = tmp_path / "controller.json"
    assert V.stored_table1(p) is None
    t = _table(0.5)
    t["rows"]["random"]["measures"]["ged"]["mean"] = None
    p.write_text(json.dumps({"table1": t, "n_archs": 10, "n_pairs": 20}))
    doc = V.stored_table1(p)
    assert np.isnan(doc["table1"]["rows"]["random"]["measures"]["ged"]["mean"])
    assert V.table1_frame(doc["table1"])["GED (ours)"].tolist() == ["undefined", "+0.500"]
    p.write_text("{not json")
    with pytest.raises(DataFileError, match="not readable JSON"):
        V.stored_table1(p)


def test_hidden_caption_states_the_papers_claim_and_what_the_states_show():
    rng = np.random.default_rng(0)
    same = np.tile(rng.normal(size=(1, 8)), (20, 1)) + 1e-3 * rng.normal(size=(20, 8))  # one vector: collapse
    varied = rng.normal(size=(20, 8))
    cap = V.hidden_caption({"random": 1e-3 * varied, "unsupervised": same, "supervised": varied})
    assert cap.startswith("Paper Fig. 3: the unsupervised ENAS controller's final hidden state converges")
    assert "Here too: the supervised controller's state varies" in cap
    var_sup = float(np.var(varied, axis=0).mean())
    assert f"supervised {var_sup:.2e}" in cap
    # the opposite finding is said as such, not dressed as the paper's
    cap = V.hidden_caption({"unsupervised": varied, "supervised": same})
    assert "Not here: the supervised controller's state varies less" in cap and "Here too" not in cap
    # a difference under 2x is not read as the paper's separation
    cap = V.hidden_caption({"unsupervised": varied, "supervised": 1.2 * varied})
    assert "Not clearly here" in cap and "Here too" not in cap


@pytest.mark.parametrize("text, title", [
    ("cifar10-valid:valid_acc:12", "cifar10-valid validation accuracy after 12 epochs (%)"),
    ("cifar10:valid_acc:108", "cifar10 validation accuracy after 108 epochs (%)"),
    ("cifar100:test_acc:none", "cifar100 test accuracy (%)"),
])
def test_reward_titles_read_as_words(text, title):
    from nasviz.controllers.train import RewardSpec

    assert RewardSpec.parse(text).title == title
