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
