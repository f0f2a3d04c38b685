"""Feasible GLS with AR(p) errors, iterated to convergence (statsmodels' ``GLSAR``).

The model is ``y_t = x_t^T beta + u_t`` with ``u_t = rho_1 u_{t-1} + ... +
rho_p u_{t-p} + eps_t``. Given rho, the rows are whitened,
``y*_t = y_t - sum_j rho_j y_{t-j}`` (likewise each column of X) for
``t = p+1..n`` (the first p rows are dropped: the Cochrane-Orcutt transform,
Cochrane & Orcutt 1949), and fitted by least squares on the one core; rho is
then re-estimated by Yule-Walker from the residuals ``y - X beta`` in the
original coordinates (statsmodels' ``yule_walker(method="adjusted")``:
autocovariances divided by ``n - j``). The loop is statsmodels'
``GLSAR.iterative_fit`` step for step, so for equal ``maxiter`` and ``rtol`` the
two agree; the defaults here iterate until the relative change of every
coefficient is below 1e-10 (statsmodels stops after 3 rounds by default).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.linalg import solve_toeplitz

from duolm import core
from duolm._format import Summary
from duolm.design import Design, from_arrays
from duolm.errors import DataError, RankWarning
from duolm.frequentist._results import OLSResults

__all__ = ["GLSARResults", "check_rho", "fit_glsar", "yule_walker"]

FloatArray = NDArray[np.float64]


def yule_walker(x: FloatArray, order: int) -> FloatArray:
    """AR coefficients by the Yule-Walker equations, autocovariances divided by ``n - j``.

    As statsmodels' ``yule_walker(x, order, method="adjusted", demean=True)``.
    """
    x = np.asarray(x, dtype=np.float64) - float(np.mean(x))
    n = x.size
    r = np.empty(order + 1)
    r[0] = float(x @ x) / n
    for j in range(1, order + 1):
        r[j] = float(x[:-j] @ x[j:]) / (n - j)
    out: FloatArray = np.atleast_1d(solve_toeplitz(r[:-1], r[1:]))
    return out


def _whiten(a: FloatArray, rho: FloatArray) -> FloatArray:
    """``a_t - sum_j rho_j a_{t-j}`` for ``t >= p`` (rows 0..p-1 dropped)."""
    p = rho.size
    out = a[p:].copy()
    for j in range(1, p + 1):
        out -= rho[j - 1] * a[p - j : a.shape[0] - j]
    return out


@dataclass(frozen=True, eq=False, repr=False)
class GLSARResults:
    """A feasible GLS fit with AR(p) errors.

    Attributes
    ----------
    rho : ndarray of shape (p,)
        The AR coefficients the final fit used.
    iterations : int
        Fits made (statsmodels' ``results.iter``).
    converged : bool
        The relative change of every coefficient fell below ``rtol``.
    whitened : OLSResults
        Least squares on the whitened rows (n - p of them): params, bse,
        tests and intervals are read from it.
    resid : Series
        ``y - X beta`` in the original coordinates, all n rows.
    """

    rho: FloatArray
    iterations: int
    converged: bool
    whitened: OLSResults
    resid: pd.Series

    @property
    def params(self) -> pd.Series:
        """Estimated coefficients."""
        return self.whitened.params

    @property
    def bse(self) -> pd.Series:
        """Standard errors (from the whitened regression)."""
        return self.whitened.bse

    @property
    def tvalues(self) -> pd.Series:
        return self.whitened.tvalues

    @property
    def pvalues(self) -> pd.Series:
        return self.whitened.pvalues

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence intervals at level ``1 - alpha``: columns ``lower``, ``upper``."""
        return self.whitened.conf_int(alpha)

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates."""
        return self.whitened.cov_params()

    @property
    def scale(self) -> float:
        """Innovation variance ``SSR* / (n - p - k)``."""
        return self.whitened.scale

    @property
    def df_resid(self) -> int:
        return self.whitened.df_resid

    @cached_property
    def nobs(self) -> int:
        """Rows of the original data (the whitened fit has ``nobs - p``)."""
        return len(self.resid)

    def summary(self, alpha: float = 0.05) -> Summary:
        """The table of the whitened regression (as statsmodels' GLSAR summary)."""
        return self.whitened.summary(alpha)

    def __repr__(self) -> str:
        rho = ", ".join(f"{r:.4g}" for r in self.rho)
        state = "converged" if self.converged else "not converged"
        return (
            f"<GLSARResults {self.whitened.spec.response!r}: AR({self.rho.size}) rho [{rho}], "
            f"{self.iterations} fits, {state}, {self.nobs} rows>"
        )


def _fit_whitened(
    X: FloatArray, y: FloatArray, rho: FloatArray, terms: list[str], name: str, alias_tol: float
) -> OLSResults:
    design = from_arrays(
        pd.DataFrame(_whiten(X, rho), columns=terms), pd.Series(_whiten(y, rho), name=name)
    )
    fit = core.lstsq(design.X, design.y, tol=alias_tol, const_col=design.const_col)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankWarning)  # the first fit reported the aliasing
        return OLSResults.from_fit(design, fit)


def check_rho(rho: object) -> FloatArray:
    """GLSAR's ``rho``: an AR order p >= 1 (start from zeros) or starting coefficients."""
    if isinstance(rho, bool):
        raise ValueError(f"rho is an AR order (int) or starting coefficients, got {rho!r}")
    if isinstance(rho, (int, np.integer)):
        if rho < 1:
            raise ValueError(f"rho as an AR order must be at least 1, got {rho}")
        return np.zeros(int(rho))
    try:
        r = np.atleast_1d(np.asarray(rho, dtype=np.float64)).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"rho must be an AR order or finite coefficients, got {rho!r}") from None
    if r.size == 0 or not np.all(np.isfinite(r)):
        raise ValueError(f"rho must be finite starting AR coefficients, got {rho!r}")
    return r


