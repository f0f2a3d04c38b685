"""Fused sweeps over an in-memory design: each reads the rows once, where they are.

A least-squares fit of ``n`` rows in memory is bound by how often it reads ``X``
(issue 13): a separate numpy pass for every quantity (``X'X``, ``X'y``, the
column checks, ``X b``, ``X'r``, the moments of ``r``) reads 160 MB each at
``n = 10^6, k = 20``. The sweeps here read ``X`` as given (C or F order, or a
frame's columns held as :class:`~duolm.core.Columns` with the intercept
implicit; never copied) and take every quantity of one stage while a tile of
rows is in cache:

- :func:`scan`: the column sums and how many entries of each column differ
  from its first (finite values, constant columns);
- :func:`gram`: ``[X y]^T [X y]`` tile by tile; of an array, the tile's ``X'X``
  by BLAS (``syrk``) and ``X'y``, ``y'y`` from the same tile while it is in
  cache; of :class:`~duolm.core.Columns`, :func:`gram_scan`: the products of
  the columns in a compiled kernel (two columns by four in registers), the
  intercept's as the sums, with the scan in the same pass;
- :func:`residuals`: ``e = y - X b`` with ``X'e`` (the corrected semi-normal
  step's right-hand side), ``X'1``, ``X'(e/unit)^2`` (the Breusch-Pagan
  statistic of the summary) and ``max |e|``, one pass;
- :func:`moments`: :class:`~duolm.core.ResidualMoments` of a residual vector,
  the same sums as :meth:`~duolm.core.ResidualMoments.from_residuals`.

The kernels are numba's (``@njit(cache=True)``, compiled on first use, loaded
from numba's cache after that), for at least :data:`KERNEL_MIN_ROWS` rows:
row by row for a C-ordered array, column by column within a tile of rows for
an F-ordered one and for columns (a numba typed list of them: one compiled
signature whatever their number). Without numba (or with
``NUMBA_DISABLE_JIT=1``), for other layouts and for small arrays the same
quantities come from numpy, equal to rounding. Sums are taken per tile of rows
and then added, so their rounding grows like ``(tile + n / tile) * eps``
rather than ``n * eps``.

Each kernel reduces the two fixed halves of the rows apart (:func:`_halves`),
on two threads when the process has two cores (the kernels release the GIL),
and the halves' sums are added in a fixed order: a result is the same to the
bit whether one thread or two ran it, and from run to run.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from duolm.core._columns import Columns, DesignMatrix, as_array, read_only
from duolm.core._jit import interruptible
from duolm.core._moments import ResidualMoments

__all__ = [
    "KERNEL_MIN_ROWS",
    "ColumnScan",
    "GramScan",
    "ResidualSweep",
    "Squares",
    "gram",
    "gram_scan",
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

#: Fewer values read than this take both halves of a sweep on one thread: starting and
#: waking a second one (a tenth of a millisecond, more on a loaded machine) costs more
#: than it saves (the residual moments of 10^6 rows, 8 MB, take about a millisecond).
_THREAD_MIN_VALUES = 1 << 22

#: Rows per tile of :func:`gram_scan`'s kernel: the tiles of all the columns stay in
#: the L2 cache while their products are taken.
_COLUMN_TILE = 4096

#: Bytes of X per tile of :func:`gram`: the tile stays in the L2 cache between
#: BLAS's ``X'X`` and the ``X'y`` that follows it.
_GRAM_TILE_BYTES = 1 << 19


#: Wider designs take ``X'X`` in one BLAS call: its k^2/2 products per row outweigh
#: reading the rows once more for ``X'y``, and BLAS blocks a wide product better whole.
_GRAM_TILE_MAX_K = 64


class ColumnScan(NamedTuple):
    """Column sums of ``X``, its first row, and how many entries of each column differ
    from that row (a column is constant exactly when none does); each of shape (k,)."""

    sums: FloatArray
    first: FloatArray
    varies: NDArray[np.int64]


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
#
# Each kernel reduces the rows ``start:stop`` into the outputs it is given (one half of
# the rows, :func:`_in_halves`).


def _scan_source(X: Any, start: int, stop: int, first: Any, s: Any, nd: Any) -> None:
    """Column sums of rows ``start:stop`` of a C-ordered ``X`` (NaN propagates into them) and
    the number of entries that differ from ``first`` (NaN differs from everything)."""
    k = X.shape[1]
    ts = np.empty(k)
    td = np.empty(k, dtype=np.int64)
    for t0 in range(start, stop, _TILE):
        t1 = min(t0 + _TILE, stop)
        ts[:] = 0.0
        td[:] = 0
        for i in range(t0, t1):
            for j in range(k):
                v = X[i, j]
                ts[j] += v
                td[j] += v != first[j]
        for j in range(k):
            s[j] += ts[j]
            nd[j] += td[j]


def _columns_source(
    cols: Any, start: int, stop: int, products: bool, first: Any, s: Any, nd: Any, G: Any
) -> None:
    """:func:`_scan_source` of the columns ``cols`` and, when ``products``, the upper
    triangle of their products, ``G[a, b] += cols[a] . cols[b]`` for ``b >= a``.

    Tile by tile of :data:`_COLUMN_TILE` rows (the tile of every column stays in
    the L2 cache): each column's sum and count, then the products of two columns
    ``a`` with four columns ``b`` at a time (eight sums held in registers, six
    loads for eight products), the last ones two or one at a time.
    """
    m = len(cols)
    for t0 in range(start, stop, _COLUMN_TILE):
        t1 = min(t0 + _COLUMN_TILE, stop)
        t = t1 - t0
        for a in range(m):
            ca = cols[a][t0:t1]
            v0 = first[a]
            part = 0.0
            differ = 0
            for i in range(t):
                v = ca[i]
                part += v
                differ += v != v0
            s[a] += part
            nd[a] += differ
        if not products:
            continue
        for a in range(0, m - 1, 2):
            ca, cb = cols[a][t0:t1], cols[a + 1][t0:t1]
            b = a
            while b + 4 <= m:
                r0, r1 = cols[b][t0:t1], cols[b + 1][t0:t1]
                r2, r3 = cols[b + 2][t0:t1], cols[b + 3][t0:t1]
                p0 = p1 = p2 = p3 = q0 = q1 = q2 = q3 = 0.0
                for i in range(t):
                    x, z = ca[i], cb[i]
                    w0, w1, w2, w3 = r0[i], r1[i], r2[i], r3[i]
                    p0 += x * w0
                    p1 += x * w1
                    p2 += x * w2
                    p3 += x * w3
                    q0 += z * w0
                    q1 += z * w1
                    q2 += z * w2
                    q3 += z * w3
                G[a, b] += p0
                G[a, b + 1] += p1
                G[a, b + 2] += p2
                G[a, b + 3] += p3
                G[a + 1, b] += q0
                G[a + 1, b + 1] += q1
                G[a + 1, b + 2] += q2
                G[a + 1, b + 3] += q3
                b += 4
            for c in range(b, m):
                rc = cols[c][t0:t1]
                p0 = q0 = 0.0
                for i in range(t):
                    p0 += ca[i] * rc[i]
                    q0 += cb[i] * rc[i]
                G[a, c] += p0
                G[a + 1, c] += q0
        if m % 2:  # the last column alone: its square
            c = cols[m - 1][t0:t1]
            p0 = 0.0
            for i in range(t):
                p0 += c[i] * c[i]
            G[m - 1, m - 1] += p0


def _residual_source(
    X: Any,
    y: Any,
    b: Any,
    scale: float,
    start: int,
    stop: int,
    e: Any,
    xe: Any,
    xs: Any,
    xu: Any,
    out: Any,
) -> None:
    """Rows ``start:stop`` of a C-ordered ``X``: ``e = y - X b`` with ``X'e``, ``X'1``,
    ``X'(e scale)^2``; ``out = (sum u, max |e|, sum e)``."""
    k = X.shape[1]
    te = np.empty(k)
    ts = np.empty(k)
    tu = np.empty(k)
    su = top = se = 0.0
    for t0 in range(start, stop, _TILE):
        t1 = min(t0 + _TILE, stop)
        te[:] = 0.0
        ts[:] = 0.0
        tu[:] = 0.0
        tsu = tse = 0.0
        for i in range(t0, t1):
            acc = 0.0
            for j in range(k):
                acc += X[i, j] * b[j]
            r = y[i] - acc
            e[i] = r
            top = max(top, abs(r))
            tse += r
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
        se += tse
    out[0] = su
    out[1] = top
    out[2] = se


