"""duolm.trajectory: every row is the batch posterior, and the predictive made before the row.

References are computed here, independently of duolm's square-root core:
direct NIG formulas with numpy.linalg (small, well-conditioned data), the
same formulas in 50-digit mpmath (numerically hard data), scipy's Student t
for the predictive, and DESIGN.md's evidence formula.
"""

from __future__ import annotations

import importlib
import math
import sys
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import duolm
from duolm import NIG
from duolm.bayesian import default_prior
from duolm.errors import DataError, PriorError

traj_mod = sys.modules["duolm.bayesian._trajectory"]
kernel_mod = importlib.import_module("duolm.core._givens")
trajectory = duolm.trajectory

FLOAT_COLS = ["mean_sigma2", "sd_sigma2", "a", "b"]
PRED_COLS = ["pred_mean", "pred_scale", "pred_lower", "pred_upper", "pred_logpdf"]
FLAG_COLS = ["proper", "has_mean_sigma2", "has_sd_sigma2", "pred_proper"]


@dataclass
class StandIn:
    """Any object with m, V, a, b is accepted as a prior."""

    m: Any
    V: Any
    a: float
    b: float


def _data(seed: int, n: int = 60, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if k == 1:
        X = rng.normal(loc=1.0, size=(n, 1))
    else:
        X = np.column_stack([np.ones(n), rng.normal(size=(n, k - 1))])
    y = X @ rng.normal(size=k) + rng.normal(scale=1.5, size=n)
    return X, y


def _random_prior(seed: int, k: int = 3) -> tuple[np.ndarray, np.ndarray, float, float]:
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(k, k))
    V0 = L @ L.T + 0.5 * np.eye(k)
    return rng.normal(size=k), V0, 0.7 + rng.uniform(), 0.5 + 2 * rng.uniform()


def _floats(row: pd.Series, cols: list[str]) -> np.ndarray:
    return np.asarray(row[cols], dtype=np.float64)


def _batch(m0, V0, a0, b0, X, y):  # type: ignore[no-untyped-def]
    """The NIG posterior of rows X, y by the textbook formulas (numpy.linalg)."""
    P0 = np.linalg.inv(V0)
    P = P0 + X.T @ X
    V = np.linalg.inv(P)
    m = V @ (P0 @ m0 + X.T @ y)
    a = a0 + len(y) / 2
    b = b0 + 0.5 * (y @ y + m0 @ P0 @ m0 - m @ P @ m)
    return m, V, a, b


# -------------------------------------------------------------- shape and names


def test_columns_are_fixed_and_do_not_depend_on_alpha() -> None:
    X, y = _data(0, n=20)
    t1 = trajectory(X=X, y=y, alpha=0.05)
    t2 = trajectory(X=X, y=y, alpha=0.2)
    expected = [
        "t",
        "m[x0]",
        "m[x1]",
        "m[x2]",
        "sd[x0]",
        "sd[x1]",
        "sd[x2]",
        *FLOAT_COLS,
        *PRED_COLS,
        *FLAG_COLS,
    ]
    assert list(t1.columns) == list(t2.columns) == expected
    assert list(t1.columns[7:]) == list(traj_mod.COLUMNS[1:])
    assert t1["t"].tolist() == list(range(1, 21))
    assert t1["proper"].dtype == bool and t1["a"].dtype == np.float64
    # alpha moves only the interval
    same = [c for c in expected if c not in ("pred_lower", "pred_upper")]
    pd.testing.assert_frame_equal(t1[same], t2[same])
    w1 = t1["pred_upper"] - t1["pred_lower"]
    w2 = t2["pred_upper"] - t2["pred_lower"]
    assert (w2 < w1)[np.isfinite(w1)].all()


def test_formula_terms_name_the_columns_and_dropped_rows_keep_their_labels() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=12), "y": rng.normal(size=12)})
    frame.loc[3, "x"] = np.nan
    out = trajectory("y ~ x + I(x**2)", frame)
    assert [c for c in out.columns if c.startswith(("m[", "sd["))] == [
        "m[Intercept]",
        "m[x]",
        "m[I(x ** 2)]",
        "sd[Intercept]",
        "sd[x]",
        "sd[I(x ** 2)]",
    ]
    assert 3 not in out.index and len(out) == 11
    assert out["t"].tolist() == list(range(1, 12))


