"""Where the rows of a streamed fit come from: batches read from a file or an iterable.

The readers of :mod:`duolm._stream`, with no statistics in them:

- :func:`_open_source` opens a CSV or Parquet path, or an iterable of pandas
  DataFrames, as a :class:`_Source` (its column names, its length when known);
- :meth:`_Source.batches` reads it as :class:`_Batch` es of exactly ``size``
  rows from a given row on: pyarrow for Parquet (only the used columns, record
  batches regrouped by :func:`_rechunk` without copying), pandas' chunked
  reader for CSV (text columns kept text in every chunk by
  :func:`_csv_text_dtypes`), frames of an iterable as given;
- :meth:`_Source.read_ahead` reads them ahead in a thread (:func:`_prefetch`)
  while the batch before is reduced: a Parquet file of moderate row groups
  one row group ahead (:data:`_GROUP_BYTES`), else one batch ahead.

Rows are numbered from 0 in file order (the first row under a CSV header is
row 0); read errors name the file and the row.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections.abc import Generator, Iterable, Iterator, Mapping
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
    encoding: str | None = None  # of a CSV file (None: UTF-8)
    first_raw: str = ""  # a CSV file's first column name as written (for :class:`RowCheck`)

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else "the frames"

    def batches(self, columns: tuple[str, ...], size: int, start: int = 0) -> Iterator[_Batch]:
        """Batches of exactly ``size`` rows (the last may be shorter) from row ``start`` on.

        Frames of an iterable are batches as given; ``start`` then counts frames.
        """
        if self.kind == "parquet":
            assert self.path is not None
            groups = _parquet_groups(self.path, columns, start)
            if groups is None:
                return iter(())
            raw = _parquet_batches(self.path, columns, size, groups)
            return _rechunk(raw, groups.skip, size, start)
        if self.kind == "csv":
            assert self.path is not None
            return _csv_batches(self, columns, size, start)
        assert self.frames is not None
        return _frame_batches(self.frames, start)

    def read_ahead(
        self, columns: tuple[str, ...], size: int, start: int = 0, decode: bool = False
    ) -> Generator[_Batch, None, None]:
        """:meth:`batches`, read in a background thread while the batch before is reduced.

        A Parquet file whose row groups hold at most :data:`_GROUP_BYTES` of the
        used columns is read a whole row group at a time (pyarrow decodes its
        columns in parallel; about a third faster than batch by batch), one row
        group ahead of the batches cut from the one before (memory: two row groups);
        another file one batch at a time, two batches ahead, each with
        :meth:`_Batch.decode` of ``columns`` taken in the thread when ``decode``.
        Frames of an iterable are read as given, in the calling thread.
        """
        if self.kind == "frames":
            assert self.frames is not None
            return _frame_batches(self.frames, start)
        if self.kind == "parquet":
            assert self.path is not None
            groups = _parquet_groups(self.path, columns, start)
            if groups is not None and groups.whole:
                tables = _prefetch(_read_groups(self.path, columns, groups), 0)
                return _rechunk(tables, groups.skip, size, start)
        batches = self.batches(columns, size, start)
        if decode:
            batches = (batch.decode(columns) for batch in batches)
        return _prefetch(batches, 2)


def _open_source(data: object, encoding: str | None = None) -> _Source:
    """Open a path or an iterable of frames (TypeError for anything :func:`is_source` refuses).

    A file must exist and its header (CSV) or schema (Parquet) be readable and
    name each column once; a CSV file must be text in ``encoding`` (default
    UTF-8). An iterable of frames must yield at least one frame, whose
    columns are taken.
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
    if path.is_dir():
        raise IsADirectoryError(21, f"{path} is a directory, not a data file", str(path))
    if not path.is_file():
        raise FileNotFoundError(2, f"no such data file: {path}", str(path))
    if kind == "parquet":
        import pyarrow.parquet as pq

        names = parquet_names(path)
        try:
            with pq.ParquetFile(path) as pf:
                nrows = int(pf.metadata.num_rows)
        except Exception as exc:
            raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
        return _Source("parquet", path, None, names, nrows)
    check_text(path, encoding)
    raw = csv_header(path, encoding)
    try:
        header = pd.read_csv(path, nrows=0, encoding=encoding)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (no header, no rows)") from None
    names = tuple(str(name) for name in header.columns)
    first = raw[0] if raw else ""
    return _Source("csv", path, None, names, None, encoding=encoding, first_raw=first)


