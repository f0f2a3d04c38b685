"""The posterior after every observation: the lecture's evolution figures, fast and exact.

:func:`trajectory` runs the conjugate update of DESIGN.md ("Bayesian
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

With numba installed the whole loop, quantiles and log densities included,
is one compiled kernel (``@njit(cache=True)``), specialised to the number of
columns ``k``: compiled on the first call for each ``k`` (about 3 s), then
loaded from numba's cache in ``__pycache__``. For three regressors the kernel
runs at about 15 million rows per second, every column included, and the
whole call (design checks and DataFrame too) at about 7 million on two
cores. Without numba, the same rotations run as a Python loop on Python
floats (about 75,000 rows per second) and the per-row formulas are
vectorised with numpy; the two paths agree to rounding (the tests hold them
to 1e-12).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.linalg as sla
from numpy.typing import NDArray
from scipy import special

from duolm import _route, core
from duolm.errors import PriorError
from duolm.ols import make_design

__all__ = ["COLUMNS", "trajectory"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

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
_LOG_2PI = math.log(2.0 * math.pi)

#: Rows per block of the compiled kernel (its working set stays in the L2 cache).
_BLOCK = 2048

#: Below this ``a`` the log-gamma ratio ``lgamma(a + 1/2) - lgamma(a)`` is the
#: difference of two ``lgamma`` calls; from it on, its asymptotic series
#: (DLMF 5.11.13 with Bernoulli polynomials) to ``a**-11``, exact to rounding
#: (relative error below 1e-17 at ``a = 16``) and free of the cancellation of
#: subtracting two large log-gammas.
_A_SERIES = 16.0

# Coefficients of the series ``lgamma(a + 1/2) - lgamma(a) = log(a)/2 - sum c_j a^-(2j+1)``.
_LG1, _LG3, _LG5, _LG7, _LG9, _LG11 = (
    1.0 / 8.0,
    1.0 / 192.0,
    1.0 / 640.0,
    17.0 / 14336.0,
    31.0 / 18432.0,
    2073.0 / 540672.0,
)


# ------------------------------------------------------------------ the prior


def _default_prior(k: int) -> Any:
    """The vague proper prior :func:`duolm.bayes` uses by default (``NIG.vague(k)``)."""
    from duolm.bayes import default_prior  # here: duolm.bayes may import this module

    return default_prior(k)


def _prior_factor(prior: Any, k: int, terms: tuple[str, ...]) -> tuple[FloatArray, float]:
    """The initial square-root state ``R0`` and ``a0`` of an NIG(m, V, a, b) prior.

    A :class:`duolm.NIG` gives its own factor (``prior.stat.R``, exact, the
    reference prior's ``R0 = 0`` included). Any other object is read through
    ``m, V, a, b``; ``V`` with an all-infinite diagonal (or a ``V_inv``
    attribute of zeros) is the flat prior ``V^-1 = 0``.
    """
    stat = getattr(prior, "stat", None)
    if isinstance(stat, core.SqrtStat):
        if stat.k != k:
            raise PriorError(
                f"the prior has {stat.k} coefficient(s) but the design has {k} column(s) "
                f"({', '.join(terms)}); give a prior of dimension {k}"
            )
        a0 = float(prior.a)
        if not math.isfinite(a0) or not np.all(np.isfinite(stat.R)):
            raise PriorError("the prior's factor and a must be finite")
        return np.array(stat.R, dtype=np.float64), a0
    for name in ("m", "V", "a", "b"):
        if not hasattr(prior, name):
            raise PriorError(
                f"the prior must have attributes m, V, a, b (an NIG); "
                f"{type(prior).__name__} has no {name!r}"
            )
    try:
        m0 = np.asarray(prior.m, dtype=np.float64).reshape(-1)
        a0 = float(prior.a)
        b0 = float(prior.b)
    except (TypeError, ValueError) as exc:
        raise PriorError(f"the prior's m, a, b must be numbers: {exc}") from exc
    if m0.shape != (k,):
        raise PriorError(
            f"the prior has {m0.size} coefficient(s) but the design has {k} column(s) "
            f"({', '.join(terms)}); give a prior of dimension {k}"
        )
    if not math.isfinite(a0):
        raise PriorError(f"the prior's a must be finite, got {a0}")
    if not (math.isfinite(b0) and b0 >= 0.0):
        raise PriorError(f"the prior's b must be finite and >= 0, got {b0}")
    Rxx = _precision_factor(prior, k, terms)
    flat = not np.any(Rxx)
    if not flat and not np.all(np.isfinite(m0)):
        raise PriorError("the prior's m must be finite")
    R0 = np.zeros((k + 1, k + 1))
    R0[:k, :k] = Rxx
    R0[:k, k] = 0.0 if flat else Rxx @ m0
    R0[k, k] = math.sqrt(2.0 * b0)
    return R0, a0


def _precision_factor(prior: Any, k: int, terms: tuple[str, ...]) -> FloatArray:
    """Upper-triangular ``U`` with ``U^T U = V^-1`` (zero for a flat prior)."""
    V_inv = getattr(prior, "V_inv", None)
    if V_inv is not None:
        P = _square(V_inv, k, terms, "V_inv")
        if not np.any(P):
            return np.zeros((k, k))
        try:
            U: FloatArray = sla.cholesky(P, lower=False)
        except np.linalg.LinAlgError as exc:
            raise PriorError("the prior's V_inv is not positive definite") from exc
        return U
    V = _square(prior.V, k, terms, "V", allow_inf=True)
    diag = np.diag(V)
    if np.all(np.isposinf(diag)):
        return np.zeros((k, k))  # V^-1 = 0: flat in every direction
    if not np.all(np.isfinite(V)):
        raise PriorError(
            "the prior's V has infinite or NaN entries; only the flat prior (V^-1 = 0, "
            "every diagonal entry of V infinite) is supported"
        )
    if not np.allclose(V, V.T, rtol=1e-12, atol=0.0):
        raise PriorError("the prior's V is not symmetric")
    try:
        L = sla.cholesky(V, lower=True)
    except np.linalg.LinAlgError as exc:
        raise PriorError("the prior's V is not positive definite") from exc
    # V^-1 = L^-T L^-1: the R factor of L^-1 is the upper factor of V^-1, without
    # forming V^-1 (its condition number is not squared).
    Linv = sla.solve_triangular(L, np.eye(k), lower=True)
    return core._triangularize(Linv)


def _square(value: object, k: int, terms: tuple[str, ...], name: str, **kw: bool) -> FloatArray:
    try:
        A = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PriorError(f"the prior's {name} must be a matrix of numbers: {exc}") from exc
    if A.ndim == 0 and k == 1:
        A = A.reshape(1, 1)
    if A.shape != (k, k):
        raise PriorError(
            f"the prior's {name} has shape {A.shape} but the design has {k} column(s) "
            f"({', '.join(terms)}); it must be ({k}, {k})"
        )
    if not kw.get("allow_inf") and not np.all(np.isfinite(A)):
        raise PriorError(f"the prior's {name} must be finite")
    return A


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
    z = float(special.ndtri(1.0 - alpha / 2.0))
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
    n_table = int(min(n, max(0.0, math.ceil(nu_min - 2.0 * a0))))
    nu = 2.0 * a0 + np.arange(n_table, dtype=np.float64)
    table = np.full(n_table, np.nan)
    ok = nu > 0
    table[ok] = _t_quantile(nu[ok], alpha)
    return table, g


def _t_quantile(nu: FloatArray, alpha: float) -> FloatArray:
    """Upper ``alpha/2`` quantile of Student's t with ``nu > 0`` dof (``inf`` beyond float64).

    ``P(|T| > q) = I_x(nu/2, 1/2)`` with ``x = nu / (nu + q**2)``. scipy's
    ``stdtrit`` is exact to rounding until ``x`` underflows (``q`` beyond about
    ``sqrt(nu) 1e154``, which happens for ``nu`` below about 0.02, e.g. the
    first prediction from the vague prior with ``a0 = 1e-3``), where it returns
    a wrong finite value. There the leading term of the incomplete beta
    function, ``I_x(a, 1/2) = x^a / (a B(a, 1/2)) (1 + O(x))``, gives ``log x``
    and ``log q = (log nu - log x) / 2`` to rounding; ``q`` overflows to
    ``inf`` when the true quantile exceeds the float64 range.
    """
    q = np.asarray(special.stdtrit(nu, 1.0 - alpha / 2.0), dtype=np.float64)
    half = 0.5 * nu
    log_x = (math.log(alpha) + np.log(half) + special.betaln(half, 0.5)) / half
    tiny = log_x < math.log(1e-290)
    if np.any(tiny):
        with np.errstate(over="ignore"):
            q[tiny] = np.exp(0.5 * (np.log(nu[tiny]) - log_x[tiny]))
    return q


# ------------------------------------------------------------------ the compiled kernel

#: Set by :func:`_compiled_kernel` to a numba intrinsic: ``_scratch(proto)`` is a
#: ``(2 K + 3, K)`` float64 array on the kernel's stack, ``K = len(proto)``.
_scratch: Any = None

#: Largest ``k + 1`` whose scratch array goes on the stack (``(2 K + 3) K`` floats).
_STACK_MAX = 48


def _kernel_source(
    X: FloatArray,
    y: FloatArray,
    R0: FloatArray,
    a0: float,
    check_rank: bool,
    tol: float,
    qtab: FloatArray,
    qc: FloatArray,
    out: FloatArray,
    flags: BoolArray,
    proto: tuple[float, ...],
) -> None:  # pragma: no cover - run compiled by numba; its agreement is tested
    """Givens update, posterior read-out and predictive, in blocks of rows.

    ``out`` rows: ``m`` (k), ``sd`` (k), then :data:`_FLOAT_TAIL`; ``flags``
    rows: :data:`_FLAGS`. Every entry is written (NaN where undefined).

    ``proto`` is a tuple of ``k + 1`` floats: its length is a constant to the
    compiler, so the kernel is compiled (and cached) once per ``k``, with its
    small loops unrolled and its state (the factor, ``m``, ``Rxx^-1``) held in
    registers or on the stack rather than in memory shared with ``out``.

    Each block of :data:`_BLOCK` rows takes two passes while it is in cache.
    The first is the recursion: per row the predictive's ``m' x`` and
    ``x' V x`` from the state before the row, the ``k + 1`` Givens rotations,
    then ``m`` and ``diag V`` by triangular solves with the reciprocals of the
    new diagonal that the rotations computed. The second finishes every row
    independently (square roots, quotients, quantiles, log densities). Rows
    where all quantities exist (all but the first few) go through branch-free
    loops over unsigned indices, which the compiler vectorises: these
    divisions and square roots, not the recursion, would otherwise dominate.
    """
    k = len(proto) - 1
    n = X.shape[0]
    nan = math.nan
    K = k + 1
    S = _scratch(proto) if K <= _STACK_MAX else np.zeros((2 * K + 3, K))
    R = S[:K]  # the factor
    Ri = S[K : 2 * K]  # Rxx^-1
    m = S[2 * K]
    d = S[2 * K + 1]  # 1 / diag(R)
    z = S[2 * K + 2]  # the row being rotated in
    for r in range(2 * K + 3):
        for c in range(K):
            S[r, c] = R0[r, c] if r < K else 0.0
    nt = qtab.shape[0]
    o = 2 * k
    ES, SDS, A, B = out[o], out[o + 1], out[o + 2], out[o + 3]
    PM, PS, PL, PU, LP = out[o + 4], out[o + 5], out[o + 6], out[o + 7], out[o + 8]
    half_log_2pi = 0.5 * _LOG_2PI
    # -- the prior's state
    b0 = 0.5 * R[k, k] * R[k, k]
    full = True
    for j in range(k):
        d[j] = 1.0 / R[j, j] if R[j, j] != 0.0 else 0.0
        if check_rank:
            cn = 0.0
            for l in range(j + 1):
                cn += R[l, j] * R[l, j]
            if not (R[j, j] != 0.0 and abs(R[j, j]) >= tol * math.sqrt(cn)):
                full = False
    proper = full and a0 > 0.0 and b0 > 0.0
    if full:
        for j in range(k - 1, -1, -1):
            acc = R[j, k]
            for l in range(j + 1, k):
                acc -= R[j, l] * m[l]
            m[j] = acc * d[j]
        for j in range(k):
            Ri[j, j] = d[j]
            for r in range(j - 1, -1, -1):
                acc = 0.0
                for l in range(r + 1, j + 1):
                    acc += R[r, l] * Ri[l, j]
                Ri[r, j] = -acc * d[r]
    g = n  # from row g on every quantity of every row exists (the flags never drop)
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        # ---- pass 1: the recursion
        for i in range(start, stop):
            flags[3, i] = proper
            if proper:
                mu = 0.0
                h = 0.0
                for j in range(k):
                    mu += m[j] * X[i, j]
                for l in range(k):
                    w = 0.0
                    for j in range(l + 1):
                        w += Ri[j, l] * X[i, j]
                    h += w * w
                PM[i] = mu
                PS[i] = h
            for j in range(k):
                z[j] = X[i, j]
            z[k] = y[i]
            for p in range(k + 1):
                zp = z[p]
                if zp == 0.0:
                    continue
                rpp = R[p, p]
                big = max(abs(rpp), abs(zp))
                if 1e-150 < big < 1e150:
                    rho = math.sqrt(rpp * rpp + zp * zp)
                else:
                    rho = math.hypot(rpp, zp)
                R[p, p] = rho
                if p == k:
                    break
                inv = 1.0 / rho
                d[p] = inv
                c_ = rpp * inv
                s_ = zp * inv
                for j in range(p + 1, k + 1):
                    rpj = R[p, j]
                    zj = z[j]
                    R[p, j] = c_ * rpj + s_ * zj
                    z[j] = c_ * zj - s_ * rpj
            if not full:  # is the factor (numerically) nonsingular? Sticky: rank never drops.
                full = True
                for j in range(k):
                    cn = 0.0
                    for l in range(j + 1):
                        cn += R[l, j] * R[l, j]
                    if not (R[j, j] != 0.0 and abs(R[j, j]) >= tol * math.sqrt(cn)):
                        full = False
                        break
            a = a0 + 0.5 * (i + 1)
            b = 0.5 * R[k, k] * R[k, k]
            proper = full and a > 0.0 and b > 0.0
            if full:
                for j in range(k - 1, -1, -1):
                    acc = R[j, k]
                    for l in range(j + 1, k):
                        acc -= R[j, l] * m[l]
                    m[j] = acc * d[j]
                for j in range(k):
                    Ri[j, j] = d[j]
                    for r in range(j - 1, -1, -1):
                        acc = 0.0
                        for l in range(r + 1, j + 1):
                            acc += R[r, l] * Ri[l, j]
                        Ri[r, j] = -acc * d[r]
                for j in range(k):
                    vjj = 0.0
                    for l in range(j, k):
                        vjj += Ri[j, l] * Ri[j, l]
                    out[k + j, i] = vjj
            for j in range(k):
                out[j, i] = m[j] if proper else nan
            B[i] = b if full else nan
            flags[0, i] = proper
            flags[1, i] = proper and a > 1.0
            flags[2, i] = proper and a > 2.0
            if g == n and i >= nt and i >= 1 and flags[3, i] and flags[2, i]:
                g = i
        # ---- pass 2, the first rows: each quantity only where it exists
        for i in range(start, min(stop, g)):
            a = a0 + 0.5 * (i + 1)
            has_mean = flags[1, i]
            s2t = B[i] / (a - 1.0) if has_mean else nan
            for j in range(k):
                out[k + j, i] = math.sqrt(s2t * out[k + j, i]) if has_mean else nan
            ES[i] = s2t
            SDS[i] = s2t / math.sqrt(a - 2.0) if flags[2, i] else nan
            A[i] = a
            if flags[3, i]:
                ap = a - 0.5
                s2 = (B[i - 1] if i > 0 else b0) * (1.0 + PS[i])  # nu * scale**2 / 2
                ia = 1.0 / ap
                is2 = 1.0 / s2
                scale = math.sqrt(s2 * ia)
                if i < nt:
                    q = qtab[i]
                else:
                    u = 0.5 * ia
                    q = qc[0] + u * (qc[1] + u * (qc[2] + u * (qc[3] + u * (qc[4] + u * qc[5]))))
                mu = PM[i]
                e = y[i] - mu
                tail = (ap + 0.5) * math.log1p(0.5 * e * e * is2)
                if ap >= _A_SERIES:
                    ia2 = ia * ia
                    corr = ia * (
                        _LG1
                        - ia2 * (_LG3 - ia2 * (_LG5 - ia2 * (_LG7 - ia2 * (_LG9 - ia2 * _LG11))))
                    )
                else:
                    corr = 0.5 * math.log(ap) - (math.lgamma(ap + 0.5) - math.lgamma(ap))
                PS[i] = scale
                PL[i] = mu - q * scale
                PU[i] = mu + q * scale
                LP[i] = -math.log(scale) - corr - half_log_2pi - tail
            else:
                PM[i] = nan
                PS[i] = nan
                PL[i] = nan
                PU[i] = nan
                LP[i] = nan
        # ---- pass 2, the other rows: branch-free loops, unsigned indices (no wraparound)
        lo = max(start, g)
        for i in range(lo, stop):
            u_ = np.uint64(i)
            a = a0 + 0.5 * (i + 1)
            s2t = B[u_] / (a - 1.0)
            ES[u_] = s2t
            SDS[u_] = s2t / math.sqrt(a - 2.0)
            A[u_] = a
        for j in range(k):
            V = out[k + j]
            for i in range(lo, stop):
                u_ = np.uint64(i)
                V[u_] = math.sqrt(ES[u_] * V[u_])
        for i in range(lo, stop):
            u_ = np.uint64(i)
            ap = a0 + 0.5 * i
            s2 = B[np.uint64(i - 1)] * (1.0 + PS[u_])
            ia = 1.0 / ap
            scale = math.sqrt(s2 * ia)
            u = 0.5 * ia
            q = qc[0] + u * (qc[1] + u * (qc[2] + u * (qc[3] + u * (qc[4] + u * qc[5]))))
            mu = PM[u_]
            e = y[u_] - mu
            PS[u_] = scale
            PL[u_] = mu - q * scale
            PU[u_] = mu + q * scale
            LP[u_] = 0.5 * e * e * (1.0 / s2)  # the argument of log1p, finished below
        for i in range(lo, stop):
            u_ = np.uint64(i)
            ap = a0 + 0.5 * i
            ia = 1.0 / ap
            ia2 = ia * ia
            corr = ia * (
                _LG1 - ia2 * (_LG3 - ia2 * (_LG5 - ia2 * (_LG7 - ia2 * (_LG9 - ia2 * _LG11))))
            )
            tail = (ap + 0.5) * math.log1p(LP[u_])
            LP[u_] = -math.log(PS[u_]) - corr - half_log_2pi - tail


def _stack_scratch_typer(typingctx: Any, proto: Any) -> Any:  # pragma: no cover - numba typing
    """Typing and code generation of the ``_scratch`` intrinsic (see :func:`_compiled_kernel`)."""
    from numba import types  # type: ignore[import-not-found, unused-ignore]
    from numba.core import cgutils  # type: ignore[import-not-found, unused-ignore]
    from numba.np.arrayobj import (  # type: ignore[import-not-found, unused-ignore]
        make_array,
        populate_array,
    )

    if not isinstance(proto, types.UniTuple):
        return None
    K = proto.count
    rows = 2 * K + 3
    aryty = types.Array(types.float64, 2, "C")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        double = context.get_value_type(types.float64)
        ptr = cgutils.alloca_once(builder, double, size=rows * K)  # type: ignore[no-untyped-call, unused-ignore]
        ary = make_array(aryty)(context, builder)  # type: ignore[no-untyped-call, unused-ignore]
        intp = context.get_value_type(types.intp)
        populate_array(  # type: ignore[no-untyped-call, unused-ignore]
            ary,
            data=ptr,
            shape=[intp(rows), intp(K)],
            strides=[intp(8 * K), intp(8)],
            itemsize=intp(8),
            meminfo=None,
        )
        return ary._getvalue()

    return aryty(proto), codegen


@functools.cache
def _compiled_kernel() -> Callable[..., None] | None:
    """The numba-compiled kernel, or None without numba (or with ``NUMBA_DISABLE_JIT=1``).

    numba is imported here, on the first trajectory, not with duolm.
    """
    global _scratch
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from numba.extending import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            intrinsic,
        )
    except ImportError:
        return None
    if getattr(numba.config, "DISABLE_JIT", False):  # NUMBA_DISABLE_JIT=1: no compiling
        return None
    _scratch = intrinsic(_stack_scratch_typer)
    fn: Callable[..., None] = numba.njit(cache=True, nogil=True, error_model="numpy")(
        _kernel_source
    )
    return fn


# ------------------------------------------------------------------ the numpy fallback


def _full_rank(R: list[list[float]], k: int, tol: float) -> bool:
    for j in range(k):
        cn = 0.0
        for l in range(j + 1):
            cn += R[l][j] * R[l][j]
        if not (R[j][j] != 0.0 and abs(R[j][j]) >= tol * math.sqrt(cn)):
            return False
    return True


def _read(R: list[list[float]], k: int) -> tuple[list[float], list[list[float]]]:
    """``m`` and ``Rxx^-1`` of a nonsingular factor (the kernel's operations, in order)."""
    d = [1.0 / R[j][j] for j in range(k)]  # as the rotations leave them: 1 / rho
    m = [0.0] * k
    for j in range(k - 1, -1, -1):
        acc = R[j][k]
        for l in range(j + 1, k):
            acc -= R[j][l] * m[l]
        m[j] = acc * d[j]
    Ri = [[0.0] * k for _ in range(k)]
    for j in range(k):
        Ri[j][j] = d[j]
        for r in range(j - 1, -1, -1):
            acc = 0.0
            for l in range(r + 1, j + 1):
                acc += R[r][l] * Ri[l][j]
            Ri[r][j] = -acc * d[r]
    return m, Ri


def _sequential_python(
    X: FloatArray, y: FloatArray, R0: FloatArray, check_rank: bool, tol: float
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray, FloatArray, FloatArray, bool]:
    """The recursion itself, in Python floats: the only part that cannot be vectorised.

    Returns per row ``m_t`` (n, k), ``diag V_t`` (n, k), ``b_t`` (NaN where
    the factor is singular), ``full_t``, and for the predictive of row t the
    ``m_{t-1}' x_t`` and ``x_t' V_{t-1} x_t`` (NaN where ``V_{t-1}`` does not
    exist), and whether the prior's factor is nonsingular.
    """
    n, k = X.shape
    nan = math.nan
    R = R0.tolist()
    full = _full_rank(R, k, tol) if check_rank else True
    full0 = full
    m, Ri = _read(R, k) if full else ([nan] * k, [[nan] * k for _ in range(k)])
    ms: list[list[float]] = []
    vds: list[list[float]] = []
    bs: list[float] = []
    fulls: list[bool] = []
    mus: list[float] = []
    hs: list[float] = []
    chunk = 8192
    for start in range(0, n, chunk):
        rows = X[start : start + chunk].tolist()
        ys = y[start : start + chunk].tolist()
        for x, yi in zip(rows, ys, strict=True):
            if full:
                mu = 0.0
                for j in range(k):
                    mu += m[j] * x[j]
                h = 0.0
                for l in range(k):
                    w = 0.0
                    for j in range(l + 1):
                        w += Ri[j][l] * x[j]
                    h += w * w
                mus.append(mu)
                hs.append(h)
            else:
                mus.append(nan)
                hs.append(nan)
            zv = [*x, yi]
            for p in range(k + 1):
                zp = zv[p]
                if zp == 0.0:
                    continue
                row = R[p]
                rpp = row[p]
                big = max(abs(rpp), abs(zp))
                rho = (
                    math.sqrt(rpp * rpp + zp * zp) if 1e-150 < big < 1e150 else math.hypot(rpp, zp)
                )
                row[p] = rho
                if p == k:
                    break
                inv = 1.0 / rho
                c_ = rpp * inv
                s_ = zp * inv
                for j in range(p + 1, k + 1):
                    rpj = row[j]
                    zj = zv[j]
                    row[j] = c_ * rpj + s_ * zj
                    zv[j] = c_ * zj - s_ * rpj
            if not full:
                full = _full_rank(R, k, tol)
            fulls.append(full)
            if full:
                m, Ri = _read(R, k)
                ms.append(m)
                vds.append([sum([Ri[j][l] * Ri[j][l] for l in range(j, k)]) for j in range(k)])
                ryy = R[k][k]
                bs.append(0.5 * ryy * ryy)
            else:
                ms.append([nan] * k)
                vds.append([nan] * k)
                bs.append(nan)
    return (
        np.array(ms, dtype=np.float64).reshape(n, k),
        np.array(vds, dtype=np.float64).reshape(n, k),
        np.array(bs, dtype=np.float64),
        np.array(fulls, dtype=bool),
        np.array(mus, dtype=np.float64),
        np.array(hs, dtype=np.float64),
        full0,
    )


def _lgamma_correction(a: FloatArray) -> FloatArray:
    """``log(a)/2 - (lgamma(a + 1/2) - lgamma(a))`` for ``a > 0``: the series from
    :data:`_A_SERIES` on, as the kernel computes it.
    """
    out = np.empty_like(a)
    big = a >= _A_SERIES
    ia = 1.0 / a[big]
    ia2 = ia * ia
    out[big] = ia * (_LG1 - ia2 * (_LG3 - ia2 * (_LG5 - ia2 * (_LG7 - ia2 * (_LG9 - ia2 * _LG11)))))
    small = a[~big]
    out[~big] = 0.5 * np.log(small) - (special.gammaln(small + 0.5) - special.gammaln(small))
    return out


def _fill_numpy(
    X: FloatArray,
    y: FloatArray,
    R0: FloatArray,
    a0: float,
    check_rank: bool,
    tol: float,
    qtab: FloatArray,
    qc: FloatArray,
    out: FloatArray,
    flags: BoolArray,
    proto: tuple[float, ...],
) -> None:
    """The fallback: the recursion in Python, every per-row formula vectorised.

    Same arguments and the same arithmetic as :func:`_kernel_source`.
    """
    n, k = X.shape
    M, VD, b, full, mu, h, full0 = _sequential_python(X, y, R0, check_rank, tol)
    a = a0 + 0.5 * np.arange(1, n + 1, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        proper = full & (a > 0.0) & (b > 0.0)
    has_mean = proper & (a > 1.0)
    has_sd = proper & (a > 2.0)
    b0 = 0.5 * float(R0[k, k]) * float(R0[k, k])
    pred = np.concatenate([[full0 and a0 > 0.0 and b0 > 0.0], proper[:-1]])
    ap = a - 0.5
    bp = np.concatenate([[b0], b[:-1]])
    nan = math.nan
    o = 2 * k
    with np.errstate(all="ignore"):
        s2t = np.where(has_mean, b / (a - 1.0), nan)
        out[:k] = np.where(proper, M.T, nan)
        out[k:o] = np.where(has_mean, np.sqrt(s2t * VD.T), nan)
        out[o + 0] = s2t
        out[o + 1] = np.where(has_sd, s2t / np.sqrt(a - 2.0), nan)
        out[o + 2] = a
        out[o + 3] = np.where(full, b, nan)
        s2 = bp * (1.0 + h)  # nu * scale**2 / 2
        ia = 1.0 / ap
        scale = np.sqrt(s2 * ia)
        nt = qtab.shape[0]
        u = 0.5 * ia[nt:]
        q = np.concatenate(
            [qtab, qc[0] + u * (qc[1] + u * (qc[2] + u * (qc[3] + u * (qc[4] + u * qc[5]))))]
        )
        e = y - mu
        tail = (ap + 0.5) * np.log1p(0.5 * e * e * (1.0 / s2))
        corr = np.full(n, nan)
        corr[pred] = _lgamma_correction(ap[pred])
        lp = -np.log(scale) - corr - 0.5 * _LOG_2PI - tail
        out[o + 4] = np.where(pred, mu, nan)
        out[o + 5] = np.where(pred, scale, nan)
        out[o + 6] = np.where(pred, mu - q * scale, nan)
        out[o + 7] = np.where(pred, mu + q * scale, nan)
        out[o + 8] = np.where(pred, lp, nan)
    flags[0] = proper
    flags[1] = has_mean
    flags[2] = has_sd
    flags[3] = pred


# ------------------------------------------------------------------ the public function


def trajectory(
    formula: str | None = None,
    data: object = None,
    *,
    X: object = None,
    y: object = None,
    prior: Any = None,
    missing: Literal["drop", "raise"] = "drop",
    alpha: float = 0.05,
    batch_size: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """The posterior after each observation ``t = 1..n``, and the prediction made before it.

    Rows are taken in the order given (after missing rows are dropped); row
    ``t`` describes the NIG posterior of (beta, sigma²) after the first ``t``
    rows (DESIGN.md, "Bayesian results", with ``k`` = number of columns of X)
    and the one-step-ahead predictive for row ``t`` made from the posterior
    after ``t - 1`` rows (the prior for ``t = 1``).

    Parameters
    ----------
    formula, data, X, y, missing
        The design, exactly as for :func:`duolm.ols`.
    prior : NIG, optional
        A :class:`duolm.NIG` (read exactly from its square-root factor; the
        reference prior ``NIG.reference(k)``, ``V^-1 = 0``, ``a = -k/2``,
        ``b = 0``, included; a posterior continues from where it stands), or
        any object with attributes ``m`` (k,), ``V`` (k, k), ``a``, ``b`` (a
        ``V`` whose diagonal is all ``inf`` is the flat ``V^-1 = 0``). Default:
        the vague proper prior of :func:`duolm.bayes`, ``NIG.vague(k)``.
    alpha : float
        The predictive interval has level ``1 - alpha`` (equal tails). The
        column names do not depend on it.
    batch_size, progress
        For streamed data (a CSV or Parquet path, an iterable of frames),
        read batch by batch, each continuing from the previous posterior; see
        :func:`duolm.stream.iter_trajectory` to keep memory bounded as well.

    Returns
    -------
    DataFrame
        Index: the labels of the rows used (as in ``design.index``). Columns,
        in order (``term`` runs over the design's column names):

        ==================  ===========================================================
        ``t``               number of observations seen, 1..n
        ``m[term]``         location ``m_t`` of beta (its posterior median and mode; its
                            mean when ``a_t > 1/2``). NaN iff not ``proper``.
        ``sd[term]``        posterior sd of beta, ``sqrt(b_t/(a_t - 1) V_t[jj])``.
                            NaN iff not ``has_mean_sigma2`` (needs ``a_t > 1``).
        ``mean_sigma2``     ``E[sigma²] = b_t/(a_t - 1)``. NaN iff not ``has_mean_sigma2``.
        ``sd_sigma2``       sd of sigma², ``b_t / ((a_t - 1) sqrt(a_t - 2))``.
                            NaN iff not ``has_sd_sigma2`` (needs ``a_t > 2``).
        ``a``               ``a_t = a_0 + t/2``; always given.
        ``b``               ``b_t = ryy²/2``; NaN only while the factor is singular
                            (flat prior, fewer independent rows than coefficients;
                            ``proper`` is False then).
        ``pred_mean``       ``m_{t-1}' x_t``, location of the predictive t for ``y_t``.
        ``pred_scale``      its scale, ``sqrt(b_{t-1}/a_{t-1} (1 + x_t' V_{t-1} x_t))``;
                            the dof are ``2 a_{t-1} = 2 a_t - 1``.
        ``pred_lower``      lower end of the ``1 - alpha`` predictive interval;
                            ``-inf`` when the quantile exceeds the float64 range
                            (``a_{t-1}`` below about 0.01, e.g. the first row under
                            the default prior, ``a_0 = 0.001``).
        ``pred_upper``      upper end (``+inf`` likewise).
        ``pred_logpdf``     log predictive density of the observed ``y_t``.
                            The five ``pred_*`` are NaN iff not ``pred_proper``.
        ``proper``          the posterior after ``t`` rows is a proper NIG: its factor
                            is nonsingular, ``a_t > 0`` and ``b_t > 0``. Always True
                            with a proper prior; under the reference prior it is
                            False for ``t <= k`` (and while the rows seen leave some
                            coefficient undetermined).
        ``has_mean_sigma2`` ``proper`` and ``a_t > 1``: sigma² has a mean and beta a
                            variance.
        ``has_sd_sigma2``   ``proper`` and ``a_t > 2``: sigma² has a variance.
        ``pred_proper``     the posterior after ``t - 1`` rows is proper, so the
                            predictive for row ``t`` exists.
        ==================  ===========================================================

        ``sum(pred_logpdf)`` over all rows is the log evidence of the data
        when the prior is proper.

    Raises
    ------
    DataError
        As :func:`duolm.ols` (missing or infinite values, text, no rows...).
    PriorError
        The prior's dimension differs from the design's, or its
        hyperparameters are invalid.

    Notes
    -----
    The update is the core's square-root form (see the module docstring):
    Givens rotations of each row into the factor, posterior read off by
    triangular solves. With a flat prior a coefficient counts as determined
    once the factor's diagonal entry is at least ``duolm.core.ALIAS_TOL``
    times its column's norm (as for aliasing in :func:`duolm.ols` and
    ``NIG.beta_proper``); exactly collinear columns leave the whole
    trajectory improper.

    Speed: with numba, about 15 million rows per second for the compiled
    kernel and about 7 million for the whole call (the design checks shared
    with :func:`duolm.ols` take about 40% of it) with three regressors on two
    cores; the first call for each number of columns compiles the kernel
    (about 3 s, once: numba caches it on disk). Without numba about 75,000
    rows per second.

    Examples
    --------
    >>> import duolm
    >>> data = {"x": [0.0, 1.0, 2.0, 3.0, 4.0], "y": [0.1, 0.9, 2.2, 2.8, 4.1]}
    >>> traj = duolm.trajectory("y ~ x", data, prior=duolm.NIG.reference(2))
    >>> list(traj.columns[:5])
    ['t', 'm[Intercept]', 'm[x]', 'sd[Intercept]', 'sd[x]']
    >>> traj["proper"].tolist(), traj["pred_proper"].tolist()
    ([False, False, True, True, True], [False, False, False, True, True])
    >>> traj["m[x]"].round(3).tolist()[2:]
    [1.05, 0.94, 0.99]
    >>> duolm.ols("y ~ x", data).params["x"].round(3)  # the reference prior's m is OLS
    np.float64(0.99)
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}")
    alpha = float(alpha)
    opts = _route.StreamOptions(batch_size=batch_size, progress=progress)
    if isinstance(formula, str) and data is not None and _route.is_streamed(data):
        return _route.trajectory(
            formula, data, prior=prior, missing=missing, alpha=alpha, opts=opts
        )
    opts.check_in_memory()
    design = make_design(formula, data, X, y, missing)
    terms = design.spec.terms
    Xd = np.ascontiguousarray(design.X, dtype=np.float64)
    yd = np.ascontiguousarray(design.y, dtype=np.float64)
    n, k = Xd.shape
    if prior is None:
        prior = _default_prior(k)
    R0, a0 = _prior_factor(prior, k, terms)
    check_rank = not bool(np.all(np.diag(R0)[:k] > 0.0))
    qtab, qc = _quantile_plan(alpha, a0, n)
    out = np.empty((2 * k + len(_FLOAT_TAIL), n))
    flags = np.empty((len(_FLAGS), n), dtype=bool)
    kernel = _compiled_kernel()
    fill = _fill_numpy if kernel is None else kernel
    fill(Xd, yd, R0, a0, check_rank, core.ALIAS_TOL, qtab, qc, out, flags, (0.0,) * (k + 1))
    columns: dict[str, Any] = {"t": np.arange(1, n + 1, dtype=np.int64)}
    for j, term in enumerate(terms):
        columns[f"m[{term}]"] = out[j]
    for j, term in enumerate(terms):
        columns[f"sd[{term}]"] = out[k + j]
    for c, name in enumerate(_FLOAT_TAIL):
        columns[name] = out[2 * k + c]
    for c, name in enumerate(_FLAGS):
        columns[name] = flags[c]
    return pd.DataFrame(columns, index=design.index, copy=False)
