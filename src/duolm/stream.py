"""Streamed fits: files larger than memory, read in batches and reduced to core states.

An adapter of DESIGN.md ("Layers"): it reads a CSV or Parquet file, or an
iterable of DataFrames, one batch at a time, turns each batch into ``(X, y)``
with the design spec fixed on the first batch, and feeds the rows to the core.
No statistics are computed here that the core, :mod:`duolm.diagnostics` and
:mod:`duolm.ols` do not already define:

- pass 1 reduces every batch to a :class:`~duolm.core.SqrtStat` and merges it
  into the running state (``R <- triu(qr([R; R_batch]))``), so memory is
  bounded by the batch size whatever the length of the file;
- pass 2 (``diagnostics=True``) reads the file again and accumulates, batch by
  batch and in file order, the residual moments of
  :class:`~duolm.diagnostics.ResidualMoments` (Omnibus, Jarque-Bera, skew,
  kurtosis, Durbin-Watson) and the HC "meats" ``W^T diag(w) W`` with
  ``W = X Rxx^-1`` and ``w = e², e²/(1-h), e²/(1-h)²``; the summary of a file
  of any length is then as complete as that of an in-memory fit.

The result equals the in-memory fit of the whole table to rounding. Without
the second pass (``diagnostics=False``) the estimate and its nonrobust
inference are complete and the residual diagnostics are NaN.

Speed: a reader thread decodes batch i + 1 while batch i is reduced (pyarrow,
pandas' parser and LAPACK release the GIL), and, when threadpoolctl is
installed, BLAS runs single-threaded during the reduction of designs of up to
64 columns: their blocks are too narrow to gain from threads, and a threaded
BLAS on a busy machine was measured many times slower. See
``benchmarks/bench_stream.py``.

The design spec
---------------
The spec is built by :func:`duolm.design.from_formula` on the first batch that
has a complete row and is then fixed. Later batches are built with it: a
categorical level not seen in the first batch is a :class:`DataError` naming
the column, the level and the row, never a silent new column. Stateful
transforms (``center``, ``scale``, ``poly``, ``bs``...) keep the state learnt
on the first batch, so their columns differ from an in-memory fit's (for
``center(x)`` the slopes agree and the intercept shifts). ``lag()`` is refused:
it would reach across batch boundaries. For formulas whose terms are plain
numeric columns (and the intercept), ``X`` is assembled directly from the
columns, after checking on one batch that it equals formulaic's design
bit for bit.

Rows are numbered from 0 in file order (the first row under a CSV header is
row 0, as in ``pandas.read_csv``); errors name the file and that row.

Checkpoints
-----------
With ``checkpoint=PATH`` the reduction state is written every
``checkpoint_every`` batches, and at the end of pass 1, to ``PATH`` as an
uncompressed NumPy ``.npz`` archive read with ``allow_pickle=False``. Each write
goes to a temporary file in the same folder, is flushed to disk and then
renamed over ``PATH`` (``os.replace``, atomic), so a run killed at any moment
leaves either the previous checkpoint or the new one. Entries (0-d arrays
unless a shape is given):

- ``format`` (``"duolm.stream.checkpoint"``) and ``version`` (1);
- ``fingerprint``: JSON of the arguments that determine the batches: formula,
  file (absolute path, size, modification time in ns), batch size, missing
  policy;
- ``pass_`` (1 or 2, the pass in progress), ``batches`` (batches of that pass
  already reduced), ``spec_batch`` (the batch that fixed the design spec),
  ``fast`` (the direct column path was verified);
- pass 1: ``rows`` read, ``n_dropped``, the statistic ``R`` (k + 1, k + 1),
  ``nobs``, ``y_mean``, ``y_m2``, and for the intercept ``const_seen``,
  ``const_first`` (k,) and ``const_mask`` (k,);
- pass 2: ``moments`` (10,), the fields of ``ResidualMoments`` in order,
  ``meats`` (3, rank, rank) for HC0, HC2, HC3, and ``lev_one`` (a row of
  leverage 1 was seen: HC2 and HC3 undefined).

A run started again with the same arguments resumes after the last batch
written, re-reading the first batch only to rebuild the spec; it ends with
exactly (bitwise) the result of an uninterrupted run, because it reduces the
same batches in the same order. A checkpoint whose fingerprint differs (another
formula, a modified file, another batch size...) is refused with a
:class:`StateFileError` naming the differences: silently starting over could
discard hours of work, silently resuming would be wrong. The checkpoint is
removed when the fit completes.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import math
import os
import queue
import re
import threading
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm._safe_formula import parse_formula
from duolm.bayes import NIG, BayesResults
from duolm.core import ALIAS_TOL, SqrtStat
from duolm.design import Design, DesignSpec, from_formula
from duolm.diagnostics import ResidualMoments
from duolm.errors import DataError, FormulaError, PriorError, RankWarning, StateFileError
from duolm.ols import CovType, OLSResults

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHECKPOINT_EVERY",
    "bayes",
    "is_source",
    "iter_trajectory",
    "ols",
    "trajectory",
    "write_trajectory",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Missing = Literal["drop", "raise"]
_T = TypeVar("_T")

#: Rows per batch. Memory is a few batches of the used columns (about 30 MB for
#: seven float64 columns); larger batches amortise the per-batch overhead.
DEFAULT_BATCH_SIZE = 131_072

#: Batches between two checkpoint writes (each write is a few kilobytes).
DEFAULT_CHECKPOINT_EVERY = 16

#: Rows per block of the second pass (see ``_Resid.of``).
_RESID_BLOCK = 16_384

#: Designs up to this many columns are reduced with a single-threaded BLAS (when
#: threadpoolctl is installed): their blocks are too narrow to gain from threads,
#: and a threaded BLAS on a busy machine can be many times slower.
_SERIAL_BLAS_MAX_COLUMNS = 64

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zst", ".csv.zip")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_FORMAT = "duolm.stream.checkpoint"
_VERSION = 1
_COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")


# ==================================================================== sources


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
    """True for data that :mod:`duolm.stream` (or :mod:`duolm.dask`) reads in batches.

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
    """Rows ``start .. start + nrows - 1`` of a source, as a pyarrow table or a frame."""

    start: int
    data: Any  # pyarrow.Table or pandas.DataFrame

    @property
    def nrows(self) -> int:
        return len(self.data) if isinstance(self.data, pd.DataFrame) else self.data.num_rows

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame labelled by their row numbers in the source."""
        if isinstance(self.data, pd.DataFrame):
            return self.data
        frame: pd.DataFrame = self.data.to_pandas()
        frame.index = pd.RangeIndex(self.start, self.start + len(frame))
        return frame

    def numeric(self, name: str) -> FloatArray | None:
        """A numeric or boolean column as float64 (NaN for missing), else None."""
        if isinstance(self.data, pd.DataFrame):
            series = self.data[name]
            if isinstance(series, pd.DataFrame):
                return None
            dtype = series.dtype
            if pd.api.types.is_bool_dtype(dtype) or (
                pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
            ):
                return series.to_numpy(dtype=np.float64, na_value=np.nan)
            return None
        import pyarrow as pa

        column = self.data.column(name)
        kind = column.type
        if not (
            pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind)
        ):
            return None
        if column.null_count:
            column = column.cast(pa.float64())
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


def _parquet_batches(
    path: Path, columns: tuple[str, ...], size: int, start: int
) -> Iterator[_Batch]:
    import pyarrow.parquet as pq

    # pre_buffer=False reads one column chunk at a time: a lower peak than buffering
    # a whole row group, at no cost in speed for local files.
    with pq.ParquetFile(path, pre_buffer=False) as pf:
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


# ==================================================================== designs


def _refuse_lag(formula: str) -> None:
    if re.search(r"\blag\s*\(", formula):
        raise FormulaError(
            "lag() cannot be used in a streamed fit: it would reach across batch "
            "boundaries; add the lagged column to the data instead"
        )


@dataclass(frozen=True)
class _Builder:
    """Builds ``(X, y)`` for a batch with a spec fixed on the first batch.

    ``plain`` names, for each column of ``[X y]``, the data column it copies
    (None: the intercept) when every term is a plain numeric column; the
    direct path is used once ``fast`` records that it matched formulaic's design.
    """

    spec: DesignSpec
    plain: tuple[str | None, ...] | None
    fast: bool = False

    @classmethod
    def first(cls, spec: DesignSpec) -> _Builder:
        kinds: Mapping[str, str] = spec._kinds
        parsed = spec._parsed
        plain: list[str | None] = []
        for term in (*spec.terms, spec.response):
            if term == "Intercept" and spec.has_intercept:
                plain.append(None)
            elif parsed is not None and kinds.get(term) == "numeric":
                plain.append(term)
            else:
                return cls(spec, None)
        return cls(spec, tuple(plain))

    def direct(self, batch: _Batch) -> tuple[FloatArray, FloatArray] | None:
        """``(X, y)`` copied from the columns, or None when some value is not numeric or finite."""
        if self.plain is None:
            return None
        columns: list[FloatArray] = []
        for name in self.plain:
            column = np.broadcast_to(1.0, batch.nrows) if name is None else batch.numeric(name)
            if column is None or not _all_finite(column):
                return None
            columns.append(column)
        return np.column_stack(columns[:-1]), columns[-1]

    def build(self, batch: _Batch, label: str) -> tuple[FloatArray, FloatArray, int, _Builder]:
        """``(X, y, n_dropped, builder)``; the builder returned may have verified the fast path."""
        direct = self.direct(batch)
        if direct is not None and self.fast:
            return direct[0], direct[1], 0, self
        X, y, dropped = _build_xy(self.spec, batch, label)
        builder = self
        if direct is not None:  # verify once, bit for bit; keep formulaic's result here
            same = np.array_equal(direct[0], X) and np.array_equal(direct[1], y)
            builder = replace(self, fast=True) if same else replace(self, plain=None)
        return X, y, dropped, builder


def _all_finite(column: FloatArray) -> bool:
    """All values finite. A finite sum proves it without a temporary array (a NaN or inf
    makes the sum NaN or inf); only an overflowing sum needs the element-wise test."""
    return math.isfinite(np.add.reduce(column)) or bool(np.isfinite(column).all())


def _build_xy(spec: DesignSpec, batch: _Batch, label: str) -> tuple[FloatArray, FloatArray, int]:
    try:
        return spec.build_xy(batch.frame())
    except DataError as exc:
        raise DataError(f"{label}: {exc}") from exc


def _first_design(job: _Job, batch: _Batch) -> Design | None:
    """The design of a batch, fixing the spec; None when no row is complete (all dropped)."""
    return _design_or_none(job.formula, batch.frame(), job.columns, job.missing, job.source.label)


def _design_or_none(
    formula: str, frame: pd.DataFrame, columns: tuple[str, ...], missing: Missing, label: str
) -> Design | None:
    try:
        return from_formula(formula, frame, missing=missing)
    except DataError as exc:
        if missing == "drop" and len(frame) and not _has_complete_row(frame, columns):
            return None
        raise DataError(f"{label}: {exc}") from exc


def _has_complete_row(frame: pd.DataFrame, columns: tuple[str, ...]) -> bool:
    present = [name for name in columns if name in frame.columns]
    return len(present) == len(columns) and bool(frame[present].notna().all(axis=1).any())


def _serial_blas(k: int) -> contextlib.AbstractContextManager[object]:
    """One BLAS thread while narrow blocks are reduced (``k <= _SERIAL_BLAS_MAX_COLUMNS``)."""
    if k > _SERIAL_BLAS_MAX_COLUMNS:
        return contextlib.nullcontext()
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:  # optional: only a matter of speed
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[object] = threadpoolctl.threadpool_limits(
        1, user_api="blas"
    )
    return limits


def _factor(X: FloatArray, y: FloatArray) -> SqrtStat:
    """The core's statistic of one batch (the core blocks the rows for its QR)."""
    return SqrtStat.from_data(X, y)


