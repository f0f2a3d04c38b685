"""The conjugate Normal-inverse-gamma posterior against an independent implementation.

The reference is Banerjee's "Bayesian linear model: gory details" written out
below in 50-digit arithmetic (mpmath): V* = (V0^-1 + X'X)^-1,
m* = V*(V0^-1 m0 + X'y), a* = a0 + n/2, b* = b0 + (m0'V0^-1 m0 + y'y -
m*'V*^-1 m*)/2 and the marginal likelihood. At 50 digits its cancellations
are harmless; duolm never forms them. Quantiles of the t marginals come from
scipy applied to the reference hyperparameters.
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

import duolm
from duolm import NIG, BayesResults, bayes, ols
from duolm.bayesian import checked_prior, default_prior
from duolm.design import from_arrays
from duolm.errors import DataError, PriorError
from shared import PREDICT_COLUMNS

RTOL = 1e-10


def _banerjee(
    m0: np.ndarray, V0: np.ndarray, a0: float, b0: float, X: np.ndarray, y: np.ndarray
) -> dict[str, object]:
    """Banerjee's posterior and evidence in 50-digit arithmetic (floats out)."""
    with mp.workdps(50):
        n = len(y)
        Xm = mp.matrix(X.tolist())
        ym = mp.matrix(y.tolist())
        mm = mp.matrix(m0.tolist())
        V0i = mp.matrix(V0.tolist()) ** -1
        Vti = V0i + Xm.T * Xm
        Vt = Vti**-1
        mt = Vt * (V0i * mm + Xm.T * ym)
        at = mp.mpf(a0) + mp.mpf(n) / 2
        quad0 = (mm.T * V0i * mm)[0]
        quadt = (mt.T * Vti * mt)[0]
        bt = mp.mpf(b0) + (quad0 + (ym.T * ym)[0] - quadt) / 2
        logev = (
            -mp.mpf(n) / 2 * mp.log(2 * mp.pi)
            + (mp.log(mp.det(Vt)) - mp.log(mp.det(mp.matrix(V0.tolist())))) / 2
            + a0 * mp.log(b0)
            - at * mp.log(bt)
            + mp.loggamma(at)
            - mp.loggamma(a0)
        )
        return {
            "m": np.array([float(v) for v in mt]),
            "V": np.array([[float(Vt[i, j]) for j in range(Vt.cols)] for i in range(Vt.rows)]),
            "a": float(at),
            "b": float(bt),
            "log_evidence": float(logev),
        }


def _problem(seed: int, n: int = 20, k: int = 3, offset: float = 0.0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(k, k))
    V0 = A @ A.T + 0.5 * np.eye(k)
    m0 = rng.normal(size=k)
    a0, b0 = rng.uniform(0.5, 5.0), rng.uniform(0.1, 10.0)
    X = (
        np.column_stack([np.ones(n), rng.normal(size=(n, k - 1))])
        + offset * (k > 1) * np.r_[0, np.ones(k - 1)]
    )
    y = X @ rng.normal(size=k) + rng.normal(size=n) + offset
    return m0, V0, a0, b0, X, y


