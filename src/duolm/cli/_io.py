"""What the command line reads and writes, and how it reports errors.

- Input: :func:`load_data` (the DATA argument: CSV, Parquet or stdin) and
  :func:`load_state` (a fit saved by ``duolm fit --save-state``).
- Output in the three formats of ``--format``: ``text`` (rich tables,
  :func:`new_console`, :func:`rich_table`, :func:`show`, :func:`heading`), ``json``
  (:func:`records`, :func:`rows_json`, :func:`summary_json`,
  :func:`emit_json`; NaN and infinities as null) and ``csv`` (long frames
  ``reading, table, row, column, value``: :func:`summary_long`,
  :func:`frame_long`, :func:`emit_csv`); the figure of ``fit --plot``
  (:func:`plot_fit`).
- Errors: :class:`Group`, the click group whose errors a user can fix print
  one line, ``duolm: error: ...``, on stderr and exit with status 1 (2 for a
  command line that does not parse), warnings one line ``duolm: warning:
  ...``; ``DUOLM_TRACEBACK=1`` shows the traceback instead.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import click
import numpy as np
import pandas as pd

from duolm._format import Summary
from duolm.bayesian import BayesResults
from duolm.errors import StateFileError
from duolm.frequentist import OLSResults
from duolm.present._cells import cell
from duolm.present.demo import new_figure, save_figure

__all__ = [
    "Group",
    "emit_csv",
    "emit_json",
    "fail",
    "frame_long",
    "heading",
    "load_data",
    "load_head",
    "load_state",
    "new_console",
    "one_line",
    "plot_fit",
    "records",
    "rich_table",
    "rows_json",
    "show",
    "summary_json",
    "summary_long",
    "wrap",
]

_PARQUET = (".parquet", ".pq")

#: Columns of the long frames written by ``--format csv``.
_LONG = ["reading", "table", "row", "column", "value"]


# ==================================================================== input


def load_head(source: str, rows: int = 1000, encoding: str | None = None) -> pd.DataFrame:
    """The first ``rows`` rows of a CSV or Parquet file (for a prior's dimension).

    Parameters
    ----------
    source : str
        A path.
    rows : int
        How many rows at most.
    encoding : str, optional
        Of a CSV file (default UTF-8).
    """
    from duolm._api import read_frame

    path = Path(source)
    if not path.exists():
        raise click.UsageError(f"data file {source!r} does not exist")
    if path.is_dir():
        raise click.UsageError(f"data file {source!r} is a directory")
    head = read_frame(path, source, nrows=rows, encoding=encoding)
    if path.name.lower().endswith(_PARQUET) and len(head) == 0:
        raise click.UsageError(f"data file {source!r} has no rows")
    return head


def load_data(source: str, encoding: str | None = None) -> pd.DataFrame:
    """Turn the DATA argument into what :func:`duolm.ols` and :func:`duolm.bayes` accept.

    This is the one seam between the command line and the way data are read.
    Today every source is read into memory: ``-`` is CSV on stdin, a path
    ending in ``.parquet`` or ``.pq`` is Parquet (pyarrow), anything else is
    CSV (pandas; compressed ``.csv.gz`` and friends too). Files larger than
    memory are the business of :mod:`duolm._stream`: ``duolm fit --stream``
    (automatic above ``cli.STREAM_BYTES``) passes the path itself to the fit,
    with a progress bar, and reads only the head here (:func:`load_head`).

    Parameters
    ----------
    source : str
        ``-`` or a path.
    encoding : str, optional
        Of CSV text (default UTF-8).

    Every CSV is checked first: the header names each column once, every row
    has the header's number of fields, the bytes decode (else the error says
    what the file looks like: compressed, UTF-16, Latin-1...).

    Returns
    -------
    DataFrame
    """
    from duolm._api import read_frame

    if source == "-":
        raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        if not data.strip():
            raise click.UsageError("no data on stdin (DATA is '-')")
        return read_frame(data, "stdin", encoding=encoding)
    path = Path(source)
    if not path.exists():
        raise click.UsageError(f"data file {source!r} does not exist")
    if path.is_dir():
        raise click.UsageError(f"data file {source!r} is a directory")
    return read_frame(path, source, encoding=encoding)


def load_state(path: str) -> tuple[str, OLSResults | BayesResults]:
    """The fit saved by ``duolm fit --save-state``, with its reading ("ols" or "bayes").

    A bare posterior (an NIG saved from Python) is refused: it has no model.
    """
    from duolm import state

    if path == "-" or not Path(path).is_file():
        raise click.UsageError(
            f"state file {path!r} does not exist (to refit from data, give -f FORMULA)"
        )
    try:
        kind = state.saved_kind(path)
        if kind == "ols":
            return "ols", state.load_fit(path)
        if kind == "bayes":
            return "bayes", state.load_bayes(path)
    except StateFileError as exc:
        raise StateFileError(f"{exc}; to refit from a data file, give -f FORMULA") from None
    raise StateFileError(
        f"{path!r} holds a bare posterior without its model; save a fit instead "
        "(duolm fit DATA -f FORMULA --save-state FILE)"
    )


# ==================================================================== text


def new_console() -> Any:
    """A rich console on stdout (200 columns wide off a terminal)."""
    from rich.console import Console

    out = sys.stdout
    return Console(file=out, highlight=False, width=None if out.isatty() else 200)


def rich_table(frame: pd.DataFrame, title: str | None = None) -> Any:
    """A rich table of a frame, index first; text is never read as markup."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out = Table(
        title=Text(title, style="bold") if title else None,
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    out.add_column(Text(str(frame.index.name or "")), justify="left")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        out.add_column(Text(str(column)), justify="right" if numeric else "left")
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        out.add_row(Text(str(label)), *(Text(cell(v, nan="nan")) for v in row))
    return out


