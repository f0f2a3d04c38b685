"""duolm._block_kernel: the compiled reductions of a batch given as columns.

Each kernel is held to the numpy computation it stands in for (the core's
Gram matrix, ResidualMoments.from_residuals, SqrtStat.whiten and the HC
meats), on lengths around the tile size, and must let NaN and inf through so
that callers can send such a batch to the checked path. Streamed fits with the
kernels and without them (the numpy path) must give the same numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm import reduction
from duolm._stream import _batch as _reduction
from duolm._stream import _kernels as _block_kernel
from duolm.core import ResidualMoments, SqrtStat

TILE = _block_kernel._TILE


def test_kernels_are_available() -> None:
    """numba is a dependency: the compiled path is the one these tests (and users) run."""
    assert _block_kernel.available()


LENGTHS = [1, 2, TILE - 1, TILE, TILE + 1, 3 * TILE + 17]


def _columns(n: int, m: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-3, 3, size=m)
    return [rng.normal(loc=scale, scale=scale, size=n) for scale in scales]


@pytest.mark.parametrize("n", LENGTHS)
def test_gram_sums_and_y_moments_match_numpy(n: int) -> None:
    cols = _columns(n, 5)
    G, s, y_mean, y_m2 = _block_kernel.gram(cols)
    Z = np.column_stack(cols)
    np.testing.assert_allclose(G, Z.T @ Z, rtol=1e-13, atol=0)
    assert np.array_equal(G, G.T)
    np.testing.assert_allclose(s, Z.sum(axis=0), rtol=1e-12, atol=1e-12 * np.abs(Z).sum(0).max())
    y = cols[-1]
    np.testing.assert_allclose(y_mean, y.mean(), rtol=1e-13, atol=0)
    np.testing.assert_allclose(y_m2, ((y - y.mean()) ** 2).sum(), rtol=1e-12, atol=1e-300)


def test_gram_takes_read_only_and_strided_columns() -> None:
    frame = pd.DataFrame(np.arange(60.0).reshape(20, 3), columns=["a", "b", "c"])
    readonly = frame["a"].to_numpy().copy()
    readonly.flags.writeable = False
    strided = np.arange(40.0)[::2]  # not contiguous: copied
    ints = np.arange(20)  # not float64: converted
    G, s, _, _ = _block_kernel.gram([readonly, strided, ints])
    Z = np.column_stack([readonly, strided, ints.astype(float)])
    np.testing.assert_array_equal(G, Z.T @ Z)
    np.testing.assert_array_equal(s, Z.sum(axis=0))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_reach_the_results(bad: float) -> None:
    cols = _columns(3 * TILE, 3)
    cols[1][TILE + 5] = bad
    G, s, _, _ = _block_kernel.gram(cols)
    assert not math.isfinite(G[1, 1])
    assert not math.isfinite(s[1])
    # even with a zero coefficient: 0 * inf is NaN
    swept = _block_kernel.second_pass(cols[:2], np.array([0.0, 0.0]), 0.0, cols[2], 1.0)
    assert not all(math.isfinite(v) for v in swept.moments)


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("unit", [1.0, 2.0**-40, 2.0**30])
def test_second_pass_moments_match_from_residuals(n: int, unit: float) -> None:
    cols = _columns(n, 4, seed=n)
    coefs = np.array([0.5, -2.0, 1e-3])
    e = cols[3] - 7.0 - np.column_stack(cols[:3]) @ coefs
    swept = _block_kernel.second_pass(cols[:3], coefs, 7.0, cols[3], unit)
    want = ResidualMoments.from_residuals(e)._in_unit(unit)  # the same moments in that unit
    wanted = [want.mean, want.m2, want.m3, want.m4, want.ss, want.dw_num, want.first, want.last]
    scale = max(1.0, want.ss)  # each sum's rounding is relative to its own power of the spread
    powers = [0.5, 1.0, 1.5, 2.0, 1.0, 1.0, 0.0, 0.0]
    for got, value, power in zip(swept.moments, wanted, powers, strict=True):
        np.testing.assert_allclose(got, value, rtol=1e-10, atol=1e-12 * scale**power)
    assert swept.meats is None and not swept.lev_one


@pytest.mark.parametrize("n", [TILE - 1, 2 * TILE + 3])
@pytest.mark.parametrize("icpt", [None, 0, 2])
def test_meats_match_whiten(n: int, icpt: int | None) -> None:
    k = 4
    data = _columns(n, k if icpt is None else k - 1, seed=2)
    where = [j for j in range(k) if j != icpt]
    X = np.empty((n, k))
    X[:, where] = np.column_stack(data)
    if icpt is not None:
        X[:, icpt] = 1.0
    stat = SqrtStat.from_data(X, np.zeros(n))
    y = np.random.default_rng(5).standard_t(4, size=n)
    coefs = np.zeros(len(data))  # e = y
    robust = (where, icpt, stat.Rxx, 1e-10)
    scores = np.full((n, k), np.nan)
    swept = _block_kernel.second_pass(data, coefs, 0.0, y, 1.0, robust, scores)
    W = stat.whiten(X)
    h = np.einsum("ij,ij->i", W, W)
    assert swept.meats is not None
    for got, w in zip(swept.meats, (y**2, y**2 / (1 - h), y**2 / (1 - h) ** 2), strict=True):
        want = W.T @ (W * w[:, None])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13 * np.abs(want).max())
    assert not swept.lev_one
    # the score rows u_t = w_t e_t of the HAC and cluster meats, every row written
    want_u = W * y[:, None]
    np.testing.assert_allclose(scores, want_u, rtol=1e-10, atol=1e-13 * np.abs(want_u).max())
    without = _block_kernel.second_pass(data, coefs, 0.0, y, 1.0, robust)
    assert without.moments == swept.moments  # asking for them changes nothing else
    assert without.meats is not None
    np.testing.assert_array_equal(without.meats, swept.meats)


def test_meats_report_a_leverage_of_one() -> None:
    n = 50
    x = np.zeros(n)
    x[7] = 1.0  # a dummy for one row: its leverage is 1
    X = np.column_stack([np.ones(n), x])
    stat = SqrtStat.from_data(X, np.zeros(n))
    robust = ([1], 0, stat.Rxx, 1e-10)
    assert _block_kernel.second_pass([x], np.zeros(1), 0.0, np.ones(n), 1.0, robust).lev_one


# -- streamed fits with and without the kernels -----------------------------------------------


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(11)
    n = 5000
    frame = pd.DataFrame({f"x{j}": rng.normal(j, 1.0 + j, size=n) for j in range(1, 4)})
    frame["y"] = 2.0 + frame @ np.array([0.5, -0.25, 1.0]) + rng.standard_t(5, size=n)
    path = tmp_path_factory.mktemp("kernel") / "data.parquet"
    frame.to_parquet(path, row_group_size=1700)
    return path, frame


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC3"])
@pytest.mark.parametrize("formula", ["y ~ x1 + x2 + x3", "y ~ x3 + x1 - 1", "y ~ x2 + x2:x3"])
def test_stream_with_kernels_equals_numpy_path_and_in_memory(
    parquet: tuple[Path, pd.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
    formula: str,
    cov_type: str,
) -> None:
    path, frame = parquet
    compiled = duolm.ols(formula, path, batch_size=1100, cov_type=cov_type)
    with monkeypatch.context() as patch:
        patch.setattr(_block_kernel, "available", lambda: False)
        plain = duolm.ols(formula, path, batch_size=1100, cov_type=cov_type)
    whole = duolm.ols(formula, frame, cov_type=cov_type)
    for got in (compiled, plain):
        for name in ("params", "bse"):
            np.testing.assert_allclose(getattr(got, name), getattr(whole, name), rtol=1e-10, atol=0)
        for name in ("omnibus", "skew", "kurtosis", "durbin_watson", "jarque_bera"):
            np.testing.assert_allclose(
                getattr(got.diagnostics, name), getattr(whole.diagnostics, name), rtol=1e-10, atol=0
            )


def test_kernel_path_is_taken_and_falls_back_on_missing_and_ill_conditioned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(4)
    n = 3000
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    frame.loc[1500:1999, "x2"] = 1e6 + rng.normal(size=500) * 1e-3  # an ill-conditioned batch
    frame["y"] = 1.0 + frame.x1 - 2.0 * frame.x2 + rng.normal(size=n)
    frame.loc[2600, "x1"] = np.nan  # a dropped row in a later batch
    path = tmp_path / "mixed.parquet"
    frame.to_parquet(path)
    calls = {"gram": 0, "qr": 0}
    real_gram, real_from_data = _block_kernel.gram, SqrtStat.from_data.__func__  # type: ignore[attr-defined]

    def gram(columns: list[np.ndarray]) -> object:
        calls["gram"] += 1
        return real_gram(columns)

    def from_data(cls: type[SqrtStat], X: np.ndarray, y: np.ndarray) -> SqrtStat:
        calls["qr"] += 1
        return real_from_data(cls, X, y)  # type: ignore[no-any-return]

    monkeypatch.setattr(_block_kernel, "gram", gram)
    monkeypatch.setattr(SqrtStat, "from_data", classmethod(from_data))
    got = duolm.ols("y ~ x1 + x2", path, batch_size=500, cov_type="HC1")
    assert calls["gram"] >= 4 and calls["qr"] >= 1
    want = duolm.ols("y ~ x1 + x2", frame, cov_type="HC1")
    assert got.n_dropped == want.n_dropped == 1
    np.testing.assert_allclose(got.params, want.params, rtol=1e-10, atol=0)
    np.testing.assert_allclose(got.bse, want.bse, rtol=1e-10, atol=0)
    # skew is near 0 here (0.04): its rounding is absolute, of the order of its unit (1)
    np.testing.assert_allclose(got.diagnostics.skew, want.diagnostics.skew, rtol=0, atol=1e-10)


def test_reduction_refuses_nothing_the_kernels_cannot_see(tmp_path: Path) -> None:
    """An inf in a later batch reaches the checked path and its clear error."""
    frame = pd.DataFrame({"x": np.arange(400.0), "y": np.arange(400.0) % 7})
    frame.loc[333, "x"] = np.inf
    path = tmp_path / "inf.parquet"
    frame.to_parquet(path)
    for missing in ("drop", "raise"):
        with pytest.raises(duolm.errors.DataError, match="333"):
            duolm.ols("y ~ x", path, batch_size=100, missing=missing)


@pytest.mark.parametrize("formula", ["y ~ x + d", "y ~ x + C(g)"])
def test_a_row_of_leverage_one_makes_hc3_undefined_as_in_memory(
    tmp_path: Path, formula: str
) -> None:
    """The dummy of one row (kernel path) or the only row of a level (numpy path) has
    leverage 1 up to rounding (1 - h ~ 3e-16): HC3 is refused, HC0 given, as in memory."""
    rng = np.random.default_rng(8)
    n = 600
    frame = pd.DataFrame({"x": rng.normal(size=n), "d": 0.0, "g": "a", "y": rng.normal(size=n)})
    frame.loc[7, ["d", "g"]] = [1.0, "b"]
    path = tmp_path / "lev.parquet"
    frame.to_parquet(path)
    with pytest.raises(duolm.errors.DataError, match="leverage 1"):
        duolm.ols(formula, frame, cov_type="HC3").bse  # noqa: B018
    with pytest.raises(duolm.errors.DataError, match="leverage 1"):
        duolm.ols(formula, path, batch_size=200, cov_type="HC3")
    got = duolm.ols(formula, path, batch_size=200, cov_type="HC0")
    want = duolm.ols(formula, frame, cov_type="HC0")
    np.testing.assert_allclose(got.bse, want.bse, rtol=1e-10, atol=0)


def _magnitude_frame(n: int, scale: float) -> pd.DataFrame:
    rng = np.random.default_rng(21)
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.uniform(0, 3, size=n)})
    frame["y"] = scale * (1.0 + frame.x1 - 0.5 * frame.x2 + rng.standard_t(5, size=n))
    return frame


@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_huge_and_tiny_residuals_keep_every_digit(tmp_path: Path, scale: float) -> None:
    """Fourth powers of residuals near 1e+-150 leave float64; the pass-1 unit keeps them in."""
    frame = _magnitude_frame(4000, scale)
    path = tmp_path / "scaled.parquet"
    frame.to_parquet(path)
    got = duolm.ols("y ~ x1 + x2", path, batch_size=1500, cov_type="HC3")
    want = duolm.ols("y ~ x1 + x2", frame, cov_type="HC3")
    np.testing.assert_allclose(got.params, want.params, rtol=1e-10, atol=0)
    np.testing.assert_allclose(got.bse, want.bse, rtol=1e-10, atol=0)
    for name in ("omnibus", "jarque_bera", "skew", "kurtosis", "durbin_watson"):
        np.testing.assert_allclose(
            getattr(got.diagnostics, name), getattr(want.diagnostics, name), rtol=1e-9, atol=0
        )


def test_no_residual_spread_takes_the_numpy_second_pass() -> None:
    """ryy = 0 (an exact fit) gives no unit: the batch goes to the numpy path (None)."""
    n = 3000
    x = np.arange(n, dtype=float)
    y = 2.0 * x
    R = np.array([[np.sqrt(x @ x), 2.0 * np.sqrt(x @ x)], [0.0, 0.0]])  # [x y] factor, ryy 0
    stat = SqrtStat(R, float(n), float(y.mean()), float(((y - y.mean()) ** 2).sum()))
    fit = reduction.Estimate(np.array([True]), stat, stat.solve(), robust=True)
    columns = _reduction._Columns((x, y), (0, 1), None)
    assert _reduction._pass2_of_columns(fit, columns) is None
    numpy_path = reduction.Pass2.of(fit, x[:, None], y)
    assert numpy_path.moments.ss == 0.0 and numpy_path.moments.n == n


@pytest.mark.parametrize("row", [10, 1500])  # in the first 1024 rows, or after them
def test_missing_value_in_the_first_batch(tmp_path: Path, row: int) -> None:
    frame = _magnitude_frame(4000, 1.0)
    frame.loc[row, "x2"] = np.nan
    path = tmp_path / "nan.parquet"
    frame.to_parquet(path)
    got = duolm.ols("y ~ x1 + x2", path, batch_size=2000)
    want = duolm.ols("y ~ x1 + x2", frame)
    assert got.n_dropped == want.n_dropped == 1
    np.testing.assert_allclose(got.params, want.params, rtol=1e-10, atol=0)
    with pytest.raises(duolm.errors.DataError, match=str(row)):
        duolm.ols("y ~ x1 + x2", path, batch_size=2000, missing="raise")


def test_csv_text_after_the_first_rows_names_its_row(tmp_path: Path) -> None:
    frame = _magnitude_frame(3000, 1.0)
    frame["x2"] = frame["x2"].astype(object)
    frame.loc[1800, "x2"] = "n/a?"
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(duolm.errors.DataError, match="1800"):
        duolm.ols("y ~ x1 + x2", path, batch_size=2500)


def test_no_writable_cache_folder_compiles_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba refuses cache=True when no folder is writable (a read-only install): the
    kernels are then compiled without a cache instead of breaking every streamed fit."""
    import numba.core.caching as caching

    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])
    kernels = _block_kernel._kernels.__wrapped__()  # a fresh compile, not the cached one
    assert kernels is not None
    cols = _columns(3000, 3)
    G = np.zeros((3, 3))
    s = np.zeros(3)
    kernels.gram(kernels.make_list(cols), G, s, np.zeros(2))
    Z = np.column_stack(cols)
    np.testing.assert_allclose(np.triu(G), np.triu(Z.T @ Z), rtol=1e-13, atol=0)


