"""Send streamed data to the adapters that reduce it: files and iterables of
frames to :mod:`duolm.stream`, Dask DataFrames to :mod:`duolm.dask`.

The entry points ``duolm.ols``, ``duolm.bayes`` and ``duolm.trajectory`` call
these when their data is not in memory; the adapters import the entry modules,
so they are imported here lazily.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

    from duolm.bayes import NIG, BayesResults
    from duolm.ols import CovType, OLSResults

Missing = Literal["drop", "raise"]


@dataclass(frozen=True)
class StreamOptions:
    """How to read data that are not in memory (ignored for in-memory data).

    Attributes
    ----------
    batch_size : int or None
        Rows per batch (None: the stream module's default).
    checkpoint : path or None
        File where the reduction state is saved atomically, to resume a
        killed run with the same arguments (files only).
    checkpoint_every : int or None
        Batches between checkpoints (None: the stream module's default).
    progress : bool
        Show a progress bar.
    encoding : str or None
        Text encoding of a CSV file (None: UTF-8).
    """

    batch_size: int | None = None
    checkpoint: str | os.PathLike[str] | None = None
    checkpoint_every: int | None = None
    progress: bool = False
    encoding: str | None = None

    def given(self) -> bool:
        """Whether any option differs from its default."""
        return self != StreamOptions()

    def check_in_memory(self) -> None:
        """Refuse streaming options for data that are already in memory."""
        if self.given():
            raise TypeError(
                "batch_size, checkpoint, checkpoint_every, progress and encoding apply to "
                "streamed data "
                "(a CSV or Parquet path, an iterable of DataFrames, a Dask DataFrame)"
            )


def is_streamed(data: object) -> bool:
    """True for a file path, an iterable of frames or a Dask DataFrame."""
    from duolm import stream

    return stream.is_source(data)


def _is_dask(data: object) -> bool:
    from duolm import stream

    return stream._is_dask(data)


def _batch_size(opts: StreamOptions) -> int:
    from duolm import stream

    return stream.DEFAULT_BATCH_SIZE if opts.batch_size is None else opts.batch_size


def _file_options(opts: StreamOptions) -> dict[str, Any]:
    """The reading options of :func:`duolm.stream.ols` and ``bayes``, defaults filled in."""
    from duolm import stream

    return {
        "batch_size": _batch_size(opts),
        "checkpoint": opts.checkpoint,
        "checkpoint_every": (
            stream.DEFAULT_CHECKPOINT_EVERY
            if opts.checkpoint_every is None
            else opts.checkpoint_every
        ),
        "progress": opts.progress,
        "encoding": opts.encoding,
    }


def _no_dask_options(opts: StreamOptions) -> None:
    if opts.given():
        raise TypeError(
            "batch_size, checkpoint, checkpoint_every, progress and encoding do not apply to a "
            "Dask "
            "DataFrame: Dask reads its own partitions"
        )


def ols(
    formula: str,
    data: object,
    *,
    missing: Missing,
    cov_type: CovType,
    alias_tol: float,
    diagnostics: bool,
    opts: StreamOptions,
) -> OLSResults:
    """A least-squares fit of streamed data."""
    if _is_dask(data):
        from duolm import dask

        _no_dask_options(opts)
        return dask.ols(
            formula,
            data,
            missing=missing,
            cov_type=cov_type,
            alias_tol=alias_tol,
            diagnostics=diagnostics,
        )
    from duolm import stream

    return stream.ols(
        formula,
        data,
        missing=missing,
        cov_type=cov_type,
        alias_tol=alias_tol,
        diagnostics=diagnostics,
        **_file_options(opts),
    )


def bayes(
    formula: str, data: object, *, prior: NIG | None, missing: Missing, opts: StreamOptions
) -> BayesResults:
    """A posterior from streamed data."""
    if _is_dask(data):
        from duolm import dask

        _no_dask_options(opts)
        return dask.bayes(formula, data, prior=prior, missing=missing)
    from duolm import stream

    return stream.bayes(
        formula,
        data,
        prior=prior,
        missing=missing,
        **_file_options(opts),
    )


def trajectory(
    formula: str,
    data: object,
    *,
    prior: NIG | None,
    missing: Missing,
    alpha: float,
    opts: StreamOptions,
) -> pd.DataFrame:
    """The posterior after every observation of streamed data."""
    if _is_dask(data):
        raise TypeError(
            "a trajectory follows the rows in order: read the Dask DataFrame's partitions "
            "in order (ddf.to_delayed()) and pass them as an iterable of frames"
        )
    if opts.checkpoint is not None:
        raise TypeError("checkpoint= is not supported for trajectories")
    from duolm import stream

    return stream.trajectory(
        formula,
        data,
        prior=prior,
        missing=missing,
        alpha=alpha,
        batch_size=_batch_size(opts),
        progress=opts.progress,
        encoding=opts.encoding,
    )
