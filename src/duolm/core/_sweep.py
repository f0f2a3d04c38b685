"""Fused sweeps over an in-memory design: each reads the rows once, where they are.

A least-squares fit of ``n`` rows in memory is bound by how often it reads ``X``
(issue 13): a separate numpy pass for every quantity (``X'X``, ``X'y``, the
column checks, ``X b``, ``X'r``, the moments of ``r``) reads 160 MB each at
``n = 10^6, k = 20``. The sweeps here read ``X`` as given (C or F order, never
copied) and take every quantity of one stage while a tile of rows is in cache:

- :func:`scan`: the column sums, minima and maxima (finite values, constant
  columns: a column is constant exactly when its minimum equals its maximum);
- :func:`gram`: ``[X y]^T [X y]`` tile by tile, the tile's ``X'X`` by BLAS
  (``syrk``, which a hand-written loop does not beat) and ``X'y``, ``y'y``
  from the same tile while it is in cache;
- :func:`residuals`: ``e = y - X b`` with ``X'e`` (the corrected semi-normal
  step's right-hand side), ``X'1``, ``X'(e/unit)^2`` (the Breusch-Pagan
  statistic of the summary) and ``max |e|``, one pass;
- :func:`moments`: :class:`~duolm.core.ResidualMoments` of a residual vector,
  the same sums as :meth:`~duolm.core.ResidualMoments.from_residuals`.

:func:`scan`, :func:`residuals` and :func:`moments` are numba kernels
(``@njit(cache=True)``, compiled on first use, loaded from numba's cache after
that) for C- or F-ordered arrays of at least :data:`KERNEL_MIN_ROWS` rows
(row by row, or column by column within a tile of rows); without numba (or with
``NUMBA_DISABLE_JIT=1``), for other layouts and for small arrays the
same quantities come from numpy, equal to rounding. Sums are taken per tile of
:data:`_TILE` rows and then added, so their rounding grows like
``(tile + n / tile) * eps`` rather than ``n * eps``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from duolm.core._jit import interruptible
from duolm.core._moments import ResidualMoments

__all__ = [
    "KERNEL_MIN_ROWS",
    "ColumnScan",
    "ResidualSweep",
    "Squares",
    "gram",
    "moments",
    "residual_stats",
    "residuals",
    "scan",
]

FloatArray = NDArray[np.float64]

#: Fewer rows than this use numpy: the kernels' first compilation (a second or
#: two, once per installation) is not worth it for small data.
KERNEL_MIN_ROWS = 20_000

#: Rows per tile of the compiled kernels (their tile of X stays in the L1/L2 cache).
_TILE = 1024

#: Bytes of X per tile of :func:`gram`: the tile stays in the L2 cache between
#: BLAS's ``X'X`` and the ``X'y`` that follows it.
_GRAM_TILE_BYTES = 1 << 19


#: Wider designs take ``X'X`` in one BLAS call: its k^2/2 products per row outweigh
#: reading the rows once more for ``X'y``, and BLAS blocks a wide product better whole.
_GRAM_TILE_MAX_K = 64


class ColumnScan(NamedTuple):
    """Column sums, minima and maxima of ``X``, each of shape (k,)."""

    sums: FloatArray
    lo: FloatArray
    hi: FloatArray


class ResidualSweep(NamedTuple):
    """What one pass of :func:`residuals` returns.

    Attributes
    ----------
    e : ndarray of shape (n,)
        ``y - X b``.
    xe : ndarray of shape (k,)
        ``X' e``.
    xs : ndarray of shape (k,)
        ``X' 1``, the column sums.
    xu : ndarray of shape (k,)
        ``X' u`` with ``u = (e / unit)^2``.
    su : float
        ``sum u``.
    top : float
        ``max |e|``.
    unit : float
        The power of two of ``u``.
    """

    e: FloatArray
    xe: FloatArray
    xs: FloatArray
    xu: FloatArray
    su: float
    top: float
    unit: float


# ---------------------------------------------------------------- kernel sources


def _scan_source(X: Any, s: Any, lo: Any, hi: Any) -> None:
    """Column sums, minima and maxima of a C-ordered ``X`` (NaN propagates into the sums)."""
    n, k = X.shape
    ts = np.empty(k)
    for j in range(k):
        lo[j] = X[0, j]
        hi[j] = X[0, j]
    for start in range(0, n, _TILE):
        stop = min(start + _TILE, n)
        ts[:] = 0.0
        for i in range(start, stop):
            for j in range(k):
                v = X[i, j]
                ts[j] += v
                lo[j] = min(lo[j], v)
                hi[j] = max(hi[j], v)
        for j in range(k):
            s[j] += ts[j]


def _residual_source(
    X: Any, y: Any, b: Any, scale: float, e: Any, xe: Any, xs: Any, xu: Any, out: Any
) -> None:
    """``e = y - X b`` with ``X'e``, ``X'1``, ``X'(e scale)^2``; ``out = (sum u, max |e|)``."""
    n, k = X.shape
    te = np.empty(k)
    ts = np.empty(k)
    tu = np.empty(k)
    su = 0.0
    top = 0.0
    for start in range(0, n, _TILE):
        stop = min(start + _TILE, n)
        te[:] = 0.0
        ts[:] = 0.0
        tu[:] = 0.0
        tsu = 0.0
        for i in range(start, stop):
            acc = 0.0
            for j in range(k):
                acc += X[i, j] * b[j]
            r = y[i] - acc
            e[i] = r
            top = max(top, abs(r))
            u = r * scale
            u = u * u
            tsu += u
            for j in range(k):
                x = X[i, j]
                te[j] += x * r
                ts[j] += x
                tu[j] += x * u
        for j in range(k):
            xe[j] += te[j]
            xs[j] += ts[j]
            xu[j] += tu[j]
        su += tsu
    out[0] = su
    out[1] = top


