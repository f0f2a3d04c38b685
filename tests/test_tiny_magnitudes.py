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
