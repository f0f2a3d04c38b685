"""Where the rows of a streamed fit come from: batches read from a file or an iterable.

The readers of :mod:`duolm._stream`, with no statistics in them:

- :func:`_open_source` opens a CSV or Parquet path, or an iterable of pandas
  DataFrames, as a :class:`_Source` (its column names, its length when known);
- :meth:`_Source.batches` reads it as :class:`_Batch` es of exactly ``size``
  rows from a given row on: pyarrow for Parquet (only the used columns, record
  batches regrouped by :func:`_rechunk` without copying), pandas' chunked
  reader for CSV (text columns kept text in every chunk by
  :func:`_csv_text_dtypes`), frames of an iterable as given;
- :func:`_prefetch` decodes batch i + 1 in a thread while batch i is reduced.

Rows are numbered from 0 in file order (the first row under a CSV header is
row 0); read errors name the file and the row.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm.design import is_real_dtype
from duolm.errors import DataError

FloatArray = NDArray[np.float64]
_T = TypeVar("_T")

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zst", ".csv.zip")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def _file_kind(data: object) -> Literal["csv", "parquet"] | None:
    if not isinstance(data, str | os.PathLike):
        return None
    name = os.fspath(data)
    if not isinstance(name, str):
        return None
    lower = name.lower()
    if lower.endswith(_CSV_SUFFIXES):
        return "csv"
    if lower.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    return None


def _is_dask(data: object) -> bool:
    return type(data).__module__.startswith("dask") and hasattr(data, "npartitions")


def is_source(data: object) -> bool:
    """True for data that :mod:`duolm._stream` (or :mod:`duolm.dask`) reads in batches.

    Sources are a path (``str`` or ``os.PathLike``) ending in ``.csv`` (also
    compressed: ``.csv.gz``, ``.csv.bz2``, ``.csv.xz``, ``.csv.zst``,
    ``.csv.zip``), ``.parquet`` or ``.pq``; an iterable or iterator of pandas
    DataFrames (a list or tuple must hold only DataFrames; a DataFrame, a
    Series, a mapping, an array or a polars object is not a source); a Dask
    DataFrame. Nothing is read or consumed.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [1.0], "y": [2.0]})
    >>> is_source("data.parquet"), is_source([frame, frame]), is_source(frame)
    (True, True, False)
    >>> is_source({"x": [1.0]}), is_source("y ~ x")
    (False, False)
    """
    if isinstance(data, str | bytes | os.PathLike):
        return _file_kind(data) is not None
    if _is_dask(data):
        return True
    if isinstance(data, pd.DataFrame | pd.Series | Mapping | np.ndarray):
        return False
    if type(data).__module__.startswith(("polars", "pyarrow")):
        return False
    if isinstance(data, list | tuple):
        return len(data) > 0 and all(isinstance(item, pd.DataFrame) for item in data)
    if isinstance(data, Iterator):
        return True
    if isinstance(data, Iterable):
        return not any(hasattr(data, name) for name in ("shape", "__array__", "columns"))
    return False


@dataclass(frozen=True)
class _Batch:
    """Rows ``start .. start + nrows - 1`` of a source, as a pyarrow table or a frame.

    ``decoded`` holds :meth:`numeric` of some columns taken ahead of time
    (:meth:`decode`, in the reader thread).
    """

    start: int
    data: Any  # pyarrow.Table or pandas.DataFrame
    decoded: Mapping[str, FloatArray | None] | None = None

    def decode(self, names: Iterable[str]) -> _Batch:
        """The same batch with :meth:`numeric` of ``names`` taken now (a column that cannot
        be taken is left to :meth:`numeric`, which raises its error where it is asked)."""
        decoded: dict[str, FloatArray | None] = {}
        for name in names:
            try:
                decoded[name] = self._numeric(name)
            except Exception:  # raised again, in the reducing thread, if it is needed
                continue
        return replace(self, decoded=decoded)

    @property
    def nrows(self) -> int:
        return len(self.data) if isinstance(self.data, pd.DataFrame) else self.data.num_rows

    def head(self, rows: int) -> _Batch:
        """The first ``rows`` rows (no copy)."""
        if isinstance(self.data, pd.DataFrame):
            return _Batch(self.start, self.data.iloc[:rows])
        return _Batch(self.start, self.data.slice(0, rows))  # decoded columns not sliced

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame labelled by their row numbers in the source."""
        if isinstance(self.data, pd.DataFrame):
            return self.data
        frame: pd.DataFrame = self.data.to_pandas()
        frame.index = pd.RangeIndex(self.start, self.start + len(frame))
        return frame

    def numeric(self, name: str) -> FloatArray | None:
        """A numeric or boolean column as float64 (NaN for missing), else None."""
        if self.decoded is not None and name in self.decoded:
            return self.decoded[name]
        return self._numeric(name)

    def _numeric(self, name: str) -> FloatArray | None:
        if isinstance(self.data, pd.DataFrame):
            if name not in self.data.columns:  # formulaic's path names the missing column
                return None
            series = self.data[name]
            if isinstance(series, pd.DataFrame):
                return None
            if is_real_dtype(series.dtype):
                return series.to_numpy(dtype=np.float64, na_value=np.nan)
            return None
        import pyarrow as pa

        column = self.data.column(name)
        kind = column.type
        if not (
            pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind)
        ):
            return None
        if column.null_count:  # nulls become NaN; integers beyond 2**53 round, as numpy's
            column = column.cast(pa.float64(), safe=False)
        return np.asarray(column.to_numpy(), dtype=np.float64)


