"""The batch reduction that the stream and :mod:`duolm.dask` share, batch or partition alike.

- :class:`_Builder` turns a batch into ``(X, y)`` with the design spec fixed on
  the first batch, copying plain numeric columns directly once that path has
  matched formulaic's design value for value (:func:`_design_or_none` builds the
  first design; :func:`_refuse_lag` refuses ``lag()``, which would reach across
  batches);
- pass 1 reduces a batch to a :class:`~duolm.reduction.Pass1` (the core's
  :class:`~duolm.core.SqrtStat`, rows read and dropped, the constant columns),
  pass 2 to a :class:`~duolm.reduction.Pass2` (residual moments in row order
  and the HC meats), straight from the batch's columns by the compiled kernels
  of :mod:`duolm._stream._kernels` when the formula names plain columns; both
  merge in row order, so batches reduced one after another and partitions
  merged by a tree give one result.

No statistics are defined here and no result is built: the core and
:mod:`duolm.reduction` define them; this module only feeds them in batches.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import duolm._stream._kernels as _kernels
from duolm import core
from duolm._checks import Missing, all_finite, check_missing
from duolm._stream._groups import group_labels
from duolm._stream._sources import _Batch
from duolm.core import SqrtStat
from duolm.design import Carried, Design, DesignSpec, from_formula, parse_formula
from duolm.errors import DataError, FormulaError
from duolm.reduction import ConstantColumns, Estimate, Pass1, Pass2

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _check_formula(formula: object, missing: object, fit: str) -> str:
    """The formula string, after checking its type and ``missing`` (``fit`` names the caller)."""
    if not isinstance(formula, str):
        raise TypeError(f"{fit} needs a formula string, got {type(formula).__name__}")
    check_missing(missing)
    return formula


def _used_columns(formula: str, names: list[str]) -> tuple[tuple[str, ...], bool]:
    """The data columns the formula uses (response first, each once), and whether the
    formula names plain columns only (:attr:`~duolm.design.ParsedFormula.plain`)."""
    parsed = parse_formula(formula, names)
    return tuple(dict.fromkeys(parsed.lhs_columns + parsed.rhs_columns)), parsed.plain


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
        if spec.weights is not None and spec.carry == (spec.weights,):
            # weighted: the columns are copied and scaled by sqrt(w) here (_weighed)
            return cls(spec, replace(spec, carry=()).plain_columns())
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
        if columns is None or not all(all_finite(column) for column in columns.data):
            return None
        return columns.X(), columns.y

    def build(self, batch: _Batch, label: str) -> tuple[FloatArray, FloatArray, int, _Builder]:
        """``(X, y, n_dropped, builder)``; the builder returned may have verified the fast path."""
        X, y, dropped, _, builder = self.build_carried(batch, label)
        return X, y, dropped, builder

    def build_carried(
        self, batch: _Batch, label: str
    ) -> tuple[FloatArray, FloatArray, int, Carried, _Builder]:
        """:meth:`build` and ``carried``, the kept rows' values of the columns ``spec.carry``
        (CARRIED COLUMNS: weights, groups; :meth:`DesignSpec.build_xyc`), empty when none
        are carried (the direct path never carries any)."""
        direct = self.direct(batch)
        carried = self._direct_carried(batch) if direct is not None and self.fast else None
        if direct is not None and carried is not None:
            return direct[0], direct[1], 0, carried, self
        X, y, dropped, carried = _build_xy(self.spec, batch, label)
        return X, y, dropped, carried, self._verified(direct, X, y)

    def _direct_carried(self, batch: _Batch) -> Carried | None:
        """The carried values of a batch copied directly: the weights when all are positive
        and finite (else None: the checked path drops or names the bad ones)."""
        name = self.spec.weights
        if name is None:
            return {}
        w = batch.numeric(name)
        if w is None or not (all_finite(w) and bool(np.all(w > 0))):
            return None
        return {name: w}

    def _weighed(
        self, columns: _Columns | None, batch: _Batch
    ) -> tuple[_Columns, FloatArray | None] | None:
        """The columns the statistic is made of: ``columns``, or for a weighted fit the
        columns scaled by ``sqrt(w)`` (the intercept becomes the column ``sqrt(w)``) with
        the weights; None when the weights are not all positive and finite."""
        if columns is None or self.spec.weights is None:
            return None if columns is None else (columns, None)
        carried = self._direct_carried(batch)
        if carried is None:
            return None
        w = carried[self.spec.weights]
        root = np.sqrt(w)
        data = tuple(column * root for column in columns.data)
        if columns.icpt is None:
            return _Columns(data, columns.where, None), w
        return _Columns((root, *data), (columns.icpt, *columns.where), None), w

    def weights(self, carried: Carried) -> FloatArray | None:
        """The weights among the carried values (None: an unweighted fit)."""
        name = self.spec.weights
        return None if name is None else carried[name]

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

    def part(self, before: Pass1, batch: _Batch, label: str) -> tuple[Pass1, _Builder]:
        """``before`` and pass 1 of the batch that follows it, and the builder to go on with."""
        columns = self.columns(batch) if self.fast else None
        weighed = self._weighed(columns, batch)
        stat = weighed[0].stat() if weighed is not None else None
        if columns is not None and weighed is not None and stat is not None:
            w = weighed[1]
            sums = None if w is None else core.WeightSums.of(w, columns.y)
            later = Pass1(stat, batch.nrows, 0, ConstantColumns(), sums)
            return replace(before.merge(later), const=before.const.extend(columns)), self
        X, y, dropped, carried, builder = self.build_carried(batch, label)
        return before.add(X, y, batch.nrows, dropped, self.weights(carried)), builder

    def resid(
        self, fit: Estimate, batch: _Batch, label: str, used: tuple[str, ...] = ()
    ) -> tuple[Pass2, _Builder]:
        """Pass 2 of the batch, and the builder to go on with.

        When ``fit.scores`` asks for the HAC or cluster meats (or ``fit.tests`` for
        the standard tests' sums), the rows are taken from ``(X, y)`` (not the
        compiled kernel, which keeps no rows), with the group labels of the rows
        complete in ``used``, the formula's columns.
        """
        groups = fit.scores.groups if fit.scores is not None else ()
        if fit.scores is not None and fit.tests is None and fit.robust:
            # the score rows from the compiled kernel, straight from the columns
            weighed = self._weighed(self.columns(batch) if self.fast else None, batch)
            if weighed is not None:
                u = np.empty((weighed[0].n, fit.params.shape[0]))
                block = _pass2_of_columns(fit, weighed[0], u)
                if block is not None:
                    labels = group_labels(batch, groups, used, len(u), label)
                    meats = fit.scores.empty(u.shape[1]).update(u, labels)
                    return replace(block, scores=meats), self
        if fit.scores is not None or fit.tests is not None:
            X, y, _, carried, builder = self.build_carried(batch, label)
            labels = group_labels(batch, groups, used, len(y), label)
            return Pass2.of(fit, X, y, labels=labels, weights=self.weights(carried)), builder
        weighed = self._weighed(self.columns(batch) if self.fast else None, batch)
        block = _pass2_of_columns(fit, weighed[0]) if weighed is not None else None
        if block is not None:
            return block, self
        X, y, _, carried, builder = self.build_carried(batch, label)
        return Pass2.of(fit, X, y, weights=self.weights(carried)), builder


@dataclass(frozen=True, eq=False)
class _Columns:
    """A batch's ``[X y]`` as the data columns it copies, stacked only when asked.

    ``data`` holds the columns of ``[X y]`` that come from the data (``y`` last),
    ``where`` their positions in ``[X y]``, ``icpt`` the position of the
    intercept (a column of ones) or None. The reductions use the compiled
    kernels of :mod:`duolm._stream._kernels` when numba is there, else numpy.
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
        if not _kernels.available() or self.n < 8 * (self.k + 1):
            X = self.X()
            if not (np.all(np.isfinite(X)) and np.all(np.isfinite(self.y))):
                return None
            return SqrtStat.from_block(X, self.y)
        G_data, sums, y_mean, y_m2 = _kernels.gram(self.data)
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


