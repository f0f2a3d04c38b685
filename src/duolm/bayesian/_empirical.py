"""Empirical Bayes for the conjugate prior: the prior scale that maximises the evidence.

The prior (a ridge prior in the NIG family): the intercept flat, the
standardised slopes ``beta_j sd(x_j) | sigma^2 ~ N(0, tau^2 sigma^2)``
independently, and ``p(sigma^2) ∝ 1/sigma^2``. As a square-root state
(DESIGN.md) it is ``R_0 = diag(0, sd_1/tau, ..., sd_p/tau, 0)`` with
``nu_0 = -1`` (the flat intercept takes one degree of freedom, as the
reference prior's ``nu_0 = -k`` takes k), so the posterior of data with
statistic ``R`` is the factor of ``[R_0; R]`` (the core's merge) with
``a_n = (n - 1)/2``.

Its evidence, up to terms free of tau (Banerjee, "Bayesian linear model: gory
details", the marginal likelihood of the NIG model with the flat directions'
constants cancelling),

    log p(y | tau) = sum_j log(sd_j / tau) - log|det Rxx_n| - (n - 1)/2 log(ryy_n^2),

is read off the merged factor; it is maximised over ``log tau^2`` by a scan of
a grid then Brent's method on the best bracket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from duolm.bayesian._nig import NIG
from duolm.core import PERFECT_FIT, CentredFactor, SqrtStat
from duolm.errors import DataError, PriorError

__all__ = ["EmpiricalPrior", "empirical_prior"]

FloatArray = NDArray[np.float64]

#: The search range of log(tau^2): tau^2 from 1e-12 to 1e12 (standardised slopes).
_LOG_TAU2 = (math.log(1e-12), math.log(1e12))


@dataclass(frozen=True, eq=False)
class EmpiricalPrior:
    """The evidence-maximising prior scale and the prior it gives.

    Attributes
    ----------
    tau2 : float
        Prior variance of the standardised slopes, in units of sigma^2.
    log_evidence : float
        ``log p(y | tau^2)`` at the maximum, up to the constant of the flat directions.
    prior : NIG
        The prior (``nu_0 = -1``, intercept flat), labelled with ``tau2``.
    """

    tau2: float
    log_evidence: float
    prior: NIG


def _prior_stat(sd: FloatArray, const_col: int, tau: float) -> SqrtStat:
    """``R_0 = diag(sd / tau)`` with zeros for the intercept and for ``y``."""
    d = np.append(sd / tau, 0.0)
    d[const_col] = 0.0
    return SqrtStat(np.diag(d), 0.0)


def _log_evidence(stat: SqrtStat, sd: FloatArray, const_col: int, log_tau2: float) -> float:
    tau = math.exp(0.5 * log_tau2)
    post = _prior_stat(sd, const_col, tau).merge(stat)
    diag = np.abs(np.diag(post.Rxx))
    slopes = np.arange(sd.size) != const_col
    n = stat.nobs
    return float(
        np.sum(np.log(sd[slopes] / tau))
        - np.sum(np.log(diag))
        - 0.5 * (n - 1.0) * math.log(post.ryy**2)
    )


def empirical_prior(stat: SqrtStat, const_col: int) -> EmpiricalPrior:
    """The ridge prior of the module docstring with tau^2 maximising the evidence.

    Parameters
    ----------
    stat : SqrtStat
        Statistic of ``[X y]`` (the intercept column included, with ``y_mean``/``y_m2``).
    const_col : int
        The intercept's column.

    Raises
    ------
    DataError
        A slope column is constant, or there are fewer than ``k + 1`` rows.
    PriorError
        The evidence grows as tau^2 falls to 1e-12: the data show no linear
        signal, and the empirical prior would set every slope to zero.
    """
    k = stat.k
    n = stat.nobs
    if n < k + 1:
        raise DataError(f"an empirical prior needs at least {k + 1} rows, got {n:.0f}")
    # sample sd of each slope column: the norms of the centred factor's columns
    free = [j for j in range(k) if j != const_col]
    fac = CentredFactor.from_stat(stat, const_col, [], free)
    sd = np.zeros(k)
    sd[fac.columns] = fac.colnorm[:-1] / math.sqrt(n - 1.0)
    slopes = np.arange(k) != const_col
    # constant up to the rounding of its mean: deviations below that of its own size
    floor = np.sqrt(PERFECT_FIT) * stat.column_norms() / math.sqrt(n - 1.0)
    if np.any(sd[slopes] <= floor[slopes]):
        raise DataError("a slope column is constant: it has no scale to standardise")
    sd[const_col] = 1.0

    def neg(v: float) -> float:
        return -_log_evidence(stat, sd, const_col, v)

    grid = np.linspace(*_LOG_TAU2, 97)
    values = np.array([neg(float(v)) for v in grid])
    i = int(np.argmin(values))
    if i == 0:
        raise PriorError(
            "the evidence grows as tau² falls to 1e-12: the data show no linear signal, and "
            "the empirical prior would fix every slope at zero"
        )
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
    best = optimize.minimize_scalar(
        neg, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
    )
    log_tau2 = float(best.x) if best.fun <= values[i] else float(grid[i])
    tau2 = math.exp(log_tau2)
    prior_stat = _prior_stat(sd, const_col, math.sqrt(tau2))
    label = f"empirical Bayes, tau² = {tau2:.6g} (standardised slopes, flat intercept)"
    prior = NIG.from_parts(prior_stat, -1.0, SqrtStat.empty(k), label)
    return EmpiricalPrior(tau2=tau2, log_evidence=-neg(log_tau2), prior=prior)
