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
from duolm._wip_changepoints import Changepoints, changepoints
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
    return float(stats.multivariate_t(loc=X @ m0, shape=shape, df=2 * a0).logpdf(y))


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
