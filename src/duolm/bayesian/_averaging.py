"""Bayesian model averaging over every subset of the terms, from the square-root statistic.

The priors are those of Liang, Paulo, Molina, Clyde & Berger (2008), "Mixtures
of g priors for Bayesian variable selection", JASA 103:410-423 (LPMCB below):
a flat prior on the intercept, Zellner's g-prior on the slopes of the centred
design, ``beta_gamma | sigma^2, g ~ N(0, g sigma^2 (X_gamma^T X_gamma)^-1)``,
and ``p(sigma^2) ∝ 1/sigma^2``. Model ``gamma`` with ``p`` slopes and
coefficient of determination ``R^2`` then has the Bayes factor against the
intercept-only model (LPMCB eq. 5)

    BF(g) = (1 + g)^((n-1-p)/2) (1 + g (1 - R^2))^(-(n-1)/2),

and everything else follows from ``t = g/(1+g)`` (the shrinkage factor):
given ``g`` the slopes are multivariate t with ``n - 1`` degrees of freedom,
location ``t beta_hat`` and scale matrix ``S_g t (X^T X)^-1`` with
``S_g = TSS (1 - t R^2) / (n - 1)``; the intercept of the centred design is t
with location ``ybar`` and scale ``S_g / n``, independent of the slopes
(LPMCB section 2; Bayarri et al. 2012 for the same algebra).

The ``R^2`` of every model comes from the triangular factor of the centred
design, obtained once from the statistic of ``[X y]`` (the intercept column
factored first: the rows below it are the factor of the centred columns), and
then updated one column at a time along a Gray code (:mod:`duolm.core._subsets`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

import duolm.bayesian._averaging_kernel as _kern
from duolm.bayesian._mixture_quantile import mixture_quantiles
from duolm.core import ALIAS_TOL, PERFECT_FIT, CentredFactor, SqrtStat
from duolm.errors import DataError, PriorError

__all__ = ["MAX_ENUMERATE", "BMAResults", "ModelPrior", "Prior", "average"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

Prior = Literal["g-prior", "hyper-g", "hyper-g/n", "zellner-siow", "eb-local"]
ModelPrior = Literal["uniform", "beta-binomial"]

PRIORS: dict[str, int] = {
    "g-prior": _kern.G_PRIOR,
    "hyper-g": _kern.HYPER_G,
    "hyper-g/n": _kern.HYPER_G_N,
    "zellner-siow": _kern.ZELLNER_SIOW,
    "eb-local": _kern.EB_LOCAL,
}
MODEL_PRIORS: dict[str, int] = {"uniform": 0, "beta-binomial": 1}

#: The hyper-g and hyper-g/n priors' ``a`` (LPMCB recommend 2 < a <= 4; BAS's default).
HYPER_A = 3.0

#: Default widest set of free terms enumerated (2**20 ~ 10^6 models); beyond it, MC3.
MAX_ENUMERATE = 20

#: Coefficient and predictive mixtures are taken over the best models that
#: carry all but this much of the posterior probability (their CDFs, means and
#: variances are then off by at most this much, relatively).
MASS_LEFT_OUT = 1e-12

#: A model whose residual norm is below this fraction of the centred y's norm fits exactly.
_EXACT_FIT = 1e-13


# ------------------------------------------------------------------ results


@dataclass(frozen=True, eq=False, repr=False)
class BMAResults:
    """Bayesian model averaging over subsets of the terms (LPMCB 2008 priors).

    Attributes
    ----------
    terms : tuple of str
        All terms of the design, in its column order (the intercept included).
    prior, model_prior : str
        The prior on the slopes (``"g-prior"``, ``"hyper-g"``, ...) and on the models.
    g : float or None
        The fixed g of ``"g-prior"``.
    sampled : bool
        True when the models were visited by MC3 rather than enumerated: the
        probabilities are then renormalised over the models visited.
    iterations : int
        MC3 iterations (0 when enumerated).
    visits : ndarray of shape (n_models,)
        Iterations the chain spent in each model (best first; ones when enumerated).
    """

    terms: tuple[str, ...]
    const_col: int
    forced: tuple[int, ...]
    free: tuple[int, ...]
    prior: str
    g: float | None
    model_prior: str
    factor: CentredFactor
    indicators_: BoolArray  # (n_models, q) free terms in, best first
    log_evidence_: FloatArray
    log_prior_: FloatArray
    u_: FloatArray  # 1 - R^2
    et_: FloatArray
    et2_: FloatArray
    sampled: bool
    iterations: int
    visits: NDArray[np.int64]
    walk_index_: NDArray[np.int64] | None = field(default=None, repr=False)
    spec: Any = field(default=None, repr=False)

    # -- models ------------------------------------------------------------------
    @property
    def nobs(self) -> float:
        """Number of observations."""
        return self.factor.nobs

    @property
    def n_models(self) -> int:
        """Models enumerated, or distinct models visited by MC3."""
        return int(self.indicators_.shape[0])

    @cached_property
    def probability(self) -> FloatArray:
        """Posterior probability of each model (best first)."""
        lp = self.log_evidence_ + self.log_prior_
        top = np.max(lp)
        w = np.exp(lp - top)
        out: FloatArray = w / np.sum(w)
        return out

    def _included(self, i: int) -> NDArray[np.intp]:
        """Columns of the centred factor in model ``i``: the forced, then the free ones in it."""
        f = self.factor.f
        free = f + np.flatnonzero(self.indicators_[i])
        return np.concatenate([np.arange(f), free]).astype(np.intp)

    @cached_property
    def indicators(self) -> pd.DataFrame:
        """Which terms each model holds: a bool frame, one row per model (best first)."""
        K = len(self.terms)
        M = np.zeros((self.n_models, K), dtype=bool)
        M[:, self.const_col] = True
        M[:, list(self.forced)] = True
        M[:, list(self.free)] = self.indicators_
        return pd.DataFrame(M, columns=list(self.terms))

    @cached_property
    def models(self) -> pd.DataFrame:
        """One row per model, best first: ``terms`` (tuple of the included terms),
        ``log_evidence`` (natural log of the Bayes factor against the
        intercept-only model), ``probability``, ``rsquared``, ``k`` (coefficients,
        the intercept included)."""
        ind = self.indicators.to_numpy()
        names = np.array(self.terms, dtype=object)
        terms = [tuple(names[row].tolist()) for row in ind]
        return pd.DataFrame(
            {
                "terms": terms,
                "log_evidence": self.log_evidence_,
                "probability": self.probability,
                "rsquared": 1.0 - self.u_,
                "k": ind.sum(axis=1).astype(np.int64),
            }
        )

    @cached_property
    def log_posterior_odds(self) -> pd.Series:
        """Log posterior odds of each model against the best one (0 first, then <= 0).

        From the log evidences and log model priors, so they stay finite where
        the probabilities underflow to zero (``-inf`` only for excluded models).
        """
        lp = self.log_evidence_ + self.log_prior_
        return pd.Series(lp - lp[0], name="log_posterior_odds")

    def best(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` most probable models (rows of :attr:`models`)."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        return self.models.head(int(n))

    @cached_property
    def inclusion_probabilities(self) -> pd.Series:
        """Posterior probability that each term's coefficient is nonzero."""
        p = self.probability @ self.indicators.to_numpy(dtype=np.float64)
        p[[self.const_col, *self.forced]] = 1.0  # in every model: exactly 1, not a rounded sum
        return pd.Series(p, index=list(self.terms), name="inclusion_probability")

    # -- mixtures -------------------------------------------------------------------
    @cached_property
    def _mixture(self) -> _Mixture:
        return _Mixture.build(self)

    @cached_property
    def _moments(self) -> tuple[FloatArray, FloatArray]:
        """Mean and sd of every coefficient's model-averaged posterior (term order).

        Enumerated models are walked again in Gray-code order by a compiled
        kernel that adds each model's moments (every model, from E[t] and
        E[t^2] of its posterior of g); sampled ones are few, and their
        components (:class:`_Mixture`) give the same sums.
        """
        if self.walk_index_ is None:
            return self._mixture.moments
        fac = self.factor
        P = fac.P
        N = self.walk_index_.size
        w, et, et2, u = (np.zeros(N) for _ in range(4))
        idx = self.walk_index_
        w[idx], et[idx], et2[idx], u[idx] = self.probability, self.et_, self.et2_, self.u_
        # the shift: the best model's posterior means
        c = np.zeros(P + 1)
        act = self._included(0)
        b, _, _ = fac.model(act)
        c[act] = self.et_[0] * b
        c[P] = fac.y_mean - self.et_[0] * float(fac.x_mean[act] @ b)
        acc_d, acc_2 = np.zeros(P + 1), np.zeros(P + 1)
        _kern.kernels()["moment_walk"](
            fac.Rc,
            fac.f,
            len(self.free),
            w,
            et,
            et2,
            u,
            fac.x_mean,
            fac.y_mean,
            fac.nobs,
            fac.tss,
            c,
            acc_d,
            acc_2,
        )
        shift = acc_d / w.sum()
        mean_e = c + shift
        sd_e = np.sqrt(np.maximum(acc_2 / w.sum() - shift**2, 0.0))
        K = len(self.terms)
        mean, sd = np.empty(K), np.empty(K)
        mean[fac.columns], sd[fac.columns] = mean_e[:P], sd_e[:P]
        mean[self.const_col], sd[self.const_col] = mean_e[P], sd_e[P]
        return mean, sd

    @cached_property
    def params(self) -> pd.Series:
        """Model-averaged posterior mean of every coefficient (zero-weighted where excluded)."""
        mean, _ = self._moments
        return pd.Series(mean, index=list(self.terms), name="params")

    @cached_property
    def bse(self) -> pd.Series:
        """Model-averaged posterior standard deviation of every coefficient."""
        _, sd = self._moments
        return pd.Series(sd, index=list(self.terms), name="bse")

    def credible_interval(self, alpha: float = 0.05) -> pd.DataFrame:
        """Equal-tailed intervals of the model-averaged posterior: ``lower``, ``upper``.

        Quantiles of the mixture (over models and, for the mixtures of g-priors,
        over g) of Student t's and, for terms not in every model, a point mass
        at zero, solved so that the mixture's CDF there is within ``1e-10 min(q, 1-q)``
        of its level q (:mod:`duolm.bayesian._mixture_quantile`).
        """
        alpha = _check_alpha(alpha)
        mix = self._mixture
        lower = np.empty(len(self.terms))
        upper = np.empty(len(self.terms))
        qs = np.array([alpha / 2.0, 1.0 - alpha / 2.0])
        for j in range(len(self.terms)):
            loc, scale, w, w0 = mix.coefficient(j)
            lower[j], upper[j] = mixture_quantiles(loc, scale, w, w0, mix.df, qs)
        return pd.DataFrame({"lower": lower, "upper": upper}, index=list(self.terms))

    def predict(self, data: object, alpha: float = 0.05) -> pd.DataFrame:
        """Model-averaged predictions with the mixture's intervals.

        Parameters
        ----------
        data : DataFrame or mapping (formula fits), or array of shape (m, k)
            New rows; for an array, the columns of the full design (intercept
            included), in the order of :attr:`terms`.
        alpha : float
            Significance level: intervals of posterior (predictive) probability ``1 - alpha``.

        Returns
        -------
        DataFrame
            ``mean`` (posterior mean of the regression function), ``mean_se``
            (its posterior sd), ``mean_ci_lower/upper`` (quantiles of its
            posterior), ``obs_ci_lower/upper`` (of the posterior predictive of
            a new observation); the quantiles are those of the mixture of
            Student t's over models and g, solved as :meth:`credible_interval`'s.
        """
        alpha = _check_alpha(alpha)
        if self.spec is not None:
            X0 = self.spec.build_x(data)
        else:
            X0 = np.atleast_2d(np.asarray(data, dtype=np.float64))
            if X0.shape[1] != len(self.terms):
                raise DataError(
                    f"new rows have {X0.shape[1]} columns but the design had {len(self.terms)}"
                )
        index = data.index if isinstance(data, pd.DataFrame) else pd.RangeIndex(len(X0))
        mix = self._mixture
        D = X0[:, self.factor.columns] - self.factor.x_mean  # centred rows, factor order
        out = {k: np.empty(len(X0)) for k in _PRED_COLUMNS}
        qs = np.array([alpha / 2.0, 1.0 - alpha / 2.0])
        for r in range(len(X0)):
            loc, s_mean, s_obs, w = mix.prediction(D[r])
            mean = float(w @ loc)
            var = float(w @ (s_mean**2 * mix.var_factor + (loc - mean) ** 2))
            out["mean"][r] = mean
            out["mean_se"][r] = math.sqrt(var)
            lo, hi = mixture_quantiles(loc, s_mean, w, 0.0, mix.df, qs)
            out["mean_ci_lower"][r], out["mean_ci_upper"][r] = lo, hi
            lo, hi = mixture_quantiles(loc, s_obs, w, 0.0, mix.df, qs)
            out["obs_ci_lower"][r], out["obs_ci_upper"][r] = lo, hi
        return pd.DataFrame(out, index=index)

    # -- text -------------------------------------------------------------------------
    def summary(self) -> str:
        """Inclusion probabilities, model-averaged coefficients and the best models, as text."""
        how = (
            f"MC3, {self.iterations} iterations, {self.n_models} distinct models visited "
            "(probabilities renormalised over the visited models)"
            if self.sampled
            else f"all {self.n_models} models enumerated"
        )
        g = f", g = {self.g:.6g}" if self.g is not None else ""
        lines = [
            "Bayesian model averaging",
            f"prior: {self.prior}{g}; model prior: {self.model_prior}",
            f"observations: {self.nobs:.0f}; {how}",
            "",
            f"{'term':<20} {'P(incl)':>9} {'post mean':>13} {'post sd':>12}",
        ]
        incl, mean, sd = self.inclusion_probabilities, self.params, self.bse
        for name in self.terms:
            lines.append(
                f"{name[:20]:<20} {incl[name]:>9.4f} {mean[name]:>13.6g} {sd[name]:>12.6g}"
            )
        lines += ["", "best models:"]
        for i, (_, row) in enumerate(self.best(5).iterrows()):
            lines.append(
                f"{i + 1:>3}. P = {row['probability']:.4f}  R2 = {row['rsquared']:.4f}  "
                f"log BF = {row['log_evidence']:.4f}  {' + '.join(row['terms'])}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        formula = getattr(self.spec, "formula", None)
        model = repr(formula) if formula else f"{len(self.terms)} columns"
        how = (
            f"MC3 ({self.iterations} iterations), {self.n_models} distinct models visited"
            if self.sampled
            else f"{self.n_models} models enumerated"
        )
        g = f" (g={self.g:.6g})" if self.g is not None else ""
        return (
            f"<BMAResults {model}: {self.nobs:.0f} rows, {len(self.free)} free terms, "
            f"prior {self.prior}{g}, model prior {self.model_prior}, {how}; "
            f"best model P = {self.probability[0]:.4g}>"
        )

    def _repr_html_(self) -> str:
        """The repr, the terms' inclusion probabilities and posterior moments, the best models."""
        import html

        terms = pd.DataFrame(
            {
                "P(included)": self.inclusion_probabilities,
                "post mean": self.params,
                "post sd": self.bse,
            }
        )
        best = self.best(5)[["terms", "probability", "rsquared", "log_evidence"]].copy()
        best["terms"] = [" + ".join(t) for t in best["terms"]]
        return (
            f"<p><code>{html.escape(repr(self))}</code></p>"
            + terms.to_html(float_format=lambda v: f"{v:.6g}")
            + "<p>best models</p>"
            + best.to_html(index=False, float_format=lambda v: f"{v:.4g}")
        )


_PRED_COLUMNS = (
    "mean",
    "mean_se",
    "mean_ci_lower",
    "mean_ci_upper",
    "obs_ci_lower",
    "obs_ci_upper",
)


@dataclass(frozen=True, eq=False)
class _Mixture:
    """The components of the model-averaged posterior: one per (model, node of g).

    For each model carried (best first, all but :data:`MASS_LEFT_OUT` of the
    probability) and each node ``t = g/(1+g)`` of its posterior of g (one for
    the fixed-g priors; the trapezoid nodes of the evidence integral for the
    mixtures), ``weight = P(model | y) * w_node``; components sorted by weight, largest
    first (as :func:`~duolm.bayesian._mixture_quantile.mixture_quantiles` takes them).
    """

    res: BMAResults
    model: NDArray[np.intp]  # component -> row of `carried`
    t: FloatArray
    weight: FloatArray
    beta: FloatArray  # (models carried, P) OLS slopes, 0 where excluded
    vdiag: FloatArray  # (models carried, P) diag of (X^T X)^-1, 0 where excluded
    inc: BoolArray  # (models carried, P)
    rinv: tuple[FloatArray, ...]
    rinv_pad: FloatArray | None  # (models carried, P, P) zero-padded, when small enough
    active: tuple[NDArray[np.intp], ...]
    r2: FloatArray  # per model carried
    df: float
    var_factor: float

    @classmethod
    def build(cls, res: BMAResults) -> _Mixture:
        fac = res.factor
        n, P, f = fac.nobs, fac.P, fac.f
        prob = res.probability
        cum = np.cumsum(prob)
        last = int(np.searchsorted(cum, 1.0 - MASS_LEFT_OUT)) + 1
        carried = np.arange(min(last, res.n_models))
        carried = carried[prob[carried] > 0.0]
        M = carried.size
        beta = np.zeros((M, P))
        vdiag = np.zeros((M, P))
        inc = np.zeros((M, P), dtype=bool)
        inc[:, :f] = True
        inc[:, f:] = res.indicators_[carried]
        sizes = inc.sum(axis=1)
        pad = np.zeros((M, P, P)) if M * P * P <= _PAD_MAX else None
        rinvs: list[FloatArray] = [np.zeros((0, 0))] * M
        for m in np.unique(sizes[sizes > 0]):  # the models of each size, factored together
            rows = np.flatnonzero(sizes == m)
            act = np.nonzero(inc[rows])[1].reshape(rows.size, m).astype(np.intp)
            b, Rinv = fac.models(act)
            beta[rows[:, None], act] = b
            vdiag[rows[:, None], act] = np.sum(Rinv**2, axis=2)
            if pad is not None:
                pad[rows[:, None, None], act[:, :, None], act[:, None, :]] = Rinv
            for r, R in zip(rows, Rinv, strict=True):
                rinvs[r] = R
        actives = [np.flatnonzero(row).astype(np.intp) for row in inc]
        u = res.u_[carried]
        code = PRIORS[res.prior]
        p = sizes.astype(np.float64)
        if code in (_kern.G_PRIOR, _kern.EB_LOCAL):
            counts = np.ones(M, dtype=np.int64)
        else:
            grids = np.zeros((M, 5))
            mixed = p > 0.0
            kern = _kern.kernels()
            grid_m = np.zeros((int(mixed.sum()), 5))
            kern["node_grids"](code, n, p[mixed], u[mixed], HYPER_A, grid_m)
            grids[mixed] = grid_m
            counts = np.where(mixed, grids[:, 4] - grids[:, 3] + 1, 1).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        t = np.repeat(res.et_[carried], counts)  # fixed g, and the intercept-only model
        w = np.ones(int(offsets[-1]))
        if code not in (_kern.G_PRIOR, _kern.EB_LOCAL) and np.any(mixed):
            sel = np.flatnonzero(mixed)
            spans = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in sel])
            t_m, w_m = np.empty(spans.size), np.empty(spans.size)
            off_m = np.concatenate([[0], np.cumsum(counts[sel])])
            kern["fill_nodes"](code, n, p[sel], u[sel], HYPER_A, grids[sel], off_m, t_m, w_m)
            t[spans], w[spans] = t_m, w_m
        model = np.repeat(np.arange(M, dtype=np.intp), counts)
        weight = prob[carried][model] * w
        keep = weight > 0.0
        model, t, weight = model[keep], t[keep], weight[keep]
        order = np.argsort(-weight, kind="stable")  # largest first: pruning cuts a tail
        df = n - 1.0
        return cls(
            res=res,
            model=model[order],
            t=t[order],
            weight=weight[order] / weight.sum(),
            beta=beta,
            vdiag=vdiag,
            inc=inc,
            rinv=tuple(rinvs),
            rinv_pad=pad,
            active=tuple(actives),
            r2=1.0 - u,
            df=df,
            var_factor=df / (df - 2.0) if df > 2.0 else math.inf,
        )

    def _quad(self, d: FloatArray) -> FloatArray:
        """``d_S' V_S d_S = ||Rinv_S^T d_S||^2`` for every model carried."""
        if self.rinv_pad is not None:
            v = np.einsum("mij,i->mj", self.rinv_pad, d)
            out: FloatArray = np.einsum("mj,mj->m", v, v)
            return out
        return np.array(
            [np.sum((R.T @ d[a]) ** 2) for R, a in zip(self.rinv, self.active, strict=True)]
        )

    @cached_property
    def scale2(self) -> FloatArray:
        """``S_g = TSS (1 - t R^2) / (n - 1)`` per component (the t scale factor)."""
        fac = self.res.factor
        out: FloatArray = fac.tss * (1.0 - self.t * self.r2[self.model]) / (fac.nobs - 1.0)
        return out

    def coefficient(self, j: int) -> tuple[FloatArray, FloatArray, FloatArray, float]:
        """Components of term ``j``'s marginal: locations, scales, weights, mass at zero."""
        res, fac = self.res, self.res.factor
        t, S = self.t, self.scale2
        if j == res.const_col:
            # intercept of the raw design: ybar - xbar' beta, t with scale S (1/n + t xbar'V xbar)
            xb = self.beta @ fac.x_mean  # beta is 0 where a model excludes a column
            xvx = self._quad(fac.x_mean)
            loc = fac.y_mean - t * xb[self.model]
            scale = np.sqrt(S * (1.0 / fac.nobs + t * xvx[self.model]))
            return loc, scale, self.weight, 0.0
        c = int(np.flatnonzero(fac.columns == j)[0])
        inc = self.inc[:, c][self.model]
        model = self.model[inc]
        t_in = t[inc]
        loc = t_in * self.beta[:, c][model]
        scale = np.sqrt(S[inc] * t_in * self.vdiag[:, c][model])
        w = self.weight[inc]
        return loc, scale, w, max(0.0, 1.0 - float(w.sum()))

    @cached_property
    def moments(self) -> tuple[FloatArray, FloatArray]:
        """Mean and sd of every coefficient's model-averaged posterior (two-pass)."""
        K = len(self.res.terms)
        mean = np.empty(K)
        sd = np.empty(K)
        for j in range(K):
            loc, scale, w, w0 = self.coefficient(j)
            mean[j] = w @ loc
            var = w @ (scale**2 * self.var_factor + (loc - mean[j]) ** 2) + w0 * mean[j] ** 2
            sd[j] = math.sqrt(var)
        return mean, sd

    def prediction(self, d: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Components at one centred row ``d``: locations, scales of the mean and of a new
        observation, weights."""
        fac = self.res.factor
        db = self.beta @ d
        dvd = self._quad(d)
        t, S = self.t, self.scale2
        loc = fac.y_mean + t * db[self.model]
        s2_mean = S * (1.0 / fac.nobs + t * dvd[self.model])
        return loc, np.sqrt(s2_mean), np.sqrt(s2_mean + S), self.weight


#: Largest number of entries of the zero-padded stack of the models' ``Rinv``.
_PAD_MAX = 20_000_000


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating):
        raise ValueError(f"alpha is a significance level in (0, 1), got {alpha!r}")
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha is a significance level in (0, 1), got {alpha}")
    return alpha


# ------------------------------------------------------------------ the engine


def _log_model_prior(kind: str, q: int, k: NDArray[np.int64]) -> FloatArray:
    """Log prior of models with ``k`` of ``q`` free terms: uniform, or Beta(1, 1) on the size."""
    if kind == "uniform":
        return np.zeros(k.shape)
    # P(model) = B(k + 1, q - k + 1) / B(1, 1) = 1 / ((q + 1) C(q, k))
    out: FloatArray = np.asarray(special.betaln(k + 1.0, q - k + 1.0), dtype=np.float64)
    return out


def average(
    stat: SqrtStat,
    terms: Sequence[str],
    const_col: int,
    include: Sequence[int] = (),
    *,
    prior: str = "g-prior",
    g: float | None = None,
    model_prior: str = "uniform",
    max_enumerate: int = MAX_ENUMERATE,
    iterations: int | None = None,
    seed: int | None = None,
    spec: Any = None,
) -> BMAResults:
    """Average over the subsets of the terms of a design given by its statistic.

    Parameters
    ----------
    stat : SqrtStat
        Statistic of the full design ``[X y]`` (every term, the intercept included).
    terms : sequence of str
        Names of the columns of X.
    const_col : int
        The intercept's column.
    include : sequence of int
        Columns always in the model (besides the intercept).
    prior, g, model_prior, max_enumerate, iterations, seed
        See :func:`duolm.bma`.
    spec : optional
        The design spec that rebuilds X for :meth:`BMAResults.predict`.
    """
    terms = tuple(str(t) for t in terms)
    K = len(terms)
    if stat.k != K:
        raise ValueError(f"the statistic has {stat.k} columns but {K} terms were named")
    if prior not in PRIORS:
        raise PriorError(f"prior must be one of {sorted(PRIORS)}, got {prior!r}")
    if model_prior not in MODEL_PRIORS:
        raise PriorError(f"model_prior must be one of {sorted(MODEL_PRIORS)}, got {model_prior!r}")
    n = float(stat.nobs)
    if n < 4:
        raise DataError(f"model averaging needs at least 4 observations, got {n:.0f}")
    if prior == "g-prior":
        g = n if g is None else g
        if isinstance(g, bool) or not isinstance(g, int | float | np.floating):
            raise PriorError(f"g must be a positive number, got {g!r}")
        g = float(g)
        if not (math.isfinite(g) and g > 0.0):
            raise PriorError(f"g must be a positive finite number, got {g}")
    elif g is not None:
        raise PriorError(f"g is the fixed g of prior='g-prior'; prior={prior!r} takes no g")
    if isinstance(max_enumerate, bool) or not isinstance(max_enumerate, int) or max_enumerate < 0:
        raise ValueError(f"max_enumerate must be a non-negative integer, got {max_enumerate!r}")
    forced = [j for j in dict.fromkeys(include) if j != const_col]
    free = [j for j in range(K) if j != const_col and j not in forced]
    fac = CentredFactor.from_stat(stat, const_col, forced, free)
    f, q = len(forced), len(free)
    if fac.tss <= PERFECT_FIT * stat.uncentered_tss:  # rounding of a constant y's mean
        raise DataError("y is constant: there is nothing to explain")
    code = PRIORS[prior]
    kern = _kern.kernels()
    gval = float(g) if g is not None else 0.0
    if q <= max_enumerate:
        N = 1 << q
        rss = np.empty(N)
        size = np.empty(N, dtype=np.int64)
        ok = np.empty(N, dtype=np.bool_)
        kern["gray_walk"](fac.Rc, f, q, fac.colnorm, ALIAS_TOL, rss, size, ok)
        idx = np.arange(N, dtype=np.int64)
        codes = idx ^ (idx >> 1)
        ind = ((codes[:, None] >> np.arange(q)) & 1).astype(bool)
        visits = np.ones(N, dtype=np.int64)
        walk: NDArray[np.int64] | None = np.arange(N, dtype=np.int64)
        sampled, iters = False, 0
    else:
        iters = 100_000 if iterations is None else int(iterations)
        if iters < 1:
            raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
        rng = np.random.default_rng(seed)
        uniforms = rng.random((iters, 4))
        states = np.zeros((iters, q), dtype=np.uint8)
        rss_all = np.empty(iters)
        ok_all = np.empty(iters, dtype=np.bool_)
        kern["mc3"](
            fac.Rc,
            f,
            q,
            fac.colnorm,
            ALIAS_TOL,
            code,
            n,
            gval,
            HYPER_A,
            MODEL_PRIORS[model_prior],
            fac.tss,
            uniforms,
            states,
            rss_all,
            ok_all,
        )
        packed = np.packbits(states, axis=1)
        _, first, counts = np.unique(packed, axis=0, return_index=True, return_counts=True)
        ind = states[first].astype(bool)
        rss, ok, visits = rss_all[first], ok_all[first], counts.astype(np.int64)
        size = f + ind.sum(axis=1).astype(np.int64)
        walk = None
        sampled = True
    u = rss / fac.tss
    valid = ok & (size < n - 1.0)
    # a residual within rounding of zero (relative to y's spread) is an exact fit, whose
    # Bayes factor is infinite: the data leave nothing to average
    exact = valid & (u <= _EXACT_FIT**2)
    if exact.any():
        i = int(np.flatnonzero(exact)[0])
        names = [terms[fac.columns[c]] for c in range(f)] + [
            terms[free[b]] for b in np.flatnonzero(ind[i])
        ]
        raise DataError(f"the model with terms {names} fits y exactly (R² = 1)")
    if not valid.any():
        raise DataError("no model is of full rank with fewer coefficients than observations")
    logev = np.empty(u.size)
    et = np.empty(u.size)
    et2 = np.empty(u.size)
    kern["evidences"](code, n, size.astype(np.float64), u, valid, gval, HYPER_A, logev, et, et2)
    logprior = _log_model_prior(model_prior, q, size - f)
    lp = logev + logprior
    order = np.lexsort((np.arange(lp.size), -lp))
    return BMAResults(
        terms=terms,
        const_col=const_col,
        forced=tuple(fac.columns[:f].tolist()),
        free=tuple(fac.columns[f:].tolist()),
        prior=prior,
        g=g if prior == "g-prior" else None,
        model_prior=model_prior,
        factor=fac,
        indicators_=ind[order],
        log_evidence_=logev[order],
        log_prior_=logprior[order],
        u_=u[order],
        et_=et[order],
        et2_=et2[order],
        sampled=sampled,
        iterations=iters,
        visits=visits[order],
        walk_index_=walk[order] if walk is not None else None,
        spec=spec,
    )
