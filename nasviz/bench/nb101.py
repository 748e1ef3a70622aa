"""NAS-Bench-101 results (Ying et al., ICML 2019), dataset CIFAR-10.

Two tables, same format:

* embedded, ``data/nb101/nb101_sample.npz``: a real 30,001-cell sample (7.1% of the
  space) with the validation accuracy of a **single** training run after 4, 12, 36
  and 108 epochs, the training time at 108 epochs and the parameter count; no test
  accuracy (see ``data/nb101/SOURCE.md``);
* imported, ``<user dir>/nb101/nb101.npz``: written by ``nasviz import nb101 FILE``
  from the official ``nasbench_only108.tfrecord`` / ``nasbench_full.tfrecord``:
  train/validation/test accuracy and training time, each the mean over the 3
  repeats, for every epoch budget in the file, for all 423,624 cells. When it
  exists it is used instead of the sample.

Row order (what :meth:`NB101Benchmark.column` returns): rows sorted by the cell's
index in the enumeration, which is the order of the module hashes;
:attr:`NB101Benchmark.indices` gives each row's index and :meth:`hashes` its hash.
Accuracies are percentages, params in millions (``raw_column("params")`` holds the
exact count), training time in seconds.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nasviz.bench import ColumnSpec, Metric, QueryCounter
from nasviz.errors import DataFileError, NasvizError
from nasviz.fileio import atomic_savez, meta_array, read_npz
from nasviz.integrity import check_ranges, verify
from nasviz.paths import data_dir, user_dir
from nasviz.spaces.nb101 import NB101Cell, NB101Space

DATASET = "cifar10"
DATASETS: tuple[str, ...] = (DATASET,)
EPOCHS: tuple[int, ...] = (4, 12, 36, 108)
_DATASET_ALIASES = {"cifar10": DATASET, "c10": DATASET, "cifar-10": DATASET, "cifar10-valid": DATASET}
_PREFIX = {"train": Metric.TRAIN_ACC, "valid": Metric.VALID_ACC, "test": Metric.TEST_ACC, "time": Metric.TRAIN_TIME}
_COL = re.compile(r"^(train|valid|test|time)_e(\d+)$")
_NO_TEST = (
    "the embedded NB101 table is a real 30,001-cell sample without test accuracy; "
    "import the official file for it: `nasviz import nb101 nasbench_only108.tfrecord`"
)


def embedded_table_path() -> Path:
    return data_dir() / "nb101" / "nb101_sample.npz"


def imported_table_path() -> Path:
    return user_dir() / "nb101" / "nb101.npz"


def parse_dataset(name: str) -> str:
    key = str(name).strip().lower()
    if key not in _DATASET_ALIASES:
        raise NasvizError(f"unknown NB101 dataset {name!r}; NAS-Bench-101 has only: {DATASET}")
    return DATASET


def column_specs(names, source: str) -> list[ColumnSpec]:
    """The ColumnSpecs a table with these stored columns serves, in a fixed order:
    validation, train, test accuracy, training time (each by epochs), then params."""
    specs = []
    for prefix, metric in (("valid", Metric.VALID_ACC), ("train", Metric.TRAIN_ACC), ("test", Metric.TEST_ACC),
                           ("time", Metric.TRAIN_TIME)):
        eps = sorted(int(m.group(2)) for n in names if (m := _COL.match(n)) and m.group(1) == prefix)
        for ep in eps:
            unit = "s" if metric is Metric.TRAIN_TIME else "%"
            specs.append(ColumnSpec(DATASET, ep, metric, f"{prefix}_e{ep}", unit, source))
    if "params_m" in names:
        specs.append(ColumnSpec(DATASET, None, Metric.PARAMS, "params_m", "M", source))
    return specs


def write_table(path: Path | str, index: np.ndarray, hashes: np.ndarray, columns: Mapping[str, np.ndarray],
                meta: dict) -> Path:
    """Write a table atomically (temporary file renamed into place: never half-written).

    ``index``: enumeration indices (sorted here), ``hashes``: (N, 16) uint8; columns
    ``{train,valid,test,time}_e{E}`` float64 and ``params`` (int); ``params_m`` is added.
    """
    index = np.asarray(index, dtype=np.int64)
    hashes = np.asarray(hashes, dtype=np.uint8).reshape(-1, 16)
    if len(index) != len(hashes) or len(index) == 0:
        raise NasvizError(f"an NB101 table needs one hash per row; got {len(index)} rows and {len(hashes)} hashes")
    if (index < 0).any():
        raise NasvizError("an NB101 table row has no enumeration index (hash not in the space)")
    order = np.argsort(index, kind="stable")
    if (np.diff(index[order]) == 0).any():
        raise NasvizError("an NB101 table lists a cell twice")
    arrays: dict[str, np.ndarray] = {"index": index[order].astype(np.uint32), "hash": hashes[order]}
    for name, values in columns.items():
        v = np.asarray(values)
        if v.shape != (len(index),):
            raise NasvizError(f"column {name} must have {len(index)} values; got shape {v.shape}")
        if name == "params":
            arrays[name] = v.astype(np.int64)[order]
        elif _COL.match(name):
            arrays[name] = v.astype(np.float64)[order]
        else:
            raise NasvizError(f"unknown NB101 column {name!r}; expected params or train/valid/test/time_e<epochs>")
    if "params" not in arrays:
        raise NasvizError("an NB101 table needs a params column")
    arrays["params_m"] = arrays["params"] / 1e6
    arrays["meta"] = meta_array(meta)
    return atomic_savez(path, arrays)


_FLOPS_NOTE = ("forward FLOPs (FlopCounterMode: 2 per multiply-add) of the built NB101 CIFAR-10 network on a "
               "1x3x32x32 input, computed by tools/nb101_flops.py for every enumerated cell")


def _load_space_flops(n_cells: int) -> np.ndarray | None:
    """The FLOPs of every enumerated cell in millions, or None when the file is absent or stale."""
    path = data_dir() / "nb101" / "flops.npz"
    if not path.exists():
        return None
    verify(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            flops = z["flops"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise DataFileError(f"NB101 FLOPs file {path} is corrupt ({e}); rebuild it with `python tools/nb101_flops.py`"
                            ) from e
    if flops.shape != (n_cells,):
        return None
    check_ranges({"flops": flops}, path, "NB101 FLOPs file", (("flops", 1, 1e15),),
                 "rebuild it with `python tools/nb101_flops.py`")
    out = flops / 1e6
    out.setflags(write=False)
    return out


#: What each stored column can hold: accuracies in percent, seconds, parameter counts.
_RANGES = ((r"(train|valid|test)_e\d+", 0.0, 100.0), (r"time_e\d+", 0.0, 1e9), ("params", 0, 1e12),
           ("params_m", 0.0, 1e6))


def _load(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    data, meta = read_npz(path, what="NB101 table", required=("index", "hash", "params", "params_m"),
                          not_found="the embedded sample ships in data/nb101/ "
                                    "(or run `nasviz import nb101 nasbench_only108.tfrecord`)",
                          remedy="re-import it")
    check_ranges(data, path, "NB101 table", _RANGES, "re-import it")
    return data, meta


class NB101Benchmark:
    """NB101 results; ``query`` counts look-ups (distinct cells) into :attr:`counter`.

    >>> bench = NB101Benchmark()
    >>> bench.query('{"matrix": [[0,1],[0,0]], "ops": ["input","output"]}')  # doctest: +SKIP
    """

    space_name = "nb101"
    datasets = DATASETS

    def __init__(self, path: Path | str | None = None, *, budget: int | None = None,
                 space: NB101Space | None = None) -> None:
        if path is None:
            imported = imported_table_path()
            path = imported if imported.exists() else embedded_table_path()
        self.path = Path(path)
        self._data, self.meta = _load(self.path)
        if space is None:
            from nasviz.spaces import get_space

            space = get_space("nb101")  # type: ignore[assignment]
        self.space: NB101Space = space
        self.indices: np.ndarray = self._data["index"].astype(np.int64)
        self.indices.setflags(write=False)
        if len(self.indices) and int(self.indices[-1]) >= len(self.space):
            raise DataFileError(f"NB101 table {self.path} refers to cells beyond the enumeration; re-import it")
        self.counter = QueryCounter(budget)
        kind = self.meta.get("kind", "sample")
        note = ("official file, mean of the repeats" if kind == "official"
                else "real 30,001-cell sample, single training run (data/nb101/SOURCE.md)")
        self._columns = column_specs(list(self._data), note)
        self._space_flops = _load_space_flops(len(self.space))
        if self._space_flops is not None:
            self._data["flops_m"] = self._space_flops[self.indices]
            self._data["flops_m"].setflags(write=False)
            self._columns.append(ColumnSpec(DATASET, None, Metric.FLOPS, "flops_m", "M", _FLOPS_NOTE))
        self._specs = {(c.dataset, c.epochs, c.metric): c for c in self._columns}

    # -- budget -------------------------------------------------------------------
    def with_budget(self, budget: int | None) -> "NB101Benchmark":
        """A view on the same table with a fresh query counter."""
        clone = object.__new__(NB101Benchmark)
        clone.__dict__.update(self.__dict__)
        clone.counter = QueryCounter(budget)
        return clone

    # -- schema ---------------------------------------------------------------------
    def columns(self) -> list[ColumnSpec]:
        return list(self._columns)

    @property
    def epochs(self) -> tuple[int, ...]:
        return tuple(sorted({c.epochs for c in self._columns if c.epochs is not None}))

    @property
    def has_test(self) -> bool:
        return any(c.metric is Metric.TEST_ACC for c in self._columns)

    def spec(self, metric: Metric | str, dataset: str = DATASET, epochs: int | None = 108) -> ColumnSpec:
        m = Metric.parse(metric)
        ds = parse_dataset(dataset)
        ep = None if m in (Metric.PARAMS, Metric.FLOPS) else (None if epochs is None else int(epochs))
        spec = self._specs.get((ds, ep, m))
        if spec is None:
            if m is Metric.TEST_ACC and not self.has_test:
                raise NasvizError(_NO_TEST)
            if m is Metric.FLOPS:
                raise NasvizError("the NB101 FLOPs column (data/nb101/flops.npz) is missing or does not match the "
                                  "enumeration; rebuild it with `python tools/nb101_flops.py`; available: "
                                  + self._available())
            raise NasvizError(f"NB101 has no {m.value} after {epochs} epochs in {self.path.name}; available: "
                              + self._available())
        return spec

    def _available(self) -> str:
        return ", ".join(f"{c.metric.value}" + (f" @ {c.epochs} ep" if c.epochs is not None else "")
                         for c in self._columns)

    # -- access ---------------------------------------------------------------------
    def column(self, metric: Metric | str, dataset: str = DATASET, epochs: int | None = 108) -> np.ndarray:
        """One value per table row, rows in enumeration-index (= hash) order; read-only, not counted."""
        return self._data[self.spec(metric, dataset, epochs).column]

    def raw_column(self, name: str) -> np.ndarray:
        if name not in self._data or name in ("index", "hash"):
            raise NasvizError(f"no column {name!r}; stored: {', '.join(sorted(self.stored_columns()))}")
        return self._data[name]

    def stored_columns(self) -> list[str]:
        return [k for k in self._data if k not in ("index", "hash")]

    def hashes(self) -> list[str]:
        raw = self._data["hash"].tobytes()
        return [raw[k:k + 16].hex() for k in range(0, len(raw), 16)]

    def cells(self) -> list[NB101Cell]:
        """The cells with results, in row order."""
        return [self.space.cell(int(i)) for i in self.indices]

    def _space_index(self, cell) -> int:
        if isinstance(cell, (int, np.integer)):
            i = int(cell)
            if not 0 <= i < len(self.space):
                raise NasvizError(f"NB101 index {i} is out of range; accepted: 0..{len(self.space) - 1}")
            return i
        if isinstance(cell, str) and len(cell.strip()) == 32:  # a module hash: no need to build the cell
            i = self.space.find(cell.strip().lower())
            if i >= 0:
                return i
        c = cell if isinstance(cell, NB101Cell) else self.space.parse(cell)
        return self.space.index(c)

    def row(self, cell) -> int:
        """Table row of a cell, or -1 when the table has no results for it."""
        i = self._space_index(cell)
        r = int(np.searchsorted(self.indices, i))
        return r if r < len(self.indices) and int(self.indices[r]) == i else -1

    def has_results(self, cell) -> bool:
        return self.row(cell) >= 0

    def rows_of(self, space_indices) -> np.ndarray:
        """Rows of many enumeration indices (-1 where absent)."""
        q = np.asarray(space_indices, dtype=np.int64)
        r = np.searchsorted(self.indices, q)
        rc = np.minimum(r, len(self.indices) - 1)
        return np.where(self.indices[rc] == q, rc, -1)

    def query(self, cell, metric: Metric | str = Metric.VALID_ACC, dataset: str = DATASET,
              epochs: int | None = 108) -> float:
        """One look-up (a cell, hash, JSON spec or enumeration index); charged to :attr:`counter`."""
        spec = self.spec(metric, dataset, epochs)
        i = self._space_index(cell)
        r = int(np.searchsorted(self.indices, i))
        if r >= len(self.indices) or int(self.indices[r]) != i:
            raise NasvizError(
                f"no NB101 results for cell {self.space.enumeration.hash_hex(i)}: {self.path.name} holds "
                f"{len(self.indices):,} of {len(self.space):,} cells; `nasviz import nb101 FILE` adds the rest"
            )
        self.counter.charge(i)
        return float(self._data[spec.column][r])

    def record(self, cell) -> dict:
        """Everything about one cell (not counted), for display; ``metrics`` is empty when
        the table has no results for it."""
        c = cell if isinstance(cell, NB101Cell) else self.space.parse(cell)
        i = self.space.index(c)
        rep = self.space.cell(i)
        r = self.row(i)
        metrics: dict[str, dict] = {}
        if r >= 0:
            for spec in self._columns:
                key = f"{spec.epochs}ep" if spec.epochs is not None else "cost"
                metrics.setdefault(spec.dataset, {}).setdefault(key, {})[spec.metric.value] = float(
                    self._data[spec.column][r])
        out = {
            "space": "nb101",
            "index": i,
            "hash": c.hash,
            "arch": c.to_json(),
            "matrix": [list(row) for row in c.matrix],
            "ops": list(c.ops),
            "n_vertices": c.n_vertices,
            "n_edges": c.n_edges,
            "canonical": rep.to_json(),
            "canonical_index": i,
            "has_results": r >= 0,
            "params": int(self._data["params"][r]) if r >= 0 else None,
            "source": self.meta.get("kind", "sample"),
            "metrics": metrics,
        }
        if c.was_pruned:
            out["original"] = c.to_dict(original=True)
            out["pruned_vertices"] = list(c.pruned_vertices)
        return out

    def best(self, metric: Metric | str = Metric.VALID_ACC, dataset: str = DATASET,
             epochs: int | None = 108) -> tuple[int, float]:
        """(enumeration index, value) of the best row."""
        col = self.column(metric, dataset, epochs)
        r = int(np.nanargmax(col))
        return int(self.indices[r]), float(col[r])

    def space_flops(self) -> np.ndarray:
        """FLOPs (millions) of all 423,624 enumerated cells in enumeration order (read-only)."""
        if self._space_flops is None:
            self.spec(Metric.FLOPS)  # raises the explanatory error
        return self._space_flops  # type: ignore[return-value]

    def summary(self) -> dict:
        kind = "imported official file" if self.meta.get("kind") == "official" else "embedded real sample"
        return {"cells": len(self.space), "cells_with_results": len(self.indices), "source": f"{kind}, {self.path}"}

    def __len__(self) -> int:
        return len(self.indices)
