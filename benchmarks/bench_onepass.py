"""What a one-pass complete streamed fit would cost: the residual moments from power sums.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/bench_onepass.py [--rows 10000000] [--columns 5] [--repeat 3]

Issue 13, goal 4: the complete streamed fit reads a Parquet file twice, and on
two cores the second decode alone keeps it above twice a buffered scan. The
only way around the second read is to take, in the first pass, sums from
which the summary's residual moments (skew, kurtosis, omnibus, Jarque-Bera,
Durbin-Watson) of the *final* estimate follow exactly. Around a provisional
estimate ``b0`` (the first batch's), ``r = r0 - x'd`` with ``d = b - b0``, so
the sums of ``r^2``, ``r^3`` and ``r^4`` are polynomials in ``d`` whose
coefficients are the sums of all monomials of degree <= 4 of
``z = (w, r0)``, ``w`` the regressors centred and whitened by the first
batch (``C(m + 5, 4)`` sums for ``m`` regressors: 210 for 5), and the
Durbin-Watson numerator is a quadratic form in the differenced ``z``.

This script measures that alternative on the same rows, one core, CPU
seconds (best of ``--repeat``):

- ``power sums``: a compiled kernel (numba, tiles of 256 rows, four sums per
  sweep) taking every monomial sum and the differenced Gram, batch by batch
  (131,072 rows, as the stream);
- ``duolm pass 1 kernel`` and ``duolm pass 2 kernel``: the stream's Gram and
  residual-moments kernels (:mod:`duolm._stream._kernels`) on the same batches;
- ``second decode``: pyarrow reading the rows back from a Parquet file of
  1,000,000-row groups, a whole group at a time as the stream reads (process
  CPU, its decoding threads included): what a second pass costs beyond its kernel.

The one-pass route pays only if ``power sums`` costs less than ``second
decode`` plus ``duolm pass 2 kernel``. It also checks the sums' accuracy on
the first ``--check`` rows: the central sums of ``r^2..r^4`` and the
Durbin-Watson numerator rebuilt from them against the direct sums of the final
residuals, relative to ``sum |r - mean|^q`` (rounding: ~1e-16).
"""

from __future__ import annotations

import argparse
import itertools
import math
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numba import types
from numba.typed import List

from duolm._stream import _kernels

BATCH = 131_072
TILE = 256


