"""Empirical Bayes prior scale (duolm.bayes(prior="empirical")) against a brute-force evidence.

The reference evaluates the marginal likelihood of the centred, standardised
data directly, ``y_c ~ N(0, sigma^2 (I + tau^2 Z Z^T))`` with ``sigma^2``
integrated out under ``1/sigma^2`` (n x n determinants and solves, no
square-root algebra), and the posterior mean as the ridge solution
``(Z^T Z + I / tau^2)^-1 Z^T y_c``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import optimize

import duolm
from duolm.bayesian import _empirical, empirical_prior
from duolm.errors import PriorError


def problem(seed: int = 3, signal: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, p = 60, 4
    X = rng.normal(size=(n, p)) * np.array([1.0, 10.0, 0.1, 3.0]) + 5.0
    y = 2.0 + signal * X @ np.array([0.3, 0.02, 1.0, 0.0]) + rng.normal(size=n)
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(p)]).assign(y=y)


FORMULA = "y ~ x0 + x1 + x2 + x3"


def brute(frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    X = frame[["x0", "x1", "x2", "x3"]].to_numpy()
    y = frame["y"].to_numpy()
    n = len(y)
    Xc = X - X.mean(axis=0)
    sd = Xc.std(axis=0, ddof=1)
    Z, yc = Xc / sd, y - y.mean()

    def log_ev(log_tau2: float) -> float:
        M = np.eye(n) + math.exp(log_tau2) * Z @ Z.T
        logdet = np.linalg.slogdet(M)[1]
        return -0.5 * logdet - 0.5 * (n - 1) * math.log(yc @ np.linalg.solve(M, yc))

    best = optimize.minimize_scalar(
        lambda v: -log_ev(v), bounds=(-12.0, 12.0), method="bounded", options={"xatol": 1e-12}
    )
    tau2 = math.exp(best.x)
    slopes = np.linalg.solve(Z.T @ Z + np.eye(4) / tau2, Z.T @ yc) / sd
    return tau2, log_ev, np.concatenate([[y.mean() - X.mean(axis=0) @ slopes], slopes])


def test_tau2_maximises_the_evidence_and_the_posterior_is_the_ridge_solution() -> None:
    frame = problem()
    tau2, log_ev, params = brute(frame)
    fit = duolm.bayes(FORMULA, frame, prior="empirical")
    shown = float(fit.prior.label.split("tau² = ")[1].split()[0])
    assert_allclose(shown, tau2, rtol=1e-5, atol=0)
    assert_allclose(fit.params, params, rtol=1e-6, atol=0)
    red = duolm.reduce(FORMULA, frame)
    ep = empirical_prior(red.stat, 0)
    assert_allclose(ep.tau2, tau2, rtol=1e-5, atol=0)
    assert fit.tau2 == ep.tau2  # the result reports the scale it chose
    # the evidence itself, up to its constant: differences between two scales agree
    a, b = math.log(0.01), math.log(3.0)
    ours = _empirical._log_evidence(red.stat, _sd(frame), 0, a) - _empirical._log_evidence(
        red.stat, _sd(frame), 0, b
    )
    assert_allclose(ours, log_ev(a) - log_ev(b), rtol=1e-11, atol=1e-11)


def _sd(frame: pd.DataFrame) -> np.ndarray:
    X = frame[["x0", "x1", "x2", "x3"]].to_numpy()
    return np.concatenate([[1.0], X.std(axis=0, ddof=1)])


def test_a_streamed_empirical_fit_is_the_in_memory_one(tmp_path: Path) -> None:
    frame = problem(seed=5)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    memory = duolm.bayes(FORMULA, frame, prior="empirical")
    streamed = duolm.bayes(FORMULA, path, prior="empirical", batch_size=16)
    # the evidence is flat at its maximum (a relative change d in tau^2 moves it by d^2):
    # rounding of the two statistics moves the argmax, and the posterior, near 1e-7
    assert_allclose(streamed.params, memory.params, rtol=1e-6, atol=0)
    assert_allclose(streamed.bse, memory.bse, rtol=1e-6, atol=0)
    assert "empirical Bayes" in str(memory.summary())
    assert_allclose(streamed.tau2, memory.tau2, rtol=1e-6, atol=0)


def test_tau2_is_shown_saved_and_none_for_other_priors(tmp_path: Path) -> None:
    frame = problem(seed=3)
    fit = duolm.bayes(FORMULA, frame, prior="empirical")
    assert isinstance(fit.tau2, float) and fit.tau2 > 0
    text = str(fit.summary())
    assert "Empirical tau2:" in text and f"{fit.tau2:.4g}"[:5] in text
    duolm.state.save(fit, tmp_path / "fit.json")
    assert duolm.state.load_bayes(tmp_path / "fit.json").tau2 == fit.tau2
    plain = duolm.bayes(FORMULA, frame)
    assert plain.tau2 is None and "Empirical tau2" not in str(plain.summary())


def test_no_signal_and_bad_priors_are_refused() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": np.arange(30.0), "y": rng.normal(size=30)})
    frame["y"] = frame["y"] - np.polyval(np.polyfit(frame["x"], frame["y"], 1), frame["x"])
    with pytest.raises(PriorError, match="no linear signal"):
        duolm.bayes("y ~ x", frame, prior="empirical")
    with pytest.raises(TypeError, match="prior must be an NIG"):
        duolm.bayes("y ~ x", frame, prior="empiric")  # type: ignore[arg-type]


def test_a_constant_slope_column_is_named_not_an_improper_posterior() -> None:
    """Its centred norm was rounding, not 0: the error blamed the reference prior."""
    data = pd.DataFrame({"x": [1.0] * 5, "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    with pytest.raises(duolm.errors.DataError, match="a slope column is constant"):
        duolm.bayes("y ~ x", data, prior="empirical")
