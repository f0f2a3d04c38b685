"""duolm.changepoints of streamed data: the run-length recursion fed batch by batch.

Reference: the same recursion over the rows in memory in one batch (itself held to
every segmentation enumerated in ``test_changepoints.py``). The recursion is online,
so any split of the rows gives the same arithmetic row by row: the tests ask for the
same bits (and at least 1e-10, the issue's bound).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm import changepoints
from duolm.core import RunLengthStream, runlength_recursion
from duolm.errors import DataError


def _rows(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    seg = np.searchsorted([90, 170], np.arange(n), side="right")
    y = np.array([1.0, 4.0, 0.0])[seg] + np.array([0.5, -0.3, 0.8])[seg] * x
    return pd.DataFrame({"x": x, "y": y + rng.normal(0, 1.0, n)})


def _splits(n: int, seed: int) -> list[int]:
    """Cut points: batches of one row, shorter and longer than ``lag``, and the rest."""
    rng = np.random.default_rng(seed)
    cuts = {1, 2, 3, 9, n - 1, *rng.integers(4, n - 1, size=12).tolist()}
    return sorted(c for c in cuts if 0 < c < n)


def _same(a: object, b: object) -> None:
    for name in ("map_run_length", "post_ptr", "post_len"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("change_prob", "post_prob"):  # the same bits (beyond the 1e-10)
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.log_evidence == b.log_evidence  # type: ignore[attr-defined]
    assert a.boundaries == b.boundaries  # type: ignore[attr-defined]
    assert a.max_runs == b.max_runs  # type: ignore[attr-defined]


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize(("tol", "keep", "lag"), [(1e-10, 1e-4, 7), (0.0, 0.0, 3), (1e-6, 0, 0)])
def test_any_split_of_the_rows_is_one_batch(
    compiled: bool, tol: float, keep: float, lag: int
) -> None:
    data = _rows(1, 200)
    Z = np.column_stack([np.ones(len(data)), data["x"], data["y"]])
    prior = duolm.NIG.vague(2)
    R0, a0 = np.array(prior.stat.R), prior.a
    whole = runlength_recursion(Z, R0, a0, 0.01, tol, lag, keep, compiled=compiled)
    stream = RunLengthStream(R0, a0, 0.01, tol, lag, keep, compiled=compiled)
    cuts = [0, *_splits(len(Z), 2), len(Z)]
    for lo, hi in itertools.pairwise(cuts):
        stream.feed(Z[lo:hi])
        stream.feed(Z[hi:hi])  # an empty batch changes nothing
        assert stream.rows == hi
        assert stream.runs <= whole.max_runs
    _same(stream.finish(), whole)


def test_a_stream_shorter_than_the_lag() -> None:
    data = _rows(3, 5)
    Z = np.column_stack([np.ones(5), data["x"], data["y"]])
    prior = duolm.NIG.vague(2)
    R0, a0 = np.array(prior.stat.R), prior.a
    stream = RunLengthStream(R0, a0, 0.1, 0.0, 20, 0.0)
    for row in Z:
        stream.feed(row[None, :])
    _same(stream.finish(), runlength_recursion(Z, R0, a0, 0.1, 0.0, 20, 0.0))


def test_memory_is_bounded_by_the_surviving_run_lengths() -> None:
    rng = np.random.default_rng(4)
    prior = duolm.NIG.vague(2)
    stream = RunLengthStream(np.array(prior.stat.R), prior.a, 1 / 250, 1e-10, 20, 1e-4)
    held = []
    for _ in range(20):  # 6000 stationary rows in batches of 300
        x = rng.normal(size=300)
        stream.feed(np.column_stack([np.ones(300), x, 1.0 + 2.0 * x + rng.normal(size=300)]))
        held.append(stream.runs)
    run = stream.finish()
    assert max(held) <= run.max_runs < 1000  # the exact recursion would hold 6000
    assert len(run.change_prob) == 6000


def test_files_iterables_and_dask_are_the_rows_in_memory(tmp_path: Path) -> None:
    data = _rows(5, 260)
    want = changepoints("y ~ x", data, hazard=0.01)
    csv = tmp_path / "rows.csv"
    data.to_csv(csv, index=False)
    parquet = tmp_path / "rows.parquet"
    data.to_parquet(parquet, index=False)
    frames = [data.iloc[i : i + 37] for i in range(0, len(data), 37)]
    import dask.dataframe as dd

    sources: list[tuple[object, dict[str, object]]] = [
        (csv, {"batch_size": 50}),
        (str(parquet), {"batch_size": 64}),
        (iter(frames), {}),
        (dd.from_pandas(data, npartitions=6), {}),
    ]
    for source, kw in sources:
        got = changepoints("y ~ x", source, hazard=0.01, **kw)  # type: ignore[arg-type]
        np.testing.assert_array_equal(got.change_prob, want.change_prob)
        np.testing.assert_array_equal(got.map_run_length, want.map_run_length)
        np.testing.assert_array_equal(got.runlength_posterior(), want.runlength_posterior())
        assert got.log_evidence == want.log_evidence
        assert got.changes == want.changes
        assert got.index.tolist() == list(range(len(data)))
        np.testing.assert_array_equal(got.X, want.X)  # the segments' fits and the plot's rows
        np.testing.assert_array_equal(got.y, want.y)


def test_streamed_rows_are_checked_and_options_need_a_stream(tmp_path: Path) -> None:
    data = _rows(6, 40)
    data.loc[25, "x"] = np.nan
    csv = tmp_path / "gap.csv"
    data.to_csv(csv, index=False)
    with pytest.raises(DataError, match="'x'"):
        changepoints("y ~ x", csv, batch_size=10)
    dropped = changepoints("y ~ x", csv, batch_size=10, missing="drop")
    assert 25 not in dropped.index and dropped.nobs == 39
    with pytest.raises(DataError, match="no complete rows"):
        changepoints("y ~ x", [data.iloc[25:26]], missing="drop")
    with pytest.raises(TypeError, match="batch_size"):
        changepoints("y ~ x", _rows(6, 40), batch_size=10)
