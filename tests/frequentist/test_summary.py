"""The printed summary: statsmodels' layout line for line, notes, HTML, no side effects.

The reference text is statsmodels' own ``OLS(...).fit().summary().as_text()``
on the same data (statsmodels is a test dependency); only the Date and Time
fields are normalised before comparing.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import duolm
from duolm import ols
from duolm._format import (
    CoefColumn,
    CoefTable,
    Field,
    KeyValueBlock,
    Summary,
    coef_column,
    format_fixed,
    number_field,
)
from duolm.datasets import longley
from shared import timeless

NONROBUST_NOTE = (
    "Standard Errors assume that the covariance matrix of the errors is correctly specified."
)

# ------------------------------------------------------------------------ data


def line_data() -> pd.DataFrame:
    """The lecture's height-over-time example, regenerated: a line with a little curvature."""
    rng = np.random.default_rng(0)
    t = np.arange(1.0, 81.0)
    return pd.DataFrame({"time": t, "height": -250 + 24 * t + 0.05 * t**2 + rng.normal(0, 80, 80)})


def multi_data() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 120
    df = pd.DataFrame(
        {
            "price": rng.uniform(1, 10, n),
            "advert": rng.gamma(2.0, 3.0, n),
            "temp": rng.normal(20, 5, n),
        }
    )
    df["sales"] = 50 - 3.0 * df.price + 1.5 * df.advert + 0.2 * df.temp + rng.normal(0, 4, n)
    return df


def trend_data() -> pd.DataFrame:
    """A strong quadratic trend fitted by a line: Durbin-Watson far below 2."""
    rng = np.random.default_rng(7)
    t = np.arange(1.0, 61.0)
    return pd.DataFrame({"t": t, "y": 0.1 * t**2 + rng.normal(0, 1, 60)})


def _tables(text: str) -> list[str]:
    """The lines above the notes."""
    return timeless(text.split("\n\nNotes:")[0])


