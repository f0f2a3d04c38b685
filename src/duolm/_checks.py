"""One home for every check of an argument that more than one room takes.

The entry functions (:mod:`duolm._api`) call these once, at the door, and
pass the checked values down; the rooms below trust them. Each message names
the parameter and what it accepts.
"""

from __future__ import annotations

import numbers
from typing import Literal, get_args

from duolm.errors import DataError

__all__ = [
    "COV_TYPES",
    "CovType",
    "Missing",
    "check_alias_tol",
    "check_alpha",
    "check_cov_type",
    "check_missing",
    "check_positive_int",
    "check_residual_rows",
]

#: How rows with a missing value in a used column are treated.
Missing = Literal["drop", "raise"]

#: Covariances of the least-squares estimate (robust ones need the residuals).
CovType = Literal["nonrobust", "HC0", "HC1", "HC2", "HC3"]
COV_TYPES: tuple[str, ...] = get_args(CovType)


def check_alpha(alpha: object) -> float:
    """``alpha`` as a float: a significance level in (0, 1), and nothing else."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise ValueError(f"alpha is a significance level in (0, 1), got {alpha!r}")
    value = float(alpha)
    if not 0.0 < value < 1.0:
        raise ValueError(f"alpha is a significance level in (0, 1), got {alpha!r}")
    return value


def check_alias_tol(tol: object) -> float:
    """``tol`` as a float; refuse what is not a relative tolerance in (0, 1).

    A NaN or non-positive tolerance would keep exactly collinear columns (and
    divide by their rounding errors); one of 1 or more would alias every column.
    """
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise ValueError(f"alias_tol must be a number in (0, 1), got {tol!r}")
    value = float(tol)
    if not 0.0 < value < 1.0:
        raise ValueError(f"alias_tol must be a number in (0, 1), got {tol!r}")
    return value


def check_missing(missing: object) -> Missing:
    """``missing`` as given, when it is one of the two policies."""
    if missing == "drop":
        return "drop"
    if missing == "raise":
        return "raise"
    raise ValueError(f"missing must be 'drop' or 'raise', got {missing!r}")


def check_cov_type(cov_type: object, *, residuals: bool = True) -> CovType:
    """``cov_type`` as given; a robust one needs the residuals (``residuals``)."""
    if not isinstance(cov_type, str) or cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}")
    if cov_type != "nonrobust" and not residuals:
        raise ValueError(
            f"cov_type={cov_type!r} needs the residuals of the second pass: use diagnostics=True"
        )
    checked: CovType = cov_type  # type: ignore[assignment]
    return checked


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int >= 1 (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_residual_rows(n: int, rank: int, where: str = "") -> None:
    """Refuse a fit that leaves no residual degree of freedom (``n <= rank``).

    ``where`` (a file, a partition) starts the message when given.
    """
    if n <= rank:
        prefix = f"{where}: " if where else ""
        raise DataError(
            f"{prefix}too few rows: {n} observation(s) for {rank} coefficient(s); at least "
            f"{rank + 1} are needed to estimate the residual variance"
        )
