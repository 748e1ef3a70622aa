"""NB101 benchmark: the embedded real sample joined with the enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.bench import BENCHMARKS, BudgetExhausted, Metric, get_benchmark
from nasviz.bench.nb101 import NB101Benchmark, embedded_table_path, write_table
from nasviz.errors import DataFileError, NasvizError
from nasviz.paths import REPO_ROOT
from nasviz.spaces.nb101 import NB101Cell

REAL_HASH = "00005c142e6f48ac74fdcf73e3439874"


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    import os

    # never pick up a table a developer imported into their own user folder
    old = os.environ.get("NASVIZ_HOME")
    os.environ["NASVIZ_HOME"] = str(tmp_path_factory.mktemp("home"))
    try:
        yield NB101Benchmark()
    finally:
        if old is None:
            os.environ.pop("NASVIZ_HOME", None)
        else:
            os.environ["NASVIZ_HOME"] = old


def test_registered_and_summary(bench):
    assert "nb101" in BENCHMARKS
    assert bench.path == embedded_table_path()
    assert bench.summary()["cells"] == 423_624
    assert bench.summary()["cells_with_results"] == 30_001
    assert len(bench) == 30_001
    assert (np.diff(bench.indices) > 0).all()  # documented row order: enumeration index ascending


def test_columns_in_documented_order(bench):
    got = [(c.metric.value, c.epochs, c.column) for c in bench.columns()]
    assert got == [("valid_acc", 4, "valid_e4"), ("valid_acc", 12, "valid_e12"), ("valid_acc", 36, "valid_e36"),
                   ("valid_acc", 108, "valid_e108"), ("train_time", 108, "time_e108"), ("params", None, "params_m"),
                   ("flops", None, "flops_m")]
    assert all(c.dataset == "cifar10" for c in bench.columns())


def test_real_values(bench):
    # first sample row (see data/nb101/SOURCE.md): single-run 0.93048877 at 108 epochs, 8,555,530 params
    assert bench.query(REAL_HASH) == pytest.approx(93.048877, abs=1e-5)
    assert bench.query(REAL_HASH, Metric.PARAMS) == pytest.approx(8.55553)
    assert int(bench.raw_column("params")[bench.row(REAL_HASH)]) == 8_555_530
    col = bench.column("valid_acc", "cifar10", 108)
    assert col.mean() == pytest.approx(91.05, abs=0.01)
    assert col.max() == pytest.approx(94.91, abs=0.01)
    p = bench.raw_column("params")
    assert (p.min(), p.max()) == (227_274, 49_979_274)
    idx, best = bench.best()
    assert best == pytest.approx(col.max())
    assert bench.space.enumeration.hash_hex(idx) == bench.hashes()[int(np.argmax(col))]


def test_stored_table_is_a_consistent_join_with_the_enumeration(bench):
    """tools/build_nb101_table.py joined the real sample (hash-keyed) with the enumeration (index-keyed): each
    stored row's hash is the enumeration's hash at its index, and the values are in the documented units."""
    enum = bench.space.enumeration
    with np.load(embedded_table_path(), allow_pickle=False) as z:
        stored = [bytes(h).hex() for h in z["hash"]]
    assert len(set(stored)) == 30_001
    assert [enum.hash_hex(int(i)) for i in bench.indices] == stored == bench.hashes()
    for e in (4, 12, 36, 108):
        col = bench.column("valid", "cifar10", e)
        assert np.isfinite(col).all() and 0.0 <= col.min() and col.max() < 100.0
    assert np.median(bench.column("valid", "cifar10", 108)) > 90.0  # percent, not a fraction
    assert np.median(bench.column("valid", "cifar10", 108)) > np.median(bench.column("valid", "cifar10", 4))
    t = bench.column("train_time", "cifar10", 108)
    assert (t > 0).all() and 1_000 < np.median(t) < 10_000  # seconds for 108 epochs on a TPU


def _isomorphic_other_order(cell: NB101Cell) -> NB101Cell:
    import itertools

    n = cell.n_vertices
    for perm in itertools.permutations(range(1, n - 1)):
        p = (0, *perm, n - 1)
        if perm != tuple(range(1, n - 1)) and all(p[x] < p[y] for x, y in cell.edges()):
            m = [[0] * n for _ in range(n)]
            for x, y in cell.edges():
                m[p[x]][p[y]] = 1
            ops = [""] * n
            for v in range(n):
                ops[p[v]] = cell.ops[v]
            other = NB101Cell(m, ops)
            if other != cell:
                return other
    raise AssertionError("no other topological order")


def test_query_forms_and_counting(bench):
    used_before = bench.counter.used
    b = bench.with_budget(2)
    cell = b.space.parse(REAL_HASH)
    v = b.query(cell)
    assert b.query(cell.to_json()) == v
    assert b.query(b.space.index(cell)) == v
    iso = _isomorphic_other_order(cell)  # same cell in another vertex order: same result
    assert iso.matrix != cell.matrix and b.query(iso) == v
    assert b.query(REAL_HASH, "valid", epochs=4) == pytest.approx(36.047676, abs=1e-5)
    assert b.counter.used == 1 and b.counter.lookups == 5
    other = b.space.cell(int(b.indices[1]))
    b.query(other)
    with pytest.raises(BudgetExhausted):
        b.query(b.space.cell(int(b.indices[2])))
    assert bench.counter.used == used_before  # with_budget counts on a fresh counter


def test_missing_results_and_bad_requests(bench):
    missing = next(i for i in range(len(bench.space)) if bench.rows_of([i])[0] < 0)
    cell = bench.space.cell(missing)
    assert not bench.has_results(cell)
    used_before = bench.counter.used
    with pytest.raises(NasvizError, match="nasviz import nb101"):
        bench.query(cell)
    assert bench.counter.used == used_before  # a failed look-up is not charged
    with pytest.raises(NasvizError, match="without test accuracy"):
        bench.query(REAL_HASH, "test_acc")
    with pytest.raises(NasvizError, match="only: cifar10"):
        bench.query(REAL_HASH, "valid", "cifar100")
    with pytest.raises(NasvizError, match="out of range"):
        bench.query(423_624)
    with pytest.raises(NasvizError, match="no valid_acc after 200 epochs"):
        bench.query(REAL_HASH, "valid", "cifar10", 200)
    rec = bench.record(cell)
    assert rec["has_results"] is False and rec["metrics"] == {}


def test_record_for_display(bench):
    m = [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
         [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv1x1-bn-relu",
           "output"]
    rec = bench.record(NB101Cell(m, ops))
    assert rec["space"] == "nb101" and rec["hash"] == REAL_HASH and rec["index"] == 0
    assert rec["matrix"] == m and rec["ops"] == ops
    assert rec["metrics"]["cifar10"]["108ep"]["valid_acc"] == pytest.approx(93.048877, abs=1e-5)
    assert rec["params"] == 8_555_530
    assert rec["metrics"]["cifar10"]["cost"]["params"] == pytest.approx(8.55553)
    assert "original" not in rec


def test_get_benchmark_and_corrupt_table(tmp_path):
    assert get_benchmark("nb101").space_name == "nb101"
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataFileError, match="corrupt"):
        NB101Benchmark(bad)
    with pytest.raises(DataFileError, match="not found"):
        NB101Benchmark(tmp_path / "absent.npz")


def test_write_table_rejects_bad_input(tmp_path):
    h = np.zeros((2, 16), dtype=np.uint8)
    with pytest.raises(NasvizError, match="twice"):
        write_table(tmp_path / "t.npz", [3, 3], h, {"params": [1, 2]}, {})
    with pytest.raises(NasvizError, match="unknown NB101 column"):
        write_table(tmp_path / "t.npz", [1, 2], h, {"params": [1, 2], "accuracy": [1.0, 2.0]}, {})
    assert not (tmp_path / "t.npz").exists()


def test_flops_column_comes_from_the_built_networks():
    """data/nb101/flops.npz (tools/nb101_flops.py) is served for the sample rows and for the whole space."""
    from nasviz.bench import get_benchmark

    bench = get_benchmark("nb101")
    flops = bench.column("flops")
    assert flops.shape == (30_001,) and (flops > 0).all()
    assert bench.space_flops().shape == (423_624,)
    assert np.array_equal(bench.space_flops()[bench.indices], flops)
    # more parameters means more compute: the two columns are strongly related
    from scipy.stats import spearmanr

    assert spearmanr(bench.column("params"), flops).statistic > 0.8
    # the cheapest cell (input -> output) has only the stem, projections and classifier
    assert bench.space_flops().min() == pytest.approx(74.196992)
