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
   plain streamed fit ``duolm.ols(formula, path, diagnostics=False)``, run
   round-robin (one of each per round, so a busy machine's drifts hit both
   alike); the best and median times and their ratios.
3. The mixture's intervals on a diffuse posterior (UScrime's 15 terms under
   hyper-g, about 2x10^6 Student t components): ``credible_interval()`` (every
   term) and ``predict()`` of 5 rows, after the mixture is built (timed apart).

Compare ratios, not seconds, on a shared machine.
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
        del cols, y
        formula = "y ~ " + " + ".join(f"x{j}" for j in range(1, 9))
        duolm.bma(formula, path)  # imports, caches, page cache
        candidates = {
            "one streamed fit": lambda: duolm.ols(formula, path, diagnostics=False).bse,
            "bma (g-prior)": lambda: duolm.bma(formula, path).bse,
            "bma (hyper-g)": lambda: duolm.bma(formula, path, prior="hyper-g").bse,
        }
        times: dict[str, list[float]] = {name: [] for name in candidates}
        for _ in range(repeat):  # round-robin
            for name, fn in candidates.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
        base_best = min(times["one streamed fit"])
        base_median = float(np.median(times["one streamed fit"]))
        print(f"\nfile of {rows} rows, 8 terms (256 models), {repeat} rounds")
        print(f"{'':<18} {'best s':>8} {'median s':>9} {'ratio best':>11} {'ratio median':>13}")
        for name, ts in times.items():
            best, median = min(ts), float(np.median(ts))
            print(
                f"{name:<18} {best:>8.3f} {median:>9.3f} {best / base_best:>11.3f} "
                f"{median / base_median:>13.3f}"
            )


def mixture_intervals() -> None:
    data = Path(__file__).parents[1] / "tests" / "data" / "uscrime.csv"
    frame = pd.read_csv(data, comment="#", index_col=0)
    logged = [c for c in frame.columns if c not in ("So", "y")]
    frame[logged] = np.log(frame[logged])
    formula = "y ~ " + " + ".join(c for c in frame.columns if c != "y")
    res = duolm.bma(formula, frame, prior="hyper-g")
    start = time.perf_counter()
    mix = res._mixture
    t_build = time.perf_counter() - start
    start = time.perf_counter()
    res.credible_interval()
    t_ci = time.perf_counter() - start
    start = time.perf_counter()
    res.predict(frame.head(5))
    t_pred = time.perf_counter() - start
    print(f"\nUScrime, 15 terms, hyper-g: {mix.weight.size} components")
    print(
        f"mixture built {t_build:.2f} s; credible_interval (16 terms) {t_ci:.2f} s; "
        f"predict (5 rows) {t_pred:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--terms", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    enumeration(args.terms, args.repeat)
    file_ratio(args.rows, args.repeat)
    mixture_intervals()


if __name__ == "__main__":
    main()
