"""The standard specification tests of a least-squares fit, as statsmodels names them.

Each test is a function of an in-memory :class:`~duolm.OLSResults` (its fitted
rows, kept columns and square-root statistic) and returns a
:class:`DiagnosticTest`: statistic, p value, degrees of freedom and a
plain-word reading. The auxiliary regressions behind the Lagrange-multiplier
tests are fitted on the one core (:class:`~duolm.core.SqrtStat`), and every
explained sum of squares is read from R as a sum of squares of ``Q^T y``
entries (no ``tss - ssr`` cancellation).

References: Breusch & Pagan (1979) and Koenker (1981) for the studentised
Breusch-Pagan statistic (R's ``lmtest::bptest`` default); White (1980);
Breusch (1978) and Godfrey (1978); Ljung & Box (1978); Ramsey (1969) RESET;
Belsley, Kuh & Welsch (1980), *Regression Diagnostics*, ch. 2, for the
influence measures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.linalg as sla
from numpy.typing import NDArray
from scipy import stats

from duolm import core
from duolm.core import ALIAS_TOL, SqrtStat
from duolm.design import constant_column
from duolm.errors import DataError
from duolm.frequentist._testsums import WHITE_MAX_COLUMNS, TestSums

if TYPE_CHECKING:
    from duolm.frequentist._fit import OLSFit

__all__ = [
    "DiagnosticTest",
    "acorr_breusch_godfrey",
    "acorr_ljungbox",
    "het_breuschpagan",
    "het_white",
    "influence",
    "linear_reset",
    "outlier_test",
    "vif",
]

FloatArray = NDArray[np.float64]

#: Leverage this close to 1 makes the leave-one-out quantities undefined.
_LEVERAGE_ONE = 1e-10


@dataclass(frozen=True)
class DiagnosticTest:
    """The outcome of a hypothesis test on a fit.

    Attributes
    ----------
    name : str
        The test, e.g. ``"Breusch-Pagan (studentised)"``.
    statistic : float
    pvalue : float
    df : float or None
        Degrees of freedom of the chi-squared reference, or the numerator's of
        an F reference; None when the reference has none (Durbin-Watson).
    df_denom : float or None
        Denominator degrees of freedom of an F reference, else None.
    distribution : str
        The reference distribution: ``"chi2"``, ``"F"``, ``"exact"`` or ``"normal"``.
    null, alternative : str
        The hypotheses in plain words.
    """

    name: str
    statistic: float
    pvalue: float
    df: float | None
    df_denom: float | None
    distribution: str
    null: str
    alternative: str

    def __str__(self) -> str:
        if self.df is None:
            ref = f"{self.distribution} p value"
        elif self.df_denom is None:
            ref = f"{self.distribution} with {self.df:g} df"
        else:
            ref = f"{self.distribution} with ({self.df:g}, {self.df_denom:g}) df"
        verdict = (
            f"reject at the 5% level: {self.alternative}"
            if self.pvalue < 0.05
            else f"no evidence at the 5% level against: {self.null}"
        )
        return (
            f"{self.name}: statistic = {self.statistic:.6g} ({ref}), "
            f"p = {self.pvalue:.4g}; {verdict}"
        )


# -- helpers ---------------------------------------------------------------------------
def _rows_of(fit: OLSFit, what: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(X_kept, y, resid)`` of an in-memory fit, or a DataError naming ``what``."""
    rows = fit.rows
    if rows is None:
        raise DataError(
            f"{what} needs the fitted rows and this fit keeps none (it was streamed); "
            "fit the data in memory"
        )
    X = rows.X if fit.kept.all() else rows.X[:, fit.kept]
    return X, rows.y, rows.resid


def _sums_of(fit: OLSFit, what: str) -> TestSums:
    """The tests' sums a streamed fit's second pass accumulated, or a DataError naming
    ``what`` and how to get them."""
    sums = fit.test_sums
    if sums is None:
        raise DataError(
            f"{what} needs sums over the residuals that this streamed fit's second pass did "
            "not accumulate: fit with duolm.ols(path, ..., tests=True) (or "
            "duolm.reduce(..., diagnostics=True, tests=True)), or fit the data in memory"
        )
    return sums