def _assert_lines_equal(ours: list[str], theirs: list[str]) -> None:
    assert len(ours) == len(theirs), "\n".join(ours) + "\n---\n" + "\n".join(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, f"line {i}:\n{a!r}\n{b!r}"


# ------------------------------------------------- identical to statsmodels


@pytest.mark.parametrize(
    ("data", "formula"),
    [
        (line_data, "height ~ time"),
        (multi_data, "sales ~ price + advert + temp"),
        (multi_data, "sales ~ price + advert - 1"),
    ],
    ids=["line", "multi", "no-intercept"],
)
def test_text_matches_statsmodels(data, formula):
    df = data()
    ours = str(ols(formula, df).summary())
    theirs = smf.ols(formula, df).fit().summary().as_text()
    _assert_lines_equal(timeless(ours), timeless(theirs))


def test_no_intercept_header_says_uncentered():
    df = multi_data()
    text = str(ols("sales ~ price + advert - 1", df).summary())
    assert "R-squared (uncentered):" in text
    assert "Adj. R-squared (uncentered):" in text
    assert "R² is computed without centering" in text


def test_hc3_matches_statsmodels_with_t():
    # duolm's robust inference uses Student t with df_resid degrees of freedom, which
    # is statsmodels' use_t=True.
    df = multi_data()
    fit = ols("sales ~ price + advert + temp", df, cov_type="HC3")
    ref = smf.ols("sales ~ price + advert + temp", df).fit(cov_type="HC3", use_t=True)
    summary = fit.summary()
    _assert_lines_equal(timeless(str(summary)), timeless(ref.summary().as_text()))
    assert "Standard Errors are heteroscedasticity robust (HC3)" in summary.notes
    assert "Covariance Type:                  HC3" in summary.text


def test_alpha_sets_interval_labels():
    df = multi_data()
    ours = str(ols("sales ~ price + advert + temp", df).summary(alpha=0.1))
    theirs = smf.ols("sales ~ price + advert + temp", df).fit().summary(alpha=0.1).as_text()
    assert "[0.05       0.95]" in ours
    _assert_lines_equal(timeless(ours), timeless(theirs))


def test_long_names_widen_columns_like_statsmodels():
    df = multi_data().rename(
        columns={"advert": "advertising_spend_in_thousands", "sales": "weekly_sales_of_the_store_x"}
    )
    formula = "weekly_sales_of_the_store_x ~ price + advertising_spend_in_thousands"
    ours = str(ols(formula, df).summary())
    theirs = smf.ols(formula, df).fit().summary().as_text()
    _assert_lines_equal(timeless(ours), timeless(theirs))
    assert max(len(line) for line in ours.splitlines()[:15]) > 78


def test_array_fit_matches_statsmodels():
    df = multi_data()
    X = sm.add_constant(df[["price", "advert", "temp"]])
    ours = str(ols(X=X, y=df["sales"]).summary())
    theirs = sm.OLS(df["sales"], X).fit().summary().as_text()
    _assert_lines_equal(timeless(ours), timeless(theirs))


def test_ill_conditioned_tables_match_statsmodels():
    # Longley (NIST StRD): condition number about 5e9; only the notes differ.
    df = longley()
    formula = "employed ~ gnp_deflator + gnp + unemployed + armed_forces + population + year"
    ours = str(ols(formula, df).summary())
    theirs = smf.ols(formula, df).fit().summary().as_text()
    _assert_lines_equal(_tables(ours), _tables(theirs))


def test_small_sample_tables_match_statsmodels():
    df = line_data().iloc[:6]
    ours = ols("height ~ time", df).summary()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = smf.ols("height ~ time", df).fit().summary().as_text()
    _assert_lines_equal(_tables(ours.text), _tables(theirs))
    assert "Omnibus:                          nan" in ours.text
    assert any("at least 8 observations (6 here)" in n for n in ours.notes)


def test_layout_is_78_wide():
    text = str(ols("height ~ time", line_data()).summary())
    lines = text.split("\n\nNotes:")[0].splitlines()
    assert {len(line) for line in lines} == {78}
    assert lines[0].strip() == "OLS Regression Results"
    assert lines[0] == "OLS Regression Results".center(78)


# ----------------------------------------------------------------------- notes


def test_no_warning_notes_when_all_is_fine():
    summary = ols("height ~ time", line_data()).summary()
    assert summary.notes == (NONROBUST_NOTE,)
    assert summary.text.endswith("\n\nNotes:\n[1] " + NONROBUST_NOTE)


def test_large_condition_number_note():
    summary = ols("y ~ I(t**2)", trend_data()).summary()
    (note,) = [n for n in summary.notes if "condition number is large" in n]
    cond = ols("y ~ I(t**2)", trend_data()).diagnostics.condition_number
    assert f"{cond:.3g}" in note
    assert "accurate" in note
    assert "units" in note  # unit-scaled columns are well conditioned here


def test_durbin_watson_low_note():
    fit = ols("y ~ t", trend_data())
    dw = fit.diagnostics.durbin_watson
    assert dw < 1
    (note,) = [n for n in fit.summary().notes if "Durbin-Watson" in n]
    assert f"positively autocorrelated (Durbin-Watson {dw:.2f}, far below 2)" in note
    assert "missing a trend" in note and "duolm.glsar('y ~ t', data, rho=1)" in note


def test_durbin_watson_high_note():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    df = pd.DataFrame({"x": x, "y": 1 + x + np.tile([1.0, -1.0], 20) + rng.normal(0, 0.1, 40)})
    fit = ols("y ~ x", df)
    assert fit.diagnostics.durbin_watson > 3
    assert any("negatively autocorrelated" in n for n in fit.summary().notes)


def test_non_normal_residuals_note():
    rng = np.random.default_rng(5)
    x = rng.normal(size=200)
    df = pd.DataFrame({"x": x, "y": x + rng.exponential(1.0, 200) ** 2})
    notes = ols("y ~ x", df).summary().notes
    (note,) = [n for n in notes if "do not look normal" in n]
    assert "Omnibus p" in note
    assert "Jarque-Bera p" in note


def test_dropped_rows_line_and_note():
    df = multi_data()
    df.loc[[3, 17], "advert"] = np.nan
    df.loc[40, "sales"] = np.nan
    fit = ols("sales ~ price + advert + temp", df)
    summary = fit.summary()
    lines = summary.text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("No. Observations:"))
    assert lines[i].split()[2] == "117"
    assert re.match(r"^Dropped \(missing\):\s+3\s+\S", lines[i + 1])
    assert "3 rows with missing values dropped; the fit uses the remaining 117." in summary.notes
    header = summary.tables[0].set_index("field")["value"]
    assert header["Dropped (missing)"] == 3
    # Otherwise the layout is statsmodels' (it drops the same rows): the same
    # header entries in each half, and the same lines from the coefficients on.
    ref = smf.ols("sales ~ price + advert + temp", df).fit().summary().as_text()
    ours, theirs = timeless(summary.text), timeless(ref)
    ours_top, theirs_top = ours[2:12], theirs[2:11]
    assert ours_top[-1].startswith("Covariance Type:")
    left = [line[:37] for line in ours_top if not line.startswith("Dropped")]
    assert left == [line[:37] for line in theirs_top]
    assert [line[37:] for line in ours_top if line[37:].strip()] == [
        line[37:] for line in theirs_top if line[37:].strip()
    ]
    _assert_lines_equal(ours[12:-1], theirs[11:])  # and one more note


def test_no_dropped_line_without_missing_values():
    text = str(ols("height ~ time", line_data()).summary())
    assert "Dropped" not in text
    assert "missing" not in text


