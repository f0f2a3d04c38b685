"""The public least-squares result: the numbers of :class:`OLSFit` and their printed forms.

The methods here only show what the base class computes: the statsmodels
table (:mod:`._summary`), a one-line ``repr`` and the HTML that Jupyter
displays.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from duolm._format import Summary
from duolm.frequentist._fit import OLSFit
from duolm.frequentist._summary import ols_summary

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
    """

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
