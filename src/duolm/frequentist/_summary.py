"""The OLS summary: statsmodels' table line for line, and duolm's plain-word notes.

Presentation of the frequentist reading: every number is read from the
:class:`~duolm.frequentist.OLSResults`, nothing is estimated here, and nothing
is written back to it. The table machinery is :mod:`duolm._format`.
"""

from __future__ import annotations

import math
import time

from duolm import core
from duolm._checks import check_alpha
from duolm._format import (
    CoefTable,
    Field,
    KeyValueBlock,
    Summary,
    coef_column,
    format_coef,
    format_int,
    format_pvalue,
    format_stat,
    number_field,
)
from duolm.frequentist._diagnostics import OMNIBUS_MIN_NOBS
from duolm.frequentist._fit import OLSFit
from duolm.frequentist._tests import koenker_lm, vif

__all__ = [
    "DW_RANGE",
    "HETEROSKEDASTICITY_ALPHA",
    "LARGE_CONDITION",
    "LARGE_VIF",
    "NORMALITY_ALPHA",
    "ols_summary",
]

#: Significance level of the Breusch-Pagan test that triggers the note on robust errors.
HETEROSKEDASTICITY_ALPHA = 0.01

#: Variance inflation factor above which the summary names the term (the usual rule).
LARGE_VIF = 10.0

#: Condition number above which the design counts as ill-conditioned (as statsmodels).
LARGE_CONDITION = 1000.0

#: Durbin-Watson values outside this range mean strongly autocorrelated residuals.
DW_RANGE = (1.0, 3.0)

#: Significance level of the residual normality tests that triggers a note.
NORMALITY_ALPHA = 0.05


def ols_summary(result: OLSFit, alpha: float = 0.05) -> Summary:
    """The statsmodels-style summary of a least-squares fit.

    The text matches statsmodels' ``OLSResults.summary().as_text()`` line for
    line (Date and Time are those of this call). duolm adds a
    ``Dropped (missing):`` line when rows were dropped, prints aliased
    coefficients as ``(aliased)``/``NA`` rows, and appends plain-word notes
    when the diagnostics show a problem. The result is not modified.

    Parameters
    ----------
    result : OLSResults
        A fit from :func:`duolm.ols`.
    alpha : float
        Significance level of the printed confidence intervals.

    Returns
    -------
    Summary
    """
    alpha = check_alpha(alpha)
    now = time.localtime()
    uncentered = "" if result.k_constant else " (uncentered)"
    model = "WLS" if result.weighted else "OLS"  # statsmodels' names of the two models
    title = f"{model} Regression Results"

    left = [
        Field("Dep. Variable:", str(result.spec.response), result.spec.response),
        Field("Model:", model, model),
        Field("Method:", "Least Squares", "Least Squares"),
        Field("Date:", time.strftime("%a, %d %b %Y", now), time.strftime("%Y-%m-%d", now)),
        Field("Time:", time.strftime("%H:%M:%S", now), time.strftime("%H:%M:%S", now)),
        Field("No. Observations:", format_int(result.nobs), result.nobs),
    ]
    if result.n_dropped:
        left.append(Field("Dropped (missing):", format_int(result.n_dropped), result.n_dropped))
    left += [
        Field("Df Residuals:", format_int(result.df_resid), result.df_resid),
        Field("Df Model:", format_int(result.df_model), result.df_model),
        Field("Covariance Type:", result.cov_type, result.cov_type),
    ]
    right = [
        number_field(f"R-squared{uncentered}:", result.rsquared, "#8.3f"),
        number_field(f"Adj. R-squared{uncentered}:", result.rsquared_adj, "#8.3f"),
        number_field("F-statistic:", result.fvalue, "#8.4g"),
        number_field("Prob (F-statistic):", result.f_pvalue, "#6.3g"),
        number_field("Log-Likelihood:", result.llf, "#8.5g"),
        number_field("AIC:", result.aic, "#8.4g"),
        number_field("BIC:", result.bic, "#8.4g"),
    ]
    header = KeyValueBlock(tuple(left), tuple(right))

    ci = result.conf_int(alpha)
    coefficients = CoefTable(
        names=tuple(str(n) for n in result.params.index),
        columns=(
            coef_column("coef", result.params, format_coef),
            coef_column("std err", result.bse, format_stat),
            coef_column("t", result.tvalues, format_stat),
            coef_column("P>|t|", result.pvalues, format_pvalue),
            coef_column(f"[{alpha / 2}", ci["lower"], format_stat, min_width=11),
            coef_column(f"{1 - alpha / 2}]", ci["upper"], format_stat, min_width=11),
        ),
        unestimable=tuple(result.aliased),
    )

    if result.moments is None:  # a one-pass streamed fit: no residuals were seen
        return Summary.build(title, header, coefficients, None, _ols_notes(result))
    d = result.diagnostics
    diagnostics = KeyValueBlock(
        left=(
            number_field("Omnibus:", d.omnibus, "#6.3f"),
            number_field("Prob(Omnibus):", d.omnibus_pvalue, "#6.3f"),
            number_field("Skew:", d.skew, "#6.3f"),
            number_field("Kurtosis:", d.kurtosis, "#6.3f"),
        ),
        right=(
            number_field("Durbin-Watson:", d.durbin_watson, "#8.3f"),
            number_field("Jarque-Bera (JB):", d.jarque_bera, "#8.3f"),
            number_field("Prob(JB):", d.jarque_bera_pvalue, "#8.3g"),
            number_field("Cond. No.", d.condition_number, "#8.3g"),
        ),
    )
    return Summary.build(title, header, coefficients, diagnostics, _ols_notes(result))


