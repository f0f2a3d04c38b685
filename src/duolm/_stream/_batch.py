"""The reduction that :mod:`duolm.stream` and :mod:`duolm.dask` share, batch or partition alike.

- :class:`_Builder` turns a batch into ``(X, y)`` with the design spec fixed on
  the first batch, copying plain numeric columns directly once that path has
  matched formulaic's design value for value (:func:`_design_or_none` builds the
  first design; :func:`_refuse_lag` refuses ``lag()``, which would reach across
  batches);
- pass 1 reduces rows to a :class:`_Part` (the core's
  :class:`~duolm.core.SqrtStat`, rows read and dropped, the constant columns
  :class:`_Const`), pass 2 to a :class:`_Resid` (residual moments in row order
  and the HC meats ``W^T diag(w) W``); both merge in row order, so batches
  reduced one after another and partitions merged by a tree give one result;
- :func:`_fit` solves the merged statistic, :func:`_ols_results` and
  :func:`_bayes_results` assemble the public results (the prior counted once).

No statistics are defined here: the core, :mod:`duolm.diagnostics` and
:mod:`duolm.ols` define them; this module only feeds them in batches.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, get_args

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm import _block_kernel
from duolm._safe_formula import parse_formula
from duolm._sources import _Batch
from duolm.bayes import NIG, BayesResults, checked_prior, proper_results
from duolm.core import SqrtStat
from duolm.design import Design, DesignSpec, from_formula
from duolm.diagnostics import ResidualMoments
from duolm.errors import DataError, FormulaError, RankWarning
from duolm.ols import _LEVERAGE_ONE, CovType, OLSResults

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Missing = Literal["drop", "raise"]

#: Rows per block of the second pass (see ``_Resid.of``).
_RESID_BLOCK = 16_384

_COV_TYPES: tuple[str, ...] = get_args(CovType)


def _check_formula(formula: object, missing: object, fit: str) -> str:
    """The formula string, after checking its type and ``missing`` (``fit`` names the caller)."""
    if not isinstance(formula, str):
        raise TypeError(f"{fit} needs a formula string, got {type(formula).__name__}")
    if missing not in ("drop", "raise"):
        raise ValueError(f"missing must be 'drop' or 'raise', got {missing!r}")
    return formula


def _used_columns(formula: str, names: list[str]) -> tuple[tuple[str, ...], bool]:
    """The data columns the formula uses (response first, each once), and whether the
    formula names plain columns only (:attr:`~duolm._safe_formula.ParsedFormula.plain`)."""
    parsed = parse_formula(formula, names)
    return tuple(dict.fromkeys(parsed.lhs_columns + parsed.rhs_columns)), parsed.plain


def _check_cov_type(cov_type: object, diagnostics: bool) -> None:
    """Refuse an unknown ``cov_type``, or a robust one without the second pass."""
    if cov_type not in _COV_TYPES:
        raise ValueError(f"cov_type must be one of {_COV_TYPES}, got {cov_type!r}")
    if cov_type != "nonrobust" and not diagnostics:
        raise ValueError(
            f"cov_type={cov_type!r} needs the residuals of the second pass: use diagnostics=True"
        )


def _refuse_lag(formula: str) -> None:
    if re.search(r"\blag\s*\(", formula):
        raise FormulaError(
            "lag() cannot be used in a streamed fit: it would reach across batch "
            "boundaries; add the lagged column to the data instead"
        )


@dataclass(frozen=True)
class _Builder:
    """Builds ``(X, y)`` for a batch with a spec fixed on the first batch.

    ``plain`` names, for each column of ``[X y]``, the data column it copies
    (None: the intercept) when every term is a plain numeric column; the
    direct path is used once ``fast`` records that it matched formulaic's design.
    """

    spec: DesignSpec
    plain: tuple[str | None, ...] | None
    fast: bool = False

    @classmethod
    def first(cls, spec: DesignSpec) -> _Builder:
        return cls(spec, spec.plain_columns())

    def columns(self, batch: _Batch) -> _Columns | None:
        """The batch's ``[X y]`` as the columns it copies, or None when some is not numeric.

        Values are not checked here: the reductions of :class:`_Columns` detect
        NaN and inf from their results and send the batch to :meth:`build`.
        """
        if self.plain is None:
            return None
        data: list[FloatArray] = []
        where: list[int] = []
        icpt = None
        for j, name in enumerate(self.plain):
            if name is None:
                icpt = j
                continue
            column = batch.numeric(name)
            if column is None:
                return None
            data.append(column)
            where.append(j)
        return _Columns(tuple(data), tuple(where), icpt)

    def direct(self, batch: _Batch) -> tuple[FloatArray, FloatArray] | None:
        """``(X, y)`` copied from the columns, or None when some value is not numeric or finite."""
        columns = self.columns(batch)
        if columns is None or not all(_all_finite(column) for column in columns.data):
            return None
        return columns.X(), columns.y

    def build(self, batch: _Batch, label: str) -> tuple[FloatArray, FloatArray, int, _Builder]:
        """``(X, y, n_dropped, builder)``; the builder returned may have verified the fast path."""
        direct = self.direct(batch)
        if direct is not None and self.fast:
            return direct[0], direct[1], 0, self
        X, y, dropped = _build_xy(self.spec, batch, label)
        return X, y, dropped, self._verified(direct, X, y)

    def verify(self, batch: _Batch, X: FloatArray, y: FloatArray) -> _Builder:
        """Verify the direct path on a batch whose design formulaic built as ``(X, y)``."""
        return self if self.fast else self._verified(self.direct(batch), X, y)

    def _verified(
        self, direct: tuple[FloatArray, FloatArray] | None, X: FloatArray, y: FloatArray
    ) -> _Builder:
        if direct is None:  # not plain, or a value not finite: verify on a later batch
            return self
        # value for value (0.0 equals -0.0)
        same = np.array_equal(direct[0], X) and np.array_equal(direct[1], y)
        return replace(self, fast=True) if same else replace(self, plain=None)

    def part(self, before: _Part, batch: _Batch, label: str) -> tuple[_Part, _Builder]:
        """``before`` and pass 1 of the batch that follows it, and the builder to go on with."""
        columns = self.columns(batch) if self.fast else None
        stat = columns.stat() if columns is not None else None
        if columns is not None and stat is not None:
            later = _Part(stat, batch.nrows, 0, _Const())
            return replace(before.merge(later), const=before.const.extend(columns)), self
        X, y, dropped, builder = self.build(batch, label)
        return before.add(X, y, batch.nrows, dropped), builder

    def resid(self, fit: _Fit, batch: _Batch, label: str) -> tuple[_Resid, _Builder]:
        """Pass 2 of the batch, and the builder to go on with."""
        columns = self.columns(batch) if self.fast else None
        block = _Resid.of_columns(fit, columns) if columns is not None else None
        if block is not None:
            return block, self
        X, y, _, builder = self.build(batch, label)
        return _Resid.of(fit, X, y), builder


@dataclass(frozen=True, eq=False)
class _Columns:
    """A batch's ``[X y]`` as the data columns it copies, stacked only when asked.

    ``data`` holds the columns of ``[X y]`` that come from the data (``y`` last),
    ``where`` their positions in ``[X y]``, ``icpt`` the position of the
    intercept (a column of ones) or None. The reductions use the compiled
    kernels of :mod:`duolm._block_kernel` when numba is there, else numpy.
    """

    data: tuple[FloatArray, ...]
    where: tuple[int, ...]
    icpt: int | None

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.data[-1])

    @property
    def k(self) -> int:
        """Number of columns of X."""
        return len(self.data) - 1 + (self.icpt is not None)

    @property
    def y(self) -> FloatArray:
        return self.data[-1]

    def column(self, j: int) -> FloatArray:
        """Column ``j`` of ``X`` (ones for the intercept)."""
        if j == self.icpt:
            return np.broadcast_to(1.0, self.n)
        return self.data[self.where.index(j)]

    def X(self) -> FloatArray:
        return np.column_stack([self.column(j) for j in range(self.k)])

    def stat(self) -> SqrtStat | None:
        """The batch's square-root statistic, or None when a value is NaN or inf."""
        if not _block_kernel.available() or self.n < 8 * (self.k + 1):
            X = self.X()
            if not (np.all(np.isfinite(X)) and np.all(np.isfinite(self.y))):
                return None
            return _factor(X, self.y)
        G_data, sums, y_mean, y_m2 = _block_kernel.gram(self.data)
        if not (np.all(np.isfinite(np.diag(G_data))) and np.all(np.isfinite(sums))):
            return None  # a NaN or inf (or a square beyond float64): the checked path
        k = self.k
        G = np.empty((k + 1, k + 1))
        idx = list(self.where)
        G[np.ix_(idx, idx)] = G_data
        if self.icpt is not None:
            G[self.icpt, idx] = G[idx, self.icpt] = sums
            G[self.icpt, self.icpt] = self.n
        stat = SqrtStat.from_gram(G, self.n, y_mean, y_m2)
        return stat if stat is not None else SqrtStat.from_data(self.X(), self.y)