def _scan_columns_source(XT: Any, s: Any, lo: Any, hi: Any) -> None:
    """:func:`_scan_source` of ``X = XT.T`` (an F-ordered X): one column at a time."""
    k, n = XT.shape
    for j in range(k):
        c = XT[j]
        mn = mx = c[0]
        total = 0.0
        for start in range(0, n, _TILE):
            part = 0.0
            for i in range(start, min(start + _TILE, n)):
                v = c[i]
                part += v
                mn = min(mn, v)
                mx = max(mx, v)
            total += part
        s[j] = total
        lo[j] = mn
        hi[j] = mx


def _residual_columns_source(
    XT: Any, y: Any, b: Any, scale: float, e: Any, xe: Any, xs: Any, xu: Any, out: Any
) -> None:
    """:func:`_residual_source` of ``X = XT.T`` (an F-ordered X), tile by tile of rows:
    the tile's residuals first, column after column, then its cross products."""
    k, n = XT.shape
    u = np.empty(_TILE)
    su = 0.0
    top = 0.0
    for start in range(0, n, _TILE):
        stop = min(start + _TILE, n)
        t = stop - start
        et = e[start:stop]
        for i in range(t):
            et[i] = y[start + i]
        for j in range(k):
            c = XT[j, start:stop]
            bj = b[j]
            for i in range(t):
                et[i] -= bj * c[i]
        tsu = 0.0
        for i in range(t):
            top = max(top, abs(et[i]))
            v = et[i] * scale
            u[i] = v * v
            tsu += u[i]
        su += tsu
        for j in range(k):
            c = XT[j, start:stop]
            a0 = a1 = a2 = 0.0
            for i in range(t):
                x = c[i]
                a0 += x * et[i]
                a1 += x
                a2 += x * u[i]
            xe[j] += a0
            xs[j] += a1
            xu[j] += a2
    out[0] = su
    out[1] = top


