"""Correlations page: the edit-distance caption says what its curves show, and the GP chart follows its inputs
once fitted (AppTest on the real embeddings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _helpers import figures, html_tables, run_page
from streamlit.testing.v1 import AppTest

from nasviz.viz.correlations import edit_distance_caption

REPO = Path(__file__).resolve().parents[1]
CORR = str(REPO / "pages/correlations.py")


def _gp_fig(at: AppTest) -> dict:
    figs = figures(at)
    return next(f for f in figs if "GP on the embeddings" in f["layout"]["title"]["text"])


def test_edit_distance_caption_is_computed_from_the_curves():
    curves = {"a": {"monotonic": True, "by_edit": {0: {"mean": 0.0}, 1: {"mean": 1.0}, 2: {"mean": 1.5}, 3: {"mean": 2.0}}},
              "b": {"monotonic": False, "by_edit": {1: {"mean": 2.0}, 2: {"mean": 1.0}, 3: {"mean": 1.9}}},
              "c": {"monotonic": False, "by_edit": {1: {"mean": 1.0}, 2: {"mean": 0.9}, 3: {"mean": 1.2}}}}
    cap = edit_distance_caption(curves)
    assert "a rises at every step (1.00 at edit 1 -> 2.00 at edit 3, x2.00)" in cap
    assert "b does not rise (2.00 at edit 1 -> 1.90 at edit 3" in cap
    assert "c rises overall but not at every step" in cap


def test_page_caption_matches_its_plot_and_the_gp_refits_when_inputs_change():
    at = run_page(CORR, AppTest.from_file(CORR, default_timeout=600))
    edit = next(f for f in figures(at) if "edit distance" in f["layout"]["title"]["text"])
    cap = next(c.value for c in at.caption if c.value.startswith("Paper (arch2vec Fig. 3"))
    entries = cap.split("Here: ", 1)[1].split("; ")
    assert len(entries) == len(edit["data"])
    for trace in edit["data"]:
        label = trace["name"].replace(" (monotonic)", "")
        said = next(e for e in entries if e.startswith(label + " rises") or e.startswith(label + " does"))
        assert said[len(label) + 1:].startswith("rises at every step") == trace["name"].endswith("(monotonic)")
    at.select_slider(key="corr_gp_train").set_value(50)
    at.button(key="corr_gp_run").click()
    run_page(CORR, at)
    first = _gp_fig(at)["layout"]["annotations"][0]["text"]
    # a new seed, no button: the chart is refitted for it (a stale fit would keep the old RMSE)
    at.number_input(key="corr_gp_seed").set_value(3)
    run_page(CORR, at)
    assert _gp_fig(at)["layout"]["annotations"][0]["text"] != first
    assert any("seed 3;" in c.value for c in at.caption)


def test_disentanglement_table_reads_the_stored_result_which_equals_a_computation_here():
    """The page opens on the stored benchmark table (no traversal of every dimension on a first visit); that
    table must be what the function computes now for the shipped checkpoint (a retrained model without a rerun
    of benchmarks/bench_models.py fails here), and another anchor count is computed on the page."""
    from nasviz.analysis.latent import disentanglement
    from nasviz.bench import get_benchmark
    from nasviz.models import load_model
    from nasviz.paths import models_dir
    from nasviz.viz.correlations import stored_disentanglement

    stored = stored_disentanglement("nb201-bvae-beta1")
    assert stored is not None and stored["n_anchors"] == 100
    live = disentanglement(load_model(models_dir() / "nb201-bvae-beta1"),
                           list(get_benchmark("nb201").space.enumerate()), n_anchors=stored["n_anchors"],
                           n_points=stored["n_points"], span=stored["span_std"], seed=stored["seed"]).to_dict()
    assert live["score"] == pytest.approx(stored["score"], abs=1e-9)
    assert live["active_dims"] == stored["active_dims"]
    assert [d["counts"] for d in live["dims"]] == [d["counts"] for d in stored["dims"]]

    at = run_page(CORR, AppTest.from_file(CORR, default_timeout=600))
    table = html_tables(at)[-1]
    row = table[table["model"] == "nb201-bvae-beta1"].iloc[0]
    assert row["score"] == round(stored["score"], 3) and row["active dims"] == stored["active_dims"]
    assert any("read from the stored benchmark result" in c.value for c in at.caption)
    at.select_slider(key="corr_dis_anchors").set_value(10)
    run_page(CORR, at)
    assert not any("read from the stored benchmark result" in c.value for c in at.caption)
    ten = disentanglement(load_model(models_dir() / "nb201-bvae-beta1"),
                          list(get_benchmark("nb201").space.enumerate()), n_anchors=10).to_dict()
    table = html_tables(at)[-1]
    assert table[table["model"] == "nb201-bvae-beta1"].iloc[0]["score"] == round(ten["score"], 3)
