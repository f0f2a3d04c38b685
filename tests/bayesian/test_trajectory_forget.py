"""duolm.trajectory with forgetting: the compiled kernel and its fallback against NIG.forget.

Reference: ``NIG.forget(lam)`` (exponential) and ``NIG.forget(lam, toward="prior")``
(stabilised) followed by ``NIG.update`` row by row (DESIGN.md, "forget"); each row's
predictive is that of the forgotten posterior before the row, its quantiles scipy's.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import duolm
from duolm import NIG, trajectory
from duolm.bayesian import _trajectory as traj_mod


def _rows(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.uniform(size=n)])
    X[::9, 2] = 0.0  # exact zeros skip their rotations
    slope = np.where(np.arange(n) < n // 2, 2.0, -1.0)  # a drift to follow
    y = 1.0 + slope * X[:, 1] - X[:, 2] + rng.normal(0, 0.5, n)
    return X, y


def _reference(
    X: np.ndarray, y: np.ndarray, prior: NIG, lam: float, toward: str | None
) -> dict[str, np.ndarray]:
    post = prior
    out: dict[str, list[object]] = {k: [] for k in ("m", "sd", "a", "b", "lp", "mu", "sc", "up")}
    for x, yi in zip(X, y, strict=True):
        f = post.forget(lam, toward=toward)  # type: ignore[arg-type]
        scale = math.sqrt(f.b / f.a * (1.0 + f.quad(x[None, :])[0]))
        out["lp"].append(f.predictive_logpdf(x, yi)[0])
        out["mu"].append(x @ f.m)
        out["sc"].append(scale)
        out["up"].append(x @ f.m + stats.t.isf(0.025, 2.0 * f.a) * scale)
        post = f.update(x, yi)
        out["m"].append(post.m)
        out["sd"].append(np.sqrt(post.b / (post.a - 1.0) * np.diag(post.V)))
        out["a"].append(post.a)
        out["b"].append(post.b)
    return {k: np.array(v, dtype=np.float64) for k, v in out.items()}


CASES = [(0.99, None), (0.8, None), (0.995, "prior"), (0.7, "prior")]


@pytest.mark.parametrize(("lam", "toward"), CASES)
@pytest.mark.parametrize("path", ["compiled", "numpy"])
def test_forgetting_is_nig_forget_row_by_row(
    monkeypatch: pytest.MonkeyPatch, lam: float, toward: str | None, path: str
) -> None:
    X, y = _rows(1, 400)
    prior = NIG(np.zeros(3), 10.0 * np.eye(3), a=2.0, b=1.0)
    if path == "numpy":
        monkeypatch.setattr(traj_mod, "_compiled_kernel", lambda: None)
    traj = trajectory(X=X, y=y, prior=prior, forget=lam, forget_toward=toward)  # type: ignore[arg-type]
    ref = _reference(X, y, prior, lam, toward)
    got = {
        "m": traj[[f"m[x{j}]" for j in range(3)]].to_numpy(),
        "sd": traj[[f"sd[x{j}]" for j in range(3)]].to_numpy(),
        "a": traj["a"].to_numpy(),
        "b": traj["b"].to_numpy(),
        "lp": traj["pred_logpdf"].to_numpy(),
        "mu": traj["pred_mean"].to_numpy(),
        "sc": traj["pred_scale"].to_numpy(),
        "up": traj["pred_upper"].to_numpy(),
    }
    for name, want in ref.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=1e-12, err_msg=name)
    assert traj["proper"].all() and traj["pred_proper"].all()


@pytest.mark.parametrize(("lam", "toward"), CASES)
def test_compiled_and_fallback_agree_on_a_long_series(
    monkeypatch: pytest.MonkeyPatch, lam: float, toward: str | None
) -> None:
    X, y = _rows(2, 6000)  # past the table of quantiles and the blocks of the kernel
    prior = duolm.NIG.vague(3)
    compiled = trajectory(X=X, y=y, prior=prior, forget=lam, forget_toward=toward)  # type: ignore[arg-type]
    monkeypatch.setattr(traj_mod, "_compiled_kernel", lambda: None)
    fallback = trajectory(X=X, y=y, prior=prior, forget=lam, forget_toward=toward)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(compiled, fallback, rtol=1e-12, atol=0)
    a_limit = (prior.a if toward else 0.0) + 0.5 / (1.0 - lam)
    np.testing.assert_allclose(compiled["a"].iloc[-1], a_limit, rtol=1e-12)


def test_the_quantiles_hold_where_a_settles() -> None:
    # a settles at 1/(2(1 - lam)) = 5 (nu = 9 before each row): the limit's quantile is used
    X, y = _rows(3, 3000)
    traj = trajectory(X=X, y=y, prior=NIG.vague(3), forget=0.9, alpha=0.1)
    ap = traj["a"].to_numpy() - 0.5
    q = (traj["pred_upper"] - traj["pred_mean"]) / traj["pred_scale"]
    # row 0: the vague prior's a0 = 0.001 puts the quantile near 1e152, the bound past float64
    np.testing.assert_allclose(q[1:], stats.t.isf(0.05, 2.0 * ap[1:]), rtol=1e-12, atol=0)
    np.testing.assert_allclose(ap[-1], 4.5, rtol=1e-14)


def test_forgetting_follows_a_drift_the_plain_fit_averages() -> None:
    X, y = _rows(4, 2000)
    plain = trajectory(X=X, y=y)
    forgetting = trajectory(X=X, y=y, forget=0.98)
    assert abs(forgetting["m[x1]"].iloc[-1] - (-1.0)) < 0.1
    assert abs(plain["m[x1]"].iloc[-1] - 0.5) < 0.1  # half the rows each way
    pd.testing.assert_frame_equal(trajectory(X=X, y=y, forget=1.0), plain)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"forget": 0.0}, "forget"),
        ({"forget": 1.5}, "forget"),
        ({"forget": True}, "forget"),
        ({"forget_toward": "prior"}, "needs a forgetting factor"),
        ({"forget": 0.9, "forget_toward": "data"}, "forget_toward"),
    ],
)
def test_bad_forgetting_is_refused(kwargs: dict[str, object], match: str) -> None:
    X, y = _rows(5, 20)
    with pytest.raises(ValueError, match=match):
        trajectory(X=X, y=y, **kwargs)  # type: ignore[arg-type]


def test_streamed_data_refuse_forgetting(tmp_path: object) -> None:
    frames = [pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.5]})] * 2
    with pytest.raises(ValueError, match="rows in memory"):
        trajectory("y ~ x", iter(frames), forget=0.9)


@pytest.mark.parametrize("scale", [1e-110, 1e110])
@pytest.mark.parametrize("path", ["compiled", "numpy"])
def test_forgetting_toward_the_prior_at_extreme_scales(
    monkeypatch: pytest.MonkeyPatch, scale: float, path: str
) -> None:
    # the fold's squares would leave float64 here: its Givens branch (math.hypot) runs
    X, y = _rows(6, 60)
    X, y = X * scale, y * scale
    prior = NIG(np.zeros(3), np.eye(3) / scale**2, a=2.0, b=scale**2)
    if path == "numpy":
        monkeypatch.setattr(traj_mod, "_compiled_kernel", lambda: None)
    traj = trajectory(X=X, y=y, prior=prior, forget=0.9, forget_toward="prior")
    ref = _reference(X, y, prior, 0.9, "prior")
    got_m = traj[[f"m[x{j}]" for j in range(3)]].to_numpy()
    np.testing.assert_allclose(got_m, ref["m"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(traj["b"].to_numpy(), ref["b"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(traj["pred_scale"].to_numpy(), ref["sc"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(traj["pred_logpdf"].to_numpy(), ref["lp"], rtol=1e-12, atol=0)


def test_forgetting_toward_the_prior_on_ill_conditioned_data() -> None:
    # columns 1, t, t², t³ for t = 1..300 (condition number ~1e10): the stabilised
    # recursion xi_t = lam xi_{t-1} + (1 - lam) xi_0 + [x y]'[x y] in 60 digits
    n, lam = 300, 0.95
    t = np.arange(1.0, n + 1)
    X = np.column_stack([np.ones(n), t, t**2, t**3])
    y = 1 + 0.5 * t - 0.01 * t**2 + 1e-5 * t**3 + np.random.default_rng(7).normal(size=n)
    prior = NIG(np.zeros(4), 100.0 * np.eye(4), a=2.0, b=1.0)
    traj = trajectory(X=X, y=y, prior=prior, forget=lam, forget_toward="prior")
    got = traj[[f"m[x{j}]" for j in range(4)]].to_numpy()
    with mpmath.workdps(60):
        L0 = mpmath.eye(4) / 100
        L, e = L0.copy(), mpmath.zeros(4, 1)
        for i in range(n):
            x = mpmath.matrix(X[i].tolist())
            L = lam * L + (1 - lam) * L0 + x * x.T
            e = lam * e + x * mpmath.mpf(y[i])
            if i % 50 == 49:
                want = np.array([float(v) for v in mpmath.lu_solve(L, e)])
                # the compiled kernel keeps about 5e-12 here (as before its fold changed)
                np.testing.assert_allclose(got[i], want, rtol=1e-10, atol=0, err_msg=str(i))


def test_forgetting_toward_the_prior_with_many_regressors() -> None:
    # k + 1 beyond the stack's limits: the sub-blocks of rows and the scratch on the heap
    from duolm.core import _givens

    k = _givens._STACK_MAX + 2
    rng = np.random.default_rng(8)
    n = k + 30
    X = np.column_stack([np.ones(n), rng.normal(size=(n, k - 1))])
    y = X @ rng.normal(size=k) + rng.normal(size=n)
    prior = NIG(np.zeros(k), np.eye(k), a=2.0, b=1.0)
    traj = trajectory(X=X, y=y, prior=prior, forget=0.9, forget_toward="prior")
    ref = _reference(X, y, prior, 0.9, "prior")
    got = traj[[f"m[x{j}]" for j in range(k)]].to_numpy()
    np.testing.assert_allclose(got, ref["m"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(traj["b"].to_numpy(), ref["b"], rtol=1e-10, atol=0)
    np.testing.assert_allclose(traj["pred_logpdf"].to_numpy(), ref["lp"], rtol=1e-10, atol=0)


def test_forgetting_toward_a_reference_prior_takes_the_checked_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a singular prior: the rows are read one by one with the rank checked, as the fallback
    X, y = _rows(9, 700)  # past a sub-block, before and after the rank is reached
    compiled = trajectory(X=X, y=y, prior=NIG.reference(3), forget=0.95, forget_toward="prior")
    monkeypatch.setattr(traj_mod, "_compiled_kernel", lambda: None)
    fallback = trajectory(X=X, y=y, prior=NIG.reference(3), forget=0.95, forget_toward="prior")
    pd.testing.assert_frame_equal(compiled, fallback, rtol=1e-12, atol=0)
    assert not compiled["proper"].iloc[:2].any() and compiled["proper"].iloc[3:].all()


def test_one_compiled_kernel_per_k_and_mode_whatever_the_arrays() -> None:
    # numba compiles per argument type: read-only or writable, C or F order must all reach
    # the kernel as one type, and forgetting toward the prior (half a minute to compile
    # per k) is compiled apart from the other modes (a few seconds), never into them
    from duolm.core import _givens

    kernel = _givens._compiled_kernel()
    assert kernel is not None  # numba is a dependency
    X, y = _rows(4, 300)
    frozen = X.copy()
    frozen.flags.writeable = False
    frame = pd.DataFrame({"x1": X[:, 1], "x2": X[:, 2], "y": y})
    for toward in (None, "prior"):
        for design in (X, frozen, np.asfortranarray(X)):
            trajectory(X=design, y=y, prior=NIG.vague(3), forget=0.9, forget_toward=toward)  # type: ignore[arg-type]
        trajectory("y ~ x1 + x2", frame, prior=NIG.vague(3), forget=0.9, forget_toward=toward)  # type: ignore[arg-type]
    seen = [sig for sig in kernel.signatures if len(sig[-2]) == 4]  # proto: k + 1 floats
    kinds = sorted(str(sig[-1]) for sig in seen)
    assert kinds == ["float64", "none"], [str(sig) for sig in seen]
