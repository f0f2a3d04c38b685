"""The passes of a streamed fit: batches read in order and reduced by :mod:`duolm._stream._batch`.

:func:`_job` checks the arguments of :mod:`duolm._stream`'s functions and opens
the source; :func:`_reduce` runs pass 1 (each batch's square-root statistic
merged into the running :class:`~duolm.reduction.Pass1`) and, for the
diagnostics, pass 2 (each batch's residual moments and HC meats merged into a
:class:`~duolm.reduction.Pass2`), writing and resuming from the checkpoint
of :mod:`duolm._stream._checkpoint`; :func:`_designs` gives the designs of
the batches in order (the one pass of the Bayesian trajectory); :class:`_Bar`
shows their progress. The design spec is fixed by the
first batch with a complete row.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from duolm._checks import Missing, check_positive_int
from duolm._stream._batch import (
    _Builder,
    _check_formula,
    _design_or_none,
    _refuse_lag,
    _used_columns,
)
from duolm._stream._checkpoint import _fingerprint, _load, _remove, _save, _Saved
from duolm._stream._sources import _Batch, _csv_text_dtypes, _open_source, _Source
from duolm.core import ALIAS_TOL, ScoreSpec, SqrtStat
from duolm.design import HEAD_ROWS, Design
from duolm.errors import DataError, StateFileError
from duolm.reduction import ConstantColumns, Pass1, Pass2, Reduction

#: Designs up to this many columns are reduced with a single-threaded BLAS (when
#: threadpoolctl is installed): their blocks are too narrow to gain from threads,
#: and a threaded BLAS on a busy machine can be many times slower.
_SERIAL_BLAS_MAX_COLUMNS = 64


def _serial_blas(k: int) -> contextlib.AbstractContextManager[object]:
    """One BLAS thread while narrow blocks are reduced (``k <= _SERIAL_BLAS_MAX_COLUMNS``)."""
    controller = _blas_controller() if k <= _SERIAL_BLAS_MAX_COLUMNS else None
    if controller is None:
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[object] = controller.limit(limits=1, user_api="blas")
    return limits


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries, found once (a scan of a few
    milliseconds), or None without threadpoolctl."""
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:  # optional: only a matter of speed
        return None
    return threadpoolctl.ThreadpoolController()