# ==================================================================== mergeable partial results


@dataclass(frozen=True, eq=False)
class _Const:
    """Which columns of X are constant and nonzero (for the intercept), mergeable.

    ``first`` is the first row of X (None before any row); ``mask`` marks the
    columns equal to it in every row so far and nonzero.
    """

    first: FloatArray | None = None
    mask: BoolArray | None = None

    @classmethod
    def of(cls, X: FloatArray) -> _Const:
        if X.shape[0] == 0:
            return cls()
        first = X[0].copy()
        return cls(first, np.asarray((first == X).all(axis=0) & (first != 0), dtype=bool))

    def extend(self, X: FloatArray) -> _Const:
        """The same as ``self.merge(_Const.of(X))``, testing only the columns still constant."""
        if self.first is None or self.mask is None:
            return _Const.of(X)
        mask = self.mask.copy()
        for j in np.flatnonzero(mask):
            mask[j] = bool(np.all(X[:, j] == self.first[j]))
        return _Const(self.first, mask)

    def merge(self, later: _Const) -> _Const:
        if self.first is None or self.mask is None:
            return later
        if later.first is None or later.mask is None:
            return self
        return _Const(self.first, self.mask & later.mask & (later.first == self.first))

    def position(self, kept: BoolArray) -> int | None:
        """Position among the kept columns of the first constant one (``constant_column``)."""
        if self.mask is None:
            return None
        hits = np.flatnonzero(self.mask[kept])
        return int(hits[0]) if hits.size else None


