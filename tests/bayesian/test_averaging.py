"""Bayesian model averaging (duolm.bma): evidences, enumeration, MC3, mixtures, data kinds.

References, none written here: every model fitted on its own (numpy lstsq) and
Liang et al. (2008) eq. 5 for the g-prior; mpmath's 2F1 (LPMCB eq. 17) for
hyper-g and its adaptive quadrature at 40 digits for hyper-g/n and
Zellner-Siow; R's BAS (README of merliseclyde/BAS, summary(crime.bic)) and the
blma package's tests (certifiedwaif/blma, tests/testthat/test-blma-UScrime.R)
for inclusion probabilities on MASS::UScrime.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, special, stats

import duolm
from duolm.bayesian import _averaging as bm
from duolm.bayesian import _averaging_kernel as bk
from duolm.core import SqrtStat
from duolm.errors import DataError, PriorError

DATA = Path(__file__).parents[1] / "data"
TERMS15 = ["M", "So", "Ed", "Po1", "Po2", "LF", "M_F", "Pop", "NW", "U1", "U2"]
TERMS15 += ["GDP", "Ineq", "Prob", "Time"]
FORMULA15 = "y ~ " + " + ".join(TERMS15)


def uscrime(log_y: bool) -> pd.DataFrame:
    d = pd.read_csv(DATA / "uscrime.csv", comment="#", index_col=0)
    logged = [c for c in d.columns if c != "So" and (log_y or c != "y")]
    d[logged] = np.log(d[logged])
    return d


def small_problem(n: int = 40, q: int = 4, seed: int = 0) -> tuple[pd.DataFrame, str]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, q)) + rng.normal(size=q)
    X[:, 1] += 0.6 * X[:, 0]  # correlated terms
    y = 1.5 + 0.8 * X[:, 0] - 0.5 * X[:, min(2, q - 1)] + rng.normal(size=n)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(q)]).assign(y=y)
    return frame, "y ~ " + " + ".join(f"x{j}" for j in range(q))


def brute_force(frame: pd.DataFrame, q: int) -> dict[tuple[int, ...], tuple[float, float]]:
    """R^2 and residual sum of squares of every model, each fitted on its own."""
    y = frame["y"].to_numpy()
    n = len(y)
    out = {}
    for size in range(q + 1):
        for cols in itertools.combinations(range(q), size):
            X = np.column_stack([np.ones(n), frame[[f"x{j}" for j in cols]].to_numpy()])
            b = np.linalg.lstsq(X, y, rcond=None)[0]
            rss = float(np.sum((y - X @ b) ** 2))
            out[cols] = (1.0 - rss / float(np.sum((y - y.mean()) ** 2)), rss)
    return out


def key(terms: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(sorted(int(t[1:]) for t in terms if t != "Intercept"))


def g_prior_log_bf(n: int, p: int, r2: float, g: float) -> float:
    """Liang et al. (2008) eq. 5."""
    return 0.5 * (n - 1 - p) * math.log1p(g) - 0.5 * (n - 1) * math.log1p(g * (1 - r2))


# ---------------------------------------------------------------- enumeration


def test_every_model_matches_its_own_fit() -> None:
    frame, formula = small_problem(n=40, q=6)
    res = duolm.bma(formula, frame, prior="g-prior", g=25.0)
    ref = brute_force(frame, 6)
    assert res.n_models == 64 and not res.sampled
    models = res.models
    assert set(map(key, models["terms"])) == set(ref)
    for _, row in models.iterrows():
        r2, _ = ref[key(row["terms"])]
        p = len(key(row["terms"]))
        assert row["k"] == p + 1
        assert_allclose(row["rsquared"], r2, rtol=1e-12, atol=1e-14)
        assert_allclose(
            row["log_evidence"], g_prior_log_bf(40, p, r2, 25.0), rtol=1e-12, atol=1e-12
        )
    # best first, probabilities normalised, uniform model prior
    assert np.all(np.diff(models["log_evidence"]) <= 0)
    assert_allclose(models["probability"].sum(), 1.0, rtol=1e-14, atol=0)
    w = np.exp(models["log_evidence"] - models["log_evidence"].max())
    assert_allclose(models["probability"], w / w.sum(), rtol=1e-13, atol=1e-300)


def test_include_keeps_terms_in_every_model_and_default_g_is_n() -> None:
    frame, formula = small_problem(n=30, q=4)
    res = duolm.bma(formula, frame, include=["x3"])
    assert res.g == 30.0 and res.n_models == 8
    assert all("x3" in t and "Intercept" in t for t in res.models["terms"])
    ref = brute_force(frame, 4)
    for _, row in res.models.iterrows():
        r2, _ = ref[key(row["terms"])]
        p = len(key(row["terms"]))
        assert_allclose(
            row["log_evidence"], g_prior_log_bf(30, p, r2, 30.0), rtol=1e-12, atol=1e-12
        )
    assert res.inclusion_probabilities["x3"] == 1.0


def test_beta_binomial_model_prior() -> None:
    frame, formula = small_problem(n=30, q=5)
    res = duolm.bma(formula, frame, model_prior="beta-binomial")
    m = res.models
    k = m["k"].to_numpy() - 1
    # Beta(1, 1) on the inclusion probability: P(model) = 1 / ((q + 1) C(q, k))
    logp = m["log_evidence"] - np.log(6.0) - np.log(special.comb(5, k))
    w = np.exp(logp - logp.max())
    assert_allclose(m["probability"], w / w.sum(), rtol=1e-12, atol=1e-300)


def test_compiled_and_python_kernels_agree(tmp_path: Path) -> None:
    """The same kernels run as plain Python (NUMBA_DISABLE_JIT=1) in a subprocess."""
    frame, formula = small_problem(n=35, q=5, seed=3)
    path = tmp_path / "frame.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    frame = pd.read_csv(path)
    code = (
        "import json, sys, pandas as pd, numpy as np\n"
        "import duolm\n"
        f"frame = pd.read_csv({str(path)!r})\n"
        "out = {}\n"
        "for prior in ('g-prior', 'hyper-g', 'zellner-siow', 'hyper-g/n', 'eb-local'):\n"
        f"    r = duolm.bma({formula!r}, frame, prior=prior)\n"
        "    out[prior] = [r.models['log_evidence'].tolist(), r.models['rsquared'].tolist(),\n"
        "                  [list(t) for t in r.models['terms']], r.params.tolist(),\n"
        "                  r.bse.tolist()]\n"
        f"r = duolm.bma({formula!r}, frame, max_enumerate=0, iterations=300, seed=5)\n"
        "out['mc3'] = [r.models['log_evidence'].tolist(), r.visits.tolist()]\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    plain = json.loads(proc.stdout)
    for prior in ("g-prior", "hyper-g", "zellner-siow", "hyper-g/n", "eb-local"):
        r = duolm.bma(formula, frame, prior=prior)
        assert [list(t) for t in r.models["terms"]] == plain[prior][2]
        assert_allclose(r.models["log_evidence"], plain[prior][0], rtol=1e-12, atol=1e-12)
        assert_allclose(r.models["rsquared"], plain[prior][1], rtol=1e-12, atol=1e-14)
        assert_allclose(r.params, plain[prior][3], rtol=1e-12, atol=1e-14)
        assert_allclose(r.bse, plain[prior][4], rtol=1e-12, atol=0)
    r = duolm.bma(formula, frame, max_enumerate=0, iterations=300, seed=5)
    assert_allclose(r.models["log_evidence"], plain["mc3"][0], rtol=1e-12, atol=1e-12)
    assert r.visits.tolist() == plain["mc3"][1]


# ---------------------------------------------------------------- evidences


def _log_evidence(prior: str, n: int, p: int, r2: float) -> np.ndarray:
    out = np.empty(8)
    bk.kernels()["log_evidence"](bm.PRIORS[prior], float(n), float(p), 1.0 - r2, 0.0, 3.0, out)
    return out


@pytest.mark.parametrize(
    ("n", "p", "r2"),
    [
        (20, 1, 0.05),
        (47, 3, 0.6),
        (47, 15, 0.87),
        (1000, 5, 0.3),
        (100_000, 2, 0.002),
        (10**6, 8, 0.95),
    ],
)
def test_hyper_g_against_its_2f1_closed_form(n: int, p: int, r2: float) -> None:
    # LPMCB eq. 17: BF = (a - 2)/(p + a - 2) 2F1((n - 1)/2, 1; (p + a)/2; R^2), a = 3
    with mp.workdps(40):
        ref = mp.log(mp.mpf(1) / (p + 1)) + mp.log(
            mp.hyp2f1(mp.mpf(n - 1) / 2, 1, mp.mpf(p + 3) / 2, mp.mpf(r2))
        )
    assert_allclose(_log_evidence("hyper-g", n, p, r2)[0], float(ref), rtol=1e-12, atol=1e-12)


def _mp_mixture(prior: str, n: int, p: int, r2: float) -> tuple[float, float]:
    """log BF and E[g/(1+g)] by mpmath quadrature over g (40 digits)."""
    with mp.workdps(40):
        n_, p_, u = mp.mpf(n), mp.mpf(p), 1 - mp.mpf(r2)

        def bf(g):  # LPMCB eq. 5
            return (1 + g) ** ((n_ - 1 - p_) / 2) * (1 + g * u) ** (-(n_ - 1) / 2)

        if prior == "zellner-siow":  # g ~ InvGamma(1/2, n/2)

            def dens(g):
                return (
                    mp.sqrt(n_ / 2) / mp.gamma(mp.mpf(1) / 2) * g ** (-1.5) * mp.exp(-n_ / (2 * g))
                )
        else:  # hyper-g/n, a = 3: (a - 2)/(2n) (1 + g/n)^(-a/2)

            def dens(g):
                return 1 / (2 * n_) * (1 + g / n_) ** (-1.5)

        pts = [0, *(mp.mpf(10) ** e for e in range(-3, 13)), mp.inf]
        z = mp.quad(lambda g: bf(g) * dens(g), pts)
        m1 = mp.quad(lambda g: g / (1 + g) * bf(g) * dens(g), pts)
        return float(mp.log(z)), float(m1 / z)


@pytest.mark.parametrize("prior", ["zellner-siow", "hyper-g/n"])
@pytest.mark.parametrize(("n", "p", "r2"), [(20, 1, 0.05), (47, 4, 0.7), (5000, 10, 0.02)])
def test_mixtures_against_high_precision_quadrature(prior: str, n: int, p: int, r2: float) -> None:
    log_bf, et = _mp_mixture(prior, n, p, r2)
    got = _log_evidence(prior, n, p, r2)
    assert_allclose(got[0], log_bf, rtol=1e-12, atol=1e-12)
    assert_allclose(got[1], et, rtol=1e-11, atol=0)


def test_eb_local_and_fixed_g() -> None:
    n, p, r2 = 50, 3, 0.4
    F = (r2 / p) / ((1 - r2) / (n - 1 - p))
    g_hat = F - 1.0  # LPMCB eq. 9
    got = _log_evidence("eb-local", n, p, r2)
    assert_allclose(got[0], g_prior_log_bf(n, p, r2, g_hat), rtol=1e-14, atol=0)
    assert_allclose(got[1], g_hat / (1 + g_hat), rtol=1e-14, atol=0)
    # no evidence for the slopes: g = 0, the intercept-only model's evidence
    assert _log_evidence("eb-local", n, p, 0.01)[0] == 0.0


# ---------------------------------------------------------------- published inclusion probabilities

# R: data(UScrime, package = "MASS"); UScrime[, -2] <- log(UScrime[, -2])
#    crime.bic <- bas.lm(y ~ ., data = UScrime, n.models = 2^15, prior = "BIC",
#                        initprobs = "eplogp"); summary(crime.bic)
# (BAS's README and reference/summary.bas; modelprior defaults to beta.binomial(1, 1))
BAS_BIC = [0.9335117, 0.3276563, 0.9910219, 0.7246635, 0.4602481, 0.2935326, 0.3298168]
BAS_BIC += [0.4962869, 0.8346412, 0.3481266, 0.7752102, 0.5253694, 0.9992058, 0.9541470]
BAS_BIC += [0.5432686]

# blma (Greenaway & Ormerod), tests/testthat/test-blma-UScrime.R: UScrime with every column
# but So and y logged, modelprior = "uniform"; liang_g1 is the hyper-g (a = 3) by GSL's 2F1,
# liang_g_n_appell the hyper-g/n by Appell's F1, zellner_siow_gauss_laguerre the Zellner-Siow.
BLMA = {
    "hyper-g": [
        0.6592570082818343,
        0.2551890195947963,
        0.8623073076292519,
        0.6920362397961507,
        0.4460647456912883,
        0.2306155050885771,
        0.3455094697420374,
        0.5734193328978876,
        0.3765879959676905,
        0.2706204512952343,
        0.5124771409697690,
        0.2445691137122302,
        0.9950499664783635,
        0.8387376358181808,
        0.2549263051824415,
    ],
    "hyper-g/n": [
        0.6510317307247586,
        0.2291245644515895,
        0.8651014024703148,
        0.6951167568300936,
        0.4252167906333386,
        0.2025875318978383,
        0.3258937597030980,
        0.5663482122162754,
        0.3560815607057162,
        0.2429056433304466,
        0.4974513113404140,
        0.2163153102625932,
        0.9966071300164177,
        0.8454731057912949,
        0.2265273203490445,
    ],
    "zellner-siow": [
        0.6529769401655269,
        0.2267683042922874,
        0.8679006779518879,
        0.6958693064404211,
        0.4227195813764282,
        0.1997499011463117,
        0.3232070948482000,
        0.5673433815457235,
        0.3556018636146491,
        0.2408930357989732,
        0.4988904773514005,
        0.2135955436462610,
        0.9969385837823613,
        0.8482357484619247,
        0.2236271676913612,
    ],
}
# blma's BIC on the same data (its first UScrime test), for the R^2 of all 2^15 models
BLMA_BIC = [
    0.7086661153970550,
    0.1906278707126815,
    0.9207138264989706,
    0.7253039423829655,
    0.3701199526247380,
    0.1582273002726970,
    0.2705746685548234,
    0.6064309892368921,
    0.3692402458531630,
    0.2192145020585733,
    0.5583788608712796,
    0.1738658933193491,
    0.9992269387743786,
    0.9027057249464372,
    0.1763387397295991,
]


def _bic_inclusion(res: duolm.BMAResults, model_prior: str) -> np.ndarray:
    """Inclusion probabilities with BIC's evidence, -(n log(1 - R^2) + k log n)/2, from our R^2."""
    m = res.models
    n, k = res.nobs, m["k"].to_numpy()
    lm = -0.5 * (n * np.log1p(-m["rsquared"].to_numpy()) + k * np.log(n))
    lm = lm + bm._log_model_prior(model_prior, 15, k - 1)
    w = np.exp(lm - lm.max())
    out: np.ndarray = (w / w.sum()) @ res.indicators.to_numpy(dtype=float)
    return out