def _residual_columns_source(
    cols: Any,
    y: Any,
    b: Any,
    c0: float,
    scale: float,
    start: int,
    stop: int,
    e: Any,
    xe: Any,
    xs: Any,
    xu: Any,
    out: Any,
) -> None:
    """:func:`_residual_source` of the columns ``cols`` and an implicit constant ``c0``:
    ``e = y - c0 - sum_j b_j cols[j]``, tile by tile of rows: the tile's residuals
    first, four columns at a time, then its cross products, two columns at a time."""
    k = len(cols)
    u = np.empty(_TILE)
    su = top = se = 0.0
    for t0 in range(start, stop, _TILE):
        t1 = min(t0 + _TILE, stop)
        t = t1 - t0
        et = e[t0:t1]
        for i in range(t):
            et[i] = y[t0 + i] - c0
        for j in range(0, k, 4):  # b padded with zeros: a missing column adds 0 * column j
            q0, q1 = cols[j][t0:t1], cols[min(j + 1, k - 1)][t0:t1]
            q2, q3 = cols[min(j + 2, k - 1)][t0:t1], cols[min(j + 3, k - 1)][t0:t1]
            b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
            for i in range(t):
                et[i] = et[i] - b0 * q0[i] - b1 * q1[i] - b2 * q2[i] - b3 * q3[i]
        tsu = tse = 0.0
        for i in range(t):
            r = et[i]
            top = max(top, abs(r))
            tse += r
            v = r * scale
            u[i] = v * v
            tsu += u[i]
        su += tsu
        se += tse
        for j in range(0, k, 2):
            q0, q1 = cols[j][t0:t1], cols[min(j + 1, k - 1)][t0:t1]
            a0 = a1 = a2 = d0 = d1 = d2 = 0.0
            for i in range(t):
                x, z, r, w = q0[i], q1[i], et[i], u[i]
                a0 += x * r
                a1 += x
                a2 += x * w
                d0 += z * r
                d1 += z
                d2 += z * w
            xe[j] += a0
            xs[j] += a1
            xu[j] += a2
            if j + 1 < k:
                xe[j + 1] += d0
                xs[j + 1] += d1
                xu[j + 1] += d2
    out[0] = su
    out[1] = top
    out[2] = se


