"""The lecture, end to end: what ``duolm demo`` fits, prints and draws.

The lecture "Frequentist versus Bayesian modelling" (``docs/lecture.md`` tells
it in English) walks through one example: the height of a rising object
measured by radar (:func:`duolm.datasets.tracking`). :func:`run` does every
step on the built-in data and returns the fitted objects, so that the tests
can check what the lecture claims:

1. look before you fit: Anscombe's quartet and the scatterplot of the data;
2. least squares, a line ``height ~ time`` and a parabola
   ``height ~ I(time**2)``, with their statsmodels-style tables;
3. the Bayesian parabola under the lecture's prior ``NIG.from_xi(diag(10000,
   0.1, 0.1), 5)``, its evolution over t and its final estimates;
4. the two models compared (R², AIC, BIC, evidence, Bayes factor);
5. one model read both ways (confidence beside credible intervals), and the
   reference prior under which the two intervals are the same numbers;
6. a manoeuvring target (``tracking(manoeuvre_at=...)``): one fit of all the
   rows against forgetting (:func:`duolm.trajectory` with ``forget``) and
   change detection (:func:`duolm.changepoints`).

Presentation only (DESIGN.md, "Layers"): every number comes from
:func:`duolm.ols`, :func:`duolm.bayes`, :func:`duolm.compare`,
:func:`duolm.side_by_side`, :func:`duolm.trajectory` and :func:`duolm.changepoints`.
Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot, no
window, nothing left open) and written as PNG files.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from duolm import datasets
from duolm._api import bayes, changepoints, compare, ols, trajectory
from duolm.bayesian import NIG, BayesResults, Changepoints, SideBySide, side_by_side
from duolm.frequentist import OLSResults
from duolm.present import plots
from duolm.present._cells import interval_gap, ols_reference

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "BAYES_COLUMNS",
    "LECTURE_NU",
    "LECTURE_XI",
    "LINE",
    "MANOEUVRE",
    "PARABOLA",
    "LectureDemo",
    "Manoeuvre",
    "Section",
    "anscombe_table",
    "final_estimates",
    "lecture_prior",
    "manoeuvre_prior",
    "new_figure",
    "run",
    "save_figure",
    "sections",
]

#: The lecture's two models of the tracking data.
LINE = "height ~ time"
PARABOLA = "height ~ I(time**2)"

#: The lecture's prior: the extended information matrix (order [y, x]) and nu.
LECTURE_XI = np.diag([10000.0, 0.1, 0.1])
LECTURE_NU = 5.0

#: The manoeuvring target: the model of its motion, its rows, where it brakes, the
#: forgetting factor, and a prior in the radar's units (coefficients up to 1e4, 1e2
#: and 1, sigma near 30).
MANOEUVRE = "height ~ time + I(time**2)"
MANOEUVRE_T = 160
MANOEUVRE_AT = 80
MANOEUVRE_FORGET = 0.9


def manoeuvre_prior() -> NIG:
    """The segments' prior: ``NIG(0, diag(1e8, 1e4, 1), a=2, b=1800)`` (sigma² near 1800).

    Examples
    --------
    >>> manoeuvre_prior().b
    1800.0
    """
    return NIG(np.zeros(3), np.diag([1e8, 1e4, 1.0]), a=2.0, b=1800.0)


#: Columns of the comparison table the lecture reads.
BAYES_COLUMNS = ("rsquared", "aic", "bic", "log_evidence", "bayes_factor", "posterior_prob")

#: Width that prose is wrapped to.
_WIDTH = 100

#: Resolution of the written PNG files.
DPI = 100


def lecture_prior() -> NIG:
    """The lecture's prior: ``NIG.from_xi(diag(10000, 0.1, 0.1), 5)``.

    That is ``m = 0``, ``V = 10 I``, ``a = 2.5``, ``b = 5000``: "a very flat
    prior centred at 0 for the coefficients".

    Examples
    --------
    >>> prior = lecture_prior()
    >>> prior.a, prior.b
    (2.5, 5000.0)
    """
    return NIG.from_xi(LECTURE_XI, LECTURE_NU)


@dataclass(frozen=True, eq=False)
class Manoeuvre:
    """The manoeuvring target read three ways.

    Attributes
    ----------
    data : DataFrame
        ``duolm.datasets.tracking(T=160, manoeuvre_at=80)``: the object brakes
        (acceleration ``-a``) after time 80, height and velocity continuous.
    prior : NIG
        :func:`manoeuvre_prior`.
    single : OLSResults
        One parabola, least squares of every row.
    plain, forgetting : DataFrame
        :func:`duolm.trajectory` without and with forgetting toward the prior
        (``forget=0.9``).
    changes : Changepoints
        :func:`duolm.changepoints` of the rows under the prior.
    """

    data: pd.DataFrame
    prior: NIG
    single: OLSResults
    plain: pd.DataFrame
    forgetting: pd.DataFrame
    changes: Changepoints

    @property
    def after(self) -> pd.Series:
        """Rows after the manoeuvre (boolean, by row)."""
        return self.data["time"] > MANOEUVRE_AT

    @property
    def noticed_at(self) -> int | None:
        """The first time at which the MAP run length (filtering: the rows so far) says the
        current segment began after the manoeuvre; None if it never does."""
        pos = np.arange(len(self.data))
        began = pos - self.changes.map_run_length + 2  # the time the current run began
        late = np.flatnonzero(began > MANOEUVRE_AT)
        return int(self.data["time"].iloc[late[0]]) if len(late) else None

    @property
    def table(self) -> pd.DataFrame:
        """Each reading's coefficient of t² for the motion now (truth: -a/2 = -0.25) and its
        standard error or posterior sd, and the mean log predictive density of the rows
        after the manoeuvre for the readings that predict row by row."""
        t2 = "I(time ** 2)"
        last = self.changes.segments[-1].ols
        after = self.after.to_numpy()
        rows = {
            "one fit, every row": (self.single.params[t2], self.single.bse[t2], np.nan),
            "no forgetting": (
                self.plain[f"m[{t2}]"].iloc[-1],
                self.plain[f"sd[{t2}]"].iloc[-1],
                self.plain["pred_logpdf"].to_numpy()[after].mean(),
            ),
            f"forget={MANOEUVRE_FORGET:g}": (
                self.forgetting[f"m[{t2}]"].iloc[-1],
                self.forgetting[f"sd[{t2}]"].iloc[-1],
                self.forgetting["pred_logpdf"].to_numpy()[after].mean(),
            ),
            "last segment found": (
                last.params[t2] if last is not None else np.nan,
                last.bse[t2] if last is not None else np.nan,
                np.nan,
            ),
        }
        return pd.DataFrame.from_dict(
            rows, orient="index", columns=["t2_coef", "t2_se", "pred_logpdf_after"]
        )


@dataclass(frozen=True, eq=False)
class LectureDemo:
    """Everything the lecture computes, on the built-in tracking data.

    Attributes
    ----------
    data : DataFrame
        ``duolm.datasets.tracking()``: columns ``time``, ``height``.
    line, parabola : OLSResults
        Least squares of ``height ~ time`` and ``height ~ I(time**2)``.
    prior : NIG
        The lecture's prior (:func:`lecture_prior`).
    bayes_line, bayes_parabola : BayesResults
        Both models under the lecture's prior.
    trajectory : DataFrame
        The Bayesian parabola after each observation (:func:`duolm.trajectory`).
    comparison : DataFrame
        :func:`duolm.compare` of the line and the parabola, each
        read both ways (the evidence under the lecture's prior), indexed
        ``line``, ``parabola``.
    side_by_side : SideBySide
        The parabola's confidence and credible intervals (lecture's prior).
    reference : BayesResults
        The parabola under the reference prior ``p(beta, sigma²) ∝ 1/sigma²``.
    reference_side_by_side : SideBySide
        Confidence beside credible intervals under the reference prior:
        the same numbers.
    anscombe : DataFrame
        Summary statistics and least-squares line of each set of Anscombe's quartet.
    manoeuvre : Manoeuvre
        The manoeuvring target: one fit, forgetting, change detection.
    alpha : float
        Significance level of every interval.
    figures : mapping of str to Path
        The PNG files written, by name (empty when nothing was written).
    """

    data: pd.DataFrame
    line: OLSResults
    parabola: OLSResults
    prior: NIG
    bayes_line: BayesResults
    bayes_parabola: BayesResults
    trajectory: pd.DataFrame
    comparison: pd.DataFrame
    side_by_side: SideBySide
    reference: BayesResults
    reference_side_by_side: SideBySide
    anscombe: pd.DataFrame
    manoeuvre: Manoeuvre
    alpha: float
    figures: Mapping[str, Path]

    @property
    def reference_gap(self) -> float:
        """Largest ``|credible - confidence|`` end point under the reference prior."""
        return interval_gap(self.reference_side_by_side)


def anscombe_table(data: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per data set of Anscombe's quartet: means, variances, correlation and the fitted line.

    Parameters
    ----------
    data : DataFrame, optional
        Long form (``dataset``, ``x``, ``y``); default :func:`duolm.datasets.anscombe`.

    Returns
    -------
    DataFrame
        Indexed by data set; columns ``mean_x, mean_y, var_x, var_y, corr,
        intercept, slope, rsquared``.

    Examples
    --------
    >>> anscombe_table()["slope"].round(3).tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    quartet = datasets.anscombe() if data is None else data
    rows = {}
    for name, part in quartet.groupby("dataset", sort=False):
        fit = ols("y ~ x", part)
        rows[str(name)] = {
            "mean_x": part["x"].mean(),
            "mean_y": part["y"].mean(),
            "var_x": part["x"].var(),
            "var_y": part["y"].var(),
            "corr": part["x"].corr(part["y"]),
            "intercept": float(fit.params["Intercept"]),
            "slope": float(fit.params["x"]),
            "rsquared": fit.rsquared,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "dataset"
    return table


def final_estimates(fit: BayesResults) -> str:
    """The lecture's four closing lines for a Bayesian fit.

    ``Final estimate of beta`` (the posterior mean ``m_t``), ``of sigma2``
    (the posterior mean ``b_t / (a_t - 1)``), ``std(beta)`` (the posterior sd
    ``sqrt(b_t / (a_t - 1) diag V_t)``) and ``std(sigma2)``
    (``b_t / ((a_t - 1) sqrt(a_t - 2))``).

    Examples
    --------
    >>> data = datasets.tracking()
    >>> print(final_estimates(bayes(PARABOLA, data, prior=lecture_prior())))
    Final estimate of beta:   [66.65477  0.3005506]
    Final estimate of sigma2: 1643.6565
    std(beta):                [6.816389  0.002346356]
    std(sigma2):              258.2757
    """

    def vec(values: pd.Series) -> str:
        return "[" + "  ".join(f"{v:.7g}" for v in values) + "]"

    return "\n".join(
        [
            f"Final estimate of beta:   {vec(fit.params)}",
            f"Final estimate of sigma2: {fit.sigma2_mean:.8g}",
            f"std(beta):                {vec(fit.bse)}",
            f"std(sigma2):              {np.sqrt(fit.sigma2_var):.8g}",
        ]
    )


# -- figures ----------------------------------------------------------------------------


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib Figure outside pyplot (no backend, no window, garbage collected)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) and return the path."""
    fig.savefig(path, dpi=DPI)
    return path


