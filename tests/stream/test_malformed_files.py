"""Malformed data files are refused by every reader, naming the file and the line (issue 14).

Items 2 (a row with more or fewer fields than the header), 6 (a column named twice
in a header), 8 (text that is not UTF-8: say what it looks like, accept ``encoding=``)
and, of item 13, a directory given as data and ``batch_size=0``. Each class is checked
on every path that reads a file: the library's streamed reader (``duolm.ols`` /
``bayes`` / ``trajectory`` given a path, from the first batch and from a later one)
and the command line (``duolm fit``, in memory, ``--stream`` and stdin).
"""

from __future__ import annotations

import bz2
import gzip
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

import duolm
from duolm.errors import DataError

HEADER = "x,y\n"


def rows(n: int = 40, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 1.0 + 2.0 * x + rng.normal(size=n)
    return [f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y, strict=True)]


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("".join(lines).encode(encoding))
    return path


def cli(*args: object, input: bytes | None = None) -> Result:
    from duolm.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def fits() -> dict[str, Callable[[Path], object]]:
    """Every library entry that reads a path, with batches of 8 rows."""
    return {
        "ols": lambda p: duolm.ols("y ~ x", p, batch_size=8),
        "ols-nodiag": lambda p: duolm.ols("y ~ x", p, batch_size=8, diagnostics=False),
        "bayes": lambda p: duolm.bayes("y ~ x", p, batch_size=8),
        "trajectory": lambda p: duolm.trajectory("y ~ x", p, batch_size=8),
    }


# -- item 2: a row with the wrong number of fields -----------------------------------------


@pytest.mark.parametrize("where", [0, 5, 30])  # first row, first batch, a later batch
@pytest.mark.parametrize(
    ("bad", "fields"),
    [("1,232.84,5.0\n", 3), ("1.5,2.5,\n", 3), ("7.25\n", 1)],
    ids=["thousands-separator", "trailing-comma", "short"],
)
@pytest.mark.parametrize("entry", sorted(fits()))
def test_every_library_reader_refuses_a_row_with_the_wrong_field_count(
    tmp_path: Path, where: int, bad: str, fields: int, entry: str
) -> None:
    lines = [HEADER, *rows()]
    lines.insert(1 + where, bad)
    path = write(tmp_path / "data.csv", lines)
    line = 2 + where  # the header is line 1
    with pytest.raises(DataError, match=rf"data\.csv: line {line} has {fields} field\(s\)"):
        fits()[entry](path)


def test_the_stream_refuses_a_bad_row_before_it_reduces_it_and_from_a_resumed_batch(
    tmp_path: Path,
) -> None:
    from duolm._stream._sources import _open_source

    lines = [HEADER, *rows()]
    lines.insert(1 + 33, "1,232.84,5.0\n")
    path = write(tmp_path / "data.csv", lines)
    source = _open_source(path)
    seen = []
    with pytest.raises(DataError, match=r"line 35 has 3 field\(s\), the header has 2"):
        for batch in source.batches(("x", "y"), 8, 16):  # a resumed run starts at row 16
            seen.append((batch.start, batch.nrows))
    assert all(start + n <= 33 for start, n in seen)  # row 33 is never handed on


def test_the_message_says_how_to_mend_each_kind_of_row(tmp_path: Path) -> None:
    long = write(tmp_path / "long.csv", [HEADER, *rows(4), "1,232.84,5.0\n"])
    short = write(tmp_path / "short.csv", [HEADER, *rows(4), "7.25\n"])
    with pytest.raises(DataError, match=r"thousands separator as in 1,232\.84"):
        duolm.ols("y ~ x", long)
    with pytest.raises(DataError, match=r"give every row every field"):
        duolm.ols("y ~ x", short)


def test_a_well_formed_file_still_fits_as_in_memory(tmp_path: Path) -> None:
    lines = [HEADER, *rows(), "\n"]  # a trailing blank line is no row
    path = write(tmp_path / "data.csv", lines)
    frame = pd.read_csv(path)
    np.testing.assert_allclose(
        duolm.ols("y ~ x", path, batch_size=8).params,
        duolm.ols("y ~ x", frame).params,
        rtol=1e-12,
        atol=0,
    )
    quoted = write(
        tmp_path / "quoted.csv", ["x,y,note\n", *[r.strip() + ',"a,b\nc"\n' for r in rows()]]
    )
    np.testing.assert_allclose(
        duolm.ols("y ~ x", quoted, batch_size=8).params,
        duolm.ols("y ~ x", frame).params,
        rtol=1e-12,
        atol=0,
    )


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress], ids=["gz", "bz2"])
def test_compressed_files_are_checked_too(tmp_path: Path, compress: Callable[..., bytes]) -> None:
    lines = [HEADER, *rows(), "1,232.84,5.0\n"]
    suffix = ".csv.gz" if compress is gzip.compress else ".csv.bz2"
    path = tmp_path / f"data{suffix}"
    path.write_bytes(compress("".join(lines).encode()))
    with pytest.raises(DataError, match=r"line 42 has 3 field\(s\)"):
        duolm.ols("y ~ x", path, batch_size=8)


