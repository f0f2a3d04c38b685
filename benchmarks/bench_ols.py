"""Speed of a complete OLS fit on a large dense design: duolm and the usual alternatives.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/bench_ols.py [--n 1000000] [--k 20] [--repeat 5] [--wide]

Data (seeded, float64, C order): ``X`` is an intercept column followed by
``k - 1`` standard normal columns, ``y = X @ beta + N(0, 1)`` noise. The
intercept is included because it is the common case and because duolm's
results treat it specially (centred R², the F test's slopes, ``ess``). The
ill-conditioned variant adds a common offset of ``--offset`` (1e4) to every
slope column: the columns become nearly collinear with the intercept (scaled
condition number far above ``duolm.core.FAST_MAX_COND``), which sends duolm to
its Householder path with refinement.

Timed, side by side in one process, each candidate once per round for
``--repeat`` rounds after one warm-up call (round-robin, so drifts of a shared
machine hit all candidates alike):

- ``floor``: ``X.T @ X`` alone, one pass over the data;
- ``numpy lstsq``, ``sklearn`` (``LinearRegression(fit_intercept=False)``),
  ``statsmodels`` ``OLS(y, X).fit()`` and ``.fit()`` followed by
  ``str(.summary())``;
- ``householder QR``: ``np.linalg.qr(X, mode="r")``;
- ``duolm core.lstsq``: the factorisation and refinement alone;
- ``duolm complete``: ``duolm.ols(X=X, y=y)`` with every output forced:
  params, bse, tvalues, pvalues, conf_int(), cov_params(), R², adjusted R²,
  F and its p value, llf, aic, bic, the sums of squares, every field of
  ``diagnostics``; ``+ summary`` adds ``str(fit.summary())`` when
  ``duolm.summary`` exists;
- ``duolm formula + summary``: ``duolm.ols("y ~ x1 + ... + x{k-1}", frame)`` on a
  pandas frame of the slope columns and y (the intercept from the formula), every
  output forced and the summary printed;
- ``duolm bayes formula + summary``: ``duolm.bayes`` of the same formula and
  frame under ``NIG.vague(k)`` (the refined posterior: the prior's factor
  stacked above the data), with its summary printed;
- the same duolm rows on the ill-conditioned design.

``--wide`` is issue 13's wide case, n = 100,000 and k = 201.

The table gives the best and the median of the rounds in seconds, the ratio
of each to the floor's, the method duolm chose (``fit.method``) and, on
Linux, the peak memory above the resident set before the call (one extra
untimed call per candidate, measured by resetting ``VmHWM`` through
``/proc/self/clear_refs``; BLAS work buffers included). Thread counts are left
as they are; the BLAS threadpools found by ``threadpoolctl`` are printed.
``--profile`` adds a cProfile listing of one complete duolm fit.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import gc
import io
import os
import platform
import pstats
import re
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy

from duolm import core
from duolm import ols as duolm_ols


@dataclass
class Candidate:
    label: str
    func: Callable[[], Any]
    method: str = ""
    times: list[float] = dataclasses.field(default_factory=list)
    peak_mb: float | None = None


# -- data ---------------------------------------------------------------------------


def make_data(n: int, k: int, seed: int, offset: float) -> tuple[np.ndarray, ...]:
    """Well-conditioned ``X, y`` and the ill-conditioned ``X_ill`` (same ``y``)."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, k))
    X[:, 0] = 1.0
    X[:, 1:] = rng.standard_normal((n, k - 1))
    beta = rng.standard_normal(k)
    y = X @ beta + rng.standard_normal(n)
    X_ill = X.copy()
    X_ill[:, 1:] += offset
    return X, y, X_ill


# -- what each candidate computes -------------------------------------------------------