@pytest.mark.parametrize("seed", range(6))
def test_posterior_matches_banerjee_in_extended_precision(seed: int) -> None:
    m0, V0, a0, b0, X, y = _problem(seed, n=5 + 7 * seed, k=1 + seed % 4)
    ref = _banerjee(m0, V0, a0, b0, X, y)
    post = NIG(m0, V0, a0, b0).update(X, y)
    np.testing.assert_allclose(post.m, ref["m"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(post.V, ref["V"], rtol=RTOL, atol=1e-13)
    assert post.a == ref["a"]
    np.testing.assert_allclose(post.b, ref["b"], rtol=RTOL)
    np.testing.assert_allclose(post.log_evidence, ref["log_evidence"], rtol=RTOL)


def test_data_far_from_zero_keep_their_digits() -> None:
    # y ~ 1e8 with unit noise: y'y - m'V^-1 m cancels 16 digits in float64.
    m0, V0, a0, b0, X, y = _problem(11, n=40, k=2, offset=1e8)
    ref = _banerjee(m0, V0, a0, b0, X, y)
    post = NIG(m0, V0, a0, b0).update(X, y)
    np.testing.assert_allclose(post.b, ref["b"], rtol=1e-7)
    np.testing.assert_allclose(post.m, ref["m"], rtol=1e-7)


@pytest.mark.parametrize("seed", range(3))
def test_marginal_and_predictive_quantiles_match_reference(seed: int) -> None:
    m0, V0, a0, b0, X, y = _problem(20 + seed, n=12, k=3)
    ref = _banerjee(m0, V0, a0, b0, X, y)
    fit = bayes(X=X, y=y, prior=NIG(m0, V0, a0, b0))
    df, scale2 = 2 * ref["a"], ref["b"] / ref["a"]  # type: ignore[operator]
    sd = np.sqrt(scale2 * np.diag(ref["V"]))  # type: ignore[call-overload]
    q = stats.t.ppf(0.95, df)
    ci = fit.credible_interval(alpha=0.1)
    np.testing.assert_allclose(ci["lower"], ref["m"] - q * sd, rtol=RTOL)  # type: ignore[operator]
    np.testing.assert_allclose(ci["upper"], ref["m"] + q * sd, rtol=RTOL)  # type: ignore[operator]
    for j, name in enumerate(fit.terms):
        dist = fit.coef_marginal(name)
        np.testing.assert_allclose(
            dist.ppf([0.01, 0.5, 0.9]),
            stats.t.ppf(
                [0.01, 0.5, 0.9],
                df,
                loc=ref["m"][j],
                scale=sd[j],  # type: ignore[index]
            ),
            rtol=RTOL,
        )
    x_new = np.array([[1.0, 0.3, -2.0], [1.0, 5.0, 1.0]])
    h = np.einsum("ij,jk,ik->i", x_new, ref["V"], x_new)
    loc = x_new @ ref["m"]
    pred = fit.predict(x_new, alpha=0.1)
    assert list(pred.columns) == PREDICT_COLUMNS
    np.testing.assert_allclose(pred["obs_ci_upper"], loc + q * np.sqrt(scale2 * (1 + h)), rtol=RTOL)
    np.testing.assert_allclose(pred["mean_ci_lower"], loc - q * np.sqrt(scale2 * h), rtol=RTOL)
    np.testing.assert_allclose(
        pred["mean_se"],
        np.sqrt(ref["b"] / (ref["a"] - 1) * h),
        rtol=RTOL,  # type: ignore[operator]
    )
    s2 = fit.sigma2_marginal()
    np.testing.assert_allclose(
        s2.ppf([0.05, 0.5]), stats.invgamma.ppf([0.05, 0.5], ref["a"], scale=ref["b"]), rtol=RTOL
    )
    np.testing.assert_allclose(fit.sigma2_median, s2.median(), rtol=RTOL)
    np.testing.assert_allclose(fit.sigma2_mode, ref["b"] / (ref["a"] + 1), rtol=RTOL)  # type: ignore[operator]


def test_sequential_update_equals_batch_at_every_step() -> None:
    m0, V0, a0, b0, X, y = _problem(3, n=25, k=3)
    prior = NIG(m0, V0, a0, b0)
    post = prior
    for t in range(len(y)):
        post = post.update(X[t], y[t])
        batch = prior.update(X[: t + 1], y[: t + 1])
        np.testing.assert_allclose(post.m, batch.m, rtol=RTOL, atol=1e-13)
        np.testing.assert_allclose(post.V, batch.V, rtol=RTOL, atol=1e-13)
        np.testing.assert_allclose(post.b, batch.b, rtol=RTOL)
        assert post.a == batch.a == a0 + (t + 1) / 2


def test_merge_of_chunks_equals_one_fit_and_counts_the_prior_once() -> None:
    m0, V0, a0, b0, X, y = _problem(4, n=60, k=3)
    prior = NIG(m0, V0, a0, b0)
    parts = [prior.update(X[i : i + 13], y[i : i + 13]) for i in range(0, 60, 13)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    whole = prior.update(X, y)
    assert merged.a == whole.a and merged.nobs == 60
    np.testing.assert_allclose(merged.m, whole.m, rtol=RTOL)
    np.testing.assert_allclose(merged.b, whole.b, rtol=RTOL)
    np.testing.assert_allclose(merged.log_evidence, whole.log_evidence, rtol=RTOL)


def test_one_step_predictive_densities_sum_to_the_log_evidence() -> None:
    m0, V0, a0, b0, X, y = _problem(5, n=30, k=3)
    post = NIG(m0, V0, a0, b0)
    total = 0.0
    for t in range(len(y)):
        total += float(post.predictive_logpdf(X[t], y[t])[0])
        post = post.update(X[t], y[t])
    np.testing.assert_allclose(total, post.log_evidence, rtol=RTOL)


def test_reference_prior_reproduces_the_ols_intervals() -> None:
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 10, size=30)
    data = pd.DataFrame({"x": x, "y": 2 + 0.5 * x**2 + rng.normal(size=30)})
    fo = ols("y ~ I(x**2)", data)
    fb = bayes("y ~ I(x**2)", data, prior=NIG.reference(2))
    assert fb.df == fo.df_resid
    np.testing.assert_allclose(fb.params, fo.params, rtol=RTOL)
    for alpha in (0.05, 0.32):
        np.testing.assert_allclose(fb.credible_interval(alpha), fo.conf_int(alpha), rtol=RTOL)
    new = pd.DataFrame({"x": [0.0, 3.5, 12.0]})
    pb, po = fb.predict(new), fo.predict(new)
    for col in ("mean", "mean_ci_lower", "mean_ci_upper", "obs_ci_lower", "obs_ci_upper"):
        np.testing.assert_allclose(pb[col], po[col], rtol=RTOL)
    # the t scale equals the OLS standard error; the posterior sd is larger by sqrt(df/(df-2))
    np.testing.assert_allclose(fb.bse, fo.bse * math.sqrt(fb.df / (fb.df - 2)), rtol=RTOL)
    np.testing.assert_allclose(2 * fb.posterior.b, fo.ssr, rtol=RTOL)


def test_brute_force_integration_for_one_coefficient() -> None:
    # y = beta x + e: integrate likelihood x prior over (beta, sigma^2) numerically.
    rng = np.random.default_rng(7)
    x = rng.uniform(0.5, 2.0, size=6)
    y = 1.5 * x + rng.normal(scale=0.7, size=6)
    m0, V0, a0, b0 = 0.3, 2.0, 2.0, 1.5
    fit = bayes(X=x[:, None], y=y, prior=NIG([m0], [[V0]], a0, b0))
    post = fit.posterior
    shift = post.log_evidence  # keeps the integrand of order one
    n = len(y)
    log_ig_const = a0 * math.log(b0) - math.lgamma(a0)

    def joint(s2: float, beta: float) -> float:
        rss = float(np.sum((y - beta * x) ** 2))
        loglik = -0.5 * n * math.log(2 * math.pi * s2) - rss / (2 * s2)
        lognormal = -0.5 * math.log(2 * math.pi * s2 * V0) - (beta - m0) ** 2 / (2 * s2 * V0)
        loginvgamma = log_ig_const - (a0 + 1) * math.log(s2) - b0 / s2
        return math.exp(loglik + lognormal + loginvgamma - shift)

    half = 15 * math.sqrt(post.V[0, 0] * post.b)
    lo, hi = post.m[0] - half, post.m[0] + half
    s2_hi = float(stats.invgamma.isf(1e-16, post.a, scale=post.b))
    total, _ = integrate.dblquad(joint, lo, hi, 0.0, s2_hi, epsabs=1e-12, epsrel=1e-10)
    np.testing.assert_allclose(math.log(total) + shift, post.log_evidence, rtol=1e-7)
    dist = fit.coef_marginal("x0")
    for beta in (post.m[0] - 0.3, post.m[0], post.m[0] + 0.5):
        dens, _ = integrate.quad(lambda s2, b=beta: joint(s2, b), 0.0, s2_hi, epsabs=1e-13)
        np.testing.assert_allclose(dens / total, dist.pdf(beta), rtol=1e-7)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(1, 29), max_size=5))
