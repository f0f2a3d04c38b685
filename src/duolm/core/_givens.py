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
import types
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
        _givens_column(R, d, z, k, p, rpp, zp, rho)


def _rotate_fast(R: Any, d: Any, z: Any, k: int) -> bool:
    """:func:`_rotate` without a branch, for a nonsingular ``R``: is every square in range?

    No zero of ``z`` is skipped (``rho = sqrt(rpp**2) = rpp`` exactly there, so the
    rotation is the identity to rounding) and no ``math.hypot`` is called, so the
    kernel's loop over rows of which this is the body is vectorised; it returns
    False where ``max(|rpp|, |z_p|)`` leaves ``(1e-150, 1e150)`` for some column
    (the squares could leave float64), and the caller redoes the row by
    :func:`_rotate`. Compiled into the kernel only.
    """
    ok = True
    for p in range(k + 1):
        zp = z[p]
        rpp = R[p][p]
        big = max(abs(rpp), abs(zp))
        ok &= (big > 1e-150) & (big < 1e150)
        _givens_column(R, d, z, k, p, rpp, zp, math.sqrt(rpp * rpp + zp * zp))
    return ok


def _givens_column(
    R: Any, d: Any, z: Any, k: int, p: int, rpp: float, zp: float, rho: float
) -> None:
    """Column ``p`` of :func:`_rotate`: R's row ``p`` and ``z`` rotated by ``(rpp, zp) / rho``."""
    R[p][p] = rho
    if p == k:
        return
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
    """Fold the prior into a factor in place: ``R <- qr([sl R; R0])``.

    Stabilised forgetting (``NIG.forget(lam, toward="prior")``) makes the Gram
    ``Lambda_t = lam Lambda_{t-1} + (1 - lam) Lambda_0 + x x'``: a change of rank ``k + 1``
    every row, which no rank-one update absorbs (nor a change of variables by ``R0``,
    which only turns ``Lambda_0`` into the identity, still of full rank). But
    ``Lambda_t = Lambda_0 + D_t`` with ``D_t = lam D_{t-1} + x x'``, ``D_0 = 0``: plain
    exponential forgetting of the data alone, the same recursion (and chain of
    dependences) as ``forget_toward=None``; and the forgotten posterior before row
    ``t`` is ``Lambda_0 + lam D_{t-1}``, the Gram of ``[sl R; R0]`` with ``R`` the
    data's factor. So the kernel carries the data's factor, and each row folds the
    prior's rows into it independently of every other row: off the recursion's chain,
    in a loop the compiler vectorises (:func:`_fold_fast`). Rotating the prior's rows
    in one by one would take ``(k + 1)(k + 2) / 2`` Givens rotations, each a square
    root then a division. Here the stacked matrix's columns are orthogonalised by
    modified Gram-Schmidt (Bjorck and Paige, SIAM J. Matrix Anal. Appl. 13, 1992: it
    is Householder QR of ``[0; M]`` in disguise, so its R is as accurate), one
    division and one square root a column: at column ``p``, with ``v = (alpha, b)``
    the column (``alpha = sl R[p, p]``, ``b`` the pool's entries), ``q = v'v`` and
    ``rho = sqrt(q)``, R's row ``p`` becomes ``v'M / rho`` and every row of the pool,
    and R's old row ``p``, loses its projection on ``v``: ``M <- M - v (v'M) / q``.
    The remainder of R's old row ``p`` joins the pool, which holds the prior's rows
    ``0..p`` (``B[:k + 1]``, upper triangular on entry) and those remainders
    (``B[k + 1:]``): ``B`` has ``2 k + 1`` rows and is overwritten. Where a square,
    ``q`` or ``1/q`` could leave the range of float64 (``sigma = b'b`` outside
    ``(1e-200, 1e200)`` or ``|alpha| >= 1e100``), the column is done by Givens
    rotations with ``math.hypot`` instead. The diagonal stays positive: the factor
    is the unique one, equal to any other order's to rounding. ``d[p]`` gets
    ``1 / R[p, p]`` for ``p < k``. Lists (the fallback) or arrays (compiled into the
    kernel).
    """
    K = k + 1
    for p in range(K):
        alpha = sl * R[p][p]
        top = K + p  # the row left of R's row p once its column p is projected out
        sigma = _pool_norm(B, k, p)
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
        _mgs_column(R, d, B, sl, k, p, alpha, sigma)


