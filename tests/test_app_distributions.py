"""The distributions page launching and watching real background runs (AppTest, own tmp run database)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from _helpers import figures, html_tables, run_page
from nasviz.search.store import RunState, Store

REPO = Path(__file__).resolve().parents[1]
PAGE = str(REPO / "pages" / "distributions.py")


def _run(at: AppTest | None = None) -> AppTest:
    return run_page(PAGE, at)


def _arr(v) -> np.ndarray:
    """A Plotly JSON array: a list, or a typed array {"dtype", "bdata" (base64)}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v, dtype=float)


def _errors(at: AppTest) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


@pytest.fixture()
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("NASVIZ_DB", str(path))
    monkeypatch.setenv("NASVIZ_HOME", str(tmp_path / "home"))
    return path


def _runs(db: Path):
    with Store(db, create=False) as s:  # a fresh connection per poll, as the page opens one
        return s.list_runs()


def _wait(db: Path, until, timeout=180):
    t_end = time.monotonic() + timeout
    while True:
        runs = _runs(db)
        if until(runs[0]):
            return runs[0]
        assert time.monotonic() < t_end, runs[0]
        time.sleep(0.3)


def test_launch_a_background_run_and_see_it_among_the_stored_runs_when_complete(db):
    at = _run()
    before = len(at.multiselect(key="dist_runs").value)
    at.selectbox(key="dist_new_method").set_value("gumbel")
    at.number_input(key="dist_new_seed").set_value(3)
    at.number_input(key="dist_new_max_steps").set_value(3)
    at.button(key="dist_launch").click()
    _run(at)
    assert not _errors(at), _errors(at)
    run = _runs(db)[0]
    assert run.strategy == "distribution-gumbel" and run.seed == 3 and run.budget == 3
    assert at.session_state["dist_job"]["id"] == run.id
    run = _wait(db, lambda r: r.state.finished)
    assert run.state == RunState.COMPLETE, run.traceback
    _run(at)  # the next poll sees it finished: the page lists and plots it
    name = f"gumbel@run{run.id}-seed3"
    chosen = at.multiselect(key="dist_runs").value
    assert name in chosen and len(chosen) == before + 1
    summary = next(t for t in html_tables(at) if "final cell" in t.columns).set_index("run")
    assert summary.at[name, "final cell"] == run.stats["final_cell"]
    assert summary.at[name, "regret"] == pytest.approx(round(run.stats["final_regret"]["cifar10"], 2))
    weights = figures(at)[0]
    assert len(weights["data"]) == len(chosen) * 6 * 5
    assert any("step 3/3 [complete]" in p.proto.text for p in at.get("progress"))


def test_watch_a_running_run_live_and_cancel_it(db):
    at = _run()
    at.selectbox(key="dist_new_method").set_value("vimnas")
    at.number_input(key="dist_new_epochs").set_value(100)  # 1,400 steps: still running when cancelled
    at.button(key="dist_launch").click()
    _run(at)
    assert not _errors(at), _errors(at)
    run = _wait(db, lambda r: r.progress >= 2 or r.state.finished)
    assert run.state == RunState.RUNNING
    _run(at)
    text = [p.proto.text for p in at.get("progress")][0]
    assert text.startswith(f"Run #{run.id} distribution-vimnas seed 0: step ") and "/1400 [running]" in text
    live = figures(at)[0]  # the anytime weights so far
    x, y = _arr(live["data"][0]["x"]), _arr(live["data"][0]["y"])
    assert len(live["data"]) == 6 * 5 and len(x) >= 3 and list(x) == list(range(len(x)))  # initial + steps
    with Store(db, create=False) as s:
        run = s.get_run(run.id)
        steps = s.trials(run.id)
    assert y[0] == pytest.approx(run.stats["initial_probs"][0][0])  # edge 0, op 0 before any step
    assert list(y[1:]) == pytest.approx([t.extra["probs"][0][0] for t in steps[:len(x) - 1]])
    at.button(key="dist_cancel").click()
    _run(at)
    assert any("Cancel requested" in i.value for i in at.info)
    run = _wait(db, lambda r: r.state.finished)
    assert run.state == RunState.CANCELLED and 2 <= run.progress < 1400
    _run(at)
    assert "/1400 [cancelled]" in [p.proto.text for p in at.get("progress")][0]
    assert all(b.key != "dist_cancel" for b in at.button)  # nothing left to cancel


