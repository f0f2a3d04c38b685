"""scikit-learn estimators on duolm's two readings: OLSRegressor and BayesRegressor.

Adapters only (DESIGN.md, "Layers"): they validate input the scikit-learn way
(``validate_data``: NaN, inf, sparse input, wrong widths and feature names are
refused with scikit-learn's standard messages), put the intercept column in
front when ``fit_intercept`` is true, and hand the rows to :func:`duolm.ols`,
:func:`duolm.bayes` or :meth:`duolm.NIG.update`. Every number comes from
the duolm result each estimator keeps as ``result_``; nothing here computes
statistics of its own.

``predict(X)`` returns the mean as an ndarray, as scikit-learn expects; the
intervals come from a separate method, ``predict_interval(X, alpha)``, which
returns duolm's prediction frame (one return type per function, STYLE.md).

Aliased (collinear) features do not stop a fit. Columns are examined left to
right, the intercept first (:meth:`duolm.core.SqrtStat.aliased`); a feature
that is a linear combination of the ones before it is not estimable. OLS
reports it as NaN in ``result_.params`` and as 0 in ``coef_``, with a
:class:`~duolm.errors.RankWarning` naming it, so ``predict`` is the fit on the
estimable columns. (scikit-learn's ``LinearRegression`` returns the minimum-norm
solution instead: the same predictions, other coefficients.) A proper prior
(the default of :class:`BayesRegressor`) makes every coefficient identified,
so the Bayesian posterior needs no such rule.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from duolm import core
from duolm._api import bayes, ols
from duolm._checks import CovType
from duolm.bayesian import NIG, BayesResults, checked_prior
from duolm.design import from_arrays
from duolm.errors import PriorError, RankWarning
from duolm.frequentist import OLSResults

__all__ = ["BayesRegressor", "OLSRegressor"]

FloatArray = NDArray[np.float64]

#: Name of the intercept column in ``result_`` (formulaic's, as in formula fits).
INTERCEPT = "Intercept"


class _LinearAdapter(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """What both regressors share: validation, the intercept column and the intervals."""

    fit_intercept: bool
    coef_: FloatArray
    intercept_: float
    n_features_in_: int
    result_: OLSResults | BayesResults

    # -- input ----------------------------------------------------------------------
    def _validate_x(self, X: object) -> FloatArray:
        """``X`` for prediction: float64, finite, the width and names seen in fit."""
        Xv = validate_data(self, X, reset=False, dtype=np.float64)
        return np.asarray(Xv, dtype=np.float64)

    def _validate_xy(
        self, X: object, y: object, *, reset: bool, min_samples: int = 1
    ) -> tuple[FloatArray, FloatArray]:
        """``X`` and ``y`` for fitting; ``reset`` records the features seen."""
        Xv, yv = validate_data(
            self,
            X,
            y,
            reset=reset,
            dtype=np.float64,
            y_numeric=True,
            ensure_min_samples=min_samples,
        )
        return np.asarray(Xv, dtype=np.float64), np.asarray(yv, dtype=np.float64)

    def _terms(self) -> list[str]:
        """duolm's column names: the intercept, then the features (``x0, x1, ...`` unnamed)."""
        names = getattr(self, "feature_names_in_", None)
        features = (
            [str(n) for n in names]
            if names is not None
            else [f"x{j}" for j in range(self.n_features_in_)]
        )
        if not self.fit_intercept:
            return features
        intercept = INTERCEPT
        while intercept in features:
            intercept = "_" + intercept
        return [intercept, *features]

    def _design(self, X: FloatArray) -> FloatArray:
        """The design matrix duolm fits: ``[1 X]`` with an intercept, else ``X``."""
        if not self.fit_intercept:
            return X
        return np.column_stack([np.ones(X.shape[0]), X])

    def _design_frame(self, X: FloatArray) -> pd.DataFrame:
        return pd.DataFrame(self._design(X), columns=self._terms())

    def _set_coef(self, beta: FloatArray) -> None:
        """Split duolm's coefficient vector into ``intercept_`` and ``coef_``."""
        if self.fit_intercept:
            self.intercept_ = float(beta[0])
            self.coef_ = np.array(beta[1:], dtype=np.float64)
        else:
            self.intercept_ = 0.0
            self.coef_ = np.array(beta, dtype=np.float64)

    # -- output ---------------------------------------------------------------------
    def _check_predictable(self) -> None:
        """Raise when the fitted state has no mean to predict with (hook)."""

    def predict(self, X: object) -> FloatArray:
        """Predicted mean ``X coef_ + intercept_``.

        Parameters
        ----------
        X : array_like of shape (n, n_features)

        Returns
        -------
        ndarray of shape (n,)
        """
        check_is_fitted(self)
        self._check_predictable()
        Xv = self._validate_x(X)
        out: FloatArray = Xv @ self.coef_ + self.intercept_
        return out

    def predict_interval(self, X: object, alpha: float = 0.05) -> pd.DataFrame:
        """The mean with its band and the interval for a new observation.

        ``result_.predict`` on the design of ``X`` (intercept column included).

        Parameters
        ----------
        X : array_like of shape (n, n_features)
        alpha : float
            Significance level: intervals have coverage (OLS) or posterior
            probability (Bayes) ``1 - alpha``.

        Returns
        -------
        DataFrame
            Columns ``mean, mean_se, mean_ci_lower, mean_ci_upper,
            obs_ci_lower, obs_ci_upper``; indexed like ``X`` when it is a
            DataFrame, else ``0 .. n-1``.
        """
        check_is_fitted(self)
        self._check_predictable()
        Xv = self._validate_x(X)
        out = self.result_.predict(self._design(Xv), alpha=alpha)
        if isinstance(X, pd.DataFrame):
            out.index = X.index
        return out


