"""Dense sampling page: the region choice is shown only for the region strategy, its captions never contradict each
other, and a batch launched in one space is cleared on switching space (AppTest, real runs in a tmp store)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _helpers import run_page
from streamlit.testing.v1 import AppTest

from nasviz.search.store import Store
from nasviz.viz import dense as D

REPO = Path(__file__).resolve().parents[1]
PAGE = str(REPO / "pages" / "dense_sampling.py")


@pytest.fixture()
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("NASVIZ_DB", str(path))
    return path


def _radio_keys(at: AppTest) -> set[str]:
    return {r.key for r in at.radio}


def test_region_choice_only_for_the_region_strategy_and_captions_agree(db):
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["search_region"] = {"space": "nb101", "embedding": "nb101-arch2vec", "projection": "pca",
                                         "kind": "box", "dims": [0, 1], "x": [0.0, 0.5], "y": [0.0, 0.5],
                                         "indices": [1, 2, 3], "n": 3}
    run_page(PAGE, at)
    assert at.selectbox(key="dense_strategy").value != "region"
    assert "dense_source" not in _radio_keys(at)
    assert not [c for c in at.caption if "map selection" in c.value.lower()]
    at.selectbox(key="dense_strategy").set_value("region")
    run_page(PAGE, at)
    assert "dense_source" in _radio_keys(at)
    caps = [c.value for c in at.caption]
    # the selection exists but belongs to NB101: said once, and nothing claims there is no selection
    assert any("drawn on the nb101 map" in c for c in caps)
    assert not any(c.startswith("No map selection yet") for c in caps)
    assert at.radio(key="dense_source").options == ["Eq. 4 bands (sliders below)"]


def test_switching_space_clears_the_other_spaces_batch(db):
    if not D.searchable_embeddings("nb101"):
        pytest.fail("an NB101 latent embedding is shipped (data/embeddings/nb101-*.npz) and must be searchable")
    at = AppTest.from_file(PAGE, default_timeout=300)
    run_page(PAGE, at)
    at.number_input(key="dense_budget").set_value(3)
    run_page(PAGE, at)
    at.button(key="dense_launch").click()
    run_page(PAGE, at)
    assert at.session_state["dense_batch"]["space"] == "nb201"
    deadline = time.monotonic() + 120
    while True:
        with Store(db, create=False) as s:
            if all(r.state.finished for r in s.list_runs()):
                break
        assert time.monotonic() < deadline
        time.sleep(0.5)
    at.radio(key="dense_space").set_value("nb101")
    run_page(PAGE, at)
    assert "dense_batch" not in at.session_state
    at.radio(key="dense_space").set_value("nb201")
    run_page(PAGE, at)
    assert "dense_batch" not in at.session_state  # cleared, not hidden


def test_device_choice_offers_cuda_only_where_torch_sees_a_gpu(db):
    import torch

    at = AppTest.from_file(PAGE, default_timeout=300)
    run_page(PAGE, at)
    opts = at.selectbox(key="dense_device").options
    assert opts == (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
