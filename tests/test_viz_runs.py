"""Run-history frames and curves (nasviz.viz.runs) on a real run store."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.errors import NasvizError
from nasviz.search.jobs import execute_run
from nasviz.search.runs import validate_config
from nasviz.search.store import Store, Trial, TrialState
from nasviz.viz import runs as R


def test_frames_and_best_cells_of_a_real_search(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    cfg = validate_config("random", budget=30, seed=4)
    rid = store.create_run(strategy=cfg.strategy, space=cfg.space, dataset=cfg.dataset, budget=cfg.budget,
                           seed=cfg.seed, config=cfg.to_dict())
    execute_run(store.path, rid)
    runs = store.list_runs()
    f = R.runs_frame(runs)
    assert f.loc[0, "id"] == rid and f.loc[0, "state"] == "complete" and f.loc[0, "progress"] == 30
    trials = store.trials(rid)
    tf = R.trials_frame(trials)
    values = np.array([t.value for t in trials])
    assert np.array_equal(tf["best so far"].to_numpy(), np.maximum.accumulate(values))
    assert f.loc[0, "best value"] == pytest.approx(values.max())
    best = R.best_trials(trials, 3)
    assert best[0].value == values.max() and len({t.cell for t in best}) == len(best) == 3
    assert [t.value for t in best] == sorted([t.value for t in best], reverse=True)
    fig = R.fig_curves({"r": tf})
    assert list(fig.data[0].x) == list(range(1, 31)) and fig.data[0].name == "r"
    np.testing.assert_array_equal(fig.data[0].y, np.maximum.accumulate(values))  # the best so far, query by query
    with pytest.raises(NasvizError, match="at least one run"):
        R.fig_curves({})


def test_trials_frame_skips_failed_trials_in_the_running_best():
    t = [Trial(0, "a", 1, 50.0, TrialState.COMPLETE, 0.0, 1.0, 1.0),
         Trial(1, "b", 2, None, TrialState.FAIL, 1.0, 2.0, 1.0),
         Trial(2, "c", 3, 60.0, TrialState.COMPLETE, 2.0, 3.0, 1.0),
         Trial(3, "c", 3, 60.0, TrialState.COMPLETE, 3.0, 4.0, 1.0)]
    tf = R.trials_frame(t)
    assert tf["best so far"].tolist() == [50.0, 50.0, 60.0, 60.0]
    assert [x.cell for x in R.best_trials(t, 3)] == ["c", "a"]  # distinct cells, failed trial left out


# -- the search path on the map (issue #16 item 10) ---------------------------------------------
def _real_run(tmp_path, strategy="random", space="nb201", budget=30, seed=4):
    store = Store(tmp_path / "s.sqlite")
    cfg = validate_config(strategy, space=space, budget=budget, seed=seed)
    rid = store.create_run(strategy=cfg.strategy, space=cfg.space, dataset=cfg.dataset, budget=cfg.budget,
                           seed=cfg.seed, config=cfg.to_dict())
    execute_run(store.path, rid)
    return store, rid


def _expected_improvements(trials):
    """The trial numbers that raised the best value so far, written out plainly."""
    out, best = [], None
    for t in trials:
        if t.value is not None and (best is None or t.value > best):
            out.append(t.number)
            best = t.value
    return out


def test_path_figure_draws_a_real_search_in_query_order(tmp_path):
    from nasviz.viz.maps import load_source

    store, rid = _real_run(tmp_path, "evolution", budget=40, seed=2)
    trials = store.trials(rid)
    xy = load_source("nb201", "nb201-arch2vec")["pca"]
    cells = R.map_indices("nb201", trials)
    assert cells.tolist() == [t.cell_index for t in trials]
    fig = R.path_figure(xy, cells, [t.value for t in trials], numbers=[t.number for t in trials])
    names = [tr.name for tr in fig.data]
    assert names == ["all 15,625 cells", "path (query order)", "trials", "best so far", "best"]
    bg, line, pts, imp, best = fig.data
    assert len(bg.x) == 15_625 and bg.marker.color == R.BACKGROUND  # every cell, light grey
    want = np.array([xy[t.cell_index] for t in trials], dtype=np.float64)  # trial n at its cell, in query order
    np.testing.assert_allclose(np.column_stack([pts.x, pts.y]), want)
    np.testing.assert_allclose(np.column_stack([line.x, line.y]), want)  # consecutive queries joined
    assert list(pts.marker.color) == list(range(40))  # coloured by trial number
    assert (pts.marker.cmin, pts.marker.cmax) == (0, 39)
    assert R.path_figure(xy, cells[:10], [t.value for t in trials[:10]], budget=40).data[2].marker.cmax == 39
    assert [int(c[0]) for c in pts.customdata] == list(range(40))
    assert [int(c[1]) for c in pts.customdata] == [t.cell_index for t in trials]
    marks = _expected_improvements(trials)
    assert len(marks) >= 2 and list(imp.customdata) == marks and imp.marker.symbol == "star"
    np.testing.assert_allclose(np.column_stack([imp.x, imp.y]), [xy[trials[n].cell_index] for n in marks])
    top = max(trials, key=lambda t: (t.value, -t.number))  # the first trial with the highest value
    assert list(best.customdata) == [top.number] == [marks[-1]]
    assert (best.x[0], best.y[0]) == pytest.approx(tuple(xy[top.cell_index]))


def test_search_path_leaves_out_cells_a_subset_projection_does_not_cover():
    """The map's rule for a subset embedding (NaN coordinates: not drawn) applies to the path; the best-so-far
    marks still follow the whole run, so a best trial outside the projection is not drawn as the best."""
    xy = np.arange(20, dtype=np.float64).reshape(10, 2)
    xy[[3, 7]] = np.nan  # cells 3 and 7 are outside the projection's fitted subset
    cells = [0, 3, 5, 7, 9, -1]
    values = [10.0, 30.0, 20.0, 40.0, 35.0, 50.0]
    p = R.search_path(xy, cells, values, numbers=[0, 1, 2, 3, 4, 5])
    assert p.numbers.tolist() == [0, 2, 4] and p.cells.tolist() == [0, 5, 9] and p.n_outside == 3
    assert p.improved.tolist() == [True, False, False]  # 30, 40 and 50 raised the best but are not placed
    assert p.best is None  # the overall best (trial 5) has no cell on this map
    fig = R.path_figure(xy, cells, values)
    assert list(fig.data[2].marker.color) == [0, 2, 4] and len(fig.data[4].x) == 0
    assert len(fig.data[0].x) == 8  # the background: the covered cells only
    assert R.best_so_far_marks([np.nan, 1.0, 1.0, 0.5, 2.0]).tolist() == [False, True, False, False, True]
    with pytest.raises(NasvizError, match="one cell, value and number"):
        R.search_path(xy, [0, 1], [1.0])


def test_nb101_trials_are_placed_by_their_enumeration_index(tmp_path):
    """NB101 trials store a row of the benchmark's sample; the map indexes all 423,624 enumerated cells."""
    from nasviz.spaces import get_space

    store, rid = _real_run(tmp_path, "random", space="nb101", budget=12, seed=0)
    trials = store.trials(rid)
    sp = get_space("nb101")
    assert R.map_indices("nb101", trials).tolist() == [sp.index(sp.parse(t.cell)) for t in trials]
    fig = R.path_figure(np.zeros((423_624, 2)) + np.arange(423_624)[:, None], R.map_indices("nb101", trials),
                        [t.value for t in trials])
    assert fig.data[0].type == "heatmap"  # above MAX_BACKGROUND_POINTS: a density image, not 423,624 points
    assert list(fig.data[2].x) == [sp.index(sp.parse(t.cell)) for t in trials]


