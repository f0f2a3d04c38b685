"""Compiled kernels of Bayesian model averaging, and their pure-Python fallback.

Written once in the subset of Python that numba compiles (``@njit(cache=True)``)
and that also runs as plain Python when numba is absent or disabled
(``NUMBA_DISABLE_JIT=1``):

- :func:`_log_evidence` is the log Bayes factor of a model against the
  intercept-only model under the priors of Liang, Paulo, Molina, Clyde &
  Berger (2008, JASA; LPMCB) with, for the mixtures of g-priors, the posterior
  moments ``E[g/(1+g)]`` and ``E[(g/(1+g))**2]``; :func:`_evidences` runs it
  over every model.
- :func:`_mc3` runs the Markov chain over models (add/drop and swap moves,
  Madigan & York 1995; Clyde, Ghosh & Littman 2011 for the swap) with the
  core's column updates (:mod:`duolm.core._subsets`) and the same exact
  evidences, for designs too wide to enumerate.

The mixtures are integrated over ``s = log g`` by the trapezoid rule, which
converges geometrically for integrands analytic in a strip (here
``|Im s| < pi``: the singularities of ``log(1 + g)`` and ``log(1 + g u)``),
halving the step until two successive sums agree to :data:`_QUAD_RTOL`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from duolm.core import _subsets
from duolm.core._jit import interruptible
from duolm.core._subsets import add_column, drop_column, read_state

FloatArray = NDArray[np.float64]

#: Prior codes: the kernels branch on these; :mod:`duolm.bayesian._averaging` maps the
#: prior names users give to them.
G_PRIOR, HYPER_G, HYPER_G_N, ZELLNER_SIOW, EB_LOCAL = 0, 1, 2, 3, 4

#: Relative agreement of two successive trapezoid sums (step h and h/2) at
#: which the finer one is accepted. The trapezoid error falls like
#: exp(-2 pi d / h) (d = pi, the half-width of the strip), so halving the step
#: squares it: when the sums of steps h and h/2 agree to 1e-7, the error of
#: the finer one is near 1e-14 (the tests hold the evidences to 1e-12).
_QUAD_RTOL = 1e-7

#: The integrand is summed where its log lies within this of its maximum:
#: exp(-38) ~ 3e-17 at the cut, with tails decaying at least like exp(-|s|/2).
_LOG_CUT = 38.0

_LOG_PI = math.log(math.pi)

#: ``range``, replaced by ``numba.prange`` when the kernels are compiled.
prange = range


def _softplus(x: float) -> float:
    """``log(1 + exp(x))`` without overflow."""
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


def _log_integrand(s: float, code: int, n: float, p: float, lu: float, a: float) -> float:
    """``log(BF_g * pi(g) * g)`` at ``g = exp(s)`` (the ``g`` is ``dg/ds``).

    ``BF_g = (1+g)^((n-1-p)/2) (1+g u)^(-(n-1)/2)`` with ``u = 1 - R^2`` (Liang
    et al. 2008, eq. 5; ``lu = log u``). Priors on g (Liang et al. sections 3.2, 3.3):
    hyper-g ``(a-2)/2 (1+g)^(-a/2)``; hyper-g/n ``(a-2)/(2n) (1+g/n)^(-a/2)``;
    Zellner-Siow ``g ~ InvGamma(1/2, n/2)``.
    """
    sp = _softplus(s)
    val = 0.5 * (n - 1.0 - p) * sp - 0.5 * (n - 1.0) * _softplus(s + lu) + s
    if code == HYPER_G:
        val += math.log(0.5 * (a - 2.0)) - 0.5 * a * sp
    elif code == HYPER_G_N:
        val += math.log(0.5 * (a - 2.0) / n) - 0.5 * a * _softplus(s - math.log(n))
    else:  # Zellner-Siow: sqrt(n/2)/Gamma(1/2) g^(-3/2) exp(-n/(2g))
        val += 0.5 * math.log(0.5 * n) - 0.5 * _LOG_PI - 1.5 * s - 0.5 * n * math.exp(-s)
    return val


def _logistic(s: float) -> float:
    """``g / (1 + g)`` at ``g = exp(s)``: the shrinkage factor."""
    if s >= 0.0:
        return 1.0 / (1.0 + math.exp(-s))
    e = math.exp(s)
    return e / (1.0 + e)


def _dlog_integrand(s: float, code: int, n: float, p: float, lu: float, a: float) -> Any:
    """First and second derivatives of :func:`_log_integrand` in ``s``."""
    s1 = _logistic(s)
    s2 = _logistic(s + lu)
    d1 = 0.5 * (n - 1.0 - p) * s1 - 0.5 * (n - 1.0) * s2 + 1.0
    d2 = 0.5 * (n - 1.0 - p) * s1 * (1.0 - s1) - 0.5 * (n - 1.0) * s2 * (1.0 - s2)
    if code == HYPER_G:
        d1 -= 0.5 * a * s1
        d2 -= 0.5 * a * s1 * (1.0 - s1)
    elif code == HYPER_G_N:
        s3 = _logistic(s - math.log(n))
        d1 -= 0.5 * a * s3
        d2 -= 0.5 * a * s3 * (1.0 - s3)
    else:
        e = 0.5 * n * math.exp(-s)
        d1 += e - 1.5
        d2 -= e
    return d1, d2


def _mode(code: int, n: float, p: float, lu: float, a: float) -> float:
    """The maximum of the integrand over ``s``: the root of its derivative.

    The derivative is positive far left and negative far right, and in
    between the sum of one rising and one or two falling logistic curves
    (LPMCB's priors add a falling one, or a decreasing exponential), which
    cross zero once; a safeguarded Newton iteration (bisection whenever a step
    leaves the bracket) finds it.
    """
    lo = -60.0
    hi = 60.0 + math.log(n) - lu
    while _dlog_integrand(lo, code, n, p, lu, a)[0] <= 0.0:
        lo -= 60.0
    while _dlog_integrand(hi, code, n, p, lu, a)[0] >= 0.0:
        hi += 60.0
    s = 0.5 * (lo + hi)
    for _ in range(200):
        d1, d2 = _dlog_integrand(s, code, n, p, lu, a)
        if d1 > 0.0:
            lo = s
        else:
            hi = s
        step = -d1 / d2 if d2 < 0.0 else math.inf
        nxt = s + step
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - s) <= 1e-10 * (1.0 + abs(s)) or hi - lo <= 1e-10 * (1.0 + abs(s)):
            return nxt
        s = nxt
    return s


def _mixture(code: int, n: float, p: float, lu: float, r2: float, a: float, out: Any) -> None:
    """Integrate a mixture of g-priors: ``out = [log BF, E[t], E[t^2], s0, sd, h, k_lo, k_hi]``.

    ``t = g/(1+g)``. With the mode ``s0`` of the integrand in ``s = log g`` and
    its curvature ``-1/sd^2`` there, the trapezoid rule runs in ``z`` with
    ``s = s0 + sd sinh(z)`` (nodes ``z = k h``, ``k_lo <= k <= k_hi``): the
    integrand's exponential tails in ``s`` become double-exponential in ``z``,
    so a few dozen nodes carry it (see :func:`mixture_nodes`).
    """
    s0 = _mode(code, n, p, lu, a)
    d2 = _dlog_integrand(s0, code, n, p, lu, a)[1]
    sd = 1.0 / math.sqrt(-d2) if d2 < 0.0 else 1.0
    vmax = _log_integrand(s0, code, n, p, lu, a)
    h = 0.5
    # extent in z: where the integrand (with the Jacobian) is within exp(-_LOG_CUT) of its peak
    k_lo = 0
    while True:
        z = (k_lo - 1) * h
        sk = s0 + sd * math.sinh(z)
        lf = _log_integrand(sk, code, n, p, lu, a) + math.log(math.cosh(z))
        if lf < vmax - _LOG_CUT or k_lo < -400:
            break
        k_lo -= 1
    k_hi = 0
    while True:
        z = (k_hi + 1) * h
        sk = s0 + sd * math.sinh(z)
        lf = _log_integrand(sk, code, n, p, lu, a) + math.log(math.cosh(z))
        if lf < vmax - _LOG_CUT or k_hi > 400:
            break
        k_hi += 1
    k_lo -= 1
    k_hi += 1
    S0 = 0.0
    S1 = 0.0
    S2 = 0.0
    for k in range(k_lo, k_hi + 1):
        z = k * h
        sk = s0 + sd * math.sinh(z)
        w = math.exp(_log_integrand(sk, code, n, p, lu, a) - vmax) * math.cosh(z)
        t = _logistic(sk)
        S0 += w
        S1 += w * t
        S2 += w * t * t
    prev = h * S0
    for _level in range(12):
        # midpoints of the current grid: the sums of step h/2 reuse those of step h
        M0 = 0.0
        M1 = 0.0
        M2 = 0.0
        for k in range(k_lo, k_hi):
            z = (k + 0.5) * h
            sk = s0 + sd * math.sinh(z)
            w = math.exp(_log_integrand(sk, code, n, p, lu, a) - vmax) * math.cosh(z)
            t = _logistic(sk)
            M0 += w
            M1 += w * t
            M2 += w * t * t
        S0 += M0
        S1 += M1
        S2 += M2
        h *= 0.5
        k_lo *= 2
        k_hi *= 2
        cur = h * S0
        if abs(cur - prev) <= _QUAD_RTOL * cur:
            break
        prev = cur
    out[0] = vmax + math.log(h * sd * S0)
    out[1] = S1 / S0
    out[2] = S2 / S0
    out[3] = s0
    out[4] = sd
    out[5] = h
    out[6] = k_lo
    out[7] = k_hi


def _log_evidence(code: int, n: float, p: float, u: float, g: float, a: float, out: Any) -> None:
    """Log Bayes factor against the intercept-only model and ``E[t]``, ``E[t^2]``.

    ``out[:3] = [log BF, E[t | y], E[t^2 | y]]`` with ``t = g/(1+g)``. A model
    with no slopes has BF = 1; ``u = 1 - R^2``.
    """
    if p == 0.0:
        out[0] = 0.0
        out[1] = 0.0
        out[2] = 0.0
        return
    if code in (G_PRIOR, EB_LOCAL):
        if code == EB_LOCAL:
            # local empirical Bayes (Liang et al. eq. 9): g = max(F - 1, 0)
            F = ((1.0 - u) / p) / (u / (n - 1.0 - p))
            g = max(F - 1.0, 0.0)
        # Liang et al. eq. 5 (with 1 + g u written to keep u's digits)
        out[0] = 0.5 * (n - 1.0 - p) * math.log1p(g) - 0.5 * (n - 1.0) * math.log1p(g * u)
        t = g / (1.0 + g)
        out[1] = t
        out[2] = t * t
        return
    _mixture(code, n, p, math.log(u), 1.0 - u, a, out)


def _evidences(
    code: int,
    n: float,
    p: Any,
    u: Any,
    valid: Any,
    g: float,
    a: float,
    logev: Any,
    et: Any,
    et2: Any,
) -> None:
    """:func:`_log_evidence` for every model (``-inf`` where not ``valid``).

    The models are independent: compiled, the loop runs in parallel threads.
    """
    for i in prange(p.shape[0]):
        out = np.empty(8)
        if not valid[i]:
            logev[i] = -math.inf
            et[i] = 0.0
            et2[i] = 0.0
            continue
        _log_evidence(code, n, float(p[i]), u[i], g, a, out)
        logev[i] = out[0]
        et[i] = out[1]
        et2[i] = out[2]


def _accumulate(
    T: Any,
    order: Any,
    m: int,
    w: float,
    et: float,
    et2: float,
    r2: float,
    xbar: Any,
    ybar: float,
    nobs: float,
    scale: float,
    vf: float,
    c: Any,
    beta: Any,
    Rinv: Any,
    acc_d: Any,
    acc_2: Any,
) -> None:
    """Add one model's share to the shifted first and second moments of every coefficient.

    Given g the slopes are t with location ``t beta_hat`` and variance
    ``vf S_g t V_jj`` (``S_g = TSS (1 - t R^2)/(n - 1)``, ``vf = nu/(nu - 2)``);
    over g, ``E[S_g t] = TSS/(n-1) (E[t] - R^2 E[t^2])``. The intercept of the raw
    design is ``ybar - t xbar' beta_hat`` with variance ``vf S_g (1/n + t xbar'V xbar)``.
    Sums are kept about the shift ``c`` (a value near the mean) so that the
    variance is not a difference of large numbers.
    """
    P = T.shape[1] - 1
    n_cols = c.shape[0] - 1
    # beta_hat in the active order: back substitution on the triangle
    for i in range(m - 1, -1, -1):
        acc = T[i, P]
        for k in range(i + 1, m):
            acc -= T[i, order[k]] * beta[k]
        beta[i] = acc / T[i, order[i]]
    # Rinv, upper triangular, column by column
    for k in range(m):
        Rinv[k, k] = 1.0 / T[k, order[k]]
        for i in range(k - 1, -1, -1):
            acc = 0.0
            for l in range(i + 1, k + 1):
                acc += T[i, order[l]] * Rinv[l, k]
            Rinv[i, k] = -acc / T[i, order[i]]
    var_t = max(et2 - et * et, 0.0)
    est = scale * (et - r2 * et2)  # E[S_g t]
    incl = np.zeros(n_cols, np.bool_)
    xb = 0.0
    for i in range(m):
        j = order[i]
        incl[j] = True
        xb += xbar[j] * beta[i]
        vjj = 0.0
        for k in range(i, m):
            vjj += Rinv[i, k] * Rinv[i, k]
        d = et * beta[i] - c[j]
        acc_d[j] += w * d
        acc_2[j] += w * (d * d + var_t * beta[i] * beta[i] + vf * est * vjj)
    for j in range(n_cols):
        if not incl[j]:
            acc_d[j] -= w * c[j]
            acc_2[j] += w * c[j] * c[j]
    # xbar' V xbar = || Rinv^T xbar_S ||^2
    xvx = 0.0
    for k in range(m):
        v = 0.0
        for i in range(k + 1):
            v += Rinv[i, k] * xbar[order[i]]
        xvx += v * v
    d = ybar - et * xb - c[n_cols]
    var0 = vf * ((1.0 - et * r2) * scale / nobs + est * xvx)
    acc_d[n_cols] += w * d
    acc_2[n_cols] += w * (d * d + var_t * xb * xb + var0)


def _moment_walk(
    Rc: Any,
    f: int,
    q: int,
    w: Any,
    et: Any,
    et2: Any,
    u: Any,
    xbar: Any,
    ybar: float,
    nobs: float,
    tss: float,
    c: Any,
    acc_d: Any,
    acc_2: Any,
) -> None:
    """The Gray-code walk of :func:`duolm.core._subsets.gray_walk` again, now adding each
    model's weighted moments (:func:`_accumulate`); ``w`` etc. are in the walk's order."""
    T = Rc.copy()
    P = T.shape[1] - 1
    order = np.zeros(P + 1, np.int64)
    pos = np.full(P + 1, -1, np.int64)
    beta = np.zeros(P + 1)
    Rinv = np.zeros((P + 1, P + 1))
    scale = tss / (nobs - 1.0)
    vf = (nobs - 1.0) / (nobs - 3.0)
    for i in range(f):
        order[i] = i
        pos[i] = i
    m = f
    if w[0] > 0.0:
        _accumulate(
            T,
            order,
            m,
            w[0],
            et[0],
            et2[0],
            1.0 - u[0],
            xbar,
            ybar,
            nobs,
            scale,
            vf,
            c,
            beta,
            Rinv,
            acc_d,
            acc_2,
        )
    for i in range(1, 1 << q):
        b = 0
        while not (i >> b) & 1:
            b += 1
        j = f + b
        m = drop_column(T, order, pos, m, j) if pos[j] >= 0 else add_column(T, order, pos, m, j)
        if w[i] > 0.0:
            _accumulate(
                T,
                order,
                m,
                w[i],
                et[i],
                et2[i],
                1.0 - u[i],
                xbar,
                ybar,
                nobs,
                scale,
                vf,
                c,
                beta,
                Rinv,
                acc_d,
                acc_2,
            )


def _log_model_prior(kind: int, q: int, k: int) -> float:
    """Log prior of a model with ``k`` of the ``q`` free terms (0 uniform, 1 beta-binomial)."""
    if kind == 0:
        return 0.0
    # Beta(1, 1) on the inclusion probability: P(model) = 1 / ((q + 1) C(q, k))
    return -math.log(q + 1.0) - (
        math.lgamma(q + 1.0) - math.lgamma(k + 1.0) - math.lgamma(q - k + 1.0)
    )


def _mc3(
    Rc: Any,
    f: int,
    q: int,
    colnorm: Any,
    tol: float,
    code: int,
    n: float,
    g: float,
    a: float,
    kind: int,
    tss: float,
    uniforms: Any,
    states: Any,
    rss_out: Any,
    ok_out: Any,
) -> int:
    """Metropolis-Hastings over models; return the number of accepted moves.

    Each iteration draws from ``uniforms[i]``: the move (flip one free term, or
    swap one in for one out; a swap from the empty or full model stays put so
    that both proposals stay symmetric), the terms, and the acceptance. The
    current model after iteration ``i`` goes to ``states[i]`` (0/1 per free
    term), its residual sum of squares to ``rss_out[i]`` and whether its
    columns are of full rank to ``ok_out[i]``.
    """
    T = Rc.copy()
    P = T.shape[1] - 1
    order = np.zeros(P + 1, np.int64)
    pos = np.full(P + 1, -1, np.int64)
    for i in range(f):
        order[i] = i
        pos[i] = i
    m = f
    k = 0
    out = np.empty(8)
    r, good = read_state(T, order, m, colnorm, tol)
    cur_rss = r
    cur_ok = good
    cur = -math.inf
    if good and m < n - 1.0:
        _log_evidence(code, n, float(m), r / tss, g, a, out)
        cur = out[0] + _log_model_prior(kind, q, k)
    accepted = 0
    T2 = T.copy()
    order2 = order.copy()
    pos2 = pos.copy()
    for it in range(uniforms.shape[0]):
        u0 = uniforms[it, 0]
        u1 = uniforms[it, 1]
        u2 = uniforms[it, 2]
        u3 = uniforms[it, 3]
        move = 0 if u0 < 0.5 else 1
        if move == 1 and (k == 0 or k == q):
            for j in range(q):
                states[it, j] = 1 if pos[f + j] >= 0 else 0
            rss_out[it] = cur_rss
            ok_out[it] = cur_ok
            continue
        T2[:, :] = T
        order2[:] = order
        pos2[:] = pos
        m2 = m
        k2 = k
        if move == 0:
            j = f + min(int(u1 * q), q - 1)
            if pos2[j] >= 0:
                m2 = drop_column(T2, order2, pos2, m2, j)
                k2 -= 1
            else:
                m2 = add_column(T2, order2, pos2, m2, j)
                k2 += 1
        else:
            # the ii-th included and the jj-th excluded free term
            ii = min(int(u1 * k), k - 1)
            jj = min(int(u2 * (q - k)), q - k - 1)
            cin = -1
            cout = -1
            seen_in = 0
            seen_out = 0
            for j in range(f, f + q):
                if pos2[j] >= 0:
                    if seen_in == ii:
                        cin = j
                    seen_in += 1
                else:
                    if seen_out == jj:
                        cout = j
                    seen_out += 1
            m2 = drop_column(T2, order2, pos2, m2, cin)
            m2 = add_column(T2, order2, pos2, m2, cout)
        r2, good2 = read_state(T2, order2, m2, colnorm, tol)
        prop = -math.inf
        if good2 and m2 < n - 1.0:
            _log_evidence(code, n, float(m2), r2 / tss, g, a, out)
            prop = out[0] + _log_model_prior(kind, q, k2)
        if prop > -math.inf and (prop >= cur or math.log(u3) < prop - cur):
            T, T2 = T2, T
            order, order2 = order2, order
            pos, pos2 = pos2, pos
            m = m2
            k = k2
            cur = prop
            cur_rss = r2
            cur_ok = good2
            accepted += 1
        for j in range(q):
            states[it, j] = 1 if pos[f + j] >= 0 else 0
        rss_out[it] = cur_rss
        ok_out[it] = cur_ok
    return accepted


def _node_grids(code: int, n: float, p: Any, u: Any, a: float, grids: Any) -> None:
    """``grids[i] = out[3:8]`` of :func:`_mixture` for model i (``p[i]`` slopes,
    ``u[i] = 1 - R^2``): the trapezoid of its posterior of g, for :func:`_fill_nodes`."""
    out = np.empty(8)
    for i in range(p.shape[0]):
        _log_evidence(code, n, p[i], u[i], 0.0, a, out)
        for j in range(5):
            grids[i, j] = out[3 + j]


def _fill_nodes(
    code: int, n: float, p: Any, u: Any, a: float, grids: Any, offsets: Any, t: Any, w: Any
) -> None:
    """:func:`mixture_nodes` of every model at once: model i's nodes go to
    ``t[offsets[i]:offsets[i + 1]]`` and ``w[...]`` (weights summing to 1 in each model;
    nodes below 1e-17 of the total get weight 0)."""
    for i in range(p.shape[0]):
        s0, sd, h = grids[i, 0], grids[i, 1], grids[i, 2]
        k_lo = int(grids[i, 3])
        lu = math.log(u[i])
        o = offsets[i]
        m = offsets[i + 1] - o
        top = -math.inf
        for r in range(m):
            z = h * (k_lo + r)
            sk = s0 + sd * math.sinh(z)
            lf = _log_integrand(sk, code, n, p[i], lu, a) + math.log(math.cosh(z))
            w[o + r] = lf
            t[o + r] = _logistic(sk)
            top = max(top, lf)
        total = 0.0
        for r in range(m):
            w[o + r] = math.exp(w[o + r] - top)
            total += w[o + r]
        kept = 0.0
        for r in range(m):
            w[o + r] /= total
            if w[o + r] > 1e-17:
                kept += w[o + r]
            else:
                w[o + r] = 0.0
        for r in range(m):
            w[o + r] /= kept


# ---------------------------------------------------------------- numpy helpers


def _log_integrand_np(
    s: FloatArray, code: int, n: float, p: float, lu: float, a: float
) -> FloatArray:
    """:func:`_log_integrand` on an array of ``s`` (numpy's ``logaddexp(0, x)`` is softplus)."""
    sp = np.logaddexp(0.0, s)
    val = 0.5 * (n - 1.0 - p) * sp - 0.5 * (n - 1.0) * np.logaddexp(0.0, s + lu) + s
    if code == HYPER_G:
        val += math.log(0.5 * (a - 2.0)) - 0.5 * a * sp
    elif code == HYPER_G_N:
        val += math.log(0.5 * (a - 2.0) / n) - 0.5 * a * np.logaddexp(0.0, s - math.log(n))
    else:
        val += 0.5 * math.log(0.5 * n) - 0.5 * _LOG_PI - 1.5 * s - 0.5 * n * np.exp(-s)
    out: FloatArray = val
    return out


def mixture_nodes(
    code: int, n: float, p: float, u: float, a: float, grid: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The trapezoid nodes of a mixture as shrinkage factors ``t`` and posterior weights.

    ``grid`` is ``out[3:8]`` of :func:`_mixture` for the model; the weights are
    the normalised trapezoid terms of the posterior of ``s = log g`` (those
    below 1e-17 of the total are dropped and the rest renormalised).
    """
    s0, sd, h = float(grid[0]), float(grid[1]), float(grid[2])
    z = h * np.arange(int(grid[3]), int(grid[4]) + 1, dtype=np.float64)
    s = s0 + sd * np.sinh(z)
    logf = _log_integrand_np(s, code, n, p, math.log(u), a) + np.log(np.cosh(z))
    w = np.exp(logf - logf.max())
    w /= w.sum()
    keep = w > 1e-17
    t = 1.0 / (1.0 + np.exp(-s[keep]))
    wk = w[keep]
    return t, wk / wk.sum()


@functools.cache
def kernels() -> dict[str, Callable[..., Any]]:
    """The kernels compiled by numba, or the same functions as plain Python.

    numba is imported here, on the first model averaging, not with duolm. The
    core's column updates are compiled first (:func:`duolm.core._subsets.compiled`)
    and bound here, so that the compiled chain calls compiled updates.
    """
    core = _subsets.compiled()
    g = globals()
    names: dict[str, Callable[..., Any]] = {
        "gray_walk": core["gray_walk"],
        "mc3": _mc3,
        "moment_walk": _moment_walk,
        "evidences": _evidences,
        "log_evidence": _log_evidence,
        "node_grids": _node_grids,
        "fill_nodes": _fill_nodes,
    }
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - numba is a dependency
        return names
    if getattr(numba.config, "DISABLE_JIT", False):
        return names
    for name in ("add_column", "drop_column", "read_state"):
        g[name] = core[name]
    g["prange"] = numba.prange
    for name in (
        "_softplus",
        "_log_integrand",
        "_logistic",
        "_dlog_integrand",
        "_mode",
        "_mixture",
        "_log_evidence",
        "_evidences",
        "_log_model_prior",
        "_node_grids",
        "_fill_nodes",
        "_mc3",
        "_accumulate",
        "_moment_walk",
    ):
        # the globals become dispatchers, so that the compiled callers find them
        parallel = name == "_evidences"
        try:
            g[name] = numba.njit(cache=True, nogil=True, error_model="numpy", parallel=parallel)(
                g[name]
            )
        except RuntimeError:  # pragma: no cover - no writable cache folder
            g[name] = numba.njit(nogil=True, error_model="numpy", parallel=parallel)(g[name])
        g[name] = interruptible(g[name])
    return {
        "gray_walk": core["gray_walk"],
        "mc3": g["_mc3"],
        "moment_walk": g["_moment_walk"],
        "evidences": g["_evidences"],
        "log_evidence": g["_log_evidence"],
        "node_grids": g["_node_grids"],
        "fill_nodes": g["_fill_nodes"],
    }
