"""One home for every check of an argument that more than one room takes.

The entry functions (:mod:`duolm._api`) call these once, at the door, and
pass the checked values down; the rooms below trust them. Each message names
the parameter and what it accepts.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from duolm.errors import DataError

__all__ = [
    "COV_TYPES",
    "DEPENDENT_COV_TYPES",
    "KERNELS",
    "CovType",
    "Kernel",
    "Missing",
    "check_alias_tol",
    "check_alpha",
    "check_cov_kwds",
    "check_cov_type",
    "check_forget",
    "check_fraction",
    "check_group_columns",
    "check_hac_request",
    "check_kernel",
    "check_maxlags",
    "check_maxlags_rows",
    "check_missing",
    "check_nonnegative_int",
    "check_positive_int",
    "check_probability",
    "check_residual_rows",
    "check_tests_request",
    "check_weights",
]

#: How rows with a missing value in a used column are treated.
Missing = Literal["drop", "raise"]

#: Covariances of the least-squares estimate (robust ones need the residuals).
CovType = Literal["nonrobust", "HC0", "HC1", "HC2", "HC3", "HAC", "cluster"]
COV_TYPES: tuple[str, ...] = get_args(CovType)

#: Covariances of dependent errors: computed from the fitted rows (in memory).
DEPENDENT_COV_TYPES = ("HAC", "cluster")

#: Kernels of the HAC lag weights (statsmodels' ``weights_bartlett``, ``weights_uniform``).
Kernel = Literal["bartlett", "uniform"]
KERNELS: tuple[str, ...] = get_args(Kernel)

#: The ``cov_kwds`` each covariance type takes (statsmodels' names) and their defaults.
_COV_KWDS: dict[str, dict[str, Any]] = {
    "HAC": {"maxlags": None, "kernel": "bartlett", "use_correction": False},
    "cluster": {"groups": None, "use_correction": True},
}


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


def check_maxlags(maxlags: object) -> int:
    """HAC's ``maxlags`` as an int >= 0 (a bool is not a count)."""
    if isinstance(maxlags, bool) or not isinstance(maxlags, numbers.Integral) or maxlags < 0:
        raise ValueError(f"cov_kwds 'maxlags' must be a non-negative integer, got {maxlags!r}")
    return int(maxlags)


def check_maxlags_rows(maxlags: int, nobs: int) -> int:
    """``maxlags`` below the ``nobs`` rows fitted: a lag of ``nobs`` or more pairs no rows,
    and Bartlett's weights ``1 - l / (L + 1)`` of a longer ``L`` tend to 1 (the meat of
    all lags, ``(sum u)(sum u)^T``, which vanishes at the least-squares estimate)."""
    if maxlags >= nobs:
        raise DataError(
            f"cov_kwds 'maxlags' must be below the number of rows fitted ({nobs}), got "
            f"{maxlags}: HAC estimates the autocovariances up to that lag"
        )
    return maxlags


def check_kernel(kernel: object) -> Kernel:
    """HAC's ``kernel``: "bartlett" (Newey-West) or "uniform"."""
    if kernel not in KERNELS:
        raise ValueError(f"cov_kwds 'kernel' must be one of {KERNELS}, got {kernel!r}")
    return kernel  # type: ignore[return-value]


def check_cov_kwds(cov_type: CovType, cov_kwds: object) -> dict[str, Any] | None:
    """statsmodels' ``cov_kwds`` of ``cov_type``, checked, with their defaults filled in.

    "HAC": ``maxlags`` (None: the rule of :func:`duolm.core.default_maxlags`),
    ``kernel`` ("bartlett" or "uniform"), ``use_correction`` (False);
    "cluster": ``groups`` (required: a column name, one label per row, or two of
    either for two-way clustering), ``use_correction`` (True). The other
    covariance types take none (None is returned).
    """
    if cov_type not in _COV_KWDS:
        if cov_kwds:
            raise ValueError(
                f"cov_kwds apply to cov_type 'HAC' and 'cluster', not {cov_type!r}; "
                f"got {cov_kwds!r}"
            )
        return None
    if cov_kwds is None:
        cov_kwds = {}
    if not isinstance(cov_kwds, Mapping):
        raise ValueError(f"cov_kwds must be a mapping (dict), got {type(cov_kwds).__name__}")
    allowed = _COV_KWDS[cov_type]
    unknown = sorted(str(key) for key in cov_kwds if key not in allowed)
    if unknown:
        raise ValueError(
            f"cov_kwds for cov_type={cov_type!r} takes {list(allowed)}; unknown: {unknown}"
        )
    out = {**allowed, **cov_kwds}
    if not isinstance(out["use_correction"], bool):
        raise ValueError(
            f"cov_kwds 'use_correction' must be True or False, got {out['use_correction']!r}"
        )
    if cov_type == "HAC":
        if out["maxlags"] is not None:
            out["maxlags"] = check_maxlags(out["maxlags"])
        out["kernel"] = check_kernel(out["kernel"])
    elif out["groups"] is None:
        raise ValueError(
            "cov_type='cluster' needs cov_kwds={'groups': ...}: a column name, one label per "
            "row, or two of either for two-way clustering"
        )
    return out


