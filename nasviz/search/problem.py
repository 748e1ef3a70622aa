"""What a run searches: a space, its benchmark, the search signal and what is reported.

The NB201 protocol is arch2vec's (paper 003, section 4.3 / Appendix A.2, after
NAS-Bench-201): the search sees the **12-epoch validation accuracy** (for CIFAR-10:
the ``cifar10-valid`` split, trained on train only); a run reports the chosen cell's
**200-epoch test accuracy** (for CIFAR-10: the ``cifar10`` split, trained on
train + valid). ``--dataset`` picks cifar10 / cifar100 / ImageNet16-120.

:data:`PROTOCOLS` maps a space name to a function building its :class:`Problem`.
Only :meth:`Problem.evaluate` is charged to the budget; everything else (FLOPs, the
report metrics, the table of all cells) is free, as FLOPs are computed, not trained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from nasviz.errors import NasvizError


@dataclass
class Problem:
    space_name: str
    dataset: str  # the user's dataset name, canonical
    space: Any  # SearchSpace
    bench: Any  # Benchmark (a budget view)
    signal: tuple[str, str, int | None]  # (metric, dataset, epochs) the search sees
    report: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)  # name -> column spec
    flops: np.ndarray | None = None  # (n_cells,) in table order, free to read

    # -- cells <-> rows ---------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return len(self.bench)

    def index(self, cell) -> int | None:
        """Row of ``cell`` in the benchmark table, or None if the table has no result for it."""
        try:
            i = self.space.index(cell)
        except (NasvizError, KeyError, ValueError):
            return None
        return None if i is None or int(i) < 0 else int(i)

    def cell(self, index: int):
        return self.space.cell(int(index))

    def cell_str(self, cell) -> str:
        return cell.to_str() if hasattr(cell, "to_str") else str(cell)

    # -- moves (strategies use these, so a space whose table is a sample stays inside it) ----
    def sample(self, rng: np.random.Generator):
        return self.space.sample(rng)

    def mutate(self, cell, rng: np.random.Generator):
        return self.space.mutate(cell, rng)


    # -- values ------------------------------------------------------------------------
    def evaluate(self, cell) -> float:
        """One benchmark query of the search signal (charged to the budget)."""
        m, d, e = self.signal
        return float(self.bench.query(cell, m, d, e))

    def signal_column(self) -> np.ndarray:
        """The search signal for every cell (for benchmarks/analysis only; strategies never read it)."""
        m, d, e = self.signal
        return np.asarray(self.bench.column(m, d, e), dtype=np.float64)

    def report_columns(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(self.bench.column(m, d, e), dtype=np.float64) for k, (m, d, e) in self.report.items()}


class SampledProblem(Problem):
    """A benchmark that holds results for a sample of the space (NB101's 30,001 cells).

    Rows of the table are the searchable cells: :meth:`sample` draws a row uniformly;
    :meth:`mutate` draws mutations until one has a result (at most ``max_tries``).
    """

    mutation_pool = 10

    def index(self, cell) -> int | None:
        try:
            r = int(self.bench.row(cell))
        except (NasvizError, KeyError, ValueError):
            return None
        return r if r >= 0 else None

    def cell(self, index: int):
        return self.space.cell(int(self.bench.indices[int(index)]))

    def sample(self, rng: np.random.Generator):
        return self.cell(int(rng.integers(self.n_cells)))

    def mutate(self, cell, rng: np.random.Generator):
        """A uniformly random table cell among the ``mutation_pool`` nearest to ``cell`` in the
        discrete encoding (adjacency bits + ops, Hamming distance): the sample holds 7% of
        the space, so one-edit neighbours are rarely in it."""
        from nasviz.search.embeddings import load_embedding

        enc = load_embedding(self, "onehot")
        i = self.index(cell)
        x = enc[i] if i is not None else None
        if x is None:
            return self.sample(rng)
        d = np.abs(enc - x).sum(axis=1)
        d[i] = np.inf
        near = np.argpartition(d, self.mutation_pool)[: self.mutation_pool]
        return self.cell(int(near[int(rng.integers(len(near)))]))


_NB201_DATASETS = {"cifar10": "cifar10", "cifar10-valid": "cifar10", "cifar100": "cifar100",
                   "imagenet16-120": "ImageNet16-120"}


def _nb201(dataset: str, budget: int | None) -> Problem:
    from nasviz.bench import get_benchmark
    from nasviz.bench.nb201 import parse_dataset

    ds = parse_dataset(dataset)
    ds = "cifar10" if ds == "cifar10-valid" else ds
    bench = get_benchmark("nb201").with_budget(budget)
    signal_ds = "cifar10-valid" if ds == "cifar10" else ds
    report = {"test_200ep": ("test_acc", ds, 200)}
    if ds != "cifar10":
        report["valid_200ep"] = ("valid_acc", ds, 200)
    else:
        report["valid_200ep"] = ("valid_acc", "cifar10-valid", 200)
    return Problem(
        space_name="nb201", dataset=ds, space=bench.space, bench=bench,
        signal=("valid_acc", signal_ds, 12), report=report,
        flops=np.asarray(bench.column("flops", ds, None), dtype=np.float64),
    )


def _nb101(dataset: str, budget: int | None) -> Problem:
    from nasviz.bench import get_benchmark

    bench = get_benchmark("nb101").with_budget(budget)
    ds = str(dataset).lower()
    if ds not in ("cifar10",):
        raise NasvizError(f"NB101 has results on cifar10 only; got dataset {dataset!r}")
    # NB101 tables hold no FLOPs; params stand in as the cost for a limit (both are computed, not trained)
    flops = np.asarray(bench.column("params", "cifar10", None), dtype=np.float64)
    report = {"valid_108ep": ("valid_acc", "cifar10", 108)}
    if bench.has_test:
        report["test_108ep"] = ("test_acc", "cifar10", 108)
    return SampledProblem(
        space_name="nb101", dataset="cifar10", space=bench.space, bench=bench,
        signal=("valid_acc", "cifar10", 108), report=report, flops=flops,
    )


#: space name -> (dataset, budget) -> Problem
PROTOCOLS: dict[str, Callable[[str, int | None], Problem]] = {"nb201": _nb201, "nb101": _nb101}
#: datasets accepted per space (for early validation)
DATASETS: dict[str, tuple[str, ...]] = {"nb201": ("cifar10", "cifar100", "ImageNet16-120"), "nb101": ("cifar10",)}


def make_problem(space: str, dataset: str, budget: int | None = None) -> Problem:
    key = str(space).lower()
    if key not in PROTOCOLS:
        raise NasvizError(f"unknown space {space!r}; accepted: {', '.join(sorted(PROTOCOLS))}")
    try:
        return PROTOCOLS[key](dataset, budget)
    except ImportError as e:  # a space whose benchmark has not landed in this install
        raise NasvizError(f"space {space!r} is not available in this install ({e})") from e
