"""The row-by-row Givens kernel behind :func:`duolm.trajectory`, and its pure-numpy fallback.

Both fill the same two arrays, row by row, with the same arithmetic: ``out``
(float64, rows ``m`` (k), ``sd`` (k), then the nine float columns of
:data:`duolm.bayesian.TRAJECTORY_COLUMNS` from ``mean_sigma2`` to ``pred_logpdf``) and
``flags`` (bool, the four flag columns). The state is the square-root factor
``R`` of DESIGN.md ("One core, two readings"); each row is rotated into it by
Givens rotations and the posterior read off by triangular solves (see
:mod:`duolm.bayesian._trajectory`).

- :func:`_kernel_source` is compiled by numba (``@njit(cache=True)``) on the
  first trajectory, once per number of columns ``k`` (about 3 s), then loaded
  from numba's cache in ``__pycache__``; its scratch state lives on the stack
  through the ``_scratch`` intrinsic (:func:`_stack_scratch_typer`).
  :func:`_compiled_kernel` gives it, or None without numba.
- :func:`_fill_numpy`, used without numba (or with ``NUMBA_DISABLE_JIT=1``),
  runs the rotations as a Python loop on Python floats and vectorises the
  per-row formulas with numpy.

The two paths agree to rounding (the tests hold them to 1e-12). The rank
check :func:`_full_rank` and the read-out :func:`_solve` are written once, for
lists (the fallback) and for arrays (compiled into the kernel) alike.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from duolm.core._jit import interruptible

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_LOG_2PI = math.log(2.0 * math.pi)

#: Forgetting modes of the kernels: none, exponential (``NIG.forget(lam)``),
#: stabilised toward the prior (``NIG.forget(lam, toward="prior")``).
FORGET_NONE, FORGET_EXP, FORGET_PRIOR = 0, 1, 2

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


# ------------------------------------------------------------------ shared by both paths


def _full_rank(R: Any, k: int, tol: float) -> bool:
    """Is the factor (numerically) nonsingular: is each diagonal entry of ``Rxx``
    nonzero and at least ``tol`` times its column's norm (aliasing as in :func:`duolm.ols`)?

    ``R`` is a list of lists (the fallback) or an array (compiled into the kernel).
    """
    for j in range(k):
        cn = 0.0
        for l in range(j + 1):
            cn += R[l][j] * R[l][j]
        if not (R[j][j] != 0.0 and abs(R[j][j]) >= tol * math.sqrt(cn)):
            return False
    return True


def _solve(R: Any, d: Any, m: Any, Ri: Any, k: int) -> None:
    """``m`` solving ``Rxx m = rxy`` and ``Ri = Rxx^-1``, by back-substitution, in place.

    ``d`` holds ``1 / diag(Rxx)`` (as the rotations leave it). Lists (the
    fallback) or arrays (compiled into the kernel): the same operations in
    the same order, so the two paths agree to rounding.
    """
    for j in range(k - 1, -1, -1):
        acc = R[j][k]
        for l in range(j + 1, k):
            acc -= R[j][l] * m[l]
        m[j] = acc * d[j]
    for j in range(k):
        Ri[j][j] = d[j]
        for r in range(j - 1, -1, -1):
            acc = 0.0
            for l in range(r + 1, j + 1):
                acc += R[r][l] * Ri[l][j]
            Ri[r][j] = -acc * d[r]


def _rotate(R: Any, d: Any, z: Any, k: int) -> None:
    """Rotate the row ``z`` (length ``k + 1``, overwritten) into the factor ``R`` in place.

    Givens rotations column by column; ``d[p]`` gets ``1 / R[p, p]`` for each
    column rotated (zeros of ``z`` are skipped: the identity). Lists (the
    fallback) or arrays (compiled into the kernel).
    """
    for p in range(k + 1):
        zp = z[p]
        if zp == 0.0:
            continue
        rpp = R[p][p]
        big = max(abs(rpp), abs(zp))
        rho = math.sqrt(rpp * rpp + zp * zp) if 1e-150 < big < 1e150 else math.hypot(rpp, zp)
        R[p][p] = rho
        if p == k:
            break
        inv = 1.0 / rho
        d[p] = inv
        c_ = rpp * inv
        s_ = zp * inv
        for j in range(p + 1, k + 1):
            rpj = R[p][j]
            zj = z[j]
            R[p][j] = c_ * rpj + s_ * zj
            z[j] = c_ * zj - s_ * rpj


def _fold(R: Any, d: Any, B: Any, sl: float, k: int) -> None:
    """Forget toward the prior in place: ``R <- qr([sl R; R0f])``, ``R0f = sqrt(1 - lam) R0``.

    Stabilised forgetting (``NIG.forget(lam, toward="prior")``) makes the Gram
    ``lam R^T R + (1 - lam) R0^T R0``: a change of rank ``k + 1`` every row, which no
    rank-one update absorbs (nor a change of variables by ``R0``, which only turns
    ``R0^T R0`` into the identity, still of full rank), so the prior's rows are
    folded in every row. Rotating them in one by one takes ``(k + 1)(k + 2) / 2``
    Givens rotations, each a square root then a division; and the fold is on the
    recursion's path (each row waits for it), so its latency, not its arithmetic,
    is what costs. Here the stacked matrix's columns are orthogonalised by modified
    Gram-Schmidt (Bjorck and Paige, SIAM J. Matrix Anal. Appl. 13, 1992: it is
    Householder QR of ``[0; M]`` in disguise, so its R is as accurate), which needs
    no square root on
    the path: at column ``p``, with ``v = (alpha, b)`` the column (``alpha =
    sl R[p, p]``, ``b`` the pool's entries), ``q = v'v`` and ``rho = sqrt(q)``,
    R's row ``p`` becomes ``v'M / rho`` and every row of the pool, and R's old row
    ``p``, loses its projection on ``v``: ``M <- M - v (v'M) / q``. Only ``1/q`` is
    on the path; ``rho`` waits for nobody. The remainder of R's old row ``p`` joins
    the pool, which holds the prior's rows ``0..p`` (``B[:k + 1]``, upper triangular
    on entry) and those remainders (``B[k + 1:]``): ``B`` has ``2 k + 1`` rows and
    is overwritten. Where a square, ``q`` or ``1/q`` could leave the range of
    float64 (``sigma = b'b`` outside ``(1e-200, 1e200)`` or ``|alpha| >= 1e100``), the
    column is done by Givens rotations with ``math.hypot`` instead. The diagonal
    stays positive: the factor is the unique one, equal to any other order's to
    rounding. ``d[p]`` gets ``1 / R[p, p]`` for ``p < k``. Lists (the fallback) or
    arrays (compiled into the kernel).
    """
    K = k + 1
    for p in range(K):
        alpha = sl * R[p][p]
        top = K + p  # the row left of R's row p once its column p is projected out
        sigma = 0.0
        for r in range(p + 1):
            sigma += B[r][p] * B[r][p]
        for r in range(K, top):
            sigma += B[r][p] * B[r][p]
        if sigma == 0.0:  # nothing of the prior left in this column: the identity
            for j in range(p, K):
                R[p][j] *= sl
                if p < k:  # (the last column leaves no row)
                    B[top][j] = 0.0
            if p < k:
                d[p] = 1.0 / R[p][p] if R[p][p] != 0.0 else 0.0
            continue
        if not (1e-200 < sigma < 1e200 and abs(alpha) < 1e100):
            # a square or 1/q would leave the range: the same column by Givens
            # rotations (math.hypot) of the pool's rows into R's row p
            for j in range(p, K):
                R[p][j] *= sl
                if p < k:  # (the last column leaves no row)
                    B[top][j] = 0.0
            for r in range(top):
                if p < r < K:  # prior rows not yet in the pool
                    continue
                zp = B[r][p]
                if zp == 0.0:
                    continue
                rpp = R[p][p]
                rho = math.hypot(rpp, zp)
                c_ = rpp / rho
                s_ = zp / rho
                R[p][p] = rho
                for j in range(p + 1, K):
                    rpj = R[p][j]
                    bj = B[r][j]
                    R[p][j] = c_ * rpj + s_ * bj
                    B[r][j] = c_ * bj - s_ * rpj
            if p < k:
                d[p] = 1.0 / R[p][p]
            continue
        q = alpha * alpha + sigma
        iq = 1.0 / q
        rho = math.sqrt(q)  # off the recursion's path: only R's row p waits for it
        R[p][p] = rho
        if p == k:
            break
        ir = rho * iq
        d[p] = ir
        for j in range(p + 1, K):
            aj = sl * R[p][j]
            sj = alpha * aj
            for r in range(p + 1):
                sj += B[r][p] * B[r][j]
            for r in range(K, top):
                sj += B[r][p] * B[r][j]
            c = sj * iq
            R[p][j] = sj * ir
            B[top][j] = aj - alpha * c
            for r in range(p + 1):
                B[r][j] -= c * B[r][p]
            for r in range(K, top):
                B[r][j] -= c * B[r][p]


def _forward(R: Any, d: Any, x: Any, w: Any, k: int) -> tuple[float, float]:
    """``(x' m, x' V x)`` of a nonsingular factor without its inverse: ``Rxx^T w = x``.

    Forward substitution with ``d = 1 / diag(Rxx)``: ``x' V x = w' w`` and
    ``x' m = x' Rxx^-1 rxy = w' rxy``; ``w`` (length at least ``k``) is scratch.
    Lists (the fallback) or arrays (compiled into the kernel).
    """
    mu = 0.0
    h = 0.0
    for l in range(k):
        acc = x[l]
        for j in range(l):
            acc -= R[j][l] * w[j]
        wl = acc * d[l]
        w[l] = wl
        mu += wl * R[l][k]
        h += wl * wl
    return mu, h


# ------------------------------------------------------------------ the compiled kernel

#: Set by :func:`_compiled_kernel` to a numba intrinsic: ``_scratch(proto)`` is a
#: ``(4 K + 2, K)`` float64 array on the kernel's stack, ``K = len(proto)``.
_scratch: Any = None

#: Set by :func:`_compiled_kernel` to the compiled :func:`_full_rank`, :func:`_solve`,
#: :func:`_rotate`, :func:`_fold` and :func:`_forward`.
_full_rank_c: Any = None
_solve_c: Any = None
_rotate_c: Any = None
_fold_c: Any = None
_forward_c: Any = None

#: Largest ``k + 1`` whose scratch array goes on the stack (``(4 K + 2) K`` floats).
_STACK_MAX = 48


def _kernel_source(
    X: FloatArray,
    y: FloatArray,
    R0: FloatArray,
    a0: float,
    check_rank: bool,
    tol: float,
    mode: int,
    lam: float,
    R0f: FloatArray,
    qtab: FloatArray,
    qc: FloatArray,
    out: FloatArray,
    flags: BoolArray,
    proto: tuple[float, ...],
) -> None:  # pragma: no cover - run compiled by numba; its agreement is tested
    """Givens update, posterior read-out and predictive, in blocks of rows.

    ``out`` rows: ``m`` (k), ``sd`` (k), then the float columns of
    :data:`duolm.bayesian.TRAJECTORY_COLUMNS` (``mean_sigma2`` to ``pred_logpdf``);
    ``flags`` rows: its four flags. Every entry is written (NaN where undefined).

    ``mode`` is :data:`FORGET_NONE`, :data:`FORGET_EXP` or :data:`FORGET_PRIOR`:
    before each row the factor is multiplied by ``sqrt(lam)`` or, toward the
    prior, refactored with the rows of ``R0f = sqrt(1 - lam) R0`` (:func:`_fold`,
    the predictive then read by :func:`_forward`); ``a`` follows
    ``lam a`` or ``a0 + lam (a - a0)`` (module docstring, "Forgetting").

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
    S = _scratch(proto) if K <= _STACK_MAX else np.zeros((4 * K + 2, K))
    R = S[:K]  # the factor
    Ri = S[K : 2 * K]  # Rxx^-1
    m = S[2 * K]
    d = S[2 * K + 1]  # 1 / diag(R)
    z = S[2 * K + 2]  # the row being rotated in
    P = S[2 * K + 3 :]  # toward the prior: the fold's pool of rows (2 K - 1)
    for r in range(4 * K + 2):
        for c in range(K):
            S[r, c] = R0[r, c] if r < K else 0.0
    nt = qtab.shape[0]
    o = 2 * k
    ES, SDS, A, B = out[o], out[o + 1], out[o + 2], out[o + 3]
    PM, PS, PL, PU, LP = out[o + 4], out[o + 5], out[o + 6], out[o + 7], out[o + 8]
    half_log_2pi = 0.5 * _LOG_2PI
    # -- the prior's state
    b0 = 0.5 * R[k, k] * R[k, k]
    for j in range(k):
        d[j] = 1.0 / R[j, j] if R[j, j] != 0.0 else 0.0
    full = _full_rank_c(R, k, tol) if check_rank else True
    proper = full and a0 > 0.0 and b0 > 0.0
    if full:
        _solve_c(R, d, m, Ri, k)
    forgetting = mode != FORGET_NONE
    # With forgetting, a tends monotonically to a_limit. The branch-free rows need a > 2
    # from there on (so a_limit > 2), and the log-gamma ratio of the predictive's a' = a - 1/2
    # either by its series (a' >= _A_SERIES) or, when the limit is below it, as the constant
    # of the limit once a' has settled there (from row nt on: the quantile plan's table
    # runs until then).
    a_limit = (a0 if mode == FORGET_PRIOR else 0.0) + 0.5 / (1.0 - lam) if forgetting else 0.0
    ap_limit = a_limit - 0.5
    fast_ok = not forgetting or a_limit > 2.0
    settled_small = forgetting and ap_limit < _A_SERIES
    corr_settled = 0.0
    if settled_small and ap_limit > 0.0:
        corr_settled = 0.5 * math.log(ap_limit) - (
            math.lgamma(ap_limit + 0.5) - math.lgamma(ap_limit)
        )
    ilam = 1.0 / lam
    sl = math.sqrt(lam)
    isl = 1.0 / sl
    ap = a0
    a_run = a0  # a after the last row (forgetting: the recursion, kept in a register)
    g = n  # from row g on every quantity of every row exists (the flags never drop)
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        # ---- pass 1: the recursion
        for i in range(start, stop):
            bprev = 0.0
            if mode == FORGET_EXP:  # m stays; V grows by 1/lam (x'Vx scaled below)
                for p in range(K):
                    for j in range(p, K):
                        R[p, j] *= sl
                for j in range(k):
                    d[j] *= isl
            elif mode == FORGET_PRIOR:
                for r in range(K):
                    for c in range(r, K):
                        P[r, c] = R0f[r, c]
                _fold_c(R, d, P, sl, k)
                if not full:
                    full = _full_rank_c(R, k, tol)
            if forgetting:  # the posterior before row i, forgotten
                ap = lam * a_run if mode == FORGET_EXP else a0 + lam * (a_run - a0)
                bprev = 0.5 * R[k, k] * R[k, k]
                proper = full and ap > 0.0 and bprev > 0.0
            flags[3, i] = proper
            if proper and mode == FORGET_PRIOR:  # from the folded factor itself
                mu, h = _forward_c(R, d, X[i], z, k)
                PM[i] = mu
                PS[i] = bprev * (1.0 + h)
            elif proper:
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
                if mode == FORGET_EXP:
                    h *= ilam  # Ri is still the unforgotten factor's inverse
                PS[i] = bprev * (1.0 + h) if forgetting else h
            for j in range(k):
                z[j] = X[i, j]
            z[k] = y[i]
            _rotate_c(R, d, z, k)
            if not full:  # sticky: the rank never drops
                full = _full_rank_c(R, k, tol)
            if forgetting:
                a = ap + 0.5
                a_run = a
                A[i] = a
            else:
                a = a0 + 0.5 * (i + 1)
            b = 0.5 * R[k, k] * R[k, k]
            proper = full and a > 0.0 and b > 0.0
            if full:
                _solve_c(R, d, m, Ri, k)
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
            series = not forgetting or settled_small or ap >= _A_SERIES
            if g == n and i >= nt and i >= 1 and flags[3, i] and flags[2, i] and fast_ok and series:
                g = i
        # ---- pass 2, the first rows: each quantity only where it exists
        for i in range(start, min(stop, g)):
            a = A[i] if forgetting else a0 + 0.5 * (i + 1)
            has_mean = flags[1, i]
            s2t = B[i] / (a - 1.0) if has_mean else nan
            for j in range(k):
                out[k + j, i] = math.sqrt(s2t * out[k + j, i]) if has_mean else nan
            ES[i] = s2t
            SDS[i] = s2t / math.sqrt(a - 2.0) if flags[2, i] else nan
            A[i] = a
            if flags[3, i]:
                ap = a - 0.5
                # nu * scale**2 / 2: with forgetting, pass 1 left it in PS
                s2 = PS[i] if forgetting else (B[i - 1] if i > 0 else b0) * (1.0 + PS[i])
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
        if forgetting:  # a from pass 1
            for i in range(lo, stop):
                u_ = np.uint64(i)
                a = A[u_]
                s2t = B[u_] / (a - 1.0)
                ES[u_] = s2t
                SDS[u_] = s2t / math.sqrt(a - 2.0)
        else:
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
            if forgetting:  # loop-invariant: the compiler unswitches it
                ap = A[u_] - 0.5
                s2 = PS[u_]  # pass 1 left nu * scale**2 / 2 there
            else:
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
        if settled_small:  # a' has settled below _A_SERIES: its log-gamma ratio is a constant
            for i in range(lo, stop):
                u_ = np.uint64(i)
                ap = A[u_] - 0.5
                tail = (ap + 0.5) * math.log1p(LP[u_])
                LP[u_] = -math.log(PS[u_]) - corr_settled - half_log_2pi - tail
        else:
            for i in range(lo, stop):
                u_ = np.uint64(i)
                ap = A[u_] - 0.5 if forgetting else a0 + 0.5 * i
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
    rows = 4 * K + 2
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
    global _scratch, _full_rank_c, _solve_c, _rotate_c, _fold_c, _forward_c
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
    # inlined (numba IR), not called: a call would let the stack state escape to memory
    helper = numba.njit(nogil=True, error_model="numpy", inline="always")
    _full_rank_c, _solve_c, _rotate_c = helper(_full_rank), helper(_solve), helper(_rotate)
    _fold_c, _forward_c = helper(_fold), helper(_forward)
    try:
        fn: Callable[..., None] = numba.njit(cache=True, nogil=True, error_model="numpy")(
            _kernel_source
        )
    except RuntimeError:  # no writable cache folder: compiled anew in each process
        fn = numba.njit(nogil=True, error_model="numpy")(_kernel_source)
    return interruptible(fn)


# ------------------------------------------------------------------ the numpy fallback


def _read(R: list[list[float]], k: int) -> tuple[list[float], list[list[float]]]:
    """``m`` and ``Rxx^-1`` of a nonsingular factor (the kernel's operations, in order)."""
    d = [1.0 / R[j][j] for j in range(k)]  # as the rotations leave them: 1 / rho
    m = [0.0] * k
    Ri = [[0.0] * k for _ in range(k)]
    _solve(R, d, m, Ri, k)
    return m, Ri


def _sequential_python(
    X: FloatArray,
    y: FloatArray,
    R0: FloatArray,
    check_rank: bool,
    tol: float,
    mode: int = FORGET_NONE,
    lam: float = 1.0,
    R0f: FloatArray | None = None,
) -> tuple[FloatArray, ...]:
    """The recursion itself, in Python floats: the only part that cannot be vectorised.

    Returns per row ``m_t`` (n, k), ``diag V_t`` (n, k), ``b_t`` (NaN where
    the factor is singular), ``full_t``, and for the predictive of row t the
    ``m_{t-1}' x_t`` and ``x_t' V_{t-1} x_t`` (NaN where ``V_{t-1}`` does not
    exist), and whether the prior's factor is nonsingular; then, for the
    predictive of row t from the forgotten posterior (with forgetting; empty
    otherwise), its ``b``, whether its factor is nonsingular, and its ``a``.
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
    bps: list[float] = []
    fps: list[bool] = []
    sl = math.sqrt(lam)
    ilam = 1.0 / lam
    prior_rows = [] if R0f is None else R0f.tolist()
    d = [0.0] * k  # 1 / diag(Rxx), set by each fold
    ws = [0.0] * k  # scratch of _forward
    chunk = 8192
    for start in range(0, n, chunk):
        rows = X[start : start + chunk].tolist()
        ys = y[start : start + chunk].tolist()
        for x, yi in zip(rows, ys, strict=True):
            if mode == FORGET_EXP:  # m stays, x'Vx is scaled below
                for p in range(k + 1):
                    row = R[p]
                    for j in range(p, k + 1):
                        row[j] *= sl
            elif mode == FORGET_PRIOR:  # the kernel's fold, and its predictive
                pool = [row[:] for row in prior_rows] + [[0.0] * (k + 1) for _ in range(k)]
                _fold(R, d, pool, sl, k)
                if not full:
                    full = _full_rank(R, k, tol)
                mu, h = _forward(R, d, x, ws, k) if full else (nan, nan)
                mus.append(mu)
                hs.append(h)
            if mode != FORGET_NONE:  # the posterior before the row, forgotten
                bps.append(0.5 * R[k][k] * R[k][k])
                fps.append(full)
            if mode != FORGET_PRIOR and full:  # (toward the prior: read above)
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
                hs.append(h * ilam if mode == FORGET_EXP else h)
            elif mode != FORGET_PRIOR:
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
        np.array(full0),
        np.array(bps, dtype=np.float64),
        np.array(fps, dtype=bool),
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
    mode: int,
    lam: float,
    R0f: FloatArray,
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
    M, VD, b, full_, mu, h, full0, bf, ff = _sequential_python(
        X, y, R0, check_rank, tol, mode, lam, R0f
    )
    full = np.asarray(full_, dtype=bool)
    b0 = 0.5 * float(R0[k, k]) * float(R0[k, k])
    if mode == FORGET_NONE:
        a = a0 + 0.5 * np.arange(1, n + 1, dtype=np.float64)
        ap = a - 0.5
        bp = np.concatenate([[b0], b[:-1]])
    else:
        aps = []
        before = a0
        for _ in range(n):  # a of the forgotten posterior before each row, as the kernel's
            before = lam * before if mode == FORGET_EXP else a0 + lam * (before - a0)
            aps.append(before)
            before += 0.5
        a = np.array(aps, dtype=np.float64) + 0.5
        ap = a - 0.5  # as the kernel reads it back
        bp = bf
    with np.errstate(invalid="ignore"):
        proper = full & (a > 0.0) & (b > 0.0)
    has_mean = proper & (a > 1.0)
    has_sd = proper & (a > 2.0)
    if mode == FORGET_NONE:
        pred = np.concatenate([[bool(full0) and a0 > 0.0 and b0 > 0.0], proper[:-1]])
    else:
        with np.errstate(invalid="ignore"):
            pred = np.asarray(ff, dtype=bool) & (ap > 0.0) & (bp > 0.0)
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
