"""What one pass over the data leaves, and both readings of it.

A :class:`Reduction` is the design spec, the square-root statistic of
``[X y]`` with its bookkeeping (:class:`Pass1`) and, when a second pass was
asked for, the residuals' moments and the HC meats (:class:`Pass2`). The
frequentist fit (:meth:`Reduction.ols`), the posterior under any prior
(:meth:`Reduction.bayes`) and model comparison are read off it without
touching the data again; :func:`duolm.reduce` makes one from data of any kind.

Both passes are mergeable (DESIGN.md, "One core, two readings"): pass 1
merges by ``R <- triu(qr([R1; R2]))``, exactly, whatever the order; pass 2
merges in row order, for consecutive batches of one fit. Reductions of
disjoint data (another file, another day) merge exactly with
:meth:`Reduction.merge`; the merged one has no second pass, because residuals
are measured from the estimate of all the data, which neither part had.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm import core
from duolm._checks import (
    DEPENDENT_COV_TYPES,
    CovType,
    check_alias_tol,
    check_cov_kwds,
    check_cov_type,
    check_residual_rows,
)
from duolm.bayesian import NIG, BayesResults
from duolm.design import Design, DesignSpec
from duolm.errors import DataError
from duolm.frequentist import OLSResults, TestSpec, TestSums, solve_design

# TestSpec and TestSums: the standard tests' accumulators that Pass2 holds (the state a
# streamed fit's checkpoint writes), defined beside the tests that read them
__all__ = ["ConstantColumns", "Estimate", "Pass1", "Pass2", "Reduction", "TestSpec", "TestSums"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Weights = FloatArray | None  # a weighted fit's weights of the rows, or None


class ColumnBlock(Protocol):
    """Rows of ``X`` given column by column (a batch's columns, never stacked)."""

    @property
    def n(self) -> int: ...

    @property
    def k(self) -> int: ...

    @property
    def icpt(self) -> int | None: ...

    def column(self, j: int) -> FloatArray: ...


def _access(block: FloatArray | ColumnBlock) -> tuple[int, int, int | None, ColumnGetter]:
    if isinstance(block, np.ndarray):
        return block.shape[0], block.shape[1], None, lambda j: block[:, j]
    return block.n, block.k, block.icpt, block.column


class ColumnGetter(Protocol):
    def __call__(self, j: int) -> FloatArray: ...


def _equals(block: FloatArray | ColumnBlock, j: int, value: float) -> bool:
    """Every value of column ``j`` equals ``value`` (a block's intercept is ones by
    construction: not compared element by element)."""
    _, _, icpt, column = _access(block)
    if j == icpt:
        return bool(value == 1.0)
    return bool(np.all(column(j) == value))


@dataclass(frozen=True, eq=False)
class _HeldColumns:
    """A design's :class:`~duolm.core.Columns` as a :class:`ColumnBlock`."""

    columns: core.Columns

    @property
    def n(self) -> int:
        return self.columns.nrows

    @property
    def k(self) -> int:
        return self.columns.shape[1]

    @property
    def icpt(self) -> int | None:
        return self.columns.intercept

    def column(self, j: int) -> FloatArray:
        return self.columns.column(j)


@dataclass(frozen=True, eq=False)
class ConstantColumns:
    """Which columns of X are constant and nonzero (for the intercept), mergeable.

    ``first`` is the first row of X (None before any row); ``mask`` marks the
    columns equal to it in every row so far and nonzero.
    """

    first: FloatArray | None = None
    mask: BoolArray | None = None

    @classmethod
    def of(cls, block: FloatArray | ColumnBlock) -> ConstantColumns:
        n, k, _, column = _access(block)
        if n == 0:
            return cls()
        first = np.array([column(j)[0] for j in range(k)], dtype=np.float64)
        mask = [_equals(block, j, first[j]) and first[j] != 0 for j in range(k)]
        return cls(first, np.array(mask, dtype=bool))

    def extend(self, block: FloatArray | ColumnBlock) -> ConstantColumns:
        """``self.merge(ConstantColumns.of(block))``, testing only the columns still constant."""
        if self.first is None or self.mask is None:
            return ConstantColumns.of(block)
        mask = self.mask.copy()
        for j in np.flatnonzero(mask):
            mask[j] = _equals(block, int(j), self.first[j])
        return ConstantColumns(self.first, mask)

    def merge(self, later: ConstantColumns) -> ConstantColumns:
        if self.first is None or self.mask is None:
            return later
        if later.first is None or later.mask is None:
            return self
        return ConstantColumns(self.first, self.mask & later.mask & (later.first == self.first))

    def position(self, kept: BoolArray) -> int | None:
        """Position among the kept columns of the first constant one (``constant_column``)."""
        if self.mask is None:
            return None
        hits = np.flatnonzero(self.mask[kept])
        return int(hits[0]) if hits.size else None


def _weigh(
    X: FloatArray, y: FloatArray, weights: FloatArray | None
) -> tuple[FloatArray, FloatArray, core.WeightSums | None]:
    """The rows the statistic is made of (scaled by ``sqrt(w)`` when weighted) and the
    weights' sums (:mod:`duolm.core._weights`)."""
    if weights is None:
        return X, y, None
    Xs, ys = core.scale_rows(X, y, weights)
    return Xs, ys, core.WeightSums.of(weights, y)


def _merged_sums(a: core.WeightSums | None, b: core.WeightSums | None) -> core.WeightSums | None:
    if a is None or b is None:
        return a if b is None else b
    return a.merge(b)


@dataclass(frozen=True, eq=False)
class Pass1:
    """Pass 1 of some rows: their square-root statistic and bookkeeping.

    For weighted rows ``stat`` is the statistic of the rows scaled by
    ``sqrt(w)`` and ``weights`` the sums of the weights (None: unweighted);
    ``const`` is found on the unscaled ``X``.
    """

    stat: core.SqrtStat
    rows: int  # rows read, dropped ones included
    n_dropped: int
    const: ConstantColumns
    weights: core.WeightSums | None = None

    @classmethod
    def empty(cls, k: int) -> Pass1:
        return cls(core.SqrtStat.empty(k), 0, 0, ConstantColumns())

    @classmethod
    def of(
        cls, X: FloatArray, y: FloatArray, rows: int, n_dropped: int, weights: Weights = None
    ) -> Pass1:
        return replace(cls._block(X, y, rows, n_dropped, weights), const=ConstantColumns.of(X))

    def add(
        self, X: FloatArray, y: FloatArray, rows: int, n_dropped: int, weights: Weights = None
    ) -> Pass1:
        """The next rows in order (as ``merge(Pass1.of(...))``, with a cheaper constant test)."""
        merged = self.merge(self._block(X, y, rows, n_dropped, weights))
        return replace(merged, const=self.const.extend(X) if len(y) else self.const)

    @classmethod
    def _block(
        cls, X: FloatArray, y: FloatArray, rows: int, n_dropped: int, weights: FloatArray | None
    ) -> Pass1:
        """Pass 1 of a block of rows, its constant columns not yet looked at."""
        Xs, ys, sums = _weigh(X, y, weights)
        stat = core.SqrtStat.from_block(Xs, ys) if len(y) else core.SqrtStat.empty(X.shape[1])
        return cls(stat, rows, n_dropped, ConstantColumns(), sums)

    def merge(self, later: Pass1) -> Pass1:
        if later.stat.nobs == 0 and not np.any(later.stat.R):
            stat = self.stat
        elif self.stat.nobs == 0 and not np.any(self.stat.R):
            stat = later.stat
        else:
            stat = self.stat.merge(later.stat)
        return Pass1(
            stat,
            self.rows + later.rows,
            self.n_dropped + later.n_dropped,
            self.const.merge(later.const),
            _merged_sums(self.weights, later.weights),
        )

    def estimate(self, alias_tol: float, robust: bool) -> Estimate:
        """The estimate of pass 1, aliased columns dropped (what pass 2 needs)."""
        stat = self.stat
        kept = ~stat.aliased(alias_tol)
        if not kept.all():
            stat = stat.select(kept)
        return Estimate(kept, stat, stat.solve(), robust)


@dataclass(frozen=True, eq=False)
class Estimate:
    """What pass 2 needs from pass 1: the kept columns, their statistic and estimate.

    ``robust``: pass 2 also accumulates the leverages and the HC meats;
    ``scores``: it also feeds the score rows to the HAC and cluster meats
    (:class:`~duolm.core.ScoreSpec`, ``maxlags`` made concrete after pass 1).
    """

    kept: BoolArray
    stat: core.SqrtStat
    params: FloatArray
    robust: bool = True
    scores: core.ScoreSpec | None = None
    tests: TestSpec | None = None  # the standard tests' sums (frequentist._testsums)

    def asking(self, scores: core.ScoreSpec | None, tests: Mapping[str, Any] | None) -> Estimate:
        """This estimate with pass 2's further accumulations: the HAC and cluster meats
        of ``scores`` (``maxlags`` by the rule for the rows pass 1 counted) and the
        standard tests' sums of the request ``tests`` (None: neither)."""
        n = round(self.stat.nobs)
        return replace(
            self,
            scores=None if scores is None else scores.counted(n),
            tests=None if tests is None else TestSpec.resolve(tests, self.stat),
        )


@dataclass(frozen=True, eq=False)
class Pass2:
    """Pass 2 of some rows: residual moments (in row order), the HC meats and, when
    asked for, the HAC and cluster meats of the score rows (in row order)."""

    moments: core.ResidualMoments
    meats: FloatArray  # (3, rank, rank): HC0, HC2, HC3 (zeros unless robust)
    lev_one: bool
    scores: core.ScoreMeats | None = None
    tests: TestSums | None = None

    @classmethod
    def empty(cls, rank: int) -> Pass2:
        zero = core.ResidualMoments.from_residuals(np.zeros(0))
        return cls(zero, np.zeros((3, rank, rank)), False)

    @classmethod
    def of(
        cls,
        fit: Estimate,
        X: FloatArray,
        y: FloatArray,
        block: int = 16_384,
        labels: tuple[pd.Index, ...] = (),
        weights: FloatArray | None = None,
    ) -> Pass2:
        """The residual sums of rows, in blocks of ``block`` rows merged in order.

        Blocks that stay in cache make the several passes over each block (residuals,
        ``W``, leverages, three weighted products, moments) cheap; the split is fixed
        by the rows, so the result does not depend on timing. ``labels``: the group
        labels of the rows, one index per grouping of ``fit.scores``. Weighted rows are
        scaled by ``sqrt(w)`` first: the moments are those of the scaled residuals
        ``sqrt(w) e`` and the meats those of the scaled rows (statsmodels' WLS
        diagnostics and robust covariances read ``wresid`` and ``wexog``).
        """
        if weights is not None:
            X, y = core.scale_rows(X, y, weights)
        out = cls.empty(fit.params.shape[0])
        scores: list[FloatArray] = []  # score rows, fed to the HAC / cluster meats at once
        for lo in range(0, len(y), block):
            rows = slice(lo, lo + block)
            part, u = cls._block(fit, X[rows], y[rows])
            out = part if lo == 0 else out.merge(part)
            if u is not None:
                scores.append(u)
        if fit.scores is not None and scores:
            u = np.vstack(scores)
            out = replace(out, scores=fit.scores.empty(u.shape[1]).update(u, labels))
        return out

    @classmethod
    def _block(cls, fit: Estimate, X: FloatArray, y: FloatArray) -> tuple[Pass2, FloatArray | None]:
        """Pass 2 of a block, and its score rows when ``fit.scores`` asks for them."""
        Xk = X if fit.kept.all() else X[:, fit.kept]
        e = y - Xk @ fit.params
        moments = core.ResidualMoments.from_residuals(e)
        rank = fit.params.shape[0]
        tests = None if fit.tests is None else TestSums.of(fit.tests, Xk, y, e)
        if not fit.robust and fit.scores is None:  # the moments only: no leverages, no meats
            return cls(moments, np.zeros((3, rank, rank)), False, None, tests), None
        W = fit.stat.whiten(Xk)  # rows of the thin Q factor
        meats, lev_one = np.zeros((3, rank, rank)), False
        if fit.robust:
            meats, lev_one = core.meats(W, e, np.einsum("ij,ij->i", W, W))
        u = W * e[:, None] if fit.scores is not None else None  # u_t = w_t e_t (core._sandwich)
        return cls(moments, meats, lev_one, None, tests), u

    def merge(self, later: Pass2) -> Pass2:
        scores = self.scores
        if scores is None:
            scores = later.scores
        elif later.scores is not None:
            scores = scores.merge(later.scores)
        tests = self.tests
        if tests is None:
            tests = later.tests
        elif later.tests is not None:
            tests = tests.merge(later.tests)
        return Pass2(
            self.moments.merge(later.moments),
            self.meats + later.meats,
            self.lev_one or later.lev_one,
            scores,
            tests,
        )


@dataclass(frozen=True, eq=False)
class Reduction:
    """One pass (or two) over the data: everything both readings need.

    Made by :func:`duolm.reduce` (data of any kind); read with :meth:`ols`,
    :meth:`bayes`, or :func:`duolm.compare`; merged with another of disjoint
    data by :meth:`merge`.

    Attributes
    ----------
    spec : DesignSpec
        How the columns were built (terms, response, formula).
    first : Pass1 or None
        The square-root statistic of ``[X y]`` (all columns), rows read and
        dropped, the constant columns; None for rows in memory, whose
        :attr:`pass1` is computed when first asked for.
    pass2 : Pass2 or None
        Residual moments (and HC meats when ``robust``) of a second pass; None
        when only one pass was made or after a merge.
    alias_tol : float
        The aliasing tolerance the second pass was made with.
    robust : bool
        The second pass accumulated the HC meats.
    label : str
        What the data were ("data", a file name, "dask"), for messages.
    design : Design or None
        The rows themselves, for data reduced in memory: the frequentist
        reading then refines its estimate from them and keeps the per-row
        diagnostics (leverage, residuals).
    """

    spec: DesignSpec
    first: Pass1 | None
    pass2: Pass2 | None = None
    alias_tol: float = core.ALIAS_TOL
    robust: bool = False
    label: str = "data"
    design: Design | None = field(default=None, repr=False)

    @classmethod
    def of_design(cls, design: Design, alias_tol: float = core.ALIAS_TOL) -> Reduction:
        """The reduction of rows in memory (pass 1 on demand; pass 2 is at hand)."""
        return cls(
            spec=design.spec,
            first=None,
            pass2=None,
            alias_tol=check_alias_tol(alias_tol),
            robust=True,
            label="data",
            design=design,
        )

    @classmethod
    def of_passes(
        cls,
        spec: DesignSpec,
        pass1: Pass1,
        pass2: Pass2 | None,
        *,
        alias_tol: float,
        robust: bool,
        label: str,
    ) -> Reduction:
        """The reduction of data read in passes (a file, an iterable, a Dask DataFrame).

        ``robust``: pass 2 was asked to accumulate the HC meats (it did if it was made).
        """
        return cls(
            spec=spec,
            first=pass1,
            pass2=pass2,
            alias_tol=alias_tol,
            robust=robust and pass2 is not None,
            label=label,
        )

    # -- what it holds ---------------------------------------------------------------
    @cached_property
    def pass1(self) -> Pass1:
        """Pass 1: the statistic of ``[X y]``, rows read and dropped, the constant columns."""
        if self.first is not None:
            return self.first
        assert self.design is not None, "a Reduction holds pass 1 or the rows"
        d = self.design
        rows = len(d.y) + d.n_dropped
        if isinstance(d.matrix, core.Columns) and d.gram is not None and d.weights is None:
            # a frame's columns: the Gram matrix of the design's scan, X never built
            stat = core.SqrtStat.of_gram(d.gram, d.y)
            if stat is not None:
                const = ConstantColumns.of(_HeldColumns(d.matrix))
                return Pass1(stat, rows, d.n_dropped, const)
        return Pass1.of(d.X, d.y, rows, d.n_dropped, d.weights)

    @property
    def terms(self) -> tuple[str, ...]:
        """Column names of the design."""
        return self.spec.terms

    @property
    def stat(self) -> core.SqrtStat:
        """The square-root statistic of ``[X y]``, every column."""
        return self.pass1.stat

    @property
    def nobs(self) -> int:
        """Rows used (missing ones dropped)."""
        if self.design is not None:  # known without pass 1, which rows in memory defer
            return len(self.design.y)
        return round(self.pass1.stat.nobs)

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values."""
        if self.design is not None:
            return self.design.n_dropped
        return self.pass1.n_dropped

    @property
    def passes(self) -> int:
        """1, or 2 when the residuals' moments are at hand (always for rows in memory)."""
        return 2 if self.pass2 is not None or self.design is not None else 1

    @cached_property
    def estimate(self) -> Estimate:
        """Pass 1's estimate with the aliased columns dropped."""
        return self.pass1.estimate(self.alias_tol, self.robust)

    # -- the two readings ------------------------------------------------------------
    def ols(
        self, cov_type: CovType = "nonrobust", cov_kwds: Mapping[str, Any] | None = None
    ) -> OLSResults:
        """The least-squares fit.

        Rows in memory give the refined in-memory fit with every per-row
        diagnostic; a streamed reduction gives the same numbers to rounding,
        with the residual diagnostics and robust covariances of its second
        pass (a one-pass reduction raises :class:`~duolm.errors.DataError`
        when asked for them, never NaN).
        """
        if self.design is not None:
            cov_type = check_cov_type(cov_type)
            kwds = check_cov_kwds(cov_type, cov_kwds)
            d = self.design
            check_residual_rows(*d.shape)  # refused before any factorisation
            fit = solve_design(d, self.alias_tol)  # weighted: the rows scaled by sqrt(w)
            if kwds is None:
                return OLSResults.from_fit(self.design, fit, cov_type)
            return OLSResults.from_fit(self.design, fit).with_cov_type(cov_type, kwds)
        cov_type = check_cov_type(cov_type, residuals=self.pass2 is not None)
        kwds = check_cov_kwds(cov_type, cov_kwds)
        dependent = cov_type in DEPENDENT_COV_TYPES
        if dependent and (self.pass2 is None or self.pass2.scores is None):
            raise DataError(
                f"cov_type={cov_type!r} needs the lag products or group sums of the score rows, "
                f"which this reduction of {self.label} did not accumulate: reduce with "
                "diagnostics=True and hac={'maxlags': L} or groups='COLUMN' (or fit with "
                f"duolm.ols(..., cov_type={cov_type!r}, cov_kwds=...))"
            )
        if cov_type != "nonrobust" and not dependent and not self.robust:
            raise ValueError(
                f"cov_type={cov_type!r} needs the HC meats, which this reduction's second pass "
                "did not accumulate: reduce with robust=True"
            )
        est = self.estimate
        second = self.pass2
        result = OLSResults.from_state(
            self.spec,
            est.stat,
            kept=est.kept,
            const_col=self.pass1.const.position(est.kept),
            n_dropped=self.n_dropped,
            moments=second.moments if second is not None else None,
            meats=second.meats if second is not None and self.robust else None,
            lev_one=second.lev_one if second is not None else False,
            cov_type="nonrobust" if dependent else cov_type,
            label=self.label,
            score_meats=second.scores if second is not None else None,
            test_sums=second.tests if second is not None else None,
            weights=self.pass1.weights,
        )
        return result.with_cov_type(cov_type, kwds) if dependent else result

    def bayes(self, prior: NIG | None = None) -> BayesResults:
        """The conjugate posterior of ``prior`` (default ``NIG.vague(k)``) given these data."""
        if self.design is not None:
            return BayesResults.from_design(self.design, prior)
        return BayesResults.from_state(self.spec, self.stat, prior, self.pass1.weights)

    # -- merging ---------------------------------------------------------------------
    def merge(self, other: Reduction) -> Reduction:
        """The reduction of both data sets (disjoint rows), exact.

        Both must have the same design columns; the rows of ``other`` come
        after those of ``self`` for the constant-column check. The result has
        no second pass and keeps no rows (see the module docstring).

        Raises
        ------
        DataError
            The designs differ (other columns or another formula).
        """
        if not isinstance(other, Reduction):
            raise TypeError(f"can merge a Reduction only with a Reduction, got {type(other)!r}")
        if self.spec.terms != other.spec.terms or self.spec.formula != other.spec.formula:
            raise DataError(
                f"cannot merge reductions of different designs: {self._what()} and {other._what()}"
            )
        if self.spec.weights != other.spec.weights:
            raise DataError(
                "cannot merge a weighted reduction with an unweighted one, or reductions "
                f"weighted by other columns: weights {self.spec.weights!r} and "
                f"{other.spec.weights!r}"
            )
        return Reduction(
            spec=self.spec,
            first=self.pass1.merge(other.pass1),
            pass2=None,
            alias_tol=self.alias_tol,
            robust=False,
            label=self.label if self.label == other.label else f"{self.label} + {other.label}",
        )

    def _what(self) -> str:
        formula = self.spec.formula or "arrays"
        weighted = f", weighted by {self.spec.weights!r}" if self.spec.weights else ""
        return f"{formula!r} with columns {list(self.spec.terms)}{weighted}"

    # -- display ---------------------------------------------------------------------
    def __repr__(self) -> str:
        passes = "two passes" if self.passes == 2 else "one pass"
        return (
            f"<Reduction of {self._what()}: {self.nobs} rows ({self.n_dropped} dropped), "
            f"{passes}, from {self.label}>"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("formula", self.spec.formula or "(arrays)"),
            ("columns", ", ".join(self.spec.terms)),
            ("rows used", f"{self.nobs}"),
            ("rows dropped (missing)", f"{self.n_dropped}"),
            ("passes", f"{self.passes}"),
            ("source", self.label),
            *([("weights", str(self.spec.weights))] if self.spec.weights is not None else []),
            ("ssr of the full design", f"{self.stat.ssr:.6g}" if self.nobs else "nan"),
            ("condition number", f"{self.stat.condition_number():.4g}"),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table class='duolm-reduction'><caption>duolm Reduction</caption>{body}</table>"
