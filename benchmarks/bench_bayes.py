"""Speed of sequential Bayesian updating: duolm.trajectory and the usual alternatives.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/bench_bayes.py [--n 1000000] [--repeat 5]

Data (seeded, float64): ``X`` is an intercept and ``k - 1 = 2`` standard
normal columns (``k = 3`` coefficients), ``y = X @ [1, 2, 3] + N(0, 1)``. All
candidates see the same rows in the same order and start from the same
proper prior ``NIG(0, 100 I, a=2.5, b=2)`` where they have one.

Candidates, side by side in one process:

- ``duolm.trajectory``: the whole trajectory of all ``n`` rows, every column
  (m, sd, E and sd of sigma², a, b, the one-step-ahead predictive mean, scale,
  interval and log density, the flags), as a DataFrame; best and median of
  ``--repeat`` calls after one warm-up call (the warm-up loads numba's cache).
  The kernel alone (no design checks, no DataFrame) is timed too.
- river's ``BayesianLinearRegression.learn_one``, one call per row on the
  first ``--river-n`` rows (the feature dicts are built before timing); its
  rate is extrapolated to ``n`` rows. It updates its posterior only.
- statsmodels' ``RecursiveLS(y, X).fit()`` on the first ``--sm-n`` rows (a
  Kalman filter over the recursive least-squares state), extrapolated.
- a plain numpy loop of the lecture's per-row NIG update (Sherman-Morrison on
  ``V``, then ``m, a, b``), on the first ``--loop-n`` rows, extrapolated.
- ``duolm.NIG.update`` called once per row on the first ``--nig-n`` rows.
- a numba-compiled Sherman-Morrison loop over ``m, V, a, b`` only (the
  issue's "compiled Sherman-Morrison" reference: fast, not numerically safe,
  and without any of the trajectory's columns).

Compile time: duolm's kernel is compiled by numba on first use and cached on
disk. ``--compile`` measures, in fresh subprocesses, the first call with an
empty cache (compilation included) and with the cache filled.

The table gives updates per second (rows per second) and each candidate's
ratio to duolm.trajectory. The machine's load average is printed: on a shared
machine timings move with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import duolm
from duolm import NIG

M0 = np.zeros(3)
V0 = 100.0 * np.eye(3)
A0, B0 = 2.5, 2.0


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = X @ np.array([1.0, 2.0, 3.0]) + rng.normal(size=n)
    return X, y


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best and median wall time of ``repeat`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), result


# -------------------------------------------------------------- the candidates


def run_duolm(X: np.ndarray, y: np.ndarray, repeat: int) -> tuple[float, float, Any]:
    prior = NIG(M0, V0, A0, B0)
    duolm.trajectory(X=X[:10], y=y[:10], prior=prior)  # warm-up: numba's cache
    return timed(lambda: duolm.trajectory(X=X, y=y, prior=prior), repeat)


def run_kernel(X: np.ndarray, y: np.ndarray, repeat: int) -> tuple[float, float, Any]:
    from duolm.bayesian import _trajectory as traj

    kernel = traj._compiled_kernel()
    if kernel is None:
        return float("nan"), float("nan"), None
    n, k = X.shape
    prior = NIG(M0, V0, A0, B0)
    R0, a0 = np.array(prior.stat.R), float(prior.a)
    qtab, qc = traj._quantile_plan(0.05, a0, n)
    out = np.empty((2 * k + len(traj._FLOAT_TAIL), n))
    flags = np.empty((len(traj._FLAGS), n), dtype=bool)
    proto = (0.0,) * (k + 1)

    none, lam = traj.FORGET_NONE, 1.0

    def call() -> None:
        kernel(X, y, R0, a0, False, 1e-12, none, lam, qtab, qc, out, flags, proto, None)

    call()
    return timed(call, repeat)


def run_river(X: np.ndarray, y: np.ndarray) -> float:
    from river import linear_model

    rows = [dict(enumerate(r)) for r in X.tolist()]
    ys = y.tolist()
    model = linear_model.BayesianLinearRegression()
    t0 = time.perf_counter()
    for xi, yi in zip(rows, ys, strict=True):
        model.learn_one(xi, yi)
    return time.perf_counter() - t0


def run_statsmodels(X: np.ndarray, y: np.ndarray) -> float:
    import warnings

    from statsmodels.regression.recursive_ls import RecursiveLS

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        RecursiveLS(y, X).fit()
    return time.perf_counter() - t0


def nig_loop_numpy(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The lecture's per-row update, in numpy (Sherman-Morrison on V)."""
    m, V, a, b = M0.copy(), V0.copy(), A0, B0
    P = np.linalg.inv(V)
    quad = m @ P @ m
    for x, yi in zip(X, y, strict=True):
        Vx = V @ x
        V = V - np.outer(Vx, Vx) / (1.0 + x @ Vx)
        Pm = P @ m + yi * x
        P = P + np.outer(x, x)
        m = V @ Pm
        new_quad = m @ Pm
        b = b + 0.5 * (yi * yi + quad - new_quad)
        quad = new_quad
        a = a + 0.5
    return m, V, a, b