def _moments_source(e: Any, scale: float, out: Any) -> None:
    """``(mean, m2, m3, m4, ss, dw_num, tss2)`` of ``u = e * scale``: ResidualMoments' sums,
    and ``tss2 = sum (u^2 - ss / n)^2``, the total sum of squares of the squared residuals."""
    n = e.shape[0]
    total = 0.0
    ss = 0.0
    for start in range(0, n, _TILE):
        stop = min(start + _TILE, n)
        part = 0.0
        s2 = 0.0
        for i in range(start, stop):
            u = e[i] * scale
            part += u
            s2 += u * u
        total += part
        ss += s2
    mean = total / n
    mean2 = ss / n
    out[:] = 0.0
    out[0] = mean
    out[4] = ss
    prev = e[0] * scale
    for start in range(0, n, _TILE):  # the tile's sums, then added to the totals in out
        stop = min(start + _TILE, n)
        a2 = a3 = a4 = steps = q = 0.0
        for i in range(start, stop):
            u = e[i] * scale
            d = u - mean
            d2 = d * d
            a2 += d2
            a3 += d2 * d
            a4 += d2 * d2
            step = u - prev
            steps += step * step
            prev = u
            c = u * u - mean2
            q += c * c
        out[1] += a2
        out[2] += a3
        out[3] += a4
        out[5] += steps
        out[6] += q


class _Kernels(NamedTuple):
    scan: Callable[..., None]
    residuals: Callable[..., None]
    moments: Callable[..., None]
    scan_columns: Callable[..., None]
    residual_columns: Callable[..., None]


@functools.cache
def _kernels() -> _Kernels | None:
    """The compiled kernels, or None without numba (or with ``NUMBA_DISABLE_JIT=1``)."""
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:  # numba is a dependency; kept optional as for the other kernels
        return None
    if getattr(numba.config, "DISABLE_JIT", False):
        return None
    # reassoc lets the loops vectorise; without nnan/ninf, NaN and inf propagate.
    options: dict[str, Any] = {
        "nogil": True,
        "error_model": "numpy",
        "fastmath": {"reassoc", "contract"},
    }
    sources = (
        _scan_source,
        _residual_source,
        _moments_source,
        _scan_columns_source,
        _residual_columns_source,
    )
    try:
        jit = numba.njit(cache=True, **options)
        return _Kernels(*(interruptible(jit(f)) for f in sources))
    except RuntimeError:  # no writable cache folder: compiled anew in each process
        jit = numba.njit(**options)
        return _Kernels(*(interruptible(jit(f)) for f in sources))


def _compiled(X: FloatArray) -> _Kernels | None:
    """The kernels when they apply to ``X`` (C or F order, float64, enough rows), else None."""
    if X.shape[0] < KERNEL_MIN_ROWS or X.dtype != np.float64:
        return None
    if not (X.flags.c_contiguous or X.flags.f_contiguous):
        return None
    return _kernels()


# ---------------------------------------------------------------- the sweeps


def scan(X: FloatArray) -> ColumnScan:
    """Column sums, minima and maxima of ``X`` (shape (n, k), n >= 1), one pass.

    A sum is finite only if every entry of its column is (an overflowing sum
    is inf too: callers then look at the entries). Column j is constant
    exactly when ``lo[j] == hi[j]``.
    """
    k = X.shape[1]
    kernels = _compiled(X)
    if kernels is None:
        with np.errstate(over="ignore", invalid="ignore"):
            sums = X.sum(axis=0)
        return ColumnScan(sums, X.min(axis=0), X.max(axis=0))
    s, lo, hi = np.zeros(k), np.empty(k), np.empty(k)
    with np.errstate(over="ignore", invalid="ignore"):
        if X.flags.c_contiguous:
            kernels.scan(X, s, lo, hi)
        else:
            kernels.scan_columns(X.T, s, lo, hi)
    return ColumnScan(s, lo, hi)


