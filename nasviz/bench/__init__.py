"""Benchmarks: what an architecture scored.

Typed metrics (:class:`Metric`), a column registry per benchmark, and a query
counter for search experiments. ``BENCHMARKS`` maps a space name to its loader.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Hashable, Protocol, runtime_checkable

import numpy as np

from nasviz.errors import NasvizError


class Metric(str, Enum):
    """What a benchmark column measures."""

    TRAIN_ACC = "train_acc"  # percent
    VALID_ACC = "valid_acc"  # percent
    TEST_ACC = "test_acc"  # percent
    PARAMS = "params"  # millions of parameters
    FLOPS = "flops"  # millions of FLOPs
    TRAIN_TIME = "train_time"  # seconds

    @classmethod
    def parse(cls, value: "Metric | str") -> "Metric":
        if isinstance(value, Metric):
            return value
        v = str(value).strip().lower().replace("-", "_")
        aliases = {"train": "train_acc", "valid": "valid_acc", "val": "valid_acc", "val_acc": "valid_acc",
                   "test": "test_acc", "flop": "flops", "param": "params", "time": "train_time"}
        v = aliases.get(v, v)
        try:
            return cls(v)
        except ValueError:
            raise NasvizError(f"unknown metric {value!r}; accepted: {', '.join(m.value for m in cls)}") from None

    @property
    def is_accuracy(self) -> bool:
        return self in (Metric.TRAIN_ACC, Metric.VALID_ACC, Metric.TEST_ACC)


@dataclass(frozen=True)
class ColumnSpec:
    """One benchmark column: which dataset, training epochs and metric it holds."""

    dataset: str
    epochs: int | None  # None for cost metrics that do not depend on training
    metric: Metric
    column: str  # the key in the stored table
    unit: str
    description: str

    @property
    def label(self) -> str:
        ep = f", {self.epochs} ep" if self.epochs is not None else ""
        return f"{self.dataset} {self.metric.value}{ep}"


class BudgetExhausted(NasvizError):
    """A search asked for more distinct benchmark look-ups than its budget allows."""


class QueryCounter:
    """Counts benchmark look-ups; the budget is in distinct cells.

    A search that looks up the same cell twice (e.g. its validation accuracy, then the
    same number again from a cache miss) pays once: a real search would have trained
    that cell once. ``lookups`` counts every call.
    """

    def __init__(self, budget: int | None = None) -> None:
        if budget is not None and int(budget) <= 0:
            raise NasvizError(f"a query budget must be a positive integer; got {budget}")
        self.budget = None if budget is None else int(budget)
        self._seen: set[Hashable] = set()
        self.lookups = 0

    @property
    def used(self) -> int:
        return len(self._seen)

    @property
    def remaining(self) -> int | None:
        return None if self.budget is None else self.budget - self.used

    def charge(self, key: Hashable) -> None:
        if key not in self._seen:
            if self.budget is not None and len(self._seen) >= self.budget:
                raise BudgetExhausted(f"query budget of {self.budget} distinct cells is used up")
            self._seen.add(key)
        self.lookups += 1

    def seen(self, key: Hashable) -> bool:
        return key in self._seen


@runtime_checkable
class Benchmark(Protocol):
    """What every benchmark offers."""

    space_name: str

    def columns(self) -> list[ColumnSpec]: ...
    def query(self, cell, metric: Metric | str, dataset: str, epochs: int | None = ...) -> float: ...
    def column(self, metric: Metric | str, dataset: str, epochs: int | None = ...) -> np.ndarray: ...


def _nb201() -> Benchmark:
    from nasviz.bench.nb201 import NB201Benchmark

    return NB201Benchmark()


def _nb101() -> Benchmark:
    from nasviz.bench.nb101 import NB101Benchmark

    return NB101Benchmark()


BENCHMARKS: dict[str, Callable[[], Benchmark]] = {"nb201": _nb201, "nb101": _nb101}
_CACHE: dict[str, Benchmark] = {}
# one load per space, also when the app's warm-up thread and a page ask at the same moment
_LOCKS = {key: threading.Lock() for key in BENCHMARKS}


def get_benchmark(space: str) -> Benchmark:
    """The benchmark of a space (loaded once per process; use ``with_budget`` for counting)."""
    key = str(space).lower()
    if key not in BENCHMARKS:
        raise NasvizError(f"no benchmark for space {space!r}; accepted: {', '.join(sorted(BENCHMARKS))}")
    with _LOCKS[key]:
        if key not in _CACHE:
            _CACHE[key] = BENCHMARKS[key]()
        return _CACHE[key]
