"""The entry functions: check the arguments once, route the data by kind, read the result.

Every public fit starts here (DESIGN.md, "Layers"). Arguments are checked at
the door (:mod:`duolm._checks`, :func:`duolm.bayesian.checked_prior`) and
carried down as checked values; the data go by kind:

- in memory (a DataFrame, a mapping of columns, arrays ``X=``/``y=``): the
  design (:mod:`duolm.design`) and a :class:`~duolm.reduction.Reduction`
  holding its rows;
- a CSV or Parquet path, or an iterable of frames: the streaming wing
  (:mod:`duolm._stream`), batch by batch;
- a Dask DataFrame: :mod:`duolm.dask`, partition by partition.

Each returns a :class:`~duolm.reduction.Reduction`, and the readings are built
from it by the result classes: :func:`ols` and :func:`bayes` are
``reduce(...).ols()`` and ``reduce(...).bayes()``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from duolm import _stream, core
from duolm._checks import (
    DEPENDENT_COV_TYPES,
    CovType,
    Missing,
    check_alias_tol,
    check_alpha,
    check_cov_kwds,
    check_cov_type,
    check_forget,
    check_fraction,
    check_missing,
    check_nonnegative_int,
    check_positive_int,
    check_probability,
)
from duolm.bayesian import (
    NIG,
    BayesResults,
    BMAResults,
    PriorFactory,
    average,
    check_prior_type,
    checked_prior,
    compare_fits,
    empirical_prior,
    posterior_path,
)
from duolm.bayesian._averaging import MAX_ENUMERATE, ModelPrior, Prior
from duolm.bayesian._changepoints import KEEP, Changepoints
from duolm.bayesian._comparison import Fit
from duolm.design import as_frame, make_design
from duolm.errors import DataError, PriorError
from duolm.frequentist import GLSARResults, OLSResults, check_rho, fit_glsar
from duolm.reduction import Reduction

__all__ = [
    "bayes",
    "bma",
    "changepoints",
    "compare",
    "glsar",
    "iter_trajectory",
    "ols",
    "reduce",
    "trajectory",
    "write_trajectory",
]


@dataclass(frozen=True)
class StreamOptions:
    """How to read data that are not in memory (refused for data in memory).

    Attributes
    ----------
    batch_size : int or None
        Rows per batch (None: the streaming wing's default).
    checkpoint : path or None
        File where the reduction state is saved atomically, to resume a
        killed run with the same arguments (files only).
    checkpoint_every : int or None
        Batches between checkpoints (None: the streaming wing's default).
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

    @classmethod
    def checked(
        cls,
        batch_size: object,
        checkpoint: str | os.PathLike[str] | None,
        checkpoint_every: object,
        progress: bool,
        encoding: str | None = None,
    ) -> StreamOptions:
        return cls(
            None if batch_size is None else check_positive_int(batch_size, "batch_size"),
            checkpoint,
            None
            if checkpoint_every is None
            else check_positive_int(checkpoint_every, "checkpoint_every"),
            bool(progress),
            _check_encoding(encoding),
        )

    def refuse(self, why: str) -> None:
        """Refuse the options that were given, saying ``why`` they do not apply."""
        if self != StreamOptions():
            raise TypeError(
                f"batch_size, checkpoint, checkpoint_every, progress and encoding {why}"
            )


def _check_encoding(encoding: object) -> str | None:
    """A text encoding Python knows, or None (UTF-8)."""
    if encoding is None:
        return None
    import codecs

    if not isinstance(encoding, str):
        raise TypeError(f"encoding must be a string such as 'latin-1', got {encoding!r}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"encoding: unknown encoding {encoding!r}") from None
    return encoding


def _streamed(formula: object, data: object) -> bool:
    return isinstance(formula, str) and data is not None and _stream.is_source(data)


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
    if _streamed(formula, data):
        assert isinstance(formula, str)
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
        )
        _warn_dropped(streamed.n_dropped)
        return streamed
    opts.refuse(
        "apply to streamed data (a CSV or Parquet path, an iterable of DataFrames, "
        "a Dask DataFrame)"
    )
    design = make_design(formula, data, X, y, missing, narrow=narrow)
    reduction = Reduction.of_design(design, alias_tol)
    _warn_dropped(reduction.n_dropped)
    return reduction


def _warn_dropped(n: int) -> None:
    """Say once per fit how many rows ``missing="drop"`` left out (the summary says it too)."""
    if n:
        import warnings

        from duolm.errors import MissingValuesWarning

        warnings.warn(
            f"{n} row(s) with missing values dropped (missing='drop'); pass missing='raise' "
            "to refuse them instead",
            MissingValuesWarning,
            stacklevel=3,
        )


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
        in-memory fit's to rounding, without the per-row values.
    X : array_like of shape (n, k), optional
        Design matrix, used as given (no intercept is added).
    y : array_like of shape (n,), optional
        Response.
    missing : {"drop", "raise"}
        Rows with missing values in a used column are dropped (and counted in
        the summary) or raise an error naming the column and rows.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "HAC", "cluster"}
        Covariance of the estimates; robust types change ``bse``, t, p, the
        intervals and the F test. "HAC" (Newey-West) and "cluster" are
        statsmodels' and are computed for data in memory.
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
    if cov_type in DEPENDENT_COV_TYPES and streamed:
        raise ValueError(
            f"cov_type={cov_type!r} is computed for data in memory; streamed and Dask fits "
            "offer HC0-HC3 (their second pass does not accumulate lag products or group sums)"
        )
    if kwds is not None and cov_type == "cluster" and data is not None:
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
    )
    return reduction.ols(cov_type, kwds)


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


