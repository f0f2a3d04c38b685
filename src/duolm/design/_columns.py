"""Frames and columns -> float arrays: the conversions under :mod:`duolm.design`.

Private to duolm. What comes in may be a pandas or polars DataFrame (or
LazyFrame), a mapping of column name -> array, a Series or an array-like;
what goes out is float64 with NaN for missing. Text in a numeric column is
read as numbers when it is numbers and refused with the column, row and value
named when it is not (a column that is mostly text is categorical instead);
infinite values and, with ``missing="raise"``, missing values are refused
with the rows named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from duolm._checks import Missing
from duolm.design._formula import ParsedFormula
from duolm.errors import DataError

__all__ = [
    "FloatArray",
    "Kind",
    "Missing",
    "as_frame",
    "check_inf",
    "column_kind",
    "default_names",
    "missing_message",
    "one_column",
    "prepare",
    "row_label",
    "to_float",
    "x_array",
    "y_array",
]

Kind = Literal["numeric", "categorical", "asis"]  # "asis": only ever C()'s first argument
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


# ---------------------------------------------------------------- frames and columns


def as_frame(data: object) -> pd.DataFrame:
    """Accept a pandas or polars DataFrame or a mapping of column name -> array."""
    if isinstance(data, pd.DataFrame):
        if all(isinstance(name, str) for name in data.columns):
            return data
        return data.set_axis([str(name) for name in data.columns], axis=1)
    if type(data).__module__.startswith("polars") and hasattr(data, "columns"):
        table: Any = data.collect() if hasattr(data, "collect") else data  # LazyFrame
        return pd.DataFrame({name: table.get_column(name).to_numpy() for name in table.columns})
    if isinstance(data, Mapping):
        values = {str(k): v.to_numpy() if isinstance(v, pd.Series) else v for k, v in data.items()}
        try:
            return pd.DataFrame(values)
        except ValueError as exc:
            raise DataError(f"cannot make a table of the mapping's columns: {exc}") from exc
    import os

    if isinstance(data, str | os.PathLike):  # a path that no reader took: say why
        from pathlib import Path

        path = Path(os.fspath(data))
        if path.is_dir():
            raise IsADirectoryError(21, f"{path} is a directory, not a data file", str(path))
        if path.exists():
            raise DataError(
                f"{path}: duolm reads .csv files (also .csv.gz, .csv.bz2, .csv.xz, .csv.zst, "
                ".csv.zip) and .parquet or .pq files; rename it, or read it into a DataFrame"
            )
        raise DataError(
            "data must be a pandas DataFrame, a polars DataFrame, a mapping of column "
            f"name -> array or the path of a .csv or .parquet file; got {str(data)!r}, "
            "which names no file"
        )
    raise DataError(
        "data must be a pandas DataFrame, a polars DataFrame or a mapping of column "
        f"name -> array, got {type(data).__name__}"
    )


def one_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name``; refused when the frame has more than one of that name."""
    series = frame[name]
    if isinstance(series, pd.DataFrame):
        raise DataError(f"column {name!r} appears more than once in the data")
    return series


def row_label(index: pd.Index, position: int) -> str:
    """The label of the row at ``position`` as an error message shows it (text quoted)."""
    value = index[position]
    value = value.item() if isinstance(value, np.generic) else value
    return repr(value) if isinstance(value, str) else str(value)


def is_real_dtype(dtype: Any) -> bool:
    """A boolean or real numeric dtype: its values are numbers by type, not by content."""
    if pd.api.types.is_bool_dtype(dtype):
        return True
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype))


