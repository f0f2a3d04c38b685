"""Mergeable lag products of a series of rows: ``G_l = sum_t u_t u_{t-l}^T`` for l = 0..L.

The serial-correlation tests of a streamed fit (Breusch-Godfrey, Ljung-Box)
need sums over pairs of rows up to ``L`` apart, with ``u_t = [x_t, e_t]``.
Like :class:`~duolm.core.HACMeat` (whose weighted sum they are, unweighted
and kept lag by lag), pieces that follow each other in row order merge
exactly: the pairs across a boundary involve only the last ``L`` rows of the
earlier piece and the first ``L`` of the later one, kept as ``tail`` and
``head``. Rows before the first one count as zero (the presample zeros of
R's ``bgtest`` and statsmodels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from duolm.core._sandwich import _lag_sum

__all__ = ["LagProducts"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class LagProducts:
    """Lag products, column sums and end rows of the rows seen, in order.

    Attributes
    ----------
    maxlags : int
    nobs : int
    G : ndarray of shape (maxlags + 1, m, m)
        ``G[l] = sum_t u_t u_{t-l}^T`` (``G[0]`` symmetric).
    sums : ndarray of shape (m,)
        ``sum_t u_t``.
    head, tail : ndarray of shape (min(nobs, maxlags), m)
        The first and last rows.
    """

    maxlags: int
    nobs: int
    G: FloatArray
    sums: FloatArray
    head: FloatArray
    tail: FloatArray

    @classmethod
    def of(cls, u: FloatArray, maxlags: int) -> LagProducts:
        """The lag products of one block of consecutive rows ``u`` (n, m)."""
        u = np.asarray(u, dtype=np.float64)
        n, m = u.shape
        G = np.zeros((maxlags + 1, m, m))
        G[0] = u.T @ u
        for lag in range(1, min(maxlags, n - 1) + 1):
            G[lag] = u[lag:].T @ u[:-lag]
        ends = min(maxlags, n)
        return cls(maxlags, n, G, u.sum(axis=0), u[:ends].copy(), u[n - ends :].copy())

    def merge(self, later: LagProducts) -> LagProducts:
        """Join with the piece that follows in row order."""
        if later.maxlags != self.maxlags or later.G.shape != self.G.shape:
            raise ValueError("cannot merge lag products of different lags or widths")
        L = self.maxlags
        G = self.G + later.G
        cross = _lag_sum(later.head, self.tail, self.tail.shape[0], L)
        for lag, g in enumerate(cross, start=1):
            G[lag] += g
        head = np.vstack([self.head, later.head])[:L]
        tail = np.vstack([self.tail, later.tail])
        tail = tail[tail.shape[0] - min(L, tail.shape[0]) :]
        return LagProducts(L, self.nobs + later.nobs, G, self.sums + later.sums, head, tail)
