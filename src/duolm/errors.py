"""Exceptions and warnings raised by duolm.

Every error names what is wrong (the column, the row, the parameter) so the
user can fix the input without reading a traceback.
"""

from __future__ import annotations

__all__ = [
    "CovarianceWarning",
    "DataError",
    "FormulaError",
    "MissingValuesWarning",
    "PerfectFitWarning",
    "PriorError",
    "RankWarning",
    "StateFileError",
]


class DataError(ValueError):
    """The data cannot be fitted as given (missing, non-finite, text, too few rows...)."""


class FormulaError(ValueError):
    """A formula is malformed, refers to unknown names, or uses forbidden code."""


class PriorError(ValueError):
    """A prior's hyperparameters are invalid (V not positive definite, a <= 0, ...)."""


class StateFileError(ValueError):
    """A saved state file is corrupt, foreign, or of an unsupported version."""


class MissingValuesWarning(UserWarning):
    """Rows with missing values were dropped (``missing="drop"``, the default); the
    count is in the message and in the summary."""


class RankWarning(UserWarning):
    """Some columns of the design are linear combinations of others (aliased)."""


class PerfectFitWarning(UserWarning):
    """The residuals are at rounding level: t, F and p values are undefined where they
    would only divide rounding errors (R's "essentially perfect fit")."""


class CovarianceWarning(UserWarning):
    """A robust covariance is not positive semidefinite: some estimate's variance came
    out negative (two-way clusters, HAC with uniform weights), and its standard error,
    t and p values and interval are NaN; the message names the terms."""