def test_aliased_rows_and_note():
    df = multi_data()
    df["price2"] = 2.0 * df.price
    with pytest.warns(duolm.RankWarning):
        fit = ols("sales ~ price + price2 + advert", df)
    summary = fit.summary()
    row = next(line for line in summary.text.splitlines() if line.startswith("price2"))
    assert row.split() == ["price2", "(aliased)", "NA", "NA", "NA", "NA", "NA"]
    assert len(row) == 78
    (note,) = [n for n in summary.notes if "Aliased" in n]
    assert "price2" in note
    coef = summary.tables[1]
    assert np.isnan(coef.loc["price2", "coef"])
    assert coef.loc["price", "coef"] == fit.params["price"]


def test_notes_are_numbered_in_text():
    summary = ols("y ~ t", trend_data()).summary()
    notes_text = summary.text.split("\n\nNotes:\n")[1]
    for i in range(1, len(summary.notes) + 1):
        assert f"[{i}] " in notes_text
    assert len(summary.notes) >= 2


# ------------------------------------------------------------ HTML and frames


def test_html_has_every_name_and_value_escaped():
    df = multi_data()
    X = pd.DataFrame({"const": 1.0, "<b>price & co</b>": df.price, "temp": df.temp})
    fit = ols(X=X, y=df["sales"].rename("sales <units>"))
    page = fit.summary()._repr_html_()
    assert "<b>price" not in page
    assert "&lt;b&gt;price &amp; co&lt;/b&gt;" in page
    assert "sales &lt;units&gt;" in page
    for name in ("const", "temp"):
        assert f">{name}<" in page
    for value in fit.params:
        assert format_fixed(value, prec=4).strip() in page
    for value in fit.bse:
        assert format_fixed(value).strip() in page
    assert "<script" not in page
    assert "<link" not in page
    assert page.count("<table") == 3
    assert "Notes:" in page


def test_frames_hold_numbers():
    fit = ols("sales ~ price + advert + temp", multi_data())
    header, coef, diag = fit.summary(alpha=0.1).tables
    assert list(coef.columns) == ["coef", "std err", "t", "P>|t|", "[0.05", "0.95]"]
    np.testing.assert_array_equal(coef["coef"].to_numpy(), fit.params.to_numpy())
    np.testing.assert_array_equal(coef["[0.05"].to_numpy(), fit.conf_int(0.1)["lower"].to_numpy())
    h = header.set_index("field")["value"]
    assert h["Dep. Variable"] == "sales"
    assert h["R-squared"] == fit.rsquared
    assert h["No. Observations"] == 120
    d = diag.set_index("field")["value"]
    assert d["Durbin-Watson"] == fit.diagnostics.durbin_watson
    assert d["Cond. No."] == fit.diagnostics.condition_number


def test_str_and_repr_are_the_text():
    summary = ols("height ~ time", line_data()).summary()
    assert str(summary) == summary.text == summary.as_text()
    assert repr(summary) == summary.text
    assert summary.as_html() == summary.html
    assert summary.title == "OLS Regression Results"
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.text = "changed"  # type: ignore[misc]


def test_generic_blocks_build_other_summaries():
    # The shape a Bayesian summary takes: its own columns, no diagnostics block.
    header = KeyValueBlock(
        (Field("Dep. Variable:", "y", "y"), Field("Prior:", "reference", "reference")),
        (Field("log evidence:", f"{-12.5:#8.4g}", -12.5),),
    )
    coef = CoefTable(
        ("a", "b"),
        (
            CoefColumn("mean", (1.0, 2.0), lambda x: format_fixed(x, prec=4)),
            CoefColumn("sd", (0.1, 0.2), format_fixed),
        ),
    )
    summary = Summary.build("Bayesian Regression Results", header, coef, notes=("a note",))
    lines = summary.text.splitlines()
    assert lines[0].strip() == "Bayesian Regression Results"
    assert lines[1] == "=" * 78
    assert lines[-1] == "[1] a note"
    assert len(summary.tables) == 2
    assert list(summary.tables[1].columns) == ["mean", "sd"]
    with pytest.raises(ValueError, match="has 1 values for 2 names"):
        CoefTable(("a", "b"), (CoefColumn("mean", (1.0,), format_fixed),))


def test_bad_alpha_is_refused():
    fit = ols("height ~ time", line_data())
    with pytest.raises(ValueError, match="alpha"):
        fit.summary(alpha=1.5)


# ------------------------------------------------------------ no side effects


def _snapshot(fit: object) -> dict[str, object]:
    return dict(vars(fit))