@dataclass(frozen=True)
class _Aux:
    """An auxiliary least-squares regression: its kept-column statistic and sums of squares."""

    stat: SqrtStat
    kept: NDArray[np.bool_]
    const: bool
    ess: float
    tss: float

    @property
    def rank(self) -> int:
        return int(self.kept.sum())

    @property
    def ssr(self) -> float:
        return self.stat.ssr

    @property
    def rsquared(self) -> float:
        """Centred R² when the regression has a constant column, else uncentred (statsmodels)."""
        return self.ess / self.tss


def _aux(Z: FloatArray, v: FloatArray) -> _Aux:
    """Regress ``v`` on ``Z`` with aliased columns dropped (left to right, as ``lm``).

    The explained sum of squares is ``||rxy||^2`` beyond the constant's
    direction, with the constant moved first (a sum of squares: no cancellation).
    """
    stat = SqrtStat.from_block(np.ascontiguousarray(Z), v)  # Gram when well conditioned
    kept = ~stat.aliased(ALIAS_TOL)
    Zk = Z if kept.all() else Z[:, kept]
    c = constant_column(Zk)  # candidates from the first rows: one pass at most
    return _aux_parts(stat, kept, c)


def _aux_of(stat: SqrtStat, const: int | None) -> _Aux:
    """:func:`_aux` of an accumulated statistic whose column ``const`` (of all) is the
    constant one (None: none)."""
    kept = ~stat.aliased(ALIAS_TOL)
    c = None
    if const is not None and kept[const]:
        c = int(np.count_nonzero(kept[:const]))
    return _aux_parts(stat, kept, c)


def _aux_parts(stat: SqrtStat, kept: NDArray[np.bool_], c: int | None) -> _Aux:
    """The auxiliary regression's sums of squares, the constant (position ``c`` among the
    kept columns) moved first."""
    consts = [] if c is None else [c]
    if c is not None:
        order = np.array([c, *[j for j in range(int(kept.sum())) if j != c]])
        st = stat.select(np.flatnonzero(kept)[order])
        ess = float(st.rxy[1:] @ st.rxy[1:])
        tss = st.y_m2
    else:
        st = stat.select(kept)
        ess = float(st.rxy @ st.rxy)
        tss = st.uncentered_tss
    return _Aux(st, kept, bool(consts), ess, tss)


def _scaled_squares(e: FloatArray) -> FloatArray:
    """``(e / u)^2`` with ``u`` the power of two nearest the residuals' root mean square.

    The statistics regressing squared residuals (Breusch-Pagan, White) do not change
    when those are scaled, and residuals near 1e150 or 1e-150 would overflow or
    underflow in the auxiliary regression's own squares (``e^4``).
    """
    top = float(np.max(np.abs(e))) if e.size else 0.0
    if top == 0.0:  # an exact fit: every square is zero
        return np.zeros_like(e)
    rms = math.sqrt(float(np.mean((e / top) ** 2))) * top
    unit = 2.0 ** round(math.log2(rms))
    scaled: FloatArray = (e / unit) ** 2
    return scaled


def _require_constant(fit: OLSFit, test: str) -> None:
    if fit.const_col is None:
        raise DataError(
            f"the {test} test needs a model with an intercept (a constant column); "
            "this fit has none"
        )


def _stream_lags(fit: OLSFit, what: str, lags: int, name: str) -> TestSums:
    """The tests' sums of a streamed fit when they hold ``lags`` lags."""
    sums = _sums_of(fit, what)
    if lags > sums.spec.maxlags:
        raise DataError(
            f"this streamed fit accumulated lag products up to lag {sums.spec.maxlags}; "
            f"{name}={lags} needs a fit with tests={{'maxlags': {lags}}}"
        )
    return sums


