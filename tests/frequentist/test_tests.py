"""The standard tests, VIF, outlier test and influence measures against statsmodels.

statsmodels computes the same quantities by other routes (pinv-based
auxiliary fits, leave-one-out loops), so agreement at rtol 1e-10 checks the
square-root readings here; the influence measures are also checked by
deleting a row and refitting.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from statsmodels.stats import diagnostic as smd
from statsmodels.stats.outliers_influence import (
    OLSInfluence,
    variance_inflation_factor,
)
from statsmodels.stats.outliers_influence import outlier_test as sm_outlier_test

import duolm
import duolm.frequentist._tests as _tests
from duolm.errors import DataError
from duolm.frequentist import DiagnosticTest

RTOL = 1e-10


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(20261202)
    n = 80
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n).cumsum() / 5,
            "g": rng.choice(["a", "b", "c"], n),
        }
    )
    u = np.zeros(n)
    eps = rng.normal(size=n) * (1.0 + 0.8 * np.abs(df["x1"].to_numpy()))
    for t in range(n):
        u[t] = 0.5 * u[t - 1] + eps[t] if t else eps[t]
    df["y"] = 1.0 + df["x1"] - 0.5 * df["x2"] + (df["g"] == "b") + u
    return df


FORMULA = "y ~ x1 + x2 + C(g)"


@pytest.fixture(scope="module")
def fits(
    frame: pd.DataFrame,
) -> tuple[duolm.OLSResults, sm.regression.linear_model.RegressionResults]:
    fit = duolm.ols(FORMULA, frame)
    X = pd.DataFrame(fit.rows.X, columns=list(fit.terms))
    ref = sm.OLS(fit.rows.y, X).fit()
    return fit, ref


def test_breusch_pagan_both_forms(fits) -> None:
    fit, ref = fits
    for robust in (True, False):
        ours = fit.het_breuschpagan(robust=robust)
        lm, p, _, _ = smd.het_breuschpagan(ref.resid, ref.model.exog, robust=robust)
        assert_allclose([ours.statistic, ours.pvalue], [lm, p], rtol=RTOL, atol=0)
        assert ours.df == ref.model.exog.shape[1] - 1


def test_white(fits) -> None:
    fit, ref = fits
    ours = fit.het_white()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns: the dummies' squares repeat them
        lm, p, _, _ = smd.het_white(ref.resid, ref.model.exog)
    assert_allclose([ours.statistic, ours.pvalue], [lm, p], rtol=RTOL, atol=0)
    # 5 columns -> 15 products, of which C(g)[T.b]^2, C(g)[T.c]^2 repeat the dummies
    # and C(g)[T.b]*C(g)[T.c] is 0: rank 12, df 11
    assert ours.df == 11


@pytest.mark.parametrize("nlags", [1, 4])
def test_breusch_godfrey(fits, nlags: int) -> None:
    fit, ref = fits
    ours = fit.acorr_breusch_godfrey(nlags)
    res = smd.acorr_breusch_godfrey(ref, nlags, result_object=True)
    assert_allclose([ours.statistic, ours.pvalue], [res.lm, res.lmpval], rtol=RTOL, atol=0)
    assert ours.df == nlags


def test_breusch_godfrey_without_intercept(frame: pd.DataFrame) -> None:
    fit = duolm.ols("y ~ x1 + x2 - 1", frame)
    ref = sm.OLS(fit.rows.y, fit.rows.X).fit()
    ours = fit.acorr_breusch_godfrey(2)
    res = smd.acorr_breusch_godfrey(ref, 2, result_object=True)
    assert_allclose([ours.statistic, ours.pvalue], [res.lm, res.lmpval], rtol=RTOL, atol=0)


@pytest.mark.parametrize(("lags", "model_df"), [(1, 0), (6, 0), (6, 2)])
def test_ljung_box(fits, lags: int, model_df: int) -> None:
    fit, ref = fits
    ours = fit.acorr_ljungbox(lags, model_df=model_df)
    table = smd.acorr_ljungbox(ref.resid, lags=[lags], model_df=model_df)
    assert_allclose([ours.statistic, ours.pvalue], table.iloc[0].to_numpy(), rtol=RTOL, atol=0)
    assert ours.df == lags - model_df


def test_ljung_box_default_lag(fits) -> None:
    fit, ref = fits
    ours = fit.acorr_ljungbox()  # min(10, n // 5) = 10
    table = smd.acorr_ljungbox(ref.resid)
    assert_allclose([ours.statistic, ours.pvalue], table.iloc[-1].to_numpy(), rtol=RTOL, atol=0)


@pytest.mark.parametrize("power", [2, 3, [2, 4]])
@pytest.mark.parametrize("use_f", [False, True])
def test_reset(fits, power: int | list[int], use_f: bool) -> None:
    fit, ref = fits
    ours = fit.linear_reset(power, use_f=use_f)
    res = smd.linear_reset(ref, power=power, use_f=use_f)
    assert_allclose(
        [ours.statistic, ours.pvalue],
        [float(np.squeeze(res.statistic)), float(res.pvalue)],
        rtol=RTOL,
        atol=0,
    )
    assert ours.distribution == ("F" if use_f else "chi2")


def test_vif(fits) -> None:
    fit, ref = fits
    ours = fit.vif()
    exog = ref.model.exog
    expected = pd.Series(
        [variance_inflation_factor(exog, j) for j in range(1, exog.shape[1])],
        index=list(fit.terms)[1:],
    )
    assert list(ours.index) == list(fit.terms)[1:]  # the intercept excluded
    assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=RTOL, atol=0)


def test_vif_longley_without_intercept() -> None:
    """Without an intercept R_j^2 is uncentred: statsmodels' ``standardize=False``.

    (statsmodels 0.15 centres the columns by default, which reads a model
    without an intercept as if it had one.)
    """
    data = duolm.datasets.longley()
    fit = duolm.ols("employed ~ gnp + unemployed + armed_forces - 1", data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' conditioning warning
        expected = [variance_inflation_factor(fit.rows.X, j, standardize=False) for j in range(3)]
    assert_allclose(fit.vif().to_numpy(), expected, rtol=RTOL, atol=0)


def test_vif_of_an_aliased_column_is_infinite(frame: pd.DataFrame) -> None:
    data = frame.assign(x3=frame["x1"] + frame["x2"])
    with pytest.warns(duolm.RankWarning):
        fit = duolm.ols("y ~ x1 + x2 + x3", data)
    out = fit.vif()
    assert out["x3"] == np.inf
    assert np.isfinite(out[["x1", "x2"]]).all()


def test_outlier_test(fits) -> None:
    fit, ref = fits
    ours = fit.outlier_test()
    expected = sm_outlier_test(ref)
    assert list(ours.columns) == ["student_resid", "unadj_p", "bonf(p)"]
    assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=RTOL, atol=0)
    assert ours.index.equals(fit.rows.index)


def test_influence_frame(fits) -> None:
    fit, ref = fits
    ours = fit.influence()
    infl = OLSInfluence(ref)
    expected = infl.summary_frame()
    assert list(ours.columns) == [*expected.columns, "covratio"]
    # statsmodels' DFBETAS come from a leave-one-out loop: near-zero entries agree
    # to ~1e-14 absolutely, so an absolute floor of 1e-12 is added
    assert_allclose(ours[expected.columns].to_numpy(), expected.to_numpy(), rtol=RTOL, atol=1e-12)
    assert_allclose(ours["covratio"].to_numpy(), infl.cov_ratio, rtol=RTOL, atol=0)


def test_influence_matches_brute_force_deletion(frame: pd.DataFrame) -> None:
    """DFBETAS and COVRATIO of row 7 by refitting without it (BKW eqs. 2.7, 2.12)."""
    fit = duolm.ols(FORMULA, frame)
    out = fit.influence().iloc[7]
    drop = duolm.ols(FORMULA, frame.drop(index=frame.index[7]))
    s_i = np.sqrt(drop.scale)
    ci = np.sqrt(np.diag(fit.stat.cov_unscaled()))
    dfbetas = (fit.params.to_numpy() - drop.params.to_numpy()) / (s_i * ci)
    assert_allclose(out.iloc[: fit.rank].to_numpy(), dfbetas, rtol=1e-9, atol=1e-12)
    covratio = np.linalg.det(drop.cov_params().to_numpy()) / np.linalg.det(
        fit.cov_params().to_numpy()
    )
    assert_allclose(out["covratio"], covratio, rtol=1e-9, atol=0)


def test_leverage_one_is_refused_by_row() -> None:
    data = pd.DataFrame(
        {"y": [1.0, 2.0, 2.5, 4.0, 5.5, 3.0], "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]},
        index=list("abcdef"),
    )
    data["g"] = ["u", "u", "u", "u", "u", "v"]  # row "f" is the only "v"
    fit = duolm.ols("y ~ x + C(g)", data)
    with pytest.raises(DataError, match="row 'f' has leverage 1"):
        fit.influence()
    with pytest.raises(DataError, match="row 'f'"):
        fit.outlier_test()


def test_bad_arguments_are_named(fits, frame: pd.DataFrame) -> None:
    fit, _ = fits
    with pytest.raises(ValueError, match="nlags"):
        fit.acorr_breusch_godfrey(0)
    with pytest.raises(ValueError, match="lags"):
        fit.acorr_ljungbox(500)
    with pytest.raises(ValueError, match="power"):
        fit.linear_reset(1)
    with pytest.raises(ValueError, match="alpha"):
        fit.outlier_test(alpha=1.5)
    no_const = duolm.ols("y ~ x1 - 1", frame)
    with pytest.raises(DataError, match="intercept"):
        no_const.het_breuschpagan()
    with pytest.raises(DataError, match="intercept"):
        no_const.het_white()


def test_plain_words() -> None:
    res = DiagnosticTest("X", 3.0, 0.01, 2.0, None, "chi2", "H0 words", "H1 words")
    assert str(res) == (
        "X: statistic = 3 (chi2 with 2 df), p = 0.01; reject at the 5% level: H1 words"
    )
    res = DiagnosticTest("X", 1.0, 0.5, 2.0, 30.0, "F", "H0 words", "H1 words")
    assert "no evidence at the 5% level against: H0 words" in str(res)
    assert "(F with (2, 30) df)" in str(res)


# -- R's printed values (lmtest), as stored in statsmodels' test_diagnostic.py -------------
@pytest.fixture(scope="module")
def macro() -> duolm.OLSResults:
    """``fm <- lm(ginv ~ ggdp + lint)`` on statsmodels' macrodata growth rates."""
    d = sm.datasets.macrodata.load_pandas().data
    data = pd.DataFrame(
        {
            "ginv": 400 * np.diff(np.log(d["realinv"].to_numpy())),
            "ggdp": 400 * np.diff(np.log(d["realgdp"].to_numpy())),
            "lint": d["realint"].to_numpy()[:-1],
        }
    )
    fit = duolm.ols("ginv ~ ggdp + lint", data)
    # R: fm$coefficients
    assert_allclose(
        fit.params.to_numpy(),
        [-9.48167277465485, 4.3742216647032, -0.613996969478989],
        rtol=1e-12,
        atol=0,
    )
    return fit