# -------------------------------------------------------------- every row is a batch posterior


@pytest.mark.parametrize(("seed", "k"), [(0, 3), (1, 1), (2, 2), (3, 5)])
def test_every_row_equals_the_batch_posterior_and_the_predictive_before_it(
    seed: int, k: int
) -> None:
    X, y = _data(seed, k=k)
    m0, V0, a0, b0 = _random_prior(seed + 10, k=k)
    alpha = 0.1
    out = trajectory(X=X, y=y, prior=NIG(m0, V0, a0, b0), alpha=alpha)
    prev = (m0, V0, a0, b0)
    for t in range(1, len(y) + 1):
        row = out.iloc[t - 1]
        m, V, a, b = _batch(m0, V0, a0, b0, X[:t], y[:t])
        np.testing.assert_allclose(_floats(row, [f"m[x{j}]" for j in range(k)]), m, rtol=1e-10)
        np.testing.assert_allclose(row["a"], a, rtol=1e-15)
        np.testing.assert_allclose(row["b"], b, rtol=1e-10)
        assert row["proper"]
        if a > 1:
            sd = np.sqrt(b / (a - 1) * np.diag(V))
            np.testing.assert_allclose(
                _floats(row, [f"sd[x{j}]" for j in range(k)]), sd, rtol=1e-10
            )
            np.testing.assert_allclose(row["mean_sigma2"], b / (a - 1), rtol=1e-10)
            # the inverse gamma's own moments
            np.testing.assert_allclose(
                row["mean_sigma2"], stats.invgamma(a, scale=b).mean(), rtol=1e-10
            )
        if a > 2:
            np.testing.assert_allclose(
                row["sd_sigma2"], stats.invgamma(a, scale=b).std(), rtol=1e-10
            )
        # the one-step-ahead predictive for row t, from the posterior after t - 1 rows
        pm, pV, pa, pb = prev
        x = X[t - 1]
        dist = stats.t(df=2 * pa, loc=pm @ x, scale=math.sqrt(pb / pa * (1 + x @ pV @ x)))
        lower, upper = dist.interval(1 - alpha)
        np.testing.assert_allclose(row["pred_mean"], dist.mean(), rtol=1e-10)
        np.testing.assert_allclose(row["pred_scale"], dist.kwds["scale"], rtol=1e-10)
        np.testing.assert_allclose(
            [row["pred_lower"], row["pred_upper"]], [lower, upper], rtol=1e-10
        )
        np.testing.assert_allclose(row["pred_logpdf"], dist.logpdf(y[t - 1]), rtol=1e-10)
        assert row["pred_proper"]
        prev = (m, V, a, b)


def test_rows_agree_with_duolm_bayes_nig_updates() -> None:
    X, y = _data(5, n=40)
    prior = NIG.from_xi(np.diag([10000.0, 0.1, 0.1, 0.1]), 5)  # the lecture's tracking prior
    out = trajectory(X=X, y=y, prior=prior)
    for t in (1, 2, 7, 40):
        post = prior.update(X[:t], y[:t])
        row = out.iloc[t - 1]
        np.testing.assert_allclose(_floats(row, ["m[x0]", "m[x1]", "m[x2]"]), post.m, rtol=1e-10)
        np.testing.assert_allclose([row["a"], row["b"]], [post.a, post.b], rtol=1e-12)
        before = prior.update(X[: t - 1], y[: t - 1])
        np.testing.assert_allclose(
            row["pred_logpdf"], before.predictive_logpdf(X[t - 1], y[t - 1])[0], rtol=1e-10
        )


