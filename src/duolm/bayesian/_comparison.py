"""Model comparison, and one model read both ways.

:func:`duolm.compare` puts several models fitted to the same data side by side:
the frequentist criteria (R², adjusted R², AIC, BIC, from least squares) and
the Bayesian ones (log evidence, Bayes factors, posterior model
probabilities with equal prior probabilities). Each model may be given as
an :class:`~duolm.OLSResults`, a :class:`~duolm.BayesResults` or a
pair of both on the same design:

- a Bayesian fit's evidence is its own (under the prior it was fitted
  with); its least-squares criteria come from an OLS fit of the same design;
- a least-squares fit has no evidence until a prior is chosen: by default
  the unit-information Zellner g-prior ``NIG.zellner(X, g=n)`` (centred at 0,
  inverse gamma ``a = b = 0.001``), a common choice for comparing models
  because it scales with each design; pass ``prior=`` (a function of the
  least-squares fit returning an NIG) for another. The evidence is computed
  from the fit's square-root statistic, so streamed fits take part too.

Evidence, and so the Bayes factors, depend on the priors, much more than
the posteriors do: a flatter prior on the coefficients lowers the evidence
of every extra coefficient without bound (Lindley's paradox). Compare models
under priors built the same way, with the same prior on sigma^2.

:func:`side_by_side` shows one model's confidence intervals beside its
credible intervals, with what each means in words.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from duolm.bayesian._nig import NIG
from duolm.bayesian._results import BayesResults
from duolm.design import Design
from duolm.errors import DataError
from duolm.frequentist import OLSResults, solve_design

__all__ = [
    "COLUMNS",
    "Fit",
    "PriorFactory",
    "SideBySide",
    "compare_fits",
    "side_by_side",
    "unit_information_prior",
]

Fit = OLSResults | BayesResults | tuple[OLSResults, BayesResults]
PriorFactory = Callable[[OLSResults], NIG]

#: The columns of :func:`compare`, in order.
COLUMNS = (
    "nobs",
    "k",
    "rsquared",
    "rsquared_adj",
    "aic",
    "bic",
    "log_evidence",
    "bayes_factor",
    "posterior_prob",
    "prior",
)


def unit_information_prior(fit: OLSResults) -> NIG:
    """``NIG.zellner(X, g=n)`` for a least-squares fit: the default prior of :func:`compare`.

    Built from the fit's square-root statistic (``Rxx^T Rxx = X^T X``), so a
    streamed fit, which keeps no rows, has an evidence too.
    """
    return NIG.zellner(fit.stat.Rxx, g=float(fit.nobs))


def _evidence_fit(fit: OLSResults, prior: PriorFactory) -> BayesResults:
    """The Bayesian reading of a least-squares fit: its statistic updates the prior."""
    if fit.aliased:
        raise DataError(
            f"aliased column(s) {list(fit.aliased)}: drop them before comparing evidence "
            "(the prior needs one coefficient per estimable column)"
        )
    p = prior(fit)
    if not isinstance(p, NIG) or p.k != fit.rank:
        raise TypeError(f"prior(fit) must return an NIG with {fit.rank} coefficients")
    data = p.data_stat.merge(fit.stat)
    posterior = NIG.from_parts(p.prior_stat, p.nu0, data, p.label, fit.spec.terms)
    return BayesResults(spec=fit.spec, prior=p, posterior=posterior, design=None)


def _ols_of(design: Design) -> OLSResults:
    return OLSResults.from_fit(design, solve_design(design))


def _pair(fit: object, prior: PriorFactory) -> tuple[OLSResults, BayesResults]:
    if isinstance(fit, tuple) and len(fit) == 2:
        o, b = fit
        if not (isinstance(o, OLSResults) and isinstance(b, BayesResults)):
            raise TypeError("a pair must be (OLSResults, BayesResults)")
        if o.terms != b.terms or (b.design is not None and not _same_rows(o, _ols_of(b.design))):
            raise DataError("the pair's OLS and Bayesian fits differ in data or terms")
        return o, b
    if isinstance(fit, OLSResults):
        return fit, _evidence_fit(fit, prior)
    if isinstance(fit, BayesResults):
        if fit.design is None:
            raise DataError("a loaded Bayesian fit has no rows to compare; refit it on the data")
        return _ols_of(fit.design), fit
    raise TypeError(
        f"models must be OLSResults, BayesResults or (OLSResults, BayesResults), "
        f"got {type(fit).__name__}"
    )


def _same_rows(a: OLSResults, b: OLSResults) -> bool:
    """Same observations of y: equal values when both kept their rows, else equal moments."""
    if a.nobs != b.nobs:
        return False
    if a.rows is not None and b.rows is not None:
        return bool(np.array_equal(a.rows.y, b.rows.y))
    sa, sb = a.stat, b.stat
    return math.isclose(sa.y_mean, sb.y_mean, rel_tol=1e-12, abs_tol=1e-300) and math.isclose(
        sa.y_m2, sb.y_m2, rel_tol=1e-10, abs_tol=1e-300
    )


def _names(fits: tuple[object, ...]) -> list[str]:
    names: list[str] = []
    for i, fit in enumerate(fits, start=1):
        first = fit[0] if isinstance(fit, tuple) else fit
        spec = getattr(first, "spec", None)
        base = spec.formula if spec is not None and spec.formula else f"model {i}"
        name, j = base, 2
        while name in names:
            name, j = f"{base} ({j})", j + 1
        names.append(name)
    return names


def compare_fits(*fits: Fit | Mapping[str, Fit], prior: PriorFactory | None = None) -> pd.DataFrame:
    """The table of :func:`duolm.compare` for fitted models (see there)."""
    if len(fits) == 1 and isinstance(fits[0], Mapping):
        names = [str(name) for name in fits[0]]
        entries: tuple[object, ...] = tuple(fits[0].values())
    else:
        entries = fits
        names = _names(entries)
    if len(entries) < 1:
        raise ValueError("give at least one model")
    pairs = [_pair(fit, prior or unit_information_prior) for fit in entries]
    ref = pairs[0][0]
    for name, (o, _) in zip(names, pairs, strict=True):
        if not _same_rows(ref, o):
            raise DataError(
                f"models {names[0]!r} and {name!r} are not fitted to the same observations "
                f"({ref.nobs} and {o.nobs} rows, or different y values); evidence and "
                "information criteria compare models of the same data only"
            )
    rows = []
    for o, b in pairs:
        ok = o.df_resid > 0 and o.ssr > 0
        rows.append(
            {
                "nobs": o.nobs,
                "k": o.rank,
                "rsquared": o.rsquared if ok else math.nan,
                "rsquared_adj": o.rsquared_adj if ok else math.nan,
                "aic": o.aic if ok else math.nan,
                "bic": o.bic if ok else math.nan,
                "log_evidence": b.log_evidence,
                "prior": b.prior.label,
            }
        )
    table = pd.DataFrame(rows, index=pd.Index(names, name="model"))
    le = table["log_evidence"].to_numpy(dtype=np.float64)
    table["bayes_factor"] = np.exp(le - le.max())
    table["posterior_prob"] = np.exp(le - logsumexp(le))
    return table[list(COLUMNS)]


@dataclass(frozen=True, eq=False)
class SideBySide:
    """One model read both ways.

    Attributes
    ----------
    table : DataFrame
        Indexed by coefficient; columns ``ols_estimate, ols_lower, ols_upper,
        ols_width, bayes_estimate, bayes_lower, bayes_upper, bayes_width``.
    alpha : float
        Both intervals are at level ``1 - alpha``.
    frequentist, bayesian : str
        What each interval means, in words.
    """

    table: pd.DataFrame
    alpha: float
    frequentist: str
    bayesian: str

    def __str__(self) -> str:
        return "\n\n".join(
            [
                self.table.to_string(float_format=lambda x: f"{x:.6g}"),
                self.frequentist,
                self.bayesian,
            ]
        )

    def _repr_html_(self) -> str:
        words = "".join(f"<p>{html.escape(t)}</p>" for t in (self.frequentist, self.bayesian))
        return f'<div class="duolm-side-by-side">{self.table.to_html()}{words}</div>'


def side_by_side(ols_fit: OLSResults, bayes_fit: BayesResults, alpha: float = 0.05) -> SideBySide:
    """Confidence and credible intervals of the same model, with their interpretations.

    Parameters
    ----------
    ols_fit : OLSResults
    bayes_fit : BayesResults
        The same terms (and the same data, when the Bayesian fit kept its rows).
    alpha : float
        Significance level: both intervals have level ``1 - alpha``.

    Returns
    -------
    SideBySide
    """
    if ols_fit.terms != bayes_fit.terms:
        raise DataError(
            f"the fits have different terms: {list(ols_fit.terms)} and {list(bayes_fit.terms)}"
        )
    if bayes_fit.design is not None and not _same_rows(ols_fit, _ols_of(bayes_fit.design)):
        raise DataError("the fits are not of the same observations")
    ci = ols_fit.conf_int(alpha)
    cr = bayes_fit.credible_interval(alpha)
    table = pd.DataFrame(
        {
            "ols_estimate": ols_fit.params,
            "ols_lower": ci["lower"],
            "ols_upper": ci["upper"],
            "ols_width": ci["upper"] - ci["lower"],
            "bayes_estimate": bayes_fit.params,
            "bayes_lower": cr["lower"],
            "bayes_upper": cr["upper"],
            "bayes_width": cr["upper"] - cr["lower"],
        }
    )
    level = f"{1 - alpha:.4g}"
    name = next((t for t in ols_fit.terms if t != "Intercept"), ols_fit.terms[0])
    j = ols_fit.terms.index(name)
    lo, hi = ci["lower"].to_numpy()[j], ci["upper"].to_numpy()[j]
    blo, bhi = cr["lower"].to_numpy()[j], cr["upper"].to_numpy()[j]
    frequentist = (
        f"Frequentist: the coefficient is a fixed unknown number and the interval is random. "
        f"Intervals computed this way from repeated samples cover the true value in a "
        f"fraction {level} of samples. The interval [{lo:.4g}, {hi:.4g}] for {name} either "
        "covers it or not; no probability is attached to this one interval."
    )
    cov_type = str(getattr(ols_fit, "cov_type", "nonrobust"))
    agree = (
        "Under the reference prior the two intervals coincide numerically; only the reading "
        "differs."
        if cov_type == "nonrobust"
        else f"Under the reference prior the credible interval equals the classical "
        f"(nonrobust) confidence interval, not this {cov_type} one: the conjugate model "
        "assumes one error variance for every row, which a robust covariance does not."
    )
    bayesian = (
        f"Bayesian: the coefficient is fixed but unknown, and the posterior describes what we "
        f"know about it. Given these data and the prior ({bayes_fit.prior.label}), {name} lies "
        f"in [{blo:.4g}, {bhi:.4g}] with probability {level}. {agree}"
    )
    return SideBySide(table=table, alpha=float(alpha), frequentist=frequentist, bayesian=bayesian)
