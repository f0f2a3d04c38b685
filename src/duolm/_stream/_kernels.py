"""Compiled kernels that reduce a streamed batch straight from its columns.

A Parquet batch arrives as one array per column. Stacking them into ``[X y]``
copies the batch once more and hands BLAS a tall, narrow matrix it multiplies
slowly; these kernels read the columns where they are instead, in tiles of
:data:`_TILE` rows that stay in cache while every product of the tile is
taken. They compute what the numpy path of :mod:`duolm._stream._batch` computes
(the core's Gram matrix, :class:`~duolm.core.ResidualMoments`, the HC
meats), equal to rounding:

- :func:`gram`: the Gram matrix of the columns, their sums, and the mean and
  centred sum of squares of the last (``y``);
- :func:`second_pass`: pass 2 in one sweep, residuals never stored: for each
  tile ``e = y - c0 - sum_a b_a x_a``, its central power sums about the
  tile's mean pooled into the running ones by
  :func:`~duolm.core.pool_central` (the same function, compiled), the
  Durbin-Watson sums, and for a robust fit ``W = X Rxx^-1`` by forward
  substitution (as :meth:`~duolm.core.SqrtStat.whiten`), the leverages and the
  three HC meats ``W^T diag(w) W``.

Sums are taken per tile with several accumulators (numba's ``reassoc``: the
loops vectorise) and then added across tiles, so their rounding grows like
``(tile / lanes + n / tile) * eps`` rather than ``n * eps``. NaN and inf still
propagate (no ``nnan``/``ninf`` flags): callers detect non-finite data from the
results and fall back to the checked path. The arithmetic is fixed by the
batch, so a result never depends on timing (checkpoints resume bitwise).

:func:`available` is False without numba or with ``NUMBA_DISABLE_JIT=1``;
callers then use the numpy path. Each kernel is compiled once (a typed list
of columns: one signature whatever the number of columns) on first use, a few
seconds, and loaded from numba's cache after that (about half a second).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from duolm.core import hc_weights, pool_central
from duolm.core._jit import interruptible

FloatArray = NDArray[np.float64]

#: Rows per tile: the tile's columns stay in the L2 cache while all their products are taken.
_TILE = 2048


def _gram_source(cols: Any, G: Any, s: Any, ym: Any) -> None:
    """``G[a, b] += cols[a] . cols[b]`` for ``a <= b``, ``s[a] += sum(cols[a])``, by tiles.

    Up to four products share each pass over ``cols[a]``'s tile, and the first
    of them also takes its sum (fewer loads than one dot product at a time).
    ``ym`` receives the mean and the sum of squared deviations of the last
    column (``y``), tile by tile merged by :func:`~duolm.core.pool_central`.
    """
    m = len(cols)
    n = cols[0].shape[0]
    count = mean = m2 = 0.0
    for lo in range(0, n, _TILE):
        hi = min(lo + _TILE, n)
        t = hi - lo
        total = 0.0
        for a in range(m):
            ca = cols[a][lo:hi]
            b = a
            while b < m:
                width = min(4, m - b)
                run = 0.0
                if width == 4:
                    c0, c1 = cols[b][lo:hi], cols[b + 1][lo:hi]
                    c2, c3 = cols[b + 2][lo:hi], cols[b + 3][lo:hi]
                    a0 = a1 = a2 = a3 = 0.0
                    for i in range(t):
                        x = ca[i]
                        run += x
                        a0 += x * c0[i]
                        a1 += x * c1[i]
                        a2 += x * c2[i]
                        a3 += x * c3[i]
                    G[a, b + 3] += a3
                    G[a, b + 2] += a2
                    G[a, b + 1] += a1
                    G[a, b] += a0
                elif width == 3:
                    c0, c1, c2 = cols[b][lo:hi], cols[b + 1][lo:hi], cols[b + 2][lo:hi]
                    a0 = a1 = a2 = 0.0
                    for i in range(t):
                        x = ca[i]
                        run += x
                        a0 += x * c0[i]
                        a1 += x * c1[i]
                        a2 += x * c2[i]
                    G[a, b + 2] += a2
                    G[a, b + 1] += a1
                    G[a, b] += a0
                elif width == 2:
                    c0, c1 = cols[b][lo:hi], cols[b + 1][lo:hi]
                    a0 = a1 = 0.0
                    for i in range(t):
                        x = ca[i]
                        run += x
                        a0 += x * c0[i]
                        a1 += x * c1[i]
                    G[a, b + 1] += a1
                    G[a, b] += a0
                else:
                    c0 = cols[b][lo:hi]
                    a0 = 0.0
                    for i in range(t):
                        x = ca[i]
                        run += x
                        a0 += x * c0[i]
                    G[a, b] += a0
                if b == a:
                    total = run  # the tile's sum of cols[a], taken by its first pass
                b += width
            s[a] += total
        yt = cols[m - 1][lo:hi]  # y: its tile sum is the last total
        tile_mean = total / t
        tile_m2 = 0.0
        for i in range(t):
            d = yt[i] - tile_mean
            tile_m2 += d * d
        count, mean, m2, _, _ = _pool(count, mean, m2, 0.0, 0.0, t, tile_mean, tile_m2, 0.0, 0.0)
    for a in range(m):  # the lower triangle mirrors the upper
        for b in range(a + 1, m):
            G[b, a] = G[a, b]
    ym[0] = mean
    ym[1] = m2


def _second_source(
    cols: Any,
    where: Any,
    icpt: int,
    coefs: Any,
    c0: float,
    y: Any,
    scale: float,
    R: Any,
    lev_tol: float,
    robust: bool,
    mom: Any,
    out: Any,
    scores: Any,
) -> bool:
    """Pass 2 of a batch, tile by tile, without storing its residuals.

    ``e = y - c0 - sum_a coefs[a] cols[a]``; ``u = e * scale`` (``scale`` a
    power of two). ``mom`` receives ``(mean, m2, m3, m4, ss, dw_num, first,
    last)`` of ``u`` as :class:`~duolm.core.ResidualMoments` holds them:
    each tile's central sums about its own mean, pooled tile after tile by
    :func:`~duolm.core.pool_central`. With ``robust``, ``out[p]``
    receives the sums of ``W^T diag(w_p) W`` (see :func:`_meats_of_tile`) and
    the return value says whether some ``1 - h <= lev_tol``; with ``robust``
    and ``scores`` of ``n`` rows (else 0), ``scores`` receives the score rows
    ``u_t = w_t e_t`` (unscaled ``e``) of the dependent-error meats.
    """
    m = len(cols)
    n = y.shape[0]
    r = R.shape[0]
    e = np.empty(_TILE)
    W = np.empty((r, _TILE))
    wt = np.empty((3, _TILE))
    h = np.empty(_TILE)
    count = mean = m2 = m3 = m4 = ss = dw = first = last = 0.0
    lev_one = False
    for lo in range(0, n, _TILE):
        hi = min(lo + _TILE, n)
        t = hi - lo
        et = e[:t]
        yt = y[lo:hi]
        for i in range(t):
            et[i] = yt[i] - c0
        a = 0
        while a < m:  # up to three columns per pass over the tile's residuals
            width = min(3, m - a)
            if width == 3:
                x0, x1, x2 = cols[a][lo:hi], cols[a + 1][lo:hi], cols[a + 2][lo:hi]
                b0, b1, b2 = coefs[a], coefs[a + 1], coefs[a + 2]
                for i in range(t):
                    et[i] -= b0 * x0[i] + b1 * x1[i] + b2 * x2[i]
            elif width == 2:
                x0, x1 = cols[a][lo:hi], cols[a + 1][lo:hi]
                b0, b1 = coefs[a], coefs[a + 1]
                for i in range(t):
                    et[i] -= b0 * x0[i] + b1 * x1[i]
            else:
                x0 = cols[a][lo:hi]
                b0 = coefs[a]
                for i in range(t):
                    et[i] -= b0 * x0[i]
            a += width
        total = 0.0
        for i in range(t):
            total += et[i]
        tile_mean = total * scale / t
        a2 = a3 = a4 = s2 = 0.0
        for i in range(t):
            u = et[i] * scale
            d = u - tile_mean
            d2 = d * d
            a2 += d2
            a3 += d2 * d
            a4 += d2 * d2
            s2 += u * u
        steps = 0.0
        for i in range(1, t):
            step = (et[i] - et[i - 1]) * scale
            steps += step * step
        if lo == 0:
            first = et[0] * scale
        else:
            join = et[0] * scale - last
            steps += join * join
        last = et[t - 1] * scale
        count, mean, m2, m3, m4 = _pool(count, mean, m2, m3, m4, t, tile_mean, a2, a3, a4)
        ss += s2
        dw += steps
        if robust:
            lev_one |= _meats_of_tile_c(
                cols, where, icpt, R, et, lo, hi, W, wt, h, lev_tol, out, scores
            )
    mom[0] = mean
    mom[1] = m2
    mom[2] = m3
    mom[3] = m4
    mom[4] = ss
    mom[5] = dw
    mom[6] = first
    mom[7] = last
    return lev_one


def _meats_of_tile(
    cols: Any,
    where: Any,
    icpt: int,
    R: Any,
    et: Any,
    lo: int,
    hi: int,
    W: Any,
    wt: Any,
    h: Any,
    lev_tol: float,
    out: Any,
    scores: Any,
) -> bool:
    """Add rows ``lo:hi``'s ``W^T diag(w_p) W`` to ``out[p]``; True if some ``1 - h <= lev_tol``.

    Column ``a`` of ``cols`` is column ``where[a]`` of ``X``; column ``icpt``
    (if >= 0) is the intercept. ``W = X R^-1`` by forward substitution on the
    tile (as :meth:`~duolm.core.SqrtStat.whiten`), ``h = |w|^2``, ``w_0 = e^2``,
    ``w_1 = e^2 / (1 - h)``, ``w_2 = e^2 / (1 - h)^2``; ``W``, ``wt`` and ``h``
    are scratch of :data:`_TILE` columns. When ``scores`` has rows, its rows
    ``lo:hi`` receive ``w_t e_t``.
    """
    r = R.shape[0]
    t = hi - lo
    for a in range(len(cols)):
        c = cols[a][lo:hi]
        Wj = W[where[a]]
        for i in range(t):
            Wj[i] = c[i]
    if icpt >= 0:
        W[icpt, :t] = 1.0
    h[:t] = 0.0
    for j in range(r):  # solve R^T w = x for the tile's rows
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
    w0, w1, w2 = wt[0][:t], wt[1][:t], wt[2][:t]
    for i in range(t):
        w0[i], w1[i], w2[i] = _hc(et[i], h[i])  # the core's HC weights, compiled inline
    # a count, not a minimum: LLVM vectorises an integer sum but not a float min (NaN)
    near_one = 0
    for i in range(t):
        near_one += 1.0 - h[i] <= lev_tol
    lev_one = near_one > 0
    if scores.shape[0] > 0:
        rows = scores[lo:hi]
        for j in range(r):
            Wj = W[j]
            for i in range(t):
                rows[i, j] = Wj[i] * et[i]
    for a in range(r):  # two columns b at a time share each load of W[a] and the weights
        Wa = W[a][:t]
        b = a
        while b + 2 <= r:
            Wb, Wc = W[b][:t], W[b + 1][:t]
            p0 = p1 = p2 = q0 = q1 = q2 = 0.0
            for i in range(t):
                x = Wa[i]
                u = x * Wb[i]
                v = x * Wc[i]
                z0, z1, z2 = w0[i], w1[i], w2[i]
                p0 += u * z0
                p1 += u * z1
                p2 += u * z2
                q0 += v * z0
                q1 += v * z1
                q2 += v * z2
            out[0, a, b] += p0
            out[1, a, b] += p1
            out[2, a, b] += p2
            out[0, a, b + 1] += q0
            out[1, a, b + 1] += q1
            out[2, a, b + 1] += q2
            b += 2
        if b < r:
            Wb = W[b][:t]
            p0 = p1 = p2 = 0.0
            for i in range(t):
                u = Wa[i] * Wb[i]
                p0 += u * w0[i]
                p1 += u * w1[i]
                p2 += u * w2[i]
            out[0, a, b] += p0
            out[1, a, b] += p1
            out[2, a, b] += p2
    return lev_one


#: Set by :func:`_kernels` to the compiled helpers that :func:`_second_source` calls.
_pool: Any = pool_central
_hc: Any = hc_weights
_meats_of_tile_c: Any = _meats_of_tile


class _Kernels(NamedTuple):
    gram: Callable[..., None]
    second: Callable[..., bool]
    make_list: Callable[[Sequence[FloatArray]], Any]


@functools.cache
def _kernels() -> _Kernels | None:
    global _pool, _hc, _meats_of_tile_c
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from numba import types  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from numba.typed import List  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:  # numba is a dependency; kept optional here like the trajectory
        return None
    if getattr(numba.config, "DISABLE_JIT", False):  # NUMBA_DISABLE_JIT=1: no compiling
        return None
    # reassoc lets the tile loops vectorise; without nnan/ninf, NaN and inf propagate.
    options: dict[str, Any] = {
        "nogil": True,
        "error_model": "numpy",
        "fastmath": {"reassoc", "contract"},
    }
    _pool = numba.njit(inline="always", **options)(pool_central)
    _hc = numba.njit(inline="always", **options)(hc_weights)
    _meats_of_tile_c = numba.njit(**options)(_meats_of_tile)
    column = types.Array(types.float64, 1, "C", readonly=True)

    def make_list(arrays: Sequence[FloatArray]) -> Any:
        out = List.empty_list(column)
        for array in arrays:
            out.append(_read_only(array))
        return out

    # numba's cache is keyed on this file: after editing diagnostics.pool_central, which
    # is compiled into _second_source, touch this file (or clear __pycache__).
    try:
        jit = numba.njit(cache=True, **options)
        gram, second = jit(_gram_source), jit(_second_source)
    except RuntimeError:  # no writable cache folder: compiled anew in each process
        jit = numba.njit(**options)
        gram, second = jit(_gram_source), jit(_second_source)
    return _Kernels(interruptible(gram), interruptible(second), make_list)


def _read_only(array: FloatArray) -> FloatArray:
    """A contiguous float64 read-only view (one numba type for pyarrow's and pandas' arrays)."""
    view = np.ascontiguousarray(array, dtype=np.float64).view()
    view.flags.writeable = False
    return view


def available() -> bool:
    """True when the kernels can be compiled (numba present, JIT not disabled)."""
    return _kernels() is not None


def _get() -> _Kernels:
    kernels = _kernels()
    if kernels is None:
        raise RuntimeError("the compiled batch kernels need numba")
    return kernels


def _symmetric(upper: FloatArray) -> FloatArray:
    out: FloatArray = np.triu(upper) + np.triu(upper, 1).T
    return out


def gram(columns: Sequence[FloatArray]) -> tuple[FloatArray, FloatArray, float, float]:
    """``(G, s, y_mean, y_m2)``: the symmetric Gram matrix of the columns, their sums, and
    the mean and sum of squared deviations of the last column."""
    kernels = _get()
    m = len(columns)
    G = np.zeros((m, m))
    s = np.zeros(m)
    ym = np.zeros(2)
    kernels.gram(kernels.make_list(columns), G, s, ym)
    return G, s, float(ym[0]), float(ym[1])


class SecondPass(NamedTuple):
    """What :func:`second_pass` returns: the moments of ``e / unit``, the meats, a flag."""

    moments: tuple[float, float, float, float, float, float, float, float]
    meats: FloatArray | None  # (3, r, r): HC0, HC2, HC3; None unless robust
    lev_one: bool


def second_pass(
    columns: Sequence[FloatArray],
    coefs: FloatArray,
    c0: float,
    y: FloatArray,
    unit: float,
    robust: tuple[Sequence[int], int | None, FloatArray, float] | None = None,
    scores: FloatArray | None = None,
) -> SecondPass:
    """The residuals' moments (and HC meats) of a batch given as columns.

    ``e = y - c0 - sum_a coefs[a] columns[a]``; the moments are
    ``(mean, m2, m3, m4, ss, dw_num, first, last)`` of ``e / unit`` (``unit``
    a power of two), NaN or inf when some value of the batch is. ``robust``
    is ``(where, icpt, R, lev_tol)``: ``columns[a]`` is column ``where[a]`` of
    ``X``, ``icpt`` the position of its intercept (or None), ``R`` the factor
    ``Rxx`` of the fit; the meats are the sums of ``W^T diag(w_p) W`` for
    ``W = X R^-1``, ``w = (e^2, e^2 / (1 - h), e^2 / (1 - h)^2)``, and
    ``lev_one`` says whether some ``1 - h <= lev_tol``. ``scores`` (with
    ``robust``), a C-ordered array of shape ``(n, r)``, receives the score rows
    ``u_t = w_t e_t`` (:mod:`duolm.core._sandwich`).
    """
    kernels = _get()
    where, icpt, R, lev_tol = robust if robust is not None else ((), None, np.zeros((0, 0)), 0.0)
    r = R.shape[0]
    mom = np.zeros(8)
    out = np.zeros((3, r, r))
    lev_one = kernels.second(
        kernels.make_list(columns),
        np.asarray(where, dtype=np.int64),
        -1 if icpt is None else int(icpt),
        np.ascontiguousarray(coefs, dtype=np.float64),
        float(c0),
        _read_only(y),
        1.0 / unit,
        np.ascontiguousarray(R, dtype=np.float64),
        float(lev_tol),
        robust is not None,
        mom,
        out,
        scores if scores is not None else np.zeros((0, r)),
    )
    mean, m2, m3, m4, ss, dw, first, last = (float(v) for v in mom)
    meats = np.stack([_symmetric(p) for p in out]) if robust is not None else None
    return SecondPass((mean, m2, m3, m4, ss, dw, first, last), meats, bool(lev_one))