_COV_NOTES = {
    "nonrobust": "Standard Errors assume that the covariance matrix of the errors is correctly "
    "specified.",
    **{
        hc: f"Standard Errors are heteroscedasticity robust ({hc})"
        for hc in ("HC0", "HC1", "HC2", "HC3")
    },
}


def _cov_note(result: OLSFit) -> str:
    """statsmodels' description of the covariance; HAC says how its lags were chosen."""
    kw = result.cov_kwds or {}
    if result.cov_type == "HAC":
        lags = kw["maxlags"]
        rule = " (the default floor(4 (n/100)^(2/9)))" if kw.get("maxlags_rule") else ""
        corr = "with" if kw["use_correction"] else "without"
        return (
            "Standard Errors are heteroscedasticity and autocorrelation robust (HAC) using "
            f"{lags} lags{rule} and {corr} small sample correction"
        )
    if result.cov_type == "cluster":
        groups = kw["groups"]
        sizes = " and ".join(str(len(g.unique())) for g in groups)
        return f"Standard Errors are robust to cluster correlation (cluster), {sizes} groups" + (
            " (two-way)" if len(groups) == 2 else ""
        )
    return _COV_NOTES[result.cov_type]


def _ols_notes(result: OLSFit) -> list[str]:
    """statsmodels' notes, then duolm's plain-word warnings about the fit."""
    notes = []
    if not result.k_constant:
        notes.append(
            "R² is computed without centering (uncentered) since the model does not "
            "contain a constant."
        )
    notes.append(_cov_note(result))

    cond = result.stat.condition_number()
    if cond > LARGE_CONDITION:
        note = (
            f"The condition number is large, {cond:.3g}: some columns of the design are "
            "nearly linear combinations of others (multicollinearity) or are on very "
            "different scales. The standard errors of the affected coefficients are large "
            "and the estimates are sensitive to small changes in the data. duolm refines "
            "its estimates, so the printed numbers themselves are accurate; the "
            "uncertainty comes from the data, not from rounding."
        )
        scaled = result.scaled_condition_number
        if scaled <= LARGE_CONDITION:
            note += (
                f" With every column scaled to unit length it is only {scaled:.3g}, so the "
                "large value is mostly a matter of units: centring or rescaling the "
                "regressors would lower it."
            )
        notes.append(note)

    if result.perfect_fit:
        notes.append(
            "Essentially perfect fit: the residuals are rounding errors (s = "
            f"{math.sqrt(result.scale):.3g}), so every standard error is zero up to rounding. "
            "A t or F statistic would divide rounding errors: it is shown as inf where the "
            "coefficient (or the model) is really there and as nan where it is rounding noise "
            "of zero, e.g. a slope fitted to a constant response."
        )

    if result.aliased:
        names = ", ".join(result.aliased)
        notes.append(
            f"Aliased column(s): {names}. Each is a linear combination of earlier columns, "
            "so its coefficient cannot be estimated; it is shown as NA and left out of the "
            "fit (the other coefficients are those of the model without it)."
        )

    if result.n_dropped:
        rows = "row" if result.n_dropped == 1 else "rows"
        notes.append(
            f"{result.n_dropped} {rows} with missing values dropped; the fit uses the "
            f"remaining {result.nobs}."
        )

    if result.moments is None:
        notes.append(
            "Residual diagnostics (Omnibus, Jarque-Bera, skew, kurtosis, Durbin-Watson) were "
            "not computed: this fit made one pass over the data. Fit with diagnostics=True "
            f"for the second pass. Cond. No. {cond:.3g}."
        )
        return notes
    d = result.diagnostics
    dw = d.durbin_watson
    if dw < DW_RANGE[0]:
        import re

        # suggest a quadratic term only to a model that has no curve yet
        curved = any(
            re.search(r"\*\*\s*[2-9]|\^\s*[2-9]|\b(poly|bs|cr|cs|cc)\(", term)
            for term in result.terms
        )
        missing = (
            "a trend the terms cannot follow (a higher degree, a spline, another input)"
            if curved
            else "a trend (e.g. a quadratic term)"
        )
        notes.append(
            f"The residuals are strongly positively autocorrelated (Durbin-Watson "
            f"{dw:.2f}, far below 2): the errors are not independent"
            + (
                ", which the HAC standard errors above allow for."
                if result.cov_type == "HAC"
                else f", so the standard errors and p values above are too optimistic. "
                f"{_autocorrelation_remedies(result)}"
            )
            + f" The model may also be missing {missing}: a relation it does not capture "
            "shows the same way."
        )
    elif dw > DW_RANGE[1]:
        notes.append(
            f"The residuals are strongly negatively autocorrelated (Durbin-Watson "
            f"{dw:.2f}, far above 2): consecutive residuals tend to alternate in sign, so "
            "the errors are not independent and the standard errors and p values cannot "
            "be trusted; this often comes from over-differenced data."
        )

    notes.extend(_heteroskedasticity_note(result))
    notes.extend(_vif_note(result))

    tests = []
    if d.omnibus_pvalue is not None and d.omnibus_pvalue < NORMALITY_ALPHA:
        tests.append(f"Omnibus p = {d.omnibus_pvalue:.3g}")
    if d.jarque_bera_pvalue < NORMALITY_ALPHA:
        tests.append(f"Jarque-Bera p = {d.jarque_bera_pvalue:.3g}")
    if tests:
        notes.append(
            f"The residuals do not look normal ({', '.join(tests)}; skew "
            f"{d.skew:.2f}, kurtosis {d.kurtosis:.2f}, 0 and 3 for normal errors): the t and "
            "F tests and the intervals assume normal errors, so with few observations "
            "their p values and coverage may be off, and prediction intervals may be "
            "wrong at any sample size. Look for outliers or a skewed response."
        )

    if d.omnibus is None and result.nobs >= OMNIBUS_MIN_NOBS:
        notes.append(
            "The fit is exact: every residual is 0, so the residual tests (Omnibus, "
            "Durbin-Watson) are undefined and shown as nan, and every standard error is 0."
            if result.ssr == 0
            else "Every residual is the same, so the Omnibus test is undefined (shown as nan)."
        )
    elif d.omnibus is None:
        notes.append(
            f"The Omnibus normality test needs at least 8 observations ({result.nobs} "
            "here), so it is shown as nan; Jarque-Bera is unreliable this small."
        )
    return notes


