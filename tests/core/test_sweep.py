"""The fused sweeps of duolm.core._sweep: compiled kernels against numpy and references.

Every kernel is checked against the plain numpy expression of what it computes
(the fallback used without numba), on data large enough for the kernels to
apply (``KERNEL_MIN_ROWS``); the in-memory fit built on them against
statsmodels and against the Householder path, and the Breusch-Pagan pieces
against statsmodels' auxiliary regression.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.diagnostic import het_breuschpagan

import duolm
from duolm.core import Columns, ResidualMoments, _solver, _sweep
from duolm.frequentist import _tests

N = _sweep.KERNEL_MIN_ROWS + 4_321  # the kernels apply; not a multiple of any tile


def _data(seed: int, k: int = 5, order: str = "C") -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(N), rng.standard_normal((N, k - 1))])
    y = X @ rng.standard_normal(k) + rng.standard_normal(N) * (1.0 + 0.5 * np.abs(X[:, 1]))
    return np.asarray(X, order=order), y


def test_kernels_compile_here() -> None:
    assert _sweep._kernels() is not None  # numba is a dependency: the tests below use it


@pytest.mark.parametrize("order", ["C", "F"])
def test_gram_is_the_gram_of_x_and_y(order: str) -> None:
    X, y = _data(1, k=7, order=order)
    A = np.column_stack([X, y])
    assert_allclose(_sweep.gram(X, y), A.T @ A, rtol=1e-13, atol=1e-9)


def test_gram_of_non_finite_rows_is_not_finite() -> None:
    X, y = _data(2)
    X[N - 3, 2] = np.nan
    assert not np.isfinite(_sweep.gram(X, y)).all()


@pytest.mark.parametrize("order", ["C", "F"])
def test_scan_matches_numpy(order: str) -> None:
    X, _ = _data(3, order=order)
    X[:, 2] = -3.0  # a constant column
    X[N // 2 :, 3] = X[0, 3]  # equal to its first entry in the second half only
    got = _sweep.scan(X)
    assert_allclose(got.sums, X.sum(axis=0), rtol=1e-13, atol=1e-9)
    assert_allclose(got.first, X[0], rtol=0, atol=0)
    assert got.varies.tolist() == np.count_nonzero(np.not_equal(X, X[0]), axis=0).tolist()
    assert got.varies[2] == 0 and 0 < got.varies[3] < N // 2
    X[N - 1, 3] = np.inf
    assert not np.isfinite(_sweep.scan(X).sums[3])


def _check_residual_sweep(design: np.ndarray | Columns, y: np.ndarray) -> _sweep.ResidualSweep:
    """The residual sweep of ``design`` against numpy's sums of its matrix."""
    X = design.array if isinstance(design, Columns) else design
    b = np.linalg.lstsq(X, y, rcond=None)[0] * 0.9  # residuals far from orthogonal
    got = _sweep.residuals(design, y, b, 0.5)
    e = y - X @ b
    u = (e / 0.5) ** 2
    assert_allclose(got.e, e, rtol=0, atol=1e-12)
    assert_allclose(got.xe, X.T @ e, rtol=1e-11, atol=1e-8)
    assert_allclose(got.xs, X.sum(axis=0), rtol=1e-12, atol=1e-8)
    assert_allclose(got.xu, X.T @ u, rtol=1e-11, atol=1e-8)
    assert_allclose(got.su, u.sum(), rtol=1e-12, atol=0)
    assert got.top == np.max(np.abs(got.e))
    return got


@pytest.mark.parametrize("order", ["C", "F"])
def test_residual_sweep_matches_numpy(order: str) -> None:
    _check_residual_sweep(*_data(4, order=order))


@pytest.mark.parametrize("scale", [1.0, 2.0**-300, 2.0**300])
def test_moments_kernel_matches_from_residuals(scale: float) -> None:
    e = np.random.default_rng(5).standard_t(5, N) * scale + 0.3 * scale
    got, want = _sweep.moments(e), ResidualMoments.from_residuals(e)
    assert got.unit == want.unit and got.n == want.n
    for name in ("mean", "m2", "m3", "m4", "ss", "dw_num", "first", "last"):
        assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-11, atol=1e-12)


def test_breusch_pagan_pieces_give_statsmodels_statistic() -> None:
    X, y = _data(6)
    fit = duolm.ols(X=X, y=y)
    assert fit.rows is not None and fit.rows.squares is not None  # from the sweep
    resid = sm.OLS(y, X).fit().resid
    want = het_breuschpagan(resid, X)[0]
    assert_allclose(_tests.koenker_lm(fit)[0], want, rtol=1e-9, atol=0)


def test_fit_without_numba_is_the_same_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data(7)
    fast = duolm.ols(X=X, y=y)
    monkeypatch.setattr(_sweep, "_compiled", lambda X: None)
    slow = duolm.ols(X=X, y=y)
    assert_allclose(fast.params.to_numpy(), slow.params.to_numpy(), rtol=1e-14, atol=0)
    assert_allclose(fast.resid.to_numpy(), slow.resid.to_numpy(), rtol=0, atol=1e-13)
    for name in ("omnibus", "jarque_bera", "skew", "kurtosis", "durbin_watson"):
        got, want = getattr(fast.diagnostics, name), getattr(slow.diagnostics, name)
        assert_allclose(got, want, rtol=1e-10, atol=0)
    assert_allclose(_tests.koenker_lm(fast)[0], _tests.koenker_lm(slow)[0], rtol=1e-10, atol=0)


