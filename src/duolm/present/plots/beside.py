"""Two trajectories side by side: the posterior's evolution without and with forgetting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from duolm._format import literal
from duolm.present.plots.posterior import evolution

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["evolution_beside"]


def evolution_beside(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    titles: Sequence[str] = ("no forgetting", "with forgetting"),
    alpha: float = 0.05,
    start: int = 1,
    fig: Figure | None = None,
) -> Figure:
    """:func:`evolution` of two trajectories of the same model, in two columns.

    Typically ``duolm.trajectory(...)`` and ``duolm.trajectory(..., forget=lam)``:
    each panel of the right column shares its y limits with the panel of the
    left column beside it, so the two can be read against each other.

    Parameters
    ----------
    left, right : DataFrame
        Results of :func:`duolm.trajectory` with the same columns.
    titles : pair of str
        Title of each column.
    alpha, start
        As :func:`evolution`.
    fig : matplotlib Figure, optional
        An empty figure to draw on; default a new one.

    Returns
    -------
    matplotlib Figure
        Two subfigures, each :func:`evolution`'s ``k + 1`` panels.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import duolm
    >>> data = duolm.datasets.tracking(T=120, manoeuvre_at=60)
    >>> plain = duolm.trajectory("height ~ time + I(time**2)", data)
    >>> forgetting = duolm.trajectory("height ~ time + I(time**2)", data, forget=0.95)
    >>> fig = duolm.plots.evolution_beside(plain, forgetting)
    >>> len(fig.axes)
    8
    >>> plt.close(fig)
    """
    if list(left.columns) != list(right.columns):
        raise ValueError("the two trajectories must be of the same model (the same columns)")
    if len(titles) != 2:
        raise ValueError(f"titles must be two strings, got {titles!r}")
    if fig is None:
        import matplotlib.pyplot as plt

        n_panels = sum(str(c).startswith("m[") for c in left.columns) + 1
        fig = plt.figure(figsize=(14.0, 2.3 * n_panels + 0.9), layout="constrained")
    elif fig.axes:
        raise ValueError("fig must be an empty Figure (it already has Axes)")
    subs: Any = fig.subfigures(1, 2)
    for sub, traj, title in zip(subs, (left, right), titles, strict=True):
        evolution(traj, alpha=alpha, start=start, fig=sub)
        sub.suptitle(title)
    for a, b in zip(subs[0].axes, subs[1].axes, strict=True):
        lo = min(a.get_ylim()[0], b.get_ylim()[0])
        hi = max(a.get_ylim()[1], b.get_ylim()[1])
        a.set_ylim(lo, hi)
        b.set_ylim(lo, hi)
    literal(fig)  # names shown as written
    return fig