def gram(X: FloatArray, y: FloatArray) -> FloatArray:
    """``[X y]^T [X y]``, shape (k + 1, k + 1), reading each tile of rows once from memory.

    BLAS takes each tile's ``X'X`` (``syrk``); ``X'y`` and ``y'y`` follow
    while the tile is in cache. Non-finite values give a non-finite result.
    """
    n, k = X.shape
    G = np.zeros((k + 1, k + 1))
    rows = max(256, _GRAM_TILE_BYTES // (8 * k))
    with np.errstate(over="ignore", invalid="ignore"):
        if rows >= n or k > _GRAM_TILE_MAX_K:
            G[:k, :k] = X.T @ X
            G[:k, k] = X.T @ y
            G[k, k] = y @ y
        else:
            Gxx, gxy = G[:k, :k], G[:k, k]
            yy = 0.0
            for start in range(0, n, rows):
                Xt, yt = X[start : start + rows], y[start : start + rows]
                Gxx += Xt.T @ Xt
                gxy += Xt.T @ yt
                yy += float(yt @ yt)
            G[k, k] = yy
    G[k, :k] = G[:k, k]
    return G


def residuals(X: FloatArray, y: FloatArray, b: FloatArray, unit: float) -> ResidualSweep:
    """``e = y - X b`` and the cross products of one pass (see :class:`ResidualSweep`).

    Parameters
    ----------
    X : ndarray of shape (n, k)
    y : ndarray of shape (n,)
    b : ndarray of shape (k,)
    unit : float
        A power of two near the residuals' size: ``u = (e / unit)^2``.
    """
    n, k = X.shape
    kernels = _compiled(X)
    b = np.ascontiguousarray(b, dtype=np.float64)
    if kernels is None:
        e = y - X @ b
        u = (e / unit) ** 2
        return ResidualSweep(
            e,
            X.T @ e,
            X.sum(axis=0),
            X.T @ u,
            float(u.sum()),
            float(np.max(np.abs(e))) if n else 0.0,
            unit,
        )
    e = np.empty(n)
    xe, xs, xu, out = np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(2)
    y = np.ascontiguousarray(y)
    with np.errstate(over="ignore", invalid="ignore"):
        if X.flags.c_contiguous:
            kernels.residuals(X, y, b, 1.0 / unit, e, xe, xs, xu, out)
        else:
            kernels.residual_columns(X.T, y, b, 1.0 / unit, e, xe, xs, xu, out)
    return ResidualSweep(e, xe, xs, xu, float(out[0]), float(out[1]), unit)


def pow2(value: float) -> float:
    """The power of two nearest ``value`` (1 for zero or a non-finite value)."""
    if not (value > 0 and math.isfinite(value)):
        return 1.0
    return float(2.0 ** round(math.log2(value)))


class Squares(NamedTuple):
    """The pieces of Koenker's Breusch-Pagan statistic from one pass over the rows.

    With ``u = (e / unit)^2`` the squared residuals in some power-of-two unit
    (the statistic does not depend on it) and ``ubar`` their mean: ``xu`` is
    ``X'(u - ubar)``, shape (k,), and ``tss`` is ``sum (u - ubar)^2``.
    """

    xu: FloatArray
    tss: float


def moments(e: FloatArray, top: float | None = None) -> ResidualMoments:
    """:meth:`ResidualMoments.from_residuals` of ``e``, by the compiled kernel when it applies.

    ``top`` is ``max |e|`` when already known (:func:`residuals` returns it).
    """
    return _moments(e, top)[0]


def residual_stats(sweep: ResidualSweep) -> tuple[ResidualMoments, Squares]:
    """The residuals' moments and the Breusch-Pagan pieces of a :func:`residuals` pass."""
    mom, tss = _moments(sweep.e, sweep.top)
    n = sweep.e.size
    # X'(u - ubar) = X'u - ubar X'1 in the sweep's unit, then in the moments' unit (exact:
    # a power of two), where tss was taken
    xu = (sweep.xu - (sweep.su / n) * sweep.xs) * (sweep.unit / mom.unit) ** 2
    return mom, Squares(xu, tss)


def _moments(e: FloatArray, top: float | None) -> tuple[ResidualMoments, float]:
    """The moments of ``e`` and ``sum (u - ubar)^2`` for ``u = (e / unit)^2`` in their unit."""
    kernels = _compiled(e[:, None])
    if kernels is None or e.size == 0:
        mom = ResidualMoments.from_residuals(e)
        u = (e / mom.unit) ** 2
        return mom, float(np.sum((u - np.mean(u)) ** 2)) if e.size else 0.0
    if top is None:
        top = float(np.max(np.abs(e)))
    unit = pow2(top)
    out = np.zeros(7)
    kernels.moments(np.ascontiguousarray(e), 1.0 / unit, out)
    mean, m2, m3, m4, ss, dw, tss = (float(v) for v in out)
    first, last = float(e[0]) / unit, float(e[-1]) / unit
    return ResidualMoments(int(e.size), mean, m2, m3, m4, ss, dw, first, last, unit), tss
