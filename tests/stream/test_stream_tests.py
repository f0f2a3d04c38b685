"""The standard tests of a streamed (and Dask) fit, from sums its second pass accumulated.

``tests=True`` makes pass 2 take the statistics of the auxiliary regressions
(Breusch-Pagan, White, RESET) and the lag products of ``[X, e]`` across batch
boundaries (Breusch-Godfrey, Ljung-Box, Durbin-Watson's normal
approximation); each test must equal the in-memory one (itself checked against
statsmodels and R in tests/frequentist/test_tests.py) at 1e-10 for any batch
size. The per-row measures are written to a file by ``duolm.write_influence``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose
from statsmodels.stats.diagnostic import acorr_breusch_godfrey, het_breuschpagan

import duolm
from duolm.errors import DataError, StateFileError
from shared import CrashError, crash_at, save_crashing_after, timeless

RTOL = 1e-10
FORMULA = "y ~ x1 + x2"

Test = Callable[[duolm.OLSResults], duolm.frequentist.DiagnosticTest]
TESTS: dict[str, Test] = {
    "bp": lambda f: f.het_breuschpagan(),
    "bp_original": lambda f: f.het_breuschpagan(robust=False),
    "white": lambda f: f.het_white(),
    "reset": lambda f: f.linear_reset(),
    "reset_f2": lambda f: f.linear_reset(power=2, use_f=True),
    "bg": lambda f: f.acorr_breusch_godfrey(),
    "bg3": lambda f: f.acorr_breusch_godfrey(3),
    "lb": lambda f: f.acorr_ljungbox(),
    "lb4": lambda f: f.acorr_ljungbox(4, model_df=1),
    "dw": lambda f: f.durbin_watson_test(exact=False),
    "dw2": lambda f: f.durbin_watson_test("two-sided", exact=False),
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """AR(2)-like, heteroskedastic errors and a curve the line misses (every test has work)."""
    rng = np.random.default_rng(31)
    x1, x2 = rng.normal(size=(2, 240))
    x2 = x2.cumsum() / 5
    e = np.convolve(rng.normal(size=242), [1.0, 0.5, 0.2], "valid") * (1 + np.abs(x1) / 2)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": 1.0 + x1 - 0.5 * x2 + 0.1 * x1**2 + e})


@pytest.fixture(scope="module")
def path(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("stream_tests") / "d.parquet"
    frame.to_parquet(out)
    return str(out)


def _same(ours: duolm.OLSResults, ref: duolm.OLSResults) -> None:
    for name, test in TESTS.items():
        a, b = test(ours), test(ref)
        assert_allclose(a.statistic, b.statistic, rtol=RTOL, atol=0, err_msg=name)
        assert_allclose(a.pvalue, b.pvalue, rtol=RTOL, atol=1e-300, err_msg=name)
        assert (a.df, a.df_denom, a.name) == (b.df, b.df_denom, b.name)


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_streamed_tests_equal_in_memory(frame: pd.DataFrame, path: str, batch_size: int) -> None:
    ours = duolm.ols(FORMULA, path, tests=True, batch_size=batch_size)
    _same(ours, duolm.ols(FORMULA, frame))


def test_against_statsmodels_directly(frame: pd.DataFrame, path: str) -> None:
    ours = duolm.ols(FORMULA, path, tests=True, batch_size=13)
    sm = smf.ols(FORMULA, frame).fit()
    lm, lm_p, _, _ = het_breuschpagan(sm.resid, sm.model.exog)
    assert_allclose([ours.het_breuschpagan().statistic], [lm], rtol=RTOL)
    lm, lm_p, _, _ = acorr_breusch_godfrey(sm, nlags=3, result_object=False)
    assert_allclose([ours.acorr_breusch_godfrey(3).pvalue], [lm_p], rtol=RTOL)


def test_no_intercept_and_missing_rows(frame: pd.DataFrame, tmp_path: Path) -> None:
    data = frame.copy()
    data.loc[[4, 100, 101], "x1"] = np.nan  # dropped: the lags run over the fitted rows
    data.to_parquet(tmp_path / "m.parquet")
    with pytest.warns(duolm.errors.MissingValuesWarning):
        ref = duolm.ols(FORMULA, data)
        ours = duolm.ols(FORMULA, str(tmp_path / "m.parquet"), tests=True, batch_size=9)
    _same(ours, ref)
    formula = "y ~ x1 + x2 - 1"  # Breusch-Godfrey adds a column of ones
    ref = duolm.ols(formula, frame)
    ours = duolm.ols(formula, [frame.iloc[i : i + 50] for i in range(0, 240, 50)], tests=True)
    for name in ("bg", "bg3", "lb", "dw", "reset"):
        a, b = TESTS[name](ours), TESTS[name](ref)
        assert_allclose([a.statistic, a.pvalue], [b.statistic, b.pvalue], rtol=RTOL)


def test_dask_partitions_equal_in_memory(frame: pd.DataFrame) -> None:
    with dask.config.set(scheduler="synchronous"):
        ours = duolm.ols(FORMULA, dd.from_pandas(frame, npartitions=7), tests=True)
    _same(ours, duolm.ols(FORMULA, frame))


def test_what_was_not_accumulated_is_refused_with_what_to_do(path: str) -> None:
    plain = duolm.ols(FORMULA, path)
    with pytest.raises(DataError, match=r"tests=True"):
        plain.het_breuschpagan()
    with pytest.raises(DataError, match=r"tests=True"):
        plain.acorr_ljungbox()
    few = duolm.ols(FORMULA, path, tests={"maxlags": 3, "power": 2})
    few.acorr_breusch_godfrey(3)
    with pytest.raises(DataError, match=r"tests=\{'maxlags': 5\}"):
        few.acorr_breusch_godfrey(5)
    with pytest.raises(DataError, match=r"tests=\{'power': 3\}"):
        few.linear_reset()
    assert few.durbin_watson_test().distribution == "normal"  # R's rule from 100 rows on
    with pytest.raises(DataError, match="exact=False"):
        few.durbin_watson_test(exact=True)  # an n x n eigenproblem: needs the rows
    for per_row in (few.influence, few.outlier_test):
        with pytest.raises(DataError, match=r"duolm.write_influence\(fit, source"):
            per_row()
    with pytest.raises(ValueError, match="use diagnostics=True"):
        duolm.reduce(FORMULA, path, tests=True)
    with pytest.raises(ValueError, match="unknown"):
        duolm.ols(FORMULA, path, tests={"lags": 3})


def test_white_is_accumulated_for_narrow_designs_only(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    wide = pd.DataFrame(rng.normal(size=(60, 14)), columns=[f"x{i}" for i in range(14)])
    wide.to_parquet(tmp_path / "w.parquet")
    formula = "x0 ~ " + " + ".join(wide.columns[1:])  # 14 columns with the intercept
    fit = duolm.ols(formula, str(tmp_path / "w.parquet"), tests=True)
    with pytest.raises(DataError, match="at most 12 columns"):
        fit.het_white()
    fit.het_breuschpagan()


@pytest.mark.parametrize("batch_size", [1, 16])
def test_write_influence_equals_in_memory(
    frame: pd.DataFrame, tmp_path: Path, batch_size: int
) -> None:
    data = frame.copy()
    data.loc[[3, 70], "x2"] = np.nan
    src = tmp_path / "d.parquet"
    data.to_parquet(src)
    with pytest.warns(duolm.errors.MissingValuesWarning):
        ref = duolm.ols(FORMULA, data).influence()
        fit = duolm.ols(FORMULA, str(src), batch_size=batch_size)
    rows = duolm.write_influence(fit, str(src), tmp_path / "infl.parquet", batch_size=batch_size)
    got = pd.read_parquet(tmp_path / "infl.parquet")
    assert rows == len(ref) == 238
    assert got.index.name == "row" and list(got.columns) == list(ref.columns)
    assert (got.index == ref.index).all()
    assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-9, atol=1e-13)


def test_write_influence_refuses_what_it_cannot_rebuild(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame.to_parquet(tmp_path / "d.parquet")
    arrays = duolm.ols(X=frame[["x1", "x2"]].to_numpy(), y=frame["y"].to_numpy())
    with pytest.raises(DataError, match="needs a formula fit"):
        duolm.write_influence(arrays, str(tmp_path / "d.parquet"), tmp_path / "o.parquet")
    with pytest.raises(TypeError, match="takes an OLSResults"):
        duolm.write_influence(frame, str(tmp_path / "d.parquet"), tmp_path / "o.parquet")  # type: ignore[arg-type]
    levels = pd.DataFrame({"g": ["a", "b", "c", "a"] * 5, "y": np.arange(20.0)})
    fit = duolm.ols("y ~ g", levels)
    levels.assign(g=["a", "b", "d", "a"] * 5).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(DataError, match="pass the data the fit was made from"):
        duolm.write_influence(fit, str(tmp_path / "other.parquet"), tmp_path / "o.parquet")
    assert not (tmp_path / "o.parquet").exists()


@pytest.mark.parametrize("crash_after", [5, 24, 25, 37, 48])
def test_a_resumed_fit_with_tests_is_bitwise_the_uninterrupted_one(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    # 240 rows in batches of 10: 24 + 1 + 24 checkpoint writes; a crash in pass 2 leaves
    # the tests' sums so far (statistics, lag products and their end rows) in the file

    def fit(ckpt: Path | None) -> duolm.OLSResults:
        return duolm.ols(
            FORMULA, path, tests={"maxlags": 4}, batch_size=10, checkpoint=ckpt, checkpoint_every=1
        )

    want = fit(None)
    ckpt = tmp_path / "fit.ckpt"
    crash_at(monkeypatch, crash_after, lambda: fit(ckpt))
    got = fit(ckpt)
    assert not ckpt.exists()
    for name, test in TESTS.items():
        if name in ("bg", "lb"):  # their default lags exceed the 4 kept
            continue
        a, b = test(got), test(want)
        assert (a.statistic, a.pvalue) == (b.statistic, b.pvalue), name
    assert timeless(str(got.summary())) == timeless(str(want.summary()))


def test_a_checkpoint_of_another_tests_request_is_refused(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from duolm._stream import _passes

    ckpt = tmp_path / "fit.ckpt"
    with monkeypatch.context() as patch:
        patch.setattr(_passes, "_save", save_crashing_after(1))
        with pytest.raises(CrashError):
            duolm.ols(FORMULA, path, tests={"maxlags": 4}, batch_size=10, checkpoint=ckpt)
    for other in ({"maxlags": 5}, {"maxlags": 4, "power": 4}, None):
        with pytest.raises(StateFileError, match="tests"):
            duolm.ols(FORMULA, path, tests=other, batch_size=10, checkpoint=ckpt)


@pytest.mark.parametrize(
    ("sx", "sy"), [(1e155, 1.0), (1e-200, 1.0), (1e-110, 1e-110), (1e110, 1e110)]
)
def test_white_and_reset_streamed_do_not_depend_on_the_units(
    tmp_path: Path, sx: float, sy: float
) -> None:
    """As in memory: White's products and RESET's powers were raw, overflowed or
    underflowed at these scales, and were dropped as aliased (White NaN or 4.09 on 1 df
    for 57.05 on 2; RESET NaN or 1.84 on 1 df for 7.85 on 2); the lag products of the
    columns (Breusch-Godfrey, Durbin-Watson) overflowed at 1e155."""
    rng = np.random.default_rng(3)
    n = 300
    x = rng.normal(size=n)
    y = 1 + x + 0.3 * x**2 + rng.normal(size=n) * (1 + np.abs(x))
    unscaled = duolm.ols("y ~ x", pd.DataFrame({"x": x, "y": y}))
    data = pd.DataFrame({"x": x * sx, "y": y * sy})
    path = tmp_path / "scaled.parquet"
    data.to_parquet(path)
    got = duolm.ols("y ~ x", path, tests=True, batch_size=64)
    for name in ("het_white", "linear_reset", "acorr_breusch_godfrey"):
        a, b = getattr(got, name)(), getattr(unscaled, name)()
        assert_allclose([a.statistic, a.df], [b.statistic, b.df], rtol=1e-10, atol=0)
    a, b = got.durbin_watson_test(exact=False), unscaled.durbin_watson_test(exact=False)
    assert_allclose([a.statistic, a.pvalue], [b.statistic, b.pvalue], rtol=1e-9, atol=0)