def test_uscrime_rsquared_against_bas_and_blma_bic() -> None:
    res = duolm.bma(FORMULA15, uscrime(log_y=True))
    assert res.n_models == 2**15
    # BAS prints 7 digits
    assert_allclose(_bic_inclusion(res, "beta-binomial")[1:], BAS_BIC, rtol=0, atol=6e-8)
    res = duolm.bma(FORMULA15, uscrime(log_y=False))
    assert_allclose(_bic_inclusion(res, "uniform")[1:], BLMA_BIC, rtol=0, atol=1e-11)


@pytest.mark.parametrize(
    ("prior", "atol"), [("hyper-g", 1e-11), ("hyper-g/n", 5e-9), ("zellner-siow", 5e-9)]
)
def test_uscrime_inclusion_probabilities_against_blma(prior: str, atol: float) -> None:
    # blma's hyper-g/n (Appell F1) and Zellner-Siow (Gauss-Laguerre) hold about 1e-9: its
    # own trapezoid hyper-g/n differs from its Appell one by 3e-7; our quadratures are
    # checked to 1e-12 against mpmath above.
    res = duolm.bma(FORMULA15, uscrime(log_y=False), prior=prior)
    got = res.inclusion_probabilities
    assert got["Intercept"] == 1.0
    assert_allclose(got[TERMS15].to_numpy(), BLMA[prior], rtol=0, atol=atol)


