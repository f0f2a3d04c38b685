"""core.LagProducts and core.ScoreMeats: pieces merged in row order == the whole, and the
definitions by brute force (sums over pairs of rows)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from duolm import core


def _pieces(n: int, points: list[int]) -> list[tuple[int, int]]:
    edges = [0, *sorted({p for p in points if 0 < p < n}), n]
    return list(itertools.pairwise(edges))


def test_lag_products_are_the_definition() -> None:
    u = np.random.default_rng(0).normal(size=(23, 3))
    lp = core.LagProducts.of(u, 5)
    for lag in range(6):
        brute = sum(np.outer(u[t], u[t - lag]) for t in range(lag, 23))
        assert_allclose(lp.G[lag], brute, rtol=1e-13, atol=1e-13)
    assert_allclose(lp.sums, u.sum(axis=0), rtol=1e-13)
    assert_allclose(lp.head, u[:5], rtol=0)
    assert_allclose(lp.tail, u[-5:], rtol=0)


@settings(max_examples=50, deadline=None)
@given(maxlags=st.integers(0, 7), points=st.lists(st.integers(1, 29), max_size=10))
def test_lag_products_in_pieces_equal_the_whole(maxlags: int, points: list[int]) -> None:
    u = np.random.default_rng(maxlags + 10 * len(points)).normal(size=(30, 2))
    whole = core.LagProducts.of(u, maxlags)
    pieces = [core.LagProducts.of(u[a:b], maxlags) for a, b in _pieces(30, points)]
    seq = pieces[0]
    for piece in pieces[1:]:  # one after another, as a stream
        seq = seq.merge(piece)
    while len(pieces) > 1:  # a balanced tree, as Dask partitions
        pieces = [
            pieces[i].merge(pieces[i + 1]) if i + 1 < len(pieces) else pieces[i]
            for i in range(0, len(pieces), 2)
        ]
    for got in (seq, pieces[0]):
        assert got.nobs == 30
        assert_allclose(got.G, whole.G, rtol=1e-12, atol=1e-12)
        assert_allclose(got.head, whole.head, rtol=0)
        assert_allclose(got.tail, whole.tail, rtol=0)


def test_score_meats_in_pieces_equal_the_whole() -> None:
    rng = np.random.default_rng(3)
    u = rng.normal(size=(40, 3))
    firm = pd.Index(rng.choice(["a", "b", "c", "d"], 40))
    year = pd.Index(rng.integers(0, 3, 40))
    spec = core.ScoreSpec(hac=True, maxlags=4, groups=("firm", "year"))
    whole = spec.empty(3).update(u, (firm, year))
    acc = spec.empty(3)
    for a, b in _pieces(40, [3, 4, 17, 30]):
        acc = acc.merge(spec.empty(3).update(u[a:b], (firm[a:b], year[a:b])))
    assert acc.hac is not None and whole.hac is not None
    assert_allclose(acc.hac.S, core.HACMeat.from_scores(u, 4).S, rtol=1e-12)
    assert acc.clusters is not None and whole.clusters is not None
    both = pd.MultiIndex.from_arrays([firm, year])
    for got, labels in zip(acc.clusters, (firm, year, both), strict=True):
        ref = core.ClusterMeat.from_scores(u, labels)
        assert got.n_groups == ref.n_groups == len(labels.unique())
        assert_allclose(got.meat, ref.meat, rtol=1e-12)
        # group by group, whatever the order the groups were first seen in
        for g, row in zip(got.groups, got.sums, strict=True):
            mask = np.array([label == g for label in labels])
            assert_allclose(row, u[mask].sum(axis=0), rtol=1e-12, atol=1e-14)