def _power_sums_source(e: Any, scale: float, start: int, stop: int, out: Any) -> None:
    """``out = (sum u, sum u^2)`` of ``u = e * scale`` over rows ``start:stop``."""
    total = ss = 0.0
    for t0 in range(start, stop, _TILE):
        t1 = min(t0 + _TILE, stop)
        part = s2 = 0.0
        for i in range(t0, t1):
            u = e[i] * scale
            part += u
            s2 += u * u
        total += part
        ss += s2
    out[0] = total
    out[1] = ss


def _central_source(
    e: Any, scale: float, mean: float, mean2: float, start: int, stop: int, out: Any
) -> None:
    """Rows ``start:stop`` of ``u = e * scale``: ``out = (m2, m3, m4, dw_num, tss2)``, the
    sums of ``(u - mean)^p``, of the squared steps from the row before (the first row of
    the data has none), and of ``(u^2 - mean2)^2``."""
    prev = e[max(start - 1, 0)] * scale
    out[:] = 0.0
    for t0 in range(start, stop, _TILE):
        t1 = min(t0 + _TILE, stop)
        a2 = a3 = a4 = steps = q = 0.0
        for i in range(t0, t1):
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
        out[0] += a2
        out[1] += a3
        out[2] += a4
        out[3] += steps
        out[4] += q


