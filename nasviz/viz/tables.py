"""Tables of benchmark results, as pandas frames the app shows and tests check.

Built here (not in the page) so tests can call them without Streamlit.

* :func:`nb201_frame` — one row per NB201 cell (all 15,625, official index order)
  with the key benchmark columns and per-op edge counts;
* :func:`filter_nb201` — the app's filters (arch text, ops present/absent, ranges);
* :func:`nb201_metrics_frame` — every metric of one cell, one row per dataset;
* :func:`nb201_ranks` — where one cell stands among all 15,625 on the key columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nasviz.bench import Metric
from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import OPS

INDEX = "index"
ARCH = "arch"


@dataclass(frozen=True)
class KeyColumn:
    """One benchmark column of the NB201 table: its frame name and where it comes from."""

    name: str
    short: str  # compact header for narrow tables
    metric: Metric
    dataset: str
    epochs: int | None
    help: str
    higher_is_better: bool = True


#: The key benchmark columns of the NB201 table, in display order.
KEY_COLUMNS: tuple[KeyColumn, ...] = (
    KeyColumn("cifar10 test %", "C10 test %", Metric.TEST_ACC, "cifar10", 200,
              "CIFAR-10 test accuracy after 200 epochs, trained on train+valid (mean over seeds)"),
    KeyColumn("cifar100 test %", "C100 test %", Metric.TEST_ACC, "cifar100", 200,
              "CIFAR-100 test accuracy (x-test) after 200 epochs (mean over seeds)"),
    KeyColumn("ImageNet16-120 test %", "IN16 test %", Metric.TEST_ACC, "ImageNet16-120", 200,
              "ImageNet16-120 test accuracy (x-test) after 200 epochs (mean over seeds)"),
    KeyColumn("cifar10-valid 12ep valid %", "C10v 12ep %", Metric.VALID_ACC, "cifar10-valid", 12,
              "CIFAR-10 validation accuracy after the short 12-epoch schedule (cheap proxy)"),
    KeyColumn("params (M)", "params M", Metric.PARAMS, "cifar10", None,
              "parameters in millions (CIFAR-10 network)", higher_is_better=False),
    KeyColumn("FLOPs (M)", "FLOPs M", Metric.FLOPS, "cifar10", None,
              "FLOPs in millions (CIFAR-10 network, as NB201's cost_info counts them)", higher_is_better=False),
)
ACCURACY_COLUMNS: tuple[str, ...] = tuple(k.name for k in KEY_COLUMNS if k.metric.is_accuracy)
PARAMS = "params (M)"
FLOPS = "FLOPs (M)"
#: Per-op edge-count columns: how many of the 6 edges carry each op.
OP_COUNT_COLUMNS: dict[str, str] = {op: f"#{op}" for op in OPS}
#: Compact headers for the op-count columns.
OP_COUNT_SHORT: dict[str, str] = dict(zip(OPS, ("#none", "#skip", "#1x1", "#3x3", "#pool")))


def nb201_frame(bench) -> pd.DataFrame:
    """All 15,625 NB201 cells: index, official arch string, key metrics, op counts.

    ``bench`` is an :class:`~nasviz.bench.nb201.NB201Benchmark`. Rows are in official
    index order and the frame's index equals the ``index`` column.
    """
    ops = np.asarray(bench.space.index_ops)
    n = ops.shape[0]
    # the official strings, written straight from the op table (15x faster than a cell object per row)
    names = np.asarray(OPS, dtype=object)[ops].tolist()
    arch = [f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|" for a, b, c, d, e, f in names]
    data: dict[str, object] = {INDEX: np.arange(n, dtype=np.int64), ARCH: arch}
    for k in KEY_COLUMNS:
        data[k.name] = np.asarray(bench.column(k.metric, k.dataset, k.epochs), dtype=np.float64)
    for o, op in enumerate(OPS):
        data[OP_COUNT_COLUMNS[op]] = (ops == o).sum(axis=1).astype(np.int8)
    frame = pd.DataFrame(data)
    frame.index = frame[INDEX].to_numpy()
    return frame


def column_range(frame: pd.DataFrame, column: str) -> tuple[float, float]:
    """(min, max) of a frame column, for range sliders."""
    _check_column(frame, column)
    values = frame[column].to_numpy(dtype=np.float64)
    return float(np.nanmin(values)), float(np.nanmax(values))


def filter_nb201(
    frame: pd.DataFrame,
    *,
    text: str = "",
    with_ops: tuple[str, ...] | list[str] = (),
    without_ops: tuple[str, ...] | list[str] = (),
    ranges: dict[str, tuple[float, float]] | None = None,
    sort_by: str | None = None,
    descending: bool = True,
) -> pd.DataFrame:
    """The rows of :func:`nb201_frame` that pass every filter, optionally sorted.

    * ``text``: case-insensitive substring of the official arch string
      (e.g. ``"skip_connect~0"`` or ``"|+|nor_conv_3x3~0|"``);
    * ``with_ops`` / ``without_ops``: op names that must appear on at least one edge /
      on no edge;
    * ``ranges``: ``{column: (low, high)}``, inclusive, for any numeric column;
    * ``sort_by``: a column name; ties keep official index order.
    """
    mask = np.ones(len(frame), dtype=bool)
    needle = (text or "").strip().lower()
    if needle:
        mask &= frame[ARCH].str.lower().str.contains(needle, regex=False).to_numpy()
    both = set(with_ops) & set(without_ops)
    if both:
        raise NasvizError(f"op(s) {', '.join(sorted(both))} cannot be both required and excluded")
    for op in with_ops:
        mask &= frame[_op_column(op)].to_numpy() > 0
    for op in without_ops:
        mask &= frame[_op_column(op)].to_numpy() == 0
    for column, (low, high) in (ranges or {}).items():
        _check_column(frame, column)
        if low > high:
            raise NasvizError(f"empty range for {column}: low {low} is above high {high}")
        values = frame[column].to_numpy(dtype=np.float64)
        mask &= (values >= low) & (values <= high)
    out = frame[mask]
    if sort_by:
        _check_column(frame, sort_by)
        out = out.sort_values(sort_by, ascending=not descending, kind="stable")
    return out


def nb201_metrics_frame(record: dict) -> pd.DataFrame:
    """Every metric of one cell (``NB201Benchmark.record``), one row per dataset.

    Columns: train/valid/test accuracy after 200 epochs, valid/test after 12 epochs,
    params and FLOPs; a metric the benchmark does not have for a dataset is NaN
    (e.g. NB201 has no separate validation split for ``cifar10``).
    """
    rows = []
    for dataset, by_epochs in record["metrics"].items():
        e200, e12, cost = by_epochs.get("200ep", {}), by_epochs.get("12ep", {}), by_epochs.get("cost", {})
        rows.append({
            "dataset": dataset,
            "train % (200 ep)": e200.get("train_acc", np.nan),
            "valid % (200 ep)": e200.get("valid_acc", np.nan),
            "test % (200 ep)": e200.get("test_acc", np.nan),
            "valid % (12 ep)": e12.get("valid_acc", np.nan),
            "test % (12 ep)": e12.get("test_acc", np.nan),
            "params (M)": cost.get("params", np.nan),
            "FLOPs (M)": cost.get("flops", np.nan),
        })
    return pd.DataFrame(rows).set_index("dataset")


def nb201_ranks(frame: pd.DataFrame, index: int) -> dict[str, int]:
    """Rank (1 = best; ties share the best rank) of cell ``index`` on each accuracy column."""
    if not 0 <= int(index) < len(frame):
        raise NasvizError(f"NB201 index {index} is out of range; accepted: 0..{len(frame) - 1}")
    out = {}
    for name in ACCURACY_COLUMNS:
        values = frame[name].to_numpy(dtype=np.float64)
        out[name] = int((values > values[int(index)]).sum()) + 1
    return out


def _op_column(op: str) -> str:
    if op not in OP_COUNT_COLUMNS:
        raise NasvizError(f"unknown op {op!r}; accepted: {', '.join(OPS)}")
    return OP_COUNT_COLUMNS[op]


def _check_column(frame: pd.DataFrame, column: str) -> None:
    if column not in frame.columns:
        raise NasvizError(f"no column {column!r}; the table has: {', '.join(map(str, frame.columns))}")