def test_run_source_and_default_compare_follow_the_run(tmp_path):
    from nasviz.viz.maps import DISCRETE

    names = [DISCRETE, "nb201-arch2vec", "nb201-bvae-beta1"]
    assert R.run_source({"params": {"embedding": "bvae-beta1"}}, "nb201", names) == "nb201-bvae-beta1"
    assert R.run_source({"params": {"embedding": "nb201-arch2vec:pca"}}, "nb201", names) == "nb201-arch2vec"
    assert R.run_source({"params": {"embedding": "onehot"}}, "nb201", names) == DISCRETE
    assert R.run_source({"params": {"embedding": None}, "region": {"embedding": "arch2vec", "projection": "tsne"}},
                        "nb201", names) == "nb201-arch2vec"
    assert R.run_source({"params": {}}, "nb201", names) is None
    assert R.run_source({"params": {"embedding": "nope"}}, "nb201", names) is None
    assert R.run_projection({"region": {"projection": "tsne"}}, ["pca", "umap", "tsne"]) == "tsne"
    assert R.run_projection({}, ["pca", "umap"]) == "pca"

    store = Store(tmp_path / "s.sqlite")  # queued runs of two spaces, newest first in list_runs
    for space in ("nb101", "nb101", "nb101", "nb201", "nb101"):
        store.create_run(strategy="random", space=space, dataset="cifar10", budget=5, seed=0, config={})
    runs = store.list_runs()
    assert [r.space for r in runs] == ["nb101", "nb201", "nb101", "nb101", "nb101"]
    assert R.default_compare(runs) == [5, 3, 2]  # the newest run's space only
    assert [r.id for r in R.split_by_space(runs)["nb201"]] == [4] and list(R.split_by_space(runs)) == ["nb101",
                                                                                                      "nb201"]
    assert R.default_compare([]) == []
