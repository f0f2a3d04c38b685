"""The public least-squares result: the numbers of :class:`OLSFit`, its tests, printed forms.

Besides showing what the base class computes (the statsmodels table of
:mod:`._summary`, a one-line ``repr``, the HTML that Jupyter displays), the
result offers the specification tests of :mod:`._tests` and
:mod:`._durbin_watson` as methods, with statsmodels' names.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

import duolm.frequentist._durbin_watson as _durbin_watson
import duolm.frequentist._tests as _tests
from duolm._format import Summary
from duolm.errors import DataError
from duolm.frequentist._fit import OLSFit
from duolm.frequentist._summary import ols_summary
from duolm.frequentist._tests import DiagnosticTest

__all__ = ["OLSResults"]


@dataclass(frozen=True, eq=False, repr=False)
class OLSResults(OLSFit):
    """A least-squares fit and everything a statistician reads off it.

    A result is made of statistics: the square-root statistic of the kept
    columns, the estimate, the residuals' moments and, for robust
    covariances, the "meat" matrices. An in-memory fit also keeps its
    :class:`FittedRows` (design matrix and residuals) because leverage,
    influence and in-sample predictions are per row; a streamed fit does not,
    and says so when asked for them. Nothing in it changes after construction.

    Attributes
    ----------
    spec : DesignSpec
        How the columns were built (terms, response, formula).
    stat : SqrtStat
        Square-root statistic of ``[X[:, kept] y]``.
    kept : ndarray of bool, shape (k,)
        False for aliased columns.
    params_kept : ndarray of shape (rank,)
        The estimate for the kept columns.
    moments : core.ResidualMoments or None
        Moments of the residuals, for the diagnostics; None when no pass over
        the residuals was made (a one-pass streamed fit).
    const_col : int or None
        Position among the kept columns of the intercept (a constant column).
    n_dropped : int
        Rows dropped for missing values.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
    method : str
        How the estimate was computed ("householder", "cholesky", "stream").
    scaled_condition_number : float
        Condition number of the design with unit-norm columns.
    rows : FittedRows or None
        The fitted rows (in-memory fits only).
    meats : mapping of str to ndarray, optional
        ``W^T diag(w) W`` for ``w`` = e², e²/(1-h), e²/(1-h)² (keys "HC0",
        "HC2", "HC3") with ``W = X Rxx^-1``, accumulated by a streamed pass.
    weight_sums : core.WeightSums or None
        A weighted least-squares fit (``weights=``, statsmodels' ``WLS``):
        ``sum w``, ``sum log w`` and the weighted mean and centred sum of
        squares of ``y``; then ``stat``, ``rows``, ``moments`` and ``meats``
        are those of the rows scaled by ``sqrt(w)`` (``weighted``,
        ``weights`` and ``wresid`` read them; ``resid`` is unweighted). The
        specification tests below read the scaled rows too, as statsmodels'
        functions given ``wresid`` and ``wexog``.
    """

    # -- specification tests (in memory: they read the fitted rows) ---------------------
    def _refuse_weighted(self, what: str) -> None:
        """The tests below are defined for ordinary least squares; refused for a weighted fit
        rather than computed on rows that no reference defines them for."""
        if self.weighted:
            raise DataError(
                f"{what} is defined for unweighted fits: this fit is weighted (WLS), and "
                "neither statsmodels nor R defines it for weighted rows one way (on the rows "
                "scaled by sqrt(w), fit.wresid and the scaled design, or on the unweighted "
                "ones); fit the scaled rows with duolm.ols(X=..., y=...) for the former"
            )

    def het_breuschpagan(self, robust: bool = True) -> DiagnosticTest:
        """Breusch-Pagan test of constant error variance (Koenker's studentised form
        by default, as R's ``lmtest::bptest``)."""
        self._refuse_weighted("het_breuschpagan()")
        return _tests.het_breuschpagan(self, robust)

    def het_white(self) -> DiagnosticTest:
        """White's test: squared residuals on the regressors, squares and cross products."""
        self._refuse_weighted("het_white()")
        return _tests.het_white(self)

    def acorr_breusch_godfrey(self, nlags: int | None = None) -> DiagnosticTest:
        """Breusch-Godfrey LM test of no serial correlation up to ``nlags``
        (default ``min(10, n // 5)``)."""
        self._refuse_weighted("acorr_breusch_godfrey()")
        return _tests.acorr_breusch_godfrey(self, nlags)

    def acorr_ljungbox(self, lags: int | None = None, model_df: int = 0) -> DiagnosticTest:
        """Ljung-Box test of no autocorrelation of the residuals up to ``lags``."""
        self._refuse_weighted("acorr_ljungbox()")
        return _tests.acorr_ljungbox(self, lags, model_df)

    def linear_reset(self, power: int | Sequence[int] = 3, use_f: bool = False) -> DiagnosticTest:
        """Ramsey's RESET test of powers of the fitted values (Wald chi2, or F with ``use_f``)."""
        self._refuse_weighted("linear_reset()")
        return _tests.linear_reset(self, power, use_f)

    def durbin_watson_test(
        self,
        alternative: Literal["greater", "two-sided", "less"] = "greater",
        exact: bool | None = None,
    ) -> DiagnosticTest:
        """Durbin-Watson test with R's ``lmtest::dwtest`` p value (exact below 100 rows)."""
        self._refuse_weighted("durbin_watson_test()")
        return _durbin_watson.durbin_watson_test(self, alternative, exact)

    def vif(self) -> pd.Series:
        """Variance inflation factors by term, the intercept excluded (from R alone)."""
        self._refuse_weighted("vif()")
        return _tests.vif(self)

    def outlier_test(self, alpha: float = 0.05) -> pd.DataFrame:
        """Bonferroni outlier test: ``student_resid``, ``unadj_p``, ``bonf(p)`` by row."""
        self._refuse_weighted("outlier_test()")
        return _tests.outlier_test(self, alpha)

    def influence(self) -> pd.DataFrame:
        """Influence measures by row: statsmodels' ``summary_frame`` columns plus ``covratio``."""
        self._refuse_weighted("influence()")
        return _tests.influence(self)

    def partial_regression(self, term: str) -> pd.DataFrame:
        """Added-variable points of ``term``: ``x_resid``, ``y_resid`` (slope = its coefficient)."""
        self._refuse_weighted("partial_regression()")
        return _tests.partial_regression(self, term)

    def component_plus_residual(self, term: str) -> pd.DataFrame:
        """CCPR points of ``term``: ``x`` and ``partial_resid = b x + e``."""
        self._refuse_weighted("component_plus_residual()")
        return _tests.component_plus_residual(self, term)

    # -- printed forms -----------------------------------------------------------------
    def summary(self, alpha: float = 0.05) -> Summary:
        """The statsmodels-style table (text via ``str()``, HTML in notebooks)."""
        return ols_summary(self, alpha=alpha)

    def __repr__(self) -> str:
        model = self.spec.formula or f"{self.spec.response} on {len(self.terms)} columns"
        s = math.sqrt(self.scale) if self.df_resid > 0 else math.nan
        return (
            f"<OLSResults {model!r}: {self.nobs} rows, {self.rank} coefficients, "
            f"R² {self.rsquared:.4g}, s {s:.4g}, cov_type {self.cov_type}, {self.method}>"
        )

    def _repr_html_(self) -> str:
        caption = f"<p><code>{html.escape(repr(self))}</code></p>"
        return caption + self.summary().as_html()
