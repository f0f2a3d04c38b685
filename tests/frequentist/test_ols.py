"""duolm.ols against statsmodels on the same data, the lecture's formulas, and invariants.

Reference values are computed by statsmodels (``statsmodels.api.OLS`` for ``X=`` fits,
``statsmodels.formula.api.ols`` for formulas) on the same seeded data, never by duolm.
Both entry points of duolm are checked: ``duolm.ols(formula, data)`` against the formula
fit (matched by coefficient name, as formulaic and patsy order the interaction columns
differently) and ``duolm.ols(X=exog, y=endog)`` against ``OLS(endog, exog)`` (same order).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.stattools import durbin_watson, jarque_bera, omni_normtest

import duolm
from duolm.errors import RankWarning
from shared import PREDICT_COLUMNS, SCALARS

RTOL = 1e-9
#: statsmodels' own error on Longley's residual-based quantities (leverage, Cook's
#: distance, HC covariances, mean_se) is about 1e-8 (it forms inv(X'X) by pinv and
#: cancels in x' C x); duolm is held to RTOL there against a 60-digit mpmath reference
#: (test_longley_against_high_precision), and to this against statsmodels.
RTOL_SM_LONGLEY = 1e-7
COV_TYPES = ["HC0", "HC1", "HC2", "HC3"]


# -- data sets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    formula: str
    frame: pd.DataFrame
    new: pd.DataFrame  # new rows for predict
    hypotheses: tuple[str, ...]  # in coefficient names common to duolm and statsmodels


def _simple() -> Case:
    rng = np.random.default_rng(20240101)
    x = rng.uniform(0, 10, size=30)
    frame = pd.DataFrame({"x": x, "y": 2.0 + 0.7 * x + rng.normal(scale=1.5, size=30)})
    new = pd.DataFrame({"x": [-3.0, 0.0, 4.5, 12.0]})
    return Case("simple", "y ~ x", frame, new, ("x = 0", "Intercept + 2*x = 3"))


def _five() -> Case:
    rng = np.random.default_rng(7)
    n = 80
    X = rng.normal(size=(n, 5)) * [1.0, 2.0, 0.5, 10.0, 1.0] + [0.0, 1.0, -2.0, 5.0, 0.0]
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(1, 6)])
    frame["y"] = 1.0 + X @ [0.5, -1.0, 0.0, 0.1, 2.0] + rng.standard_t(5, size=n)
    new = pd.DataFrame(rng.normal(size=(6, 5)), columns=[f"x{i}" for i in range(1, 6)])
    return Case(
        "five",
        "y ~ x1 + x2 + x3 + x4 + x5",
        frame,
        new,
        ("x1 = 0", "x1 + x2 = 1, x3 = 0", "x1 - x5, 2*x4 = 0.3, Intercept = 1"),
    )


def _no_intercept() -> Case:
    rng = np.random.default_rng(99)
    n = 40
    frame = pd.DataFrame({"x1": rng.uniform(1, 5, size=n), "x2": rng.normal(size=n)})
    frame["y"] = 1.5 * frame.x1 - 0.8 * frame.x2 + rng.normal(size=n)
    new = pd.DataFrame({"x1": [0.0, 2.0, 7.0], "x2": [1.0, -1.0, 0.5]})
    return Case("no_intercept", "y ~ x1 + x2 - 1", frame, new, ("x1 = 0", "x1 + x2 = 1, x2 = 0"))


def _categorical() -> Case:
    rng = np.random.default_rng(1234)
    n = 90
    g = rng.choice(["a", "b", "c"], size=n)
    x1, x2 = rng.normal(size=n), rng.uniform(-1, 1, size=n)
    effect = pd.Series(g).map({"a": 0.0, "b": 0.7, "c": -0.4}).to_numpy()
    slope = pd.Series(g).map({"a": 1.0, "b": 1.5, "c": 0.2}).to_numpy()
    y = 1.0 + effect + slope * x1 + 0.5 * x2 + rng.normal(scale=0.8, size=n)
    frame = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g})
    new = pd.DataFrame({"x1": [0.5, -1.0, 2.0, 0.0], "x2": [0.0, 0.3, -0.9, 1.0]})
    new["g"] = ["a", "c", "b", "b"]
    return Case(
        "categorical",
        "y ~ x1 * C(g) + x2",
        frame,
        new,
        ("C(g)[T.b] = 0", "x1:C(g)[T.b] = 0, x1:C(g)[T.c] = 0", "C(g)[T.b] - C(g)[T.c] = 0.5"),
    )


def _longley() -> Case:
    frame = sm.datasets.longley.load_pandas().data.astype(float)
    new = frame.drop(columns="TOTEMP").iloc[[0, 5, 15]].reset_index(drop=True) * 1.01
    return Case(
        "longley",
        "TOTEMP ~ GNPDEFL + GNP + UNEMP + ARMED + POP + YEAR",
        frame,
        new,
        ("GNP = 0", "UNEMP = ARMED, POP = 0"),
    )


CASES = {
    case.name: case for case in (_simple(), _five(), _no_intercept(), _categorical(), _longley())
}


@dataclass(frozen=True)
class Fits:
    case: Case
    sm_formula: Any  # statsmodels formula fit
    sm_array: Any  # statsmodels OLS(endog, exog) fit
    exog: pd.DataFrame
    endog: np.ndarray
    formula: Any  # duolm formula fit
    array: Any  # duolm X= fit


@functools.cache
def fits(name: str, cov_type: str = "nonrobust") -> Fits:
    case = CASES[name]
    kw: dict[str, Any] = {} if cov_type == "nonrobust" else {"cov_type": cov_type, "use_t": True}
    sm_formula = smf.ols(case.formula, case.frame).fit(**kw)
    exog = pd.DataFrame(sm_formula.model.exog, columns=sm_formula.model.exog_names)
    endog = np.asarray(sm_formula.model.endog)
    sm_array = sm.OLS(endog, exog).fit(**kw)
    return Fits(
        case=case,
        sm_formula=sm_formula,
        sm_array=sm_array,
        exog=exog,
        endog=endog,
        formula=duolm.ols(case.formula, case.frame, cov_type=cov_type),
        array=duolm.ols(X=exog, y=endog, cov_type=cov_type),
    )


def pairs(name: str, cov_type: str = "nonrobust") -> list[tuple[Any, Any, list[str]]]:
    """(duolm fit, statsmodels fit, statsmodels' coefficient names) for both entry points."""
    f = fits(name, cov_type)
    names = list(f.sm_array.params.index)
    return [(f.formula, f.sm_formula, names), (f.array, f.sm_array, names)]


def close(actual: object, desired: object, rtol: float = RTOL, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(desired, dtype=float), rtol=rtol, atol=atol
    )


def rtol_resid(name: str) -> float:
    """Tolerance against statsmodels for quantities built from residuals or leverages."""
    return RTOL_SM_LONGLEY if name == "longley" else RTOL


def sm_conf_int(ref: Any, alpha: float) -> np.ndarray:
    return np.asarray(ref.conf_int(alpha=alpha), dtype=float)


names_param = pytest.mark.parametrize("name", list(CASES))


# -- the fit -------------------------------------------------------------------------------


@names_param
def test_coefficient_names_match_statsmodels(name: str) -> None:
    for fit, _ref, names in pairs(name):
        assert sorted(fit.params.index) == sorted(names), (fit.params.index, names)
    assert list(fits(name).array.params.index) == list(fits(name).exog.columns)


@names_param
def test_coefficients_and_inference(name: str) -> None:
    for fit, ref, names in pairs(name):
        assert ref.use_t
        close(fit.params[names], ref.params)
        close(fit.bse[names], ref.bse)
        close(fit.tvalues[names], ref.tvalues)
        close(fit.pvalues[names], ref.pvalues)
        close(fit.cov_params().loc[names, names], ref.cov_params())


@names_param
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_conf_int(name: str, alpha: float) -> None:
    for fit, ref, names in pairs(name):
        ci = fit.conf_int(alpha)
        assert list(ci.columns) == ["lower", "upper"]
        close(ci.loc[names], sm_conf_int(ref, alpha))
    assert fits(name).formula.conf_int().equals(fits(name).formula.conf_int(0.05))


@names_param
@pytest.mark.parametrize("attribute", SCALARS)
def test_scalar_attributes(name: str, attribute: str) -> None:
    for fit, ref, _ in pairs(name):
        close(getattr(fit, attribute), getattr(ref, attribute))


def test_no_intercept_model_reports_uncentered_r_squared() -> None:
    fit = fits("no_intercept").formula
    assert fit.k_constant == 0
    close(fit.rsquared, fit.ess / fit.uncentered_tss)
    close(fit.rsquared, 1 - fit.ssr / fit.uncentered_tss)
    five = fits("five").formula
    assert five.k_constant == 1
    close(five.rsquared, 1 - five.ssr / five.centered_tss)


@names_param
def test_residuals_and_fitted_values(name: str) -> None:
    for fit, ref, _ in pairs(name):
        # residuals cancel: their error is relative to the size of y, not to themselves
        atol = 1e-12 * np.abs(np.asarray(ref.model.endog)).max()
        close(fit.resid, ref.resid, atol=atol)
        close(fit.fittedvalues, ref.fittedvalues, atol=atol)


@names_param
def test_diagnostics(name: str) -> None:
    for fit, ref, _ in pairs(name):
        diag = fit.diagnostics
        e = np.asarray(ref.resid)
        omni, omni_p = omni_normtest(e)
        k2, k2_p = stats.normaltest(e)
        jb, jb_p, skew, kurt = jarque_bera(e)
        close(diag.omnibus, omni)
        close(diag.omnibus_pvalue, omni_p)
        close(diag.omnibus, k2)
        close(diag.omnibus_pvalue, k2_p)
        close(diag.jarque_bera, jb)
        close(diag.jarque_bera_pvalue, jb_p)
        close(diag.skew, skew)
        close(diag.kurtosis, kurt)
        close(diag.durbin_watson, durbin_watson(e))
        close(diag.condition_number, ref.condition_number)


@names_param
def test_leverage_and_cooks_distance(name: str) -> None:
    for fit, ref, _ in pairs(name):
        influence = ref.get_influence()
        close(fit.leverage, influence.hat_matrix_diag, rtol=rtol_resid(name))
        close(fit.cooks_distance, influence.cooks_distance[0], rtol=rtol_resid(name))


# -- robust covariances --------------------------------------------------------------------


def test_statsmodels_robust_fits_default_to_the_normal_distribution() -> None:
    # duolm keeps Student t with df_resid for robust covariances, so the references
    # below are statsmodels fits with use_t=True.
    f = CASES["five"]
    assert smf.ols(f.formula, f.frame).fit().use_t
    assert not smf.ols(f.formula, f.frame).fit(cov_type="HC3").use_t


@names_param
@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_robust_covariances(name: str, cov_type: str) -> None:
    plain = fits(name)
    for fit, ref, names in pairs(name, cov_type):
        assert ref.use_t
        assert fit.cov_type == cov_type
        close(fit.params[names], ref.params)
        rtol = rtol_resid(name)
        close(fit.cov_params().loc[names, names], ref.cov_params(), rtol=rtol)
        close(fit.bse[names], ref.bse, rtol=rtol)
        close(fit.tvalues[names], ref.tvalues, rtol=rtol)
        close(fit.pvalues[names], ref.pvalues, rtol=rtol)
        for alpha in (0.05, 0.1):
            close(fit.conf_int(alpha).loc[names], sm_conf_int(ref, alpha), rtol=rtol)
        close(fit.fvalue, ref.fvalue, rtol=rtol)
        close(fit.f_pvalue, ref.f_pvalue, rtol=rtol)
    # with_cov_type reads the same fit another way, and changes nothing in the original
    for original, direct in (
        (plain.formula, fits(name, cov_type).formula),
        (plain.array, fits(name, cov_type).array),
    ):
        other = original.with_cov_type(cov_type)
        assert other is not original
        assert original.cov_type == "nonrobust"
        for attr in ("params", "bse", "tvalues", "pvalues"):
            close(getattr(other, attr), getattr(direct, attr), rtol=1e-14)
        close(other.fvalue, direct.fvalue, rtol=1e-14)
        close(other.with_cov_type("nonrobust").bse, original.bse, rtol=1e-14)


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_robust_prediction_frame(cov_type: str) -> None:
    f = fits("five", cov_type)
    got = f.formula.predict(f.case.new, alpha=0.1)
    want = f.sm_formula.get_prediction(f.case.new).summary_frame(alpha=0.1)
    for column in got.columns:
        close(got[column], want[column])


# -- prediction ----------------------------------------------------------------------------


@names_param
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_predict_new_data(name: str, alpha: float) -> None:
    f = fits(name)
    got = f.formula.predict(f.case.new, alpha=alpha)
    want = f.sm_formula.get_prediction(f.case.new).summary_frame(alpha=alpha)
    assert list(got.columns) == PREDICT_COLUMNS
    assert len(got) == len(f.case.new)
    for column in PREDICT_COLUMNS:
        close(got[column], want[column])
    # the X= fit takes an array of rows in the fit's column order
    new_exog = _patsy_exog(f, f.case.new)
    got = f.array.predict(new_exog, alpha=alpha)
    want = f.sm_array.get_prediction(new_exog).summary_frame(alpha=alpha)
    for column in PREDICT_COLUMNS:
        close(got[column], want[column])


def _patsy_exog(f: Fits, new: pd.DataFrame) -> np.ndarray:
    from patsy import build_design_matrices

    (matrix,) = build_design_matrices([f.sm_formula.model.data.model_spec], new)
    return np.asarray(matrix)


@names_param
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_predict_in_sample(name: str, alpha: float) -> None:
    for fit, ref, _ in pairs(name):
        got = fit.predict(alpha=alpha)
        want = ref.get_prediction().summary_frame(alpha=alpha)
        assert list(got.columns) == PREDICT_COLUMNS
        for column in PREDICT_COLUMNS:
            close(got[column], want[column], rtol=rtol_resid(name))
        close(got["mean"], ref.fittedvalues)
    assert fits(name).formula.predict().index.equals(fits(name).case.frame.index)


# -- linear hypotheses ---------------------------------------------------------------------


@names_param
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC3"])
def test_t_and_f_tests_of_text_hypotheses(name: str, cov_type: str) -> None:
    f = fits(name, cov_type)
    for text in f.case.hypotheses:
        rtol = rtol_resid(name) if cov_type != "nonrobust" else RTOL
        _compare_tests(f.formula, f.sm_formula, text, text, rtol=rtol)


def _rhs(ref: Any, hypothesis: object) -> np.ndarray:
    """r of ``L b = r`` as patsy (statsmodels' parser) reads the hypothesis."""
    if isinstance(hypothesis, str):
        from patsy import DesignInfo

        constraint = DesignInfo(list(ref.params.index)).linear_constraint(hypothesis)
        return np.ravel(constraint.constants)
    if isinstance(hypothesis, tuple):
        return np.atleast_1d(np.asarray(hypothesis[1], dtype=float))
    return np.zeros(np.atleast_2d(hypothesis).shape[0])


def _compare_tests(
    fit: Any, ref: Any, hypothesis: object, sm_hypothesis: object, rtol: float = RTOL
) -> None:
    want_t = ref.t_test(sm_hypothesis)
    got_t = fit.t_test(hypothesis)
    r = _rhs(ref, sm_hypothesis)
    # duolm's "effect" is L b - r (the estimated departure from H0);
    # statsmodels' effect is L b, so its interval is shifted by r.
    close(got_t["effect"], np.ravel(want_t.effect) - r, atol=1e-12 * np.abs(r).max(initial=1.0))
    close(got_t["se"], np.ravel(want_t.sd), rtol=rtol)
    close(got_t["t"], np.ravel(want_t.tvalue), rtol=rtol)
    close(got_t["pvalue"], np.ravel(want_t.pvalue), rtol=rtol)
    for alpha in (0.05, 0.1):
        got = fit.t_test(hypothesis, alpha=alpha)
        close(
            got[["lower", "upper"]],
            want_t.conf_int(alpha=alpha) - r[:, None],
            rtol=rtol,
            atol=1e-12,
        )
    want_f = ref.f_test(sm_hypothesis)
    got_f = fit.f_test(hypothesis)
    close(got_f.fvalue, np.ravel(want_f.fvalue)[0], rtol=rtol)
    close(got_f.pvalue, want_f.pvalue, rtol=rtol)
    assert got_f.df_num == want_f.df_num
    assert got_f.df_denom == want_f.df_denom


@names_param
def test_t_and_f_tests_of_matrix_hypotheses(name: str) -> None:
    f = fits(name)
    rng = np.random.default_rng(len(name))
    names = list(f.sm_array.params.index)
    L = rng.normal(size=(2, len(names))).round(2)
    r = np.array([0.5, -1.0])
    # statsmodels' order is the X= fit's order; the formula fit is matched by name
    order = [names.index(term) for term in f.formula.params.index]
    for fit, hyp in ((f.array, (L, r)), (f.formula, (L[:, order], r))):
        _compare_tests(fit, f.sm_array, hyp, (L, r))
    _compare_tests(f.array, f.sm_array, L, L)  # a matrix alone: L b = 0


def test_lecture_test_of_the_slope() -> None:
    fit = fits("simple").formula
    row = fit.t_test("x = 0")
    close(row["t"], [fit.tvalues["x"]], rtol=1e-14)
    close(row["pvalue"], [fit.pvalues["x"]], rtol=1e-14)
    close(fit.f_test("x = 0").fvalue, fit.tvalues["x"] ** 2, rtol=1e-12)
    close(fit.f_test("x = 0").fvalue, fit.fvalue, rtol=1e-12)


# -- the lecture's formulas for the simple regression --------------------------------------


def test_lecture_t_statistic_and_bands() -> None:
    case = CASES["simple"]
    x, y = case.frame["x"].to_numpy(), case.frame["y"].to_numpy()
    n = len(x)
    fit = duolm.ols(case.formula, case.frame)
    b0, b1 = fit.params["Intercept"], fit.params["x"]
    s = math.sqrt(fit.scale)
    sxx = np.sum(x**2) - n * x.mean() ** 2
    # T = b1 / s * sqrt(sum x^2 - n xbar^2)
    close(fit.tvalues["x"], b1 / s * math.sqrt(sxx))
    # s^2 = SSE / (n - 2)
    close(fit.scale, np.sum((y - b0 - b1 * x) ** 2) / (n - 2))
    for alpha in (0.05, 0.1):
        q = stats.t.ppf(1 - alpha / 2, n - 2)  # the lecture's t_{n-2}(alpha)
        for x0, frame in ((case.new["x"].to_numpy(), case.new), (x, None)):
            band = fit.predict(frame, alpha=alpha)
            line = b0 + b1 * x0
            mean_half = q * s * np.sqrt(1 / n + (x0 - x.mean()) ** 2 / sxx)
            obs_half = q * s * np.sqrt(1 + 1 / n + (x0 - x.mean()) ** 2 / sxx)
            close(band["mean"], line)
            close(band["mean_ci_lower"], line - mean_half)
            close(band["mean_ci_upper"], line + mean_half)
            close(band["obs_ci_lower"], line - obs_half)
            close(band["obs_ci_upper"], line + obs_half)


# -- invariants (hypothesis) ---------------------------------------------------------------


def _random_fit_data(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, k - 1)) * rng.uniform(0.1, 10, k - 1)])
    y = X @ rng.normal(size=k) + rng.normal(size=n)
    return X, y


