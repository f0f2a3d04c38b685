"""Every bad input gets an error that names the problem (or, where documented, a NaN).

Each test checks the message with ``match=``: what is wrong, and where (column, row,
value, parameter).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm.errors import DataError, FormulaError, RankWarning

N = 20


def frame(seed: int = 1, n: int = N, labels: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {"x": rng.normal(size=n), "z": rng.uniform(-2, 2, size=n), "g": list("abcd") * (n // 4)}
    )
    data["y"] = 1.0 + 2.0 * data.x - 0.5 * data.z + rng.normal(size=n)
    if labels:
        data.index = pd.Index([f"r{i}" for i in range(n)])
    return data


def close(actual: object, desired: object, rtol: float) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(desired, dtype=float), rtol=rtol, atol=0
    )


# -- missing values ------------------------------------------------------------------------


def test_nan_rows_are_dropped_counted_and_shown_in_the_summary() -> None:
    data = frame()
    data.loc[3, "x"] = np.nan
    data.loc[7, "y"] = np.nan
    fit = duolm.ols("y ~ x + z", data)
    assert fit.n_dropped == 2
    assert fit.nobs == N - 2
    clean = duolm.ols("y ~ x + z", data.dropna())
    assert clean.n_dropped == 0
    close(fit.params, clean.params, rtol=1e-13)
    close(fit.bse, clean.bse, rtol=1e-13)
    assert list(fit.resid.index) == [i for i in range(N) if i not in (3, 7)]
    text = str(fit.summary())
    assert "2 rows with missing values dropped" in text
    assert "Dropped (missing):" in text
    assert "missing" not in str(clean.summary())


def test_nan_rows_in_arrays_are_dropped_and_counted() -> None:
    data = frame()
    X = data[["x", "z"]].to_numpy(copy=True)
    y = data["y"].to_numpy(copy=True)
    X[4, 1] = np.nan
    y[9] = np.nan
    fit = duolm.ols(X=X, y=y)
    assert fit.n_dropped == 2
    keep = np.setdiff1d(np.arange(N), [4, 9])
    close(fit.params, duolm.ols(X=X[keep], y=y[keep]).params, rtol=1e-13)


def test_missing_raise_names_the_columns_and_rows() -> None:
    data = frame(labels=True)
    data.loc["r3", "x"] = np.nan
    data.loc["r7", "x"] = np.nan
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'x' at rows 'r3', 'r7'"):
        duolm.ols("y ~ x + z", data, missing="raise")
    data.loc["r9", "y"] = np.nan
    with pytest.raises(DataError, match=r"column\(s\) 'y', 'x' at rows 'r3', 'r7', 'r9'"):
        duolm.ols("y ~ x + z", data, missing="raise")
    X = frame()[["x", "z"]].to_numpy(copy=True)
    X[5, 1] = np.nan
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'x1' at rows 5"):
        duolm.ols(X=X, y=frame()["y"], missing="raise")


def test_many_missing_rows_are_summarised() -> None:
    data = frame()
    data.loc[:7, "z"] = np.nan
    with pytest.raises(DataError, match=r"at rows 0, 1, 2, 3, 4 \(and 3 more\)"):
        duolm.ols("y ~ x + z", data, missing="raise")


def test_unknown_missing_policy() -> None:
    with pytest.raises(ValueError, match="missing must be 'drop' or 'raise', got 'ignore'"):
        duolm.ols("y ~ x", frame(), missing="ignore")


@pytest.mark.parametrize("kind", ["None", "pd.NA"])
def test_none_and_pd_na_count_as_missing(kind: str) -> None:
    data = frame()
    if kind == "None":
        data["x"] = data["x"].astype(object)
        data.loc[4, "x"] = None
    else:
        data["x"] = data["x"].astype("Float64")
        data.loc[4, "x"] = pd.NA
    fit = duolm.ols("y ~ x + z", data)
    assert fit.n_dropped == 1
    close(fit.params, duolm.ols("y ~ x + z", frame().drop(index=4)).params, rtol=1e-13)
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'x' at rows 4"):
        duolm.ols("y ~ x + z", data, missing="raise")


def test_none_in_a_mapping_and_null_in_polars() -> None:
    pl = pytest.importorskip("polars")
    columns = {"x": [1.0, None, 3.0, 4.0, 5.0], "y": [1.0, 2.0, 3.0, 5.0, 4.0]}
    assert duolm.ols("y ~ x", columns).n_dropped == 1
    assert duolm.ols("y ~ x", pl.DataFrame(columns)).n_dropped == 1
    with pytest.raises(DataError, match=r"column\(s\) 'x' at rows 1"):
        duolm.ols("y ~ x", pl.DataFrame(columns), missing="raise")


# -- infinite values -----------------------------------------------------------------------


def test_inf_names_column_and_row() -> None:
    data = frame(labels=True)
    data.loc["r6", "x"] = np.inf
    with pytest.raises(DataError, match="column 'x' is inf at row 'r6'; infinite values"):
        duolm.ols("y ~ x + z", data)
    data = frame()
    data.loc[11, "y"] = -np.inf
    with pytest.raises(DataError, match="column 'y' is -inf at row 11"):
        duolm.ols("y ~ x + z", data)
    data = frame()
    data.loc[2, "z"] = np.inf
    with pytest.raises(DataError, match="X column 'z' is inf at row 2"):
        duolm.ols(X=data[["x", "z"]], y=data["y"])
    with pytest.raises(DataError, match="y is -inf at row 11"):
        y = frame()["y"].to_numpy(copy=True)
        y[11] = -np.inf
        duolm.ols(X=frame()[["x", "z"]], y=y)


def test_inf_made_by_a_transform_names_the_term_and_row() -> None:
    data = frame()
    data.loc[5, "z"] = 0.0
    with pytest.raises(DataError, match=r"term 'np.log\(z\)' is -inf at row 5 \(z = 0"):
        duolm.ols("y ~ x + np.log(z)", data.assign(z=data.z.abs()))


# -- no rows, too few rows -----------------------------------------------------------------


def test_empty_data() -> None:
    with pytest.raises(DataError, match="the data has no rows"):
        duolm.ols("y ~ x", frame().iloc[:0])
    with pytest.raises(DataError, match="X and y have no rows"):
        duolm.ols(X=np.zeros((0, 2)), y=np.zeros(0))


def test_no_rows_left_after_dropping() -> None:
    data = frame()
    data["x"] = np.nan
    with pytest.raises(DataError, match=f"no rows left after dropping {N} rows with missing"):
        duolm.ols("y ~ x + z", data)
    with pytest.raises(DataError, match=f"no rows left after dropping {N} rows"):
        duolm.ols(X=data[["x", "z"]], y=data["y"])


def test_as_many_rows_as_coefficients_is_too_few() -> None:
    data = frame(n=4).iloc[:3]
    with pytest.raises(DataError, match=r"too few rows: 3 observation\(s\) for 3 coefficient"):
        duolm.ols("y ~ x + z", data)
    X = np.column_stack([np.ones(3), data.x, data.z])
    with pytest.raises(DataError, match=r"too few rows: 3 observation\(s\) for 3 coefficient"):
        duolm.ols(X=X, y=data.y)


@pytest.mark.parametrize("n", [1, 2])
def test_fewer_rows_than_columns_is_too_few(n: int) -> None:
    rng = np.random.default_rng(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankWarning)
        with pytest.raises(DataError, match="too few rows"):
            duolm.ols(X=rng.normal(size=(n, 3)), y=rng.normal(size=n))


def test_length_mismatch() -> None:
    with pytest.raises(DataError, match="X has 3 rows but y has 4"):
        duolm.ols(X=np.ones((3, 1)), y=np.ones(4))


# -- collinear and constant columns --------------------------------------------------------


def test_collinear_column_is_aliased_like_r() -> None:
    data = frame().assign(w=lambda d: 2.0 * d.x - d.z)
    with pytest.warns(RankWarning, match=r"aliased column\(s\) \['w'\]"):
        fit = duolm.ols("y ~ x + z + w", data)
    without = duolm.ols("y ~ x + z", data)
    assert fit.aliased == ("w",)
    assert math.isnan(fit.params["w"])
    assert math.isnan(fit.bse["w"])
    assert fit.conf_int().loc["w"].isna().all()
    assert fit.cov_params().loc["w"].isna().all()
    kept = ["Intercept", "x", "z"]
    for attr in ("params", "bse", "tvalues", "pvalues"):
        close(getattr(fit, attr)[kept], getattr(without, attr)[kept], rtol=1e-10)
    for attr in ("rsquared", "rsquared_adj", "fvalue", "f_pvalue", "llf", "aic", "scale"):
        close(getattr(fit, attr), getattr(without, attr), rtol=1e-10)
    assert (fit.df_model, fit.df_resid) == (without.df_model, without.df_resid)
    close(fit.predict(data.head(4)), without.predict(data.head(4)), rtol=1e-10)
    with pytest.raises(ValueError, match=r"hypothesis involves aliased coefficient\(s\) \['w'\]"):
        fit.t_test("w = 0")


def test_collinear_array_column_is_aliased() -> None:
    data = frame()
    X = np.column_stack([np.ones(N), data.x, 3.0 * data.x, data.z])
    with pytest.warns(RankWarning, match=r"aliased column\(s\) \['x2'\]"):
        fit = duolm.ols(X=X, y=data.y)
    without = duolm.ols(X=X[:, [0, 1, 3]], y=data.y)
    assert math.isnan(fit.params["x2"])
    close(fit.params[["x0", "x1", "x3"]], without.params, rtol=1e-10)
    close(fit.bse[["x0", "x1", "x3"]], without.bse, rtol=1e-10)


def test_constant_column_with_an_intercept_is_aliased() -> None:
    data = frame().assign(c=3.0)
    with pytest.warns(RankWarning, match=r"aliased column\(s\) \['c'\]"):
        fit = duolm.ols("y ~ x + c", data)
    assert math.isnan(fit.params["c"])
    close(fit.params[["Intercept", "x"]], duolm.ols("y ~ x", data).params, rtol=1e-10)


def test_constant_array_column_is_the_intercept() -> None:
    data = frame().assign(c=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RankWarning)
        fit = duolm.ols(X=data[["c", "x"]], y=data.y)
    ref = duolm.ols("y ~ x", data)
    assert fit.k_constant == 1
    assert fit.df_model == 1
    close(fit.params["c"] * 3.0, ref.params["Intercept"], rtol=1e-12)
    close(fit.params["x"], ref.params["x"], rtol=1e-12)
    for attr in ("rsquared", "rsquared_adj", "fvalue", "f_pvalue", "ess", "centered_tss"):
        close(getattr(fit, attr), getattr(ref, attr), rtol=1e-12)


# -- text where numbers are expected -------------------------------------------------------


def test_text_in_a_numeric_column_names_column_row_and_value() -> None:
    data = frame(labels=True)
    data["x"] = data["x"].astype(object)
    data.loc["r2", "x"] = "abc"
    with pytest.raises(DataError, match="column 'x' is not numeric: row 'r2' holds 'abc'"):
        duolm.ols("y ~ x + z", data)
    with pytest.raises(DataError, match="X column 'x' is not numeric: row 'r2' holds 'abc'"):
        duolm.ols(X=data[["x", "z"]], y=data.y)


def test_numbers_given_as_text_are_accepted() -> None:
    data = frame()
    as_text = data.assign(x=data.x.map(repr))
    close(duolm.ols("y ~ x", as_text).params, duolm.ols("y ~ x", data).params, rtol=1e-15)


def test_non_numeric_response() -> None:
    data = frame().assign(y=["a", "b"] * (N // 2))
    with pytest.raises(DataError, match="the response column 'y' is not numeric"):
        duolm.ols("y ~ x", data)
    with pytest.raises(DataError, match="y is not numeric: row 0 holds 'a'"):
        duolm.ols(X=data[["x"]], y=data.y)
    typo = frame().assign(y=lambda d: d.y.astype(object))
    typo.loc[3, "y"] = "oops"
    with pytest.raises(DataError, match="column 'y' is not numeric: row 3 holds 'oops'"):
        duolm.ols("y ~ x", typo)


# -- extreme magnitudes --------------------------------------------------------------------


@pytest.mark.parametrize("c", [1e150, 1e-150])
def test_extreme_magnitudes_scale_exactly(c: float) -> None:
    data = frame()
    ref = duolm.ols("y ~ x + z", data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or underflow warnings
        fit = duolm.ols("y ~ x + z", data.assign(x=data.x * c, y=data.y * c))
        # y and x scaled by c: the intercept and z's coefficient scale by c, x's does not
        factor = np.array([c, 1.0, c])
        close(fit.params, ref.params * factor, rtol=1e-12)
        close(fit.bse, ref.bse * factor, rtol=1e-12)
        close(fit.tvalues, ref.tvalues, rtol=1e-12)
        close(fit.pvalues, ref.pvalues, rtol=1e-12)
        close(fit.conf_int(), ref.conf_int().mul(factor, axis=0), rtol=1e-12)
        for attr in ("rsquared", "rsquared_adj", "fvalue", "f_pvalue"):
            close(getattr(fit, attr), getattr(ref, attr), rtol=1e-12)
        for attr in ("ssr", "ess", "centered_tss", "scale"):
            close(getattr(fit, attr), getattr(ref, attr) * c * c, rtol=1e-12)
        close(fit.llf, ref.llf - N * math.log(c), rtol=1e-12)
        close(fit.leverage, ref.leverage, rtol=1e-12)
        close(fit.resid, ref.resid * c, rtol=1e-12)
        new = data.head(3).assign(x=lambda d: d.x * c)
        close(fit.predict(new), ref.predict(data.head(3)) * np.array([c, c, c, c, c, c]), 1e-12)
        for cov_type in ("HC0", "HC3"):
            close(fit.with_cov_type(cov_type).bse, ref.with_cov_type(cov_type).bse * factor, 1e-12)


@pytest.mark.parametrize("c", [1e150, 1e-150])
def test_extreme_magnitudes_diagnostics_and_summary(c: float) -> None:
    data = frame()
    ref = duolm.ols("y ~ x + z", data)
    fit = duolm.ols("y ~ x + z", data.assign(x=data.x * c, y=data.y * c))
    for name in ("omnibus", "jarque_bera", "skew", "kurtosis", "durbin_watson"):
        close(getattr(fit.diagnostics, name), getattr(ref.diagnostics, name), rtol=1e-12)
    assert "OLS Regression Results" in str(fit.summary())


def test_y_of_magnitude_1e200_is_a_clear_error_or_correct() -> None:
    data = frame()
    ref = duolm.ols("y ~ x + z", data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a warning is not the clear error
            fit = duolm.ols("y ~ x + z", data.assign(y=data.y * 1e200))
    except DataError as exc:
        assert "overflows float64: rescale y" in str(exc)
        assert "1e+200" in str(exc) or "e+200" in str(exc)
        return
    close(fit.params, ref.params * 1e200, rtol=1e-12)
    close(fit.tvalues, ref.tvalues, rtol=1e-12)
    for attr in ("rsquared", "fvalue", "f_pvalue"):
        close(getattr(fit, attr), getattr(ref, attr), rtol=1e-12)


# -- formulas ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y x", "formula 'y x' has no '~'; write it as 'response ~ terms'"),
        ("", "has no '~'"),
        ("y ~ ", "has no terms right of '~'"),
        ("~ x", "has no response left of '~'"),
        ("y ~ nope", "unknown name 'nope' in formula; columns are: g, x, y, z"),
        ("y ~ (x + z", r"unbalanced parentheses in formula 'y ~ \(x \+ z': 1 '\(' not closed"),
        ("y ~ x)", r"unbalanced parentheses in formula 'y ~ x\)': extra '\)'"),
        ("y ~ __import__('os')", "'__import__' is not allowed in a formula"),
        ("y ~ I(__import__('os'))", "'__import__' is not allowed in a formula"),
        ("y ~ x + open('f')", "'open' is not allowed in a formula"),
        ("y ~ eval('1')", "'eval' is not allowed in a formula"),
        ("y ~ x + exec('1')", "'exec' is not allowed in a formula"),
        ("y ~ getattr(x, 'real')", "'getattr' is not allowed in a formula"),
        ("y ~ np.load('a')", "'np.load' is not an allowed function"),
    ],
)
def test_malformed_and_forbidden_formulas(formula: str, message: str) -> None:
    data = frame()[["x", "z", "g", "y"]]
    with pytest.raises(FormulaError, match=message):
        duolm.ols(formula, data)


@pytest.mark.parametrize(
    "template",
    [
        "y ~ x + __import__('os').system('touch {path}')",
        "y ~ I(__import__('os').system('touch {path}'))",
        "y ~ I(open('{path}', 'w'))",
        "y ~ x + I(np.save('{path}', x))",
        "y ~ x + I(x.__class__.__init__.__globals__)",
        "y ~ I((lambda: open('{path}', 'w'))())",
        "y ~ I([c for c in ().__class__.__mro__])",
    ],
)
def test_a_formula_cannot_run_code(template: str, tmp_path: Path) -> None:
    path = tmp_path / "pwned"
    with pytest.raises(FormulaError):
        duolm.ols(template.format(path=path), frame())
    assert not path.exists()
    assert not Path(f"{path}.npy").exists()


# -- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0, 1, -1, 1.5, float("nan")])
def test_bad_alpha(alpha: float) -> None:
    fit = duolm.ols("y ~ x", frame())
    message = r"alpha is a significance level in \(0, 1\), got"
    with pytest.raises(ValueError, match=message):
        fit.conf_int(alpha)
    with pytest.raises(ValueError, match=message):
        fit.predict(alpha=alpha)
    with pytest.raises(ValueError, match=message):
        fit.predict(frame().head(2), alpha=alpha)
    with pytest.raises(ValueError, match=message):
        fit.t_test("x = 0", alpha=alpha)


@pytest.mark.parametrize("cov_type", ["HC4", "hc3", "robust", ""])
def test_bad_cov_type(cov_type: str) -> None:
    types = r"'nonrobust', 'HC0', 'HC1', 'HC2', 'HC3', 'HAC', 'cluster'"
    message = rf"cov_type must be one of \({types}\), got"
    with pytest.raises(ValueError, match=message):
        duolm.ols("y ~ x", frame(), cov_type=cov_type)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        duolm.ols("y ~ x", frame()).with_cov_type(cov_type)  # type: ignore[arg-type]


def test_wrong_argument_combinations() -> None:
    data = frame()
    with pytest.raises(TypeError, match="give either a formula with data, or X= and y=, not both"):
        duolm.ols("y ~ x", data, X=data[["x"]], y=data.y)
    with pytest.raises(TypeError, match="give a formula and data, or both X= and y="):
        duolm.ols()
    with pytest.raises(TypeError, match="give a formula and data, or both X= and y="):
        duolm.ols(X=data[["x"]])
    with pytest.raises(TypeError, match="give a formula and data, or both X= and y="):
        duolm.ols(y=data.y)
    with pytest.raises(TypeError, match="a formula needs data"):
        duolm.ols("y ~ x")
    with pytest.raises(TypeError, match="the first argument is a formula string, got DataFrame"):
        duolm.ols(data, "y ~ x")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="data must be a pandas DataFrame, a polars DataFrame"):
        duolm.ols("y ~ x", [1, 2, 3])


# -- prediction on bad new data ------------------------------------------------------------


def test_predict_with_a_missing_column() -> None:
    fit = duolm.ols("y ~ x + z", frame())
    with pytest.raises(DataError, match="column 'z' used by the formula is not in the data"):
        fit.predict(frame()[["x"]])


def test_predict_with_the_wrong_width() -> None:
    data = frame()
    fit = duolm.ols(X=data[["x", "z"]].to_numpy(), y=data.y.to_numpy())
    with pytest.raises(DataError, match=r"X has 3 columns but the fit had 2 \(x0, x1\)"):
        fit.predict(np.ones((4, 3)))
    with pytest.raises(DataError, match=r"X has 1 columns but the fit had 2"):
        fit.predict(np.ones((4, 1)))


def test_predict_with_an_unseen_level() -> None:
    data = frame(labels=True)
    new = data.head(3).copy()
    new.loc["r1", "g"] = "zz"
    for formula in ("y ~ x + C(g)", "y ~ x + g"):
        fit = duolm.ols(formula, data)
        with pytest.raises(
            DataError, match=r"column 'g' has level 'zz' at row 'r1' that the fit did not see"
        ):
            fit.predict(new)


def test_predict_with_missing_or_infinite_values() -> None:
    data = frame(labels=True)
    fit = duolm.ols("y ~ x + z", data)
    new = data.head(3).copy()
    new.loc["r1", "x"] = np.nan
    with pytest.raises(DataError, match=r"column\(s\) 'x' at rows 'r1'"):
        fit.predict(new)
    new.loc["r1", "x"] = np.inf
    with pytest.raises(DataError, match="column 'x' is inf at row 'r1'"):
        fit.predict(new)
    arrays = duolm.ols(X=data[["x", "z"]].to_numpy(), y=data.y.to_numpy())
    with pytest.raises(DataError, match=r"X column 'x1' is missing \(NaN\) at row 1"):
        arrays.predict(np.array([[1.0, 2.0], [1.0, np.nan]]))


# -- an exact fit --------------------------------------------------------------------------


def exact_fit(cov_type: str = "nonrobust") -> duolm.OLSResults:
    x = np.arange(10.0)
    data = pd.DataFrame({"x": x, "z": (x**2) % 7})
    data["y"] = 1.0 + 2.0 * data.x - 0.5 * data.z  # exactly representable
    return duolm.ols("y ~ x + z", data, cov_type=cov_type)  # type: ignore[arg-type]


def _finite_or_inf(value: object) -> None:
    array = np.asarray(value, dtype=float)
    assert not np.isnan(array).any(), value


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "HC2", "HC3"])
def test_exact_fit_has_no_nan(cov_type: str) -> None:
    fit = exact_fit(cov_type)
    assert fit.ssr == 0.0
    close(fit.params, [1.0, 2.0, -0.5], rtol=1e-15)
    for attr in ("params", "bse", "tvalues", "pvalues", "resid", "fittedvalues", "leverage"):
        _finite_or_inf(getattr(fit, attr))
    for attr in ("rsquared", "rsquared_adj", "ssr", "ess", "centered_tss", "scale"):
        _finite_or_inf(getattr(fit, attr))
    close(fit.rsquared, 1.0, rtol=1e-14)
    _finite_or_inf(fit.conf_int())
    _finite_or_inf(fit.cov_params())
    _finite_or_inf(fit.predict())
    _finite_or_inf(fit.predict(pd.DataFrame({"x": [0.5], "z": [3.0]})))
    diag = fit.diagnostics
    assert diag.skew == 0.0
    assert diag.kurtosis == 3.0
    _finite_or_inf([diag.jarque_bera, diag.jarque_bera_pvalue, diag.condition_number])


def test_exact_fit_likelihood() -> None:
    fit = exact_fit()
    assert fit.llf == math.inf
    assert fit.aic == -math.inf
    assert fit.bic == -math.inf


def test_exact_fit_f_test() -> None:
    fit = exact_fit()
    assert fit.fvalue == math.inf
    assert fit.f_pvalue == 0.0


def test_exact_fit_summary() -> None:
    assert "OLS Regression Results" in str(exact_fit().summary())


def test_exact_fit_cooks_distance_and_durbin_watson() -> None:
    fit = exact_fit()
    # documented: no row moves an exact fit; Durbin-Watson is 0/0 there (NaN, said so)
    np.testing.assert_array_equal(fit.cooks_distance.to_numpy(), 0.0)
    assert np.isnan(fit.diagnostics.durbin_watson)
    assert "exactly zero" in (type(fit.diagnostics).__doc__ or "")


# -- leverage one --------------------------------------------------------------------------


@pytest.mark.parametrize("cov_type", ["HC2", "HC3"])
def test_hc2_hc3_refuse_a_row_of_leverage_one(cov_type: str) -> None:
    # a dummy that is 1 on a single row (a level seen once) gives that row leverage 1
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(10), np.r_[np.zeros(9), 1.0]])
    y = rng.normal(size=10)
    with pytest.raises(DataError, match=f"{cov_type} is undefined: row 9 has leverage 1"):
        _ = duolm.ols(X=X, y=y, cov_type=cov_type).bse  # type: ignore[arg-type]


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2", "HC3"])
def test_exact_fit_robust_f_test_and_summary(cov_type: str) -> None:
    # every residual is 0, so is every robust covariance: F is infinite, not a LinAlgError
    fit = exact_fit(cov_type)
    assert fit.fvalue == math.inf
    assert fit.f_pvalue == 0.0
    assert fit.f_test("x = 0").fvalue == math.inf
    assert math.isnan(fit.f_test("x = 2").fvalue)  # 0/0: the hypothesis holds exactly
    assert "OLS Regression Results" in str(fit.summary())


def test_exact_fit_t_test_warns_nothing() -> None:
    with pytest.warns(duolm.PerfectFitWarning):  # the fit says so once, the test not again
        fit = exact_fit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        test = fit.t_test("x = 2, z = 1")
    assert math.isnan(test.t.iloc[0])
    assert test.t.iloc[1] == -math.inf


# -- alias_tol -----------------------------------------------------------------------------


@pytest.mark.parametrize("alias_tol", [math.nan, -1.0, 0.0, 1.0, 2.0, math.inf])
def test_alias_tol_outside_zero_one_is_refused(alias_tol: float) -> None:
    # a NaN or non-positive tolerance let x and 2x through (coefficients near 1e17),
    # a tolerance above 1 crashed in LAPACK
    data = frame().assign(w=lambda d: 2.0 * d.x)
    with pytest.raises(ValueError, match=r"alias_tol is a relative tolerance in \(0, 1\)"):
        duolm.ols("y ~ x + w", data, alias_tol=alias_tol)


# -- pandas' NA-backed string dtype ----------------------------------------------------------


@pytest.mark.parametrize("missing", [False, True])
def test_string_dtype_with_pd_na_is_categorical(missing: bool) -> None:
    data = frame()
    levels = np.resize(np.array(["a", "b", "c"], dtype=object), len(data))
    plain = data.assign(g=levels)
    text = pd.Series(levels, dtype="string")  # StringDtype(na_value=pd.NA), not pandas' "str"
    if missing:
        text[2] = pd.NA
        plain = plain.drop(index=2)
    fit = duolm.ols("y ~ x + g", data.assign(g=text))
    ref = duolm.ols("y ~ x + g", plain)
    close(fit.params, ref.params, rtol=1e-12)
    assert fit.n_dropped == int(missing)
    new = pd.DataFrame({"x": [1.0, 2.0], "g": pd.Series(["c", "a"], dtype="string")})
    close(fit.predict(new), ref.predict(new.astype({"g": object})), rtol=1e-12)


@pytest.mark.parametrize("c", [1e200, 1e-200])
def test_standard_errors_beyond_the_square_root_of_the_float_range(c: float) -> None:
    # bse squared Rxx^-1 entries (1e400 or 1e-400): inf or 0 though bse is representable
    data = frame()
    ref = duolm.ols("y ~ x + z", data)
    fit = duolm.ols("y ~ x + z", data.assign(x=data.x / c))
    factor = np.array([1.0, c, 1.0])
    close(fit.params, ref.params * factor, rtol=1e-12)
    for cov_type in ("nonrobust", "HC0", "HC1", "HC2", "HC3"):
        robust, base = fit.with_cov_type(cov_type), ref.with_cov_type(cov_type)  # type: ignore[arg-type]
        close(robust.bse, base.bse * factor, rtol=1e-12)
        close(robust.tvalues, base.tvalues, rtol=1e-12)
        close(robust.conf_int(), base.conf_int().mul(factor, axis=0), rtol=1e-12)


def test_frames_with_different_row_labels_are_not_paired_by_position() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, 0.1, 0.7, 0.2]}, index=[0, 1, 2, 3])
    y = pd.Series([1.0, 2.0, 2.5, 4.5], index=[3, 2, 1, 0])
    with pytest.raises(DataError, match=r"different row labels \(row 0: 0 in X, 3 in y\)"):
        duolm.ols(X=X, y=y)
    same = duolm.ols(X=X, y=y.reindex(X.index))  # aligned: fine
    assert same.nobs == 4


def test_alpha_must_be_a_number() -> None:
    fit = duolm.ols(X=np.column_stack([np.ones(5), np.arange(5.0)]), y=np.arange(5.0) ** 2)
    for bad in ("0.05", True, None):
        with pytest.raises(ValueError, match="alpha is a significance level"):
            fit.conf_int(bad)  # type: ignore[arg-type]


def test_a_design_wider_than_its_rows_is_refused_before_any_factorisation() -> None:
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"x": rng.normal(size=20), "y": rng.normal(size=20)})
    with pytest.raises(DataError, match=r"too few rows: 20 observation\(s\) for \d+ coeffic"):
        duolm.ols("y ~ bs(x, df=5000)", data)