def _csv_text_dtypes(source: _Source, columns: tuple[str, ...], size: int) -> _Source:
    """Read text columns as text in every batch, as they are in the first.

    pandas infers the type of each chunk separately: a categorical column whose
    levels look like numbers in one chunk would otherwise change type there.
    """
    assert source.path is not None
    try:
        head = pd.read_csv(source.path, nrows=size, usecols=list(columns), encoding=source.encoding)
    except UnicodeDecodeError as exc:
        raise decode_error(source.path, exc, source.encoding) from None
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


#: Largest row group read whole (the used columns' bytes, uncompressed, or 8 bytes a
#: value if more): two are held at a time. Larger ones are read batch by batch.
_GROUP_BYTES = 1 << 26


@dataclass(frozen=True)
class _Groups:
    """The row groups of a Parquet file from a given row on."""

    first: int  # the row group that holds the starting row
    count: int  # row groups in the file
    starts: tuple[int, ...]  # first row of each row group, and the number of rows last
    skip: int  # rows of the first group before the starting row
    whole: bool  # every group from ``first`` on is at most _GROUP_BYTES: read whole


def _parquet_groups(path: Path, columns: tuple[str, ...], start: int) -> _Groups | None:
    """Where row ``start`` is among the row groups, by the footer; None past the end."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as pf:
        meta = pf.metadata
        starts = [0]
        sizes = []
        used = set(columns)
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            starts.append(starts[-1] + group.num_rows)
            chunks = (group.column(i) for i in range(group.num_columns))
            stored = sum(
                chunk.total_uncompressed_size
                for chunk in chunks
                if chunk.path_in_schema.split(".")[0] in used
            )
            sizes.append(max(stored, 8 * group.num_rows * len(used)))
    first = next((g for g in range(len(sizes)) if starts[g + 1] > start), None)
    if first is None:
        return None
    whole = max(sizes[first:]) <= _GROUP_BYTES
    return _Groups(first, len(sizes), tuple(starts), start - starts[first], whole)


def _read_groups(path: Path, columns: tuple[str, ...], groups: _Groups) -> Iterator[list[Any]]:
    """The record batches of row groups ``groups.first`` on, a whole row group at a time."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, pre_buffer=False, buffer_size=_PARQUET_BUFFER) as pf:
        for g in range(groups.first, groups.count):
            try:
                table = pf.read_row_group(g, columns=list(columns), use_threads=True)
            except (OSError, ValueError) as exc:  # pyarrow's errors of a damaged file
                lo, hi = groups.starts[g], groups.starts[g + 1] - 1
                raise DataError(
                    f"{path}: cannot read rows {lo}..{hi} (row group {g}): {exc}"
                ) from exc
            yield table.to_batches()


def _parquet_batches(
    path: Path, columns: tuple[str, ...], size: int, groups: _Groups
) -> Iterator[list[Any]]:
    """The record batches of row groups ``groups.first`` on, as pyarrow reads them."""
    import pyarrow.parquet as pq

    # pre_buffer=False reads one column chunk at a time: a lower peak than buffering
    # a whole row group, at no cost in speed for local files. Without buffer_size every
    # page is a read call of its own: buffering a column's reads by 256 KiB took a
    # fifth off a bare scan here (10^7 rows x 6 float64: 0.14 s -> 0.11 s).
    with pq.ParquetFile(path, pre_buffer=False, buffer_size=_PARQUET_BUFFER) as pf:
        raw = pf.iter_batches(
            batch_size=size,
            row_groups=list(range(groups.first, groups.count)),
            columns=list(columns),
            use_threads=True,
        )
        row = groups.starts[groups.first]
        while True:
            try:
                rb = next(raw, None)
            except (OSError, ValueError) as exc:  # pyarrow's errors of a damaged file
                raise DataError(f"{path}: cannot read the rows from row {row} on: {exc}") from exc
            if rb is None:
                return
            row += rb.num_rows
            yield [rb]


def _rechunk(
    raw: Iterator[list[Any]], skip: int, size: int, start: int
) -> Generator[_Batch, None, None]:
    """Arrow record batches (given in lists) regrouped into tables of exactly ``size``
    rows, numbered from ``start`` after ``skip`` rows (zero-copy but across lists)."""
    import pyarrow as pa

    pending: list[Any] = []
    have = 0
    try:
        for rb in itertools.chain.from_iterable(raw):
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
    finally:  # a consumer that stops early stops the reader thread of ``raw`` now
        close = getattr(raw, "close", None)
        if close is not None:
            close()


