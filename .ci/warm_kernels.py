"""Compile duolm's numba kernels once, into their on-disk cache (an install step).

numba compiles a kernel on its first call and keeps the machine code beside the
source (``__pycache__``). A fresh checkout has none, so the first fits of a
session pay seconds of compilation, and the test suite on a fresh clone pays it
in whichever tests come first. ``.ci/setup`` runs this once after installing, as
pip compiles ``.pyc`` files: every path below calls its kernels with the
argument types the library uses. Nothing is checked here; the tests do that.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import duolm


def main() -> None:
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    n = 30_000  # above the row counts from which the compiled sweeps are used
    x = rng.normal(size=(n, 3))
    frame = pd.DataFrame(x, columns=["x1", "x2", "x3"])
    frame["g"] = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    frame["y"] = 1 + x @ [0.5, -0.2, 0.1] + rng.normal(size=n)
    X = np.column_stack([np.ones(n), x])
    for design in (X, np.asfortranarray(X)):
        str(duolm.ols(X=design, y=frame["y"].to_numpy()).summary())
    str(duolm.ols("y ~ x1 + x2 + x3", frame).summary())
    duolm.bayes("y ~ x1 + x2 + x3", frame)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warm.parquet"
        frame.to_parquet(path)
        for cov_type in ("nonrobust", "HC3"):
            str(duolm.ols("y ~ x1 + x2 + x3", path, cov_type=cov_type).summary())
        duolm.ols("y ~ x1", path, cov_type="cluster", cov_kwds={"groups": "g"})
        duolm.ols("y ~ x1", path, cov_type="HAC")  # the score rows, the lag products
        duolm.bayes("y ~ x1 + x2 + x3", path)
        duolm.changepoints("y ~ x1", path)
    small = frame.iloc[:2000]
    for prior in (None, duolm.NIG.reference(4), duolm.NIG.vague(4)):
        duolm.trajectory("y ~ x1 + x2 + x3", small, prior=prior)
        duolm.trajectory("y ~ x1 + x2 + x3", small, prior=prior, forget=0.99)
    duolm.trajectory(
        "y ~ x1 + x2 + x3", small, prior=duolm.NIG.vague(4), forget=0.99, forget_toward="prior"
    )
    duolm.changepoints("y ~ x1", small)
    # the trajectory's kernel is compiled once per number of columns (its loops unrolled),
    # and toward the prior apart (its vectorised rows: ~35 s per k), for the k the tests use
    for k in (*range(1, 9), 60):
        Xk = np.column_stack([np.ones(400), rng.normal(size=(400, k - 1))])
        duolm.trajectory(X=Xk, y=rng.normal(size=400), prior=duolm.NIG.vague(k))
    for k in (3, 4, 50):  # 50: past the stack's limit (the heap path)
        Xk = np.column_stack([np.ones(400), rng.normal(size=(400, k - 1))])
        vague = duolm.NIG.vague(k)
        duolm.trajectory(
            X=Xk, y=rng.normal(size=400), prior=vague, forget=0.99, forget_toward="prior"
        )
    for prior in ("g-prior", "hyper-g", "hyper-g/n", "zellner-siow", "eb-local"):
        res = duolm.bma("y ~ x1 + x2 + x3 + C(g)", small, prior=prior)
        res.credible_interval()
    duolm.bma("y ~ x1 + x2 + x3 + C(g)", small, max_enumerate=2)
    print(f"duolm's kernels compiled in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
