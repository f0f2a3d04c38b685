"""Helpers shared by the plot functions: figures, labels, colours, grids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm._checks import check_alpha
from duolm.bayesian import BayesResults
from duolm.design import parse_formula
from duolm.frequentist import OLSResults

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FloatArray = NDArray[np.float64]
Fit = OLSResults | BayesResults

#: Colours: the frequentist reading, the Bayesian one, the data, references.
OLS_COLOR = "C0"
BAYES_COLOR = "C1"
DATA_COLOR = "0.25"
REF_COLOR = "0.45"


def new_axes(ax: Axes | None, figsize: tuple[float, float] = (6.4, 4.8)) -> Axes:
    """``ax``, or the one Axes of a new pyplot figure (shown only when the caller asks)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize)
    return fig.add_subplot()


def new_grid(
    fig: Figure | None,
    nrows: int,
    ncols: int,
    figsize: tuple[float, float],
    **subplot_kw: Any,
) -> tuple[Figure, list[Axes]]:
    """A ``nrows x ncols`` grid of Axes on ``fig`` (a new pyplot figure when None)."""
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=figsize, layout="constrained")
    elif fig.axes:
        raise ValueError("fig must be an empty Figure (it already has Axes)")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, list(axes.ravel())


def few_ticks(ax: Axes, nbins: int = 4) -> None:
    """At most ``nbins`` x ticks: numbers like 0.29590 side by side must not collide."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=nbins))


def level(alpha: float) -> str:
    """``"95%"`` for ``alpha = 0.05``."""
    return f"{100.0 * (1.0 - check_alpha(alpha)):.4g}%"


class SeveralInputsError(ValueError):
    """The formula reads several input columns: a curve against one needs ``x=``.

    Attributes
    ----------
    formula : str
    columns : tuple of str
        The input columns the right-hand side reads.
    """

    def __init__(self, formula: str, columns: tuple[str, ...]) -> None:
        self.formula, self.columns = formula, columns
        super().__init__(
            f"the formula {formula!r} reads {len(columns)} input column(s) {list(columns)}; "
            "curves need exactly one (pass x= when the others are constant)"
        )

    def without_advice(self) -> str:
        """The message for callers that cannot take ``x=`` (the report, the command line)."""
        return (
            f"the formula {self.formula!r} reads {len(self.columns)} input columns "
            f"{list(self.columns)}; the bands are drawn against one input"
        )


def input_variable(fit: Fit, data: pd.DataFrame, x: str | None) -> str:
    """The one data column the right-hand side of ``fit``'s formula reads."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if x is not None:
        if x not in data.columns:
            raise ValueError(f"x={x!r} is not a column of data {list(data.columns)}")
        return x
    formula = fit.spec.formula
    if formula is None:
        raise ValueError("the fit was given X= and y=, not a formula: curves need a formula fit")
    columns = parse_formula(formula, [str(c) for c in data.columns]).rhs_columns
    if len(columns) != 1:
        raise SeveralInputsError(formula, tuple(columns))
    return columns[0]


def numeric(frame: pd.DataFrame, column: str) -> FloatArray:
    """A column as float64 (NaN where missing)."""
    if column not in frame.columns:
        raise ValueError(f"{column!r} is not a column of data {list(frame.columns)}")
    values: FloatArray = pd.to_numeric(frame[column], errors="raise").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return values


def is_bayes(fit: object) -> bool:
    """True for a Bayesian result, False for a least-squares one."""
    if isinstance(fit, BayesResults):
        return True
    if isinstance(fit, OLSResults):
        return False
    raise TypeError(f"expected an OLSResults or a BayesResults, got {type(fit).__name__}")