# ---------------------------------------------------------------- MC3


ITER = 300_000


@pytest.mark.slow
def test_mc3_converges_to_the_enumeration_on_15_terms() -> None:
    """UScrime's posterior is diffuse (the best of 2^15 models holds 2%): at 300,000 steps
    the chain has visited models holding ~99% of the probability."""
    data = uscrime(log_y=True)
    exact = duolm.bma(FORMULA15, data, prior="hyper-g")
    chain = duolm.bma(FORMULA15, data, prior="hyper-g", max_enumerate=10, iterations=ITER, seed=11)
    assert chain.sampled and chain.iterations == ITER
    assert int(chain.visits.sum()) == ITER
    assert 100 < chain.n_models < 2**15
    assert "MC3" in chain.summary() and f"{chain.n_models} distinct" in chain.summary()
    # renormalised exact evidences over the visited models: off by the unvisited mass
    pe = dict(zip(exact.models["terms"], exact.models["probability"], strict=True))
    visited = np.array([pe[t] for t in chain.models["terms"]])
    assert visited.sum() > 0.98
    assert_allclose(chain.inclusion_probabilities, exact.inclusion_probabilities, rtol=0, atol=0.01)
    # the same evidences as the enumeration, model by model
    ev = dict(zip(exact.models["terms"], exact.models["log_evidence"], strict=True))
    got = np.array([ev[t] for t in chain.models["terms"]])
    assert_allclose(chain.models["log_evidence"], got, rtol=1e-12, atol=1e-12)
    # visit frequencies estimate the probabilities too (stated: 0.003 at 300,000 steps)
    freq = chain.visits / chain.visits.sum()
    assert_allclose(freq[:5], visited[:5], rtol=0, atol=0.003)


