"""duolm: linear regression read two ways on one exact square-root core."""

from __future__ import annotations

from duolm import datasets
from duolm.core import SqrtStat
from duolm.errors import DataError, FormulaError, PriorError, RankWarning, StateFileError
from duolm.ols import OLSResults, ols

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "FormulaError",
    "OLSResults",
    "PriorError",
    "RankWarning",
    "SqrtStat",
    "StateFileError",
    "__version__",
    "datasets",
    "ols",
]
