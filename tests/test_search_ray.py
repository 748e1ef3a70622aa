"""The Ray backend: a local Ray instance started by the test runs the same seeded run as a local worker.

Runs in CI (ray is pinned in requirements.txt); skipped, with the reason, only where ray is not installed.
"""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray", reason="the ray backend needs the 'ray' package (pip install ray==2.60.0)")

from nasviz.search import jobs as J  # noqa: E402
from nasviz.search.runs import validate_config  # noqa: E402
from nasviz.search.store import RunState, Store  # noqa: E402


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    J.init_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.mark.parametrize("strategy", ["evolution", "reinforce"])
def test_same_seeded_run_on_ray_and_local_workers(tmp_path, local_ray, strategy):
    db = tmp_path / "runs.sqlite"
    store = Store(db)
    local_cfg = validate_config(strategy, "nb201", "cifar10", budget=40, seed=11)
    ray_cfg = validate_config(strategy, "nb201", "cifar10", budget=40, seed=11, backend="ray")
    rid_local, job = J.submit(store, local_cfg)
    rid_ray, ref = J.submit(store, ray_cfg)
    summary = ray.get(ref, timeout=180)
    assert summary["state"] == "complete", summary.get("traceback")
    runs = J.wait(store, [rid_local, rid_ray], [job], timeout=180)
    assert [r.state for r in runs] == [RunState.COMPLETE, RunState.COMPLETE]
    assert runs[1].worker.startswith("ray:") and runs[0].worker.startswith("local:")
    a = [(t.cell_index, t.value) for t in store.trials(rid_local)]
    b = [(t.cell_index, t.value) for t in store.trials(rid_ray)]
    assert len(a) == 40 and a == b
