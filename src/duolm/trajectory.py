"""The posterior after every observation: the lecture's evolution figures, fast and exact.

:func:`trajectory` runs the conjugate update of DESIGN.md ("Bayesian
results") one row at a time and records, after each row, everything the
lecture plots: the location and spread of beta, the estimate of sigma² and
its spread, the hyperparameters ``a_t, b_t``, and the one-step-ahead
predictive for the row made *before* the row was seen, with its log density
at the observed value.

How it is computed
------------------
The state is the core's square-root statistic (DESIGN.md, "One core, two
readings"): an upper-triangular ``R`` of size ``(k + 1) x (k + 1)``, columns
``[x..., y]``, with ``R^T R = xi``. The prior ``NIG(m0, V0, a0, b0)`` is the
initial factor ``Rxx0 = chol(V0^-1)^T``, ``rxy0 = Rxx0 m0``,
``ryy0 = sqrt(2 b0)``; the reference prior is ``R0 = 0``. Each row
``[x_t, y_t]`` is rotated into ``R`` by ``k + 1`` Givens rotations
(orthogonal, so backward stable whatever the order or scale of the data),
then the posterior is read off the factor:

- ``m_t`` solves ``Rxx m_t = rxy`` (back-substitution),
- ``V_t = Rxx^-1 Rxx^-T``: its diagonal is the squared row norms of ``Rxx^-1``,
- ``b_t = ryy**2 / 2`` and ``a_t = a0 + t / 2``.

Nothing is ever formed as ``X^T X`` and ``V`` is never updated by
Sherman-Morrison, the two roads to cancellation.

With numba installed the whole loop, quantiles and log densities included,
is one compiled kernel (``@njit(cache=True)``), specialised to the number of
columns ``k``: compiled on the first call for each ``k`` (about 3 s), then
loaded from numba's cache in ``__pycache__``. For three regressors the kernel
runs at about 15 million rows per second, every column included, and the
whole call (design checks and DataFrame too) at about 7 million on two
cores. Without numba, the same rotations run as a Python loop on Python
floats (about 75,000 rows per second) and the per-row formulas are
vectorised with numpy; the two paths agree to rounding (the tests hold them
to 1e-12). Both live in :mod:`duolm._trajectory_kernel`; this module checks
the prior, plans the quantiles and assembles the frame.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.linalg as sla
from numpy.typing import NDArray
from scipy import special

from duolm import _route, core
from duolm._trajectory_kernel import _compiled_kernel, _fill_numpy
from duolm.errors import PriorError
from duolm.nig import precision_factor
from duolm.ols import make_design

__all__ = ["COLUMNS", "trajectory"]

FloatArray = NDArray[np.float64]

#: Columns of the result besides the per-coefficient ``m[term]`` and ``sd[term]``
#: (which come right after ``t``), in order.
COLUMNS: tuple[str, ...] = (
    "t",
    "mean_sigma2",
    "sd_sigma2",
    "a",
    "b",
    "pred_mean",
    "pred_scale",
    "pred_lower",
    "pred_upper",
    "pred_logpdf",
    "proper",
    "has_mean_sigma2",
    "has_sd_sigma2",
    "pred_proper",
)

_FLOAT_TAIL = COLUMNS[1:10]
_FLAGS = COLUMNS[10:]


# ------------------------------------------------------------------ the prior


def _default_prior(k: int) -> Any:
    """The vague proper prior :func:`duolm.bayes` uses by default (``NIG.vague(k)``)."""
    from duolm.bayes import default_prior  # here: duolm.bayes may import this module

    return default_prior(k)


def _prior_factor(prior: Any, k: int, terms: tuple[str, ...]) -> tuple[FloatArray, float]:
    """The initial square-root state ``R0`` and ``a0`` of an NIG(m, V, a, b) prior.

    A :class:`duolm.NIG` gives its own factor (``prior.stat.R``, exact, the
    reference prior's ``R0 = 0`` included). Any other object is read through
    ``m, V, a, b``; ``V`` with an all-infinite diagonal (or a ``V_inv``
    attribute of zeros) is the flat prior ``V^-1 = 0``.
    """
    stat = getattr(prior, "stat", None)
    if isinstance(stat, core.SqrtStat):
        if stat.k != k:
            raise PriorError(
                f"the prior has {stat.k} coefficient(s) but the design has {k} column(s) "
                f"({', '.join(terms)}); give a prior of dimension {k}"
            )
        a0 = float(prior.a)
        if not math.isfinite(a0) or not np.all(np.isfinite(stat.R)):
            raise PriorError("the prior's factor and a must be finite")
        return np.array(stat.R, dtype=np.float64), a0
    for name in ("m", "V", "a", "b"):
        if not hasattr(prior, name):
            raise PriorError(
                f"the prior must have attributes m, V, a, b (an NIG); "
                f"{type(prior).__name__} has no {name!r}"
            )
    try:
        m0 = np.asarray(prior.m, dtype=np.float64).reshape(-1)
        a0 = float(prior.a)
        b0 = float(prior.b)
    except (TypeError, ValueError) as exc:
        raise PriorError(f"the prior's m, a, b must be numbers: {exc}") from exc
    if m0.shape != (k,):
        raise PriorError(
            f"the prior has {m0.size} coefficient(s) but the design has {k} column(s) "
            f"({', '.join(terms)}); give a prior of dimension {k}"
        )
    if not math.isfinite(a0):
        raise PriorError(f"the prior's a must be finite, got {a0}")
    if not (math.isfinite(b0) and b0 >= 0.0):
        raise PriorError(f"the prior's b must be finite and >= 0, got {b0}")
    Rxx = _precision_factor(prior, k, terms)
    flat = not np.any(Rxx)
    if not flat and not np.all(np.isfinite(m0)):
        raise PriorError("the prior's m must be finite")
    R0 = np.zeros((k + 1, k + 1))
    R0[:k, :k] = Rxx
    R0[:k, k] = 0.0 if flat else Rxx @ m0
    R0[k, k] = math.sqrt(2.0 * b0)
    return R0, a0


def _precision_factor(prior: Any, k: int, terms: tuple[str, ...]) -> FloatArray:
    """Upper-triangular ``U`` with ``U^T U = V^-1`` (zero for a flat prior)."""
    V_inv = getattr(prior, "V_inv", None)
    if V_inv is not None:
        P = _square(V_inv, k, terms, "V_inv")
        if not np.any(P):
            return np.zeros((k, k))
        try:
            U: FloatArray = sla.cholesky(P, lower=False)
        except np.linalg.LinAlgError as exc:
            raise PriorError("the prior's V_inv is not positive definite") from exc
        return U
    V = _square(prior.V, k, terms, "V", allow_inf=True)
    diag = np.diag(V)
    if np.all(np.isposinf(diag)):
        return np.zeros((k, k))  # V^-1 = 0: flat in every direction
    if not np.all(np.isfinite(V)):
        raise PriorError(
            "the prior's V has infinite or NaN entries; only the flat prior (V^-1 = 0, "
            "every diagonal entry of V infinite) is supported"
        )
    if not np.allclose(V, V.T, rtol=1e-12, atol=0.0):
        raise PriorError("the prior's V is not symmetric")
    return precision_factor(V, "the prior's V")


def _square(value: object, k: int, terms: tuple[str, ...], name: str, **kw: bool) -> FloatArray:
    try:
        A = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PriorError(f"the prior's {name} must be a matrix of numbers: {exc}") from exc
    if A.ndim == 0 and k == 1:
        A = A.reshape(1, 1)
    if A.shape != (k, k):
        raise PriorError(
            f"the prior's {name} has shape {A.shape} but the design has {k} column(s) "
            f"({', '.join(terms)}); it must be ({k}, {k})"
        )
    if not kw.get("allow_inf") and not np.all(np.isfinite(A)):
        raise PriorError(f"the prior's {name} must be finite")
    return A


# ------------------------------------------------------------------ Student t quantiles


def _quantile_plan(alpha: float, a0: float, n: int) -> tuple[FloatArray, FloatArray]:
    """Quantiles ``q_t`` of the predictive t at ``1 - alpha/2``, dof ``nu = 2 a0 + t - 1``.

    Returns ``(table, coef)``: for rows ``i < len(table)`` the quantile is
    ``table[i]`` (scipy's ``stdtrit``; NaN where ``nu <= 0``); beyond, where
    ``nu >= nu_min``, it is the Cornish-Fisher expansion in ``1/nu`` (Fisher
    and Cornish 1960; Abramowitz and Stegun 26.7.5 with one more term)
    ``q = z + g1/nu + ... + g5/nu^5``, ``coef = [z, g1, ..., g5]``. ``nu_min``
    is chosen so that the last term is below 1e-15 of ``z``; the omitted terms
    are smaller again by about ``z**2 / nu``, so the expansion is exact to
    rounding there.
    """
    z = -float(special.ndtri(alpha / 2.0))  # the lower tail: 1 - alpha/2 would round
    z2 = z * z
    g = np.array(
        [
            z,
            (z2 + 1.0) * z / 4.0,
            ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0,
            (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0,
            ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0,
            (((((27.0 * z2 + 339.0) * z2 + 930.0) * z2 - 1782.0) * z2 - 765.0) * z2 + 17955.0)
            * z
            / 368640.0,
        ]
    )
    nu_min = max(64.0, (abs(g[5]) / (1e-15 * z)) ** 0.2)
    n_table = int(min(n, max(0.0, math.ceil(nu_min - 2.0 * a0))))
    nu = 2.0 * a0 + np.arange(n_table, dtype=np.float64)
    table = np.full(n_table, np.nan)
    ok = nu > 0
    table[ok] = _t_quantile(nu[ok], alpha)
    return table, g


def _t_quantile(nu: FloatArray, alpha: float) -> FloatArray:
    """Upper ``alpha/2`` quantile of Student's t with ``nu > 0`` dof (``inf`` beyond float64).

    ``P(|T| > q) = I_x(nu/2, 1/2)`` with ``x = nu / (nu + q**2)``. scipy's
    ``stdtrit`` is asked for the lower quantile at ``alpha/2`` (``1 - alpha/2``
    would round off the digits of a small ``alpha``) and is exact to rounding
    until ``x`` underflows (``q`` beyond about ``sqrt(nu) 1e154``, which happens
    for ``nu`` below about 0.02, e.g. the first prediction from the vague prior
    with ``a0 = 1e-3``), where it returns a wrong finite value. There the
    leading term of the incomplete beta function,
    ``I_x(a, 1/2) = x^a / (a B(a, 1/2)) (1 + O(x))``, gives ``log x`` and
    ``log q = (log nu - log x) / 2`` to rounding; ``q`` overflows to
    ``inf`` when the true quantile exceeds the float64 range.
    """
    q = -np.asarray(special.stdtrit(nu, alpha / 2.0), dtype=np.float64)  # by symmetry
    half = 0.5 * nu
    log_x = (math.log(alpha) + np.log(half) + special.betaln(half, 0.5)) / half
    tiny = log_x < math.log(1e-290)
    if np.any(tiny):
        with np.errstate(over="ignore"):
            q[tiny] = np.exp(0.5 * (np.log(nu[tiny]) - log_x[tiny]))
    return q


# ------------------------------------------------------------------ the public function


def trajectory(
    formula: str | None = None,
    data: object = None,
    *,
    X: object = None,
    y: object = None,
    prior: Any = None,
    missing: Literal["drop", "raise"] = "drop",
    alpha: float = 0.05,
    batch_size: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
) -> pd.DataFrame:
    """The posterior after each observation ``t = 1..n``, and the prediction made before it.

    Rows are taken in the order given (after missing rows are dropped); row
    ``t`` describes the NIG posterior of (beta, sigma²) after the first ``t``
    rows (DESIGN.md, "Bayesian results", with ``k`` = number of columns of X)
    and the one-step-ahead predictive for row ``t`` made from the posterior
    after ``t - 1`` rows (the prior for ``t = 1``).

    Parameters
    ----------
    formula, data, X, y, missing
        The design, exactly as for :func:`duolm.ols`.
    prior : NIG, optional
        A :class:`duolm.NIG` (read exactly from its square-root factor; the
        reference prior ``NIG.reference(k)``, ``V^-1 = 0``, ``a = -k/2``,
        ``b = 0``, included; a posterior continues from where it stands), or
        any object with attributes ``m`` (k,), ``V`` (k, k), ``a``, ``b`` (a
        ``V`` whose diagonal is all ``inf`` is the flat ``V^-1 = 0``). Default:
        the vague proper prior of :func:`duolm.bayes`, ``NIG.vague(k)``.
    alpha : float
        The predictive interval has level ``1 - alpha`` (equal tails). The
        column names do not depend on it.
    batch_size, progress, encoding
        For streamed data (a CSV or Parquet path, an iterable of frames),
        read batch by batch, each continuing from the previous posterior; see
        :func:`duolm.stream.iter_trajectory` to keep memory bounded as well.

    Returns
    -------
    DataFrame
        Index: the labels of the rows used (as in ``design.index``). Columns,
        in order (``term`` runs over the design's column names):

        ==================  ===========================================================
        ``t``               number of observations seen, 1..n
        ``m[term]``         location ``m_t`` of beta (its posterior median and mode; its
                            mean when ``a_t > 1/2``). NaN iff not ``proper``.
        ``sd[term]``        posterior sd of beta, ``sqrt(b_t/(a_t - 1) V_t[jj])``.
                            NaN iff not ``has_mean_sigma2`` (needs ``a_t > 1``).
        ``mean_sigma2``     ``E[sigma²] = b_t/(a_t - 1)``. NaN iff not ``has_mean_sigma2``.
        ``sd_sigma2``       sd of sigma², ``b_t / ((a_t - 1) sqrt(a_t - 2))``.
                            NaN iff not ``has_sd_sigma2`` (needs ``a_t > 2``).
        ``a``               ``a_t = a_0 + t/2``; always given.
        ``b``               ``b_t = ryy²/2``; NaN only while the factor is singular
                            (flat prior, fewer independent rows than coefficients;
                            ``proper`` is False then).
        ``pred_mean``       ``m_{t-1}' x_t``, location of the predictive t for ``y_t``.
        ``pred_scale``      its scale, ``sqrt(b_{t-1}/a_{t-1} (1 + x_t' V_{t-1} x_t))``;
                            the dof are ``2 a_{t-1} = 2 a_t - 1``.
        ``pred_lower``      lower end of the ``1 - alpha`` predictive interval;
                            ``-inf`` when the quantile exceeds the float64 range
                            (``a_{t-1}`` below about 0.01, e.g. the first row under
                            the default prior, ``a_0 = 0.001``).
        ``pred_upper``      upper end (``+inf`` likewise).
        ``pred_logpdf``     log predictive density of the observed ``y_t``.
                            The five ``pred_*`` are NaN iff not ``pred_proper``.
        ``proper``          the posterior after ``t`` rows is a proper NIG: its factor
                            is nonsingular, ``a_t > 0`` and ``b_t > 0``. Always True
                            with a proper prior; under the reference prior it is
                            False for ``t <= k`` (and while the rows seen leave some
                            coefficient undetermined).
        ``has_mean_sigma2`` ``proper`` and ``a_t > 1``: sigma² has a mean and beta a
                            variance.
        ``has_sd_sigma2``   ``proper`` and ``a_t > 2``: sigma² has a variance.
        ``pred_proper``     the posterior after ``t - 1`` rows is proper, so the
                            predictive for row ``t`` exists.
        ==================  ===========================================================

        ``sum(pred_logpdf)`` over all rows is the log evidence of the data
        when the prior is proper.

    Raises
    ------
    DataError
        As :func:`duolm.ols` (missing or infinite values, text, no rows...).
    PriorError
        The prior's dimension differs from the design's, or its
        hyperparameters are invalid.

    Notes
    -----
    The update is the core's square-root form (see the module docstring):
    Givens rotations of each row into the factor, posterior read off by
    triangular solves. With a flat prior a coefficient counts as determined
    once the factor's diagonal entry is at least ``duolm.core.ALIAS_TOL``
    times its column's norm (as for aliasing in :func:`duolm.ols` and
    ``NIG.beta_proper``); exactly collinear columns leave the whole
    trajectory improper.

    Speed: with numba, about 15 million rows per second for the compiled
    kernel and about 7 million for the whole call (the design checks shared
    with :func:`duolm.ols` take about 40% of it) with three regressors on two
    cores; the first call for each number of columns compiles the kernel
    (about 3 s, once: numba caches it on disk). Without numba about 75,000
    rows per second.

    Examples
    --------
    >>> import duolm
    >>> data = {"x": [0.0, 1.0, 2.0, 3.0, 4.0], "y": [0.1, 0.9, 2.2, 2.8, 4.1]}
    >>> traj = duolm.trajectory("y ~ x", data, prior=duolm.NIG.reference(2))
    >>> list(traj.columns[:5])
    ['t', 'm[Intercept]', 'm[x]', 'sd[Intercept]', 'sd[x]']
    >>> traj["proper"].tolist(), traj["pred_proper"].tolist()
    ([False, False, True, True, True], [False, False, False, True, True])
    >>> traj["m[x]"].round(3).tolist()[2:]
    [1.05, 0.94, 0.99]
    >>> duolm.ols("y ~ x", data).params["x"].round(3)  # the reference prior's m is OLS
    np.float64(0.99)
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}")
    alpha = float(alpha)
    opts = _route.StreamOptions(batch_size=batch_size, progress=progress, encoding=encoding)
    if isinstance(formula, str) and data is not None and _route.is_streamed(data):
        return _route.trajectory(
            formula, data, prior=prior, missing=missing, alpha=alpha, opts=opts
        )
    opts.check_in_memory()
    design = make_design(formula, data, X, y, missing)
    terms = design.spec.terms
    Xd = np.ascontiguousarray(design.X, dtype=np.float64)
    yd = np.ascontiguousarray(design.y, dtype=np.float64)
    n, k = Xd.shape
    if prior is None:
        prior = _default_prior(k)
    R0, a0 = _prior_factor(prior, k, terms)
    check_rank = not bool(np.all(np.diag(R0)[:k] > 0.0))
    qtab, qc = _quantile_plan(alpha, a0, n)
    out = np.empty((2 * k + len(_FLOAT_TAIL), n))
    flags = np.empty((len(_FLAGS), n), dtype=bool)
    kernel = _compiled_kernel()
    fill = _fill_numpy if kernel is None else kernel
    fill(Xd, yd, R0, a0, check_rank, core.ALIAS_TOL, qtab, qc, out, flags, (0.0,) * (k + 1))
    columns: dict[str, Any] = {"t": np.arange(1, n + 1, dtype=np.int64)}
    for j, term in enumerate(terms):
        columns[f"m[{term}]"] = out[j]
    for j, term in enumerate(terms):
        columns[f"sd[{term}]"] = out[k + j]
    for c, name in enumerate(_FLOAT_TAIL):
        columns[name] = out[2 * k + c]
    for c, name in enumerate(_FLAGS):
        columns[name] = flags[c]
    return pd.DataFrame(columns, index=design.index, copy=False)
