"""The square-root sufficient statistic: the one module that knows about QR.

The lecture keeps the extended information matrix ``xi = sum z z^T`` with
``z = [y, x]``. duolm keeps its square root instead: an upper-triangular
``R`` with ``R^T R = [X y]^T [X y]`` (columns ordered ``[x..., y]``), which
carries the same information with half the exponent range and none of the
cancellation of forming ``X^T X`` (DESIGN.md, "One core, two readings").

Everything a fit needs comes out of ``R`` by triangular solves: the estimate
solves ``Rxx b = rxy``, the residual sum of squares is ``ryy**2`` and the
unscaled covariance is ``Rxx^-1 Rxx^-T``. Updates, merges and forgetting are
orthogonal transformations of stacked factors, so they are exact in the
sense of backward stability, whatever the order or chunking of the data.

For data held in memory, :func:`duolm.core.lstsq` (:mod:`duolm.core._solver`)
also refines the solution from the rows themselves.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from numpy.typing import NDArray

from duolm.errors import DataError

__all__ = [
    "ALIAS_TOL",
    "FAST_MAX_COND",
    "PERFECT_FIT",
    "RESIDUAL_MIN",
    "RESPONSE_MIN",
    "SqrtStat",
    "nearest_pow2",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: A column is aliased when its distance from the span of the columns before it
#: is below ``ALIAS_TOL`` times its own norm. Exactly collinear columns land near
#: 1e-16 after rounding; NIST's Filip (scaled condition number 5e9) has ratios
#: near 1e-9 and must stay full rank. R's ``lm`` uses 1e-7, which drops a Filip term.
ALIAS_TOL = 1e-12

#: Largest condition number of the column-scaled design for which the normal
#: equations (Cholesky of the Gram matrix) are trusted: their relative error
#: grows like cond**2 * eps, 1e6 * 2.2e-16 ~ 2e-10 here, and one corrected
#: semi-normal step brings the estimate to cond * eps.
FAST_MAX_COND = 1e3

#: A sum of squares below this fraction of the one it is taken from is rounding: an exact
#: fit's residuals (R's "essentially perfect fit": s² < 1e-30 ||X b||² / n), a constant
#: response's or column's deviations from its mean.
PERFECT_FIT = 1e-30

_BLOCK_ROWS = 4096

#: A response whose scale (the largest entry of R's last column, ~ ||y||) is below this
#: (about 3e-151) has sums of squares within 1e4 of the end of float64's normal range; a
#: residual norm ``|ryy|`` below ``sqrt`` of the smallest normal double (2**-511) has a
#: subnormal square. Either way the inference would lose its digits.
RESPONSE_MIN = 2.0**-500
RESIDUAL_MIN = 2.0**-511


def nearest_pow2(scale: FloatArray) -> FloatArray:
    """Powers of two nearest ``scale`` (dividing by them is exact); 1 where it is zero."""
    with np.errstate(divide="ignore"):
        e = np.where(scale > 0, np.round(np.log2(np.where(scale > 0, scale, 1.0))), 0.0)
    out: FloatArray = np.exp2(e)
    return out


def _triangularize(M: FloatArray) -> FloatArray:
    """Return the canonical R factor of ``M`` (square, upper triangular, diagonal >= 0).

    Tall inputs are factored in blocks of rows that fit in cache, merging the
    partial factors as they come (a TSQR of depth one).
    """
    n, p = M.shape
    R: FloatArray
    if n > 2 * _BLOCK_ROWS:
        R = np.zeros((p, p))
        for start in range(0, n, _BLOCK_ROWS):
            block = M[start : start + _BLOCK_ROWS]
            R = _qr_r(np.vstack([R, block]))[:p]
    elif n == 1:  # LAPACK's reflector of a 1-row column is the identity (tau = 0)
        R = M.copy()
    else:
        R = _qr_r(M)
    if R.shape[0] < p:  # fewer rows than columns: pad with zero rows
        R = np.vstack([R, np.zeros((p - R.shape[0], p))])
    R = np.triu(R[:p])
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    out: FloatArray = R * signs[:, None]
    return out


def _qr_r(M: FloatArray) -> FloatArray:
    out: FloatArray = np.linalg.qr(M, mode="r")  # type: ignore[assignment]
    return out


@functools.lru_cache(maxsize=64)
def _strictly_lower(n: int) -> NDArray[np.bool_]:
    """Mask of the entries below the diagonal of an n x n matrix (shared, read-only)."""
    mask = np.tril(np.ones((n, n), dtype=bool), -1)
    mask.flags.writeable = False
    return mask


def _frozen(a: FloatArray) -> FloatArray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class SqrtStat:
    """Square-root sufficient statistic of ``[X y]``, with the moments of ``y``.

    Parameters
    ----------
    R : ndarray of shape (k + 1, k + 1)
        Upper triangular, ``R^T R = [X y]^T [X y]`` (plus a prior's
        information when the state carries one), columns ordered ``[x..., y]``.
    nobs : float
        Number of observations (an effective count after forgetting).
    y_mean, y_m2 : float
        Mean of ``y`` and sum of squared deviations from it, for the total
        sum of squares behind R² and the F test (Chan et al. pairwise update).

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [1.0, 2.0, 3.0, 4.0]])
    >>> y = np.array([2.0, 3.0, 3.0, 5.0])
    >>> st = SqrtStat.from_data(X, y)
    >>> st.solve().round(6).tolist()
    [1.0, 0.9]
    >>> a, b = SqrtStat.from_data(X[:2], y[:2]), SqrtStat.from_data(X[2:], y[2:])
    >>> bool(np.allclose(a.merge(b).R, st.R, rtol=0, atol=1e-12))
    True
    """

    R: FloatArray
    nobs: float
    y_mean: float = 0.0
    y_m2: float = 0.0

    def __post_init__(self) -> None:
        R = np.asarray(self.R, dtype=np.float64)
        if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] < 1:
            raise ValueError(f"R must be a square matrix, got shape {R.shape}")
        if np.any(R[_strictly_lower(R.shape[0])]):
            raise ValueError("R must be upper triangular")
        object.__setattr__(self, "R", _frozen(R))

    # -- construction -------------------------------------------------------------
    @classmethod
    def empty(cls, k: int) -> SqrtStat:
        """The state of no data: ``R = 0`` for ``k`` regressors."""
        return cls(np.zeros((k + 1, k + 1)), 0.0)

    @classmethod
    def from_data(cls, X: FloatArray, y: FloatArray) -> SqrtStat:
        """Factor a block of rows: ``R = triu(qr([X y]))``.

        Parameters
        ----------
        X : ndarray of shape (n, k)
        y : ndarray of shape (n,)
        """
        X, y = _check_block(X, y)
        n, k = X.shape
        if n == 0:
            return cls.empty(k)
        R = _triangularize(np.column_stack([X, y]))
        with np.errstate(over="ignore"):  # beyond float64: inf, refused by the fits
            mean = float(np.mean(y))
            m2 = float(np.sum((y - mean) ** 2))
        return cls(R, float(n), mean, m2)

    @classmethod
    def from_block(cls, X: FloatArray, y: FloatArray) -> SqrtStat:
        """Factor a block of rows, through its Gram matrix when that is safe.

        The Cholesky factor of ``[X y]^T [X y]`` (one BLAS pass, several times
        faster than Householder QR on tall blocks) is accepted only when the
        condition number of ``[X y]`` with unit-norm columns is at most
        :data:`FAST_MAX_COND`: its relative error is then below
        ``FAST_MAX_COND**2 * eps`` (about 2e-10), as for the in-memory
        normal-equations path. Otherwise, and for short blocks, this is
        :meth:`from_data`. Including ``y`` in the check keeps ``ryy`` accurate:
        a nearly exact fit makes ``[X y]`` ill-conditioned and takes the QR.
        """
        X, y = _check_block(X, y)
        n, k = X.shape
        if n < 8 * (k + 1):
            return cls.from_data(X, y)
        G = np.empty((k + 1, k + 1))
        with np.errstate(over="ignore", invalid="ignore"):  # a non-finite G means: QR
            G[:k, :k] = X.T @ X
            G[:k, k] = G[k, :k] = X.T @ y
            G[k, k] = y @ y
            moments = _y_moments(y)
        stat = cls.from_gram(G, n, *moments)
        return stat if stat is not None else cls.from_data(X, y)

    @classmethod
    def of_gram(cls, G: FloatArray, y: FloatArray) -> SqrtStat | None:
        """:meth:`from_gram` of the rows whose response is ``y`` (counted and its mean and
        centred sum of squares taken here), or None when unsafe."""
        return cls.from_gram(G, len(y), *_y_moments(y))

    @classmethod
    def from_gram(cls, G: FloatArray, nobs: int, y_mean: float, y_m2: float) -> SqrtStat | None:
        """The statistic of rows whose ``[X y]^T [X y]`` is ``G``, or None when unsafe.

        The Cholesky factor of ``G`` is accepted under the rule of
        :meth:`from_block`: ``G`` finite, no zero column, and ``[X y]`` with
        unit-norm columns of condition number at most :data:`FAST_MAX_COND`.
        On None, factor the rows themselves (:meth:`from_data`). A NaN or inf
        in the rows makes ``G`` non-finite, so None also reports those.
        """
        G = np.asarray(G, dtype=np.float64)
        if not np.all(np.isfinite(G)):
            return None
        norms = np.sqrt(np.diag(G))
        if not np.all(norms > 0):
            return None
        try:
            U = sla.cholesky(G, lower=False, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        sv = np.linalg.svd(U / norms, compute_uv=False)
        if not sv[-1] * FAST_MAX_COND >= sv[0]:
            return None
        return cls(U, float(nobs), float(y_mean), float(y_m2))  # scipy zeroes below

    # -- the three operations of DESIGN.md ----------------------------------------
    def update(self, X: FloatArray, y: FloatArray) -> SqrtStat:
        """Add a block of rows (a single row is a block of one)."""
        return self.merge(SqrtStat.from_data(X, y))

    def merge(self, other: SqrtStat) -> SqrtStat:
        """Combine states of disjoint data: ``R = triu(qr([R1; R2]))``, counts added."""
        if other.k != self.k:
            raise ValueError(f"cannot merge states with {self.k} and {other.k} regressors")
        R = _triangularize(np.vstack([self.R, other.R]))
        n = self.nobs + other.nobs
        if n == 0:
            return SqrtStat(R, 0.0)
        delta = other.y_mean - self.y_mean
        mean = self.y_mean + delta * other.nobs / n
        m2 = self.y_m2 + other.y_m2 + delta * delta * self.nobs * other.nobs / n
        return SqrtStat(R, n, mean, m2)

    def forget(self, lam: float) -> SqrtStat:
        """Exponential forgetting: every past observation's weight is multiplied by ``lam``.

        ``R <- sqrt(lam) R``, ``nobs <- lam nobs``.
        """
        lam = _check_lambda(lam)
        return SqrtStat(math.sqrt(lam) * self.R, lam * self.nobs, self.y_mean, lam * self.y_m2)

    def forget_toward(self, lam: float, target: SqrtStat) -> SqrtStat:
        """Stabilised forgetting: ``R <- triu(qr([sqrt(lam) R; sqrt(1 - lam) R_target]))``."""
        lam = _check_lambda(lam)
        if target.k != self.k:
            raise ValueError(f"cannot forget toward a state with {target.k} regressors")
        if lam == 1.0:  # nothing forgotten, nothing mixed in
            return self
        return self.forget(lam).merge(target.forget(1.0 - lam))

    # -- reading the factor -------------------------------------------------------
    @property
    def k(self) -> int:
        """Number of regressors."""
        return int(self.R.shape[0] - 1)

    @property
    def Rxx(self) -> FloatArray:
        """The factor of ``X^T X``, shape (k, k)."""
        return self.R[:-1, :-1]

    @property
    def rxy(self) -> FloatArray:
        """``Q^T y`` for the X columns, shape (k,)."""
        return self.R[:-1, -1]

    @property
    def ryy(self) -> float:
        """Square root of the residual sum of squares."""
        return float(self.R[-1, -1])

    @property
    def ssr(self) -> float:
        """Residual sum of squares ``ryy**2`` (inf beyond float64, never an OverflowError)."""
        return self.ryy * self.ryy

    @property
    def uncentered_tss(self) -> float:
        """``sum y**2``, from the moments of ``y``."""
        return self.y_m2 + self.nobs * self.y_mean**2

    def column_norms(self) -> FloatArray:
        """Euclidean norms of the columns of X (from R: ``||X_j|| = ||R[:, j]||``).

        Each column is scaled by a power of two near its largest entry before it is
        squared, so columns near 1e-200 (or 1e200) neither underflow nor overflow.
        """
        unit = nearest_pow2(np.max(np.abs(self.Rxx), axis=0) if self.k else np.zeros(0))
        norms: FloatArray = unit * np.sqrt(np.sum((self.Rxx / unit) ** 2, axis=0))
        return norms

    def check_response_range(self, where: str = "") -> None:
        """Refuse a response so small that its sums of squares leave float64.

        The residual and total sums of squares are squares of the response's scale:
        below :data:`RESPONSE_MIN` (about 3e-151), or with a residual norm below
        :data:`RESIDUAL_MIN`, they underflow toward zero, and with them the standard
        errors, R² and the F test. The estimates themselves would be exact (the
        solver scales by powers of two), so the message says how to rescale.

        Raises
        ------
        DataError
            ``0 < max |R[:, y]| < RESPONSE_MIN`` or ``0 < |ryy| < RESIDUAL_MIN``.
        """
        top = float(np.max(np.abs(self.R[:, -1])))
        ryy = abs(self.ryy)
        if 0.0 < top < RESPONSE_MIN or 0.0 < ryy < RESIDUAL_MIN:
            power = -math.floor(math.log2(top))
            prefix = f"{where}: " if where else ""
            raise DataError(
                f"{prefix}the response is too small for float64 inference: its scale is "
                f"about {top:.3g}, so its sums of squares (residual, total) underflow; "
                f"multiply y by 2**{power} (exact in binary), fit, and divide the "
                "coefficients and standard errors by the same factor"
            )

    def alias_ratios(self) -> FloatArray:
        """``|R_jj| / ||X_j||``: how far column j is from the span of the columns before it."""
        norms = self.column_norms()
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios: FloatArray = np.where(norms > 0, np.abs(np.diag(self.Rxx)) / norms, 0.0)
        return ratios

    def aliased(self, tol: float = ALIAS_TOL) -> BoolArray:
        """Mask of the columns that are (numerically) combinations of earlier columns.

        Columns are examined left to right, like R's ``lm``: a column is aliased
        when its distance from the span of the *kept* columns before it is below
        ``tol`` times its norm. An all-zero column is always aliased.
        """
        kept = np.ones(self.k, dtype=bool)
        state = self
        while True:
            ratios = state.alias_ratios()
            bad = np.flatnonzero(ratios < tol)
            if bad.size == 0:
                return ~kept
            first = int(np.flatnonzero(kept)[bad[0]])
            kept[first] = False
            state = self.select(kept)

    def select(self, columns: BoolArray | NDArray[np.intp]) -> SqrtStat:
        """The state of the regression on a subset of the columns of X (``y`` kept last)."""
        idx = np.flatnonzero(columns) if np.asarray(columns).dtype == bool else np.asarray(columns)
        cols = np.concatenate([idx, [self.k]])
        return SqrtStat(_triangularize(self.R[:, cols]), self.nobs, self.y_mean, self.y_m2)

    def solve(self) -> FloatArray:
        """Least-squares estimate (or posterior mean): solve ``Rxx b = rxy``."""
        self._require_full_rank()
        b: FloatArray = sla.solve_triangular(self.Rxx, self.rxy)
        return b

    def rinv(self) -> FloatArray:
        """``Rxx^-1`` by triangular solve, shape (k, k)."""
        self._require_full_rank()
        # LAPACK's triangular inverse: solve_triangular against eye(k) is much
        # slower for the same answer (it threads a k-column solve through BLAS).
        inv, info = sla.lapack.dtrtri(np.asfortranarray(self.Rxx), lower=0)
        if info != 0:
            raise np.linalg.LinAlgError(f"triangular inverse failed (info={info})")
        out: FloatArray = np.triu(inv)
        return out

    def cov_unscaled(self) -> FloatArray:
        """``(X^T X)^-1 = Rxx^-1 Rxx^-T`` (never by inverting ``X^T X``)."""
        Ri = self.rinv()
        out: FloatArray = Ri @ Ri.T
        return out

    def whiten(self, X: FloatArray) -> FloatArray:
        """Return ``X Rxx^-1`` (the Q factor when X is the fitted data), shape (n, k)."""
        self._require_full_rank()
        out: FloatArray = sla.solve_triangular(
            self.Rxx, np.asarray(X, float).T, trans="T", check_finite=False
        ).T
        return out

    def leverage(self, X: FloatArray) -> FloatArray:
        """Diagonal of the hat matrix for rows X: ``||Rxx^-T x_i||**2``, shape (n,)."""
        W = self.whiten(X)
        out: FloatArray = np.einsum("ij,ij->i", W, W)
        return out

    def logdet(self) -> float:
        """``log det(Rxx^T Rxx)`` from the diagonal of R."""
        return float(2.0 * np.sum(np.log(np.abs(np.diag(self.Rxx)))))

    def singular_values(self, *, scaled: bool = False) -> FloatArray:
        """Singular values of X (those of Rxx), optionally of X with unit-norm columns."""
        M = self.Rxx / self.column_norms() if scaled else self.Rxx
        out: FloatArray = np.linalg.svd(M, compute_uv=False).astype(np.float64)
        return out

    def condition_number(self, *, scaled: bool = False) -> float:
        """2-norm condition number of X (as statsmodels' ``Cond. No.`` when unscaled)."""
        s = self.singular_values(scaled=scaled)
        return float(s[0] / s[-1]) if s[-1] > 0 else math.inf

    def _require_full_rank(self) -> None:
        if self.k and np.any(np.diag(self.Rxx) == 0):
            raise np.linalg.LinAlgError("the factor is singular: select the non-aliased columns")


def _y_moments(y: FloatArray) -> tuple[float, float]:
    mean = float(np.mean(y))
    d = y - mean
    return mean, float(d @ d)


def _check_lambda(lam: float) -> float:
    if isinstance(lam, str | bytes | bool) or lam is None:
        raise TypeError(
            f"forgetting factor lam must be a number in (0, 1], got {lam!r} ({type(lam).__name__})"
        )
    lam = float(lam)
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"forgetting factor lam must be in (0, 1], got {lam}")
    return lam


def _check_block(X: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if y.ndim == 0:
        y = y[None]
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (n, k) and y (n,), got {X.shape} and {y.shape}")
    return X, y
