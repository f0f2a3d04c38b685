"""How a streamed fit reads a file ahead: whole Parquet row groups, a reader thread.

A Parquet file of moderate row groups is read a whole row group at a time, one
row group ahead of the batches cut from the one before
(:meth:`duolm._stream._sources._Source.read_ahead`). The reference is the batch
by batch reader (``ParquetFile.iter_batches``, the reader of larger row groups
and of duolm before): the batches must be the same rows with the same values,
and a fit the same numbers bit for bit, whatever the row groups, the batch size
and the row a resumed run starts from. The reader thread's errors and a
consumer that stops early must end the thread.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm._stream import _sources
from duolm.errors import DataError

FORMULA = "y ~ x1 + x2 + c"
COLUMNS = ("y", "x1", "x2", "c")


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.standard_normal(n), "x2": rng.standard_normal(n)})
    frame["c"] = rng.choice(["a", "b", "c"], n)
    frame["y"] = 1.0 + 2.0 * frame["x1"] - frame["x2"] + rng.standard_normal(n)
    return frame


def _write(path: Path, frame: pd.DataFrame, groups: list[int]) -> Path:
    """``frame`` as a Parquet file with row groups of the given sizes, in order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pq.ParquetWriter(path, table.schema) as writer:
        lo = 0
        for size in groups:
            writer.write_table(table.slice(lo, size), row_group_size=size)
            lo += size
    assert lo == len(frame)
    return path