def test_summary_does_not_change_the_result():
    df = multi_data()
    df.loc[5, "temp"] = np.nan
    fit = ols("sales ~ price + advert + temp", df)
    params, bse = fit.params.copy(), fit.bse.copy()
    diagnostics = fit.diagnostics
    public_before = {k for k in dir(fit) if not k.startswith("_")}
    fit.summary()  # fills the cached properties it reads
    before = _snapshot(fit)
    fit.summary(alpha=0.01)
    after = _snapshot(fit)
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert after[key] is value, key  # the same objects, not recomputed or replaced
    pd.testing.assert_series_equal(fit.params, params)
    pd.testing.assert_series_equal(fit.bse, bse)
    assert fit.diagnostics == diagnostics
    assert {k for k in dir(fit) if not k.startswith("_")} == public_before
    # Whatever a first summary() left in the instance dict is a cached property of the class.
    cached = {k for k in after if k not in {f.name for f in dataclasses.fields(fit)}}
    for key in cached:
        assert hasattr(type(fit), key), key


def test_date_and_time_are_taken_at_the_call(monkeypatch):
    import time as time_module

    fit = ols("height ~ time", line_data())
    fixed = time_module.struct_time((2018, 10, 8, 7, 10, 33, 0, 281, 0))
    monkeypatch.setattr(time_module, "localtime", lambda *a: fixed)
    text = str(fit.summary())
    assert "Date:                Mon, 08 Oct 2018   Prob (F-statistic):" in text
    assert "Time:                        07:10:33   Log-Likelihood:" in text


def test_number_fields_and_coef_columns_shared_by_both_summaries() -> None:
    missing = number_field("Omnibus:", None, "#6.3f")
    assert (missing.text, math.isnan(missing.value)) == ("   nan", True)  # type: ignore[arg-type]
    assert number_field("a:", np.float64(2.5)) == Field("a:", "   2.500", 2.5)
    column = coef_column("coef", pd.Series([1, 2.5]), str, min_width=11)
    assert column == CoefColumn("coef", (1.0, 2.5), str, 11)
    assert all(type(v) is float for v in column.values)


def test_exact_fit_note_does_not_blame_the_sample_size() -> None:
    # Omnibus is undefined because the residuals are all 0, not for want of rows
    x = np.arange(12.0)
    fit = ols("y ~ x", pd.DataFrame({"x": x, "y": 1.0 + 2.0 * x}))
    text = str(fit.summary())
    assert "at least 8 observations" not in text
    assert "every residual is 0" in text


# -- notes that point to the remedy (issue 10, item 7) ----------------------------------------


def test_autocorrelation_note_writes_out_calls_that_run() -> None:
    data = duolm.datasets.tracking()
    fit = duolm.ols("height ~ time", data)  # the lecture's line: Durbin-Watson 0.10
    (note,) = [n for n in fit.summary().notes if "autocorrelated" in n]
    assert 'fit.with_cov_type("HAC", cov_kwds={"maxlags": 3})' in note
    assert "duolm.glsar('height ~ time', data, rho=1)" in note
    assert "a quadratic term" in note  # a straight line may lack the curve (not so a parabola)
    hac = eval('fit.with_cov_type("HAC", cov_kwds={"maxlags": 3})')  # the calls it names run
    assert hac.bse["time"] > fit.bse["time"]
    assert eval("duolm.glsar('height ~ time', data, rho=1)").rho.shape == (1,)
    (hac_note,) = [n for n in hac.summary().notes if "autocorrelated" in n]
    assert "which the HAC standard errors above allow for" in hac_note


def test_heteroskedasticity_note_names_hc3_only_when_it_applies() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 10, 300)
    spread = pd.DataFrame({"x": x, "y": 1 + x + rng.normal(size=300) * x})
    fit = duolm.ols("y ~ x", spread)
    test = fit.het_breuschpagan()
    (note,) = [n for n in fit.summary().notes if "Breusch-Pagan" in n]
    assert f"p = {test.pvalue:.3g}" in note and 'with_cov_type("HC3")' in note
    robust = fit.with_cov_type("HC3")
    assert not [n for n in robust.summary().notes if "Breusch-Pagan" in n]
    even = pd.DataFrame({"x": x, "y": 1 + x + rng.normal(size=300)})
    assert not [n for n in duolm.ols("y ~ x", even).summary().notes if "Breusch-Pagan" in n]
    streamed = duolm.ols("y ~ x", [spread.iloc[:150], spread.iloc[150:]])  # keeps no rows
    assert not [n for n in streamed.summary().notes if "Breusch-Pagan" in n]


def test_vif_note_names_the_inflated_terms() -> None:
    data = longley()
    fit = duolm.ols(
        "employed ~ gnp_deflator + gnp + unemployed + armed_forces + population + year", data
    )
    (note,) = [n for n in fit.summary().notes if "Variance inflation" in n]
    vif = fit.vif()
    assert note.index("gnp (") < note.index("year (")  # largest first
    for name in vif[vif > 10].index:
        assert f"{name} ({vif[name]:.3g})" in note
    assert "armed_forces" not in note  # VIF 3.6
