"""Posterior predictive checks (Gelman, Meng & Stern 1996; Gelman et al., BDA3 section 6.3).

For draws ``(beta_d, sigma_d)`` from the posterior, a replicated response
``y_rep = X beta_d + sigma_d e`` (``e`` standard normal) is drawn for the fitted
rows, and a test statistic ``T(X, y, resid)`` is computed on the observed data
and on the replicate, each with its realised residuals ``y - X beta_d`` and
``y_rep - X beta_d`` (a discrepancy in BDA3's sense). The posterior predictive
p value is the share of draws with ``T(replicate) >= T(observed)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from duolm.errors import DataError

__all__ = ["STATISTICS", "PPCResult", "posterior_predictive_check"]

FloatArray = NDArray[np.float64]
Statistic = Callable[[FloatArray, FloatArray, FloatArray], float]


def _dw(X: FloatArray, y: FloatArray, r: FloatArray) -> float:
    return float(np.sum(np.diff(r) ** 2) / np.sum(r**2))


#: The statistics given by name: of the response (max, min, mean, sd) or of the residuals.
STATISTICS: dict[str, Statistic] = {
    "max": lambda X, y, r: float(np.max(y)),
    "min": lambda X, y, r: float(np.min(y)),
    "mean": lambda X, y, r: float(np.mean(y)),
    "sd": lambda X, y, r: float(np.std(y, ddof=1)),
    "skew": lambda X, y, r: float(stats.skew(r)),
    "kurtosis": lambda X, y, r: float(stats.kurtosis(r, fisher=False)),
    "durbin_watson": _dw,
}


@dataclass(frozen=True, eq=False)
class PPCResult:
    """The test statistic on the observed data and on each replicate.

    Attributes
    ----------
    statistic : str
        Its name (or the function's name).
    observed, replicated : ndarray of shape (draws,)
        ``T`` of the observed data and of the replicate, per posterior draw.
    """

    statistic: str
    observed: FloatArray
    replicated: FloatArray

    @cached_property
    def p_value(self) -> float:
        """Posterior predictive p value: the share of draws with ``T(rep) >= T(obs)``."""
        return float(np.mean(self.replicated >= self.observed))

    @cached_property
    def frame(self) -> pd.DataFrame:
        """One row per draw: ``observed``, ``replicated``."""
        return pd.DataFrame({"observed": self.observed, "replicated": self.replicated})

    def __repr__(self) -> str:
        return f"<PPCResult {self.statistic!r}: {self.observed.size} draws, p = {self.p_value:.4g}>"


class _Fit(Protocol):
    """What a check reads off a Bayesian fit (:class:`duolm.bayesian.BayesFit`)."""

    @property
    def design(self) -> Any: ...

    @property
    def terms(self) -> tuple[str, ...]: ...

    def sample(self, size: int, rng: np.random.Generator | int | None = None) -> pd.DataFrame: ...


def posterior_predictive_check(
    fit: _Fit, stat: str | Statistic, draws: int = 1000, seed: int | None = None
) -> PPCResult:
    """See :meth:`duolm.BayesResults.ppc`."""
    if isinstance(stat, str):
        if stat not in STATISTICS:
            raise ValueError(
                f"stat must be one of {sorted(STATISTICS)} or a function, got {stat!r}"
            )
        fn, name = STATISTICS[stat], stat
    elif callable(stat):
        fn, name = stat, getattr(stat, "__name__", "statistic")
    else:
        raise TypeError(f"stat must be a name or a function of (X, y, resid), got {stat!r}")
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}")
    if fit.design is None:
        raise DataError("a posterior predictive check needs the fitted rows, which this fit lacks")
    X, y = fit.design.X, fit.design.y
    gen = np.random.default_rng(seed)
    sample = fit.sample(int(draws), gen)
    beta = sample[list(fit.terms)].to_numpy()
    sigma = np.sqrt(sample["sigma2"].to_numpy())
    obs = np.empty(int(draws))
    rep = np.empty(int(draws))
    for d in range(int(draws)):
        mu = X @ beta[d]
        y_rep = mu + sigma[d] * gen.standard_normal(y.size)
        obs[d] = fn(X, y, y - mu)
        rep[d] = fn(X, y_rep, y_rep - mu)
    if not (np.all(np.isfinite(obs)) and np.all(np.isfinite(rep))):
        raise ValueError(f"the statistic {name!r} is not finite on every draw")
    return PPCResult(name, obs, rep)
