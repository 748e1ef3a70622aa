"""The Ray backend: a local Ray instance started by the test runs the same seeded run as a local worker.

Runs in CI (ray is pinned in requirements.txt); skipped, with the reason, only where ray is not installed.
"""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray", reason="the ray backend needs the 'ray' package (pip install ray==2.60.0)")

from nasviz.errors import NasvizError  # noqa: E402
from nasviz.search import jobs as J  # noqa: E402
from nasviz.search.runs import validate_config  # noqa: E402
from nasviz.search.store import RunState, Store  # noqa: E402


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    J.init_ray(num_cpus=2)
    yield ray
    ray.shutdown()


def test_same_seeded_runs_on_ray_and_local_workers(tmp_path, local_ray):
    """Evolution (numpy state) and REINFORCE (torch controller): one Ray task and one local worker each."""
    db = tmp_path / "runs.sqlite"
    store = Store(db)
    pairs, jobs, refs = [], [], []
    for strategy in ("evolution", "reinforce"):
        rid_local, job = J.submit(store, validate_config(strategy, "nb201", "cifar10", budget=40, seed=11))
        rid_ray, ref = J.submit(store, validate_config(strategy, "nb201", "cifar10", budget=40, seed=11,
                                                       backend="ray"))
        pairs.append((rid_local, rid_ray))
        jobs.append(job)
        refs.append(ref)
    summaries = ray.get(refs, timeout=300)
    assert [s["state"] for s in summaries] == ["complete", "complete"], [s.get("traceback") for s in summaries]
    runs = J.wait(store, [r for p in pairs for r in p], jobs, timeout=300)
    assert all(r.state == RunState.COMPLETE for r in runs)
    for rid_local, rid_ray in pairs:
        assert store.get_run(rid_ray).worker.startswith("ray:")
        assert store.get_run(rid_local).worker.startswith("local:")
        a = [(t.cell_index, t.value) for t in store.trials(rid_local)]
        b = [(t.cell_index, t.value) for t in store.trials(rid_ray)]
        assert len(a) == 40 and a == b


def test_cuda_run_on_a_ray_cluster_without_gpus_is_refused_before_storing(tmp_path, local_ray):
    """device cuda asks Ray for one GPU per task; a cluster with none is refused, nothing stored."""
    store = Store(tmp_path / "runs.sqlite")
    assert ray.cluster_resources().get("GPU", 0) == 0  # the local instance of this test has no GPU
    cfg = validate_config("reinforce", "nb201", "cifar10", budget=10, seed=0, device="cuda", backend="ray")
    assert cfg.device == "cuda"  # the submitting machine needs no GPU for a ray run
    with pytest.raises(NasvizError, match="the Ray cluster at local has no GPU"):
        J.submit(store, cfg)
    assert store.list_runs() == []
