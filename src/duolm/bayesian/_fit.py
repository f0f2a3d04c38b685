"""The Bayesian reading: fit a linear model by the exact conjugate update.

:func:`bayes` builds the design (formula, arrays or streamed data, as
:func:`duolm.ols`), updates the prior with every row and returns a
:class:`BayesResults`: the prior, the posterior and what is read off them
(posterior mean and sd of beta, credible intervals, ``P(beta_j > 0)``, the
marginals of beta and sigma^2, joint samples, posterior predictions and the
log evidence). :func:`default_prior` is the prior used when none is given,
:func:`checked_prior` the one check of a prior against a design.

The distribution itself, :class:`~duolm.NIG` (prior and posterior, its
constructors, update, merge, forget and the evidence), lives in
:mod:`duolm.bayesian._nig`.

A result whose quantity does not exist for its posterior (the sd of beta for
``a <= 1``, the variance of sigma^2 for ``a <= 2``) raises
:class:`~duolm.errors.PriorError` naming the condition, never NaN.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Self

import numpy as np
import pandas as pd
import scipy.linalg as sla
from numpy.typing import NDArray
from scipy import stats

from duolm import core
from duolm._checks import check_alpha
from duolm.bayesian._nig import NIG, log_evidence_between, refined_update
from duolm.bayesian._ppc import PPCResult, posterior_predictive_check
from duolm.design import Design, DesignSpec, new_weights
from duolm.errors import DataError, PriorError

__all__ = ["BayesFit", "check_prior_type", "checked_prior", "default_prior"]

FloatArray = NDArray[np.float64]


def default_prior(k: int) -> NIG:
    """The prior :func:`bayes` uses when none is given: ``NIG.vague(k)``."""
    return NIG.vague(k)


def check_prior_type(prior: object) -> NIG | None:
    """``prior`` when it is an :class:`NIG` or None (the default), checked before any data are
    read; its dimension is checked against the design by :func:`checked_prior`."""
    if prior is not None and not isinstance(prior, NIG):
        raise TypeError(f"prior must be an NIG, got {type(prior).__name__}")
    return prior


def checked_prior(prior: NIG | None, spec: DesignSpec) -> NIG:
    """The prior for a design: :func:`default_prior` when None, else ``prior`` checked.

    Raises
    ------
    TypeError
        ``prior`` is not an :class:`NIG`.
    PriorError
        Its number of coefficients differs from the design's columns.
    """
    k = len(spec.terms)
    prior = check_prior_type(prior) or default_prior(k)
    if prior.terms is not None and prior.terms != spec.terms:
        raise PriorError(
            f"the prior is the posterior of a model with coefficients {list(prior.terms)}, "
            f"but this design has {list(spec.terms)}: beliefs about other coefficients "
            "cannot be reused (prior.named(None) drops the names, if they are the same "
            "coefficients under other names)"
        )
    if prior.k != k:
        raise PriorError(
            f"the prior has {prior.k} coefficient(s) but the design has {k} columns "
            f"{list(spec.terms)}"
        )
    return prior


@dataclass(frozen=True, eq=False)
class BayesFit:
    """The numbers of a conjugate fit; :class:`~duolm.BayesResults` adds its printed forms.

    See :class:`~duolm.BayesResults` for the attributes.
    """

    spec: DesignSpec
    prior: NIG
    posterior: NIG
    design: Design | None = None
    weight_sums: core.WeightSums | None = None
    tau2: float | None = None

    @classmethod
    def from_posterior(
        cls,
        spec: DesignSpec,
        prior: NIG,
        posterior: NIG,
        design: Design | None = None,
        weights: core.WeightSums | None = None,
    ) -> Self:
        """The result of a fit whose posterior is at hand; an improper posterior is refused.

        Raises
        ------
        DataError
            The posterior is improper (the reference prior with too few rows of
            full column rank).
        """
        posterior.data_stat.check_response_range()  # b_t would lose the data's ryy²
        improper = DataError(
            f"the posterior is improper (a = {posterior.a:g}, V^-1 "
            f"{'regular' if posterior.beta_proper else 'singular'}): under the reference prior "
            f"the design needs more than {prior.k} rows of full column rank"
        )
        if posterior.a <= 0 or not posterior.beta_proper:
            raise improper
        data = posterior.data_stat
        if prior.b == 0.0 and posterior.b <= core.PERFECT_FIT * data.uncentered_tss:
            # enough rows, but the prior says nothing of sigma² and the residuals are rounding
            raise DataError(
                "the fit is exact (the residuals are rounding errors): under a prior with "
                f"b = 0 (here {prior.label!r}) the posterior of sigma² has b = 0 and is "
                "improper; give a prior with b > 0 (NIG.vague, an informative NIG)"
            )
        if not posterior.is_proper:
            raise improper
        return cls(spec=spec, prior=prior, posterior=posterior, design=design, weight_sums=weights)

    @classmethod
    def from_design(cls, design: Design, prior: NIG | None) -> Self:
        """Update ``prior`` (checked against the design) with the rows of ``design``.

        Weighted rows (``design.weights``, known relative precisions,
        ``y_i ~ N(x_i' beta, sigma^2 / w_i)``) update it scaled by ``sqrt(w)``:
        the exact NIG posterior of that likelihood.
        """
        prior = checked_prior(prior, design.spec)
        if design.weights is None:
            posterior = refined_update(
                prior, design.matrix, design.y, design.const_col, design.gram
            )
            posterior = posterior.named(design.spec.terms)
            return cls.from_posterior(design.spec, prior, posterior, design)
        X, y = core.scale_rows(design.X, design.y, design.weights)
        posterior = refined_update(prior, X, y).named(design.spec.terms)
        sums = core.WeightSums.of(design.weights, design.y)
        return cls.from_posterior(design.spec, prior, posterior, design, sums)

    @classmethod
    def from_state(
        cls,
        spec: DesignSpec,
        stat: core.SqrtStat,
        prior: NIG | None,
        weights: core.WeightSums | None = None,
    ) -> Self:
        """The posterior of ``prior`` and a data statistic (the prior counted once).

        ``weights``: the sums of the weights when ``stat`` is that of weighted rows
        scaled by ``sqrt(w)`` (for the evidence of the unscaled ``y``).
        """
        prior = checked_prior(prior, spec)
        data = prior.data_stat.merge(stat)
        posterior = NIG.from_parts(prior.prior_stat, prior.nu0, data, prior.label, spec.terms)
        return cls.from_posterior(spec, prior, posterior, weights=weights)

    @property
    def weighted(self) -> bool:
        """Fitted to weighted rows (known relative precisions ``w``)."""
        return self.weight_sums is not None

    @property
    def terms(self) -> tuple[str, ...]:
        """Coefficient names."""
        return self.spec.terms

    @property
    def nobs(self) -> int:
        """Number of observations fitted."""
        return round(self.posterior.nobs - self.prior.nobs)

    @property
    def df(self) -> float:
        """Degrees of freedom ``2a`` of the t marginals and predictive."""
        return 2.0 * self.posterior.a

    def _series(self, values: FloatArray, name: str) -> pd.Series:
        return pd.Series(values, index=list(self.terms), name=name)

    # -- beta ---------------------------------------------------------------------
    @cached_property
    def params(self) -> pd.Series:
        """Posterior mean of beta (also its mode and median), ``m``."""
        return self._series(self.posterior.m, "params")

    @property
    def beta_mean(self) -> pd.Series:
        """Posterior mean of beta: ``m``."""
        return self.params

    @property
    def beta_mode(self) -> pd.Series:
        """Mode (MAP) of the beta marginal: ``m``."""
        return self.params

    @property
    def beta_median(self) -> pd.Series:
        """Median of each coefficient's marginal: ``m``."""
        return self.params

    @cached_property
    def _tscale(self) -> FloatArray:
        post = self.posterior
        post._need_proper("the beta marginal")
        out: FloatArray = np.sqrt(post.b / post.a * np.diag(post.V))
        return out

    @cached_property
    def bse(self) -> pd.Series:
        """Posterior sd of beta, ``sqrt(b/(a-1) diag V)``; needs a > 1.

        Under the reference prior this is the OLS standard error times
        ``sqrt(df / (df - 2))``, the sd of a t with ``df = n - k``; the
        intervals use the t scale, which is the OLS standard error.
        """
        post = self.posterior
        post._need_a(1.0, "the posterior sd of beta")
        return self._series(np.sqrt(post.b / (post.a - 1.0) * np.diag(post.V)), "bse")

    def cov_params(self) -> pd.DataFrame:
        """Posterior covariance of beta, ``b/(a-1) V``; needs a > 1."""
        post = self.posterior
        post._need_a(1.0, "the posterior covariance of beta")
        names = list(self.terms)
        return pd.DataFrame(post.b / (post.a - 1.0) * post.V, index=names, columns=names)

    def credible_interval(self, alpha: float = 0.05) -> pd.DataFrame:
        """Equal-tailed intervals of posterior probability ``1 - alpha``: ``lower``, ``upper``.

        From the Student t marginal, ``2a`` dof, scale ``sqrt(b/a V_jj)``.
        """
        q = stats.t.isf(check_alpha(alpha) / 2.0, self.df)
        half = q * self._tscale
        m = self.posterior.m
        return pd.DataFrame({"lower": m - half, "upper": m + half}, index=list(self.terms))

    @cached_property
    def prob_positive(self) -> pd.Series:
        """Posterior probability ``P(beta_j > 0 | data)``."""
        p = stats.t.sf(-self.posterior.m / self._tscale, self.df)
        return self._series(p, "prob_positive")

    def beta_marginal(self) -> stats._multivariate.multivariate_t_frozen:
        """Marginal of beta: multivariate t, ``2a`` dof, location m, shape ``(b/a) V``."""
        post = self.posterior
        post._need_proper("the beta marginal")
        shape = post.b / post.a * post.V
        # scipy takes real degrees of freedom; its stubs say int.
        return stats.multivariate_t(loc=post.m, shape=shape, df=self.df)  # type: ignore[arg-type]

    def coef_marginal(self, name: str) -> stats.distributions.rv_frozen:
        """Marginal of one coefficient: t, ``2a`` dof, ``m_j``, scale ``sqrt(b/a V_jj)``."""
        if name not in self.terms:
            raise KeyError(f"no coefficient {name!r}; the terms are {list(self.terms)}")
        j = self.terms.index(name)
        return stats.t(df=self.df, loc=self.posterior.m[j], scale=self._tscale[j])

    # -- sigma^2 ------------------------------------------------------------------
    def sigma2_marginal(self) -> stats.distributions.rv_frozen:
        """Marginal of sigma^2: inverse gamma ``(a, scale=b)``."""
        self.posterior._need_proper("the sigma^2 marginal")
        return stats.invgamma(self.posterior.a, scale=self.posterior.b)

    @cached_property
    def sigma2_mean(self) -> float:
        """Posterior mean of sigma^2, ``b/(a-1)``; needs a > 1."""
        self.posterior._need_a(1.0, "the posterior mean of sigma^2")
        return self.posterior.b / (self.posterior.a - 1.0)

    @cached_property
    def sigma2_mode(self) -> float:
        """Mode of the sigma^2 marginal, ``b/(a+1)``."""
        self.posterior._need_proper("the mode of sigma^2")
        return self.posterior.b / (self.posterior.a + 1.0)

    @cached_property
    def sigma2_median(self) -> float:
        """Median of the sigma^2 marginal (inverse gamma)."""
        return float(self.sigma2_marginal().median())

    @cached_property
    def sigma2_var(self) -> float:
        """Posterior variance of sigma^2, ``b^2/((a-1)^2 (a-2))``; needs a > 2."""
        post = self.posterior
        post._need_a(2.0, "the posterior variance of sigma^2")
        return post.b**2 / ((post.a - 1.0) ** 2 * (post.a - 2.0))

    # -- joint samples ------------------------------------------------------------
    def sample(self, size: int, rng: np.random.Generator | int | None = None) -> pd.DataFrame:
        """Independent draws from the joint posterior.

        ``sigma^2 ~ iG(a, b)``, then ``beta | sigma^2 ~ N(m, sigma^2 V)`` as
        ``m + sigma Rxx^-1 z``. Returns a frame of shape (size, k + 1): one
        column per coefficient, then ``sigma2``.
        """
        post = self.posterior
        post._need_proper("posterior sampling")
        gen = np.random.default_rng(rng)
        sigma2 = post.b / gen.gamma(post.a, 1.0, size=size)
        z = gen.standard_normal((size, self.posterior.k))
        dev = sla.solve_triangular(post.stat.Rxx, z.T).T
        beta = post.m + np.sqrt(sigma2)[:, None] * dev
        out = pd.DataFrame(beta, columns=list(self.terms))
        out["sigma2"] = sigma2
        return out

    def ppc(
        self,
        stat: str | Callable[[FloatArray, FloatArray, FloatArray], float],
        draws: int = 1000,
        seed: int | None = None,
    ) -> PPCResult:
        """Posterior predictive check of the fitted rows (Gelman, Meng & Stern 1996).

        Parameters
        ----------
        stat : str or callable
            ``"max"``, ``"min"``, ``"mean"``, ``"sd"`` (of y), ``"skew"``,
            ``"kurtosis"``, ``"durbin_watson"`` (of the residuals), or a function
            of ``(X, y, resid)`` returning a float.
        draws : int
            Posterior draws, one replicate each.
        seed : int, optional
            Seed of the draws.

        Returns
        -------
        PPCResult
            ``observed`` and ``replicated`` statistics per draw, and ``p_value``
            (see :mod:`duolm.bayesian._ppc`).
        """
        if self.weighted:
            raise DataError(
                "ppc() replicates rows of equal variance; this fit is weighted (the rows' "
                "variances are sigma^2 / w), which it does not replicate"
            )
        return posterior_predictive_check(self, stat, draws, seed)

    # -- prediction ---------------------------------------------------------------
    def _rows(self, data: object) -> tuple[FloatArray, pd.Index]:
        if data is None:
            if self.design is None:
                raise DataError("the fitted rows were not kept (a loaded fit): pass data")
            return self.design.X, self.design.index
        X0 = self.spec.build_x(data)
        index = data.index if isinstance(data, pd.DataFrame) else pd.RangeIndex(len(X0))
        return X0, index

    def predict(
        self, data: object = None, alpha: float = 0.05, weights: object = None
    ) -> pd.DataFrame:
        """Posterior predictions: the credible band of the mean and the predictive interval.

        Parameters
        ----------
        data : optional
            New data in the form the fit was given (a frame for formula fits,
            rows of X for array fits); None predicts the fitted rows.
        alpha : float
            Intervals hold posterior probability ``1 - alpha``.
        weights : array_like of shape (m,), str or float, optional
            Known relative precisions of the new observations, ``y ~ N(x'beta,
            sigma^2 / w)``: the predictive scale^2 is ``(b/a)(1/w + x^T V x)``.
            One weight per row, a column of ``data``, or one number. Default:
            the fit's weights for the fitted rows, 1 for new rows.

        Returns
        -------
        DataFrame
            ``mean`` (``x^T m``); ``mean_se``, the posterior sd of ``x^T beta``,
            ``sqrt(b/(a-1) x^T V x)`` (inf for 1/2 < a <= 1, where the variance
            is infinite); ``mean_ci_lower/upper`` from the t with scale^2
            ``(b/a) x^T V x``; ``obs_ci_lower/upper`` from the predictive t with
            scale^2 ``(b/a)(1/w + x^T V x)``. All with ``2a`` dof.
        """
        alpha = check_alpha(alpha)
        post = self.posterior
        post._need_a(0.5, "the posterior mean of x'beta")
        X0, index = self._rows(data)
        if data is None and weights is None and self.design is not None:
            weights = self.design.weights
        w0 = new_weights(weights, data, len(X0), index)
        mean = X0 @ post.m
        h = post.quad(X0)
        mean_se = np.sqrt(post.b / (post.a - 1.0) * h) if post.a > 1 else np.full(len(h), np.inf)
        q = stats.t.isf(alpha / 2.0, self.df)
        band = q * np.sqrt(post.b / post.a * h)
        obs = q * np.sqrt(post.b / post.a * (1.0 / w0 + h))
        return pd.DataFrame(
            {
                "mean": mean,
                "mean_se": mean_se,
                "mean_ci_lower": mean - band,
                "mean_ci_upper": mean + band,
                "obs_ci_lower": mean - obs,
                "obs_ci_upper": mean + obs,
            },
            index=index,
        )

    def predictive_logpdf(self, data: object, weights: object = None) -> pd.Series:
        """Log density of new observations under the posterior predictive, one per row.

        ``data`` holds the response too: a frame for formula fits, a pair
        ``(X, y)`` for array fits. Rows with missing values are refused.
        ``weights``: the new observations' relative precisions, as for
        :meth:`predict` (default 1): ``y ~ t(x^T m, (b/a)(1/w + x^T V x))``,
        the density of the scaled row times ``sqrt(w)``.
        """
        # the design's columns only: the new rows' weights come from ``weights``
        X0, y0, dropped = dataclasses.replace(self.spec, carry=()).build_xy(data)
        if dropped:
            raise DataError(f"{dropped} row(s) have missing values; the density needs them all")
        index = data.index if isinstance(data, pd.DataFrame) else pd.RangeIndex(len(y0))
        w0 = new_weights(weights, data, len(y0), index)
        Xs, ys = core.scale_rows(X0, y0, w0)
        logpdf = self.posterior.predictive_logpdf(Xs, ys) + 0.5 * np.log(w0)
        return pd.Series(logpdf, index=index, name="logpdf")

    # -- evidence and summary -----------------------------------------------------
    @cached_property
    def log_evidence(self) -> float:
        """Log marginal likelihood ``log p(y | X)`` of the fitted rows under the prior.

        Weighted: of the unscaled ``y`` (``var(y_i) = sigma^2 / w_i``), the scaled
        rows' evidence plus the Jacobian ``0.5 sum log w``.
        """
        jacobian = 0.0 if self.weight_sums is None else 0.5 * self.weight_sums.log_total
        return log_evidence_between(self.prior, self.posterior) + jacobian