def _draw_figures(demo: LectureDemo, out: Path) -> dict[str, Path]:
    """Every figure of the lecture, as PNG files in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    k = len(demo.parabola.terms)
    drawers: list[tuple[str, tuple[float, float], Callable[[Figure], object]]] = [
        ("anscombe", (9.0, 7.0), lambda f: plots.anscombe(fig=f)),
        (
            "scatter",
            (6.4, 4.8),
            lambda f: plots.scatter(
                demo.data, "time", "height", ax=f.add_subplot(), title="Rising object: radar"
            ),
        ),
        (
            "line",
            (8.0, 5.0),
            lambda f: plots.bands(demo.line, demo.data, alpha=demo.alpha, ax=f.add_subplot()),
        ),
        ("line-residuals", (12.0, 7.5), lambda f: plots.residuals(demo.line, fig=f)),
        (
            "parabola",
            (8.0, 5.0),
            lambda f: plots.bands(demo.parabola, demo.data, alpha=demo.alpha, ax=f.add_subplot()),
        ),
        ("parabola-residuals", (12.0, 7.5), lambda f: plots.residuals(demo.parabola, fig=f)),
        (
            "prior",
            (11.0, 4.5),
            lambda f: plots.nig_density(demo.prior, names=demo.parabola.terms, fig=f),
        ),
        (
            "bayes-evolution",
            (8.0, 2.3 * (k + 1) + 0.6),
            lambda f: plots.evolution(
                demo.trajectory,
                alpha=demo.alpha,
                reference=ols_reference(demo.parabola),
                reference_label="least squares, all rows",
                fig=f,
            ),
        ),
        (
            "bayes-bands",
            (8.0, 5.0),
            lambda f: plots.bands(
                demo.parabola,
                demo.data,
                bayes_fit=demo.bayes_parabola,
                alpha=demo.alpha,
                ax=f.add_subplot(),
            ),
        ),
        (
            "bayes-marginals",
            (12.6, 3.6),
            lambda f: plots.marginals(demo.bayes_parabola, demo.parabola, alpha=demo.alpha, fig=f),
        ),
        (
            "manoeuvre-forgetting",
            (12.0, 9.0),
            lambda f: plots.evolution_beside(
                demo.manoeuvre.plain,
                demo.manoeuvre.forgetting,
                titles=("no forgetting", f"forget={MANOEUVRE_FORGET:g}, toward the prior"),
                alpha=demo.alpha,
                start=5,
                fig=f,
            ),
        ),
        ("manoeuvre-changepoints", (8.0, 6.0), lambda f: demo.manoeuvre.changes.plot(fig=f)),
    ]
    written = {}
    for name, (w, h), draw in drawers:
        fig = new_figure(w, h)
        draw(fig)
        written[name] = save_figure(fig, out / f"{name}.png")
    return written


# -- the run ----------------------------------------------------------------------------


def run(out: str | Path | None = None, *, alpha: float = 0.05) -> LectureDemo:
    """Run the lecture on the built-in data; with ``out``, write its figures there.

    Parameters
    ----------
    out : str or Path, optional
        Folder for the PNG figures (created if needed); None writes nothing.
        Files: ``anscombe``, ``scatter``, ``line``, ``line-residuals``,
        ``parabola``, ``parabola-residuals``, ``prior``, ``bayes-evolution``,
        ``bayes-bands``, ``bayes-marginals``, ``manoeuvre-forgetting``,
        ``manoeuvre-changepoints`` (``.png``).
    alpha : float
        Significance level of every interval and band.

    Returns
    -------
    LectureDemo

    Examples
    --------
    >>> demo = run()
    >>> bool(demo.parabola.rsquared > demo.line.rsquared)
    True
    >>> bool(demo.reference_gap < 1e-9)
    True
    """
    data = datasets.tracking()
    line, parabola = ols(LINE, data), ols(PARABOLA, data)
    prior = lecture_prior()
    bayes_line = bayes(LINE, data, prior=prior)
    bayes_parabola = bayes(PARABOLA, data, prior=prior)
    reference = bayes(PARABOLA, data, prior=NIG.reference(len(parabola.terms)))
    demo = LectureDemo(
        data=data,
        line=line,
        parabola=parabola,
        prior=prior,
        bayes_line=bayes_line,
        bayes_parabola=bayes_parabola,
        trajectory=trajectory(PARABOLA, data, prior=prior, alpha=alpha),
        comparison=compare({"line": (line, bayes_line), "parabola": (parabola, bayes_parabola)}),
        side_by_side=side_by_side(parabola, bayes_parabola, alpha=alpha),
        reference=reference,
        reference_side_by_side=side_by_side(parabola, reference, alpha=alpha),
        anscombe=anscombe_table(),
        manoeuvre=_manoeuvre(alpha),
        alpha=alpha,
        figures={},
    )
    if out is None:
        return demo
    figures = _draw_figures(demo, Path(out))
    return dataclasses.replace(demo, figures=figures)


def _manoeuvre(alpha: float) -> Manoeuvre:
    data = datasets.tracking(T=MANOEUVRE_T, manoeuvre_at=MANOEUVRE_AT)
    prior = manoeuvre_prior()
    return Manoeuvre(
        data=data,
        prior=prior,
        single=ols(MANOEUVRE, data),
        plain=trajectory(MANOEUVRE, data, prior=prior, alpha=alpha),
        forgetting=trajectory(
            MANOEUVRE,
            data,
            prior=prior,
            alpha=alpha,
            forget=MANOEUVRE_FORGET,
            forget_toward="prior",
        ),
        changes=changepoints(MANOEUVRE, data, prior=prior),
    )


# -- what is printed --------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One printed step of the demo.

    Attributes
    ----------
    title : str
        The heading.
    items : tuple of str or DataFrame
        Printed in order: a string as it is (preformatted, already wrapped),
        a frame as a table.
    """

    title: str
    items: tuple[str | pd.DataFrame, ...]