def _fold_fast(R: Any, d: Any, B: Any, sl: float, k: int) -> bool:
    """:func:`_fold` without a branch: is every column's ``sigma`` and ``alpha`` in range?

    Every column by modified Gram-Schmidt (:func:`_mgs_column`), so the kernel's
    loop over rows of which this is the body is vectorised; it returns False
    where :func:`_fold` would take another branch for some column (``sigma``
    outside ``(1e-200, 1e200)``, zero included, or ``|alpha| >= 1e100``), and the
    caller redoes the row by :func:`_fold`. Compiled into the kernel only. The
    first columns are spelled out one call each: with ``p`` a constant, each
    column's loops are unrolled on their own, where the compiler would not unroll
    the nest of a loop over ``p`` (and would then not vectorise the rows).
    """
    ok = _fold_fast_column(R, d, B, sl, k, 0)
    if k >= 1:
        ok &= _fold_fast_column(R, d, B, sl, k, 1)
    if k >= 2:
        ok &= _fold_fast_column(R, d, B, sl, k, 2)
    if k >= 3:
        ok &= _fold_fast_column(R, d, B, sl, k, 3)
    if k >= 4:
        ok &= _fold_fast_column(R, d, B, sl, k, 4)
    for p in range(5, k + 1):
        ok &= _fold_fast_column(R, d, B, sl, k, p)
    return ok


def _fold_fast_column(R: Any, d: Any, B: Any, sl: float, k: int, p: int) -> bool:
    """Column ``p`` of :func:`_fold_fast`: is it in range?"""
    alpha = sl * R[p][p]
    sigma = _pool_norm(B, k, p)
    _mgs_column(R, d, B, sl, k, p, alpha, sigma)
    return bool((sigma > 1e-200) & (sigma < 1e200) & (abs(alpha) < 1e100))


def _pool_norm(B: Any, k: int, p: int) -> float:
    """``sigma = b'b``: the squared norm of the fold's pool in column ``p`` (:func:`_fold`)."""
    sigma = 0.0
    for r in range(p + 1):
        sigma += B[r][p] * B[r][p]
    for r in range(k + 1, k + 1 + p):
        sigma += B[r][p] * B[r][p]
    return sigma


def _mgs_column(
    R: Any, d: Any, B: Any, sl: float, k: int, p: int, alpha: float, sigma: float
) -> None:
    """Column ``p`` of :func:`_fold` by modified Gram-Schmidt, ``sigma = b'b > 0`` in range."""
    K = k + 1
    top = K + p
    q = alpha * alpha + sigma
    iq = 1.0 / q
    # off the chain of dependences: only R's row p waits for it; abs() tells the compiler
    # what is true (q >= 0), so that the square root cannot set errno and is vectorised
    rho = math.sqrt(abs(q))
    R[p][p] = rho
    if p == k:
        return
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


def _prior_row_load(W: Any, R0: Any, F: Any, P: Any, z: Any, c: Any, k: int) -> None:
    """Toward the prior, the row in column ``c`` of ``W``: ``F`` the data's factor before
    it (``W``'s first ``K (K + 1) / 2`` rows, packed), the pool ``P``'s first rows the
    prior's factor ``R0``, and ``z`` the row ``[x, y]`` itself (``W``'s next ``K`` rows)."""
    e = 0
    for p in range(k + 1):
        for j in range(p, k + 1):
            F[p, j] = W[e, c]
            P[p, j] = R0[p, j]
            e += 1
    for j in range(k + 1):
        z[j] = W[e + j, c]


