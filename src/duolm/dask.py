"""Dask DataFrames reduced where they live: one core state per partition, merged in order.

An adapter of DESIGN.md ("Layers"), the distributed twin of :mod:`duolm._stream`
and built from the same pieces. The design spec is fixed on the client from
the first partition with a complete row; each partition is then reduced on a
worker to the core's square-root statistic (``R = triu(qr([X y]))`` with the
moments of ``y``), and the partial states are merged by a binary tree that
keeps the partitions in order: ``merge(merge(p0, p1), merge(p2, p3))``. Only
``(k + 1) x (k + 1)`` matrices travel between workers. The frequentist second
pass reduces each partition to its residual moments and HC meats, merged the
same way (in order, as Durbin-Watson needs). :func:`reduce` returns the
:class:`~duolm.reduction.Reduction`; the readings are built from it (the
Bayesian one adds the prior once, after the merge).

Nothing here depends on the scheduler: the graphs are computed with
``dask.compute``, so a ``dask.distributed.Client`` in scope runs them on its
cluster, and without one Dask's default (threaded) scheduler runs them
locally.

A Dask DataFrame read from one Parquet file by ``dask.dataframe.read_parquet``
may have a single partition, which one worker reduces in the memory of the
whole file; duolm warns when a single partition holds more than
:data:`ONE_PARTITION_ROWS` rows. Read with ``split_row_groups=True`` (Parquet)
or ``blocksize=`` (CSV), or ``repartition``, to spread the work.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import pandas as pd
from dask.base import compute as _dask_compute
from dask.delayed import delayed

from duolm._checks import Missing
from duolm._stream._batch import (
    _Builder,
    _check_formula,
    _design_or_none,
    _refuse_lag,
    _used_columns,
)
from duolm._stream._sources import _Batch
from duolm.core import ALIAS_TOL, ScoreSpec
from duolm.design import is_real_dtype
from duolm.errors import DataError
from duolm.reduction import Estimate, Pass1, Pass2, Reduction

__all__ = ["ONE_PARTITION_ROWS", "partition_frames", "reduce"]

_T = TypeVar("_T", Pass1, Pass2)

#: A single partition with more rows than this is reported: nothing was distributed.
ONE_PARTITION_ROWS = 1_000_000

#: Rows of the first partition on which the direct column path is verified (on the client).
_VERIFY_ROWS = 10_000

_compute: Callable[..., tuple[Any, ...]] = _dask_compute


def _check_frame(ddf: object) -> Any:
    import dask.dataframe as dd

    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"expected a Dask DataFrame, got {type(ddf).__name__}")
    return ddf


def partition_frames(ddf: object) -> Iterator[pd.DataFrame]:
    """The partitions of a Dask DataFrame in order, each computed when it is reached.

    For the readings that follow the rows in order (:func:`duolm.changepoints`):
    they cannot be merged from partial states, so the partitions come to the
    client one at a time, and memory holds one partition.
    """
    for part in _check_frame(ddf).to_delayed():
        yield part.compute()


def _label(number: int) -> str:
    return f"partition {number}"


def _part_of(builder: _Builder, frame: pd.DataFrame, number: int) -> Pass1:
    """Pass 1 of one partition (runs on a worker)."""
    empty = Pass1.empty(len(builder.spec.terms))
    part, _ = builder.part(empty, _Batch(0, frame), _label(number))
    return part


def _resid_of(
    builder: _Builder, fit: Estimate, frame: pd.DataFrame, number: int, used: tuple[str, ...]
) -> Pass2:
    """Pass 2 of one partition (runs on a worker; ``used``: the formula's columns)."""
    resid, _ = builder.resid(fit, _Batch(0, frame), _label(number), used)
    return resid


def _merge(earlier: _T, later: _T) -> _T:
    return earlier.merge(later)


def _tree(leaves: Sequence[Any]) -> Any:
    """Merge delayed states pairwise, neighbours only, so the order of rows is kept."""
    level = list(leaves)
    while len(level) > 1:
        pairs = [
            delayed(_merge, pure=True)(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)
        ]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def _prepare(
    formula: str,
    ddf: Any,
    missing: Missing,
    weights: str | None = None,
    groups: tuple[str, ...] = (),
) -> tuple[_Builder, list[Any], tuple[str, ...]]:
    """The builder, fixed and verified on the client, the delayed partitions (the
    formula's columns, the weights and the cluster ``groups``) and the columns a
    fitted row has complete (the formula's and the weights).

    A plain formula's spec comes from the first :data:`_VERIFY_ROWS` rows of
    a partition, the only rows sent to the client; any other formula's, or
    one those rows cannot decide (no complete row, an error to report with
    the partition's own rows and counts), from the whole partition.
    """
    formula = _check_formula(formula, missing, "a Dask fit")
    _refuse_lag(formula)
    ddf = _check_frame(ddf)
    columns, plain = _used_columns(formula, [str(name) for name in ddf.columns])
    if weights is not None:  # carried beside the design in every partition
        if weights not in ddf.columns:
            raise DataError(f"column {weights!r} of the weights is not in the Dask DataFrame")
        columns = tuple(dict.fromkeys((*columns, weights)))
    # plain and numeric by dtype: a text column's kind and levels need the whole partition
    plain = plain and all(is_real_dtype(dtype) for dtype in ddf[list(columns)].dtypes)
    for name in groups:
        if name not in ddf.columns:
            raise DataError(f"cov_kwds 'groups': column {name!r} is not in the Dask DataFrame")
    parts = list(ddf[list(dict.fromkeys(columns + groups))].to_delayed())
    for number, part in enumerate(parts):
        design = None
        if plain:
            frame = delayed(_head, pure=True)(part, _VERIFY_ROWS).compute()
            with contextlib.suppress(DataError):
                design = _design_or_none(formula, frame, columns, missing, _label(number), weights)
        if design is None:
            frame = part.compute()
            design = _design_or_none(formula, frame, columns, missing, _label(number), weights)
        if design is None:
            continue
        builder = _Builder.first(design.spec)
        head = _Batch(0, frame.iloc[:_VERIFY_ROWS])
        _, _, _, builder = builder.build(head, _label(number))  # verify the direct path
        return builder, parts, columns
    raise DataError("the Dask DataFrame has no complete rows")


def _head(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """The first ``rows`` rows of a partition (on a worker: only they reach the client)."""
    return frame.iloc[:rows]


def _pass1(builder: _Builder, parts: list[Any]) -> Pass1:
    spec = delayed(builder, traverse=False)
    leaves = [delayed(_part_of, pure=True)(spec, p, i) for i, p in enumerate(parts)]
    (part,) = _compute(_tree(leaves))
    if part.stat.nobs == 0:
        raise DataError(
            f"no rows left after dropping {part.n_dropped} rows with missing values"
            if part.n_dropped
            else "the Dask DataFrame has no rows"
        )
    if len(parts) == 1 and part.rows > ONE_PARTITION_ROWS:
        warnings.warn(
            f"the Dask DataFrame has a single partition of {part.rows} rows, reduced by one "
            "worker in the memory of all of them; read it with split_row_groups=True "
            "(read_parquet) or blocksize= (read_csv), or repartition it",
            UserWarning,
            stacklevel=3,
        )
    result: Pass1 = part
    return result


def _pass2(builder: _Builder, fit: Estimate, parts: list[Any], used: tuple[str, ...]) -> Pass2:
    spec = delayed(builder, traverse=False)
    state = delayed(fit, traverse=False)
    leaves = [delayed(_resid_of, pure=True)(spec, state, p, i, used) for i, p in enumerate(parts)]
    (resid,) = _compute(_tree(leaves))
    result: Pass2 = resid
    return result


def reduce(
    formula: str,
    ddf: object,
    *,
    missing: Missing = "drop",
    alias_tol: float = ALIAS_TOL,
    diagnostics: bool = False,
    robust: bool = False,
    scores: ScoreSpec | None = None,
    tests: Mapping[str, Any] | None = None,
    weights: str | None = None,
) -> Reduction:
    """Reduce a Dask DataFrame where its partitions live: a :class:`~duolm.reduction.Reduction`.

    Parameters
    ----------
    formula : str
        As for :func:`duolm.ols` (``lag()`` is refused; stateful transforms
        keep the state of the first partition, as in a streamed fit).
    ddf : dask.dataframe.DataFrame
        Its partitions in order are the rows in order (for Durbin-Watson).
    missing, alias_tol
        As for :func:`duolm.reduce` (checked there).
    diagnostics : bool
        Compute the partitions a second time for the residual moments.
    robust : bool
        The second pass also accumulates the leverages and HC meats.
    scores : ScoreSpec, optional
        The second pass also feeds the score rows to the HAC meat (partitions
        merged in order, so the lag products across their boundaries are
        exact) and the per-group sums of the ``groups`` columns.
    tests : dict, optional
        The second pass also accumulates the standard tests' sums
        (:meth:`~duolm.reduction.Estimate.asking`; lags merged in order).
    weights : str, optional
        The column of the weights (a weighted fit), carried beside the design
        in both passes.

    Returns
    -------
    Reduction
        Its readings equal those of ``ddf.compute()`` in memory to rounding.
    """
    groups = scores.groups if scores else ()
    builder, parts, used = _prepare(formula, ddf, missing, weights, groups)
    part = _pass1(builder, parts)
    fit = part.estimate(alias_tol, robust)
    fit = fit.asking(scores, tests)  # maxlags by the rule needs the rows counted
    resid = _pass2(builder, fit, parts, used) if diagnostics else None
    return Reduction.of_passes(
        builder.spec, part, resid, alias_tol=alias_tol, robust=robust, label="dask"
    )
