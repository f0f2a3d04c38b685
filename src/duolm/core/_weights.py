"""Weighted rows: the ``sqrt(w)`` scaling and the sums of the weights beside the statistic.

Weighted least squares with weights ``w_i`` (``var(y_i) = sigma^2 / w_i``) is
least squares on the rows scaled by ``sqrt(w_i)`` (statsmodels' ``WLS``
"whitens" them so): the square-root statistic of a weighted fit is the one
statistic of the scaled rows ``[sqrt(w) X, sqrt(w) y]``, and its estimate,
residual sum of squares (``sum w e^2``), covariances and robust meats are
those of the scaled rows. In the Bayesian reading the weights are known
relative precisions, ``y_i ~ N(x_i' beta, sigma^2 / w_i)``, and the exact
conjugate update with the scaled rows is the posterior (Banerjee, "Bayesian
linear model: gory details", with ``Sigma = diag(1/w)``).

Two numbers the scaled rows do not give are kept beside them, mergeable as
the moments of ``y`` are (Chan, Golub & LeVeque's pairwise update, the counts
replaced by sums of weights): the weighted total sum of squares about the
weighted mean, ``sum w (y - ybar_w)^2`` (statsmodels' WLS ``centered_tss``),
and ``sum log w``, the Jacobian term of the Gaussian log-likelihood of the
unscaled ``y`` (statsmodels' WLS ``loglike`` adds ``0.5 sum log w``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["WeightSums", "scale_rows"]

FloatArray = NDArray[np.float64]


def scale_rows(X: FloatArray, y: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The rows scaled by ``sqrt(w)``: ``(sqrt(w) X, sqrt(w) y)``, shapes (n, k) and (n,)."""
    s = np.sqrt(np.asarray(w, dtype=np.float64))
    Xs: FloatArray = np.ascontiguousarray(np.asarray(X, dtype=np.float64) * s[:, None])
    ys: FloatArray = np.asarray(y, dtype=np.float64) * s
    return Xs, ys


@dataclass(frozen=True)
class WeightSums:
    """The sums of a weighted fit's weights, beside its square-root statistic.

    Attributes
    ----------
    total : float
        ``sum w``.
    log_total : float
        ``sum log w``.
    y_mean : float
        The weighted mean of ``y``, ``sum w y / sum w``.
    y_m2 : float
        ``sum w (y - y_mean)^2``, the weighted centred total sum of squares.

    Examples
    --------
    >>> w, y = np.array([1.0, 2.0, 1.0]), np.array([1.0, 2.0, 4.0])
    >>> a = WeightSums.of(w[:1], y[:1]).merge(WeightSums.of(w[1:], y[1:]))
    >>> round(a.y_mean, 12), round(a.y_m2, 12)
    (2.25, 4.75)
    """

    total: float = 0.0
    log_total: float = 0.0
    y_mean: float = 0.0
    y_m2: float = 0.0

    @classmethod
    def of(cls, w: FloatArray, y: FloatArray) -> WeightSums:
        """The sums of weights ``w`` of rows with responses ``y`` (both shape (n,))."""
        w = np.asarray(w, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if len(w) == 0:
            return cls()
        total = float(np.sum(w))
        mean = float(w @ y) / total
        d = y - mean
        return cls(total, float(np.sum(np.log(w))), mean, float(w @ (d * d)))

    def merge(self, other: WeightSums) -> WeightSums:
        """The sums of both sets of rows (Chan et al.'s pairwise update with weights)."""
        total = self.total + other.total
        if total == 0:
            return WeightSums()
        delta = other.y_mean - self.y_mean
        mean = self.y_mean + delta * other.total / total
        m2 = self.y_m2 + other.y_m2 + delta * delta * self.total * other.total / total
        return WeightSums(total, self.log_total + other.log_total, mean, m2)

    def as_tuple(self) -> tuple[float, float, float, float]:
        """``(total, log_total, y_mean, y_m2)``, for files."""
        return (self.total, self.log_total, self.y_mean, self.y_m2)

    @classmethod
    def from_tuple(cls, values: object) -> WeightSums:
        """The inverse of :meth:`as_tuple` (four finite numbers)."""
        numbers = [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]
        if len(numbers) != 4 or not all(math.isfinite(v) for v in numbers):
            raise ValueError(f"weight sums must be four finite numbers, got {values!r}")
        return cls(*numbers)