def test_order_and_chunking_do_not_matter(seed: int, cuts: list[int]) -> None:
    m0, V0, a0, b0, X, y = _problem(seed, n=30, k=3)
    prior = NIG(m0, V0, a0, b0)
    whole = prior.update(X, y)
    perm = np.random.default_rng(seed).permutation(30)
    shuffled = prior.update(X[perm], y[perm])
    edges = [0, *sorted(set(cuts)), 30]
    merged = prior
    for lo, hi in itertools.pairwise(edges):
        merged = merged.merge(prior.update(X[lo:hi], y[lo:hi]))
    for other in (shuffled, merged):
        np.testing.assert_allclose(other.m, whole.m, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(other.b, whole.b, rtol=1e-9)
        np.testing.assert_allclose(other.V, whole.V, rtol=1e-9, atol=1e-12)
        assert other.a == whole.a


def test_xi_both_ways_and_the_lectures_prior() -> None:
    m, V, a, b = np.array([1.0, -2.0]), np.array([[2.0, 0.3], [0.3, 0.5]]), 3.0, 4.0
    nig = NIG(m, V, a, b)
    Vi = np.linalg.inv(V)
    expected = np.block([[m @ Vi @ m + 2 * b, (Vi @ m)[None, :]], [(Vi @ m)[:, None], Vi]])
    np.testing.assert_allclose(nig.xi, expected, rtol=1e-12)
    assert nig.nu == 2 * a
    back = NIG.from_xi(nig.xi, nig.nu)
    np.testing.assert_allclose(back.m, m, rtol=1e-12)
    np.testing.assert_allclose(back.V, V, rtol=1e-12)
    np.testing.assert_allclose([back.a, back.b], [a, b], rtol=1e-12)
    lecture = NIG.from_xi(np.diag([10000.0, 0.1, 0.1]), 5)
    np.testing.assert_allclose(lecture.V, 10 * np.eye(2), rtol=1e-14)
    assert (lecture.a, lecture.b) == (2.5, 5000.0)


def test_zellner_and_vague_priors() -> None:
    _, _, _, _, X, _ = _problem(8, n=15, k=3)
    z = NIG.zellner(X, g=15.0, a=2.0, b=3.0)
    np.testing.assert_allclose(z.V, 15.0 * np.linalg.inv(X.T @ X), rtol=1e-10)
    np.testing.assert_allclose(z.m, 0.0, atol=0)
    v = NIG.vague(3, scale=10.0)
    np.testing.assert_allclose(v.V, 100.0 * np.eye(3), rtol=1e-14)
    assert v.is_proper and "vague" in v.label
    with pytest.raises(PriorError, match="rank deficient"):
        NIG.zellner(np.column_stack([X, X[:, 1]]), g=1.0)


def test_forgetting() -> None:
    m0, V0, a0, b0, X, y = _problem(9, n=20, k=2)
    prior = NIG(m0, V0, a0, b0)
    post = prior.update(X, y)
    lam = 0.9
    exp = post.forget(lam)
    np.testing.assert_allclose(exp.xi, lam * post.xi, rtol=1e-12)
    assert exp.nu == pytest.approx(lam * post.nu, rel=1e-14)
    stab = post.forget(lam, toward="prior")
    np.testing.assert_allclose(stab.xi, lam * post.xi + (1 - lam) * prior.xi, rtol=1e-12)
    assert stab.nu == pytest.approx(lam * post.nu + (1 - lam) * prior.nu, rel=1e-14)
    assert stab.same_prior(post)  # still merges exactly
    target = NIG(np.zeros(2), np.eye(2), 2.0, 1.0)
    other = post.forget(lam, toward=target)
    np.testing.assert_allclose(other.xi, lam * post.xi + (1 - lam) * target.xi, rtol=1e-12)
    np.testing.assert_allclose(post.forget(1.0).xi, post.xi, rtol=1e-14)
    with pytest.raises(ValueError, match="forgetting factor"):
        post.forget(0.0)


def test_improper_and_undefined_quantities_raise_clearly() -> None:
    ref = NIG.reference(2)
    assert not ref.is_proper and (ref.a, ref.b) == (-1.0, 0.0)
    with pytest.raises(PriorError, match="V\\^-1 is singular"):
        _ = ref.V
    X = np.column_stack([np.ones(4), np.arange(4.0)])
    y = np.array([0.0, 1.1, 1.9, 3.2])
    fit = bayes(X=X, y=y, prior=ref)  # a = 1: t with 2 dof
    assert fit.posterior.a == 1.0
    with pytest.raises(PriorError, match="evidence does not exist for an improper prior"):
        _ = fit.log_evidence
    with pytest.raises(PriorError, match="needs a > 1, here a = 1"):
        _ = fit.bse
    with pytest.raises(PriorError, match="needs a > 1"):
        _ = fit.sigma2_mean
    with pytest.raises(PriorError, match="needs a > 2"):
        _ = fit.sigma2_var
    assert np.all(np.isinf(fit.predict()["mean_se"]))
    assert "needs a > 1" in str(fit.summary())
    with pytest.raises(DataError, match="posterior is improper"):
        bayes(X=X[:2], y=y[:2], prior=ref)
    with pytest.raises(DataError, match="posterior is improper"):
        bayes(X=np.column_stack([X, 2 * X[:, 1]]), y=y, prior=NIG.reference(3))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros(2), np.array([[1.0, 0.5], [0.4, 1.0]]), 1.0, 1.0), "V is not symmetric"),
        ((np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]), 1.0, 1.0), "not positive definite"),
        ((np.zeros(2), np.eye(2), 0.0, 1.0), "a must be finite and > 0"),
        ((np.zeros(2), np.eye(2), 1.0, -1.0), "b must be finite and > 0"),
        ((np.zeros(2), np.eye(2), 1.0, np.nan), "b must be finite"),
        ((np.array([0.0, np.nan]), np.eye(2), 1.0, 1.0), "m has non-finite"),
        ((np.zeros(2), np.eye(3), 1.0, 1.0), "V must have shape \\(2, 2\\)"),
        ((np.zeros((2, 2)), np.eye(2), 1.0, 1.0), "m must be a vector"),
        ((np.zeros(2), np.array([[1.0, np.inf], [np.inf, 1.0]]), 1.0, 1.0), "non-finite"),
    ],
)
def test_bad_priors_are_rejected(args: tuple[object, ...], match: str) -> None:
    with pytest.raises(PriorError, match=match):
        NIG(*args)  # type: ignore[arg-type]


