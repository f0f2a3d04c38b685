"""Data sets that ship with duolm.

Each loader returns a fresh pandas DataFrame. The files live beside this
module and say where they come from in their first lines; :func:`tracking`
simulates the lecture's radar example instead of reading a file.
"""

from __future__ import annotations

import math
import operator
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["anscombe", "longley", "tracking"]

#: Defaults of :func:`tracking`, chosen so that its fits look like the lecture's tables.
TRACKING_T = 80
TRACKING_V0 = 5.0
TRACKING_A = 0.5
TRACKING_SIGMA = 30.0
TRACKING_SEED = 27723


def _read(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#")


def _check_manoeuvre(manoeuvre_at: int | None, a_after: float | None, a: float, n: int) -> float:
    """The acceleration after the manoeuvre; refuse a time outside 1..T."""
    if manoeuvre_at is None:
        if a_after is not None:
            raise ValueError("a_after is the acceleration after a manoeuvre: give manoeuvre_at")
        return a
    try:
        at = operator.index(manoeuvre_at)
    except TypeError:
        raise TypeError(f"manoeuvre_at must be an integer time, got {manoeuvre_at!r}") from None
    if not 1 <= at <= n:
        raise ValueError(f"manoeuvre_at must be a time in 1..T = 1..{n}, got {at}")
    after = -a if a_after is None else float(a_after)
    if not math.isfinite(after):
        raise ValueError(f"a_after must be finite, got {a_after}")
    return after


def longley() -> pd.DataFrame:
    """Longley's (1967) macroeconomic data, 16 years, as certified by NIST StRD.

    A classic test of numerical accuracy: the predictors are nearly collinear
    (condition number about 5e9), so naive normal equations lose most digits.

    Returns
    -------
    DataFrame of shape (16, 7)
        ``employed`` (total employment, the response), ``gnp_deflator``,
        ``gnp``, ``unemployed``, ``armed_forces``, ``population``, ``year``.

    Examples
    --------
    >>> longley().shape
    (16, 7)
    """
    return _read("longley.csv")


def anscombe() -> pd.DataFrame:
    """Anscombe's quartet: four data sets with the same summary statistics.

    Anscombe (1973), "Graphs in statistical analysis", *The American
    Statistician* 27, 17-21. In each set the means of x and y (9 and 7.50),
    the variances (11 and about 4.12), the correlation (0.816) and the
    least-squares line ``y = 3.00 + 0.500 x`` agree to two or three digits,
    yet the scatterplots differ completely: a noisy line, a curve, a line
    with one outlier, and a vertical cloud with one point of full leverage.
    The lecture's advice that follows: plot before you fit.

    Returns
    -------
    DataFrame of shape (44, 3)
        Long form: ``dataset`` (``"I"``, ``"II"``, ``"III"``, ``"IV"``),
        ``x``, ``y``; 11 rows per set, in the published order.

    Examples
    --------
    >>> quartet = anscombe()
    >>> quartet.groupby("dataset")["x"].mean().tolist()
    [9.0, 9.0, 9.0, 9.0]
    >>> quartet.groupby("dataset")["y"].mean().round(2).tolist()
    [7.5, 7.5, 7.5, 7.5]
    """
    frame = _read("anscombe.csv")
    frame["x"] = frame["x"].astype(np.float64)
    return frame


def tracking(
    T: int = TRACKING_T,
    v0: float = TRACKING_V0,
    a: float = TRACKING_A,
    sigma: float = TRACKING_SIGMA,
    seed: int | np.random.Generator | None = TRACKING_SEED,
    manoeuvre_at: int | None = None,
    a_after: float | None = None,
) -> pd.DataFrame:
    """The lecture's rising object: heights measured by radar at t = 1..T.

    The object is caught at time 1 at height 0 with vertical velocity ``v0``
    and rises with constant acceleration ``a``; each measurement carries
    independent Gaussian noise:

        height_t = v0 (t - 1) + a/2 (t - 1)^2 + e_t,   e_t ~ N(0, sigma^2),  t = 1..T.

    With ``manoeuvre_at = M`` the object manoeuvres: after time M it moves
    with acceleration ``a_after`` instead, its height and velocity continuous
    at M (``s = t - 1``, ``s_M = M - 1``):

        height_t = h_M + v_M (s - s_M) + a_after/2 (s - s_M)^2 + e_t,   t > M,

    with ``h_M = v0 s_M + a/2 s_M^2`` and ``v_M = v0 + a s_M``. A single
    parabola no longer fits; forgetting and change detection follow it.

    Parameters
    ----------
    T : int
        Number of measurements, >= 1.
    v0 : float
        Velocity at the first measurement (height units per time step).
    a : float
        Constant vertical acceleration (height units per time step squared).
    sigma : float
        Standard deviation of the measurement noise, >= 0 (0: the exact curve).
    seed : int, numpy Generator or None
        Seed of ``numpy.random.default_rng`` (None: fresh entropy). The noise
        is drawn in time order, so for one seed a longer series extends a
        shorter one.
    manoeuvre_at : int, optional
        The last time (1..T) of the first motion law; None: no manoeuvre.
    a_after : float, optional
        Acceleration after the manoeuvre (default ``-a``: the object brakes
        as hard as it was accelerating). Only with ``manoeuvre_at``.

    Returns
    -------
    DataFrame of shape (T, 2)
        ``time`` (int, 1..T) and ``height`` (float).

    Notes
    -----
    The defaults (``T=80, v0=5, a=0.5, sigma=30, seed=27723``) were chosen by
    fitting the lecture's models with :func:`duolm.ols` over a grid of
    parameters and 100,000 seeds, so that the fits look like the lecture's
    tables. They give (lecture in brackets):

    ========================  ==========================  ==========================
    fit                       duolm on the defaults       lecture
    ========================  ==========================  ==========================
    ``height ~ I(time**2)``   R² 0.9953, coef 66.84 and   R² 0.995, coef 67.46 and
                              0.3005, s = 40.19,          0.3045, s = 40.3,
                              Durbin-Watson 0.913,        Durbin-Watson 0.866,
                              skew 0.25, kurtosis 3.09    skew 0.20, kurtosis 2.98
    ``height ~ time``         R² 0.9562, coef -277.16     R² 0.956, coef -257.70
                              and 24.62, Durbin-Watson    and 24.37, Durbin-Watson
                              0.105, skew 0.50,           0.102, skew 0.55,
                              kurtosis 2.19               kurtosis 2.23
    Bayes, parabola, prior    m = [66.65, 0.3006],        [57.67, 0.2976],
    xi0 = diag(1e4, .1, .1),  E sigma² = 1644,            sigma² = 1490,
    nu0 = 5                   sd = [6.8, 0.0023], 258     sd = [6.5, 0.0022], 234
    ========================  ==========================  ==========================

    The lecture's tables come from different draws: the two OLS tables do not
    even share a mean of y (67.46 + 0.3045 mean(t²) = 733.6 against
    -257.70 + 24.37 mean(t) = 729.3), and its Bayesian fit, under a prior that
    barely moves the estimate, ends 10 below the OLS intercept. No single data
    set matches every number; the defaults match the statistics that carry
    the lecture's story (R², the size of the t² coefficient and of the
    residuals, the line's Durbin-Watson near 0.1) and sit within about 1.5
    posterior sd of each of the lecture's Bayesian estimates. The line's
    intercept is about -280 for any seed with ``v0 = 5, a = 0.5`` (the
    noise moves it by about 7).

    Examples
    --------
    >>> data = tracking()
    >>> data.shape, data["time"].iloc[[0, -1]].tolist()
    ((80, 2), [1, 80])
    >>> tracking(T=3, sigma=0.0)["height"].tolist()  # y_1 = 0, then v0 + a/2, 2 v0 + 2 a
    [0.0, 5.25, 11.0]
    >>> tracking(T=5, sigma=0.0, manoeuvre_at=3)["height"].tolist()  # brakes after t = 3
    [0.0, 5.25, 11.0, 16.75, 22.0]
    """
    try:
        n = operator.index(T)
    except TypeError:
        raise TypeError(f"T must be an integer, got {T!r}") from None
    if n < 1:
        raise ValueError(f"T must be at least 1, got {n}")
    for name, value in (("v0", v0), ("a", a)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if not (math.isfinite(sigma) and sigma >= 0.0):
        raise ValueError(f"sigma must be finite and >= 0, got {sigma}")
    after = _check_manoeuvre(manoeuvre_at, a_after, a, n)
    time = np.arange(1, n + 1, dtype=np.int64)
    s = (time - 1).astype(np.float64)
    noise = np.random.default_rng(seed).normal(0.0, 1.0, n)
    curve = v0 * s + 0.5 * a * s**2
    if manoeuvre_at is not None:
        s_m = float(manoeuvre_at - 1)
        h_m, v_m = v0 * s_m + 0.5 * a * s_m**2, v0 + a * s_m
        d = s - s_m
        curve = np.where(d > 0, h_m + v_m * d + 0.5 * after * d**2, curve)
    height = curve + sigma * noise
    return pd.DataFrame({"time": time, "height": height})
