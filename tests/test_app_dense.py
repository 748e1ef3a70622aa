"""The dense-sampling page, headless (AppTest) on the real data, with a real background run in a tmp store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from _helpers import chart_configs, diagrams, figures, run_page
from nasviz.search.store import RunState, Store
from nasviz.viz import dense as D

REPO = Path(__file__).resolve().parents[1]
PAGE = str(REPO / "pages" / "dense_sampling.py")


def _run(at: AppTest | None = None) -> AppTest:
    return run_page(PAGE, at)


def _bands_fig(at: AppTest) -> dict:
    return figures(at)[0]


def _errors(at: AppTest) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]  # shown verbatim: Markdown-escaped


@pytest.fixture()
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("NASVIZ_DB", str(path))
    return path


def test_eq4_bands_are_the_top_k_cells_plus_minus_sigma():
    t = D.latent_table("nb201-arch2vec")
    bands = D.eq4_bands(t, [0, 5], k=2, sigma=0.5)
    top = np.argsort(-t.acc)[:2]
    for s in (0, 5):
        assert bands[s] == pytest.approx([(t.z[i, s] - 0.5 * t.sd[s], t.z[i, s] + 0.5 * t.sd[s]) for i in top])
    r = D.intervals_region("nb201-arch2vec", {0: D.band_hull(bands[0])})
    assert 0 < D.region_size(r) < 15_625


def test_page_draws_bands_and_top_k_changes_them(db):
    at = _run()
    fig = _bands_fig(at)
    green = [s for s in fig["layout"]["shapes"] if s.get("fillcolor") == "#2ca02c"]
    assert len(green) == 3 * 3  # 3 dims x top-3 bands
    at.slider(key="dense_topk").set_value(5)
    _run(at)
    green = [s for s in _bands_fig(at)["layout"]["shapes"] if s.get("fillcolor") == "#2ca02c"]
    assert len(green) == 3 * 5
    at.multiselect(key="dense_dims").set_value([4])
    _run(at)
    fig = _bands_fig(at)
    assert fig["layout"]["annotations"][0]["text"] == "dim 4"


def test_eps_over_one_is_refused_and_eps3_shown(db):
    at = _run()
    assert at.metric[0].value == "0.40"
    assert not at.button(key="dense_launch").disabled
    at.slider(key="dense_eps1").set_value(0.7)
    at.slider(key="dense_eps2").set_value(0.5)
    _run(at)
    assert any("eps1 + eps2 = 1.20 exceeds 1" in e for e in _errors(at))
    assert at.button(key="dense_launch").disabled


def test_map_region_is_used_and_an_empty_one_is_refused(db):
    at = AppTest.from_file(PAGE, default_timeout=300)
    t = D.latent_table("nb201-arch2vec")
    at.session_state["search_region"] = {"space": "nb201", "embedding": "nb201-arch2vec", "projection": "pca",
                                         "kind": "box", "dims": [0, 1], "x": [0.0, 0.5], "y": [0.0, 0.5],
                                         "indices": [1, 2, 3], "n": 3}
    _run(at)
    at.selectbox(key="dense_strategy").set_value("region")
    _run(at)
    assert at.radio(key="dense_source").value == "map selection"
    cap = [c.value for c in at.caption if c.value.startswith("Region: the map selection")]
    assert cap and "cells inside" in cap[0]
    red = [x for x in _bands_fig(at)["layout"]["shapes"] if x.get("line", {}).get("color") == "#d62728"]
    assert red == []  # the map's region is searched, not the interval sliders
    at.radio(key="dense_source").set_value("Eq. 4 bands (sliders below)")
    _run(at)
    red = [x for x in _bands_fig(at)["layout"]["shapes"] if x.get("line", {}).get("color") == "#d62728"]
    assert len(red) == 3
    assert any(c.value.startswith("Region: your intervals on dims 0, 1, 2;") for c in at.caption)
    at.radio(key="dense_source").set_value("map selection")
    _run(at)
    at.session_state["search_region"] = {"space": "nb201", "embedding": "nb201-arch2vec", "projection": "pca",
                                         "kind": "box", "dims": [0, 1], "x": [1e3, 1e3 + 1], "y": [1e3, 1e3 + 1],
                                         "indices": [], "n": 0}
    _run(at)
    assert any("contains no cell" in e for e in _errors(at)), _errors(at)
    assert at.button(key="dense_launch").disabled
    assert t.z.shape == (15_625, 16)


def test_launch_runs_a_real_background_search_to_completion(db):
    at = _run()
    at.number_input(key="dense_budget").set_value(6)
    at.multiselect(key="dense_compare").set_value(["random"])
    _run(at)
    at.button(key="dense_launch").click()
    _run(at)
    assert not _errors(at), _errors(at)
    def runs():  # a fresh connection per poll, closed at once, as the page does
        with Store(db, create=False) as s:
            return s.list_runs()

    got = runs()
    assert sorted(r.strategy for r in got) == ["dense", "random"]
    dense = [r for r in got if r.strategy == "dense"][0]
    assert dense.config["params"]["embedding"] == "nb201-arch2vec"
    assert dense.config["params"]["eps1"] == 0.5 and dense.budget == 6
    deadline = time.monotonic() + 150
    while not all(r.state.finished for r in runs()):
        assert time.monotonic() < deadline, [r.state for r in runs()]
        time.sleep(0.5)
    assert [r.state for r in runs()] == [RunState.COMPLETE, RunState.COMPLETE]
    with Store(db, create=False) as s:
        trials = s.trials(dense.id)
    _run(at)  # the page now draws the results
    top = [d.value for d in at.dataframe if "search value" in d.value.columns][0]
    assert len(trials) == 6
    assert top["search value"].iloc[0] == pytest.approx(max(tr.value for tr in trials))
    assert len(diagrams(at)) == 3
    assert any(h.value == "Results" for h in at.header)


def test_a_failed_run_shows_its_error(db):
    at = _run()
    with Store(db) as s:
        rid = s.create_run(strategy="dense", space="nb201", dataset="cifar10", budget=5, seed=0,
                           config={"strategy": "dense"})
        s.mark_running(rid, "local:test:1")
        s.finish_run(rid, RunState.FAILED, error="RuntimeError: predictor diverged", traceback="Traceback ...")
    at.session_state["dense_batch"] = {"db": str(db), "ids": [rid], "baselines": [], "dataset": "cifar10",
                                       "strategy": "dense"}
    _run(at)
    assert any("predictor diverged" in e for e in _errors(at))
    assert any("without a completed trial" in w.value for w in at.warning)


def test_page_opens_from_a_shared_url_and_writes_its_choices_back(db):
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"embedding": "nb201-bvae-beta1", "dims": "4,7", "top_k": "2", "strategy": "region",
                            "budget": "20", "dataset": "cifar100"})
    _run(at)
    assert at.selectbox(key="dense_embedding_nb201").value == "nb201-bvae-beta1"
    assert at.multiselect(key="dense_dims").value == [4, 7] and at.slider(key="dense_topk").value == 2
    assert at.selectbox(key="dense_strategy").value == "region" and at.number_input(key="dense_budget").value == 20
    fig = _bands_fig(at)
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["dim 4", "dim 7"]
    assert len([s for s in fig["layout"]["shapes"] if s.get("fillcolor") == "#2ca02c"]) == 2 * 2
    assert "cifar100" in fig["layout"]["title"]["text"]
    cfg = chart_configs(at)[0]["toImageButtonOptions"]
    assert cfg["filename"] == "nasviz-eq4-bands-nb201-bvae-beta1-dims-4-7"
    at.slider(key="dense_topk").set_value(5)
    _run(at)
    assert at.query_params["top_k"] == "5" and at.query_params["dims"] == "4,7"
    # a dimension the embedding does not have, from a hand-edited URL: the defaults instead
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"dims": "0,99", "strategy": "nope"})
    _run(at)
    assert at.multiselect(key="dense_dims").value == [0, 1, 2] and at.selectbox(key="dense_strategy").value == "dense"


def test_each_embedding_keeps_its_own_dimensions(db):
    """Dimension 50 of a 64-wide controller embedding survives a visit to a 16-wide embedding and back (the shared
    list used to drop it); the narrower embedding gets its own choice back too; and a space round trip keeps the
    NB201 embedding, dataset and dimensions (Streamlit drops the state of widgets a run does not draw)."""
    at = _run()
    at.selectbox(key="dense_embedding_nb201").set_value("nb201-controller-supervised")
    _run(at)
    at.multiselect(key="dense_dims").set_value([3, 50])
    _run(at)
    at.selectbox(key="dense_embedding_nb201").set_value("nb201-arch2vec")
    _run(at)
    assert at.multiselect(key="dense_dims").value == [0, 1, 2]  # arch2vec's first visit: the default
    at.multiselect(key="dense_dims").set_value([5])
    _run(at)
    at.selectbox(key="dense_embedding_nb201").set_value("nb201-controller-supervised")
    _run(at)
    assert at.multiselect(key="dense_dims").value == [3, 50]
    assert [a["text"] for a in _bands_fig(at)["layout"]["annotations"]] == ["dim 3", "dim 50"]
    at.selectbox(key="dense_embedding_nb201").set_value("nb201-arch2vec")
    _run(at)
    assert at.multiselect(key="dense_dims").value == [5] and not at.exception
    # a round trip through NB101 (its selectboxes replace NB201's, whose widget state Streamlit then drops)
    at.selectbox(key="dense_embedding_nb201").set_value("nb201-controller-supervised")
    at.selectbox(key="dense_dataset_nb201").set_value("cifar100")
    _run(at)
    at.radio(key="dense_space").set_value("nb101")
    _run(at)
    assert at.selectbox(key="dense_embedding_nb101").value == "nb101-arch2vec"
    at.radio(key="dense_space").set_value("nb201")
    _run(at)
    assert at.selectbox(key="dense_embedding_nb201").value == "nb201-controller-supervised"
    assert at.selectbox(key="dense_dataset_nb201").value == "cifar100"
    assert at.multiselect(key="dense_dims").value == [3, 50] and not at.exception
    # back from another page: Streamlit has dropped this page's widget state and the URL is clear; the session's
    # own keys remain (a fresh AppTest given them stands in for that)
    kept = at.session_state["_dense_kept"]
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["_dense_kept"] = kept
    _run(at)
    assert at.selectbox(key="dense_embedding_nb201").value == "nb201-controller-supervised"
    assert at.selectbox(key="dense_dataset_nb201").value == "cifar100"
    assert at.multiselect(key="dense_dims").value == [3, 50] and not at.exception


def test_no_dimension_chosen_is_a_message_and_a_region_search_is_refused(db):
    at = _run()
    at.multiselect(key="dense_dims").set_value([])
    at.selectbox(key="dense_strategy").set_value("region")
    _run(at)
    assert any("Choose at least one latent dimension" in i.value for i in at.info)
    assert any("choose at least one latent dimension for the region" in e for e in _errors(at)), _errors(at)
    assert at.button(key="dense_launch").disabled
    at.multiselect(key="dense_dims").set_value([2])
    _run(at)
    assert not _errors(at) and not at.button(key="dense_launch").disabled


def test_nb101_is_offered_only_with_a_shipped_nb101_embedding(db):
    at = _run()
    learned = D.searchable_embeddings("nb101")
    options = at.radio(key="dense_space").options
    if learned:
        assert len(options) == 2 and options[1].startswith("NAS-Bench-101")
        at.radio(key="dense_space").set_value("nb101")
        _run(at)
        assert at.selectbox(key="dense_embedding_nb101").options == learned
        assert at.selectbox(key="dense_dataset_nb101").options == ["cifar10"]
    else:
        assert len(options) == 1 and options[0].startswith("NAS-Bench-201")
        assert any("NAS-Bench-101 appears here once" in c.value for c in at.caption)


def test_searchable_embeddings_are_the_files_with_a_row_per_cell(tmp_path, monkeypatch):
    import zipfile

    got = D.searchable_embeddings("nb201")
    assert "nb201-arch2vec" in got and "onehot" not in got
    # a file embedding a sample of the cells (as the NB101 controllers' hidden states do) is not searchable
    from nasviz.search import embeddings as E

    folder = tmp_path / "embeddings"
    folder.mkdir()
    np.savez(folder / "nb201-full.npz", means=np.zeros((15_625, 4), dtype=np.float32))
    np.savez(folder / "nb201-sample.npz", latent=np.zeros((3_001, 4), dtype=np.float32), index=np.arange(3_001))
    (folder / "nb201-broken.npz").write_bytes(b"not a zip")
    monkeypatch.setattr(E, "_embedding_dir", lambda space: folder)
    assert D.searchable_embeddings("nb201") == ["nb201-full"]
    assert zipfile.is_zipfile(folder / "nb201-sample.npz")