def _csv_batches(
    source: _Source, columns: tuple[str, ...], size: int, start: int
) -> Iterator[_Batch]:
    path = source.path
    assert path is not None
    options: dict[str, Any] = {
        "usecols": list(columns),
        "dtype": dict(source.csv_dtypes),
        "chunksize": size,
        "encoding": source.encoding,
    }
    # a resumed read parses the rows before ``start`` again and drops them: pandas'
    # ``skiprows`` counts lines, blank ones too, while its chunks count records (rows
    # would be read twice or never)
    try:
        reader = pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        return
    # pandas cuts a row with extra fields to the used columns and pads a short one with
    # NaN: each chunk's rows are checked for the header's field count before they are used
    check = RowCheck(path, str(path), source.first_raw, 0, source.encoding)
    kinds: dict[str, str] = {}  # of each column in the first chunk
    try:
        with reader:
            row = 0
            while True:
                try:
                    chunk = next(reader)
                except StopIteration:
                    check.finish()
                    return
                except UnicodeDecodeError as exc:
                    raise decode_error(path, exc, source.encoding) from None
                except (ValueError, pd.errors.ParserError) as exc:
                    check.through(row + size)
                    raise DataError(
                        f"{path}: cannot parse the rows after row {row - 1}: {exc}"
                    ) from exc
                check.through(row + len(chunk))
                _same_kinds(chunk, kinds, row, path)
                if row >= start:
                    chunk.index = pd.RangeIndex(row, row + len(chunk))
                    yield _Batch(row, chunk)
                row += len(chunk)
    finally:
        check.close()