class _Kernels(NamedTuple):
    scan: Callable[..., None]
    columns: Callable[..., None]
    residuals: Callable[..., None]
    residual_columns: Callable[..., None]
    power_sums: Callable[..., None]
    central: Callable[..., None]


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
        _columns_source,
        _residual_source,
        _residual_columns_source,
        _power_sums_source,
        _central_source,
    )
    try:
        jit = numba.njit(cache=True, **options)
        return _Kernels(*(interruptible(jit(f)) for f in sources))
    except RuntimeError:  # no writable cache folder: compiled anew in each process
        jit = numba.njit(**options)
        return _Kernels(*(interruptible(jit(f)) for f in sources))


@functools.cache
def _list_type() -> Any:
    """numba's type of a column in a typed list (read-only, contiguous float64)."""
    from numba import types  # type: ignore[import-untyped, import-not-found, unused-ignore]

    return types.Array(types.float64, 1, "C", readonly=True)


def _column_list(columns: Sequence[FloatArray]) -> Any:
    """The columns as a numba typed list: one compiled signature whatever their number."""
    from numba.typed import List  # type: ignore[import-untyped, import-not-found, unused-ignore]

    out = List.empty_list(_list_type())
    for column in columns:
        out.append(read_only(column))
    return out


def _compiled(X: DesignMatrix) -> _Kernels | None:
    """The kernels when they apply to ``X`` (columns, or a float64 array in C or F order,
    with enough rows), else None."""
    if X.shape[0] < KERNEL_MIN_ROWS:
        return None
    if not isinstance(X, Columns) and not (
        X.dtype == np.float64 and (X.flags.c_contiguous or X.flags.f_contiguous)
    ):
        return None
    return _kernels()


def _halves(n: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The two fixed row ranges of ``n`` rows the kernels reduce apart, cut at a tile."""
    cut = (n // (2 * _COLUMN_TILE)) * _COLUMN_TILE
    return (0, cut), (cut, n)


def _two_threads() -> bool:
    """Whether this process may run the two halves at once: two cores, and numba not
    limited to one thread (``NUMBA_NUM_THREADS=1``)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]

    return cores >= 2 and int(getattr(numba.config, "NUMBA_NUM_THREADS", cores)) >= 2


def _in_halves(n: int, work: Callable[[int, int, int], None], width: int = 1) -> None:
    """``work(h, start, stop)`` for both halves of ``n`` rows (:func:`_halves`).

    The second half runs on a thread of its own while this one takes the first
    (the kernels release the GIL) when :func:`_two_threads` and the sweep reads
    at least :data:`_THREAD_MIN_VALUES` values (``n * width``), else after it. Each
    half writes only its own outputs (slot ``h``), which the caller adds in a fixed
    order: the arithmetic, and so every bit of the result, is the same either way.
    A thread is started per call (no pool: nothing to go stale across a fork).
    """
    (s0, e0), (s1, e1) = _halves(n)
    if n * width < _THREAD_MIN_VALUES or not _two_threads():
        work(0, s0, e0)
        work(1, s1, e1)
        return
    failed: list[BaseException] = []

    def second() -> None:
        try:
            work(1, s1, e1)
        except BaseException as exc:  # re-raised in the caller's thread below
            failed.append(exc)

    thread = threading.Thread(target=second, name="duolm-sweep", daemon=True)
    thread.start()
    try:
        work(0, s0, e0)
    finally:
        thread.join()
    if failed:
        raise failed[0]


# ---------------------------------------------------------------- the sweeps


