"""duolm: linear regression read two ways on one exact square-root core.

The frequentist reading, :func:`ols`, and the Bayesian one, :func:`bayes`
with the conjugate prior :class:`NIG`, are read off the same square-root
sufficient statistic (:class:`SqrtStat`); :func:`reduce` makes the
:class:`Reduction` both are read from, in one pass over data of any kind.

The package's folders are its layers (DESIGN.md, "Layers"): ``core/`` (the
statistic and everything that factors), ``design/`` (formulas and columns),
``frequentist/`` and ``bayesian/`` (the two readings and their results),
``reduction`` (what a pass leaves), ``_stream/`` and ``dask`` (adapters that
feed the core), ``_api`` (the entry functions), ``present/`` and ``cli/``.
"""

from __future__ import annotations

from duolm import datasets
from duolm._api import (
    bayes,
    bma,
    changepoints,
    compare,
    glsar,
    iter_trajectory,
    ols,
    reduce,
    trajectory,
    write_influence,
    write_trajectory,
)
from duolm._version import __version__
from duolm.bayesian import NIG, BayesResults, BMAResults, Changepoints, Online, side_by_side
from duolm.core import SqrtStat
from duolm.errors import (
    DataError,
    FormulaError,
    PerfectFitWarning,
    PriorError,
    RankWarning,
    StateFileError,
)
from duolm.frequentist import GLSARResults, OLSResults, anova
from duolm.present import plots
from duolm.reduction import Reduction
from duolm.state import load_bayes, load_fit, load_posterior, save

__all__ = [
    "NIG",
    "BMAResults",
    "BayesResults",
    "Changepoints",
    "DataError",
    "FormulaError",
    "GLSARResults",
    "OLSResults",
    "Online",
    "PerfectFitWarning",
    "PriorError",
    "RankWarning",
    "Reduction",
    "SqrtStat",
    "StateFileError",
    "__version__",
    "anova",
    "bayes",
    "bma",
    "changepoints",
    "compare",
    "datasets",
    "glsar",
    "iter_trajectory",
    "load_bayes",
    "load_fit",
    "load_posterior",
    "ols",
    "plots",
    "reduce",
    "save",
    "side_by_side",
    "trajectory",
    "write_influence",
    "write_trajectory",
]
