"""Figures of model checking: a posterior predictive check's statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from duolm._format import literal
from duolm.bayesian import PPCResult
from duolm.present.plots._common import BAYES_COLOR, REF_COLOR, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ppc"]


def ppc(result: PPCResult, *, ax: Axes | None = None) -> Axes:
    """Replicated against observed test statistic, one point per draw (BDA3, figure 6.5).

    Points above the diagonal are draws whose replicate exceeds the observed
    data; their share is the posterior predictive p value, shown in the title.

    Parameters
    ----------
    result : PPCResult
        From :meth:`duolm.BayesResults.ppc`.
    ax : Axes, optional
        Where to draw (a new figure when None).

    Returns
    -------
    Axes
    """
    ax = new_axes(ax)
    obs, rep = result.observed, result.replicated
    ax.scatter(obs, rep, s=6, alpha=0.4, color=BAYES_COLOR, linewidths=0)
    lo = float(min(np.min(obs), np.min(rep)))
    hi = float(max(np.max(obs), np.max(rep)))
    ax.plot([lo, hi], [lo, hi], color=REF_COLOR, linewidth=1.0)
    ax.set_xlabel(f"T(y, θ): {result.statistic}, observed")
    ax.set_ylabel(f"T(y_rep, θ): {result.statistic}, replicated")
    ax.set_title(f"posterior predictive check, p = {result.p_value:.3f}")
    literal(ax)  # names shown as written
    return ax
