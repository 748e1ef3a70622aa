"""Run configuration: validated before anything is written, stored as JSON with the run.

:func:`validate_config` checks every user input (strategy, space, dataset, budget,
strategy parameters, region, device, backend) and returns a :class:`RunConfig` with
defaults resolved; it opens no store. :func:`build` turns a stored configuration into
``(problem, strategy)`` for a worker.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.errors import NasvizError

BACKENDS = ("local", "ray")
DEVICES = ("cpu", "cuda")


@dataclass
class RunConfig:
    strategy: str
    space: str = "nb201"
    dataset: str = "cifar10"
    budget: int = 100
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # strategy parameters, defaults resolved
    region: dict | None = None  # region search: the user's region (see nasviz.search.region)
    device: str = "cpu"
    backend: str = "local"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def validate_config(
    strategy: str,
    space: str = "nb201",
    dataset: str = "cifar10",
    budget: int = 100,
    seed: int = 0,
    params: dict | None = None,
    region: dict | str | Path | None = None,
    device: str = "cpu",
    backend: str = "local",
    preflight: bool = True,
) -> RunConfig:
    """A resolved configuration, or a :class:`NasvizError` saying what is wrong (nothing written).

    With ``preflight`` the strategy is built once (and discarded), so what only shows when
    it is built -- a missing embedding or checkpoint, a space the controller does not
    know -- is refused here rather than leaving a failed run in the store.

    ``device="cuda"`` is refused for a strategy that computes nothing with torch (with
    these parameters), and, on the local backend, when torch sees no CUDA device here.
    A Ray run's GPU is checked against the cluster by :func:`nasviz.search.jobs.submit`
    (the submitting machine need not have one); its preflight builds on the CPU.
    """
    from nasviz.search.problem import DATASETS, PROTOCOLS
    from nasviz.search.strategies import STRATEGIES, get_strategy

    cls = get_strategy(strategy)
    sp = str(space).strip().lower()
    if sp not in PROTOCOLS:
        raise NasvizError(f"unknown space {space!r}; accepted: {', '.join(sorted(PROTOCOLS))}")
    try:
        b = int(budget)
    except (TypeError, ValueError):
        raise NasvizError(f"budget must be a positive integer number of queries; got {budget!r}") from None
    if b <= 0 or b != budget:
        raise NasvizError(f"budget must be a positive integer number of queries; got {budget!r}")
    accepted = DATASETS[sp]
    ds = {d.lower(): d for d in accepted}.get(str(dataset).strip().lower())
    if sp == "nb201" and ds is None:
        from nasviz.bench.nb201 import parse_dataset

        try:
            ds = {"cifar10-valid": "cifar10"}.get(parse_dataset(dataset), parse_dataset(dataset))
        except NasvizError:
            ds = None
    if ds is None:
        raise NasvizError(f"unknown dataset {dataset!r} for {sp}; accepted: {', '.join(accepted)}")
    dev = str(device).strip().lower()
    if dev not in DEVICES:
        raise NasvizError(f"unknown device {device!r}; accepted: {', '.join(DEVICES)}")
    be = str(backend).strip().lower()
    if be not in BACKENDS:
        raise NasvizError(f"unknown backend {backend!r}; accepted: {', '.join(BACKENDS)}")
    try:
        sd = int(seed)
    except (TypeError, ValueError):
        raise NasvizError(f"seed must be an integer; got {seed!r}") from None
    if sd < 0:
        raise NasvizError(f"seed must be >= 0; got {seed}")
    resolved = cls.resolve_params(dict(params or {}), sp)
    from nasviz.search.problem import make_problem

    n_cells = make_problem(sp, ds, budget=None).n_cells
    if b > n_cells:  # it would query every cell, then fail for want of new ones
        raise NasvizError(f"budget {b:,} is larger than the {n_cells:,} cells the {sp} {ds} benchmark can answer; "
                          f"give --budget 1..{n_cells:,}")
    if dev != "cpu" and not cls.computes_on_device(resolved):
        on = ", ".join(n + (" (surrogate dngo)" if n == "arch2vec-bo" else "")
                       for n, c in sorted(STRATEGIES.items()) if c.uses_device)
        why = " with surrogate 'gp' (scikit-learn)" if cls.name == "arch2vec-bo" else ""
        raise NasvizError(f"strategy {cls.name!r} computes nothing with torch{why}, so device {dev!r} would have "
                          f"no effect; use device cpu (cuda applies to {on})")
    if dev == "cuda" and be == "local":
        from nasviz.search.numerics import check_device

        check_device(dev)
    reg = None
    if region is not None:
        from nasviz.search.region import load_region

        reg = load_region(region, sp)
        if not getattr(cls, "takes_region", False):
            raise NasvizError(f"strategy {cls.name!r} takes no region; use --strategy region")
    elif getattr(cls, "needs_region", False):
        raise NasvizError(f"strategy {cls.name!r} needs a region (--region FILE)")
    cfg = RunConfig(strategy=cls.name, space=sp, dataset=ds, budget=b, seed=sd, params=resolved, region=reg,
                    device=dev, backend=be)
    if reg is not None:  # a region with no cell is refused here, before anything is stored
        from nasviz.search.region import region_mask

        region_mask(reg, sp)
    json.dumps(cfg.to_dict())  # must be storable
    if preflight:
        build(RunConfig(**{**cfg.to_dict(), "device": "cpu"}) if be == "ray" else cfg)
    return cfg


def build(cfg: RunConfig | dict):
    """``(problem, strategy)`` for a stored configuration; the strategy is seeded from ``cfg.seed``.

    The strategy is built with one compute thread (:mod:`nasviz.search.numerics`), as
    :func:`nasviz.search.loop.run_loop` runs it: what a constructor computes (e.g. the
    FLOPs predictor of dense sampling) is the same in every process.
    """
    from nasviz.search.numerics import one_thread
    from nasviz.search.problem import make_problem
    from nasviz.search.strategies import get_strategy

    if isinstance(cfg, dict):
        cfg = RunConfig.from_dict(cfg)
    problem = make_problem(cfg.space, cfg.dataset, budget=None)
    cls = get_strategy(cfg.strategy)
    rng = np.random.default_rng(int(cfg.seed))
    kwargs = dict(cfg.params)
    if cfg.region is not None:
        kwargs["region"] = cfg.region
    if getattr(cls, "uses_device", False):
        kwargs["device"] = cfg.device
    with one_thread(torch=getattr(cls, "uses_device", False)):
        strategy = cls(problem, rng, **kwargs)
    return problem, strategy