def _compare_fits(a: Any, b: Any, rtol: float) -> None:
    for attr in ("params", "bse", "tvalues", "pvalues"):
        close(getattr(a, attr), getattr(b, attr), rtol=rtol)
    for attr in ("rsquared", "rsquared_adj", "fvalue", "f_pvalue", "llf", "ssr", "ess", "scale"):
        close(getattr(a, attr), getattr(b, attr), rtol=rtol)


PROPERTY_SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(8, 60), k=st.integers(2, 5))
def test_row_order_does_not_matter(seed: int, n: int, k: int) -> None:
    X, y = _random_fit_data(seed, n, k)
    perm = np.random.default_rng(seed + 1).permutation(n)
    a = duolm.ols(X=X, y=y)
    b = duolm.ols(X=X[perm], y=y[perm])
    _compare_fits(a, b, rtol=1e-10)
    close(b.resid, a.resid.to_numpy()[perm], rtol=1e-10, atol=1e-12 * np.abs(y).max())
    close(b.leverage, a.leverage.to_numpy()[perm], rtol=1e-10)
    for cov_type in ("HC0", "HC3"):
        close(b.with_cov_type(cov_type).bse, a.with_cov_type(cov_type).bse, rtol=1e-10)


@PROPERTY_SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(8, 60),
    k=st.integers(2, 5),
    c=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3),
)
def test_scaling_y_scales_params_and_bse(seed: int, n: int, k: int, c: float) -> None:
    X, y = _random_fit_data(seed, n, k)
    a = duolm.ols(X=X, y=y)
    b = duolm.ols(X=X, y=c * y)
    close(b.params, c * a.params, rtol=1e-10)
    close(b.bse, abs(c) * a.bse, rtol=1e-10)
    close(b.tvalues, np.sign(c) * a.tvalues, rtol=1e-10)
    close(b.pvalues, a.pvalues, rtol=1e-10)
    close(b.rsquared, a.rsquared, rtol=1e-10)
    close(b.fvalue, a.fvalue, rtol=1e-10)
    close(b.scale, c * c * a.scale, rtol=1e-10)