def _numbers(values: object) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in np.asarray(values, dtype=np.float64)) + "]"


def _say(*paragraphs: str) -> str:
    return "\n\n".join(textwrap.fill(p, _WIDTH) for p in paragraphs)


def _figure_note(demo: LectureDemo, *names: str) -> str:
    files = [str(demo.figures[n]) for n in names if n in demo.figures]
    return "Figure: " + ", ".join(files) if files else ""


def _items(*items: str | pd.DataFrame) -> tuple[str | pd.DataFrame, ...]:
    return tuple(i for i in items if not (isinstance(i, str) and not i))


def sections(demo: LectureDemo) -> list[Section]:
    """The demo as printed steps: headings, the summaries, tables and short notes."""
    line, par = demo.line, demo.parabola
    dw = line.diagnostics.durbin_watson
    cmp = demo.comparison
    evidence = cmp["log_evidence"]
    bf = float(evidence["line"]) - float(evidence["parabola"])
    ref_t = demo.reference_side_by_side.table
    return [
        Section(
            "1. Look first: Anscombe's quartet",
            _items(
                _say(
                    "Four data sets with the same means, variances, correlation and regression "
                    "line; only their scatterplots tell them apart. Plot before you fit."
                ),
                demo.anscombe,
                _figure_note(demo, "anscombe"),
            ),
        ),
        Section(
            "2. The rising object: heights measured by radar",
            _items(
                _say(
                    f"{len(demo.data)} measurements (duolm.datasets.tracking()): time t = 1.."
                    f"{len(demo.data)}, height y_t of an object caught at height 0 and rising "
                    "with constant acceleration, plus Gaussian noise."
                ),
                demo.data.describe().T,
                _figure_note(demo, "scatter"),
            ),
        ),
        Section(
            f"3. Least squares, a straight line: {LINE}",
            _items(
                str(line.summary(alpha=demo.alpha)),
                _say(
                    f"R² = {line.rsquared:.3f} looks excellent, but the Durbin-Watson statistic "
                    f"is {dw:.3f}, far below 2: the residuals run in long waves (they are "
                    "positive at both ends and negative in the middle), the line misses the "
                    "curvature. R² alone does not say the model is right."
                ),
                _figure_note(demo, "line", "line-residuals"),
            ),
        ),
        Section(
            f"4. Least squares, a parabola: {PARABOLA}",
            _items(
                str(par.summary(alpha=demo.alpha)),
                _say(
                    f"R² = {par.rsquared:.4f}, AIC {par.aic:.1f} and BIC {par.bic:.1f} against "
                    f"the line's {line.aic:.1f} and {line.bic:.1f}; the residuals look normal "
                    f"(Prob(JB) = {par.diagnostics.jarque_bera_pvalue:.3f}). The large condition "
                    "number is a matter of units (t² reaches 6400), not of collinearity."
                ),
                _figure_note(demo, "parabola", "parabola-residuals"),
            ),
        ),
        Section(
            "5. Bayes: the parabola under the lecture's prior",
            _items(
                _say(
                    "Prior NIG.from_xi(diag(10000, 0.1, 0.1), nu=5): "
                    f"m = {_numbers(demo.prior.m)}, V = diag({_numbers(np.diag(demo.prior.V))}), "
                    f"a = {demo.prior.a:g}, b = {demo.prior.b:g}. The posterior is updated one "
                    "observation at a time; the sequential and the batch update give the same "
                    "posterior."
                ),
                str(demo.bayes_parabola.summary(alpha=demo.alpha)),
                final_estimates(demo.bayes_parabola),
                _figure_note(demo, "prior", "bayes-evolution", "bayes-bands", "bayes-marginals"),
            ),
        ),
        Section(
            "6. Which model? Line against parabola",
            _items(
                cmp.loc[:, list(BAYES_COLUMNS)],
                _say(
                    "Every criterion prefers the parabola: higher R², lower AIC and BIC, and "
                    "a higher evidence p(y | model) under the lecture's prior. The Bayes "
                    f"factor line : parabola is exp({bf:.1f})."
                ),
            ),
        ),
        Section(
            "7. One model, two readings (lecture's prior)",
            _items(
                demo.side_by_side.table,
                _say(demo.side_by_side.frequentist, demo.side_by_side.bayesian),
            ),
        ),
        Section(
            "8. The reference prior p(beta, sigma²) ∝ 1/sigma²",
            _items(
                ref_t.loc[:, ["ols_lower", "bayes_lower", "ols_upper", "bayes_upper"]],
                _say(
                    "Under the reference prior the posterior of each coefficient is Student t "
                    f"with n - k = {par.df_resid} degrees of freedom, centred at the "
                    "least-squares estimate with the least-squares standard error: the "
                    "credible intervals are the confidence intervals (largest difference "
                    f"{demo.reference_gap:.2g}). The numbers agree; what they mean differs."
                ),
            ),
        ),
        _manoeuvre_section(demo),
    ]