def force_duolm(fit: Any, summary: bool) -> list[Any]:
    """Evaluate every result a user of the fit reads, so nothing stays lazy."""
    out = [
        fit.params,
        fit.bse,
        fit.tvalues,
        fit.pvalues,
        fit.conf_int(),
        fit.cov_params(),
        fit.rsquared,
        fit.rsquared_adj,
        fit.fvalue,
        fit.f_pvalue,
        fit.llf,
        fit.aic,
        fit.bic,
        fit.ssr,
        fit.ess,
        fit.centered_tss,
        fit.scale,
    ]
    diag = fit.diagnostics
    out.extend(getattr(diag, f.name) for f in dataclasses.fields(diag))
    if summary:
        out.append(str(fit.summary()))
    return out


def duolm_complete(X: np.ndarray, y: np.ndarray, summary: bool) -> Callable[[], Any]:
    def run() -> Any:
        assert duolm_ols is not None
        fit = duolm_ols(X=X, y=y)
        force_duolm(fit, summary)
        return fit

    return run


def duolm_formula(X: np.ndarray, y: np.ndarray) -> Callable[[], Any]:
    """``duolm.ols("y ~ x1 + ... ", frame)`` + summary on a frame of X's slope columns."""
    import pandas as pd

    names = [f"x{j}" for j in range(1, X.shape[1])]
    frame = pd.DataFrame(X[:, 1:], columns=names)
    frame["y"] = y
    formula = "y ~ " + " + ".join(names)

    def run() -> Any:
        fit = duolm_ols(formula, frame)
        force_duolm(fit, True)
        return fit

    return run


def duolm_bayes_formula(X: np.ndarray, y: np.ndarray) -> Callable[[], Any]:
    """``duolm.bayes("y ~ x1 + ...", frame, prior=NIG.vague(k))`` + summary, the same frame."""
    import pandas as pd

    import duolm

    names = [f"x{j}" for j in range(1, X.shape[1])]
    frame = pd.DataFrame(X[:, 1:], columns=names)
    frame["y"] = y
    formula = "y ~ " + " + ".join(names)
    prior = duolm.NIG.vague(X.shape[1])
    return lambda: str(duolm.bayes(formula, frame, prior=prior).summary())


def statsmodels_fit(X: np.ndarray, y: np.ndarray, summary: bool) -> Callable[[], Any]:
    import statsmodels.api as sm

    def run() -> Any:
        res = sm.OLS(y, X).fit()
        if summary:
            return str(res.summary())
        return res.params

    return run


def sklearn_fit(X: np.ndarray, y: np.ndarray) -> Callable[[], Any]:
    from sklearn.linear_model import LinearRegression

    return lambda: LinearRegression(fit_intercept=False).fit(X, y)


def build(
    X: np.ndarray, y: np.ndarray, X_ill: np.ndarray, peers: bool = True
) -> tuple[list[Candidate], list[str]]:
    notes: list[str] = []
    cands = [Candidate("floor: X.T @ X", lambda: X.T @ X)]
    if peers:
        cands += [
            Candidate("numpy.linalg.lstsq", lambda: np.linalg.lstsq(X, y, rcond=None)),
            Candidate("householder QR (mode=r)", lambda: np.linalg.qr(X, mode="r")),
        ]
    try:
        if not peers:
            raise ImportError
        cands.append(Candidate("sklearn LinearRegression", sklearn_fit(X, y)))
    except ImportError:
        notes.append("scikit-learn not installed or --no-peers: skipped")
    try:
        if not peers:
            raise ImportError
        cands.append(Candidate("statsmodels fit", statsmodels_fit(X, y, False)))
        cands.append(Candidate("statsmodels fit + summary", statsmodels_fit(X, y, True)))
    except ImportError:
        notes.append("statsmodels not installed or --no-peers: skipped")

    for tag, A in (("", X), ("ILL ", X_ill)):
        fit = core.lstsq(A, y, const_col=0)  # column 0 is the intercept, as ols() finds it
        solve = lambda A=A: core.lstsq(A, y, const_col=0)  # noqa: E731
        cands.append(Candidate(f"{tag}duolm core.lstsq", solve, fit.method))
        cands.append(Candidate(f"{tag}duolm complete", duolm_complete(A, y, False), fit.method))
        cands.append(
            Candidate(f"{tag}duolm complete + summary", duolm_complete(A, y, True), fit.method)
        )
        if not tag:
            formula = duolm_formula(A, y)
            cands.append(Candidate("duolm formula + summary", formula, fit.method))
            bayes = duolm_bayes_formula(A, y)
            cands.append(Candidate("duolm bayes formula + summary", bayes, fit.method))
    return cands, notes


