"""Rows in order: the posterior after every row (:func:`trajectory`) and where the
relation changes (:func:`changepoints`)."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from duolm import _stream
from duolm._api._door import StreamOptions, _streamed, _warn_dropped
from duolm._checks import (
    Missing,
    check_alpha,
    check_forget,
    check_fraction,
    check_missing,
    check_nonnegative_int,
    check_probability,
)
from duolm.bayesian import (
    NIG,
    check_prior_type,
    checked_prior,
    posterior_path,
)
from duolm.bayesian._changepoints import KEEP, Changepoints
from duolm.design import Design, make_design
from duolm.errors import DataError, PriorError


def trajectory(
    formula: str | None = None,
    data: object = None,
    *,
    X: object = None,
    y: object = None,
    prior: NIG | None = None,
    missing: Missing = "drop",
    alpha: float = 0.05,
    forget: float | None = None,
    forget_toward: Literal["prior"] | None = None,
    batch_size: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
) -> pd.DataFrame:
    """The posterior after each observation ``t = 1..n``, and the prediction made before it.

    Rows are taken in the order given (after missing rows are dropped); row
    ``t`` describes the NIG posterior of (beta, sigma²) after the first ``t``
    rows (DESIGN.md, "Bayesian results", with ``k`` = number of columns of X)
    and the one-step-ahead predictive for row ``t`` made from the posterior
    after ``t - 1`` rows (the prior for ``t = 1``).

    Parameters
    ----------
    formula, data, X, y, missing
        The design, exactly as for :func:`duolm.ols`.
    prior : NIG, optional
        A :class:`duolm.NIG`, read exactly from its square-root factor (the
        reference prior ``NIG.reference(k)``, ``V^-1 = 0``, ``a = -k/2``,
        ``b = 0``, included; a posterior continues from where it stands),
        checked as :func:`duolm.bayes` checks it. Default: the vague proper
        prior of :func:`duolm.bayes`, ``NIG.vague(k)``.
    alpha : float
        The predictive interval has level ``1 - alpha`` (equal tails). The
        column names do not depend on it.
    forget : float, optional
        Forgetting factor ``lam`` in (0, 1] for coefficients that drift: before
        each row the posterior is discounted as by :meth:`duolm.NIG.forget`,
        so row ``t`` describes ``post_{t-1}.forget(lam).update(x_t, y_t)`` and
        its predictive is made from ``post_{t-1}.forget(lam)``. None (or 1):
        no forgetting. Rows in memory only.
    forget_toward : {None, "prior"}
        None: exponential forgetting of the whole statistic (``xi <- lam xi``,
        ``nu <- lam nu``; the prior fades too, ``a`` tends to
        ``1/(2(1 - lam))``). ``"prior"``: stabilised forgetting,
        ``xi <- lam xi + (1 - lam) xi_0`` (the prior stays, ``a`` tends to
        ``a_0 + 1/(2(1 - lam))``). The column ``a`` follows either.
    batch_size, progress, encoding
        For streamed data (a CSV or Parquet path, an iterable of frames),
        read batch by batch, each continuing from the previous posterior; see
        :func:`iter_trajectory` to keep memory bounded as well.

    Returns
    -------
    DataFrame
        Index: the labels of the rows used (as in ``design.index``). Columns,
        in order (``term`` runs over the design's column names):

        ==================  ===========================================================
        ``t``               number of observations seen, 1..n
        ``m[term]``         location ``m_t`` of beta (its posterior median and mode; its
                            mean when ``a_t > 1/2``). NaN iff not ``proper``.
        ``sd[term]``        posterior sd of beta, ``sqrt(b_t/(a_t - 1) V_t[jj])``.
                            NaN iff not ``has_mean_sigma2`` (needs ``a_t > 1``).
        ``mean_sigma2``     ``E[sigma²] = b_t/(a_t - 1)``. NaN iff not ``has_mean_sigma2``.
        ``sd_sigma2``       sd of sigma², ``b_t / ((a_t - 1) sqrt(a_t - 2))``.
                            NaN iff not ``has_sd_sigma2`` (needs ``a_t > 2``).
        ``a``               ``a_t = a_0 + t/2``; always given.
        ``b``               ``b_t = ryy²/2``; NaN only while the factor is singular
                            (flat prior, fewer independent rows than coefficients;
                            ``proper`` is False then).
        ``pred_mean``       ``m_{t-1}' x_t``, location of the predictive t for ``y_t``.
        ``pred_scale``      its scale, ``sqrt(b_{t-1}/a_{t-1} (1 + x_t' V_{t-1} x_t))``;
                            the dof are ``2 a_{t-1} = 2 a_t - 1``.
        ``pred_lower``      lower end of the ``1 - alpha`` predictive interval;
                            ``-inf`` when the quantile exceeds the float64 range
                            (``a_{t-1}`` below about 0.01, e.g. the first row under
                            the default prior, ``a_0 = 0.001``).
        ``pred_upper``      upper end (``+inf`` likewise).
        ``pred_logpdf``     log predictive density of the observed ``y_t``.
                            The five ``pred_*`` are NaN iff not ``pred_proper``.
        ``proper``          the posterior after ``t`` rows is a proper NIG: its factor
                            is nonsingular, ``a_t > 0`` and ``b_t > 0``. Always True
                            with a proper prior; under the reference prior it is
                            False for ``t <= k`` (and while the rows seen leave some
                            coefficient undetermined).
        ``has_mean_sigma2`` ``proper`` and ``a_t > 1``: sigma² has a mean and beta a
                            variance.
        ``has_sd_sigma2``   ``proper`` and ``a_t > 2``: sigma² has a variance.
        ``pred_proper``     the posterior after ``t - 1`` rows is proper, so the
                            predictive for row ``t`` exists.
        ==================  ===========================================================

        ``sum(pred_logpdf)`` over all rows is the log evidence of the data
        when the prior is proper.

    Raises
    ------
    DataError
        As :func:`duolm.ols` (missing or infinite values, text, no rows...).
    PriorError
        The prior's dimension differs from the design's, or its
        hyperparameters are invalid.

    Notes
    -----
    The update is the core's square-root form (see the module docstring):
    Givens rotations of each row into the factor, posterior read off by
    triangular solves. With a flat prior a coefficient counts as determined
    once the factor's diagonal entry is at least ``duolm.core.ALIAS_TOL``
    times its column's norm (as for aliasing in :func:`duolm.ols` and
    ``NIG.beta_proper``); exactly collinear columns leave the whole
    trajectory improper.

    Speed: with numba, about 14 million rows per second for the compiled
    kernel and about 11 million for the whole call with three regressors,
    forgetting (exponential or toward the prior) included; the first call
    for each number of columns compiles the kernel (about 4 s, and about
    35 s for forgetting toward the prior, whose independent rows are
    vectorised; once: numba caches it on disk). Without numba about 75,000
    rows per second.

    Examples
    --------
    >>> import duolm
    >>> data = {"x": [0.0, 1.0, 2.0, 3.0, 4.0], "y": [0.1, 0.9, 2.2, 2.8, 4.1]}
    >>> traj = duolm.trajectory("y ~ x", data, prior=duolm.NIG.reference(2))
    >>> list(traj.columns[:5])
    ['t', 'm[Intercept]', 'm[x]', 'sd[Intercept]', 'sd[x]']
    >>> traj["proper"].tolist(), traj["pred_proper"].tolist()
    ([False, False, True, True, True], [False, False, False, True, True])
    >>> traj["m[x]"].round(3).tolist()[2:]
    [1.05, 0.94, 0.99]
    >>> duolm.ols("y ~ x", data).params["x"].round(3)  # the reference prior's m is OLS
    np.float64(0.99)
    """
    alpha = check_alpha(alpha)
    lam, toward_prior = check_forget(forget, forget_toward)
    if _streamed(formula, data):
        assert isinstance(formula, str)
        if lam != 1.0:
            raise ValueError(
                "forget= follows rows in memory: read the data into a DataFrame, or fit the "
                "stream with duolm.Online(formula, forget=...)"
            )
        frames = list(
            iter_trajectory(
                formula,
                data,
                prior=prior,
                missing=missing,
                alpha=alpha,
                batch_size=batch_size,
                progress=progress,
                encoding=encoding,
            )
        )
        return pd.concat(frames) if len(frames) > 1 else frames[0]
    StreamOptions.checked(batch_size, None, None, progress, encoding).refuse(
        "apply to streamed data (a CSV or Parquet path, an iterable of DataFrames)"
    )
    design = make_design(formula, data, X, y, check_missing(missing))
    _warn_dropped(design.n_dropped)
    prior = checked_prior(prior, design.spec)
    return posterior_path(
        design.X,
        design.y,
        prior,
        alpha=alpha,
        terms=design.spec.terms,
        index=design.index,
        forget=lam,
        toward_prior=toward_prior,
    )


def changepoints(
    formula: str | None = None,
    data: object = None,
    hazard: float = 1 / 250,
    prior: NIG | None = None,
    tol: float = 1e-10,
    lag: int = 20,
    *,
    X: object = None,
    y: object = None,
    keep: float = KEEP,
    missing: Missing = "raise",
    batch_size: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
) -> Changepoints:
    """Find where the regression changes: Bayesian online changepoint detection.

    Adams & MacKay (2007) with the regression of each segment drawn from the
    prior NIG (the recursion: :mod:`duolm.bayesian._changepoints`).

    Parameters
    ----------
    formula : str, optional
        A formula such as ``"height ~ time + I(time**2)"``, with ``data``.
    data : DataFrame, mapping, or streamed data
        The rows, in time order. Streamed data (a CSV or Parquet path, an
        iterable of DataFrames, a Dask DataFrame, whose partitions are
        computed one at a time, in order) are read batch by batch: the
        recursion is online, so between batches it holds only the surviving
        run lengths, and the result is the in-memory one to the last bit. The
        result keeps the rows (the segments' fits and the plot need them).
    hazard : float
        Probability in (0, 1) that a new segment starts at a given row: the
        expected segment length is ``1 / hazard`` rows.
    prior : NIG, optional
        Prior of each segment's ``(beta, sigma^2)``; proper. Default
        ``NIG.vague(k)``, as :func:`duolm.bayes`. A weak prior makes a new
        segment's first rows unlikely under it, so short segments need data
        in the prior's units.
    tol : float
        Run lengths whose posterior probability falls below ``tol`` are
        dropped (and the rest renormalised): memory and time are bounded by
        the run lengths that survive. 0 keeps them all (exact, quadratic in
        the rows).
    lag : int
        :attr:`Changepoints.change_prob` at row t is conditioned on the rows
        up to ``t + lag``.
    X : array_like of shape (n, k), optional
        Design matrix, used as given (instead of a formula).
    y : array_like of shape (n,), optional
        Response, with ``X``.
    keep : float
        Run-length probabilities at or above ``keep`` are stored for
        :meth:`Changepoints.runlength_posterior` and the plot (0: all).
    missing : {"raise", "drop"}
        Rows with a missing value are refused (default: a gap in a series is
        not a row to skip silently) or dropped.
    batch_size, progress, encoding
        For streamed data, as for :func:`duolm.ols`.

    Returns
    -------
    Changepoints
        Per row the MAP run length and the change probability, the MAP
        segmentation's segments with both readings, ``plot()``.

    Raises
    ------
    PriorError
        The prior is improper, or has another number of coefficients.
    DataError
        Missing or non-finite values (column and row named).

    Examples
    --------
    >>> import numpy as np
    >>> from duolm import changepoints
    >>> rng = np.random.default_rng(0)
    >>> x = np.arange(60.0)
    >>> y = np.where(x < 30, 1.0 + 0.1 * x, 12.0 - 0.2 * x) + rng.normal(0, 0.1, 60)
    >>> cp = changepoints("y ~ x", {"x": x, "y": y}, hazard=0.01)
    >>> cp.changes
    (30,)
    >>> [round(float(seg.ols.params["x"]), 2) for seg in cp.segments]
    [0.1, -0.2]
    """
    hazard = check_probability(hazard, "hazard")
    tol = check_fraction(tol, "tol")
    keep = check_fraction(keep, "keep")
    lag = check_nonnegative_int(lag, "lag")
    check_prior_type(prior)
    opts = StreamOptions.checked(batch_size, None, None, progress, encoding)
    if _streamed(formula, data):
        assert isinstance(formula, str)
        source = data
        if _stream.is_dask(data):
            from duolm import dask

            source = dask.partition_frames(data)
        designs = opts.designs(formula, source, check_missing(missing))
        first = next(designs, None)
        if first is None:
            raise DataError("changepoints: the source has no complete rows")
        prior = _proper_prior(prior, first)
        return Changepoints.from_designs(
            itertools.chain([first], designs), prior, hazard, tol, lag, keep
        )
    opts.refuse("apply to streamed data (a CSV or Parquet path, an iterable of DataFrames)")
    design = make_design(formula, data, X, y, check_missing(missing))
    return Changepoints.from_design(design, _proper_prior(prior, design), hazard, tol, lag, keep)


def _proper_prior(prior: NIG | None, design: Design) -> NIG:
    """The prior of each segment, checked against the design; refused unless proper."""
    prior = checked_prior(prior, design.spec)
    if not prior.is_proper:
        raise PriorError(
            f"changepoints needs a proper prior (each segment's evidence), got {prior.label} "
            f"with a = {prior.a:g}, b = {prior.b:g}"
        )
    return prior


def iter_trajectory(
    formula: str,
    source: object,
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    alpha: float = 0.05,
    batch_size: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
) -> Iterator[pd.DataFrame]:
    """The posterior after every observation of streamed data, one frame per batch, in one pass.

    Each batch runs :func:`trajectory` from the posterior of all the rows
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
        Default ``NIG.vague(k)``, as :func:`bayes`.
    alpha : float
        As for :func:`trajectory`.

    Yields
    ------
    DataFrame
        The trajectory rows of one batch (batches without a complete row yield
        nothing).
    """
    check_prior_type(prior)
    if _stream.is_dask(source):
        raise TypeError(
            "a trajectory follows the rows in order: read the Dask DataFrame's partitions "
            "in order (ddf.to_delayed()) and pass them as an iterable of frames"
        )
    alpha = check_alpha(alpha)
    missing = check_missing(missing)
    opts = StreamOptions.checked(batch_size, None, None, progress, encoding)
    designs = opts.designs(formula, source, missing)
    return _trajectory_frames(designs, prior, alpha)


def _trajectory_frames(
    designs: Iterator[Any], prior: NIG | None, alpha: float
) -> Iterator[pd.DataFrame]:
    posterior: NIG | None = None
    seen = 0
    for design in designs:
        if posterior is None:
            posterior = checked_prior(prior, design.spec)
        frame = posterior_path(
            design.X, design.y, posterior, alpha=alpha, terms=design.spec.terms, index=design.index
        )
        frame["t"] += seen
        seen += len(design.y)
        posterior = posterior.update(design.X, design.y)
        yield frame


def write_trajectory(
    formula: str,
    source: object,
    out: str | os.PathLike[str],
    *,
    prior: NIG | None = None,
    missing: Missing = "drop",
    alpha: float = 0.05,
    batch_size: int | None = None,
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
    frames = iter_trajectory(
        formula,
        source,
        prior=prior,
        missing=missing,
        alpha=alpha,
        batch_size=batch_size,
        progress=progress,
        encoding=encoding,
    )
    return write_frames(frames, out)


def write_frames(frames: Iterable[pd.DataFrame], out: str | os.PathLike[str]) -> int:
    """Write frames of the same columns to one Parquet file, index as the column ``row``;
    the file appears complete or not at all (a temporary file renamed). Rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = Path(out)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    rows = 0
    writer: Any = None
    try:
        for frame in frames:
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
