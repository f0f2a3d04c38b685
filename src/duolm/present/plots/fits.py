"""Figures of one fit and its data: scatter, fitted curve with bands, residuals, Anscombe."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from duolm._api import ols
from duolm._format import literal
from duolm.frequentist import OLSResults
from duolm.present.plots._common import (
    BAYES_COLOR,
    DATA_COLOR,
    OLS_COLOR,
    REF_COLOR,
    Fit,
    FloatArray,
    input_variable,
    is_bayes,
    level,
    new_axes,
    new_grid,
    numeric,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["anscombe", "bands", "residuals", "scatter"]

#: Cook's distances drawn as contours in the leverage panel of :func:`residuals`.
COOK_LEVELS = (0.5, 1.0)


def scatter(
    data: pd.DataFrame, x: str, y: str, *, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Scatterplot of ``y`` against ``x``: the look before any model.

    Parameters
    ----------
    data : DataFrame
        Holds the columns ``x`` and ``y``.
    x, y : str
        Column names for the horizontal and vertical axis.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    title : str, optional
        Default ``"<y> against <x>"``.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from duolm import datasets, plots
    >>> ax = plots.scatter(datasets.tracking(), "time", "height")
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('time', 'height')
    >>> plt.close(ax.figure)
    """
    xs, ys = numeric(data, x), numeric(data, y)
    ax = new_axes(ax)
    ax.scatter(xs, ys, s=14, color=DATA_COLOR, label="data", gid="data")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{y} against {x}" if title is None else title)
    literal(ax)
    return ax


def _draw_fit(
    ax: Axes, xg: FloatArray, fit: Fit, frame: pd.DataFrame, alpha: float, filled: bool
) -> None:
    """Mean curve, inner band (mean) and outer band (a new observation) of one fit."""
    bayes = is_bayes(fit)
    tag, color = ("bayes", BAYES_COLOR) if bayes else ("ols", OLS_COLOR)
    lv = level(alpha)
    if bayes:
        names = ("posterior mean", f"{lv} credible band", f"{lv} predictive band")
    else:
        names = ("least squares", f"{lv} confidence band", f"{lv} prediction band")
    pred = fit.predict(frame, alpha=alpha)
    mean = pred["mean"].to_numpy()
    parts = (
        ("mean-band", pred["mean_ci_lower"].to_numpy(), pred["mean_ci_upper"].to_numpy()),
        ("obs-band", pred["obs_ci_lower"].to_numpy(), pred["obs_ci_upper"].to_numpy()),
    )
    if filled:
        for (name, lo, hi), label, shade in zip(parts, names[1:], (0.35, 0.15), strict=True):
            ax.fill_between(
                xg, lo, hi, color=color, alpha=shade, lw=0, label=label, gid=f"{tag}-{name}"
            )
        ax.plot(xg, mean, color=color, lw=2, label=names[0], gid=f"{tag}-mean")
        return
    ax.plot(xg, mean, color=color, lw=1.5, ls="--", label=names[0], gid=f"{tag}-mean")
    for (name, lo, hi), label, style in zip(parts, names[1:], ("--", ":"), strict=True):
        ax.plot(xg, lo, color=color, lw=1.2, ls=style, label=label, gid=f"{tag}-{name}-lower")
        ax.plot(
            xg, hi, color=color, lw=1.2, ls=style, label="_nolegend_", gid=f"{tag}-{name}-upper"
        )


def _grid(
    fit: Fit, other: Fit | None, data: pd.DataFrame, x: str | None, grid: int
) -> tuple[str, FloatArray, FloatArray, pd.DataFrame]:
    """The input column, its values, ``grid`` points across them and the frame to predict
    on; ``other`` (a second fit drawn with ``fit``) must model the same response."""
    column = input_variable(fit, data, x)
    if other is not None and other.spec.response != fit.spec.response:
        raise ValueError(
            f"the fits model different responses ({fit.spec.response!r} and "
            f"{other.spec.response!r})"
        )
    if int(grid) < 2:
        raise ValueError(f"grid must be at least 2, got {grid}")
    xs = numeric(data, column)
    finite = xs[np.isfinite(xs)]
    if finite.size == 0:
        raise ValueError(f"column {column!r} has no finite values")
    xg = np.linspace(float(finite.min()), float(finite.max()), int(grid))
    return column, xs, xg, pd.DataFrame({column: xg})


