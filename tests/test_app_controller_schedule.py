"""The controller page's full-schedule results: Table 1 verdicts from intervals and the separation-along-training
curve, read from benchmarks/results/controller.json, which must describe the shipped full-schedule controllers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _helpers import figures, html_tables, run_page
from streamlit.testing.v1 import AppTest

from nasviz.analysis import controller as A
from nasviz.controllers import io

REPO = Path(__file__).resolve().parents[1]
CTRL = str(REPO / "pages/controller.py")
RESULT = json.loads((REPO / "benchmarks/results/controller.json").read_text())


def test_stored_table1_is_of_the_shipped_full_schedule_controllers():
    for kind in ("unsupervised", "supervised"):
        rows = RESULT["controllers"][kind]["checkpoints"]
        assert len(rows) >= 3
        assert all(r["epochs"] * r["steps_per_epoch"] == 300_000 for r in rows)
        shipped = io.list_checkpoints("nb201", kind)
        assert [r["seed"] for r in rows] == [int(p.name[4:]) for p in shipped]
        for p in shipped:  # what the app loads is what was measured
            doc = io.read_config(p)
            assert doc["train"]["epochs"] * doc["train"]["steps_per_epoch"] == 300_000
            assert "train_state.pt" not in {f.name for f in p.iterdir()}, "an unfinished run is shipped"
        assert RESULT["table1"]["rows"][kind]["seeds"] == [r["seed"] for r in rows]
    sched = RESULT["schedule"]
    assert sched["steps"] == [8_000, 40_000, 100_000, 300_000]
    # the curve's last point and Table 1 are the same controllers measured the same way
    for kind in ("unsupervised", "supervised"):
        last = sched["rows"][kind]["300000"]["distinct"]["ged"]["per_seed"]
        t1 = RESULT["table1_distinct_pairs"]["rows"][kind]["measures"]["ged"]["per_seed"]
        assert last == pytest.approx(t1, abs=1e-4)
    # every verdict is the one its interval gives
    for key in ("separation", "separation_distinct_pairs"):
        for m, x in RESULT[key].items():
            assert x["verdict"] == A.verdict_of(x["diff"], *x["ci95"], A.PAPER_DIRECTION[m])


def _schedule_fig(at: AppTest) -> dict:
    figs = figures(at)
    found = [f for f in figs if "Separation along training" in f["layout"]["title"]["text"]]
    assert len(found) == 1
    return found[0]


def test_controller_page_shows_the_schedule_curve_and_verdicts():
    at = run_page(CTRL, AppTest.from_file(CTRL, default_timeout=600))
    assert not at.exception
    fig = _schedule_fig(at)
    kinds = {t["name"] for t in fig["data"]}
    assert kinds == {"unsupervised", "supervised"}
    first = next(t for t in fig["data"] if t["name"] == "supervised")
    assert [int(x) for x in first["x"]] == [8_000, 40_000, 100_000, 300_000]
    want = [RESULT["schedule"]["rows"]["supervised"][str(s)]["distinct"]["common_ops"]["mean"]
            for s in (8_000, 40_000, 100_000, 300_000)]
    assert np.allclose(np.asarray(first["y"], dtype=float), want)
    cap = next(c.value for c in at.caption if c.value.startswith("Spearman correlation of hidden-state distance"))
    assert "pairs of different architectures" in cap and cap.count("steps:") == 4
    assert "300,000 steps: " in cap
    # the verdict table is the stored one, with one verdict per measure
    sep = next(t for t in html_tables(at) if "verdict" in t.columns)
    assert list(sep["verdict"]) == [RESULT["separation"][m]["verdict"] for m in A.MEASURES]
    # the other pairs: other curves, other caption
    at.radio(key="ctrl_sched_pairs").set_value("all")
    run_page(CTRL, at)
    fig_all = _schedule_fig(at)
    y_all = next(t for t in fig_all["data"] if t["name"] == "supervised")["y"]
    assert not np.allclose(np.asarray(y_all, dtype=float), want)
    assert any(c.value.startswith("Spearman correlation") and "all sampled pairs" in c.value for c in at.caption)
