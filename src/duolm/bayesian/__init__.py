"""The Bayesian reading: the exact conjugate Normal-inverse-gamma posterior.

- :class:`NIG` (:mod:`._nig`): prior and posterior, updated, merged and
  forgotten through the core's square-root statistic, with its evidence;
- :class:`BayesResults` (:mod:`._results`): what is read off a posterior,
  built from a core state by class methods; :func:`checked_prior` is the one
  check of a prior against a design;
- :mod:`._trajectory`: the posterior after every row (over the core's
  Givens kernel), and :func:`credible_path` (:mod:`._bands`): its credible
  intervals after every row;
- :mod:`._averaging`: Bayesian model averaging over subsets of the terms
  (:class:`BMAResults`, :func:`average`; its kernels in :mod:`._averaging_kernel`);
- :mod:`._empirical`: the empirical Bayes prior scale (:func:`empirical_prior`);
- :mod:`._ppc`: posterior predictive checks (:meth:`BayesResults.ppc`, :class:`PPCResult`);
- :mod:`._comparison`: models compared by criteria and evidence, one model
  read both ways (:func:`side_by_side`);
- :mod:`._summary`: the printed table;
- :class:`Changepoints` (:mod:`._changepoints`): where the regression changes
  (Adams & MacKay's run-length posterior over the core's recursion), each
  segment read both ways;
- :class:`Online` (:mod:`._online`): the fit of a stream that never ends,
  batch by batch, with forgetting and checkpoints (NIG entries of state
  files: :mod:`._serial`).
"""

from __future__ import annotations

from duolm.bayesian._averaging import BMAResults, average
from duolm.bayesian._bands import credible_path
from duolm.bayesian._changepoints import Changepoints, Segment
from duolm.bayesian._comparison import (
    COLUMNS as COMPARE_COLUMNS,
)
from duolm.bayesian._comparison import (
    PriorFactory,
    SideBySide,
    compare_fits,
    side_by_side,
    unit_information_prior,
)
from duolm.bayesian._empirical import EmpiricalPrior, empirical_prior
from duolm.bayesian._fit import BayesFit, check_prior_type, checked_prior, default_prior
from duolm.bayesian._nig import NIG, log_evidence_between, precision_factor
from duolm.bayesian._online import Online
from duolm.bayesian._ppc import PPCResult
from duolm.bayesian._results import BayesResults
from duolm.bayesian._trajectory import COLUMNS as TRAJECTORY_COLUMNS
from duolm.bayesian._trajectory import posterior_path

__all__ = [
    "COMPARE_COLUMNS",
    "NIG",
    "TRAJECTORY_COLUMNS",
    "BMAResults",
    "BayesFit",
    "BayesResults",
    "Changepoints",
    "EmpiricalPrior",
    "Online",
    "PPCResult",
    "PriorFactory",
    "Segment",
    "SideBySide",
    "average",
    "check_prior_type",
    "checked_prior",
    "compare_fits",
    "credible_path",
    "default_prior",
    "empirical_prior",
    "log_evidence_between",
    "posterior_path",
    "precision_factor",
    "side_by_side",
    "unit_information_prior",
]