@dataclass(frozen=True, eq=False)
class _Part:
    """Pass 1 of some rows: their square-root statistic and bookkeeping."""

    stat: SqrtStat
    rows: int  # rows read, dropped ones included
    n_dropped: int
    const: _Const

    @classmethod
    def empty(cls, k: int) -> _Part:
        return cls(SqrtStat.empty(k), 0, 0, _Const())

    @classmethod
    def of(cls, X: FloatArray, y: FloatArray, rows: int, n_dropped: int) -> _Part:
        k = X.shape[1]
        stat = _factor(X, y) if len(y) else SqrtStat.empty(k)
        return cls(stat, rows, n_dropped, _Const.of(X))

    def add(self, X: FloatArray, y: FloatArray, rows: int, n_dropped: int) -> _Part:
        """The next batch in order (as ``merge(_Part.of(...))``, with a cheaper constant test)."""
        later = _Part(
            _factor(X, y) if len(y) else SqrtStat.empty(X.shape[1]), rows, n_dropped, _Const()
        )
        merged = self.merge(later)
        return replace(merged, const=self.const.extend(X) if len(y) else self.const)

    def merge(self, later: _Part) -> _Part:
        if later.stat.nobs == 0 and not np.any(later.stat.R):
            stat = self.stat
        elif self.stat.nobs == 0 and not np.any(self.stat.R):
            stat = later.stat
        else:
            stat = self.stat.merge(later.stat)
        return _Part(
            stat,
            self.rows + later.rows,
            self.n_dropped + later.n_dropped,
            self.const.merge(later.const),
        )


