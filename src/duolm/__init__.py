"""duolm: linear regression read two ways on one exact square-root core.

The frequentist reading, :func:`ols`, and the Bayesian one, :func:`bayes`
with the conjugate prior :class:`NIG`, are computed from the same
square-root sufficient statistic (:class:`SqrtStat`).

Note that the functions ``bayes``, ``compare`` and ``trajectory`` share their
names with the modules that define them; import other names from those
modules with ``from duolm.bayes import ...``.
"""

from __future__ import annotations

from duolm import datasets
from duolm.bayes import NIG, BayesResults, bayes
from duolm.compare import compare, side_by_side
from duolm.core import SqrtStat
from duolm.errors import DataError, FormulaError, PriorError, RankWarning, StateFileError
from duolm.ols import OLSResults, ols
from duolm.state import load, save
from duolm.trajectory import trajectory

__version__ = "0.1.0"

__all__ = [
    "NIG",
    "BayesResults",
    "DataError",
    "FormulaError",
    "OLSResults",
    "PriorError",
    "RankWarning",
    "SqrtStat",
    "StateFileError",
    "__version__",
    "bayes",
    "compare",
    "datasets",
    "load",
    "ols",
    "save",
    "side_by_side",
    "trajectory",
]
