"""Dropping rows with missing values is said once, with the count (issue 14, item 15).

The README promised an error for NaN while ``missing="drop"`` (the default) dropped
rows without a word in Python; the summary alone showed the count.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm.errors import MissingValuesWarning


def data(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=n)})
    frame["y"] = 1.0 + frame.x + rng.normal(size=n)
    frame.loc[[3, 17, 30], "x"] = np.nan
    return frame


@pytest.mark.parametrize("entry", ["ols", "bayes", "trajectory", "reduce"])
def test_each_fit_warns_once_with_the_count(entry: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(duolm, entry)("y ~ x", data())
    ours = [w for w in caught if issubclass(w.category, MissingValuesWarning)]
    assert len(ours) == 1
    assert "3 row(s) with missing values dropped" in str(ours[0].message)


def test_a_streamed_file_warns_once_over_all_batches(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    data().to_csv(path, index=False)
    with pytest.warns(MissingValuesWarning, match="3 row") as caught:
        fit = duolm.ols("y ~ x", path, batch_size=8)
    assert len([w for w in caught if issubclass(w.category, MissingValuesWarning)]) == 1
    assert fit.nobs == 37


def test_no_warning_without_missing_values_or_with_raise() -> None:
    clean = data().dropna()
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingValuesWarning)
        duolm.ols("y ~ x", clean)
    with pytest.raises(duolm.DataError, match="missing values in column"):
        duolm.ols("y ~ x", data(), missing="raise")


def test_the_readme_no_longer_promises_an_error_for_nan() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split())
    assert "Bad input (NaN," not in text
    assert "dropped with a warning that counts them" in text