def _build_xy(
    spec: DesignSpec, batch: _Batch, label: str
) -> tuple[FloatArray, FloatArray, int, Carried]:
    try:
        return spec.build_xyc(batch.frame())
    except DataError as exc:
        raise DataError(f"{label}: {exc}") from exc


def _design_or_none(
    formula: str,
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    missing: Missing,
    label: str,
    weights: str | None = None,
) -> Design | None:
    """The design of the first batch with a complete row (``columns``: those the formula
    uses and those carried), None when it has none; ``weights``: the weights column."""
    if len(frame) == 0:  # an empty batch or partition (after a filter, say): none complete
        return None
    try:
        return from_formula(formula, frame, missing=missing, weights=weights)
    except DataError as exc:
        if missing == "drop" and not _has_complete_row(frame, columns):
            return None
        raise DataError(f"{label}: {exc}") from exc


def _has_complete_row(frame: pd.DataFrame, columns: tuple[str, ...]) -> bool:
    present = [name for name in columns if name in frame.columns]
    return len(present) == len(columns) and bool(frame[present].notna().all(axis=1).any())


def _pass2_of_columns(
    fit: Estimate, columns: _Columns, scores: FloatArray | None = None
) -> Pass2 | None:
    """Pass 2 of a batch from its columns, by the compiled kernel in one sweep.

    The residuals are measured in one unit fixed by pass 1, the power of two
    nearest their root mean square ``|ryy| / sqrt(n)``: no residual exceeds
    ``sqrt(n)`` such units, so fourth powers cannot overflow. None (then
    ``Pass2.of`` on the checked ``(X, y)``) when the kernels are not available,
    that unit is not a normal float, or some value of the batch is NaN or inf.
    ``scores`` (a robust fit's), an array of shape ``(n, rank)``, receives the
    score rows ``u_t = w_t e_t`` (``Pass2.of``'s ``u``).
    """
    rms = abs(fit.stat.ryy) / math.sqrt(fit.stat.nobs) if fit.stat.nobs > 0 else 0.0
    if not _kernels.available() or columns.n == 0 or not 1e-280 < rms < 1e280:
        return None
    unit = 2.0 ** round(math.log2(rms))
    kept = fit.kept
    position = np.cumsum(kept) - 1  # of each column of X among the kept ones
    data, where = [], []
    for column, j in zip(columns.data[:-1], columns.where[:-1], strict=True):
        if kept[j]:
            data.append(column)
            where.append(int(position[j]))
        elif not all_finite(column):  # pass 1 dropped its row: the checked path drops it
            return None
    icpt = columns.icpt
    icpt_kept = int(position[icpt]) if icpt is not None and kept[icpt] else None
    c0 = float(fit.params[icpt_kept]) if icpt_kept is not None else 0.0
    coefs = fit.params[where] if where else np.zeros(0)
    robust = (where, icpt_kept, fit.stat.Rxx, core.LEVERAGE_ONE) if fit.robust else None
    swept = _kernels.second_pass(data, coefs, c0, columns.y, unit, robust, scores)
    if not all(math.isfinite(value) for value in swept.moments):
        return None
    moments = core.ResidualMoments(columns.n, *swept.moments, unit=unit)
    rank = fit.params.shape[0]
    meats = swept.meats if swept.meats is not None else np.zeros((3, rank, rank))
    return Pass2(moments, meats, swept.lev_one)