# ---------------------------------------------------------------- mixtures of coefficients


def _nig_model(frame: pd.DataFrame, cols: tuple[int, ...], t: float):
    """Posterior of one model under the g-prior (flat intercept, 1/sigma^2) by the normal
    equations of the raw design: precision X^T X + diag(0, Xc^T Xc / g), mean 0.

    Returns the location, the Student t scale of each coefficient and the dof n - 1.
    """
    y = frame["y"].to_numpy()
    n = len(y)
    Xs = frame[[f"x{j}" for j in cols]].to_numpy()
    X = np.column_stack([np.ones(n), Xs])
    Xc = Xs - Xs.mean(axis=0)
    g = t / (1 - t)
    Lam = np.zeros((len(cols) + 1, len(cols) + 1))
    Lam[1:, 1:] = Xc.T @ Xc / g
    prec = X.T @ X + Lam
    m = np.linalg.solve(prec, X.T @ y)
    b2 = y @ y - m @ prec @ m  # 2 b_n
    df = n - 1  # 1 / sigma^2 and the flat intercept: a_n = (n - 1)/2
    scale = np.sqrt(b2 / df * np.diag(np.linalg.inv(prec)))
    return m, scale, df


def test_params_bse_and_intervals_of_the_fixed_g_mixture() -> None:
    frame, formula = small_problem(n=30, q=3, seed=7)
    g = 12.0
    res = duolm.bma(formula, frame, g=g)
    t = g / (1 + g)
    loc = {name: [] for name in res.terms}
    scale = {name: [] for name in res.terms}
    wt = {name: [] for name in res.terms}
    zero = dict.fromkeys(res.terms, 0.0)
    for _, row in res.models.iterrows():
        cols = key(row["terms"])
        m, s, df = _nig_model(frame, cols, t)
        names = ["Intercept", *(f"x{j}" for j in cols)]
        for name in res.terms:
            if name in names:
                i = names.index(name)
                loc[name].append(m[i])
                scale[name].append(s[i])
                wt[name].append(row["probability"])
            else:
                zero[name] += row["probability"]
    ci = res.credible_interval(0.1)
    for name in res.terms:
        L, S, W = map(np.array, (loc[name], scale[name], wt[name]))
        mean = W @ L
        var = W @ (S**2 * df / (df - 2) + L**2) - mean**2
        assert_allclose(res.params[name], mean, rtol=1e-12, atol=1e-14)
        assert_allclose(res.bse[name], np.sqrt(var), rtol=1e-10, atol=0)

        def cdf(x: float, L=L, S=S, W=W, name=name) -> float:
            return float(W @ stats.t.cdf((x - L) / S, df)) + (zero[name] if x >= 0 else 0.0)

        lo, hi = ci.loc[name, "lower"], ci.loc[name, "upper"]
        if lo != 0.0:
            assert_allclose(cdf(lo), 0.05, rtol=1e-10, atol=0)
        else:  # the point mass at zero straddles the quantile
            assert cdf(-1e-300) <= 0.05 <= cdf(0.0)
        if hi != 0.0:
            assert_allclose(cdf(hi), 0.95, rtol=1e-10, atol=0)