def _all_finite(column: FloatArray) -> bool:
    """All values finite. A finite sum proves it without a temporary array (a NaN or inf
    makes the sum NaN or inf); only an overflowing sum needs the element-wise test."""
    return math.isfinite(np.add.reduce(column)) or bool(np.isfinite(column).all())


def _build_xy(spec: DesignSpec, batch: _Batch, label: str) -> tuple[FloatArray, FloatArray, int]:
    try:
        return spec.build_xy(batch.frame())
    except DataError as exc:
        raise DataError(f"{label}: {exc}") from exc


def _design_or_none(
    formula: str, frame: pd.DataFrame, columns: tuple[str, ...], missing: Missing, label: str
) -> Design | None:
    if len(frame) == 0:  # an empty batch or partition (after a filter, say): none complete
        return None
    try:
        return from_formula(formula, frame, missing=missing)
    except DataError as exc:
        if missing == "drop" and not _has_complete_row(frame, columns):
            return None
        raise DataError(f"{label}: {exc}") from exc


def _has_complete_row(frame: pd.DataFrame, columns: tuple[str, ...]) -> bool:
    present = [name for name in columns if name in frame.columns]
    return len(present) == len(columns) and bool(frame[present].notna().all(axis=1).any())


def _factor(X: FloatArray, y: FloatArray) -> SqrtStat:
    """The core's statistic of one batch: its Gram factor when well conditioned, else QR."""
    return SqrtStat.from_block(X, y)


