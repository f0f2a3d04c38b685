"""Resource bombs in whitelisted formulas are refused before anything is built (item 12).

``bs(x, df=10**8)`` ran for minutes and took gigabytes; 100,000 categorical levels
went straight to a dense 100,000-column design. Every size a formula asks for is now
bounded by the data before formulaic builds a column: a transform's ``df`` /
``degree`` / ``knots`` / ``lag`` by the rows, a least-squares design by its rows
(fewer columns than rows), any design by 2 GiB. Each refusal is checked to be fast
and to allocate little (tracemalloc's peak).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm.errors import DataError

MB = 2**20


def small(rows: int = 200, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.uniform(0.5, 1.5, rows), "y": rng.normal(size=rows)})


def peak_of(call: Callable[[], object]) -> tuple[BaseException, int]:
    """The error ``call`` raises and the peak bytes it allocated meanwhile."""
    tracemalloc.start()
    try:
        call()
    except Exception as exc:
        _, peak = tracemalloc.get_traced_memory()
        return exc, peak
    finally:
        tracemalloc.stop()
    raise AssertionError("no error was raised")


@pytest.mark.parametrize(
    ("term", "shown"),
    [
        ("bs(x, df=10**8)", r"bs\(x, df=10 \*\* 8\) asks for df=100000000"),
        ("bs(x, 10**8)", r"bs\(x, 10 \*\* 8\) asks for df=100000000"),
        ("bs(x, degree=10**6)", r"asks for degree=1000000"),
        ("bs(x, df=5.0e7)", r"asks for df=50000000"),
        ("poly(x, 10**6)", r"poly\(x, 10 \*\* 6\) asks for degree=1000000"),
        ("poly(x, degree=2**40)", r"asks for degree=1099511627776"),
        ("cr(x, df=10**7)", r"cr\(x, df=10 \*\* 7\) asks for df=10000000"),
        ("cc(x, df=10**7)", r"asks for df=10000000"),
        ("np.log(bs(x, df=10**8))", r"asks for df=100000000"),
        ("lag(x, 10**9)", r"lag\(x, 10 \*\* 9\) shifts by k=1000000000, more than the 200 rows"),
    ],
)
@pytest.mark.parametrize("fit", ["ols", "bayes"])
def test_a_transform_asking_for_more_columns_than_rows_is_refused_at_once(
    term: str, shown: str, fit: str
) -> None:
    entry = duolm.ols if fit == "ols" else duolm.bayes
    exc, peak = peak_of(lambda: entry(f"y ~ {term}", small()))
    assert isinstance(exc, DataError), exc
    assert __import__("re").search(shown, str(exc)), str(exc)
    assert peak < 20 * MB


def test_sizes_within_the_rows_still_fit() -> None:
    data = small()
    for term, k in [("bs(x, df=5)", 6), ("poly(x, 3)", 4), ("bs(x, knots=[0.8, 1.2])", 6)]:
        assert len(duolm.ols(f"y ~ {term}", data).params) == k


def levels(n: int, distinct: int, seed: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"g": [f"level{i % distinct}" for i in range(n)], "y": rng.normal(size=n)})


@pytest.mark.parametrize("fit", ["ols", "bayes"])
def test_twenty_thousand_levels_get_a_message_before_any_design(fit: str) -> None:
    data = levels(20_000, 20_000)
    entry = duolm.ols if fit == "ols" else duolm.bayes
    exc, peak = peak_of(lambda: entry("y ~ g", data))
    assert isinstance(exc, DataError)
    assert "term 'g' alone makes about 19999" in str(exc)
    assert peak < 200 * MB  # the design would be 3 GiB


def test_levels_that_fit_in_rows_but_not_in_memory_are_refused_by_size() -> None:
    exc, peak = peak_of(lambda: duolm.bayes("y ~ g", levels(24_000, 12_000)))
    assert isinstance(exc, DataError)
    assert "a design of 2.15 GiB, over the 2 GiB duolm builds in memory" in str(exc)
    assert peak < 200 * MB


def test_an_interaction_of_categoricals_is_counted_as_the_product() -> None:
    rng = np.random.default_rng(1)
    data = pd.DataFrame(
        {
            "g": [f"a{i}" for i in rng.integers(0, 40, 500)],
            "h": [f"b{i}" for i in rng.integers(0, 40, 500)],
            "y": rng.normal(size=500),
        }
    )
    with pytest.raises(DataError, match=r"too few rows: 500 observation\(s\) for at least \d+ "):
        duolm.ols("y ~ g:h", data)


def test_least_squares_refuses_as_many_levels_as_rows_and_fits_one_fewer() -> None:
    with pytest.raises(DataError, match=r"too few rows: 60 observation\(s\) for at least 60"):
        duolm.ols("y ~ g", levels(60, 60))
    fit = duolm.ols("y ~ g", levels(61, 60))
    assert len(fit.params) == 60 and fit.df_resid == 1
    post = duolm.bayes("y ~ g", levels(60, 60))  # a proper prior: wider than its rows is fine
    assert len(post.params) == 60


def test_a_streamed_file_is_bounded_by_its_batch(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    small(300).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"asks for df=100000000"):
        duolm.ols("y ~ bs(x, df=10**8)", path, batch_size=100)
