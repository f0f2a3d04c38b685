"""duolm.dask: Dask DataFrames reduced partition by partition, against the in-memory fit.

The reference is ``duolm.ols(formula, ddf.compute())`` (checked against
statsmodels in test_ols.py). The cluster tests run on a
``dask.distributed.LocalCluster`` with two worker processes, so every state
crosses a process boundary (pickled) before it is merged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import duolm
from duolm import NIG
from duolm import dask as duolm_dask
from duolm.errors import DataError
from shared import FORMULA, RTOL, _frame, assert_same_fit

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def synchronous() -> Iterator[None]:
    with dask.config.set(scheduler="synchronous"):
        yield


def _data() -> pd.DataFrame:
    frame = _frame(n=300, seed=5)
    frame.loc[[7, 120, 121, 299], "x2"] = np.nan
    return frame


@pytest.mark.slow
def test_local_cluster_equals_in_memory(client: object) -> None:
    frame = _data()
    ddf = dd.from_pandas(frame, npartitions=7)
    for formula in (FORMULA, "y ~ C(g) + x1 * x2"):
        want = duolm.ols(formula, frame, cov_type="HC1")
        got = duolm.ols(formula, ddf, cov_type="HC1")
        assert got.n_dropped == 4
        assert_same_fit(got, want)


@pytest.mark.slow
def test_local_cluster_bayes_counts_the_prior_once(client: object) -> None:
    frame = _data()
    ddf = dd.from_pandas(frame, npartitions=6)
    for prior in (None, NIG.reference(4), NIG(np.zeros(4), 10.0 * np.eye(4), 2.0, 3.0)):
        want = duolm.bayes(FORMULA, frame, prior=prior)
        got = duolm.bayes(FORMULA, ddf, prior=prior)
        assert got.posterior.a == want.posterior.a  # a_0 + n/2: the prior once
        np.testing.assert_allclose(got.posterior.b, want.posterior.b, rtol=RTOL, atol=0)
        np.testing.assert_allclose(got.params, want.params, rtol=RTOL, atol=0)
        np.testing.assert_allclose(
            got.credible_interval(), want.credible_interval(), rtol=RTOL, atol=0
        )


def test_parquet_row_groups_as_partitions(tmp_path: Path, synchronous: None) -> None:
    frame = _data()
    path = tmp_path / "data.parquet"
    frame.to_parquet(path, row_group_size=50)
    ddf = dd.read_parquet(path, split_row_groups=True)
    assert ddf.npartitions == 6
    assert_same_fit(duolm.ols(FORMULA, ddf), duolm.ols(FORMULA, frame))


def test_first_partition_without_complete_rows(synchronous: None) -> None:
    frame = _data()
    frame.loc[:49, "x1"] = np.nan  # the whole first partition
    ddf = dd.from_pandas(frame, npartitions=6)
    want = duolm.ols(FORMULA, frame)
    got = duolm.ols(FORMULA, ddf)
    assert got.n_dropped == want.n_dropped == 53
    assert_same_fit(got, want)


def test_new_level_in_a_later_partition(synchronous: None) -> None:
    frame = _data()
    frame.loc[250, "g"] = "new"
    with pytest.raises(DataError, match=r"partition 5: column 'g' has level 'new' at row 250"):
        duolm.ols("y ~ C(g) + x1", dd.from_pandas(frame, npartitions=6))


def test_one_big_partition_is_reported(synchronous: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duolm_dask, "ONE_PARTITION_ROWS", 100)
    frame = _data()
    with pytest.warns(UserWarning, match="single partition of 300 rows"):
        duolm.ols(FORMULA, dd.from_pandas(frame, npartitions=1), diagnostics=False)


def test_not_a_dask_frame() -> None:
    with pytest.raises(TypeError, match="Dask DataFrame"):
        duolm_dask.reduce(FORMULA, _data())


def test_large_partitions_of_plain_columns(synchronous: None) -> None:
    """A plain formula's spec comes from the first rows of a partition; rows of NaN there,
    or a missing='raise' error, are decided by the whole partition as in memory."""
    rng = np.random.default_rng(12)
    n = 30_000
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    frame["y"] = 1.0 + frame.x - frame.z + rng.normal(size=n)
    frame.loc[:10_999, "x"] = np.nan  # every row the spec would be taken from, and more
    frame.loc[20_500, "z"] = np.nan
    ddf = dd.from_pandas(frame, npartitions=2)
    got = duolm.ols("y ~ x + z", ddf, cov_type="HC3")
    want = duolm.ols("y ~ x + z", frame, cov_type="HC3")
    assert got.n_dropped == want.n_dropped == 11_001
    assert_same_fit(got, want)
    with pytest.raises(DataError, match=r"partition 0: .* \(and 10995 more\)"):  # its own rows
        duolm.ols("y ~ x + z", ddf, missing="raise")


def test_text_column_levels_come_from_the_whole_partition(synchronous: None) -> None:
    """``y ~ g`` is plain by its parse, but g is text: its levels need every row."""
    rng = np.random.default_rng(3)
    n = 20_000
    g = np.where(np.arange(n) < 10_000, rng.choice(["b", "c"], n), rng.choice(["a", "b", "c"], n))
    frame = pd.DataFrame({"g": g, "y": rng.normal(size=n)})
    got = duolm.ols("y ~ g", dd.from_pandas(frame, npartitions=1))
    want = duolm.ols("y ~ g", frame)
    assert got.terms == want.terms == ("Intercept", "g[T.b]", "g[T.c]")
    np.testing.assert_allclose(got.params, want.params, rtol=1e-10, atol=0)


def test_empty_first_partition_is_skipped(synchronous: None) -> None:
    frame = _data()
    parts = [frame.iloc[:0], frame.iloc[:150], frame.iloc[150:150], frame.iloc[150:]]
    ddf = dd.from_delayed([dask.delayed(p) for p in parts], meta=frame.iloc[:0])
    got = duolm.ols(FORMULA, ddf)
    assert_same_fit(got, duolm.ols(FORMULA, frame))
