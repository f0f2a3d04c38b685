"""Weighted least squares (issue 10, item 1) against statsmodels' WLS on the same data,
and the identity WLS == OLS on the rows scaled by sqrt(w)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.stattools import durbin_watson, jarque_bera, omni_normtest

import duolm
from duolm.errors import DataError
from shared import PREDICT_COLUMNS, SCALARS

RTOL = 1e-10


def _data(n: int = 60, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-1.0, 3.0, size=n)
    w = rng.uniform(0.2, 4.0, size=n)
    y = 1.0 + 2.0 * x1 - 0.5 * x2 + rng.standard_t(5, size=n) / np.sqrt(w)
    return pd.DataFrame({"x1": x1, "x2": x2, "w": w, "y": y, "g": rng.integers(0, 6, size=n)})


def _sm(frame: pd.DataFrame, const: bool = True, **fit: object) -> object:
    X = frame[["x1", "x2"]].to_numpy()
    X = sm.add_constant(X) if const else X
    return sm.WLS(frame["y"].to_numpy(), X, weights=frame["w"].to_numpy()).fit(**fit)


def _close(got: object, want: object) -> None:
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=RTOL, atol=1e-13)


@pytest.mark.parametrize("const", [True, False])
def test_every_number_equals_statsmodels_wls(const: bool) -> None:
    frame = _data()
    formula = "y ~ x1 + x2" if const else "y ~ x1 + x2 - 1"
    fit = duolm.ols(formula, frame, weights="w")
    ref = _sm(frame, const)
    assert fit.weighted
    for name in ("params", "bse", "tvalues", "pvalues"):
        _close(getattr(fit, name), getattr(ref, name))
    for name in SCALARS:
        _close(getattr(fit, name), getattr(ref, name))
    _close(fit.conf_int(0.1), ref.conf_int(0.1))
    _close(fit.cov_params(), ref.cov_params())
    _close(fit.resid, ref.resid)  # unweighted, as statsmodels
    _close(fit.wresid, ref.wresid)
    _close(fit.fittedvalues, ref.fittedvalues)
    _close(fit.weights, frame["w"])
    # the diagnostics read the scaled residuals and rows, as statsmodels' WLS summary
    d = fit.diagnostics
    _close([d.omnibus, d.omnibus_pvalue], omni_normtest(ref.wresid))
    _close([d.jarque_bera, d.jarque_bera_pvalue, d.skew, d.kurtosis], jarque_bera(ref.wresid))
    _close(d.durbin_watson, durbin_watson(ref.wresid))
    _close(d.condition_number, ref.condition_number)
    text = str(fit.summary())
    assert "WLS Regression Results" in text and "Model:                            WLS" in text


def test_llf_has_the_log_weights_term() -> None:
    frame = _data()
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w")
    scaled = duolm.ols(
        X=np.sqrt(frame.w.to_numpy())[:, None] * sm.add_constant(frame[["x1", "x2"]].to_numpy()),
        y=np.sqrt(frame.w.to_numpy()) * frame.y.to_numpy(),
    )
    _close(fit.llf - scaled.llf, 0.5 * np.log(frame.w).sum())


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2", "HC3"])
def test_hc_covariances_equal_statsmodels_wls(cov_type: str) -> None:
    frame = _data()
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w", cov_type=cov_type)
    ref = _sm(frame, cov_type=cov_type)
    _close(fit.bse, ref.bse)
    _close(fit.fvalue, ref.fvalue)
    _close(fit.with_cov_type("nonrobust").bse, _sm(frame).bse)


def test_hac_and_cluster_equal_statsmodels_wls() -> None:
    frame = _data()
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w", cov_type="HAC", cov_kwds={"maxlags": 3})
    ref = _sm(frame, cov_type="HAC", cov_kwds={"maxlags": 3})
    _close(fit.bse, ref.bse)
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w", cov_type="cluster", cov_kwds={"groups": "g"})
    ref = _sm(frame, cov_type="cluster", cov_kwds={"groups": frame.g.to_numpy()})
    _close(fit.bse, ref.bse)


def test_wls_is_ols_on_rows_scaled_by_root_weights() -> None:
    frame = _data()
    X = sm.add_constant(frame[["x1", "x2"]].to_numpy())
    w = frame.w.to_numpy()
    fit = duolm.ols(X=X, y=frame.y.to_numpy(), weights=w)
    scaled = duolm.ols(X=np.sqrt(w)[:, None] * X, y=np.sqrt(w) * frame.y.to_numpy())
    for name in ("params", "bse", "ssr", "scale", "df_resid"):
        _close(getattr(fit, name), getattr(scaled, name))
    _close(fit.with_cov_type("HC3").bse, scaled.with_cov_type("HC3").bse)
    # an array of weights with a formula, and with X=, give the column's fit
    by_column = duolm.ols("y ~ x1 + x2", frame, weights="w")
    _close(duolm.ols("y ~ x1 + x2", frame, weights=w).bse, by_column.bse)
    _close(fit.rsquared, by_column.rsquared)


def test_unit_weights_are_ordinary_least_squares() -> None:
    frame = _data().assign(w=1.0)
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w")
    plain = duolm.ols("y ~ x1 + x2", frame)
    for name in ("params", "bse", "rsquared", "fvalue", "llf", "centered_tss"):
        _close(getattr(fit, name), getattr(plain, name))


def test_predict_weights_set_the_observation_variance_as_statsmodels() -> None:
    frame = _data()
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w")
    ref = _sm(frame)
    # four rows: statsmodels refuses as many weights as columns ("wrong shape")
    new = pd.DataFrame({"x1": [0.0, 1.5, -2.0, 0.3], "x2": [1.0, 0.0, 2.5, -1.0]})
    w_new = np.array([0.5, 2.0, 8.0, 1.0])
    X_new = sm.add_constant(new.to_numpy(), has_constant="add")
    for weights, sm_weights in ((w_new, w_new), (None, 1.0), (3.0, 3.0)):
        got = fit.predict(new, alpha=0.1, weights=weights)
        want = ref.get_prediction(X_new, weights=sm_weights).summary_frame(alpha=0.1)
        _close(got[PREDICT_COLUMNS], want[PREDICT_COLUMNS])
    # a column of the new data names the weights too
    by_name = fit.predict(new.assign(v=w_new), alpha=0.1, weights="v")
    _close(by_name[PREDICT_COLUMNS], fit.predict(new, alpha=0.1, weights=w_new)[PREDICT_COLUMNS])
    # in sample: the fit's own weights (statsmodels' default)
    want = ref.get_prediction().summary_frame(alpha=0.1)
    _close(fit.predict(alpha=0.1)[PREDICT_COLUMNS], want[PREDICT_COLUMNS])
    with pytest.raises(DataError, match=r"weights of the new rows is -1 at row 1"):
        fit.predict(new, weights=[1.0, -1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="4 rows"):
        fit.predict(new, weights=[1.0, 2.0])


def test_missing_weights_drop_their_rows_as_statsmodels() -> None:
    frame = _data()
    frame.loc[[3, 17], "w"] = np.nan
    frame.loc[5, "x1"] = np.nan
    with pytest.warns(duolm.errors.MissingValuesWarning):
        fit = duolm.ols("y ~ x1 + x2", frame, weights="w")
    X = sm.add_constant(frame[["x1", "x2"]].to_numpy())
    ref = sm.WLS(frame.y.to_numpy(), X, weights=frame.w.to_numpy(), missing="drop").fit()
    assert fit.n_dropped == 3 and fit.nobs == ref.nobs
    _close(fit.bse, ref.bse)
    _close(fit.rsquared, ref.rsquared)
    assert list(fit.resid.index) == [i for i in frame.index if i not in (3, 5, 17)]
    with pytest.warns(duolm.errors.MissingValuesWarning):
        arrays = duolm.ols("y ~ x1 + x2", frame.drop(columns="w"), weights=frame.w.to_numpy())
    _close(arrays.bse, ref.bse)
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'w' at rows 3, 17"):
        duolm.ols("y ~ x1 + x2", frame.dropna(subset=["x1"]), weights="w", missing="raise")


@pytest.mark.parametrize(
    ("row", "value", "column", "array"),
    [
        (4, 0.0, r"weights column 'w' is 0 at row 4: weights must be positive", r"weights is 0"),
        (7, -2.0, r"weights column 'w' is -2 at row 7", r"weights is -2 at row 7"),
        (2, np.inf, r"column 'w' is inf at row 2", r"weights is inf at row 2"),
    ],
)
def test_bad_weights_name_the_row_and_column(
    row: int, value: float, column: str, array: str
) -> None:
    frame = _data()
    frame.loc[row, "w"] = value
    with pytest.raises(DataError, match=column):
        duolm.ols("y ~ x1 + x2", frame, weights="w")
    with pytest.raises(DataError, match=array):
        duolm.bayes("y ~ x1 + x2", frame.drop(columns="w"), weights=frame.w.to_numpy())


def test_weights_that_cannot_be_read_are_refused() -> None:
    frame = _data()
    with pytest.raises(DataError, match="column 'v' of the weights is not in the data"):
        duolm.ols("y ~ x1 + x2", frame, weights="v")
    with pytest.raises(DataError, match="the weights column 'w' is not numeric"):
        duolm.ols("y ~ x1 + x2", frame.assign(w="heavy"), weights="w")
    text = frame.assign(w=frame.w.astype(object))
    text.loc[9, "w"] = "heavy"
    with pytest.raises(DataError, match="row 9 holds 'heavy'"):
        duolm.ols("y ~ x1 + x2", text, weights="w")
    with pytest.raises(DataError, match="weights has 59 entries but the data has 60 rows"):
        duolm.ols("y ~ x1 + x2", frame, weights=frame.w.to_numpy()[1:])
    with pytest.raises(DataError, match="weights must be 1-D"):
        duolm.ols("y ~ x1 + x2", frame, weights=np.ones((60, 2)))
    with pytest.raises(TypeError, match="names a column, which only a formula fit has"):
        duolm.ols(X=frame[["x1"]].to_numpy(), y=frame.y.to_numpy(), weights="w")


def test_a_large_frame_copied_column_by_column_equals_statsmodels() -> None:
    """Above HEAD_ROWS rows a plain formula's design (weights included) is copied from the
    columns, not built by formulaic: the same numbers, the same errors."""
    frame = _data(n=600)
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w")
    ref = _sm(frame)
    for name in ("params", "bse", "rsquared", "llf", "centered_tss"):
        _close(getattr(fit, name), getattr(ref, name))
    frame.loc[500, "w"] = -0.5
    with pytest.raises(DataError, match=r"weights column 'w' is -0.5 at row 500"):
        duolm.ols("y ~ x1 + x2", frame, weights="w")
    frame.loc[500, "w"] = np.nan
    with pytest.warns(duolm.errors.MissingValuesWarning):
        fit = duolm.ols("y ~ x1 + x2", frame, weights="w")
    ref = sm.WLS(
        frame.y.to_numpy(),
        sm.add_constant(frame[["x1", "x2"]].to_numpy()),
        weights=frame.w.to_numpy(),
        missing="drop",
    ).fit()
    _close(fit.bse, ref.bse)
    assert fit.n_dropped == 1


def test_specification_tests_refuse_weighted_fits_and_the_notes_say_what_applies() -> None:
    frame = _data(n=80)
    frame["y"] = 1.0 + np.cumsum(np.random.default_rng(2).normal(size=80))  # a random walk
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w")
    for call in (
        fit.het_breuschpagan,
        fit.het_white,
        fit.acorr_ljungbox,
        fit.durbin_watson_test,
        fit.vif,
        fit.influence,
        fit.outlier_test,
    ):
        with pytest.raises(DataError, match="defined for unweighted fits: this fit is weighted"):
            call()
    text = str(fit.summary())
    assert 'Remedy: Newey-West standard errors, fit.with_cov_type("HAC"' in text
    assert "glsar" not in text
    assert "Breusch-Pagan" not in text and "Variance inflation" not in text


def test_anova_of_a_weighted_fit() -> None:
    """Types II/III and nested F tests equal statsmodels' anova_lm of its WLS; type I is the
    weighted sequential sums of squares (R's anova of lm(weights=)): the drops in the
    weighted ssr as terms enter. statsmodels' type I differs: it reads the unweighted
    exog and endog (anova1_lm_single) beside the weighted ssr."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    frame = _data()
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w")
    ref = smf.wls("y ~ x1 + x2", frame, weights=frame.w).fit()
    for typ in (2, 3):
        got = duolm.anova(fit, typ=typ)
        _close(got.to_numpy(dtype=float)[:, :2], anova_lm(ref, typ=typ).to_numpy()[:, :2])
    ssr = [duolm.ols(f, frame, weights="w").ssr for f in ("y ~ 1", "y ~ x1", "y ~ x1 + x2")]
    sequential = duolm.anova(fit, typ=1)["sum_sq"].to_numpy()
    _close(sequential[:2], [ssr[0] - ssr[1], ssr[1] - ssr[2]])
    small = duolm.ols("y ~ x1", frame, weights="w")
    want = anova_lm(smf.wls("y ~ x1", frame, weights=frame.w).fit(), ref)
    _close(duolm.anova(small, fit)["F"].to_numpy()[1], want["F"].to_numpy()[1])
