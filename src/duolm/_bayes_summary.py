"""The printed summary of a Bayesian fit (presentation only, no statistics).

Uses the generic blocks of :mod:`duolm.summary`: a header with the model,
the prior and the sigma^2 estimates, then one row per coefficient with the
posterior mean, sd, equal-tailed credible interval and ``P(beta_j > 0)``.
Quantities that do not exist for this posterior (the sd when a <= 1, the
mean of sigma^2 when a <= 1, its sd when a <= 2, the evidence of an improper
prior) print as ``nan`` with a note saying why; nothing is estimated here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from duolm.errors import PriorError
from duolm.summary import CoefColumn, CoefTable, Field, KeyValueBlock, Summary, format_fixed

if TYPE_CHECKING:
    from duolm.bayes import BayesResults

__all__ = ["bayes_summary"]


def _try(get: Callable[[], float], why: list[str]) -> float:
    """The value, or NaN with the reason (capitalised) added to ``why``."""
    try:
        return float(get())
    except PriorError as exc:
        text = str(exc)
        why.append(text[:1].upper() + text[1:] + ".")
        return math.nan


def _num(label: str, value: float, spec: str = "#8.4g") -> Field:
    return Field(label, format(value, spec), value)


def bayes_summary(result: BayesResults, alpha: float = 0.05) -> Summary:
    """Summary of a :class:`~duolm.bayes.BayesResults` (text via ``str()``, HTML in notebooks).

    Parameters
    ----------
    result : BayesResults
    alpha : float
        The printed credible intervals hold posterior probability ``1 - alpha``.

    Returns
    -------
    Summary
    """
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha is a significance level in (0, 1), got {alpha}")
    post = result.posterior
    missing: list[str] = []
    sigma2_mean = _try(lambda: result.sigma2_mean, missing)
    sigma2_sd = _try(lambda: math.sqrt(result.sigma2_var), missing)
    evidence = _try(lambda: result.log_evidence, missing)
    left = (
        Field("Dep. Variable:", result.spec.response, result.spec.response),
        Field("Model:", "Normal-inverse-gamma", "NIG"),
        Field("Prior:", result.prior.label, result.prior.label),
        Field("No. Observations:", f"{result.nobs:#6d}", result.nobs),
        _num("Df (2a):", result.df),
        _num("Log evidence:", evidence),
    )
    right = (
        _num("a:", post.a),
        _num("b:", post.b),
        _num("E[sigma2]:", sigma2_mean),
        _num("Mode sigma2:", result.sigma2_mode),
        _num("Median sigma2:", result.sigma2_median),
        _num("sd(sigma2):", sigma2_sd),
    )
    ci = result.credible_interval(alpha)
    sd_ok = not math.isnan(_try(lambda: float(result.bse.iloc[0]), missing))
    bse = result.bse.tolist() if sd_ok else [math.nan] * post.k

    def col(header: str, values: list[float], prec: int = 3, width: int = 10) -> CoefColumn:
        return CoefColumn(header, tuple(values), lambda x: format_fixed(x, prec=prec), width)

    table = CoefTable(
        names=result.terms,
        columns=(
            col("mean", result.params.tolist(), prec=4),
            col("sd", bse),
            col(f"[{alpha / 2:g}", ci["lower"].tolist(), width=11),
            col(f"{1 - alpha / 2:g}]", ci["upper"].tolist(), width=11),
            col("P(>0)", result.prob_positive.tolist()),
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
