"""Mergeable moments of the residuals, the statistic behind the residual diagnostics.

The tests in statsmodels' summary (Omnibus, Jarque-Bera, skew, kurtosis,
Durbin-Watson) depend on the residuals only through a few sums. Keeping
those sums in a :class:`ResidualMoments` that merges exactly (Pébay, "Formulas
for robust, one-pass parallel computation of covariances and arbitrary-order
statistical moments", Sandia report SAND2008-6212) lets a streamed second pass
give the same diagnostics as an in-memory fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["ResidualMoments", "pool_central"]

FloatArray = NDArray[np.float64]


def pool_central(
    na: float, mean_a: float, m2a: float, m3a: float, m4a: float,
    nb: float, mean_b: float, m2b: float, m3b: float, m4b: float,
) -> tuple[float, float, float, float, float]:  # fmt: skip
    """``(n, mean, m2, m3, m4)`` of two samples pooled, from each one's count, mean and
    central power sums ``m_p = sum (x - mean)**p`` (Pébay 2008, eqs. 3.1 and 3.2).

    Plain float arithmetic: numba compiles it into the streamed kernels of
    :mod:`duolm._stream._kernels` as it is.

    Examples
    --------
    >>> pool_central(2.0, 1.0, 2.0, 0.0, 2.0, 1.0, 7.0, 0.0, 0.0, 0.0)  # [0, 2] and [7]
    (3.0, 3.0, 26.0, 36.0, 338.0)
    """
    n = na + nb
    d = mean_b - mean_a
    m2 = m2a + m2b + d * d * na * nb / n
    m3 = m3a + m3b + d**3 * na * nb * (na - nb) / n**2 + 3.0 * d * (na * m2b - nb * m2a) / n
    m4 = (
        m4a
        + m4b
        + d**4 * na * nb * (na * na - na * nb + nb * nb) / n**3
        + 6.0 * d * d * (na * na * m2b + nb * nb * m2a) / n**2
        + 4.0 * d * (na * m3b - nb * m3a) / n
    )
    return n, mean_a + d * nb / n, m2, m3, m4


@dataclass(frozen=True)
class ResidualMoments:
    """Sums of the residuals' central powers, and what Durbin-Watson needs.

    Attributes
    ----------
    n : int
        Number of residuals.
    mean : float
    m2, m3, m4 : float
        Sums of ``(e - mean)**p`` for p = 2, 3, 4.
    ss : float
        Sum of ``e**2`` (uncentred).
    dw_num : float
        Sum of squared successive differences ``(e_t - e_{t-1})**2``.
    first, last : float
        First and last residual in time order (to join chunks).
    unit : float
        A power of two near the residuals' size (the largest of the block in
        :meth:`from_residuals`; their root mean square in a streamed fit's
        compiled second pass): every other field is in units of it (powers of
        it for the sums), so that fourth powers of residuals near 1e150 or
        1e-150 neither overflow nor underflow.
    """

    n: int
    mean: float
    m2: float
    m3: float
    m4: float
    ss: float
    dw_num: float
    first: float
    last: float
    unit: float = 1.0

    @classmethod
    def from_residuals(cls, e: FloatArray) -> ResidualMoments:
        """Moments of a block of residuals, in time order.

        Examples
        --------
        >>> e = np.array([0.5, -1.0, 2.0, -1.5])
        >>> whole = ResidualMoments.from_residuals(e)
        >>> parts = ResidualMoments.from_residuals(e[:1]).merge(
        ...     ResidualMoments.from_residuals(e[1:]))
        >>> bool(np.isclose(whole.m4, parts.m4, rtol=1e-14, atol=0))
        True
        """
        e = np.asarray(e, dtype=np.float64)
        if e.size == 0:
            return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, math.nan, math.nan)
        top = float(np.max(np.abs(e)))
        unit = 2.0 ** round(math.log2(top)) if top > 0 else 1.0
        e = e / unit  # exact: a power of two
        mean = float(np.mean(e))
        d = e - mean
        d2 = d * d
        diff = np.diff(e)
        return cls(
            n=int(e.size),
            mean=mean,
            m2=float(np.sum(d2)),
            m3=float(np.sum(d2 * d)),
            m4=float(np.sum(d2 * d2)),
            ss=float(e @ e),
            dw_num=float(diff @ diff),
            first=float(e[0]),
            last=float(e[-1]),
            unit=unit,
        )

    def _in_unit(self, unit: float) -> ResidualMoments:
        """The same moments expressed in a larger unit."""
        f = self.unit / unit
        return ResidualMoments(
            n=self.n,
            mean=self.mean * f,
            m2=self.m2 * f**2,
            m3=self.m3 * f**3,
            m4=self.m4 * f**4,
            ss=self.ss * f**2,
            dw_num=self.dw_num * f**2,
            first=self.first * f,
            last=self.last * f,
            unit=unit,
        )

    def merge(self, later: ResidualMoments) -> ResidualMoments:
        """Join with the moments of the residuals that come right after these."""
        if self.n == 0:
            return later
        if later.n == 0:
            return self
        unit = max(self.unit, later.unit)
        if self.unit != unit or later.unit != unit:
            return self._in_unit(unit).merge(later._in_unit(unit))
        _, mean, m2, m3, m4 = pool_central(
            self.n, self.mean, self.m2, self.m3, self.m4,
            later.n, later.mean, later.m2, later.m3, later.m4,
        )  # fmt: skip
        join = (later.first - self.last) ** 2
        return ResidualMoments(
            n=self.n + later.n,
            mean=mean,
            m2=m2,
            m3=m3,
            m4=m4,
            ss=self.ss + later.ss,
            dw_num=self.dw_num + later.dw_num + join,
            first=self.first,
            last=later.last,
            unit=unit,
        )
