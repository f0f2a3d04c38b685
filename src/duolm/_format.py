"""The printed form of a result: the statsmodels-style table, as text, HTML and frames.

Formatting only, at the bottom of the package so that each reading's
``summary()`` can build its table (:mod:`duolm.frequentist._summary`,
:mod:`duolm.bayesian._summary`): every number is given by the caller,
nothing is estimated here and nothing is written back to a result.

The text layout reproduces statsmodels' ``summary().as_text()`` (its
``SimpleTable`` rules: a header block of two key/value columns, the
coefficient table, a diagnostics block, then numbered notes) so that a fit
prints line for line like statsmodels' apart from the date and time. The
building blocks (:class:`Field`, :class:`KeyValueBlock`, :class:`CoefColumn`,
:class:`CoefTable`, :meth:`Summary.build`) are generic, so a Bayesian summary
uses the same class with its own column headers and notes.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CoefColumn",
    "CoefTable",
    "Field",
    "KeyValueBlock",
    "Summary",
    "coef_column",
    "format_coef",
    "format_fixed",
    "format_int",
    "format_pvalue",
    "format_stat",
    "literal",
    "number_field",
    "wrap_note",
]

#: Width the notes are wrapped to (statsmodels' standard notes fit on one line).
NOTE_WIDTH = 100

# statsmodels' SimpleTable settings for the summary (iolib/tableformatting.py):
# key/value blocks have 18-character columns and a 21-character right key
# column; the coefficient table has 10-character columns; columns are joined by
# one space and widen to fit their longest entry.
_KV_WIDTH = 18
_KV_RIGHT_KEY = 21
_COEF_WIDTH = 10


# -- number formats ---------------------------------------------------------------------


def format_fixed(x: float, prec: int = 3) -> str:
    """Fixed decimals, or ``g`` for very large or small numbers (statsmodels' ``forg``).

    Parameters
    ----------
    x : float
        The number.
    prec : {3, 4}
        Decimals; the field is ``prec + 6`` characters wide.

    Returns
    -------
    str

    Examples
    --------
    >>> format_fixed(-257.69637, prec=4), format_fixed(0.00001)
    (' -257.6964', '    1e-05')
    """
    if prec not in (3, 4):
        raise ValueError(f"prec must be 3 or 4, got {prec}")
    width = prec + 6
    if abs(x) >= 1e4 or abs(x) < 1e-4:
        return f"{x:{width}.{prec}g}"
    return f"{x:{width}.{prec}f}"


def format_pvalue(p: float) -> str:
    """A p value with three decimals (``%#6.3f``, as statsmodels)."""
    return f"{p:#6.3f}"


def format_int(n: int) -> str:
    return f"{n:#6d}"


def format_coef(x: float) -> str:
    return format_fixed(x, prec=4)


def format_stat(x: float) -> str:
    return format_fixed(x, prec=3)


# -- generic building blocks ------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One entry of a key/value block.

    Attributes
    ----------
    label : str
        As printed, with its colon (``"R-squared:"``).
    text : str
        The value as printed.
    value : object
        The value for the machine-readable frame (a number where there is one).
    """

    label: str
    text: str
    value: object

    @property
    def name(self) -> str:
        """The label without its trailing colon."""
        return self.label.strip().rstrip(":")


@dataclass(frozen=True)
class KeyValueBlock:
    """Two columns of label/value pairs side by side (the header and diagnostics)."""

    left: tuple[Field, ...]
    right: tuple[Field, ...] = ()

    def frame(self) -> pd.DataFrame:
        """The fields, left column first, as a frame with columns ``field``, ``value``."""
        fields = [*self.left, *self.right]
        return pd.DataFrame(
            {"field": [f.name for f in fields], "value": pd.Series([f.value for f in fields])}
        )

    def text_lines(self) -> list[str]:
        """Rows of the block as statsmodels' ``summary_top`` lays them out."""
        blank = Field(" ", " ", None)
        left, right = list(self.left), list(self.right)
        if right:
            left += [blank] * (len(right) - len(left))
            right += [blank] * (len(left) - len(right))
        rows = [[f.label, f"{f.text:>{_KV_WIDTH}}"] for f in left]
        for row, f in zip(rows, right, strict=False):
            row += [f"{'  ' + f.label:<{_KV_RIGHT_KEY}}", f"{f.text:>{_KV_WIDTH}}"]
        aligns = "lrlr"
        widths = _column_widths(rows, _KV_WIDTH)
        return [_join(row, widths, aligns) for row in rows]

    def html(self) -> str:
        """The block as an HTML ``<table>``."""
        blank = Field("", "", None)
        n = max(len(self.left), len(self.right))
        left = [*self.left, *[blank] * (n - len(self.left))]
        right = [*self.right, *[blank] * (n - len(self.right))]
        rows = []
        for a, b in zip(left, right, strict=True):
            cells = _kv_cells(a)
            if self.right:
                cells += _kv_cells(b)
            rows.append(f"<tr>{cells}</tr>")
        return '<table class="duolm-summary">\n' + "\n".join(rows) + "\n</table>"


def _kv_cells(f: Field) -> str:
    return (
        f'<th style="text-align:left">{html.escape(f.label.strip())}</th>'
        f'<td style="text-align:right">{html.escape(f.text.strip())}</td>'
    )


@dataclass(frozen=True)
class CoefColumn:
    """One column of a coefficient table.

    Attributes
    ----------
    header : str
        Column header as printed (``"std err"``, ``"[0.025"``).
    values : tuple of float
        One value per coefficient (NaN where not estimable).
    format : callable
        Formats one value for printing.
    min_width : int
        Minimum printed width; the column widens to its longest entry.
    """

    header: str
    values: tuple[float, ...]
    format: Callable[[float], str]
    min_width: int = _COEF_WIDTH


@dataclass(frozen=True)
class CoefTable:
    """Coefficient names and the columns printed beside them.

    Attributes
    ----------
    names : tuple of str
        Coefficient names, one row each.
    columns : tuple of CoefColumn
        The printed columns, left to right.
    unestimable : tuple of str
        Names printed as ``(aliased)`` followed by ``NA`` (as R does).
    """

    names: tuple[str, ...]
    columns: tuple[CoefColumn, ...]
    unestimable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for col in self.columns:
            if len(col.values) != len(self.names):
                raise ValueError(
                    f"column {col.header!r} has {len(col.values)} values for "
                    f"{len(self.names)} names"
                )

    def frame(self) -> pd.DataFrame:
        """Values (not strings) indexed by name, one column per header."""
        return pd.DataFrame(
            {col.header: np.asarray(col.values, dtype=np.float64) for col in self.columns},
            index=pd.Index(list(self.names)),
        )

    def cells(self) -> list[list[str]]:
        """Printed cells, one row per coefficient (without the name)."""
        rows = []
        for i, name in enumerate(self.names):
            if name in self.unestimable:
                rows.append(["(aliased)"] + ["NA"] * (len(self.columns) - 1))
            else:
                rows.append([col.format(col.values[i]) for col in self.columns])
        return rows

    def text_lines(self) -> list[str]:
        """Header row, its ``-`` rule and the rows, as statsmodels' ``summary_params``."""
        header = ["", *(col.header for col in self.columns)]
        body = [[name, *cells] for name, cells in zip(self.names, self.cells(), strict=True)]
        mins = [_COEF_WIDTH, *(col.min_width for col in self.columns)]
        widths = _column_widths([header, *body], mins)
        aligns = "l" + "r" * len(self.columns)
        head = _join(header, widths, aligns)
        return [head, "-" * len(head), *(_join(row, widths, aligns) for row in body)]

    def html(self) -> str:
        """The table as an HTML ``<table>`` with a header row."""
        head = "".join(f"<th>{html.escape(col.header)}</th>" for col in self.columns)
        rows = [f"<tr><th></th>{head}</tr>"]
        for name, cells in zip(self.names, self.cells(), strict=True):
            tds = "".join(
                f'<td style="text-align:right">{html.escape(c.strip())}</td>' for c in cells
            )
            rows.append(f'<tr><th style="text-align:left">{html.escape(name)}</th>{tds}</tr>')
        return '<table class="duolm-summary">\n' + "\n".join(rows) + "\n</table>"


def _column_widths(rows: Sequence[Sequence[str]], minimum: int | Sequence[int]) -> list[int]:
    ncols = max((len(r) for r in rows), default=0)
    mins = [minimum] * ncols if isinstance(minimum, int) else list(minimum)
    return [max([mins[j], *(len(r[j]) for r in rows if j < len(r))]) for j in range(ncols)]


def _join(row: Sequence[str], widths: Sequence[int], aligns: str) -> str:
    return " ".join(
        cell.ljust(w) if a == "l" else cell.rjust(w)
        for cell, w, a in zip(row, widths, aligns, strict=False)
    )


def number_field(label: str, value: float | None, spec: str = "#8.4g") -> Field:
    """A numeric field formatted by ``spec``; a missing value (None) prints as ``nan``."""
    x = math.nan if value is None else float(value)
    return Field(label, format(x, spec), x)


def coef_column(
    header: str,
    values: Iterable[float],
    fmt: Callable[[float], str],
    min_width: int = _COEF_WIDTH,
) -> CoefColumn:
    """A :class:`CoefColumn` of ``values`` (a Series or any iterable of numbers)."""
    return CoefColumn(header, tuple(float(v) for v in values), fmt, min_width)


# -- the summary ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Summary:
    """A printed model summary: text, HTML and the tables as frames.

    Attributes
    ----------
    title : str
        Centred above the text (``"OLS Regression Results"``).
    tables : tuple of DataFrame
        Machine-readable: the header fields (columns ``field``, ``value``),
        the coefficient table (indexed by name, numeric columns named as
        printed) and the diagnostics (columns ``field``, ``value``).
    notes : tuple of str
        Plain-word notes, unnumbered (the text numbers them ``[1]``, ``[2]``...).
    text : str
        The fixed-width rendering; ``str(summary)`` returns it.
    html : str
        A self-contained ``<table>`` rendering (no external CSS or scripts);
        notebooks display it.
    """

    title: str
    tables: tuple[pd.DataFrame, ...]
    notes: tuple[str, ...]
    text: str
    html: str

    @classmethod
    def build(
        cls,
        title: str,
        header: KeyValueBlock,
        coefficients: CoefTable,
        diagnostics: KeyValueBlock | None = None,
        notes: Sequence[str] = (),
    ) -> Summary:
        """Lay out a summary from its blocks.

        Parameters
        ----------
        title : str
            Centred over the header block.
        header : KeyValueBlock
            Model and fit statistics.
        coefficients : CoefTable
            One row per coefficient.
        diagnostics : KeyValueBlock, optional
            Residual diagnostics, printed under the coefficients.
        notes : sequence of str
            Plain-word notes, printed numbered under ``Notes:``.

        Returns
        -------
        Summary
        """
        blocks = [header.text_lines(), coefficients.text_lines()]
        if diagnostics is not None:
            blocks.append(diagnostics.text_lines())
        lines: list[str] = []
        for i, block in enumerate(blocks):
            # Each block is ruled to the width of its last row (SimpleTable.as_text).
            width = len(block[-1])
            if i == 0:
                lines.append(title.center(width))
            lines.append("=" * width)
            lines.extend(block)
        lines.append("=" * len(blocks[-1][-1]))
        text = "\n".join(lines)
        if notes:
            text += "\n\nNotes:\n" + "\n".join(
                wrap_note(i, note) for i, note in enumerate(notes, start=1)
            )

        parts = [f"<p><strong>{html.escape(title)}</strong></p>", header.html()]
        parts.append(coefficients.html())
        if diagnostics is not None:
            parts.append(diagnostics.html())
        if notes:
            items = "<br/>\n".join(
                f"[{i}] {html.escape(note)}" for i, note in enumerate(notes, start=1)
            )
            parts.append(f"<p>Notes:<br/>\n{items}</p>")
        body = "\n".join(parts)

        tables = [header.frame(), coefficients.frame()]
        if diagnostics is not None:
            tables.append(diagnostics.frame())
        return cls(
            title=title,
            tables=tuple(tables),
            notes=tuple(notes),
            text=text,
            html=f'<div class="duolm-summary">\n{body}\n</div>',
        )

    def as_text(self) -> str:
        """The fixed-width text."""
        return self.text

    def as_html(self) -> str:
        """The HTML rendering."""
        return self.html

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html


def wrap_note(i: int, note: str) -> str:
    label = f"[{i}] "
    return textwrap.fill(
        note,
        width=NOTE_WIDTH,
        initial_indent=label,
        subsequent_indent=" " * len(label),
        break_long_words=False,
        break_on_hyphens=False,
    )


# -- figures ----------------------------------------------------------------------------


def literal(drawn: Any) -> None:
    """Show every text duolm drew in ``drawn`` (a matplotlib Figure or Axes) as written.

    Column names and formulas reach titles, labels and legends; a name like
    ``$x^{$`` would otherwise make drawing raise (mathtext cannot parse it) and
    ``$a$`` would silently become an italic "a". duolm's own texts use no math
    markup (Unicode ``²``, plain ``beta``), so every Text artist in ``drawn`` is
    made literal; tick labels, written by matplotlib's formatters, are left alone.
    """
    from matplotlib.axes import Axes
    from matplotlib.text import Text

    ticks: set[int] = set()
    for ax in drawn.findobj(Axes):
        for axis in (ax.xaxis, ax.yaxis):
            for tick in [*axis.majorTicks, *axis.minorTicks]:
                ticks.update((id(tick.label1), id(tick.label2)))
    for text in drawn.findobj(Text):
        if id(text) not in ticks:
            text.set_parse_math(False)