def _autocorrelation_remedies(result: OLSFit) -> str:
    """The calls that allow for autocorrelated errors, written out for this fit."""
    lags = core.default_maxlags(result.nobs)
    hac = (
        f'fit.with_cov_type("HAC", cov_kwds={{"maxlags": {lags}}}) ({lags} lags by the usual rule)'
    )
    if result.weighted:  # glsar fits unweighted rows
        return f"Remedy: Newey-West standard errors, {hac}."
    formula = result.spec.formula
    glsar = f"duolm.glsar({formula!r}, data, rho=1)" if formula else "duolm.glsar(X=X, y=y, rho=1)"
    return (
        f"Remedies: Newey-West standard errors, {hac}, or feasible GLS with AR(1) errors, {glsar}."
    )


def _heteroskedasticity_note(result: OLSFit) -> list[str]:
    """Koenker's Breusch-Pagan test, for in-memory fits whose standard errors assume a
    constant variance (robust covariances allow for a changing one)."""
    if (
        result.cov_type != "nonrobust"
        or result.weighted  # the weights are the model of the variance already
        or result.rows is None
        or result.const_col is None
        or result.df_model == 0
        or result.perfect_fit
    ):
        return []
    lm, pvalue, _ = koenker_lm(result)  # as fit.het_breuschpagan(), by the fit's factor
    if not pvalue < HETEROSKEDASTICITY_ALPHA:
        return []
    return [
        f"The variance of the errors changes with the regressors (Breusch-Pagan, Koenker's "
        f"form: LM = {lm:.3g}, p = {pvalue:.3g}), so the standard errors "
        'above are off: fit.with_cov_type("HC3") gives heteroskedasticity-robust ones.'
    ]


def _vif_note(result: OLSFit) -> list[str]:
    """The terms whose variance inflation factor exceeds :data:`LARGE_VIF`."""
    if result.df_model < 2 or result.weighted:  # vif() is for unweighted fits
        return []
    inflated = vif(result)
    large = inflated[inflated > LARGE_VIF].sort_values(ascending=False)
    if large.empty:
        return []
    terms = ", ".join(f"{name} ({value:.3g})" for name, value in large.items())
    return [
        f"Variance inflation factors above {LARGE_VIF:g}: {terms}. These terms are nearly "
        "linear combinations of the others, so their standard errors are inflated by the "
        "square root of the factor; dropping or combining some of them would steady the rest."
    ]