# -- heteroskedasticity ----------------------------------------------------------------
def het_breuschpagan(fit: OLSFit, robust: bool = True) -> DiagnosticTest:
    """Breusch-Pagan test of constant error variance against variance linear in X.

    Regresses the squared residuals on the model's (kept) columns.
    ``robust=True`` (default, as R's ``lmtest::bptest``) is Koenker's studentised
    form ``LM = n R^2``; ``robust=False`` is the original ``ESS / 2`` of the
    regression of ``e^2 / mean(e^2)``, valid under normal errors only. Both are
    chi-squared with ``rank - 1`` df under H0 (statsmodels' ``het_breuschpagan``).

    Parameters
    ----------
    fit : OLSResults
        An in-memory fit with an intercept.
    robust : bool
    """
    _require_constant(fit, "Breusch-Pagan")
    if fit.rows is None:  # streamed: the statistic of [X, e^2] of the second pass
        bp = _sums_of(fit, "the Breusch-Pagan test").bp
        n, aux, mean_e2 = fit.nobs, _aux_of(bp, fit.const_col), bp.y_mean
    else:
        X, _, e = _rows_of(fit, "the Breusch-Pagan test")
        n = X.shape[0]
        e2 = _scaled_squares(e)
        aux, mean_e2 = _aux(X, e2), float(np.mean(e2))
    if robust:
        lm = n * aux.rsquared
        name = "Breusch-Pagan (Koenker, studentised)"
    else:
        lm = aux.ess / (2.0 * mean_e2**2)  # ESS of e^2/mean(e^2), halved
        name = "Breusch-Pagan (original, normal errors)"
    df = aux.rank - 1
    return DiagnosticTest(
        name,
        lm,
        float(stats.chi2.sf(lm, df)),
        float(df),
        None,
        "chi2",
        "the error variance is constant",
        "the error variance changes with the regressors",
    )


def koenker_lm(fit: OLSFit) -> tuple[float, float, int]:
    """Koenker's Breusch-Pagan statistic through the fit's own factor: ``(LM, p, df)``.

    The same statistic as ``het_breuschpagan(fit)`` (the auxiliary regression has the
    fit's own columns, whose factor ``Rxx`` is at hand): with ``u`` the squared
    residuals centred, its explained sum of squares is ``||Rxx^-T X'u||^2``. ``X'u``
    and ``u'u`` come from the fit's residual sweep when it took them
    (:attr:`FittedRows.squares`), else from one pass over X: no second factorisation,
    for the summary's note; the public test keeps the auxiliary regression of its own.
    """
    rows = fit.rows
    squares = rows.squares if rows is not None and fit.kept.all() else None
    if rows is not None and squares is not None:  # taken by the fit's own residual sweep
        xu, tss, n = squares.xu, squares.tss, len(rows.resid)
    else:
        X, _, e = _rows_of(fit, "the Breusch-Pagan test")
        u = _scaled_squares(e)
        u = u - float(np.mean(u))
        xu, tss, n = X.T @ u, float(u @ u), len(e)
    z = sla.solve_triangular(fit.stat.Rxx, xu, trans="T", lower=False)
    df = fit.rank - 1
    lm = n * float(z @ z) / tss if tss > 0 else math.nan
    return lm, float(stats.chi2.sf(lm, df)), df


