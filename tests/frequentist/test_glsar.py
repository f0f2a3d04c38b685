"""Feasible GLS with AR(p) errors against statsmodels' GLSAR.iterative_fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

import duolm
from duolm.errors import DataError
from duolm.frequentist._glsar import yule_walker

RTOL = 1e-10


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 120
    u = np.zeros(n)
    eps = rng.normal(size=n)
    for t in range(n):
        u[t] = eps[t] + (0.7 * u[t - 1] - 0.2 * u[t - 2] if t > 1 else 0.0)
    df = pd.DataFrame({"x": rng.normal(size=n).cumsum(), "z": rng.normal(size=n)})
    df["y"] = 2.0 + 0.5 * df["x"] - df["z"] + u
    return df


def _statsmodels(frame: pd.DataFrame, rho: int, maxiter: int, rtol: float):  # type: ignore[no-untyped-def]
    X = sm.add_constant(frame[["x", "z"]].to_numpy())
    model = sm.GLSAR(frame["y"].to_numpy(), X, rho=rho)
    res = model.iterative_fit(maxiter=maxiter, rtol=rtol)
    return model, res


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize(("maxiter", "rtol"), [(1, 1e-4), (3, 1e-4), (100, 1e-10)])
def test_matches_statsmodels_step_for_step(
    frame: pd.DataFrame, order: int, maxiter: int, rtol: float
) -> None:
    model, ref = _statsmodels(frame, order, maxiter, rtol)
    if maxiter == 3:
        with pytest.warns(RuntimeWarning, match="did not converge"):
            ours = duolm.glsar("y ~ x + z", frame, rho=order, maxiter=maxiter, rtol=rtol)
    else:
        ours = duolm.glsar("y ~ x + z", frame, rho=order, maxiter=maxiter, rtol=rtol)
    assert_allclose(ours.params.to_numpy(), ref.params, rtol=RTOL, atol=0)
    assert_allclose(ours.bse.to_numpy(), ref.bse, rtol=RTOL, atol=0)
    assert_allclose(ours.rho, model.rho, rtol=RTOL, atol=1e-300)
    assert ours.iterations == ref.iter
    assert ours.converged == ref.converged
    assert ours.whitened.nobs == len(frame) - order
    assert ours.df_resid == ref.df_resid


def test_default_iterates_to_the_fixed_point(frame: pd.DataFrame) -> None:
    ours = duolm.glsar("y ~ x + z", frame, rho=1)
    assert ours.converged
    # at convergence rho is the Yule-Walker estimate of its own residuals
    assert_allclose(ours.rho, yule_walker(ours.resid.to_numpy(), 1), rtol=1e-8, atol=0)
    model, ref = _statsmodels(frame, 1, 200, 1e-14)
    assert_allclose(ours.params.to_numpy(), ref.params, rtol=1e-9, atol=0)
    assert_allclose(ours.rho, model.rho, rtol=1e-9, atol=0)


def test_starting_rho_array_and_arrays_api(frame: pd.DataFrame) -> None:
    X = sm.add_constant(frame[["x", "z"]].to_numpy())
    model = sm.GLSAR(frame["y"].to_numpy(), X, rho=np.array([0.5, 0.1]))
    ref = model.iterative_fit(maxiter=1)
    ours = duolm.glsar(X=X, y=frame["y"].to_numpy(), rho=[0.5, 0.1], maxiter=1)
    assert_allclose(ours.params.to_numpy(), ref.params, rtol=RTOL, atol=0)
    assert_allclose(ours.bse.to_numpy(), ref.bse, rtol=RTOL, atol=0)


def test_yule_walker_matches_statsmodels() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=200).cumsum()
    for order in (1, 3):
        ref, _ = sm.regression.yule_walker(x, order=order, method="adjusted", result_object=False)
        assert_allclose(yule_walker(x, order), ref, rtol=1e-12, atol=0)


def test_bad_input(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="rho"):
        duolm.glsar("y ~ x", frame, rho=0)
    with pytest.raises(ValueError, match="maxiter"):
        duolm.glsar("y ~ x", frame, maxiter=0)
    with pytest.raises(DataError, match="too few rows"):
        duolm.glsar("y ~ x", frame.iloc[:4], rho=2)
    assert isinstance(duolm.glsar("y ~ x", frame).whitened, duolm.OLSResults)


def test_streamed_data_and_bad_rtol_are_refused(frame: pd.DataFrame, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match="in memory"):
        duolm.glsar("y ~ x", str(path))
    with pytest.raises(ValueError, match="rtol"):
        duolm.glsar("y ~ x", frame, rtol=0.0)
    with pytest.raises(ValueError, match="rho"):
        duolm.glsar("y ~ x", frame, rho="one")


def test_summary_and_repr(frame: pd.DataFrame) -> None:
    fit = duolm.glsar("y ~ x + z", frame, rho=2)
    assert repr(fit).startswith("<GLSARResults 'y': AR(2) rho [")
    assert "OLS Regression Results" in str(fit.summary())