class OLSRegressor(_LinearAdapter):
    """Least squares by :func:`duolm.ols`, as a scikit-learn regressor.

    Parameters
    ----------
    fit_intercept : bool
        Put a column of ones in front of ``X``.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
        Covariance of the estimates, for ``result_`` and :meth:`predict_interval`.
    alias_tol : float
        Relative tolerance below which a column counts as a combination of the
        columns before it (:meth:`duolm.core.SqrtStat.aliased`).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Estimated slopes; 0 for aliased features (NaN in ``result_.params``).
    intercept_ : float
        Estimated intercept; 0.0 when ``fit_intercept`` is false.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features,)
        Present when ``X`` was a DataFrame with string column names.
    result_ : OLSResults
        The full duolm fit: ``summary()``, ``conf_int()``, diagnostics...
        Its terms are ``"Intercept"`` and the feature names.

    Examples
    --------
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    >>> reg = OLSRegressor().fit(X, [1.1, 1.9, 3.2, 3.9, 5.1])
    >>> round(reg.intercept_, 4), reg.coef_.round(4).tolist()
    (0.04, [1.0])
    >>> reg.predict_interval([[6.0]]).round(3).columns.tolist()[:3]
    ['mean', 'mean_se', 'mean_ci_lower']
    """

    result_: OLSResults

    def __init__(
        self,
        fit_intercept: bool = True,
        cov_type: CovType = "nonrobust",
        alias_tol: float = core.ALIAS_TOL,
    ) -> None:
        self.fit_intercept = fit_intercept
        self.cov_type = cov_type
        self.alias_tol = alias_tol

    def fit(self, X: object, y: object) -> OLSRegressor:
        """Fit by least squares.

        Parameters
        ----------
        X : array_like of shape (n, n_features)
        y : array_like of shape (n,)
            At least two rows (one residual degree of freedom is the minimum;
            fewer rows than coefficients raise duolm's ``DataError``).

        Returns
        -------
        self
        """
        Xv, yv = self._validate_xy(X, y, reset=True, min_samples=2)
        with warnings.catch_warnings():
            # Reworded below: here aliased coefficients are 0 in coef_, not NaN.
            warnings.simplefilter("ignore", RankWarning)
            result = ols(
                X=self._design_frame(Xv), y=yv, cov_type=self.cov_type, alias_tol=self.alias_tol
            )
        if result.aliased:
            warnings.warn(
                f"aliased feature(s) {list(result.aliased)}: linear combinations of the "
                "intercept and the features before them; not estimable, so 0 in coef_ "
                "(NaN in result_.params)",
                RankWarning,
                stacklevel=2,
            )
        self.result_ = result
        self._set_coef(np.where(result.kept, result.params.to_numpy(), 0.0))
        return self