# -- regressions found in review ------------------------------------------------------------


def test_nan_only_in_an_aliased_column_drops_its_row_in_both_passes(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    n = 20_000
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "x2": 2.0 * x, "y": 1.0 + x + rng.normal(size=n)})
    frame.loc[15_000, "x2"] = np.nan
    path = tmp_path / "alias.parquet"
    frame.to_parquet(path)
    with pytest.warns(duolm.errors.RankWarning):
        got = duolm.ols("y ~ x + x2", path, batch_size=5000, cov_type="HC3")
    with pytest.warns(duolm.errors.RankWarning):
        want = duolm.ols("y ~ x + x2", frame, cov_type="HC3")
    assert got.moments is not None and got.moments.n == got.nobs == want.nobs == n - 1
    np.testing.assert_allclose(got.bse, want.bse, rtol=1e-10, atol=0, equal_nan=True)
    np.testing.assert_allclose(
        got.diagnostics.omnibus, want.diagnostics.omnibus, rtol=1e-10, atol=0
    )


@pytest.mark.parametrize("formula", ["y ~ x", "y ~ scale(x)", "y ~ poly(x, 2)"])
def test_first_rows_missing_or_constant_do_not_decide_the_fit(tmp_path: Path, formula: str) -> None:
    """The first rows only ever speed a plain fit up: rows of NaN, or a constant x
    (sorted data) that a stateful transform cannot scale, leave the fit to the whole batch."""
    rng = np.random.default_rng(2)
    n = 5000
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n)})
    if formula == "y ~ x":
        frame.loc[:299, "x"] = np.nan
    else:
        frame.loc[:1499, "x"] = 0.5
    path = tmp_path / "head.parquet"
    frame.to_parquet(path)
    want = duolm.ols(formula, frame)
    got = duolm.ols(formula, path, batch_size=3000)
    assert got.nobs == want.nobs == (4700 if formula == "y ~ x" else n)
    # a stateful transform keeps the first batch's state (another basis of the same span)
    np.testing.assert_allclose(got.ssr, want.ssr, rtol=1e-9, atol=0)
    np.testing.assert_allclose(got.rsquared, want.rsquared, rtol=1e-9, atol=0)


def test_integer_column_with_nulls_beyond_2_53_in_a_transform(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 3000
    rng = np.random.default_rng(0)
    ids = pa.array([None] + [2**53 + 1 + i * 2**40 for i in range(n - 1)], pa.int64())
    x = rng.normal(size=n)
    pq.write_table(pa.table({"id": ids, "x": x, "y": x + rng.normal(size=n)}), tmp_path / "i.pq")
    for formula in ("y ~ x + np.log(id)", "y ~ x + id"):
        fit = duolm.ols(formula, tmp_path / "i.pq", batch_size=1000)
        assert fit.nobs == n - 1 and fit.n_dropped == 1


def test_residual_sum_of_squares_beyond_float64_is_a_data_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=3000)})
    frame["y"] = (frame.x + rng.standard_t(4, size=3000)) * 1e297
    frame.to_parquet(tmp_path / "huge.parquet")
    with pytest.raises(duolm.errors.DataError, match="overflows float64"):
        duolm.ols("y ~ x", tmp_path / "huge.parquet", batch_size=1000)