# ==================================================================== mergeable partial results


@dataclass(frozen=True, eq=False)
class _Const:
    """Which columns of X are constant and nonzero (for the intercept), mergeable.

    ``first`` is the first row of X (None before any row); ``mask`` marks the
    columns equal to it in every row so far and nonzero.
    """

    first: FloatArray | None = None
    mask: BoolArray | None = None

    @classmethod
    def of(cls, block: FloatArray | _Columns) -> _Const:
        n, k, column = _column_access(block)
        if n == 0:
            return cls()
        first = np.array([column(j)[0] for j in range(k)], dtype=np.float64)
        mask = [_equals(block, j, first[j]) and first[j] != 0 for j in range(k)]
        return cls(first, np.array(mask, dtype=bool))

    def extend(self, block: FloatArray | _Columns) -> _Const:
        """The same as ``self.merge(_Const.of(block))``, testing only the columns still constant."""
        if self.first is None or self.mask is None:
            return _Const.of(block)
        mask = self.mask.copy()
        for j in np.flatnonzero(mask):
            mask[j] = _equals(block, int(j), self.first[j])
        return _Const(self.first, mask)

    def merge(self, later: _Const) -> _Const:
        if self.first is None or self.mask is None:
            return later
        if later.first is None or later.mask is None:
            return self
        return _Const(self.first, self.mask & later.mask & (later.first == self.first))

    def position(self, kept: BoolArray) -> int | None:
        """Position among the kept columns of the first constant one (``constant_column``)."""
        if self.mask is None:
            return None
        hits = np.flatnonzero(self.mask[kept])
        return int(hits[0]) if hits.size else None


def _column_access(block: FloatArray | _Columns) -> tuple[int, int, Callable[[int], FloatArray]]:
    """``(rows, columns, column)`` of a matrix ``X`` or of a batch's :class:`_Columns`."""
    if isinstance(block, _Columns):
        return block.n, block.k, block.column
    return block.shape[0], block.shape[1], lambda j: block[:, j]


def _equals(block: FloatArray | _Columns, j: int, value: float) -> bool:
    """Every value of column ``j`` equals ``value`` (the intercept of a batch's columns is
    ones by construction: not compared element by element)."""
    if isinstance(block, _Columns) and j == block.icpt:
        return bool(value == 1.0)
    _, _, column = _column_access(block)
    return bool(np.all(column(j) == value))


