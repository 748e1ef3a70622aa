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