@pytest.mark.parametrize("order", ["C", "F"])
def test_fit_in_memory_matches_statsmodels(order: str) -> None:
    X, y = _data(8, order=order)
    fit = duolm.ols(X=X, y=y)
    r = sm.OLS(y, X).fit()
    assert fit.method == "cholesky"
    assert_allclose(fit.params.to_numpy(), r.params, rtol=1e-13, atol=0)
    assert_allclose(fit.bse.to_numpy(), r.bse, rtol=1e-12, atol=0)
    assert_allclose(fit.ssr, r.ssr, rtol=1e-13, atol=0)
    assert_allclose(fit.resid.to_numpy(), r.resid, rtol=0, atol=1e-12)
    assert_allclose(fit.diagnostics.durbin_watson, sm.stats.durbin_watson(r.resid), rtol=1e-12)
    assert_allclose(fit.diagnostics.skew, stats.skew(r.resid), rtol=1e-10, atol=0)
    assert_allclose(
        fit.diagnostics.kurtosis, stats.kurtosis(r.resid, fisher=False), rtol=1e-10, atol=0
    )


@pytest.mark.parametrize("order", ["C", "F"])
def test_float64_arrays_are_used_without_a_copy(order: str) -> None:
    X, y = _data(9, order=order)
    fit = duolm.ols(X=X, y=y)
    assert fit.rows is not None and np.shares_memory(fit.rows.X, X)
    assert not fit.rows.X.flags.writeable  # duolm cannot write into the caller's array
    assert X.flags.writeable  # and the caller's array is left as it was


def _count_residual_sweeps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gains an entry each time the solver runs the residual sweep."""
    calls: list[int] = []
    real = _sweep.residuals

    def counted(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_sweep, "residuals", counted)
    return calls


def test_step_that_moves_the_residuals_takes_a_third_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Columns at scaled condition ~300: the corrected step moves the residuals by more
    than their rounding, so they are recomputed from the corrected estimate."""
    rng = np.random.default_rng(10)
    z = rng.standard_normal(N)
    X = np.column_stack([np.ones(N), z, z + 1e-2 * rng.standard_normal(N)])
    y = X @ np.array([1.0, 2.0, -1.0]) + 1e-6 * rng.standard_normal(N)
    calls = _count_residual_sweeps(monkeypatch)
    fit = _solver.lstsq(X, y)
    assert fit.method == "cholesky" and len(calls) == 2
    ref = _solver._lstsq_householder(X, y, 1e-12)
    assert_allclose(fit.params, ref.params, rtol=1e-11, atol=0)
    assert_allclose(fit.resid, y - X @ fit.params, rtol=0, atol=1e-14)  # rounding of y - X b
    assert_allclose(fit.stat.ssr, ref.stat.ssr, rtol=1e-9, atol=0)


def test_negligible_step_keeps_the_first_residuals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Well-conditioned columns: the step moves the residuals by less than their
    rounding, so the residual sweep runs once and its residuals are the fit's."""
    X, y = _data(11)
    calls = _count_residual_sweeps(monkeypatch)
    fit = _solver.lstsq(X, y)
    assert fit.method == "cholesky" and len(calls) == 1
    assert_allclose(fit.resid, y - X @ fit.params, rtol=0, atol=1e-14)
    assert_allclose(fit.stat.ssr, float((y - X @ fit.params) @ (y - X @ fit.params)), rtol=1e-14)


# -- designs held as columns (a frame's), the intercept implicit --------------------------


def _columns(seed: int, p: int, intercept: int | None) -> tuple[Columns, np.ndarray]:
    rng = np.random.default_rng(seed)
    block = rng.standard_normal((p, N)) * np.arange(1.0, p + 1.0)[:, None]  # a frame's block
    cols = Columns(tuple(block), intercept, N)
    y = cols.array @ rng.standard_normal(cols.shape[1]) + rng.standard_normal(N)
    return cols, y


@pytest.mark.parametrize(("p", "intercept"), [(6, 0), (5, 2), (7, None), (1, 0), (0, 0)])
def test_gram_scan_of_columns_matches_numpy(p: int, intercept: int | None) -> None:
    cols, y = _columns(12, p, intercept)
    X = cols.array
    A = np.column_stack([X, y])
    got = _sweep.gram_scan(cols, y)
    assert got.gram is not None
    assert_allclose(got.gram, A.T @ A, rtol=1e-13, atol=1e-9)
    assert_allclose(got.scan.sums, X.sum(axis=0), rtol=1e-13, atol=1e-9)
    assert_allclose(got.y_sum, y.sum(), rtol=1e-13, atol=1e-9)
    assert_allclose(got.scan.first, X[0], rtol=0, atol=0)
    assert got.scan.varies.tolist() == np.count_nonzero(np.not_equal(X, X[0]), axis=0).tolist()
    if intercept is not None:
        assert got.gram[intercept, intercept] == N and got.scan.varies[intercept] == 0
    alone = _sweep.gram_scan(cols, y, products=False)  # the scan alone: the same sums
    assert alone.gram is None and alone.y_sum == got.y_sum
    assert_allclose(alone.scan.sums, got.scan.sums, rtol=0, atol=0)