@PROPERTY_SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(8, 60),
    k=st.integers(2, 5),
    j=st.integers(0, 4),
    c=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3),
)
def test_scaling_a_column_divides_its_coefficient(
    seed: int, n: int, k: int, j: int, c: float
) -> None:
    X, y = _random_fit_data(seed, n, k)
    j = j % k
    Xc = X.copy()
    Xc[:, j] *= c
    a = duolm.ols(X=X, y=y)
    b = duolm.ols(X=Xc, y=y)
    expected = a.params.to_numpy().copy()
    expected[j] /= c
    close(b.params, expected, rtol=1e-10)
    expected_bse = a.bse.to_numpy().copy()
    expected_bse[j] /= abs(c)
    close(b.bse, expected_bse, rtol=1e-10)
    flip = np.ones(k)
    flip[j] = np.sign(c)
    close(b.tvalues, flip * a.tvalues.to_numpy(), rtol=1e-10)
    close(b.pvalues, a.pvalues, rtol=1e-10)
    close(b.rsquared, a.rsquared, rtol=1e-10)
    close(b.rsquared_adj, a.rsquared_adj, rtol=1e-10)
    close(b.fvalue, a.fvalue, rtol=1e-10)
    close(b.resid, a.resid, rtol=1e-10, atol=1e-12 * np.abs(y).max())


