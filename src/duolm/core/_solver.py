"""Least squares for data in memory, as accurate as the float64 data allow.

The core's refined solver (DESIGN.md, "Layers"): the factorisation is chosen
by the measured conditioning of the design. For many rows of a
well-conditioned design, the Cholesky factor of the Gram matrix with one
corrected semi-normal step; otherwise Householder QR of the column-scaled
design, refined from the rows themselves (Björck's augmented-system
refinement with residuals in double-double precision), which is what lets
duolm reproduce the NIST StRD certified values to the digits the float64 data
can carry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import scipy.linalg as sla
from numpy.typing import NDArray

import duolm.core._sweep as _sweep
import duolm.core._xprec as _xprec
from duolm._checks import check_alias_tol
from duolm.core._columns import Columns, DesignMatrix, as_array
from duolm.core._moments import ResidualMoments
from duolm.core._sqrtstat import (
    ALIAS_TOL,
    FAST_MAX_COND,
    SqrtStat,
    _triangularize,
    _y_moments,
    nearest_pow2,
)
from duolm.errors import DataError

__all__ = ["FAST_MIN_ROWS", "LstsqFit", "lstsq"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Fewer rows than this always take the Householder path with refinement:
#: the extra cost is negligible and the answer is the most accurate one.
FAST_MIN_ROWS = 20_000

_MAX_REFINE = 8


@dataclass(frozen=True, eq=False)
class LstsqFit:
    """An in-memory least-squares solution.

    Attributes
    ----------
    stat : SqrtStat
        Square-root statistic of ``[X[:, kept] y]``; its ``ryy`` is the norm of
        the refined residuals.
    params : ndarray of shape (k_kept,)
        Refined estimate for the kept columns.
    resid : ndarray of shape (n,)
        ``y - X[:, kept] @ params``.
    kept : ndarray of bool, shape (k,)
        False for aliased columns.
    method : {"householder", "cholesky", "cholesky-centred"}
        The factorisation chosen by the measured conditioning.
    scaled_cond : float
        Condition number of the design with unit-norm columns.
    moments : ResidualMoments or None
        The moments of ``resid`` when the fit's residual sweep took them.
    squares : Squares or None
        The Breusch-Pagan pieces of the same sweep (:class:`duolm.core._sweep.Squares`).
    cov : ndarray of shape (k_kept, k_kept) or None
        ``(X^T X)^-1`` of the kept columns when asked for (``lstsq(..., cov=True)``):
        on the Householder path refined column by column as the estimate is
        (:func:`_refine_inverse`), on the Cholesky paths ``U^-1 U^-T`` (their
        well-conditioned designs lose no more than ``cond * eps`` there).
    """

    stat: SqrtStat
    params: FloatArray
    resid: FloatArray
    kept: BoolArray
    method: str
    scaled_cond: float
    moments: ResidualMoments | None = None
    squares: _sweep.Squares | None = None
    cov: FloatArray | None = None

    def residual_moments(self) -> ResidualMoments:
        """The moments of :attr:`resid` (taken by the fit's last sweep when it made one)."""
        if self.moments is not None:
            return self.moments
        return _sweep.moments(self.resid)


def lstsq(
    X: DesignMatrix,
    y: FloatArray,
    *,
    tol: float = ALIAS_TOL,
    const_col: int | None = None,
    cov: bool = False,
    gram: FloatArray | None = None,
    above: tuple[FloatArray, FloatArray] | None = None,
) -> LstsqFit:
    """Least squares for data in memory, as accurate as the float64 data allow.

    The factorisation is chosen by the measured conditioning: for many rows
    of a well-conditioned design, the Cholesky factor of the Gram matrix (one
    pass over the data) with a corrected semi-normal step; otherwise
    Householder QR of the column-scaled design, then Björck's refinement of
    the augmented system ``[I A; A^T 0][r; x] = [y; 0]`` with residuals in
    double-double precision until the correction is below rounding.

    Parameters
    ----------
    X : ndarray of shape (n, k) or Columns
        Finite values; :class:`~duolm.core.Columns` (a frame's columns, the
        intercept implicit) are read where they are, built into a matrix only
        for the Householder path.
    y : ndarray of shape (n,)
        Finite values.
    tol : float
        Aliasing tolerance, see :meth:`SqrtStat.aliased`.
    const_col : int, optional
        Position of a constant column (the intercept). When the Gram matrix of
        X is too ill-conditioned, that of X with the other columns centred is
        tried next: the same model, reparametrised, and well conditioned when
        the trouble is columns far from zero (a year, a temperature in kelvin).
    cov : bool
        Also return ``(X^T X)^-1`` of the kept columns (``LstsqFit.cov``), refined
        on the Householder path to the accuracy of the estimate.
    gram : ndarray of shape (k + 1, k + 1), optional
        ``[X y]^T [X y]`` when already taken (:func:`duolm.core._sweep.gram_scan`
        takes it with the design's finite check): the Cholesky path then reads
        the rows once less.
    above : pair of ndarray, shape (m, k) and (m,), optional
        Rows ``[P p]`` stacked above ``[X y]`` (a prior's factor, for the
        posterior mean as least squares): the fit is that of ``[P; X] b ~ [p; y]``
        without copying X onto them. The Cholesky path adds their Gram matrix to
        X's and their residuals to the corrected step; the Householder path
        factors the stacked copy. ``resid`` then holds the residuals of the rows
        above, then X's; the statistic counts every row; no residual moments.

    Examples
    --------
    >>> x = np.arange(1.0, 6.0)
    >>> fit = lstsq(np.column_stack([np.ones(5), x, 2 * x]), 1 + 3 * x)
    >>> fit.kept.tolist(), fit.params.round(12).tolist()
    ([True, True, False], [1.0, 3.0])
    """
    tol = check_alias_tol(tol)
    if not isinstance(X, Columns):
        X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, _k = X.shape
    if above is not None:
        P = np.asarray(above[0], dtype=np.float64).reshape(-1, _k)
        p = np.asarray(above[1], dtype=np.float64).reshape(-1)
        fit = _lstsq_gram(X, y, gram, (P, p)) if n + len(p) >= FAST_MIN_ROWS else None
        if fit is None:
            stacked = np.vstack([P, as_array(X)])
            return _lstsq_householder(stacked, np.concatenate([p, y]), tol, cov)
        return replace(fit, cov=fit.stat.cov_unscaled()) if cov else fit
    if n == 0:
        raise DataError("no rows to fit")
    fit = None
    if n >= FAST_MIN_ROWS:
        fit = _lstsq_gram(X, y, gram)
        if fit is None and const_col is not None:
            fit = _lstsq_gram_centred(X, y, const_col)
    if fit is None:
        return _lstsq_householder(as_array(X), y, tol, cov)
    if cov:
        fit = replace(fit, cov=fit.stat.cov_unscaled())
    return fit


def _lstsq_gram(
    X: DesignMatrix,
    y: FloatArray,
    G: FloatArray | None = None,
    above: tuple[FloatArray, FloatArray] | None = None,
) -> LstsqFit | None:
    """Normal equations through the Cholesky factor; None when not trustworthy.

    Two fused sweeps over the rows (:mod:`duolm.core._sweep`): ``[X y]^T [X y]``,
    then the residuals of the Cholesky estimate with ``X'r`` for Björck's
    corrected semi-normal step and the cross products of the residuals'
    moments and of the summary's Breusch-Pagan statistic. A third sweep
    recomputes the residuals of the corrected estimate only when the step moves
    them by more than their own rounding (see :func:`_step_is_negligible`).
    ``above``: rows ``[P p]`` stacked above ``[X y]`` (see :func:`lstsq`), whose
    products are taken apart from X's sweeps and added to them.
    """
    n, k = X.shape
    if G is None:
        G = _sweep.gram(X, y)
    P, p = above if above is not None else (np.zeros((0, k)), np.zeros(0))
    data_rows = n
    if len(p):
        Pp = np.column_stack([P, p])
        G = G + Pp.T @ Pp
        n += len(p)
    if not np.all(np.isfinite(G)):
        return None
    Xty = G[:k, k]
    try:
        U = sla.cholesky(G[:k, :k], lower=False, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    norms = np.sqrt(np.diag(G[:k, :k]))
    if np.any(norms == 0):
        return None
    sv = np.linalg.svd(U / norms, compute_uv=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
    if not cond <= FAST_MAX_COND:
        return None
    b = sla.cho_solve((U, False), Xty, check_finite=False)
    # the squared residuals in units of y's root mean square: no overflow, and the
    # Breusch-Pagan statistic does not depend on the unit
    unit = _sweep.pow2(math.sqrt(G[k, k] / n))
    sweep = _sweep.residuals(X, y, b, unit)
    ep = p - P @ b  # the rows above: apart from X's sweep
    # One corrected semi-normal step (Björck 1987): b += (R^T R)^-1 X^T (y - X b).
    db = sla.cho_solve((U, False), sweep.xe + P.T @ ep, check_finite=False)
    su = sweep.su + float(np.sum((ep / unit) ** 2))
    negligible = _step_is_negligible(U, b, db, math.sqrt(su) * unit, G)
    b = b + db
    if not negligible:
        sweep = _sweep.residuals(X, y, b, unit)
        ep = p - P @ b
        su = sweep.su + float(np.sum((ep / unit) ** 2))
    resid = sweep.e
    ssr = su * unit * unit  # sum (e / unit)^2 of the sweep, exact powers of two
    R = np.zeros((k + 1, k + 1))
    R[:k, :k] = U
    R[:k, k] = U @ b
    R[k, k] = math.sqrt(ssr)
    y_moments = _sweep.moments(y)  # compiled for many rows; mean and m2 in its unit
    mean, m2 = y_moments.mean * y_moments.unit, y_moments.m2 * y_moments.unit**2
    kept = np.ones(k, dtype=bool)
    if len(p):  # the stacked system: every row counted, the response's moments pooled
        mean_p, m2_p = _y_moments(p)
        delta = mean_p - mean
        mean += delta * len(p) / n
        m2 += m2_p + delta * delta * data_rows * len(p) / n
        stat = SqrtStat(R, float(n), mean, m2)
        return LstsqFit(stat, b, np.concatenate([ep, resid]), kept, "cholesky", cond)
    moments, squares = _sweep.residual_stats(sweep)
    stat = SqrtStat(R, float(n), mean, m2)
    return LstsqFit(stat, b, resid, kept, "cholesky", cond, moments=moments, squares=squares)


def _step_is_negligible(
    U: FloatArray, b: FloatArray, db: FloatArray, e_norm: float, G: FloatArray
) -> bool:
    """Whether the residuals ``e`` (of norm ``e_norm``) of the uncorrected estimate serve for
    the corrected one.

    The step changes the residuals by ``X db``, whose norm is ``||U db||`` (no pass
    over the rows). Forming ``y - X b`` in floating point errs by up to
    ``gamma_{k+1} (|y| + |X| |b|)`` per row (Higham 2002, sec. 3.5), a vector of norm up
    to ``(k + 1) eps (||y|| + sum_j |b_j| ||X_j||)``: below ``eps`` times that sum (the
    factor ``k + 1`` left out), the step's change is under the rounding of the residuals
    themselves. Below ``sqrt(eps) ||e||`` besides, it changes the residual sum of squares
    by less than a relative ``eps`` (``e`` is orthogonal to the columns to rounding).
    """
    eps = float(np.finfo(np.float64).eps)
    k = len(b)
    d = np.diag(G)
    scale = math.sqrt(d[k]) + float(np.abs(b) @ np.sqrt(d[:k]))
    shift = float(np.linalg.norm(U @ db))
    return shift <= eps * scale and shift <= math.sqrt(eps) * e_norm


def _lstsq_gram_centred(X: DesignMatrix, y: FloatArray, c: int) -> LstsqFit | None:
    """Normal equations of X with every column but the constant one centred.

    With ``v`` the constant's value and ``w = mu / v`` (``w_c = 0``), the centred
    design is ``Xc = X M^-1`` for ``M = I + e_c w^T``: the same column space, so
    the same residuals, and ``b = M^-1 b_c`` changes only the intercept,
    ``b[c] = b_c[c] - w . b_c``. The factor of X is ``R_c M``, re-triangularised.
    Centring rounds each entry relative to its centred value: a perturbation far
    below the data's own representation error when the columns sit far from 0.
    """
    n, k = X.shape
    if isinstance(X, Columns) and X.intercept == c:  # the constant is 1, not stored
        mu = np.zeros(k)
        mu[X.positions] = [part.mean() for part in X.parts]
        parts = tuple(part - m for part, m in zip(X.parts, mu[X.positions], strict=True))
        centred = Columns(parts, c, n)
        fit = _lstsq_gram(centred, y)
        value = 1.0
    else:
        A = as_array(X)
        mu = A.mean(axis=0)
        mu[c] = 0.0
        fit = _lstsq_gram(A - mu, y)
        value = float(A[0, c])
    if fit is None:
        return None
    w = mu / value
    b = fit.params.copy()
    b[c] -= w @ fit.params
    M = np.eye(k)
    M[c] += w
    R = fit.stat.R.copy()
    R[:k, :k] = R[:k, :k] @ M
    stat = SqrtStat(_triangularize(R), fit.stat.nobs, fit.stat.y_mean, fit.stat.y_m2)
    # X'(u - ubar) of the centred columns equals that of X (sum (u - ubar) = 0)
    return replace(fit, stat=stat, params=b, method="cholesky-centred")


def _lstsq_householder(X: FloatArray, y: FloatArray, tol: float, cov: bool = False) -> LstsqFit:
    n, k = X.shape
    col_scale = nearest_pow2(np.max(np.abs(X), axis=0) if n else np.ones(k))
    y_scale = float(nearest_pow2(np.array([np.max(np.abs(y))]))[0])
    A_all = X / col_scale  # exact: powers of two
    b = y / y_scale
    if n < k:  # pad with zero rows: same solution and R, and R comes out square
        A_all = np.vstack([A_all, np.zeros((k - n, k))])
        b = np.concatenate([b, np.zeros(k - n)])
    kept = np.ones(k, dtype=bool)
    while True:
        A = np.asfortranarray(A_all[:, kept])
        Q, R = np.linalg.qr(A)
        signs = np.where(np.diag(R) < 0, -1.0, 1.0)
        R, Q = R * signs[:, None], Q * signs
        col_norms = np.sqrt(np.sum(R**2, axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios = np.where(col_norms > 0, np.abs(np.diag(R)) / col_norms, 0.0)
        bad = np.flatnonzero(ratios < tol)
        if bad.size == 0:
            break
        kept[np.flatnonzero(kept)[bad[0]]] = False
    x, _r = _refine(A, b, Q, R)
    resid_scaled = _xprec.residual(b, A, x)[:n]
    params = x * y_scale / col_scale[kept]
    with np.errstate(over="ignore"):
        resid = resid_scaled * y_scale
        ssr = float(resid @ resid)
    if not math.isfinite(ssr):
        raise DataError(
            "the residual sum of squares overflows float64: rescale y (its magnitude is "
            f"{np.max(np.abs(y)):.3g})"
        )
    kk = int(kept.sum())
    Rfull = np.zeros((kk + 1, kk + 1))
    Rfull[:kk, :kk] = R * col_scale[kept]
    Rfull[:kk, kk] = (R @ x) * y_scale
    Rfull[kk, kk] = math.sqrt(ssr)
    mean, m2 = _y_moments(y)
    stat = SqrtStat(Rfull, float(n), mean, m2)
    sv = np.linalg.svd(R / np.where(col_norms > 0, col_norms, 1.0), compute_uv=False)
    cond = float(sv[0] / sv[-1]) if sv.size and sv[-1] > 0 else math.inf
    inverse = None
    if cov:  # (X^T X)^-1 = D^-1 (A^T A)^-1 D^-1 for A = X D^-1, D powers of two: exact
        scale = col_scale[kept]
        with np.errstate(over="ignore"):  # inf when X^T X is outside float64's range
            inverse = _refine_inverse(A, Q, R) / scale[:, None] / scale[None, :]
    return LstsqFit(stat, params, resid, kept, "householder", cond, cov=inverse)


def _refine(
    A: FloatArray, b: FloatArray, Q: FloatArray, R: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Björck's iterative refinement of the augmented system, residuals in double-double.

    Solves ``r + A x = b, A^T r = 0``. Each step computes the residuals
    ``f = b - r - A x`` and ``g = -A^T r`` in extended precision and the
    corrections from the QR factors: ``h = R^-T g``, ``dx = R^-1 (Q^T f - h)``,
    ``dr = Q h + (I - Q Q^T) f`` (Björck 1967; Björck 1996, sec. 2.9.3).
    """
    x = sla.solve_triangular(R, Q.T @ b)
    r = b - A @ x
    eps = np.finfo(np.float64).eps
    for _ in range(_MAX_REFINE):
        f = _xprec.residual(b, A, x, r)
        g = -_xprec.cross(A, r)
        h = sla.solve_triangular(R, g, trans="T")
        d1 = Q.T @ f
        dx = sla.solve_triangular(R, d1 - h)
        dr = Q @ h + (f - Q @ d1)
        x = x + dx
        r = r + dr
        if np.linalg.norm(dx) <= eps * np.linalg.norm(x):
            break
    return x, r


def _refine_inverse(A: FloatArray, Q: FloatArray, R: FloatArray) -> FloatArray:
    """``(A^T A)^-1`` refined column by column as :func:`_refine` refines the estimate.

    Column j of the inverse is the ``x`` of the augmented system
    ``r + A x = 0, A^T r = -e_j`` (so ``A^T A x = e_j``). From ``x = R^-1 R^-T e_j``,
    ``r = -A x``, each step computes ``f = -r - A x`` and ``g = -e_j - A^T r`` in
    double-double (``e_j`` joins the sum as a row of ``[A; I]`` against ``[r; e_j]``,
    so no rounded ``A^T r`` is subtracted from it) and corrects both from the QR
    factors (Björck 1967; Björck 1996, sec. 2.9.3). Each step gains the digits
    ``cond(A) * eps`` allows, as for the estimate; the result is symmetrised.
    """
    k = R.shape[0]
    eye = np.eye(k)
    X = sla.solve_triangular(R, sla.solve_triangular(R, eye, trans="T"))
    Rr = -(A @ X)
    eps = np.finfo(np.float64).eps
    for _ in range(_MAX_REFINE):
        F, G = _xprec.augmented_residuals(A, X, Rr)
        H = sla.solve_triangular(R, G, trans="T")
        D1 = Q.T @ F
        dX = sla.solve_triangular(R, D1 - H)
        X = X + dX
        Rr = Rr + (Q @ H + (F - Q @ D1))
        if np.all(np.linalg.norm(dX, axis=0) <= eps * np.linalg.norm(X, axis=0)):
            break
    out: FloatArray = 0.5 * (X + X.T)
    return out
