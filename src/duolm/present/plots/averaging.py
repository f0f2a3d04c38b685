"""Figures of Bayesian model averaging: the model space and the inclusion probabilities."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from duolm._format import literal
from duolm.bayesian import BMAResults
from duolm.present.plots._common import BAYES_COLOR, REF_COLOR, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["inclusion", "model_space"]


def model_space(
    res: BMAResults, *, top: int = 20, intercept: bool = False, ax: Axes | None = None
) -> Axes:
    """The best models against the terms, as R's BAS draws ``image(bas)``.

    One row per model (best at the top), one column per term; a term in a
    model is coloured by the model's log posterior odds against the best one
    (:attr:`BMAResults.log_posterior_odds`), a term left out stays blank.

    Parameters
    ----------
    res : BMAResults
    top : int
        How many of the best models to show.
    intercept : bool
        Show the intercept's column (in every model).
    ax : Axes, optional
        Where to draw (a new figure when None).

    Returns
    -------
    Axes
    """
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ValueError(f"top must be a positive integer, got {top!r}")
    show = min(int(top), res.n_models)
    ind = res.indicators.iloc[:show]
    if not intercept:
        ind = ind.drop(columns=res.terms[res.const_col])
    odds = res.log_posterior_odds.to_numpy()[:show]
    cells = np.where(ind.to_numpy(), odds[:, None], np.nan)
    ax = new_axes(ax, figsize=(max(4.0, 0.5 * ind.shape[1] + 2.0), max(3.0, 0.25 * show + 1.5)))
    finite = odds[np.isfinite(odds)]
    vmin = float(finite.min()) if finite.size and finite.min() < 0 else -1.0
    image = ax.imshow(
        cells, aspect="auto", cmap="viridis", vmin=vmin, vmax=0.0, interpolation="none"
    )
    ax.set_xticks(range(ind.shape[1]), list(ind.columns), rotation=60, ha="right")
    ax.set_yticks(range(show), [str(i + 1) for i in range(show)])
    ax.set_ylabel("model rank")
    sampled = f", MC3: {res.n_models} models visited" if res.sampled else ""
    ax.set_title(f"best {show} models ({res.prior}{sampled})")
    ax.figure.colorbar(image, ax=ax, label="log posterior odds vs the best model")
    literal(ax)  # names shown as written
    return ax


def inclusion(res: BMAResults, *, intercept: bool = False, ax: Axes | None = None) -> Axes:
    """Posterior inclusion probability of each term, with the median-model line at 1/2.

    Parameters
    ----------
    res : BMAResults
    intercept : bool
        Show the intercept (always 1).
    ax : Axes, optional
        Where to draw (a new figure when None).

    Returns
    -------
    Axes
    """
    probs = res.inclusion_probabilities
    if not intercept:
        probs = probs.drop(res.terms[res.const_col])
    ax = new_axes(ax, figsize=(6.4, max(3.0, 0.3 * len(probs) + 1.0)))
    pos = np.arange(len(probs))[::-1]
    ax.barh(pos, probs.to_numpy(), color=BAYES_COLOR)
    ax.axvline(0.5, color=REF_COLOR, linestyle="--", linewidth=1.0)
    ax.set_yticks(pos, list(probs.index))
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("posterior inclusion probability")
    sampled = " (MC3, renormalised over the visited models)" if res.sampled else ""
    ax.set_title(f"{res.prior}, {res.model_prior} model prior{sampled}")
    literal(ax)  # names shown as written
    return ax