def check_hac_request(hac: object) -> dict[str, Any] | None:
    """``reduce``'s ``hac``: None or False (none), True (the defaults) or HAC's ``cov_kwds``."""
    if hac is None or hac is False:
        return None
    if hac is True:
        hac = {}
    if not isinstance(hac, Mapping):
        raise ValueError(
            f"hac must be True or a dict of HAC's cov_kwds (maxlags, kernel), got {hac!r}"
        )
    return check_cov_kwds("HAC", hac)


def check_tests_request(tests: object) -> dict[str, Any] | None:
    """``reduce``'s ``tests``: None or False (none), True (the defaults) or a dict of
    ``maxlags`` (lags kept for Breusch-Godfrey and Ljung-Box, >= 1) and ``power`` (the
    highest power of the fitted values for RESET, >= 2)."""
    if tests is None or tests is False:
        return None
    if tests is True:
        tests = {}
    if not isinstance(tests, Mapping):
        raise ValueError(f"tests must be True or a dict (maxlags, power), got {tests!r}")
    unknown = sorted(str(key) for key in tests if key not in ("maxlags", "power"))
    if unknown:
        raise ValueError(f"tests takes 'maxlags' and 'power'; unknown: {unknown}")
    out = {"maxlags": tests.get("maxlags"), "power": tests.get("power")}
    if out["maxlags"] is not None:
        out["maxlags"] = check_positive_int(out["maxlags"], "tests 'maxlags'")
    if out["power"] is not None:
        out["power"] = check_positive_int(out["power"], "tests 'power'")
        if out["power"] < 2:
            raise ValueError(f"tests 'power' must be >= 2, got {out['power']}")
    return out


def check_group_columns(groups: object) -> tuple[str, ...]:
    """Cluster ``groups`` of a streamed fit: one or two column names (labels cannot be
    aligned with rows the fit does not keep)."""
    if groups is None:
        return ()
    names = [groups] if isinstance(groups, str) else groups
    if (
        isinstance(names, (list, tuple))
        and 1 <= len(names) <= 2
        and all(isinstance(name, str) for name in names)
    ):
        return tuple(names)
    raise DataError(
        "a streamed or Dask fit reads cluster groups from the data: pass cov_kwds "
        "{'groups': 'COLUMN'} or {'groups': ['COLUMN1', 'COLUMN2']} (column names, "
        f"not labels), got {type(groups).__name__}"
    )


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int >= 1 (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_nonnegative_int(value: object, name: str) -> int:
    """``value`` as an int >= 0 (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def check_probability(value: object, name: str) -> float:
    """``value`` as a float strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a probability in (0, 1), got {value!r}")
    p = float(value)
    if not 0.0 < p < 1.0:
        raise ValueError(f"{name} must be a probability in (0, 1), got {value!r}")
    return p


def check_fraction(value: object, name: str) -> float:
    """``value`` as a float in [0, 1) (a threshold where 0 means none)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    v = float(value)
    if not 0.0 <= v < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return v


def check_forget(forget: object, toward: object = None) -> tuple[float, bool]:
    """A forgetting factor and its direction: ``(lam, toward_prior)``.

    ``forget`` is None (no forgetting: 1.0) or a factor in (0, 1]; ``toward``
    is None (exponential forgetting) or ``"prior"`` (stabilised toward the
    prior), and needs a factor.
    """
    if toward not in (None, "prior"):
        raise ValueError(f"forget_toward must be None or 'prior', got {toward!r}")
    if forget is None:
        if toward is not None:
            raise ValueError("forget_toward needs a forgetting factor: give forget=lam")
        return 1.0, False
    if isinstance(forget, bool) or not isinstance(forget, numbers.Real):
        raise ValueError(f"forget must be None or a factor in (0, 1], got {forget!r}")
    lam = float(forget)
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"forget must be None or a factor in (0, 1], got {forget!r}")
    return lam, toward == "prior"


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


def check_weights(weights: Any, what: str, label: Callable[[int], str]) -> None:
    """Refuse a weight that is not positive and finite, naming ``what`` and the row.

    Weighted least squares reads a weight as a relative precision (the row's
    variance is ``sigma^2 / w``): zero, negative, infinite or missing weights
    have no such reading. ``label(i)`` is the label of row ``i`` in messages.

    Raises
    ------
    DataError
        The first row whose weight is zero, negative, NaN or infinite.
    """
    import numpy as np

    w = np.asarray(weights, dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(w) & (w > 0)))
    if len(bad):
        row = int(bad[0])
        value = w[row]
        kind = "missing (NaN)" if np.isnan(value) else f"{float(value):g}"
        raise DataError(
            f"{what} is {kind} at row {label(row)}: weights must be positive and finite "
            f"(a weight is the row's relative precision; {len(bad)} row(s) have such a weight)"
        )


def all_finite(values: NDArray[np.float64]) -> bool:
    """All values finite. A finite sum proves it without a temporary array (a NaN or inf
    makes the sum NaN or inf); only an overflowing sum needs the element-wise test."""
    total = float(np.add.reduce(values, axis=None))
    return math.isfinite(total) or bool(np.isfinite(values).all())
