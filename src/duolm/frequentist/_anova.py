"""Analysis of variance: type I-III tables of one fit, and nested-model comparisons.

One fit (statsmodels' ``anova_lm(fit, typ=...)``):

* Type I (sequential): term j's sum of squares is the squared norm of its
  entries of ``Q^T y``, i.e. of ``rxy`` in the square-root statistic (columns
  in the formula's order), so no model is refitted.
* Type II: each term tested after all terms that do not contain it (Wald F
  of the term's coefficients, made orthogonal, in the fit's covariance, to the
  terms that contain it: statsmodels' construction, Fox 2016, sec. 7.4 and 8.2.5).
* Type III: each term (the intercept included) tested after all others.

A term whose columns are all aliased has no row; a partly aliased term is
tested on its estimable columns (its df counts those).

Types II and III are Wald tests with the fit's covariance, so a robust
``cov_type`` is honoured; ``robust="hc0".."hc3"`` overrides it, as statsmodels.
The sums of squares are backed out as ``F * df * s^2``.

Several fits (statsmodels' ``anova_lm(small, big)``, R's ``anova(m1, m2)``):
F tests (or likelihood-ratio tests) of each model against the previous one,
refused with the reason when a model does not contain the one before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import scipy.linalg as sla
from numpy.typing import NDArray
from scipy import stats

from duolm.errors import DataError

if TYPE_CHECKING:
    from duolm.frequentist._fit import OLSFit

__all__ = ["anova"]

FloatArray = NDArray[np.float64]

#: A column of the smaller model farther than this (relative to its norm) from
#: the larger model's column space is not nested in it.
_NESTED_TOL = 1e-8


@dataclass(frozen=True)
class _Term:
    name: str
    columns: tuple[int, ...]  # positions among the design's columns
    factors: frozenset[str]
    intercept: bool


def _terms(fit: OLSFit) -> list[_Term]:
    """The model's terms with their columns; array fits: one term per column."""
    spec = fit.spec
    rhs = getattr(spec, "_rhs_spec", None)
    if rhs is None:
        kept_idx = np.flatnonzero(fit.kept)
        const = None if fit.const_col is None else int(kept_idx[fit.const_col])
        return [
            _Term(name, (j,), frozenset({name}), j == const) for j, name in enumerate(spec.terms)
        ]
    terms = []
    for term, sl in rhs.term_slices.items():
        factors = frozenset(str(f) for f in term.factors)
        intercept = factors == frozenset({"1"})
        cols = tuple(range(sl.start, sl.stop))
        terms.append(_Term("Intercept" if intercept else str(term), cols, factors, intercept))
    return terms


def _kept_positions(fit: OLSFit, columns: tuple[int, ...]) -> list[int]:
    """Positions among the kept columns of the estimable ones in ``columns``."""
    where = np.cumsum(fit.kept) - 1
    return [int(where[c]) for c in columns if fit.kept[c]]


def _scaled(fit: OLSFit, robust: str | None) -> tuple[FloatArray, FloatArray]:
    """The kept estimates and their covariance in the fit's scaled coordinates (``b / D``
    and ``C`` of ``cov = D C D``): the Wald tests of sets of coefficients do not change
    under that scaling, and a column near 1e-160 no longer overflows them."""
    if robust is not None:
        kind = str(robust).upper()
        if kind not in ("HC0", "HC1", "HC2", "HC3"):
            raise ValueError(f"robust must be None or one of 'hc0'..'hc3', got {robust!r}")
        fit = fit.with_cov_type(kind)  # type: ignore[arg-type]
    return fit.params_kept / fit._unit, fit._cov_scaled


def _wald_f(b: FloatArray, L: FloatArray, V: FloatArray) -> float:
    diff = L @ b
    quad = float(diff @ np.linalg.solve(L @ V @ L.T, diff))
    return quad / float(L.shape[0])


