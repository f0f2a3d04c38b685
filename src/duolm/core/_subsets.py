"""Subsets of the columns of a design, from its square-root statistic.

For model averaging (:mod:`duolm.bayesian._averaging`) every subset of the
slope columns needs its residual sum of squares. :class:`CentredFactor` takes
the statistic of ``[X y]`` with the intercept column factored first: the rows
below it are the triangular factor of the centred columns, so the data are
never touched again. :func:`gray_walk` then visits all subsets in Gray-code
order, adding or dropping one column per step by Givens rotations (Björck,
*Numerical Methods for Least Squares Problems*, section 3.2, updating the QR
factorisation). The state is ``T = Q^T Rc`` (``Q`` the product of the
rotations so far): the active columns, in the order of ``order``, form an
upper triangle in the first ``m`` rows, and the residual of ``y`` after them
lies in rows ``m:``, whatever the other columns hold.

The update functions are written once, in the subset of Python that numba
compiles; :func:`compiled` gives them compiled (``@njit(cache=True)``), or as
plain Python without numba (or with ``NUMBA_DISABLE_JIT=1``), the fallback.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.linalg as sla
from numpy.typing import NDArray

from duolm.core._jit import interruptible
from duolm.core._sqrtstat import SqrtStat
from duolm.errors import DataError

__all__ = ["CentredFactor", "add_column", "compiled", "drop_column", "gray_walk", "read_state"]

FloatArray = NDArray[np.float64]


def _qr_r(M: FloatArray) -> FloatArray:
    out: FloatArray = np.linalg.qr(M, mode="r")  # type: ignore[assignment]
    return out


@dataclass(frozen=True, eq=False)
class CentredFactor:
    """The statistic of the centred design, columns reordered ``[forced, free, y]``.

    Attributes
    ----------
    Rc : ndarray of shape (P + 1, P + 1)
        Upper triangular, ``Rc^T Rc = [Xc yc]^T [Xc yc]`` for the centred slopes'
        columns ``Xc`` (the ``f`` forced ones first, then the ``q`` free ones).
    columns : ndarray of shape (P,)
        Position in the original design of each column of ``Rc`` (``y`` excluded).
    nobs, y_mean, tss : float
        Number of rows, mean of y, centred total sum of squares.
    x_mean : ndarray of shape (P,)
        Column means.
    """

    Rc: FloatArray
    columns: NDArray[np.intp]
    f: int
    nobs: float
    y_mean: float
    x_mean: FloatArray
    tss: float

    @classmethod
    def from_stat(
        cls, stat: SqrtStat, const_col: int, forced: Sequence[int], free: Sequence[int]
    ) -> CentredFactor:
        """Reorder ``[X y]``'s factor as ``[1, forced, free, y]`` and split off the intercept.

        With the constant column first, ``R[0, 0] = sqrt(n)`` and
        ``R[0, j] = sqrt(n) mean(x_j)``; the block below is the factor of the
        centred columns, since the first Householder step projects out ``1``.
        """
        n = float(stat.nobs)
        cols = np.array([const_col, *forced, *free, stat.k], dtype=np.intp)
        R = _qr_r(stat.R[:, cols])
        R = R * np.where(np.diag(R) < 0, -1.0, 1.0)[:, None]
        root_n = R[0, 0]
        if not abs(root_n - math.sqrt(n)) <= 1e-8 * math.sqrt(n):
            raise DataError(
                "the intercept column must hold ones: the sum of its squares is "
                f"{root_n**2:.6g}, not the number of rows {n:.6g}"
            )
        Rc = np.triu(R[1:, 1:])
        means = R[0, 1:] / root_n
        tss = float(np.sum(Rc[:, -1] ** 2))
        return cls(
            Rc=Rc,
            columns=cols[1:-1],
            f=len(forced),
            nobs=n,
            y_mean=float(means[-1]),
            x_mean=means[:-1],
            tss=tss,
        )

    @property
    def P(self) -> int:
        """Number of slope columns (forced and free)."""
        return int(self.Rc.shape[0] - 1)

    @cached_property
    def colnorm(self) -> FloatArray:
        """Norms of the centred columns (for the alias test)."""
        out: FloatArray = np.sqrt(np.sum(self.Rc**2, axis=0))
        return out

    def model(self, active: NDArray[np.intp]) -> tuple[FloatArray, FloatArray, float]:
        """OLS slopes, ``Rxx^-1`` and residual sum of squares of one model (active columns)."""
        sub = _qr_r(self.Rc[:, [*active.tolist(), self.P]])
        m = active.size
        Rxx = sub[:m, :m]
        if not m:
            return np.zeros(0), np.zeros((0, 0)), float(sub[0, 0] ** 2)
        # LAPACK's triangular inverse (as SqrtStat.rinv): scipy's solve_triangular costs
        # milliseconds per call on these small factors
        inv, info = sla.lapack.dtrtri(np.asfortranarray(Rxx), lower=0)
        if info != 0:
            raise np.linalg.LinAlgError(f"triangular inverse failed (info={info})")
        Rinv: FloatArray = np.triu(inv)
        beta: FloatArray = Rinv @ sub[:m, m]
        return beta, Rinv, float(sub[m, m] ** 2)

    def models(self, active: NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
        """:meth:`model`'s slopes and ``Rxx^-1`` for many models of one size at once.

        Parameters
        ----------
        active : ndarray of int, shape (M, m)
            The active columns of each model (m >= 1).

        Returns
        -------
        beta : ndarray of shape (M, m)
        Rinv : ndarray of shape (M, m, m)
            Upper triangular; its rows' signs may differ from :meth:`model`'s (QR
            is unique up to them), which leaves ``Rinv Rinv^T`` and ``beta`` as they are.
        """
        M, m = active.shape
        cols = np.concatenate([active, np.full((M, 1), self.P, dtype=np.intp)], axis=1)
        sub = _qr_r(np.moveaxis(self.Rc[:, cols], 0, 1))  # (M, P + 1, m + 1): batched QR
        Rxx = np.triu(sub[:, :m, :m])
        Rinv: FloatArray = np.triu(np.linalg.solve(Rxx, np.broadcast_to(np.eye(m), (M, m, m))))
        beta: FloatArray = np.einsum("mij,mj->mi", Rinv, sub[:, :m, m])
        return beta, Rinv


# ------------------------------------------------------------------ one column at a time


def rotate(T: Any, r1: int, r2: int, col: int) -> None:
    """Givens rotation of rows ``r1, r2`` of ``T`` that zeroes ``T[r2, col]``."""
    a = T[r1, col]
    b = T[r2, col]
    if b == 0.0:
        return
    rr = math.hypot(a, b)
    c = a / rr
    s = b / rr
    for j in range(T.shape[1]):
        x = T[r1, j]
        y = T[r2, j]
        T[r1, j] = c * x + s * y
        T[r2, j] = c * y - s * x
    T[r2, col] = 0.0


def add_column(T: Any, order: Any, pos: Any, m: int, j: int) -> int:
    """Append column ``j`` to the active set; return the new count."""
    last = T.shape[0] - 1
    for r in range(last, m, -1):
        rotate(T, r - 1, r, j)
    order[m] = j
    pos[j] = m
    return m + 1


def drop_column(T: Any, order: Any, pos: Any, m: int, j: int) -> int:
    """Remove active column ``j``; restore the triangle (a Hessenberg sweep)."""
    i = pos[j]
    for k in range(i, m - 1):
        col = order[k + 1]
        order[k] = col
        pos[col] = k
        rotate(T, k, k + 1, col)
    pos[j] = -1
    return m - 1


def read_state(T: Any, order: Any, m: int, colnorm: Any, tol: float) -> tuple[float, bool]:
    """Residual sum of squares of ``y`` and whether the active columns are of full rank."""
    last = T.shape[0] - 1
    rss = 0.0
    for r in range(m, last + 1):
        rss += T[r, last] * T[r, last]
    ok = True
    for i in range(m):
        c = order[i]
        if not abs(T[i, c]) > tol * colnorm[c]:
            ok = False
    return rss, ok


def gray_walk(
    Rc: Any, f: int, q: int, colnorm: Any, tol: float, rss: Any, size: Any, ok: Any
) -> None:
    """Visit all ``2**q`` subsets of the free columns ``f .. f+q-1`` in Gray-code order.

    The model recorded at index ``i`` is the Gray code ``i ^ (i >> 1)`` (bit b:
    free column b included); the ``f`` forced columns are always in.
    """
    T = Rc.copy()
    P = T.shape[1] - 1
    order = np.zeros(P + 1, np.int64)
    pos = np.full(P + 1, -1, np.int64)
    for i in range(f):
        order[i] = i
        pos[i] = i
    m = f
    r, good = read_state(T, order, m, colnorm, tol)
    rss[0] = r
    size[0] = m
    ok[0] = good
    for i in range(1, 1 << q):
        b = 0
        while not (i >> b) & 1:
            b += 1
        j = f + b
        m = drop_column(T, order, pos, m, j) if pos[j] >= 0 else add_column(T, order, pos, m, j)
        r, good = read_state(T, order, m, colnorm, tol)
        rss[i] = r
        size[i] = m
        ok[i] = good


@functools.cache
def compiled() -> dict[str, Callable[..., Any]]:
    """The update functions compiled by numba, or as plain Python without it.

    numba is imported here, on the first model averaging, not with duolm. The
    module's globals become the dispatchers, so that compiled callers (here
    and in :mod:`duolm.bayesian._averaging_kernel`) find compiled callees.
    """
    names = ("rotate", "add_column", "drop_column", "read_state", "gray_walk")
    g = globals()
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - numba is a dependency
        return {name: g[name] for name in names}
    if getattr(numba.config, "DISABLE_JIT", False):
        return {name: g[name] for name in names}
    for name in names:
        try:
            g[name] = numba.njit(cache=True, nogil=True, error_model="numpy")(g[name])
        except RuntimeError:  # pragma: no cover - no writable cache folder
            g[name] = numba.njit(nogil=True, error_model="numpy")(g[name])
        g[name] = interruptible(g[name])
    return {name: g[name] for name in names}