@pytest.mark.parametrize("widget, value, message", [
    ("dist_new_dataset", "/nonexistent/cifar-10-batches-py", "the app reads data only from data/"),
    ("dist_new_lambda", -1.0, "lambda must be >= 0"),
])
def test_bad_input_is_shown_and_nothing_is_written(db, widget, value, message):
    at = _run()
    at.selectbox(key="dist_new_method").set_value("unas")
    _run(at)
    if widget == "dist_new_dataset":
        at.text_input(key=widget).set_value(value)
    else:
        at.number_input(key=widget).set_value(value)
    at.button(key="dist_launch").click()
    _run(at)
    assert any(message in e for e in _errors(at)), _errors(at)
    assert not db.exists() and "dist_job" not in at.session_state


def _launch_with_data(value: str) -> AppTest:
    at = _run()
    at.text_input(key="dist_new_dataset").set_value(value)
    at.number_input(key="dist_new_max_steps").set_value(1)
    at.button(key="dist_launch").click()
    return _run(at)


@pytest.mark.parametrize("value", ["/etc", "/etc/../etc", "../../../../../../etc", "~", "/", "/proc/self",
                                   str(REPO / "nasviz"), "nb201/../../nasviz", "/nonexistent", "a\x00b"])
def test_the_data_box_reads_only_the_project_data_folders(db, value):
    """A browser user cannot make the server read, or list, a folder outside data/: one message for all."""
    at = _launch_with_data(value)
    errors = _errors(at)
    assert len(errors) == 1 and errors[0].startswith("the app reads data only from data/"), errors
    assert "\n" not in errors[0]
    for leak in ("passwd", "hostname", "cli.py", "spaces", "self", str(REPO)):
        assert leak not in errors[0].split("is not a folder there")[1], errors[0]
    assert not db.exists() and "dist_job" not in at.session_state


def test_a_data_folder_without_batches_is_refused_without_listing_it(db):
    at = _launch_with_data("nb201")  # exists inside data/, holds no CIFAR batches
    errors = _errors(at)
    assert len(errors) == 1 and "no data_batch_* files in data/nb201" in errors[0], errors
    assert "nb201.npz" not in errors[0] and "SOURCE.md" not in errors[0] and str(REPO) not in errors[0]
    assert not db.exists()


def test_a_cifar_folder_inside_the_user_data_folder_is_read(db, tmp_path):
    import pickle

    folder = tmp_path / "home" / "data" / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in (1, 2):
        batch = {b"data": rng.integers(0, 256, (80, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 80))}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch))
    at = _launch_with_data("cifar10/cifar-10-batches-py")
    assert not _errors(at), _errors(at)
    run = _wait(db, lambda r: r.state.finished)
    assert run.state == RunState.COMPLETE and run.dataset == "cifar10", run.traceback
    assert at.session_state["dist_job"]["id"] == run.id


def test_a_failed_run_shows_one_line_and_logs_its_traceback(db, caplog):
    with Store(db, create=True) as s:  # a run whose worker crashed, as the worker records it
        rid = s.create_run(strategy="distribution-vimnas", space="nb201", dataset="digits", budget=3, seed=0,
                           config={"kind": "distribution"})
        s.finish_run(rid, RunState.FAILED, error="ValueError: boom\nsecond line",
                     traceback='Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom')
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["dist_job"] = {"db": str(db), "id": rid, "shown": False}
    with caplog.at_level("ERROR", logger="nasviz.app"):
        at.run()
    errors = _errors(at)
    assert f"Run #{rid} failed: ValueError: boom" in errors, errors
    assert not any("second line" in e or "Traceback" in e for e in errors), errors
    assert not at.code and not at.exception
    assert "Traceback (most recent call last)" in caplog.text and f"run #{rid} failed" in caplog.text


def test_the_search_runs_page_lists_a_distribution_run_with_its_steps(db):
    from nasviz.distributions.learners import LearnerConfig
    from nasviz.distributions.run import SearchConfig, run_search

    r = run_search(SearchConfig(method="gumbel", seed=1, batch_size=16, channels=4, max_steps=2, mi_samples=0,
                                device="cpu", learner=LearnerConfig(surrogate_samples=500)))
    rid = r.save_to_store(db)
    at = AppTest.from_file(str(REPO / "pages" / "runs.py"), default_timeout=300)
    _run(at)
    table = at.dataframe[0].value.set_index("id")
    assert table.at[rid, "strategy"] == "distribution-gumbel" and table.at[rid, "state"] == "complete"
    assert table.at[rid, "progress"] == 2 and table.at[rid, "dataset"] == "digits"
    trials = at.dataframe[1].value  # the chosen run's (the only one's) steps
    assert len(trials) == 2 and list(trials["index"]) == r.derived_index[1:].tolist()
    assert list(trials["value"]) == pytest.approx(r.test_acc["cifar10"][1:].tolist())