def test_prediction_of_a_single_model_is_the_nig_predictive() -> None:
    frame, formula = small_problem(n=30, q=2, seed=2)
    g = 30.0
    res = duolm.bma(formula, frame, g=g, include=["x0", "x1"])
    assert res.n_models == 1
    new = pd.DataFrame({"x0": [0.3, -1.0], "x1": [2.0, 0.1]}, index=["a", "b"])
    pred = res.predict(new, alpha=0.2)
    assert list(pred.columns) == list(bm._PRED_COLUMNS) and list(pred.index) == ["a", "b"]
    t = g / (1 + g)
    y = frame["y"].to_numpy()
    n = len(y)
    X = np.column_stack([np.ones(n), frame[["x0", "x1"]].to_numpy()])
    Xc = X[:, 1:] - X[:, 1:].mean(axis=0)
    Lam = np.zeros((3, 3))
    Lam[1:, 1:] = Xc.T @ Xc / g
    prec = X.T @ X + Lam
    m = np.linalg.solve(prec, X.T @ y)
    s2 = (y @ y - m @ prec @ m) / (n - 1)
    X0 = np.column_stack([np.ones(2), new.to_numpy()])
    se_scale = np.sqrt(s2 * np.einsum("ij,ij->i", X0, np.linalg.solve(prec, X0.T).T))
    q = stats.t.ppf(0.9, n - 1)
    assert_allclose(pred["mean"], X0 @ m, rtol=1e-12, atol=0)
    assert_allclose(pred["mean_se"], se_scale * math.sqrt((n - 1) / (n - 3)), rtol=1e-10, atol=0)
    assert_allclose(pred["mean_ci_upper"], X0 @ m + q * se_scale, rtol=1e-11, atol=0)
    obs = np.sqrt(se_scale**2 + s2)
    assert_allclose(pred["obs_ci_lower"], X0 @ m - q * obs, rtol=1e-11, atol=0)
    assert t > 0  # the shrinkage enters through prec (Xc^T Xc / g)