def test_sum_of_one_step_predictive_log_densities_is_the_log_evidence() -> None:
    X, y = _data(3, n=200)
    m0, V0, a0, b0 = _random_prior(4)
    out = trajectory(X=X, y=y, prior=NIG(m0, V0, a0, b0))
    _, Vn, an, bn = _batch(m0, V0, a0, b0, X, y)
    # DESIGN.md: -n/2 log(2 pi) + (log|V_n| - log|V_0|)/2 + a_0 log b_0 - a_n log b_n
    #            + log Gamma(a_n) - log Gamma(a_0)
    evidence = (
        -len(y) / 2 * math.log(2 * math.pi)
        + 0.5 * (np.linalg.slogdet(Vn)[1] - np.linalg.slogdet(V0)[1])
        + a0 * math.log(b0)
        - an * math.log(bn)
        + special.gammaln(an)
        - special.gammaln(a0)
    )
    np.testing.assert_allclose(out["pred_logpdf"].sum(), evidence, rtol=1e-11)
    np.testing.assert_allclose(
        out["pred_logpdf"].sum(), NIG(m0, V0, a0, b0).update(X, y).log_evidence, rtol=1e-11
    )
    # and at every step: the running sum is the evidence of the rows so far
    prior = NIG(m0, V0, a0, b0)
    for t in (1, 10, 57):
        np.testing.assert_allclose(
            out["pred_logpdf"].iloc[:t].sum(), prior.update(X[:t], y[:t]).log_evidence, rtol=1e-11
        )


def test_default_prior_is_the_one_bayes_uses() -> None:
    X, y = _data(6, n=30)
    out = trajectory(X=X, y=y)
    explicit = trajectory(X=X, y=y, prior=default_prior(3))
    pd.testing.assert_frame_equal(out, explicit)
    fit = duolm.bayes(X=X, y=y)
    np.testing.assert_allclose(
        _floats(out.iloc[-1], ["m[x0]", "m[x1]", "m[x2]"]), fit.params, rtol=1e-10
    )
    np.testing.assert_allclose(
        _floats(out.iloc[-1], ["sd[x0]", "sd[x1]", "sd[x2]"]), fit.bse, rtol=1e-10
    )


def test_a_stand_in_prior_is_refused_as_bayes_refuses_it() -> None:
    # one prior check for every entry: an object with m, V, a, b is not an NIG
    X, y = _data(7, n=25)
    m0, V0, a0, b0 = _random_prior(8)
    for fit in (trajectory, duolm.bayes):
        with pytest.raises(TypeError, match="prior must be an NIG, got StandIn"):
            fit(X=X, y=y, prior=StandIn(m0, V0, a0, b0))


# -------------------------------------------------------------- where quantities do not exist


def _assert_nan_explained(out: pd.DataFrame) -> None:
    """Every NaN is where its flag is False, and only there."""
    k = sum(c.startswith("m[") for c in out.columns)
    terms = [c[2:-1] for c in out.columns if c.startswith("m[")]
    assert len(terms) == k
    for c in [f"m[{t}]" for t in terms]:
        np.testing.assert_array_equal(out[c].isna(), ~out["proper"])
    for c in [f"sd[{t}]" for t in terms] + ["mean_sigma2"]:
        np.testing.assert_array_equal(out[c].isna(), ~out["has_mean_sigma2"])
    np.testing.assert_array_equal(out["sd_sigma2"].isna(), ~out["has_sd_sigma2"])
    for c in PRED_COLS:
        np.testing.assert_array_equal(out[c].isna(), ~out["pred_proper"])
    assert not out["a"].isna().any()
    assert (out["b"].isna() <= ~out["proper"]).all()
    # the flags are the documented conditions
    np.testing.assert_array_equal(out["has_mean_sigma2"], out["proper"] & (out["a"] > 1))
    np.testing.assert_array_equal(out["has_sd_sigma2"], out["proper"] & (out["a"] > 2))
    np.testing.assert_array_equal(out["pred_proper"].to_numpy()[1:], out["proper"].to_numpy()[:-1])


