"""Search strategies: one ask/tell interface, seeded, rebuildable from stored trials.

A strategy is built from ``(problem, rng, **params)``; the run loop
(:func:`nasviz.search.loop.run_loop`) calls ``ask()`` for the next cell to query and
``tell(cell, value)`` with its value. ``ask`` may also return :class:`Invalid`
(a latent point that decodes to no cell) and may propose a cell already queried:
the loop handles both without spending budget, counts them in the run's statistics,
and still tells the strategy (``value=None`` for an invalid proposal, the known
value for a duplicate).

State is rebuilt from storage by replay (optuna's samplers do the same with their
history): a resumed run builds the strategy again with the same seed and parameters
and feeds it the stored trials through the same ask/tell sequence. Because every
random number comes from the injected :class:`numpy.random.Generator` (and torch
generators seeded from it), the replay reaches exactly the state of the interrupted
run; the loop checks that every replayed proposal matches the stored trial.

``STRATEGIES`` maps a name to its class; ``validate_params`` checks user parameters
before anything is written.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from nasviz.errors import NasvizError


@dataclass(frozen=True)
class Invalid:
    """A proposal that is no cell of the space (e.g. a decoded latent point)."""

    reason: str


class Strategy(abc.ABC):
    """Base of every strategy. Subclasses set ``name``, ``defaults`` and implement ask/tell."""

    name: ClassVar[str]
    #: parameter -> default (the accepted keys; ``None`` means "space-dependent")
    defaults: ClassVar[dict[str, Any]] = {}
    #: True when the strategy needs a pretrained latent model / embedding
    latent: ClassVar[bool] = False
    #: True when the strategy computes with torch and takes ``device`` ("cpu" or "cuda")
    uses_device: ClassVar[bool] = False

    def __init__(self, problem, rng: np.random.Generator, *, device: str = "cpu", **params: Any) -> None:
        self.problem = problem
        self.rng = rng
        self.params = self.resolve_params(params, problem.space_name)
        self.device = str(device).strip().lower()
        if self.device != "cpu" and not self.computes_on_device(self.params):
            raise NasvizError(f"strategy {self.name!r} computes nothing with torch with these parameters, so "
                              f"device {device!r} would have no effect; use device cpu")

    @classmethod
    def computes_on_device(cls, params: dict[str, Any]) -> bool:
        """Whether ``device`` changes where this strategy computes, for resolved ``params``."""
        return cls.uses_device

    @classmethod
    def resolve_params(cls, params: dict[str, Any], space_name: str) -> dict[str, Any]:
        unknown = sorted(set(params) - set(cls.defaults))
        if unknown:
            raise NasvizError(
                f"unknown parameter(s) {', '.join(unknown)} for strategy {cls.name!r}; "
                f"accepted: {', '.join(sorted(cls.defaults)) or 'none'}"
            )
        for k, v in params.items():
            _check_type(cls.name, k, v, cls.defaults[k])
        out = dict(cls.defaults)
        out.update({k: v for k, v in params.items()})
        out = cls.space_defaults(out, space_name)
        cls.check(out, space_name)
        return out

    @classmethod
    def space_defaults(cls, params: dict[str, Any], space_name: str) -> dict[str, Any]:
        return params

    @classmethod
    def check(cls, params: dict[str, Any], space_name: str) -> None:
        """Raise NasvizError for bad parameter values."""

    @abc.abstractmethod
    def ask(self) -> Any:
        """The next cell to query (or :class:`Invalid`)."""

    @abc.abstractmethod
    def tell(self, cell: Any, value: float | None) -> None:
        """The value of a proposal (None for an invalid one)."""


def _check_type(strategy: str, key: str, value: Any, default: Any) -> None:
    """A parameter of the kind its default has: a whole number (64 bits) for an int, a finite number for a
    float, true/false for a bool, text for text; a space-dependent default (None) takes a finite number,
    text or null. Raises NasvizError naming the parameter and what it accepts."""
    import math

    def bad(kind: str) -> NasvizError:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
        return NasvizError(f"{strategy}: {key} must be {kind}; got {shown}")

    if isinstance(value, bool) or isinstance(default, bool):
        if isinstance(default, bool) and not isinstance(value, bool):
            raise bad("true or false")
        if isinstance(value, bool) and default is not None and not isinstance(default, bool):
            raise bad("a number" if isinstance(default, (int, float)) else "text")
        return
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise bad("a whole number within 64 bits")
    if isinstance(value, float) and not math.isfinite(value):
        raise bad("a finite number")
    if isinstance(default, int):
        if not isinstance(value, int):
            raise bad("a whole number")
    elif isinstance(default, float):
        if not isinstance(value, (int, float)):
            raise bad("a number")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise bad("text (one of the accepted names)")
    elif default is None and not (value is None or isinstance(value, (int, float, str))):
        raise bad("a number, a name or null")


def _positive_int(params: dict, key: str, name: str) -> None:
    v = params.get(key)
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or int(v) <= 0:
        raise NasvizError(f"{name}: {key} must be a positive integer; got {v!r}")


# The strategy modules import torch only inside their constructors, so this is cheap.
from nasviz.search.strategies.baselines import RandomSearch, RegularizedEvolution  # noqa: E402
from nasviz.search.strategies.reinforce import Reinforce  # noqa: E402
from nasviz.search.strategies.latent import Arch2VecBO, Arch2VecRL  # noqa: E402
from nasviz.search.strategies.dense import DenseSampling, RegionSearch  # noqa: E402

#: strategy name -> class
STRATEGIES: dict[str, type[Strategy]] = {
    c.name: c for c in (RandomSearch, RegularizedEvolution, Reinforce, Arch2VecBO, Arch2VecRL, DenseSampling,
                        RegionSearch)
}


def get_strategy(name: str) -> type[Strategy]:
    key = str(name).strip().lower()
    if key not in STRATEGIES:
        raise NasvizError(f"unknown strategy {name!r}; accepted: {', '.join(sorted(STRATEGIES))}")
    return STRATEGIES[key]


def validate_params(name: str, params: dict[str, Any], space_name: str) -> dict[str, Any]:
    """Resolved parameters (defaults filled in) or a NasvizError; builds nothing."""
    return get_strategy(name).resolve_params(dict(params or {}), space_name)


__all__ = ["Invalid", "Strategy", "STRATEGIES", "get_strategy", "validate_params"]
