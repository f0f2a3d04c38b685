"""Figures of the Bayesian reading: the NIG density, posterior marginals, the evolution over t."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from duolm.bayesian import NIG, BayesResults, credible_path
from duolm.frequentist import OLSResults
from duolm.present.plots._common import (
    BAYES_COLOR,
    OLS_COLOR,
    REF_COLOR,
    FloatArray,
    few_ticks,
    level,
    new_grid,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["evolution", "marginals", "nig_density"]

#: Mahalanobis distances of the contours drawn by :func:`nig_density`.
CONTOUR_SDS = (1.0, 2.0, 3.0)


def _column(frame: pd.DataFrame, name: str) -> FloatArray:
    values: FloatArray = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def evolution(
    traj: pd.DataFrame,
    *,
    alpha: float = 0.05,
    reference: Mapping[str, float] | None = None,
    reference_label: str = "reference value",
    start: int = 1,
    ylim_from: float = 0.1,
    fig: Figure | None = None,
) -> Figure:
    """The posterior after each observation: one panel per coefficient, one for sigma².

    Each panel shows the posterior mean, a band of ±1 posterior sd and the
    equal-tailed credible interval of level ``1 - alpha``: for a coefficient
    the Student t with ``2 a_t`` dof and scale ``sqrt(b_t/a_t V_t[jj])``
    (``= sd * sqrt((a_t - 1)/a_t)``), for sigma² the inverse gamma
    ``iG(a_t, b_t)``. Steps where a quantity does not exist (``a_t <= 1``
    for the sd, an improper posterior) are left blank.

    Parameters
    ----------
    traj : DataFrame
        The result of :func:`duolm.trajectory` (columns ``t``, ``m[term]``,
        ``sd[term]``, ``mean_sigma2``, ``sd_sigma2``, ``a``, ``b``).
    alpha : float
        Significance level of the credible intervals.
    reference : mapping of str to float, optional
        Horizontal reference lines by term name, ``"sigma2"`` for sigma²
        (e.g. the least-squares estimates on all the data).
    reference_label : str
        What the reference lines are, in the legend (say it: a bare
        "reference" explains nothing).
    start : int
        First ``t`` drawn.
    ylim_from : float
        Fraction of the drawn steps left out when the y limits are chosen:
        the first posteriors are far wider than the last and would flatten
        them. Those steps are still drawn (clipped); 0 fits everything.
    fig : matplotlib Figure, optional
        An empty figure to draw on; default a new one.

    Returns
    -------
    matplotlib Figure
        ``k + 1`` panels sharing the t axis. Artists carry gids ``"mean"``,
        ``"sd-band"``, ``"credible-lower"``, ``"credible-upper"`` and
        ``"reference"``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from duolm import datasets, plots
    >>> from duolm._api import trajectory
    >>> traj = trajectory("height ~ I(time**2)", datasets.tracking())
    >>> fig = plots.evolution(traj)
    >>> [ax.get_title() for ax in fig.axes]
    ['Intercept', 'I(time ** 2)', 'sigma²']
    >>> plt.close(fig)
    """
    terms = [str(c)[2:-1] for c in traj.columns if str(c).startswith("m[") and str(c)[-1] == "]"]
    needed = ["t", "a", "b", "mean_sigma2", "sd_sigma2", *(f"sd[{t}]" for t in terms)]
    lacking = [c for c in needed if c not in traj.columns]
    if not terms or lacking:
        raise ValueError(
            "traj must be a frame of duolm.trajectory(); missing column(s) "
            f"{lacking or ['m[<term>]']}"
        )
    lv = level(alpha)
    if not 0.0 <= ylim_from < 1.0:
        raise ValueError(f"ylim_from must be in [0, 1), got {ylim_from}")
    rows = traj[traj["t"] >= start]
    t = _column(rows, "t")
    bands = credible_path(rows, alpha)
    ref = dict(reference or {})
    k = len(terms)
    fig, axes = new_grid(fig, k + 1, 1, (8.0, 2.3 * (k + 1) + 0.6), sharex=True)
    series: list[tuple[str, FloatArray, FloatArray, FloatArray, FloatArray]] = []
    for term in terms:
        m, sd = _column(rows, f"m[{term}]"), _column(rows, f"sd[{term}]")
        series.append(
            (term, m, sd, _column(bands, f"lower[{term}]"), _column(bands, f"upper[{term}]"))
        )
    m2, sd2 = _column(rows, "mean_sigma2"), _column(rows, "sd_sigma2")
    lo2, hi2 = _column(bands, "lower_sigma2"), _column(bands, "upper_sigma2")
    series.append(("sigma2", m2, sd2, lo2, hi2))
    for ax, (name, mean, sd, lo, hi) in zip(axes, series, strict=True):
        label = "sigma²" if name == "sigma2" else name
        ax.fill_between(
            t,
            mean - sd,
            mean + sd,
            color=BAYES_COLOR,
            alpha=0.3,
            lw=0,
            label="±1 sd",
            gid="sd-band",
        )
        ax.plot(
            t, lo, color=BAYES_COLOR, ls="--", lw=1, label=f"{lv} credible", gid="credible-lower"
        )
        ax.plot(t, hi, color=BAYES_COLOR, ls="--", lw=1, label="_nolegend_", gid="credible-upper")
        ax.plot(t, mean, color=BAYES_COLOR, lw=1.8, label="posterior mean", gid="mean")
        if name in ref:
            ax.axhline(
                ref[name], color=REF_COLOR, ls=":", lw=1.2, label=reference_label, gid="reference"
            )
        _fit_ylim(ax, int(ylim_from * len(t)), [mean - sd, mean + sd, lo, hi], ref.get(name))
        ax.set_title(label)
        ax.set_ylabel(label)
    axes[0].legend(fontsize="small", loc="best")
    axes[-1].set_xlabel("t (observations seen)")
    fig.suptitle("Posterior after each observation")
    from duolm._format import literal  # names shown as written (issue 14)

    literal(fig)
    return fig


def _fit_ylim(ax: Axes, first: int, curves: list[FloatArray], extra: float | None) -> None:
    """Y limits that hold every curve from index ``first`` on (and ``extra``)."""
    values = np.concatenate(
        [c[first:] for c in curves] + [np.array([np.nan if extra is None else extra])]
    )
    values = values[np.isfinite(values)]
    if values.size == 0:
        return
    lo, hi = float(values.min()), float(values.max())
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(lo), 1.0) * 0.05
    ax.set_ylim(lo - pad, hi + pad)


def _interval_bars(
    ax: Axes, y: float, lo: float, hi: float, centre: float, color: str, label: str, gid: str
) -> None:
    ax.plot([lo, hi], [y, y], color=color, lw=3, solid_capstyle="butt", label=label, gid=gid)
    ax.plot([centre], [y], "o", color=color, ms=5, label="_nolegend_", gid=f"{gid}-centre")


def marginals(
    fit: BayesResults,
    ols_fit: OLSResults | None = None,
    *,
    alpha: float = 0.05,
    show_prior: bool = True,
    fig: Figure | None = None,
) -> Figure:
    """Posterior marginal densities, with the least-squares intervals drawn beside.

    One panel per coefficient: the Student t marginal (``2a`` dof, location
    ``m_j``, scale ``sqrt(b/a V_jj)``) with its equal-tailed credible
    interval shaded and drawn as a bar under the curve, the prior marginal
    (dashed, when the prior is proper) and, given ``ols_fit``, the confidence
    interval as a second bar. A last panel shows sigma²: the inverse gamma
    marginal, its credible interval and the least-squares ``s²``. Under
    ``NIG.reference(k)`` the two bars coincide.

    Parameters
    ----------
    fit : BayesResults
    ols_fit : OLSResults, optional
        The least-squares fit of the same model.
    alpha : float
        Significance level of both intervals.
    show_prior : bool
        Draw the prior marginals (when the prior is proper).
    fig : matplotlib Figure, optional
        An empty figure to draw on; default a new one.

    Returns
    -------
    matplotlib Figure
        ``k + 1`` panels. Gids: ``"posterior"``, ``"credible"`` (shading),
        ``"credible-ci"``, ``"ols-ci"`` (bars; ``-centre`` for their
        points), ``"prior"``, ``"ols-scale"``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> import duolm
    >>> from duolm import datasets, plots
    >>> from duolm import NIG, bayes
    >>> data = datasets.tracking()
    >>> prior = NIG.from_xi(np.diag([1e4, 0.1, 0.1]), 5)
    >>> post = bayes("height ~ I(time**2)", data, prior=prior)
    >>> fig = plots.marginals(post, duolm.ols("height ~ I(time**2)", data))
    >>> len(fig.axes)
    3
    >>> plt.close(fig)
    """
    if not isinstance(fit, BayesResults):
        raise TypeError(f"fit must be a BayesResults, got {type(fit).__name__}")
    if ols_fit is not None and not isinstance(ols_fit, OLSResults):
        raise TypeError(f"ols_fit must be an OLSResults, got {type(ols_fit).__name__}")
    lv = level(alpha)
    terms = list(fit.terms)
    k = len(terms)
    ncols = min(k + 1, 3)
    nrows = math.ceil((k + 1) / ncols)
    fig, axes = new_grid(fig, nrows, ncols, (4.2 * ncols, 3.6 * nrows))
    prior = fit.prior
    prior_ok = show_prior and prior.is_proper
    cred = fit.credible_interval(alpha).to_numpy(dtype=np.float64)
    conf = None if ols_fit is None else ols_fit.conf_int(alpha).loc[terms].to_numpy(np.float64)
    for j, (ax, name) in enumerate(zip(axes, terms, strict=False)):
        dist: Any = fit.coef_marginal(name)
        lo, hi = (float(v) for v in dist.ppf([0.001, 0.999]))
        if conf is not None:
            lo, hi = min(lo, float(conf[j, 0])), max(hi, float(conf[j, 1]))
        xg = np.linspace(lo, hi, 400)
        pdf = dist.pdf(xg)
        peak = float(np.max(pdf))
        c_lo, c_hi = float(cred[j, 0]), float(cred[j, 1])
        inside = (xg >= c_lo) & (xg <= c_hi)
        ax.fill_between(
            xg, 0.0, pdf, where=inside, color=BAYES_COLOR, alpha=0.3, lw=0, gid="credible"
        )
        ax.plot(xg, pdf, color=BAYES_COLOR, lw=2, label="posterior", gid="posterior")
        if prior_ok:
            scale0 = math.sqrt(prior.b / prior.a * prior.V[j, j])
            pdf0 = stats.t.pdf(xg, 2.0 * prior.a, loc=prior.m[j], scale=scale0)
            ax.plot(xg, pdf0, color=REF_COLOR, ls="--", lw=1.2, label="prior", gid="prior")
        centre = float(fit.params[name])
        _interval_bars(
            ax, -0.05 * peak, c_lo, c_hi, centre, BAYES_COLOR, f"{lv} credible", "credible-ci"
        )
        if ols_fit is not None and conf is not None:
            est = float(ols_fit.params[name])
            o_lo, o_hi = float(conf[j, 0]), float(conf[j, 1])
            _interval_bars(ax, -0.11 * peak, o_lo, o_hi, est, OLS_COLOR, f"OLS {lv} CI", "ols-ci")
        ax.set_ylim(-0.17 * peak, 1.1 * peak)
        ax.set(title=name, xlabel=name, ylabel="density")
        few_ticks(ax)  # long tick labels must not collide
    ax = axes[k]
    d2: Any = fit.sigma2_marginal()
    lo, hi = (float(v) for v in d2.ppf([0.001, 0.995]))
    if ols_fit is not None:
        lo, hi = min(lo, ols_fit.scale), max(hi, ols_fit.scale)
    xg = np.linspace(lo, hi, 400)
    pdf = d2.pdf(xg)
    peak = float(np.max(pdf))
    c_lo, c_hi = (float(v) for v in d2.ppf([alpha / 2.0, 1.0 - alpha / 2.0]))
    inside = (xg >= c_lo) & (xg <= c_hi)
    ax.fill_between(xg, 0.0, pdf, where=inside, color=BAYES_COLOR, alpha=0.3, lw=0, gid="credible")
    ax.plot(xg, pdf, color=BAYES_COLOR, lw=2, label="posterior", gid="posterior")
    if prior_ok:
        pdf0 = stats.invgamma.pdf(xg, prior.a, scale=prior.b)
        ax.plot(xg, pdf0, color=REF_COLOR, ls="--", lw=1.2, label="prior", gid="prior")
    _interval_bars(
        ax,
        -0.05 * peak,
        c_lo,
        c_hi,
        float(d2.median()),
        BAYES_COLOR,
        f"{lv} credible",
        "credible-ci",
    )
    if ols_fit is not None:
        ax.axvline(ols_fit.scale, color=OLS_COLOR, lw=1.5, label="OLS s²", gid="ols-scale")
    ax.set_ylim(-0.17 * peak, 1.1 * peak)
    ax.set(title="sigma²", xlabel="sigma²", ylabel="density")
    few_ticks(ax)
    for extra in axes[k + 1 :]:
        extra.remove()
    axes[0].legend(fontsize="small")
    if ols_fit is not None:
        ax.legend(fontsize="small")
    fig.suptitle(f"Posterior marginals: {fit.spec.formula or fit.spec.response}")
    from duolm._format import literal  # names shown as written (issue 14)

    literal(fig)
    return fig


def nig_density(
    dist: NIG,
    *,
    names: Sequence[str] | None = None,
    sigma2: float | None = None,
    pair: tuple[int, int] = (0, 1),
    joint: int = 0,
    fig: Figure | None = None,
) -> Figure:
    """A Normal-inverse-gamma distribution as the lecture draws it: three panels.

    Left, the normal ``beta | sigma² ~ N(m, sigma² V)`` at one value of sigma²:
    contours at Mahalanobis distance 1, 2 and 3 for two coefficients (the
    density itself when k = 1). Middle, the inverse gamma density
    ``sigma² ~ iG(a, b)`` with that value of sigma² marked. Right, the joint
    density of one coefficient and sigma² (:meth:`NIG.joint_logpdf`): the
    NIG's own shape, wider in beta where sigma² is larger.

    Parameters
    ----------
    dist : NIG
        A proper prior or posterior (``fit.prior``, ``fit.posterior``).
    names : sequence of str, optional
        Coefficient names (e.g. ``fit.terms``); default ``beta_0, beta_1, ...``.
    sigma2 : float, optional
        The sigma² of the left panel; default the mean ``b/(a-1)`` (the mode
        ``b/(a+1)`` when ``a <= 1``).
    pair : tuple of int
        The two coefficients of the contour plot.
    joint : int
        The coefficient of the joint panel.
    fig : matplotlib Figure, optional
        An empty figure to draw on; default a new one.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from duolm import plots
    >>> from duolm.bayesian import NIG
    >>> fig = plots.nig_density(NIG.from_xi(np.diag([1e4, 0.1, 0.1]), 5))  # the lecture's prior
    >>> fig.axes[1].get_title()
    'sigma² ~ iG(a = 2.5, b = 5000)'
    >>> plt.close(fig)
    """
    if not isinstance(dist, NIG):
        raise TypeError(f"dist must be an NIG, got {type(dist).__name__}")
    if not dist.is_proper:
        raise ValueError(
            f"{dist.label} is improper (a = {dist.a:g}, b = {dist.b:g}): it has no density to draw"
        )
    k, a, b = dist.k, dist.a, dist.b
    if not 0 <= int(joint) < k:
        raise ValueError(f"joint must name one of the {k} coefficients, got {joint}")
    labels = [f"beta_{j}" for j in range(k)] if names is None else [str(n) for n in names]
    if len(labels) != k:
        raise ValueError(f"names has {len(labels)} entries for {k} coefficients")
    s2 = (b / (a - 1.0) if a > 1.0 else b / (a + 1.0)) if sigma2 is None else float(sigma2)
    if not (math.isfinite(s2) and s2 > 0):
        raise ValueError(f"sigma2 must be finite and > 0, got {sigma2}")
    fig, (ax_beta, ax_s2, ax_joint) = new_grid(fig, 1, 3, (16.0, 4.8))
    m = dist.m
    if k == 1:
        cond = dist.beta_given_sigma2(s2)
        sd = math.sqrt(float(cond.cov[0, 0]))
        xg = np.linspace(m[0] - 4.0 * sd, m[0] + 4.0 * sd, 400)
        ax_beta.plot(xg, cond.pdf(xg), color=BAYES_COLOR, lw=2, gid="beta-density")
        ax_beta.set(xlabel=labels[0], ylabel="density")
    else:
        i, j = pair
        if not (0 <= i < k and 0 <= j < k and i != j):
            raise ValueError(f"pair must name two different coefficients of {k}, got {pair}")
        cond = dist.beta_given_sigma2(s2, [i, j])
        half = 3.6 * np.sqrt(np.diag(cond.cov))
        gx = np.linspace(m[i] - half[0], m[i] + half[0], 201)
        gy = np.linspace(m[j] - half[1], m[j] + half[1], 201)
        GX, GY = np.meshgrid(gx, gy)
        # the distance from the mean in sds, read off the density: 2 (log p(m) - log p(x))
        drop = cond.logpdf(cond.mean) - cond.logpdf(np.dstack([GX, GY]))
        D = np.sqrt(np.maximum(2.0 * drop, 0.0))
        cs = ax_beta.contour(GX, GY, D, levels=list(CONTOUR_SDS), colors=BAYES_COLOR)
        cs.set_gid("beta-contours")
        ax_beta.clabel(cs, fmt={c: f"{c:g} sd" for c in CONTOUR_SDS}, fontsize="small")
        ax_beta.plot([m[i]], [m[j]], "+", color=BAYES_COLOR, ms=10, gid="beta-mean")
        ax_beta.set(xlabel=labels[i], ylabel=labels[j])
    ax_beta.set_title(f"beta | sigma² = {s2:.4g} ~ N(m, sigma² V)")
    ig = stats.invgamma(a, scale=b)
    xs = np.linspace(1e-9 * b, float(ig.ppf(0.99)), 400)
    ax_s2.plot(xs, ig.pdf(xs), color=BAYES_COLOR, lw=2, gid="sigma2-density")
    ax_s2.axvline(s2, color=REF_COLOR, ls="--", lw=1.2, label=f"sigma² = {s2:.4g}", gid="sigma2")
    ax_s2.set(title=f"sigma² ~ iG(a = {a:g}, b = {b:g})", xlabel="sigma²", ylabel="density")
    ax_s2.legend(fontsize="small")
    _joint_panel(ax_joint, dist, joint, labels[joint], ig)
    kind = "posterior" if dist.nobs > 0 else "prior"
    fig.suptitle(f"Normal-inverse-gamma {kind}: beta | sigma² ~ N(m, sigma² V), sigma² ~ iG(a, b)")
    from duolm._format import literal  # names shown as written (issue 14)

    literal(fig)
    return fig


def _joint_panel(ax: Axes, dist: NIG, j: int, name: str, ig: Any) -> None:
    """Contours of the joint density of ``(beta_j, sigma²)`` (the lecture's NIG picture)."""
    s_lo, s_hi = (float(v) for v in ig.ppf([0.005, 0.95]))
    sd_far = math.sqrt(s_hi * float(dist.V[j, j]))
    bg = np.linspace(dist.m[j] - 3.0 * sd_far, dist.m[j] + 3.0 * sd_far, 201)
    sg = np.linspace(s_lo, s_hi, 201)
    B, S = np.meshgrid(bg, sg)
    logp = dist.joint_logpdf(j, B, S)
    top = float(np.max(logp))
    levels = [top - 4.5, top - 2.0, top - 0.5]  # 1, 2 and 3 "sd" of a normal's drop
    cs = ax.contour(B, S, logp, levels=levels, colors=BAYES_COLOR, linestyles="solid")
    cs.set_gid("joint-contours")
    ax.set(
        title=f"({name}, sigma²) jointly",
        xlabel=name,
        ylabel="sigma²",
    )