@pytest.mark.parametrize("how", ["memory", "stream", "stdin"])
def test_the_command_line_refuses_a_bad_row_on_every_path(tmp_path: Path, how: str) -> None:
    lines = [HEADER, "1,232.84,5.0\n", *rows()]  # pandas alone would take x as the index
    path = write(tmp_path / "data.csv", lines)
    if how == "stdin":
        result = cli("fit", "-", "-f", "y ~ x", "--ols", input=path.read_bytes())
        label = "stdin"
    else:
        result = cli(
            "fit", path, "-f", "y ~ x", "--ols", f"--{'in-memory' if how == 'memory' else 'stream'}"
        )
        label = "data.csv"
    assert result.exit_code == 1
    assert f"{label}: line 2 has 3 field(s)" in result.output
    assert "Traceback" not in result.output


# -- item 6: a column named twice -----------------------------------------------------------


def test_a_csv_header_naming_a_column_twice_is_refused_everywhere(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", ["x,x,y\n", *[r.strip() + ",1.0\n" for r in rows()]])
    message = r"dup\.csv: column 'x' appears 2 times in the header \(columns 1, 2\)"
    for entry in fits().values():
        with pytest.raises(DataError, match=message):
            entry(path)
    for mode in ("--in-memory", "--stream"):
        result = cli("fit", path, "-f", "y ~ x", "--ols", mode)
        assert result.exit_code == 1
        assert "column 'x' appears 2 times in the header" in result.output


def test_a_parquet_file_naming_a_column_twice_is_refused_everywhere(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    columns = [pa.array(rng.normal(size=20)) for _ in range(3)]
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table(columns, names=["x", "y", "x"]), path)
    with pytest.raises(
        DataError, match=r"column 'x' appears 2 times in the header \(columns 1, 3\)"
    ):
        duolm.ols("y ~ x", path)
    for mode in ("--in-memory", "--stream"):
        result = cli("fit", path, "-f", "y ~ x", "--ols", mode)
        assert result.exit_code == 1
        assert "column 'x' appears 2 times" in result.output


def test_a_genuine_column_named_like_a_pandas_duplicate_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.csv", ["x,y,x.1\n", *[r.strip() + ",1.0\n" for r in rows()]])
    assert duolm.ols("y ~ x", path).nobs == 40


# -- item 8: text that is not UTF-8 ---------------------------------------------------------


def latin1_lines() -> list[str]:
    return ["x,y,city\n", *[r.strip() + ",Düsseldorf\n" for r in rows(30)], "1.0,2.0,Málaga\n"]


@pytest.mark.parametrize(
    ("name", "make", "what"),
    [
        ("gz.csv", lambda t: gzip.compress(t.encode()), r"looks like gzip-compressed data"),
        ("bom16.csv", lambda t: t.encode("utf-16"), r"UTF-16 text \(byte-order mark\)"),
        ("le16.csv", lambda t: t.encode("utf-16-le"), r"UTF-16 \(little-endian\)"),
        (
            "latin.csv",
            lambda t: t.encode("latin-1"),
            r"Latin-1 / Windows-1252.*encoding 'latin-1'.*--encoding",
        ),
        ("pq.csv", lambda t: b"PAR1" + bytes(range(256)), r"looks like a Parquet file"),
    ],
)
def test_a_file_that_is_not_utf8_is_named_and_described(
    tmp_path: Path, name: str, make: Callable[[str], bytes], what: str
) -> None:
    path = tmp_path / name
    path.write_bytes(make("".join(latin1_lines())))
    with pytest.raises(DataError, match=re.escape(name) + ": not .*" + what):
        duolm.ols("y ~ x", path)
    result = cli("fit", path, "-f", "y ~ x", "--ols")
    assert result.exit_code == 1
    assert name in result.output and "Traceback" not in result.output


def test_a_latin1_byte_beyond_the_sniffed_head_is_named_too(tmp_path: Path) -> None:
    lines = ["x,y,city\n", *[r.strip() + ",Plzen\n" for r in rows(4000)], "1.0,2.0,Málaga\n"]
    path = write(tmp_path / "late.csv", lines, encoding="latin-1")
    assert path.stat().st_size > 1 << 16
    with pytest.raises(DataError, match=r"late\.csv: not UTF-8 text: byte 0xe1.*latin-1"):
        duolm.ols("y ~ x + city", path, batch_size=1000)


def test_encoding_is_accepted_by_the_library_and_gives_the_utf8_fit(tmp_path: Path) -> None:
    text = "".join(latin1_lines())
    latin = tmp_path / "latin.csv"
    latin.write_bytes(text.encode("latin-1"))
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes(text.encode("utf-8"))
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(text.encode("utf-16"))
    want = duolm.ols("y ~ x", utf8, batch_size=8).params
    for path, encoding in [(latin, "latin-1"), (utf16, "utf-16")]:
        got = duolm.ols("y ~ x", path, batch_size=8, encoding=encoding).params
        np.testing.assert_allclose(got, want, rtol=0, atol=0)
        post = duolm.bayes("y ~ x", path, encoding=encoding)
        np.testing.assert_allclose(
            post.params, duolm.bayes("y ~ x", utf8).params, rtol=1e-14, atol=0
        )
        traj = duolm.trajectory("y ~ x", path, encoding=encoding)
        assert len(traj) == 31
    with pytest.raises(ValueError, match="encoding: unknown encoding 'klingon'"):
        duolm.ols("y ~ x", latin, encoding="klingon")
    with pytest.raises(TypeError, match="encoding apply to streamed data"):
        duolm.ols("y ~ x", pd.read_csv(utf8), encoding="latin-1")


# -- item 13: a directory as data, batch_size=0 ----------------------------------------------


def test_a_directory_is_said_to_be_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"data\.csv is a directory, not a data file"):
        duolm.ols("y ~ x", folder)


