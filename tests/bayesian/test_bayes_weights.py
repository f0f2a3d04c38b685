"""The Bayesian reading of weights (issue 10, item 1): known relative precisions,
``y_i ~ N(x_i' beta, sigma^2 / w_i)``, still the exact NIG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import duolm
from duolm import NIG
from shared import PREDICT_COLUMNS

RTOL = 1e-10


def _data(n: int = 40, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    w = rng.uniform(0.3, 3.0, size=n)
    y = 0.5 + 1.5 * x + rng.normal(size=n) / np.sqrt(w)
    return pd.DataFrame({"x": x, "w": w, "y": y})


def _prior() -> NIG:
    return NIG(np.array([0.0, 1.0]), np.diag([4.0, 2.0]), 3.0, 2.0)


def test_weighted_posterior_is_the_update_with_scaled_rows() -> None:
    frame = _data()
    fit = duolm.bayes("y ~ x", frame, prior=_prior(), weights="w")
    s = np.sqrt(frame.w.to_numpy())
    X = np.column_stack([np.ones(len(frame)), frame.x])
    want = _prior().update(s[:, None] * X, s * frame.y.to_numpy())
    post = fit.posterior
    np.testing.assert_allclose(post.m, want.m, rtol=RTOL, atol=0)
    np.testing.assert_allclose(post.V, want.V, rtol=RTOL, atol=0)
    np.testing.assert_allclose([post.a, post.b], [want.a, want.b], rtol=RTOL, atol=0)
    assert fit.weighted


def test_weighted_evidence_is_the_marginal_density_of_y() -> None:
    """y ~ multivariate t, 2 a0 dof, location X m0, shape (b0/a0)(diag(1/w) + X V0 X')."""
    frame = _data(n=12)
    prior = _prior()
    fit = duolm.bayes("y ~ x", frame, prior=prior, weights="w")
    X = np.column_stack([np.ones(len(frame)), frame.x])
    shape = prior.b / prior.a * (np.diag(1.0 / frame.w.to_numpy()) + X @ prior.V @ X.T)
    want = stats.multivariate_t(loc=X @ prior.m, shape=shape, df=2 * prior.a).logpdf(frame.y)
    np.testing.assert_allclose(fit.log_evidence, want, rtol=1e-12, atol=0)


def test_reference_prior_gives_the_wls_intervals() -> None:
    frame = _data()
    fit = duolm.bayes("y ~ x", frame, prior=NIG.reference(2), weights="w")
    ref = sm.WLS(frame.y, sm.add_constant(frame.x), weights=frame.w).fit()
    got = fit.credible_interval(0.1).to_numpy()
    np.testing.assert_allclose(got, ref.conf_int(0.1).to_numpy(), rtol=RTOL, atol=0)
    # the predictive interval with the new rows' weights is statsmodels' prediction interval
    new = pd.DataFrame({"x": [-1.0, 0.0, 2.0, 3.0]})
    w_new = np.array([0.5, 1.0, 4.0, 2.0])
    pred = fit.predict(new, alpha=0.1, weights=w_new)
    want = ref.get_prediction(sm.add_constant(new.x), weights=w_new).summary_frame(alpha=0.1)
    for column in ("mean", "mean_ci_lower", "mean_ci_upper", "obs_ci_lower", "obs_ci_upper"):
        np.testing.assert_allclose(pred[column], want[column], rtol=RTOL, atol=0)
    in_sample = fit.predict(alpha=0.1)
    want = ref.get_prediction().summary_frame(alpha=0.1)
    np.testing.assert_allclose(in_sample.obs_ci_lower, want.obs_ci_lower, rtol=RTOL, atol=0)
    assert list(pred.columns) == PREDICT_COLUMNS


def test_ppc_and_empirical_prior_refuse_weighted_fits() -> None:
    frame = _data()
    fit = duolm.bayes("y ~ x", frame, prior=_prior(), weights="w")
    with pytest.raises(duolm.errors.DataError, match="weighted"):
        fit.ppc("max", draws=10, seed=1)
    with pytest.raises(ValueError, match="unweighted"):
        duolm.bayes("y ~ x", frame, prior="empirical", weights="w")


def test_predictive_density_of_weighted_new_rows() -> None:
    """The predictive t of a new row with precision w: scale^2 (b/a)(1/w + x'Vx)."""
    frame = _data()
    fit = duolm.bayes("y ~ x", frame, prior=_prior(), weights="w")
    new = pd.DataFrame({"x": [0.5, -1.0], "y": [1.0, -2.0], "v": [2.0, 0.25]})
    got = fit.predictive_logpdf(new, weights="v")
    post = fit.posterior
    X0 = np.column_stack([np.ones(2), new.x])
    scale = np.sqrt(post.b / post.a * (1.0 / new.v + np.einsum("ij,jk,ik->i", X0, post.V, X0)))
    want = stats.t(df=2 * post.a, loc=X0 @ post.m, scale=scale).logpdf(new.y)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    unit = fit.predictive_logpdf(new.drop(columns="v"))  # default: weight 1
    np.testing.assert_allclose(unit, post.predictive_logpdf(X0, new.y.to_numpy()), rtol=1e-12)


def test_compare_reads_weighted_bayesian_fits_as_weighted() -> None:
    frame = _data()
    frame["z"] = np.random.default_rng(9).normal(size=len(frame))
    fits = [duolm.bayes(f, frame, weights="w") for f in ("y ~ x", "y ~ x + z")]
    table = duolm.compare(*fits)
    for f, (_, row) in zip(("y ~ x", "y ~ x + z"), table.iterrows(), strict=True):
        wls = duolm.ols(f, frame, weights="w")
        np.testing.assert_allclose(row.rsquared, wls.rsquared, rtol=RTOL, atol=0)
        np.testing.assert_allclose(row.aic, wls.aic, rtol=RTOL, atol=0)
    np.testing.assert_allclose(
        table.log_evidence.to_numpy(), [f.log_evidence for f in fits], rtol=RTOL, atol=0
    )
