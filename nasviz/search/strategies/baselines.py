"""Baselines: random search and regularized evolution.

Regularized evolution (Real et al., AAAI 2019, "aging evolution"): keep the last
``population`` evaluated cells; each new cell is a one-edge mutation of the best of
``sample`` cells drawn at random from the population; the oldest cell dies.

Population and sample sizes follow the benchmark papers' own baselines:

* NB201: population 10, sample 3 -- NAS-Bench-201's REA script
  (``scripts-search/algos/R-EA.sh`` in D-X-Y/AutoDL-Projects: ``--ea_population 10``,
  sample size 3 as in its README's ``R-EA.sh cifar10 3 -1``; NATS-Bench uses the same).
* NB101: population 100, sample 10 -- the NAS-Bench-101 reproduction arch2vec compares
  against (automl/nas_benchmarks ``run_regularized_evolution.py`` defaults
  ``--pop_size 100 --sample_size 10``).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from nasviz.errors import NasvizError
from nasviz.search.strategies import Strategy, _positive_int

#: (population, sample) per space, see the module docstring
REA_SIZES = {"nb201": (10, 3), "nb101": (100, 10)}


class RandomSearch(Strategy):
    """Uniformly random cells (duplicates are skipped by the loop at no budget)."""

    name = "random"
    defaults: dict[str, Any] = {}

    def ask(self):
        return self.problem.sample(self.rng)

    def tell(self, cell, value) -> None:
        pass


class RegularizedEvolution(Strategy):
    name = "evolution"
    defaults: dict[str, Any] = {"population": None, "sample": None}

    @classmethod
    def space_defaults(cls, params, space_name):
        p, s = REA_SIZES.get(space_name, (10, 3))
        params["population"] = p if params["population"] is None else params["population"]
        params["sample"] = s if params["sample"] is None else params["sample"]
        return params

    @classmethod
    def check(cls, params, space_name) -> None:
        _positive_int(params, "population", cls.name)
        _positive_int(params, "sample", cls.name)
        if params["sample"] > params["population"]:
            raise NasvizError(
                f"evolution: sample ({params['sample']}) must not exceed population ({params['population']})"
            )

    def __init__(self, problem, rng, **params) -> None:
        super().__init__(problem, rng, **params)
        self.population: deque = deque(maxlen=int(self.params["population"]))
        self._told = 0
        self._seen: set[int] = set()

    def ask(self):
        P, S = int(self.params["population"]), int(self.params["sample"])
        if self._told < P:  # initial population: random cells
            return self.problem.sample(self.rng)
        pop = list(self.population)
        picks = self.rng.choice(len(pop), size=S, replace=False)
        parent = max((pop[int(i)] for i in picks), key=lambda cv: cv[1])[0]
        return self.problem.mutate(parent, self.rng)

    def tell(self, cell, value) -> None:
        if value is None or self.problem.index(cell) in self._seen:
            return  # invalid, or a duplicate: the population keeps distinct queried cells
        self._seen.add(self.problem.index(cell))
        self._told += 1
        self.population.append((cell, float(value)))  # the oldest dies (deque maxlen)