@pytest.mark.parametrize("prior", ["g-prior", "hyper-g", "zellner-siow", "hyper-g/n", "eb-local"])
def test_walked_moments_equal_the_mixture_components(prior: str) -> None:
    """params/bse of an enumeration come from a second Gray-code walk (every model); the
    components behind the intervals (models and nodes of g) must give the same moments."""
    frame, formula = small_problem(n=40, q=6, seed=2)
    res = duolm.bma(formula, frame, prior=prior, include=["x5"])
    walked, mixed = res._moments, res._mixture.moments
    assert_allclose(walked[0], mixed[0], rtol=0, atol=1e-13 * float(np.max(mixed[1])))
    assert_allclose(walked[1], mixed[1], rtol=1e-13, atol=0)


def test_mixture_params_average_the_posterior_shrinkage() -> None:
    """Under hyper-g the slopes' posterior mean is E[g/(1+g) | model] times OLS (LPMCB eq. 19)."""
    frame, formula = small_problem(n=25, q=2, seed=4)
    res = duolm.bma(formula, frame, prior="hyper-g")
    ref = brute_force(frame, 2)
    n = 25
    mean = np.zeros(2)
    for _, row in res.models.iterrows():
        cols = key(row["terms"])
        p = len(cols)
        if not p:
            continue
        r2 = ref[cols][0]

        def dens(t: float, p: int = p, r2: float = r2) -> float:
            # the hyper-g posterior of t = g/(1+g): (1-t)^((p+a)/2-2) (1 - t R^2)^(-(n-1)/2)
            return (1 - t) ** (0.5 * (p + 3) - 2) * (1 - t * r2) ** (-0.5 * (n - 1))

        z = integrate.quad(dens, 0, 1, epsabs=0, epsrel=1e-13)[0]
        et = integrate.quad(lambda t, d=dens: t * d(t), 0, 1, epsabs=0, epsrel=1e-13)[0] / z
        y = frame["y"].to_numpy()
        X = frame[[f"x{j}" for j in cols]].to_numpy()
        b = np.linalg.lstsq(X - X.mean(axis=0), y - y.mean(), rcond=None)[0]
        for i, j in enumerate(cols):
            mean[j] += row["probability"] * et * b[i]
    assert_allclose(res.params[["x0", "x1"]], mean, rtol=1e-10, atol=0)
    ci = res.credible_interval()
    assert np.all(ci["lower"] <= res.params) and np.all(res.params <= ci["upper"])
    pred = res.predict(frame.head(3))
    assert np.all(pred["obs_ci_lower"] < pred["mean_ci_lower"])
    assert np.all(pred["mean_ci_lower"] < pred["mean"]) and np.all(
        pred["mean"] < pred["mean_ci_upper"]
    )


