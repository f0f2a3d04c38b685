"""The built-in data sets: Anscombe's published values and the lecture's tracking data.

Reference values: Anscombe (1973), The American Statistician 27, 17-21 (the summary
statistics he states for all four sets), and the tables of the lecture
``lecture-frequentist-vs-bayesian.md`` (statsmodels output pasted there).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm import NIG, bayes, datasets

PARABOLA = "height ~ I(time**2)"
LINE = "height ~ time"


def test_longley_is_still_there() -> None:
    assert datasets.longley().shape == (16, 7)


# -- Anscombe's quartet -------------------------------------------------------------


@pytest.fixture(scope="module")
def quartet() -> pd.DataFrame:
    return datasets.anscombe()


def test_anscombe_shape(quartet: pd.DataFrame) -> None:
    assert list(quartet.columns) == ["dataset", "x", "y"]
    assert quartet.groupby("dataset").size().to_dict() == {"I": 11, "II": 11, "III": 11, "IV": 11}
    assert quartet["x"].dtype == np.float64 and quartet["y"].dtype == np.float64
    assert not quartet.isna().any().any()


def test_anscombe_shares_x_in_sets_one_to_three(quartet: pd.DataFrame) -> None:
    xs = [quartet.loc[quartet["dataset"] == d, "x"].tolist() for d in ("I", "II", "III")]
    assert xs[0] == xs[1] == xs[2] == [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5]
    four = quartet[quartet["dataset"] == "IV"]
    assert sorted(four["x"].tolist()) == [8.0] * 10 + [19.0]


def test_anscombe_outliers(quartet: pd.DataFrame) -> None:
    three = quartet[quartet["dataset"] == "III"]
    assert three.loc[three["y"].idxmax(), ["x", "y"]].tolist() == [13.0, 12.74]
    four = quartet[quartet["dataset"] == "IV"]
    assert four.loc[four["x"].idxmax(), "y"] == 12.50


@pytest.mark.parametrize("name", ["I", "II", "III", "IV"])
def test_anscombe_published_properties(quartet: pd.DataFrame, name: str) -> None:
    part = quartet[quartet["dataset"] == name]
    x, y = part["x"].to_numpy(), part["y"].to_numpy()
    # Anscombe (1973): mean of x 9.0, of y 7.5, regression y = 3 + 0.5 x, sum of squares
    # of x 110 (variance 11), correlation 0.82; to the digits he prints.
    np.testing.assert_allclose(x.mean(), 9.0, rtol=1e-12)
    np.testing.assert_allclose(x.var(ddof=1), 11.0, rtol=1e-12)
    np.testing.assert_allclose(y.mean(), 7.50, atol=0.005)
    np.testing.assert_allclose(y.var(ddof=1), 4.125, atol=0.005)
    np.testing.assert_allclose(np.corrcoef(x, y)[0, 1], 0.816, atol=0.001)
    fit = duolm.ols("y ~ x", part)
    np.testing.assert_allclose(fit.params["Intercept"], 3.00, atol=0.005)
    np.testing.assert_allclose(fit.params["x"], 0.500, atol=0.0005)
    np.testing.assert_allclose(fit.rsquared, 0.667, atol=0.002)


def test_anscombe_returns_a_fresh_frame(quartet: pd.DataFrame) -> None:
    first = datasets.anscombe()
    first.loc[0, "y"] = -1.0
    assert datasets.anscombe().loc[0, "y"] == 8.04


# -- tracking -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tracking() -> pd.DataFrame:
    return datasets.tracking()


def test_tracking_defaults_shape(tracking: pd.DataFrame) -> None:
    assert list(tracking.columns) == ["time", "height"]
    assert tracking.shape == (80, 2)
    assert tracking["time"].tolist() == list(range(1, 81))
    assert tracking["height"].dtype == np.float64
    pd.testing.assert_frame_equal(tracking, datasets.tracking())  # fixed default seed


def test_tracking_parabola_fit_looks_like_the_lecture(tracking: pd.DataFrame) -> None:
    # Lecture: R² 0.995, coef 0.3045 (se 0.0024), residual sd about 40, Durbin-Watson 0.866.
    fit = duolm.ols(PARABOLA, tracking)
    assert abs(fit.rsquared - 0.995) < 0.001
    assert abs(fit.params["I(time ** 2)"] - 0.30) < 0.005
    assert abs(math.sqrt(fit.scale) - 40.0) < 2.0
    assert abs(fit.diagnostics.durbin_watson - 0.866) < 0.1
    assert abs(fit.params["Intercept"] - 67.46) < fit.bse["Intercept"]
    assert fit.diagnostics.omnibus_pvalue > 0.05  # the lecture's residuals look normal


def test_tracking_line_fit_looks_like_the_lecture(tracking: pd.DataFrame) -> None:
    # Lecture: R² 0.956, slope 24.37 (se 0.59), intercept -257.7 (se 27.1), DW 0.102.
    fit = duolm.ols(LINE, tracking)
    assert abs(fit.rsquared - 0.956) < 0.002
    assert abs(fit.diagnostics.durbin_watson - 0.10) < 0.02
    assert abs(fit.params["time"] - 24.37) < fit.bse["time"]
    assert abs(fit.params["Intercept"] - (-257.7)) < fit.bse["Intercept"]
    parabola = duolm.ols(PARABOLA, tracking)
    assert parabola.rsquared > fit.rsquared and parabola.aic < fit.aic


def test_tracking_bayes_fit_near_the_lecture(tracking: pd.DataFrame) -> None:
    # Lecture's prior xi0 = diag(10000, 0.1, 0.1), nu0 = 5; its final estimates
    # beta = [57.67, 0.29756], sigma² = 1490. Different draws: within 2 posterior sd.
    prior = NIG.from_xi(np.diag([10000.0, 0.1, 0.1]), 5)
    fit = bayes(PARABOLA, tracking, prior=prior)
    lecture = np.array([57.66874799, 0.29756])
    assert np.all(np.abs(fit.params.to_numpy() - lecture) < 2.0 * fit.bse.to_numpy())
    assert abs(fit.sigma2_mean - 1489.98) < math.sqrt(fit.sigma2_var)


def test_tracking_without_noise_is_the_motion_law() -> None:
    T, v0, a = 12, 3.0, 0.8
    frame = datasets.tracking(T=T, v0=v0, a=a, sigma=0.0)
    s = np.arange(T, dtype=np.float64)
    np.testing.assert_allclose(frame["height"], v0 * s + a / 2 * s**2, rtol=1e-15, atol=0)
    assert frame["height"].iloc[0] == 0.0  # y_1 = 0


def test_tracking_arguments_change_what_they_should() -> None:
    base = datasets.tracking(seed=5)
    curve = datasets.tracking(sigma=0.0)["height"].to_numpy()
    noise = base["height"].to_numpy() - curve
    # sigma scales the noise; v0 and a change only the curve; T extends the series.
    doubled = datasets.tracking(sigma=60.0, seed=5)["height"].to_numpy() - curve
    np.testing.assert_allclose(doubled, 2.0 * noise, rtol=1e-12, atol=1e-9)
    other = datasets.tracking(v0=7.0, a=0.2, seed=5)["height"].to_numpy()
    s = np.arange(80.0)
    np.testing.assert_allclose(other - noise, 7.0 * s + 0.1 * s**2, rtol=1e-12, atol=1e-9)
    longer = datasets.tracking(T=120, seed=5)
    assert len(longer) == 120
    pd.testing.assert_frame_equal(longer.iloc[:80], base)
    assert not np.allclose(datasets.tracking(seed=6)["height"], base["height"])
    assert np.std(noise, ddof=1) == pytest.approx(30.0, rel=0.25)


def test_tracking_accepts_a_generator() -> None:
    one = datasets.tracking(seed=np.random.default_rng(3))
    two = datasets.tracking(seed=3)
    pd.testing.assert_frame_equal(one, two)
    assert len(datasets.tracking(T=1, seed=None)) == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"T": 0}, ValueError),
        ({"T": 2.5}, TypeError),
        ({"sigma": -1.0}, ValueError),
        ({"sigma": math.nan}, ValueError),
        ({"v0": math.inf}, ValueError),
        ({"a": math.nan}, ValueError),
    ],
)
def test_tracking_refuses_bad_arguments(kwargs: dict[str, float], error: type[Exception]) -> None:
    with pytest.raises(error):
        datasets.tracking(**kwargs)  # type: ignore[arg-type]