def _manoeuvre_section(demo: LectureDemo) -> Section:
    man = demo.manoeuvre
    table = man.table
    coef = table["t2_coef"].to_numpy()
    pred = table["pred_logpdf_after"].to_numpy()
    found = ", ".join(str(int(man.data["time"].iloc[c])) for c in man.changes.changes)
    return Section(
        "9. A manoeuvring target: one fit, forgetting, change detection",
        _items(
            _say(
                f"{MANOEUVRE_T} measurements (duolm.datasets.tracking(T={MANOEUVRE_T}, "
                f"manoeuvre_at={MANOEUVRE_AT})): after time {MANOEUVRE_AT} the object brakes, "
                "its acceleration turns from +0.5 to -0.5, so the coefficient of t² of the "
                f"motion now is -0.25. Model {MANOEUVRE}, prior NIG(0, diag(1e8, 1e4, 1), "
                "a=2, b=1800) in the radar's units."
            ),
            table,
            _say(
                "One parabola through every row averages the two motions: its t² coefficient "
                f"is {coef[0]:.3g}, and its residuals run in waves (Durbin-Watson "
                f"{man.single.diagnostics.durbin_watson:.3f}). The posterior updated row by row "
                "without forgetting ends at the same average. Forgetting "
                f"(forget={MANOEUVRE_FORGET:g}, toward the prior: the last ~"
                f"{1 / (1 - MANOEUVRE_FORGET):.0f} rows count) follows the braking, and its "
                "one-step-ahead predictions after the manoeuvre are far better (mean log "
                f"density {pred[2]:.2f} against {pred[1]:.2f}), at the price "
                "of a wider posterior. Change detection (Adams & MacKay) says where it happened. "
                "Online, the MAP run length drops at time "
                f"{man.noticed_at}: evidence that only the curvature changed takes rows to "
                "build. Looking back over all the rows, the MAP segmentation puts the change at "
                f"time {found}, within a few rows of {MANOEUVRE_AT + 1} (the place of a change "
                "of curvature alone is known to about sqrt(sigma/|delta a|) rows), and fits "
                "each segment both ways."
            ),
            _figure_note(demo, "manoeuvre-forgetting", "manoeuvre-changepoints"),
        ),
    )
