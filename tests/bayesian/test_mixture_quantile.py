"""Quantiles of large Student t mixtures (issue 11, item 2) against brute force.

The reference is the mixture CDF summed over every component with scipy's
``stdtr`` (no table, no pruning): at each quantile returned it must be within
``1e-10 min(q, 1 - q)`` of q, or, where the point mass at zero straddles q,
``F(0-) <= q <= F(0)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import special

import duolm
from duolm.bayesian import _mixture_quantile as mq

QS = np.array([0.025, 0.975, 0.005, 0.6])


def _cdf(
    x: float, loc: np.ndarray, scale: np.ndarray, w: np.ndarray, w0: float, df: float
) -> float:
    return float(np.sum(w * special.stdtr(df, (x - loc) / scale))) + (w0 if x >= 0.0 else 0.0)


def _check(x: np.ndarray, qs: np.ndarray, loc, scale, w, w0: float, df: float) -> None:
    for xi, q in zip(x, qs, strict=True):
        tol = mq.RTOL * min(q, 1.0 - q)
        if xi == 0.0 and w0 > 0.0:
            assert _cdf(-1e-300, loc, scale, w, w0, df) <= q + tol
            assert q - tol <= _cdf(0.0, loc, scale, w, w0, df)
        else:
            assert abs(_cdf(xi, loc, scale, w, w0, df) - q) <= tol, (xi, q)


def _mixture(K: int, w0: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    loc = rng.normal(size=K) * 3.0
    scale = rng.uniform(0.05, 2.0, K)
    w = np.sort(np.exp(rng.normal(size=K) * 5.0))[::-1]
    return loc, scale, w / w.sum() * (1.0 - w0)


CASES = [(1, 9.0, 0.0, 0), (40, 12.0, 0.0, 1), (300, 46.0, 0.35, 2), (200, 3.0, 0.62, 3)]


@pytest.mark.parametrize(("K", "df", "w0", "seed"), [*CASES, (25_000, 30.0, 0.1, 4)])
def test_quantiles_against_the_brute_force_cdf(K: int, df: float, w0: float, seed: int) -> None:
    loc, scale, w = _mixture(K, w0, seed)
    if K >= mq._COARSE_MIN:  # Newton starts from the heaviest 1% of the components' solve
        assert np.searchsorted(np.cumsum(w), 0.99 * w.sum()) + 1 <= K // 2
    x = mq.mixture_quantiles(loc, scale, w, w0, df, QS)
    _check(x, QS, loc, scale, w, w0, df)
    exact = mq.mixture_quantiles(loc, scale, w, w0, df, QS, exact=True)
    _check(exact, QS, loc, scale, w, w0, df)


def test_a_single_component_is_the_t_quantile() -> None:
    x = mq.mixture_quantiles(np.array([2.0]), np.array([0.5]), np.ones(1), 0.0, 7.0, QS)
    assert_allclose(x, 2.0 + 0.5 * special.stdtrit(7.0, QS), rtol=1e-10, atol=0)


def test_pruning_leaves_out_a_bounded_mass_that_would_move_the_cdf() -> None:
    # 100 heavy components near 0, and 40,000 light ones far to the right whose total
    # weight (3e-13) the solver leaves out: the quantile still meets the tolerance
    rng = np.random.default_rng(5)
    heavy, light = 100, 40_000
    loc = np.concatenate([rng.normal(size=heavy), np.full(light, 40.0)])
    scale = np.concatenate([rng.uniform(0.5, 1.5, heavy), np.full(light, 0.1)])
    w = np.concatenate([np.full(heavy, (1.0 - 3e-13) / heavy), np.full(light, 3e-13 / light)])
    df = 40.0
    keep, dropped = mq.prune(w, 2.0 * mq.RTOL * 0.025 / 16.0)
    assert keep == heavy and dropped == pytest.approx(3e-13, rel=1e-6)
    qs = np.array([0.025, 0.975])
    x = mq.mixture_quantiles(loc, scale, w, 0.0, df, qs)
    _check(x, qs, loc, scale, w, 0.0, df)
    # without the compensation (q - d/2) the upper quantile would sit d/2 off: still
    # inside the tolerance here, but the light part does matter at the far right
    assert _cdf(40.0, loc, scale, w, 0.0, df) - _cdf(39.0, loc, scale, w, 0.0, df) > 1e-13


def test_the_table_is_as_accurate_as_its_bound() -> None:
    for df in (3.0, 46.0, 5000.0):
        tab = mq.t_table(df)
        u = np.linspace(-60.0, 60.0, 200_001) + 1e-4
        kern = mq._kernel()
        assert kern is not None
        got = np.empty(u.size)
        for start in range(0, u.size, 20_000):  # one component at a time
            part = u[start : start + 20_000]
            Fk, fk = np.empty(part.size), np.empty(part.size)
            kern(part, np.zeros(1), np.ones(1), np.ones(1), tab.cdf, tab.pdf, tab.h, tab.U, Fk, fk)
            got[start : start + 20_000] = Fk
        assert np.max(np.abs(got - special.stdtr(df, u))) <= tab.bound
        assert tab.bound < 1e-14


def test_bma_intervals_and_predictions_against_brute_force() -> None:
    # eight terms under hyper-g: 256 models x their nodes of g, about 15,000 components
    rng = np.random.default_rng(11)
    n, q = 60, 8
    X = rng.normal(size=(n, q))
    y = 0.4 * X[:, 0] - 0.3 * X[:, 3] + rng.normal(size=n)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(q)]).assign(y=y)
    res = duolm.bma("y ~ " + " + ".join(frame.columns[:-1]), frame, prior="hyper-g")
    mix = res._mixture
    assert mix.weight.size > 10_000
    assert np.all(np.diff(mix.weight) <= 0.0)
    ci = res.credible_interval(0.05)
    for j, name in enumerate(res.terms):
        loc, scale, w, w0 = mix.coefficient(j)
        x = ci.loc[name, ["lower", "upper"]].to_numpy(dtype=float)
        _check(x, np.array([0.025, 0.975]), loc, scale, w, w0, mix.df)
    new = frame.head(2)
    pred = res.predict(new, alpha=0.1)
    D = new[list(frame.columns[:-1])].to_numpy()[:, res.factor.columns - 1] - res.factor.x_mean
    for r in range(2):
        loc, s_mean, s_obs, w = mix.prediction(D[r])
        for scale, cols in ((s_mean, ("mean_ci_lower", "mean_ci_upper")),
                            (s_obs, ("obs_ci_lower", "obs_ci_upper"))):  # fmt: skip
            x = pred.iloc[r][list(cols)].to_numpy(dtype=float)
            _check(x, np.array([0.05, 0.95]), loc, scale, w, 0.0, mix.df)