def column_kind(series: pd.Series, name: str, parsed: ParsedFormula) -> Kind:
    """Decide how a column of the fit's data is used; refuse what cannot be."""
    if name in parsed.categorical_only:
        return "asis"
    dtype = series.dtype
    if pd.api.types.is_complex_dtype(dtype):
        raise DataError(f"column {name!r} is complex; only real numbers can be fitted")
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if not (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
        raise DataError(f"column {name!r} has dtype {dtype}; convert it to numbers or text")
    present = series[series.notna()]
    nested = present.map(lambda v: isinstance(v, list | tuple | dict | set | np.ndarray))
    if nested.to_numpy(dtype=bool).any():
        first = int(np.flatnonzero(nested.to_numpy(dtype=bool))[0])
        value = present.iloc[first]
        raise DataError(
            f"column {name!r} holds {type(value).__name__} values (row {present.index[first]!r}: "
            f"{str(value)[:40]}), not numbers or text labels; a Parquet list or struct column "
            "must be unpacked into columns first"
        )
    numbers = pd.to_numeric(present, errors="coerce")
    good = int(numbers.notna().sum())
    if good == len(present):
        return "numeric"
    if 2 * good >= len(present):  # mostly numbers: a typo, not a categorical
        to_float(series, f"column {name!r}")
    return "categorical"


def to_float(series: pd.Series, what: str) -> FloatArray:
    """A column as float64 with NaN for missing; text that is not a number is an error."""
    dtype = series.dtype
    if pd.api.types.is_complex_dtype(dtype):
        raise DataError(f"{what} is complex; only real numbers can be fitted")
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if not (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
        raise DataError(f"{what} is not numeric (dtype {dtype})")
    numbers = pd.to_numeric(series, errors="coerce")
    bad = np.flatnonzero(series.notna().to_numpy() & numbers.isna().to_numpy())
    if len(bad):
        row = bad[0]
        raise DataError(
            f"{what} is not numeric: row {row_label(series.index, row)} holds "
            f"{series.iloc[row]!r}, which is not a number"
        )
    numbers = _refuse_complex(numbers, what)
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _refuse_complex(numbers: pd.Series, what: str) -> pd.Series:
    """``numbers`` real, or a DataError naming the first row with an imaginary part
    (``pd.to_numeric`` lets complex Python numbers through)."""
    dtype = numbers.dtype
    if not (pd.api.types.is_complex_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
        return numbers
    values = numbers.to_numpy()
    imaginary = [isinstance(v, complex | np.complexfloating) and v.imag != 0 for v in values]
    if any(imaginary):
        row = imaginary.index(True)
        raise DataError(
            f"{what} is complex at row {row_label(numbers.index, row)} "
            f"({values[row]!r}); only real numbers can be fitted"
        )
    if pd.api.types.is_complex_dtype(dtype):
        return pd.Series(np.real(values), index=numbers.index)
    return numbers


def check_inf(values: FloatArray, what: str, index: pd.Index) -> None:
    """Refuse an infinite value in ``values``, naming ``what`` and the first such row."""
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        row = infinite[0]
        raise DataError(
            f"{what} is {values[row]} at row {row_label(index, row)}; "
            "infinite values cannot be fitted"
        )


#: What the error of ``missing="raise"`` advises (a fit; ``predict`` says otherwise).
DROP_ADVICE = "use missing='drop' to drop these rows"


def why_no_rows(counts: Mapping[str, int], rows: int) -> str:
    """Which columns emptied the data: those missing in every row, else the counts.

    Parameters
    ----------
    counts : mapping
        Column -> rows in which it is missing.
    rows : int
        Rows there were.
    """
    empty = [name for name, count in counts.items() if count >= rows]
    if empty:
        names = ", ".join(repr(name) for name in empty)
        return f"column(s) {names} missing in every row"
    shown = ", ".join(f"{name!r} in {count}" for name, count in counts.items() if count)
    return f"missing values in {shown} rows, and no row has all its values"


def missing_message(columns: Sequence[str], labels: pd.Index, advice: str = DROP_ADVICE) -> str:
    """The error for ``missing="raise"``: the columns and (up to five) rows with gaps."""
    shown = ", ".join(row_label(labels, i) for i in range(min(5, len(labels))))
    more = f" (and {len(labels) - 5} more)" if len(labels) > 5 else ""
    names = ", ".join(repr(name) for name in columns)
    return f"missing values in column(s) {names} at rows {shown}{more}; {advice}"


def prepare(
    frame: pd.DataFrame,
    columns: Sequence[str],
    kinds: Mapping[str, Kind],
    missing: Missing,
    advice: str = DROP_ADVICE,
) -> tuple[pd.DataFrame, np.ndarray[Any, np.dtype[np.bool_]]]:
    """Used columns converted, checked for inf, missing rows dropped or refused.

    ``advice`` ends the error of ``missing="raise"``.
    """
    values: dict[str, Any] = {}
    lacking: dict[str, np.ndarray[Any, np.dtype[np.bool_]]] = {}
    for name in columns:
        series = one_column(frame, name)
        if kinds[name] == "numeric":
            array = to_float(series, f"column {name!r}")
            check_inf(array, f"column {name!r}", frame.index)
            values[name], lacking[name] = array, np.isnan(array)
        else:
            if isinstance(series.dtype, pd.StringDtype) and series.dtype.na_value is pd.NA:
                # formulaic reads pandas' "str" and object columns as categorical, but not
                # the pd.NA-backed "string" dtype: it would leave the text in X
                series = series.astype(object)
            values[name] = series.reset_index(drop=True)
            lacking[name] = series.isna().to_numpy(dtype=bool)
    any_lacking = np.zeros(len(frame), dtype=bool)
    for mask in lacking.values():
        any_lacking |= mask
    if any_lacking.any() and missing == "raise":
        bad = [name for name, mask in lacking.items() if mask.any()]
        raise DataError(missing_message(bad, frame.index[any_lacking], advice))
    keep = ~any_lacking
    rows = np.flatnonzero(keep)
    clean = {
        name: v[rows] if isinstance(v, np.ndarray) else v.iloc[rows].reset_index(drop=True)
        for name, v in values.items()
    }
    return pd.DataFrame(clean, index=pd.RangeIndex(len(rows))), keep


# ---------------------------------------------------------------- arrays


def x_array(
    X: object, fitted: tuple[str, ...] | None = None
) -> tuple[FloatArray, list[str], pd.Index]:
    """X as a float array (NaN for missing) with column names and row labels.

    ``fitted`` (for new data) is the fit's column names: a frame holding them
    all is reordered to match, and a 1-D array of that length is one row.
    """
    if type(X).__module__.startswith("polars") or isinstance(X, pd.DataFrame | pd.Series):
        frame = as_frame(X.to_frame() if isinstance(X, pd.Series) else X)
        if fitted is not None and set(fitted) <= set(frame.columns):
            frame = frame[list(fitted)]
        elif fitted is not None and list(fitted) != default_names(len(fitted)):
            # the fit's columns had names: taking others by position could swap them
            absent = ", ".join(repr(name) for name in fitted if name not in frame.columns)
            raise DataError(
                f"X has no column(s) {absent} of the fit; its columns are "
                f"{[str(name) for name in frame.columns]}"
            )
        names = [str(name) for name in frame.columns]
        if not names:
            raise DataError("X has no columns")
        columns = [to_float(frame.iloc[:, i], f"X column {n!r}") for i, n in enumerate(names)]
        return np.column_stack(columns), names, frame.index
    try:
        array = np.asarray(X)
    except ValueError as exc:  # ragged rows
        raise DataError(f"X is not a rectangular array: {exc}") from exc
    if array.ndim == 1:
        one_row = fitted is not None and len(fitted) > 1 and len(array) == len(fitted)
        array = array[None, :] if one_row else array[:, None]
    if array.ndim != 2:
        raise DataError(
            f"X must be 2-D of shape (n, k), got {array.ndim}-D with shape {array.shape}"
        )
    if array.shape[1] == 0:
        raise DataError("X has no columns")
    names = (
        list(fitted) if fitted and len(fitted) == array.shape[1] else default_names(array.shape[1])
    )
    index = pd.RangeIndex(len(array))
    if array.dtype == np.float64 and (array.flags.c_contiguous or array.flags.f_contiguous):
        # used where it is (issue 13: a copy of 10^6 x 20 costs half a pass of the fit); a
        # read-only view, so that nothing in duolm writes into the caller's array
        view = array.view()
        view.flags.writeable = False
        return view, names, index
    if array.dtype.kind in "biuf":  # converted, hence a copy
        return np.array(array, dtype=np.float64, order="C", copy=True), names, index
    columns = [to_float(pd.Series(array[:, i]), f"X column {n!r}") for i, n in enumerate(names)]
    return np.column_stack(columns), names, index


def default_names(k: int) -> list[str]:
    """Names of the columns of an unnamed X: ``x0, x1, ...``."""
    return [f"x{i}" for i in range(k)]


def y_array(y: object) -> tuple[FloatArray, str]:
    """y as a float array (NaN for missing) and its name (a Series' name, else ``"y"``)."""
    name = getattr(y, "name", None)
    if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
        name, y = y.columns[0], y.iloc[:, 0]
    elif type(y).__module__.startswith("polars") and hasattr(y, "to_numpy"):
        y = y.to_numpy()
    series = y if isinstance(y, pd.Series) else None
    if series is None:
        array = np.asarray(y)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise DataError(f"y must be 1-D of shape (n,), got shape {array.shape}")
        series = pd.Series(array)
    response = str(name) if isinstance(name, str | int) else "y"
    return to_float(series, "y"), response