def fit_glsar(
    design: Design, rho: FloatArray, maxiter: int, rtol: float, alias_tol: float
) -> GLSARResults:
    """Iterate GLSAR on a design in memory (arguments checked by :func:`duolm.glsar`).

    statsmodels' ``GLSAR.iterative_fit`` step for step: fit on the whitened
    rows, stop when the relative change of every coefficient is below ``rtol``,
    else re-estimate rho by Yule-Walker from the residuals in the original
    coordinates; at most ``maxiter`` fits.
    """
    base = core.lstsq(design.X, design.y, tol=alias_tol, const_col=design.const_col)
    kept = base.kept
    p = rho.size
    rank = int(kept.sum())
    n = design.X.shape[0]
    if n - p <= rank:
        raise DataError(
            f"too few rows for AR({p}) errors: {n} rows, {p} dropped by the whitening, "
            f"{rank} coefficients"
        )
    if not kept.all():
        dropped = [t for t, keep in zip(design.spec.terms, kept, strict=True) if not keep]
        warnings.warn(
            f"aliased column(s) {dropped}: linear combinations of earlier columns; GLSAR "
            "fits the model without them",
            RankWarning,
            stacklevel=3,
        )
    Xk = design.X[:, kept]
    terms = [t for t, keep in zip(design.spec.terms, kept, strict=True) if keep]
    y = design.y
    name = design.spec.response
    r = rho
    converged = False
    last: FloatArray | None = None
    i = -1
    for i in range(maxiter - 1):  # noqa: B007 - i is read after the loop
        fit = _fit_whitened(Xk, y, r, terms, name, alias_tol)
        b = fit.params_kept
        if last is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                diff = float(np.max(np.abs(last - b) / np.abs(last)))
            if diff < rtol:
                converged = True
                break
        last = b
        r = yule_walker(y - Xk @ b, p)
    final = _fit_whitened(Xk, y, r, terms, name, alias_tol)
    iterations = i + 1 + (0 if converged else 1)
    if not converged and maxiter > 1:
        warnings.warn(
            f"GLSAR did not converge in {maxiter} fits (rtol={rtol:g}); raise maxiter",
            RuntimeWarning,
            stacklevel=3,
        )
    resid = pd.Series(y - Xk @ final.params_kept, index=design.index, name="resid")
    return GLSARResults(r, iterations, converged, final, resid)
