"""Architecture distributions over time on the NB201 space.

* :mod:`~nasviz.distributions.supernet` — the weight-sharing NB201 supernet and its data
  (scikit-learn digits, or a CIFAR-10 python-batch folder);
* :mod:`~nasviz.distributions.estimators` — REINFORCE, Gumbel-Softmax, REBAR, RELAX
  gradient estimators for factorial categorical distributions (UNAS, paper 004);
* :mod:`~nasviz.distributions.learners` — DARTS, GDAS-style Gumbel, VIM-NAS (paper 002)
  and UNAS learners; :data:`~nasviz.distributions.learners.METHODS`;
* :mod:`~nasviz.distributions.run` — :func:`run_search`, one run with per-step records;
* :mod:`~nasviz.distributions.results` — :class:`RunResult`, the convergence criterion,
  edge mutual information, run folders;
* :mod:`~nasviz.distributions.job` — a run as a background job of the search job system
  (queued/running/complete/failed/cancelled in the run database, one stored trial per step,
  cancel, resume);
* :mod:`~nasviz.distributions.figures` — Plotly figures (no Streamlit).
"""
