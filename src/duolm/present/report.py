"""One self-contained HTML page about one model, read both ways.

:func:`build_report` fits the model by least squares and by the conjugate
Bayesian update and lays out, on one page: the data (first rows and a
description), the two summary tables side by side, the confidence and
credible intervals with what each means, the fitted curve with its bands,
the evolution of the posterior over the observations, the residual
diagnostics, the influence of each row, the posterior marginals, the
added-variable and component-plus-residual plots of a model with several
terms, and notes in plain words (those of
the summaries).

The page stands alone: CSS is inline, figures are PNG images embedded as
``data:`` URIs, nothing is loaded from the network and no script is needed
to read it. Everything that comes from the user (the formula, column names,
cells, the title) is HTML-escaped.

Presentation only (DESIGN.md, "Layers"): every number is read from the
result objects of :func:`duolm.ols`, :func:`duolm.bayes`,
:func:`duolm.side_by_side` and :func:`duolm.trajectory`.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from duolm._api import bayes, reduce, trajectory
from duolm._checks import CovType
from duolm._version import __version__
from duolm.bayesian import NIG, BayesResults, SideBySide, side_by_side
from duolm.errors import DataError, PriorError
from duolm.frequentist import OLSResults
from duolm.present._cells import cell, interval_gap, ols_reference

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["HEAD_ROWS", "Image", "build_report"]

#: Rows of the data shown at the top of the page.
HEAD_ROWS = 10

#: Resolution of the embedded figures.
DPI = 96

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1250px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
p.meta { color: #555; margin-top: 0; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { padding: 0.2em 0.6em; border-bottom: 1px solid #e5e5e5; }
th { text-align: left; background: #fafafa; }
td { text-align: right; font-variant-numeric: tabular-nums; }
.readings { display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; }
.readings > div { flex: 1 1 520px; min-width: 0; overflow-x: auto; }
.frequentist h3 { color: #1f77b4; }
.bayesian h3 { color: #ff7f0e; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
ul.notes li { margin-bottom: 0.5em; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""


@dataclass(frozen=True)
class Image:
    """A figure embedded in the page.

    Attributes
    ----------
    key : str
        Anchor and identifier (``bands``, ``evolution``, ``residuals``, ``marginals``,
        ``influence``, ``added-variable``, ``component-plus-residual``).
    caption : str
        Plain-text caption (escaped when written).
    png : bytes
        The PNG file.
    """

    key: str
    caption: str
    png: bytes

    def html(self) -> str:
        """An ``<img>`` with a ``data:`` URI inside a captioned ``<figure>``."""
        data = base64.b64encode(self.png).decode("ascii")
        caption = html.escape(self.caption)
        return (
            f'<figure id="fig-{html.escape(self.key)}">'
            f'<img src="data:image/png;base64,{data}" alt="{caption}"/>'
            f"<figcaption>{caption}</figcaption></figure>"
        )


def _png(draw: Callable[[Figure], object], size: tuple[float, float]) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    draw(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _frame_html(frame: pd.DataFrame, css: str = "duolm-table") -> str:
    """A frame as an escaped HTML table (index as row headers)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    index_name = html.escape(str(frame.index.name or ""))
    rows = [f"<tr><th>{index_name}</th>{head}</tr>"]
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = "".join(f"<td>{html.escape(cell(v))}</td>" for v in row)
        rows.append(f"<tr><th>{html.escape(str(label))}</th>{cells}</tr>")
    return f'<table class="{css}">\n' + "\n".join(rows) + "\n</table>"


def _para(*texts: str) -> str:
    return "".join(f"<p>{html.escape(t)}</p>" for t in texts)


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}">\n<h2>{html.escape(title)}</h2>\n{body}\n</section>'