def test_reference_prior_rows_before_k_are_improper_then_ols() -> None:
    X, y = _data(9, n=40)
    k = 3
    out = trajectory(X=X, y=y, prior=NIG.reference(k), alpha=0.05)
    _assert_nan_explained(out)
    assert out["proper"].tolist() == [False] * k + [True] * (40 - k)  # a_t = (t - k)/2 > 0
    assert out["has_mean_sigma2"].tolist() == [False] * (k + 2) + [True] * (40 - k - 2)
    assert out["has_sd_sigma2"].tolist() == [False] * (k + 4) + [True] * (40 - k - 4)
    assert out["pred_proper"].tolist() == [False] * (k + 1) + [True] * (40 - k - 1)
    assert out["b"].iloc[: k - 1].isna().all()  # the factor is singular before k rows
    np.testing.assert_allclose(out["a"], (np.arange(1, 41) - k) / 2, rtol=0, atol=0)
    for t in range(k + 1, 41):
        beta, ssr, *_ = np.linalg.lstsq(X[:t], y[:t], rcond=None)
        row = out.iloc[t - 1]
        np.testing.assert_allclose(_floats(row, ["m[x0]", "m[x1]", "m[x2]"]), beta, rtol=1e-10)
        np.testing.assert_allclose(row["b"], ssr[0] / 2, rtol=1e-10)
    # the predictive interval for row t + 1 from t rows is the OLS prediction interval
    for t in range(k + 1, 40):
        fit = duolm.ols(X=X[:t], y=y[:t])
        pred = fit.predict(X[t : t + 1], alpha=0.05)
        row = out.iloc[t]
        np.testing.assert_allclose(row["pred_mean"], pred["mean"].iloc[0], rtol=1e-10)
        np.testing.assert_allclose(row["pred_lower"], pred["obs_ci_lower"].iloc[0], rtol=1e-10)
        np.testing.assert_allclose(row["pred_upper"], pred["obs_ci_upper"].iloc[0], rtol=1e-10)


def test_small_a_prior_flags_mean_and_sd_of_sigma2() -> None:
    X, y = _data(11, n=12)
    m0, V0, _, b0 = _random_prior(12)
    out = trajectory(X=X, y=y, prior=NIG(m0, V0, 0.2, b0))  # a_t = 0.2 + t/2
    _assert_nan_explained(out)
    assert out["proper"].all() and out["pred_proper"].all()
    assert out["has_mean_sigma2"].tolist() == [False, True, *[True] * 10]
    assert out["has_sd_sigma2"].tolist() == [False] * 3 + [True] * 9


def test_collinear_columns_keep_the_reference_posterior_improper() -> None:
    X, y = _data(13, n=30)
    Xc = np.column_stack([X, 2.0 * X[:, 1]])
    out = trajectory(X=Xc, y=y, prior=NIG.reference(4))
    _assert_nan_explained(out)
    assert not out["proper"].any() and not out["pred_proper"].any()
    # a proper prior regularises the same design: every quantity exists
    proper = trajectory(X=Xc, y=y, prior=NIG(np.zeros(4), np.eye(4), 3.0, 1.0))
    _assert_nan_explained(proper)
    assert proper["proper"].all()


# -------------------------------------------------------------- numerically hard data


def _mp_batch(m0, V0, a0, b0, X, y, x_next=None):  # type: ignore[no-untyped-def]
    """The batch posterior in 50-digit arithmetic: no cancellation survives.

    ``V0=None`` is the reference prior (``V0^-1 = 0``). With ``x_next``, also
    the predictive's location ``m' x`` and ``x' V x``.
    """
    with mpmath.workdps(50):
        k = X.shape[1]
        P0 = mpmath.zeros(k, k) if V0 is None else mpmath.matrix(V0.tolist()) ** -1
        Xm = mpmath.matrix(X.tolist())
        ym = mpmath.matrix(y.tolist())
        m0m = mpmath.matrix(m0.tolist())
        P = P0 + Xm.T * Xm
        V = P**-1
        m = V * (P0 * m0m + Xm.T * ym)
        a = mpmath.mpf(a0) + mpmath.mpf(len(y)) / 2
        b = mpmath.mpf(b0) + ((ym.T * ym)[0] + (m0m.T * P0 * m0m)[0] - (m.T * P * m)[0]) / 2
        out = (
            np.array([float(m[j]) for j in range(k)]),
            np.array([[float(V[i, j]) for j in range(k)] for i in range(k)]),
            float(a),
            float(b),
        )
        if x_next is None:
            return out
        xm = mpmath.matrix(x_next.tolist())
        return (*out, float((m.T * xm)[0]), float((xm.T * V * xm)[0]))


