"""Essentially perfect fits (issue 14, item 1): no t, F or p value made of rounding errors.

A constant response fitted with a slope gave the slope t = 3.4, p = 0.0013, F = 6e33 and
R² = 1 without a word: numbers that divide rounding errors by rounding errors. The rule
is R's (summary.lm warns "essentially perfect fit" when the residual variance is below
1e-30 of the fitted values' mean square), and the exact answer of such a fit decides
what is shown: every standard error is 0, so t = b / 0 is infinite for a coefficient that
is there and undefined for rounding noise of a zero.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm.errors import PerfectFitWarning


def _constant(n: int = 50, value: float = 3.7) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(1.0, n + 1.0), "y": np.full(n, value)})


@pytest.mark.parametrize("value", [3.7, -1e5, 1e-3])
def test_a_constant_response_has_no_significant_slope(value: float) -> None:
    with pytest.warns(PerfectFitWarning, match="essentially perfect fit"):
        fit = duolm.ols("y ~ x", _constant(value=value))
    assert fit.perfect_fit
    assert math.isnan(fit.tvalues["x"]) and math.isnan(fit.pvalues["x"])
    assert fit.tvalues["Intercept"] == math.copysign(math.inf, value)
    assert fit.pvalues["Intercept"] == 0.0
    assert math.isnan(fit.fvalue) and math.isnan(fit.f_pvalue)
    assert math.isnan(fit.rsquared) and math.isnan(fit.rsquared_adj)
    np.testing.assert_allclose(fit.params["Intercept"], value, rtol=1e-14, atol=0)
    assert "Essentially perfect fit" in str(fit.summary())


def test_every_path_says_the_same(tmp_path: Path) -> None:
    frame = _constant(300)
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(PerfectFitWarning):
        streamed = duolm.ols("y ~ x", path, batch_size=64)
    with pytest.warns(PerfectFitWarning):
        arrays = duolm.ols(X=np.column_stack([np.ones(300), frame.x]), y=frame.y)
    for fit in (streamed, arrays):
        assert math.isnan(fit.tvalues.iloc[1]) and math.isnan(fit.fvalue)
        assert math.isnan(fit.rsquared)
    with pytest.warns(PerfectFitWarning):
        robust = duolm.ols("y ~ x", frame, cov_type="HC3")
    assert math.isnan(robust.tvalues["x"]) and math.isnan(robust.fvalue)


def test_an_exact_fit_of_a_real_relation_is_infinitely_significant() -> None:
    x = np.arange(1.0, 51.0)
    frame = pd.DataFrame({"x": x, "y": 0.1 * x + 0.3})  # residuals of rounding only
    with pytest.warns(PerfectFitWarning):
        fit = duolm.ols("y ~ x", frame)
    assert list(fit.tvalues) == [math.inf, math.inf]
    assert list(fit.pvalues) == [0.0, 0.0]
    assert fit.fvalue == math.inf and fit.f_pvalue == 0.0
    np.testing.assert_allclose(fit.rsquared, 1.0, rtol=1e-14, atol=0)


def test_a_small_real_noise_is_not_a_perfect_fit() -> None:
    rng = np.random.default_rng(0)
    x = np.arange(1.0, 51.0)
    frame = pd.DataFrame({"x": x, "y": 0.1 * x + 0.3 + 1e-9 * rng.normal(size=50)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = duolm.ols("y ~ x", frame)
    assert not fit.perfect_fit
    assert np.all(np.isfinite(fit.tvalues)) and math.isfinite(fit.fvalue)
    assert "perfect" not in str(fit.summary())