def het_white(fit: OLSFit) -> DiagnosticTest:
    """White's test: squared residuals on the regressors, their squares and cross products.

    ``LM = n R^2``, chi-squared with ``rank - 1`` df of the auxiliary
    regression (duplicated products, e.g. a dummy's square, are aliased and
    dropped, as statsmodels' ``het_white`` counts them through the rank).
    """
    _require_constant(fit, "White")
    if fit.rows is None:  # streamed: the products' statistic of the second pass
        white = _sums_of(fit, "White's test").white
        if white is None:
            raise DataError(
                f"White's test regresses on {fit.rank * (fit.rank + 1) // 2} products of "
                f"columns; a streamed fit accumulates it for at most {WHITE_MAX_COLUMNS} "
                "columns: fit the data in memory"
            )
        i0, i1 = np.triu_indices(fit.rank)
        c = fit.const_col
        const = int(np.flatnonzero((i0 == c) & (i1 == c))[0]) if c is not None else None
        n, aux = fit.nobs, _aux_of(white, const)
    else:
        X, _, e = _rows_of(fit, "White's test")
        n, k = X.shape
        i0, i1 = np.triu_indices(k)
        # each column over a power of two near its largest value first: the products'
        # span is the same, and columns near 1e155 or 1e-200 no longer overflow or
        # underflow in them (dropped as aliased, silently, with the statistic's df)
        Xs = X / core.nearest_pow2(np.max(np.abs(X), axis=0))
        Z = Xs[:, i0] * Xs[:, i1]
        aux = _aux(Z, _scaled_squares(e))
    lm = n * aux.rsquared
    df = aux.rank - int(aux.const)
    return DiagnosticTest(
        "White",
        lm,
        float(stats.chi2.sf(lm, df)),
        float(df),
        None,
        "chi2",
        "the error variance is constant",
        "the error variance changes with the regressors, their squares or products",
    )