# -- Longley against a 60-digit reference --------------------------------------------------


@functools.cache
def _longley_reference() -> dict[str, Any]:
    """Residual-based quantities of the Longley fit, computed by mpmath at 60 digits."""
    import mpmath as mp

    f = fits("longley")
    X, y = f.exog.to_numpy(), f.endog
    X0 = _patsy_exog(f, f.case.new)
    with mp.workdps(60):
        A, b = mp.matrix(X.tolist()), mp.matrix(y.tolist())
        G_inv = mp.inverse(A.T * A)
        beta = G_inv * (A.T * b)
        e = b - A * beta
        n, k = X.shape
        h = [(A[i, :] * G_inv * A[i, :].T)[0] for i in range(n)]
        s2 = sum(v**2 for v in e) / (n - k)
        out: dict[str, Any] = {
            "resid": [e[i] for i in range(n)],
            "leverage": h,
            "cooks_distance": [e[i] ** 2 * h[i] / (k * s2 * (1 - h[i]) ** 2) for i in range(n)],
            "mean_se": [mp.sqrt(s2 * h[i]) for i in range(n)],
            "new_mean_se": [
                mp.sqrt(s2 * (mp.matrix([X0[i].tolist()]) * G_inv * mp.matrix(X0[i].tolist()))[0])
                for i in range(len(X0))
            ],
        }
        weights = {
            "HC0": [v**2 for v in e],
            "HC1": [v**2 * n / (n - k) for v in e],
            "HC2": [e[i] ** 2 / (1 - h[i]) for i in range(n)],
            "HC3": [e[i] ** 2 / (1 - h[i]) ** 2 for i in range(n)],
        }
        slopes = mp.matrix([[1 if j == i + 1 else 0 for j in range(k)] for i in range(k - 1)])
        for cov_type, w in weights.items():
            meat = mp.matrix(k, k)
            for i in range(n):
                meat += w[i] * (A[i, :].T * A[i, :])
            cov = G_inv * meat * G_inv
            out[f"{cov_type}_bse"] = [mp.sqrt(cov[j, j]) for j in range(k)]
            Lb = slopes * beta
            wald = (Lb.T * mp.inverse(slopes * cov * slopes.T) * Lb)[0]
            out[f"{cov_type}_fvalue"] = wald / (k - 1)
    return {key: np.array(value, dtype=float) for key, value in out.items()}


