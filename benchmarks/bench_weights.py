"""Weighted least squares (issue 10, item 1) beside the unweighted fit and statsmodels' WLS.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/bench_weights.py [--rows 400000] [--repeat 5]

Data (seeded): ``--rows`` rows of ``x0..x4`` (normal), ``w`` (uniform on
[0.2, 3]) and ``y = x0 + N(0, 1/w)``, in memory and as a Parquet file in a
temporary folder; formula ``y ~ x0 + x1 + x2 + x3 + x4``. The configurations
run round-robin, ``--repeat`` rounds of each once, so the drifts of a shared
machine hit all alike; the table gives the best seconds and the ratio to the
row named in its ``against`` column. Rows:

- ``memory ols`` / ``memory wls``: ``duolm.ols(formula, frame)`` without and
  with ``weights="w"`` (estimates and the full nonrobust inference forced);
- ``statsmodels WLS``: ``sm.WLS(y, X, weights=w).fit()`` with its ``bse``,
  the design given as arrays (no formula), the peer of ``memory wls``;
- ``file ols`` / ``file wls``: the same fits streamed from the Parquet file
  (both passes: the diagnostics too).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

import duolm

FORMULA = "y ~ x0 + x1 + x2 + x3 + x4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=args.rows) for i in range(5)})
    frame["w"] = rng.uniform(0.2, 3.0, size=args.rows)
    frame["y"] = frame.x0 + rng.normal(size=args.rows) / np.sqrt(frame.w)
    X = sm.add_constant(frame[[f"x{i}" for i in range(5)]].to_numpy())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.parquet"
        frame.to_parquet(path)
        runs: dict[str, tuple[Callable[[], object], str]] = {
            "memory ols": (lambda: duolm.ols(FORMULA, frame).bse, "memory ols"),
            "memory wls": (lambda: duolm.ols(FORMULA, frame, weights="w").bse, "memory ols"),
            "statsmodels WLS": (
                lambda: sm.WLS(frame.y.to_numpy(), X, weights=frame.w.to_numpy()).fit().bse,
                "memory wls",
            ),
            "file ols": (lambda: str(duolm.ols(FORMULA, path).summary()), "file ols"),
            "file wls": (
                lambda: str(duolm.ols(FORMULA, path, weights="w").summary()),
                "file ols",
            ),
        }
        for run, _ in runs.values():  # untimed: imports, caches, first calls
            run()
        best = dict.fromkeys(runs, np.inf)
        for _ in range(args.repeat):
            for name, (run, _) in runs.items():
                start = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - start)
    print(f"{args.rows} rows, best of {args.repeat} interleaved rounds")
    print(f"{'configuration':<18}{'seconds':>9}  {'ratio':>6}  against")
    for name, (_, against) in runs.items():
        ratio = best[name] / best[against]
        print(f"{name:<18}{best[name]:>9.3f}  {ratio:>6.2f}  {against}")


if __name__ == "__main__":
    main()