# -- measuring ------------------------------------------------------------------------


def time_all(cands: list[Candidate], repeat: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in cands:  # warm-up: imports, caches, page faults of first use
            c.func()
        for _ in range(repeat):
            for c in cands:
                gc.collect()
                t0 = time.perf_counter()
                c.func()
                c.times.append(time.perf_counter() - t0)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        m = re.search(rf"^{field}:\s+(\d+)", fh.read(), re.MULTILINE)
    return int(m.group(1)) if m else 0


def measure_memory(cands: list[Candidate]) -> bool:
    """Peak resident memory above the start of each call (Linux only; False if unsupported)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in cands:
            gc.collect()
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # reset VmHWM to the current VmRSS
            before = _status_kb("VmRSS")
            c.func()
            c.peak_mb = (_status_kb("VmHWM") - before) / 1024.0
    return True


# -- reporting ------------------------------------------------------------------------


def environment(args: argparse.Namespace) -> list[str]:
    lines = [
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}",
    ]
    for mod in ("sklearn", "statsmodels", "pandas"):
        with contextlib.suppress(ImportError):
            lines[0] += f", {mod} {__import__(mod).__version__}"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append("threadpoolctl not installed: BLAS threads unknown")
    else:
        for p in threadpool_info():
            lines.append(
                f"threadpool: {p.get('internal_api')} {p.get('version')} "
                f"({p.get('architecture', '?')}), {p.get('num_threads')} threads, "
                f"{p.get('threading_layer', '')}"
            )
    lines.append(
        f"n = {args.n:,}, k = {args.k} (intercept + {args.k - 1} N(0,1)), float64, "
        f"seed {args.seed}; ILL = slope columns + {args.offset:g}; "
        f"best and median of {args.repeat} rounds after 1 warm-up"
    )
    return lines


def table(cands: list[Candidate], with_memory: bool) -> str:
    floor = cands[0]
    fb, fm = min(floor.times), statistics.median(floor.times)
    head = f"{'candidate':30s} {'best s':>8s} {'x floor':>8s} {'median s':>9s} {'x floor':>8s}"
    head += f"  {'method':12s}" + (f" {'peak MB':>8s}" if with_memory else "")
    rows = [head, "-" * len(head)]
    for c in cands:
        b, m = min(c.times), statistics.median(c.times)
        row = f"{c.label:30s} {b:8.4f} {b / fb:8.2f} {m:9.4f} {m / fm:8.2f}  {c.method:12s}"
        if with_memory:
            row += f" {c.peak_mb:8.1f}" if c.peak_mb is not None else f" {'':8s}"
        rows.append(row)
    return "\n".join(rows)


def phases(X: np.ndarray, y: np.ndarray, repeat: int) -> list[tuple[str, float]]:
    """Best-of-``repeat`` seconds of each phase of a complete duolm fit, in order.

    The phases run one after another on the same result object, so each lazy
    property's cost is charged to the first phase that reads it. Rows marked
    ``(part)`` time a piece of the result's construction again on its own.
    """
    from duolm import OLSResults
    from duolm.core import ResidualMoments
    from duolm.design import constant_column, from_arrays

    def make_result(design: Any, fit: Any) -> Any:
        return OLSResults.from_fit(design, fit)

    def one_round() -> list[tuple[str, float]]:
        out = []

        def timed(name: str, func: Callable[[], Any]) -> Any:
            gc.collect()
            t0 = time.perf_counter()
            value = func()
            out.append((name, time.perf_counter() - t0))
            return value

        design = timed("design.from_arrays (checks, copies)", lambda: from_arrays(X, y))
        fit = timed("core.lstsq (factor, solve, resid)", lambda: core.lstsq(design.X, design.y))
        res = timed("result construction", lambda: make_result(design, fit))
        moments = ResidualMoments.from_residuals
        timed("(part) ResidualMoments.from_residuals", lambda: moments(fit.resid))
        timed("(part) design.X[:, kept] copy", lambda: design.X[:, fit.kept])
        timed("(part) constant_column(X)", lambda: constant_column(design.X))
        timed("k_constant (intercept detection)", lambda: res.k_constant)
        timed("params, bse, t, p, conf_int, cov, R², F, llf...", lambda: force_inference(res))
        timed("diagnostics", lambda: res.diagnostics)
        timed("str(summary()) (all else forced)", lambda: str(res.summary()))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rounds = [one_round() for _ in range(repeat + 1)][1:]
    return [(name, min(r[i][1] for r in rounds)) for i, (name, _) in enumerate(rounds[0])]


def force_inference(fit: Any) -> None:
    for name in ("params", "bse", "tvalues", "pvalues", "rsquared", "rsquared_adj", "fvalue"):
        getattr(fit, name)
    for name in ("f_pvalue", "llf", "aic", "bic", "ssr", "ess", "centered_tss", "scale"):
        getattr(fit, name)
    fit.conf_int()
    fit.cov_params()


def profile(func: Callable[[], Any], top: int) -> str:
    prof = cProfile.Profile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prof.enable()
        func()
        prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="rows (default 1,000,000)")
    ap.add_argument("--k", type=int, default=20, help="columns incl. intercept (default 20)")
    ap.add_argument("--repeat", type=int, default=5, help="timed rounds (default 5)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--offset", type=float, default=1e4, help="ILL variant's column offset")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass")
    ap.add_argument("--profile", action="store_true", help="cProfile one complete duolm fit")
    ap.add_argument("--wide", action="store_true", help="n = 100,000 and k = 201 (issue 13)")
    ap.add_argument("--no-peers", action="store_true", help="duolm and the floor only")
    args = ap.parse_args(argv)
    if args.wide:
        args.n, args.k = 100_000, 201
    if args.k < 2 or args.n <= args.k or args.repeat < 1:
        ap.error("need k >= 2, n > k and repeat >= 1")

    X, y, X_ill = make_data(args.n, args.k, args.seed, args.offset)
    cands, notes = build(X, y, X_ill, peers=not args.no_peers)
    print("\n".join(environment(args)))
    print(
        f"duolm.core: FAST_MIN_ROWS = {core.FAST_MIN_ROWS:,}, "
        f"FAST_MAX_COND = {core.FAST_MAX_COND:g}"
    )
    for tag, A in (("well-conditioned", X), ("ILL", X_ill)):
        fit = core.lstsq(A, y, const_col=0)
        print(f"duolm {tag}: method = {fit.method}, scaled cond = {fit.scaled_cond:.3g}")
    for note in notes:
        print(f"note: {note}")
    print()

    time_all(cands, args.repeat)
    with_memory = not args.no_memory and measure_memory(cands)
    print(table(cands, with_memory))

    if args.profile and duolm_ols is not None:
        fb = min(cands[0].times)
        print(f"\nPhases of a complete duolm fit (well-conditioned), best of {args.repeat}:")
        rows = phases(X, y, args.repeat)
        total = sum(sec for name, sec in rows if not name.startswith("(part)"))
        for name, sec in [*rows, ("sum of phases (parts excluded)", total)]:
            print(f"  {name:48s} {sec:8.4f} s {sec / fb:7.2f} x floor")
    if args.profile:
        target, what = duolm_complete(X, y, True), "duolm complete fit"
        print(f"\ncProfile of one {what} (well-conditioned), by cumulative time:")
        print(profile(target, 30))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