@pytest.fixture(scope="module")
def uneven(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 rows in row groups of 1, 150, 7, 300, 42 and 500 rows."""
    folder = tmp_path_factory.mktemp("ahead")
    return _write(folder / "uneven.parquet", _frame(1000, 1), [1, 150, 7, 300, 42, 500])


@pytest.mark.parametrize("size", [3, 64, 151, 1000, 4096])
@pytest.mark.parametrize("start", [0, 1, 151, 158, 999, 1000, 5000])
def test_whole_row_groups_give_the_batches_of_the_batch_reader(
    uneven: Path, size: int, start: int
) -> None:
    source = _sources._open_source(uneven)
    want = list(source.batches(COLUMNS, size, start))
    got = list(source.read_ahead(COLUMNS, size, start))
    assert [b.start for b in want] == list(range(start, 1000, size))
    assert [b.start for b in got] == [b.start for b in want]
    for a, b in zip(got, want, strict=True):
        assert a.data.equals(b.data)  # the same rows, value for value (chunks aside)
        assert a.data.column_names == list(COLUMNS)


def test_the_row_groups_are_read_whole_unless_too_large(
    uneven: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _sources._open_source(uneven)
    read: list[int] = []
    original = _sources._read_groups

    def counted(*args: Any) -> Iterator[list[Any]]:
        for batches in original(*args):
            read.append(sum(rb.num_rows for rb in batches))
            yield batches

    monkeypatch.setattr(_sources, "_read_groups", counted)
    assert sum(b.nrows for b in source.read_ahead(COLUMNS, 64, 100)) == 900
    assert read == [150, 7, 300, 42, 500]  # from the group that holds row 100 on
    read.clear()
    # 500 rows x 4 columns x 8 bytes: above the bound, so the file is read batch by batch
    monkeypatch.setattr(_sources, "_GROUP_BYTES", 500 * 4 * 8 - 1)
    assert sum(b.nrows for b in source.read_ahead(COLUMNS, 64, 0)) == 1000
    assert read == []


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC3"])
def test_a_fit_is_bitwise_that_of_the_batch_reader(
    uneven: Path, monkeypatch: pytest.MonkeyPatch, cov_type: str
) -> None:
    def fit() -> list[Any]:
        f = duolm.ols(FORMULA, uneven, batch_size=64, cov_type=cov_type)
        plain = duolm.ols("y ~ x1 + x2", uneven, batch_size=100, cov_type=cov_type)
        return [f.params, f.cov_params(), f.stat.R, plain.params, plain.cov_params(), plain.stat.R]

    whole = fit()
    monkeypatch.setattr(_sources, "_GROUP_BYTES", 0)
    for a, b in zip(whole, fit(), strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three row groups of 1,000 rows, the second's first column overwritten by zeros."""
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("damaged")
    path = _write(folder / "good.parquet", _frame(3000, 2), [1000, 1000, 1000])
    data = bytearray(path.read_bytes())
    chunk = pq.ParquetFile(path).metadata.row_group(1).column(0)
    at = chunk.data_page_offset + 40
    data[at : at + 200] = bytes(200)
    bad = folder / "damaged.parquet"
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize("whole", [True, False])
def test_a_damaged_row_group_is_named_by_file_and_rows(
    damaged: Path, monkeypatch: pytest.MonkeyPatch, whole: bool
) -> None:
    if not whole:
        monkeypatch.setattr(_sources, "_GROUP_BYTES", 0)
    want = r"rows 1000\.\.1999 \(row group 1\)" if whole else r"the rows from row \d+ on"
    with pytest.raises(DataError, match=rf"damaged\.parquet: cannot read {want}"):
        duolm.ols("y ~ x1 + x2", damaged, batch_size=700)
    assert not _readers()


def _readers() -> list[threading.Thread]:
    """The reader threads still alive."""
    return [t for t in threading.enumerate() if t.name == "duolm-stream-reader"]


def _made(log: list[int], fail: BaseException | None = None, after: int = 3) -> Iterator[int]:
    for i in range(10):
        if fail is not None and i == after:
            raise fail
        log.append(i)
        yield i


@pytest.mark.parametrize("depth", [0, 2])
@pytest.mark.parametrize("error", [ValueError("broken"), KeyboardInterrupt()])
def test_an_error_of_the_reader_thread_reaches_the_consumer_and_ends_it(
    depth: int, error: BaseException
) -> None:
    got: list[int] = []
    with pytest.raises(type(error)):
        for item in _sources._prefetch(_made([], error), depth):
            got.append(item)
    assert got == [0, 1, 2]  # every item before the error, in order
    assert not _readers()


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_consumer_that_stops_early_ends_the_thread_and_holds_little(depth: int) -> None:
    made: list[int] = []
    items = _sources._prefetch(_made(made), depth)
    assert next(items) == 0
    time.sleep(0.2)  # the thread runs ahead as far as it may
    # depth 0: one item made ahead of the one in use; else ``depth`` queued and one more
    assert len(made) == (2 if depth == 0 else depth + 2)
    items.close()
    assert not _readers()
    for item in (error := _sources._prefetch(_made([]), depth)):
        if item == 1:
            break
    del error
    assert not _readers()


_CHILD = textwrap.dedent(
    """
    import sys, time
    from duolm._stream import _sources
    import duolm

    original = _sources._read_groups

    def slow(*args):
        for batches in original(*args):
            print("read", flush=True)
            time.sleep(0.3)
            yield batches

    _sources._read_groups = slow
    try:
        duolm.ols("y ~ x1 + x2", sys.argv[1], batch_size=64)
    except KeyboardInterrupt:
        import threading
        # a reader ending right now (under load) is given 5 s; one left blocked is not
        for t in threading.enumerate():
            if t.name == "duolm-stream-reader":
                t.join(timeout=5.0)
        threads = [t.name for t in threading.enumerate()]
        print("interrupted", "duolm-stream-reader" in threads, flush=True)
        sys.exit(7)
    """
)


@pytest.mark.slow  # a child process: imports and a signal, a few seconds
def test_ctrl_c_while_the_reader_reads_stops_the_fit_and_the_thread(
    uneven: Path, tmp_path: Path
) -> None:
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(uneven)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "read"  # the fit is under way
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 7, err
    assert out.strip().splitlines()[-1] == "interrupted False"