@dataclass(frozen=True)
class _Source:
    """Where the rows come from, and how to read them from a given row on."""

    kind: Literal["csv", "parquet", "frames"]
    path: Path | None
    frames: Iterable[pd.DataFrame] | None
    names: tuple[str, ...]  # every column of the source
    nrows: int | None  # total rows when known (Parquet)
    csv_dtypes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else "the frames"

    def batches(self, columns: tuple[str, ...], size: int, start: int = 0) -> Iterator[_Batch]:
        """Batches of exactly ``size`` rows (the last may be shorter) from row ``start`` on.

        Frames of an iterable are batches as given; ``start`` then counts frames.
        """
        if self.kind == "parquet":
            assert self.path is not None
            return _parquet_batches(self.path, columns, size, start)
        if self.kind == "csv":
            assert self.path is not None
            return _csv_batches(self.path, self.names, columns, size, start, self.csv_dtypes)
        assert self.frames is not None
        return _frame_batches(self.frames, start)


def _open_source(data: object) -> _Source:
    """Open a path or an iterable of frames (TypeError for anything :func:`is_source` refuses).

    A file must exist and its header (CSV) or schema (Parquet) be readable; an
    iterable of frames must yield at least one frame, whose columns are taken.
    """
    kind = _file_kind(data)
    if kind is None:
        if _is_dask(data):
            raise TypeError("a Dask DataFrame is fitted by duolm.dask, not duolm.stream")
        if not is_source(data):
            raise TypeError(
                "source must be a path to a .csv or .parquet file or an iterable of pandas "
                f"DataFrames, got {type(data).__name__}"
            )
        frames = data if isinstance(data, Iterable) else ()
        iterator = iter(frames)
        try:
            first = next(iterator)
        except StopIteration:
            raise DataError("the iterable of frames is empty") from None
        if not isinstance(first, pd.DataFrame):
            raise TypeError(f"the source must yield pandas DataFrames, got {type(first).__name__}")
        names = tuple(str(name) for name in first.columns)
        again: Iterable[pd.DataFrame] = (
            itertools.chain([first], iterator) if iterator is frames else frames
        )
        return _Source("frames", None, again, names, None)
    path = Path(cast("str | os.PathLike[str]", data))
    if not path.is_file():
        raise FileNotFoundError(2, f"no such data file: {path}", str(path))
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            with pq.ParquetFile(path) as pf:
                names = tuple(pf.schema_arrow.names)
                nrows = int(pf.metadata.num_rows)
        except Exception as exc:
            raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
        return _Source("parquet", path, None, names, nrows)
    try:
        header = pd.read_csv(path, nrows=0)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (no header, no rows)") from None
    names = tuple(str(name) for name in header.columns)
    return _Source("csv", path, None, names, None)


def _csv_text_dtypes(source: _Source, columns: tuple[str, ...], size: int) -> _Source:
    """Read text columns as text in every batch, as they are in the first.

    pandas infers the type of each chunk separately: a categorical column whose
    levels look like numbers in one chunk would otherwise change type there.
    """
    assert source.path is not None
    head = pd.read_csv(source.path, nrows=size, usecols=list(columns))
    text = {
        name: str
        for name in columns
        if not (
            pd.api.types.is_numeric_dtype(head[name].dtype)
            or pd.api.types.is_bool_dtype(head[name].dtype)
        )
    }
    return replace(source, csv_dtypes=text)


