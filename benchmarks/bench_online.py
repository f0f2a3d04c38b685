"""Speed of the stream tools: forgetting in trajectory, changepoints, Online.update.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/bench_online.py [--n 1000000] [--repeat 3]

Data (seeded, float64): an intercept and one standard normal column
``x``; ``y`` follows ``1 + 2 x`` and ``-1 + 0.5 x`` alternately in segments of
``--segment`` rows, plus N(0, 1) noise.

- ``trajectory(X=, y=)`` on all ``n`` rows (an intercept and two normal
  columns), plain and with ``forget=0.999`` and ``0.9``, exponential and
  toward the prior: rows per second and the ratio to the plain trajectory
  (best of ``--repeat`` rounds, round-robin, after a warm-up); then the
  compiled kernel alone (no design checks, no frame), plain and toward the
  prior, in CPU time (best of at least 5 interleaved rounds).
- ``changepoints(X=, y=)`` on all ``n`` rows with the defaults (hazard 1/250,
  tol 1e-10, lag 20, keep 1e-4): rows per second (best of ``--repeat``
  after a warm-up that loads numba's cache), the largest number of run
  lengths held at once, the run-length probabilities stored, and the peak
  resident memory the call added (Linux: ``/proc/self/clear_refs`` resets
  the high-water mark).
- ``changepoints("y ~ x", path)`` of the same rows streamed from a Parquet
  file (batches of ``--batch`` rows): rows per second and peak memory beside
  the in-memory call (the result is the same bits; it keeps the rows, which
  the segments' fits and the plot need).
- ``Online("y ~ x").update(row)`` with one row as a dict, and
  ``Online("y ~ x + C(g)")`` likewise (the formula path): seconds per row.
- ``Online("y ~ x").update(frame)`` with frames of 10^4 rows: seconds per batch,
  without and with forgetting, and with a checkpoint written after each batch.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import duolm
from duolm import Online, changepoints


def make_data(n: int, segment: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    first = (np.arange(n) // segment) % 2 == 0
    y = np.where(first, 1.0 + 2.0 * x, -1.0 + 0.5 * x) + rng.normal(size=n)
    return np.column_stack([np.ones(n), x]), y


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in KiB (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_added_mib(fn: Callable[[], Any]) -> float:
    """Resident memory (MiB) that one call of ``fn`` added at its peak (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return float("nan")
    before = _status("VmRSS")
    fn()
    return (_status("VmHWM") - before) / 1024.0


def kernel_alone(X: np.ndarray, y: np.ndarray, prior: duolm.NIG, repeat: int) -> None:
    """The compiled kernel alone (no design checks, no frame), plain and toward the prior.

    Interleaved rounds, best of ``repeat`` in CPU time (the machine may be shared):
    the ratio toward the prior / plain is issue 12's goal, the plain rate issue 13's
    ceiling for the whole call.
    """
    from duolm import core
    from duolm.bayesian import _trajectory as traj
    from duolm.core import _givens

    kernel = _givens._compiled_kernel()
    if kernel is None:
        return
    n, k = X.shape
    R0 = np.array(prior.stat.R, dtype=np.float64)
    a0 = float(prior.a)

    def once(mode: int, lam: float) -> float:
        if mode == _givens.FORGET_NONE:
            qtab, qc = traj._quantile_plan(0.05, a0, n)
        else:
            qtab, qc = traj._forget_quantile_plan(0.05, a0, n, mode, lam)
        out = np.empty((2 * k + 9, n))
        flags = np.empty((4, n), dtype=bool)
        t0 = time.process_time()
        kernel(
            X,
            y,
            R0,
            a0,
            False,
            core.ALIAS_TOL,
            mode,
            lam,
            qtab,
            qc,
            out,
            flags,
            (0.0,) * (k + 1),
            0.0 if mode == _givens.FORGET_PRIOR else None,
        )
        return time.process_time() - t0

    modes = [(_givens.FORGET_NONE, 1.0), (_givens.FORGET_PRIOR, 0.999), (_givens.FORGET_PRIOR, 0.9)]
    best = [math.inf] * len(modes)
    for _ in range(max(repeat, 5)):
        for i, (mode, lam) in enumerate(modes):
            best[i] = min(best[i], once(mode, lam))
    for (mode, lam), seconds in zip(modes, best, strict=True):
        label = "no forgetting" if mode == _givens.FORGET_NONE else f"toward the prior, {lam}"
        print(
            f"kernel alone (CPU time), {label}: {n / seconds:,.0f} rows/s "
            f"(ratio to plain {best[0] / seconds:.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--segment", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2000, help="rows for the per-row timings")
    parser.add_argument("--batch", type=int, default=100_000, help="rows per streamed batch")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")

    rng = np.random.default_rng(1)
    Xt = np.column_stack([np.ones(args.n), rng.normal(size=(args.n, 2))])
    yt = Xt @ np.array([1.0, 2.0, 3.0]) + rng.normal(size=args.n)
    prior = duolm.NIG(np.zeros(3), 100.0 * np.eye(3), a=2.5, b=2.0)
    variants: list[dict[str, Any]] = [
        {},
        {"forget": 0.999},
        {"forget": 0.9},
        {"forget": 0.999, "forget_toward": "prior"},
        {"forget": 0.9, "forget_toward": "prior"},
    ]
    for kw in variants:  # numba's cache
        duolm.trajectory(X=Xt[:1000], y=yt[:1000], prior=prior, **kw)
    best = [math.inf] * len(variants)
    for _ in range(args.repeat):
        for i, kw in enumerate(variants):
            t0 = time.perf_counter()
            duolm.trajectory(X=Xt, y=yt, prior=prior, **kw)
            best[i] = min(best[i], time.perf_counter() - t0)
    for kw, seconds in zip(variants, best, strict=True):
        label = ", ".join(f"{k}={v}" for k, v in kw.items()) or "no forgetting"
        print(
            f"trajectory, n = {args.n:,}, {label}: {args.n / seconds:,.0f} rows/s "
            f"(ratio to plain {best[0] / seconds:.2f})"
        )
    kernel_alone(Xt, yt, prior, args.repeat)

    X, y = make_data(args.n, args.segment)
    changepoints(X=X[:1000], y=y[:1000])  # numba's cache
    seconds, cp = best_of(lambda: changepoints(X=X, y=y), args.repeat)
    mib = peak_added_mib(lambda: changepoints(X=X, y=y))
    true = args.n // args.segment - (args.n % args.segment == 0)
    print(
        f"changepoints, n = {args.n:,}: {args.n / seconds:,.0f} rows/s ({seconds:.2f} s), "
        f"{len(cp.changes)} changes found ({true} true), at most {cp.max_run_lengths} run "
        f"lengths held, {len(cp._post_len):,} probabilities stored, peak +{mib:.0f} MiB"
    )

    frame = pd.DataFrame({"x": X[:, 1], "y": y})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.parquet"
        frame.to_parquet(path, index=False)
        changepoints("y ~ x", frame.iloc[:1000])
        rounds = {"in memory": math.inf, "streamed": math.inf}
        for _ in range(args.repeat):  # interleaved
            for label, source in (("in memory", frame), ("streamed", path)):
                kw = {"batch_size": args.batch} if label == "streamed" else {}
                t0 = time.perf_counter()
                changepoints("y ~ x", source, **kw)
                rounds[label] = min(rounds[label], time.perf_counter() - t0)
        peaks = {
            "in memory": peak_added_mib(lambda: changepoints("y ~ x", frame)),
            "streamed": peak_added_mib(lambda: changepoints("y ~ x", path, batch_size=args.batch)),
        }
        for label, seconds in rounds.items():
            print(
                f'changepoints("y ~ x", {label}), n = {args.n:,}: {args.n / seconds:,.0f} rows/s '
                f"(ratio to in memory {rounds['in memory'] / seconds:.2f}), "
                f"peak +{peaks[label]:.0f} MiB"
            )

    m = args.rows
    rows = [{"x": float(X[i, 1]), "y": float(y[i])} for i in range(m)]
    groups = np.array(["a", "b", "c"])[np.arange(m) % 3]
    cat_rows = [{**row, "g": str(g)} for row, g in zip(rows, groups, strict=True)]
    for label, formula, feed in (
        ("y ~ x", "y ~ x", rows),
        ("y ~ x + C(g)", "y ~ x + C(g)", cat_rows),
    ):
        online = Online(formula).update(pd.DataFrame(feed[:10]))
        t0 = time.perf_counter()
        for row in feed[10:]:
            online.update(row)
        per = (time.perf_counter() - t0) / (m - 10)
        print(f"Online({label!r}).update(one row as a dict): {per * 1e6:,.0f} us per row")

    frame = pd.DataFrame({"x": X[:, 1], "y": y})
    batches = [frame.iloc[i : i + 10_000] for i in range(0, min(len(frame), 200_000), 10_000)]
    with tempfile.TemporaryDirectory() as tmp:
        for label, make in (
            ("no forgetting", lambda: Online("y ~ x")),
            ("forget=0.999", lambda: Online("y ~ x", forget=0.999)),
            ("checkpoint", lambda: Online("y ~ x", checkpoint=Path(tmp) / "ck.json")),
        ):
            online = make()
            online.update(batches[0])
            t0 = time.perf_counter()
            for batch in batches[1:]:
                online.update(batch)
            per = (time.perf_counter() - t0) / (len(batches) - 1)
            print(f"Online.update(10^4-row frame), {label}: {per * 1e3:.2f} ms per batch")


if __name__ == "__main__":
    main()
