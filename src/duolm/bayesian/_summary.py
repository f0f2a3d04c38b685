"""The printed summary of a Bayesian fit (presentation only, no statistics).

Uses the generic blocks of :mod:`duolm._format`: a header with the model,
the prior and the sigma^2 estimates, then one row per coefficient with the
posterior mean, sd, equal-tailed credible interval and ``P(beta_j > 0)``.
Quantities that do not exist for this posterior (the sd when a <= 1, the
mean of sigma^2 when a <= 1, its sd when a <= 2, the evidence of an improper
prior) print as ``nan`` with a note saying why; nothing is estimated here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from duolm._checks import check_alpha
from duolm._format import (
    CoefTable,
    Field,
    KeyValueBlock,
    Summary,
    coef_column,
    format_coef,
    format_int,
    format_stat,
    number_field,
)
from duolm.bayesian._fit import BayesFit
from duolm.errors import PriorError

__all__ = ["bayes_summary"]


def _try(get: Callable[[], float], why: list[str]) -> float:
    """The value, or NaN with the reason (capitalised) added to ``why``."""
    try:
        return float(get())
    except PriorError as exc:
        text = str(exc)
        why.append(text[:1].upper() + text[1:] + ".")
        return math.nan


def bayes_summary(result: BayesFit, alpha: float = 0.05) -> Summary:
    """Summary of a :class:`~duolm.BayesResults` (text via ``str()``, HTML in notebooks).

    Parameters
    ----------
    result : BayesResults
    alpha : float
        The printed credible intervals hold posterior probability ``1 - alpha``.

    Returns
    -------
    Summary
    """
    alpha = check_alpha(alpha)
    post = result.posterior
    missing: list[str] = []
    sigma2_mean = _try(lambda: result.sigma2_mean, missing)
    sigma2_sd = _try(lambda: math.sqrt(result.sigma2_var), missing)
    evidence = _try(lambda: result.log_evidence, missing)
    left = (
        Field("Dep. Variable:", result.spec.response, result.spec.response),
        Field("Model:", "Normal-inverse-gamma", "NIG"),
        Field("Prior:", result.prior.label, result.prior.label),
        *((number_field("Empirical tau2:", result.tau2),) if result.tau2 is not None else ()),
        Field("No. Observations:", format_int(result.nobs), result.nobs),
        number_field("Df (2a):", result.df),
        number_field("Log evidence:", evidence),
    )
    right = (
        number_field("a:", post.a),
        number_field("b:", post.b),
        number_field("E[sigma2]:", sigma2_mean),
        number_field("Mode sigma2:", result.sigma2_mode),
        number_field("Median sigma2:", result.sigma2_median),
        number_field("sd(sigma2):", sigma2_sd),
    )
    ci = result.credible_interval(alpha)
    sd_ok = not math.isnan(_try(lambda: float(result.bse.iloc[0]), missing))
    bse = result.bse.tolist() if sd_ok else [math.nan] * post.k
    table = CoefTable(
        names=result.terms,
        columns=(
            coef_column("mean", result.params, format_coef),
            coef_column("sd", bse, format_stat),
            coef_column(f"[{alpha / 2:g}", ci["lower"], format_stat, min_width=11),
            coef_column(f"{1 - alpha / 2:g}]", ci["upper"], format_stat, min_width=11),
            coef_column("P(>0)", result.prob_positive, format_stat),
        ),
    )
    notes = [
        f"Credible intervals: given the data and the prior, each coefficient lies in its "
        f"interval with probability {1 - alpha:g} (Student t marginal, {result.df:g} dof).",
        "The posterior mean of each coefficient is also its mode and median.",
        *dict.fromkeys(missing),
    ]
    return Summary.build(
        "Bayesian Regression Results", KeyValueBlock(left, right), table, None, notes
    )