def show(console: Any, renderable: object) -> None:
    """Print a rich renderable; off a terminal, without the padding at the ends of lines."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    console.out(text.strip("\n"), highlight=False)


def heading(console: Any, title: str) -> None:
    """A bold title, underlined with ``=``, after a blank line."""
    from rich.text import Text

    console.print()
    console.print(Text(title, style="bold"))
    console.print(Text("=" * len(title), style="bold"))


def wrap(text: str) -> str:
    """Prose wrapped to 100 columns."""
    import textwrap

    return textwrap.fill(text, 100)


# ==================================================================== json and csv


def _plain(value: object) -> object:
    """A JSON-ready value: numpy scalars unwrapped, NaN and infinities as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _row(columns: pd.Index, row: tuple[object, ...]) -> dict[str, object]:
    return {str(c): _plain(v) for c, v in zip(columns, row, strict=True)}


def records(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    """A frame as ``{row label: {column: value}}``."""
    return {
        str(label): _row(frame.columns, row)
        for label, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    }


def rows_json(frame: pd.DataFrame) -> list[dict[str, object]]:
    """A frame as a list of ``{column: value}``, one a row (the index left out)."""
    return [_row(frame.columns, row) for row in frame.itertuples(index=False)]


def _fields(frame: pd.DataFrame) -> dict[str, object]:
    return {str(f): _plain(v) for f, v in zip(frame["field"], frame["value"], strict=True)}


def _named_bounds(frame: pd.DataFrame) -> pd.DataFrame:
    """The coefficient table with its interval columns named for programs: the display
    headers ``[0.025`` and ``0.975]`` become ``ci_lower`` and ``ci_upper`` (the level is
    the document's ``alpha``)."""
    names = {
        c: "ci_lower" if str(c).startswith("[") else "ci_upper"
        for c in frame.columns
        if str(c).startswith("[") or str(c).endswith("]")
    }
    return frame.rename(columns=names)


def summary_json(summary: Summary) -> dict[str, object]:
    """``summary.tables`` as JSON: the header fields, the coefficients, the diagnostics."""
    out: dict[str, object] = {
        "title": summary.title,
        "model": _fields(summary.tables[0]),
        "coefficients": records(_named_bounds(summary.tables[1])),
    }
    if len(summary.tables) > 2:
        out["diagnostics"] = _fields(summary.tables[2])
    out["notes"] = list(summary.notes)
    return out


def _fields_long(frame: pd.DataFrame, reading: str, table: str) -> list[tuple[object, ...]]:
    return [
        (reading, table, "", str(f), v) for f, v in zip(frame["field"], frame["value"], strict=True)
    ]


def _cells_long(frame: pd.DataFrame, reading: str, table: str) -> list[tuple[object, ...]]:
    return [
        (reading, table, str(label), str(column), frame.loc[label, column])
        for label in frame.index
        for column in frame.columns
    ]


def summary_long(summary: Summary, reading: str) -> pd.DataFrame:
    """``summary.tables`` as one long frame: reading, table, row, column, value."""
    rows = _fields_long(summary.tables[0], reading, "model")
    rows += _cells_long(_named_bounds(summary.tables[1]), reading, "coefficients")
    if len(summary.tables) > 2:
        rows += _fields_long(summary.tables[2], reading, "diagnostics")
    return pd.DataFrame(rows, columns=_LONG)


def frame_long(frame: pd.DataFrame, reading: str, table: str) -> pd.DataFrame:
    """A frame as a long frame: reading, table, row, column, value."""
    return pd.DataFrame(_cells_long(frame, reading, table), columns=_LONG)


def emit_json(document: object) -> None:
    click.echo(json.dumps(document, indent=2, allow_nan=False))


def emit_csv(frame: pd.DataFrame, index: bool = False) -> None:
    click.echo(frame.to_csv(index=index, lineterminator="\n"), nl=False)


# ==================================================================== figures


def plot_fit(
    path: str,
    frame: pd.DataFrame,
    ols_fit: OLSResults | None,
    bayes_fit: BayesResults | None,
    alpha: float,
) -> None:
    """The bands figure; the residuals or marginals when the formula reads several columns."""
    from duolm.present import plots

    first = ols_fit if ols_fit is not None else bayes_fit
    assert first is not None
    second = bayes_fit if ols_fit is not None else None
    fig = new_figure(8.0, 5.0)
    try:
        plots.bands(first, frame, bayes_fit=second, alpha=alpha, ax=fig.add_subplot())
    except ValueError as exc:
        from duolm.present.plots._common import SeveralInputsError

        why = exc.without_advice() if isinstance(exc, SeveralInputsError) else str(exc)
        drawn = "the residual diagnostics" if ols_fit is not None else "the posterior marginals"
        click.echo(f"duolm: warning: no bands figure ({one_line(why)}); {drawn} instead", err=True)
        if ols_fit is not None:
            fig = new_figure(12.0, 7.5)
            plots.residuals(ols_fit, fig=fig)
        else:
            assert bayes_fit is not None
            fig = new_figure(12.6, 7.2)
            plots.marginals(bayes_fit, alpha=alpha, fig=fig)
    save_figure(fig, Path(path))


# ==================================================================== errors


def one_line(message: str) -> str:
    """The message with its white space (newlines too) folded to single spaces."""
    return " ".join(str(message).split()) or "unknown error"


def fail(message: str, code: int = 1) -> NoReturn:
    """``duolm: error: <message>`` on stderr, then exit with ``code``."""
    click.echo(f"duolm: error: {one_line(message)}", err=True)
    sys.exit(code)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    click.echo(f"duolm: warning: {one_line(str(message))}", err=True)


class Group(click.Group):
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
            fail("aborted", 1)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except BrokenPipeError:
            sys.exit(1)
        except (ValueError, OSError, KeyError, LookupError) as exc:
            if debug:
                raise
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            fail(str(message) or type(exc).__name__)
        except Exception as exc:
            if debug:
                raise
            fail(f"{type(exc).__name__}: {exc} (set DUOLM_TRACEBACK=1 for the traceback)")
        code = rv if isinstance(rv, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)


def refuse_overwrite(outputs: dict[str, str | None], inputs: dict[str, str | None]) -> None:
    """Refuse an output path that names an input of the same command, or another output.

    ``duolm report data.csv -o data.csv`` would replace the data by the page;
    ``--save-state data.csv`` by a JSON file. Paths are compared as files (the
    same inode when both exist, the same resolved path otherwise); ``-`` (stdin)
    and options not given are skipped.

    Parameters
    ----------
    outputs, inputs : dict
        Option or argument name (as the user types it) -> path.

    Raises
    ------
    click.UsageError
        Naming both options and the path.
    """

    def same(a: str, b: str) -> bool:
        pa, pb = Path(a), Path(b)
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
        return pa.resolve() == pb.resolve()

    given_out = [(name, path) for name, path in outputs.items() if path not in (None, "-")]
    given_in = [(name, path) for name, path in inputs.items() if path not in (None, "-")]
    for i, (out_name, out) in enumerate(given_out):
        assert out is not None
        for in_name, source in given_in:
            assert source is not None
            if same(out, source):
                raise click.UsageError(
                    f"{out_name} {out!r} is the {in_name} of this command: writing it would "
                    "destroy the input; give another path"
                )
        for other_name, other in given_out[i + 1 :]:
            assert other is not None
            if same(out, other):
                raise click.UsageError(
                    f"{out_name} and {other_name} both write {out!r}; give them different paths"
                )