@pytest.mark.parametrize("entry", ["formula", "array"])
def test_longley_against_high_precision(entry: str) -> None:
    ref = _longley_reference()
    f = fits("longley")
    fit = getattr(f, entry)
    tol = 1e-10
    close(fit.resid, ref["resid"], rtol=tol)
    close(fit.leverage, ref["leverage"], rtol=tol)
    close(fit.cooks_distance, ref["cooks_distance"], rtol=tol)
    close(fit.predict()["mean_se"], ref["mean_se"], rtol=tol)
    new = f.case.new if entry == "formula" else _patsy_exog(f, f.case.new)
    close(fit.predict(new)["mean_se"], ref["new_mean_se"], rtol=tol)
    names = list(f.exog.columns)
    for cov_type in COV_TYPES:
        robust = fit.with_cov_type(cov_type)
        bse = robust.bse[names]
        close(bse, ref[f"{cov_type}_bse"], rtol=tol)
        close(robust.fvalue, ref[f"{cov_type}_fvalue"], rtol=tol)


def test_predict_refuses_a_frame_without_the_fitted_column_names() -> None:
    # columns of an X= frame fit are matched by name; other names were used by position,
    # so ["const", "x"] for a fit on ["x", "const"] silently swapped the coefficients
    rng = np.random.default_rng(31)
    X = pd.DataFrame({"x": rng.normal(size=12), "const": 1.0})
    y = 1.0 + 2.0 * X.x + rng.normal(size=12)
    fit = duolm.ols(X=X, y=y)
    swapped = pd.DataFrame({"c": [1.0], "x": [3.0]})
    with pytest.raises(duolm.DataError, match=r"has no column\(s\) 'const'"):
        fit.predict(swapped)
    by_name = fit.predict(pd.DataFrame({"const": [1.0], "x": [3.0]}, index=["new"]))
    np.testing.assert_allclose(
        by_name["mean"], fit.params["x"] * 3.0 + fit.params["const"], rtol=1e-14
    )
    assert list(by_name.index) == ["new"]
    # an unnamed fit (x0, x1, ...) takes any frame by position
    plain = duolm.ols(X=X.to_numpy(), y=y)
    np.testing.assert_allclose(
        plain.predict(pd.DataFrame({"a": [3.0], "b": [1.0]}))["mean"], by_name["mean"], rtol=1e-12
    )


