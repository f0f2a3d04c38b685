"""The ``duolm`` command line: fit, compare, predict, report, watch and the lecture's demo.

Presentation only (DESIGN.md, "Layers"): the commands read the data, call
:func:`duolm.ols`, :func:`duolm.bayes`, :func:`duolm.compare`
and friends, and print what the results say. Errors a user can fix (a
missing file, an unknown column, a bad formula, prior or alpha) print one
line, ``duolm: error: ...``, on stderr and exit with status 1 (2 for a
command line that does not parse); set ``DUOLM_TRACEBACK=1`` to see the
traceback instead.

This module holds the click commands and their options. The ``--prior``
grammar (``vague``, ``reference``, ``zellner;g=G``, the lecture's
``xi=10000,0.1,0.1;nu=5``, ``m=..;V=..;a=A;b=B`` or a file; quote it in the
shell) is in :mod:`duolm.cli._prior`; reading the data, the text, JSON and
CSV output and the one-line errors are in :mod:`duolm.cli._io`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

import click
import pandas as pd

from duolm._api import bayes, ols, reduce
from duolm._api import compare as compare_models
from duolm._checks import COV_TYPES, CovType
from duolm._format import Summary
from duolm.bayesian import BayesResults, side_by_side
from duolm.cli._io import (
    Group,
    emit_csv,
    emit_json,
    frame_long,
    heading,
    load_data,
    load_head,
    load_state,
    new_console,
    plot_fit,
    records,
    rich_table,
    rows_json,
    show,
    summary_json,
    summary_long,
    wrap,
)
from duolm.cli._prior import PRIOR_HELP, PriorFactory, build_prior, parse_prior
from duolm.cli._robust import CovOptions, cov_options
from duolm.frequentist import OLSResults
from duolm.present import demo as lecture

__all__ = ["PriorFactory", "load_data", "main", "parse_prior"]

#: Files larger than this are streamed by ``duolm fit`` unless --in-memory is given.
STREAM_BYTES = 256 * 2**20

Mode = Literal["ols", "bayes", "both"]
Format = Literal["text", "json", "csv"]

_FORMATS = ("text", "json", "csv")


# ==================================================================== options


def _formula_option(multiple: bool = False) -> Callable[[Any], Any]:
    return click.option(
        "-f",
        "--formula",
        "formulas" if multiple else "formula",
        required=not multiple,
        multiple=multiple,
        metavar="FORMULA",
        help="Model formula, e.g. 'height ~ I(time**2)'."
        + (" Repeat for each model." if multiple else ""),
    )


def _alpha_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--alpha",
        type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
        default=0.05,
        show_default=True,
        help="Significance level: intervals of level 1 - alpha.",
    )(f)


def _mode_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for flag, text in (
        ("--both", "Both readings and their intervals side by side."),
        ("--bayes", "The conjugate Bayesian reading only."),
        ("--ols", "The least-squares reading only."),
    ):
        f = click.option(flag, "mode", flag_value=flag[2:], help=text)(f)
    return f


def _cov_type_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--cov-type",
        type=click.Choice(COV_TYPES),
        default="nonrobust",
        show_default=True,
        help="Covariance of the least-squares estimates (HC0-HC3: heteroscedasticity robust).",
    )(f)


def _format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(_FORMATS),
        default="text",
        show_default=True,
        help="text: tables; json or csv: the tables, machine-readable.",
    )(f)


def _prior_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--prior", metavar="PRIOR", default=None, help=PRIOR_HELP)(f)


def _encoding_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--encoding",
        metavar="ENCODING",
        default=None,
        help="Text encoding of CSV input, e.g. latin-1 or utf-16 (default: UTF-8).",
    )(f)


def _compare_prior_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--prior`` of ``compare``, whose default is not the fits' vague prior."""
    text = PRIOR_HELP.replace(
        "Default: vague.", "Default: Zellner's unit-information g-prior of each model."
    )
    return click.option("--prior", metavar="PRIOR", default=None, help=text)(f)


