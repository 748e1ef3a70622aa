"""The Search runs page headless (AppTest) on real runs in a temporary store (issue #16 items 6 and 10):
curves of one space by default, a clear message for a mixed pick, the path of a run on the latent map, the live
refresh only while a run goes, and the state right after a resume."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from _helpers import TrialGate, figures, run_page, wait_stored
from nasviz.search import jobs as J
from nasviz.search.jobs import execute_run
from nasviz.search.runs import validate_config
from nasviz.search.store import RunState, Store
from nasviz.viz.maps import load_source

REPO = Path(__file__).resolve().parents[1]
PAGE = str(REPO / "pages" / "runs.py")


def _run(at: AppTest | None = None) -> AppTest:
    return run_page(PAGE, at)


def _figures(at: AppTest) -> list[dict]:
    return figures(at)


def _make(store: Store, strategy: str, space: str, budget: int, seed: int, *, execute: bool = True) -> int:
    cfg = validate_config(strategy, space=space, budget=budget, seed=seed, preflight=False)
    rid = store.create_run(strategy=cfg.strategy, space=cfg.space, dataset=cfg.dataset, budget=cfg.budget,
                           seed=cfg.seed, config=cfg.to_dict())
    if execute:
        execute_run(store.path, rid)
    return rid


@pytest.fixture()
def store(tmp_path, monkeypatch):
    db = tmp_path / "search.sqlite"
    monkeypatch.setenv("NASVIZ_DB", str(db))
    with Store(db) as s:
        yield s


def test_curves_default_to_one_space_and_a_mixed_pick_is_split_with_a_warning(store):
    a = _make(store, "random", "nb201", 12, 1)
    b = _make(store, "random", "nb101", 10, 2)
    c = _make(store, "random", "nb201", 14, 3)
    d = _make(store, "random", "nb101", 8, 4)
    at = _run()
    # newest first: d (nb101), c (nb201), b (nb101), a: the first three ids would mix the spaces
    assert at.multiselect(key="runs_compare").value == [d, b]
    assert not at.warning
    figs = _figures(at)
    assert len(figs) == 1 and [t["name"] for t in figs[0]["data"]] == [f"#{d} random (seed 4)", f"#{b} random (seed 2)"]
    assert at.query_params["compare"] == f"{d},{b}"

    at.multiselect(key="runs_compare").set_value([c, d, a])
    _run(at)
    warning = at.warning[0].value
    assert "different spaces" in warning and f"nb201: #{c}, #{a}" in warning and f"nb101: #{d}" in warning
    figs = _figures(at)
    assert len(figs) == 2  # one chart per space
    assert [t["name"] for t in figs[0]["data"]] == [f"#{c} random (seed 3)", f"#{a} random (seed 1)"]
    assert [t["name"] for t in figs[1]["data"]] == [f"#{d} random (seed 4)"]
    assert "NAS-Bench-201" in figs[0]["layout"]["title"]["text"] and "NAS-Bench-101" in figs[1]["layout"]["title"]["text"]
    best_c = max(t.value for t in store.trials(c))
    assert _arr(figs[0]["data"][0]["y"]).max() == pytest.approx(best_c)

    at.multiselect(key="runs_space").set_value(["nb101"])  # a filter keeps the default within what is shown
    _run(at)
    assert at.multiselect(key="runs_compare").value == [d]


def _path_traces(at: AppTest) -> dict:
    fig = [f for f in _figures(at) if any(t.get("name") == "trials" for t in f["data"])]
    assert len(fig) == 1, [[t.get("name") for t in f["data"]] for f in _figures(at)]
    return {t["name"]: t for t in fig[0]["data"]}


def _arr(v) -> np.ndarray:
    import base64

    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v, dtype=float)


def test_path_section_opens_from_a_link_on_the_runs_own_embedding(store):
    rid = _make(store, "dense", "nb201", 10, 0)  # DNAS dense sampling searches in nb201-bvae-beta1
    other = _make(store, "random", "nb201", 6, 1)
    trials = store.trials(rid)
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"run": str(rid), "view": "path"})
    _run(at)
    assert at.toggle(key="runs_path").value is True
    assert at.selectbox(key=f"runs_path_src_{rid}").value == "nb201-bvae-beta1"  # not the map's arch2vec default
    tr = _path_traces(at)
    xy = load_source("nb201", "nb201-bvae-beta1")["pca"]
    want = np.array([xy[t.cell_index] for t in trials])
    np.testing.assert_allclose(np.column_stack([_arr(tr["trials"]["x"]), _arr(tr["trials"]["y"])]), want, rtol=1e-6)
    assert _arr(tr["trials"]["marker"]["color"]).tolist() == list(range(10))
    best = max(trials, key=lambda t: (t.value, -t.number))
    assert _arr(tr["best"]["customdata"]).tolist() == [best.number]
    assert len(_arr(tr["all 15,625 cells"]["x"])) == 15_625
    assert any(c.value.startswith("10 of 10 trials on the map") for c in at.caption)

    # another embedding and projection: the same trials, placed there
    at.selectbox(key=f"runs_path_src_{rid}").set_value("nb201-arch2vec")
    _run(at)
    at.selectbox(key=f"runs_path_proj_{rid}_nb201-arch2vec").set_value("tsne")
    _run(at)
    xy2 = load_source("nb201", "nb201-arch2vec")["tsne"]
    got = np.column_stack([_arr(_path_traces(at)["trials"]["x"]), _arr(_path_traces(at)["trials"]["y"])])
    np.testing.assert_allclose(got, [xy2[t.cell_index] for t in trials], rtol=1e-6)

    # a run that names no embedding opens on the space's preferred one (the latent map's default)
    at.selectbox(key="runs_one").set_value(other)
    _run(at)
    assert at.selectbox(key=f"runs_path_src_{other}").value == "nb201-arch2vec"
    assert at.query_params["run"] == str(other) and at.query_params["view"] == "path"
    at.toggle(key="runs_path").set_value(False)
    _run(at)
    assert "view" not in at.query_params and not any(
        any(t.get("name") == "trials" for t in f["data"]) for f in _figures(at))


def test_live_only_while_a_run_goes_and_the_state_reads_right_after_a_resume(store, tmp_path, monkeypatch):
    gate = TrialGate(monkeypatch, tmp_path / "gate", 6)
    cfg = validate_config("random", budget=20, seed=5)
    rid, job = J.submit(store, cfg)
    wait_stored(store, rid, 6)
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"run": str(rid), "view": "path"})
    _run(at)
    assert any("Refreshing every" in c.value for c in at.caption)
    assert any(m.value.endswith("6/20 queries, **running**") for m in at.markdown)
    assert len(_arr(_path_traces(at)["trials"]["x"])) == 6
    gate.allow(11)
    wait_stored(store, rid, 11)
    _run(at)
    assert len(_arr(_path_traces(at)["trials"]["x"])) == 11

    at.button(key="runs_cancel").click()
    _run(at)
    assert any("asked to stop" in s.value for s in at.success)
    assert job.wait(120) == 0 and store.get_run(rid).state == RunState.CANCELLED
    _run(at)
    assert not any("Refreshing every" in c.value for c in at.caption)  # nothing goes: no polling
    assert any(m.value.endswith("11/20 queries, **cancelled**") for m in at.markdown)

    gate.open()
    at.button(key="runs_resume").click()
    _run(at)
    assert any("resumed" in s.value for s in at.success)
    status = [m.value for m in at.markdown if m.value.startswith(f"**Run #{rid}**")][0]
    assert "**queued**" in status or "**running**" in status, status  # not the cancelled state from before
    assert any("Refreshing every" in c.value for c in at.caption)
    _run(at)  # shown once, by the run that follows the click (the whole-page rerun that starts polling), then gone
    assert not any("resumed" in s.value for s in at.success)
    t_end = time.monotonic() + 300
    while not store.get_run(rid).state.finished:
        assert time.monotonic() < t_end
        time.sleep(0.2)
    _run(at)
    assert any(m.value.endswith("20/20 queries, **complete**") for m in at.markdown)
    assert len(_arr(_path_traces(at)["trials"]["x"])) == 20


def test_dense_sampling_links_each_launched_run_to_its_path(store):
    """Next to each run it launched, the Dense sampling page links to that run's path on the Search runs page
    (a page link under st.navigation; run on its own, as here, a plain link to the same URL)."""
    dense = str(REPO / "pages" / "dense_sampling.py")
    at = run_page(dense)
    at.number_input(key="dense_budget").set_value(3)
    at.multiselect(key="dense_compare").set_value(["random"])
    run_page(dense, at)
    at.button(key="dense_launch").click()
    run_page(dense, at)
    ids = sorted(r.id for r in store.list_runs())
    assert len(ids) == 2
    links = [m.value for m in at.markdown if m.value.startswith("[Path of #")]
    assert links == [f"[Path of #{i} on the map](runs?run={i}&view=path)" for i in ids]
    t_end = time.monotonic() + 300
    while not all(r.state.finished for r in store.list_runs()):
        assert time.monotonic() < t_end
        time.sleep(0.3)
    # the link's target: the Search runs page opens on that run's path
    at2 = AppTest.from_file(PAGE, default_timeout=300)
    at2.query_params.update({"run": str(ids[0]), "view": "path"})
    _run(at2)
    assert at2.toggle(key="runs_path").value is True
    assert len(_arr(_path_traces(at2)["trials"]["x"])) == 3


def test_nb101_path_on_a_subset_embedding_places_trials_by_enumeration_index(store):
    """NB101 trials store rows of the benchmark's 30,001-cell sample; the map's arrays are indexed by all
    423,624 enumerated cells, with NaN outside a subset embedding (the controller states of the sample)."""
    from nasviz.spaces import get_space

    rid = _make(store, "random", "nb101", 15, 0)
    trials = store.trials(rid)
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"run": str(rid), "view": "path"})
    _run(at)
    assert at.selectbox(key=f"runs_path_src_{rid}").value == "nb101-arch2vec"
    assert "all 423,624 cells (density)" in _path_traces(at)  # a density image, not 423,624 points
    at.selectbox(key=f"runs_path_src_{rid}").set_value("nb101-controller-random")
    _run(at)
    tr = _path_traces(at)
    sp = get_space("nb101")
    xy = load_source("nb101", "nb101-controller-random")["pca"]
    want = np.array([xy[sp.index(sp.parse(t.cell))] for t in trials])
    assert np.isfinite(want).all()  # every trial is one of the sample cells the controller states cover
    np.testing.assert_allclose(np.column_stack([_arr(tr["trials"]["x"]), _arr(tr["trials"]["y"])]), want, rtol=1e-6)
    assert "all 30,001 cells (density)" in tr
    assert any(c.value.startswith("15 of 15 trials on the map") for c in at.caption)