class _Bar:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Any = None
        self._task: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def task(self, description: str, total: int | None, done: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task(description, total=total, completed=done)

    def advance(self, rows: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, rows)


@dataclass(frozen=True)
class _Job:
    source: _Source
    formula: str
    columns: tuple[str, ...]
    missing: Missing
    size: int
    checkpoint: Path | None
    every: int
    fingerprint: Mapping[str, Any] | None
    progress: bool
    plain: bool = False  # the formula names plain columns only: batches reduced from columns
    scores: ScoreSpec | None = None  # pass 2's HAC / cluster meats (maxlags None: the rule)
    tests: Mapping[str, Any] | None = None  # pass 2's sums for the standard tests

    @property
    def read(self) -> tuple[str, ...]:
        """The columns read: the formula's, then the cluster groups' (each once)."""
        groups = self.scores.groups if self.scores is not None else ()
        return tuple(dict.fromkeys(self.columns + groups))

    weights: str | None = None  # the weights column, read beside the design (carried)


def _job(
    formula: object,
    source: object,
    missing: Missing,
    batch_size: int,
    checkpoint: str | os.PathLike[str] | None,
    checkpoint_every: int,
    progress: bool,
    robust: bool = True,
    encoding: str | None = None,
    scores: ScoreSpec | None = None,
    tests: Mapping[str, Any] | None = None,
    weights: str | None = None,
    alias_tol: float = ALIAS_TOL,
) -> _Job:
    formula = _check_formula(formula, missing, "a streamed fit")
    batch_size = check_positive_int(batch_size, "batch_size")
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    _refuse_lag(formula)
    src = _open_source(source, encoding)
    columns, plain = _used_columns(formula, list(src.names))
    groups = scores.groups if scores is not None else ()
    for name in groups:
        if src.kind != "frames" and name not in src.names:
            raise DataError(f"{src.label}: cov_kwds 'groups': column {name!r} is not in the data")
    if weights is not None:  # read beside the design (carried), in both passes
        if src.kind != "frames" and weights not in src.names:
            raise DataError(f"{src.label}: column {weights!r} of the weights is not in the data")
        columns = tuple(dict.fromkeys((*columns, weights)))
    if src.kind == "csv":
        src = _csv_text_dtypes(src, tuple(dict.fromkeys(columns + groups)), batch_size)
    path = None
    fingerprint = None
    if checkpoint is not None:
        if src.path is None:
            raise ValueError(
                "checkpoint= needs a file source (a CSV or Parquet path): an iterable of "
                "frames cannot be identified or re-read from a given row"
            )
        path = Path(checkpoint)
        fingerprint = _fingerprint(
            src, formula, batch_size, missing, robust, weights, scores, tests, alias_tol
        )
    return _Job(
        src,
        formula,
        columns,
        missing,
        batch_size,
        path,
        checkpoint_every,
        fingerprint,
        progress,
        plain,
        scores,
        tests,
        weights,
    )


def _batches(job: _Job, start: int) -> Generator[_Batch, None, None]:
    """Batches from batch number ``start`` on, read ahead in a thread for files."""
    first = start * job.size if job.source.kind != "frames" else start
    # a plain formula's columns are taken out of each batch in the reader thread too: the
    # reducing thread then calls into pyarrow and pandas less, and waits less for the GIL
    return job.source.read_ahead(job.columns, job.size, first, decode=job.plain)


def _where(job: _Job, number: int) -> str:
    """The source, for messages about batch ``number``: an iterable's frames are numbered
    from 0 (their rows are named by their own index labels, which may repeat)."""
    label = job.source.label
    return f"{label} (frame {number})" if job.source.kind == "frames" else label


def _first_design(job: _Job, batch: _Batch, number: int = 0) -> Design | None:
    """The design of a batch, fixing the spec; None when no row is complete (all dropped)."""
    return _design_or_none(
        job.formula, batch.frame(), job.columns, job.missing, _where(job, number), job.weights
    )


def _first_builder(
    job: _Job, batch: _Batch, number: int = 0
) -> tuple[_Builder, Design | None] | None:
    """The builder fixed by the first batch with a complete row, and that batch's design.

    For a formula of plain numeric columns (``job.plain``) whose first
    :data:`~duolm.design.HEAD_ROWS` rows are all finite, formulaic builds the
    design of those rows only; when the batch's columns equal it value for
    value, the rest of the batch is not run through formulaic (design None:
    reduce the batch by the builder). Otherwise the whole batch is designed
    as for any formula. None when the batch has no complete row.
    """
    if job.plain and batch.nrows > HEAD_ROWS:
        head = batch.head(HEAD_ROWS)
        columns = [head.numeric(name) for name in job.columns]
        finite = all(c is not None and bool(np.isfinite(c).all()) for c in columns)
        try:
            design = _first_design(job, head, number) if finite else None
        except DataError:  # the whole batch decides, with its own rows and counts
            design = None
        if design is not None and design.n_dropped == 0:
            builder = _Builder.first(design.spec).verify(head, design.X, design.y)
            if builder.fast:
                return builder, None
    design = _first_design(job, batch, number)
    return None if design is None else (_Builder.first(design.spec), design)


def _reduce(job: _Job, *, diagnostics: bool, alias_tol: float, robust: bool = True) -> Reduction:
    """Run pass 1 (and pass 2 with ``diagnostics``), resuming from the checkpoint if any.

    The spec is fixed by the first batch with a complete row; the batches before
    it are counted as dropped. A resumed run reads that batch again for the spec.
    The checkpoint is held for the whole run (a second run on it is refused).
    """
    if job.checkpoint is None:
        return _reduce_held(job, diagnostics=diagnostics, alias_tol=alias_tol, robust=robust)
    from duolm._stream._checkpoint import _locked

    with _locked(job.checkpoint):
        return _reduce_held(job, diagnostics=diagnostics, alias_tol=alias_tol, robust=robust)


def _reduce_held(
    job: _Job, *, diagnostics: bool, alias_tol: float, robust: bool = True
) -> Reduction:
    """:func:`_reduce` once the checkpoint (if any) is held."""
    saved = None
    if job.checkpoint is not None and job.fingerprint is not None:
        saved = _load(job.checkpoint, job.fingerprint)
    label = job.source.label
    builder: _Builder | None = None
    part: Pass1 | None = None
    spec_batch = 0
    if saved is not None:
        spec_batch = saved.spec_batch
        with contextlib.closing(_batches(job, spec_batch)) as again:
            first = next(again, None)
        fixed = _first_builder(job, first) if first is not None else None
        if fixed is None or len(fixed[0].spec.terms) != saved.part.stat.k:
            raise StateFileError(f"checkpoint {job.checkpoint} does not match the data's design")
        builder = replace(fixed[0], fast=saved.fast)
        if saved.refused:  # as the interrupted run: never the direct path again
            builder = replace(builder, plain=None)
        part = saved.part

    def write(pass_: int, batches: int, resid: Pass2 | None) -> None:
        if job.checkpoint is not None and job.fingerprint is not None and part is not None:
            fast = bool(builder and builder.fast)
            refused = bool(builder and builder.plain is None and builder.spec.plain_columns())
            state = _Saved(pass_, batches, spec_batch, fast, part, resid, refused)
            _save(job.checkpoint, job.fingerprint, state)

    with _Bar(job.progress) as bar, contextlib.ExitStack() as blas:
        if builder is not None:
            blas.enter_context(_serial_blas(len(builder.spec.terms)))
        if saved is None or saved.pass_ == 1:
            done = saved.batches if saved is not None else 0
            skipped = 0  # rows of the batches before the spec: none complete
            lacking: dict[str, int] = {}  # their missing values, by column (for the error)
            bar.task("pass 1/2 (fit)" if diagnostics else "fit", job.source.nrows, done * job.size)
            # closed on the way out (an error, Ctrl-C): the reader thread ends there
            for batch in blas.enter_context(contextlib.closing(_batches(job, done))):
                if builder is None or part is None:
                    fixed = _first_builder(job, batch, done)
                    if fixed is None:
                        skipped += batch.nrows
                        frame = batch.frame()
                        for name in job.columns:
                            absent = len(frame) if name not in frame else frame[name].isna().sum()
                            lacking[name] = lacking.get(name, 0) + int(absent)
                    else:
                        spec_batch, (builder, design) = done, fixed
                        k = len(builder.spec.terms)
                        blas.enter_context(_serial_blas(k))
                        part = Pass1(SqrtStat.empty(k), skipped, skipped, ConstantColumns())
                        if design is None:
                            part, builder = builder.part(part, batch, _where(job, done))
                        else:
                            part = part.add(
                                design.X, design.y, batch.nrows, design.n_dropped, design.weights
                            )
                else:
                    part, builder = builder.part(part, batch, _where(job, done))
                done += 1
                bar.advance(batch.nrows)
                if done % job.every == 0:
                    write(1, done, None)
            if builder is None or part is None or part.stat.nobs == 0:
                if skipped or (part is not None and part.n_dropped):
                    n = skipped if part is None else part.n_dropped
                    why = ""
                    if part is None:
                        from duolm.design._columns import why_no_rows

                        why = f": {why_no_rows(lacking, skipped)}"
                    raise DataError(
                        f"{label}: no rows left after dropping {n} rows with missing values{why}"
                    )
                raise DataError(f"{label}: the data has no rows")
            write(2, 0, None)
        assert builder is not None and part is not None
        resid = None
        if diagnostics:
            fit = part.estimate(alias_tol, robust)
            fit = fit.asking(job.scores, job.tests)  # maxlags by the rule: rows counted
            resid = saved.resid if saved is not None and saved.pass_ == 2 else None
            resid = resid if resid is not None else Pass2.empty(int(fit.kept.sum()))
            done = saved.batches if saved is not None and saved.pass_ == 2 else 0
            bar.task("pass 2/2 (residuals)", part.rows, done * job.size)
            # the second pass reads the cluster groups' columns too
            reread = _batches(replace(job, columns=job.read), done)
            for batch in blas.enter_context(contextlib.closing(reread)):
                block, builder = builder.resid(fit, batch, _where(job, done), job.columns)
                resid = resid.merge(block)
                done += 1
                bar.advance(batch.nrows)
                if done % job.every == 0:
                    write(2, done, resid)
    if job.checkpoint is not None:  # done
        _remove(job.checkpoint)
    return Reduction.of_passes(
        builder.spec, part, resid, alias_tol=alias_tol, robust=robust, label=label
    )


def _designs(job: _Job) -> Iterator[Design]:
    """The designs of the batches in order, the spec fixed by the first with a complete row.

    Batches with no complete row yield nothing; the index of each design
    labels its rows as the source numbers them.
    """
    builder: _Builder | None = None
    with _Bar(job.progress) as bar, contextlib.closing(_batches(job, 0)) as batches:
        bar.task("trajectory", job.source.nrows, 0)
        for batch in batches:
            bar.advance(batch.nrows)
            if builder is None:
                design = _first_design(job, batch)
                if design is None:
                    continue
                builder = _Builder.first(design.spec)
            else:
                X, y, dropped, builder = builder.build(batch, job.source.label)
                index = _kept_index(batch, job.columns, len(y))
                design = Design(X, y, builder.spec, dropped, index)
            if len(design.y):
                yield design
    if builder is None:
        raise DataError(f"{job.source.label}: no complete rows")


def _kept_index(batch: _Batch, columns: tuple[str, ...], kept: int) -> pd.Index:
    """Labels of the rows a batch kept (all, or those complete in the used columns)."""
    if kept == batch.nrows:
        if isinstance(batch.data, pd.DataFrame):
            return batch.data.index
        return pd.RangeIndex(batch.start, batch.start + batch.nrows)
    frame = batch.frame()
    index = frame.index[frame[list(columns)].notna().all(axis=1).to_numpy()]
    if len(index) != kept:
        raise DataError(f"cannot label the {kept} rows kept of a batch of {batch.nrows}")
    return index
