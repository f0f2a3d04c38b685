"""A formula of plain numeric columns of a large frame fits from the frame's own columns.

The design holds the frame's float64 columns where they are (``duolm.core.Columns``,
the intercept implicit; issue 13): nothing the fit reports may differ from the fit
of the same matrix given as ``X=`` beyond rounding, nor from statsmodels' fit of the
same formula, and the per-row results that read ``X`` (leverage, influence,
predictions) build it from the columns when first asked.
"""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose

import duolm
from duolm.core import Columns, _sweep
from duolm.design import from_formula

N = _sweep.KERNEL_MIN_ROWS + 2_345  # the compiled sweeps apply
P = 6
NAMES = [f"x{j}" for j in range(1, P + 1)]
FORMULA = "y ~ " + " + ".join(NAMES)


def _frame(seed: int = 0, p: int = P, offset: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, p)) * np.linspace(0.5, 3.0, p) + offset
    y = 1.5 + x @ rng.standard_normal(p) + rng.standard_normal(N) * (1 + 0.3 * np.abs(x[:, 0]))
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(1, p + 1)])
    frame["y"] = y
    frame["g"] = rng.choice(["a", "b", "c"], size=N)
    return frame


def _arrays(frame: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    X = np.column_stack([np.ones(len(frame)), frame[names].to_numpy()])
    return X, frame["y"].to_numpy()


def test_fit_from_the_frame_is_the_fit_from_arrays_and_statsmodels() -> None:
    frame = _frame(1)
    fit = duolm.ols(FORMULA, frame)
    X, y = _arrays(frame, NAMES)
    arrays = duolm.ols(X=X, y=y)
    ref = smf.ols(FORMULA, frame).fit()
    assert isinstance(fit.rows.matrix, Columns) and fit.method == arrays.method == "cholesky"
    assert fit.terms == ("Intercept", *NAMES) and fit.k_constant == 1
    for name in ("params", "bse", "tvalues", "resid", "fittedvalues"):
        got, want = getattr(fit, name).to_numpy(), getattr(arrays, name).to_numpy()
        assert_allclose(got, want, rtol=1e-13, atol=1e-13, err_msg=name)
        assert_allclose(got, getattr(ref, name).to_numpy(), rtol=1e-11, atol=1e-12, err_msg=name)
    for name in ("rsquared", "rsquared_adj", "fvalue", "ssr", "ess", "llf", "scale"):
        assert_allclose(getattr(fit, name), getattr(arrays, name), rtol=1e-12, atol=0)
    assert_allclose(fit.rsquared, ref.rsquared, rtol=1e-12, atol=0)
    for name in ("omnibus", "jarque_bera", "skew", "kurtosis", "durbin_watson", "condition_number"):
        got, want = getattr(fit.diagnostics, name), getattr(arrays.diagnostics, name)
        assert_allclose(got, want, rtol=1e-10, atol=0, err_msg=name)
    bp, bp_arrays = fit.het_breuschpagan(), arrays.het_breuschpagan()
    assert_allclose(bp.statistic, bp_arrays.statistic, rtol=1e-10, atol=0)


def test_per_row_results_build_x_from_the_columns_when_asked() -> None:
    frame = _frame(2)
    fit = duolm.ols(FORMULA, frame)
    str(fit.summary())
    assert fit.rows is not None and isinstance(fit.rows.matrix, Columns)
    assert "array" not in fit.rows.matrix.__dict__  # the fit and its summary never built X
    X, y = _arrays(frame, NAMES)
    arrays = duolm.ols(X=X, y=y)
    assert_allclose(fit.leverage.to_numpy(), arrays.leverage.to_numpy(), rtol=1e-12, atol=0)
    assert np.array_equal(fit.rows.X, X) and fit.rows.X.flags.f_contiguous
    got, want = fit.influence(), arrays.influence()
    assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, atol=1e-12)
    want = arrays.predict().to_numpy()
    assert_allclose(fit.predict().to_numpy(), want, rtol=1e-13, atol=1e-13)
    new = frame.iloc[:50]
    assert_allclose(
        fit.predict(new).to_numpy(), arrays.predict(X[:50]).to_numpy(), rtol=1e-13, atol=1e-13
    )
    robust = fit.with_cov_type("HC3").bse.to_numpy()
    assert_allclose(robust, arrays.with_cov_type("HC3").bse.to_numpy(), rtol=1e-11, atol=0)


def test_the_frame_columns_are_read_where_they_are_not_copied() -> None:
    frame = _frame(3, p=20)
    design = from_formula("y ~ " + " + ".join(f"x{j}" for j in range(1, 21)), frame)
    assert isinstance(design.matrix, Columns) and design.matrix.intercept == 0
    for part, name in zip(design.matrix.parts, design.spec.terms[1:], strict=True):
        assert np.shares_memory(part, frame[name].to_numpy()) and not part.flags.writeable
    assert not np.shares_memory(design.y, frame["y"].to_numpy())  # y is the design's own
    block = sum(frame[f"x{j}"].to_numpy().nbytes for j in range(1, 21))
    formula = "y ~ " + " + ".join(f"x{j}" for j in range(1, 21))
    duolm.ols(formula, frame)  # compiled and cached before measuring
    tracemalloc.start()
    try:
        fit = duolm.ols(formula, frame)
        str(fit.summary())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < block / 2  # y, the residuals, small things (a copy of X: 1.27 blocks)