# -- autocorrelation -------------------------------------------------------------------
def _default_lags(n: int) -> int:
    return min(10, n // 5)


def _check_lags(value: object, name: str, n: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    lags = int(value)
    if not 1 <= lags < n:
        raise ValueError(f"{name} must be between 1 and {n - 1} (the rows less one), got {lags}")
    return lags


def acorr_breusch_godfrey(fit: OLSFit, nlags: int | None = None) -> DiagnosticTest:
    """Breusch-Godfrey LM test of no serial correlation up to order ``nlags``.

    The residuals are regressed on the model's columns and their own first
    ``nlags`` lags (missing presample lags filled with 0, as R's ``bgtest``
    and statsmodels); ``LM = n R^2`` is chi-squared with ``nlags`` df. A column
    of ones is added when the model has no intercept (statsmodels).

    Parameters
    ----------
    nlags : int, optional
        Default ``min(10, n // 5)`` (statsmodels).
    """
    n = fit.nobs
    p = _check_lags(_default_lags(n) if nlags is None else nlags, "nlags", n)
    columns = fit.rank + p + int(fit.const_col is None)  # of the auxiliary regression
    if columns >= n:
        raise DataError(
            f"the Breusch-Godfrey regression on {p} lags has {columns} columns for {n} rows: "
            f"it would fit the residuals exactly; use nlags <= {n - 1 - columns + p}"
        )
    if fit.rows is None:  # streamed: the Gram matrix from the lag products
        sums = _stream_lags(fit, "the Breusch-Godfrey test", p, "nlags")
        G, mean, m2 = sums.bg_gram(p, ones=fit.const_col is None)
        stat = SqrtStat.from_gram(G, n, mean, m2)
        if stat is None:
            raise DataError(
                "the Breusch-Godfrey regression is too ill-conditioned to be read from sums: "
                "fit the data in memory"
            )
        const = fit.const_col if fit.const_col is not None else fit.rank
        aux = _aux_of(stat, const)
    else:
        X, _, e = _rows_of(fit, "the Breusch-Godfrey test")
        lagged = np.zeros((n, p))
        for j in range(1, p + 1):
            lagged[j:, j - 1] = e[:-j]
        parts = [X, lagged] if fit.const_col is not None else [X, np.ones((n, 1)), lagged]
        aux = _aux(np.column_stack(parts), e)
    lm = n * aux.rsquared
    return DiagnosticTest(
        f"Breusch-Godfrey (order {p})",
        lm,
        float(stats.chi2.sf(lm, p)),
        float(p),
        None,
        "chi2",
        f"the errors are not autocorrelated up to lag {p}",
        f"the errors are autocorrelated at some lag up to {p}",
    )


def acorr_ljungbox(fit: OLSFit, lags: int | None = None, model_df: int = 0) -> DiagnosticTest:
    """Ljung-Box test of no autocorrelation of the residuals up to lag ``lags``.

    ``Q = n (n + 2) sum_{j<=lags} r_j^2 / (n - j)`` with ``r_j`` the sample
    autocorrelations (mean removed, divided by n), chi-squared with
    ``lags - model_df`` df: statsmodels' ``acorr_ljungbox(resid, lags=[lags])``
    and R's ``Box.test(type="Ljung-Box")``.

    Parameters
    ----------
    lags : int, optional
        Default ``min(10, n // 5)`` (statsmodels' largest default lag).
    model_df : int
        Degrees of freedom used by a fitted ARMA model, subtracted from ``lags``.
    """
    n = fit.nobs
    h = _check_lags(_default_lags(n) if lags is None else lags, "lags", n)
    if isinstance(model_df, bool) or not isinstance(model_df, (int, np.integer)):
        raise ValueError(f"model_df must be a non-negative integer, got {model_df!r}")
    if not 0 <= model_df < h:
        raise ValueError(f"model_df must be in [0, lags) = [0, {h}), got {model_df}")
    if fit.rows is None:  # streamed: autocovariances from the lag products
        c0, cj = _stream_lags(fit, "the Ljung-Box test", h, "lags").autocovariances(h)
        r = cj / c0
    else:
        _, _, e = _rows_of(fit, "the Ljung-Box test")
        d = e - np.mean(e)
        c0 = float(d @ d)
        r = np.array([float(d[j:] @ d[:-j]) / c0 for j in range(1, h + 1)])
    q = n * (n + 2) * float(np.sum(r * r / (n - np.arange(1, h + 1))))
    df = h - int(model_df)
    return DiagnosticTest(
        f"Ljung-Box (lags 1-{h})",
        q,
        float(stats.chi2.sf(q, df)),
        float(df),
        None,
        "chi2",
        f"the residuals are not autocorrelated up to lag {h}",
        f"the residuals are autocorrelated at some lag up to {h}",
    )


# -- functional form -------------------------------------------------------------------
def linear_reset(
    fit: OLSFit, power: int | Sequence[int] = 3, use_f: bool = False
) -> DiagnosticTest:
    """Ramsey's RESET test: are powers of the fitted values missing from the model?

    Adds ``yhat**2, ..., yhat**power`` (or the listed powers) to the model
    and tests them jointly by a Wald test with the plain covariance:
    chi-squared ``q F`` (``use_f=False``, statsmodels' default) or
    ``F(q, n - k')`` (``use_f=True``, R's ``lmtest::resettest``). The joint
    sum of squares is read from the augmented R (no difference of SSRs).
    """
    if isinstance(power, bool):
        raise ValueError(f"power must be an integer >= 2 or a list of them, got {power!r}")
    if isinstance(power, (int, np.integer)):
        if power < 2:
            raise ValueError(f"power must be >= 2, got {power}")
        powers = list(range(2, int(power) + 1))
    else:
        powers = [int(p) for p in power]
        if not powers or len(set(powers)) != len(powers) or min(powers) < 2:
            raise ValueError(f"power must list distinct integers >= 2, got {list(power)}")
    if fit.rank - int(fit.const_col is not None) < 1:
        raise DataError("the RESET test needs at least one regressor besides the intercept")
    k = fit.rank
    if fit.rows is None:  # streamed: the statistic of [X, yhat^2 .. yhat^P, y]
        reset = _sums_of(fit, "the RESET test").reset
        if max(powers) > reset.k - k + 1:
            raise DataError(
                f"this streamed fit accumulated powers of the fitted values up to "
                f"{reset.k - k + 1}; fit with tests={{'power': {max(powers)}}} for power "
                f"{max(powers)}"
            )
        stat = reset.select(np.array([*range(k), *[k + p - 2 for p in powers]]))
        n = fit.nobs
    else:
        X, y, e = _rows_of(fit, "the RESET test")
        yhat = y - e
        # the powers of yhat over a power of two near its largest value: the test of
        # their coefficients is the same, and they cannot overflow or underflow
        yhat = yhat / float(core.nearest_pow2(np.array([np.max(np.abs(yhat))]))[0])
        Z = np.column_stack([X, *[yhat**p for p in powers]])
        stat = SqrtStat.from_data(np.ascontiguousarray(Z), y)
        n = X.shape[0]
    kept = ~stat.aliased(ALIAS_TOL)
    if not kept[:k].all() or not kept[k:].any():
        raise DataError("the powers of the fitted values are collinear with the regressors")
    st = stat.select(kept)
    q = int(kept[k:].sum())
    df_denom = n - st.k
    if df_denom < 1:
        raise DataError(
            f"the RESET regression has {st.k} columns for {n} rows: it would fit y exactly; "
            f"use fewer powers (at most {max(0, n - 1 - k)} beyond the model)"
        )
    extra = st.rxy[k:]
    F = (float(extra @ extra) / q) / (st.ssr / df_denom)
    if use_f:
        return DiagnosticTest(
            "RESET (F)",
            F,
            float(stats.f.sf(F, q, df_denom)),
            float(q),
            float(df_denom),
            "F",
            "the linear form is adequate (no powers of the fitted values missing)",
            "powers of the fitted values explain what the model misses",
        )
    chi2 = q * F
    return DiagnosticTest(
        "RESET (Wald chi2)",
        chi2,
        float(stats.chi2.sf(chi2, q)),
        float(q),
        None,
        "chi2",
        "the linear form is adequate (no powers of the fitted values missing)",
        "powers of the fitted values explain what the model misses",
    )


# -- collinearity ----------------------------------------------------------------------
def vif(fit: OLSFit) -> pd.Series:
    """Variance inflation factors, one per term (the intercept excluded).

    ``VIF_j = 1 / (1 - R_j^2)`` with ``R_j^2`` of column j regressed on the
    other columns of the model: centred when the model has an intercept,
    uncentred when it has none (statsmodels' ``variance_inflation_factor``;
    without an intercept its ``standardize=False``, since its default centring
    reads such a model as if it had one). Computed from R alone (works for streamed
    fits), with no regression per column: ``ssr_j = 1 / [(X'X)^-1]_jj``, the squared
    norm of row j of ``Rxx^-1`` inverted (the partitioned inverse), and ``tss_j``
    the squared norm of column j of the factor of the columns with the intercept
    first, below its first row (``x_j`` less its projection on the intercept).
    Aliased columns get ``inf``.
    """
    Rxx = fit.stat.Rxx
    k = Rxx.shape[1]
    kept_idx = np.flatnonzero(fit.kept)
    c = fit.const_col
    # ||Rxx^-1 e_j||: each row scaled by a power of two before it is squared (a column
    # near 1e-200 has a row near 1e200), as the standard errors are
    Ri = fit.stat.rinv()
    inv_norm = _scaled_norms(Ri)
    if c is not None:
        order = np.array([c, *[i for i in range(k) if i != c]])
        Rc = np.linalg.qr(Rxx[:, order], mode="r")
        tss_norm = np.empty(k)
        tss_norm[order] = _scaled_norms(np.asarray(Rc)[1:].T)
    else:
        tss_norm = _scaled_norms(Rxx.T)
    out: dict[str, float] = {}
    for pos, term in enumerate(fit.terms):
        hit = np.flatnonzero(kept_idx == pos)
        if hit.size == 0:
            out[term] = math.inf
            continue
        j = int(hit[0])
        if j == c:
            continue
        out[term] = float(tss_norm[j] * inv_norm[j]) ** 2
    return pd.Series(out, name="vif", dtype=float)


def _scaled_norms(A: FloatArray) -> FloatArray:
    """Euclidean norms of the rows of ``A``, each row scaled by a power of two first."""
    unit = core.nearest_pow2(np.max(np.abs(A), axis=1) if A.size else np.ones(A.shape[0]))
    out: FloatArray = unit * np.sqrt(np.sum((A / unit[:, None]) ** 2, axis=1))
    return out


# -- per-row influence -----------------------------------------------------------------
@dataclass(frozen=True)
class _LeaveOneOut:
    W: FloatArray  # X Rxx^-1: rows of the thin Q
    h: FloatArray
    e: FloatArray
    s2: float
    s2_i: FloatArray  # s^2 without row i
    index: pd.Index


def _leave_one_out(
    fit: OLSFit, what: str, rows: tuple[FloatArray, FloatArray, pd.Index] | None = None
) -> _LeaveOneOut:
    """Leave-one-out quantities of the fit's rows, or of ``rows`` = ``(X_kept, e, index)``
    (some rows of a fit that keeps none: :func:`duolm.write_influence`)."""
    if rows is None:
        if fit.rows is None:
            raise DataError(
                f"{what} is per row and this fit keeps no rows (it was streamed): write the "
                "measures to a file with duolm.write_influence(fit, source, 'out.parquet'), "
                "which reads the source again batch by batch"
            )
        X, _, e = _rows_of(fit, what)
        index = fit.rows.index
    else:
        X, e, index = rows
    W = fit.stat.whiten(X)
    h = np.einsum("ij,ij->i", W, W)
    one_minus = 1.0 - h
    if np.any(one_minus <= _LEVERAGE_ONE):
        row = index[int(np.argmin(one_minus))]
        raise DataError(
            f"{what} is undefined: row {row!r} has leverage 1 (the fit passes through it "
            "exactly, e.g. the only row of a category), so it cannot be left out"
        )
    df = fit.df_resid
    if df < 2:
        raise DataError(f"{what} needs at least 2 residual degrees of freedom, got {df}")
    s2 = fit.ssr / df
    # Belsley, Kuh & Welsch (1980), eq. 2.8: (n - k - 1) s_(i)^2 = SSR - e_i^2 / (1 - h_i)
    s2_i = (fit.ssr - e * e / one_minus) / (df - 1)
    return _LeaveOneOut(W, h, e, s2, s2_i, index)


def outlier_test(fit: OLSFit, alpha: float = 0.05) -> pd.DataFrame:
    """Bonferroni outlier test on the externally studentised residuals.

    Returns statsmodels' ``outlier_test(method="bonf")`` frame: columns
    ``student_resid`` (t with ``df_resid - 1`` df under H0), ``unadj_p``
    (two-sided) and ``bonf(p)`` = ``min(1, n * unadj_p)``, one row per fitted
    row. ``alpha`` is only checked: the adjusted p values do not depend on it.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha is a significance level in (0, 1), got {alpha!r}")
    loo = _leave_one_out(fit, "the outlier test")
    t = loo.e / np.sqrt(loo.s2_i * (1.0 - loo.h))
    p = 2.0 * stats.t.sf(np.abs(t), fit.df_resid - 1)
    return pd.DataFrame(
        {"student_resid": t, "unadj_p": p, "bonf(p)": np.minimum(1.0, p * t.size)},
        index=loo.index,
    )


def influence(
    fit: OLSFit, rows: tuple[FloatArray, FloatArray, pd.Index] | None = None
) -> pd.DataFrame:
    """Influence measures of each fitted row (Belsley, Kuh & Welsch 1980, ch. 2).

    ``rows``: ``(X_kept, e, index)`` of some of the fit's rows instead of its own
    (a streamed fit keeps none: :func:`duolm.write_influence` passes them batch by batch).

    Columns, as statsmodels' ``OLSInfluence.summary_frame()`` plus ``covratio``:
    ``dfb_<term>`` (DFBETAS of each kept term), ``cooks_d``, ``standard_resid``
    (internally studentised), ``hat_diag``, ``dffits_internal``,
    ``student_resid`` (externally studentised), ``dffits`` and ``covratio``
    ``= (s_(i)^2 / s^2)^k / (1 - h_i)``.

    Everything comes from ``W = X Rxx^-1`` (no inverse of ``X^T X``):
    ``(X^T X)^-1 x_i = Rxx^-1 w_i`` and ``sqrt(diag (X^T X)^-1)`` are the row
    norms of ``Rxx^-1``.
    """
    loo = _leave_one_out(fit, "influence", rows)
    h, e = loo.h, loo.e
    one_minus = 1.0 - h
    k = fit.rank
    std_resid = e / np.sqrt(loo.s2 * one_minus)
    stud_resid = e / np.sqrt(loo.s2_i * one_minus)
    ratio = np.sqrt(h / one_minus)
    Ri = fit.stat.rinv()
    # each row of Rxx^-1 scaled by a power of two: DFBETAS divide it by its norm, and a
    # column near 1e165 has a row near 1e-165, whose squares underflow to 0
    Rs = Ri / core.nearest_pow2(np.max(np.abs(Ri), axis=1))[:, None]
    # beta - beta_(i) = (X^T X)^-1 x_i e_i / (1 - h_i)  (BKW eq. 2.1), row j over 2^p_j
    dfbeta = (loo.W @ Rs.T) * (e / one_minus)[:, None]
    dfbetas = dfbeta / np.sqrt(loo.s2_i)[:, None] / np.sqrt(np.sum(Rs * Rs, axis=1))
    kept_terms = [t for t, keep in zip(fit.terms, fit.kept, strict=True) if keep]
    frame = pd.DataFrame(dfbetas, columns=[f"dfb_{t}" for t in kept_terms], index=loo.index)
    frame["cooks_d"] = std_resid**2 * h / one_minus / k
    frame["standard_resid"] = std_resid
    frame["hat_diag"] = h
    frame["dffits_internal"] = std_resid * ratio
    frame["student_resid"] = stud_resid
    frame["dffits"] = stud_resid * ratio
    frame["covratio"] = (loo.s2_i / loo.s2) ** k / one_minus
    return frame


def _term_position(fit: OLSFit, term: str) -> int:
    """Position of ``term`` among the kept columns; a clear error for any other name."""
    kept = [t for t, keep in zip(fit.terms, fit.kept, strict=True) if keep]
    if term not in kept:
        raise ValueError(f"{term!r} is not an estimated term of the fit; its terms are {kept}")
    if fit.const_col is not None and kept.index(term) == fit.const_col:
        raise ValueError(f"{term!r} is the intercept: choose a slope term")
    return kept.index(term)


def partial_regression(fit: OLSFit, term: str) -> pd.DataFrame:
    """The added-variable plot's points: ``x_resid`` and ``y_resid``, the residuals of the
    term's column and of y on every other kept column (refined least squares).

    By the Frisch-Waugh-Lovell theorem the line through the origin fitted to them has
    slope ``params[term]`` and residuals equal to the fit's.
    """
    X, y, _ = _rows_of(fit, "a partial regression")
    j = _term_position(fit, term)
    others = np.delete(X, j, axis=1)
    x_resid = core.lstsq(others, np.ascontiguousarray(X[:, j])).resid
    y_resid = core.lstsq(others, y).resid
    index = fit.rows.index if fit.rows is not None else None
    return pd.DataFrame({"x_resid": x_resid, "y_resid": y_resid}, index=index)


def component_plus_residual(fit: OLSFit, term: str) -> pd.DataFrame:
    """The CCPR plot's points: the term's column ``x`` and ``b_j x + e`` (``partial_resid``).

    The residuals are orthogonal to every column, so the least-squares line through
    these points (with an intercept) has slope ``params[term]`` exactly.
    """
    X, _, e = _rows_of(fit, "a component-plus-residual plot")
    j = _term_position(fit, term)
    x = X[:, j]
    index = fit.rows.index if fit.rows is not None else None
    return pd.DataFrame({"x": x, "partial_resid": fit.params_kept[j] * x + e}, index=index)
