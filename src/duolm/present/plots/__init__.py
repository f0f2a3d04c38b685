"""Figures of duolm fits (matplotlib): the lecture's pictures, drawn from results.

Every function draws on a given ``ax`` (one-panel figures) or an empty
``fig`` (several panels), or on a new pyplot figure when none is given, and
returns that Axes or Figure. Nothing is shown: call ``plt.show()``, save with
``fig.savefig(...)``, and close figures you no longer need
(``plt.close(fig)``). matplotlib is imported by the functions, not by
``import duolm``. The functions only draw: every number comes from the
result objects (``predict``, ``conf_int``, ``credible_interval``, the
marginals) or from a :func:`duolm.trajectory` frame.

==================  ===========================================================
function            draws
==================  ===========================================================
:func:`scatter`     the data, before any model
:func:`bands`       fitted curve, band of the mean and of a new observation;
                    least squares, Bayes, or both on one axes
:func:`band_gap`    one reading's band ends minus the other's (they nearly coincide)
:func:`residuals`   residual diagnostics of a least-squares fit (6 panels)
:func:`anscombe`    Anscombe's quartet with its one regression line (4 panels)
:func:`evolution`   the posterior after each observation (k + 1 panels)
:func:`marginals`   posterior marginals beside the least-squares intervals
:func:`nig_density` a Normal-inverse-gamma prior or posterior (2 panels)
:func:`model_space` the best models of a model averaging against the terms
                    (BAS's ``image``)
:func:`inclusion`   posterior inclusion probabilities of a model averaging
:func:`ppc`         a posterior predictive check: replicated against observed
==================  ===========================================================

:func:`evolution_beside` draws two trajectories of one model (without and with
forgetting) side by side, their panels on shared y limits.
"""

from __future__ import annotations

from duolm.present.plots.averaging import inclusion, model_space
from duolm.present.plots.beside import evolution_beside
from duolm.present.plots.checks import ppc
from duolm.present.plots.fits import anscombe, band_gap, bands, residuals, scatter
from duolm.present.plots.influence import (
    added_variable,
    component_plus_residual,
    influence_plot,
)
from duolm.present.plots.posterior import evolution, marginals, nig_density

__all__ = [
    "added_variable",
    "anscombe",
    "band_gap",
    "bands",
    "component_plus_residual",
    "evolution",
    "evolution_beside",
    "inclusion",
    "influence_plot",
    "marginals",
    "model_space",
    "nig_density",
    "ppc",
    "residuals",
    "scatter",
]