def bands(
    fit: Fit,
    data: pd.DataFrame,
    *,
    bayes_fit: Fit | None = None,
    x: str | None = None,
    alpha: float = 0.05,
    grid: int = 200,
    ax: Axes | None = None,
) -> Axes:
    """The data, the fitted curve, the band of the mean and the band of a new observation.

    For a least-squares fit the bands are the confidence band of the mean and
    the prediction band; for a Bayesian fit the credible band of ``x' beta``
    and the predictive band (from ``fit.predict``). Given ``bayes_fit`` too,
    the second reading is drawn over the first in dashed lines: one figure
    to compare them (under ``NIG.reference(k)`` the two coincide exactly).

    Curves are drawn on ``grid`` evenly spaced values of the one input
    column of the formula (``time`` in ``height ~ I(time**2)``), from its
    smallest to its largest value in ``data``.

    Parameters
    ----------
    fit : OLSResults or BayesResults
        A formula fit whose right-hand side reads one column.
    data : DataFrame
        The data to scatter (usually the data fitted).
    bayes_fit : OLSResults or BayesResults, optional
        A second fit of the same response, drawn in lines over ``fit``.
    x : str, optional
        The input column; default the one column the formula reads.
    alpha : float
        Significance level: bands of level ``1 - alpha``.
    grid : int
        Number of grid points, >= 2.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib Axes
        Artists carry gids ``"<tag>-mean"``, ``"<tag>-mean-band"``,
        ``"<tag>-obs-band"`` (filled, for ``fit``) or the same with
        ``-lower``/``-upper`` (lines, for ``bayes_fit``), ``<tag>`` being
        ``"ols"`` or ``"bayes"``; the data have gid ``"data"``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import duolm
    >>> from duolm import datasets, plots
    >>> data = datasets.tracking()
    >>> ax = plots.bands(duolm.ols("height ~ I(time**2)", data), data)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('time', 'height')
    >>> plt.close(ax.figure)
    """
    is_bayes(fit)
    level(alpha)
    if bayes_fit is not None:
        is_bayes(bayes_fit)
    column, xs, xg, frame = _grid(fit, bayes_fit, data, x, grid)
    response = fit.spec.response
    ax = new_axes(ax)
    if response in data.columns:
        ax.scatter(xs, numeric(data, response), s=14, color=DATA_COLOR, label="data", gid="data")
    _draw_fit(ax, xg, fit, frame, alpha, filled=True)
    if bayes_fit is not None:
        _draw_fit(ax, xg, bayes_fit, frame, alpha, filled=False)
    ax.set_xlabel(column)
    ax.set_ylabel(response)
    kinds = [("Bayes" if is_bayes(f) else "least squares") for f in (fit, bayes_fit) if f]
    ax.set_title(f"{fit.spec.formula}: {' vs '.join(kinds)}, {level(alpha)} bands")
    ax.legend(fontsize="small")
    literal(ax)
    return ax


def band_gap(
    fit: Fit,
    other: Fit,
    data: pd.DataFrame,
    *,
    x: str | None = None,
    alpha: float = 0.05,
    grid: int = 200,
    ax: Axes | None = None,
) -> Axes:
    """How far the second reading's bands lie from the first's: the differences of their ends.

    Drawn over each other (:func:`bands`), a credible band and a confidence band
    that nearly coincide hide each other; this draws ``other``'s lower and upper
    ends minus ``fit``'s, for the band of the mean and that of a new
    observation, over the input column, with the line of no difference. Under
    ``NIG.reference(k)`` every curve lies on zero.

    Parameters
    ----------
    fit, other : OLSResults or BayesResults
        Two formula fits of the same response (usually least squares, then Bayes).
    data, x, alpha, grid, ax
        As for :func:`bands`.

    Returns
    -------
    matplotlib Axes
        Lines with gids ``"gap-mean-lower"``, ``"gap-mean-upper"``,
        ``"gap-obs-lower"``, ``"gap-obs-upper"`` and ``"no-difference"``.
    """
    column, _, xg, frame = _grid(fit, other, data, x, grid)
    a, b = fit.predict(frame, alpha=alpha), other.predict(frame, alpha=alpha)
    ax = new_axes(ax)
    ax.axhline(0.0, color=REF_COLOR, lw=1, label="no difference", gid="no-difference")
    for band, style, what in (("mean", "-", "mean"), ("obs", "--", "new observation")):
        for end, color in (("lower", OLS_COLOR), ("upper", BAYES_COLOR)):
            key = f"{band}_ci_{end}"
            ax.plot(
                xg,
                b[key].to_numpy() - a[key].to_numpy(),
                color=color,
                ls=style,
                lw=1.5,
                label=f"{end} end, band of the {what}",
                gid=f"gap-{band}-{end}",
            )
    names = [("Bayes" if is_bayes(f) else "least squares") for f in (other, fit)]
    ax.set(
        title=f"{level(alpha)} bands: {names[0]} minus {names[1]}",
        xlabel=column,
        ylabel=f"difference in {fit.spec.response}",
    )
    ax.legend(fontsize="small")
    literal(ax)
    return ax


