"""Figures of one term's part in a least-squares fit, and of each row's influence.

Every number comes from the fit: :meth:`~duolm.OLSResults.partial_regression`,
:meth:`~duolm.OLSResults.component_plus_residual` and
:meth:`~duolm.OLSResults.influence`; these functions only draw.

==========================  =====================================================
function                    draws
==========================  =====================================================
:func:`added_variable`      y's residuals against the term's, both on the other
                            columns: the term's slope with the others held fixed
:func:`component_plus_residual`  ``b x + e`` against ``x``: curvature the line misses
:func:`influence_plot`      studentised residual against leverage, area by Cook's
                            distance: the rows that move the fit
==========================  =====================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from duolm._format import literal
from duolm.frequentist import OLSResults
from duolm.present.plots._common import DATA_COLOR, OLS_COLOR, REF_COLOR, new_grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["added_variable", "component_plus_residual", "influence_plot"]


def _slopes(fit: OLSResults, terms: Sequence[str] | None) -> list[str]:
    if not isinstance(fit, OLSResults):
        raise TypeError(f"fit must be an OLSResults, got {type(fit).__name__}")
    kept = [t for t, keep in zip(fit.terms, fit.kept, strict=True) if keep]
    slopes = [t for i, t in enumerate(kept) if i != fit.const_col]
    chosen = slopes if terms is None else list(terms)
    if not chosen:
        raise ValueError("the fit has no slope term to draw")
    return chosen


def added_variable(
    fit: OLSResults, terms: Sequence[str] | None = None, *, fig: Figure | None = None
) -> Figure:
    """Added-variable (partial regression) plots: one panel per slope term.

    Each panel shows the residuals of y against those of the term, both regressed on
    the other columns, and the line through the origin whose slope is the term's
    coefficient (Frisch-Waugh-Lovell): the evidence for the term with the rest held
    fixed. Artists: the points have gid ``"av-points"``, the line ``"av-line"``.
    """
    chosen = _slopes(fit, terms)
    cols = min(len(chosen), 3)
    rows = -(-len(chosen) // cols)
    fig, axes = new_grid(fig, rows, cols, (4.2 * cols, 3.6 * rows))
    for ax, term in zip(axes, chosen, strict=False):
        points = fit.partial_regression(term)
        x, y = points["x_resid"].to_numpy(), points["y_resid"].to_numpy()
        ax.scatter(x, y, s=12, color=DATA_COLOR, gid="av-points")
        edge = np.array([x.min(), x.max()]) if x.size else np.zeros(2)
        b = float(fit.params[term])
        ax.plot(edge, b * edge, color=OLS_COLOR, lw=1.5, label=f"slope {b:.4g}", gid="av-line")
        ax.set(title=term, xlabel=f"{term} | others", ylabel=f"{fit.spec.response} | others")
        ax.legend(fontsize="small")
    for ax in axes[len(chosen) :]:
        ax.set_visible(False)
    fig.suptitle(f"Added-variable plots: {fit.spec.formula or fit.spec.response}")
    literal(fig)  # names shown as written
    return fig


def component_plus_residual(
    fit: OLSResults, terms: Sequence[str] | None = None, *, fig: Figure | None = None
) -> Figure:
    """Component-plus-residual (CCPR) plots: ``b x + e`` against ``x``, one panel per term.

    The straight line ``b x`` is the fit's; points bending away from it show a relation
    the linear term does not follow. Gids ``"ccpr-points"`` and ``"ccpr-line"``.
    """
    chosen = _slopes(fit, terms)
    cols = min(len(chosen), 3)
    rows = -(-len(chosen) // cols)
    fig, axes = new_grid(fig, rows, cols, (4.2 * cols, 3.6 * rows))
    for ax, term in zip(axes, chosen, strict=False):
        points = fit.component_plus_residual(term)
        x = points["x"].to_numpy()
        ax.scatter(x, points["partial_resid"], s=12, color=DATA_COLOR, gid="ccpr-points")
        order = np.argsort(x)
        b = float(fit.params[term])
        ax.plot(x[order], b * x[order], color=OLS_COLOR, lw=1.5, label="b x", gid="ccpr-line")
        ax.set(title=term, xlabel=term, ylabel="component + residual")
        ax.legend(fontsize="small")
    for ax in axes[len(chosen) :]:
        ax.set_visible(False)
    fig.suptitle(f"Component-plus-residual plots: {fit.spec.formula or fit.spec.response}")
    literal(fig)  # names shown as written
    return fig


def influence_plot(fit: OLSResults, *, label: int = 3, fig: Figure | None = None) -> Figure:
    """Studentised residual against leverage, each row's area by its Cook's distance.

    The ``label`` rows of largest Cook's distance are named by their index; dotted
    lines mark residuals of ±2 and twice the mean leverage. Gids ``"influence-points"``.
    """
    if not isinstance(fit, OLSResults):
        raise TypeError(f"fit must be an OLSResults, got {type(fit).__name__}")
    frame = fit.influence()
    h = frame["hat_diag"].to_numpy()
    r = frame["student_resid"].to_numpy()
    d = frame["cooks_d"].to_numpy()
    fig, (ax,) = new_grid(fig, 1, 1, (7.0, 5.0))
    area = 20.0 + 600.0 * d / max(float(np.nanmax(d)), 1e-300)
    ax.scatter(h, r, s=area, color=OLS_COLOR, alpha=0.5, gid="influence-points")
    for level in (-2.0, 2.0):
        ax.axhline(level, color=REF_COLOR, ls=":", lw=1)
    ax.axvline(2.0 * float(np.mean(h)), color=REF_COLOR, ls=":", lw=1)
    for i in np.argsort(-d)[: max(int(label), 0)]:
        ax.annotate(str(frame.index[i]), (h[i], r[i]), fontsize="small")
    ax.set(
        title="Influence: area by Cook's distance",
        xlabel="leverage h_ii",
        ylabel="studentised residual",
    )
    literal(fig)  # names shown as written
    return fig
