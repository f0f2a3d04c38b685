"""Compiled kernels that reduce a streamed batch straight from its columns.

A Parquet batch arrives as one array per column. Stacking them into ``[X y]``
copies the batch once more and hands BLAS a tall, narrow matrix it multiplies
slowly; these kernels read the columns where they are instead, in tiles of
:data:`_TILE` rows that stay in cache while every product of the tile is
taken. Each returns the same quantities as the numpy code it stands in for
(:meth:`duolm.core.SqrtStat.from_block`'s Gram matrix,
:meth:`duolm.diagnostics.ResidualMoments.from_residuals`, the HC meats of
:class:`duolm._reduction._Resid`), equal to rounding:

- :func:`gram`: the Gram matrix of the columns and their sums;
- :func:`residuals`: ``e = y - c0 - sum_j b_j x_j`` into a buffer, with the
  largest ``|e|`` and the sum (a NaN or inf anywhere makes the sum non-finite);
- :func:`moments`: the central power sums of ``e / unit`` (and the rest of
  :class:`~duolm.diagnostics.ResidualMoments`);
- :func:`meats`: the leverages and the three HC meats ``W^T diag(w) W`` with
  ``W = X Rxx^-1`` by forward substitution (as :meth:`~duolm.core.SqrtStat.whiten`).

Sums are taken per tile with several accumulators (numba's ``reassoc``: the
loops vectorise) and then added across tiles, so their rounding grows like
``(tile / lanes + n / tile) * eps`` rather than ``n * eps``. NaN and inf still
propagate (no ``nnan``/``ninf`` flags): callers detect non-finite data from the
results and fall back to the checked path. The arithmetic is fixed by the
batch, so a result never depends on timing (checkpoints resume bitwise).

:func:`available` is False without numba or with ``NUMBA_DISABLE_JIT=1``;
callers then use the numpy path. Each kernel is compiled once (a typed list
of columns: one signature whatever the number of columns) on first use, about
a second, and cached by numba after that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Rows per tile: the tile's columns stay in the L1/L2 cache while all their products are taken.
_TILE = 1024


def _gram_source(cols: Any, G: Any, s: Any, ym: Any) -> None:
    """``G[a, b] += cols[a] . cols[b]`` for ``a <= b``, ``s[a] += sum(cols[a])``, by tiles.

    ``ym`` receives the mean and the sum of squared deviations of the last
    column (``y``), tile by tile merged by Chan et al.'s pairwise update.
    """
    m = len(cols)
    n = cols[0].shape[0]
    mean = 0.0
    m2 = 0.0
    for lo in range(0, n, _TILE):
        hi = min(lo + _TILE, n)
        for a in range(m):
            ca = cols[a][lo:hi]
            total = 0.0
            for i in range(ca.shape[0]):
                total += ca[i]
            s[a] += total
            for b in range(a, m):
                cb = cols[b][lo:hi]
                acc = 0.0
                for i in range(ca.shape[0]):
                    acc += ca[i] * cb[i]
                G[a, b] += acc
        yt = cols[m - 1][lo:hi]
        t = yt.shape[0]
        tile_mean = 0.0
        for i in range(t):
            tile_mean += yt[i]
        tile_mean /= t
        tile_m2 = 0.0
        for i in range(t):
            d = yt[i] - tile_mean
            tile_m2 += d * d
        delta = tile_mean - mean
        mean += delta * t / hi
        m2 += tile_m2 + delta * delta * lo * t / hi
    ym[0] = mean
    ym[1] = m2


def _residuals_source(cols: Any, coefs: Any, c0: float, y: Any, e: Any) -> float:
    """``e = y - c0 - sum_a coefs[a] cols[a]``; returns ``sum e`` (NaN or inf if some ``e`` is)."""
    m = len(cols)
    n = y.shape[0]
    total = 0.0
    for lo in range(0, n, _TILE):
        hi = min(lo + _TILE, n)
        et = e[lo:hi]
        yt = y[lo:hi]
        for i in range(et.shape[0]):
            et[i] = yt[i] - c0
        for a in range(m):
            c = cols[a][lo:hi]
            b = coefs[a]
            for i in range(et.shape[0]):
                et[i] -= b * c[i]
        acc = 0.0
        for i in range(et.shape[0]):
            acc += et[i]
        total += acc
    return total


def _moments_source(e: Any, scale: float) -> tuple[float, ...]:
    """Moments of ``e * scale`` (``scale`` a power of two): mean, m2, m3, m4, ss, dw_num."""
    n = e.shape[0]
    total = 0.0
    for lo in range(0, n, _TILE):
        et = e[lo : min(lo + _TILE, n)]
        acc = 0.0
        for i in range(et.shape[0]):
            acc += et[i] * scale
        total += acc
    mean = total / n
    m2 = m3 = m4 = ss = dw = 0.0
    for lo in range(0, n, _TILE):
        et = e[lo : min(lo + _TILE, n)]
        a2 = a3 = a4 = s2 = 0.0
        for i in range(et.shape[0]):
            u = et[i] * scale
            d = u - mean
            d2 = d * d
            a2 += d2
            a3 += d2 * d
            a4 += d2 * d2
            s2 += u * u
        prev = e[max(lo - 1, 0) : min(lo + _TILE, n) - 1]  # e[i - 1] for i in the tile, i >= 1
        cur = e[max(lo, 1) : min(lo + _TILE, n)]
        w = 0.0
        for i in range(cur.shape[0]):
            step = (cur[i] - prev[i]) * scale
            w += step * step
        m2 += a2
        m3 += a3
        m4 += a4
        ss += s2
        dw += w
    return mean, m2, m3, m4, ss, dw


def _meats_source(
    cols: Any, where: Any, icpt: int, R: Any, e: Any, out: Any, lev_tol: float
) -> bool:
    """Add the tile sums of ``W^T diag(w_p) W`` to ``out[p]``; True if some leverage is 1
    (``1 - h <= lev_tol``).

    Column ``a`` of ``cols`` is column ``where[a]`` of ``X``; column ``icpt``
    (if >= 0) is the intercept. ``W = X R^-1`` row by row (forward substitution
    on the tile), ``h = |w|^2``, ``w_0 = e^2``, ``w_1 = e^2 / (1 - h)``,
    ``w_2 = e^2 / (1 - h)^2``.
    """
    r = R.shape[0]
    n = e.shape[0]
    W = np.empty((r, _TILE))
    wt = np.empty((3, _TILE))
    h = np.empty(_TILE)
    lev_one = False
    for lo in range(0, n, _TILE):
        hi = min(lo + _TILE, n)
        t = hi - lo
        for a in range(len(cols)):
            c = cols[a][lo:hi]
            Wj = W[where[a]]
            for i in range(t):
                Wj[i] = c[i]
        if icpt >= 0:
            W[icpt, :t] = 1.0
        h[:t] = 0.0
        for j in range(r):  # solve R^T w = x for the tile's rows, as SqrtStat.whiten
            Wj = W[j]
            for l in range(j):
                Wl = W[l]
                rlj = R[l, j]
                for i in range(t):
                    Wj[i] -= rlj * Wl[i]
            inv = 1.0 / R[j, j]
            for i in range(t):
                Wj[i] *= inv
                h[i] += Wj[i] * Wj[i]
        et = e[lo:hi]
        w0, w1, w2 = wt[0], wt[1], wt[2]
        for i in range(t):
            one_minus = 1.0 - h[i]
            if one_minus <= lev_tol:
                lev_one = True
            e2 = et[i] * et[i]
            w0[i] = e2
            w1[i] = e2 / one_minus
            w2[i] = e2 / (one_minus * one_minus)
        for p in range(3):
            wp = wt[p]
            for a in range(r):
                Wa = W[a]
                for b in range(a, r):
                    Wb = W[b]
                    acc = 0.0
                    for i in range(t):
                        acc += Wa[i] * Wb[i] * wp[i]
                    out[p, a, b] += acc
    return lev_one


class _Kernels(NamedTuple):
    gram: Callable[..., None]
    residuals: Callable[..., float]
    moments: Callable[..., tuple[float, ...]]
    meats: Callable[..., bool]
    make_list: Callable[[Sequence[FloatArray]], Any]


@functools.cache
def _kernels() -> _Kernels | None:
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from numba import types  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from numba.typed import List  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:  # numba is a dependency; kept optional here like the trajectory
        return None
    if getattr(numba.config, "DISABLE_JIT", False):  # NUMBA_DISABLE_JIT=1: no compiling
        return None
    # reassoc lets the tile loops vectorise; without nnan/ninf, NaN and inf propagate.
    jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
    column = types.Array(types.float64, 1, "C", readonly=True)

    def make_list(arrays: Sequence[FloatArray]) -> Any:
        out = List.empty_list(column)
        for array in arrays:
            view = np.ascontiguousarray(array, dtype=np.float64).view()
            view.flags.writeable = False  # one element type for pyarrow's and pandas' arrays
            out.append(view)
        return out

    return _Kernels(
        jit(_gram_source),
        jit(_residuals_source),
        jit(_moments_source),
        jit(_meats_source),
        make_list,
    )


def available() -> bool:
    """True when the kernels can be compiled (numba present, JIT not disabled)."""
    return _kernels() is not None


def _get() -> _Kernels:
    kernels = _kernels()
    if kernels is None:
        raise RuntimeError("the compiled batch kernels need numba")
    return kernels


def gram(columns: Sequence[FloatArray]) -> tuple[FloatArray, FloatArray, float, float]:
    """``(G, s, y_mean, y_m2)``: the symmetric Gram matrix of the columns, their sums, and
    the mean and sum of squared deviations of the last column."""
    kernels = _get()
    m = len(columns)
    G = np.zeros((m, m))
    s = np.zeros(m)
    ym = np.zeros(2)
    kernels.gram(kernels.make_list(columns), G, s, ym)
    G = np.triu(G)
    return G + np.triu(G, 1).T, s, float(ym[0]), float(ym[1])


def residuals(
    columns: Sequence[FloatArray], coefs: FloatArray, c0: float, y: FloatArray
) -> tuple[FloatArray, float]:
    """``(e, sum e)`` for ``e = y - c0 - sum_a coefs[a] columns[a]``."""
    kernels = _get()
    e = np.empty(y.shape[0])
    cols = kernels.make_list(columns)
    y = np.ascontiguousarray(y, dtype=np.float64)
    total = kernels.residuals(cols, np.ascontiguousarray(coefs, np.float64), c0, y, e)
    return e, float(total)


def moments(e: FloatArray, unit: float) -> tuple[float, float, float, float, float, float]:
    """``(mean, m2, m3, m4, ss, dw_num)`` of ``e / unit`` (``unit`` a power of two)."""
    out = _get().moments(e, 1.0 / unit)
    mean, m2, m3, m4, ss, dw = (float(v) for v in out)
    return mean, m2, m3, m4, ss, dw


def meats(
    columns: Sequence[FloatArray],
    where: Sequence[int],
    icpt: int | None,
    R: FloatArray,
    e: FloatArray,
    lev_tol: float,
) -> tuple[FloatArray, bool]:
    """``(meats, lev_one)``: the HC0/HC2/HC3 meats of rows ``X`` (given as columns);
    ``lev_one`` when some ``1 - h <= lev_tol``."""
    kernels = _get()
    r = R.shape[0]
    out = np.zeros((3, r, r))
    lev_one = kernels.meats(
        kernels.make_list(columns),
        np.asarray(where, dtype=np.int64),
        -1 if icpt is None else int(icpt),
        np.ascontiguousarray(R, np.float64),
        e,
        out,
        float(lev_tol),
    )
    for p in range(3):
        upper = np.triu(out[p])
        out[p] = upper + np.triu(upper, 1).T
    return out, bool(lev_one)
