"""Posterior predictive checks (BayesResults.ppc): plumbing against a hand-made replicate,
calibration on data from the model, power against a misspecified one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import duolm
from duolm.errors import DataError


def data(n: int = 80, curved: bool = False, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2, 2, size=n))
    y = 1.0 + 0.5 * x + (1.5 * x**2 if curved else 0.0) + rng.normal(scale=0.5, size=n)
    return pd.DataFrame({"x": x, "y": y})


def test_statistics_are_those_of_a_hand_made_replicate() -> None:
    frame = data()
    fit = duolm.bayes("y ~ x", frame, prior=duolm.NIG.reference(2))
    res = fit.ppc("skew", draws=50, seed=4)
    # the same draws by hand: the posterior sample, then one normal vector per draw
    gen = np.random.default_rng(4)
    sample = fit.sample(50, gen)
    X = np.column_stack([np.ones(len(frame)), frame["x"]])
    y = frame["y"].to_numpy()
    for d in range(50):
        mu = X @ sample[["Intercept", "x"]].to_numpy()[d]
        y_rep = mu + np.sqrt(sample["sigma2"][d]) * gen.standard_normal(len(y))
        assert_allclose(res.observed[d], stats.skew(y - mu), rtol=1e-12, atol=1e-14)
        assert_allclose(res.replicated[d], stats.skew(y_rep - mu), rtol=1e-12, atol=1e-14)
    assert res.p_value == np.mean(res.replicated >= res.observed)
    assert list(res.frame.columns) == ["observed", "replicated"]


def test_a_misspecified_model_fails_and_a_right_one_passes() -> None:
    # residuals of a line through a parabola, in x order, are strongly autocorrelated
    bad = duolm.bayes("y ~ x", data(curved=True), prior=duolm.NIG.reference(2))
    assert bad.ppc("durbin_watson", draws=400, seed=1).p_value > 0.999
    good = duolm.bayes("y ~ x + I(x**2)", data(curved=True), prior=duolm.NIG.reference(3))
    assert 0.02 < good.ppc("durbin_watson", draws=400, seed=1).p_value < 0.98


def test_p_values_of_well_specified_fits_are_roughly_uniform() -> None:
    """60 seeded data sets from the model: the mean of their p values lies in (0.3, 0.7)
    (its sd is 0.037 were they uniform, less as they are: a five-sd band)."""
    p = [
        duolm.bayes("y ~ x", data(n=40, seed=s), prior=duolm.NIG.reference(2))
        .ppc("max", draws=200, seed=s)
        .p_value
        for s in range(60)
    ]
    # posterior predictive p values are conservative (concentrated near 1/2), not skewed
    assert 0.3 < np.mean(p) < 0.7
    assert min(p) > 0.0 and max(p) < 1.0


def test_custom_statistics_plot_and_errors() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fit = duolm.bayes("y ~ x", data(), prior=duolm.NIG.reference(2))

    def lag1(X: np.ndarray, y: np.ndarray, r: np.ndarray) -> float:
        return float(np.corrcoef(r[:-1], r[1:])[0, 1])

    res = fit.ppc(lag1, draws=30, seed=0)
    assert res.statistic == "lag1" and res.observed.shape == (30,)
    ax = duolm.plots.ppc(res)
    assert "p = " in ax.get_title()
    plt.close("all")
    with pytest.raises(ValueError, match="stat must be one of"):
        fit.ppc("median")
    with pytest.raises(ValueError, match="draws must be a positive integer"):
        fit.ppc("max", draws=0)
    loaded = duolm.bayes("y ~ x", data(), prior=duolm.NIG.reference(2))
    object.__setattr__(loaded, "design", None)  # as a fit loaded from a file
    with pytest.raises(DataError, match="needs the fitted rows"):
        loaded.ppc("max")
