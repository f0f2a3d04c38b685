"""Covariances robust to dependent errors: HAC (Newey-West) and cluster-robust.

Both are sandwiches ``B M B`` with the bread ``B = (X^T X)^-1 = Rxx^-1 Rxx^-T``
and a "meat" M that is a function of the score rows only. The scores are
taken in whitened coordinates, ``u_t = (Rxx^-T x_t) e_t`` (rows of
``W = X Rxx^-1`` times the residual), as for the HC meats: then
``cov = Rxx^-1 M_W Rxx^-T`` and no inverse of ``X^T X`` is formed. The meats
themselves are the core's mergeable accumulators (:class:`duolm.core.HACMeat`,
:class:`duolm.core.ClusterMeat`), which a streamed second pass can fill batch
by batch.

Definitions and small-sample factors are statsmodels' (``cov_type="HAC"``:
``cov_hac_simple``; ``"cluster"``: ``cov_cluster`` and ``cov_cluster_2groups``),
checked against R's ``sandwich::NeweyWest`` and Petersen's published
cluster-robust standard errors in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm import core
from duolm._checks import check_maxlags_rows
from duolm.errors import DataError

__all__ = [
    "cluster_cov_from_meats",
    "dependent_cov",
    "resolve_cov_kwds",
    "scores",
]

FloatArray = NDArray[np.float64]


class _Rows(Protocol):
    @property
    def X(self) -> FloatArray: ...
    @property
    def resid(self) -> FloatArray: ...
    @property
    def index(self) -> pd.Index: ...


class OLSFit(Protocol):
    """What these covariances read of a least-squares fit (:class:`~duolm.OLSResults`).

    A protocol rather than the class: the fit's own covariance calls back into
    this module, and the import graph stays a tree.
    """

    @property
    def rows(self) -> _Rows | None: ...
    @property
    def kept(self) -> NDArray[np.bool_]: ...
    @property
    def stat(self) -> core.SqrtStat: ...
    @property
    def nobs(self) -> int: ...
    @property
    def rank(self) -> int: ...
    @property
    def cov_type(self) -> str: ...
    @property
    def score_meats(self) -> core.ScoreMeats | None: ...


def scores(fit: OLSFit) -> FloatArray:
    """Whitened score rows ``(Rxx^-T x_t) e_t`` of an in-memory fit, shape (n, rank)."""
    rows = fit.rows
    if rows is None:
        raise DataError(
            f"cov_type={fit.cov_type!r} needs the residuals row by row and this fit keeps none "
            "(it was streamed): fit the data in memory"
        )
    X = rows.X if fit.kept.all() else rows.X[:, fit.kept]
    out: FloatArray = fit.stat.whiten(X) * rows.resid[:, None]
    return out


def _sandwich(Ri: FloatArray, meat: FloatArray) -> FloatArray:
    out: FloatArray = Ri @ meat @ Ri.T
    return out


# -- cov_kwds for a fit ----------------------------------------------------------------
def resolve_cov_kwds(fit: OLSFit, cov_type: str, kwds: Mapping[str, Any]) -> dict[str, Any]:
    """Checked ``cov_kwds`` made concrete for this fit's rows.

    HAC: ``maxlags`` filled in by Newey & West's rule when None
    (``maxlags_rule`` records that). Cluster: ``groups`` becomes a tuple of one
    or two :class:`pandas.Index` of labels, one per fitted row.
    """
    rows = fit.rows
    if rows is None:
        return _resolve_accumulated(fit, cov_type, kwds)
    out = dict(kwds)
    if cov_type == "HAC":
        out["maxlags_rule"] = out["maxlags"] is None
        if out["maxlags"] is None:
            out["maxlags"] = core.default_maxlags(fit.nobs)
        check_maxlags_rows(out["maxlags"], fit.nobs)
        return out
    cols = _group_columns(out["groups"], fit.nobs)
    names = ["groups"] if len(cols) == 1 else ["groups[0]", "groups[1]"]
    out["groups"] = tuple(
        _labels(c, fit.nobs, rows.index, nm) for c, nm in zip(cols, names, strict=True)
    )
    return out


def _labels(values: object, n: int, index: pd.Index, what: str) -> pd.Index:
    """Group labels for the n fitted rows, with missing labels refused by row."""
    if isinstance(values, str):
        raise DataError(
            f"{what} names a column ({values!r}) and a fit keeps no data columns: pass the "
            f"labels themselves, e.g. data[{values!r}]"
        )
    if isinstance(values, pd.Series) and not values.index.equals(index):
        # by label, whatever its length: a Series taken before the rows were sorted or
        # dropped labels them still (by position it would have clustered other rows)
        if not values.index.is_unique:
            raise DataError(
                f"{what} cannot be aligned on the {n} fitted rows: its index has duplicate "
                "labels; pass one label per fitted row"
            )
        try:
            values = values.loc[index]
        except KeyError as exc:
            raise DataError(
                f"{what} has no label for fitted row(s) {exc}: a Series is aligned on the "
                "fitted rows by its index; pass .to_numpy() for labels in row order"
            ) from None
    arr = _label_array(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(f"{what} must give one label per fitted row ({n}), got shape {arr.shape}")
    missing = pd.isna(arr)
    if missing.any():
        row = index[int(np.flatnonzero(missing)[0])]
        raise DataError(f"{what} is missing at row {row!r}")
    out: pd.Index = pd.Index(arr)
    return out


def _label_array(values: object) -> NDArray[Any]:
    """The labels as a numpy array: in their own dtype when numpy holds them as numbers,
    booleans or dates (hashed and checked for NaN many times faster than objects), else
    as objects (mixed, text, pandas' extension types: each label as it is)."""
    native = getattr(values, "dtype", None)
    if isinstance(native, np.dtype) and native.kind in "biufmM":
        return np.asarray(values)
    return np.asarray(values, dtype=object)


def _group_columns(groups: object, n: int) -> list[object]:
    """One or two label columns: labels, a pair, an (n, 2) array or a two-column frame.

    A list or tuple of one or two names is one name per grouping; one of two
    sequences of n labels is two groupings; any other sequence is one label per row.
    """
    if isinstance(groups, pd.DataFrame):
        cols: list[object] = [groups.iloc[:, j] for j in range(groups.shape[1])]
    elif isinstance(groups, (str, pd.Series, pd.Index)):
        cols = [groups]
    elif isinstance(groups, (list, tuple)) and _names_or_pair(groups, n):
        cols = list(groups)
    else:
        arr = np.asarray(groups, dtype=object)
        cols = [arr[:, j] for j in range(arr.shape[1])] if arr.ndim == 2 else [groups]
    if len(cols) not in (1, 2):
        raise DataError(f"cluster covariance takes one or two groupings, got {len(cols)}")
    return cols


def _names_or_pair(groups: list[object] | tuple[object, ...], n: int) -> bool:
    """One or two column names, or two sequences of n labels (else: one label per row)."""
    if 1 <= len(groups) <= 2 and all(isinstance(g, str) for g in groups):
        return True
    if len(groups) == 2 and all(isinstance(g, pd.Series) for g in groups):
        return True  # aligned on the fitted rows by their labels, whatever their lengths
    return len(groups) == 2 and all(
        np.ndim(g) == 1 and len(g) == n  # type: ignore[arg-type]
        for g in groups
    )


def _resolve_accumulated(fit: OLSFit, cov_type: str, kwds: Mapping[str, Any]) -> dict[str, Any]:
    """``cov_kwds`` of a fit that kept no rows, checked against what its second pass
    accumulated (:class:`duolm.core.ScoreMeats`); cluster ``groups`` become the indexes
    of the group labels seen."""
    acc = fit.score_meats
    spec = acc.spec if acc is not None else None
    redo = (
        f"fit it again with cov_type={cov_type!r} and these cov_kwds (duolm.ols(path, ..., "
        "cov_type=..., cov_kwds=...), or duolm.reduce(..., diagnostics=True, hac=..., "
        "groups=...))"
    )
    out = dict(kwds)
    if cov_type == "HAC":
        if acc is None or acc.hac is None or spec is None:
            raise DataError(
                "cov_type='HAC' needs the lag products of the residuals' scores and this fit "
                f"kept no rows and accumulated none (it was streamed): {redo}"
            )
        lags = out["maxlags"]
        if (lags is not None and lags != acc.hac.maxlags) or out["kernel"] != acc.hac.kernel:
            raise DataError(
                f"this streamed fit accumulated the HAC meat with maxlags={acc.hac.maxlags}, "
                f"kernel={acc.hac.kernel!r}: pass those cov_kwds, or {redo}"
            )
        out["maxlags"] = acc.hac.maxlags
        out["maxlags_rule"] = lags is None and spec.maxlags_rule
        return out
    names = out["groups"]
    names = [names] if isinstance(names, str) else names
    if acc is None or acc.clusters is None or spec is None or not spec.groups:
        raise DataError(
            "cov_type='cluster' needs the score sums of each group and this fit kept no rows "
            f"and accumulated none (it was streamed): {redo}"
        )
    if not (isinstance(names, (list, tuple)) and tuple(names) == spec.groups):
        shown = spec.groups[0] if len(spec.groups) == 1 else list(spec.groups)
        raise DataError(
            f"this streamed fit accumulated the group sums of column(s) {list(spec.groups)} "
            f"and keeps no rows to align other labels with: pass groups={shown!r}, or {redo}"
        )
    out["groups"] = tuple(c.groups for c in acc.clusters[: len(spec.groups)])
    return out


# -- the covariances ---------------------------------------------------------------------
def dependent_cov(
    fit: OLSFit, cov_type: str, kwds: Mapping[str, Any], Ri: FloatArray
) -> FloatArray:
    """The covariance of the kept estimates for "HAC" or "cluster" (kwds resolved), with
    ``Ri`` for ``Rxx^-1``: the fit passes its rows scaled by powers of two ``D``
    (``Rxx^-1 = D Ri``), and gets ``C`` of ``cov = D C D``, whose entries stay in range
    when a column near 1e-160 makes the covariance's own entries overflow.

    A fit that kept no rows reads the meats its second pass accumulated.

    Returns
    -------
    ndarray of shape (rank, rank)
    """
    n, k = fit.nobs, fit.rank
    acc = fit.score_meats if fit.rows is None else None
    if cov_type == "HAC":
        if acc is not None and acc.hac is not None:
            meat = acc.hac.S
        else:
            meat = core.HACMeat.from_scores(scores(fit), kwds["maxlags"], kwds["kernel"]).S
        cov = _sandwich(Ri, meat)
        if kwds["use_correction"]:
            cov = cov * (n / (n - k))
        return cov
    groups: tuple[pd.Index, ...] = kwds["groups"]
    if acc is not None and acc.clusters is not None:
        signs = (1.0, 1.0, -1.0)  # two-way: V_1 + V_2 - V_12 (the intersection last)
        return cluster_cov_from_meats(
            fit, list(zip(signs, acc.clusters, strict=False)), Ri, kwds["use_correction"]
        )
    u = scores(fit)
    parts = [(1.0, core.ClusterMeat.from_scores(u, g)) for g in groups]
    if len(groups) == 2:
        both = pd.MultiIndex.from_arrays([groups[0], groups[1]])
        parts.append((-1.0, core.ClusterMeat.from_scores(u, both)))
    return cluster_cov_from_meats(fit, parts, Ri, kwds["use_correction"])


def cluster_cov_from_meats(
    fit: OLSFit,
    parts: Sequence[tuple[float, core.ClusterMeat]],
    Ri: FloatArray,
    use_correction: bool = True,
) -> FloatArray:
    """``sum sign * c_g * B M_g B`` over one-way parts (also the streamed wing's last step).

    Each part's factor is statsmodels' ``G / (G - 1) * (n - 1) / (n - k)`` when
    ``use_correction``; two-way clustering passes the two groupings with sign
    +1 and their intersection with sign -1.
    """
    n, k = fit.nobs, fit.rank
    cov = np.zeros((k, k))
    for sign, part in parts:
        G = part.n_groups
        if G < 2:
            raise DataError(f"cluster-robust covariance needs at least 2 groups, got {G}")
        c = G / (G - 1.0) * ((n - 1.0) / (n - k)) if use_correction else 1.0
        cov += sign * c * _sandwich(Ri, part.meat)
    return cov
