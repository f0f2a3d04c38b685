"""Residual diagnostics: mergeable moments, and the tests against scipy and statsmodels."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.stattools import durbin_watson, jarque_bera, omni_normtest

from duolm.core import ResidualMoments
from duolm.frequentist import OMNIBUS_MIN_NOBS, Diagnostics

RTOL = 1e-10


def _residuals(seed: int, n: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(size=n)
    if kind == "skewed":
        return rng.exponential(size=n) - 1.0
    if kind == "heavy":
        return rng.standard_t(3, size=n)
    if kind == "autocorrelated":
        e = rng.normal(size=n)
        return np.convolve(e, [1.0, 0.9, 0.8], mode="same")
    raise ValueError(kind)


# -- merging chunks ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 200),
    offset=st.sampled_from([0.0, 1.0, -30.0]),
    n_cuts=st.integers(0, 8),
)
def test_merged_chunks_equal_the_whole(seed: int, n: int, offset: float, n_cuts: int) -> None:
    rng = np.random.default_rng(seed)
    e = offset + rng.standard_t(4, size=n)
    cuts = np.sort(rng.integers(0, n + 1, size=n_cuts))  # empty chunks allowed
    chunks = np.split(e, cuts)
    merged = ResidualMoments.from_residuals(chunks[0])
    for chunk in chunks[1:]:
        merged = merged.merge(ResidualMoments.from_residuals(chunk))
    whole = ResidualMoments.from_residuals(e)

    assert merged.n == whole.n == n
    # every field is kept in units of a power of two near max |e|; the chunk holding
    # the largest residual has the same unit as the whole, so the fields compare directly
    assert merged.unit == whole.unit
    e = e / whole.unit
    d = np.abs(e - e.mean())
    # m3 is a signed sum that can cancel to near 0; its rounding error is relative to
    # sum |d|^3, so that is the scale of the absolute tolerance (likewise for the mean).
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12, atol=1e-12 * np.abs(e).max())
    np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-12, atol=0)
    np.testing.assert_allclose(merged.m3, whole.m3, rtol=1e-12, atol=1e-12 * np.sum(d**3))
    np.testing.assert_allclose(merged.m4, whole.m4, rtol=1e-12, atol=0)
    np.testing.assert_allclose(merged.ss, whole.ss, rtol=1e-12, atol=0)
    np.testing.assert_allclose(merged.dw_num, whole.dw_num, rtol=1e-12, atol=0)
    assert merged.first == e[0]
    assert merged.last == e[-1]
    whole_diag = Diagnostics.from_moments(whole, 1.0)
    merged_diag = Diagnostics.from_moments(merged, 1.0)
    close_diag = np.testing.assert_allclose
    close_diag(merged_diag.durbin_watson, whole_diag.durbin_watson, rtol=1e-12)
    if n > 1 and whole.m2 > 1e-20 * whole.ss:
        close_diag(merged_diag.kurtosis, whole_diag.kurtosis, rtol=1e-10)


def test_chunks_of_very_different_magnitude_merge() -> None:
    rng = np.random.default_rng(21)
    e = np.concatenate([rng.normal(size=30) * 1e-3, rng.normal(size=30) * 1e3])
    whole = ResidualMoments.from_residuals(e)
    merged = ResidualMoments.from_residuals(e[:30]).merge(ResidualMoments.from_residuals(e[30:]))
    assert merged.unit == whole.unit
    for name in ("mean", "m2", "m4", "ss", "dw_num"):
        np.testing.assert_allclose(getattr(merged, name), getattr(whole, name), rtol=1e-12)
    np.testing.assert_allclose(merged.m3, whole.m3, rtol=1e-10, atol=1e-12 * whole.m2**1.5)


def test_merge_with_empty_is_identity() -> None:
    e = _residuals(3, 25, "normal")
    whole = ResidualMoments.from_residuals(e)
    empty = ResidualMoments.from_residuals(np.array([]))
    assert empty.n == 0
    assert whole.merge(empty) == whole
    assert empty.merge(whole) == whole


def test_dw_numerator_joins_chunks_in_time_order() -> None:
    e = np.array([1.0, -2.0, 0.5, 3.0, -1.0])
    # (-3)^2 + 2.5^2 + 2.5^2 + (-4)^2 = 9 + 6.25 + 6.25 + 16
    expected = 37.5
    merged = ResidualMoments.from_residuals(e[:2]).merge(ResidualMoments.from_residuals(e[2:]))
    assert merged.dw_num * merged.unit**2 == expected  # units are powers of two: exact
    whole = ResidualMoments.from_residuals(e)
    assert whole.dw_num * whole.unit**2 == expected
    assert (whole.first * whole.unit, whole.last * whole.unit) == (1.0, -1.0)


# -- the tests against scipy and statsmodels ----------------------------------------------


@pytest.mark.parametrize("kind", ["normal", "skewed", "heavy", "autocorrelated"])
@pytest.mark.parametrize("n", [8, 9, 20, 57, 1000])
def test_diagnostics_match_scipy_and_statsmodels(kind: str, n: int) -> None:
    e = _residuals(n, n, kind)
    diag = Diagnostics.from_moments(ResidualMoments.from_residuals(e), condition_number=7.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns that kurtosistest wants n >= 20
        k2, k2_p = stats.normaltest(e)
        omni, omni_p = omni_normtest(e)
    jb, jb_p, skew, kurt = jarque_bera(e)

    assert diag.omnibus is not None
    assert diag.omnibus_pvalue is not None
    np.testing.assert_allclose(diag.omnibus, k2, rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.omnibus_pvalue, k2_p, rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.omnibus, omni, rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.omnibus_pvalue, omni_p, rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.skew, stats.skew(e), rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.kurtosis, stats.kurtosis(e, fisher=False), rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.skew, skew, rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.kurtosis, kurt, rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.jarque_bera, jb, rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.jarque_bera_pvalue, jb_p, rtol=RTOL, atol=0)
    np.testing.assert_allclose(diag.durbin_watson, durbin_watson(e), rtol=RTOL, atol=0)
    assert diag.condition_number == 7.5


def test_diagnostics_from_merged_moments_match_the_whole() -> None:
    e = _residuals(11, 300, "heavy")
    whole = Diagnostics.from_moments(ResidualMoments.from_residuals(e), 1.0)
    merged = ResidualMoments.from_residuals(e[:17])
    for chunk in np.split(e[17:], [50, 51, 200]):
        merged = merged.merge(ResidualMoments.from_residuals(chunk))
    parts = Diagnostics.from_moments(merged, 1.0)
    for name in ("omnibus", "omnibus_pvalue", "jarque_bera", "jarque_bera_pvalue", "kurtosis"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-11)
    np.testing.assert_allclose(parts.skew, whole.skew, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(parts.durbin_watson, whole.durbin_watson, rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, OMNIBUS_MIN_NOBS - 1])
def test_fewer_than_eight_residuals_have_no_omnibus(n: int) -> None:
    e = _residuals(5, n, "normal") if n > 1 else np.array([0.3])
    diag = Diagnostics.from_moments(ResidualMoments.from_residuals(e), 2.0)
    assert OMNIBUS_MIN_NOBS == 8
    assert diag.omnibus is None
    assert diag.omnibus_pvalue is None
    for name in ("jarque_bera", "jarque_bera_pvalue", "skew", "kurtosis"):
        assert isinstance(getattr(diag, name), float)
    if n >= 3:
        jb, jb_p, skew, kurt = jarque_bera(e)
        np.testing.assert_allclose(diag.jarque_bera, jb, rtol=RTOL, atol=0)
        np.testing.assert_allclose(diag.jarque_bera_pvalue, jb_p, rtol=RTOL, atol=0)
        np.testing.assert_allclose(diag.skew, skew, rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(diag.kurtosis, kurt, rtol=RTOL, atol=0)
        np.testing.assert_allclose(diag.durbin_watson, durbin_watson(e), rtol=RTOL, atol=0)


def test_exact_fit_has_no_nan_in_skew_or_kurtosis() -> None:
    diag = Diagnostics.from_moments(ResidualMoments.from_residuals(np.zeros(12)), 3.0)
    assert diag.skew == 0.0
    assert diag.kurtosis == 3.0  # the normal value: nothing to report
    assert diag.jarque_bera == 0.0
    assert diag.jarque_bera_pvalue == 1.0
    assert not math.isnan(diag.skew)
    assert not math.isnan(diag.kurtosis)


def test_constant_nonzero_residuals_have_no_nan_in_skew_or_kurtosis() -> None:
    # zero spread about a nonzero mean: the moment ratios are 0/0 as for an exact fit
    diag = Diagnostics.from_moments(ResidualMoments.from_residuals(np.full(12, 0.25)), 3.0)
    assert diag.skew == 0.0
    assert diag.kurtosis == 3.0
    assert diag.durbin_watson == 0.0  # no successive differences, nonzero sum of squares


@pytest.mark.parametrize("magnitude", [1e150, 1e-150, 1e300, 1e-300])
def test_diagnostics_are_scale_invariant_at_extreme_magnitudes(magnitude: float) -> None:
    e = _residuals(8, 40, "skewed")
    ref = Diagnostics.from_moments(ResidualMoments.from_residuals(e), 1.0)
    got = Diagnostics.from_moments(ResidualMoments.from_residuals(e * magnitude), 1.0)
    merged = ResidualMoments.from_residuals(e[:13] * magnitude).merge(
        ResidualMoments.from_residuals(e[13:] * magnitude)
    )
    parts = Diagnostics.from_moments(merged, 1.0)
    for name in ("omnibus", "jarque_bera", "skew", "kurtosis", "durbin_watson"):
        np.testing.assert_allclose(getattr(parts, name), getattr(ref, name), rtol=1e-12)
    for name in ("omnibus", "jarque_bera", "skew", "kurtosis", "durbin_watson"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-12)