# ==================================================================== commands


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="duolm")
def main() -> None:
    """Linear regression read two ways: frequentist and exact Bayesian.

    \b
    Examples:
      duolm demo                                  # the lecture, end to end
      duolm fit data.csv -f 'y ~ x'               # both readings side by side
      duolm report data.csv -f 'y ~ x' -o report.html
    """


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="duolm-demo",
    show_default=True,
    help="Folder for the figures (PNG).",
)
def demo(out: str) -> None:
    """Run the lecture end to end on the built-in data.

    Anscombe's quartet, the rising object's scatterplot, the line and the
    parabola by least squares, the Bayesian parabola under the lecture's
    prior with its evolution, the model comparison, both readings side by
    side and the reference prior under which they agree. Prints the tables
    and writes the figures to the folder it names at the end.

    \b
    Example:
      duolm demo --out figures
    """
    console = new_console()
    with console.status("fitting and drawing the lecture..."):
        result = lecture.run(out)
    console.print(f"duolm demo: the lecture, fitted on duolm.datasets.tracking() ({out})")
    for section in lecture.sections(result):
        heading(console, section.title)
        for i, item in enumerate(section.items):
            if i:
                console.print()
            if isinstance(item, pd.DataFrame):
                show(console, rich_table(item))
            else:
                console.out(item, highlight=False)
    folder = Path(out).resolve()
    console.print()
    console.out(f"{len(result.figures)} figures written to {folder}", highlight=False)


@main.command()
@click.argument("data", metavar="DATA")
@_formula_option()
@_mode_options
@_prior_option
@_alpha_option
@_cov_type_option
@cov_options
@click.option(
    "--weights",
    metavar="COLUMN",
    default=None,
    help="Weighted least squares (and known relative precisions in the Bayesian reading): "
    "the column of DATA holding each row's weight, positive and finite.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a figure (PNG, SVG or PDF by suffix): the fit with its bands.",
)
@click.option(
    "--save-state",
    type=click.Path(dir_okay=False),
    default=None,
    help="Save the fit (JSON) for 'duolm predict': the Bayesian posterior (--bayes, --both; "
    "also a later prior), or the least-squares fit (--ols).",
)
@click.option(
    "--stream/--in-memory",
    "streamed",
    default=None,
    help="Read DATA in batches with a progress bar, memory bounded whatever its size "
    f"(default: for files over {STREAM_BYTES // 2**20} MiB).",
)
@_encoding_option
@_format_option
def fit(
    data: str,
    formula: str,
    mode: Mode | None,
    prior: str | None,
    alpha: float,
    cov_type: str,
    maxlags: int | None,
    kernel: str | None,
    use_correction: bool | None,
    groups: str | None,
    weights: str | None,
    plot: str | None,
    save_state: str | None,
    streamed: bool | None,
    encoding: str | None,
    fmt: Format,
) -> None:
    """Fit a model to DATA (a CSV or Parquet file, or - for CSV on stdin).

    Prints the least-squares summary, the Bayesian summary and the intervals
    side by side (--both, the default), or one reading (--ols, --bayes).

    \b
    Examples:
      duolm fit tracking.csv -f 'height ~ I(time**2)'
      duolm fit tracking.csv -f 'height ~ I(time**2)' --bayes --prior 'xi=10000,0.1,0.1;nu=5'
      cat tracking.csv | duolm fit - -f 'height ~ time' --ols --cov-type HC3 --format json
      duolm fit big.parquet -f 'y ~ x1 + x2' --stream
      duolm fit panel.parquet -f 'y ~ x' --ols --cov-type cluster --groups firm,year
      duolm fit series.csv -f 'y ~ x' --ols --cov-type HAC --maxlags 4
      duolm fit survey.csv -f 'y ~ x' --weights w
    """
    from duolm.cli._io import refuse_overwrite

    refuse_overwrite(
        {"--save-state": save_state, "--plot": plot},
        {"DATA": data, "--prior": prior if prior and Path(prior).is_file() else None},
    )
    mode = mode or "both"
    dependent = CovOptions(cov_type, maxlags, kernel, use_correction, groups)
    if prior is not None and mode == "ols":
        raise click.UsageError("--prior needs a Bayesian fit (--bayes or --both)")
    if _should_stream(data, streamed):
        if plot is not None:
            raise click.UsageError("--plot draws the data: it needs them in memory (--in-memory)")
        if prior is not None and prior.strip().lower().startswith("zellner"):
            raise click.UsageError(
                "Zellner's prior is built from the whole design: fit it --in-memory"
            )
        source: object = data
        head = load_head(data, encoding=encoding)
    else:
        source = head = load_data(data, encoding)
    # one reduction serves both readings: a streamed file is read once per pass it needs
    # (two with the least-squares reading's diagnostics, one for the Bayesian one alone)
    ct = cast(CovType, cov_type)
    streamed_source = not isinstance(source, pd.DataFrame)
    reduction = reduce(
        formula,
        source,
        diagnostics=mode != "bayes",
        robust=mode != "bayes" and ct != "nonrobust",
        progress=not isinstance(source, pd.DataFrame),
        encoding=None if isinstance(source, pd.DataFrame) else encoding,
        hac=dependent.hac if mode != "bayes" and streamed_source else None,
        groups=dependent.groups if mode != "bayes" and streamed_source else None,
        weights=weights,
    )
    in_memory = source if isinstance(source, pd.DataFrame) else None
    ols_fit = reduction.ols(ct, dependent.cov_kwds(in_memory)) if mode != "bayes" else None
    bayes_fit = reduction.bayes(build_prior(prior, formula, head)) if mode != "ols" else None
    summaries: list[tuple[str, Summary]] = []
    if ols_fit is not None:
        summaries.append(("ols", ols_fit.summary(alpha=alpha)))
    if bayes_fit is not None:
        summaries.append(("bayes", bayes_fit.summary(alpha=alpha)))
    both = None
    if ols_fit is not None and bayes_fit is not None:
        both = side_by_side(ols_fit, bayes_fit, alpha=alpha)

    if fmt == "json":
        document: dict[str, object] = {"formula": formula, "alpha": alpha}
        for reading, summary in summaries:
            document[reading] = summary_json(summary)
        if both is not None:
            document["side_by_side"] = records(both.table)
        emit_json(document)
    elif fmt == "csv":
        parts = [summary_long(s, reading) for reading, s in summaries]
        if both is not None:
            parts.append(frame_long(both.table, "both", "side_by_side"))
        emit_csv(pd.concat(parts, ignore_index=True))
    else:
        console = new_console()
        for i, (_, summary) in enumerate(summaries):
            if i:
                console.print()
            console.out(summary.text, highlight=False)
        if both is not None:
            console.print()
            show(
                console,
                rich_table(both.table, f"Confidence and credible intervals ({1 - alpha:g})"),
            )
            console.out(wrap(both.frequentist) + "\n\n" + wrap(both.bayesian), highlight=False)

    if save_state is not None:
        from duolm import state

        saved = bayes_fit if bayes_fit is not None else ols_fit
        assert saved is not None
        state.save(saved, save_state)
        what = "posterior" if bayes_fit is not None else "least-squares fit"
        click.echo(f"duolm: {what} saved to {save_state}", err=True)
    if plot is not None:
        assert isinstance(source, pd.DataFrame)
        plot_fit(plot, source, ols_fit, bayes_fit, alpha)
        click.echo(f"duolm: figure written to {plot}", err=True)


