"""The run-length recursion behind :func:`duolm.changepoints`: compiled and numpy.

Both paths run Adams & MacKay's recursion (see :mod:`duolm.bayesian._changepoints`)
with the same arithmetic: each run length's NIG posterior is an upper factor
``R`` (columns ``[x..., y]``, ``R^T R = xi``), the new row is rotated into it
by Givens rotations, and the rotation yields the Student t predictive.

- :func:`_kernel_source`, compiled by numba (``@njit(cache=True)``, once per
  process from numba's cache), loops over the rows and the run lengths; the
  runs live in buffers that double when full, oldest first.
- :func:`_recursion_numpy`, used without numba (or with ``NUMBA_DISABLE_JIT=1``),
  loops over the rows in Python and vectorises each step over the run
  lengths with numpy.

They agree to rounding (the tests hold them to 1e-12). Both take the state of
the recursion and give it back, so :class:`RunLengthStream` feeds the rows
batch by batch (streamed data) holding only the surviving run lengths between
batches; :func:`runlength_recursion` is one batch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from duolm.core._jit import interruptible

__all__ = ["RunLengthStream", "RunLengths", "runlength_recursion"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_HALF_LOG_PI = 0.5 * math.log(math.pi)

#: From this ``a`` on, ``lgamma(a + 1/2) - lgamma(a)`` is its asymptotic series
#: ``log(a)/2 - sum c_j a^-(2j+1)`` (DLMF 5.11.13, Bernoulli polynomials) to ``a^-11``,
#: exact to rounding there, instead of the difference of two large log-gammas (which
#: loses ``log10(lgamma(a))`` digits: 9 at a = 5e5, a run of a million rows).
_A_SERIES = 16.0
_LG1, _LG3, _LG5, _LG7, _LG9, _LG11 = (
    1.0 / 8.0,
    1.0 / 192.0,
    1.0 / 640.0,
    17.0 / 14336.0,
    31.0 / 18432.0,
    2073.0 / 540672.0,
)


def _lgamma_half(a: float) -> float:
    """``lgamma(a + 1/2) - lgamma(a)`` for one ``a > 0`` (series from :data:`_A_SERIES`)."""
    if a >= _A_SERIES:
        ia = 1.0 / a
        ia2 = ia * ia
        corr = ia * (_LG1 - ia2 * (_LG3 - ia2 * (_LG5 - ia2 * (_LG7 - ia2 * (_LG9 - ia2 * _LG11)))))
        return 0.5 * math.log(a) - corr
    return math.lgamma(a + 0.5) - math.lgamma(a)


def _lgamma_half_array(a: FloatArray) -> FloatArray:
    """:func:`_lgamma_half` of each entry (the same operations, vectorised)."""
    big = a >= _A_SERIES
    ia = 1.0 / np.where(big, a, 1.0)
    ia2 = ia * ia
    corr = ia * (_LG1 - ia2 * (_LG3 - ia2 * (_LG5 - ia2 * (_LG7 - ia2 * (_LG9 - ia2 * _LG11)))))
    small = np.where(big, 1.0, a)
    out: FloatArray = np.where(
        big,
        0.5 * np.log(np.where(big, a, 1.0)) - corr,
        special.gammaln(small + 0.5) - special.gammaln(small),
    )
    return out


@dataclass(frozen=True, eq=False)
class RunLengths:
    """What the recursion leaves.

    Attributes
    ----------
    map_run_length : ndarray of int, shape (n,)
    change_prob : ndarray of shape (n,)
    log_evidence : float
    boundaries : tuple of int
        Starts of the MAP segmentation's segments.
    post_ptr : ndarray of int, shape (n + 1,)
        Row t's stored run lengths are ``post_len[post_ptr[t]:post_ptr[t + 1]]``.
    post_len : ndarray of int
    post_prob : ndarray
        Their probabilities ``P(r_t = r | y_1..t)``.
    max_runs : int
        Largest number of run lengths held at once.
    """

    map_run_length: IntArray
    change_prob: FloatArray
    log_evidence: float
    boundaries: tuple[int, ...]
    post_ptr: IntArray
    post_len: IntArray
    post_prob: FloatArray
    max_runs: int


def _trace(back: IntArray) -> tuple[int, ...]:
    """Segment starts from the Viterbi back-pointers (the last segment's length per row)."""
    bounds: list[int] = []
    s = len(back)
    while s > 0:
        s -= int(back[s - 1])
        bounds.append(s)
    return tuple(reversed(bounds))


def runlength_recursion(
    Z: FloatArray,
    R0: FloatArray,
    a0: float,
    hazard: float,
    tol: float,
    lag: int,
    keep: float,
    *,
    compiled: bool | None = None,
) -> RunLengths:
    """Run the recursion over the rows ``Z = [X y]`` from the prior factor ``R0`` and ``a0``.

    Parameters
    ----------
    Z : ndarray of shape (n, k + 1)
    R0 : ndarray of shape (k + 1, k + 1)
        The proper prior's upper factor (positive diagonal).
    a0 : float
        The prior's ``a`` (> 0).
    hazard, tol, lag, keep
        As :func:`duolm.changepoints` checked them.
    compiled : bool, optional
        None: the compiled kernel when numba is there; True: require it; False: numpy.
    """
    stream = RunLengthStream(R0, a0, hazard, tol, lag, keep, compiled=compiled)
    stream.feed(Z)
    return stream.finish()


class RunLengthStream:
    """The recursion fed batch by batch (:meth:`feed`), then :meth:`finish`.

    Between batches it holds only what the next row needs: the surviving run
    lengths (each its factor, length, probability, evidence and the Viterbi
    score where it started), the last ``lag + 1`` rows' change probabilities in
    the making, and a few numbers; per row it records the outputs
    (:class:`RunLengths`). Any split of the rows into batches gives the same
    arithmetic, row by row, as one batch.

    Parameters
    ----------
    R0, a0, hazard, tol, lag, keep, compiled
        As :func:`runlength_recursion`.
    """

    def __init__(
        self,
        R0: FloatArray,
        a0: float,
        hazard: float,
        tol: float,
        lag: int,
        keep: float,
        *,
        compiled: bool | None = None,
    ) -> None:
        self._R0 = np.ascontiguousarray(R0, dtype=np.float64)
        self._a0 = float(a0)
        self._logs = (
            math.log(hazard),
            math.log1p(-hazard),
            math.log(tol) if tol > 0 else -math.inf,
            int(lag),
            math.log(keep) if keep > 0 else -math.inf,
        )
        kernel = _compiled_kernel() if compiled is not False else None
        if compiled and kernel is None:
            raise RuntimeError("the compiled kernel needs numba (and NUMBA_DISABLE_JIT unset)")
        self._fn: Callable[..., tuple[Any, ...]] = (
            kernel if kernel is not None else _recursion_numpy
        )
        p = self._R0.shape[0]
        width = lag + 1
        # the state: runs (factor, length, log P, log evidence, V where the run started),
        # how many, the change probabilities in the making, V now, log p(y so far), most runs
        self._state: tuple[Any, ...] = (
            np.empty((0, p, p)),
            np.empty(0, dtype=np.int64),
            np.empty(0),
            np.empty(0),
            np.empty(0),
            0,
            np.zeros((width, width)),
            0.0,
            0.0,
            0,
        )
        self._rows = 0
        self._out: dict[str, list[Any]] = {
            k: [] for k in ("map", "change", "back", "count", "len", "prob")
        }

    @property
    def rows(self) -> int:
        """Rows fed so far."""
        return self._rows

    @property
    def runs(self) -> int:
        """Run lengths held now."""
        return int(self._state[5])

    def feed(self, Z: FloatArray) -> None:
        """Continue the recursion over the rows ``Z = [X y]`` (shape ``(n, k + 1)``)."""
        Z = np.ascontiguousarray(Z, dtype=np.float64)
        nb = Z.shape[0]
        if nb == 0:
            return
        s0 = self._rows
        lag = self._logs[3]
        res = self._fn(Z, s0, *self._state, self._R0, self._a0, *self._logs)
        self._state = res[:10]
        map_len, change, back, count, slen, sprob = res[10:]
        out = self._out
        out["map"].append(map_len)
        out["back"].append(back)
        out["count"].append(count)
        out["len"].append(slen)
        out["prob"].append(sprob)
        # change[t - (s0 - lag)]: the rows t that this batch finished (row 0's is 0)
        lo, hi = max(0, s0 - lag), max(0, s0 + nb - lag)
        out["change"].append(change[lo - (s0 - lag) : hi - (s0 - lag)])
        self._rows = s0 + nb

    def finish(self) -> RunLengths:
        """The outputs of every row fed (the last ``lag`` rows' change given the rows there are)."""
        n, lag = self._rows, self._logs[3]
        hist = self._state[6]
        last = np.zeros(min(lag, n))
        _last_rows(n, hist, last, lag, n - len(last))
        out = self._out
        ints = np.empty(0, dtype=np.int64)
        count = np.concatenate(out["count"]) if n else ints
        return RunLengths(
            map_run_length=np.concatenate(out["map"]) if n else ints,
            change_prob=np.concatenate([*out["change"], last]),
            log_evidence=float(self._state[8]),
            boundaries=_trace(np.concatenate(out["back"]) if n else ints),
            post_ptr=np.concatenate([[0], np.cumsum(count)]).astype(np.int64),
            post_len=np.concatenate(out["len"]) if n else ints,
            post_prob=np.concatenate(out["prob"]) if n else np.empty(0),
            max_runs=int(self._state[9]),
        )


# ------------------------------------------------------------------ the numpy path


def _rotate(R: FloatArray, z: FloatArray, a: FloatArray) -> FloatArray:
    """Rotate row ``z`` into each factor of ``R`` in place; return each log predictive.

    Parameters
    ----------
    R : ndarray of shape (m, k + 1, k + 1)
        Upper factors of ``m`` NIG posteriors (columns ``[x..., y]``); updated.
    z : ndarray of shape (k + 1,)
        The new row ``[x, y]``.
    a : ndarray of shape (m,)
        Each posterior's ``a`` before the row.

    Returns
    -------
    ndarray of shape (m,)
        ``log p(y | x, posterior)`` under each posterior's Student t predictive.
    """
    m, p, _ = R.shape
    k = p - 1
    w = np.repeat(z[None, :], m, axis=0)
    half_logdet = np.zeros(m)  # log sqrt(1 + x^T V x) = sum_j log(c'_j / c_j)
    for j in range(k):
        c = R[:, j, j].copy()
        r = np.hypot(c, w[:, j])
        cos = (c / r)[:, None]
        sin = (w[:, j] / r)[:, None]
        top = R[:, j, j:].copy()
        R[:, j, j:] = cos * top + sin * w[:, j:]
        w[:, j:] = cos * w[:, j:] - sin * top
        half_logdet += np.log(r / c)
    ryy = R[:, k, k].copy()
    e = w[:, k]
    R[:, k, k] = np.hypot(ryy, e)
    q = e / ryy
    out: FloatArray = (
        _lgamma_half_array(a)
        - _HALF_LOG_PI
        - np.log(ryy)
        - half_logdet
        - (a + 0.5) * np.log1p(q * q)
    )
    return out


def _recursion_numpy(
    Z: FloatArray,
    s0: int,
    R: FloatArray,
    length: IntArray,
    logp: FloatArray,
    logev: FloatArray,
    vstart: FloatArray,
    m: int,
    hist: FloatArray,
    v_now: float,
    log_z: float,
    max_runs: int,
    R0: FloatArray,
    a0: float,
    log_h: float,
    log_1mh: float,
    log_tol: float,
    lag: int,
    log_keep: float,
) -> tuple[Any, ...]:
    """The recursion over the rows ``Z`` (global rows ``s0..``), each step vectorised over
    the run lengths (newest run first). Takes and returns the state of
    :class:`RunLengthStream` (``hist`` is updated in place), then per row the MAP run
    length, the change probabilities finished (rows ``s0 - lag..``), the Viterbi
    back-pointers, how many run-length probabilities are stored, and those.
    """
    n = Z.shape[0]
    V = np.empty(n + 1)  # Viterbi: best log p(segmentation of the rows before u, y)
    V[0] = v_now
    back = np.empty(n, dtype=np.int64)
    map_len = np.empty(n, dtype=np.int64)
    change = np.zeros(n + lag)  # rows s0 - lag .. s0 + n - 1
    width = lag + 1
    count = np.zeros(n, dtype=np.int64)
    kept_len: list[IntArray] = [np.empty(0, dtype=np.int64)]
    kept_prob: list[FloatArray] = [np.empty(0)]
    for i in range(n):
        s = s0 + i
        R = np.concatenate([R0[None], R])
        before = np.concatenate([[0], length])
        vstart = np.concatenate([[V[i]], vstart])  # V where the newest run starts
        logpred = _rotate(R, Z[i], a0 + 0.5 * before)
        joint = logpred.copy()
        if s > 0:  # a new segment (hazard) or each run goes on (1 - hazard)
            joint[0] += log_h
            joint[1:] += logp + log_1mh
        step = float(special.logsumexp(joint))
        log_z += step
        logp = joint - step
        length = before + 1
        logev = np.concatenate([[0.0], logev]) + logpred
        max_runs = max(max_runs, len(length))
        start = s + 1 - length  # Viterbi over the last segment's start
        score = vstart + logev + (length - 1) * log_1mh + np.where(start > 0, log_h, 0.0)
        best = int(np.argmax(score))
        V[i + 1], back[i] = score[best], length[best]
        map_len[i] = length[int(np.argmax(logp))]
        stored = logp >= log_keep
        kept_len.append(length[stored])
        kept_prob.append(np.exp(logp[stored]))
        count[i] = int(stored.sum())
        p_short = np.zeros(width + 1)  # P(r_s = r | y_1..s) for r <= lag + 1
        short = length <= width
        p_short[length[short]] = np.exp(logp[short])
        _change_probs(s, p_short, hist, change, lag, s0 - lag)
        if log_tol > -math.inf:
            alive = logp >= log_tol
            if not alive.all():
                R, length, logev, vstart = R[alive], length[alive], logev[alive], vstart[alive]
                logp = logp[alive] - special.logsumexp(logp[alive])
    return (
        R,
        length,
        logp,
        logev,
        vstart,
        len(length),
        hist,
        float(V[n]),
        log_z,
        max_runs,
        map_len,
        change,
        back,
        count,
        np.concatenate(kept_len),
        np.concatenate(kept_prob),
    )


def _change_probs(s: int, p: Any, hist: Any, change: Any, lag: int, off: int) -> None:
    """``rho_t(s)`` for the rows ``t = s - lag .. s``; a row done (``j = lag``) goes to
    ``change[t - off]``.

    ``rho_t(s) = P(r_s = s - t + 1) + sum_{r=1}^{s-t} P(r_s = r) rho_t(s - r)``
    (module docstring of :mod:`duolm.bayesian._changepoints`), with ``p[r] = P(r_s = r | y_1..s)``.
    """
    width = lag + 1
    slot_s = s % width
    for c in range(width):  # row s - width is done; its slot is row s's
        hist[slot_s, c] = 0.0
    for j in range(min(lag, s) + 1):
        t = s - j
        if t == 0:  # the first row starts the data; it is not a change
            continue
        slot = t % width
        rho = p[j + 1]
        for r in range(1, j + 1):
            rho += p[r] * hist[slot, j - r]
        hist[slot, j] = rho
        if j == lag:
            change[t - off] = rho


def _last_rows(n: int, hist: Any, change: Any, lag: int, off: int) -> None:
    """The last ``lag`` rows' change probabilities, given the rows there are, to
    ``change[t - off]``."""
    width = lag + 1
    for j in range(min(lag, n - 1)):
        t = n - 1 - j
        if t > 0:
            change[t - off] = hist[t % width, j]


# ------------------------------------------------------------------ the compiled kernel


def _kernel_source(
    Z: FloatArray,
    s0: int,
    R: FloatArray,
    length: IntArray,
    logp: FloatArray,
    logev: FloatArray,
    vstart: FloatArray,
    m: int,
    hist: FloatArray,
    v_now: float,
    log_z: float,
    max_runs: int,
    R0: FloatArray,
    a0: float,
    log_h: float,
    log_1mh: float,
    log_tol: float,
    lag: int,
    log_keep: float,
) -> tuple[Any, ...]:  # pragma: no cover - run compiled by numba; its agreement is tested
    """The recursion as loops (oldest run first, in buffers that double), for numba.

    Arguments and results as :func:`_recursion_numpy`'s.
    """
    n, p = Z.shape
    k = p - 1
    cap = R.shape[0]
    joint = np.empty(cap)
    logpred = np.empty(cap)
    w = np.empty(p)
    V = np.empty(n + 1)
    V[0] = v_now
    back = np.empty(n, dtype=np.int64)
    map_len = np.empty(n, dtype=np.int64)
    change = np.zeros(n + lag)
    width = lag + 1
    p_short = np.zeros(width + 1)
    ptr = np.zeros(n + 1, dtype=np.int64)
    scap = 1024
    slen = np.empty(scap, dtype=np.int64)
    sprob = np.empty(scap)
    for i0 in range(n):
        s = s0 + i0
        if m == cap:  # double the run buffers
            cap = max(64, 2 * cap)
            R2 = np.empty((cap, p, p))
            R2[:m] = R[:m]
            R = R2
            length2 = np.empty(cap, dtype=np.int64)
            length2[:m] = length[:m]
            length = length2
            logp2 = np.empty(cap)
            logp2[:m] = logp[:m]
            logp = logp2
            logev2 = np.empty(cap)
            logev2[:m] = logev[:m]
            logev = logev2
            vstart2 = np.empty(cap)
            vstart2[:m] = vstart[:m]
            vstart = vstart2
            joint = np.empty(cap)
            logpred = np.empty(cap)
        R[m] = R0  # the newest run: the prior, before its first row
        length[m] = 0
        logev[m] = 0.0
        vstart[m] = V[i0]  # V where the newest run starts
        m += 1
        for i in range(m):  # rotate the row into each run; its predictive on the way
            for c in range(p):
                w[c] = Z[i0, c]
            half_logdet = 0.0
            for j in range(k):
                cjj = R[i, j, j]
                r = math.hypot(cjj, w[j])
                cs = cjj / r
                sn = w[j] / r
                for c in range(j, p):
                    top = R[i, j, c]
                    R[i, j, c] = cs * top + sn * w[c]
                    w[c] = cs * w[c] - sn * top
                half_logdet += math.log(r / cjj)
            ryy = R[i, k, k]
            e = w[k]
            R[i, k, k] = math.hypot(ryy, e)
            a = a0 + 0.5 * length[i]
            q = e / ryy
            logpred[i] = (
                _lgamma_half_c(a)
                - _HALF_LOG_PI
                - math.log(ryy)
                - half_logdet
                - (a + 0.5) * math.log1p(q * q)
            )
        newest = m - 1
        joint[newest] = logpred[newest] + (log_h if s > 0 else 0.0)
        for i in range(newest):
            joint[i] = logpred[i] + (logp[i] + log_1mh)
        top_joint = -math.inf
        for i in range(m):
            top_joint = max(top_joint, joint[i])
        acc = 0.0
        for i in range(m):
            acc += math.exp(joint[i] - top_joint)
        step = top_joint + math.log(acc)
        log_z += step
        max_runs = max(max_runs, m)
        best_score = -math.inf
        best_len = 0
        best_p = -math.inf
        map_r = 0
        for c in range(width + 1):
            p_short[c] = 0.0
        n_stored = 0
        for i in range(m):
            logp[i] = joint[i] - step
            length[i] += 1
            logev[i] += logpred[i]
            start = s + 1 - length[i]
            score = vstart[i] + logev[i] + (length[i] - 1) * log_1mh
            if start > 0:
                score += log_h
            if score > best_score:
                best_score = score
                best_len = length[i]
            if logp[i] > best_p:
                best_p = logp[i]
                map_r = length[i]
            if length[i] <= width:
                p_short[length[i]] = math.exp(logp[i])
            if logp[i] >= log_keep:
                n_stored += 1
        V[i0 + 1] = best_score
        back[i0] = best_len
        map_len[i0] = map_r
        if ptr[i0] + n_stored > scap:
            while ptr[i0] + n_stored > scap:
                scap *= 2
            slen2 = np.empty(scap, dtype=np.int64)
            slen2[: ptr[i0]] = slen[: ptr[i0]]
            slen = slen2
            sprob2 = np.empty(scap)
            sprob2[: ptr[i0]] = sprob[: ptr[i0]]
            sprob = sprob2
        at = ptr[i0]
        for i in range(m):
            if logp[i] >= log_keep:
                slen[at] = length[i]
                sprob[at] = math.exp(logp[i])
                at += 1
        ptr[i0 + 1] = at
        _change_probs_c(s, p_short, hist, change, lag, s0 - lag)
        if log_tol > -math.inf:
            alive = 0
            for i in range(m):
                if logp[i] >= log_tol:
                    if alive != i:
                        R[alive] = R[i]
                        length[alive] = length[i]
                        logev[alive] = logev[i]
                        vstart[alive] = vstart[i]
                        logp[alive] = logp[i]
                    alive += 1
            if alive < m:
                m = alive
                top_joint = -math.inf
                for i in range(m):
                    top_joint = max(top_joint, logp[i])
                acc = 0.0
                for i in range(m):
                    acc += math.exp(logp[i] - top_joint)
                norm = top_joint + math.log(acc)
                for i in range(m):
                    logp[i] -= norm
    stored_len, stored_prob = slen[: ptr[n]].copy(), sprob[: ptr[n]].copy()
    count = ptr[1:] - ptr[:-1]
    return (
        R,
        length,
        logp,
        logev,
        vstart,
        m,
        hist,
        V[n],
        log_z,
        max_runs,
        map_len,
        change,
        back,
        count,
        stored_len,
        stored_prob,
    )


#: Set by :func:`_compiled_kernel` to the compiled :func:`_change_probs` and
#: :func:`_lgamma_half`.
_change_probs_c: Any = None
_lgamma_half_c: Any = None


@functools.cache
def _compiled_kernel() -> Callable[..., tuple[Any, ...]] | None:
    """The numba-compiled kernel, or None without numba (or with ``NUMBA_DISABLE_JIT=1``).

    numba is imported here, on the first call, not with duolm.
    """
    global _change_probs_c, _lgamma_half_c
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return None
    if getattr(numba.config, "DISABLE_JIT", False):
        return None
    helper = numba.njit(nogil=True, error_model="numpy", inline="always")
    _change_probs_c = helper(_change_probs)
    _lgamma_half_c = helper(_lgamma_half)
    try:
        fn: Callable[..., tuple[Any, ...]] = numba.njit(
            cache=True, nogil=True, error_model="numpy"
        )(_kernel_source)
    except RuntimeError:  # no writable cache folder: compiled anew in each process
        fn = numba.njit(nogil=True, error_model="numpy")(_kernel_source)
    return interruptible(fn)