def _prior_row_fast(W: Any, R0: Any, A: Any, sl: float, T: Any, i: Any, c: Any, k: int) -> bool:
    """Toward the prior, the posterior after row ``i`` and the predictive before it, branch-free.

    The rows are independent: each folds the prior into the data's factor before it
    (``W``'s first rows at column ``c = i - start``, :func:`_fold_fast`), reads the
    predictive (:func:`_forward`) and rotates the row in (:func:`_rotate_fast`); the
    factor is nonsingular. The results go to ``W``'s later rows (``m``, ``diag V``, ``b``,
    the predictive's mean, ``nu scale**2 / 2`` and ``b`` before the row). ``T`` is scratch
    (as the kernel's), ``i`` and ``c`` unsigned, and nothing is stored but into ``W``
    (freshly allocated, so the compiler knows it aliases nothing): the kernel's loop
    over a block's rows, of which this is the body, is vectorised. Returns False where
    a square could leave float64: the kernel redoes the block by :func:`_prior_row`.
    Compiled into the kernel only.
    """
    K = k + 1
    F, Fi, m, d, z, P = T[:K], T[K : 2 * K], T[2 * K], T[2 * K + 1], T[2 * K + 2], T[2 * K + 3 :]
    o = K * (K + 1) // 2 + K
    _prior_row_load_c(W, R0, F, P, z, c, k)
    ok: bool = _fold_fast_c(F, d, P, sl, k)
    mu, h = _forward_c(F, d, z, m, k)
    bprev = 0.5 * F[k, k] * F[k, k]
    W[o + 2 * k + 1, c] = mu
    W[o + 2 * k + 2, c] = bprev * (1.0 + h)  # nu * scale**2 / 2
    W[o + 2 * k + 3, c] = bprev
    ok &= _rotate_fast_c(F, d, z, k)
    _solve_c(F, d, m, Fi, k)
    for j in range(k):
        vjj = 0.0
        for l in range(j, k):
            vjj += Fi[j, l] * Fi[j, l]
        W[o + k + j, c] = vjj
        W[o + j, c] = m[j]
    W[o + 2 * k, c] = 0.5 * F[k, k] * F[k, k]
    return ok


def _prior_block_fast(
    W: Any,
    R0: Any,
    sl: float,
    T: Any,
    out: Any,
    flags: Any,
    start: int,
    stop: int,
    k: int,
) -> bool:
    """:func:`_prior_row_fast` for rows ``start..stop - 1``, then their results moved to
    ``out`` and ``flags`` (as :func:`_prior_row` writes them) where all were in range."""
    o, K = 2 * k, k + 1
    A = out[o + 2]
    fine = True
    for i in range(start, stop):
        fine &= _prior_row_fast_c(W, R0, A, sl, T, np.uint64(i), np.uint64(i - start), k)
    if not fine:
        return False
    w = K * (K + 1) // 2 + K
    for i in range(start, stop):
        u_, c = np.uint64(i), np.uint64(i - start)
        a = A[u_]
        b = W[w + 2 * k, c]
        proper = (a > 0.0) & (b > 0.0)
        for j in range(k):
            out[j, u_] = W[w + j, c] if proper else math.nan
            out[k + j, u_] = W[w + k + j, c]
        out[o + 3, u_] = b
        out[o + 4, u_] = W[w + 2 * k + 1, c]
        out[o + 5, u_] = W[w + 2 * k + 2, c]
        flags[0, u_] = proper
        flags[1, u_] = proper & (a > 1.0)
        flags[2, u_] = proper & (a > 2.0)
        flags[3, u_] = (a - 0.5 > 0.0) & (W[w + 2 * k + 3, c] > 0.0)
    return True


def _prior_row(
    W: Any,
    R0: Any,
    sl: float,
    T: Any,
    out: Any,
    flags: Any,
    i: int,
    c: int,
    k: int,
    full: bool,
    tol: float,
) -> bool:
    """:func:`_prior_row_fast` with every branch: zeros skipped, squares out of range by
    ``math.hypot``, a singular factor (``full``, the rank so far, sticky, is returned).
    """
    K = k + 1
    F, Fi, m, d, z, P = T[:K], T[K : 2 * K], T[2 * K], T[2 * K + 1], T[2 * K + 2], T[2 * K + 3 :]
    o = 2 * k
    _prior_row_load_c(W, R0, F, P, z, c, k)
    _fold_c(F, d, P, sl, k)
    if not full:
        full = _full_rank_c(F, k, tol)
    a = out[o + 2, i]
    bprev = 0.5 * F[k, k] * F[k, k]
    before = full and a - 0.5 > 0.0 and bprev > 0.0
    flags[3, i] = before
    if before:
        mu, h = _forward_c(F, d, z, m, k)
        out[o + 4, i] = mu
        out[o + 5, i] = bprev * (1.0 + h)
    _rotate_c(F, d, z, k)
    if not full:
        full = _full_rank_c(F, k, tol)
    b = 0.5 * F[k, k] * F[k, k]
    proper = full and a > 0.0 and b > 0.0
    if full:
        _solve_c(F, d, m, Fi, k)
        for j in range(k):
            vjj = 0.0
            for l in range(j, k):
                vjj += Fi[j, l] * Fi[j, l]
            out[k + j, i] = vjj
    for j in range(k):
        out[j, i] = m[j] if proper else math.nan
    out[o + 3, i] = b if full else math.nan
    flags[0, i] = proper
    flags[1, i] = proper and a > 1.0
    flags[2, i] = proper and a > 2.0
    return full