def _should_stream(data: str, streamed: bool | None) -> bool:
    if data == "-":
        if streamed:
            raise click.UsageError("--stream reads a file: DATA cannot be '-' (stdin)")
        return False
    if streamed is not None:
        return streamed
    path = Path(data)
    return path.is_file() and path.stat().st_size > STREAM_BYTES


@main.command()
@click.argument("data", metavar="DATA")
@_formula_option(multiple=True)
@_compare_prior_option
@_encoding_option
@_format_option
def compare(
    data: str, formulas: tuple[str, ...], prior: str | None, encoding: str | None, fmt: Format
) -> None:
    """Compare models of DATA: R², AIC, BIC, evidence, Bayes factors.

    Each model is fitted by least squares and under a prior: by default
    Zellner's unit-information g-prior of each design (a common choice for
    comparing models); --prior sets another, built for each model.

    \b
    Example:
      duolm compare tracking.csv -f 'height ~ time' -f 'height ~ I(time**2)'
    """
    if len(formulas) < 2:
        raise click.UsageError("give at least two models: -f F1 -f F2 ...")
    frame = load_data(data, encoding)
    models: dict[str, OLSResults | tuple[OLSResults, BayesResults]] = {}
    for formula in formulas:
        reduction = reduce(formula, frame)
        o = reduction.ols()
        if prior is None:
            models[formula] = o
        else:
            models[formula] = (o, reduction.bayes(build_prior(prior, formula, frame)))
    table = compare_models(models)
    if fmt == "json":
        emit_json(records(table))
    elif fmt == "csv":
        emit_csv(table, index=True)
    else:
        console = new_console()
        show(console, rich_table(table, "Model comparison"))
        best = str(table["log_evidence"].idxmax())
        console.out(
            wrap(
                "bayes_factor is p(y | model) / p(y | best model); posterior_prob assumes "
                f"equal prior probabilities. The evidence prefers {best}. Lower AIC and BIC "
                "are better."
            ),
            highlight=False,
        )


