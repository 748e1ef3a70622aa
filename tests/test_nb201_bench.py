"""NB201 benchmark table: real values, typed metrics, budget counting, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.bench import BudgetExhausted, Metric, QueryCounter, get_benchmark
from nasviz.bench.nb201 import COLUMNS, NB201Benchmark, embedded_table_path
from nasviz.errors import DataFileError, NasvizError

BENCH = get_benchmark("nb201")


@pytest.mark.parametrize(
    "index, metric, dataset, epochs, expected",
    [
        (6111, "test_acc", "cifar10", 200, 94.3733),  # NB201's best cifar10 cell (train+valid)
        (9930, "test_acc", "cifar100", 200, 73.5133),
        (9930, "valid_acc", "cifar100", 200, 73.4933),
        (857, "test_acc", "ImageNet16-120", 200, 47.3111),
        (10676, "valid_acc", "ImageNet16-120", 200, 46.7333),
        (6111, "valid_acc", "cifar10-valid", 200, 91.6067),
        (1459, "test_acc", "cifar10-valid", 200, 91.5233),
        (0, "params", "cifar10", None, 0.129306),
        (0, "flops", "cifar10", None, 15.64737),
    ],
)
def test_published_values(index, metric, dataset, epochs, expected):
    assert BENCH.query(index, metric, dataset, epochs) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    "metric, dataset, epochs, best_index",
    [("test_acc", "cifar10", 200, 6111), ("test_acc", "cifar100", 200, 9930), ("test_acc", "ImageNet16-120", 200, 857),
     ("valid_acc", "cifar10-valid", 200, 6111)],
)
def test_optima_are_the_published_ones(metric, dataset, epochs, best_index):
    assert BENCH.best(metric, dataset, epochs)[0] == best_index


def test_columns_are_complete_and_plausible():
    for spec in COLUMNS:
        col = BENCH.column(spec.metric, spec.dataset, spec.epochs)
        assert col.shape == (15625,)
        assert np.isfinite(col).all(), spec
        if spec.metric.is_accuracy:
            assert 0 <= col.min() and col.max() <= 100
    c10 = BENCH.column("test", "cifar10")
    assert c10.mean() == pytest.approx(87.06, abs=0.01)  # SOURCE.md: mean over all archs
    # 12-epoch results are worse than 200-epoch ones almost everywhere
    assert (BENCH.column("test", "cifar10", 12) < c10).mean() > 0.95
    # columns are read-only: nobody can corrupt the shared table in place
    with pytest.raises(ValueError):
        c10[0] = 1.0


def test_params_formula():
    n3 = np.array([ops.count(3) for ops in map(tuple, BENCH.space.index_ops)])
    n1 = np.array([ops.count(2) for ops in map(tuple, BENCH.space.index_ops)])
    assert np.allclose(BENCH.column("params", "cifar10"), 0.073306 + 0.24304 * n3 + 0.028 * n1, atol=1e-9)


def test_typed_metrics_and_aliases():
    assert Metric.parse("test") is Metric.TEST_ACC
    assert BENCH.query(6111, Metric.TEST_ACC, "C10", 200) == BENCH.query(6111, "test_acc", "cifar10")
    with pytest.raises(NasvizError, match="unknown metric 'accuracy'"):
        BENCH.query(1, "accuracy", "cifar10")
    with pytest.raises(NasvizError, match="unknown NB201 dataset 'mnist'"):
        BENCH.column("test", "mnist")
    with pytest.raises(NasvizError, match="no valid_acc for cifar10 after 200"):
        BENCH.column("valid", "cifar10", 200)  # cifar10 (train+valid) has no validation split
    with pytest.raises(NasvizError, match="12 or 200 epochs"):
        BENCH.column("test", "cifar10", 50)


def test_record_has_every_metric():
    rec = BENCH.record(6111)
    assert rec["index"] == 6111 and rec["arch"].startswith("|nor_conv_3x3~0|")
    assert rec["metrics"]["cifar10"]["200ep"]["test_acc"] == pytest.approx(94.3733, abs=1e-4)
    assert rec["metrics"]["cifar100"]["12ep"]["test_acc"] > 0
    assert set(rec["metrics"]["ImageNet16-120"]["cost"]) == {"params", "flops"}


def test_budget_counts_distinct_benchmark_lookups_only():
    b = BENCH.with_budget(3)
    assert b.counter.used == 0 and BENCH.counter is not b.counter
    b.query(1, "valid", "cifar10-valid", 12)
    b.query(1, "valid", "cifar10-valid", 200)  # the same cell again is free
    b.column("test", "cifar10")  # whole-column access for plots is not a look-up
    b.record(5)
    assert b.counter.used == 1 and b.counter.lookups == 2
    b.query(2, "valid", "cifar10-valid", 12)
    b.query(3, "valid", "cifar10-valid", 12)
    assert b.counter.remaining == 0
    with pytest.raises(BudgetExhausted):
        b.query(4, "valid", "cifar10-valid", 12)
    assert b.query(3, "test", "cifar10") > 0  # already paid for
    with pytest.raises(NasvizError, match="positive"):
        QueryCounter(0)


def test_missing_and_corrupt_tables(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        NB201Benchmark(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not an npz file")
    with pytest.raises(DataFileError, match="corrupt"):
        NB201Benchmark(bad)
    truncated = tmp_path / "trunc.npz"
    truncated.write_bytes(embedded_table_path().read_bytes()[:5000])
    with pytest.raises(DataFileError):
        NB201Benchmark(truncated)
    partial = tmp_path / "partial.npz"
    np.savez(partial, ops=BENCH.space.index_ops, c10v_train=np.zeros(15625))
    with pytest.raises(DataFileError, match="lacks columns"):
        NB201Benchmark(partial)
