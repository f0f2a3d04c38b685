"""Fits of data of any kind: :func:`reduce` and its two readings, :func:`ols` and :func:`bayes`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from duolm import _stream, core
from duolm._api._door import StreamOptions, _check_encoding, _streamed, _warn_dropped
from duolm._checks import (
    CovType,
    Missing,
    check_alias_tol,
    check_cov_kwds,
    check_cov_type,
    check_group_columns,
    check_hac_request,
    check_missing,
    check_tests_request,
)
from duolm.bayesian import (
    NIG,
    BayesResults,
    check_prior_type,
    empirical_prior,
)
from duolm.design import as_frame, make_design, weighted_design
from duolm.errors import DataError
from duolm.frequentist import OLSResults
from duolm.reduction import Reduction


def reduce(
    formula: str | None = None,
    data: object = None,
    *,
    X: object = None,
    y: object = None,
    missing: Missing = "drop",
    alias_tol: float = core.ALIAS_TOL,
    diagnostics: bool = False,
    robust: bool = False,
    batch_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
    narrow: bool = False,
    hac: bool | Mapping[str, Any] | None = None,
    groups: str | Sequence[str] | None = None,
    tests: bool | Mapping[str, Any] | None = None,
    weights: object = None,
) -> Reduction:
    """Reduce data of any kind to what both readings need, in one pass (two if asked).

    Parameters
    ----------
    formula, data, X, y, missing, alias_tol
        As for :func:`ols`: data in memory, a CSV or Parquet path, an iterable
        of frames, or a Dask DataFrame.
    diagnostics : bool
        For data not in memory: make the second pass over the residuals (their
        moments, for the diagnostics). Rows in memory are kept instead, so the
        frequentist reading has everything.
    robust : bool
        The second pass also accumulates the leverages and HC meats, for
        ``reduction.ols(cov_type="HC0".."HC3")``.
    batch_size, checkpoint, checkpoint_every, progress, encoding
        For files and iterables of frames only: rows per batch, a file to
        resume a killed run from, batches between checkpoints, a progress bar,
        the text encoding of a CSV file (default UTF-8).
    narrow : bool
        Refuse, before building it, an in-memory formula design with at least
        as many columns as rows, as least squares needs (:func:`ols` sets it;
        the Bayesian reading can take wider designs).
    hac : bool or dict, optional
        For data not in memory, with ``diagnostics``: the second pass also
        accumulates the Newey-West meat, for ``reduction.ols("HAC", cov_kwds)``.
        True for the defaults, or HAC's ``cov_kwds``: ``maxlags`` (default:
        Newey & West's rule for the rows counted by the first pass) and
        ``kernel``, fixed here; ``use_correction`` is chosen when reading.
    groups : str or pair of str, optional
        For data not in memory, with ``diagnostics``: the column (or two, for
        two-way clustering) whose per-group score sums the second pass
        accumulates, for ``reduction.ols("cluster", {"groups": groups})``.
    tests : bool or dict, optional
        For data not in memory, with ``diagnostics``: the second pass also
        accumulates what the standard tests of the fit need
        (``het_breuschpagan``, ``het_white`` up to 12 columns,
        ``linear_reset``, ``acorr_breusch_godfrey``, ``acorr_ljungbox``,
        ``durbin_watson_test(exact=False)``). True for the defaults, or
        ``{"maxlags": L, "power": P}``: the lags kept (default
        ``min(10, n // 5)``, at least 2) and RESET's highest power (3).
        Rows in memory need none of these: their fit has every row at hand.
    weights : str or array_like of shape (n,), optional
        As for :func:`ols`: the statistic is that of the rows scaled by
        ``sqrt(w)``, with the sums of the weights beside it.

    Returns
    -------
    Reduction
        Read it with ``.ols(cov_type=...)``, ``.bayes(prior=...)``, or give it
        to :func:`compare`; merge it with the reduction of other rows by
        ``.merge(other)``.

    Examples
    --------
    >>> import duolm
    >>> data = {"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [1.1, 1.9, 3.2, 3.9, 5.1]}
    >>> red = duolm.reduce("y ~ x", data)
    >>> red.ols().params.round(4).tolist()
    [0.04, 1.0]
    >>> red.bayes(duolm.NIG.reference(2)).params.round(4).tolist()
    [0.04, 1.0]
    """
    missing = check_missing(missing)
    alias_tol = check_alias_tol(alias_tol)
    opts = StreamOptions.checked(batch_size, checkpoint, checkpoint_every, progress, encoding)
    scores = _score_spec(hac, groups)
    asked = check_tests_request(tests)
    if (scores is not None or asked is not None) and not diagnostics and _streamed(formula, data):
        raise ValueError(
            "hac=, groups= and tests= are accumulated by the second pass: use diagnostics=True"
        )
    if _streamed(formula, data):
        assert isinstance(formula, str)
        if weights is not None and not isinstance(weights, str):
            raise TypeError(
                "the weights of streamed data (a file, an iterable of frames, a Dask "
                f"DataFrame) are a column of it: give its name, got {type(weights).__name__}"
            )
        if _stream.is_dask(data):
            from duolm import dask

            opts.refuse("do not apply to a Dask DataFrame: Dask reads its own partitions")
            streamed = dask.reduce(
                formula,
                data,
                missing=missing,
                alias_tol=alias_tol,
                diagnostics=diagnostics,
                robust=robust,
                scores=scores,
                tests=asked,
                weights=weights,
            )
            _warn_dropped(streamed.n_dropped)
            return streamed
        streamed = _stream.reduce(
            formula,
            data,
            missing=missing,
            alias_tol=alias_tol,
            diagnostics=diagnostics,
            robust=robust,
            batch_size=opts.batch_size,
            checkpoint=opts.checkpoint,
            checkpoint_every=opts.checkpoint_every,
            progress=opts.progress,
            encoding=opts.encoding,
            scores=scores,
            tests=asked,
            weights=weights,
        )
        _warn_dropped(streamed.n_dropped)
        return streamed
    opts.refuse(
        "apply to streamed data (a CSV or Parquet path, an iterable of DataFrames, "
        "a Dask DataFrame)"
    )
    if weights is None:
        design = make_design(formula, data, X, y, missing, narrow=narrow)
    else:
        design = weighted_design(formula, data, X, y, weights, missing, narrow=narrow)
    reduction = Reduction.of_design(design, alias_tol)
    _warn_dropped(reduction.n_dropped)
    return reduction


def ols(
    formula: str | None = None,
    data: object = None,
    *,
    X: object = None,
    y: object = None,
    missing: Missing = "drop",
    cov_type: CovType = "nonrobust",
    cov_kwds: Mapping[str, Any] | None = None,
    alias_tol: float = core.ALIAS_TOL,
    diagnostics: bool = True,
    batch_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
    tests: bool | Mapping[str, Any] | None = None,
    weights: object = None,
) -> OLSResults:
    """Fit a linear model by least squares.

    Parameters
    ----------
    formula : str, optional
        A formulaic formula such as ``"height ~ I(time**2)"``.
    data : DataFrame, polars DataFrame, mapping, path, iterable of DataFrames or Dask DataFrame
        The data the formula refers to. A CSV or Parquet path or an iterable
        of frames is streamed in batches (memory bounded by the batch size),
        a Dask DataFrame reduced partition by partition; the result is the
        in-memory fit's to rounding, without the per-row values. A formula
        whose terms are plain numeric columns of a frame (``y ~ x1 + x2``)
        reads the frame's float64 columns where they are, as ``X=`` below: a
        value changed in place in the frame after the fit changes what the
        per-row results (``leverage``, ``predict()``, influence) read.
    X : array_like of shape (n, k), optional
        Design matrix, used as given (no intercept is added). A float64 array
        in C or F order is read where it is, not copied: an in-memory fit's
        per-row results (``resid``, ``leverage``, ``predict()``) read it, so
        change it only once you are done with the fit.
    y : array_like of shape (n,), optional
        Response.
    missing : {"drop", "raise"}
        Rows with missing values in a used column are dropped (and counted in
        the summary) or raise an error naming the column and rows.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "HAC", "cluster"}
        Covariance of the estimates; robust types change ``bse``, t, p, the
        intervals and the F test. "HAC" (Newey-West) and "cluster" are
        statsmodels', for data in memory, streamed and on Dask (the second
        pass then accumulates the lag products or per-group score sums).
    cov_kwds : dict, optional
        statsmodels' keywords. "HAC": ``maxlags`` (default
        ``floor(4 (n / 100)^(2/9))``, Newey & West's rule, as statsmodels),
        ``kernel`` ("bartlett" or "uniform"), ``use_correction`` (``n / (n - k)``,
        default False). "cluster": ``groups`` (a column name, one label per
        row, or two of either for two-way clustering) and ``use_correction``
        (``G / (G - 1) (n - 1) / (n - k)``, default True). As for HC0-HC3, the
        t statistics, p values and intervals use ``df_resid`` degrees of
        freedom (statsmodels reads robust fits with the normal distribution
        unless ``use_t=True``, and then clusters with ``G - 1``).
    alias_tol : float
        Relative tolerance in (0, 1) below which a column counts as a
        combination of earlier ones (see :meth:`duolm.core.SqrtStat.aliased`).
    diagnostics : bool
        For streamed data: make the second pass over the residuals that the
        diagnostics and robust covariances need (in memory they are at hand).
        A one-pass fit raises :class:`~duolm.errors.DataError` when asked for
        the residual diagnostics or a robust covariance, never NaN.
    batch_size, checkpoint, checkpoint_every, progress, encoding
        For streamed data only (see :func:`reduce`): rows per batch, a file
        to resume a killed run from, batches between checkpoints, a progress
        bar, and the text encoding of a CSV file (default UTF-8; a file that
        does not decode is a DataError saying what it looks like).
    tests : bool or dict, optional
        For streamed data: the second pass also accumulates what the standard
        tests (``het_breuschpagan()``, ``het_white()``, ``linear_reset()``,
        ``acorr_breusch_godfrey()``, ``acorr_ljungbox()``,
        ``durbin_watson_test(exact=False)``) need; see :func:`reduce`. In
        memory every test is at hand.
    weights : str or array_like of shape (n,), optional
        Weighted least squares, as statsmodels' ``WLS``: a column of the data
        (the only form for streamed and Dask data) or one weight per row of
        the data, in its order. A weight is the row's relative precision,
        ``var(y_i) = sigma^2 / w_i``: positive and finite (else a DataError
        naming the row); a missing weight makes its row missing. The fit is
        that of the rows scaled by ``sqrt(w)``; ``resid`` and ``fittedvalues``
        are unweighted, ``wresid`` scaled, R² uses the weighted total sum of
        squares about the weighted mean, the log-likelihood adds
        ``0.5 sum log w``, and the diagnostics and robust covariances read the
        scaled rows (statsmodels' ``wresid`` and ``wexog``).

    Returns
    -------
    OLSResults

    Examples
    --------
    >>> import duolm
    >>> data = {"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [1.1, 1.9, 3.2, 3.9, 5.1]}
    >>> fit = duolm.ols("y ~ x", data)
    >>> fit.params.round(4).tolist()
    [0.04, 1.0]
    >>> round(fit.rsquared, 4)
    0.9929
    """
    streamed = _streamed(formula, data)
    cov_type = check_cov_type(cov_type, residuals=diagnostics or not streamed)
    kwds = check_cov_kwds(cov_type, cov_kwds)
    hac: dict[str, Any] | None = None
    groups: tuple[str, ...] | None = None
    if kwds is not None and streamed:  # the second pass accumulates the meat asked for
        if cov_type == "HAC":
            hac = {"maxlags": kwds["maxlags"], "kernel": kwds["kernel"]}
        else:
            groups = check_group_columns(kwds["groups"])
    elif kwds is not None and cov_type == "cluster" and data is not None:
        kwds["groups"] = _group_columns_of(data, kwds["groups"])
    reduction = reduce(
        formula,
        data,
        X=X,
        y=y,
        missing=missing,
        alias_tol=alias_tol,
        diagnostics=diagnostics,
        robust=cov_type != "nonrobust",
        batch_size=batch_size,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        progress=progress,
        encoding=encoding,
        narrow=True,
        hac=hac,
        groups=groups,
        tests=tests if streamed else None,
        weights=weights,
    )
    return reduction.ols(cov_type, kwds)


def _score_spec(hac: object, groups: object) -> core.ScoreSpec | None:
    """What the second pass feeds the score rows to (``reduce``'s ``hac`` and ``groups``)."""
    lags = check_hac_request(hac)
    names = check_group_columns(groups)
    if lags is None and not names:
        return None
    if lags is None:
        return core.ScoreSpec(groups=names)
    return core.ScoreSpec(hac=True, maxlags=lags["maxlags"], kernel=lags["kernel"], groups=names)


def _group_columns_of(data: object, groups: object) -> object:
    """``groups`` with column names replaced by the data's columns (labels pass through)."""
    names = [groups] if isinstance(groups, str) else groups
    if not (
        isinstance(names, (list, tuple))
        and 1 <= len(names) <= 2
        and all(isinstance(g, str) for g in names)
    ):
        return groups
    frame = as_frame(data)
    for name in names:
        if name not in frame.columns:
            raise DataError(f"cov_kwds 'groups': column {name!r} is not in the data")
    return frame[list(names)]


def bayes(
    formula: str | None = None,
    data: object = None,
    *,
    X: object = None,
    y: object = None,
    prior: NIG | Literal["empirical"] | None = None,
    missing: Missing = "drop",
    batch_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
    weights: object = None,
) -> BayesResults:
    """Fit a linear model by the exact conjugate Bayesian update.

    Parameters
    ----------
    formula : str, optional
        A formulaic formula, as for :func:`duolm.ols`.
    data : DataFrame, mapping, path, iterable of DataFrames or Dask DataFrame
        The data the formula refers to; files, iterables of frames and Dask
        DataFrames are streamed as for :func:`duolm.ols`.
    X : array_like of shape (n, k), optional
        Design matrix, used as given.
    y : array_like of shape (n,), optional
        Response.
    prior : NIG, optional
        Prior with one coefficient per column of the design. Default
        ``NIG.vague(k)``: ``m = 0``, ``V = 10^6 I``, ``a = b = 0.001``, weak
        for data of order one (see :meth:`NIG.vague`). ``NIG.reference(k)``
        reproduces the OLS intervals. A posterior may serve as the prior of
        new data. ``"empirical"``: the intercept flat, the standardised slopes
        ``N(0, tau^2 sigma^2)``, ``p(sigma^2) ∝ 1/sigma^2``, with tau^2 chosen
        to maximise the evidence (:func:`duolm.bayesian.empirical_prior`); the
        chosen tau^2 is the result's ``tau2`` (shown by the summary).
    missing : {"drop", "raise"}
        As for :func:`duolm.ols`.
    batch_size, checkpoint, checkpoint_every, progress, encoding
        For streamed data only, as for :func:`duolm.ols`.
    weights : str or array_like of shape (n,), optional
        Known relative precisions, ``y_i ~ N(x_i' beta, sigma^2 / w_i)``: a
        column of the data or one weight per row, as for :func:`duolm.ols`.
        The posterior is still the exact NIG (the update with the rows scaled
        by ``sqrt(w)``); the log evidence is that of the unscaled ``y``.

    Returns
    -------
    BayesResults

    Examples
    --------
    >>> data = {"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [1.1, 1.9, 3.2, 3.9, 5.1]}
    >>> fit = bayes("y ~ x", data, prior=NIG.reference(2))
    >>> fit.params.round(4).tolist()
    [0.04, 1.0]
    >>> fit.credible_interval().round(3).to_numpy().tolist()
    [[-0.477, 0.557], [0.844, 1.156]]
    """
    empirical = isinstance(prior, str) and prior == "empirical"
    if not empirical:
        check_prior_type(prior)
    reduction = reduce(
        formula,
        data,
        X=X,
        y=y,
        missing=missing,
        batch_size=batch_size,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        progress=progress,
        encoding=encoding,
        weights=weights,
    )
    if empirical:
        if reduction.spec.weights is not None:
            raise ValueError("prior='empirical' is for unweighted fits; give weighted fits a prior")
        const_col = reduction.pass1.const.position(np.ones(len(reduction.terms), dtype=bool))
        if const_col is None:
            raise DataError("prior='empirical' needs an intercept (it leaves the intercept flat)")
        chosen = empirical_prior(reduction.stat, const_col)
        return dataclasses.replace(reduction.bayes(chosen.prior), tau2=chosen.tau2)
    assert not isinstance(prior, str)
    return reduction.bayes(prior)


def read_frame(
    source: Path | bytes,
    label: str,
    *,
    nrows: int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """A data file (or the bytes of CSV text) in memory, checked as the streaming readers
    check it: each column named once, every CSV row with the header's fields, text that
    decodes (else a DataError naming ``label`` and what the bytes look like).

    Parameters
    ----------
    source : Path or bytes
        A CSV (compressed by its suffix, as pandas) or Parquet (``.parquet``,
        ``.pq``) path, or CSV bytes (stdin).
    label : str
        The name errors give the file.
    nrows : int, optional
        Read only the first rows.
    encoding : str, optional
        Of CSV text (default UTF-8).
    """
    from duolm._stream._sources import parquet_names, read_csv_frame

    encoding = _check_encoding(encoding)
    if isinstance(source, Path) and source.name.lower().endswith((".parquet", ".pq")):
        parquet_names(source)
        if nrows is None:
            return pd.read_parquet(source)
        import pyarrow.parquet as pq

        batch = next(pq.ParquetFile(source).iter_batches(batch_size=nrows), None)
        head: pd.DataFrame = (
            batch.to_pandas() if batch is not None else pd.read_parquet(source).head(0)
        )
        return head
    return read_csv_frame(source, label, nrows=nrows, encoding=encoding)