def _figures(
    data: pd.DataFrame,
    ols_fit: OLSResults,
    bayes_fit: BayesResults,
    traj: pd.DataFrame,
    alpha: float,
) -> tuple[list[Image], list[str]]:
    """The page's figures, and a note for each that could not be drawn."""
    from duolm.present import plots

    level = f"{100 * (1 - alpha):.4g}%"
    images: list[Image] = []
    missing: list[str] = []
    try:
        png = _png(
            lambda f: plots.bands(
                ols_fit, data, bayes_fit=bayes_fit, alpha=alpha, ax=f.add_subplot()
            ),
            (8.0, 5.0),
        )
        images.append(
            Image(
                "bands",
                f"The data and the fitted curve: least squares (filled, {level} confidence band "
                f"and prediction band) and Bayes (dashed, {level} credible band and predictive "
                "band).",
                png,
            )
        )
    except ValueError as exc:
        from duolm.present.plots._common import SeveralInputsError

        why = exc.without_advice() if isinstance(exc, SeveralInputsError) else str(exc)
        missing.append(f"No bands figure: {why}.")
    k = len(bayes_fit.terms)
    reference = ols_reference(ols_fit)
    images.append(
        Image(
            "evolution",
            "The posterior after each observation: mean, ±1 sd band and "
            f"{level} credible interval of each coefficient and of sigma²; dotted: the "
            "least-squares estimates on all the data.",
            _png(
                lambda f: plots.evolution(
                    traj,
                    alpha=alpha,
                    reference=reference,
                    reference_label="least squares, all rows",
                    fig=f,
                ),
                (8.0, 2.3 * (k + 1) + 0.6),
            ),
        )
    )
    images.append(
        Image(
            "residuals",
            "Residual diagnostics of the least-squares fit: against fitted values and row order, "
            "lag plot, normal Q-Q, histogram, leverage with Cook's distance.",
            _png(lambda f: plots.residuals(ols_fit, fig=f), (12.0, 7.5)),
        )
    )
    ncols = min(k + 1, 3)
    nrows = math.ceil((k + 1) / ncols)
    images.append(
        Image(
            "marginals",
            f"Posterior marginals with their {level} credible intervals; below them the "
            f"least-squares {level} confidence intervals.",
            _png(
                lambda f: plots.marginals(bayes_fit, ols_fit, alpha=alpha, fig=f),
                (4.2 * ncols, 3.6 * nrows),
            ),
        )
    )
    images.append(
        Image(
            "influence",
            "Influence of each row on the least-squares fit: studentised residual against "
            "leverage, area by Cook's distance, the three most influential rows named; dotted: "
            "residuals of ±2 and twice the mean leverage.",
            _png(lambda f: plots.influence_plot(ols_fit, fig=f), (7.0, 5.0)),
        )
    )
    slopes = sum(ols_fit.kept) - (ols_fit.const_col is not None)
    if slopes >= 2:  # with one slope both pictures are the data figure again
        cols = min(slopes, 3)
        size = (4.2 * cols, 3.6 * math.ceil(slopes / cols) + 0.4)
        images.append(
            Image(
                "added-variable",
                "Added-variable plots: the response and each term, both freed of the other "
                "terms; the slope of each cloud is the term's coefficient with the others held "
                "fixed.",
                _png(lambda f: plots.added_variable(ols_fit, fig=f), size),
            )
        )
        images.append(
            Image(
                "component-plus-residual",
                "Component-plus-residual plots: b·x plus the residuals against each term; "
                "points bending away from the straight line show a relation the linear term "
                "misses.",
                _png(lambda f: plots.component_plus_residual(ols_fit, fig=f), size),
            )
        )
    return images, missing


def _reference_note(formula: str, data: pd.DataFrame, ols_fit: OLSResults, alpha: float) -> str:
    """The reference-prior identity, checked on this model."""
    try:
        ref = bayes(formula, data, prior=NIG.reference(len(ols_fit.terms)))
    except (DataError, PriorError):
        return ""
    gap = interval_gap(side_by_side(ols_fit, ref, alpha=alpha))
    return (
        "Under the reference prior p(beta, sigma²) ∝ 1/sigma² the credible intervals of this "
        "model equal its confidence intervals (largest difference of an end point: "
        f"{gap:.3g}): the same numbers, read two ways."
    )