def scan(X: FloatArray) -> ColumnScan:
    """Column sums of ``X`` (shape (n, k), n >= 1) and the count of entries of each column
    that differ from its first, one pass.

    A sum is finite only if every entry of its column is (an overflowing sum
    is inf too: callers then look at the entries). Column j is constant
    exactly when ``varies[j] == 0``.
    """
    k = X.shape[1]
    kernels = _compiled(X)
    first = np.array(X[0], dtype=np.float64)
    if kernels is None:
        with np.errstate(over="ignore", invalid="ignore"):
            sums = X.sum(axis=0)
        differ = np.count_nonzero(np.not_equal(X, first), axis=0)
        return ColumnScan(sums, first, differ.astype(np.int64))
    s, nd = np.zeros((2, k)), np.zeros((2, k), dtype=np.int64)
    if X.flags.c_contiguous:

        def work(h: int, start: int, stop: int) -> None:
            kernels.scan(X, start, stop, first, s[h], nd[h])
    else:
        cols, none = _column_list([X[:, j] for j in range(k)]), np.zeros((0, 0))

        def work(h: int, start: int, stop: int) -> None:
            kernels.columns(cols, start, stop, False, first, s[h], nd[h], none)

    with np.errstate(over="ignore", invalid="ignore"):
        _in_halves(X.shape[0], work, k)
        return ColumnScan(s[0] + s[1], first, nd[0] + nd[1])


class GramScan(NamedTuple):
    """What one sweep over a design held as :class:`Columns` takes.

    Attributes
    ----------
    gram : ndarray of shape (k + 1, k + 1) or None
        ``[X y]^T [X y]``, the intercept's products taken as sums (None when not
        asked for).
    scan : ColumnScan
        :func:`scan` of ``X`` (the intercept: sum ``n``, first 1, constant).
    y_sum : float
        The sum of ``y``.
    """

    gram: FloatArray | None
    scan: ColumnScan
    y_sum: float


def gram_scan(X: Columns, y: FloatArray, products: bool = True) -> GramScan:
    """The column scan of ``X`` held as columns, the sum of ``y`` and, when ``products``,
    ``[X y]^T [X y]``, in one pass.

    Non-finite values give non-finite sums and products (the caller then
    looks at the entries). Without the compiled kernels, or for few rows, of
    ``X`` built (:attr:`Columns.array`).
    """
    kernels = _compiled(X)
    if kernels is None:
        A = X.array
        with np.errstate(over="ignore", invalid="ignore"):
            return GramScan(gram(A, y) if products else None, scan(A), float(y.sum()))
    n, k = X.shape
    m = len(X.parts) + 1
    G, s, nd = np.zeros((2, m, m)), np.zeros((2, m)), np.zeros((2, m), dtype=np.int64)
    columns = [*X.parts, y]
    first = np.array([c[0] for c in columns])
    cols = _column_list(columns)

    def work(h: int, start: int, stop: int) -> None:
        kernels.columns(cols, start, stop, products, first, s[h], nd[h], G[h])

    with np.errstate(over="ignore", invalid="ignore"):
        _in_halves(n, work, m)
        upper = np.triu(G[0] + G[1])
        sums = s[0] + s[1]
    where = np.append(X.positions, k)  # column a of the sweep is column where[a] of [X y]
    out = ColumnScan(np.full(k, float(n)), np.ones(k), np.zeros(k, dtype=np.int64))
    out.sums[where[:-1]] = sums[:-1]
    out.first[where[:-1]] = first[:-1]
    out.varies[where[:-1]] = (nd[0] + nd[1])[:-1]
    if not products:
        return GramScan(None, out, float(sums[-1]))
    full = np.empty((k + 1, k + 1))
    full[np.ix_(where, where)] = upper + np.triu(upper, 1).T
    if X.intercept is not None:
        full[X.intercept, where] = full[where, X.intercept] = sums
        full[X.intercept, X.intercept] = n
    return GramScan(full, out, float(sums[-1]))