def test_gram_scan_of_non_finite_columns_is_not_finite() -> None:
    cols, y = _columns(13, 4, 0)
    block = np.array(cols.parts)
    block[2, N - 5] = np.inf
    got = _sweep.gram_scan(Columns(tuple(block), 0, N), y)
    assert not np.isfinite(got.scan.sums[3]) and np.isfinite(got.scan.sums[[0, 1, 2, 4]]).all()


@pytest.mark.parametrize(("p", "intercept"), [(6, 0), (5, 2), (7, None), (1, 0), (0, 0)])
def test_residual_sweep_of_columns_matches_numpy(p: int, intercept: int | None) -> None:
    cols, y = _columns(14, p, intercept)
    got = _check_residual_sweep(cols, y)
    same = _check_residual_sweep(np.asfortranarray(cols.array), y)  # the kernel on X's columns
    assert_allclose(got.e, same.e, rtol=0, atol=1e-13)


def _every_sweep() -> list[object]:
    """The result of every sweep on data of each layout, as plain arrays."""
    X, y = _data(15, k=6)
    cols, yc = _columns(15, 5, 0)
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    out: list[object] = []
    for A in (X, np.asfortranarray(X)):
        out += [*_sweep.scan(A), *_sweep.residuals(A, y, b, 0.25)]
    swept = _sweep.gram_scan(cols, yc)
    out += [swept.gram, *swept.scan, *_sweep.residuals(cols, yc, b, 0.25)]
    out += list(_sweep.moments(y - X @ b).__dict__.values())
    return out


def test_sweeps_give_the_same_bits_on_one_thread_or_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """The halves are fixed and added in a fixed order: neither the threads nor the run
    changes a bit."""
    threads: list[str] = []
    real = threading.Thread.start

    def start(self: threading.Thread) -> None:
        threads.append(self.name)
        real(self)

    monkeypatch.setattr(_sweep, "_two_threads", lambda: True)
    monkeypatch.setattr(_sweep, "_THREAD_MIN_VALUES", 0)  # small data on two threads too
    monkeypatch.setattr(threading.Thread, "start", start)
    two, again = _every_sweep(), _every_sweep()
    assert threads and set(threads) == {"duolm-sweep"}  # the halves did run on two threads
    monkeypatch.setattr(_sweep, "_two_threads", lambda: False)
    one = _every_sweep()
    for a, b, c in zip(two, again, one, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)  # type: ignore[arg-type]


def test_an_error_in_the_second_half_reaches_the_caller() -> None:
    def work(h: int, start: int, stop: int) -> None:
        if h == 1:
            raise ValueError(f"rows {start}:{stop}")

    with pytest.raises(ValueError, match=f":{N}$"):
        _sweep._in_halves(N, work)


@pytest.mark.parametrize("n", [50, 30_000])  # the Householder path; the Gram path
@pytest.mark.parametrize("columns", [False, True])
def test_rows_above_are_the_stacked_system(n: int, columns: bool) -> None:
    # lstsq(X, y, above=(P, p)) is lstsq of [P; X] b ~ [p; y], without the stacked copy
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 3)) * [1.0, 4.0, 0.1] + [0.0, 3.0, -1.0]
    X = np.column_stack([np.ones(n), x])
    y = X @ [1.0, 0.5, -0.2, 3.0] + rng.normal(size=n)
    prior = duolm.NIG(m=[0.5, 0.0, 0.0, 1.0], V=np.eye(4) * [4.0, 1.0, 2.0, 0.5], a=3.0, b=2.0)
    P, p = prior.stat.R[:4, :4], prior.stat.R[:4, 4]
    design = Columns(tuple(np.ascontiguousarray(x[:, j]) for j in range(3)), 0, n) if columns else X
    got = _solver.lstsq(design, y, cov=True, above=(P, p))
    want = _solver.lstsq(np.vstack([P, X]), np.concatenate([p, y]), cov=True)
    assert got.method == want.method == ("householder" if n < 20_000 else "cholesky")
    assert got.cov is not None and want.cov is not None
    assert_allclose(got.params, want.params, rtol=1e-13, atol=0)
    assert_allclose(got.cov, want.cov, rtol=1e-12, atol=1e-14 * np.abs(want.cov).max())
    assert_allclose(got.stat.R, want.stat.R, rtol=1e-12, atol=1e-12 * np.abs(want.stat.R).max())
    assert_allclose(got.resid, want.resid, rtol=1e-10, atol=1e-12)
    assert got.stat.nobs == want.stat.nobs == n + 4
    moments = [want.stat.y_mean, want.stat.y_m2]
    assert_allclose([got.stat.y_mean, got.stat.y_m2], moments, rtol=1e-12)