def test_interval_quantiles_keep_their_digits_for_a_tiny_alpha() -> None:
    # t.ppf(1 - alpha/2) rounds 1 - alpha/2 first: at alpha = 1e-9 that costs ~1e-8;
    # the upper tail computed directly does not (reference: mpmath, 40 digits).
    import mpmath

    rng = np.random.default_rng(31)
    X = np.column_stack([np.ones(30), rng.normal(size=30)])
    fit = duolm.ols(X=X, y=X @ np.array([1.0, 2.0]) + rng.normal(size=30))
    alpha, df = 1e-9, fit.df_resid
    mpmath.mp.dps = 40
    half = mpmath.mpf(alpha) / 2

    def tail(x: object) -> object:
        return mpmath.betainc(df / 2, 0.5, 0, df / (df + x * x), regularized=True) / 2 - half

    q = float(mpmath.findroot(tail, 6.0))
    ci = fit.conf_int(alpha)
    np.testing.assert_allclose(ci["upper"] - fit.params, q * fit.bse, rtol=1e-13, atol=0)


def test_predicting_a_row_the_aliased_fit_cannot_estimate_warns() -> None:
    """An unobserved cell of an interaction is aliased; its prediction depends on which
    column was dropped (R's predict.lm warns: 'prediction from rank-deficient fit')."""
    data = pd.DataFrame({"a": list("ppqqrr") * 3, "b": list("uvuvuu") * 3})
    data["y"] = np.arange(18.0) % 5
    with pytest.warns(RankWarning, match="aliased"):
        fit = duolm.ols("y ~ a * b", data)
    seen = pd.DataFrame({"a": ["p", "q", "r"], "b": ["v", "u", "u"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # observed cells: estimable, nothing said
        fit.predict(seen)
        fit.predict()
    with pytest.warns(RankWarning, match=r"row\(s\) \[1\] are not combinations"):
        fit.predict(pd.DataFrame({"a": ["p", "r"], "b": ["u", "v"]}))
