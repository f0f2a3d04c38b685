"""Magnitudes near the bottom of float64 (issue 14, item 3).

Data near 1e-163 gave zero standard errors, infinite t and R² NaN: the squares of the
response underflowed while the estimates stayed exact. A response that small is refused
on every path with the exact power of two to rescale by; tiny regressors with an ordinary
response keep their full inference (their columns' norms are taken scaled).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm.errors import DataError


def _data(scale_x: float, scale_y: float) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = 1 + 2 * x + rng.normal(size=40)
    return pd.DataFrame({"x": x * scale_x, "y": y * scale_y})


@pytest.mark.parametrize("scale", [1e-163, 1e-200, 1e-300])
def test_a_response_below_the_squares_range_is_refused_everywhere(
    scale: float, tmp_path: Path
) -> None:
    frame = _data(scale, scale)
    path = tmp_path / "tiny.csv"
    frame.to_csv(path, index=False)
    fits = {
        "memory": lambda: duolm.ols("y ~ x", frame),
        "arrays": lambda: duolm.ols(X=np.column_stack([np.ones(40), frame.x]), y=frame.y),
        "file": lambda: duolm.ols("y ~ x", path, batch_size=16),
        "bayes": lambda: duolm.bayes("y ~ x", frame, prior=duolm.NIG.reference(2)),
        "bayes file": lambda: duolm.bayes("y ~ x", path, prior=duolm.NIG.reference(2)),
    }
    for fit in fits.values():  # memory, arrays, file, Bayes, Bayes from a file
        with pytest.raises(DataError, match=r"response is too small.*multiply y by 2\*\*\d+"):
            fit()


def test_the_advised_power_of_two_gives_the_exact_inference() -> None:
    frame = _data(1e-163, 1e-163)
    with pytest.raises(DataError) as info:
        duolm.ols("y ~ x", frame)
    power = int(str(info.value).split("2**")[1].split()[0])
    rescaled = frame.assign(x=frame.x * 2.0**power, y=frame.y * 2.0**power)
    reference = duolm.ols("y ~ x", _data(1.0, 1.0))
    fit = duolm.ols("y ~ x", rescaled)
    np.testing.assert_allclose(fit.tvalues, reference.tvalues, rtol=1e-12, atol=0)
    np.testing.assert_allclose(fit.rsquared, reference.rsquared, rtol=1e-12, atol=0)


@pytest.mark.parametrize("scale", [1e-200, 1e-163, 1e200])
def test_tiny_or_huge_regressors_keep_their_inference(scale: float) -> None:
    reference = duolm.ols("y ~ x", _data(1.0, 1.0))
    fit = duolm.ols("y ~ x", _data(scale, 1.0))
    np.testing.assert_allclose(fit.bse["x"] * scale, reference.bse["x"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(fit.tvalues, reference.tvalues, rtol=1e-12, atol=0)
    np.testing.assert_allclose(fit.rsquared, reference.rsquared, rtol=1e-12, atol=0)
    np.testing.assert_allclose(
        fit.scaled_condition_number, reference.scaled_condition_number, rtol=1e-10, atol=0
    )
    assert fit.aliased == ()


@pytest.mark.parametrize("scale", [1e-160, 1e165])
def test_contrasts_of_a_column_beyond_the_squares_range_keep_their_inference(
    scale: float,
) -> None:
    """A column near 1e-160 has a variance near 1e320: cov_params is inf there, and every
    test read from it came out wrong (t_test t = 0, f_test and the robust F NaN, HAC
    and cluster t 0 or inf, anova F 0 and NaN, DFBETAS 0). They are read from the
    covariance scaled by powers of two, and equal those of the unscaled column."""
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    n = 30
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = 1 + 2 * x1 - x2 + rng.normal(size=n)
    X = np.c_[np.ones(n), x1, x2]
    ref = sm.OLS(y, X).fit()
    fit = duolm.ols(X=np.c_[np.ones(n), x1 * scale, x2], y=y)
    plain = duolm.ols(X=X, y=y)
    tol = {"rtol": 1e-10, "atol": 0}
    np.testing.assert_allclose(fit.t_test("x1 = 0").t, ref.t_test([0, 1, 0]).tvalue[0], **tol)
    np.testing.assert_allclose(fit.f_test("x2 = 0").fvalue, ref.f_test([0, 0, 1]).fvalue, **tol)
    for cov_type, kwds in [
        ("HC1", None),
        ("HAC", {"maxlags": 2}),
        ("cluster", {"groups": np.arange(n) % 5}),
    ]:
        got, want = fit.with_cov_type(cov_type, kwds), plain.with_cov_type(cov_type, kwds)
        np.testing.assert_allclose(got.tvalues, want.tvalues, **tol)
        np.testing.assert_allclose(got.fvalue, want.fvalue, **tol)
    np.testing.assert_allclose(
        duolm.anova(fit, typ=2)["F"].iloc[:2], duolm.anova(plain, typ=2)["F"].iloc[:2], **tol
    )
    np.testing.assert_allclose(fit.influence()["dfb_x1"], plain.influence()["dfb_x1"], **tol)
    assert np.isinf(fit.cov_params().iloc[1, 1]) == (scale < 1)  # beyond float64: inf