# ------------------------------------------------------------------ the compiled kernel

#: Set by :func:`_compiled_kernel` to a numba intrinsic: ``_scratch(proto)`` is a
#: ``(4 K + 2, K)`` float64 array on the kernel's stack, ``K = len(proto)`` (``(1, 1)``
#: beyond :data:`_STACK_MAX`, where the kernel takes the heap instead).
_scratch: Any = None

#: Set by :func:`_compiled_kernel` to the compiled :func:`_full_rank`, :func:`_solve`,
#: :func:`_rotate`, :func:`_fold` and :func:`_forward`.
_full_rank_c: Any = None
_solve_c: Any = None
_rotate_c: Any = None
_fold_c: Any = None
_forward_c: Any = None
_prior_row_load_c: Any = None
_prior_row_fast_c: Any = None
_prior_row_c: Any = None
_prior_block_fast_c: Any = None
_fold_fast_c: Any = None
_rotate_fast_c: Any = None

#: Set by :func:`_compiled_kernel` to a numba intrinsic: ``_rows(proto)`` is a
#: ``(K (K + 1) / 2 + 3 K + 2, _SUB)`` float64 array on the kernel's stack, ``K = len(proto)``.
_rows: Any = None

#: Set by :func:`_compiled_kernel` to a numba intrinsic: ``_scratch_rows(proto)`` is
#: ``_scratch(proto)``'s array while ``K`` is at most :data:`_ROWS_MAX`, else ``(1, 1)``.
_scratch_rows: Any = None

#: Rows per sub-block toward the prior (the data's factor and the results of each row,
#: held in ``_rows``).
_SUB = 128