@numba.njit(nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _power_sums(cols, y, coefs, c0, mu, L, scale, S1, S2, S3, S4, D):  # type: ignore[no-untyped-def]
    """Add the batch's sums of the monomials of degree 1..4 of ``z`` to ``S1..S4`` and the
    Gram of its differenced rows to ``D``; ``z = (L (x - mu), (y - c0 - coefs'x) scale)``.

    ``S2[p]``: pair ``p = (a, b)``, ``a <= b`` (lexicographic); ``S3[p, c]``: pair
    ``p = (a, b)`` times ``z_c``, ``c >= b``; ``S4[p, q]``: pairs ``(a, b)``, ``(c, d)``
    with ``c >= b``. Every monomial of degree 3 and 4 once.
    """
    m = len(cols)
    nv = m + 1
    n = y.shape[0]
    npairs = nv * (nv + 1) // 2
    pa_, pb = np.empty(npairs, np.int64), np.empty(npairs, np.int64)
    start = np.empty(nv + 1, np.int64)
    p = 0
    for a in range(nv):
        start[a] = p
        for b in range(a, nv):
            pa_[p], pb[p] = a, b
            p += 1
    start[nv] = npairs
    Z = np.empty((nv, TILE))
    dZ = np.empty((nv, TILE))
    P = np.empty((npairs, TILE))
    prev = np.zeros(nv)
    for lo in range(0, n, TILE):
        hi = min(lo + TILE, n)
        t = hi - lo
        r0 = Z[m]
        yt = y[lo:hi]
        for i in range(t):
            r0[i] = yt[i] - c0
        for a in range(m):
            xa, ba, za, mua = cols[a][lo:hi], coefs[a], Z[a], mu[a]
            for i in range(t):
                r0[i] -= ba * xa[i]
                za[i] = xa[i] - mua
        for i in range(t):
            r0[i] *= scale
        for a in range(m - 1, -1, -1):  # whiten in place, the last column first
            za = Z[a]
            laa = L[a, a]
            for i in range(t):
                za[i] *= laa
            for b in range(a):
                zb, lab = Z[b], L[a, b]
                for i in range(t):
                    za[i] += lab * zb[i]
        for a in range(nv):
            za, dza = Z[a], dZ[a]
            dza[0] = za[0] - prev[a] if lo > 0 else 0.0
            for i in range(1, t):
                dza[i] = za[i] - za[i - 1]
            prev[a] = za[t - 1]
            acc = 0.0
            for i in range(t):
                acc += za[i]
            S1[a] += acc
        for q in range(npairs):
            Pq, za, zb, da, db = P[q], Z[pa_[q]], Z[pb[q]], dZ[pa_[q]], dZ[pb[q]]
            acc = dacc = 0.0
            for i in range(t):
                Pq[i] = za[i] * zb[i]
                acc += Pq[i]
                dacc += da[i] * db[i]
            S2[q] += acc
            D[q] += dacc
        for q in range(npairs):
            _dots(P[q], Z, pb[q], S3[q], t)  # degree 3: P[q] z_c, c >= b
            _dots(P[q], P, start[pb[q]], S4[q], t)  # degree 4: P[q] P[(c, d)], c >= b


@numba.njit(inline="always", nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _dots(x, rights, first, out, t):  # type: ignore[no-untyped-def]
    """``out[c] += x[:t] . rights[c, :t]`` for every ``c >= first``, four per sweep over ``x``."""
    c = first
    n = rights.shape[0]
    while c < n:
        if c + 4 <= n:
            a0 = a1 = a2 = a3 = 0.0
            for i in range(t):
                v = x[i]
                a0 += v * rights[c, i]
                a1 += v * rights[c + 1, i]
                a2 += v * rights[c + 2, i]
                a3 += v * rights[c + 3, i]
            out[c] += a0
            out[c + 1] += a1
            out[c + 2] += a2
            out[c + 3] += a3
            c += 4
        else:
            a0 = 0.0
            for i in range(t):
                a0 += x[i] * rights[c, i]
            out[c] += a0
            c += 1


class _Sums:
    """The power sums of some rows, keyed by monomial (a sorted tuple of z indices)."""

    def __init__(self, nv: int) -> None:
        self.nv = nv
        self.pairs = [(a, b) for a in range(nv) for b in range(a, nv)]
        npairs = len(self.pairs)
        self.n = 0
        self.S1, self.S2, self.D = np.zeros(nv), np.zeros(npairs), np.zeros(npairs)
        self.S3, self.S4 = np.zeros((npairs, nv)), np.zeros((npairs, npairs))

    def add(self, cols: Any, y: np.ndarray, first: tuple[Any, ...]) -> None:
        _power_sums(cols, y, *first, self.S1, self.S2, self.S3, self.S4, self.D)
        self.n += len(y)

    def table(self) -> dict[tuple[int, ...], float]:
        out: dict[tuple[int, ...], float] = {(): float(self.n)}
        for a in range(self.nv):
            out[(a,)] = self.S1[a]
        for p, (a, b) in enumerate(self.pairs):
            out[(a, b)] = self.S2[p]
            for c in range(b, self.nv):
                out[(a, b, c)] = self.S3[p, c]
            for q, (c, d) in enumerate(self.pairs):
                if c >= b:
                    out[(a, b, c, d)] = self.S4[p, q]
        return out


def _power(table: dict[tuple[int, ...], float], a: np.ndarray, q: int) -> float:
    """``sum (a' (1, z))^q`` from the monomial sums (index 0 of ``a``: the constant)."""
    terms = []
    for mono in itertools.combinations_with_replacement(range(len(a)), q):
        counts = np.bincount(np.array(mono), minlength=len(a))
        coef = math.factorial(q) / math.prod(math.factorial(int(c)) for c in counts)
        terms.append(coef * math.prod(a[i] for i in mono) * table[tuple(i - 1 for i in mono if i)])
    return math.fsum(terms)


def _data(rows: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, m)) * np.linspace(0.5, 3.0, m) + np.linspace(-2.0, 5.0, m)
    y = 1.0 + X @ np.linspace(-1.0, 2.0, m) + rng.standard_t(5, size=rows)
    return X, y


def _first(X: np.ndarray, y: np.ndarray) -> tuple[Any, ...]:
    """The provisional estimate and basis of the first batch: ``(coefs, c0, mu, L, scale)``."""
    A = np.column_stack([np.ones(len(y)), X])
    b0 = np.linalg.lstsq(A, y, rcond=None)[0]
    mu = X.mean(axis=0)
    L = np.linalg.inv(np.linalg.cholesky(np.cov(X.T).reshape(X.shape[1], X.shape[1])))
    rms = float(np.sqrt(np.mean((y - A @ b0) ** 2)))
    return b0[1:].copy(), float(b0[0]), mu, L, 2.0 ** -round(math.log2(rms))


def _column_list(columns: list[np.ndarray]) -> Any:
    out = List.empty_list(types.Array(types.float64, 1, "C", readonly=False))
    for column in columns:
        out.append(column)
    return out


def check(X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Relative errors of the moments rebuilt from the sums, against the direct sums."""
    first = _first(X[:BATCH], y[:BATCH])
    coefs, c0, mu, L, scale = first
    sums = _Sums(X.shape[1] + 1)
    sums.add(_column_list([np.ascontiguousarray(c) for c in X.T]), y, first)
    A = np.column_stack([np.ones(len(y)), X])
    b = np.linalg.lstsq(A, y, rcond=None)[0]
    d = b - np.concatenate([[c0], coefs])
    g = np.linalg.solve(L.T, d[1:])  # x'd = (d_0 + d_x' mu) + g' w
    shift = d[0] + d[1:] @ mu
    table = sums.table()
    m = X.shape[1]
    mean = (table[(m,)] - scale * shift * len(y) - scale * g @ sums.S1[:m]) / len(y)
    a = np.concatenate([[-scale * shift - mean], -scale * g, [1.0]])
    r = y - A @ b
    e = r - r.mean()
    out = {}
    for q in (2, 3, 4):
        rebuilt = _power(table, a, q) / scale**q
        out[f"sum (r - mean)^{q}"] = abs(rebuilt - np.sum(e**q)) / np.sum(np.abs(e) ** q)
    quad = np.zeros((m + 1, m + 1))
    for p, (i, j) in enumerate(sums.pairs):
        quad[i, j] = quad[j, i] = sums.D[p]
    v = np.concatenate([-scale * g, [1.0]])
    dw = float(v @ quad @ v) / scale**2
    out["sum diff(r)^2"] = abs(dw - np.sum(np.diff(r) ** 2)) / np.sum(np.diff(r) ** 2)
    out["|X d| / |r|"] = float(np.linalg.norm(A @ d) / np.linalg.norm(r))
    return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _best(run: Callable[[], None], repeat: int, clock: Callable[[], float]) -> float:
    run()  # compile, warm the caches
    times = []
    for _ in range(repeat):
        start = clock()
        run()
        times.append(clock() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--columns", type=int, default=5, help="regressors besides the intercept")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", type=int, default=2_000_000, help="rows of the accuracy check")
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    X, y = _data(args.rows, args.columns, args.seed)
    columns = [np.ascontiguousarray(c) for c in X.T]
    batches = [
        ([c[lo : lo + BATCH] for c in columns], y[lo : lo + BATCH])
        for lo in range(0, args.rows, BATCH)
    ]
    first = _first(X[:BATCH], y[:BATCH])
    nv = args.columns + 1
    print(f"{args.rows} rows, {args.columns} regressors and an intercept; batches of {BATCH}")
    print(f"sums per row: {math.comb(nv + 4, 4) - 1} monomials + {nv * (nv + 1) // 2} differenced")

    def power_sums() -> None:
        sums = _Sums(nv)
        for cols, yb in batches:
            sums.add(_column_list(cols), yb, first)

    def pass1() -> None:
        for cols, yb in batches:
            _kernels.gram([*cols, yb])

    def pass2() -> None:
        for cols, yb in batches:
            _kernels.second_pass(cols, first[0], first[1], yb, 1.0)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.parquet"
        names = [f"x{j}" for j in range(1, args.columns + 1)] + ["y"]
        table = pa.table(dict(zip(names, [*columns, y], strict=True)))
        pq.write_table(table, path, row_group_size=1_000_000)
        del table

        def decode() -> None:
            with pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 18) as pf:
                for group in range(pf.num_row_groups):
                    read = pf.read_row_group(group, columns=names, use_threads=True)
                    [read.column(name).to_numpy() for name in names]

        thread = time.thread_time
        rows = [
            ("power sums (one pass, instead of the 2nd)", _best(power_sums, args.repeat, thread)),
            ("duolm pass 1 kernel (Gram)", _best(pass1, args.repeat, thread)),
            ("duolm pass 2 kernel (residual moments)", _best(pass2, args.repeat, thread)),
            ("second decode (pyarrow, whole row groups)", _best(decode, args.repeat, _cpu)),
        ]
    second = rows[2][1] + rows[3][1]
    print(f"\n{'CPU seconds, best of ' + str(args.repeat):50s} {'s':>7s} {'x second pass':>14s}")
    for name, seconds in rows:
        print(f"{name:50s} {seconds:7.3f} {seconds / second:14.2f}")
    print(f"{'second pass (decode + pass 2 kernel)':50s} {second:7.3f} {1.0:14.2f}")
    print(f"\naccuracy on the first {min(args.check, args.rows)} rows (relative to sum |.|):")
    for name, value in check(X[: args.check], y[: args.check]).items():
        print(f"  {name:22s} {value:.1e}")


if __name__ == "__main__":
    main()