@pytest.mark.parametrize("reference", [False, True])
def test_hard_data_agrees_with_extended_precision_batch(reference: bool) -> None:
    rng = np.random.default_rng(21)
    n = 150
    x1 = 1e4 + rng.normal(size=n)
    x2 = 1e4 + rng.normal(size=n)
    X = np.column_stack([np.ones(n), x1, x2])  # condition number about 2e8
    y = 1e6 + 3.0 * (x1 - 1e4) - 2.0 * (x2 - 1e4) + rng.normal(size=n)
    k = 3
    if reference:
        m0, V0, a0, b0 = np.zeros(k), None, -k / 2, 0.0
        prior = NIG.reference(k)
    else:
        m0, V0, a0, b0 = np.array([1e6, 0.0, 0.0]), np.diag([1e12, 1e4, 1e4]), 2.0, 3.0
        prior = NIG(m0, V0, a0, b0)
    out = trajectory(X=X, y=y, prior=prior)
    _assert_nan_explained(out)
    for t in (8, 9, 20, 50, 100, 149):
        m, V, a, b, loc, h = _mp_batch(m0, V0, a0, b0, X[:t], y[:t], x_next=X[t])
        row = out.iloc[t - 1]
        np.testing.assert_allclose(_floats(row, ["m[x0]", "m[x1]", "m[x2]"]), m, rtol=1e-9)
        np.testing.assert_allclose(row["b"], b, rtol=1e-9)
        np.testing.assert_allclose(row["a"], a, rtol=1e-15)
        np.testing.assert_allclose(
            _floats(row, ["sd[x0]", "sd[x1]", "sd[x2]"]),
            np.sqrt(b / (a - 1) * np.diag(V)),
            rtol=1e-9,
        )
        np.testing.assert_allclose(row["mean_sigma2"], b / (a - 1), rtol=1e-9)
        np.testing.assert_allclose(row["sd_sigma2"], b / ((a - 1) * math.sqrt(a - 2)), rtol=1e-9)
        # the predictive for row t + 1, from the posterior after t rows
        dist = stats.t(df=2 * a, loc=loc, scale=math.sqrt(b / a * (1 + h)))
        nxt = out.iloc[t]
        np.testing.assert_allclose(nxt["pred_mean"], dist.mean(), rtol=1e-9)
        np.testing.assert_allclose(nxt["pred_scale"], dist.kwds["scale"], rtol=1e-9)
        np.testing.assert_allclose(
            [nxt["pred_lower"], nxt["pred_upper"]], dist.interval(0.95), rtol=1e-9
        )
        np.testing.assert_allclose(nxt["pred_logpdf"], dist.logpdf(y[t]), rtol=1e-9)


# -------------------------------------------------------------- compiled and fallback paths


@pytest.mark.parametrize(
    ("prior", "n", "k"),
    [
        ("proper", 5000, 4),
        ("reference", 300, 4),
        ("small_a", 50, 4),
        ("proper", 3000, 1),
        ("reference", 100, 1),
        ("proper", 100, 2),
        ("default", 2100, 3),
    ],
)
def test_compiled_and_numpy_paths_agree(
    monkeypatch: pytest.MonkeyPatch, prior: str, n: int, k: int
) -> None:
    X, y = _data(30, n=n, k=k)
    priors = {
        "proper": NIG(np.zeros(k), 10 * np.eye(k), 2.5, 1.0),
        "reference": NIG.reference(k),
        "small_a": NIG(np.ones(k), np.eye(k), 0.3, 0.1),
        "default": default_prior(k),
    }
    if k >= 3:  # dummy columns: exact zeros skip their rotations; and rows of zeros
        X[:, 1] = (X[:, 1] > 0.5).astype(float)
        X[::7, :] = 0.0
    compiled = trajectory(X=X, y=y, prior=priors[prior], alpha=0.01)
    monkeypatch.setattr(traj_mod, "_compiled_kernel", lambda: None)
    fallback = trajectory(X=X, y=y, prior=priors[prior], alpha=0.01)
    pd.testing.assert_frame_equal(compiled, fallback, rtol=1e-12, atol=0)
    _assert_nan_explained(compiled)


def test_dummy_columns_and_zero_rows_match_the_batch_posterior() -> None:
    X, y = _data(32, n=40, k=3)
    X[:, 1] = (X[:, 1] > 0.5).astype(float)
    X[::5, :] = 0.0
    m0, V0, a0, b0 = _random_prior(33)
    out = trajectory(X=X, y=y, prior=NIG(m0, V0, a0, b0))
    for t in (1, 5, 6, 23, 40):
        m, _, _, b = _batch(m0, V0, a0, b0, X[:t], y[:t])
        np.testing.assert_allclose(
            _floats(out.iloc[t - 1], ["m[x0]", "m[x1]", "m[x2]"]), m, rtol=1e-10
        )
        np.testing.assert_allclose(out.iloc[t - 1]["b"], b, rtol=1e-10)