def test_one_coefficient_accepts_flat_rows() -> None:
    prior = NIG([0.0], [[4.0]], 2.0, 1.0)
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.1, 2.3, 2.9])
    np.testing.assert_allclose(prior.update(x, y).m, prior.update(x[:, None], y).m, rtol=1e-15)
    np.testing.assert_allclose(
        prior.update(2.0, 1.0).m, prior.update([[2.0]], [1.0]).m, rtol=1e-15, atol=0
    )


def test_bad_xi_data_and_merges_are_rejected() -> None:
    with pytest.raises(PriorError, match="xi is not positive definite"):
        NIG.from_xi(np.diag([0.0, 1.0]), 2)
    with pytest.raises(PriorError, match="nu must be finite and > 0"):
        NIG.from_xi(np.eye(2), -1)
    prior = NIG(np.zeros(2), np.eye(2), 1.0, 1.0)
    with pytest.raises(DataError, match="X must have 2 columns"):
        prior.update(np.ones((3, 3)), np.ones(3))
    with pytest.raises(DataError, match="y is nan at row 1"):
        prior.update(np.ones((3, 2)), np.array([1.0, np.nan, 2.0]))
    with pytest.raises(DataError, match="y must have one value per row"):
        prior.update(np.ones((3, 2)), np.ones(2))
    with pytest.raises(PriorError, match="different priors"):
        prior.update(np.ones(2), 1.0).merge(NIG(np.zeros(2), 2 * np.eye(2), 1.0, 1.0))
    with pytest.raises(PriorError, match="1 coefficient\\(s\\) but the design has 2"):
        bayes(X=np.ones((3, 2)), y=np.ones(3), prior=NIG([0.0], [[1.0]], 1.0, 1.0))


