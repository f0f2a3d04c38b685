"""The HC sandwich's meats: one routine for in-memory fits, streamed batches and the kernel.

With ``W = X Rxx^-1`` (rows of the thin Q factor, :meth:`SqrtStat.whiten`),
leverages ``h = |w_i|^2`` and residuals ``e``, the heteroskedasticity-consistent
covariances of MacKinnon & White (1985) are ``Rxx^-1 M Rxx^-T`` with the meat
``M = W^T diag(w) W`` and the weights

    HC0: e^2,   HC2: e^2 / (1 - h),   HC3: e^2 / (1 - h)^2

(HC1 is HC0 times ``n / (n - k)``). :func:`hc_weights` is written with
arithmetic only, so the same function serves numpy arrays here and, compiled,
the scalar loop of the streamed batch kernel (:mod:`duolm._stream._kernels`).

Errors that are dependent need other meats, functions of the score rows
``u_t = w_t e_t`` only; both are kept by mergeable, immutable accumulators so
that a streamed second pass (or Dask partitions) builds them batch by batch,
exactly as in memory:

* :class:`HACMeat` (Newey & West 1987, eq. 2): ``S = sum_l k_l (G_l + G_l^T)``
  with ``G_l = sum_t u_t u_{t-l}^T`` and Bartlett weights ``k_l = 1 - l/(L+1)``,
  plus the first and last ``L`` score rows, so that the lag products across a
  batch boundary are added when consecutive pieces are merged;
* :class:`ClusterMeat` (Liang & Zeger 1986; Arellano 1987): the score sum
  ``s_g`` of every group seen, meat ``sum_g s_g s_g^T``; two-way clustering is
  three of them, ``V_1 + V_2 - V_12`` with the intersection groups (Cameron,
  Gelbach & Miller 2011, eq. 2.11).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm._checks import KERNELS, Kernel, check_kernel, check_maxlags
from duolm.core._jit import compiled
from duolm.errors import DataError

__all__ = [
    "HC_KINDS",
    "KERNELS",
    "LEVERAGE_ONE",
    "ClusterMeat",
    "HACMeat",
    "Kernel",
    "default_maxlags",
    "hc_weights",
    "kernel_weights",
    "meat",
    "meats",
]

FloatArray = NDArray[np.float64]

#: The meats a pass accumulates, in this order (HC1 rescales HC0's).
HC_KINDS = ("HC0", "HC2", "HC3")

#: A row whose leverage is within this of 1 is fitted exactly by construction
#: (e.g. the only row of a category): HC2/HC3 divide by 1 - h and are undefined.
#: Leverages computed from R carry errors near 1e-15.
LEVERAGE_ONE = 1e-10


def hc_weights(e: Any, h: Any) -> tuple[Any, Any, Any]:
    """The HC0, HC2 and HC3 weights of residuals ``e`` with leverages ``h``.

    Scalars or arrays alike (arithmetic only). A leverage of 1 gives inf or
    NaN for HC2 and HC3: callers test ``1 - h <= LEVERAGE_ONE`` first.
    """
    one_minus = 1.0 - h
    e2 = e * e
    return e2, e2 / one_minus, e2 / (one_minus * one_minus)


def meat(W: FloatArray, e: FloatArray, h: FloatArray, kind: str) -> FloatArray:
    """``W^T diag(w) W`` for the weights of ``kind`` ("HC0", "HC2" or "HC3")."""
    with np.errstate(divide="ignore", invalid="ignore"):
        w = hc_weights(e, h)[HC_KINDS.index(kind)]
    out: FloatArray = W.T @ (W * w[:, None])
    return out


def meats(W: FloatArray, e: FloatArray, h: FloatArray) -> tuple[FloatArray, bool]:
    """The three meats stacked (3, r, r), and whether some row has leverage 1."""
    lev_one = bool(np.any(1.0 - h <= LEVERAGE_ONE))
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = hc_weights(e, h)
    return np.stack([W.T @ (W * w[:, None]) for w in weights]), lev_one


# -- HAC -------------------------------------------------------------------------------
def default_maxlags(nobs: int) -> int:
    """Newey & West's (1994) rule ``floor(4 (n / 100)^(2/9))``, statsmodels' default."""
    rule: float = 4.0 * (nobs / 100.0) ** (2.0 / 9.0)
    return math.floor(rule)


def kernel_weights(maxlags: int, kernel: Kernel = "bartlett") -> FloatArray:
    """Weights ``w_0 .. w_L`` of the lag products (statsmodels' ``weights_bartlett``, ...)."""
    if kernel == "bartlett":
        out: FloatArray = 1.0 - np.arange(maxlags + 1) / (maxlags + 1.0)
        return out
    return np.ones(maxlags + 1)


def _lag_sum(later: FloatArray, earlier: FloatArray, offset: int, maxlags: int) -> list[FloatArray]:
    """``sum u_t u_s^T`` over t in ``later``, s in ``earlier`` with ``1 <= t - s <= maxlags``.

    Row i of ``later`` sits at time ``offset + i`` and row j of ``earlier`` at
    time j. Returns one k x k matrix per lag 1..maxlags.
    """
    k = later.shape[1]
    out = [np.zeros((k, k)) for _ in range(maxlags)]
    for lag in range(1, maxlags + 1):
        # pairs (i, j) with offset + i - j == lag
        i_lo = max(0, lag - offset)
        i_hi = min(later.shape[0], earlier.shape[0] + lag - offset)
        if i_hi <= i_lo:
            continue
        j_lo = offset + i_lo - lag
        n_pairs = i_hi - i_lo
        out[lag - 1] = later[i_lo:i_hi].T @ earlier[j_lo : j_lo + n_pairs]
    return out


#: From this many lags on, :func:`_weighted_lags` filters the rows once (two products)
#: instead of taking one product per lag: at 51 lags (Newey & West's rule for 10^7
#: rows) and 6 columns, 0.42 s -> 0.08 s of CPU per 10^6 rows; below ~8 lags the
#: per-lag products, each one BLAS pass, are as fast.
_FILTER_MIN_LAGS = 8

#: Rows per banded block of the filter: its products cost ``(rows + L) k`` per row, so
#: short blocks waste fewer, and 64 rows balance that against numpy's cost per call.
_FILTER_ROWS = 64

#: Rows of the filtered copy held at once (memory bounded whatever the rows).
_FILTER_CHUNK = 8192


#: Rows per tile of the compiled lag products: the tile's rows, the rows it reaches back
#: to and its filtered rows stay in the L1/L2 cache.
_LAG_TILE = 256

#: Fewer rows than this take numpy's products (no compilation for small data); with
#: fewer lags than this, one BLAS product per lag is as fast.
_LAG_KERNEL_MIN_ROWS = 20_000
_LAG_KERNEL_MIN_LAGS = 2

#: From this many lags on, the compiled filter of Bartlett's or uniform weights takes
#: running sums (a few operations a row, a chain of dependent additions) rather than one
#: multiply-add per lag (at 51 lags and 131,072 x 6 rows: 2.4 ms against 4.3 ms here;
#: at 4 lags the per-lag sweeps are faster).
_RUNNING_MIN_LAGS = 12


def _lag_products_source(u: Any, w: Any, running: int, out: Any) -> None:
    """``out += sum_t u_t v_t^T`` with ``v_t = sum_{l=1..L} w[l] u_{t-l}`` (rows before
    the first count as zero), a tile of rows at a time, column-major: the tile's rows
    and the ``L`` rows before it transposed, each column's ``v``, then the tile's
    ``k x k`` dot products (they vectorise). ``u`` is C-contiguous.

    ``running`` 0: ``v`` by one multiply-add per lag (any weights). 1 (uniform
    weights) or 2 (Bartlett's, ``w_l = (L + 1 - l) / (L + 1)``): by running sums, a
    few operations a row whatever ``L``: ``S_t = sum_l u_{t-l}`` and
    ``T_t = sum_l (L + 1 - l) u_{t-l}`` follow ``S_{t+1} = S_t + u_t - u_{t-L}``,
    ``T_{t+1} = T_t - S_t + L u_t``, and ``v_t`` is ``S_t`` or ``T_t / (L + 1)``; both
    are summed afresh from the rows at each tile's start, so rounding cannot build up
    beyond one tile.
    """
    n, k = u.shape
    L = w.shape[0] - 1
    T = _LAG_TILE
    U = np.zeros((k, L + T))  # columns: the L rows before the tile, then the tile's rows
    V = np.empty((k, T))
    scale = 1.0 / (L + 1.0)
    for a in range(0, n, T):
        b = min(n, a + T)
        m = b - a
        first = max(0, a - L)
        pad = L - (a - first)  # rows before row 0 count as zero
        for q in range(k):
            Uq = U[q]
            for i in range(pad):
                Uq[i] = 0.0
            for i in range(b - first):
                Uq[pad + i] = u[first + i, q]
        for q in range(k):
            Uq = U[q]
            Vq = V[q]
            if running > 0:
                S = 0.0
                R = 0.0
                for i in range(L):  # row a - L + i, lag L - i, Bartlett weight i + 1
                    S += Uq[i]
                    R += (i + 1.0) * Uq[i]
                old = Uq[:m]
                new = Uq[L : L + m]
                if running == 1:
                    for i in range(m):
                        Vq[i] = S
                        S += new[i] - old[i]
                else:
                    for i in range(m):
                        Vq[i] = R * scale
                        R += L * new[i] - S
                        S += new[i] - old[i]
                continue
            for i in range(m):
                Vq[i] = 0.0
            lag = 1
            while lag + 3 <= L:  # four lags per sweep of Vq: fewer loads and stores
                w0, w1, w2, w3 = w[lag], w[lag + 1], w[lag + 2], w[lag + 3]
                s0 = Uq[L - lag : L - lag + m]
                s1 = Uq[L - lag - 1 : L - lag - 1 + m]
                s2 = Uq[L - lag - 2 : L - lag - 2 + m]
                s3 = Uq[L - lag - 3 : L - lag - 3 + m]
                for i in range(m):
                    Vq[i] += (w0 * s0[i] + w1 * s1[i]) + (w2 * s2[i] + w3 * s3[i])
                lag += 4
            while lag <= L:
                wl = w[lag]
                src = Uq[L - lag : L - lag + m]
                for i in range(m):
                    Vq[i] += wl * src[i]
                lag += 1
        for p in range(k):
            Up = U[p][L : L + m]
            for q in range(k):
                Vq = V[q]
                acc = 0.0
                for i in range(m):
                    acc += Up[i] * Vq[i]
                out[p, q] += acc


@functools.cache
def _lag_kernel() -> Callable[..., None] | None:
    return compiled(_lag_products_source, fastmath=True)


def _weighted_lags(u: FloatArray, w: FloatArray, kernel: Kernel | None = None) -> FloatArray:
    """``sum_{l=1..L} w_l G_l`` with ``G_l = sum_t u_t u_{t-l}^T`` (one block of rows).

    The sum is ``sum_t u_t v_t^T`` for the filtered rows ``v_t = sum_{l=1..L}
    w_l u_{t-l}`` (rows before the first count as zero). Large blocks take the
    compiled :func:`_lag_products_source` (by running sums when ``kernel`` says the
    weights are Bartlett's or uniform); otherwise, with many lags, each
    block of rows' ``v`` is one banded (Toeplitz) product with the rows it
    reaches back to, and ``u^T v`` is taken chunk by chunk; with few, one
    product per lag. The same sums in other orders: equal to rounding (tested
    against the per-lag sums).
    """
    n, k = u.shape
    L = w.shape[0] - 1
    out = np.zeros((k, k))
    fn = _lag_kernel() if n >= _LAG_KERNEL_MIN_ROWS and L >= _LAG_KERNEL_MIN_LAGS else None
    if fn is not None:
        running = 0
        if kernel is not None and L >= _RUNNING_MIN_LAGS:
            running = {"uniform": 1, "bartlett": 2}[kernel]
        fn(np.ascontiguousarray(u, dtype=np.float64), np.asarray(w, dtype=np.float64), running, out)
        return out
    if L < _FILTER_MIN_LAGS or n < 2 * _FILTER_ROWS:
        for lag in range(1, min(L, n - 1) + 1):
            out += w[lag] * (u[lag:].T @ u[:-lag])
        return out
    m = _FILTER_ROWS
    band = np.zeros((m, m + L))  # row i: w_l at column i + L - l
    rows = np.arange(m)
    for lag in range(1, L + 1):
        band[rows, rows + L - lag] = w[lag]
    v = np.empty((min(n, _FILTER_CHUNK), k))
    for chunk in range(0, n, _FILTER_CHUNK):
        stop = min(n, chunk + _FILTER_CHUNK)
        for start in range(chunk, stop, m):
            end = min(stop, start + m)
            first = max(0, start - L)  # rows of u the block reaches back to
            skip = L - (start - first)  # band columns that would meet rows before row 0
            np.dot(
                band[: end - start, skip : end - start + L],
                u[first:end],
                v[start - chunk : end - chunk],
            )
        out += u[chunk:stop].T @ v[: stop - chunk]
    return out


@dataclass(frozen=True, eq=False)
class HACMeat:
    """Mergeable accumulator of the Newey-West meat of score rows in time order.

    Attributes
    ----------
    maxlags : int
    kernel : {"bartlett", "uniform"}
    nobs : int
        Score rows seen.
    S : ndarray of shape (k, k)
        ``w_0 G_0 + sum_{l >= 1} w_l (G_l + G_l^T)`` over the rows seen.
    head, tail : ndarray of shape (min(nobs, maxlags), k)
        The first and last score rows, to join the next and previous pieces.
    """

    maxlags: int
    kernel: Kernel
    nobs: int
    S: FloatArray
    head: FloatArray
    tail: FloatArray

    @classmethod
    def empty(cls, k: int, maxlags: int, kernel: Kernel = "bartlett") -> HACMeat:
        """The meat of no rows."""
        z = np.zeros((0, k))
        return cls(check_maxlags(maxlags), check_kernel(kernel), 0, np.zeros((k, k)), z, z)

    @classmethod
    def from_scores(cls, u: FloatArray, maxlags: int, kernel: Kernel = "bartlett") -> HACMeat:
        """The meat of one block of consecutive score rows ``u`` of shape (n, k)."""
        u = np.asarray(u, dtype=np.float64)
        L = check_maxlags(maxlags)
        w = kernel_weights(L, check_kernel(kernel))
        C = _weighted_lags(u, w, kernel)
        S = w[0] * (u.T @ u) + (C + C.T)
        n = u.shape[0]
        return cls(L, kernel, n, S, u[: min(L, n)].copy(), u[n - min(L, n) :].copy())

    def update(self, u: FloatArray) -> HACMeat:
        """Add the next block of score rows (in time order)."""
        return self.merge(HACMeat.from_scores(u, self.maxlags, self.kernel))

    def merge(self, later: HACMeat) -> HACMeat:
        """Join this piece with the one that follows it in time.

        The lag products between the two pieces involve only this piece's
        last ``maxlags`` rows and the other's first ``maxlags`` rows.
        """
        if (later.maxlags, later.kernel) != (self.maxlags, self.kernel):
            raise ValueError("cannot merge HAC meats with different maxlags or kernels")
        if later.S.shape != self.S.shape:
            raise ValueError(
                f"cannot merge HAC meats of {self.S.shape[0]} and {later.S.shape[0]} columns"
            )
        L = self.maxlags
        w = kernel_weights(L, self.kernel)
        S = self.S + later.S
        # later.head row i is at time len(tail) + i relative to tail row 0
        for lag, g in enumerate(_lag_sum(later.head, self.tail, self.tail.shape[0], L), start=1):
            S += w[lag] * (g + g.T)
        head = np.vstack([self.head, later.head])[:L]
        tail = np.vstack([self.tail, later.tail])
        tail = tail[tail.shape[0] - min(L, tail.shape[0]) :]
        return HACMeat(L, self.kernel, self.nobs + later.nobs, S, head, tail)


# -- clusters --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ClusterMeat:
    """Mergeable accumulator of per-group score sums.

    Attributes
    ----------
    groups : pandas.Index
        The group labels seen (a MultiIndex for intersections of two groupings).
    sums : ndarray of shape (G, k)
        Score sum of each group.
    nobs : int
    """

    groups: pd.Index
    sums: FloatArray
    nobs: int

    @classmethod
    def from_scores(cls, u: FloatArray, groups: pd.Index) -> ClusterMeat:
        """Group sums of the score rows ``u`` (n, k) under the labels ``groups`` (n,)."""
        u = np.asarray(u, dtype=np.float64)
        if len(groups) != u.shape[0]:
            raise DataError(f"groups has {len(groups)} labels for {u.shape[0]} rows")
        codes, uniques = _factorize(groups)
        return cls.from_codes(u, codes, uniques)

    @classmethod
    def from_codes(cls, u: FloatArray, codes: NDArray[np.intp], uniques: pd.Index) -> ClusterMeat:
        """:meth:`from_scores` of labels already factorized: ``codes`` (n,) numbers the
        groups ``uniques`` in order of first appearance (as :func:`pandas.factorize`)."""
        return cls(uniques, _group_sums(codes, u, len(uniques)), u.shape[0])

    @classmethod
    def crossed(
        cls,
        u: FloatArray,
        first: tuple[NDArray[np.intp], pd.Index],
        second: tuple[NDArray[np.intp], pd.Index],
    ) -> ClusterMeat:
        """The group sums of the intersection groups of two factorized groupings (each
        ``(codes, uniques)``), labelled by a MultiIndex of the pairs as
        :meth:`from_scores` of the pairs labels them (groups in order of first appearance)."""
        (c1, u1), (c2, u2) = first, second
        key = np.asarray(c1, dtype=np.int64) * max(len(u2), 1) + np.asarray(c2, dtype=np.int64)
        codes, starts = _first_appearance(key)
        labels = pd.MultiIndex.from_arrays([u1[c1[starts]], u2[c2[starts]]])
        return cls.from_codes(u, codes, labels)

    def update(self, u: FloatArray, groups: pd.Index) -> ClusterMeat:
        """Add a block of score rows with their group labels."""
        return self.merge(ClusterMeat.from_scores(u, groups))

    def merge(self, other: ClusterMeat) -> ClusterMeat:
        """Combine with the sums of other rows (order does not matter)."""
        labels = self.groups.append(other.groups)
        codes, uniques = _factorize(labels)
        sums = _group_sums(codes, np.vstack([self.sums, other.sums]), len(uniques))
        return ClusterMeat(uniques, sums, self.nobs + other.nobs)

    @property
    def n_groups(self) -> int:
        """Number of groups seen."""
        return len(self.groups)

    @property
    def meat(self) -> FloatArray:
        """``sum_g s_g s_g^T``."""
        out: FloatArray = self.sums.T @ self.sums
        return out


def _factorize(labels: pd.Index) -> tuple[NDArray[np.intp], pd.Index]:
    """Codes and unique labels; a MultiIndex (intersection groups) level by level, without
    building its tuples (pandas' own factorize of a MultiIndex materialises them: slow)."""
    if not isinstance(labels, pd.MultiIndex):
        codes, uniques = labels.factorize()
        return codes, pd.Index(uniques)
    key = np.zeros(len(labels), dtype=np.int64)
    for level_codes, level in zip(labels.codes, labels.levels, strict=True):
        # the MultiIndex's own codes of each level (-1: a missing label, its own group)
        key = key * (len(level) + 1) + (np.asarray(level_codes, dtype=np.int64) + 1)
    codes, first = _first_appearance(key)
    out: pd.Index = labels[first]
    return codes, out


def _first_appearance(key: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """``pd.factorize(key)``'s codes and the first row of each group."""
    codes, _ = pd.factorize(key)
    # pd.factorize numbers groups in order of first appearance: a group's first row is
    # where the running maximum of the codes goes up
    top = np.maximum.accumulate(codes) if len(codes) else codes
    first = np.flatnonzero(np.diff(top, prepend=-1) > 0)
    return codes, first


#: Fewer rows than this take numpy's bincounts (no compilation for small data).
_GROUP_KERNEL_MIN_ROWS = 20_000


def _group_sums_source(codes: Any, u: Any, out: Any) -> None:
    """``out[g] += u[i]`` for every row i of group ``g = codes[i]``, in row order."""
    n, k = u.shape
    for i in range(n):
        g = codes[i]
        for j in range(k):
            out[g, j] += u[i, j]


@functools.cache
def _group_kernel() -> Callable[..., None] | None:
    return compiled(_group_sums_source)


def _group_sums(codes: NDArray[np.intp], u: FloatArray, n_groups: int) -> FloatArray:
    """Row sums of ``u`` by group code, shape (n_groups, k).

    One compiled pass over the rows for large blocks (C order); otherwise one
    bincount per column. Both add each group's rows in row order: the same bits.
    """
    kernel = _group_kernel() if len(codes) >= _GROUP_KERNEL_MIN_ROWS else None
    if kernel is not None and u.flags.c_contiguous:
        out = np.zeros((n_groups, u.shape[1]))
        kernel(np.asarray(codes, dtype=np.intp), u, out)
        return out
    out = np.empty((n_groups, u.shape[1]))
    for j in range(u.shape[1]):
        out[:, j] = np.bincount(codes, weights=u[:, j], minlength=n_groups)
    return out