def test_against_r_lmtest(macro: duolm.OLSResults) -> None:
    # bptest(fm): BP = 0.709924388395087, df = 2, p = 0.701199952134347
    bp = macro.het_breuschpagan()
    assert_allclose([bp.statistic, bp.pvalue], [0.709924388395087, 0.701199952134347], rtol=1e-12)
    assert bp.df == 2
    # bptest(fm, studentize = FALSE): BP = 1.302014063483341, p = 0.5215203247110649
    bp0 = macro.het_breuschpagan(robust=False)
    assert_allclose(
        [bp0.statistic, bp0.pvalue], [1.302014063483341, 0.5215203247110649], rtol=1e-12
    )
    # bgtest(fm, order = 4, type = "Chisq"): LM = 4.771042651230007, p = 0.3116067133066697
    bg = macro.acorr_breusch_godfrey(4)
    assert_allclose([bg.statistic, bg.pvalue], [4.771042651230007, 0.3116067133066697], rtol=1e-11)
    # Box.test(residuals(fm), lag = 4, type = "Ljung-Box"): 5.23587172795227, p = 0.263940335284713
    lb = macro.acorr_ljungbox(4)
    assert_allclose([lb.statistic, lb.pvalue], [5.23587172795227, 0.263940335284713], rtol=1e-12)
    # ... fitdf = 2: p = 0.0729532930400377
    lb2 = macro.acorr_ljungbox(4, model_df=2)
    assert_allclose(lb2.pvalue, 0.0729532930400377, rtol=1e-12)


