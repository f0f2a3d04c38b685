"""The exact Durbin-Watson p value: Imhof's integral against closed forms, an
independent implementation of Pan's algorithm, R's normal approximation, and a
seeded simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import duolm
from duolm.errors import DataError
from duolm.frequentist import _durbin_watson as dw

DATA = Path(__file__).parents[1] / "data"


@pytest.mark.parametrize(("a", "b"), [(1.0, 1.0), (4.0, 2.0), (0.3, 5.0)])
def test_imhof_two_exponentials(a: float, b: float) -> None:
    """``a chi2_2 - b chi2_2 > 0`` is ``E1 > (b/a) E2`` for exponentials: ``a / (a + b)``."""
    assert_allclose(dw.imhof_sf(np.array([a, a, -b, -b])), a / (a + b), rtol=0, atol=1e-11)


@pytest.mark.parametrize(
    ("m1", "m2", "c"), [(3, 2, 2.0), (5, 7, 0.4), (1, 12, 0.05), (20, 20, 1.1)]
)
def test_imhof_against_the_f_distribution(m1: int, m2: int, c: float) -> None:
    """``chi2_m1 - c chi2_m2 > 0`` is ``F(m1, m2) > c m2 / m1``."""
    w = np.r_[np.ones(m1), -c * np.ones(m2)]
    expected = stats.f.sf(c * m2 / m1, m1, m2)
    assert_allclose(dw.imhof_sf(w), expected, rtol=0, atol=1e-11)


@pytest.fixture(scope="module")
def julia() -> pd.DataFrame:
    return pd.read_csv(DATA / "dw_hypothesistests_jl.csv")


def test_exact_against_pan_in_hypothesistests_jl(julia: pd.DataFrame) -> None:
    """HypothesisTests.jl, test/durbin_watson.jl: ``DurbinWatsonTest(X, resid; p_compute=:exact)``
    on y_m1_sim: DW 3.1196941838878423, left tail (R's "less") 3.304349016630681e-10,
    two-sided 6.608698033261362e-10, right 0.9999999996695651."""
    fit = duolm.ols("y_m1 ~ x", julia)
    less = fit.durbin_watson_test("less", exact=True)
    assert_allclose(less.statistic, 3.1196941838878423, rtol=1e-13, atol=0)
    assert_allclose(less.pvalue, 3.304349016630681e-10, rtol=1e-6, atol=0)
    two = fit.durbin_watson_test("two-sided", exact=True)
    assert_allclose(two.pvalue, 6.608698033261362e-10, rtol=1e-6, atol=0)
    greater = fit.durbin_watson_test("greater", exact=True)
    assert_allclose(greater.pvalue, 0.9999999996695651, rtol=0, atol=1e-12)
    assert greater.distribution == "exact"


@pytest.mark.parametrize(
    ("column", "statistic", "less", "two"),
    [
        # HypothesisTests.jl, p_compute=:ndep (normal approximation for n >= 100, as R)
        ("y_m1", 3.1196941838878423, 6.8459641815325715e-9, 1.3691928363065143e-8),
        ("y_0", 2.0315450779948154, 0.43970842766166635, 0.8794168553233327),
    ],
)
def test_normal_approximation_for_n_over_100(
    julia: pd.DataFrame, column: str, statistic: float, less: float, two: float
) -> None:
    fit = duolm.ols(f"{column} ~ x", julia)
    res = fit.durbin_watson_test("less")  # n = 101: R's rule picks the approximation
    assert res.distribution == "normal"
    assert_allclose(res.statistic, statistic, rtol=1e-13, atol=0)
    assert_allclose(res.pvalue, less, rtol=1e-10, atol=0)
    assert_allclose(fit.durbin_watson_test("two-sided").pvalue, two, rtol=1e-10, atol=0)


def test_statistic_is_the_summary_durbin_watson(julia: pd.DataFrame) -> None:
    fit = duolm.ols("y_0 ~ x", julia)
    res = fit.durbin_watson_test(exact=True)
    assert_allclose(res.statistic, fit.diagnostics.durbin_watson, rtol=1e-12, atol=0)
    assert_allclose(
        fit.durbin_watson_test("greater", exact=True).pvalue
        + fit.durbin_watson_test("less", exact=True).pvalue,
        1.0,
        rtol=0,
        atol=1e-12,
    )


def test_exact_cdf_against_simulation() -> None:
    """P(DW < d) for a fixed design against 40,000 seeded draws of normal errors.

    The simulated frequency has standard error sqrt(p (1 - p) / N) <= 0.0025; the
    tolerance 5 standard errors fails by chance with probability below 1e-6.
    """
    rng = np.random.default_rng(7)
    n = 25
    t = np.arange(n, dtype=float)
    X = np.column_stack([np.ones(n), t, np.sin(t / 3.0)])
    ev = dw._dw_eigenvalues(X)
    N = 40_000
    E = rng.standard_normal((N, n))
    Q, _ = np.linalg.qr(X)
    R = E - (E @ Q) @ Q.T  # residuals of each draw
    dws = np.sum(np.diff(R, axis=1) ** 2, axis=1) / np.sum(R * R, axis=1)
    for d in (1.2, 1.6, 2.0, 2.4):
        p = dw.dw_cdf(d, ev)
        freq = float(np.mean(dws < d))
        assert abs(freq - p) < 5 * np.sqrt(p * (1 - p) / N) + 1e-12


def test_exact_is_default_below_100_rows() -> None:
    data = duolm.datasets.longley()
    fit = duolm.ols("employed ~ gnp + unemployed + armed_forces + population + year", data)
    res = fit.durbin_watson_test()
    assert res.distribution == "exact"
    assert 0.0 <= res.pvalue <= 1.0
    assert res.df is None
    assert "Durbin-Watson" in str(res)


def test_bad_input() -> None:
    data = duolm.datasets.longley()
    fit = duolm.ols("employed ~ gnp", data)
    with pytest.raises(ValueError, match="alternative"):
        fit.durbin_watson_test("positive")  # type: ignore[arg-type]
    big = pd.DataFrame({"x": np.arange(6000.0), "y": np.sin(np.arange(6000.0))})
    with pytest.raises(DataError, match="exact=False"):
        duolm.ols("y ~ x", big).durbin_watson_test(exact=True)
