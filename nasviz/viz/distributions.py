"""Stored architecture-distribution runs for the app (figures: :mod:`nasviz.distributions.figures`).

Runs are folders ``<root>/<variant>-seed<N>/`` (``result.json`` + ``history.npz``) written by
``nasviz distribution run`` / ``benchmarks/bench_distributions.py``; the benchmark's runs live
in ``benchmarks/results/distribution_runs/``. A variant (``darts@lr0.03``) is the method plus
the tag its runs were made with; figures group by it.

Runs recorded in the run database (``nasviz distribution run``, or a background job launched
from the app, :mod:`nasviz.distributions.job`) are listed by :func:`store_runs` as
``<method>@run<ID>-seed<N>``: each is its own variant.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from nasviz.errors import NasvizError
from nasviz.paths import REPO_ROOT, data_dir, user_dir

BENCHMARK_RUNS = REPO_ROOT / "benchmarks" / "results" / "distribution_runs"
_NAME = re.compile(r"^(?P<variant>.+)-seed(?P<seed>\d+)(?:-.*)?$")


def list_runs(root: Path | str | None = None) -> dict[str, Path]:
    """``{run name: folder}`` for every run folder under ``root``, sorted by variant then seed."""
    r = Path(root) if root else BENCHMARK_RUNS
    if not r.is_dir():
        return {}
    found = [p for p in r.iterdir() if (p / "result.json").is_file() and (p / "history.npz").is_file()]

    def key(p: Path):
        m = _NAME.match(p.name)
        return (m["variant"], int(m["seed"])) if m else (p.name, 0)

    return {p.name: p for p in sorted(found, key=key)}


def variant(name: str) -> str:
    m = _NAME.match(name)
    return m["variant"] if m else name


@dataclasses.dataclass(frozen=True)
class StoredRun:
    """A complete distribution run in a run database."""

    db: str
    run_id: int


def store_runs(db: Path | str | None = None) -> dict[str, StoredRun]:
    """``{"<method>@run<ID>-seed<N>": StoredRun}`` for the complete distribution runs in ``db`` (oldest first).

    ``db`` None: the default run database. A missing database lists nothing; a foreign file raises.
    """
    from nasviz.distributions.job import STRATEGY_PREFIX, list_distribution_runs
    from nasviz.search.store import RunState, Store, check_db_file, default_db_path

    path = Path(db) if db is not None else default_db_path()
    if not check_db_file(path):
        return {}
    with Store(path, create=False) as st:
        runs = list_distribution_runs(st, RunState.COMPLETE)
    return {f"{r.strategy.removeprefix(STRATEGY_PREFIX)}@run{r.id}-seed{r.seed}": StoredRun(str(path), r.id)
            for r in reversed(runs)}


def load_runs(runs: dict[str, Path | StoredRun], names) -> list:
    """The named runs as RunResults whose ``method`` is their variant (e.g. ``darts@lr0.03``)."""
    from nasviz.distributions.results import load_run, load_run_from_store

    out = []
    for n in names:
        if n not in runs:
            raise NasvizError(f"no distribution run {n!r}; available: {', '.join(runs)}")
        src = runs[n]
        r = load_run_from_store(src.run_id, src.db) if isinstance(src, StoredRun) else load_run(src)
        out.append(dataclasses.replace(r, method=variant(n)))
    return out


def app_data_roots() -> dict[str, Path]:
    """The folders the app may read a data set from, by the name a page shows for each (never a server path)."""
    return {"data/ (the project's data folder)": data_dir(), "data/ in the nasviz user folder": user_dir() / "data"}


def app_dataset(text: str) -> str:
    """What the app's Data box may name: ``"digits"``, or a folder inside :func:`app_data_roots`.

    A relative name is looked up in each root (``cifar10/cifar-10-batches-py``); an absolute path must
    lie inside one, after resolving links and ``..``. Anything else is refused with the same message,
    whether or not it exists, and no message lists a folder's contents: a browser user must not learn
    about the server's files through this box. Returns ``"digits"`` or the resolved folder.
    """
    t = str(text).strip()
    if not t or t.lower() == "digits":
        return "digits"
    names = " or ".join(app_data_roots())
    refused = NasvizError(f"the app reads data only from {names}; {t[:80]!r} is not a folder there. Give "
                          "'digits', or put a CIFAR-10 python-version folder (cifar-10-batches-py) under data/ "
                          "and give its name relative to data/, e.g. cifar10/cifar-10-batches-py")
    if "\0" in t:
        raise refused
    roots = [r.resolve() for r in app_data_roots().values()]
    p = Path(t)
    for cand in ([p] if p.is_absolute() else [r / p for r in roots]):
        try:
            resolved = cand.resolve()
        except (OSError, RuntimeError):
            continue
        if any(resolved.is_relative_to(r) for r in roots) and resolved.is_dir():
            return str(resolved)
    raise refused


def _hide_roots(message: str) -> str:
    """``message`` with the app's data roots written as the names the page shows, not server paths."""
    for name, root in app_data_roots().items():
        message = message.replace(str(root.resolve()), name.split(" ", 1)[0].rstrip("/"))
    return message


def launch(method: str, *, seed: int = 0, epochs: int = 3, max_steps: int | None = None, lam: float = 0.5,
           estimator: str = "rebar", dataset: str = "digits", device: str = "auto", backend: str = "local",
           db: Path | str | None = None, app: bool = False):
    """Validate and start one distribution run as a background job, as ``nasviz distribution run --detach``.

    Returns ``(db path, run id, handle)``; nothing is written when an input is refused. ``app``: the
    request comes from a browser, so ``dataset`` must pass :func:`app_dataset` and errors name the data
    folders, not their server paths.
    """
    from nasviz.distributions import job as DJ
    from nasviz.distributions.learners import LearnerConfig
    from nasviz.distributions.run import SearchConfig
    from nasviz.search.store import Store, check_db_file, default_db_path

    if lam is None or lam < 0:
        raise NasvizError(f"lambda must be >= 0 (the weight of |L_val - L_train| in UNAS Eq. 8); got {lam}")
    if app:
        dataset = app_dataset(dataset)
    cfg = SearchConfig(method=method, seed=int(seed), epochs=int(epochs), dataset=str(dataset).strip() or "digits",
                       device=device, max_steps=None if not max_steps else int(max_steps),
                       learner=LearnerConfig(lam=float(lam), estimator=estimator))
    try:
        job = DJ.validate_job(cfg, backend=backend)
    except NasvizError as e:
        if not app:
            raise
        raise type(e)(_hide_roots(str(e))) from e
    path = Path(db) if db is not None else default_db_path()
    check_db_file(path)
    with Store(path, create=True) as st:
        rid, handle = DJ.submit(st, job)
    return path, rid, handle


def job_status(db: Path | str, run_id: int):
    """``(run, partial RunResult or None)`` of a distribution run, reaping a dead worker first."""
    from nasviz.distributions.job import partial_result
    from nasviz.search.jobs import reap_stale
    from nasviz.search.store import Store

    with Store(db, create=False) as st:
        reap_stale(st)
        return st.get_run(run_id), partial_result(st, run_id)
