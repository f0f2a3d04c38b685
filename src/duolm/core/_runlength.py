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

They agree to rounding (the tests hold them to 1e-12).
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

__all__ = ["RunLengths", "runlength_recursion"]

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
    log_h, log_1mh = math.log(hazard), math.log1p(-hazard)
    log_tol = math.log(tol) if tol > 0 else -math.inf
    log_keep = math.log(keep) if keep > 0 else -math.inf
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    R0 = np.ascontiguousarray(R0, dtype=np.float64)
    kernel = _compiled_kernel() if compiled is not False else None
    if compiled and kernel is None:
        raise RuntimeError("the compiled kernel needs numba (and NUMBA_DISABLE_JIT unset)")
    fn = kernel if kernel is not None else _recursion_numpy
    out = fn(Z, R0, float(a0), log_h, log_1mh, log_tol, int(lag), log_keep)
    map_len, change, back, log_z, ptr, slen, sprob, max_runs = out
    return RunLengths(
        map_run_length=map_len,
        change_prob=change,
        log_evidence=float(log_z),
        boundaries=_trace(back),
        post_ptr=ptr,
        post_len=slen,
        post_prob=sprob,
        max_runs=int(max_runs),
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
    R0: FloatArray,
    a0: float,
    log_h: float,
    log_1mh: float,
    log_tol: float,
    lag: int,
    log_keep: float,
) -> tuple[Any, ...]:
    """The recursion, each step vectorised over the run lengths (newest run first)."""
    n, p = Z.shape
    R = np.empty((0, p, p))
    length = np.empty(0, dtype=np.int64)  # rows in each run before the current row
    logp = np.empty(0)  # log P(r_{t-1} = length | y_1..t-1), normalised
    logev = np.empty(0)  # log p(rows of the run | prior)
    V = np.empty(n + 1)  # Viterbi: best log p(segmentation of rows 0..u-1, y) ending at u
    V[0] = 0.0
    back = np.empty(n, dtype=np.int64)
    map_len = np.empty(n, dtype=np.int64)
    change = np.zeros(n)
    width = lag + 1
    hist = np.zeros((width, width))  # hist[t % width, j] = rho_t(t + j)
    log_z = 0.0
    ptr = np.zeros(n + 1, dtype=np.int64)
    kept_len: list[IntArray] = []
    kept_prob: list[FloatArray] = []
    max_runs = 0
    for s in range(n):
        R = np.concatenate([R0[None], R])
        before = np.concatenate([[0], length])
        logpred = _rotate(R, Z[s], a0 + 0.5 * before)
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
        score = V[start] + logev + (length - 1) * log_1mh + np.where(start > 0, log_h, 0.0)
        best = int(np.argmax(score))
        V[s + 1], back[s] = score[best], length[best]
        map_len[s] = length[int(np.argmax(logp))]
        stored = logp >= log_keep
        kept_len.append(length[stored])
        kept_prob.append(np.exp(logp[stored]))
        ptr[s + 1] = ptr[s] + int(stored.sum())
        p_short = np.zeros(width + 1)  # P(r_s = r | y_1..s) for r <= lag + 1
        short = length <= width
        p_short[length[short]] = np.exp(logp[short])
        _change_probs(s, p_short, hist, change, lag)
        if log_tol > -math.inf:
            alive = logp >= log_tol
            if not alive.all():
                R, length, logev = R[alive], length[alive], logev[alive]
                logp = logp[alive] - special.logsumexp(logp[alive])
    _last_rows(n, hist, change, lag)
    return (
        map_len,
        change,
        back,
        log_z,
        ptr,
        np.concatenate(kept_len),
        np.concatenate(kept_prob),
        max_runs,
    )


def _change_probs(s: int, p: Any, hist: Any, change: Any, lag: int) -> None:
    """``rho_t(s)`` for the rows ``t = s - lag .. s``; a row done (``j = lag``) goes to ``change``.

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
            change[t] = rho


def _last_rows(n: int, hist: Any, change: Any, lag: int) -> None:
    """The last ``lag`` rows' change probabilities, given the rows there are."""
    width = lag + 1
    for j in range(min(lag, n - 1)):
        t = n - 1 - j
        if t > 0:
            change[t] = hist[t % width, j]


