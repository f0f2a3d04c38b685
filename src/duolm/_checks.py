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


def _in_open_unit(value: object, name: str, what: str) -> float:
    """``value`` as a float strictly between 0 and 1 (a bool or a string is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} is {what} in (0, 1), got {value!r}")
    number = float(value)
    if not 0.0 < number < 1.0:  # NaN fails too
        raise ValueError(f"{name} is {what} in (0, 1), got {value!r}")
    return number


def check_alpha(alpha: object) -> float:
    """``alpha`` as a float: a significance level in (0, 1), and nothing else."""
    return _in_open_unit(alpha, "alpha", "a significance level")


def check_alias_tol(tol: object) -> float:
    """``tol`` as a float; refuse what is not a relative tolerance in (0, 1).

    A NaN or non-positive tolerance would keep exactly collinear columns (and
    divide by their rounding errors); one of 1 or more would alias every column.
    """
    return _in_open_unit(tol, "alias_tol", "a relative tolerance")


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