def build_report(
    data: pd.DataFrame,
    formula: str,
    *,
    prior: NIG | None = None,
    alpha: float = 0.05,
    cov_type: CovType = "nonrobust",
    title: str | None = None,
    source: str | None = None,
) -> str:
    """The HTML page of one model fitted to ``data``, read both ways.

    Parameters
    ----------
    data : DataFrame
        The data the formula refers to.
    formula : str
        For example ``"height ~ I(time**2)"``.
    prior : NIG, optional
        Prior of the Bayesian reading; default that of :func:`duolm.bayes`.
    alpha : float
        Significance level of every interval and band.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
        Covariance of the least-squares estimates.
    title : str, optional
        Page title; default ``"duolm report: <formula>"``.
    source : str, optional
        Where the data came from (a file name), shown under the title.

    Returns
    -------
    str
        A complete HTML document (UTF-8), with no external resources.

    Examples
    --------
    >>> from duolm import datasets
    >>> page = build_report(datasets.tracking(), "height ~ I(time**2)")
    >>> page.startswith("<!DOCTYPE html>"), page.count("<img ")
    (True, 5)
    """
    reduction = reduce(formula, data)  # the design built once, for both readings
    ols_fit = reduction.ols(cov_type)
    bayes_fit = reduction.bayes(prior)
    traj = trajectory(formula, data, prior=bayes_fit.prior, alpha=alpha)
    both = side_by_side(ols_fit, bayes_fit, alpha=alpha)
    ols_summary = ols_fit.summary(alpha=alpha)
    bayes_summary = bayes_fit.summary(alpha=alpha)
    images, missing = _figures(data, ols_fit, bayes_fit, traj, alpha)
    page_title = title if title is not None else f"duolm report: {formula}"

    meta = [
        f"Model {formula}",
        f"{ols_fit.nobs} observations" + (f" from {source}" if source else ""),
        f"prior {bayes_fit.prior.label}",
        f"intervals at level {1 - alpha:g}",
        f"duolm {__version__}",
    ]
    nav = "".join(
        f'<a href="#{key}">{html.escape(text)}</a>'
        for key, text in (
            ("data", "Data"),
            ("readings", "Two readings"),
            ("intervals", "Intervals"),
            ("figures", "Figures"),
            ("notes", "Notes"),
        )
    )
    described = data.describe(include="all").T
    data_body = (
        f"<p>{len(data)} rows, {data.shape[1]} columns; the first "
        f"{min(HEAD_ROWS, len(data))}:</p>"
        + _frame_html(data.head(HEAD_ROWS))
        + "<h3>Description</h3>"
        + _frame_html(described)
    )
    readings = (
        '<div class="readings">'
        f'<div class="frequentist"><h3>Frequentist: least squares</h3>{ols_summary.html}</div>'
        f'<div class="bayesian"><h3>Bayesian: the exact posterior</h3>{bayes_summary.html}</div>'
        "</div>"
    )
    intervals = _frame_html(both.table, "duolm-table side-by-side") + _para(
        both.frequentist, both.bayesian
    )
    figures = "\n".join(image.html() for image in images) + _para(*missing)
    notes = _notes(ols_summary.notes, bayes_summary.notes, both)
    ref_note = _reference_note(formula, data, ols_fit, alpha)
    if ref_note:
        notes.append(ref_note)
    notes_html = '<ul class="notes">' + "".join(
        f"<li>{html.escape(n)}</li>" for n in dict.fromkeys(notes)
    )
    notes_html += "</ul>"

    body = "\n".join(
        [
            f"<h1>{html.escape(page_title)}</h1>",
            f'<p class="meta">{html.escape(" · ".join(meta))}</p>',
            f"<nav>{nav}</nav>",
            _section("data", "The data", data_body),
            _section("readings", "Two readings of one model", readings),
            _section("intervals", "Confidence and credible intervals", intervals),
            _section("figures", "Figures", figures),
            _section("notes", "Notes in plain words", notes_html),
            "<footer>Generated by duolm; self-contained (no network, no scripts).</footer>",
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        f"<title>{html.escape(page_title)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _notes(ols_notes: Sequence[str], bayes_notes: Sequence[str], both: SideBySide) -> list[str]:
    """The summaries' notes, each reading labelled, and what each interval means."""
    out = [f"Least squares: {n}" for n in ols_notes]
    out += [f"Bayes: {n}" for n in bayes_notes]
    out += [both.frequentist, both.bayesian]
    return out