def glsar(
    formula: str | None = None,
    data: object = None,
    rho: int | object = 1,
    *,
    X: object = None,
    y: object = None,
    maxiter: int = 100,
    rtol: float = 1e-10,
    missing: Missing = "drop",
    alias_tol: float = core.ALIAS_TOL,
) -> GLSARResults:
    """Feasible GLS with AR(p) errors, iterated to convergence (statsmodels' GLSAR).

    The remedy for autocorrelated errors that the Durbin-Watson note names:
    ``duolm.glsar("y ~ x", data, rho=1)``.

    Parameters
    ----------
    formula, data, X, y, missing, alias_tol
        As :func:`ols`, for data in memory with the rows in time order.
    rho : int or array_like
        An int p: AR(p) errors, starting from rho = 0 (statsmodels' ``rho=p``);
        an array: the starting AR coefficients.
    maxiter : int
        Most fits (statsmodels' ``iterative_fit(maxiter=...)``, whose default is 3).
    rtol : float
        Stop when ``max |b_new - b_old| / |b_old| < rtol``.

    Returns
    -------
    GLSARResults
        ``params``, ``bse`` (of the whitened regression), ``rho``,
        ``iterations``, ``converged``, ``resid`` and the ``whitened`` fit.

    Examples
    --------
    >>> import duolm
    >>> data = duolm.datasets.longley()
    >>> fit = duolm.glsar("employed ~ gnp + population", data, rho=1)
    >>> fit.converged, fit.rho.shape
    (True, (1,))
    """
    r = check_rho(rho)
    maxiter = check_positive_int(maxiter, "maxiter")
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not 0 < rtol < 1:
        raise ValueError(f"rtol must be a number in (0, 1), got {rtol!r}")
    missing = check_missing(missing)
    alias_tol = check_alias_tol(alias_tol)
    if _streamed(formula, data):
        raise ValueError(
            "glsar fits data in memory: its iterations refit every row (read the file into "
            "a DataFrame first)"
        )
    design = make_design(formula, data, X, y, missing)
    return fit_glsar(design, r, maxiter, float(rtol), alias_tol)


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
        prior's label, shown by the summary, gives tau^2.
    missing : {"drop", "raise"}
        As for :func:`duolm.ols`.
    batch_size, checkpoint, checkpoint_every, progress, encoding
        For streamed data only, as for :func:`duolm.ols`.

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
    )
    if empirical:
        const_col = reduction.pass1.const.position(np.ones(len(reduction.terms), dtype=bool))
        if const_col is None:
            raise DataError("prior='empirical' needs an intercept (it leaves the intercept flat)")
        return reduction.bayes(empirical_prior(reduction.stat, const_col).prior)
    assert not isinstance(prior, str)
    return reduction.bayes(prior)


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

    Speed: with numba, about 15 million rows per second for the compiled
    kernel and about 7 million for the whole call (the design checks shared
    with :func:`duolm.ols` take about 40% of it) with three regressors on two
    cores; the first call for each number of columns compiles the kernel
    (about 3 s, once: numba caches it on disk). Without numba about 75,000
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
) -> Changepoints:
    """Find where the regression changes: Bayesian online changepoint detection.

    Adams & MacKay (2007) with the regression of each segment drawn from the
    prior NIG (the recursion: :mod:`duolm.bayesian._changepoints`).

    Parameters
    ----------
    formula : str, optional
        A formula such as ``"height ~ time + I(time**2)"``, with ``data``.
    data : DataFrame or mapping
        The rows, in time order.
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
    if _streamed(formula, data):
        raise TypeError(
            "changepoints needs the rows in memory: a DataFrame, a mapping of columns or arrays"
        )
    design = make_design(formula, data, X, y, check_missing(missing))
    prior = checked_prior(prior, design.spec)
    if not prior.is_proper:
        raise PriorError(
            f"changepoints needs a proper prior (each segment's evidence), got {prior.label} "
            f"with a = {prior.a:g}, b = {prior.b:g}"
        )
    return Changepoints.from_design(design, prior, hazard, tol, lag, keep)


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
    designs = _stream.designs(
        formula,
        source,
        missing=missing,
        batch_size=opts.batch_size,
        progress=opts.progress,
        encoding=opts.encoding,
    )
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
    import pyarrow as pa
    import pyarrow.parquet as pq

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


def compare(
    *fits: Fit | Reduction | Mapping[str, Fit | Reduction], prior: PriorFactory | None = None
) -> pd.DataFrame:
    """Compare models fitted to the same observations.

    Parameters
    ----------
    *fits : OLSResults, BayesResults, (OLSResults, BayesResults) or Reduction
        Two or more models, or one mapping of name -> model (a Reduction is
        read as its least-squares fit). Without a
        mapping, models are named by their formula (else ``model i``).
    prior : callable, optional
        ``prior(ols_fit) -> NIG`` for the evidence of least-squares fits (one
        coefficient per column); default :func:`duolm.bayesian.unit_information_prior`.

    Returns
    -------
    DataFrame
        One row per model, columns :data:`duolm.bayesian.COMPARE_COLUMNS`: ``nobs``, ``k`` (number
        of estimable coefficients), ``rsquared``, ``rsquared_adj``, ``aic``,
        ``bic`` (least squares; NaN when there are no residual degrees of
        freedom), ``log_evidence`` (``log p(y | model)``), ``bayes_factor``
        (``p(y | model) / p(y | best model)``, 1 for the best),
        ``posterior_prob`` (equal prior model probabilities) and ``prior``.

    Raises
    ------
    DataError
        The models were not fitted to the same response values.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> data = pd.DataFrame({"x": np.arange(20.0), "z": rng.normal(size=20)})
    >>> data["y"] = 1 + 0.5 * data["x"] + rng.normal(size=20)
    >>> table = compare(ols("y ~ x", data), ols("y ~ x + z", data))
    >>> table["posterior_prob"].round(3).tolist()
    [0.821, 0.179]
    """

    def read(fit: object) -> object:
        return fit.ols() if isinstance(fit, Reduction) else fit

    if len(fits) == 1 and isinstance(fits[0], Mapping):
        named = {name: read(fit) for name, fit in fits[0].items()}
        return compare_fits(named, prior=prior)  # type: ignore[arg-type]
    return compare_fits(*[read(fit) for fit in fits], prior=prior)  # type: ignore[arg-type]


def bma(
    formula: str,
    data: object,
    prior: Prior = "g-prior",
    g: float | None = None,
    model_prior: ModelPrior = "uniform",
    include: Sequence[str] = (),
    max_enumerate: int = MAX_ENUMERATE,
    *,
    iterations: int | None = None,
    seed: int | None = None,
    missing: Missing = "drop",
    batch_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    progress: bool = False,
) -> BMAResults:
    """Bayesian model averaging over every subset of a formula's terms.

    One pass over the data (:func:`reduce`) gives the square-root statistic
    of the full design; the ``R^2`` of every subset, its evidence and the
    averaged posterior are read off it (Liang, Paulo, Molina, Clyde & Berger
    2008, JASA), never touching the data again.

    Parameters
    ----------
    formula : str
        ``"y ~ terms"``; the intercept is in every model (and required).
    data : DataFrame, mapping, path, iterable of DataFrames or Dask DataFrame
        The data, of any kind :func:`ols` takes (files and iterables are
        streamed, Dask reduced partition by partition).
    prior : {"g-prior", "hyper-g", "hyper-g/n", "zellner-siow", "eb-local"}
        Prior on the slopes of the centred design: Zellner's g-prior with
        fixed ``g``; its mixtures over g (hyper-g and hyper-g/n with a = 3,
        Zellner-Siow's g ~ InvGamma(1/2, n/2)); or g set per model to its local
        empirical Bayes estimate ``max(F - 1, 0)``. The intercept is flat and
        ``p(sigma^2) ∝ 1/sigma^2``.
    g : float, optional
        The fixed g of ``"g-prior"`` (default: the number of observations).
    model_prior : {"uniform", "beta-binomial"}
        Equal probabilities for all models, or a Beta(1, 1) prior on the
        inclusion probability (uniform on the model size).
    include : sequence of str
        Terms in every model.
    max_enumerate : int
        Enumerate all ``2**q`` models of the ``q`` free terms when
        ``q <= max_enumerate``; otherwise visit them by MC3 (add/drop and swap
        moves with the same exact evidences), and say so in every output.
    iterations, seed : int, optional
        MC3's length (default 100,000) and the seed of its random numbers.
    missing, batch_size, checkpoint, checkpoint_every, progress
        As for :func:`ols`.

    Returns
    -------
    BMAResults

    Examples
    --------
    >>> import duolm
    >>> data = {
    ...     "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    ...     "z": [0.3, -0.1, 0.4, 0.0, -0.2, 0.1],
    ...     "y": [1.1, 1.9, 3.2, 3.9, 5.1, 5.8],
    ... }
    >>> res = duolm.bma("y ~ x + z", data)
    >>> res.models["terms"].iloc[0]
    ('Intercept', 'x')
    >>> round(float(res.inclusion_probabilities["x"]), 4)
    0.9761
    """
    if not isinstance(formula, str):
        raise TypeError(f"the first argument is a formula string, got {type(formula).__name__}")
    reduction = reduce(
        formula,
        data,
        missing=missing,
        batch_size=batch_size,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        progress=progress,
    )
    terms = reduction.terms
    const_col = reduction.pass1.const.position(np.ones(len(terms), dtype=bool))
    if const_col is None:
        raise DataError(
            f"bma needs an intercept (the priors leave it flat); formula {formula!r} has none"
        )
    if isinstance(include, str):
        include = (include,)
    cols = []
    for name in include:
        if name not in terms:
            raise ValueError(f"include names {name!r}, which is not a term of {list(terms)}")
        cols.append(terms.index(name))
    return average(
        reduction.stat,
        terms,
        const_col,
        cols,
        prior=prior,
        g=g,
        model_prior=model_prior,
        max_enumerate=max_enumerate,
        iterations=iterations,
        seed=seed,
        spec=reduction.spec,
    )


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