def gram(X: DesignMatrix, y: FloatArray) -> FloatArray:
    """``[X y]^T [X y]``, shape (k + 1, k + 1), reading each tile of rows once from memory.

    For an array, BLAS takes each tile's ``X'X`` (``syrk``); ``X'y`` and ``y'y``
    follow while the tile is in cache. :class:`Columns` are read by
    :func:`gram_scan`. Non-finite values give a non-finite result.
    """
    if isinstance(X, Columns):
        G = gram_scan(X, y).gram
        assert G is not None
        return G
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


def residuals(X: DesignMatrix, y: FloatArray, b: FloatArray, unit: float) -> ResidualSweep:
    """``e = y - X b`` and the cross products of one pass (see :class:`ResidualSweep`).

    Parameters
    ----------
    X : ndarray of shape (n, k) or Columns
    y : ndarray of shape (n,)
    b : ndarray of shape (k,)
    unit : float
        A power of two near the residuals' size: ``u = (e / unit)^2``.
    """
    n, k = X.shape
    kernels = _compiled(X)
    b = np.ascontiguousarray(b, dtype=np.float64)
    if kernels is None:
        A = as_array(X)
        e = y - A @ b
        u = (e / unit) ** 2
        return ResidualSweep(
            e,
            A.T @ e,
            A.sum(axis=0),
            A.T @ u,
            float(u.sum()),
            float(np.max(np.abs(e))) if n else 0.0,
            unit,
        )
    y = np.ascontiguousarray(y)
    c0, where = 0.0, np.arange(k)  # column j of the sweep is column where[j] of X
    if isinstance(X, Columns):
        where = X.positions
        c0 = 0.0 if X.intercept is None else float(b[X.intercept])
        parts: Sequence[FloatArray] | None = X.parts
    else:
        parts = None if X.flags.c_contiguous else [X[:, j] for j in range(k)]
    p = len(where)
    e = np.empty(n)
    xe, xs, xu, out = np.zeros((2, p)), np.zeros((2, p)), np.zeros((2, p)), np.zeros((2, 3))
    scale = 1.0 / unit
    if parts is None:
        assert not isinstance(X, Columns)

        def work(h: int, start: int, stop: int) -> None:
            kernels.residuals(X, y, b, scale, start, stop, e, xe[h], xs[h], xu[h], out[h])
    else:
        cols = _column_list(parts)
        bp = np.zeros(-(-p // 4) * 4)  # padded to whole blocks of four columns with zeros
        bp[:p] = b[where]

        def work(h: int, start: int, stop: int) -> None:
            kernels.residual_columns(
                cols, y, bp, c0, scale, start, stop, e, xe[h], xs[h], xu[h], out[h]
            )

    with np.errstate(over="ignore", invalid="ignore"):
        _in_halves(n, work, p + 1)
        su, se = float(out[0, 0] + out[1, 0]), float(out[0, 2] + out[1, 2])
        full = np.empty((3, k))
        full[:, where] = np.stack([xe[0] + xe[1], xs[0] + xs[1], xu[0] + xu[1]])
    if isinstance(X, Columns) and X.intercept is not None:
        full[:, X.intercept] = (se, float(n), su)
    return ResidualSweep(e, full[0], full[1], full[2], su, float(out[:, 1].max()), unit)


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
    e = np.ascontiguousarray(e)
    scale = 1.0 / unit
    sums, central = np.zeros((2, 2)), np.zeros((2, 5))
    _in_halves(e.size, lambda h, start, stop: kernels.power_sums(e, scale, start, stop, sums[h]))
    total, ss = (float(v) for v in sums[0] + sums[1])
    mean, mean2 = total / e.size, ss / e.size

    def work(h: int, start: int, stop: int) -> None:
        kernels.central(e, scale, mean, mean2, start, stop, central[h])

    _in_halves(e.size, work)
    m2, m3, m4, dw, tss = (float(v) for v in central[0] + central[1])
    first, last = float(e[0]) / unit, float(e[-1]) / unit
    return ResidualMoments(int(e.size), mean, m2, m3, m4, ss, dw, first, last, unit), tss