def test_streamed_fit_says_which_tests_need_the_rows(frame: pd.DataFrame, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    streamed = duolm.ols(FORMULA, str(path))
    in_memory = duolm.ols(FORMULA, frame)
    # VIF is read from R alone: the streamed fit has it
    assert_allclose(streamed.vif().to_numpy(), in_memory.vif().to_numpy(), rtol=1e-9, atol=0)
    with pytest.raises(DataError, match="streamed"):
        streamed.het_white()
    with pytest.raises(DataError, match="streamed"):
        streamed.influence()


def test_the_summarys_breusch_pagan_is_the_test_by_the_fits_factor() -> None:
    # koenker_lm (the summary's note) == het_breuschpagan's auxiliary regression
    rng = np.random.default_rng(17)
    x = rng.uniform(1, 10, 500)
    z = rng.normal(size=500)
    frame = pd.DataFrame({"x": x, "z": z, "y": 1 + x - z + rng.normal(size=500) * x})
    for formula in ("y ~ x", "y ~ x + z + I(x**2)"):
        fit = duolm.ols(formula, frame)
        lm, p, df = _tests.koenker_lm(fit)
        test = fit.het_breuschpagan()
        np.testing.assert_allclose(lm, test.statistic, rtol=1e-9, atol=0)
        np.testing.assert_allclose(p, test.pvalue, rtol=1e-7, atol=1e-300)
        assert df == test.df


def test_auxiliary_regressions_that_would_fit_exactly_are_refused() -> None:
    """RESET with as many columns as rows divided by zero (ZeroDivisionError), and
    Breusch-Godfrey on n - rank lags returned LM = n, a number that means nothing."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=6)
    small = duolm.ols(X=np.c_[np.ones(6), x], y=1 + x + rng.normal(size=6))
    with pytest.raises(DataError, match="RESET regression has 6 columns for 6 rows"):
        small.linear_reset(5)
    assert np.isfinite(small.linear_reset(4).statistic)
    X = np.c_[np.ones(20), rng.normal(size=20)]
    y = X @ [1.0, 1.0] + rng.normal(size=20)
    fit = duolm.ols(X=X, y=y)
    for nlags in (18, 19):
        with pytest.raises(DataError, match="use nlags <= 17"):
            fit.acorr_breusch_godfrey(nlags)
    ref = smd.acorr_breusch_godfrey(sm.OLS(y, X).fit(), nlags=17)
    assert_allclose(fit.acorr_breusch_godfrey(17).statistic, ref[0], rtol=1e-10, atol=0)


@pytest.mark.parametrize("scale", [1e-200, 1e-110, 1e110, 1e155])
def test_white_and_reset_do_not_depend_on_the_units(scale: float) -> None:
    """Their auxiliary columns were raw powers and products: at these scales some
    overflowed or underflowed and were dropped as aliased, silently changing the
    statistic and its df (RESET 2.44 on 1 df for 3.87 on 2; White 1.87 on 2 for 8.60 on 5)."""
    rng = np.random.default_rng(3)
    n = 60
    x = rng.normal(size=n)
    y = 1 + x + 0.3 * x**2 + rng.normal(size=n) * (1 + np.abs(x))
    X = np.c_[np.ones(n), x]
    ref = sm.OLS(y, X).fit()
    want_white = smd.het_white(ref.resid, X)
    want_reset = smd.linear_reset(ref, power=3, use_f=False)
    white = duolm.ols(X=np.c_[np.ones(n), x * scale], y=y).het_white()
    assert_allclose([white.statistic, white.df], [want_white[0], 2.0], rtol=1e-9, atol=0)
    y_scale = scale if 1e-120 < scale < 1e120 else 1.0  # y beyond: refused, rescale y
    reset = duolm.ols(X=X * [1.0, scale], y=y * y_scale).linear_reset(3)
    assert_allclose(
        [reset.statistic, reset.df], [float(want_reset.statistic), 2.0], rtol=1e-9, atol=0
    )
