"""The streaming wing: files larger than memory, read in batches and reduced to a Reduction.

An adapter of DESIGN.md ("Layers"): it reads a CSV or Parquet file, or an
iterable of DataFrames, one batch at a time, turns each batch into ``(X, y)``
with the design spec fixed on the first batch, and feeds the rows to the core.
No statistics are computed here that the core and :mod:`duolm.reduction` do
not already define, and no result is built: :func:`reduce` returns a
:class:`~duolm.reduction.Reduction`, which the entry functions read.

- pass 1 reduces every batch to a :class:`~duolm.core.SqrtStat` and merges it
  into the running state (``R <- triu(qr([R; R_batch]))``), so memory is
  bounded by the batch size whatever the length of the file;
- pass 2 (``diagnostics=True``) reads the file again and accumulates, batch by
  batch and in file order, the residual moments of
  :class:`~duolm.core.ResidualMoments` (Omnibus, Jarque-Bera, skew,
  kurtosis, Durbin-Watson) and the HC "meats" ``W^T diag(w) W`` with
  ``W = X Rxx^-1`` and ``w = e², e²/(1-h), e²/(1-h)²``; the summary of a file
  of any length is then as complete as that of an in-memory fit. Asked for,
  it also feeds the score rows ``w_i e_i`` to the HAC meat (lags carried
  across batches) and to per-group sums (the ``groups`` columns are read
  beside the design in this pass only), and accumulates the standard tests'
  sums (:mod:`duolm.frequentist._testsums`); these take the numpy path of
  :class:`~duolm.reduction.Pass2`, not the compiled kernel, which keeps no rows.

A weighted fit (``weights="w"``) reads the weights column beside the design
in both passes (a carried column, :attr:`duolm.design.DesignSpec.carry`): pass
1 reduces the rows scaled by ``sqrt(w)`` and sums the weights
(:class:`~duolm.core.WeightSums`), pass 2 takes the moments and meats of the
scaled rows; a plain formula's scaled columns go through the same compiled
kernels.

The readings of the result equal the in-memory fit of the whole table to
rounding. Without the second pass (``diagnostics=False``) the estimate and its
nonrobust inference are complete; asking for the residual diagnostics or a
robust covariance then raises :class:`~duolm.errors.DataError` naming the
second pass, never NaN (the printed summary says they were not computed).

Speed: a reader thread decodes batch i + 1 while batch i is reduced (pyarrow,
pandas' parser and LAPACK release the GIL); a Parquet file whose row groups
hold at most 64 MiB of the used columns is read a whole row group at a time,
one row group ahead (pyarrow decodes its columns in parallel, with about a
fifth less CPU than batch by batch; memory: two row groups of the used
columns beside the batches), and cut into the same batches. When threadpoolctl is
installed, BLAS runs single-threaded during the reduction of designs of up to
64 columns: their blocks are too narrow to gain from threads, and a threaded
BLAS on a busy machine was measured many times slower. See
``benchmarks/bench_stream.py``.

This module holds the wing's two functions, :func:`reduce` and :func:`designs`;
the readers are in :mod:`._sources`, the passes in :mod:`._passes`, the
reduction of a batch (shared with :mod:`duolm.dask`) in :mod:`._batch`, the
compiled batch kernels in :mod:`._kernels` and the checkpoint file in
:mod:`._checkpoint`.

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
its columns (:mod:`duolm._stream._kernels`: compiled, tile by tile, no ``[X y]``
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

- ``format`` (``"duolm.stream.checkpoint"``), ``version`` (2) and ``digest``, the
  SHA-256 of every other entry (its name, type, shape and bytes);
- ``fingerprint``: JSON of the arguments that determine the batches: formula,
  file (absolute path, size, modification time in ns), batch size, missing
  policy, whether pass 2 takes the HC meats (a robust ``cov_type``), the
  HAC and cluster meats asked for, and the standard tests' request;
- ``pass_`` (1 or 2, the pass in progress), ``batches`` (batches of that pass
  already reduced), ``spec_batch`` (the batch that fixed the design spec),
  ``fast`` (the direct column path was verified), ``plain_refused`` (it
  failed its check: formulaic builds every batch; absent in older files);
- pass 1: ``rows`` read, ``n_dropped``, the statistic ``R`` (k + 1, k + 1),
  ``nobs``, ``y_mean``, ``y_m2``, and for the intercept ``const_seen``,
  ``const_first`` (k,) and ``const_mask`` (k,); for a weighted fit
  ``weight_sums`` (4,): ``sum w``, ``sum log w``, the weighted mean of ``y``
  and ``sum w (y - mean)^2`` (the fingerprint then names the weights column);
- pass 2: ``moments`` (10,), the fields of ``ResidualMoments`` in order,
  ``meats`` (3, rank, rank) for HC0, HC2, HC3, and ``lev_one`` (a row of
  leverage 1 was seen: HC2 and HC3 undefined); with ``cov_type="HAC"`` or
  ``"cluster"`` (the fingerprint then holds their ``scores``: HAC or not, lags,
  kernel, grouping columns) once pass 2 has rows: ``scores_spec`` (JSON of the
  same and whether the lags came from the rule), for HAC ``hac_S`` (rank, rank),
  ``hac_head`` and ``hac_tail`` (up to maxlags, rank) and ``hac_nobs``, and
  ``clusters`` (the number of groupings, -1 for none), each grouping ``i``'s
  ``cluster{i}_sums`` (groups, rank), ``cluster{i}_nobs``, ``cluster{i}_levels``
  (1, or 2 for the intersection of two) and its labels ``cluster{i}_labels{j}``
  (numbers, booleans, dates or unicode text; other labels are refused with a
  DataError naming the column); with ``tests=`` (the fingerprint then holds the
  request): ``tests_spec`` (4,) = lags kept, RESET's power, White or not, the
  residuals' unit, ``tests_scales`` (rank,) and ``tests_fitted``, the powers of
  two dividing the columns in White's products and the fitted values in RESET's
  powers; the auxiliary statistics ``tests_bp_R``, ``tests_white_R``
  (when accumulated), ``tests_reset_R``, each with ``tests_*_moments`` (3,) =
  rows, mean and centred sum of squares of its response; the lag products
  ``tests_lags_G`` (lags + 1, m, m), ``tests_lags_sums`` (m,), the first and
  last rows ``tests_lags_head`` and ``tests_lags_tail``, and ``tests_lags_nobs``.

A run started again with the same arguments resumes after the last batch
written, re-reading the first batch only to rebuild the spec; it ends with
exactly (bitwise) the result of an uninterrupted run, because it reduces the
same batches in the same order. A checkpoint whose fingerprint differs (another
formula, a modified file, another batch size...) is refused with a
:class:`StateFileError` naming the differences: silently starting over could
discard hours of work, silently resuming would be wrong. A file counts as
modified when its size or modification time changed: a rewrite of the same
size with its old time put back (``cp -p``, ``rsync -t``, ``touch -r``) is
not seen, and resumes into a mix of the two files' rows; hashing the file
would mean reading it whole once more. A checkpoint whose entries were
changed after it was written (by hand, by a bad disk) fails its SHA-256
``digest`` and is refused too. The checkpoint is removed when the fit completes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from duolm._checks import Missing
from duolm._stream._passes import _designs, _job, _reduce
from duolm._stream._sources import _is_dask, is_source
from duolm.core import ScoreSpec
from duolm.design import Design
from duolm.reduction import Reduction

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHECKPOINT_EVERY",
    "designs",
    "is_dask",
    "is_source",
    "reduce",
]

#: Rows per batch. Memory is a few batches of the used columns (about 30 MB for
#: seven float64 columns); larger batches amortise the per-batch overhead.
DEFAULT_BATCH_SIZE = 131_072

#: Batches between two checkpoint writes (each write is a few kilobytes).
DEFAULT_CHECKPOINT_EVERY = 16

is_dask = _is_dask


def reduce(
    formula: str,
    source: object,
    *,
    missing: Missing,
    alias_tol: float,
    diagnostics: bool,
    robust: bool,
    batch_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
    scores: ScoreSpec | None = None,
    tests: Mapping[str, Any] | None = None,
    weights: str | None = None,
) -> Reduction:
    """Pass 1 over a file or an iterable of frames (and pass 2 with ``diagnostics``).

    ``robust``: pass 2 accumulates the leverages and HC meats too; ``scores``:
    it feeds the score rows to the HAC and cluster meats (the grouping
    columns are read beside the design's); ``tests``: it accumulates the standard
    tests' sums (:mod:`duolm.frequentist._testsums`). ``weights``: the column of
    the weights, read beside the design in both passes (a weighted fit). The other
    arguments are those of :func:`duolm.reduce`, checked there.
    """
    job = _job(
        formula,
        source,
        missing,
        batch_size or DEFAULT_BATCH_SIZE,
        checkpoint,
        checkpoint_every or DEFAULT_CHECKPOINT_EVERY,
        progress,
        robust,
        encoding,
        scores,
        tests,
        weights,
        alias_tol,
    )
    if diagnostics and job.source.kind == "frames" and isinstance(job.source.frames, Iterator):
        raise ValueError(
            "a one-shot iterator of frames can be read only once, and the diagnostics read "
            "the data twice: pass a list (or any re-iterable) of frames, or diagnostics=False"
        )
    return _reduce(job, diagnostics=diagnostics, alias_tol=alias_tol, robust=robust)


def designs(
    formula: str,
    source: object,
    *,
    missing: Missing,
    batch_size: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
) -> Iterator[Design]:
    """The designs of the batches in order, in one pass (a one-shot iterator is fine)."""
    job = _job(
        formula,
        source,
        missing,
        batch_size or DEFAULT_BATCH_SIZE,
        None,
        DEFAULT_CHECKPOINT_EVERY,
        progress,
        encoding=encoding,
    )
    return _designs(job)
