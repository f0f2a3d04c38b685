"""The ``duolm`` command line: fit, compare, predict, report and the lecture's demo.

Presentation only (DESIGN.md, "Layers"): the commands read the data, call
:func:`duolm.ols`, :func:`duolm.bayes.bayes`, :func:`duolm.compare.compare`
and friends, and print what the results say. Errors a user can fix (a
missing file, an unknown column, a bad formula, prior or alpha) print one
line, ``duolm: error: ...``, on stderr and exit with status 1 (2 for a
command line that does not parse); set ``DUOLM_TRACEBACK=1`` to see the
traceback instead.

Priors (``--prior``) are written as ``;``-separated items, so quote them in
the shell (see :func:`parse_prior`):

==========================================  =================================================
``vague``                                   ``NIG.vague(k)``: m = 0, V = 1000² I, a = b = 0.001
``vague;scale=100;a=1;b=1``                 the same with other settings
``reference``                               ``p(beta, sigma²) ∝ 1/sigma²`` (credible intervals
                                            equal the confidence intervals)
``zellner`` or ``zellner;g=100``            Zellner's g-prior (default g = n)
``xi=10000,0.1,0.1;nu=5``                   the lecture's prior: diag(xi) (k + 1 values, order
                                            [y, x]) or all (k + 1)² entries, and nu
``m=0;V=10;a=2.5;b=5000``                   NIG(m, V, a, b); m: 1 or k values, V: 1 (times I),
                                            k (diagonal) or k² values
a path                                      a state file written by ``--save-state`` (its
                                            posterior becomes the prior) or a JSON object
                                            ``{"xi": ..., "nu": ...}`` or
                                            ``{"m": ..., "V": ..., "a": ..., "b": ...}``
==========================================  =================================================
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn, TextIO, cast

import click
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm import demo as lecture
from duolm.bayes import NIG, BayesResults, bayes
from duolm.compare import compare as compare_models
from duolm.compare import side_by_side
from duolm.errors import PriorError, StateFileError
from duolm.ols import CovType, OLSResults, make_design, ols
from duolm.summary import Summary

__all__ = ["PriorFactory", "load_data", "main", "parse_prior"]

FloatArray = NDArray[np.float64]
Mode = Literal["ols", "bayes", "both"]
Format = Literal["text", "json", "csv"]

#: ``(k, X) -> NIG``: a prior for a design with k columns (X only for Zellner's prior).
PriorFactory = Callable[[int, FloatArray], NIG]

_PARQUET = (".parquet", ".pq")
_COV_CHOICES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")
_FORMATS = ("text", "json", "csv")
_PRIOR_HELP = (
    "Prior of the Bayesian fit (quote it): vague[;scale=S;a=A;b=B], reference, "
    "zellner[;g=G], xi=X0,X1,..;nu=N (the lecture's, e.g. 'xi=10000,0.1,0.1;nu=5'), "
    "m=..;V=..;a=A;b=B, or a state/JSON file. Default: vague."
)


# ==================================================================== data


def load_data(source: str) -> pd.DataFrame:
    """Turn the DATA argument into what :func:`duolm.ols` and :func:`duolm.bayes.bayes` accept.

    This is the one seam between the command line and the way data are read.
    Today every source is read into memory: ``-`` is CSV on stdin, a path
    ending in ``.parquet`` or ``.pq`` is Parquet (pyarrow), anything else is
    CSV (pandas; compressed ``.csv.gz`` and friends too). Files larger than
    memory are the business of :mod:`duolm.stream`: return the path itself
    here for them, and :func:`_fit_ols` hands it to the streamed fit (with a
    progress bar).

    Parameters
    ----------
    source : str
        ``-`` or a path.

    Returns
    -------
    DataFrame
    """
    if source == "-":
        text = sys.stdin.read()
        if not text.strip():
            raise click.UsageError("no data on stdin (DATA is '-')")
        return pd.read_csv(io.StringIO(text))
    path = Path(source)
    if not path.exists():
        raise click.UsageError(f"data file {source!r} does not exist")
    if path.is_dir():
        raise click.UsageError(f"data file {source!r} is a directory")
    if path.name.lower().endswith(_PARQUET):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _fit_ols(formula: str, data: object, cov_type: str) -> OLSResults:
    """Least squares, in memory or streamed (with a progress bar) when ``data`` is a source."""
    ct = cast(CovType, cov_type)
    if isinstance(data, pd.DataFrame):
        return ols(formula, data, cov_type=ct)
    from duolm import stream

    return stream.ols(formula, data, cov_type=ct, progress=True)


# ==================================================================== priors


def _numbers(name: str, text: str) -> FloatArray:
    try:
        values = np.array([float(v) for v in text.split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        raise PriorError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if values.size == 0:
        raise PriorError(f"{name} has no values")
    return values


def _scalar(name: str, values: FloatArray) -> float:
    if values.size != 1:
        raise PriorError(f"{name} takes one number, got {values.size}")
    return float(values[0])


def _vector(name: str, values: FloatArray, k: int) -> FloatArray:
    if values.size == 1:
        return np.full(k, float(values[0]))
    if values.size != k:
        raise PriorError(f"{name} has {values.size} values; the model has k = {k} coefficients")
    return values


def _matrix(name: str, values: FloatArray, k: int) -> FloatArray:
    """1 value (times I), k values (diagonal) or k² values (row by row)."""
    if values.size == 1:
        return float(values[0]) * np.eye(k)
    if values.size == k:
        return np.diag(values)
    if values.size == k * k:
        return values.reshape(k, k)
    raise PriorError(f"{name} has {values.size} values; give 1, {k} (diagonal) or {k * k}")


def _xi_prior(xi: FloatArray, nu: float, k: int) -> NIG:
    size = k + 1
    if xi.ndim == 1 and xi.size == size:
        M = np.diag(xi)
    elif xi.size == size * size:
        M = xi.reshape(size, size)
    else:
        raise PriorError(
            f"xi has {xi.size} values; the model has k = {k} coefficients, so xi is "
            f"{size} x {size} (order [y, x]): give its {size} diagonal entries or all "
            f"{size * size}"
        )
    return NIG.from_xi(M, nu)


def _keyword_prior(keyword: str, items: dict[str, FloatArray]) -> PriorFactory:
    allowed = {"vague": {"scale", "a", "b"}, "reference": set(), "zellner": {"g", "a", "b", "m"}}
    extra = sorted(set(items) - allowed[keyword])
    if extra:
        raise PriorError(
            f"{keyword} takes {', '.join(sorted(allowed[keyword])) or 'no settings'}, "
            f"not {', '.join(extra)}"
        )
    s = {name: _scalar(name, v) for name, v in items.items() if name != "m"}
    if keyword == "vague":
        return lambda k, X: NIG.vague(k, **s)
    if keyword == "reference":
        return lambda k, X: NIG.reference(k)

    def zellner(k: int, X: FloatArray) -> NIG:
        m = _vector("m", items["m"], k) if "m" in items else None
        g = s.get("g", float(len(X)))
        return NIG.zellner(X, g, m=m, **{n: v for n, v in s.items() if n in ("a", "b")})

    return zellner


def _items_prior(items: dict[str, FloatArray]) -> PriorFactory:
    names = set(items)
    if names == {"xi", "nu"}:
        xi, nu = items["xi"], _scalar("nu", items["nu"])
        return lambda k, X: _xi_prior(xi, nu, k)
    if names == {"m", "V", "a", "b"}:
        a, b = _scalar("a", items["a"]), _scalar("b", items["b"])
        return lambda k, X: NIG(_vector("m", items["m"], k), _matrix("V", items["V"], k), a=a, b=b)
    raise PriorError(
        f"a prior is given by xi and nu, or by m, V, a and b; got {', '.join(sorted(names))}"
    )


def _file_prior(path: Path) -> PriorFactory:
    from duolm import state

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PriorError(f"cannot read the prior file {str(path)!r}: {exc}") from None
    if isinstance(document, dict) and "format" in document:
        posterior = state.load_posterior(path)
        return lambda k, X: posterior
    if not isinstance(document, dict):
        raise PriorError(f"the prior file {str(path)!r} must hold a JSON object")

    def numbers(name: str, value: object) -> FloatArray:
        try:
            return np.array(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise PriorError(f"{name} in {str(path)!r} must be numbers") from None

    return _items_prior({str(n): numbers(str(n), v) for n, v in document.items()})


def parse_prior(spec: str) -> PriorFactory:
    """Read a ``--prior`` specification; the prior is built once the model's k is known.

    Parameters
    ----------
    spec : str
        ``vague``, ``vague;scale=S;a=A;b=B``, ``reference``, ``zellner``,
        ``zellner;g=G``, ``xi=...;nu=N``, ``m=...;V=...;a=A;b=B`` (items
        separated by ``;``, ``name=value`` or ``name:value``, values by ``,``),
        or the path of a state file or of a JSON object with those names.

    Returns
    -------
    callable
        ``factory(k, X) -> NIG`` for a design ``X`` with ``k`` columns.

    Raises
    ------
    PriorError
        The specification does not parse.

    Examples
    --------
    >>> factory = parse_prior("xi:10000,0.1,0.1;nu:5")  # the lecture's prior
    >>> prior = factory(2, np.ones((3, 2)))
    >>> prior.a, prior.b
    (2.5, 5000.0)
    >>> factory = parse_prior("m=0;V=10;a=2.5;b=5000")
    >>> factory(2, np.ones((3, 2))).V.round(12).tolist()
    [[10.0, 0.0], [0.0, 10.0]]
    """
    text = spec.strip()
    if not text:
        raise PriorError("the prior is empty")
    path = Path(text)
    if path.is_file():
        return _file_prior(path)
    parts = [p.strip() for p in text.split(";") if p.strip()]
    keyword = None
    if parts and parts[0].lower() in ("vague", "reference", "zellner"):
        keyword = parts.pop(0).lower()
    items: dict[str, FloatArray] = {}
    for part in parts:
        sep = min((i for i in (part.find("="), part.find(":")) if i > 0), default=-1)
        if sep < 0:
            raise PriorError(
                f"cannot read {part!r} in prior {spec!r}: expected name=value, one of the "
                "keywords vague, reference, zellner, or an existing file"
            )
        name, value = part[:sep].strip(), part[sep + 1 :]
        if name in items:
            raise PriorError(f"{name} is given twice in prior {spec!r}")
        items[name] = _numbers(name, value)
    if keyword is not None:
        return _keyword_prior(keyword, items)
    return _items_prior(items)


def _build_prior(spec: str | None, formula: str, data: pd.DataFrame) -> NIG | None:
    """The prior for ``formula`` on ``data`` (None: the library's default)."""
    if spec is None:
        return None
    factory = parse_prior(spec)
    design = make_design(formula, data, None, None, "drop")
    return factory(design.X.shape[1], design.X)


# ==================================================================== output


def _console() -> Any:
    from rich.console import Console

    out = sys.stdout
    return Console(file=out, highlight=False, width=None if out.isatty() else 200)


def _cell(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return "" if value is None else str(value)


def _table(frame: pd.DataFrame, title: str | None = None) -> Any:
    """A rich table of a frame, index first; text is never read as markup."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(title, style="bold") if title else None,
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column(Text(str(frame.index.name or "")), justify="left")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(Text(str(column)), justify="right" if numeric else "left")
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        table.add_row(Text(str(label)), *(Text(_cell(v)) for v in row))
    return table


def _show(console: Any, renderable: object) -> None:
    """Print a rich renderable; off a terminal, without the padding at the ends of lines."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    console.out(text.strip("\n"), highlight=False)


def _heading(console: Any, title: str) -> None:
    from rich.text import Text

    console.print()
    console.print(Text(title, style="bold"))
    console.print(Text("=" * len(title), style="bold"))


def _plain(value: object) -> object:
    """A JSON-ready value: numpy scalars unwrapped, NaN and infinities as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {
        str(label): {str(c): _plain(v) for c, v in zip(frame.columns, row, strict=True)}
        for label, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    }


def _fields(frame: pd.DataFrame) -> dict[str, object]:
    return {str(f): _plain(v) for f, v in zip(frame["field"], frame["value"], strict=True)}


def _summary_json(summary: Summary) -> dict[str, object]:
    """``summary.tables`` as JSON: the header fields, the coefficients, the diagnostics."""
    out: dict[str, object] = {
        "title": summary.title,
        "model": _fields(summary.tables[0]),
        "coefficients": _records(summary.tables[1]),
    }
    if len(summary.tables) > 2:
        out["diagnostics"] = _fields(summary.tables[2])
    out["notes"] = list(summary.notes)
    return out


def _summary_long(summary: Summary, reading: str) -> pd.DataFrame:
    """``summary.tables`` as one long frame: reading, table, row, column, value."""
    rows: list[tuple[str, str, str, str, object]] = []
    for f, v in zip(summary.tables[0]["field"], summary.tables[0]["value"], strict=True):
        rows.append((reading, "model", "", str(f), v))
    coef = summary.tables[1]
    for name in coef.index:
        for column in coef.columns:
            rows.append((reading, "coefficients", str(name), str(column), coef.loc[name, column]))
    if len(summary.tables) > 2:
        for f, v in zip(summary.tables[2]["field"], summary.tables[2]["value"], strict=True):
            rows.append((reading, "diagnostics", "", str(f), v))
    return pd.DataFrame(rows, columns=["reading", "table", "row", "column", "value"])


def _frame_long(frame: pd.DataFrame, reading: str, table: str) -> pd.DataFrame:
    rows = [
        (reading, table, str(label), str(column), frame.loc[label, column])
        for label in frame.index
        for column in frame.columns
    ]
    return pd.DataFrame(rows, columns=["reading", "table", "row", "column", "value"])


def _emit_json(document: object) -> None:
    click.echo(json.dumps(document, indent=2, allow_nan=False))


def _emit_csv(frame: pd.DataFrame, index: bool = False) -> None:
    click.echo(frame.to_csv(index=index, lineterminator="\n"), nl=False)


# ==================================================================== errors


def _one_line(message: str) -> str:
    return " ".join(str(message).split()) or "unknown error"


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"duolm: error: {_one_line(message)}", err=True)
    sys.exit(code)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    click.echo(f"duolm: warning: {_one_line(str(message))}", err=True)


class _Group(click.Group):
    """A group whose errors are one line on stderr, never a traceback."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        debug = bool(os.environ.get("DUOLM_TRACEBACK"))
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                # what a user of the command can act on; not the libraries' API notices
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", PendingDeprecationWarning)
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            _fail("aborted", 1)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except BrokenPipeError:
            sys.exit(1)
        except (ValueError, OSError, KeyError, LookupError) as exc:
            if debug:
                raise
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            _fail(str(message) or type(exc).__name__)
        except Exception as exc:
            if debug:
                raise
            _fail(f"{type(exc).__name__}: {exc} (set DUOLM_TRACEBACK=1 for the traceback)")
        code = rv if isinstance(rv, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)


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
    return click.option("--prior", metavar="PRIOR", default=None, help=_PRIOR_HELP)(f)


# ==================================================================== commands


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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
    console = _console()
    with console.status("fitting and drawing the lecture..."):
        result = lecture.run(out)
    console.print(f"duolm demo: the lecture, fitted on duolm.datasets.tracking() ({out})")
    for section in lecture.sections(result):
        _heading(console, section.title)
        for i, item in enumerate(section.items):
            if i:
                console.print()
            if isinstance(item, pd.DataFrame):
                _show(console, _table(item))
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
@click.option(
    "--cov-type",
    type=click.Choice(_COV_CHOICES),
    default="nonrobust",
    show_default=True,
    help="Covariance of the least-squares estimates (HC0-HC3: heteroscedasticity robust).",
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
    help="Save the Bayesian posterior (JSON) for 'duolm predict' or as a later prior.",
)
@_format_option
def fit(
    data: str,
    formula: str,
    mode: Mode | None,
    prior: str | None,
    alpha: float,
    cov_type: str,
    plot: str | None,
    save_state: str | None,
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
    """
    mode = mode or "both"
    if save_state is not None and mode == "ols":
        raise click.UsageError("--save-state needs a Bayesian fit (--bayes or --both)")
    if prior is not None and mode == "ols":
        raise click.UsageError("--prior needs a Bayesian fit (--bayes or --both)")
    frame = load_data(data)
    ols_fit = _fit_ols(formula, frame, cov_type) if mode != "bayes" else None
    bayes_fit = None
    if mode != "ols":
        bayes_fit = bayes(formula, frame, prior=_build_prior(prior, formula, frame))
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
            document[reading] = _summary_json(summary)
        if both is not None:
            document["side_by_side"] = _records(both.table)
        _emit_json(document)
    elif fmt == "csv":
        parts = [_summary_long(s, reading) for reading, s in summaries]
        if both is not None:
            parts.append(_frame_long(both.table, "both", "side_by_side"))
        _emit_csv(pd.concat(parts, ignore_index=True))
    else:
        console = _console()
        for i, (_, summary) in enumerate(summaries):
            if i:
                console.print()
            console.out(summary.text, highlight=False)
        if both is not None:
            console.print()
            _show(console, _table(both.table, f"Confidence and credible intervals ({1 - alpha:g})"))
            console.out(_wrap(both.frequentist) + "\n\n" + _wrap(both.bayesian), highlight=False)

    if bayes_fit is not None and save_state is not None:
        from duolm import state

        state.save(bayes_fit, save_state)
        click.echo(f"duolm: posterior saved to {save_state}", err=True)
    if plot is not None:
        _plot_fit(plot, frame, ols_fit, bayes_fit, alpha)
        click.echo(f"duolm: figure written to {plot}", err=True)


def _wrap(text: str) -> str:
    import textwrap

    return textwrap.fill(text, 100)


def _plot_fit(
    path: str,
    frame: pd.DataFrame,
    ols_fit: OLSResults | None,
    bayes_fit: BayesResults | None,
    alpha: float,
) -> None:
    """The bands figure; the residuals or marginals when the formula reads several columns."""
    from duolm import plots

    first = ols_fit if ols_fit is not None else bayes_fit
    assert first is not None
    second = bayes_fit if ols_fit is not None else None
    fig = lecture.new_figure(8.0, 5.0)
    try:
        plots.bands(first, frame, bayes_fit=second, alpha=alpha, ax=fig.add_subplot())
    except ValueError as exc:
        click.echo(f"duolm: warning: no bands figure ({_one_line(str(exc))})", err=True)
        if ols_fit is not None:
            fig = lecture.new_figure(12.0, 7.5)
            plots.residuals(ols_fit, fig=fig)
        else:
            assert bayes_fit is not None
            fig = lecture.new_figure(12.6, 7.2)
            plots.marginals(bayes_fit, alpha=alpha, fig=fig)
    lecture.save_figure(fig, Path(path))


@main.command()
@click.argument("data", metavar="DATA")
@_formula_option(multiple=True)
@_prior_option
@_format_option
def compare(data: str, formulas: tuple[str, ...], prior: str | None, fmt: Format) -> None:
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
    frame = load_data(data)
    models: dict[str, OLSResults | tuple[OLSResults, BayesResults]] = {}
    for formula in formulas:
        o = ols(formula, frame)
        if prior is None:
            models[formula] = o
        else:
            models[formula] = (o, bayes(formula, frame, prior=_build_prior(prior, formula, frame)))
    table = compare_models(models)
    if fmt == "json":
        _emit_json(_records(table))
    elif fmt == "csv":
        _emit_csv(table, index=True)
    else:
        console = _console()
        _show(console, _table(table, "Model comparison"))
        best = str(table["log_evidence"].idxmax())
        console.out(
            _wrap(
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
@_mode_options
@_prior_option
@_alpha_option
@_format_option
def predict(
    source: str,
    new: str,
    formula: str | None,
    mode: Mode | None,
    prior: str | None,
    alpha: float,
    fmt: Format,
) -> None:
    """Predict new rows with the band of the mean and the interval of a new observation.

    From a posterior saved by 'duolm fit --save-state' (Bayesian
    predictive), or refitting -f FORMULA on data (both readings by default).

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
        if mode == "ols" or mode == "both":
            raise click.UsageError(
                f"--{mode} needs data and -f FORMULA; a state file holds a Bayesian posterior"
            )
        if prior is not None:
            raise click.UsageError("--prior is for a refit (-f FORMULA); a state is a posterior")
        fits.append(("bayes", _load_state(source)))
        new_frame = load_data(new)
    else:
        mode = mode or "both"
        frame = load_data(source)
        new_frame = load_data(new)
        if mode != "bayes":
            fits.append(("ols", ols(formula, frame)))
        if mode != "ols":
            fits.append(("bayes", bayes(formula, frame, prior=_build_prior(prior, formula, frame))))
    tables = [(reading, fit_.predict(new_frame, alpha=alpha)) for reading, fit_ in fits]
    inputs = new_frame.loc[:, [c for c in new_frame.columns if c in _inputs(fits[0][1])]]
    if fmt == "json":
        _emit_json({reading: _rows_json(inputs.join(t)) for reading, t in tables})
    elif fmt == "csv":
        parts = [inputs.join(t).assign(reading=reading) for reading, t in tables]
        joined = pd.concat(parts)
        _emit_csv(joined[["reading", *(c for c in joined.columns if c != "reading")]])
    else:
        console = _console()
        level = f"{100 * (1 - alpha):.4g}%"
        titles = {
            "ols": f"Least squares: {level} confidence band of the mean (mean_ci) and "
            f"prediction interval (obs_ci)",
            "bayes": f"Bayes: {level} credible band of the mean (mean_ci) and predictive "
            f"interval (obs_ci)",
        }
        for reading, t in tables:
            _show(console, _table(inputs.join(t).rename_axis("row"), titles[reading]))


def _rows_json(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {str(c): _plain(v) for c, v in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]


def _inputs(fit_: OLSResults | BayesResults) -> set[str]:
    """Names in the right-hand side of the model's formula (its data columns among them)."""
    import re

    formula = fit_.spec.formula or ""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", formula.split("~", 1)[-1]))


def _load_state(path: str) -> BayesResults:
    from duolm import state

    if path == "-" or not Path(path).is_file():
        raise click.UsageError(
            f"state file {path!r} does not exist (to refit from data, give -f FORMULA)"
        )
    try:
        obj = state.load(path)
    except StateFileError as exc:
        raise StateFileError(f"{exc}; to refit from a data file, give -f FORMULA") from None
    if isinstance(obj, NIG):
        raise StateFileError(
            f"{path!r} holds a bare posterior without its model; save a fit instead "
            "(duolm fit DATA -f FORMULA --save-state FILE)"
        )
    return obj


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
@click.option(
    "--cov-type",
    type=click.Choice(_COV_CHOICES),
    default="nonrobust",
    show_default=True,
    help="Covariance of the least-squares estimates.",
)
@click.option("--title", default=None, help="Title of the page.")
def report(
    data: str,
    formula: str,
    output: str,
    prior: str | None,
    alpha: float,
    cov_type: str,
    title: str | None,
) -> None:
    """Write one self-contained HTML page about a model of DATA.

    The data, both readings side by side, the fitted curve with its bands,
    the posterior's evolution, residual diagnostics and notes in plain
    words; figures are embedded, nothing is loaded from the network.

    \b
    Example:
      duolm report tracking.csv -f 'height ~ I(time**2)' -o report.html
    """
    from duolm.report import build_report

    frame = load_data(data)
    page = build_report(
        frame,
        formula,
        prior=_build_prior(prior, formula, frame),
        alpha=alpha,
        cov_type=cast(CovType, cov_type),
        title=title,
        source="stdin" if data == "-" else Path(data).name,
    )
    Path(output).write_text(page, encoding="utf-8")
    click.echo(f"report written to {output}")


if __name__ == "__main__":  # pragma: no cover
    main()
