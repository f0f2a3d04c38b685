"""duolm: linear regression read two ways on one exact square-root core."""

from __future__ import annotations

from duolm.errors import DataError, FormulaError, PriorError, RankWarning, StateFileError

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "FormulaError",
    "PriorError",
    "RankWarning",
    "StateFileError",
    "__version__",
]