@main.command()
@click.argument("source", metavar="STATE_OR_DATA")
@click.option(
    "--new",
    "new",
    required=True,
    metavar="NEWDATA",
    help="Rows to predict: a CSV or Parquet file (- for stdin) with the model's input columns.",
)
@click.option(
    "-f",
    "--formula",
    default=None,
    metavar="FORMULA",
    help="Refit this model on STATE_OR_DATA (then a data file); without it, a saved state.",
)
@click.option(
    "--weights",
    metavar="COLUMN",
    default=None,
    help="The new rows' weights (observation variance scale / w), a column of NEWDATA; "
    "with -f the refit is weighted by the same column of STATE_OR_DATA.",
)
@_mode_options
@_prior_option
@_alpha_option
@_encoding_option
@_format_option
def predict(
    source: str,
    new: str,
    formula: str | None,
    weights: str | None,
    mode: Mode | None,
    prior: str | None,
    alpha: float,
    encoding: str | None,
    fmt: Format,
) -> None:
    """Predict new rows with the band of the mean and the interval of a new observation.

    From a fit saved by 'duolm fit --save-state' (the Bayesian predictive of
    a posterior, or the intervals of a least-squares fit), or refitting
    -f FORMULA on data (both readings by default).

    \b
    Examples:
      duolm fit tracking.csv -f 'height ~ I(time**2)' --bayes --save-state post.json
      duolm predict post.json --new future.csv
      duolm predict tracking.csv -f 'height ~ I(time**2)' --new future.csv --alpha 0.1
    """
    if source == "-" and new == "-":
        raise click.UsageError("STATE_OR_DATA and --new cannot both read stdin")
    fits: list[tuple[str, OLSResults | BayesResults]] = []
    if formula is None:
        if mode == "both":
            raise click.UsageError("--both needs data and -f FORMULA; a state file holds one fit")
        if prior is not None:
            raise click.UsageError("--prior is for a refit (-f FORMULA); a state is a fit")
        reading, saved = load_state(source)
        if mode is not None and mode != reading:
            raise click.UsageError(
                f"--{mode} asks for the other reading: {source!r} holds a "
                f"{'least-squares fit' if reading == 'ols' else 'Bayesian posterior'}"
            )
        fits.append((reading, saved))
        new_frame = load_data(new, encoding)
    else:
        mode = mode or "both"
        frame = load_data(source, encoding)
        new_frame = load_data(new, encoding)
        if mode != "bayes":
            fits.append(("ols", ols(formula, frame, weights=weights)))
        if mode != "ols":
            chosen = build_prior(prior, formula, frame)
            fits.append(("bayes", bayes(formula, frame, prior=chosen, weights=weights)))
    tables = [
        (reading, fit_.predict(new_frame, alpha=alpha, weights=weights)) for reading, fit_ in fits
    ]
    inputs = new_frame.loc[:, [c for c in new_frame.columns if c in _inputs(fits[0][1])]]
    if fmt == "json":
        emit_json({reading: rows_json(inputs.join(t)) for reading, t in tables})
    elif fmt == "csv":
        parts = [inputs.join(t).assign(reading=reading) for reading, t in tables]
        joined = pd.concat(parts)
        emit_csv(joined[["reading", *(c for c in joined.columns if c != "reading")]])
    else:
        console = new_console()
        level = f"{100 * (1 - alpha):.4g}%"
        titles = {
            "ols": f"Least squares: {level} confidence band of the mean (mean_ci) and "
            f"prediction interval (obs_ci)",
            "bayes": f"Bayes: {level} credible band of the mean (mean_ci) and predictive "
            f"interval (obs_ci)",
        }
        for reading, t in tables:
            show(console, rich_table(inputs.join(t).rename_axis("row"), titles[reading]))


