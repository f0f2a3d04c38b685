"""Streamed fits: files larger than memory, read in batches and reduced to core states.

An adapter of DESIGN.md ("Layers"): it reads a CSV or Parquet file, or an
iterable of DataFrames, one batch at a time, turns each batch into ``(X, y)``
with the design spec fixed on the first batch, and feeds the rows to the core.
No statistics are computed here that the core, :mod:`duolm.diagnostics` and
:mod:`duolm.ols` do not already define:

- pass 1 reduces every batch to a :class:`~duolm.core.SqrtStat` and merges it
  into the running state (``R <- triu(qr([R; R_batch]))``), so memory is
  bounded by the batch size whatever the length of the file;
- pass 2 (``diagnostics=True``) reads the file again and accumulates, batch by
  batch and in file order, the residual moments of
  :class:`~duolm.diagnostics.ResidualMoments` (Omnibus, Jarque-Bera, skew,
  kurtosis, Durbin-Watson) and the HC "meats" ``W^T diag(w) W`` with
  ``W = X Rxx^-1`` and ``w = e², e²/(1-h), e²/(1-h)²``; the summary of a file
  of any length is then as complete as that of an in-memory fit.

The result equals the in-memory fit of the whole table to rounding. Without
the second pass (``diagnostics=False``) the estimate and its nonrobust
inference are complete and the residual diagnostics are NaN.

Speed: a reader thread decodes batch i + 1 while batch i is reduced (pyarrow,
pandas' parser and LAPACK release the GIL), and, when threadpoolctl is
installed, BLAS runs single-threaded during the reduction of designs of up to
64 columns: their blocks are too narrow to gain from threads, and a threaded
BLAS on a busy machine was measured many times slower. See
``benchmarks/bench_stream.py``.

This module holds the public functions; the readers are in
:mod:`duolm._sources`, the passes in :mod:`duolm._passes`, the reduction of a
batch (shared with :mod:`duolm.dask`) in :mod:`duolm._reduction` and the
checkpoint file in :mod:`duolm._checkpoint`.

The design spec
---------------
The spec is built by :func:`duolm.design.from_formula` on the first batch that
has a complete row and is then fixed. Later batches are built with it: a
categorical level not seen in the first batch is a :class:`DataError` naming
the column, the level and the row, never a silent new column. Stateful
transforms (``center``, ``scale``, ``poly``, ``bs``...) keep the state learnt
on the first batch, so their columns differ from an in-memory fit's (for
``center(x)`` the slopes agree and the intercept shifts). ``lag()`` is refused:
it would reach across batch boundaries. For formulas whose terms are plain
numeric columns (and the intercept), the spec depends on no value: it is
fixed on the first 256 rows, where the columns are checked to equal
formulaic's design value for value, and every batch is then reduced straight from
its columns (:mod:`duolm._block_kernel`: compiled, tile by tile, no ``[X y]``
matrix built). A batch holding a NaN or inf, or too ill-conditioned for its
Gram matrix, goes through formulaic and the core's QR as any other formula.

Rows are numbered from 0 in file order (the first row under a CSV header is
row 0, as in ``pandas.read_csv``); errors name the file and that row.

Checkpoints
-----------
With ``checkpoint=PATH`` the reduction state is written every
``checkpoint_every`` batches, and at the end of pass 1, to ``PATH`` as an
uncompressed NumPy ``.npz`` archive read with ``allow_pickle=False``. Each write
goes to a temporary file in the same folder, is flushed to disk and then
renamed over ``PATH`` (``os.replace``, atomic), so a run killed at any moment
leaves either the previous checkpoint or the new one. Entries (0-d arrays
unless a shape is given):

- ``format`` (``"duolm.stream.checkpoint"``) and ``version`` (1);
- ``fingerprint``: JSON of the arguments that determine the batches: formula,
  file (absolute path, size, modification time in ns), batch size, missing
  policy, and whether pass 2 takes the HC meats (a robust ``cov_type``);
- ``pass_`` (1 or 2, the pass in progress), ``batches`` (batches of that pass
  already reduced), ``spec_batch`` (the batch that fixed the design spec),
  ``fast`` (the direct column path was verified), ``plain_refused`` (it
  failed its check: formulaic builds every batch; absent in older files);
- pass 1: ``rows`` read, ``n_dropped``, the statistic ``R`` (k + 1, k + 1),
  ``nobs``, ``y_mean``, ``y_m2``, and for the intercept ``const_seen``,
  ``const_first`` (k,) and ``const_mask`` (k,);
- pass 2: ``moments`` (10,), the fields of ``ResidualMoments`` in order,
  ``meats`` (3, rank, rank) for HC0, HC2, HC3, and ``lev_one`` (a row of
  leverage 1 was seen: HC2 and HC3 undefined).

A run started again with the same arguments resumes after the last batch
written, re-reading the first batch only to rebuild the spec; it ends with
exactly (bitwise) the result of an uninterrupted run, because it reduces the
same batches in the same order. A checkpoint whose fingerprint differs (another
formula, a modified file, another batch size...) is refused with a
:class:`StateFileError` naming the differences: silently starting over could
discard hours of work, silently resuming would be wrong. The checkpoint is
removed when the fit completes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from duolm._passes import _job, _reduce, _trajectory_frames
from duolm._reduction import Missing, _bayes_results, _check_cov_type, _fit, _ols_results
from duolm._sources import _is_dask as _is_dask  # re-exported for duolm._route
from duolm._sources import is_source
from duolm.bayes import NIG, BayesResults
from duolm.core import ALIAS_TOL
from duolm.ols import CovType, OLSResults

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHECKPOINT_EVERY",
    "bayes",
    "is_source",
    "iter_trajectory",
    "ols",
    "trajectory",
    "write_trajectory",
]

#: Rows per batch. Memory is a few batches of the used columns (about 30 MB for
#: seven float64 columns); larger batches amortise the per-batch overhead.
DEFAULT_BATCH_SIZE = 131_072

#: Batches between two checkpoint writes (each write is a few kilobytes).
DEFAULT_CHECKPOINT_EVERY = 16


def ols(
    formula: str,
    source: object,
    *,
    missing: Missing = "drop",
    cov_type: CovType = "nonrobust",
    alias_tol: float = ALIAS_TOL,
    batch_size: int = DEFAULT_BATCH_SIZE,
    diagnostics: bool = True,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    progress: bool = False,
    encoding: str | None = None,
) -> OLSResults:
    """Least squares on data read in batches: the in-memory fit, in bounded memory.

    Parameters
    ----------
    formula : str
        As for :func:`duolm.ols`; ``lag()`` is refused (see the module docstring
        for stateful transforms).
    source : path or iterable of DataFrames
        A ``.csv`` (pandas' chunked reader) or ``.parquet`` file (pyarrow,
        only the columns the formula uses), or DataFrames taken as batches as
        given (a list, or any iterable; a one-shot iterator only with
        ``diagnostics=False``, as pass 2 reads the data again).
    missing : {"drop", "raise"}
        As for :func:`duolm.ols`; dropped rows are counted over all batches.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
        Robust types need the second pass (``diagnostics=True``).
    alias_tol : float
        See :meth:`duolm.core.SqrtStat.aliased`.
    batch_size : int
        Rows per batch for files. Memory is a few batches of the used columns.
    diagnostics : bool
        Read the data a second time for the residual diagnostics (Omnibus,
        Jarque-Bera, skew, kurtosis, Durbin-Watson) and the HC covariances.
        Without it the estimate and its (nonrobust) inference are complete and
        the residual diagnostics are NaN.
    checkpoint : path, optional
        Write the reduction state there every ``checkpoint_every`` batches and
        resume from it when it exists (file sources only; see the module
        docstring). Removed when the fit completes.
    checkpoint_every : int
        Batches between checkpoint writes.
    progress : bool
        Show a rich progress bar on stderr.
    encoding : str, optional
        Of a CSV file (default UTF-8); a file that does not decode is a
        DataError saying what it looks like (compressed, UTF-16, Latin-1...).

    Returns
    -------
    OLSResults
        ``method == "stream"``, ``rows`` is None (nothing per row is kept).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataError
        As :func:`duolm.ols`, naming the file and the row (rows are counted
        from 0 below the header); a categorical level absent from the first
        batch; an empty file.
    StateFileError
        The checkpoint belongs to other arguments, or is corrupt.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(size=100)})
    >>> frame["y"] = 1.0 + 2.0 * frame["x"] + rng.normal(size=100)
    >>> fit = ols("y ~ x", [frame.iloc[:40], frame.iloc[40:]])
    >>> import duolm
    >>> bool(np.allclose(fit.params, duolm.ols("y ~ x", frame).params, rtol=1e-12))
    True
    """
    _check_cov_type(cov_type, diagnostics)
    robust = cov_type != "nonrobust"  # pass 2 accumulates the HC meats only when asked
    job = _job(
        formula,
        source,
        missing,
        batch_size,
        checkpoint,
        checkpoint_every,
        progress,
        robust,
        encoding,
    )
    if diagnostics and job.source.kind == "frames" and isinstance(job.source.frames, Iterator):
        raise ValueError(
            "a one-shot iterator of frames can be read only once, and the diagnostics read "
            "the data twice: pass a list (or any re-iterable) of frames, or diagnostics=False"
        )
    reduced = _reduce(job, diagnostics=diagnostics, alias_tol=alias_tol, robust=robust)
    fit = _fit(reduced.part, alias_tol, robust)
    return _ols_results(reduced, fit, cov_type, job.source.label)


def bayes(
    formula: str,
    source: object,
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    batch_size: int = DEFAULT_BATCH_SIZE,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    progress: bool = False,
    encoding: str | None = None,
) -> BayesResults:
    """The conjugate posterior of data read in batches: one pass, bounded memory.

    The batches reduce to the data's square-root statistic exactly as in
    :func:`ols` (the same pass and checkpoint format); the prior is added once,
    at the end: the posterior is ``NIG.from_parts(prior_stat, nu0, data_stat)``.

    Parameters
    ----------
    formula, source, missing, batch_size, checkpoint, checkpoint_every, progress, encoding
        As for :func:`ols`.
    prior : NIG, optional
        As for :func:`duolm.bayes` (default ``NIG.vague(k)``).

    Returns
    -------
    BayesResults
        ``design`` is None: no rows are kept (``predict()`` needs data).
    """
    job = _job(
        formula,
        source,
        missing,
        batch_size,
        checkpoint,
        checkpoint_every,
        progress,
        encoding=encoding,
    )
    reduced = _reduce(job, diagnostics=False, alias_tol=ALIAS_TOL)
    return _bayes_results(reduced.spec, reduced.part.stat, prior)


# ==================================================================== the trajectory


def iter_trajectory(
    formula: str,
    source: object,
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    alpha: float = 0.05,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
    encoding: str | None = None,
) -> Iterator[pd.DataFrame]:
    """The posterior after every observation, one frame per batch, in one pass.

    Each batch runs :func:`duolm.trajectory` from the posterior of all the rows
    before it (the NIG's own square-root factor, so nothing is lost between
    batches); memory is bounded by the batch size. The frames concatenated are
    the in-memory ``duolm.trajectory(formula, whole_frame, prior=prior)`` to
    rounding: same columns (``m[term]`` by the formula's terms), ``t`` counting
    from the first row of the source, the index the row numbers (rows counted
    from 0 below a CSV header; a frame's own labels for an iterable of frames).

    Parameters
    ----------
    formula, source, missing, batch_size, progress, encoding
        As for :func:`ols`; a one-shot iterator of frames is fine (one pass).
    prior : NIG, optional
        Default :func:`duolm.bayes.default_prior` (``NIG.vague(k)``).
    alpha : float
        As for :func:`duolm.trajectory`.

    Yields
    ------
    DataFrame
        The trajectory rows of one batch (batches without a complete row yield
        nothing).
    """
    job = _job(
        formula,
        source,
        missing,
        batch_size,
        None,
        DEFAULT_CHECKPOINT_EVERY,
        progress,
        encoding=encoding,
    )
    if prior is not None and not isinstance(prior, NIG):
        raise TypeError(f"prior must be an NIG, got {type(prior).__name__}")
    return _trajectory_frames(job, prior, alpha)


def trajectory(
    formula: str,
    source: object,
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    alpha: float = 0.05,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
    encoding: str | None = None,
) -> pd.DataFrame:
    """:func:`iter_trajectory` concatenated: one row per observation, held in memory.

    For a file too long for its trajectory to fit in memory, use
    :func:`write_trajectory`.
    """
    frames = list(
        iter_trajectory(
            formula,
            source,
            prior=prior,
            missing=missing,
            alpha=alpha,
            batch_size=batch_size,
            progress=progress,
            encoding=encoding,
        )
    )
    return pd.concat(frames) if len(frames) > 1 else frames[0]


def write_trajectory(
    formula: str,
    source: object,
    out: str | os.PathLike[str],
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    alpha: float = 0.05,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
    encoding: str | None = None,
) -> int:
    """Write :func:`iter_trajectory` to a Parquet file batch by batch, in bounded memory.

    The index is written as the column ``row``. The file appears complete or
    not at all (written to a temporary file, then renamed).

    Returns
    -------
    int
        Number of rows written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = Path(out)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    rows = 0
    writer: Any = None
    try:
        for frame in iter_trajectory(
            formula,
            source,
            prior=prior,
            missing=missing,
            alpha=alpha,
            batch_size=batch_size,
            progress=progress,
            encoding=encoding,
        ):
            table = pa.Table.from_pandas(frame.rename_axis("row"), preserve_index=True)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            rows += len(frame)
        if writer is not None:
            writer.close()
            writer = None
        os.replace(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return rows
