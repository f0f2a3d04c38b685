"""Bayesian online changepoint detection (Adams & MacKay 2007) for regressions.

References: with ``tol=0`` the recursion is exact, so it is held to a brute force
that enumerates every segmentation of a short series under the product partition
prior (a boundary before each row after the first with probability ``hazard``),
each segment's evidence the NIG's multivariate Student t marginal of its rows,
computed by scipy (``y ~ t_{2 a0}(X m0, (b0/a0)(I + X V0 X^T))``, Banerjee's
"Bayesian linear model: gory details"), not by duolm.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import duolm
from duolm import Changepoints, changepoints
from duolm.core import runlength_recursion as recursion
from duolm.core._runlength import _lgamma_half, _lgamma_half_array
from duolm.errors import DataError, PriorError


@pytest.fixture(autouse=True)
def _no_figure_left_open() -> Iterator[None]:
    yield
    leaked = plt.get_fignums()
    plt.close("all")
    assert leaked == [], "a test left figures open"


# -- the brute-force reference ------------------------------------------------------


def _segment_logev(X: np.ndarray, y: np.ndarray, prior: duolm.NIG) -> float:
    """log p(y | X) under the NIG prior: a multivariate Student t, by scipy."""
    m0, V0, a0, b0 = prior.m, prior.V, prior.a, prior.b
    shape = (b0 / a0) * (np.eye(len(y)) + X @ V0 @ X.T)
    return float(stats.multivariate_t(loc=X @ m0, shape=shape, df=2 * a0).logpdf(y))  # type: ignore[arg-type]


class BruteForce:
    """Every segmentation of rows 0..s-1 enumerated, for each s."""

    def __init__(self, X: np.ndarray, y: np.ndarray, prior: duolm.NIG, hazard: float) -> None:
        self.n = len(y)
        self.ev = {
            (i, j): _segment_logev(X[i:j], y[i:j], prior)
            for i in range(self.n)
            for j in range(i + 1, self.n + 1)
        }
        self.h = hazard

    def segmentations(self, s: int) -> Iterator[tuple[tuple[int, ...], float]]:
        """(starts, log joint) of each segmentation of rows 0..s-1."""
        for bits in itertools.product((0, 1), repeat=s - 1):
            starts = (0, *(i + 1 for i, b in enumerate(bits) if b))
            c = len(starts) - 1
            logp = c * math.log(self.h) + (s - 1 - c) * math.log1p(-self.h)
            for a, b in zip(starts, (*starts[1:], s), strict=True):
                logp += self.ev[(a, b)]
            yield starts, logp

    def log_evidence(self, s: int) -> float:
        return float(special.logsumexp([lp for _, lp in self.segmentations(s)]))

    def runlength(self, s: int) -> np.ndarray:
        """P(r = rows of the last segment | rows 0..s-1), r = 0..s."""
        out = np.zeros(s + 1)
        z = self.log_evidence(s)
        for starts, lp in self.segmentations(s):
            out[s - starts[-1]] += math.exp(lp - z)
        return out

    def change(self, t: int, s: int) -> float:
        """P(a segment starts at row t | rows 0..s-1)."""
        z = self.log_evidence(s)
        return sum(math.exp(lp - z) for starts, lp in self.segmentations(s) if t in starts)

    def map_starts(self) -> tuple[tuple[int, ...], float]:
        best = max(self.segmentations(self.n), key=lambda pair: pair[1])
        return best


def _short_series(seed: int, n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    beta = np.where(np.arange(n) < n // 2, 0.5, -1.0)
    y = 0.3 + beta * x + np.where(np.arange(n) < n // 2, 0.0, 1.5) + 0.3 * rng.normal(size=n)
    return np.column_stack([np.ones(n), x]), y


PRIOR = duolm.NIG(np.array([0.0, 0.0]), np.diag([4.0, 2.0]), a=2.0, b=0.5)


@pytest.mark.parametrize(("seed", "hazard", "lag"), [(1, 0.2, 3), (2, 0.05, 0), (3, 0.5, 20)])
def test_exact_recursion_equals_every_segmentation_enumerated(
    seed: int, hazard: float, lag: int
) -> None:
    X, y = _short_series(seed)
    n = len(y)
    ref = BruteForce(X, y, PRIOR, hazard)
    cp = changepoints(X=X, y=y, hazard=hazard, prior=PRIOR, tol=0, lag=lag, keep=0)
    post = cp.runlength_posterior()
    for s in range(1, n + 1):
        want = ref.runlength(s)
        got = np.zeros(s + 1)
        got[: min(post.shape[1], s + 1)] = post[s - 1, : s + 1]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
        assert cp.map_run_length[s - 1] == int(np.argmax(want))
    np.testing.assert_allclose(cp.log_evidence, ref.log_evidence(n), rtol=1e-10, atol=0)
    want_change = [0.0] + [ref.change(t, min(t + lag, n - 1) + 1) for t in range(1, n)]
    np.testing.assert_allclose(cp.change_prob, want_change, rtol=0, atol=1e-10)
    starts, _ = ref.map_starts()
    assert cp.boundaries == starts


def test_pruning_keeps_what_matters_and_bounds_memory() -> None:
    X, y = _short_series(4, n=10)
    exact = changepoints(X=X, y=y, hazard=0.1, prior=PRIOR, tol=0, keep=0)
    pruned = changepoints(X=X, y=y, hazard=0.1, prior=PRIOR, tol=1e-3, keep=0)
    np.testing.assert_allclose(
        pruned.runlength_posterior(), exact.runlength_posterior(), rtol=0, atol=1e-2
    )
    assert exact.max_run_lengths == 10
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.normal(size=n)
    long = changepoints(X=np.column_stack([np.ones(n), x]), y=1 + x + rng.normal(size=n))
    assert long.max_run_lengths < 400  # far below the 3000 of the exact recursion


def test_compiled_kernel_and_numpy_path_agree() -> None:
    rng = np.random.default_rng(11)
    n = 400
    x = rng.uniform(0, 10, n)
    y = np.where(np.arange(n) < 200, 1 + 0.5 * x, 4 - 0.3 * x) + rng.normal(0, 1, n)
    Z = np.column_stack([np.ones(n), x, y])
    prior = duolm.NIG.vague(2)
    R0, a0 = np.array(prior.stat.R), prior.a
    for tol, keep in ((1e-10, 1e-6), (0.0, 0.0)):
        fast = recursion(Z, R0, a0, 0.01, tol, 7, keep, compiled=True)
        slow = recursion(Z, R0, a0, 0.01, tol, 7, keep, compiled=False)
        np.testing.assert_array_equal(fast.map_run_length, slow.map_run_length)
        np.testing.assert_allclose(fast.change_prob, slow.change_prob, rtol=0, atol=1e-12)
        np.testing.assert_allclose(fast.log_evidence, slow.log_evidence, rtol=1e-12, atol=0)
        assert fast.boundaries == slow.boundaries
        assert fast.max_runs == slow.max_runs
        np.testing.assert_array_equal(fast.post_ptr, slow.post_ptr)
        for t in range(0, n, 37):  # the same run lengths stored, in the opposite order
            a, b = fast.post_ptr[t], fast.post_ptr[t + 1]
            f, s = np.argsort(fast.post_len[a:b]), np.argsort(slow.post_len[a:b])
            np.testing.assert_array_equal(fast.post_len[a:b][f], slow.post_len[a:b][s])
            np.testing.assert_allclose(
                fast.post_prob[a:b][f], slow.post_prob[a:b][s], rtol=0, atol=1e-12
            )


def test_numpy_path_equals_the_enumeration_too() -> None:
    X, y = _short_series(6)
    ref = BruteForce(X, y, PRIOR, 0.15)
    Z = np.column_stack([X, y])
    run = recursion(Z, np.array(PRIOR.stat.R), PRIOR.a, 0.15, 0.0, 2, 0.0, compiled=False)
    n = len(y)
    np.testing.assert_allclose(run.log_evidence, ref.log_evidence(n), rtol=1e-10, atol=0)
    want = [0.0] + [ref.change(t, min(t + 2, n - 1) + 1) for t in range(1, n)]
    np.testing.assert_allclose(run.change_prob, want, rtol=0, atol=1e-10)
    assert run.boundaries == ref.map_starts()[0]


# -- simulated piecewise regressions and stationary series ---------------------------

TRUE_CHANGES = (150, 260)


def _piecewise(seed: int) -> pd.DataFrame:
    """Three segments: intercept and slope change at rows 150 and 260 (noise sd 1)."""
    rng = np.random.default_rng(seed)
    n = 400
    x = rng.uniform(0, 10, n)
    seg = np.searchsorted(TRUE_CHANGES, np.arange(n), side="right")
    intercept = np.array([1.0, 4.0, 0.0])[seg]
    slope = np.array([0.5, -0.3, 0.8])[seg]
    return pd.DataFrame({"x": x, "y": intercept + slope * x + rng.normal(0, 1.0, n)})


@pytest.mark.parametrize("seed", range(10))
def test_changes_of_a_piecewise_regression_are_found_within_a_few_rows(seed: int) -> None:
    data = _piecewise(seed)
    cp = changepoints("y ~ x", data)
    assert len(cp.changes) == len(TRUE_CHANGES)
    for found, true in zip(cp.changes, TRUE_CHANGES, strict=True):
        assert abs(found - true) <= 3
        near = cp.change_prob[true - 3 : true + 4]
        assert near.sum() > 0.9  # the change is placed, give or take three rows
    # away from the changes nothing is reported
    far = np.ones(len(data), dtype=bool)
    for true in TRUE_CHANGES:
        far[true - 10 : true + 11] = False
    assert cp.change_prob[far].max() < 0.5


def test_no_change_on_a_stationary_series_at_the_stated_rate() -> None:
    # Measured on 200 seeds x 500 rows (hazard 1/250; the default prior and NIG(0, 10 I, 2, 2)):
    # no row with change_prob > 0.5 and no MAP change, so the false-alarm rate per row is
    # below 1e-4. Here 40 seeds x 500 rows = 20,000 rows; at that rate, 2 alarms are allowed.
    alarms = 0
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        x = rng.uniform(0, 10, 500)
        data = {"x": x, "y": 2.0 + 0.5 * x + rng.normal(0, 1.0, 500)}
        prior = None if seed % 2 else duolm.NIG(np.zeros(2), 10 * np.eye(2), a=2.0, b=2.0)
        cp = changepoints("y ~ x", data, prior=prior)
        alarms += int((cp.change_prob > 0.5).sum())
        assert cp.changes == ()
    assert alarms <= 2


# -- the segments, the table, the plot ----------------------------------------------


@pytest.fixture(scope="module")
def piecewise_fit() -> tuple[pd.DataFrame, Changepoints]:
    data = _piecewise(3)
    return data, changepoints("y ~ x", data)


def test_segments_carry_both_readings_of_their_rows(
    piecewise_fit: tuple[pd.DataFrame, Changepoints],
) -> None:
    data, cp = piecewise_fit
    assert [s.start for s in cp.segments] == list(cp.boundaries)
    assert cp.segments[-1].stop == len(data)
    for seg in cp.segments:
        rows = data.iloc[seg.start : seg.stop]
        want = duolm.ols("y ~ x", rows)
        assert seg.ols is not None
        assert seg.ols.terms == ("Intercept", "x")
        np.testing.assert_allclose(seg.ols.params, want.params, rtol=1e-12, atol=0)
        np.testing.assert_allclose(seg.ols.bse, want.bse, rtol=1e-10, atol=0)
        assert seg.ols.rows is not None and seg.ols.rows.index.equals(rows.index)
        bay = duolm.bayes("y ~ x", rows, prior=cp.prior)
        np.testing.assert_allclose(seg.bayes.params, bay.params, rtol=1e-12, atol=0)
        new = pd.DataFrame({"x": [0.0, 5.0]})  # predictions from the formula's spec
        np.testing.assert_allclose(
            seg.ols.predict(new)["mean"], want.predict(new)["mean"], rtol=1e-12, atol=0
        )
    # the true lines: 1 + 0.5 x, 4 - 0.3 x, 0 + 0.8 x
    slopes = [seg.ols.params["x"] for seg in cp.segments if seg.ols is not None]
    np.testing.assert_allclose(slopes, [0.5, -0.3, 0.8], rtol=0, atol=0.15)


def test_table_reads_the_result(piecewise_fit: tuple[pd.DataFrame, Changepoints]) -> None:
    data, cp = piecewise_fit
    table = cp.table
    assert list(table.columns) == ["map_run_length", "change_prob", "segment"]
    assert table.index.equals(data.index)
    assert table["segment"].diff().fillna(0).astype(bool).sum() == len(cp.changes)
    # after a change the MAP run length counts the rows of the new segment (once found)
    t = cp.changes[0] + 40
    assert table["map_run_length"].iloc[t] == t - cp.changes[0] + 1
    post = cp.runlength_posterior()
    assert post.shape[0] == len(data)
    np.testing.assert_array_equal(post.argmax(axis=1), cp.map_run_length)
    assert np.all(post.sum(axis=1) <= 1 + 1e-12) and np.all(post.sum(axis=1) > 0.99)


def test_a_segment_too_short_for_least_squares_has_only_the_bayesian_reading() -> None:
    rng = np.random.default_rng(8)
    x = np.arange(40.0)
    y = np.where(x < 38, 0.1 * x, 50.0) + rng.normal(0, 0.05, 40)
    prior = duolm.NIG(np.zeros(2), np.diag([100.0, 1.0]), a=2.0, b=0.01)
    cp = changepoints("y ~ x", {"x": x, "y": y}, hazard=0.05, prior=prior)
    last = cp.segments[-1]
    assert cp.changes[-1] == 38 and last.nobs == 2
    assert last.ols is None
    assert last.bayes.nobs == 2


def test_plot_draws_the_data_the_segments_and_the_posterior(
    piecewise_fit: tuple[pd.DataFrame, Changepoints],
) -> None:
    data, cp = piecewise_fit
    fig = cp.plot()
    top, bottom = fig.axes[:2]
    lines = top.get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), data["y"].to_numpy())
    for seg, line in zip(cp.segments, lines[1:], strict=False):
        assert seg.ols is not None
        np.testing.assert_allclose(
            np.asarray(line.get_ydata()), seg.ols.fittedvalues, rtol=1e-12, atol=0
        )
    image = bottom.get_images()[0].get_array()
    assert image is not None
    post = cp.runlength_posterior()
    np.testing.assert_array_equal(np.ma.filled(image, 0.0), post.T)
    np.testing.assert_array_equal(bottom.get_lines()[0].get_ydata(), cp.map_run_length)
    plt.close(fig)


# -- input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"hazard": 0.0}, ValueError, "hazard"),
        ({"hazard": 1.0}, ValueError, "hazard"),
        ({"hazard": math.nan}, ValueError, "hazard"),
        ({"hazard": True}, ValueError, "hazard"),
        ({"tol": -1e-3}, ValueError, "tol"),
        ({"tol": 1.0}, ValueError, "tol"),
        ({"lag": -1}, ValueError, "lag"),
        ({"lag": 2.5}, ValueError, "lag"),
        ({"keep": math.nan}, ValueError, "keep"),
        ({"prior": duolm.NIG.vague(3)}, PriorError, "3 coefficient"),
        ({"prior": duolm.NIG.reference(2)}, PriorError, "proper prior"),
        ({"prior": "vague"}, TypeError, "NIG"),
    ],
)
def test_bad_arguments_are_refused_by_name(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        changepoints("y ~ x", {"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 2.5]}, **kwargs)  # type: ignore[arg-type]


def test_bad_rows_are_named() -> None:
    data = {"x": [1.0, math.nan, 3.0, 4.0], "y": [1.0, 2.0, 2.5, 3.0]}
    with pytest.raises(DataError, match=r"'x' at rows 1"):
        changepoints("y ~ x", data)
    assert changepoints("y ~ x", data, missing="drop").index.tolist() == [0, 2, 3]
    with pytest.raises(DataError, match=r"'y' is inf at row 2"):
        changepoints("y ~ x", {"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, math.inf]})
    with pytest.raises(TypeError, match="not both"):
        changepoints("y ~ x", {"x": [1.0], "y": [1.0]}, X=np.ones((1, 1)), y=np.ones(1))


def test_arrays_and_formula_give_the_same_detection() -> None:
    data = _piecewise(4)
    X = np.column_stack([np.ones(len(data)), data["x"]])
    a = changepoints("y ~ x", data)
    b = changepoints(X=X, y=data["y"].to_numpy())
    np.testing.assert_array_equal(a.change_prob, b.change_prob)
    assert a.boundaries == b.boundaries


def test_the_manoeuvring_target_is_found() -> None:
    # A prior in the radar's units: coefficients up to 1e4, 1e2 and 1; sigma near 30.
    prior = duolm.NIG(np.zeros(3), np.diag([1e8, 1e4, 1.0]), a=2.0, b=1800.0)
    found = []
    for seed in range(5):
        data = duolm.datasets.tracking(T=100, manoeuvre_at=50, a_after=-1.0, seed=seed)
        cp = changepoints("height ~ time + I(time**2)", data, prior=prior)
        assert len(cp.changes) == 1
        found.append(cp.changes[0])
        after = cp.segments[1].ols
        assert after is not None and after.params["I(time ** 2)"] < 0  # braking
    # The curvature alone changes (height and velocity are continuous), so the place is
    # known to within sqrt(sigma / |delta a|) ~ 5 rows; the change starts after row 49.
    assert all(abs(f - 50) <= 8 for f in found), found


def test_log_gamma_ratio_of_the_predictive_against_mpmath() -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    a = np.array([1e-3, 0.5, 2.0, 15.999, 16.0, 123.25, 5e5, 1e9])
    want = [float(mpmath.loggamma(mpmath.mpf(v) + 0.5) - mpmath.loggamma(mpmath.mpf(v))) for v in a]
    np.testing.assert_allclose(_lgamma_half_array(a), want, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose([_lgamma_half(float(v)) for v in a], want, rtol=1e-14, atol=1e-15)