class BayesRegressor(_LinearAdapter):
    """The conjugate Normal-inverse-gamma posterior of :func:`duolm.bayes`, as a regressor.

    Parameters
    ----------
    fit_intercept : bool
        Put a column of ones in front of ``X``.
    prior : NIG, optional
        Prior over the coefficients of the design: ``n_features + 1`` of them
        with the intercept first when ``fit_intercept``, else ``n_features``.
        None is duolm's vague default, ``NIG.vague(k)``; ``NIG.reference(k)``
        reproduces :class:`OLSRegressor`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Posterior mean of the slopes (NaN while the posterior of beta is
        improper, see :meth:`partial_fit`).
    intercept_ : float
        Posterior mean of the intercept; 0.0 when ``fit_intercept`` is false.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features,)
        Present when ``X`` was a DataFrame with string column names.
    prior_ : NIG
        The prior used (the vague default resolved).
    posterior_ : NIG
        The posterior after every row seen.
    result_ : BayesResults
        The full duolm fit: ``summary()``, ``credible_interval()``...

    Examples
    --------
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    >>> y = [1.1, 1.9, 3.2, 3.9, 5.1]
    >>> reg = BayesRegressor(prior=NIG.reference(2)).fit(X, y)
    >>> round(reg.intercept_, 4), reg.coef_.round(4).tolist()
    (0.04, [1.0])
    >>> seq = BayesRegressor(prior=NIG.reference(2)).partial_fit(X[:2], y[:2])
    >>> bool(np.allclose(seq.partial_fit(X[2:], y[2:]).coef_, reg.coef_, rtol=1e-12))
    True
    """

    result_: BayesResults
    prior_: NIG
    posterior_: NIG

    def __init__(self, fit_intercept: bool = True, prior: NIG | None = None) -> None:
        self.fit_intercept = fit_intercept
        self.prior = prior

    def fit(self, X: object, y: object) -> BayesRegressor:
        """Compute the posterior of ``prior`` after all rows (``duolm.bayes``).

        Parameters
        ----------
        X : array_like of shape (n, n_features)
        y : array_like of shape (n,)

        Returns
        -------
        self

        Raises
        ------
        PriorError
            The prior's dimension is not that of the design.
        DataError
            The posterior is improper (the reference prior needs more rows
            than coefficients, of full column rank).
        """
        Xv, yv = self._validate_xy(X, y, reset=True)
        result = bayes(X=self._design_frame(Xv), y=yv, prior=self.prior)
        self._set_state(result)
        return self

    def partial_fit(self, X: object, y: object) -> BayesRegressor:
        """Update the posterior with a chunk of rows (``NIG.update``).

        The update is exact: ``partial_fit`` over chunks gives the posterior
        of ``fit`` on all rows, to rounding. The first call on an unfitted
        estimator starts from ``prior``; later calls continue from
        ``posterior_``, also after ``fit`` (which always starts afresh).

        Under the reference prior the posterior of beta is improper until the
        rows seen have full column rank: meanwhile ``coef_`` and
        ``intercept_`` are NaN and ``predict`` raises ``PriorError``.

        Parameters
        ----------
        X : array_like of shape (n, n_features)
        y : array_like of shape (n,)

        Returns
        -------
        self
        """
        first = not hasattr(self, "posterior_")
        Xv, yv = self._validate_xy(X, y, reset=first)
        if first:
            design = from_arrays(self._design_frame(Xv), yv)
            prior = checked_prior(self.prior, design.spec)  # the one prior check
            posterior = prior.update(design.X, design.y).named(design.spec.terms)
            result = BayesResults(spec=design.spec, prior=prior, posterior=posterior)
        else:
            posterior = self.posterior_.update(self._design(Xv), yv)
            result = dataclasses.replace(self.result_, posterior=posterior, design=None)
        self._set_state(result)
        return self

    def _set_state(self, result: BayesResults) -> None:
        post = result.posterior
        self.result_ = result
        self.prior_ = result.prior
        self.posterior_ = post
        self._set_coef(post.m if post.beta_proper else np.full(post.k, np.nan))

    def _check_predictable(self) -> None:
        if not self.posterior_.beta_proper:
            raise PriorError(
                "the posterior mean of beta does not exist yet: V^-1 is singular (the "
                f"reference prior needs rows of full rank in all {self.posterior_.k} columns); "
                "partial_fit more rows"
            )