def _inputs(fit_: OLSResults | BayesResults) -> set[str]:
    """Names in the right-hand side of the model's formula (its data columns among them)."""
    import re

    formula = fit_.spec.formula or ""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", formula.split("~", 1)[-1]))


@main.command()
@click.argument("data", metavar="DATA")
@_formula_option()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="report.html",
    show_default=True,
    help="The HTML file to write.",
)
@_prior_option
@_alpha_option
@_cov_type_option
@click.option("--title", default=None, help="Title of the page.")
@_encoding_option
def report(
    data: str,
    formula: str,
    output: str,
    prior: str | None,
    alpha: float,
    cov_type: str,
    title: str | None,
    encoding: str | None,
) -> None:
    """Write one self-contained HTML page about a model of DATA.

    The data, both readings side by side, the fitted curve with its bands,
    the posterior's evolution, residual diagnostics and notes in plain
    words; figures are embedded, nothing is loaded from the network.

    \b
    Example:
      duolm report tracking.csv -f 'height ~ I(time**2)' -o report.html
    """
    from duolm.cli._io import refuse_overwrite
    from duolm.present.report import build_report

    refuse_overwrite(
        {"--output": output},
        {"DATA": data, "--prior": prior if prior and Path(prior).is_file() else None},
    )
    frame = load_data(data, encoding)
    page = build_report(
        frame,
        formula,
        prior=build_prior(prior, formula, frame),
        alpha=alpha,
        cov_type=cast(CovType, cov_type),
        title=title,
        source="stdin" if data == "-" else Path(data).name,
    )
    Path(output).write_text(page, encoding="utf-8")
    click.echo(f"report written to {output}")


@main.command()
@click.argument("source", metavar="[FILE]", required=False, default="-")
@_formula_option()
@_prior_option
@click.option(
    "--forget",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=None,
    help="Forgetting factor in (0, 1] applied before each row (parameters that drift).",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    default=None,
    help="A state file written after every batch; when it exists, the fit resumes from "
    "it (and a file's rows already seen are passed over).",
)
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Print the estimates each time this many more rows have been fitted.",
)
@click.option(
    "--follow",
    is_flag=True,
    help="Keep reading FILE as it grows (as tail -f); stop with Ctrl-C.",
)
@click.option(
    "--poll",
    type=click.FloatRange(0.0, min_open=True),
    default=0.5,
    show_default=True,
    help="Seconds between looks at a FILE that has not grown (with --follow).",
)
def watch(
    source: str,
    formula: str,
    prior: str | None,
    forget: float | None,
    state: str | None,
    every: int,
    follow: bool,
    poll: float,
) -> None:
    """Fit a model to CSV rows as they arrive and print the running estimates.

    Reads FILE (or standard input, '-', the default) from its header line on:
    each lot of rows that arrives together is one update of the conjugate
    posterior, and a line with the rows seen, each coefficient's posterior
    mean ± sd and E[sigma²] follows. At the end of the data (or on Ctrl-C
    with --follow) the Bayesian summary is printed.

    \b
    Examples:
      tail -n +1 -f radar.csv | duolm watch -f 'height ~ time + I(time**2)' --every 10
      duolm watch radar.csv -f 'height ~ time' --follow --forget 0.98 --state radar.json
    """
    from duolm.cli._watch import watch as run_watch

    if prior is not None and prior.strip().lower().startswith("zellner"):
        raise click.UsageError("Zellner's prior is built from the whole design: not for a stream")
    make_prior = None
    if prior is not None:
        spec = prior

        def make_prior(batch: dict[str, object]) -> Any:
            return build_prior(spec, formula, pd.DataFrame(batch))

    online = run_watch(
        formula,
        source,
        state=state,
        prior=make_prior,
        forget=forget,
        every=every,
        follow=follow,
        poll=poll,
    )
    console = new_console()
    if online.spec is None:
        console.out("no rows", highlight=False)
        return
    console.print()
    console.out(online.bayes().summary().text, highlight=False)
    if state is not None:
        click.echo(f"duolm: state saved to {state}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
