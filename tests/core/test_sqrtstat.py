"""The square-root core: exact identities, aliasing, and both factorisation paths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duolm import core
from duolm.core import SqrtStat, _solver, _sqrtstat, lstsq


def _data(seed: int, n: int = 50, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, k - 1))])
    y = X @ rng.normal(size=k) + rng.normal(size=n)
    return X, y


def test_r_is_the_square_root_of_the_extended_information_matrix() -> None:
    X, y = _data(0)
    Z = np.column_stack([X, y])
    st_ = SqrtStat.from_data(X, y)
    np.testing.assert_allclose(st_.R.T @ st_.R, Z.T @ Z, rtol=1e-12, atol=1e-10)
    assert np.all(np.diag(st_.R) >= 0)
    assert st_.nobs == 50


def test_solution_matches_numpy_lstsq() -> None:
    X, y = _data(1)
    st_ = SqrtStat.from_data(X, y)
    ref, res, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(st_.solve(), ref, rtol=1e-12)
    np.testing.assert_allclose(st_.ssr, res[0], rtol=1e-12)
    np.testing.assert_allclose(st_.cov_unscaled(), np.linalg.inv(X.T @ X), rtol=1e-10)


def test_sequential_updates_equal_batch_at_every_step() -> None:
    X, y = _data(2, n=30)
    st_ = SqrtStat.empty(3)
    for t in range(30):
        st_ = st_.update(X[t], y[t])
        if t >= 3:
            batch = SqrtStat.from_data(X[: t + 1], y[: t + 1])
            np.testing.assert_allclose(st_.R, batch.R, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(st_.y_m2, batch.y_m2, rtol=1e-12)


def test_merge_of_chunks_equals_one_fit() -> None:
    X, y = _data(3, n=200)
    parts = [SqrtStat.from_data(X[i : i + 37], y[i : i + 37]) for i in range(0, 200, 37)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    whole = SqrtStat.from_data(X, y)
    np.testing.assert_allclose(merged.R, whole.R, rtol=1e-11, atol=1e-11)
    assert merged.nobs == whole.nobs
    np.testing.assert_allclose(merged.y_mean, whole.y_mean, rtol=1e-14)
    np.testing.assert_allclose(merged.y_m2, whole.y_m2, rtol=1e-12)


def test_tall_blocks_are_factored_in_blocks_like_one_qr() -> None:
    X, y = _data(4, n=3 * _sqrtstat._BLOCK_ROWS + 11)
    st_ = SqrtStat.from_data(X, y)
    R = np.linalg.qr(np.column_stack([X, y]), mode="r")
    np.testing.assert_allclose(np.abs(st_.R), np.abs(R), rtol=1e-10, atol=1e-9)


def test_forgetting_scales_the_information() -> None:
    X, y = _data(5)
    st_ = SqrtStat.from_data(X, y)
    f = st_.forget(0.81)
    np.testing.assert_allclose(f.R, 0.9 * st_.R, rtol=1e-15)
    assert f.nobs == pytest.approx(0.81 * 50, rel=1e-15)
    np.testing.assert_allclose(f.solve(), st_.solve(), rtol=1e-12)
    with pytest.raises(ValueError, match="lam"):
        st_.forget(0.0)
    with pytest.raises(ValueError, match="lam"):
        st_.forget(1.5)


def test_stabilised_forgetting_mixes_the_target_back_in() -> None:
    X, y = _data(6)
    st_ = SqrtStat.from_data(X, y)
    target = SqrtStat.from_data(X[:5], np.zeros(5))
    assert st_.forget_toward(1.0, target) is st_  # lam = 1 forgets nothing
    mixed = st_.forget_toward(0.7, target)
    expect = 0.7 * st_.R.T @ st_.R + 0.3 * target.R.T @ target.R
    np.testing.assert_allclose(mixed.R.T @ mixed.R, expect, rtol=1e-12, atol=1e-10)


def test_aliased_columns_are_found_left_to_right() -> None:
    X, y = _data(7, n=40, k=3)
    Xa = np.column_stack([X, X[:, 1] * 2.0 - X[:, 2], np.zeros(40), X[:, 2]])
    st_ = SqrtStat.from_data(Xa, y)
    assert st_.aliased().tolist() == [False, False, False, True, True, True]
    kept = st_.select(~st_.aliased())
    np.testing.assert_allclose(kept.solve(), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)


def test_lstsq_drops_aliased_columns_and_refines() -> None:
    X, y = _data(8, n=60, k=3)
    Xa = np.column_stack([X[:, :2], X[:, 1] * 3.0, X[:, 2]])
    fit = lstsq(Xa, y)
    assert fit.kept.tolist() == [True, True, False, True]
    np.testing.assert_allclose(fit.params, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-12)
    np.testing.assert_allclose(fit.resid, y - X @ fit.params, rtol=1e-9, atol=1e-12)


def test_gram_and_householder_paths_agree_on_well_conditioned_data() -> None:
    rng = np.random.default_rng(9)
    n = core.FAST_MIN_ROWS + 100
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 4))])
    y = X @ np.arange(1.0, 6.0) + rng.normal(size=n)
    fast = lstsq(X, y)
    slow = _solver._lstsq_householder(X, y, core.ALIAS_TOL)
    assert fast.method == "cholesky" and slow.method == "householder"
    np.testing.assert_allclose(fast.params, slow.params, rtol=1e-13)
    np.testing.assert_allclose(fast.stat.ssr, slow.stat.ssr, rtol=1e-12)
    np.testing.assert_allclose(
        fast.stat.cov_unscaled(), slow.stat.cov_unscaled(), rtol=1e-11, atol=1e-18
    )


def test_ill_conditioned_big_data_takes_the_householder_path() -> None:
    rng = np.random.default_rng(10)
    n = core.FAST_MIN_ROWS + 100
    x = 1e6 + rng.normal(size=n)
    X = np.column_stack([np.ones(n), x])
    y = 2.0 + 3.0 * (x - 1e6) + rng.normal(size=n)
    fit = lstsq(X, y)
    assert fit.method == "householder"
    ref = np.linalg.lstsq(np.column_stack([np.ones(n), x - 1e6]), y, rcond=None)[0]
    # exact shift of the intercept: b0 = ref0 - 1e6 * ref1
    np.testing.assert_allclose(fit.params[1], ref[1], rtol=1e-10)
    np.testing.assert_allclose(fit.params[0], ref[0] - 1e6 * ref[1], rtol=1e-9)


def test_huge_and_tiny_magnitudes_are_scaled_exactly() -> None:
    X, y = _data(11, n=30)
    base = lstsq(X, y)
    for s in (1e-300, 1e300):
        fit = lstsq(X * s, y)
        np.testing.assert_allclose(fit.params * s, base.params, rtol=1e-13)
    fit = lstsq(X, y * 1e-300)
    np.testing.assert_allclose(fit.params, base.params * 1e-300, rtol=1e-13)


def test_empty_data_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rows"):
        lstsq(np.zeros((0, 2)), np.zeros(0))


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="upper triangular"):
        SqrtStat(np.ones((3, 3)), 1.0)
    with pytest.raises(ValueError, match="regressors"):
        SqrtStat.empty(2).merge(SqrtStat.empty(3))
    with pytest.raises(ValueError, match="X must be"):
        SqrtStat.from_data(np.ones((3, 2)), np.ones(4))


def test_state_is_immutable() -> None:
    X, y = _data(12)
    st_ = SqrtStat.from_data(X, y)
    with pytest.raises(ValueError, match="read-only"):
        st_.R[0, 0] = 1.0


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    cuts=st.lists(st.integers(1, 59), max_size=5),
)
def test_any_chunking_and_order_gives_the_same_fit(seed: int, cuts: list[int]) -> None:
    X, y = _data(seed, n=60, k=4)
    bounds = [0, *sorted(set(cuts)), 60]
    parts = [SqrtStat.from_data(X[a:b], y[a:b]) for a, b in itertools.pairwise(bounds)]
    rng = np.random.default_rng(seed)
    rng.shuffle(parts)
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    whole = SqrtStat.from_data(X, y)
    np.testing.assert_allclose(merged.solve(), whole.solve(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(merged.ssr, whole.ssr, rtol=1e-10)
    np.testing.assert_allclose(merged.y_m2, whole.y_m2, rtol=1e-10)


def test_offset_columns_take_the_centred_gram_path_and_match_householder() -> None:
    rng = np.random.default_rng(13)
    n = core.FAST_MIN_ROWS + 100
    Z = rng.normal(size=(n, 3))
    X = np.column_stack([Z[:, 0] + 1e4, np.ones(n), Z[:, 1] - 3e3, Z[:, 2]])
    y = X @ np.array([2.0, 5.0, -1.0, 0.5]) + rng.normal(size=n)
    assert _solver._lstsq_gram(X, y) is None  # cond(X scaled) ~ 1e8: normal equations refused
    fast = lstsq(X, y, const_col=1)
    slow = _solver._lstsq_householder(X, y, core.ALIAS_TOL)
    assert fast.method == "cholesky-centred"
    np.testing.assert_allclose(fast.params, slow.params, rtol=1e-10)
    np.testing.assert_allclose(fast.stat.ssr, slow.stat.ssr, rtol=1e-11)
    np.testing.assert_allclose(fast.stat.cov_unscaled(), slow.stat.cov_unscaled(), rtol=1e-9)
    np.testing.assert_allclose(fast.stat.R.T @ fast.stat.R, slow.stat.R.T @ slow.stat.R, rtol=1e-9)


def test_from_block_takes_the_gram_path_only_when_safe() -> None:
    X, y = _data(14, n=5000, k=5)
    fast, exact = SqrtStat.from_block(X, y), SqrtStat.from_data(X, y)
    np.testing.assert_allclose(fast.R, exact.R, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(fast.solve(), exact.solve(), rtol=1e-12)
    np.testing.assert_allclose(fast.ssr, exact.ssr, rtol=1e-12)
    assert not np.array_equal(fast.R, exact.R)  # it did take the other path
    # a nearly exact fit makes [X y] ill-conditioned: back to Householder, bit for bit
    y_exact = X @ np.arange(1.0, 6.0) + 1e-9 * np.random.default_rng(15).normal(size=5000)
    np.testing.assert_array_equal(
        SqrtStat.from_block(X, y_exact).R, SqrtStat.from_data(X, y_exact).R
    )
    # and so does a design far from zero
    X_off = X + np.r_[0.0, 1e5, 0, 0, 0]
    np.testing.assert_array_equal(SqrtStat.from_block(X_off, y).R, SqrtStat.from_data(X_off, y).R)


def test_lstsq_refines_the_inverse_of_the_gram_matrix() -> None:
    from fractions import Fraction

    # a polynomial design (Wampler's x = 0..20, degree 5; scaled condition ~3e3)
    x = np.arange(21.0)
    X = np.column_stack([x**j for j in range(6)])
    fit = core.lstsq(X, x**3 - x, cov=True)
    assert fit.method == "householder" and fit.cov is not None
    k = X.shape[1]
    Xf = [[Fraction(float(v)) for v in row] for row in X]
    G = [[sum(row[r] * row[c] for row in Xf) for c in range(k)] for r in range(k)]
    aug = [[*G[r], *(Fraction(int(r == c)) for c in range(k))] for r in range(k)]
    for c in range(k):  # Gauss-Jordan, exact
        aug[c] = [v / aug[c][c] for v in aug[c]]
        for r in range(k):
            if r != c:
                f = aug[r][c]
                aug[r] = [vr - f * vc for vr, vc in zip(aug[r], aug[c], strict=True)]
    exact = np.array([[float(aug[r][k + c]) for c in range(k)] for r in range(k)])
    np.testing.assert_allclose(np.diag(fit.cov), np.diag(exact), rtol=1e-14, atol=0)
    np.testing.assert_allclose(fit.cov, exact, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(fit.cov, fit.cov.T)
    plain = fit.stat.cov_unscaled()  # the factor alone: cond * eps on the diagonal
    assert np.max(np.abs(np.diag(plain) - np.diag(exact)) / np.diag(exact)) > 1e-14


@pytest.mark.parametrize("p", [1, 2, 5, 30])
def test_one_row_is_factored_exactly_as_lapack_does(p: int) -> None:
    # the shortcut for one row (no QR call) must give LAPACK's bits, signs normalised
    rng = np.random.default_rng(p)
    for _ in range(100):
        M = rng.normal(size=(1, p)) * 10.0 ** rng.uniform(-150, 150)
        M[0, 0] *= rng.choice([-1.0, 0.0, 1.0])
        lapack = np.zeros((p, p))
        lapack[0] = np.triu(_sqrtstat._qr_r(M))[0]
        lapack *= np.where(np.diag(lapack) < 0, -1.0, 1.0)[:, None]
        np.testing.assert_array_equal(_sqrtstat._triangularize(M), lapack)
