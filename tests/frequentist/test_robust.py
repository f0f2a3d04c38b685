"""HAC and cluster-robust covariances against statsmodels, and their accumulators:
chunked == whole, merged in any grouping."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import duolm
from duolm import _wip_robust as robust
from duolm.errors import DataError

RTOL = 1e-10
FORMULA = "y ~ x1 + x2"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 150
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n).cumsum() / 4,
            "firm": rng.integers(0, 15, n),
            "year": rng.choice(["y1", "y2", "y3", "y4", "y5", "y6"], n),
        }
    )
    e = np.convolve(rng.normal(size=n + 3), [1.0, 0.6, 0.3, 0.1], "valid")
    df["y"] = 1.0 + df["x1"] - 0.5 * df["x2"] + e * (1 + 0.5 * np.abs(df["x1"]))
    return df


@pytest.fixture(scope="module")
def fit(frame: pd.DataFrame) -> duolm.OLSResults:
    return duolm.ols(FORMULA, frame)


@pytest.mark.parametrize("maxlags", [0, 1, 3, 9])
@pytest.mark.parametrize("kernel", ["bartlett", "uniform"])
@pytest.mark.parametrize("use_correction", [False, True])
def test_hac_matches_statsmodels(
    frame: pd.DataFrame, fit: duolm.OLSResults, maxlags: int, kernel: str, use_correction: bool
) -> None:
    kw = {"maxlags": maxlags, "kernel": kernel, "use_correction": use_correction}
    ref = smf.ols(FORMULA, frame).fit(cov_type="HAC", cov_kwds=kw)
    assert_allclose(
        robust.robust_cov(fit, "HAC", kw), ref.cov_params().to_numpy(), rtol=RTOL, atol=0
    )


def test_hac_with_no_lags_is_hc0(fit: duolm.OLSResults) -> None:
    hc0 = fit.with_cov_type("HC0").cov_params().to_numpy()
    assert_allclose(robust.hac_cov(fit, maxlags=0), hc0, rtol=1e-12, atol=0)


def test_hac_default_maxlags(frame: pd.DataFrame, fit: duolm.OLSResults) -> None:
    assert robust.default_maxlags(150) == 4  # floor(4 * 1.5^(2/9)) = floor(4.38)
    assert robust.default_maxlags(100) == 4
    assert robust.default_maxlags(1000) == 6
    ref = smf.ols(FORMULA, frame).fit(cov_type="HAC", cov_kwds={"maxlags": 4})
    assert_allclose(robust.hac_cov(fit), ref.cov_params().to_numpy(), rtol=RTOL, atol=0)


@pytest.mark.parametrize("use_correction", [True, False])
def test_one_way_cluster_matches_statsmodels(
    frame: pd.DataFrame, fit: duolm.OLSResults, use_correction: bool
) -> None:
    kw = {"groups": frame["firm"], "use_correction": use_correction}
    ref = smf.ols(FORMULA, frame).fit(cov_type="cluster", cov_kwds=kw)
    assert_allclose(
        robust.robust_cov(fit, "cluster", kw), ref.cov_params().to_numpy(), rtol=RTOL, atol=0
    )


def test_cluster_labels_of_any_kind(frame: pd.DataFrame, fit: duolm.OLSResults) -> None:
    codes = pd.factorize(frame["year"])[0]
    ref = smf.ols(FORMULA, frame).fit(cov_type="cluster", cov_kwds={"groups": codes})
    assert_allclose(
        robust.cluster_cov(fit, frame["year"].to_numpy()),
        ref.cov_params().to_numpy(),
        rtol=RTOL,
        atol=0,
    )


@pytest.mark.parametrize("use_correction", [True, False])
def test_two_way_cluster_matches_statsmodels(
    frame: pd.DataFrame, fit: duolm.OLSResults, use_correction: bool
) -> None:
    both = np.column_stack([frame["firm"].to_numpy(), pd.factorize(frame["year"])[0]])
    ref = smf.ols(FORMULA, frame).fit(
        cov_type="cluster", cov_kwds={"groups": both, "use_correction": use_correction}
    )
    expected = ref.cov_params().to_numpy()
    for groups in (frame[["firm", "year"]], (frame["firm"], frame["year"]), both):
        assert_allclose(
            robust.cluster_cov(fit, groups, use_correction), expected, rtol=RTOL, atol=0
        )


def test_cluster_groups_aligned_on_dropped_rows(frame: pd.DataFrame) -> None:
    data = frame.copy()
    data.loc[[3, 40], "x1"] = np.nan  # dropped by the fit
    fit = duolm.ols(FORMULA, data)
    kept = data.dropna()
    ref = smf.ols(FORMULA, kept).fit(cov_type="cluster", cov_kwds={"groups": kept["firm"]})
    # a Series for all 150 rows is aligned on the 148 fitted rows by index
    assert_allclose(
        robust.cluster_cov(fit, data["firm"]), ref.cov_params().to_numpy(), rtol=RTOL, atol=0
    )


def test_bad_cluster_input_is_named(frame: pd.DataFrame, fit: duolm.OLSResults) -> None:
    labels = frame["firm"].to_numpy(dtype=float, copy=True)
    labels[17] = np.nan
    with pytest.raises(DataError, match="groups is missing at row 17"):
        robust.cluster_cov(fit, labels)
    with pytest.raises(DataError, match="one label per fitted row"):
        robust.cluster_cov(fit, np.arange(10))
    with pytest.raises(DataError, match="at least 2 groups"):
        robust.cluster_cov(fit, np.zeros(len(frame)))
    with pytest.raises(ValueError, match="unknown"):
        robust.robust_cov(fit, "HAC", {"lags": 3})
    with pytest.raises(ValueError, match="maxlags"):
        robust.robust_cov(fit, "HAC", {"maxlags": -1})
    with pytest.raises(ValueError, match="kernel"):
        robust.robust_cov(fit, "HAC", {"maxlags": 1, "kernel": "parzen"})
    with pytest.raises(ValueError, match="groups"):
        robust.robust_cov(fit, "cluster", {})


# -- accumulators ------------------------------------------------------------------
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
    whole = robust.HACMeat.from_scores(u, maxlags, kernel)  # type: ignore[arg-type]
    acc = robust.HACMeat.empty(3, maxlags, kernel)  # type: ignore[arg-type]
    pieces = []
    for a, b in _cuts(40, points):
        acc = acc.update(u[a:b])
        pieces.append(robust.HACMeat.from_scores(u[a:b], maxlags, kernel))  # type: ignore[arg-type]
    assert acc.nobs == 40
    assert_allclose(acc.S, whole.S, rtol=1e-12, atol=1e-12)
    # merged as a balanced tree (how Dask partitions combine)
    while len(pieces) > 1:
        pieces = [
            pieces[i].merge(pieces[i + 1]) if i + 1 < len(pieces) else pieces[i]
            for i in range(0, len(pieces), 2)
        ]
    assert_allclose(pieces[0].S, whole.S, rtol=1e-12, atol=1e-12)


def test_hac_meat_is_the_definition() -> None:
    """S = sum_t sum_s w_|t-s| u_t u_s^T over |t - s| <= L, by a double loop."""
    rng = np.random.default_rng(3)
    u = rng.normal(size=(12, 2))
    L = 3
    w = 1.0 - np.arange(L + 1) / (L + 1)
    S = np.zeros((2, 2))
    for t in range(12):
        for s in range(12):
            if abs(t - s) <= L:
                S += w[abs(t - s)] * np.outer(u[t], u[s])
    assert_allclose(robust.HACMeat.from_scores(u, L).S, S, rtol=1e-13, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.integers(1, 59), max_size=8), shuffle=st.booleans())
def test_cluster_meat_chunked_equals_whole(points: list[int], shuffle: bool) -> None:
    rng = np.random.default_rng(len(points))
    u = rng.normal(size=(60, 3))
    labels = pd.Index(rng.choice(["a", "b", "c", "d", "e"], 60))
    whole = robust.ClusterMeat.from_scores(u, labels)
    pieces = [robust.ClusterMeat.from_scores(u[a:b], labels[a:b]) for a, b in _cuts(60, points)]
    if shuffle:
        pieces = pieces[::-1]  # clusters do not care about order
    acc = pieces[0]
    for p in pieces[1:]:
        acc = acc.merge(p)
    assert acc.n_groups == whole.n_groups
    assert acc.nobs == 60
    assert_allclose(acc.meat, whole.meat, rtol=1e-12, atol=1e-12)


def test_two_way_from_streamed_meats_equals_in_memory(
    frame: pd.DataFrame, fit: duolm.OLSResults
) -> None:
    """The streamed wing's path: per-batch group sums (one-way twice and the
    intersection), merged, then ``cluster_cov_from_meats``."""
    u = robust.scores(fit)
    g0 = pd.Index(frame["firm"].to_numpy())
    g1 = pd.Index(frame["year"].to_numpy())
    g01 = pd.MultiIndex.from_arrays([g0, g1])
    accs = [robust.ClusterMeat.from_scores(u[:0], g[:0]) for g in (g0, g1, g01)]
    for a, b in _cuts(len(frame), [20, 21, 90, 149]):
        accs = [acc.update(u[a:b], g[a:b]) for acc, g in zip(accs, (g0, g1, g01), strict=True)]
    cov = robust.cluster_cov_from_meats(fit, [(1.0, accs[0]), (1.0, accs[1]), (-1.0, accs[2])])
    assert_allclose(cov, robust.cluster_cov(fit, frame[["firm", "year"]]), rtol=1e-12, atol=0)


# -- R's sandwich and Petersen's published cluster standard errors ------------------------
def test_hac_against_r_sandwich_newey_west() -> None:
    """``NeweyWest(fm, lag = 4, prewhite = FALSE, adjust = FALSE / TRUE)`` on statsmodels'
    macrodata growth rates, as stored in statsmodels' stats/tests/test_sandwich.py."""
    d = sm.datasets.macrodata.load_pandas().data
    data = pd.DataFrame(
        {
            "ginv": 400 * np.diff(np.log(d["realinv"].to_numpy())),
            "ggdp": 400 * np.diff(np.log(d["realgdp"].to_numpy())),
            "lint": d["realint"].to_numpy()[:-1],
        }
    )
    fit = duolm.ols("ginv ~ ggdp + lint", data)
    adjust_false = [
        [+1.3855512908840137, -0.313309610252268500, -0.059720797683570477],
        [-0.3133096102522685, +0.108101169035130618, +0.000389440793564339],
        [-0.0597207976835705, +0.000389440793564336, +0.086211852740503622],
    ]
    adjust_true = [
        [+1.40643899878678802, -0.3180328707083329709, -0.060621111216488610],
        [-0.31803287070833292, 0.1097308348999818661, +0.000395311760301478],
        [-0.06062111121648865, 0.0003953117603014895, +0.087511528912470993],
    ]
    assert_allclose(robust.hac_cov(fit, 4), adjust_false, rtol=1e-10, atol=0)
    assert_allclose(robust.hac_cov(fit, 4, use_correction=True), adjust_true, rtol=1e-10, atol=0)
    assert robust.default_maxlags(fit.nobs) == 4  # R's "Lag truncation parameter chosen: 4"


def test_cluster_against_petersen() -> None:
    """Petersen's test data (5,000 firm-years) and his published standard errors:
    clustered by firm 0.0670, 0.0506; by year 0.0234, 0.0334; by both 0.0651, 0.0536.
    The data file ships with statsmodels (stats/tests/test_data.txt)."""
    path = Path(sm.__file__).parent / "stats" / "tests" / "test_data.txt"
    pet = pd.read_csv(path, sep=r"\s+", header=None, names=["firm", "year", "x", "y"])
    fit = duolm.ols("y ~ x", pet)
    for groups, expected in [
        (pet["firm"], [0.0670, 0.0506]),
        (pet["year"], [0.0234, 0.0334]),
        (pet[["firm", "year"]], [0.0651, 0.0536]),
    ]:
        se = np.sqrt(np.diag(robust.cluster_cov(fit, groups)))
        assert_allclose(se, expected, rtol=0, atol=5e-5)