def run_numpy_loop(X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, float]:
    t0 = time.perf_counter()
    m, _, _, b = nig_loop_numpy(X, y)
    return time.perf_counter() - t0, m, b


def run_nig_update(X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, float]:
    post = NIG(M0, V0, A0, B0)
    t0 = time.perf_counter()
    for i in range(len(y)):
        post = post.update(X[i], y[i])
    dt = time.perf_counter() - t0
    return dt, post.m, post.b


def error_vs_batch(X: np.ndarray, y: np.ndarray, m: np.ndarray, b: float) -> str:
    """Largest relative error of ``m`` and of ``b`` against one batch fit of the rows."""
    batch = NIG(M0, V0, A0, B0).update(X, y)  # Householder QR of the whole block
    return f"m {np.max(np.abs(m / batch.m - 1)):.0e}, b {abs(b / batch.b - 1):.0e}"


def run_numba_sherman_morrison(
    X: np.ndarray, y: np.ndarray, repeat: int
) -> tuple[float, np.ndarray, float]:
    try:
        import numba
    except ImportError:
        return float("nan"), np.full(3, np.nan), float("nan")

    @numba.njit(cache=False)
    def loop(X, y, m0, V0, a0, b0):  # type: ignore[no-untyped-def]
        n, k = X.shape
        m = m0.copy()
        V = V0.copy()
        a = a0
        b = b0
        Vx = np.empty(k)
        for i in range(n):
            h = 0.0
            for j in range(k):
                s = 0.0
                for l in range(k):
                    s += V[j, l] * X[i, l]
                Vx[j] = s
                h += X[i, j] * s
            e = y[i]
            for j in range(k):
                e -= m[j] * X[i, j]
            den = 1.0 + h
            for j in range(k):
                m[j] += Vx[j] * e / den
                for l in range(k):
                    V[j, l] -= Vx[j] * Vx[l] / den
            a += 0.5
            b += 0.5 * e * e / den
        return m, V, a, b

    loop(X[:10], y[:10], M0, V0, A0, B0)
    best, _, (m, _, _, b) = timed(lambda: loop(X, y, M0, V0, A0, B0), repeat)
    return best, m, b


# -------------------------------------------------------------- compile time

_COMPILE_PROBE = """
import time, numpy as np
t0 = time.perf_counter()
import duolm
from duolm import NIG
t1 = time.perf_counter()
X = np.column_stack([np.ones(50), np.arange(50.0), np.arange(50.0) ** 0.5])
duolm.trajectory(X=X, y=np.arange(50.0), prior=NIG(np.zeros(3), np.eye(3), 2.5, 2.0))
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def compile_times() -> tuple[float, float, float]:
    """(import duolm, first call with an empty numba cache, first call with it filled)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _COMPILE_PROBE],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            times.append((float(out[0]), float(out[1])))
    return times[0][0], times[0][1], times[1][1]


