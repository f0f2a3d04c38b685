"""The public Bayesian result: the numbers of :class:`BayesFit` and their printed forms.

The methods here only show what the base class computes: the posterior
table (:mod:`._summary`), a one-line ``repr`` and the HTML that Jupyter
displays.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from duolm._format import Summary
from duolm.bayesian._fit import BayesFit
from duolm.bayesian._summary import bayes_summary

__all__ = ["BayesResults"]


@dataclass(frozen=True, eq=False, repr=False)
class BayesResults(BayesFit):
    """A conjugate Bayesian fit: the prior, the posterior and what is read off them.

    Attributes
    ----------
    spec : DesignSpec
        How the design was built (term names, formula).
    prior : NIG
        The prior given to the fit.
    posterior : NIG
        The posterior after the fitted rows.
    design : Design or None
        The fitted rows (for ``predict()`` without data and model comparison);
        None for a fit loaded from a file.
    tau2 : float or None
        The prior scale chosen by ``bayes(..., prior="empirical")`` (``V_0 = tau^2 I``
        on the standardised slopes, the evidence's maximiser); None for any other prior.
    """

    def summary(self, alpha: float = 0.05) -> Summary:
        """Posterior table: mean, sd, credible interval, P(beta_j > 0), sigma^2, evidence."""
        return bayes_summary(self, alpha=alpha)

    def __repr__(self) -> str:
        model = self.spec.formula or f"{self.spec.response} on {len(self.terms)} columns"
        post = self.posterior
        return (
            f"<BayesResults {model!r}: {self.nobs} rows, {post.k} coefficients, posterior "
            f"NIG(a={post.a:.6g}, b={post.b:.6g}) from prior {self.prior.label}>"
        )

    def _repr_html_(self) -> str:
        caption = f"<p><code>{html.escape(repr(self))}</code></p>"
        return caption + self.summary().as_html()