def _single(fit: OLSFit, typ: int, robust: str | None) -> pd.DataFrame:
    terms = _terms(fit)
    df_resid = fit.df_resid
    s2 = fit.ssr / df_resid
    if typ == 1:
        rxy = fit.stat.rxy
        rows = []
        for t in terms:
            if t.intercept:
                continue
            pos = _kept_positions(fit, t.columns)
            if not pos:  # wholly aliased: no sum of squares of its own (R omits it too)
                continue
            ss = float(rxy[pos] @ rxy[pos])
            rows.append((t.name, float(len(pos)), ss))
        frame = pd.DataFrame(
            {
                "df": [r[1] for r in rows] + [float(df_resid)],
                "sum_sq": [r[2] for r in rows] + [fit.ssr],
            },
            index=[r[0] for r in rows] + ["Residual"],
        )
        frame["mean_sq"] = frame["sum_sq"] / frame["df"]
        F = frame["mean_sq"] / s2
        F.iloc[-1] = math.nan
        frame["F"] = F
        frame["PR(>F)"] = stats.f.sf(F, frame["df"], df_resid)
        return frame
    b, V = _scaled(fit, robust)
    k = fit.rank
    eye = np.eye(k)
    names, dfs, Fs = [], [], []
    order = []
    for t in terms:
        if t.intercept and typ == 2:
            continue
        L1_idx = _kept_positions(fit, t.columns)
        if not L1_idx:
            continue
        L2_idx: list[int] = []
        if typ == 2:
            for other in terms:
                if other.intercept or other is t:
                    continue
                if t.factors < other.factors:  # a higher-order term containing t
                    L2_idx.extend(_kept_positions(fit, other.columns))
        L1 = eye[L1_idx + L2_idx]
        if L2_idx:
            L2 = eye[L2_idx]
            # statsmodels' anova2_lm_single: rows of L1 orthogonal in V to L2
            Q, _ = sla.qr(L1 @ V @ L2.T)
            r = L1.shape[0] - L2.shape[0]
            L = Q[:, -r:].T @ L1
        else:
            L = L1
        names.append(t.name)
        dfs.append(float(L.shape[0]))
        Fs.append(_wald_f(b, L, V))
        order.append(t.columns[0])
    frame = pd.DataFrame({"df": dfs, "F": Fs}, index=names)
    if typ == 2:
        frame = frame.iloc[np.argsort(order, kind="stable")]
    frame.insert(0, "sum_sq", frame["F"] * frame["df"] * s2)
    frame["PR(>F)"] = stats.f.sf(frame["F"], frame["df"], df_resid)
    resid = pd.DataFrame(
        {"sum_sq": [fit.ssr], "df": [float(df_resid)], "F": [math.nan], "PR(>F)": [math.nan]},
        index=["Residual"],
    )
    return pd.concat([frame, resid])


def _check_nested(small: OLSFit, big: OLSFit, i: int) -> None:
    """Refuse, with the reason, a pair where ``big`` does not contain ``small``."""
    where = f"models {i} and {i + 1}"
    if small.nobs != big.nobs:
        raise DataError(
            f"{where} are not nested: fitted on different numbers of rows "
            f"({small.nobs} and {big.nobs})"
        )
    if small.rank > big.rank:
        raise DataError(
            f"{where} are not in order of increasing size: model {i} has {small.rank} "
            f"coefficients, model {i + 1} has {big.rank}; pass the smaller model first"
        )
    if small.rows is None or big.rows is None:
        if small.spec.response != big.spec.response:
            raise DataError(
                f"{where} are not nested: different responses "
                f"({small.spec.response!r} and {big.spec.response!r})"
            )
        missing = [
            t
            for t, keep in zip(small.terms, small.kept, strict=True)
            if keep and t not in big.terms
        ]
        if missing:
            raise DataError(
                f"{where} are not nested: term(s) {missing} of model {i} are not in model {i + 1}"
            )
        return
    if not np.array_equal(small.rows.y, big.rows.y):
        raise DataError(f"{where} are not nested: their responses (or rows) differ")
    Xs = small.rows.X[:, small.kept]
    Wb = big.stat.whiten(big.rows.X[:, big.kept])  # orthonormal basis of big's columns
    resid = Xs - Wb @ (Wb.T @ Xs)
    norms = np.linalg.norm(Xs, axis=0)
    far = np.linalg.norm(resid, axis=0) / np.where(norms > 0, norms, 1.0)
    bad = np.flatnonzero(far > _NESTED_TOL)
    if bad.size:
        kept_terms = [t for t, keep in zip(small.terms, small.kept, strict=True) if keep]
        j = int(bad[0])
        raise DataError(
            f"{where} are not nested: column {kept_terms[j]!r} of model {i} is not a "
            f"combination of model {i + 1}'s columns (relative distance {far[j]:.3g})"
        )
    if small.rank == big.rank:
        raise DataError(f"{where} span the same columns: there is nothing to test")