# -------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--river-n", type=int, default=50_000)
    parser.add_argument("--sm-n", type=int, default=200_000)
    parser.add_argument("--loop-n", type=int, default=50_000)
    parser.add_argument("--nig-n", type=int, default=5_000)
    parser.add_argument("--no-compile", action="store_true", help="skip the compile-time probe")
    args = parser.parse_args()
    n = args.n
    X, y = make_data(n)
    print(f"n = {n:,}, k = 3; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print("(rows per second = updates per second; subsets are extrapolated at their own rate)")

    rows: list[tuple[str, int, float, str, str]] = []  # name, rows, rate, error, note
    best, median, frame = run_duolm(X, y, args.repeat)
    duolm_rate = n / best
    last = frame.iloc[-1]
    m_traj = last[["m[x0]", "m[x1]", "m[x2]"]].to_numpy(dtype=float)
    rows.append(
        (
            "duolm.trajectory (all columns)",
            n,
            duolm_rate,
            error_vs_batch(X, y, m_traj, float(last["b"])),
            f"best of {args.repeat}; median {n / median:,.0f}/s; {frame.shape[1]} columns",
        )
    )
    kbest, kmedian, _ = run_kernel(X, y, args.repeat)
    rows.append(
        (
            "  its compiled kernel alone",
            n,
            n / kbest,
            "",
            f"median {n / kmedian:,.0f}/s; no design checks, no frame",
        )
    )
    sm_best, m_sm, b_sm = run_numba_sherman_morrison(X, y, args.repeat)
    rows.append(
        (
            "numba Sherman-Morrison loop",
            n,
            n / sm_best,
            error_vs_batch(X, y, m_sm, b_sm),
            "m, V, a, b only: no trajectory columns",
        )
    )
    dt = run_statsmodels(X[: args.sm_n], y[: args.sm_n])
    rows.append(
        ("statsmodels RecursiveLS(y, X).fit()", args.sm_n, args.sm_n / dt, "", "extrapolated")
    )
    try:
        dt = run_river(X[: args.river_n], y[: args.river_n])
        rows.append(
            (
                "river BayesianLinearRegression.learn_one",
                args.river_n,
                args.river_n / dt,
                "",
                "extrapolated; its own prior",
            )
        )
    except ImportError:
        rows.append(("river (not installed)", 0, float("nan"), "", "pip install river"))
    ln = args.loop_n
    dt, m_loop, b_loop = run_numpy_loop(X[:ln], y[:ln])
    rows.append(
        (
            "numpy Python loop, NIG update",
            ln,
            ln / dt,
            error_vs_batch(X[:ln], y[:ln], m_loop, b_loop),
            "extrapolated; Sherman-Morrison on V",
        )
    )
    nn = args.nig_n
    dt, m_nig, b_nig = run_nig_update(X[:nn], y[:nn])
    rows.append(
        (
            "duolm NIG.update per row",
            nn,
            nn / dt,
            error_vs_batch(X[:nn], y[:nn], m_nig, b_nig),
            "extrapolated",
        )
    )

    print()
    head = f"| {'candidate':41s} | {'rows timed':>10s} | {'updates/s':>11s} | {'duolm x':>7s} |"
    print(f"{head} {'error vs batch':18s} | note")
    print(f"|{'-' * 43}|{'-' * 12}|{'-' * 13}|{'-' * 9}|{'-' * 20}|------")
    for name, timed_rows, rate, err, note in rows:
        ratio = duolm_rate / rate if rate == rate and rate > 0 else float("nan")
        cells = f"| {name:41s} | {timed_rows:>10,} | {rate:>11,.0f} | {ratio:>7.2f} |"
        print(f"{cells} {err:18s} | {note}")
    print()
    print("duolm x: duolm.trajectory's rate over the candidate's (above 1: duolm is faster).")
    print("error vs batch: largest relative error of m and b after the last row timed,")
    print("against one Householder QR fit of the same rows (NIG.update of the block).")
    if not args.no_compile:
        imp, cold, warm = compile_times()
        print(
            f"import duolm {imp:.2f} s; first trajectory call: {cold:.2f} s with an empty numba "
            f"cache (compilation), {warm:.2f} s with the cache filled (numba import and load)"
        )


if __name__ == "__main__":
    main()
