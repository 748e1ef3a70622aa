"""Search: strategies (ask/tell), the run loop, run history in SQLite, background jobs.

* :mod:`nasviz.search.store` -- runs, trials, artifacts (stdlib sqlite3)
* :mod:`nasviz.search.strategies` -- ``STRATEGIES`` registry (random, evolution,
  reinforce, arch2vec-bo, arch2vec-rl, dense, region)
* :mod:`nasviz.search.loop` -- budget, duplicates, invalid proposals, replay on resume
* :mod:`nasviz.search.jobs` -- local worker processes or Ray, heartbeats, cancel, reaping
* :mod:`nasviz.search.runs` -- validated run configuration

Importing this package is cheap (no torch); strategies import what they need.
"""

from nasviz.search.store import Run, RunState, Store, Trial, TrialState, default_db_path

__all__ = ["Run", "RunState", "Store", "Trial", "TrialState", "default_db_path"]
