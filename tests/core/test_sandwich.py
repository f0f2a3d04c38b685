"""The mergeable HAC and cluster meats: chunked == whole in any grouping, and the
definitions by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import duolm
from duolm import core
from duolm.core import _sandwich
from duolm.frequentist._robust import cluster_cov_from_meats, scores


def _cuts(n: int, points: list[int]) -> list[tuple[int, int]]:
    edges = [0, *sorted({p for p in points if 0 < p < n}), n]
    return list(itertools.pairwise(edges))


@settings(max_examples=60, deadline=None)
@given(
    maxlags=st.integers(0, 6),
    points=st.lists(st.integers(1, 39), max_size=12),
    kernel=st.sampled_from(["bartlett", "uniform"]),
)
def test_hac_meat_chunked_equals_whole(maxlags: int, points: list[int], kernel: str) -> None:
    rng = np.random.default_rng(maxlags * 1000 + len(points))
    u = rng.normal(size=(40, 3))
    whole = core.HACMeat.from_scores(u, maxlags, kernel)  # type: ignore[arg-type]
    acc = core.HACMeat.empty(3, maxlags, kernel)  # type: ignore[arg-type]
    pieces = []
    for a, b in _cuts(40, points):
        acc = acc.update(u[a:b])
        pieces.append(core.HACMeat.from_scores(u[a:b], maxlags, kernel))  # type: ignore[arg-type]
    assert acc.nobs == 40
    assert_allclose(acc.S, whole.S, rtol=1e-12, atol=1e-12)
    # merged as a balanced tree (how Dask partitions combine)
    while len(pieces) > 1:
        pieces = [
            pieces[i].merge(pieces[i + 1]) if i + 1 < len(pieces) else pieces[i]
            for i in range(0, len(pieces), 2)
        ]
    assert_allclose(pieces[0].S, whole.S, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [2, 127, 128, 129, 300, 8191, 8193, 20000])
@pytest.mark.parametrize("maxlags", [7, 8, 51, 150])
def test_filtered_lag_products_are_the_per_lag_sums(n: int, maxlags: int) -> None:
    # many lags take the banded filter (blocks of rows, chunks of the filtered copy):
    # the same sums as one product per lag, across every block and chunk boundary
    rng = np.random.default_rng(n + maxlags)
    u = rng.normal(size=(n, 4)) * 5.0 + 2.0
    for kernel in ("bartlett", "uniform"):
        w = _sandwich.kernel_weights(maxlags, kernel)  # type: ignore[arg-type]
        want = np.zeros((4, 4))
        for lag in range(1, min(maxlags, n - 1) + 1):
            want += w[lag] * (u[lag:].T @ u[:-lag])
        got = _sandwich._weighted_lags(u, w)
        assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())


@pytest.mark.parametrize("n", [20_000, 20_001, 3 * 256 * 41 + 5])
@pytest.mark.parametrize("maxlags", [2, 5, 12, 51, 300])
@pytest.mark.parametrize("kernel", ["bartlett", "uniform"])
def test_compiled_lag_products_are_the_per_lag_sums(n: int, maxlags: int, kernel: str) -> None:
    # large blocks take the compiled tiles: one multiply-add per lag, or running sums of
    # the rows (Bartlett's and uniform weights from 12 lags on), anchored at every tile;
    # lags longer than a tile (300 > 256) reach back over several tiles
    assert n >= _sandwich._LAG_KERNEL_MIN_ROWS and _sandwich._lag_kernel() is not None
    rng = np.random.default_rng(n + maxlags)
    u = rng.normal(size=(n, 3)) * 5.0 + 2.0  # a mean: the running sums do not cancel it away
    w = _sandwich.kernel_weights(maxlags, kernel)  # type: ignore[arg-type]
    want = np.zeros((3, 3))
    for lag in range(1, maxlags + 1):
        want += w[lag] * (u[lag:].T @ u[:-lag])
    tol = {"rtol": 1e-13, "atol": 1e-13 * np.abs(want).max()}
    assert_allclose(_sandwich._weighted_lags(u, w, kernel), want, **tol)  # type: ignore[arg-type]
    assert_allclose(_sandwich._weighted_lags(u, w), want, **tol)  # the weights as given
    assert_allclose(_sandwich._weighted_lags(np.asfortranarray(u), w), want, **tol)


def test_lag_products_without_numba_are_the_compiled_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    u = rng.normal(size=(25_000, 4))
    w = _sandwich.kernel_weights(51, "bartlett")
    compiled = _sandwich._weighted_lags(u, w, "bartlett")
    monkeypatch.setattr(_sandwich, "_lag_kernel", lambda: None)
    assert_allclose(_sandwich._weighted_lags(u, w, "bartlett"), compiled, rtol=1e-13, atol=1e-11)


def test_large_hac_meat_chunked_equals_whole() -> None:
    # batches of a streamed fit (compiled, running sums) merged == the whole block
    rng = np.random.default_rng(4)
    u = rng.normal(size=(70_000, 3))
    whole = core.HACMeat.from_scores(u, 51)
    acc = core.HACMeat.empty(3, 51)
    for a, b in _cuts(70_000, [20_000, 20_030, 45_000]):
        acc = acc.update(u[a:b])
    assert_allclose(acc.S, whole.S, rtol=1e-12, atol=1e-12 * np.abs(whole.S).max())


@pytest.mark.parametrize("n", [1, 7, 500])
def test_crossed_groups_are_those_of_the_pairs_bit_for_bit(n: int) -> None:
    # two-way clustering's intersection groups from the two factorized groupings, against
    # the group sums of the pairs' MultiIndex (labels, order and sums)
    rng = np.random.default_rng(n)
    firm = pd.Index(rng.integers(0, 9, n))
    year = pd.Index(rng.choice(["y1", "y2", "y3"], n))
    u = rng.normal(size=(n, 3))
    want = core.ClusterMeat.from_scores(u, pd.MultiIndex.from_arrays([firm, year]))
    got = core.ClusterMeat.crossed(u, _sandwich._factorize(firm), _sandwich._factorize(year))
    assert list(got.groups) == list(want.groups)
    np.testing.assert_array_equal(got.sums, want.sums)
    assert got.nobs == want.nobs == n


@settings(max_examples=25, deadline=None)
@given(
    maxlags=st.sampled_from([8, 20, 70]),
    points=st.lists(st.integers(1, 299), max_size=8),
)
def test_hac_meat_of_many_lags_chunked_equals_whole(maxlags: int, points: list[int]) -> None:
    rng = np.random.default_rng(maxlags + len(points))
    u = rng.normal(size=(300, 3))
    whole = core.HACMeat.from_scores(u, maxlags)
    acc = core.HACMeat.empty(3, maxlags)
    for a, b in _cuts(300, points):
        acc = acc.update(u[a:b])
    assert_allclose(acc.S, whole.S, rtol=1e-12, atol=1e-12 * np.abs(whole.S).max())


def test_hac_meat_is_the_definition() -> None:
    """S = sum_t sum_s k_|t-s| u_t u_s^T over |t - s| <= L, by a double loop."""
    rng = np.random.default_rng(3)
    u = rng.normal(size=(12, 2))
    L = 3
    w = 1.0 - np.arange(L + 1) / (L + 1)
    S = np.zeros((2, 2))
    for t in range(12):
        for s in range(12):
            if abs(t - s) <= L:
                S += w[abs(t - s)] * np.outer(u[t], u[s])
    assert_allclose(core.HACMeat.from_scores(u, L).S, S, rtol=1e-13, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.integers(1, 59), max_size=8), reverse=st.booleans())
def test_cluster_meat_chunked_equals_whole(points: list[int], reverse: bool) -> None:
    rng = np.random.default_rng(len(points))
    u = rng.normal(size=(60, 3))
    labels = pd.Index(rng.choice(["a", "b", "c", "d", "e"], 60))
    whole = core.ClusterMeat.from_scores(u, labels)
    pieces = [core.ClusterMeat.from_scores(u[a:b], labels[a:b]) for a, b in _cuts(60, points)]
    if reverse:
        pieces = pieces[::-1]  # clusters do not care about order
    acc = pieces[0]
    for p in pieces[1:]:
        acc = acc.merge(p)
    assert acc.n_groups == whole.n_groups
    assert acc.nobs == 60
    assert_allclose(acc.meat, whole.meat, rtol=1e-12, atol=1e-12)


def test_two_way_from_batched_meats_equals_in_memory() -> None:
    """The streamed wing's path: per-batch group sums (each grouping and their
    intersection), merged, then ``cluster_cov_from_meats``."""
    rng = np.random.default_rng(8)
    n = 150
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "firm": rng.integers(0, 15, n),
            "year": rng.choice(["y1", "y2", "y3", "y4"], n),
        }
    )
    frame["y"] = frame["x"] + rng.normal(size=n)
    fit = duolm.ols("y ~ x", frame)
    u = scores(fit)
    g0 = pd.Index(frame["firm"].to_numpy())
    g1 = pd.Index(frame["year"].to_numpy())
    g01 = pd.MultiIndex.from_arrays([g0, g1])
    accs = [core.ClusterMeat.from_scores(u[:0], g[:0]) for g in (g0, g1, g01)]
    for a, b in _cuts(n, [20, 21, 90, 149]):
        accs = [acc.update(u[a:b], g[a:b]) for acc, g in zip(accs, (g0, g1, g01), strict=True)]
    parts = [(1.0, accs[0]), (1.0, accs[1]), (-1.0, accs[2])]
    cov = cluster_cov_from_meats(fit, parts, fit.stat.rinv())
    expected = fit.with_cov_type("cluster", {"groups": frame[["firm", "year"]]}).cov_params()
    assert_allclose(cov, expected.to_numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("n", [0, 1, 7, 500])
def test_intersection_groups_are_pandas_factorize_of_the_pairs(n: int) -> None:
    # the MultiIndex's own level codes and the first row of each group, against pandas'
    # factorize of the pairs themselves (slow: it builds the tuples)
    rng = np.random.default_rng(n)
    firm = rng.integers(0, 9, n)
    year = rng.choice(["y1", "y2", "y3"], n)
    both = pd.MultiIndex.from_arrays([pd.Index(firm), pd.Index(year)])
    codes, uniques = _sandwich._factorize(both)
    want_codes, want_uniques = both.factorize()
    np.testing.assert_array_equal(codes, want_codes)
    assert list(uniques) == list(want_uniques)


def test_compiled_group_sums_are_the_bincounts_bit_for_bit() -> None:
    rng = np.random.default_rng(12)
    n = 2 * _sandwich._GROUP_KERNEL_MIN_ROWS  # the compiled pass
    codes = rng.integers(0, 700, n).astype(np.intp)
    u = rng.normal(size=(n, 5)) * 10.0 ** rng.uniform(-5, 5, size=(n, 1))
    want = np.stack([np.bincount(codes, weights=u[:, j], minlength=703) for j in range(5)], 1)
    np.testing.assert_array_equal(_sandwich._group_sums(codes, u, 703), want)
    np.testing.assert_array_equal(_sandwich._group_sums(codes, np.asfortranarray(u), 703), want)