@dataclass(frozen=True, eq=False)
class _Fit:
    """What pass 2 needs from pass 1: the kept columns, their statistic and estimate."""

    kept: BoolArray
    stat: SqrtStat
    params: FloatArray


@dataclass(frozen=True, eq=False)
class _Resid:
    """Pass 2 of some rows: residual moments (in row order) and the HC meats."""

    moments: ResidualMoments
    meats: FloatArray  # (3, rank, rank): HC0, HC2, HC3
    lev_one: bool

    @classmethod
    def empty(cls, rank: int) -> _Resid:
        return cls(ResidualMoments.from_residuals(np.zeros(0)), np.zeros((3, rank, rank)), False)

    @classmethod
    def of(cls, fit: _Fit, X: FloatArray, y: FloatArray) -> _Resid:
        """The residual sums of a batch, in blocks of ``_RESID_BLOCK`` rows merged in order.

        Blocks that stay in cache make the several passes over each block (residuals,
        ``W``, leverages, three weighted products, moments) cheap; the split is fixed
        by the batch, so the result does not depend on timing.
        """
        rank = fit.params.shape[0]
        out = cls.empty(rank)
        for lo in range(0, len(y), _RESID_BLOCK):
            block = cls._block(fit, X[lo : lo + _RESID_BLOCK], y[lo : lo + _RESID_BLOCK])
            out = block if lo == 0 else out.merge(block)
        return out

    @classmethod
    def _block(cls, fit: _Fit, X: FloatArray, y: FloatArray) -> _Resid:
        Xk = X if fit.kept.all() else X[:, fit.kept]
        e = y - Xk @ fit.params
        W = fit.stat.whiten(Xk)  # rows of the thin Q factor
        h = np.einsum("ij,ij->i", W, W)  # leverages
        one_minus = 1.0 - h
        lev_one = bool(np.any(one_minus <= 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            w0 = e * e
            weights = (w0, w0 / one_minus, w0 / one_minus**2)
        meats = np.stack([W.T @ (W * w[:, None]) for w in weights])
        return cls(ResidualMoments.from_residuals(e), meats, lev_one)

    def merge(self, later: _Resid) -> _Resid:
        return _Resid(
            self.moments.merge(later.moments),
            self.meats + later.meats,
            self.lev_one or later.lev_one,
        )


_MOMENT_FIELDS = ("n", "mean", "m2", "m3", "m4", "ss", "dw_num", "first", "last", "unit")


# ==================================================================== checkpoints


@dataclass(frozen=True, eq=False)
class _Saved:
    """A checkpoint's content (see the module docstring for the file format)."""

    pass_: int
    batches: int
    spec_batch: int
    fast: bool
    part: _Part
    resid: _Resid | None


def _fingerprint(source: _Source, formula: str, size: int, missing: Missing) -> dict[str, Any]:
    assert source.path is not None
    path = source.path.resolve()
    info = path.stat()
    return {
        "formula": formula,
        "path": str(path),
        "size": int(info.st_size),
        "mtime_ns": int(info.st_mtime_ns),
        "batch_size": int(size),
        "missing": missing,
    }


def _save(path: Path, fingerprint: Mapping[str, Any], saved: _Saved) -> None:
    """Write the checkpoint atomically: temporary file, fsync, ``os.replace``."""
    part = saved.part
    k = part.stat.k
    const = part.const
    arrays: dict[str, Any] = {
        "format": np.array(_FORMAT),
        "version": np.array(_VERSION),
        "fingerprint": np.array(json.dumps(dict(fingerprint), sort_keys=True)),
        "pass_": np.array(saved.pass_),
        "batches": np.array(saved.batches),
        "spec_batch": np.array(saved.spec_batch),
        "fast": np.array(saved.fast),
        "rows": np.array(part.rows),
        "n_dropped": np.array(part.n_dropped),
        "R": part.stat.R,
        "nobs": np.array(part.stat.nobs),
        "y_mean": np.array(part.stat.y_mean),
        "y_m2": np.array(part.stat.y_m2),
        "const_first": np.full(k, np.nan) if const.first is None else const.first,
        "const_mask": np.zeros(k, bool) if const.mask is None else const.mask,
        "const_seen": np.array(const.first is not None),
    }
    if saved.resid is not None:
        mom = saved.resid.moments
        arrays["moments"] = np.array([float(getattr(mom, name)) for name in _MOMENT_FIELDS])
        arrays["meats"] = saved.resid.meats
        arrays["lev_one"] = np.array(saved.resid.lev_one)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _load(path: Path, fingerprint: Mapping[str, Any]) -> _Saved | None:
    """Read a checkpoint; None when there is none; StateFileError when it does not fit."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {name: z[name] for name in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise StateFileError(f"checkpoint {path} is not readable: {exc}") from exc
    try:
        if str(data["format"]) != _FORMAT or int(data["version"]) != _VERSION:
            raise StateFileError(f"{path} is not a duolm stream checkpoint of version {_VERSION}")
        theirs = json.loads(str(data["fingerprint"]))
        if theirs != dict(fingerprint):
            diff = [
                f"{key}: {theirs.get(key)!r} there, {fingerprint.get(key)!r} now"
                for key in sorted(set(theirs) | set(fingerprint))
                if theirs.get(key) != fingerprint.get(key)
            ]
            raise StateFileError(
                f"checkpoint {path} belongs to another run ({'; '.join(diff)}); delete it "
                "or give another checkpoint path to start afresh"
            )
        stat = SqrtStat(data["R"], float(data["nobs"]), float(data["y_mean"]), float(data["y_m2"]))
        seen = bool(data["const_seen"])
        const = (
            _Const(np.array(data["const_first"]), np.array(data["const_mask"], dtype=bool))
            if seen
            else _Const()
        )
        part = _Part(stat, int(data["rows"]), int(data["n_dropped"]), const)
        resid = None
        if "moments" in data:
            values = [float(v) for v in data["moments"]]
            moments = ResidualMoments(int(values[0]), *values[1:])
            resid = _Resid(moments, np.array(data["meats"]), bool(data["lev_one"]))
        return _Saved(
            int(data["pass_"]),
            int(data["batches"]),
            int(data["spec_batch"]),
            bool(data["fast"]),
            part,
            resid,
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, StateFileError):
            raise
        raise StateFileError(f"checkpoint {path} is corrupt: {exc}") from exc


# ==================================================================== progress


class _Bar:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Any = None
        self._task: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def task(self, description: str, total: int | None, done: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task(description, total=total, completed=done)

    def advance(self, rows: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, rows)


# ==================================================================== the two passes


@dataclass(frozen=True)
class _Job:
    source: _Source
    formula: str
    columns: tuple[str, ...]
    missing: Missing
    size: int
    checkpoint: Path | None
    every: int
    fingerprint: Mapping[str, Any] | None
    progress: bool


@dataclass(frozen=True, eq=False)
class _Reduced:
    spec: DesignSpec
    part: _Part
    builder: _Builder
    resid: _Resid | None


def _job(
    formula: object,
    source: object,
    missing: Missing,
    batch_size: int,
    checkpoint: str | os.PathLike[str] | None,
    checkpoint_every: int,
    progress: bool,
) -> _Job:
    if not isinstance(formula, str):
        raise TypeError(f"a streamed fit needs a formula string, got {type(formula).__name__}")
    if missing not in ("drop", "raise"):
        raise ValueError(f"missing must be 'drop' or 'raise', got {missing!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int):
        raise ValueError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be a positive integer, got {checkpoint_every}")
    _refuse_lag(formula)
    src = _open_source(source)
    parsed = parse_formula(formula, list(src.names))
    columns = tuple(dict.fromkeys(parsed.lhs_columns + parsed.rhs_columns))
    if src.kind == "csv":
        src = _csv_text_dtypes(src, columns, batch_size)
    path = None
    fingerprint = None
    if checkpoint is not None:
        if src.path is None:
            raise ValueError(
                "checkpoint= needs a file source (a CSV or Parquet path): an iterable of "
                "frames cannot be identified or re-read from a given row"
            )
        path = Path(checkpoint)
        fingerprint = _fingerprint(src, formula, batch_size, missing)
    return _Job(
        src, formula, columns, missing, batch_size, path, checkpoint_every, fingerprint, progress
    )


def _batches(job: _Job, start: int) -> Iterator[_Batch]:
    """Batches from batch number ``start`` on, read ahead in a thread for files."""
    first = start * job.size if job.source.kind != "frames" else start
    batches = job.source.batches(job.columns, job.size, first)
    return _prefetch(batches) if job.source.kind != "frames" else batches


def _reduce(job: _Job, *, diagnostics: bool, alias_tol: float) -> _Reduced:
    """Run pass 1 (and pass 2 with ``diagnostics``), resuming from the checkpoint if any.

    The spec is fixed by the first batch with a complete row; the batches before
    it are counted as dropped. A resumed run reads that batch again for the spec.
    """
    saved = None
    if job.checkpoint is not None and job.fingerprint is not None:
        saved = _load(job.checkpoint, job.fingerprint)
    label = job.source.label
    builder: _Builder | None = None
    part: _Part | None = None
    spec_batch = 0
    if saved is not None:
        spec_batch = saved.spec_batch
        first = next(_batches(job, spec_batch), None)
        design = _first_design(job, first) if first is not None else None
        if design is None or len(design.spec.terms) != saved.part.stat.k:
            raise StateFileError(f"checkpoint {job.checkpoint} does not match the data's design")
        builder = replace(_Builder.first(design.spec), fast=saved.fast)
        part = saved.part

    def write(pass_: int, batches: int, resid: _Resid | None) -> None:
        if job.checkpoint is not None and job.fingerprint is not None and part is not None:
            state = _Saved(pass_, batches, spec_batch, bool(builder and builder.fast), part, resid)
            _save(job.checkpoint, job.fingerprint, state)

    with _Bar(job.progress) as bar, contextlib.ExitStack() as blas:
        if builder is not None:
            blas.enter_context(_serial_blas(len(builder.spec.terms)))
        if saved is None or saved.pass_ == 1:
            done = saved.batches if saved is not None else 0
            skipped = 0  # rows of the batches before the spec: none complete
            bar.task("pass 1/2 (fit)" if diagnostics else "fit", job.source.nrows, done * job.size)
            for batch in _batches(job, done):
                if builder is None or part is None:
                    design = _first_design(job, batch)
                    if design is None:
                        skipped += batch.nrows
                    else:
                        spec_batch, builder = done, _Builder.first(design.spec)
                        blas.enter_context(_serial_blas(len(design.spec.terms)))
                        part = _Part(SqrtStat.empty(design.X.shape[1]), skipped, skipped, _Const())
                        part = part.add(design.X, design.y, batch.nrows, design.n_dropped)
                else:
                    X, y, dropped, builder = builder.build(batch, label)
                    part = part.add(X, y, batch.nrows, dropped)
                done += 1
                bar.advance(batch.nrows)
                if done % job.every == 0:
                    write(1, done, None)
            if builder is None or part is None or part.stat.nobs == 0:
                if skipped or (part is not None and part.n_dropped):
                    n = skipped if part is None else part.n_dropped
                    raise DataError(
                        f"{label}: no rows left after dropping {n} rows with missing values"
                    )
                raise DataError(f"{label}: the data has no rows")
            write(2, 0, None)
        assert builder is not None and part is not None
        resid = None
        if diagnostics:
            fit = _fit(part, alias_tol)
            resid = saved.resid if saved is not None and saved.pass_ == 2 else None
            resid = resid if resid is not None else _Resid.empty(int(fit.kept.sum()))
            done = saved.batches if saved is not None and saved.pass_ == 2 else 0
            bar.task("pass 2/2 (residuals)", part.rows, done * job.size)
            for batch in _batches(job, done):
                X, y, _, builder = builder.build(batch, label)
                resid = resid.merge(_Resid.of(fit, X, y))
                done += 1
                bar.advance(batch.nrows)
                if done % job.every == 0:
                    write(2, done, resid)
    if job.checkpoint is not None:  # done: remove it, and temp files of killed writes
        stale = job.checkpoint.parent.glob(f".{job.checkpoint.name}.*.tmp")
        for path in [job.checkpoint, *stale]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return _Reduced(builder.spec, part, builder, resid)


def _fit(part: _Part, alias_tol: float) -> _Fit:
    stat = part.stat
    kept = ~stat.aliased(alias_tol)
    if not kept.all():
        stat = stat.select(kept)
    return _Fit(kept, stat, stat.solve())


# ==================================================================== public functions


def ols(
    formula: str,
    source: object,
    *,
    missing: Missing = "drop",
    cov_type: CovType = "nonrobust",
    alias_tol: float = ALIAS_TOL,
    batch_size: int = DEFAULT_BATCH_SIZE,
    diagnostics: bool = True,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    progress: bool = False,
) -> OLSResults:
    """Least squares on data read in batches: the in-memory fit, in bounded memory.

    Parameters
    ----------
    formula : str
        As for :func:`duolm.ols`; ``lag()`` is refused (see the module docstring
        for stateful transforms).
    source : path or iterable of DataFrames
        A ``.csv`` (pandas' chunked reader) or ``.parquet`` file (pyarrow,
        only the columns the formula uses), or DataFrames taken as batches as
        given (a list, or any iterable; a one-shot iterator only with
        ``diagnostics=False``, as pass 2 reads the data again).
    missing : {"drop", "raise"}
        As for :func:`duolm.ols`; dropped rows are counted over all batches.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
        Robust types need the second pass (``diagnostics=True``).
    alias_tol : float
        See :meth:`duolm.core.SqrtStat.aliased`.
    batch_size : int
        Rows per batch for files. Memory is a few batches of the used columns.
    diagnostics : bool
        Read the data a second time for the residual diagnostics (Omnibus,
        Jarque-Bera, skew, kurtosis, Durbin-Watson) and the HC covariances.
        Without it the estimate and its (nonrobust) inference are complete and
        the residual diagnostics are NaN.
    checkpoint : path, optional
        Write the reduction state there every ``checkpoint_every`` batches and
        resume from it when it exists (file sources only; see the module
        docstring). Removed when the fit completes.
    checkpoint_every : int
        Batches between checkpoint writes.
    progress : bool
        Show a rich progress bar on stderr.

    Returns
    -------
    OLSResults
        ``method == "stream"``, ``rows`` is None (nothing per row is kept).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataError
        As :func:`duolm.ols`, naming the file and the row (rows are counted
        from 0 below the header); a categorical level absent from the first
        batch; an empty file.
    StateFileError
        The checkpoint belongs to other arguments, or is corrupt.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(size=100)})
    >>> frame["y"] = 1.0 + 2.0 * frame["x"] + rng.normal(size=100)
    >>> fit = ols("y ~ x", [frame.iloc[:40], frame.iloc[40:]])
    >>> import duolm
    >>> bool(np.allclose(fit.params, duolm.ols("y ~ x", frame).params, rtol=1e-12))
    True
    """
    if cov_type not in _COV_TYPES:
        raise ValueError(f"cov_type must be one of {_COV_TYPES}, got {cov_type!r}")
    if cov_type != "nonrobust" and not diagnostics:
        raise ValueError(
            f"cov_type={cov_type!r} needs the residuals of the second pass: use diagnostics=True"
        )
    job = _job(formula, source, missing, batch_size, checkpoint, checkpoint_every, progress)
    if diagnostics and job.source.kind == "frames" and isinstance(job.source.frames, Iterator):
        raise ValueError(
            "a one-shot iterator of frames can be read only once, and the diagnostics read "
            "the data twice: pass a list (or any re-iterable) of frames, or diagnostics=False"
        )
    reduced = _reduce(job, diagnostics=diagnostics, alias_tol=alias_tol)
    return _ols_results(reduced, _fit(reduced.part, alias_tol), cov_type, job.source.label)


def _ols_results(reduced: _Reduced, fit: _Fit, cov_type: CovType, label: str) -> OLSResults:
    part, spec = reduced.part, reduced.spec
    rank = int(fit.kept.sum())
    n = round(part.stat.nobs)
    if n <= rank:
        raise DataError(
            f"{label}: too few rows: {n} observation(s) for {rank} coefficient(s); at least "
            f"{rank + 1} are needed to estimate the residual variance"
        )
    if not math.isfinite(fit.stat.ssr):
        raise DataError(f"{label}: the residual sum of squares overflows float64: rescale y")
    if not fit.kept.all():
        dropped = [spec.terms[i] for i in np.flatnonzero(~fit.kept)]
        warnings.warn(
            f"aliased column(s) {dropped}: linear combinations of earlier columns; their "
            "coefficients are not estimable and are reported as NaN",
            RankWarning,
            stacklevel=3,
        )
    resid = reduced.resid
    meats: dict[str, FloatArray] | None = None
    if resid is not None:
        meats = {"HC0": resid.meats[0]}
        if not resid.lev_one:  # HC2/HC3 divide by 1 - h: undefined when a leverage is 1
            meats.update(HC2=resid.meats[1], HC3=resid.meats[2])
        elif cov_type in ("HC2", "HC3"):
            raise DataError(
                f"{label}: {cov_type} is undefined: a row has leverage 1 (the fit passes "
                "through it exactly); use HC0 or HC1"
            )
    return OLSResults(
        spec=spec,
        stat=fit.stat,
        kept=fit.kept,
        params_kept=fit.params,
        moments=resid.moments if resid is not None else None,
        const_col=part.const.position(fit.kept),
        n_dropped=part.n_dropped,
        cov_type=cov_type,
        method="stream",
        scaled_condition_number=fit.stat.condition_number(scaled=True),
        rows=None,
        meats=meats,
    )


def bayes(
    formula: str,
    source: object,
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    batch_size: int = DEFAULT_BATCH_SIZE,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    progress: bool = False,
) -> BayesResults:
    """The conjugate posterior of data read in batches: one pass, bounded memory.

    The batches reduce to the data's square-root statistic exactly as in
    :func:`ols` (the same pass and checkpoint format); the prior is added once,
    at the end: the posterior is ``NIG.from_parts(prior_stat, nu0, data_stat)``.

    Parameters
    ----------
    formula, source, missing, batch_size, checkpoint, checkpoint_every, progress
        As for :func:`ols`.
    prior : NIG, optional
        As for :func:`duolm.bayes` (default ``NIG.vague(k)``).

    Returns
    -------
    BayesResults
        ``design`` is None: no rows are kept (``predict()`` needs data).
    """
    job = _job(formula, source, missing, batch_size, checkpoint, checkpoint_every, progress)
    reduced = _reduce(job, diagnostics=False, alias_tol=ALIAS_TOL)
    return _bayes_results(reduced.spec, reduced.part.stat, prior)


def _bayes_results(spec: DesignSpec, stat: SqrtStat, prior: NIG | None) -> BayesResults:
    """The posterior of ``prior`` and the data statistic (the prior counted once)."""
    from duolm.bayes import default_prior

    k = len(spec.terms)
    prior = default_prior(k) if prior is None else prior
    if not isinstance(prior, NIG):
        raise TypeError(f"prior must be an NIG, got {type(prior).__name__}")
    if prior.k != k:
        raise PriorError(
            f"the prior has {prior.k} coefficient(s) but the design has {k} columns "
            f"{list(spec.terms)}"
        )
    posterior = NIG.from_parts(
        prior.prior_stat, prior.nu0, prior.data_stat.merge(stat), prior.label
    )
    if not posterior.is_proper:
        raise DataError(
            f"the posterior is improper (a = {posterior.a:g}, V^-1 "
            f"{'regular' if posterior.beta_proper else 'singular'}): under the reference prior "
            f"the design needs more than {k} rows of full column rank"
        )
    return BayesResults(spec=spec, prior=prior, posterior=posterior, design=None)


# ==================================================================== the trajectory


def iter_trajectory(
    formula: str,
    source: object,
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    alpha: float = 0.05,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
) -> Iterator[pd.DataFrame]:
    """The posterior after every observation, one frame per batch, in one pass.

    Each batch runs :func:`duolm.trajectory` from the posterior of all the rows
    before it (the NIG's own square-root factor, so nothing is lost between
    batches); memory is bounded by the batch size. The frames concatenated are
    the in-memory ``duolm.trajectory(formula, whole_frame, prior=prior)`` to
    rounding: same columns (``m[term]`` by the formula's terms), ``t`` counting
    from the first row of the source, the index the row numbers (rows counted
    from 0 below a CSV header; a frame's own labels for an iterable of frames).

    Parameters
    ----------
    formula, source, missing, batch_size, progress
        As for :func:`ols`; a one-shot iterator of frames is fine (one pass).
    prior : NIG, optional
        Default :func:`duolm.bayes.default_prior` (``NIG.vague(k)``).
    alpha : float
        As for :func:`duolm.trajectory`.

    Yields
    ------
    DataFrame
        The trajectory rows of one batch (batches without a complete row yield
        nothing).
    """
    job = _job(formula, source, missing, batch_size, None, DEFAULT_CHECKPOINT_EVERY, progress)
    if prior is not None and not isinstance(prior, NIG):
        raise TypeError(f"prior must be an NIG, got {type(prior).__name__}")
    return _trajectory_frames(job, prior, alpha)


def _trajectory_frames(job: _Job, prior: NIG | None, alpha: float) -> Iterator[pd.DataFrame]:
    from duolm.bayes import default_prior
    from duolm.trajectory import trajectory as run

    builder: _Builder | None = None
    posterior = prior
    seen = 0
    with _Bar(job.progress) as bar:
        bar.task("trajectory", job.source.nrows, 0)
        for batch in _batches(job, 0):
            bar.advance(batch.nrows)
            if builder is None:
                design = _first_design(job, batch)
                if design is None:
                    continue
                builder = _Builder.first(design.spec)
                X, y, index = design.X, design.y, design.index
                posterior = default_prior(X.shape[1]) if posterior is None else posterior
            else:
                X, y, _, builder = builder.build(batch, job.source.label)
                index = _kept_index(batch, job.columns, len(y))
            if len(y) == 0:
                continue
            assert posterior is not None
            frame = run(X=X, y=y, prior=posterior, missing="raise", alpha=alpha)
            terms = builder.spec.terms
            names = {
                f"{part}[x{j}]": f"{part}[{t}]" for j, t in enumerate(terms) for part in ["m", "sd"]
            }
            frame = frame.rename(columns=names)
            frame["t"] += seen
            frame.index = index
            seen += len(y)
            posterior = posterior.update(X, y)
            yield frame
    if builder is None:
        raise DataError(f"{job.source.label}: no complete rows")


def _kept_index(batch: _Batch, columns: tuple[str, ...], kept: int) -> pd.Index:
    """Labels of the rows a batch kept (all, or those complete in the used columns)."""
    if kept == batch.nrows:
        if isinstance(batch.data, pd.DataFrame):
            return batch.data.index
        return pd.RangeIndex(batch.start, batch.start + batch.nrows)
    frame = batch.frame()
    index = frame.index[frame[list(columns)].notna().all(axis=1).to_numpy()]
    if len(index) != kept:
        raise DataError(f"cannot label the {kept} rows kept of a batch of {batch.nrows}")
    return index


def trajectory(
    formula: str,
    source: object,
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    alpha: float = 0.05,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
) -> pd.DataFrame:
    """:func:`iter_trajectory` concatenated: one row per observation, held in memory.

    For a file too long for its trajectory to fit in memory, use
    :func:`write_trajectory`.
    """
    frames = list(
        iter_trajectory(
            formula,
            source,
            prior=prior,
            missing=missing,
            alpha=alpha,
            batch_size=batch_size,
            progress=progress,
        )
    )
    return pd.concat(frames) if len(frames) > 1 else frames[0]


def write_trajectory(
    formula: str,
    source: object,
    out: str | os.PathLike[str],
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    alpha: float = 0.05,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
) -> int:
    """Write :func:`iter_trajectory` to a Parquet file batch by batch, in bounded memory.

    The index is written as the column ``row``. The file appears complete or
    not at all (written to a temporary file, then renamed).

    Returns
    -------
    int
        Number of rows written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = Path(out)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    rows = 0
    writer: Any = None
    try:
        for frame in iter_trajectory(
            formula,
            source,
            prior=prior,
            missing=missing,
            alpha=alpha,
            batch_size=batch_size,
            progress=progress,
        ):
            table = pa.Table.from_pandas(frame.rename_axis("row"), preserve_index=True)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            rows += len(frame)
        if writer is not None:
            writer.close()
            writer = None
        os.replace(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return rows
