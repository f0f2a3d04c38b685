"""ANOVA tables against statsmodels' anova_lm and R's printed values (car::Anova, anova)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula as sm_formula
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from statsmodels.stats.anova import anova_lm

import duolm
from duolm import anova
from duolm.errors import DataError

DATA = Path(__file__).parents[1] / "data"
RTOL = 1e-10


@pytest.fixture
def formulaic_statsmodels() -> Iterator[None]:
    """statsmodels on formulaic with degree ordering: the same columns and term order as duolm."""
    opts = sm_formula.options
    saved = (opts.formula_engine, opts.ordering)
    opts.formula_engine, opts.ordering = "formulaic", "degree"
    try:
        yield
    finally:
        opts.formula_engine, opts.ordering = saved


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 90
    df = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z"], n),
            "b": rng.choice(["p", "q"], n),
            "x": rng.normal(size=n),
        }
    )
    df["y"] = rng.normal(size=n) + (df["a"] == "y") + df["x"] * (df["b"] == "p") + 0.3 * df["x"]
    return df.iloc[:-7]  # unbalanced


FORMULAS = [
    "y ~ C(a) + C(b) + x",
    "y ~ x + C(a) * C(b)",
    "y ~ x + C(a, contr.sum) * C(b, contr.sum)",
    "y ~ x + C(b) + C(a):x",
]


def _same(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    ref = ref[ours.columns]
    assert list(ours.index) == ["Intercept" if i == "1" else i for i in ref.index]
    assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=RTOL, atol=0)


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize(
    ("typ", "robust"), [(1, None), (2, None), (2, "hc3"), (2, "hc0"), (3, None), (3, "hc1")]
)
@pytest.mark.usefixtures("formulaic_statsmodels")
def test_tables_match_statsmodels(
    frame: pd.DataFrame, formula: str, typ: int, robust: str | None
) -> None:
    ours = anova(duolm.ols(formula, frame), typ=typ, robust=robust)  # type: ignore[arg-type]
    ref = anova_lm(smf.ols(formula, frame).fit(), typ=typ, robust=robust)
    _same(ours, ref)


@pytest.mark.usefixtures("formulaic_statsmodels")
def test_robust_cov_type_of_the_fit_is_honoured(frame: pd.DataFrame) -> None:
    formula = FORMULAS[1]
    fit = duolm.ols(formula, frame, cov_type="HC3")
    ref = anova_lm(smf.ols(formula, frame).fit(cov_type="HC3"), typ=2)
    _same(anova(fit, typ=2), ref)
    _same(anova(fit, typ=2), anova(duolm.ols(formula, frame), typ=2, robust="hc3"))


@pytest.fixture(scope="module")
def kidney() -> pd.DataFrame:
    return pd.read_csv(DATA / "kidney.csv")


def test_type_1_against_r(kidney: pd.DataFrame) -> None:
    """R: anova(lm(log(Days + 1) ~ Duration * Weight)) (statsmodels' test_anova.py)."""
    fit = duolm.ols("np.log(Days + 1) ~ C(Duration) * C(Weight)", kidney)
    table = anova(fit, typ=1)
    assert_array_equal(table["df"], [1, 2, 2, 54])
    assert_allclose(table["sum_sq"], [2.339693, 16.97129, 0.6356584, 28.9892], rtol=5e-7, atol=0)
    assert_allclose(table["F"].iloc[:3], [4.358293, 15.80674, 0.5920404], rtol=5e-7, atol=0)
    assert_allclose(
        table["PR(>F)"].iloc[:3], [0.0415617, 3.944502e-06, 0.5567479], rtol=5e-6, atol=0
    )


def test_type_2_and_3_against_r(kidney: pd.DataFrame) -> None:
    """R: car::Anova(lm(..., contrasts = contr.sum), type = "II" / "III") without rows 1-3."""
    data = kidney.drop([0, 1, 2])
    fit = duolm.ols("np.log(Days + 1) ~ C(Duration, contr.sum) * C(Weight, contr.sum)", data)
    two = anova(fit, typ=2)
    assert_array_equal(two["df"], [1, 2, 2, 51])
    assert_allclose(two["sum_sq"], [3.067066, 13.27205, 0.1905093, 27.60181], rtol=5e-7, atol=0)
    assert_allclose(two["F"].iloc[:3], [5.667033, 12.26141, 0.1760025], rtol=5e-7, atol=0)
    assert_allclose(
        two["PR(>F)"].iloc[:3], [0.02106078, 4.487909e-05, 0.8391231], rtol=5e-6, atol=0
    )
    three = anova(fit, typ=3)
    assert next(iter(three.index)) == "Intercept"
    assert_array_equal(three["df"], [1, 1, 2, 2, 51])
    assert_allclose(
        three["sum_sq"], [151.4065, 2.904723, 13.45718, 0.1905093, 27.60181], rtol=5e-7, atol=0
    )
    assert_allclose(
        three["F"].iloc[:4], [279.7545, 5.367071, 12.43245, 0.1760025], rtol=5e-7, atol=0
    )


def test_nested_f_against_r(kidney: pd.DataFrame) -> None:
    """R: anova(lm(... Duration + Weight), lm(... Duration * Weight))."""
    small = duolm.ols("np.log(Days + 1) ~ C(Duration) + C(Weight)", kidney)
    big = duolm.ols("np.log(Days + 1) ~ C(Duration) * C(Weight)", kidney)
    table = anova(small, big)
    assert list(table.columns) == ["df_resid", "ssr", "df_diff", "ss_diff", "F", "Pr(>F)"]
    assert_array_equal(table["df_resid"], [56, 54])
    assert_allclose(table["ssr"], [29.62486, 28.9892], rtol=5e-7, atol=0)
    assert_allclose(table["ss_diff"].iloc[1], 0.6356584, rtol=5e-7, atol=0)
    assert_allclose(table["F"].iloc[1], 0.5920404, rtol=5e-7, atol=0)
    assert_allclose(table["Pr(>F)"].iloc[1], 0.5567479, rtol=5e-6, atol=0)
    assert table.iloc[0, 2:].isna().all()


def test_nested_sequence_matches_statsmodels(frame: pd.DataFrame) -> None:
    """Sums of squares and F as statsmodels' anova_lm; the p values as R's anova.lm, on
    the largest model's residual df in every row (anova_lm reads each row's own df,
    which differs from the third fit on: the F statistic is on the largest's scale)."""
    forms = ["y ~ x", "y ~ x + C(a)", "y ~ x * C(a) + C(b)"]
    ours = anova(*[duolm.ols(f, frame) for f in forms])
    ref = anova_lm(*[smf.ols(f, frame).fit() for f in forms])
    cols = ["df_resid", "ssr", "df_diff", "ss_diff", "F"]
    assert_allclose(ours[cols].iloc[1:], ref[cols].iloc[1:], rtol=RTOL, atol=0)
    big = ours["df_resid"].iloc[-1]
    want = stats.f.sf(ours["F"].iloc[1:], ours["df_diff"].iloc[1:], big)
    assert_allclose(ours["Pr(>F)"].iloc[1:], want, rtol=RTOL, atol=0)
    assert not np.isclose(ours["Pr(>F)"].iloc[1], ref["Pr(>F)"].iloc[1], rtol=1e-3, atol=0)


def test_likelihood_ratio_matches_statsmodels(frame: pd.DataFrame) -> None:
    ours = anova(duolm.ols("y ~ x", frame), duolm.ols("y ~ x * C(a) + C(b)", frame), test="lr")
    ref = smf.ols("y ~ x * C(a) + C(b)", frame).fit().compare_lr_test(smf.ols("y ~ x", frame).fit())
    assert list(ours.columns)[-2:] == ["LR", "Pr(>Chi)"]
    assert_allclose(
        [ours["LR"].iloc[1], ours["Pr(>Chi)"].iloc[1], ours["df_diff"].iloc[1]],
        [ref.statistic, ref.pvalue, ref.df_diff],
        rtol=RTOL,
        atol=0,
    )


def test_reparametrised_models_are_nested(frame: pd.DataFrame) -> None:
    """Nesting is judged on the column spaces, not on the names."""
    small = duolm.ols("y ~ C(a, contr.sum)", frame)
    big = duolm.ols("y ~ C(a) + x", frame)
    table = anova(small, big)
    assert_allclose(table["ss_diff"].iloc[1], small.ssr - big.ssr, rtol=1e-12, atol=0)


def test_non_nested_models_are_refused_with_the_reason(frame: pd.DataFrame) -> None:
    m_ax = duolm.ols("y ~ C(a) + x", frame)
    with pytest.raises(DataError, match=r"column 'C\(b\)\[T.q\]' of model 1 is not a combination"):
        anova(duolm.ols("y ~ C(b) + x", frame), m_ax)
    with pytest.raises(DataError, match="increasing size"):
        anova(m_ax, duolm.ols("y ~ x", frame))
    with pytest.raises(DataError, match="different numbers of rows"):
        anova(duolm.ols("y ~ x", frame.iloc[:50]), m_ax)
    other = frame.assign(y2=frame["y"] * 2)
    with pytest.raises(DataError, match="responses"):
        anova(duolm.ols("y2 ~ x", other), m_ax)
    with pytest.raises(DataError, match="same columns"):
        anova(duolm.ols("y ~ C(a)", frame), duolm.ols("y ~ C(a, contr.sum)", frame))


def test_arguments_are_checked(frame: pd.DataFrame) -> None:
    fit = duolm.ols("y ~ x", frame)
    with pytest.raises(ValueError, match="typ"):
        anova(fit, typ=4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="robust"):
        anova(fit, typ=2, robust="hc9")
    with pytest.raises(ValueError, match="typ 2 and 3"):
        anova(fit, typ=1, robust="hc3")
    with pytest.raises(ValueError, match="test"):
        anova(fit, fit, test="wald")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        anova()


def test_array_fit_one_term_per_column(frame: pd.DataFrame) -> None:
    fit = duolm.ols("y ~ x + C(b)", frame)
    arrays = duolm.ols(X=pd.DataFrame(fit.rows.X, columns=list(fit.terms)), y=fit.rows.y)
    table = anova(arrays, typ=3)
    assert list(table.index) == ["Intercept", "x", "C(b)[T.q]", "Residual"]
    assert_allclose(table.to_numpy(), anova(fit, typ=3).to_numpy(), rtol=1e-12, atol=0)


def test_aliased_term_has_no_row(frame: pd.DataFrame) -> None:
    data = frame.assign(x2=2.0 * frame["x"])
    with pytest.warns(duolm.RankWarning):
        fit = duolm.ols("y ~ x + x2", data)
    for typ in (1, 2, 3):
        table = anova(fit, typ=typ)  # type: ignore[arg-type]
        assert "x2" not in table.index
        assert not table.drop(index="Residual").isna().any().any()
