"""Covariances robust to dependent errors: HAC (Newey-West) and cluster-robust.

Both are sandwiches ``B M B`` with the bread ``B = (X^T X)^-1 = Rxx^-1 Rxx^-T``
and a "meat" M that is a function of the score rows ``u_t = x_t e_t`` only.
Here the scores are taken in whitened coordinates, ``u_t = (Rxx^-T x_t) e_t``
(rows of ``W = X Rxx^-1`` times the residual), as for the HC meats of
:class:`~duolm.OLSResults`: then ``cov = Rxx^-1 M_W Rxx^-T`` and no inverse of
``X^T X`` is formed.

The meats are accumulated by mergeable, immutable objects so that a streamed
second pass (or Dask partitions) can build them batch by batch, exactly:

* :class:`HACMeat` keeps ``S = sum_l w_l (G_l + G_l^T)`` with
  ``G_l = sum_t u_t u_{t-l}^T`` plus the first and last ``maxlags`` score rows,
  so that lag products across a batch boundary are added when two
  consecutive pieces are merged (Newey & West 1987, eq. 2; Bartlett weights
  ``w_l = 1 - l / (L + 1)``).
* :class:`ClusterMeat` keeps the score sum of every group seen; the meat is
  ``sum_g s_g s_g^T`` (Liang & Zeger 1986; Arellano 1987). Two-way clustering
  is ``V_1 + V_2 - V_12`` with the intersection groups (Cameron, Gelbach &
  Miller 2011, eq. 2.11), so it is three of these.

Definitions and small-sample factors are statsmodels' (``cov_type="HAC"``:
``cov_hac_simple``; ``"cluster"``: ``cov_cluster``, ``cov_cluster_2groups``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm.errors import DataError

if TYPE_CHECKING:
    from duolm import OLSResults

__all__ = [
    "ClusterMeat",
    "HACMeat",
    "cluster_cov",
    "default_maxlags",
    "hac_cov",
    "kernel_weights",
    "robust_cov",
    "scores",
]

FloatArray = NDArray[np.float64]
Kernel = Literal["bartlett", "uniform"]
_KERNELS = ("bartlett", "uniform")


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


def _check_maxlags(maxlags: object) -> int:
    if isinstance(maxlags, bool) or not isinstance(maxlags, (int, np.integer)) or maxlags < 0:
        raise ValueError(f"cov_kwds 'maxlags' must be a non-negative integer, got {maxlags!r}")
    return int(maxlags)


def _check_kernel(kernel: object) -> Kernel:
    if kernel not in _KERNELS:
        raise ValueError(f"cov_kwds 'kernel' must be one of {_KERNELS}, got {kernel!r}")
    return kernel  # type: ignore[return-value]


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
        return cls(_check_maxlags(maxlags), _check_kernel(kernel), 0, np.zeros((k, k)), z, z)

    @classmethod
    def from_scores(cls, u: FloatArray, maxlags: int, kernel: Kernel = "bartlett") -> HACMeat:
        """The meat of one block of consecutive score rows ``u`` of shape (n, k)."""
        u = np.asarray(u, dtype=np.float64)
        L = _check_maxlags(maxlags)
        w = kernel_weights(L, _check_kernel(kernel))
        S = w[0] * (u.T @ u)
        for lag in range(1, min(L, u.shape[0] - 1) + 1):
            g = u[lag:].T @ u[:-lag]
            S += w[lag] * (g + g.T)
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
        codes, uniques = groups.factorize()
        sums = np.zeros((len(uniques), u.shape[1]))
        np.add.at(sums, codes, u)
        return cls(pd.Index(uniques), sums, u.shape[0])

    def update(self, u: FloatArray, groups: pd.Index) -> ClusterMeat:
        """Add a block of score rows with their group labels."""
        return self.merge(ClusterMeat.from_scores(u, groups))

    def merge(self, other: ClusterMeat) -> ClusterMeat:
        """Combine with the sums of other rows (order does not matter)."""
        labels = self.groups.append(other.groups)
        codes, uniques = labels.factorize()
        sums = np.zeros((len(uniques), self.sums.shape[1]))
        np.add.at(sums, codes, np.vstack([self.sums, other.sums]))
        return ClusterMeat(pd.Index(uniques), sums, self.nobs + other.nobs)

    @property
    def n_groups(self) -> int:
        """Number of groups seen."""
        return len(self.groups)

    @property
    def meat(self) -> FloatArray:
        """``sum_g s_g s_g^T``."""
        out: FloatArray = self.sums.T @ self.sums
        return out


# -- from a fit ------------------------------------------------------------------------
def scores(fit: OLSResults) -> FloatArray:
    """Whitened score rows ``(Rxx^-T x_t) e_t`` of an in-memory fit, shape (n, rank)."""
    rows = fit.rows
    if rows is None:
        raise DataError(
            "this robust covariance needs the residuals row by row and this fit keeps none "
            "(it was streamed); fit it with the covariance type instead"
        )
    X = rows.X if fit.kept.all() else rows.X[:, fit.kept]
    out: FloatArray = fit.stat.whiten(X) * rows.resid[:, None]
    return out


def _sandwich(fit: OLSResults, meat: FloatArray) -> FloatArray:
    Ri = fit.stat.rinv()
    out: FloatArray = Ri @ meat @ Ri.T
    return out


def hac_cov(
    fit: OLSResults,
    maxlags: int | None = None,
    kernel: Kernel = "bartlett",
    use_correction: bool = False,
) -> FloatArray:
    """Newey-West covariance of the kept estimates, as statsmodels' ``cov_type="HAC"``.

    Parameters
    ----------
    maxlags : int, optional
        Default ``floor(4 (n / 100)^(2/9))`` (:func:`default_maxlags`).
    kernel : {"bartlett", "uniform"}
    use_correction : bool
        Multiply by ``n / (n - k)`` (statsmodels' default: False).

    Returns
    -------
    ndarray of shape (rank, rank)
    """
    n = fit.nobs
    L = default_maxlags(n) if maxlags is None else _check_maxlags(maxlags)
    meat = HACMeat.from_scores(scores(fit), L, kernel).S
    cov = _sandwich(fit, meat)
    if use_correction:
        cov = cov * (n / (n - fit.rank))
    return cov


def _labels(values: object, n: int, index: pd.Index, what: str) -> pd.Index:
    """Group labels for the n fitted rows, with missing labels refused by row."""
    if isinstance(values, pd.Series) and len(values) != n:
        try:
            values = values.loc[index]
        except KeyError as exc:
            raise DataError(f"{what} has no label for fitted row(s) {exc}") from None
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(f"{what} must give one label per fitted row ({n}), got shape {arr.shape}")
    missing = pd.isna(arr)
    if missing.any():
        row = index[int(np.flatnonzero(missing)[0])]
        raise DataError(f"{what} is missing at row {row!r}")
    out: pd.Index = pd.Index(arr)
    return out


def _group_columns(groups: object, n: int) -> list[object]:
    """One or two label columns from a 1-D labels, a pair, an (n, 2) array or a 2-column frame."""
    if isinstance(groups, pd.DataFrame):
        return [groups.iloc[:, j] for j in range(groups.shape[1])]
    if isinstance(groups, (pd.Series, pd.Index)):
        return [groups]
    if (
        isinstance(groups, (list, tuple))
        and len(groups) in (1, 2)
        and all(np.ndim(g) == 1 and len(g) == n for g in groups)
    ):
        return list(groups)
    arr = np.asarray(groups, dtype=object)
    if arr.ndim == 2 and arr.shape[0] == n:
        return [arr[:, j] for j in range(arr.shape[1])]
    return [groups]


def cluster_cov(fit: OLSResults, groups: object, use_correction: bool = True) -> FloatArray:
    """Cluster-robust covariance of the kept estimates, as statsmodels' ``cov_type="cluster"``.

    Parameters
    ----------
    groups : array_like or Series of shape (n,), or two of them
        One label per fitted row (a Series longer than the fit is aligned on
        the fitted rows' index); a pair, an (n, 2) array or a two-column frame
        clusters two ways.
    use_correction : bool
        statsmodels' small-sample factor ``G / (G - 1) * (n - 1) / (n - k)``
        for each one-way part (default True).

    Returns
    -------
    ndarray of shape (rank, rank)
    """
    rows = fit.rows
    if rows is None:
        raise DataError("the cluster covariance needs the fitted rows; this fit keeps none")
    n = fit.nobs
    cols = _group_columns(groups, n)
    if len(cols) not in (1, 2):
        raise DataError(f"cluster covariance takes one or two groupings, got {len(cols)}")
    names = ["groups"] if len(cols) == 1 else ["groups[0]", "groups[1]"]
    labels = [_labels(c, n, rows.index, nm) for c, nm in zip(cols, names, strict=True)]
    u = scores(fit)
    parts: list[tuple[float, ClusterMeat]] = [(1.0, ClusterMeat.from_scores(u, g)) for g in labels]
    if len(labels) == 2:
        both = pd.MultiIndex.from_arrays([labels[0], labels[1]])
        parts.append((-1.0, ClusterMeat.from_scores(u, both)))
    return cluster_cov_from_meats(fit, parts, use_correction)


def cluster_cov_from_meats(
    fit: OLSResults, parts: Sequence[tuple[float, ClusterMeat]], use_correction: bool = True
) -> FloatArray:
    """``sum sign * c_g * B M_g B`` over the one-way parts (the streamed wing's final step)."""
    n, k = fit.nobs, fit.rank
    cov = np.zeros((k, k))
    for sign, part in parts:
        G = part.n_groups
        if G < 2:
            raise DataError(f"cluster-robust covariance needs at least 2 groups, got {G}")
        c = G / (G - 1.0) * ((n - 1.0) / (n - k)) if use_correction else 1.0
        cov += sign * c * _sandwich(fit, part.meat)
    return cov


def robust_cov(fit: OLSResults, cov_type: str, cov_kwds: dict[str, object] | None) -> FloatArray:
    """The covariance of ``cov_type`` "HAC" or "cluster" with statsmodels' ``cov_kwds``.

    HAC: ``maxlags`` (default by :func:`default_maxlags`), ``kernel``
    ("bartlett"), ``use_correction`` (False). Cluster: ``groups`` (required),
    ``use_correction`` (True). Unknown keys are refused by name.
    """
    kw = dict(cov_kwds or {})
    allowed: dict[str, tuple[str, ...]] = {
        "HAC": ("maxlags", "kernel", "use_correction"),
        "cluster": ("groups", "use_correction"),
    }
    if cov_type not in allowed:
        raise ValueError(f"robust_cov handles 'HAC' and 'cluster', got {cov_type!r}")
    unknown = sorted(set(kw) - set(allowed[cov_type]))
    if unknown:
        raise ValueError(
            f"cov_kwds for {cov_type!r} takes {list(allowed[cov_type])}; unknown: {unknown}"
        )
    if cov_type == "HAC":
        maxlags = kw.get("maxlags")
        return hac_cov(
            fit,
            None if maxlags is None else _check_maxlags(maxlags),
            _check_kernel(kw.get("kernel", "bartlett")),
            bool(kw.get("use_correction", False)),
        )
    if "groups" not in kw:
        raise ValueError("cov_type='cluster' needs cov_kwds={'groups': labels}")
    return cluster_cov(fit, kw["groups"], bool(kw.get("use_correction", True)))
