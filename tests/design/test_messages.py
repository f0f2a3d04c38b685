"""The weak messages of issue 14, item 13, each now names what to fix.

(The directory given as data and ``batch_size=0`` are in test_malformed_files.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm.errors import DataError, StateFileError


def frame(n: int = 12, seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"x": rng.normal(size=n), "z": np.nan})
    data["y"] = 1.0 + data.x + rng.normal(size=n)
    return data


# -- an all-NaN column: "no rows left" names it ------------------------------------------------


@pytest.mark.parametrize("entry", ["ols", "bayes", "trajectory"])
def test_an_all_missing_column_is_named(entry: str) -> None:
    fit = getattr(duolm, entry)
    with pytest.raises(
        DataError,
        match=r"no rows left after dropping 12 rows .*column\(s\) 'z' missing in every row",
    ):
        fit("y ~ x + z", frame())


def test_columns_that_never_meet_are_counted() -> None:
    data = frame()
    data["z"] = np.where(np.arange(12) % 2 == 0, 1.0, np.nan)
    data.loc[data.z.notna(), "x"] = np.nan
    with pytest.raises(
        DataError, match=r"missing values in 'x' in 6, 'z' in 6 rows, and no row has all"
    ):
        duolm.ols("y ~ x + z", data)


def test_an_all_missing_array_column_is_named() -> None:
    X = np.column_stack([np.ones(5), np.full(5, np.nan)])
    with pytest.raises(DataError, match=r"column\(s\) 'x1' missing in every row"):
        duolm.ols(X=X, y=np.arange(5.0))


def test_an_all_missing_column_of_a_streamed_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    frame(300).to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"data\.csv: no rows left after dropping 300 rows .*'z' missing in every"
    ):
        duolm.ols("y ~ x + z", path, batch_size=64)


# -- predict with a missing value: no advice about an argument predict lacks -----------------


@pytest.mark.parametrize("entry", ["ols", "bayes"])
def test_predict_with_a_missing_value_gives_advice_predict_can_take(entry: str) -> None:
    data = frame()
    fit = getattr(duolm, entry)("y ~ x", data)
    new = pd.DataFrame({"x": [0.5, np.nan]}, index=["a", "b"])
    with pytest.raises(DataError) as info:
        fit.predict(new)
    message = str(info.value)
    assert "missing values in column(s) 'x' at rows 'b'" in message
    assert "missing=" not in message
    assert "new_data.dropna()" in message


def test_a_fit_still_advises_missing_drop() -> None:
    with pytest.raises(DataError, match=r"use missing='drop' to drop these rows"):
        duolm.ols("y ~ x + z", frame(), missing="raise")


# -- Parquet list and struct columns ---------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "kind"),
    [([[1.0], [2.0, 3.0]] * 6, "ndarray|list"), ([{"a": 1}, {"a": 2}] * 6, "dict")],
    ids=["list", "struct"],
)
@pytest.mark.parametrize("how", ["frame", "parquet-memory", "parquet-stream"])
def test_nested_columns_are_named(
    tmp_path: Path, column: list[object], kind: str, how: str
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    table = pa.table({"v": pa.array(column), "y": pa.array(rng.normal(size=12))})
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path)
    data: object = path if how == "parquet-stream" else pd.read_parquet(path)
    with pytest.raises(DataError, match=rf"column 'v' holds ({kind}) values .*unpacked"):
        duolm.ols("y ~ v", data)


# -- a corrupt checkpoint --------------------------------------------------------------------


def test_a_checkpoint_holding_pickles_says_so_not_how_to_load_them(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    frame().assign(z=1.0).to_csv(data, index=False)
    ckpt = tmp_path / "ck.npz"
    np.savez(ckpt, format=np.array([object()], dtype=object))
    with pytest.raises(StateFileError) as info:
        duolm.ols("y ~ x", data, checkpoint=ckpt)
    message = str(info.value)
    assert "holds Python objects (pickles), which duolm never writes and never loads" in message
    assert "allow_pickle" not in message
    assert "delete it" in message


def test_a_checkpoint_that_is_no_archive_says_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    frame().assign(z=1.0).to_csv(data, index=False)
    ckpt = tmp_path / "ck.npz"
    ckpt.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(StateFileError, match=r"not a NumPy \.npz archive .*delete it"):
        duolm.ols("y ~ x", data, checkpoint=ckpt)


# -- a path no reader takes ------------------------------------------------------------------


def test_a_directory_or_a_foreign_file_or_a_missing_path_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"data is a directory, not a data file"):
        duolm.ols("y ~ x", str(folder))
    text = tmp_path / "data.txt"
    text.write_text("x,y\n1,2\n")
    with pytest.raises(DataError, match=r"data\.txt: duolm reads \.csv files .*\.parquet"):
        duolm.bayes("y ~ x", text)
    with pytest.raises(DataError, match=r"got 'y ~ x', which names no file"):
        duolm.ols("y ~ x", "y ~ x")