# ---------------------------------------------------------------- results and errors


def test_best_summary_and_frames() -> None:
    frame, formula = small_problem(n=30, q=3)
    res = duolm.bma(formula, frame, prior="zellner-siow")
    assert list(res.models.columns) == ["terms", "log_evidence", "probability", "rsquared", "k"]
    assert res.best(2).equals(res.models.head(2))
    assert list(res.indicators.columns) == list(res.terms)
    text = res.summary()
    assert "zellner-siow" in text and "all 8 models enumerated" in text
    intercept_only = res.models[res.models["k"] == 1]
    assert intercept_only["log_evidence"].item() == 0.0
    with pytest.raises(ValueError, match="n must be a positive integer"):
        res.best(0)
    with pytest.raises(ValueError, match="alpha"):
        res.credible_interval(1.5)
    line = repr(res)
    assert "\n" not in line and line.startswith("<BMAResults 'y ~ x0 + x1 + x2': 30 rows")
    assert "3 free terms" in line and "zellner-siow" in line and "8 models enumerated" in line
    page = res._repr_html_()
    assert page.count("<table") == 2 and "P(included)" in page and "<script" not in page
    fixed = duolm.bma(formula, frame, g=7.0)
    assert "(g=7)" in repr(fixed)


def test_bad_input_is_refused_by_name() -> None:
    frame, formula = small_problem(n=30, q=2)
    with pytest.raises(PriorError, match="prior must be one of"):
        duolm.bma(formula, frame, prior="hyperg")  # type: ignore[arg-type]
    with pytest.raises(PriorError, match="takes no g"):
        duolm.bma(formula, frame, prior="hyper-g", g=3.0)
    with pytest.raises(PriorError, match="g must be a positive"):
        duolm.bma(formula, frame, g=-1.0)
    with pytest.raises(PriorError, match="model_prior"):
        duolm.bma(formula, frame, model_prior="poisson")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'x9'"):
        duolm.bma(formula, frame, include=["x9"])
    with pytest.raises(DataError, match="needs an intercept"):
        duolm.bma("y ~ x0 + x1 - 1", frame)
    exact = frame.assign(y=1.0 + 2.0 * frame["x0"])
    with pytest.raises(DataError, match="fits y exactly"):
        duolm.bma(formula, exact)


def test_aliased_terms_get_no_probability() -> None:
    frame, _ = small_problem(n=30, q=2)
    frame = frame.assign(x2=2.0 * frame["x0"] - frame["x1"])
    res = duolm.bma("y ~ x0 + x1 + x2", frame)
    m = res.models
    full = m[m["k"] == 4]
    assert full["probability"].item() == 0.0 and full["log_evidence"].item() == -math.inf
    assert_allclose(m["probability"].sum(), 1.0, rtol=1e-14, atol=0)


