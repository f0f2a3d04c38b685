"""``bayes`` of a formula of plain numeric columns of a large frame reads the frame's columns.

As the OLS fit does (issue 13), the refined posterior takes the data's Gram matrix
from the design's compiled scan of the frame's own columns and its residual
sweeps from those columns, and stacks the prior's factor above them without a
copy of X (``duolm.core.lstsq(..., above=)``). The posterior must be that of the
same matrix given as ``X=`` to rounding, under every kind of prior, and X is never
built.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import duolm
from duolm import NIG
from duolm.core import Columns, _sweep

N = _sweep.KERNEL_MIN_ROWS + 1_234
NAMES = ["x1", "x2", "x3", "x4"]
FORMULA = "y ~ " + " + ".join(NAMES)


def _frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, 4)) * [1.0, 3.0, 0.2, 5.0] + [0.0, 2.0, -1.0, 10.0]
    frame = pd.DataFrame(x, columns=NAMES)
    frame["y"] = 2.0 + x @ [0.5, -0.3, 4.0, 0.1] + rng.standard_normal(N)
    return frame


PRIORS = {
    "vague": NIG.vague(5),
    "reference": NIG.reference(5),
    "informative": NIG(m=[1.0, 0.4, 0.0, 3.0, 0.0], V=np.diag([4.0, 1.0, 1.0, 0.5, 2.0]), a=3, b=2),
    "g-prior": "empirical",
}


@pytest.mark.parametrize("name", list(PRIORS))
def test_posterior_from_the_columns_is_that_of_the_matrix(name: str) -> None:
    frame = _frame(7)
    prior = PRIORS[name]
    fit = duolm.bayes(FORMULA, frame, prior=prior)
    assert fit.design is not None and isinstance(fit.design.matrix, Columns)
    str(fit.summary())
    assert "array" not in fit.design.matrix.__dict__  # X never built
    X = np.column_stack([np.ones(N), frame[NAMES].to_numpy()])
    arrays = duolm.bayes(X=X, y=frame["y"].to_numpy(), prior=prior)
    got, want = fit.posterior, arrays.posterior
    assert_allclose(got.m, want.m, rtol=1e-12, atol=1e-14)
    assert_allclose(got.V, want.V, rtol=1e-11, atol=1e-15 * np.abs(want.V).max())
    assert_allclose([got.a, got.b], [want.a, want.b], rtol=1e-12, atol=0)
    assert_allclose(fit.bse.to_numpy(), arrays.bse.to_numpy(), rtol=1e-11, atol=0)
    assert_allclose(
        fit.credible_interval().to_numpy(), arrays.credible_interval().to_numpy(), rtol=1e-11
    )
    if name in ("vague", "informative"):  # proper priors: the others have no evidence
        assert_allclose(fit.log_evidence, arrays.log_evidence, rtol=1e-12, atol=0)


def test_reference_posterior_of_the_columns_is_the_ols_fit() -> None:
    frame = _frame(8)
    fit = duolm.bayes(FORMULA, frame, prior=NIG.reference(5))
    ols = duolm.ols(FORMULA, frame)
    assert np.array_equal(fit.params.to_numpy(), ols.params.to_numpy())
    lo = fit.credible_interval().to_numpy()
    assert_allclose(lo, ols.conf_int().to_numpy(), rtol=1e-12, atol=0)


def test_informative_posterior_of_the_columns_is_the_householder_stack() -> None:
    # the Gram route of the stacked system against Householder QR with refinement of the
    # stacked copy (the path of small data), which is accurate to the last bits
    from duolm.core import _solver

    frame = _frame(9)
    prior = PRIORS["informative"]
    assert isinstance(prior, NIG)
    post = duolm.bayes(FORMULA, frame, prior=prior).posterior
    X = np.column_stack([np.ones(N), frame[NAMES].to_numpy()])
    R0 = prior.stat.R
    stacked = np.vstack([R0[:5, :5], X])
    response = np.concatenate([R0[:5, 5], frame["y"]])
    exact = _solver._lstsq_householder(stacked, response, tol=1e-10, cov=True)
    assert_allclose(post.m, exact.params, rtol=1e-13, atol=1e-15)
    assert exact.cov is not None
    assert_allclose(post.V, exact.cov, rtol=1e-11, atol=1e-15 * np.abs(exact.cov).max())