def _compare(fits: tuple[OLSFit, ...], test: str) -> pd.DataFrame:
    for i in range(len(fits) - 1):
        _check_nested(fits[i], fits[i + 1], i + 1)
    ssr = np.array([f.ssr for f in fits])
    df_resid = np.array([float(f.df_resid) for f in fits])
    df_diff = np.r_[math.nan, -np.diff(df_resid)]
    ss_diff = np.r_[math.nan, -np.diff(ssr)]
    frame = pd.DataFrame({"df_resid": df_resid, "ssr": ssr, "df_diff": df_diff, "ss_diff": ss_diff})
    if test == "F":
        scale = fits[-1].scale  # the largest model's s^2, as statsmodels and R
        F = ss_diff / df_diff / scale
        frame["F"] = F
        # F has the largest model's residual df below, in every row (R's anova.lm);
        # statsmodels' anova_lm reads each row's own, which differs from three fits on
        p = np.asarray(stats.f.sf(F, df_diff, df_resid[-1]), dtype=np.float64)
        p[np.isnan(F)] = math.nan
        frame["Pr(>F)"] = p
    else:
        n = fits[0].nobs
        # -2 (llf_small - llf_big) = n log(ssr_small / ssr_big)
        lr = np.r_[math.nan, n * np.log(ssr[:-1] / ssr[1:])]
        frame["LR"] = lr
        p = np.asarray(stats.chi2.sf(lr, df_diff), dtype=np.float64)
        p[np.isnan(lr)] = math.nan
        frame["Pr(>Chi)"] = p
    return frame


def anova(
    *fits: OLSFit,
    typ: Literal[1, 2, 3] = 1,
    robust: str | None = None,
    test: Literal["F", "lr"] = "F",
) -> pd.DataFrame:
    """ANOVA table of one fit, or tests of nested fits against each other.

    Parameters
    ----------
    *fits : OLSResults
        One fit: its type ``typ`` table. Several: smallest first, each tested
        against the one before it.
    typ : {1, 2, 3}
        Sums of squares type (one fit). Columns ``df, sum_sq, mean_sq, F,
        PR(>F)`` for type 1 and ``sum_sq, df, F, PR(>F)`` for types 2 and 3,
        rows by term (statsmodels' ``anova_lm``) and ``Residual``.
    robust : {None, "hc0", "hc1", "hc2", "hc3"}
        Types 2 and 3: the covariance of the Wald tests (None: the fit's).
    test : {"F", "lr"}
        Several fits: F test (columns ``df_resid, ssr, df_diff, ss_diff, F,
        Pr(>F)``; F on the largest model's scale and residual df, as R's
        ``anova``) or likelihood-ratio test (``... LR, Pr(>Chi)``).

    Returns
    -------
    DataFrame
    """
    if not fits:
        raise TypeError("anova needs at least one fit")
    if len(fits) == 1:
        if typ not in (1, 2, 3) or isinstance(typ, bool):
            raise ValueError(f"typ must be 1, 2 or 3, got {typ!r}")
        if typ == 1 and robust is not None:
            raise ValueError(
                "robust applies to typ 2 and 3 (type I sums of squares are sequential)"
            )
        return _single(fits[0], typ, robust)
    if test not in ("F", "lr"):
        raise ValueError(f"test must be 'F' or 'lr', got {test!r}")
    if typ != 1 or robust is not None:
        raise ValueError("typ and robust apply to the table of one fit, not to a comparison")
    return _compare(fits, test)