def residuals(fit: OLSResults, *, fig: Figure | None = None) -> Figure:
    """Residual diagnostics of a least-squares fit, six panels.

    Residuals against fitted values; against the row order (time), with the
    Durbin-Watson statistic; against the previous residual (lag 1); normal
    Q-Q plot of the standardised residuals ``e_i / (s sqrt(1 - h_ii))``
    (Blom's plotting positions); histogram with the normal density of
    variance ``s²``; standardised residuals against leverage with contours of
    Cook's distance 0.5 and 1.

    Parameters
    ----------
    fit : OLSResults
        An in-memory fit (a streamed fit keeps no residuals).
    fig : matplotlib Figure, optional
        An empty figure to draw on; default a new one.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import duolm
    >>> from duolm import datasets, plots
    >>> fig = plots.residuals(duolm.ols("height ~ time", datasets.tracking()))
    >>> len(fig.axes)
    6
    >>> plt.close(fig)
    """
    if not isinstance(fit, OLSResults):
        raise TypeError(f"fit must be an OLSResults, got {type(fit).__name__}")
    e = fit.resid.to_numpy()
    fitted = fit.fittedvalues.to_numpy()
    h = fit.leverage.to_numpy()
    s = math.sqrt(fit.scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = e / (s * np.sqrt(1.0 - h))
    n = e.size
    fig, axes = new_grid(fig, 2, 3, (12.0, 7.5))
    ax_fit, ax_time, ax_lag, ax_qq, ax_hist, ax_lev = axes
    dot: dict[str, Any] = {"s": 12, "color": OLS_COLOR}

    ax_fit.scatter(fitted, e, **dot)
    ax_fit.axhline(0.0, color=REF_COLOR, lw=1)
    ax_fit.set(title="Residuals vs fitted", xlabel="fitted value", ylabel="residual")

    ax_time.plot(np.arange(1, n + 1), e, "o-", color=OLS_COLOR, ms=3, lw=0.8)
    ax_time.axhline(0.0, color=REF_COLOR, lw=1)
    ax_time.set(
        title=f"Residuals in row order (Durbin-Watson {fit.diagnostics.durbin_watson:.3f})",
        xlabel="observation (row order)",
        ylabel="residual",
    )

    ax_lag.scatter(e[:-1], e[1:], **dot)
    ax_lag.axhline(0.0, color=REF_COLOR, lw=1)
    ax_lag.axvline(0.0, color=REF_COLOR, lw=1)
    ax_lag.set(title="Residual vs the previous one", xlabel="residual e[t-1]", ylabel="e[t]")

    ok = np.sort(r[np.isfinite(r)])
    theory = stats.norm.ppf((np.arange(1, ok.size + 1) - 0.375) / (ok.size + 0.25))
    ax_qq.scatter(theory, ok, **dot)
    if ok.size:
        edge = float(max(abs(theory[0]), abs(theory[-1]), abs(ok[0]), abs(ok[-1])))
        ax_qq.plot([-edge, edge], [-edge, edge], color=REF_COLOR, lw=1, gid="qq-line")
    ax_qq.set(title="Normal Q-Q", xlabel="normal quantile", ylabel="standardised residual")

    ax_hist.hist(e, bins="auto", density=True, color=OLS_COLOR, alpha=0.6)
    span = max(float(np.max(np.abs(e))), 4.0 * s) if n else 4.0 * s
    grid = np.linspace(-span, span, 200)
    ax_hist.plot(grid, stats.norm.pdf(grid, scale=s), color=REF_COLOR, lw=1.5, label="N(0, s²)")
    ax_hist.set(title="Histogram of residuals", xlabel="residual", ylabel="density")
    ax_hist.legend(fontsize="small")

    ax_lev.scatter(h, r, **dot)
    ax_lev.axhline(0.0, color=REF_COLOR, lw=1)
    top = max(3.0, 1.15 * float(np.max(np.abs(ok)))) if ok.size else 3.0
    hg = np.linspace(max(float(np.min(h)) * 0.5, 1e-6), min(float(np.max(h)) * 1.1, 0.999), 200)
    beyond = []
    for d, style in zip(COOK_LEVELS, ("--", ":"), strict=True):
        rc = np.sqrt(d * fit.rank * (1.0 - hg) / hg)
        shown = bool(np.any(rc <= top))  # a contour wholly off the panel gets no legend entry
        label = f"Cook's distance {d:g}" if shown else "_nolegend_"
        ax_lev.plot(hg, rc, color="C3", ls=style, lw=1, label=label, gid=f"cook-{d:g}")
        ax_lev.plot(hg, -rc, color="C3", ls=style, lw=1, label="_nolegend_")
        if not shown:
            beyond.append(f"{d:g}")
    if beyond:  # say where they went instead of listing lines nobody can see
        ax_lev.text(
            0.98,
            0.02,
            f"Cook's distance {' and '.join(beyond)}: beyond the panel",
            transform=ax_lev.transAxes,
            ha="right",
            va="bottom",
            fontsize="x-small",
            color="C3",
            gid="cook-beyond",
        )
    ax_lev.set_ylim(-top, top)
    ax_lev.set(
        title="Residuals vs leverage", xlabel="leverage h_ii", ylabel="standardised residual"
    )
    if len(beyond) < len(COOK_LEVELS):  # a legend only of the contours that are drawn
        ax_lev.legend(fontsize="small")

    fig.suptitle(f"Residual diagnostics: {fit.spec.formula or fit.spec.response}")
    literal(fig)
    return fig


def anscombe(data: pd.DataFrame | None = None, *, fig: Figure | None = None) -> Figure:
    """Anscombe's quartet, four panels, each with its least-squares line.

    The four lines are (to three digits) the same ``y = 3.00 + 0.500 x``,
    with the same R²; only the scatterplots tell the data apart.

    Parameters
    ----------
    data : DataFrame, optional
        Long form with columns ``dataset``, ``x``, ``y``; default
        :func:`duolm.datasets.anscombe`.
    fig : matplotlib Figure, optional
        An empty figure to draw on; default a new one.

    Returns
    -------
    matplotlib Figure
        One panel per data set (shared axes); each line has gid ``"fit"``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from duolm import plots
    >>> fig = plots.anscombe()
    >>> [ax.get_title() for ax in fig.axes][0]
    'I: y = 3.00 + 0.500 x, R² = 0.667'
    >>> plt.close(fig)
    """
    if data is None:
        from duolm.datasets import anscombe as load

        data = load()
    for column in ("dataset", "x", "y"):
        if column not in data.columns:
            raise ValueError(f"data needs columns dataset, x, y; {column!r} is missing")
    names = list(dict.fromkeys(data["dataset"]))
    ncols = 2 if len(names) > 1 else 1
    nrows = math.ceil(len(names) / ncols)
    fig, axes = new_grid(fig, nrows, ncols, (9.0, 7.0), sharex=True, sharey=True)
    xs = numeric(data, "x")
    lo, hi = float(np.nanmin(xs)), float(np.nanmax(xs))
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    xg = np.array([lo - pad, hi + pad])
    for i, (ax, name) in enumerate(zip(axes, names, strict=False)):
        part = data[data["dataset"] == name]
        est = ols("y ~ x", part)
        b0, b1 = float(est.params["Intercept"]), float(est.params["x"])
        ax.scatter(numeric(part, "x"), numeric(part, "y"), s=22, color=OLS_COLOR, gid="data")
        ax.plot(xg, b0 + b1 * xg, color=BAYES_COLOR, lw=1.5, gid="fit")
        ax.set_title(f"{name}: y = {b0:.2f} + {b1:.3f} x, R² = {est.rsquared:.3f}")
        if i // ncols == nrows - 1:
            ax.set_xlabel("x")
        if i % ncols == 0:
            ax.set_ylabel("y")
    for ax in axes[len(names) :]:
        ax.remove()
    fig.suptitle("Anscombe's quartet: one regression line, four data sets")
    literal(fig)
    return fig