def _kind(column: pd.Series) -> str:
    """ "bool", "number" or "text": what pandas made of a CSV chunk's column (its missing
    values aside: a boolean column with a gap is objects, True, False and NaN)."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(column.dtype):
        return "number"
    present = column.dropna()
    if len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
        return "bool"
    return "text"


def _same_kinds(chunk: pd.DataFrame, kinds: dict[str, str], row: int, path: Path) -> None:
    """Refuse a chunk whose column pandas read as another kind than in the first chunk.

    pandas infers each chunk's types apart: a column of numbers whose later chunk holds
    only ``True``/``False`` would be read as 1 and 0 there, and cluster labels 3 in one
    chunk and ``"3"`` in another (text came later) never compare equal, so one group
    would become two. Read whole, the file would have given that column one type.
    """
    for name in chunk.columns:
        kind = _kind(chunk[name])
        first = kinds.setdefault(name, kind)
        if kind == first or (first == "text" and kind != "text"):
            continue  # text columns are read as text in every chunk (_csv_text_dtypes)
        values = chunk[name]
        if kind == "text":  # the first value that is not what the first chunk held
            coerced = pd.to_numeric(values, errors="coerce") if first == "number" else None
            odd = values.notna() & (coerced.isna() if coerced is not None else True)
            at = int(np.flatnonzero(odd.to_numpy())[0]) if odd.any() else 0
        else:
            at = int(np.flatnonzero(values.notna().to_numpy())[0])
        value, shown = str(values.iloc[at]), {"bool": "true/false values", "number": "numbers"}
        what = (
            f"is not numeric: row {row + at} holds {value!r}, after numbers in its first rows"
            if first == "number" and kind == "text"
            else f"holds {shown[first]} in its first rows and {value!r} at row {row + at}"
        )
        raise DataError(
            f"{path}: column {name!r} {what} (a CSV column must hold one kind of value "
            "throughout: write it as text in every row, or convert the file to Parquet)"
        )


def _frame_batches(frames: Iterable[pd.DataFrame], start: int) -> Generator[_Batch, None, None]:
    row = 0
    for number, frame in enumerate(frames):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"item {number} of the source is a {type(frame).__name__}, not a frame")
        if number >= start:
            yield _Batch(row, frame)
        row += len(frame)


def _prefetch(items: Iterator[_T], depth: int = 1) -> Generator[_T, None, None]:
    """Produce ``items`` in a background thread, at most ``depth`` ahead.

    Decoding (pyarrow, pandas' parser) and the QR (LAPACK) both release the GIL,
    so reading batch i + 1 overlaps reducing batch i. Memory: ``depth + 2`` items;
    ``depth=0``: the thread makes item i + 1 while item i is used and starts
    item i + 2 only once i + 1 is taken (two items, for large ones: row groups).
    An exception of the thread (a read error, a KeyboardInterrupt) is raised in
    the consumer; a consumer that stops early (an error, Ctrl-C, a ``break``)
    stops the thread and waits for it.
    """
    slots: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()
    turn = threading.Semaphore(1) if depth == 0 else None

    def put(item: tuple[int, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def wait_turn() -> bool:
        while turn is not None and not stop.is_set():
            if turn.acquire(timeout=0.05):
                return True
        return not stop.is_set()

    def work() -> None:
        try:
            iterator, end = iter(items), object()
            while wait_turn():
                item = next(iterator, end)
                if item is end:
                    put((1, None))
                    return
                if not put((0, item)):
                    return
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
            if turn is not None:
                turn.release()
            if tag == 1:
                return
            if tag == 2:
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


# ==================================================================== checking text files
#
# pandas reads malformed CSV silently: with ``usecols`` a row with more fields than the
# header is cut to the used columns, a first row with one field too many turns the first
# column into the index, a short row is padded with NaN, and duplicate names in the header
# become ``x``, ``x.1``. Every CSV reader of duolm (the stream, the command line) therefore
# checks the header and every row with pyarrow's tokenizer, which reports the physical line
# of a row whose field count differs from the header's, and sniffs the bytes of a file that
# does not decode, to say what it looks like.

#: Magic numbers of what is not CSV text, for the error of a file that does not decode.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed data (name it .csv.gz, or decompress it)"),
    (b"BZh", "bzip2-compressed data (name it .csv.bz2, or decompress it)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (name it .csv.xz, or decompress it)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data (name it .csv.zst, or decompress it)"),
    (b"PK\x03\x04", "a zip archive (name it .csv.zip, or unpack it)"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
    (b"\xff\xfe\x00\x00", "UTF-32 text (byte-order mark): read it with encoding 'utf-32'"),
    (b"\xff\xfe", "UTF-16 text (byte-order mark): read it with encoding 'utf-16'"),
    (b"\xfe\xff", "UTF-16 text (byte-order mark): read it with encoding 'utf-16'"),
)

_UTF16 = "read it with encoding 'utf-16"

_COMPRESSED = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}


def _open_bytes(path: Path) -> Any:
    """A binary file object of the decompressed bytes (by the name's suffix, as pandas)."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        import gzip

        return gzip.open(path, "rb")
    if suffix == ".bz2":
        import bz2

        return bz2.open(path, "rb")
    if suffix == ".xz":
        import lzma

        return lzma.open(path, "rb")
    if suffix == ".zst":
        import pyarrow as pa

        return pa.input_stream(str(path), compression="zstd")
    if suffix == ".zip":
        import zipfile

        archive = zipfile.ZipFile(path)
        members = [m for m in archive.namelist() if not m.endswith("/")]
        if len(members) != 1:
            archive.close()
            raise DataError(f"{path}: a .zip must hold exactly one file, it holds {len(members)}")
        return archive.open(members[0])
    return open(path, "rb")  # closed by the caller


def describe_bytes(head: bytes, label: str, encoding: str | None = None) -> str:
    """What bytes that do not decode as ``encoding`` (UTF-8) look like, as an error message.

    Parameters
    ----------
    head : bytes
        The first bytes of the (decompressed) file.
    label : str
        The file's name for the message.
    encoding : str, optional
        The encoding they were read as (None: UTF-8).
    """
    want = encoding or "UTF-8"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"{label}: not {want} CSV text: it looks like {what}"
    sample = head[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return f"{label}: not {want} text: it looks like UTF-16 (little-endian): {_UTF16}-le'"
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return f"{label}: not {want} text: it looks like UTF-16 (big-endian): {_UTF16}-be'"
    if b"\x00" in sample:
        return f"{label}: not {want} text: it holds NUL bytes (binary data?)"
    try:
        head.decode("utf-8")
        position = None
    except UnicodeDecodeError as exc:
        position = exc.start
        if exc.reason == "unexpected end of data" and exc.start >= len(head) - 3:
            position = None  # a character cut by the end of the sample
    if position is None:
        return f"{label}: not {want} text"
    line = head.count(b"\n", 0, position) + 1
    byte = head[position]
    try:
        shown = head[max(0, position - 20) : position + 20].decode("cp1252")
        guess = (
            f"it looks like Latin-1 / Windows-1252 text ({shown.strip()!r}): read it with "
            "encoding 'latin-1' (or 'cp1252')"
        )
    except UnicodeDecodeError:
        guess = "read it with its encoding (e.g. 'latin-1')"
    return (
        f"{label}: not UTF-8 text: byte 0x{byte:02x} on line {line}; {guess} "
        "(encoding= in Python, --encoding on the command line)"
    )


def check_text(path: Path, encoding: str | None = None, label: str | None = None) -> None:
    """Refuse a CSV file whose first 64 KiB are not text in ``encoding`` (default UTF-8).

    Raises
    ------
    DataError
        Naming the file and what it looks like (compressed, Parquet, UTF-16, Latin-1...).
    """
    name = label or str(path)
    try:
        with _open_bytes(path) as handle:
            head = handle.read(1 << 16)
    except DataError:
        raise
    except Exception as exc:  # a .gz that is not gzip, a corrupt archive
        kind = _COMPRESSED.get(path.suffix.lower(), "compressed")
        raise DataError(f"{name}: cannot read it as {kind} data: {exc}") from exc
    codec = encoding or "utf-8"
    try:
        import codecs

        codecs.getincrementaldecoder(codec)().decode(head, final=False)
    except LookupError:
        raise ValueError(f"encoding: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError:
        raise DataError(describe_bytes(head, name, encoding)) from None


def decode_error(path: object, exc: UnicodeDecodeError, encoding: str | None = None) -> DataError:
    """The DataError of a read that failed to decode, naming the file and what it looks like."""
    label = str(path)
    head = exc.object[max(0, exc.start - 2048) : exc.start + 2048]
    if isinstance(head, bytes):
        message = describe_bytes(head, label, encoding)
        if "byte 0x" in message:  # the line is counted in the sample only: leave it out
            byte = exc.object[exc.start]
            message = (
                message.split(": byte 0x")[0]
                + f": byte 0x{byte:02x}; "
                + (message.split("; ", 1)[1])
            )
        return DataError(message)
    return DataError(f"{label}: not {encoding or 'UTF-8'} text: {exc}")


def check_header(names: Iterable[str], label: str) -> None:
    """Refuse a header that names a column twice (pandas would rename one ``x.1``)."""
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        seen.setdefault(str(name), []).append(position + 1)
    twice = {name: at for name, at in seen.items() if len(at) > 1}
    if twice:
        name, at = next(iter(twice.items()))
        raise DataError(
            f"{label}: column {name!r} appears {len(at)} times in the header (columns "
            f"{', '.join(map(str, at))}); rename the duplicates: duolm does not guess which "
            "one a formula means"
        )


def csv_header(path: Path, encoding: str | None = None) -> tuple[str, ...]:
    """The raw names of a CSV file's header (no renaming), duplicates refused."""
    try:
        first = pd.read_csv(
            path,
            header=None,
            nrows=1,
            dtype=str,
            keep_default_na=False,
            index_col=False,
            encoding=encoding,
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (no header, no rows)") from None
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc, encoding) from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the header: {exc}") from exc
    names = tuple("" if v is None else str(v) for v in first.iloc[0].tolist()) if len(first) else ()
    check_header(names, str(path))
    return names


class RowCheck:
    """Every row of a CSV file has as many fields as its header (pyarrow's tokenizer).

    :meth:`through` reads on until ``rows`` rows (from ``start``, below the header) are
    checked, so a reader can refuse a malformed row before it uses the rows around it;
    :meth:`finish` checks the rest. Errors are :class:`DataError` naming the file, the
    physical line (the header is line 1) and the row's text.
    """

    def __init__(
        self,
        source: Path | bytes,
        label: str,
        first: str,
        start: int = 0,
        encoding: str | None = None,
    ) -> None:
        import io

        import pyarrow as pa
        import pyarrow.csv as pc

        self.label = label
        self.encoding = encoding
        self.checked = start
        self.bad: str | None = None
        self._handle = io.BytesIO(source) if isinstance(source, bytes) else None
        self._path = source if isinstance(source, Path) else None
        raw = self._handle if self._handle is not None else _open_bytes(cast(Path, source))
        self._raw = raw

        def invalid(row: Any) -> str:
            line = f"line {row.number}" if row.number is not None else "a line"
            text = row.text if len(row.text) <= 80 else row.text[:77] + "..."
            advice = (
                "quote fields that hold the separator (a thousands separator as in 1,232.84?)"
                if row.actual_columns > row.expected_columns
                else "give every row every field (an empty field is a missing value: 1,,2)"
            )
            self.bad = (
                f"{label}: {line} has {row.actual_columns} field(s), the header has "
                f"{row.expected_columns} ({text!r}); {advice}"
            )
            return "error"

        try:
            self._reader = pc.open_csv(
                raw,
                read_options=pc.ReadOptions(
                    use_threads=False,  # row numbers are known only then
                    block_size=1 << 22,
                    skip_rows_after_names=start,
                    encoding=encoding or "utf8",
                ),
                parse_options=pc.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
                # one column converted (as text): the tokenizer checks every row anyway
                convert_options=pc.ConvertOptions(
                    include_columns=[first], column_types={first: pa.string()}, check_utf8=False
                ),
            )
        except StopIteration:  # nothing below the header
            self._reader = None
        except (pa.ArrowInvalid, OSError, ValueError) as exc:
            self._reader = None
            self._fail(exc)
        self._done = self._reader is None

    def _fail(self, exc: BaseException) -> None:
        self.close()
        if self.bad is not None:
            raise DataError(self.bad) from None
        if isinstance(exc, StopIteration):
            return
        message = str(exc)
        if "Empty CSV file" in message:
            return
        raise DataError(f"{self.label}: cannot parse the file: {message}") from exc

    def through(self, rows: int) -> None:
        """Check the rows up to ``rows`` (counted from 0 below the header)."""
        import pyarrow as pa

        while not self._done and self.checked < rows:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                self._done = True
                self.close()
                return
            except (pa.ArrowInvalid, OSError, ValueError) as exc:
                self._done = True
                self._fail(exc)
                return
            self.checked += batch.num_rows

    def finish(self) -> None:
        """Check every remaining row."""
        self.through(1 << 62)

    def close(self) -> None:
        closer = getattr(self._raw, "close", None)
        if closer is not None:
            closer()


def read_csv_frame(
    source: Path | bytes,
    label: str,
    *,
    nrows: int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a whole CSV file (or its first ``nrows`` rows) into memory, checked.

    The header must name each column once, every row must have the header's
    number of fields and the bytes must decode as ``encoding`` (default
    UTF-8); each failure is a :class:`DataError` naming ``label`` (and the
    line). ``source`` is a path (compressed by its suffix, as pandas) or the
    bytes of a file (stdin).
    """
    import io

    if isinstance(source, Path):
        check_text(source, encoding, label)
        raw_names = csv_header(source, encoding)
    else:
        try:
            (source[:65536]).decode(encoding or "utf-8")
        except UnicodeDecodeError as exc:
            if not (exc.reason == "unexpected end of data" and len(source) > 65536):
                raise DataError(describe_bytes(source, label, encoding)) from None
        except LookupError:
            raise ValueError(f"encoding: unknown encoding {encoding!r}") from None
        try:
            first = pd.read_csv(
                io.BytesIO(source),
                header=None,
                nrows=1,
                dtype=str,
                keep_default_na=False,
                index_col=False,
                encoding=encoding,
            )
        except pd.errors.EmptyDataError:
            raise DataError(f"{label}: no header, no rows") from None
        raw_names = tuple(str(v) for v in first.iloc[0].tolist()) if len(first) else ()
        check_header(raw_names, label)
    check = RowCheck(source, label, raw_names[0] if raw_names else "", encoding=encoding)
    if nrows is None:
        check.finish()
    else:
        check.through(nrows)
        check.close()
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        frame: pd.DataFrame = pd.read_csv(data, nrows=nrows, index_col=False, encoding=encoding)
    except UnicodeDecodeError as exc:
        raise decode_error(label, exc, encoding) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{label}: the file is empty (no header, no rows)") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{label}: cannot parse the file: {exc}") from exc
    return frame


def parquet_names(path: Path) -> tuple[str, ...]:
    """The column names of a Parquet file's schema, duplicates refused."""
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as pf:
            names = tuple(pf.schema_arrow.names)
    except Exception as exc:
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
    check_header(names, str(path))
    return names
