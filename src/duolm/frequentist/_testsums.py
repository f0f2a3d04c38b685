"""What the standard tests need of a fit that keeps no rows, accumulated by its second pass.

Each test of :mod:`._tests` regresses something on something, and every such
regression is a function of sums over the rows that a streamed second pass
can take batch by batch and merge (in row order where lags are involved):

- Breusch-Pagan (both forms): the square-root statistic of ``[X, v]`` with
  ``v = (e / u)^2`` (``u`` a power of two near the residuals' root mean
  square, fixed by pass 1: the tests do not change under that scaling);
- White: that of ``[Z, v]``, ``Z`` the products ``x_i x_j`` (i <= j), for
  designs of at most :data:`WHITE_MAX_COLUMNS` columns;
- RESET: that of ``[X, yhat^2, ..., yhat^P, y]``;
- Breusch-Godfrey and Ljung-Box: the lag products ``sum_t u_t u_{t-l}^T``
  of ``u_t = [x_t, e_t]`` (the columns over powers of two near their sizes) for
  l = 0..L (:class:`~duolm.core.LagProducts`), from which the Gram matrix of
  ``[X, e_{t-1} .. e_{t-p}, e]`` and the autocovariances of ``e`` follow exactly
  (the last rows correct the ends).

Durbin-Watson's exact p value needs the eigenvalues of an n x n matrix and the
per-row measures (influence, outliers) need every row: those stay in memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from duolm.core import LagProducts, SqrtStat

__all__ = ["WHITE_MAX_COLUMNS", "TestSpec", "TestSums"]

FloatArray = NDArray[np.float64]

#: White's auxiliary regression has k (k + 1) / 2 columns: accumulated up to this k.
WHITE_MAX_COLUMNS = 12


@dataclass(frozen=True)
class TestSpec:
    """What the second pass accumulates for the tests (fixed once pass 1 counted the rows).

    Attributes
    ----------
    maxlags : int
        Lags kept for Breusch-Godfrey (``nlags``) and Ljung-Box (``lags``) up to it.
    power : int
        Highest power of the fitted values for RESET.
    white : bool
        Accumulate White's auxiliary regression.
    unit : float
        The residuals' scale for the squared residuals (a power of two).
    scales : tuple of float
        Powers of two near each kept column's root mean square: White's products are
        those of the columns divided by them (the products' span is the same, and
        columns near 1e155 or 1e-200 neither overflow nor underflow in them).
    fitted : float
        A power of two near the fitted values' root mean square: RESET's powers are
        those of ``yhat / fitted`` (the test of their coefficients is the same).
    """

    maxlags: int
    power: int
    white: bool
    unit: float
    scales: tuple[float, ...] = ()
    fitted: float = 1.0

    @classmethod
    def resolve(cls, request: Mapping[str, Any], stat: SqrtStat) -> TestSpec:
        """The spec for a fit of (kept-column) statistic ``stat`` after pass 1.

        ``request``: ``maxlags`` (None: ``min(10, n // 5)``, the tests' default lags,
        and at least 2) and ``power`` (None: 3), checked by
        :func:`duolm._checks.check_tests_request`.
        """
        n = round(stat.nobs)
        lags = request.get("maxlags")
        lags = max(2, min(10, n // 5)) if lags is None else int(lags)
        power = request.get("power")
        root = math.sqrt(n) if n > 0 else 1.0
        unit = _pow2(abs(stat.ryy) / root)
        scales = tuple(_pow2(float(norm) / root) for norm in stat.column_norms())
        fitted = _pow2(_norm(stat.rxy) / root)
        power = 3 if power is None else int(power)
        return cls(lags, power, stat.k <= WHITE_MAX_COLUMNS, unit, scales, fitted)


def _pow2(rms: float) -> float:
    """A power of two near ``rms`` (1 when it is 0, not finite or beyond the range)."""
    return 2.0 ** round(math.log2(rms)) if 1e-280 < rms < 1e280 else 1.0


def _norm(v: FloatArray) -> float:
    """Euclidean norm of ``v`` without overflow or underflow of its squares."""
    top = float(np.max(np.abs(v))) if v.size else 0.0
    return top * float(np.linalg.norm(v / top)) if top > 0 else 0.0


def _stat(Z: FloatArray, v: FloatArray) -> SqrtStat:
    return SqrtStat.from_block(np.ascontiguousarray(Z), v)


def _merge(a: SqrtStat | None, b: SqrtStat | None) -> SqrtStat | None:
    if a is None or b is None:
        return a if b is None else b
    return a.merge(b)


@dataclass(frozen=True, eq=False)
class TestSums:
    """The tests' sums of some rows; :meth:`merge` joins the rows that follow.

    Attributes
    ----------
    spec : TestSpec
    bp : SqrtStat
        Of ``[X, (e / unit)^2]``.
    white : SqrtStat or None
        Of ``[x_i x_j (i <= j), (e / unit)^2]`` (None when not accumulated).
    reset : SqrtStat
        Of ``[X, yhat^2 .. yhat^power, y]``.
    lags : LagProducts
        Of ``[X, e]``.
    """

    spec: TestSpec
    bp: SqrtStat
    white: SqrtStat | None
    reset: SqrtStat
    lags: LagProducts

    @classmethod
    def of(cls, spec: TestSpec, X: FloatArray, y: FloatArray, e: FloatArray) -> TestSums:
        """The sums of consecutive fitted rows: kept columns ``X`` (n, r), ``y`` and ``e``."""
        v = (e / spec.unit) ** 2
        white = None
        Xs = X / np.asarray(spec.scales) if spec.scales else X  # exact: powers of two
        if spec.white:
            i0, i1 = np.triu_indices(X.shape[1])
            white = _stat(Xs[:, i0] * Xs[:, i1], v)
        yhat = (y - e) / spec.fitted
        Z = np.column_stack([X, *[yhat**p for p in range(2, spec.power + 1)]])
        # Breusch-Godfrey regresses on the columns and the lags: scaled, the same test
        lags = LagProducts.of(np.column_stack([Xs, e]), spec.maxlags)
        return cls(spec, _stat(X, v), white, _stat(Z, y), lags)

    def merge(self, later: TestSums) -> TestSums:
        """Join with the sums of the rows that follow."""
        white = _merge(self.white, later.white)
        return TestSums(
            self.spec,
            self.bp.merge(later.bp),
            white,
            self.reset.merge(later.reset),
            self.lags.merge(later.lags),
        )

    # -- what the tests read -------------------------------------------------------------
    def bg_gram(self, nlags: int, ones: bool) -> tuple[FloatArray, float, float]:
        """Gram matrix of ``[X, (1), e_{t-1} .. e_{t-nlags}, e]`` (presample lags 0), the
        mean of ``e`` and its centred sum of squares."""
        lp = self.lags
        n = lp.nobs
        k = lp.G.shape[1] - 1
        tail = lp.tail[:, -1]  # the last residuals, oldest first
        E = float(lp.sums[-1])
        c = [float(lp.G[j][k, k]) for j in range(nlags + 1)]  # sum_t e_t e_{t-j}

        def last(i: int, j: int) -> float:
            """``sum_{s=n-i}^{n-1} e_s e_{s-j}``: pairs past the end of the lag column ``i``."""
            m = tail.shape[0]
            total = 0.0
            for s in range(max(n - i, 0), n):
                if s - j >= 0 and s - j >= n - m:
                    total += tail[s - (n - m)] * tail[s - j - (n - m)]
            return total

        cols = k + int(ones) + nlags + 1
        G = np.zeros((cols, cols))
        G[:k, :k] = lp.G[0][:k, :k]
        at = k
        if ones:
            G[k, :k] = G[:k, k] = lp.sums[:k]
            G[k, k] = n
            at = k + 1
        for i in range(1, nlags + 1):
            a = at + i - 1
            G[a, :k] = G[:k, a] = lp.G[i][:k, k]  # sum_t x_t e_{t-i}
            if ones:  # sum_{s < n - i} e_s
                G[a, k] = G[k, a] = E - sum(tail[len(tail) - i :]) if i else E
            for j in range(i, nlags + 1):
                b = at + j - 1
                G[a, b] = G[b, a] = c[j - i] - last(i, j - i)
        y = cols - 1
        G[y, :k] = G[:k, y] = lp.G[0][:k, k]
        if ones:
            G[y, k] = G[k, y] = E
        for j in range(1, nlags + 1):
            G[y, at + j - 1] = G[at + j - 1, y] = c[j]
        G[y, y] = c[0]
        mean = E / n
        return G, mean, c[0] - n * mean * mean

    def autocovariances(self, lags: int) -> tuple[float, FloatArray]:
        """``sum_t d_t d_{t-j}`` for j = 0..lags with ``d = e - mean(e)``: ``(c0, c[1:])``."""
        lp = self.lags
        n = lp.nobs
        k = lp.G.shape[1] - 1
        head, tail = lp.head[:, -1], lp.tail[:, -1]
        E = float(lp.sums[-1])
        m = E / n
        out = np.empty(lags + 1)
        for j in range(lags + 1):
            raw = float(lp.G[j][k, k])
            # sum_{t >= j} e_t + sum_{t < n - j} e_t
            both = 2.0 * E - float(np.sum(head[:j])) - float(np.sum(tail[len(tail) - j :]))
            if j == 0:
                both = 2.0 * E
            out[j] = raw - m * both + (n - j) * m * m
        return float(out[0]), out[1:]
