"""The ask/tell loop: budget, duplicates, invalid proposals, replay of stored trials.

The budget counts benchmark queries only (distinct cells). A proposal that is
:class:`~nasviz.search.strategies.Invalid`, or a cell without a benchmark result,
or a cell already queried in this run costs nothing; each is counted in
:class:`RunStats` and the strategy is still told (its known value for a duplicate,
``None`` otherwise).

``history`` (the stored trials of an interrupted run) is replayed through the same
sequence: proposal ``n`` must be the stored trial ``n`` (else
:class:`ReplayMismatch`), and its stored value is told instead of a new query.

The loop runs with one compute thread (:func:`nasviz.search.numerics.one_thread`), as
strategies are built by :func:`nasviz.search.runs.build`: a seeded run gives the same
trials in a worker, in a benchmark and in a caller's process whatever its thread count.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

from nasviz.errors import NasvizError
from nasviz.search.numerics import one_thread
from nasviz.search.store import Trial, TrialState
from nasviz.search.strategies import Invalid, Strategy

#: asks in a row that bring no new query before a run is declared stalled
MAX_STALL = 20_000


class ReplayMismatch(NasvizError):
    """A resumed strategy proposed another cell than the stored trial at the same position."""


class Cancelled(Exception):
    """Raised inside the loop when the run was asked to stop."""


@dataclass
class RunStats:
    asks: int = 0
    queries: int = 0  # new benchmark queries (= trials)
    replayed: int = 0  # stored trials fed back on resume
    duplicates: int = 0  # proposals already queried in this run (no budget)
    invalid: int = 0  # proposals that are no cell (e.g. a latent point that decodes to nothing)
    unavailable: int = 0  # cells without a benchmark result
    best_value: float | None = None
    best_number: int | None = None
    ask_seconds: float = 0.0  # time inside strategy.ask/tell
    query_seconds: float = 0.0  # time inside benchmark queries

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LoopResult:
    trials: list[Trial] = field(default_factory=list)
    stats: RunStats = field(default_factory=RunStats)


def run_loop(
    problem,
    strategy: Strategy,
    budget: int,
    *,
    history: Sequence[Trial] = (),
    on_trial: Callable[[Trial, RunStats], None] | None = None,
    check_cancel: Callable[[int, RunStats], bool] | None = None,
    max_stall: int = MAX_STALL,
) -> LoopResult:
    """Drive ``strategy`` until ``budget`` distinct cells were queried (stored ones included)."""
    with one_thread():
        return _run_loop(problem, strategy, budget, history, on_trial, check_cancel, max_stall)


def _run_loop(problem, strategy, budget, history, on_trial, check_cancel, max_stall) -> LoopResult:
    if int(budget) <= 0:
        raise NasvizError(f"budget must be a positive number of queries; got {budget}")
    replay = [t for t in history if t.state == TrialState.COMPLETE]
    if len(replay) > budget:
        raise NasvizError(f"the run already has {len(replay)} trials, more than its budget {budget}")
    res = LoopResult()
    st = res.stats
    values: dict[int, float] = {}
    n = 0
    stall = 0
    while n < budget:
        if check_cancel is not None and check_cancel(n, st):
            raise Cancelled()
        t0 = time.perf_counter()
        cell = strategy.ask()
        st.ask_seconds += time.perf_counter() - t0
        st.asks += 1
        idx = None if isinstance(cell, Invalid) else problem.index(cell)
        if idx is None or idx in values:
            if isinstance(cell, Invalid):
                st.invalid += 1
                known = None
            elif idx is None:
                st.unavailable += 1
                known = None
            else:
                st.duplicates += 1
                known = values[idx]
            t0 = time.perf_counter()
            strategy.tell(cell, known)
            st.ask_seconds += time.perf_counter() - t0
            stall += 1
            if stall >= max_stall:
                raise NasvizError(
                    f"strategy {strategy.name!r} proposed {stall} cells in a row without a new one "
                    f"({st.duplicates} duplicates, {st.invalid} invalid so far); stopping the run"
                )
            continue
        stall = 0
        if n < len(replay):
            stored = replay[n]
            if stored.cell_index != idx:
                raise ReplayMismatch(
                    f"resume diverged at trial {n}: the strategy proposed cell #{idx}, the store has "
                    f"#{stored.cell_index} (were the strategy or its parameters changed?)"
                )
            value = float(stored.value)
            st.replayed += 1
        else:
            started = time.time()
            t0 = time.perf_counter()
            value = problem.evaluate(cell)
            dt = time.perf_counter() - t0
            st.query_seconds += dt
            st.queries += 1
            trial = Trial(number=n, cell=problem.cell_str(cell), cell_index=idx, value=value,
                          state=TrialState.COMPLETE, started_at=started, finished_at=time.time(), duration_s=dt)
            res.trials.append(trial)
        values[idx] = value
        if st.best_value is None or value > st.best_value:
            st.best_value, st.best_number = value, n
        if n >= len(replay) and on_trial is not None:
            on_trial(res.trials[-1], st)
        n += 1
        t0 = time.perf_counter()
        strategy.tell(cell, value)
        st.ask_seconds += time.perf_counter() - t0
    return res