@pytest.mark.parametrize("name", ["batch_size", "checkpoint_every"])
def test_zero_batch_size_is_an_error_not_the_default(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / "data.csv", [HEADER, *rows()])
    extra = {"checkpoint": tmp_path / "ck.npz"} if name == "checkpoint_every" else {}
    with pytest.raises(ValueError, match=rf"{name} must be a positive integer, got 0"):
        duolm.ols("y ~ x", path, **{name: 0}, **extra)  # type: ignore[arg-type]


def _kinds_file(tmp_path: Path, column: str, later: list[object]) -> Path:
    rng = np.random.default_rng(0)
    n = 100
    frame = pd.DataFrame({"x": rng.normal(size=n), "g": rng.integers(0, 10, n)})
    frame["y"] = 1 + 2 * frame.x + rng.normal(size=n)
    frame[column] = frame[column].astype(object)
    frame.loc[50 : 50 + len(later) - 1, column] = later
    path = tmp_path / "kinds.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_csv_column_that_changes_kind_in_a_later_batch_is_refused(tmp_path: Path) -> None:
    """pandas types each chunk apart: a regressor whose later chunk held only True/False
    was fitted as 1 and 0 (in memory: refused as text), and cluster labels 3 and "3"
    (text came later) made two groups of one, with wrong standard errors, silently."""
    flags = ["True", "False"] * 25
    path = _kinds_file(tmp_path, "x", flags)
    with pytest.raises(DataError, match=r"column 'x' holds numbers .* 'True' at row 50"):
        duolm.ols("y ~ x", path, batch_size=50)
    path = _kinds_file(tmp_path, "g", ["a"])
    kw = {"cov_type": "cluster", "cov_kwds": {"groups": "g"}}
    with pytest.raises(DataError, match=r"'g' is not numeric: row 50 holds 'a', after numbers"):
        duolm.ols("y ~ x", path, batch_size=50, **kw)
    with pytest.raises(DataError, match=r"row 50 holds 'a'"):  # mixed within a batch too
        duolm.ols("y ~ x", path, batch_size=30, **kw)


def test_a_boolean_csv_column_with_gaps_keeps_its_kind(tmp_path: Path) -> None:
    """A boolean column with an empty cell is objects to pandas (True, False, NaN): the
    same kind as the first chunk's booleans, not a change."""
    rng = np.random.default_rng(1)
    n = 90
    frame = pd.DataFrame({"x": rng.normal(size=n), "d": rng.integers(0, 2, n).astype(bool)})
    frame["y"] = frame.x + frame.d + rng.normal(size=n)
    frame["d"] = frame["d"].astype(object)
    frame.loc[70, "d"] = None
    path = tmp_path / "bools.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(duolm.errors.MissingValuesWarning):
        got = duolm.ols("y ~ x + d", path, batch_size=30)
        want = duolm.ols("y ~ x + d", pd.read_csv(path))
    np.testing.assert_allclose(got.params, want.params, rtol=1e-10, atol=0)
