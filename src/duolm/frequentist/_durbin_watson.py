"""The Durbin-Watson test with its exact p value, as R's ``lmtest::dwtest``.

Under H0 (independent normal errors) the Durbin-Watson ratio
``d = e^T A e / e^T e`` (A the second-difference matrix, e = M y the OLS
residuals) is a ratio of quadratic forms in normal variables, so

    P(d < x) = P(sum_i (lambda_i - x) z_i^2 < 0),   z_i iid N(0, 1),

where ``lambda_i`` are the n - k nonzero eigenvalues of ``M A M`` (Durbin &
Watson 1950, eq. 3.6). That probability is computed by Imhof's inversion
formula (Imhof 1961, "Computing the distribution of quadratic forms in normal
variables", Biometrika 48, eq. 3.2):

    P(Q > 0) = 1/2 + (1/pi) int_0^inf sin(theta(u)) / (u rho(u)) du,
    theta(u) = 1/2 sum_i arctan(mu_i u),  rho(u) = prod_i (1 + mu_i^2 u^2)^(1/4),

with ``mu_i = lambda_i - x``, integrated numerically (piecewise, decade by
decade) to an absolute error near 1e-13; the range is cut where Imhof's
bound on the truncated tail (eq. 3.4) is below 1e-13. R evaluates the same probability with Pan's
algorithm (Farebrother 1980, AS 153) at 15 quadrature nodes.

As R, the exact p value is the default for fewer than 100 rows; from 100 rows
on R uses the normal approximation with the exact mean and variance of d
(Durbin & Watson 1971): ``exact=None`` follows that rule, ``exact=True``
forces the exact value for any n (an n x n eigenproblem).
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, stats

from duolm.errors import DataError
from duolm.frequentist._tests import DiagnosticTest, _rows_of

if TYPE_CHECKING:
    from duolm.frequentist._fit import OLSFit

__all__ = ["durbin_watson_test", "dw_cdf", "imhof_sf"]

FloatArray = NDArray[np.float64]

#: R's ``dwtest(tol = 1e-10)``: eigenvalues at or below this are dropped.
_EIG_TOL = 1e-10
#: Largest n for the exact eigenproblem (an n x n dense matrix).
_EXACT_MAX_N = 5000
_TAIL = 1e-13


def imhof_sf(weights: FloatArray) -> float:
    """``P(sum_i w_i z_i^2 > 0)`` for iid standard normal ``z_i`` (Imhof 1961, eq. 3.2).

    Parameters
    ----------
    weights : ndarray of shape (m,)
        Weights ``w_i`` of either sign (zeros are ignored).

    Examples
    --------
    ``chi2_3 - 2 chi2_2 > 0`` is ``F(3, 2) > 4/3``:

    >>> p = imhof_sf(np.array([1.0, 1.0, 1.0, -2.0, -2.0]))
    >>> bool(abs(p - stats.f.sf(4.0 / 3.0, 3, 2)) < 1e-10)
    True
    """
    w = np.asarray(weights, dtype=np.float64)
    w = w[w != 0]
    m = w.size
    if m == 0:
        return 0.0
    # Truncation point U: Imhof's eq. 3.4, |tail| <= 1 / (pi (m/2) U^(m/2) prod |w|^(1/2)).
    log_bound_1 = -math.log(math.pi * m / 2.0) - 0.5 * float(np.sum(np.log(np.abs(w))))
    log_u = (log_bound_1 - math.log(_TAIL)) / (m / 2.0)
    upper = math.exp(log_u)

    def integrand(u: float) -> float:
        if u == 0.0:
            return 0.5 * float(np.sum(w))
        theta = 0.5 * float(np.sum(np.arctan(w * u)))
        log_rho = 0.25 * float(np.sum(np.log1p((w * u) ** 2)))
        return math.sin(theta) / (u * math.exp(log_rho))

    # Integrate piecewise on a geometric grid from the smallest scale of the
    # weights to U, so that quad sees each decade of the oscillation separately.
    edges = [0.0]
    b = 0.1 / float(np.max(np.abs(w)))
    while b < upper:
        edges.append(b)
        b *= 10.0
    edges.append(upper)
    total = 0.0
    for a, b in itertools.pairwise(edges):
        val, _ = integrate.quad(integrand, a, b, epsabs=1e-14, epsrel=1e-13, limit=500)
        total += val
    return 0.5 + total / math.pi


def dw_cdf(d: float, eigenvalues: FloatArray) -> float:
    """``P(DW < d)`` under H0, given the nonzero eigenvalues of ``M A M``."""
    p = 1.0 - imhof_sf(np.asarray(eigenvalues, dtype=np.float64) - d)
    return min(1.0, max(0.0, p))


def _dw_eigenvalues(X: FloatArray) -> FloatArray:
    """The n - k eigenvalues of ``Z^T A Z`` (Z: orthonormal basis of X's complement).

    They are the nonzero eigenvalues of ``M A`` that R takes from ``eigen(MA)``.
    """
    _n, k = X.shape
    Q, _ = np.linalg.qr(X, mode="complete")
    Z = Q[:, k:]
    D = np.diff(Z, axis=0)  # A = D^T D with D the (n-1) x n first difference
    ev = np.linalg.eigvalsh(D.T @ D)
    out: FloatArray = ev[ev > _EIG_TOL]
    return out


def durbin_watson_test(
    fit: OLSFit,
    alternative: Literal["greater", "two-sided", "less"] = "greater",
    exact: bool | None = None,
) -> DiagnosticTest:
    """Durbin-Watson test of no first-order autocorrelation, as R's ``lmtest::dwtest``.

    Parameters
    ----------
    fit : OLSResults
        An in-memory fit; rows in time order.
    alternative : {"greater", "two-sided", "less"}
        "greater": positive autocorrelation (small d), R's default.
    exact : bool, optional
        Exact p value (Imhof's integral) or the normal approximation; None
        follows R: exact for fewer than 100 rows.

    Returns
    -------
    DiagnosticTest
        ``statistic`` is d; ``distribution`` "exact" or "normal"; ``df`` None.
    """
    if alternative not in ("greater", "two-sided", "less"):
        raise ValueError(
            f"alternative must be 'greater', 'two-sided' or 'less', got {alternative!r}"
        )
    if fit.rows is None:  # streamed: d and its moments from the lag products
        dw, (mean, sd) = _dw_of_sums(fit, exact)
        exact = False
    else:
        X, _, e = _rows_of(fit, "the Durbin-Watson test")
        n, _k = X.shape
        dw = float(np.sum(np.diff(e) ** 2) / (e @ e))
        if exact is None:
            exact = n < 100
        if n < 3:
            raise DataError(f"the Durbin-Watson test needs at least 3 rows, got {n}")
    pval = math.nan
    if exact:
        if n > _EXACT_MAX_N:
            raise DataError(
                f"the exact Durbin-Watson p value solves an n x n eigenproblem; n = {n} is "
                f"over {_EXACT_MAX_N}: use exact=False (the normal approximation)"
            )
        lower = dw_cdf(dw, _dw_eigenvalues(X))
        pval = {"greater": lower, "less": 1.0 - lower, "two-sided": 2.0 * min(lower, 1 - lower)}[
            alternative
        ]
    else:
        if fit.rows is not None:
            mean, sd = _dw_moments(fit, X)
        z = (dw - mean) / sd
        pval = {
            "greater": float(stats.norm.cdf(z)),
            "less": float(stats.norm.sf(z)),
            "two-sided": float(2.0 * stats.norm.sf(abs(z))),
        }[alternative]
    if not 0.0 <= pval <= 1.0:  # pragma: no cover - the integral is clipped above
        warnings.warn("the Durbin-Watson p value left [0, 1]", RuntimeWarning, stacklevel=2)
    words = {
        "greater": "the errors are positively autocorrelated at lag 1",
        "less": "the errors are negatively autocorrelated at lag 1",
        "two-sided": "the errors are autocorrelated at lag 1",
    }[alternative]
    return DiagnosticTest(
        "Durbin-Watson" + (" (exact)" if exact else " (normal approximation)"),
        dw,
        pval,
        None,
        None,
        "exact" if exact else "normal",
        "the errors are not autocorrelated at lag 1",
        words,
    )


def _dw_of_sums(fit: OLSFit, exact: bool | None) -> tuple[float, tuple[float, float]]:
    """d and its exact mean and standard deviation under H0, for a streamed fit.

    From the lag products ``G_l`` of ``[x_t, e_t]`` (:class:`~duolm.core.LagProducts`)
    and the first and last rows: ``X^T A X = 2 G_0 - x_0 x_0^T - x_m x_m^T - (G_1 + G_1^T)``
    and ``X^T A^2 X = 6 G_0 - 4 (x_0 x_0^T + x_m x_m^T) - 4 (G_1 + G_1^T) + (G_2 + G_2^T)
    + (x_1 x_0^T + x_{m-1} x_m^T + their transposes)`` (m = n - 1; A^2 is pentadiagonal
    with diagonal 2, 6, ..., 6, 2, first off-diagonal -3, -4, ..., -4, -3 and second 1),
    taken to whitened coordinates by ``Rxx^-1``, in :func:`_dw_moments`' formulas.
    """
    from duolm.frequentist._tests import _stream_lags

    n, k = fit.nobs, fit.rank
    if exact or (exact is None and n < 100):
        raise DataError(
            "the exact Durbin-Watson p value needs the fitted rows (an n x n eigenproblem) and "
            "this fit was streamed: use durbin_watson_test(exact=False) (the normal "
            "approximation, R's choice from 100 rows on), or fit the data in memory"
        )
    if n < 4:
        raise DataError(f"the Durbin-Watson test of a streamed fit needs at least 4 rows, got {n}")
    sums = _stream_lags(fit, "the Durbin-Watson test", 2, "the lag")
    lp = sums.lags  # of the columns over powers of two s_j (TestSpec.scales)
    G0, G1, G2 = (lp.G[j][:k, :k] for j in range(3))
    x0, x1 = lp.head[0, :k], lp.head[1, :k]
    xm, xm1 = lp.tail[-1, :k], lp.tail[-2, :k]
    ends = np.outer(x0, x0) + np.outer(xm, xm)
    XAX = 2.0 * G0 - ends - (G1 + G1.T)
    near = np.outer(x1, x0) + np.outer(xm1, xm)
    XA2X = 6.0 * G0 - 4.0 * ends - 4.0 * (G1 + G1.T) + (G2 + G2.T) + near + near.T
    scales = np.asarray(sums.spec.scales) if sums.spec.scales else np.ones(k)
    Ri = fit.stat.rinv() * scales[:, None]  # W = X Rxx^-1 = (X / s) (diag(s) Rxx^-1)
    WAW = Ri.T @ XAX @ Ri
    P = 2.0 * (n - 1) - float(np.trace(WAW))
    Q = 2.0 * (3 * n - 4) - 2.0 * float(np.trace(Ri.T @ XA2X @ Ri)) + float(np.sum(WAW * WAW))
    mean = P / (n - k)
    var = 2.0 / ((n - k) * (n - k + 2)) * (Q - P * mean)
    c0, c1 = float(lp.G[0][k, k]), float(lp.G[1][k, k])
    e0, em = float(lp.head[0, k]), float(lp.tail[-1, k])
    dw = (2.0 * c0 - e0 * e0 - em * em - 2.0 * c1) / c0
    return dw, (mean, math.sqrt(var))


def _dw_moments(fit: OLSFit, X: FloatArray) -> tuple[float, float]:
    """Exact mean and standard deviation of d under H0 (R's dwtest, ``exact = FALSE``).

    With ``W = X Rxx^-1`` (orthonormal columns) and A = D^T D:
    ``P = 2 (n - 1) - tr(W^T A W)``,
    ``Q = 2 (3 n - 4) - 2 tr(W^T A^2 W) + tr((W^T A W)^2)``,
    ``E d = P / (n - k)``, ``Var d = 2 (Q - P E d) / ((n - k)(n - k + 2))``.
    """
    n, k = X.shape
    W = fit.stat.whiten(X)
    DW = np.diff(W, axis=0)
    WAW = DW.T @ DW
    AW = np.zeros_like(W)  # A W = D^T (D W)
    AW[:-1] -= DW
    AW[1:] += DW
    P = 2.0 * (n - 1) - float(np.trace(WAW))
    Q = 2.0 * (3 * n - 4) - 2.0 * float(np.sum(AW * AW)) + float(np.sum(WAW * WAW))
    mean = P / (n - k)
    var = 2.0 / ((n - k) * (n - k + 2)) * (Q - P * mean)
    return mean, math.sqrt(var)