@dataclass(frozen=True, eq=False)
class _Part:
    """Pass 1 of some rows: their square-root statistic and bookkeeping."""

    stat: SqrtStat
    rows: int  # rows read, dropped ones included
    n_dropped: int
    const: _Const

    @classmethod
    def empty(cls, k: int) -> _Part:
        return cls(SqrtStat.empty(k), 0, 0, _Const())

    @classmethod
    def of(cls, X: FloatArray, y: FloatArray, rows: int, n_dropped: int) -> _Part:
        k = X.shape[1]
        stat = _factor(X, y) if len(y) else SqrtStat.empty(k)
        return cls(stat, rows, n_dropped, _Const.of(X))

    def add(self, X: FloatArray, y: FloatArray, rows: int, n_dropped: int) -> _Part:
        """The next batch in order (as ``merge(_Part.of(...))``, with a cheaper constant test)."""
        later = _Part(
            _factor(X, y) if len(y) else SqrtStat.empty(X.shape[1]), rows, n_dropped, _Const()
        )
        merged = self.merge(later)
        return replace(merged, const=self.const.extend(X) if len(y) else self.const)

    def merge(self, later: _Part) -> _Part:
        if later.stat.nobs == 0 and not np.any(later.stat.R):
            stat = self.stat
        elif self.stat.nobs == 0 and not np.any(self.stat.R):
            stat = later.stat
        else:
            stat = self.stat.merge(later.stat)
        return _Part(
            stat,
            self.rows + later.rows,
            self.n_dropped + later.n_dropped,
            self.const.merge(later.const),
        )


@dataclass(frozen=True, eq=False)
class _Fit:
    """What pass 2 needs from pass 1: the kept columns, their statistic and estimate."""

    kept: BoolArray
    stat: SqrtStat
    params: FloatArray
    robust: bool = True  # pass 2 also accumulates leverages and the HC meats


@dataclass(frozen=True, eq=False)
class _Resid:
    """Pass 2 of some rows: residual moments (in row order) and the HC meats."""

    moments: ResidualMoments
    meats: FloatArray  # (3, rank, rank): HC0, HC2, HC3
    lev_one: bool

    @classmethod
    def empty(cls, rank: int) -> _Resid:
        return cls(ResidualMoments.from_residuals(np.zeros(0)), np.zeros((3, rank, rank)), False)

    @classmethod
    def of(cls, fit: _Fit, X: FloatArray, y: FloatArray) -> _Resid:
        """The residual sums of a batch, in blocks of ``_RESID_BLOCK`` rows merged in order.

        Blocks that stay in cache make the several passes over each block (residuals,
        ``W``, leverages, three weighted products, moments) cheap; the split is fixed
        by the batch, so the result does not depend on timing.
        """
        rank = fit.params.shape[0]
        out = cls.empty(rank)
        for lo in range(0, len(y), _RESID_BLOCK):
            block = cls._block(fit, X[lo : lo + _RESID_BLOCK], y[lo : lo + _RESID_BLOCK])
            out = block if lo == 0 else out.merge(block)
        return out

    @classmethod
    def _block(cls, fit: _Fit, X: FloatArray, y: FloatArray) -> _Resid:
        Xk = X if fit.kept.all() else X[:, fit.kept]
        e = y - Xk @ fit.params
        if not fit.robust:  # the moments only: no leverages, no meats
            rank = fit.params.shape[0]
            return cls(ResidualMoments.from_residuals(e), np.zeros((3, rank, rank)), False)
        W = fit.stat.whiten(Xk)  # rows of the thin Q factor
        h = np.einsum("ij,ij->i", W, W)  # leverages
        one_minus = 1.0 - h
        lev_one = bool(np.any(one_minus <= _LEVERAGE_ONE))  # as the in-memory fit
        with np.errstate(divide="ignore", invalid="ignore"):
            w0 = e * e
            weights = (w0, w0 / one_minus, w0 / one_minus**2)
        meats = np.stack([W.T @ (W * w[:, None]) for w in weights])
        return cls(ResidualMoments.from_residuals(e), meats, lev_one)

    @classmethod
    def of_columns(cls, fit: _Fit, columns: _Columns) -> _Resid | None:
        """Pass 2 of a batch from its columns, by the compiled kernel in one sweep.

        The residuals are measured in one unit fixed by pass 1, the power of two
        nearest their root mean square ``|ryy| / sqrt(n)``: no residual exceeds
        ``sqrt(n)`` such units, so fourth powers cannot overflow. None (then
        :meth:`of` on the checked ``(X, y)``) when the kernels are not available,
        that unit is not a normal float, or some value of the batch is NaN or inf.
        """
        rms = abs(fit.stat.ryy) / math.sqrt(fit.stat.nobs) if fit.stat.nobs > 0 else 0.0
        if not _block_kernel.available() or columns.n == 0 or not 1e-280 < rms < 1e280:
            return None
        unit = 2.0 ** round(math.log2(rms))
        kept = fit.kept
        position = np.cumsum(kept) - 1  # of each column of X among the kept ones
        data, where = [], []
        for column, j in zip(columns.data[:-1], columns.where[:-1], strict=True):
            if kept[j]:
                data.append(column)
                where.append(int(position[j]))
            elif not _all_finite(column):  # pass 1 dropped its row: the checked path drops it
                return None
        icpt = columns.icpt
        icpt_kept = int(position[icpt]) if icpt is not None and kept[icpt] else None
        c0 = float(fit.params[icpt_kept]) if icpt_kept is not None else 0.0
        coefs = fit.params[where] if where else np.zeros(0)
        robust = (where, icpt_kept, fit.stat.Rxx, _LEVERAGE_ONE) if fit.robust else None
        swept = _block_kernel.second_pass(data, coefs, c0, columns.y, unit, robust)
        if not all(math.isfinite(value) for value in swept.moments):
            return None
        moments = ResidualMoments(columns.n, *swept.moments, unit=unit)
        rank = fit.params.shape[0]
        meats = swept.meats if swept.meats is not None else np.zeros((3, rank, rank))
        return cls(moments, meats, swept.lev_one)

    def merge(self, later: _Resid) -> _Resid:
        return _Resid(
            self.moments.merge(later.moments),
            self.meats + later.meats,
            self.lev_one or later.lev_one,
        )