#: Bytes by which each column's reads of a Parquet file are buffered.
_PARQUET_BUFFER = 1 << 18


def _parquet_batches(
    path: Path, columns: tuple[str, ...], size: int, start: int
) -> Iterator[_Batch]:
    import pyarrow.parquet as pq

    # pre_buffer=False reads one column chunk at a time: a lower peak than buffering
    # a whole row group, at no cost in speed for local files. Without buffer_size every
    # page is a read call of its own: buffering a column's reads by 256 KiB took a
    # fifth off a bare scan here (10^7 rows x 6 float64: 0.14 s -> 0.11 s).
    with pq.ParquetFile(path, pre_buffer=False, buffer_size=_PARQUET_BUFFER) as pf:
        meta = pf.metadata
        first_row, group = 0, 0
        while group < meta.num_row_groups and first_row + meta.row_group(group).num_rows <= start:
            first_row += meta.row_group(group).num_rows
            group += 1
        if group >= meta.num_row_groups:
            return
        raw = pf.iter_batches(
            batch_size=size,
            row_groups=list(range(group, meta.num_row_groups)),
            columns=list(columns),
            use_threads=True,
        )
        yield from _rechunk(raw, start - first_row, size, start)


def _rechunk(raw: Iterator[Any], skip: int, size: int, start: int) -> Iterator[_Batch]:
    """Arrow record batches regrouped into tables of exactly ``size`` rows (zero-copy)."""
    import pyarrow as pa

    pending: list[Any] = []
    have = 0
    for rb in raw:
        if skip:
            if rb.num_rows <= skip:
                skip -= rb.num_rows
                continue
            rb, skip = rb.slice(skip), 0
        if not pending and rb.num_rows == size:  # the common case: pass through
            yield _Batch(start, pa.Table.from_batches([rb]))
            start += size
            continue
        pending.append(rb)
        have += rb.num_rows
        while have >= size:
            table = pa.Table.from_batches(pending)
            yield _Batch(start, table.slice(0, size))
            start += size
            pending = table.slice(size).to_batches()
            have -= size
    if have:
        yield _Batch(start, pa.Table.from_batches(pending))


def _csv_batches(
    path: Path,
    names: tuple[str, ...],
    columns: tuple[str, ...],
    size: int,
    start: int,
    dtypes: Mapping[str, Any],
) -> Iterator[_Batch]:
    options: dict[str, Any] = {"usecols": list(columns), "dtype": dict(dtypes), "chunksize": size}
    if start:  # skip the header and `start` rows; the C parser skips whole records
        options.update(header=None, names=list(names), skiprows=start + 1)
    try:
        reader = pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        return
    with reader:
        row = start
        while True:
            try:
                chunk = next(reader)
            except StopIteration:
                return
            except (ValueError, pd.errors.ParserError) as exc:
                raise DataError(
                    f"{path}: cannot parse the rows after row {row - 1}: {exc}"
                ) from exc
            chunk.index = pd.RangeIndex(row, row + len(chunk))
            yield _Batch(row, chunk)
            row += len(chunk)


def _frame_batches(frames: Iterable[pd.DataFrame], start: int) -> Iterator[_Batch]:
    row = 0
    for number, frame in enumerate(frames):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"item {number} of the source is a {type(frame).__name__}, not a frame")
        if number >= start:
            yield _Batch(row, frame)
        row += len(frame)


def _prefetch(items: Iterator[_T], depth: int = 1) -> Iterator[_T]:
    """Produce ``items`` in a background thread, at most ``depth`` ahead.

    Decoding (pyarrow, pandas' parser) and the QR (LAPACK) both release the GIL,
    so reading batch i + 1 overlaps reducing batch i. Memory: ``depth + 2`` batches.
    """
    slots: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[int, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put((0, item)):
                    return
            put((1, None))
        except BaseException as exc:
            put((2, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name="duolm-stream-reader", daemon=True)
    thread.start()
    try:
        while True:
            tag, value = slots.get()
            if tag == 1:
                return
            if tag == 2:
                raise value
            yield value
    finally:
        stop.set()
        thread.join()
