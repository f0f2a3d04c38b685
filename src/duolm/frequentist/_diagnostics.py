"""The residual tests of statsmodels' summary, read off the residuals' moments.

:class:`~duolm.core.ResidualMoments` (the core's mergeable sums) is all they
need, so a streamed second pass gives the same diagnostics as an in-memory fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from duolm.core import ResidualMoments

__all__ = ["OMNIBUS_MIN_NOBS", "Diagnostics"]

#: D'Agostino's skewness test needs at least 8 observations (as scipy's skewtest).
OMNIBUS_MIN_NOBS = 8


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
