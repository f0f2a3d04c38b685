"""Residual diagnostics from mergeable moments.

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
from scipy import stats

__all__ = ["Diagnostics", "ResidualMoments"]

FloatArray = NDArray[np.float64]

#: D'Agostino's skewness test needs at least 8 observations (as scipy's skewtest).
OMNIBUS_MIN_NOBS = 8


def pool_central(
    na: float, mean_a: float, m2a: float, m3a: float, m4a: float,
    nb: float, mean_b: float, m2b: float, m3b: float, m4b: float,
) -> tuple[float, float, float, float, float]:  # fmt: skip
    """``(n, mean, m2, m3, m4)`` of two samples pooled, from each one's count, mean and
    central power sums ``m_p = sum (x - mean)**p`` (Pébay 2008, eqs. 3.1 and 3.2).

    Plain float arithmetic: numba compiles it into the streamed kernels of
    :mod:`duolm._block_kernel` as it is.

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


@dataclass(frozen=True)
class Diagnostics:
    """The residual tests of statsmodels' summary, plus the design's condition number.

    ``omnibus`` and its p value are ``None`` when there are fewer than 8
    residuals (D'Agostino's test is not defined there) or all residuals are
    equal. ``durbin_watson`` is NaN only when every residual is exactly zero
    (an exact fit: the ratio is 0/0); every other field is always a number.
    ``skew`` and ``kurtosis`` are the biased moment estimators (Pearson
    kurtosis: 3 for a normal sample), as in statsmodels.
    """

    omnibus: float | None
    omnibus_pvalue: float | None
    jarque_bera: float
    jarque_bera_pvalue: float
    skew: float
    kurtosis: float
    durbin_watson: float
    condition_number: float

    @classmethod
    def from_moments(cls, mom: ResidualMoments, condition_number: float) -> Diagnostics:
        """Compute every test from the residual moments."""
        n = mom.n
        if mom.m2 > 0:
            skew = (mom.m3 / n) / (mom.m2 / n) ** 1.5
            kurt = (mom.m4 / n) / (mom.m2 / n) ** 2
        else:  # an exact fit: no spread, the moment ratios are 0/0
            skew, kurt = 0.0, 3.0
        jb = n / 6.0 * (skew**2 + (kurt - 3.0) ** 2 / 4.0)
        omni: float | None = None
        omni_p: float | None = None
        if n >= OMNIBUS_MIN_NOBS and mom.m2 > 0:
            omni = _skew_z(skew, n) ** 2 + _kurtosis_z(kurt, n) ** 2
            omni_p = float(stats.chi2.sf(omni, 2))
        dw = mom.dw_num / mom.ss if mom.ss > 0 else math.nan
        return cls(
            omnibus=omni,
            omnibus_pvalue=omni_p,
            jarque_bera=float(jb),
            jarque_bera_pvalue=float(stats.chi2.sf(jb, 2)),
            skew=float(skew),
            kurtosis=float(kurt),
            durbin_watson=float(dw),
            condition_number=float(condition_number),
        )


def _skew_z(b1: float, n: int) -> float:
    """D'Agostino's normalised skewness (D'Agostino, Belanger & D'Agostino 1990, eq. 2)."""
    y = b1 * math.sqrt((n + 1.0) * (n + 3.0) / (6.0 * (n - 2.0)))
    beta2 = (
        3.0
        * (n * n + 27.0 * n - 70.0)
        * (n + 1.0)
        * (n + 3.0)
        / ((n - 2.0) * (n + 5.0) * (n + 7.0) * (n + 9.0))
    )
    w2 = -1.0 + math.sqrt(2.0 * (beta2 - 1.0))
    delta = 1.0 / math.sqrt(0.5 * math.log(w2))
    alpha = math.sqrt(2.0 / (w2 - 1.0))
    y = y if y != 0 else 1.0  # as scipy.stats.skewtest
    return delta * math.log(y / alpha + math.sqrt((y / alpha) ** 2 + 1.0))


def _kurtosis_z(b2: float, n: int) -> float:
    """Anscombe & Glynn's normalised kurtosis (D'Agostino et al. 1990, eq. 7)."""
    mean = 3.0 * (n - 1.0) / (n + 1.0)
    var = 24.0 * n * (n - 2.0) * (n - 3.0) / ((n + 1.0) ** 2 * (n + 3.0) * (n + 5.0))
    x = (b2 - mean) / math.sqrt(var)
    sqrt_beta1 = (
        6.0
        * (n * n - 5.0 * n + 2.0)
        / ((n + 7.0) * (n + 9.0))
        * math.sqrt(6.0 * (n + 3.0) * (n + 5.0) / (n * (n - 2.0) * (n - 3.0)))
    )
    a = 6.0 + 8.0 / sqrt_beta1 * (2.0 / sqrt_beta1 + math.sqrt(1.0 + 4.0 / sqrt_beta1**2))
    term1 = 1.0 - 2.0 / (9.0 * a)
    denom = 1.0 + x * math.sqrt(2.0 / (a - 4.0))
    if denom == 0:
        return math.inf
    term2 = math.copysign(((1.0 - 2.0 / a) / abs(denom)) ** (1.0 / 3.0), denom)
    return (term1 - term2) / math.sqrt(2.0 / (9.0 * a))