def test_single_row() -> None:
    out = trajectory(X=np.array([[1.0, 2.0]]), y=np.array([3.0]), prior=NIG.reference(2))
    assert len(out) == 1 and not out["proper"].iloc[0] and not out["pred_proper"].iloc[0]
    _assert_nan_explained(out)
    out = trajectory(X=np.array([[1.0, 2.0]]), y=np.array([3.0]))
    assert out["proper"].iloc[0] and out["pred_proper"].iloc[0]


def test_numba_is_used_when_installed() -> None:
    numba = pytest.importorskip("numba")
    if numba.config.DISABLE_JIT:
        pytest.skip("NUMBA_DISABLE_JIT is set")
    assert traj_mod._compiled_kernel() is not None


def test_many_regressors_take_the_heap_path() -> None:
    k = kernel_mod._STACK_MAX + 2  # k + 1 above the stack limit
    X, y = _data(31, n=k + 40, k=k)
    out = trajectory(X=X, y=y, prior=NIG(np.zeros(k), np.eye(k), 2.0, 1.0))
    m, _, _, b = _batch(np.zeros(k), np.eye(k), 2.0, 1.0, X, y)
    np.testing.assert_allclose(_floats(out.iloc[-1], [f"m[x{j}]" for j in range(k)]), m, rtol=1e-9)
    np.testing.assert_allclose(out.iloc[-1]["b"], b, rtol=1e-9)


def test_quantile_expansion_matches_scipy_beyond_the_table() -> None:
    for alpha in (0.5, 0.05, 1e-4, 1e-9):
        table, qc = traj_mod._quantile_plan(alpha, 1.0, 100_000)
        nu = np.array([2.0 + len(table), 3.0 + len(table), 1e4, 1e5 + 0.5])
        u = 1 / nu
        q = qc[0] + u * (qc[1] + u * (qc[2] + u * (qc[3] + u * (qc[4] + u * qc[5]))))
        # the lower tail: 1 - alpha/2 would round off the digits of alpha = 1e-9
        np.testing.assert_allclose(q, -special.stdtrit(nu, alpha / 2), rtol=1e-14)
        np.testing.assert_allclose(
            table[1:], -special.stdtrit(2.0 + np.arange(1, len(table)), alpha / 2), rtol=0
        )


def test_quantiles_beyond_scipy_range_come_from_the_beta_tail() -> None:
    # the default vague prior has a0 = 1e-3: the first predictive has 0.002 dof and
    # its 95% quantile (about 10^650) exceeds float64, where scipy returns 3e152
    out = trajectory(X=np.ones((3, 1)), y=np.array([1.0, 2.0, 3.0]))
    assert out["pred_lower"].iloc[0] == -np.inf and out["pred_upper"].iloc[0] == np.inf
    with mpmath.workdps(30):  # P(|T| > 1e308) = I_x(nu/2, 1/2), x = nu / (nu + q^2)
        x = mpmath.mpf(0.002) / (mpmath.mpf(0.002) + mpmath.mpf(1e308) ** 2)
        assert mpmath.betainc(0.001, 0.5, 0, x, regularized=True) > 0.05  # quantile > 1e308
    for nu, alpha in [(0.003, 0.3), (0.004, 0.1), (0.0025, 0.5), (0.01, 0.05), (0.5, 0.05)]:
        q = traj_mod._t_quantile(np.array([nu]), alpha)[0]
        with mpmath.workdps(60):
            x = mpmath.mpf(nu) / (mpmath.mpf(nu) + mpmath.mpf(q) ** 2)
            tail = mpmath.betainc(mpmath.mpf(nu) / 2, 0.5, 0, x, regularized=True)
        np.testing.assert_allclose(float(tail), alpha, rtol=1e-13)


def test_log_gamma_series_is_exact_to_rounding() -> None:
    a = np.array([0.5, 3.0, 15.9, 16.0, 100.5, 1e4, 5e6])
    got = kernel_mod._lgamma_correction(a)
    with mpmath.workdps(40):
        want = [
            float(mpmath.log(v) / 2 - (mpmath.loggamma(v + 0.5) - mpmath.loggamma(v)))
            for v in map(mpmath.mpf, a.tolist())
        ]
    # absolute: the correction enters the log density as a term
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# -------------------------------------------------------------- bad input