# ------------------------------------------------------------------ the compiled kernel


def _kernel_source(
    Z: FloatArray,
    R0: FloatArray,
    a0: float,
    log_h: float,
    log_1mh: float,
    log_tol: float,
    lag: int,
    log_keep: float,
) -> tuple[Any, ...]:  # pragma: no cover - run compiled by numba; its agreement is tested
    """The recursion as loops (oldest run first), for numba."""
    n, p = Z.shape
    k = p - 1
    cap = 64
    R = np.empty((cap, p, p))
    length = np.empty(cap, dtype=np.int64)
    logp = np.empty(cap)
    logev = np.empty(cap)
    joint = np.empty(cap)
    logpred = np.empty(cap)
    w = np.empty(p)
    m = 0
    V = np.empty(n + 1)
    V[0] = 0.0
    back = np.empty(n, dtype=np.int64)
    map_len = np.empty(n, dtype=np.int64)
    change = np.zeros(n)
    width = lag + 1
    hist = np.zeros((width, width))
    p_short = np.zeros(width + 1)
    ptr = np.zeros(n + 1, dtype=np.int64)
    scap = 1024
    slen = np.empty(scap, dtype=np.int64)
    sprob = np.empty(scap)
    log_z = 0.0
    max_runs = 0
    for s in range(n):
        if m == cap:  # double the run buffers
            cap *= 2
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
            joint = np.empty(cap)
            logpred = np.empty(cap)
        R[m] = R0  # the newest run: the prior, before its first row
        length[m] = 0
        logev[m] = 0.0
        m += 1
        for i in range(m):  # rotate the row into each run; its predictive on the way
            for c in range(p):
                w[c] = Z[s, c]
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
            score = V[start] + logev[i] + (length[i] - 1) * log_1mh
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
        V[s + 1] = best_score
        back[s] = best_len
        map_len[s] = map_r
        if ptr[s] + n_stored > scap:
            while ptr[s] + n_stored > scap:
                scap *= 2
            slen2 = np.empty(scap, dtype=np.int64)
            slen2[: ptr[s]] = slen[: ptr[s]]
            slen = slen2
            sprob2 = np.empty(scap)
            sprob2[: ptr[s]] = sprob[: ptr[s]]
            sprob = sprob2
        at = ptr[s]
        for i in range(m):
            if logp[i] >= log_keep:
                slen[at] = length[i]
                sprob[at] = math.exp(logp[i])
                at += 1
        ptr[s + 1] = at
        _change_probs_c(s, p_short, hist, change, lag)
        if log_tol > -math.inf:
            alive = 0
            for i in range(m):
                if logp[i] >= log_tol:
                    if alive != i:
                        R[alive] = R[i]
                        length[alive] = length[i]
                        logev[alive] = logev[i]
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
    _last_rows_c(n, hist, change, lag)
    stored_len, stored_prob = slen[: ptr[n]].copy(), sprob[: ptr[n]].copy()
    return map_len, change, back, log_z, ptr, stored_len, stored_prob, max_runs


#: Set by :func:`_compiled_kernel` to the compiled :func:`_change_probs`, :func:`_last_rows`
#: and :func:`_lgamma_half`.
_change_probs_c: Any = None
_last_rows_c: Any = None
_lgamma_half_c: Any = None


@functools.cache
def _compiled_kernel() -> Callable[..., tuple[Any, ...]] | None:
    """The numba-compiled kernel, or None without numba (or with ``NUMBA_DISABLE_JIT=1``).

    numba is imported here, on the first call, not with duolm.
    """
    global _change_probs_c, _last_rows_c, _lgamma_half_c
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return None
    if getattr(numba.config, "DISABLE_JIT", False):
        return None
    helper = numba.njit(nogil=True, error_model="numpy", inline="always")
    _change_probs_c, _last_rows_c = helper(_change_probs), helper(_last_rows)
    _lgamma_half_c = helper(_lgamma_half)
    try:
        fn: Callable[..., tuple[Any, ...]] = numba.njit(
            cache=True, nogil=True, error_model="numpy"
        )(_kernel_source)
    except RuntimeError:  # no writable cache folder: compiled anew in each process
        fn = numba.njit(nogil=True, error_model="numpy")(_kernel_source)
    return fn
