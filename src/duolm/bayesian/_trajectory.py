"""The posterior after every observation: the lecture's evolution figures, fast and exact.

:func:`duolm.trajectory` runs the conjugate update of DESIGN.md ("Bayesian
results") one row at a time and records, after each row, everything the
lecture plots: the location and spread of beta, the estimate of sigma² and
its spread, the hyperparameters ``a_t, b_t``, and the one-step-ahead
predictive for the row made *before* the row was seen, with its log density
at the observed value.

How it is computed
------------------
The state is the core's square-root statistic (DESIGN.md, "One core, two
readings"): an upper-triangular ``R`` of size ``(k + 1) x (k + 1)``, columns
``[x..., y]``, with ``R^T R = xi``. The prior ``NIG(m0, V0, a0, b0)`` is the
initial factor ``Rxx0 = chol(V0^-1)^T``, ``rxy0 = Rxx0 m0``,
``ryy0 = sqrt(2 b0)``; the reference prior is ``R0 = 0``. Each row
``[x_t, y_t]`` is rotated into ``R`` by ``k + 1`` Givens rotations
(orthogonal, so backward stable whatever the order or scale of the data),
then the posterior is read off the factor:

- ``m_t`` solves ``Rxx m_t = rxy`` (back-substitution),
- ``V_t = Rxx^-1 Rxx^-T``: its diagonal is the squared row norms of ``Rxx^-1``,
- ``b_t = ryy**2 / 2`` and ``a_t = a0 + t / 2``.

Nothing is ever formed as ``X^T X`` and ``V`` is never updated by
Sherman-Morrison, the two roads to cancellation.

With numba installed the whole loop, quantiles and log densities included, is
one compiled kernel (``@njit(cache=True)``), specialised to the number of
columns ``k``: compiled on the first call for each ``k`` (about 4 s; the code
of forgetting toward the prior apart, about 35 s, only when it is used), then
loaded from numba's cache in ``__pycache__``. For three regressors the kernel
runs at about 14 million rows per second, every column included, and the whole
call at about 11 million: the design's checks are one compiled pass, the
kernel gets writable C arrays (numba's code for read-only ones runs ~40%
slower: a read-only view of writable memory is aliased, read-only memory
copied), and the DataFrame wraps the kernel's output arrays without copying
them (about 6 ms per million rows, some 5% of the call), so no frame-free
variant is offered. Forgetting toward the prior runs at the plain kernel's
speed: the recursion carried from row to row is the data's plain exponential
forgetting, and each row's posterior (the prior folded into that factor) is
independent of the others, so those rows run in vectorised sub-blocks
(:mod:`duolm.core._givens`). Without numba, the same rotations run as a Python
loop on Python floats (about 75,000 rows per second) and the per-row formulas
are vectorised with numpy; the two paths agree to rounding (the tests hold
them to 1e-12). Both live in :mod:`duolm.core._givens`; this module plans the
quantiles and assembles the frame; :mod:`duolm._api` checks the arguments.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from duolm import core
from duolm.bayesian._nig import NIG
from duolm.core._givens import (
    FORGET_EXP,
    FORGET_NONE,
    FORGET_PRIOR,
    _compiled_kernel,
    _fill_numpy,
)

__all__ = ["COLUMNS", "posterior_path"]

FloatArray = NDArray[np.float64]

#: Columns of the result besides the per-coefficient ``m[term]`` and ``sd[term]``
#: (which come right after ``t``), in order.
COLUMNS: tuple[str, ...] = (
    "t",
    "mean_sigma2",
    "sd_sigma2",
    "a",
    "b",
    "pred_mean",
    "pred_scale",
    "pred_lower",
    "pred_upper",
    "pred_logpdf",
    "proper",
    "has_mean_sigma2",
    "has_sd_sigma2",
    "pred_proper",
)

_FLOAT_TAIL = COLUMNS[1:10]
_FLAGS = COLUMNS[10:]


# ------------------------------------------------------------------ Student t quantiles


def _quantile_plan(alpha: float, a0: float, n: int) -> tuple[FloatArray, FloatArray]:
    """Quantiles ``q_t`` of the predictive t at ``1 - alpha/2``, dof ``nu = 2 a0 + t - 1``.

    Returns ``(table, coef)``: for rows ``i < len(table)`` the quantile is
    ``table[i]`` (scipy's ``stdtrit``; NaN where ``nu <= 0``); beyond, where
    ``nu >= nu_min``, it is the Cornish-Fisher expansion in ``1/nu`` (Fisher
    and Cornish 1960; Abramowitz and Stegun 26.7.5 with one more term)
    ``q = z + g1/nu + ... + g5/nu^5``, ``coef = [z, g1, ..., g5]``. ``nu_min``
    is chosen so that the last term is below 1e-15 of ``z``; the omitted terms
    are smaller again by about ``z**2 / nu``, so the expansion is exact to
    rounding there.
    """
    g, nu_min = _cornish_fisher(alpha)
    n_table = int(min(n, max(0.0, math.ceil(nu_min - 2.0 * a0))))
    nu = 2.0 * a0 + np.arange(n_table, dtype=np.float64)
    table = np.full(n_table, np.nan)
    ok = nu > 0
    table[ok] = _t_quantile(nu[ok], alpha)
    return table, g


def _cornish_fisher(alpha: float) -> tuple[FloatArray, float]:
    """The Cornish-Fisher coefficients ``[z, g1, ..., g5]`` and the ``nu_min`` they hold from."""
    z = -float(special.ndtri(alpha / 2.0))  # the lower tail: 1 - alpha/2 would round
    z2 = z * z
    g = np.array(
        [
            z,
            (z2 + 1.0) * z / 4.0,
            ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0,
            (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0,
            ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0,
            (((((27.0 * z2 + 339.0) * z2 + 930.0) * z2 - 1782.0) * z2 - 765.0) * z2 + 17955.0)
            * z
            / 368640.0,
        ]
    )
    nu_min = max(64.0, (abs(g[5]) / (1e-15 * z)) ** 0.2)
    return g, nu_min


def _forget_quantile_plan(
    alpha: float, a0: float, n: int, mode: int, lam: float
) -> tuple[FloatArray, FloatArray]:
    """:func:`_quantile_plan` for a trajectory that forgets.

    The predictive for row ``t`` has ``nu = 2 a'_t`` dof with ``a'_t`` the
    forgotten ``a`` before the row: ``a_t = a'_t + 1/2`` and ``a'_t = lam a_{t-1}``
    (exponential) or ``a0 + lam (a_{t-1} - a0)`` (toward the prior), so
    ``a_t - a* = lam^t (a0 - a*)`` with the fixed point ``a* = 1/(2(1 - lam))``,
    resp. ``a0 + 1/(2(1 - lam))``. Where the limit's ``nu`` is at least
    ``nu_min`` the Cornish-Fisher expansion takes over once ``nu`` stays above
    it; otherwise the table runs until ``a'_t`` has reached its limit to
    rounding, and the quantile of the limit (``coef = [q*, 0, ..., 0]``) is
    used from there.
    """
    g, nu_min = _cornish_fisher(alpha)
    a_star = (a0 if mode == FORGET_PRIOR else 0.0) + 0.5 / (1.0 - lam)
    ap_inf = a_star - 0.5
    m = min(n, 4096)  # the rows until a' has settled (to rounding), found by doubling
    while True:
        with np.errstate(under="ignore"):
            decay = lam ** np.arange(1, m + 1, dtype=np.float64)
        ap = ap_inf + decay * (a0 - a_star)
        if m == n or ap[-1] == ap_inf:
            break
        m = min(n, 2 * m)
    nu = 2.0 * ap
    if 2.0 * ap_inf >= nu_min:
        below = np.flatnonzero(nu < nu_min)
        n_table = int(below[-1]) + 1 if len(below) else 0
        coef = g
    else:
        moving = np.flatnonzero(ap != ap_inf)
        n_table = int(moving[-1]) + 1 if len(moving) else 0
        q_inf = _t_quantile(np.array([2.0 * ap_inf]), alpha)[0] if ap_inf > 0 else math.nan
        coef = np.array([q_inf, 0.0, 0.0, 0.0, 0.0, 0.0])
    table = np.full(n_table, np.nan)
    ok = nu[:n_table] > 0
    table[ok] = _t_quantile(nu[:n_table][ok], alpha)
    return table, coef


def _t_quantile(nu: FloatArray, alpha: float) -> FloatArray:
    """Upper ``alpha/2`` quantile of Student's t with ``nu > 0`` dof (``inf`` beyond float64).

    ``P(|T| > q) = I_x(nu/2, 1/2)`` with ``x = nu / (nu + q**2)``. scipy's
    ``stdtrit`` is asked for the lower quantile at ``alpha/2`` (``1 - alpha/2``
    would round off the digits of a small ``alpha``) and is exact to rounding
    until ``x`` underflows (``q`` beyond about ``sqrt(nu) 1e154``, which happens
    for ``nu`` below about 0.02, e.g. the first prediction from the vague prior
    with ``a0 = 1e-3``), where it returns a wrong finite value. There the
    leading term of the incomplete beta function,
    ``I_x(a, 1/2) = x^a / (a B(a, 1/2)) (1 + O(x))``, gives ``log x`` and
    ``log q = (log nu - log x) / 2`` to rounding; ``q`` overflows to
    ``inf`` when the true quantile exceeds the float64 range.
    """
    q = -np.asarray(special.stdtrit(nu, alpha / 2.0), dtype=np.float64)  # by symmetry
    half = 0.5 * nu
    log_x = (math.log(alpha) + np.log(half) + special.betaln(half, 0.5)) / half
    tiny = log_x < math.log(1e-290)
    if np.any(tiny):
        with np.errstate(over="ignore"):
            q[tiny] = np.exp(0.5 * (np.log(nu[tiny]) - log_x[tiny]))
    return q


def _writable(a: FloatArray) -> FloatArray:
    """``a`` as a writable C array for the kernel, which only reads it.

    A read-only view of writable memory (the design's view of an ``X=``
    array) is aliased writably, without a copy; read-only memory is copied.
    """
    out = np.ascontiguousarray(a, dtype=np.float64)
    if out.flags.writeable:
        return out
    owner = out
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if owner is not out and owner.flags.writeable and owner.flags.c_contiguous:
        offset = out.ctypes.data - owner.ctypes.data
        alias: FloatArray = np.ndarray(
            out.shape, np.float64, buffer=owner, offset=offset, strides=out.strides
        )
        return alias
    return out.copy()


def posterior_path(
    X: FloatArray,
    y: FloatArray,
    prior: NIG,
    *,
    alpha: float,
    terms: tuple[str, ...],
    index: pd.Index,
    forget: float = 1.0,
    toward_prior: bool = False,
) -> pd.DataFrame:
    """The trajectory frame of checked rows (see :func:`duolm.trajectory` for its columns).

    Parameters
    ----------
    X : ndarray of shape (n, k)
        Finite rows, in the order they arrive.
    y : ndarray of shape (n,)
    prior : NIG
        Checked against the design (:func:`checked_prior`); its own
        square-root factor is the initial state, exactly.
    alpha : float
        Checked significance level of the predictive intervals.
    terms : tuple of str
        Names of the columns of ``X``.
    index : pandas.Index
        Labels of the rows.
    forget : float
        Checked forgetting factor in (0, 1] (1: none) applied before each row,
        as :meth:`NIG.forget`; ``toward_prior``: stabilised toward the prior.
    """
    # writable C arrays whatever the caller's flags: numba compiles a kernel per argument
    # type, read-only is part of it (half a minute per k toward the prior), and the kernel
    # runs ~40% slower on read-only arrays (a read-only view of writable memory is aliased)
    Xd, yd = _writable(X), _writable(y)
    n, k = Xd.shape
    R0 = np.array(prior.stat.R, dtype=np.float64)
    a0 = float(prior.a)
    check_rank = not bool(np.all(np.diag(R0)[:k] > 0.0))
    if forget == 1.0:
        mode = FORGET_NONE
        qtab, qc = _quantile_plan(alpha, a0, n)
    else:
        mode = FORGET_PRIOR if toward_prior else FORGET_EXP
        qtab, qc = _forget_quantile_plan(alpha, a0, n, mode, forget)
    out = np.empty((2 * k + len(_FLOAT_TAIL), n))
    flags = np.empty((len(_FLAGS), n), dtype=bool)
    kernel = _compiled_kernel()
    fill = _fill_numpy if kernel is None else kernel
    fill(
        Xd,
        yd,
        R0,
        a0,
        check_rank,
        core.ALIAS_TOL,
        mode,
        forget,
        qtab,
        qc,
        out,
        flags,
        (0.0,) * (k + 1),
        0.0 if mode == FORGET_PRIOR else None,
    )
    columns: dict[str, Any] = {"t": np.arange(1, n + 1, dtype=np.int64)}
    for j, term in enumerate(terms):
        columns[f"m[{term}]"] = out[j]
    for j, term in enumerate(terms):
        columns[f"sd[{term}]"] = out[k + j]
    for c, name in enumerate(_FLOAT_TAIL):
        columns[name] = out[2 * k + c]
    for c, name in enumerate(_FLAGS):
        columns[name] = flags[c]
    return pd.DataFrame(columns, index=index, copy=False)