def test_missing_and_infinite_values_are_handled_by_the_design() -> None:
    X, y = _data(40, n=10)
    Xn = X.copy()
    Xn[4, 1] = np.nan
    out = trajectory(X=Xn, y=y)
    assert len(out) == 9 and 4 not in out.index
    with pytest.raises(DataError, match="missing"):
        trajectory(X=Xn, y=y, missing="raise")
    Xi = X.copy()
    Xi[2, 2] = np.inf
    with pytest.raises(DataError, match="infinite"):
        trajectory(X=Xi, y=y)
    with pytest.raises(DataError):
        trajectory(X=X, y=y[:-1])


def test_prior_of_the_wrong_dimension_is_refused_clearly() -> None:
    X, y = _data(41, n=10)
    with pytest.raises(PriorError, match=r"2 coefficient\(s\) but the design has 3"):
        trajectory(X=X, y=y, prior=NIG(np.zeros(2), np.eye(2), 1.0, 1.0))
    with pytest.raises(PriorError, match=r"4 coefficient\(s\) but the design has 3"):
        trajectory(X=X, y=y, prior=NIG.reference(4))


def test_invalid_priors_and_alpha_are_refused() -> None:
    X, y = _data(42, n=10)
    with pytest.raises(TypeError, match="prior must be an NIG, got object"):
        trajectory(X=X, y=y, prior=object())  # type: ignore[arg-type]
    with pytest.raises(PriorError, match="positive definite"):
        NIG(np.zeros(3), -np.eye(3), 1.0, 1.0)
    with pytest.raises(PriorError, match="b"):
        NIG(np.zeros(3), np.eye(3), 1.0, -1.0)
    with pytest.raises(PriorError, match="symmetric"):
        NIG(np.zeros(3), np.triu(np.ones((3, 3))), 1.0, 1.0)
    for alpha in (0.0, 1.0, -0.1, float("nan"), "0.05"):
        with pytest.raises(ValueError, match="alpha"):
            trajectory(X=X, y=y, alpha=alpha)  # type: ignore[arg-type]


def test_predictive_quantile_keeps_its_digits_for_a_small_alpha() -> None:
    # 1 - alpha/2 rounds in float64: the quantile must come from the lower tail.
    rng = np.random.default_rng(44)
    n, alpha = 120, 1e-9
    X = np.ones((n, 1))
    y = rng.normal(size=n)
    traj = trajectory(X=X, y=y, prior=NIG(np.zeros(1), np.eye(1), 1.0, 1.0), alpha=alpha)
    q = ((traj["pred_mean"] - traj["pred_lower"]) / traj["pred_scale"]).to_numpy()
    p = alpha / 2.0  # two dof on row 1: q = (1 - 2p) / sqrt(2 p (1 - p)), exactly
    np.testing.assert_allclose(q[0], (1.0 - 2.0 * p) / math.sqrt(2.0 * p * (1.0 - p)), rtol=1e-13)
    nu = 2.0 + np.arange(n)
    np.testing.assert_allclose(q, stats.t.isf(p, nu), rtol=1e-12)


def test_the_kernel_gets_writable_arrays_without_copying_writable_memory() -> None:
    # numba runs the kernel ~40% slower on read-only arrays: a read-only view of writable
    # memory (the design's view of an X= array) is aliased, read-only memory copied
    from duolm.bayesian._trajectory import _writable

    data = np.arange(30.0).reshape(10, 3)
    view = data[2:]
    view.flags.writeable = False
    alias = _writable(view)
    assert alias.flags.writeable and alias.flags.c_contiguous
    assert np.shares_memory(alias, data)
    np.testing.assert_array_equal(alias, data[2:])
    frozen = np.frombuffer(bytes(data), dtype=np.float64).reshape(10, 3)  # read-only memory
    copied = _writable(frozen)
    assert copied.flags.writeable and not np.shares_memory(copied, frozen)
    np.testing.assert_array_equal(copied, data)
    X = np.column_stack([np.ones(50), np.linspace(0.0, 1.0, 50)])
    before = X.copy()
    trajectory(X=X, y=np.sin(np.arange(50.0)), prior=NIG.vague(2))
    np.testing.assert_array_equal(X, before)  # the kernel only reads
