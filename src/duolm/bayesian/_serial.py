"""An NIG as JSON-ready values and back: the entry of duolm's state files.

An NIG is saved in its square-root form: ``k``, ``label``, ``nu0``,
``terms`` (the coefficients' names, or null), ``prior_R`` (the prior's
(k+1)x(k+1) upper factor, order ``[x..., y]``) and ``data`` (``R``,
``nobs``, ``y_mean``, ``y_m2`` of the data part) and ``refined`` (null, or for a
posterior refined from its rows, :class:`~duolm.bayesian._nig.Refined`'s ``R``,
``m`` and ``V``; absent in older files). Numbers are written by
``repr``, so a loaded NIG is the saved one bit for bit;
anything malformed raises :class:`~duolm.errors.StateFileError`. Used by
:mod:`duolm.state` (saved posteriors and fits) and
:class:`duolm.bayesian.Online` (its checkpoints).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from duolm.bayesian._nig import NIG, Refined
from duolm.core import SqrtStat
from duolm.errors import PriorError, StateFileError

__all__ = ["finite_float", "matrix", "nig_from", "nig_payload", "square"]

FloatArray = NDArray[np.float64]


def matrix(R: Any) -> list[list[float]]:
    return [[float(x) for x in row] for row in np.asarray(R)]


def nig_payload(nig: NIG) -> dict[str, Any]:
    d = nig.data_stat
    return {
        "k": nig.k,
        "label": nig.label,
        "terms": None if nig.terms is None else list(nig.terms),
        "nu0": nig.nu0,
        "prior_R": matrix(nig.prior_stat.R),
        "data": {
            "R": matrix(d.R),
            "nobs": d.nobs,
            "y_mean": d.y_mean,
            "y_m2": d.y_m2,
        },
        "refined": _refined_payload(nig.refined),
    }


def _refined_payload(refined: Refined | None) -> dict[str, Any] | None:
    if refined is None:
        return None
    return {
        "R": matrix(refined.stat.R),
        "m": [float(x) for x in refined.m],
        "V": matrix(refined.V),
    }


def _numbers(value: Any, shape: tuple[int, ...], name: str) -> FloatArray:
    """A finite array of ``shape`` from nested JSON lists of numbers."""
    rows = value if len(shape) == 2 and isinstance(value, list) else [value]
    ok = all(
        isinstance(row, list)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in row)
        for row in rows
    )
    out = np.array(value, dtype=np.float64) if ok else None
    if out is None or out.shape != shape or not np.all(np.isfinite(out)):
        raise StateFileError(f"corrupt state file: {name} is not a finite array of shape {shape}")
    return out


def _refined_from(value: Any, k: int, data: SqrtStat) -> Refined | None:
    """The refined moments of a payload, or None (also for files written before them)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StateFileError("corrupt state file: refined is not an object or null")
    R = square(value["R"], k, "refined R")
    m = _numbers(value["m"], (k,), "refined m")
    V = _numbers(value["V"], (k, k), "refined V")
    if not np.array_equal(V, V.T):
        raise StateFileError("corrupt state file: refined V is not symmetric")
    stat = SqrtStat(R, data.nobs, data.y_mean, data.y_m2)
    return Refined(stat, m, V)


def finite_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateFileError(f"corrupt state file: {name} is not a number")
    x = float(value)
    if not math.isfinite(x):
        raise StateFileError(f"corrupt state file: {name} is not finite")
    return x


def square(
    value: Any, k: int, name: str, *, triangular: bool = True
) -> np.ndarray[Any, np.dtype[np.float64]]:
    ok = isinstance(value, list) and all(
        isinstance(row, list) and all(not isinstance(x, bool) for x in row) for row in value
    )
    try:
        R = np.array(value, dtype=np.float64) if ok else None
    except (TypeError, ValueError):
        R = None
    if R is None or R.shape != (k + 1, k + 1):
        raise StateFileError(f"corrupt state file: {name} is not a {k + 1} x {k + 1} matrix")
    if not np.all(np.isfinite(R)):
        raise StateFileError(f"corrupt state file: {name} is not finite")
    if triangular and np.any(np.tril(R, -1) != 0):
        raise StateFileError(f"corrupt state file: {name} is not an upper-triangular factor")
    return R


def nig_from(payload: Any) -> NIG:
    if not isinstance(payload, dict):
        raise StateFileError("corrupt state file: a posterior entry is not an object")
    try:
        k = payload["k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise StateFileError("corrupt state file: k is not a positive integer")
        data = payload["data"]
        label = payload["label"]
        if not isinstance(label, str) or not isinstance(data, dict):
            raise StateFileError("corrupt state file: label or data has the wrong type")
        prior = SqrtStat(square(payload["prior_R"], k, "prior_R"), 0.0)
        nobs = finite_float(data["nobs"], "nobs")
        if nobs < 0:
            raise StateFileError("corrupt state file: nobs is negative")
        stat = SqrtStat(
            square(data["R"], k, "R"),
            nobs,
            finite_float(data["y_mean"], "y_mean"),
            finite_float(data["y_m2"], "y_m2"),
        )
        terms = payload.get("terms")  # absent in files written before names were kept
        if terms is not None and not (
            isinstance(terms, list) and len(terms) == k and all(isinstance(t, str) for t in terms)
        ):
            raise StateFileError(f"corrupt state file: terms must be {k} names or null")
        nu0 = finite_float(payload["nu0"], "nu0")
        refined = _refined_from(payload.get("refined"), k, stat)
        names = None if terms is None else tuple(terms)
        return NIG.from_parts(prior, nu0, stat, label, names, refined)
    except KeyError as exc:
        raise StateFileError(f"corrupt state file: missing entry {exc}") from exc
    except PriorError as exc:
        raise StateFileError(f"corrupt state file: {exc}") from exc
