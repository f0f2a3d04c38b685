"""The cluster labels of a batch's fitted rows, read from the grouping columns beside the design.

A streamed (or Dask) fit with ``cov_type="cluster"`` reads its ``groups``
columns with the design's columns; pass 2 hands the labels of the rows it
kept (those complete in the formula's columns) to
:class:`~duolm.core.ScoreMeats`, which sums the score rows by group. A label
missing on a fitted row is an error naming the column and the row, as in
memory (:mod:`duolm.frequentist._robust`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm._stream._sources import _Batch
from duolm.errors import DataError


def group_labels(
    batch: _Batch, groups: tuple[str, ...], used: tuple[str, ...], kept: int, label: str
) -> tuple[pd.Index, ...]:
    """One index of labels per grouping column, for the ``kept`` fitted rows of ``batch``.

    Parameters
    ----------
    batch : _Batch
    groups : tuple of str
        The grouping columns (one or two).
    used : tuple of str
        The formula's columns: a row is fitted when all of them are present.
    kept : int
        Rows the design kept (to check the rows found here against).
    label : str
        The source, for messages.

    Returns
    -------
    tuple of pandas.Index, each of length ``kept``
    """
    if not groups:
        return ()
    if kept == batch.nrows and not isinstance(batch.data, pd.DataFrame):
        return tuple(_arrow_labels(batch, name, label) for name in groups)
    # only the columns needed: the groups', and the formula's when some rows were dropped
    needed = list(dict.fromkeys(groups + (used if kept != batch.nrows else ())))
    frame = _columns(batch, needed)
    for name in groups:
        if name not in frame.columns:
            raise _absent(label, name)
    rows = np.ones(len(frame), dtype=bool)
    if kept != len(frame):
        rows = frame[list(used)].notna().all(axis=1).to_numpy()
        if int(rows.sum()) != kept:
            raise DataError(
                f"{label}: cannot tell which {kept} of the batch's {len(frame)} rows were "
                "fitted, to read their cluster groups"
            )
    if not isinstance(batch.data, pd.DataFrame):  # labels as Arrow gives them, as above
        return tuple(_arrow_labels(batch, name, label, rows) for name in groups)
    out = []
    for name in groups:
        column = frame[name].to_numpy()[rows]
        missing = pd.isna(column)
        if missing.any():
            row = frame.index[np.flatnonzero(rows)[int(np.flatnonzero(missing)[0])]]
            raise _missing(label, name, row)
        out.append(pd.Index(column))
    return tuple(out)


def _arrow_labels(
    batch: _Batch, name: str, label: str, rows: NDArray[np.bool_] | None = None
) -> pd.Index:
    """The labels of the rows ``rows`` (None: all) of an Arrow batch in column ``name``,
    no frame built. Every batch's labels come from here, whether it dropped rows or
    not: pandas' conversion gives other types (``datetime.date`` for Arrow's dates,
    ``Timestamp`` for zoned times), which never equal Arrow's ``datetime64``, and one
    group would have become two."""
    table = batch.data
    if name not in table.column_names:
        raise _absent(label, name)
    column = table.column(name)
    # nulls first: a dictionary column's nulls come out of to_numpy as some other label
    missing = column.is_null().to_numpy(zero_copy_only=False) if column.null_count else None
    values = column.to_numpy(zero_copy_only=False)
    if missing is None:
        missing = pd.isna(values)  # NaN in a float column is a value to Arrow, not a null
    at = np.arange(len(values)) if rows is None else np.flatnonzero(rows)
    if rows is not None:
        values, missing = values[rows], missing[rows]
    if missing.any():
        raise _missing(label, name, batch.start + int(at[np.flatnonzero(missing)[0]]))
    out: pd.Index = pd.Index(values)
    return out


def _absent(label: str, name: str) -> DataError:
    return DataError(f"{label}: cov_kwds 'groups': column {name!r} is not in the data")


def _missing(label: str, name: str, row: object) -> DataError:
    return DataError(f"{label}: the cluster groups column {name!r} is missing at row {row}")


def _columns(batch: _Batch, names: list[str]) -> pd.DataFrame:
    """The batch's columns ``names`` (those it has) as a frame labelled by row number."""
    if isinstance(batch.data, pd.DataFrame):
        return batch.data[[name for name in names if name in batch.data.columns]]
    table = batch.data.select([name for name in names if name in batch.data.column_names])
    frame: pd.DataFrame = table.to_pandas()
    frame.index = pd.RangeIndex(batch.start, batch.start + len(frame))
    return frame
