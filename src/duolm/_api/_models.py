"""Several models: compared (:func:`compare`), averaged (:func:`bma`), and least squares
with AR errors (:func:`glsar`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from duolm import core
from duolm._api._door import _streamed
from duolm._api._fits import reduce
from duolm._checks import (
    Missing,
    check_alias_tol,
    check_missing,
    check_positive_int,
)
from duolm.bayesian import (
    BMAResults,
    PriorFactory,
    average,
    compare_fits,
)
from duolm.bayesian._averaging import MAX_ENUMERATE, ModelPrior, Prior
from duolm.bayesian._comparison import Fit
from duolm.design import make_design
from duolm.errors import DataError
from duolm.frequentist import GLSARResults, check_rho, fit_glsar
from duolm.reduction import Reduction


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
    >>> from duolm import ols
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