def test_results_accessors() -> None:
    m0, V0, a0, b0, X, y = _problem(10, n=25, k=3)
    fit = bayes(X=X, y=y, prior=NIG(m0, V0, a0, b0))
    post = fit.posterior
    assert isinstance(fit, BayesResults) and fit.nobs == 25
    np.testing.assert_allclose(fit.cov_params(), post.b / (post.a - 1) * post.V, rtol=1e-14)
    np.testing.assert_allclose(fit.sigma2_mean, post.b / (post.a - 1), rtol=1e-14)
    np.testing.assert_allclose(
        fit.sigma2_var, post.b**2 / ((post.a - 1) ** 2 * (post.a - 2)), rtol=1e-14
    )
    assert fit.beta_mode.equals(fit.params) and fit.beta_median.equals(fit.params)
    assert fit.beta_mean.equals(fit.params)
    mvt = fit.beta_marginal()
    # the point estimates agree with scipy's own marginals (the params are checked
    # against Banerjee's formulas in 50-digit arithmetic elsewhere)
    np.testing.assert_allclose(fit.beta_mean, mvt.loc, rtol=1e-15, atol=0)
    medians = [fit.coef_marginal(name).median() for name in fit.terms]
    np.testing.assert_allclose(fit.beta_median, medians, rtol=1e-15, atol=0)
    np.testing.assert_allclose(mvt.shape, post.b / post.a * post.V, rtol=1e-14)
    assert mvt.df == 2 * post.a
    pp = fit.prob_positive
    for name in fit.terms:
        np.testing.assert_allclose(pp[name], fit.coef_marginal(name).sf(0.0), rtol=1e-12)
    with pytest.raises(KeyError, match="no coefficient"):
        fit.coef_marginal("nope")
    s = fit.summary()
    assert "P(>0)" in str(s) and "<table" in s._repr_html_() and "Log evidence" in str(s)


