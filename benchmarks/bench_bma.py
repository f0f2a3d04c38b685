"""Bayesian model averaging: enumeration rate at 20 terms, and a file as a ratio to one fit.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/bench_bma.py [--terms 20] [--rows 10000000] [--repeat 3]

1. Enumeration: a seeded design of ``--terms`` slopes (n = 1000, four of them
   nonzero), reduced once; then :func:`duolm.bayesian.average` of the
   statistic for each prior, timed after an untimed call (numba's compile or
   cache load): all ``2**terms`` models walked in Gray-code order, their
   evidences, and the model-averaged ``params``/``bse`` (a second walk).
   Prints seconds (best of ``--repeat``) and models per second.
2. A Parquet file of ``--rows`` rows (``x1..x8, y``, seeded, in a temporary
   folder): ``duolm.bma(formula, path)`` (one pass, 256 models) against one
   plain streamed fit ``duolm.ols(formula, path, diagnostics=False)``; the
   ratio of the best times.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import duolm
from duolm.bayesian import average

PRIORS = ("g-prior", "eb-local", "hyper-g", "hyper-g/n", "zellner-siow")


def best_of(repeat: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def enumeration(terms: int, repeat: int) -> None:
    rng = np.random.default_rng(20)
    n = 1000
    X = rng.normal(size=(n, terms))
    y = 1.0 + X[:, :4] @ np.array([0.5, -0.3, 0.2, 0.1]) + rng.normal(size=n)
    stat = duolm.SqrtStat.from_data(np.column_stack([np.ones(n), X]), y)
    names = ["Intercept", *(f"x{j}" for j in range(terms))]
    print(f"enumeration of {2**terms} models ({terms} terms, n = {n})")
    print(f"{'prior':<14} {'seconds':>9} {'models/s':>12} {'+ params/bse':>13}")
    for prior in PRIORS:

        def run(prior: str = prior, moments: bool = False) -> None:
            res = average(stat, names, 0, prior=prior)
            if moments:
                _ = res.bse

        run(moments=True)  # compile or load from numba's cache
        t = best_of(repeat, run)
        t2 = best_of(repeat, lambda prior=prior: run(prior, True))
        print(f"{prior:<14} {t:>9.3f} {2**terms / t:>12.3g} {t2:>13.3f}")


def file_ratio(rows: int, repeat: int) -> None:
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bma.parquet"
        cols = {f"x{j}": rng.normal(size=rows) for j in range(1, 9)}
        y = 1.0 + 0.5 * cols["x1"] - 0.2 * cols["x2"] + rng.normal(size=rows)
        pd.DataFrame({**cols, "y": y}).to_parquet(path, row_group_size=1_000_000)
        formula = "y ~ " + " + ".join(f"x{j}" for j in range(1, 9))
        duolm.bma(formula, path)  # imports, caches, page cache
        t_fit = best_of(repeat, lambda: duolm.ols(formula, path, diagnostics=False).bse)
        t_bma = best_of(repeat, lambda: duolm.bma(formula, path, prior="hyper-g").bse)
        print(f"\nfile of {rows} rows, 8 terms (256 models)")
        print(
            f"one streamed fit {t_fit:.3f} s; bma (hyper-g) {t_bma:.3f} s; "
            f"ratio {t_bma / t_fit:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--terms", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    enumeration(args.terms, args.repeat)
    file_ratio(args.rows, args.repeat)


if __name__ == "__main__":
    main()
