"""nasviz.viz.tables: the NB201 frame the app shows, its filters, ranks and metrics."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.bench.nb201 import NB201Benchmark
from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import OPS, NB201Cell
from nasviz.viz.markdown import escape_markdown
from nasviz.viz.tables import (
    ACCURACY_COLUMNS, ARCH, INDEX, KEY_COLUMNS, OP_COUNT_COLUMNS, PARAMS, column_range, filter_nb201,
    nb201_frame, nb201_metrics_frame, nb201_ranks,
)


@pytest.fixture(scope="module")
def bench() -> NB201Benchmark:
    return NB201Benchmark()


@pytest.fixture(scope="module")
def frame(bench):
    return nb201_frame(bench)


def test_frame_has_every_cell_in_official_order(frame, bench):
    assert len(frame) == 15_625
    assert (frame[INDEX].to_numpy() == np.arange(15_625)).all()
    assert list(frame.columns[:2]) == [INDEX, ARCH]
    # every string is the cell's own official string (the frame writes them from the op table)
    assert frame[ARCH].tolist() == [c.to_str() for c in bench.space.enumerate()]
    assert frame[ARCH].is_unique
    assert not frame[[k.name for k in KEY_COLUMNS]].isna().any().any()


def test_frame_values_are_the_benchmark_numbers(frame, bench):
    assert frame.at[6111, "cifar10 test %"] == pytest.approx(94.3733, abs=1e-4)
    assert frame.at[9930, "cifar100 test %"] == pytest.approx(73.5133, abs=1e-4)
    assert frame.at[857, "ImageNet16-120 test %"] == pytest.approx(47.3111, abs=1e-4)
    for k in KEY_COLUMNS:
        np.testing.assert_array_equal(frame[k.name].to_numpy(), bench.column(k.metric, k.dataset, k.epochs))
    # official cost_info of arch 0 (see data/nb201/SOURCE.md)
    assert frame.at[0, PARAMS] == pytest.approx(0.129306)
    assert frame.at[0, "FLOPs (M)"] == pytest.approx(15.64737)


def test_op_counts_match_the_cells(frame):
    counts = frame[list(OP_COUNT_COLUMNS.values())].to_numpy()
    assert (counts.sum(axis=1) == 6).all()
    cell = NB201Cell.from_str(frame.at[6111, ARCH])
    for op in OPS:
        assert frame.at[6111, OP_COUNT_COLUMNS[op]] == cell.names.count(op)
    # each op appears on exactly k edges in C(6,k) * 4**(6-k) cells
    assert (frame[OP_COUNT_COLUMNS["none"]] == 0).sum() == 4 ** 6


def test_filters(frame):
    assert len(filter_nb201(frame)) == 15_625
    assert len(filter_nb201(frame, text="  SKIP_CONNECT~0|+ ")) == 5 ** 5  # case- and space-insensitive
    assert len(filter_nb201(frame, without_ops=["none"])) == 4 ** 6
    assert len(filter_nb201(frame, with_ops=["none"])) == 5 ** 6 - 4 ** 6
    both = filter_nb201(frame, with_ops=["nor_conv_3x3"], without_ops=["skip_connect", "none"])
    assert len(both) == 3 ** 6 - 2 ** 6
    lo, hi = 90.0, 92.0
    ranged = filter_nb201(frame, ranges={"cifar10 test %": (lo, hi), PARAMS: (0.0, 0.5)})
    assert len(ranged) > 0
    assert ranged["cifar10 test %"].between(lo, hi).all() and (ranged[PARAMS] <= 0.5).all()
    expected = ((frame["cifar10 test %"] >= lo) & (frame["cifar10 test %"] <= hi) & (frame[PARAMS] <= 0.5)).sum()
    assert len(ranged) == expected
    assert len(filter_nb201(frame, text="no such op")) == 0


def test_sort_is_stable_and_both_ways(frame):
    down = filter_nb201(frame, sort_by="cifar10 test %")
    assert down.iloc[0][INDEX] == 6111
    assert down["cifar10 test %"].is_monotonic_decreasing
    up = filter_nb201(frame, sort_by=PARAMS, descending=False)
    assert up[PARAMS].is_monotonic_increasing
    ties = up[up[PARAMS] == up[PARAMS].iloc[0]]
    assert ties[INDEX].is_monotonic_increasing  # ties keep official order


@pytest.mark.parametrize("kwargs, message", [
    (dict(with_ops=["conv"]), "unknown op 'conv'"),
    (dict(with_ops=["none"], without_ops=["none"]), "both required and excluded"),
    (dict(ranges={"accuracy": (0, 1)}), "no column 'accuracy'"),
    (dict(ranges={PARAMS: (1.0, 0.5)}), "empty range"),
    (dict(sort_by="speed"), "no column 'speed'"),
])
def test_filter_errors_say_what_is_accepted(frame, kwargs, message):
    with pytest.raises(NasvizError, match=message):
        filter_nb201(frame, **kwargs)


def test_column_range(frame):
    assert column_range(frame, PARAMS) == pytest.approx((0.073306, 1.531546))
    with pytest.raises(NasvizError):
        column_range(frame, "nope")


def test_ranks(frame):
    r = nb201_ranks(frame, 6111)
    assert set(r) == set(ACCURACY_COLUMNS)
    assert r["cifar10 test %"] == 1
    assert nb201_ranks(frame, 9930)["cifar100 test %"] == 1
    assert nb201_ranks(frame, 857)["ImageNet16-120 test %"] == 1
    worst = int(frame["cifar100 test %"].to_numpy().argmin())
    assert nb201_ranks(frame, worst)["cifar100 test %"] > 15_000
    with pytest.raises(NasvizError, match="out of range"):
        nb201_ranks(frame, 15_625)


def test_metrics_frame_has_every_metric(bench):
    m = nb201_metrics_frame(bench.record(6111))
    assert list(m.index) == ["cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"]
    assert m.at["cifar10", "test % (200 ep)"] == pytest.approx(94.3733, abs=1e-4)
    assert m.at["cifar10-valid", "valid % (200 ep)"] == pytest.approx(91.6067, abs=1e-4)
    assert np.isnan(m.at["cifar10", "valid % (200 ep)"])  # NB201 has no valid split for cifar10
    assert m.at["ImageNet16-120", "params (M)"] == pytest.approx(bench.query(6111, "params", "ImageNet16-120"))
    # 4 datasets x (3 at 200 ep + 2 at 12 ep + 2 cost) minus what the benchmark lacks
    assert int(m.notna().to_numpy().sum()) == 25


def test_escape_markdown_keeps_arch_strings_verbatim():
    arch = "|nor_conv_3x3~0|+|skip_connect~0|none~1|"
    escaped = escape_markdown(arch)
    assert "~" not in escaped.replace("\\~", "")
    assert escaped.replace("\\", "") == arch