#: Largest ``k + 1`` whose sub-block goes on the stack (``_rows``; about 64 KiB at 8):
#: beyond, it is on the heap, where the compiler cannot tell it from the input, and
#: the rows are not vectorised.
_ROWS_MAX = 8

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
    qtab: FloatArray,
    qc: FloatArray,
    out: FloatArray,
    flags: BoolArray,
    proto: tuple[float, ...],
    toward: float | None,
) -> None:  # pragma: no cover - run compiled by numba; its agreement is tested
    """Givens update, posterior read-out and predictive, in blocks of rows.

    ``out`` rows: ``m`` (k), ``sd`` (k), then the float columns of
    :data:`duolm.bayesian.TRAJECTORY_COLUMNS` (``mean_sigma2`` to ``pred_logpdf``);
    ``flags`` rows: its four flags. Every entry is written (NaN where undefined).

    ``mode`` is :data:`FORGET_NONE`, :data:`FORGET_EXP` or :data:`FORGET_PRIOR`:
    before each row the factor is multiplied by ``sqrt(lam)``; toward the prior,
    the factor carried is the data's alone (exponential forgetting from nothing),
    and each row's posterior is that factor before the row with the prior folded in
    (:func:`_fold`), the predictive read by :func:`_forward`, the row rotated in.
    Those rows are independent, so they run after the recursion, per sub-block of
    :data:`_SUB` rows held on the stack (``_rows``), in a branch-free loop the
    compiler vectorises (:func:`_prior_block_fast`; a sub-block with a row out of
    range, or a singular factor, is redone row by row by :func:`_prior_row`).
    ``a`` follows ``lam a`` or ``a0 + lam (a - a0)`` (module docstring, "Forgetting").

    ``toward`` is None unless ``mode`` is :data:`FORGET_PRIOR` (then any float): the
    compiler specialises on its type and drops the code of forgetting toward the
    prior from the kernels compiled for None, which compile in seconds (the
    vectorised rows toward the prior take half a minute per ``k``, once).

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
    for r in range(4 * K + 2):
        for c in range(K):
            S[r, c] = R0[r, c] if r < K else 0.0
    # toward the prior: each row's own factor, pool and read-out (the recursion is R's)
    # (T for the rows read one by one, on the heap: the stack keeps what the speed needs;
    # U for the vectorised rows, on the stack where those are)
    T = np.zeros((4 * K + 2, K) if mode == FORGET_PRIOR else (1, 1))
    U = _scratch_rows(proto) if K <= _ROWS_MAX else T
    # toward the prior: the recursion's factor before each row of the block, packed by rows
    SB = _rows(proto) if K <= _ROWS_MAX else np.empty((K * (K + 1) // 2 + 3 * K + 2, _SUB))
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
    if toward is not None:  # the recursion is the data's alone, from nothing
        for r in range(K):
            for c in range(K):
                R[r, c] = 0.0
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        if toward is not None:  # mode == FORGET_PRIOR
            for s0 in range(start, stop, _SUB):
                s1 = min(stop, s0 + _SUB)
                # ---- pass 1: the recursion, exponential forgetting of the data alone
                for i in range(s0, s1):
                    e = 0
                    for p in range(K):
                        for j in range(p, K):
                            SB[e, i - s0] = R[p, j]
                            R[p, j] *= sl
                            e += 1
                    for j in range(k):
                        z[j] = X[i, j]
                    z[k] = y[i]
                    for j in range(K):  # the row, for pass 1b
                        SB[e + j, i - s0] = z[j]
                    _rotate_c(R, d, z, k)
                    a_run = a0 + lam * (a_run - a0) + 0.5
                    A[i] = a_run
                # ---- pass 1b: each row's posterior from the prior and the data before it;
                # branch-free rows, vectorised, unless a row is out of range or singular
                fast = full and _prior_block_fast_c(SB, R0, sl, U, out, flags, s0, s1, k)
                if not fast:
                    for i in range(s0, s1):
                        full = _prior_row_c(SB, R0, sl, T, out, flags, i, i - s0, k, full, tol)
            if g == n:
                for i in range(max(start, nt, 1), stop):
                    series = settled_small or A[i] - 0.5 >= _A_SERIES
                    if flags[3, i] and flags[2, i] and fast_ok and series:
                        g = i
                        break
        # ---- pass 1: the recursion (toward the prior: done above, this loop is empty)
        for i in range(start if mode != FORGET_PRIOR else stop, stop):
            bprev = 0.0
            if mode == FORGET_EXP:  # m stays; V grows by 1/lam (x'Vx scaled below)
                for p in range(K):
                    for j in range(p, K):
                        R[p, j] *= sl
                for j in range(k):
                    d[j] *= isl
            if forgetting:  # the posterior before row i, forgotten
                ap = lam * a_run if mode == FORGET_EXP else a0 + lam * (a_run - a0)
                bprev = 0.5 * R[k, k] * R[k, k]
                proper = full and ap > 0.0 and bprev > 0.0
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
    return _stack_typer(proto, lambda K: (4 * K + 2, K) if K <= _STACK_MAX else (1, 1))


def _stack_scratch_rows_typer(typingctx: Any, proto: Any) -> Any:  # pragma: no cover - typing
    """Typing and code generation of the ``_scratch_rows`` intrinsic (``_scratch``'s shape
    up to :data:`_ROWS_MAX`, see :func:`_compiled_kernel`)."""
    return _stack_typer(proto, lambda K: (4 * K + 2, K) if K <= _ROWS_MAX else (1, 1))


def _stack_rows_typer(typingctx: Any, proto: Any) -> Any:  # pragma: no cover - numba typing
    """Typing and code generation of the ``_rows`` intrinsic (see :func:`_compiled_kernel`)."""
    return _stack_typer(
        proto, lambda K: (K * (K + 1) // 2 + 3 * K + 2, _SUB) if K <= _ROWS_MAX else (1, 1)
    )


def _stack_typer(proto: Any, shape: Callable[[int], tuple[int, int]]) -> Any:  # pragma: no cover
    """A C-contiguous float64 array of ``shape(len(proto))`` on the kernel's stack."""
    from numba import types  # type: ignore[import-not-found, unused-ignore]
    from numba.core import cgutils  # type: ignore[import-not-found, unused-ignore]
    from numba.np.arrayobj import (  # type: ignore[import-not-found, unused-ignore]
        make_array,
        populate_array,
    )

    if not isinstance(proto, types.UniTuple):
        return None
    rows, cols = shape(proto.count)
    aryty = types.Array(types.float64, 2, "C")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        double = context.get_value_type(types.float64)
        ptr = cgutils.alloca_once(builder, double, size=rows * cols)  # type: ignore[no-untyped-call, unused-ignore]
        ary = make_array(aryty)(context, builder)  # type: ignore[no-untyped-call, unused-ignore]
        intp = context.get_value_type(types.intp)
        populate_array(  # type: ignore[no-untyped-call, unused-ignore]
            ary,
            data=ptr,
            shape=[intp(rows), intp(cols)],
            strides=[intp(8 * cols), intp(8)],
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
    global \
        _scratch, \
        _scratch_rows, \
        _rows, \
        _full_rank_c, \
        _solve_c, \
        _rotate_c, \
        _fold_c, \
        _forward_c, \
        _rotate_fast_c
    global _fold_fast_c, _prior_row_load_c, _prior_row_fast_c, _prior_row_c, _prior_block_fast_c
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
    _rows = intrinsic(_stack_rows_typer)
    _scratch_rows = intrinsic(_stack_scratch_rows_typer)
    # inlined (numba IR), not called: a call would let the stack state escape to memory
    jit = numba.njit(nogil=True, error_model="numpy", inline="always")

    def helper(fn: Callable[..., Any], **calls: Any) -> Any:
        """``fn`` compiled to be inlined, the helpers it calls by name compiled likewise."""
        if calls:  # its own globals, with those names bound to the compiled helpers
            fn = types.FunctionType(fn.__code__, {**fn.__globals__, **calls}, fn.__name__)
        return jit(fn)

    column, mgs, norm = helper(_givens_column), helper(_mgs_column), helper(_pool_norm)
    _full_rank_c, _solve_c, _forward_c = helper(_full_rank), helper(_solve), helper(_forward)
    _rotate_c = helper(_rotate, _givens_column=column)
    _rotate_fast_c = helper(_rotate_fast, _givens_column=column)
    _fold_c = helper(_fold, _mgs_column=mgs, _pool_norm=norm)
    fold_column = helper(_fold_fast_column, _mgs_column=mgs, _pool_norm=norm)
    _fold_fast_c = helper(_fold_fast, _fold_fast_column=fold_column)
    _prior_row_load_c = helper(_prior_row_load)
    _prior_row_fast_c, _prior_row_c = helper(_prior_row_fast), helper(_prior_row)
    _prior_block_fast_c = helper(_prior_block_fast, _prior_row_fast_c=_prior_row_fast_c)
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
    prior_rows = R0.tolist()
    data = [[0.0] * (k + 1) for _ in range(k + 1)]  # toward the prior: the data's factor
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
                R = [row[:] for row in data]
                _fold(R, d, pool, sl, k)
                for row in data:  # the data's recursion: exponential forgetting
                    for j in range(k + 1):
                        row[j] *= sl
                _rotate(data, [0.0] * k, [*x, yi], k)
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
    qtab: FloatArray,
    qc: FloatArray,
    out: FloatArray,
    flags: BoolArray,
    proto: tuple[float, ...],
    toward: float | None,
) -> None:
    """The fallback: the recursion in Python, every per-row formula vectorised.

    Same arguments and the same arithmetic as :func:`_kernel_source`.
    """
    n, k = X.shape
    M, VD, b, full_, mu, h, full0, bf, ff = _sequential_python(X, y, R0, check_rank, tol, mode, lam)
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