@dataclass(frozen=True, eq=False)
class _Reduced:
    """Both passes over all the rows: the spec, the merged states, the last builder."""

    spec: DesignSpec
    part: _Part
    builder: _Builder
    resid: _Resid | None


def _fit(part: _Part, alias_tol: float, robust: bool = True) -> _Fit:
    """The estimate of pass 1, aliased columns dropped (what pass 2 needs).

    ``robust``: pass 2 should accumulate the HC meats (a robust ``cov_type``).
    """
    stat = part.stat
    kept = ~stat.aliased(alias_tol)
    if not kept.all():
        stat = stat.select(kept)
    return _Fit(kept, stat, stat.solve(), robust)


def _ols_results(reduced: _Reduced, fit: _Fit, cov_type: CovType, label: str) -> OLSResults:
    part, spec = reduced.part, reduced.spec
    rank = int(fit.kept.sum())
    n = round(part.stat.nobs)
    if n <= rank:
        raise DataError(
            f"{label}: too few rows: {n} observation(s) for {rank} coefficient(s); at least "
            f"{rank + 1} are needed to estimate the residual variance"
        )
    if not math.isfinite(fit.stat.ssr):
        raise DataError(f"{label}: the residual sum of squares overflows float64: rescale y")
    if not fit.kept.all():
        dropped = [spec.terms[i] for i in np.flatnonzero(~fit.kept)]
        warnings.warn(
            f"aliased column(s) {dropped}: linear combinations of earlier columns; their "
            "coefficients are not estimable and are reported as NaN",
            RankWarning,
            stacklevel=3,
        )
    resid = reduced.resid
    meats: dict[str, FloatArray] | None = None
    if resid is not None and not fit.robust:
        meats = {}  # not accumulated: a nonrobust fit; OLSResults says how to get them
    elif resid is not None:
        meats = {"HC0": resid.meats[0]}
        if not resid.lev_one:  # HC2/HC3 divide by 1 - h: undefined when a leverage is 1
            meats.update(HC2=resid.meats[1], HC3=resid.meats[2])
        elif cov_type in ("HC2", "HC3"):
            raise DataError(
                f"{label}: {cov_type} is undefined: a row has leverage 1 (the fit passes "
                "through it exactly); use HC0 or HC1"
            )
    return OLSResults(
        spec=spec,
        stat=fit.stat,
        kept=fit.kept,
        params_kept=fit.params,
        moments=resid.moments if resid is not None else None,
        const_col=part.const.position(fit.kept),
        n_dropped=part.n_dropped,
        cov_type=cov_type,
        method="stream",
        scaled_condition_number=fit.stat.condition_number(scaled=True),
        rows=None,
        meats=meats,
    )


def _bayes_results(spec: DesignSpec, stat: SqrtStat, prior: NIG | None) -> BayesResults:
    """The posterior of ``prior`` and the data statistic (the prior counted once)."""
    prior = checked_prior(prior, spec)
    posterior = NIG.from_parts(
        prior.prior_stat, prior.nu0, prior.data_stat.merge(stat), prior.label
    )
    return proper_results(spec, prior, posterior)
