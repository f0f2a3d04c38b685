"""Quantiles of a large mixture of Student t's with a common df (and a point mass at 0).

Model averaging under a mixture of g-priors gives one Student t component per
(model, node of g): about 2x10^6 for UScrime's 15 terms under hyper-g. Its
quantiles are solved here in a few passes over the components:

- **Pruning with a bound.** Components come sorted by weight, largest first;
  the smallest ones, of total weight ``d <= tol / 8``, are left out, and the
  equation solved is ``F_kept(x) = q - d/2``. Since ``F_kept <= F <= F_kept + d``,
  that costs at most ``d/2 <= tol / 16`` in probability.
- **A tabulated CDF.** The Student t CDF ``T`` of the common df is tabulated once
  on ``|u| < U`` with its density, and read by cubic Hermite interpolation, whose
  error is at most ``h^4/384 max|T''''| = h^4/384 max|f'''|`` (de Boor, *A
  Practical Guide to Splines*, ch. IV): below 1e-14 for ``h = 2^-10``, and must be
  below ``tol / 16``. A component with ``|u| >= U`` counts as 0 or 1, off by at
  most ``T(-U)`` (1e-50 at 46 df): when their weight times ``T(-U)`` exceeds
  ``tol / 16`` (few degrees of freedom), every component is evaluated exactly by
  scipy's ``stdtr``. The sum over the components is one compiled loop (numba;
  the exact numpy sums without it).
- **Safeguarded Newton.** Each quantile keeps a bracket (the components' own
  quantiles bound it: the mixture CDF is their weighted mean) and takes Newton
  steps with the mixture density, bisecting when a step leaves the bracket; it
  stops when ``|F_kept(x) - (q - d/2)| <= tol / 4`` as computed, or when the
  bracket is two adjacent doubles.

With ``tol = 1e-10 min(q, 1 - q)`` the quantile ``x`` returned satisfies
``|F(x) - q| <= 7/16 tol`` plus rounding for the full mixture (the parts above),
unless float64 cannot resolve ``x`` that finely. When the table's bound exceeds
``tol / 16`` (``q`` below about 5e-4) every component is evaluated exactly.
The models left out of the mixture (:data:`~duolm.bayesian._averaging.MASS_LEFT_OUT`,
1e-12 of the posterior probability) are a separate, earlier approximation.
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

from duolm.core._jit import compiled

__all__ = ["RTOL", "TTable", "mixture_quantiles", "prune", "t_table"]

FloatArray = NDArray[np.float64]

#: Quantiles are solved so that the mixture CDF there is within ``RTOL min(q, 1-q)`` of q.
RTOL = 1e-10

_H = 2.0**-10  # table step
_U = 64.0  # table half-width in standardised units
_COARSE_MIN = 20_000  # mixtures this large start Newton from a coarse solve


class TTable:
    """The Student t CDF and density of one df on ``[-U, U]``, step ``h``, and the error
    bound of cubic Hermite interpolation between the nodes."""

    def __init__(self, df: float) -> None:
        self.df = float(df)
        self.h, self.U = _H, _U
        u = np.arange(-self.U, self.U + 0.5 * self.h, self.h)
        self.cdf: FloatArray = np.asarray(special.stdtr(self.df, u), dtype=np.float64)
        self.pdf: FloatArray = _t_pdf(u, self.df)
        self.tail = float(special.stdtr(self.df, -self.U))  # a far component's most error
        # max |f'''| sampled at the nodes and midpoints (f''' is smooth; 10% margin)
        mid = np.concatenate([u, u[:-1] + 0.5 * self.h])
        f3 = float(np.max(np.abs(_t_pdf3(mid, self.df))))
        self.bound = 1.1 * f3 * self.h**4 / 384.0 + 8.0 * np.finfo(np.float64).eps


@functools.cache
def t_table(df: float) -> TTable:
    """The (cached) table of one df."""
    return TTable(df)


def _log_c(df: float) -> float:
    return float(
        special.gammaln(0.5 * (df + 1.0)) - special.gammaln(0.5 * df) - 0.5 * math.log(df * math.pi)
    )


def _t_pdf(u: FloatArray, df: float) -> FloatArray:
    out: FloatArray = np.exp(_log_c(df) - 0.5 * (df + 1.0) * np.log1p(u * u / df))
    return out


def _t_pdf3(u: FloatArray, df: float) -> FloatArray:
    """Third derivative of the t density: with ``s = 1 + u^2/df``, ``a = (df + 1)/2``,
    ``f''' = c (12 a (a+1) u / df^2 s^(-a-2) - 8 a (a+1) (a+2) u^3 / df^3 s^(-a-3))``."""
    a = 0.5 * (df + 1.0)
    s = 1.0 + u * u / df
    c = math.exp(_log_c(df))
    out: FloatArray = c * (
        12.0 * a * (a + 1.0) * u / df**2 * s ** (-a - 2.0)
        - 8.0 * a * (a + 1.0) * (a + 2.0) * u**3 / df**3 * s ** (-a - 3.0)
    )
    return out


def _cdf_pdf(
    xs: Any, loc: Any, scale: Any, w: Any, cdf: Any, pdf: Any, h: float, U: float, F: Any, f: Any
) -> float:  # pragma: no cover - run compiled by numba; its agreement is tested
    """``F[i] = sum_k w_k T((xs[i] - loc_k)/scale_k)`` and the density ``f[i]``, by the table.

    A component beyond the table (``|u| >= U``) counts as 0 or 1 (its density as 0);
    returns the largest total weight so treated at one point, for the caller's bound.
    """
    m = xs.shape[0]
    K = loc.shape[0]
    outside = 0.0
    for i in range(m):
        F[i] = 0.0
        f[i] = 0.0
    far = np.zeros(m)
    for k in range(K):
        inv = 1.0 / scale[k]
        for i in range(m):
            u = (xs[i] - loc[k]) * inv
            if not -U < u < U:
                far[i] += w[k]
                if u > 0.0:
                    F[i] += w[k]
                continue
            z = (u + U) / h
            j = int(z)
            if j >= cdf.shape[0] - 1:
                j = cdf.shape[0] - 2
            t = z - j
            t2 = t * t
            t3 = t2 * t
            p0, p1 = pdf[j], pdf[j + 1]
            F[i] += w[k] * (
                (2.0 * t3 - 3.0 * t2 + 1.0) * cdf[j]
                + (t3 - 2.0 * t2 + t) * h * p0
                + (3.0 * t2 - 2.0 * t3) * cdf[j + 1]
                + (t3 - t2) * h * p1
            )
            f[i] += w[k] * inv * ((1.0 - t) * p0 + t * p1)
    for i in range(m):
        outside = max(outside, far[i])
    return outside


def _cdf_pdf_numpy(
    xs: FloatArray, loc: FloatArray, scale: FloatArray, w: FloatArray, tab: TTable
) -> tuple[FloatArray, FloatArray]:
    """The same sums in numpy (pairwise), outside components exact: the fallback and the
    path of ``exact=True`` (every component by ``stdtr``)."""
    F = np.empty(xs.size)
    f = np.empty(xs.size)
    for i, x in enumerate(xs):
        u = (x - loc) / scale
        F[i] = np.sum(w * special.stdtr(tab.df, u))
        f[i] = np.sum(w / scale * _t_pdf(u, tab.df))
    return F, f


@functools.cache
def _kernel() -> Callable[..., float] | None:
    return compiled(_cdf_pdf)


def _evaluate(
    xs: FloatArray,
    loc: FloatArray,
    scale: FloatArray,
    w: FloatArray,
    tab: TTable,
    exact: bool,
    tail_tol: float,
) -> tuple[FloatArray, FloatArray]:
    """The kept components' CDF and density at ``xs``: tabulated, unless ``exact`` or the
    components beyond the table could move the CDF by more than ``tail_tol`` (their
    weight times ``T(-U)``), in which case every component is evaluated exactly."""
    kernel = None if exact else _kernel()
    if kernel is not None:
        F, f = np.empty(xs.size), np.empty(xs.size)
        far = kernel(xs, loc, scale, w, tab.cdf, tab.pdf, tab.h, tab.U, F, f)
        if far * tab.tail <= tail_tol:
            return F, f
    return _cdf_pdf_numpy(xs, loc, scale, w, tab)


def prune(w: FloatArray, mass: float) -> tuple[int, float]:
    """How many of the components (weights ``w``, largest first) to keep so that those
    left out weigh at most ``mass``; returns that count and their weight."""
    tail = np.cumsum(w[::-1])  # mass of the smallest components
    cut = int(np.searchsorted(tail, mass, side="right"))
    return w.size - cut, float(tail[cut - 1]) if cut else 0.0


def mixture_quantiles(
    loc: FloatArray,
    scale: FloatArray,
    w: FloatArray,
    w0: float,
    df: float,
    qs: FloatArray,
    *,
    exact: bool = False,
) -> FloatArray:
    """Quantiles ``qs`` of ``sum_k w_k t_df(loc_k, scale_k) + w0 delta_0``.

    Parameters
    ----------
    loc, scale, w : ndarray of shape (K,)
        The components, **sorted by weight, largest first**; ``sum w + w0 = 1``.
    w0 : float
        Mass at zero.
    df : float
        The components' common degrees of freedom.
    qs : ndarray of shape (m,)
        Probabilities in (0, 1).
    exact : bool
        Evaluate every component by scipy's ``stdtr`` (no pruning, no table).

    Returns
    -------
    ndarray of shape (m,)
        ``x`` with ``|F(x) - q| <= RTOL min(q, 1 - q)`` (see the module docstring).
    """
    qs = np.asarray(qs, dtype=np.float64)
    tol = RTOL * np.minimum(qs, 1.0 - qs)
    tab = t_table(df)
    # the error budget (module docstring): pruning d/2, table, far components, each
    # at most tol/16, and the stopping rule tol/4
    budget = float(np.min(tol)) / 16.0
    exact = bool(exact or tab.bound > budget)
    tail_tol = budget
    dropped = 0.0
    if not exact and loc.size:
        keep, dropped = prune(w, 2.0 * budget)
        loc, scale, w = loc[:keep], scale[:keep], w[:keep]
    target = qs - 0.5 * dropped
    out = np.empty(qs.size)
    todo: list[_Root] = []
    z = np.asarray(special.stdtrit(df, np.clip(target, 1e-300, 1.0)), dtype=np.float64)
    for i in range(qs.size):
        comp = loc + scale * z[i]
        lo = float(np.min(comp)) if comp.size else 0.0
        hi = float(np.max(comp)) if comp.size else 0.0
        if w0 > 0.0:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        out[i] = lo
        if hi - lo > 1e-15 * max(abs(lo), abs(hi), 1e-300):
            todo.append(_Root(i, lo, hi))
    if not todo:
        return out

    def G(xs: FloatArray, idx: list[int]) -> tuple[FloatArray, FloatArray]:
        if not loc.size:
            return np.where(xs >= 0.0, w0, 0.0) - target[idx], 0.0 * xs
        F, f = _evaluate(xs, loc, scale, w, tab, exact, tail_tol)
        return F + np.where(xs >= 0.0, w0, 0.0) - target[idx], f

    if w0 > 0.0:  # the point mass at zero straddles the target: the quantile is 0
        g0 = G(np.zeros(len(todo)), [row.i for row in todo])[0]
        straddle = (g0 - w0 <= 0.0) & (g0 >= 0.0)  # G(0-) <= 0 <= G(0)
        for row, s in zip(list(todo), straddle, strict=True):
            if s:
                out[row.i] = 0.0
                todo.remove(row)
    if not todo:
        return out
    x = _start((loc, scale, w), w0, df, qs, z, todo, exact)
    # Newton, safeguarded by a bracket: the components' quantiles bound the root, but
    # pruning and the point mass can move it just outside, so an end counts only once
    # evaluated (lo_ok, hi_ok); a step beyond an unverified end evaluates that end
    rows = todo
    for _ in range(200):
        if not rows:
            break
        g, d = G(x, [row.i for row in rows])
        nxt: list[float] = []
        left: list[_Root] = []
        for r, row in enumerate(rows):
            xr = float(x[r])
            if abs(g[r]) <= 0.25 * tol[row.i]:
                out[row.i] = xr
                continue
            width = max(row.hi - row.lo, 1e-15 * abs(xr), 1e-300)
            if g[r] < 0.0:
                row.lo, row.lo_ok = xr, True
                if xr >= row.hi:  # the end was not one: widen
                    row.hi, row.hi_ok = xr + 2.0 * width, False
            else:
                row.hi, row.hi_ok = xr, True
                if xr <= row.lo:
                    row.lo, row.lo_ok = xr - 2.0 * width, False
            step = xr - g[r] / d[r] if d[r] > 0.0 else math.nan
            if not row.lo < step < row.hi:
                if step >= row.hi and not row.hi_ok:
                    step = row.hi
                elif step <= row.lo and not row.lo_ok:
                    step = row.lo
                else:
                    step = 0.5 * (row.lo + row.hi)
                    if row.lo_ok and row.hi_ok and step in (row.lo, row.hi):  # adjacent doubles
                        out[row.i] = xr
                        continue
            left.append(row)
            nxt.append(step)
        rows = left
        x = np.array(nxt)
    for row in rows:  # pragma: no cover - 200 steps always suffice
        out[row.i] = 0.5 * (row.lo + row.hi)
    return out


@dataclass
class _Root:
    """One quantile being solved: its position in ``qs`` and its bracket (an end is
    ``_ok`` once evaluated on its side of the root)."""

    i: int
    lo: float
    hi: float
    lo_ok: bool = False
    hi_ok: bool = False


def _start(
    comps: tuple[FloatArray, FloatArray, FloatArray],
    w0: float,
    df: float,
    qs: FloatArray,
    z: FloatArray,
    todo: list[_Root],
    exact: bool,
) -> FloatArray:
    """Newton's starting points: the quantiles of the heaviest components carrying 99%
    of the weight when they are few (so that the full mixture takes a few steps), else
    the weighted mean of the components' own quantiles, within the bracket."""
    loc, scale, w = comps
    idx = [row.i for row in todo]
    if not loc.size:
        return np.array([row.lo for row in todo])
    if exact or loc.size < _COARSE_MIN:
        return np.array(
            [float(np.clip(w @ (loc + scale * z[r.i]) / w.sum(), r.lo, r.hi)) for r in todo]
        )
    c = int(np.searchsorted(np.cumsum(w), 0.99 * float(w.sum()))) + 1
    if c > loc.size // 2:
        return _start(comps, w0, df, qs, z, todo, exact=True)
    wc = w[:c] * ((1.0 - w0) / float(w[:c].sum()))
    coarse = mixture_quantiles(loc[:c], scale[:c], wc, w0, df, qs[idx])
    lo = np.array([row.lo for row in todo])
    hi = np.array([row.hi for row in todo])
    out: FloatArray = np.clip(coarse, lo, hi)
    return out