@pytest.mark.parametrize(
    "formula",
    ["y ~ x1 + I(x2**2) + C(g)", "y ~ np.log(np.abs(x3)) + x1:x2", "y ~ center(x1) + x4"],
)
def test_formulas_with_transforms_take_the_general_path(formula: str) -> None:
    frame = _frame(4)
    design = from_formula(formula, frame)
    assert isinstance(design.matrix, np.ndarray)
    fit = duolm.ols(formula, frame)
    ref = smf.ols(formula, frame).fit()  # patsy orders the terms its own way
    order = [fit.terms.index(name) for name in ref.params.index]
    assert_allclose(fit.params.to_numpy()[order], ref.params.to_numpy(), rtol=1e-10, atol=1e-12)
    assert_allclose(fit.bse.to_numpy()[order], ref.bse.to_numpy(), rtol=1e-10, atol=0)
    assert_allclose(fit.ssr, ref.ssr, rtol=1e-12, atol=0)


def test_without_intercept_a_constant_column_is_the_constant() -> None:
    frame = _frame(5).assign(c=3.0)
    fit = duolm.ols("y ~ 0 + x1 + c + x2", frame)
    assert isinstance(fit.rows.matrix, Columns) and fit.rows.matrix.intercept is None
    assert fit.k_constant == 1
    ref = smf.ols("y ~ 0 + x1 + c + x2", frame).fit()
    assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), rtol=1e-11, atol=0)
    assert_allclose(fit.rsquared, ref.rsquared, rtol=1e-11, atol=0)  # centred: a constant
    mean = duolm.ols("y ~ 1", frame)
    assert_allclose(mean.params.to_numpy(), [frame["y"].mean()], rtol=1e-13, atol=0)
    assert_allclose(mean.bse.to_numpy(), [frame["y"].std() / np.sqrt(N)], rtol=1e-12, atol=0)


def test_columns_far_from_zero_fit_as_accurately_as_the_matrix() -> None:
    frame = _frame(6, offset=1e4)
    fit = duolm.ols(FORMULA, frame)
    X, y = _arrays(frame, NAMES)
    arrays = duolm.ols(X=X, y=y)
    assert fit.method == arrays.method == "cholesky-centred"
    assert_allclose(fit.params.to_numpy(), arrays.params.to_numpy(), rtol=1e-10, atol=0)
    assert_allclose(fit.bse.to_numpy(), arrays.bse.to_numpy(), rtol=1e-10, atol=0)
    ref = smf.ols(FORMULA, frame).fit()
    assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), rtol=1e-7, atol=0)


def test_weighted_fit_of_the_columns_is_statsmodels_wls() -> None:
    frame = _frame(7)
    frame["w"] = np.random.default_rng(7).uniform(0.5, 2.0, N)
    fit = duolm.ols("y ~ x1 + x2", frame, weights="w")
    ref = smf.wls("y ~ x1 + x2", frame, weights=frame["w"]).fit()
    assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), rtol=1e-11, atol=0)
    assert_allclose(fit.bse.to_numpy(), ref.bse.to_numpy(), rtol=1e-10, atol=0)


def test_fits_in_two_threads_at_once_are_the_fits_one_after_the_other() -> None:
    frames = [_frame(8), _frame(9)]
    alone = [duolm.ols(FORMULA, f).params.to_numpy() for f in frames]
    together: list[np.ndarray] = [np.zeros(0), np.zeros(0)]

    def fit(i: int) -> None:
        together[i] = duolm.ols(FORMULA, frames[i]).params.to_numpy()

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for a, b in zip(alone, together, strict=True):
        assert np.array_equal(a, b)


def test_without_the_compiled_sweeps_the_columns_give_the_same_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = _frame(10)
    fast = duolm.ols(FORMULA, frame)
    monkeypatch.setattr(_sweep, "_compiled", lambda X: None)  # numba absent: numpy, X built
    slow = duolm.ols(FORMULA, frame)
    assert isinstance(slow.rows.matrix, Columns) and "array" in slow.rows.matrix.__dict__
    assert_allclose(fast.params.to_numpy(), slow.params.to_numpy(), rtol=1e-13, atol=0)
    assert_allclose(fast.bse.to_numpy(), slow.bse.to_numpy(), rtol=1e-12, atol=0)
    assert_allclose(fast.resid.to_numpy(), slow.resid.to_numpy(), rtol=0, atol=1e-13)
    assert_allclose(fast.diagnostics.durbin_watson, slow.diagnostics.durbin_watson, rtol=1e-12)