@pytest.mark.slow
def test_twenty_terms_enumerate_in_seconds() -> None:
    import time

    rng = np.random.default_rng(0)
    n, q = 200, 20
    X = rng.normal(size=(n, q))
    y = X[:, :4].sum(axis=1) * 0.3 + rng.normal(size=n)
    stat = SqrtStat.from_data(np.column_stack([np.ones(n), X]), y)
    terms = ["Intercept", *(f"x{j}" for j in range(q))]
    bm.average(stat, terms, 0, max_enumerate=5)  # compile outside the clock
    start = time.perf_counter()
    res = bm.average(stat, terms, 0)
    elapsed = time.perf_counter() - start
    assert res.n_models == 2**20
    assert elapsed < 10.0, elapsed
    # spot check: a few models against their own fits
    ys = y - y.mean()
    for i in (0, 1, 777, 2**19):
        cols = [j for j, name in enumerate(terms[1:]) if name in res.models["terms"][i]]
        Xc = X[:, cols] - X[:, cols].mean(axis=0)
        r = ys - Xc @ np.linalg.lstsq(Xc, ys, rcond=None)[0] if cols else ys
        assert_allclose(res.models["rsquared"][i], 1 - (r @ r) / (ys @ ys), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- data of any kind, one pass


def test_streamed_and_in_memory_data_give_the_same_averages(tmp_path: Path) -> None:
    data, formula = small_problem(n=80, q=6, seed=5)
    memory = duolm.bma(formula, data, prior="hyper-g")
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False, float_format="%.17g")
    chunks = [data.iloc[i : i + 25] for i in range(0, len(data), 25)]
    for other in (
        duolm.bma(formula, path, prior="hyper-g", batch_size=12),
        duolm.bma(formula, iter(chunks), prior="hyper-g"),
    ):
        assert list(other.models["terms"]) == list(memory.models["terms"])
        assert_allclose(
            other.models["log_evidence"], memory.models["log_evidence"], rtol=1e-10, atol=1e-10
        )
        assert_allclose(
            other.inclusion_probabilities, memory.inclusion_probabilities, rtol=1e-10, atol=1e-12
        )
        assert_allclose(other.params, memory.params, rtol=1e-10, atol=1e-12)
        assert_allclose(other.bse, memory.bse, rtol=1e-10, atol=0)


def test_a_dask_dataframe_is_averaged_from_its_partitions() -> None:
    dd = pytest.importorskip("dask.dataframe")
    frame, formula = small_problem(n=60, q=4, seed=9)
    memory = duolm.bma(formula, frame, prior="zellner-siow")
    dask = duolm.bma(formula, dd.from_pandas(frame, npartitions=3), prior="zellner-siow")
    assert_allclose(
        dask.models["log_evidence"], memory.models["log_evidence"], rtol=1e-10, atol=1e-10
    )
    assert_allclose(dask.bse, memory.bse, rtol=1e-9, atol=0)


# ---------------------------------------------------------------- pictures


def test_model_space_and_inclusion_plots() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame, formula = small_problem(n=40, q=4, seed=1)
    res = duolm.bma(formula, frame, prior="hyper-g")
    odds = res.log_posterior_odds
    assert odds[0] == 0.0
    assert_allclose(
        np.exp(odds), res.models["probability"] / res.models["probability"][0], rtol=1e-12, atol=0
    )
    ax = duolm.plots.model_space(res, top=6)
    cells = ax.images[0].get_array()
    assert cells.shape == (6, 4)
    assert_allclose(
        cells.filled(np.nan)[0][res.indicators.iloc[0, 1:].to_numpy()], 0.0, rtol=0, atol=0
    )
    assert np.all(cells.mask == ~res.indicators.iloc[:6, 1:].to_numpy())
    ax2 = duolm.plots.inclusion(res)
    widths = [p.get_width() for p in ax2.patches]
    assert_allclose(widths, res.inclusion_probabilities.iloc[1:], rtol=0, atol=0)
    with pytest.raises(ValueError, match="top must be a positive integer"):
        duolm.plots.model_space(res, top=0)
    plt.close("all")


@pytest.mark.parametrize("level", [0.1, 3.0, 1e6])
def test_a_constant_response_away_from_zero_has_nothing_to_explain(level: float) -> None:
    """Only y == 0 was refused: 3.0 left a centred sum of squares of rounding, and every
    R² was rounding over rounding (model probabilities 0.55 / 0.20 / 0.19, silently)."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=8), "z": rng.normal(size=8), "y": level})
    with pytest.raises(DataError, match="y is constant"):
        duolm.bma("y ~ x + z", data)