def test_sampling_matches_the_marginals() -> None:
    # Each check fails with probability about 1e-6 for a correct sampler (|z| > 4.9);
    # the generator is seeded, so the test is deterministic.
    m0, V0, a0, b0, X, y = _problem(12, n=20, k=2)
    fit = bayes(X=X, y=y, prior=NIG(m0, V0, a0, b0))
    draws = fit.sample(40_000, rng=np.random.default_rng(2024))
    assert list(draws.columns) == [*fit.terms, "sigma2"]
    for name in fit.terms:
        assert stats.kstest(draws[name], fit.coef_marginal(name).cdf).pvalue > 1e-6
    assert stats.kstest(draws["sigma2"], fit.sigma2_marginal().cdf).pvalue > 1e-6
    cov = fit.cov_params().to_numpy()
    se = np.sqrt(np.diag(cov) / len(draws))
    assert np.all(np.abs(draws[list(fit.terms)].mean().to_numpy() - fit.params) < 4.9 * se)


def test_formula_fits_predict_and_score_new_rows() -> None:
    rng = np.random.default_rng(13)
    data = pd.DataFrame({"x": rng.normal(size=30), "g": rng.choice(["a", "b"], size=30)})
    data["y"] = 1 + 2 * data["x"] + (data["g"] == "b") + rng.normal(size=30)
    fit = bayes("y ~ x + g", data)
    assert fit.terms == ("Intercept", "x", "g[T.b]")
    new = data.iloc[:5]
    lp = fit.predictive_logpdf(new)
    X0 = fit.spec.build_x(new)
    np.testing.assert_allclose(lp, fit.posterior.predictive_logpdf(X0, new["y"]), rtol=1e-14)
    assert fit.predict(new).index.equals(new.index)
    # the evidence of new rows given a posterior prior: p(y2 | y1) = p(y1, y2) / p(y1)
    first = bayes("y ~ x + g", data.iloc[:15])
    second = bayes("y ~ x + g", data.iloc[15:], prior=first.posterior)
    np.testing.assert_allclose(
        first.log_evidence + second.log_evidence, fit.log_evidence, rtol=1e-10
    )


def test_nig_is_reexported_and_the_prior_is_checked_against_the_design() -> None:
    assert NIG is duolm.bayesian.NIG
    spec = from_arrays(np.ones((3, 2)), np.ones(3)).spec
    default = checked_prior(None, spec)
    assert default.k == 2 and default.label == default_prior(2).label
    given = NIG(np.zeros(2), np.eye(2), 1.0, 1.0)
    assert checked_prior(given, spec) is given
    with pytest.raises(TypeError, match="prior must be an NIG, got dict"):
        checked_prior({"m": 0}, spec)  # type: ignore[arg-type]
    with pytest.raises(PriorError, match="1 coefficient\\(s\\) but the design has 2 columns"):
        checked_prior(NIG([0.0], [[1.0]], 1.0, 1.0), spec)


@pytest.mark.parametrize(
    "y", [lambda x: 1 + 2 * x, lambda x: 0.1 + 0.3 * x, lambda x: np.full(6, 3.0)]
)
def test_an_exact_fit_under_the_reference_prior_is_refused_by_name(y: object) -> None:
    """The posterior's b is the rounding of a zero residual sum: exactly 0 gave "improper
    ... needs more than 2 rows" (there were 6), rounding gave b ~ 1e-32 and intervals
    4e-16 wide, silently. ``ols`` warns of the same fit (PerfectFitWarning)."""
    x = np.arange(6.0)
    X = np.column_stack([np.ones(6), x])
    with pytest.raises(DataError, match=r"the fit is exact .* b = 0"):
        bayes(X=X, y=y(x), prior=NIG.reference(2))  # type: ignore[operator]
    proper = bayes(X=X, y=y(x), prior=NIG.vague(2))  # type: ignore[operator]
    assert proper.posterior.is_proper
