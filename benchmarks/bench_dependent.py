"""Covariances of dependent errors in memory: duolm against statsmodels on the same rows.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/bench_dependent.py [--rows 1000000] [--repeat 5]

Data (seeded): ``--rows`` rows of ``x1..x5`` (normal), ``y = 1 + X beta +
N(0, 1)``, ``firm`` (1000 integer labels) and ``year`` (20), in a pandas
frame; formula ``y ~ x1 + x2 + x3 + x4 + x5``. Each covariance is fitted by
``duolm.ols(formula, frame, cov_type=..., cov_kwds=...)`` and by
``statsmodels.api.OLS(y, X).fit(cov_type=..., cov_kwds=...)`` on the design as
an array (no formula: statsmodels' own cost only), each forcing its
standard errors:

- ``HAC``: Newey-West with Bartlett weights and Newey & West's lag rule
  (``floor(4 (n/100)^(2/9))``: 30 lags for 10^6 rows), and with 4 lags;
- ``cluster``: one-way by ``firm``; two-way by ``firm`` and ``year``.

The configurations run round-robin, ``--repeat`` rounds of each once, so
the drifts of a shared machine hit all alike; the table gives the best
seconds, statsmodels' best over duolm's (``x faster``), and the largest
relative difference of the two fits' standard errors (they must agree to
rounding).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

import duolm

FORMULA = "y ~ x1 + x2 + x3 + x4 + x5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.rows
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 5))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(1, 6)])
    frame["y"] = 1.0 + X @ np.array([0.5, -1.0, 0.25, 2.0, 0.0]) + rng.normal(size=n)
    frame["firm"] = rng.integers(0, 1000, n)
    frame["year"] = rng.integers(2000, 2020, n)
    design = sm.add_constant(X)
    y = frame["y"].to_numpy()
    rule = duolm.core.default_maxlags(n)
    cases: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        f"HAC, {rule} lags (the rule)": (
            {"cov_type": "HAC", "cov_kwds": {"maxlags": rule}},
            {"cov_type": "HAC", "cov_kwds": {"maxlags": rule}},
        ),
        "HAC, 4 lags": (
            {"cov_type": "HAC", "cov_kwds": {"maxlags": 4}},
            {"cov_type": "HAC", "cov_kwds": {"maxlags": 4}},
        ),
        "cluster, firm": (
            {"cov_type": "cluster", "cov_kwds": {"groups": "firm"}},
            {"cov_type": "cluster", "cov_kwds": {"groups": frame["firm"].to_numpy()}},
        ),
        "cluster, firm x year": (
            {"cov_type": "cluster", "cov_kwds": {"groups": ["firm", "year"]}},
            {"cov_type": "cluster", "cov_kwds": {"groups": frame[["firm", "year"]].to_numpy()}},
        ),
    }
    runs: dict[tuple[str, str], Callable[[], np.ndarray]] = {}
    for name, (ours, theirs) in cases.items():
        runs[name, "duolm"] = lambda kw=ours: duolm.ols(FORMULA, frame, **kw).bse.to_numpy()
        runs[name, "statsmodels"] = lambda kw=theirs: np.asarray(sm.OLS(y, design).fit(**kw).bse)
    bse = {key: run() for key, run in runs.items()}  # untimed: imports, caches, first calls
    best = dict.fromkeys(runs, np.inf)
    for _ in range(args.repeat):
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            best[key] = min(best[key], time.perf_counter() - start)
    print(f"{n} rows x 6 columns in memory, best of {args.repeat} interleaved rounds")
    print(f"{'covariance':<24}{'duolm s':>9}{'statsmodels s':>15}{'x faster':>10}  max rel diff")
    for name in cases:
        ours, theirs = best[name, "duolm"], best[name, "statsmodels"]
        diff = np.max(np.abs(bse[name, "duolm"] / bse[name, "statsmodels"] - 1.0))
        print(f"{name:<24}{ours:>9.3f}{theirs:>15.3f}{theirs / ours:>10.1f}  {diff:.1e}")


if __name__ == "__main__":
    main()
