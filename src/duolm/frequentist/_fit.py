"""The frequentist reading: least squares with full inference and diagnostics.

Names follow statsmodels so results compare one to one. The lecture's names
map to them as follows (DESIGN.md, "The lecture, corrected"):

============  ====================  ==========================================
lecture       duolm                 meaning
============  ====================  ==========================================
SSE           ``ssr``               residual sum of squares ``||y - X b||^2``
SSR           ``ess``               explained sum of squares ``||yhat - ybar||^2``
SST           ``centered_tss``      total sum of squares ``||y - ybar||^2``
                                    (``uncentered_tss`` without an intercept)
s^2           ``scale``             ``SSE / (n - k)``, k columns of X (the
                                    lecture's ``T - p + 1`` is a slip)
============  ====================  ==========================================
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from duolm import core
from duolm._checks import (
    DEPENDENT_COV_TYPES,
    CovType,
    check_alpha,
    check_cov_kwds,
    check_cov_type,
    check_residual_rows,
)
from duolm.core._sweep import Squares
from duolm.design import Design, DesignSpec, constant_column, new_weights
from duolm.errors import CovarianceWarning, DataError, PerfectFitWarning, RankWarning
from duolm.frequentist._diagnostics import Diagnostics
from duolm.frequentist._hypotheses import parse_hypothesis
from duolm.frequentist._robust import dependent_cov, resolve_cov_kwds
from duolm.frequentist._testsums import TestSums

__all__ = ["FTestResult", "FittedRows", "OLSFit", "solve_design"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: R's summary.lm calls a fit "essentially perfect" when the residual variance is below
#: this fraction of the fitted values' mean square: the residuals are rounding errors.
PERFECT_FIT = core.PERFECT_FIT

#: In a perfect fit, a coefficient whose share of the fitted values, ``|b_j| ||X_j||``, is
#: below this fraction of ``||X b||`` is rounding noise of a zero (as is an ``ess`` below
#: its square times ``||X b||^2``): its t statistic is 0/0, not a number.
NOISE = 1e-12


@dataclass(frozen=True)
class FTestResult:
    """A Wald F test of ``L beta = r``."""

    fvalue: float
    pvalue: float
    df_num: int
    df_denom: int

    def __str__(self) -> str:
        return (
            f"F test: F = {self.fvalue:.6g}, p = {self.pvalue:.4g}, "
            f"df = ({self.df_num}, {self.df_denom})"
        )


@dataclass(frozen=True, eq=False)
class FittedRows:
    """The fitted rows of an in-memory fit, kept for the per-row diagnostics.

    Attributes
    ----------
    matrix : ndarray of shape (n, k) or Columns
        The design matrix as the design holds it, aliased columns included
        (:attr:`X` builds it from a frame's columns on first read).
    y : ndarray of shape (n,)
    resid : ndarray of shape (n,)
        Refined residuals ``y - X b``.
    index : pandas.Index
        Labels of the rows.
    weights : ndarray of shape (n,) or None
        The weights of a weighted fit; then ``X``, ``y`` and ``resid`` are
        those of the rows scaled by ``sqrt(w)`` (statsmodels' ``wexog``,
        ``wendog``, ``wresid``), which every diagnostic reads.
    squares : Squares or None
        ``X'(u - ubar)`` and ``sum (u - ubar)^2`` of the squared residuals, when the
        fit's residual sweep took them (Koenker's Breusch-Pagan statistic without
        another pass over X; :func:`duolm.core._sweep.residual_stats`).
    """

    matrix: core.DesignMatrix
    y: FloatArray
    resid: FloatArray
    index: pd.Index
    weights: FloatArray | None = None
    squares: Squares | None = None

    @property
    def X(self) -> FloatArray:
        """The design matrix, shape (n, k), read-only."""
        return core.as_array(self.matrix)

    @property
    def root_weights(self) -> FloatArray:
        """``sqrt(w)`` (ones when unweighted)."""
        if self.weights is None:
            return np.ones(len(self.y))
        out: FloatArray = np.sqrt(self.weights)
        return out


@dataclass(frozen=True, eq=False)
class OLSFit:
    """The numbers of a least-squares fit; :class:`~duolm.OLSResults` adds its printed forms.

    See :class:`~duolm.OLSResults` for the attributes. The modules beside this
    one (the summary, the tests) read this class, so the public result can
    offer them as methods without an import cycle.
    """

    spec: DesignSpec
    stat: core.SqrtStat
    kept: BoolArray
    params_kept: FloatArray
    moments: core.ResidualMoments | None
    const_col: int | None
    n_dropped: int = 0
    cov_type: CovType = "nonrobust"
    method: str = "householder"
    scaled_condition_number: float = math.nan
    rows: FittedRows | None = None
    meats: Mapping[str, FloatArray] | None = None
    cov_kwds: Mapping[str, Any] | None = None
    score_meats: core.ScoreMeats | None = None
    test_sums: TestSums | None = None
    weight_sums: core.WeightSums | None = None

    @classmethod
    def from_fit(cls, design: Design, fit: core.LstsqFit, cov_type: CovType = "nonrobust") -> Self:
        """Build the result of an in-memory fit.

        For a weighted design (``design.weights``), ``fit`` is the fit of the
        rows scaled by ``sqrt(w)`` (:func:`duolm.core.scale_rows`): weighted
        least squares, as statsmodels' ``WLS``.

        Raises
        ------
        DataError
            No residual degree of freedom is left (rows <= estimable columns).
        """
        check_residual_rows(len(design.y), int(fit.kept.sum()))
        fit.stat.check_response_range()
        _warn_aliased(design.spec, fit.kept, stacklevel=5)
        out = cls(
            spec=design.spec,
            stat=fit.stat,
            kept=fit.kept,
            params_kept=fit.params,
            moments=fit.residual_moments(),
            const_col=design.const_col
            if fit.kept.all()
            else constant_column(design.X[:, fit.kept]),
            n_dropped=design.n_dropped,
            cov_type=cov_type,
            method=fit.method,
            scaled_condition_number=fit.scaled_cond,
            rows=_fitted_rows(design, fit.resid, fit.squares),
            weight_sums=None
            if design.weights is None
            else core.WeightSums.of(design.weights, design.y),
        )
        _warn_perfect(out, stacklevel=5)
        return out

    @classmethod
    def from_state(
        cls,
        spec: DesignSpec,
        stat: core.SqrtStat,
        *,
        kept: BoolArray,
        const_col: int | None,
        n_dropped: int,
        moments: core.ResidualMoments | None,
        meats: FloatArray | None,
        lev_one: bool,
        cov_type: CovType,
        label: str,
        score_meats: core.ScoreMeats | None = None,
        test_sums: TestSums | None = None,
        weights: core.WeightSums | None = None,
    ) -> Self:
        """Build the result of a fit that kept no rows (streamed, Dask, merged).

        Parameters
        ----------
        spec : DesignSpec
        stat : SqrtStat
            Square-root statistic of ``[X[:, kept] y]``.
        kept : ndarray of bool, shape (k,)
            False for aliased columns.
        const_col : int or None
            Position of the intercept among the kept columns.
        n_dropped : int
            Rows dropped for missing values.
        moments : ResidualMoments or None
            The residuals' moments of a second pass (None: one pass only).
        meats : ndarray of shape (3, rank, rank) or None
            The HC0, HC2 and HC3 meats of the second pass (None: not accumulated).
        lev_one : bool
            A row of leverage 1 was seen (HC2 and HC3 undefined).
        cov_type : CovType
        label : str
            What the data were (a file, "dask"), for the messages.
        score_meats : ScoreMeats, optional
            The HAC and cluster meats of the second pass, for
            ``with_cov_type("HAC" or "cluster", ...)`` (None: not accumulated).
        test_sums : TestSums, optional
            The standard tests' sums of the second pass (None: not accumulated).
        weights : WeightSums or None
            The sums of the weights of a weighted fit, whose ``stat`` is that
            of the rows scaled by ``sqrt(w)``; None when unweighted.

        Raises
        ------
        DataError
            No residual degree of freedom, a residual sum of squares beyond
            float64, or HC2/HC3 asked for with a row of leverage 1.
        """
        rank = int(kept.sum())
        check_residual_rows(round(stat.nobs), rank, label)
        stat.check_response_range(label)
        if not math.isfinite(stat.ssr):
            raise DataError(f"{label}: the residual sum of squares overflows float64: rescale y")
        _warn_aliased(spec, kept, stacklevel=4)
        by_kind: dict[str, FloatArray] | None = None
        if moments is not None:
            by_kind = {}  # empty: not accumulated (a nonrobust fit); _meat says how to get them
            if meats is not None:
                by_kind = {"HC0": meats[0]}
                if not lev_one:  # HC2/HC3 divide by 1 - h: undefined when a leverage is 1
                    by_kind.update(HC2=meats[1], HC3=meats[2])
                elif cov_type in ("HC2", "HC3"):
                    raise DataError(
                        f"{label}: {cov_type} is undefined: a row has leverage 1 (the fit "
                        "passes through it exactly); use HC0 or HC1"
                    )
        fit = cls(
            spec=spec,
            stat=stat,
            kept=kept,
            params_kept=stat.solve(),
            moments=moments,
            const_col=const_col,
            n_dropped=n_dropped,
            cov_type=cov_type,
            method="stream",
            scaled_condition_number=stat.condition_number(scaled=True),
            rows=None,
            meats=by_kind,
            score_meats=score_meats,
            test_sums=test_sums,
            weight_sums=weights,
        )
        _warn_perfect(fit, stacklevel=4)
        return fit

    def _rows(self, what: str) -> FittedRows:
        if self.rows is None:
            raise DataError(
                f"{what} is per row and this fit keeps no rows (it was streamed); "
                "compute it chunk by chunk with predict() on the data"
            )
        return self.rows

    # -- model bookkeeping ---------------------------------------------------------
    @property
    def terms(self) -> tuple[str, ...]:
        """Column names of the design, aliased ones included."""
        return self.spec.terms

    @cached_property
    def aliased(self) -> tuple[str, ...]:
        """Names of the aliased (non-estimable) columns."""
        return tuple(self.terms[i] for i in np.flatnonzero(~self.kept))

    @property
    def nobs(self) -> int:
        """Number of observations used."""
        return round(self.stat.nobs)

    @property
    def k_constant(self) -> int:
        """1 when the model has an (estimable) intercept, else 0."""
        return int(self.const_col is not None)

    @property
    def rank(self) -> int:
        """Number of estimable coefficients."""
        return int(self.kept.sum())

    @property
    def df_model(self) -> int:
        """Model degrees of freedom: rank minus the intercept."""
        return self.rank - self.k_constant

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom ``n - rank``."""
        return self.nobs - self.rank

    # -- estimates -----------------------------------------------------------------
    def _full(self, kept_values: FloatArray, name: str) -> pd.Series:
        full = np.full(len(self.terms), np.nan)
        full[self.kept] = kept_values
        return pd.Series(full, index=list(self.terms), name=name)

    @cached_property
    def params(self) -> pd.Series:
        """Estimated coefficients (NaN for aliased columns)."""
        return self._full(self.params_kept, "params")

    @cached_property
    def ssr(self) -> float:
        """Residual sum of squares (the lecture's SSE)."""
        return self.stat.ssr

    @property
    def weighted(self) -> bool:
        """A weighted least-squares fit (statsmodels' ``WLS``)."""
        return self.weight_sums is not None

    @cached_property
    def centered_tss(self) -> float:
        """Total sum of squares about the mean (the lecture's SST).

        Weighted: ``sum w (y - ybar_w)^2`` about the weighted mean, as statsmodels' WLS.
        """
        if self.weight_sums is not None:
            return self.weight_sums.y_m2
        return self.stat.y_m2

    @cached_property
    def uncentered_tss(self) -> float:
        """Sum of squares of y (weighted: ``sum w y^2``)."""
        return self.stat.uncentered_tss

    @cached_property
    def ess(self) -> float:
        """Explained sum of squares (the lecture's SSR).

        When the model explains less than half of the total, ``tss - ssr``
        would cancel; it is then read from R as the squared norm of ``Q^T y``
        beyond the intercept's direction (a sum of squares, no cancellation).
        Otherwise ``tss - ssr`` is the more accurate of the two.
        """
        if self.ssr <= 0.5 * self._tss:
            return self._tss - self.ssr
        c = self.const_col
        if c is None:
            return float(self.stat.rxy @ self.stat.rxy)
        k = self.rank
        order = np.array([c, *[j for j in range(k) if j != c]])
        rxy = self.stat.select(order).rxy
        return float(rxy[1:] @ rxy[1:])

    @property
    def _tss(self) -> float:
        return self.centered_tss if self.k_constant else self.uncentered_tss

    @cached_property
    def rsquared(self) -> float:
        """R² = SSR / SST (uncentred when the model has no intercept, as statsmodels).

        NaN when SST is zero, or only rounding noise of a perfect fit (a constant response).
        """
        if not self._tss > 0 or (self.perfect_fit and self._tss <= NOISE**2 * self._fitted_ss):
            return math.nan
        return self.ess / self._tss

    @cached_property
    def _fitted_ss(self) -> float:
        """``||X b||^2 = y'y - SSE`` (the residuals are orthogonal to the columns)."""
        return max(self.uncentered_tss - self.ssr, 0.0)

    @cached_property
    def perfect_fit(self) -> bool:
        """The residuals are rounding errors: ``s² < 1e-30 ||X b||² / n`` (R's criterion).

        In exact arithmetic such a fit has every residual 0, so every standard error is 0:
        a t statistic is ``b_j / 0``, infinite for a coefficient that is really there and
        undefined (0/0, NaN) for one that is rounding noise of a zero; the F statistic
        likewise. :attr:`tvalues`, :attr:`pvalues`, :attr:`fvalue` and :attr:`f_pvalue`
        say so instead of dividing rounding errors, and the fit warns
        (:class:`~duolm.errors.PerfectFitWarning`) and the summary notes it.
        """
        return self.df_resid > 0 and self.scale < PERFECT_FIT * self._fitted_ss / self.nobs

    @cached_property
    def _noise(self) -> BoolArray:
        """The kept coefficients that are rounding noise of a zero in a perfect fit."""
        share = np.abs(self.params_kept) * self.stat.column_norms()
        out: BoolArray = share <= NOISE * math.sqrt(self._fitted_ss)
        return out

    @cached_property
    def rsquared_adj(self) -> float:
        """Adjusted R² = 1 - (n - k_const) / df_resid * (1 - R²)."""
        return 1.0 - (self.nobs - self.k_constant) / self.df_resid * (1.0 - self.rsquared)

    @cached_property
    def scale(self) -> float:
        """Residual variance s² = SSE / (n - k)."""
        return self.ssr / self.df_resid

    @cached_property
    def llf(self) -> float:
        """Gaussian log-likelihood at the estimate (+inf for an exact fit).

        Weighted: of the unscaled ``y``, ``var(y_i) = sigma^2 / w_i``, which adds the
        Jacobian ``0.5 sum log w`` to the scaled rows' likelihood (statsmodels' WLS).
        """
        n = self.nobs
        if self.ssr == 0:
            return math.inf
        llf = -0.5 * n * (math.log(2.0 * math.pi) + math.log(self.ssr / n) + 1.0)
        if self.weight_sums is not None:
            llf += 0.5 * self.weight_sums.log_total
        return llf

    @cached_property
    def aic(self) -> float:
        """Akaike information criterion ``2 k - 2 llf``."""
        return -2.0 * self.llf + 2.0 * self.rank

    @cached_property
    def bic(self) -> float:
        """Bayesian information criterion ``k log n - 2 llf``."""
        return -2.0 * self.llf + math.log(self.nobs) * self.rank

    # -- covariance ----------------------------------------------------------------
    @cached_property
    def _whitened(self) -> FloatArray:
        """``X Rxx^-1`` for the kept columns: rows of the thin Q factor."""
        return self.stat.whiten(_kept_columns(self._rows("the hat matrix").X, self.kept))

    @cached_property
    def leverage(self) -> pd.Series:
        """Diagonal of the hat matrix, one value per fitted row."""
        W = self._whitened
        index = self._rows("leverage").index
        return pd.Series(np.einsum("ij,ij->i", W, W), index=index, name="leverage")

    @cached_property
    def cooks_distance(self) -> pd.Series:
        """Cook's distance ``e_i^2 h_i / (k s^2 (1 - h_i)^2)`` per fitted row.

        For an exact fit (``s^2 = 0``) no row moves the fit: every distance is 0.
        """
        rows = self._rows("Cook's distance")
        h = self.leverage.to_numpy()
        if self.scale == 0:
            return pd.Series(np.zeros(len(h)), index=rows.index, name="cooks_distance")
        with np.errstate(divide="ignore", invalid="ignore"):
            d = rows.resid**2 * h / (self.rank * self.scale * (1.0 - h) ** 2)
        return pd.Series(d, index=rows.index, name="cooks_distance")

    @cached_property
    def _rinv(self) -> FloatArray:
        return self.stat.rinv()

    def _meat(self, kind: str) -> FloatArray:
        """``W^T diag(w) W`` for the HC weights of ``kind`` ("HC0", "HC2" or "HC3")."""
        if self.meats is not None:
            if not self.meats:
                raise DataError(
                    f"{kind} was not computed: this streamed fit accumulated no robust "
                    f"covariance; fit it with cov_type={kind!r} (and diagnostics=True)"
                )
            if kind not in self.meats:
                raise DataError(
                    f"{kind} is undefined for this fit: a row has leverage 1 (the fit passes "
                    "through it exactly); use HC0 or HC1"
                )
            return self.meats[kind]
        rows = self._rows(f"the {kind} covariance")
        h = self.leverage.to_numpy()
        if kind != "HC0" and np.any(1.0 - h <= core.LEVERAGE_ONE):
            row = rows.index[int(np.argmax(h))]
            raise DataError(
                f"{kind} is undefined: row {row!r} has leverage 1 (the fit passes "
                "through it exactly); use HC0 or HC1"
            )
        return core.meat(self._whitened, rows.resid, h, kind)

    @cached_property
    def _unit(self) -> FloatArray:
        """Powers of two ``D`` near the largest entry of each row of ``Rxx^-1``: the
        covariance is ``D C D`` (:attr:`_cov_scaled`), and a column near 1e-160, whose
        variance is beyond float64, still has a ``C`` in range (and its t, F and p)."""
        return _pow2_rows(self._rinv)

    def _scaled_cov_kept(self, cov_type: str) -> FloatArray:
        """``C`` of the covariance ``D C D`` of the kept estimates under ``cov_type``."""
        Rs = self._rinv / self._unit[:, None]  # exact: powers of two
        if cov_type in DEPENDENT_COV_TYPES:
            if cov_type != self.cov_type or self.cov_kwds is None:
                raise ValueError(
                    f"read cov_type={cov_type!r} with with_cov_type(..., cov_kwds=...)"
                )
            return dependent_cov(self, cov_type, self.cov_kwds, Rs)
        if cov_type == "nonrobust":
            out: FloatArray = self.scale * (Rs @ Rs.T)
            return out
        meat = self._meat("HC0" if cov_type == "HC1" else cov_type)
        if cov_type == "HC1":
            meat = meat * (self.nobs / self.df_resid)
        out = Rs @ meat @ Rs.T
        return out

    def _scaled_form(self, L: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(M, rho)`` with ``L V L^T = diag(rho) M C M^T diag(rho)`` (``V = D C D``,
        ``rho`` powers of two near each row of ``L D``): contrasts of estimates whose
        variances overflow, read in range."""
        M = np.asarray(L, dtype=np.float64) * self._unit[None, :]
        rho = _pow2_rows(M)
        out: FloatArray = M / rho[:, None]
        return out, rho

    @cached_property
    def _cov(self) -> FloatArray:
        """The covariance of the kept estimates (entries beyond float64 are inf)."""
        u = self._unit
        with np.errstate(over="ignore"):
            out: FloatArray = (self._cov_scaled * u[:, None]) * u[None, :]
        return out

    @cached_property
    def _cov_scaled(self) -> FloatArray:
        cov = self._scaled_cov_kept(self.cov_type)
        negative = np.flatnonzero(~(np.diag(cov) >= 0.0))
        if negative.size:  # HC covariances are sums of squares; these need not be
            names = [self.terms[j] for j in np.flatnonzero(self.kept)[negative]]
            warnings.warn(
                f"the {self.cov_type} covariance is not positive semidefinite: the variance "
                f"of {', '.join(map(repr, names))} is negative, so its standard error, t and "
                "p values and interval are NaN"
                + (
                    "; Bartlett's weights (kernel='bartlett') always give a semidefinite one"
                    if self.cov_type == "HAC"
                    else "; one-way clusters always give a semidefinite one"
                ),
                CovarianceWarning,
                stacklevel=3,
            )
        return cov

    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of the estimates under ``cov_type`` (NaN rows for aliased)."""
        k = len(self.terms)
        full = np.full((k, k), np.nan)
        idx = np.flatnonzero(self.kept)
        full[np.ix_(idx, idx)] = self._cov
        return pd.DataFrame(full, index=list(self.terms), columns=list(self.terms))

    @cached_property
    def bse(self) -> pd.Series:
        """Standard errors of the estimates.

        Each row of ``Rxx^-1`` is scaled by a power of two near its largest entry
        before it is squared: a column near 1e-200 has a standard error near 1e200,
        whose square (the variance in ``cov_params``) is beyond float64.
        """
        Ri = self._rinv
        unit = _pow2_rows(Ri)
        Rs = Ri / unit[:, None]  # exact
        if self.cov_type == "nonrobust":
            se = unit * math.sqrt(self.scale) * np.sqrt(np.sum(Rs * Rs, axis=1))
        elif self.cov_type in DEPENDENT_COV_TYPES:
            with np.errstate(invalid="ignore"):  # a negative variance: CovarianceWarning
                se = unit * np.sqrt(np.diag(self._cov_scaled))
        else:
            meat = self._meat("HC0" if self.cov_type == "HC1" else self.cov_type)
            if self.cov_type == "HC1":
                meat = meat * (self.nobs / self.df_resid)
            se = unit * np.sqrt(np.einsum("ij,jk,ik->i", Rs, meat, Rs))
        return self._full(se, "bse")

    @cached_property
    def tvalues(self) -> pd.Series:
        """t statistics of H0: coefficient = 0 (see :attr:`perfect_fit` for a perfect fit)."""
        if self.perfect_fit:
            kept = np.where(self._noise, np.nan, np.copysign(np.inf, self.params_kept))
            return self._full(kept, "tvalues")
        return (self.params / self.bse).rename("tvalues")

    @cached_property
    def pvalues(self) -> pd.Series:
        """Two-sided p values of the t statistics (Student t, df_resid dof)."""
        p = 2.0 * stats.t.sf(np.abs(self.tvalues.to_numpy()), self.df_resid)
        return pd.Series(p, index=self.params.index, name="pvalues")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence intervals at level ``1 - alpha``: columns ``lower``, ``upper``."""
        q = stats.t.isf(check_alpha(alpha) / 2.0, self.df_resid)
        half = q * self.bse
        return pd.DataFrame({"lower": self.params - half, "upper": self.params + half})

    # -- the overall F test --------------------------------------------------------
    @cached_property
    def _slope_restriction(self) -> FloatArray:
        c = self.const_col
        rows = [j for j in range(self.rank) if j != c]
        return np.eye(self.rank)[rows]

    @cached_property
    def fvalue(self) -> float:
        """F statistic of H0: all slope coefficients are zero (NaN without slopes)."""
        if self.df_model == 0:
            return math.nan
        if self.perfect_fit:  # an exact fit: NIST certifies F as infinite (Wampler1)
            return math.nan if self.ess <= NOISE**2 * self._fitted_ss else math.inf
        if self.cov_type == "nonrobust":
            if self.scale == 0:
                return math.inf
            return (self.ess / self.df_model) / self.scale
        return self._wald(self._slope_restriction, np.zeros(self.df_model)).fvalue

    @cached_property
    def f_pvalue(self) -> float:
        """p value of the overall F test."""
        if self.df_model == 0:
            return math.nan
        return float(stats.f.sf(self.fvalue, self.df_model, self.df_resid))

    # -- linear hypotheses ---------------------------------------------------------
    def _restriction(self, hypothesis: object) -> tuple[FloatArray, FloatArray]:
        L, r = parse_hypothesis(hypothesis, list(self.terms))
        if np.any(L[:, ~self.kept]):
            raise ValueError(f"hypothesis involves aliased coefficient(s) {list(self.aliased)}")
        return L[:, self.kept], r

    def _wald(self, L: FloatArray, r: FloatArray) -> FTestResult:
        M, rho = self._scaled_form(L)
        diff = (L @ self.params_kept - r) / rho  # F is the same for rows scaled by rho
        V = M @ self._cov_scaled @ M.T
        q = L.shape[0]
        if not np.any(V):  # an exact fit: every residual, so every covariance, is 0
            F = math.inf if np.any(diff) else math.nan
        else:
            F = float(diff @ np.linalg.solve(V, diff)) / q
        return FTestResult(F, float(stats.f.sf(F, q, self.df_resid)), q, self.df_resid)

    def f_test(self, hypothesis: object) -> FTestResult:
        """Joint Wald F test of ``L beta = r``.

        Parameters
        ----------
        hypothesis : str, array_like of shape (q, k), or tuple (L, r)
            For example ``"x1 = 0, x2 = 0"``.
        """
        return self._wald(*self._restriction(hypothesis))

    def t_test(self, hypothesis: object, alpha: float = 0.05) -> pd.DataFrame:
        """t test of each row of ``L beta = r``.

        Returns a frame with one row per equation, indexed by ``hypothesis`` (the
        equation as given, or a matrix row written out), and columns ``effect, se,
        t, pvalue, lower, upper``: ``effect`` is ``L b - r`` (statsmodels reports
        ``L b``), with its interval at level ``1 - alpha``. The lecture's
        test of H0: beta_1 = 0 is ``fit.t_test("time = 0")``.
        """
        L, r = self._restriction(hypothesis)
        effect = L @ self.params_kept - r
        M, rho = self._scaled_form(L)
        root = np.sqrt(np.einsum("ij,jk,ik->i", M, self._cov_scaled, M))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            se = rho * root  # inf only where the standard error itself is beyond float64
            t = (effect / rho) / root  # se = 0 in an exact fit
        q = stats.t.isf(check_alpha(alpha) / 2.0, self.df_resid)
        from duolm.frequentist._hypotheses import equations, written

        labels = equations(hypothesis, list(self.terms))  # each row says what it tests
        if labels is None:  # a matrix: its rows as equations in the coefficients
            kept = [name for name, keep in zip(self.terms, self.kept, strict=True) if keep]
            labels = [written(row, value, kept) for row, value in zip(L, r, strict=True)]
        return pd.DataFrame(
            {
                "effect": effect,
                "se": se,
                "t": t,
                "pvalue": 2.0 * stats.t.sf(np.abs(t), self.df_resid),
                "lower": effect - q * se,
                "upper": effect + q * se,
            },
            index=pd.Index(labels, name="hypothesis"),  # each row named by what it tests
        )

    # -- residuals and diagnostics -------------------------------------------------
    @cached_property
    def resid(self) -> pd.Series:
        """Residuals ``y - X b`` of the fitted rows (unweighted, as statsmodels' WLS)."""
        rows = self._rows("resid")
        return pd.Series(rows.resid / rows.root_weights, index=rows.index, name="resid")

    @cached_property
    def wresid(self) -> pd.Series:
        """Residuals of the rows scaled by ``sqrt(w)``: ``sqrt(w) (y - X b)`` (``resid``
        when unweighted); the diagnostics and robust covariances read these."""
        rows = self._rows("wresid")
        return pd.Series(rows.resid, index=rows.index, name="wresid")

    @cached_property
    def weights(self) -> pd.Series:
        """The weights of the fitted rows (ones when unweighted)."""
        rows = self._rows("weights")
        w = rows.weights if rows.weights is not None else np.ones(len(rows.y))
        return pd.Series(w, index=rows.index, name="weights")

    @cached_property
    def fittedvalues(self) -> pd.Series:
        """Fitted values ``X b``."""
        rows = self._rows("fittedvalues")
        fitted = (rows.y - rows.resid) / rows.root_weights
        return pd.Series(fitted, index=rows.index, name="fitted")

    @cached_property
    def diagnostics(self) -> Diagnostics:
        """Omnibus, Jarque-Bera, skew, kurtosis, Durbin-Watson and condition number."""
        if self.moments is None:
            raise DataError(
                "residual diagnostics were not computed: this streamed fit made one pass "
                "over the data; fit with diagnostics=True for the second pass"
            )
        return Diagnostics.from_moments(self.moments, self.stat.condition_number())

    # -- prediction ----------------------------------------------------------------
    def _warn_non_estimable(self, X0: FloatArray, index: pd.Index) -> None:
        """Warn when a new row's mean is not estimable under aliased columns (R's
        ``predict.lm``): its prediction then depends on which column was dropped.

        A row ``x`` is estimable when ``x`` is a combination of the fitted rows, that is
        when each aliased column's value equals the combination of the kept columns'
        values that column is of the kept columns (as in the fitted rows). Checked when
        the fit keeps its rows (a streamed fit keeps no design to find the combinations).
        """
        if self.kept.all() or self.rows is None or not len(X0):
            return
        X = self.rows.X
        combos = np.linalg.lstsq(X[:, self.kept], X[:, ~self.kept], rcond=None)[0]
        kept, aliased = X0[:, self.kept], X0[:, ~self.kept]
        gap = np.abs(aliased - kept @ combos)
        size = np.abs(aliased) + np.abs(kept) @ np.abs(combos)
        doubtful = np.flatnonzero(np.any(gap > 1e-8 * np.maximum(size, 1e-300), axis=1))
        if doubtful.size:
            rows = [index[i] for i in doubtful[:5]]
            more = f" and {doubtful.size - 5} more" if doubtful.size > 5 else ""
            warnings.warn(
                f"prediction from a rank-deficient fit: row(s) {rows}{more} are not "
                f"combinations of the fitted rows (the aliased {list(self.aliased)} do not "
                "follow the kept columns there), so their means depend on which column was "
                "dropped and are not estimable",
                RankWarning,
                stacklevel=3,
            )

    def predict(
        self, data: object = None, alpha: float = 0.05, weights: object = None
    ) -> pd.DataFrame:
        """Predictions with the confidence band of the mean and the prediction interval.

        Parameters
        ----------
        data : optional
            New data in the form the fit was given: a frame (or mapping) for
            formula fits, an array of rows for ``X=`` fits. ``None`` predicts
            the fitted rows.
        alpha : float
            Significance level: intervals have coverage ``1 - alpha``.
        weights : array_like of shape (m,), str or float, optional
            Weights of the new rows: a new observation's variance is
            ``scale / w`` (statsmodels' ``get_prediction(..., weights=)``), which
            widens or narrows the prediction interval only. One weight per row,
            a column of ``data``, or one number for all. Default: the fit's
            weights for the fitted rows (``data=None``), 1 for new rows.

        Returns
        -------
        DataFrame
            Columns ``mean, mean_se, mean_ci_lower, mean_ci_upper,
            obs_ci_lower, obs_ci_upper``.
        """
        alpha = check_alpha(alpha)
        if data is None:
            rows = self._rows("in-sample prediction")
            X0 = rows.X if rows.weights is None else rows.X / rows.root_weights[:, None]
            index: pd.Index = rows.index
            if weights is None and rows.weights is not None:
                weights = rows.weights
        else:
            X0 = self.spec.build_x(data)
            index = data.index if isinstance(data, pd.DataFrame) else pd.RangeIndex(len(X0))
        w0 = new_weights(weights, data, len(X0), index)
        if data is not None:
            self._warn_non_estimable(X0, index)
        X0 = _kept_columns(X0, self.kept)
        mean = X0 @ self.params_kept
        if self.cov_type == "nonrobust":
            W = self.stat.whiten(X0)
            mean_se = math.sqrt(self.scale) * np.sqrt(np.einsum("ij,ij->i", W, W))
        else:
            M, rho = self._scaled_form(X0)
            mean_se = rho * np.sqrt(np.einsum("ij,jk,ik->i", M, self._cov_scaled, M))
        obs_se = np.sqrt(mean_se**2 + self.scale / w0)
        q = stats.t.isf(alpha / 2.0, self.df_resid)
        return pd.DataFrame(
            {
                "mean": mean,
                "mean_se": mean_se,
                "mean_ci_lower": mean - q * mean_se,
                "mean_ci_upper": mean + q * mean_se,
                "obs_ci_lower": mean - q * obs_se,
                "obs_ci_upper": mean + q * obs_se,
            },
            index=index,
        )

    def with_cov_type(self, cov_type: CovType, cov_kwds: Mapping[str, Any] | None = None) -> Self:
        """The same fit read with another covariance type (a new object).

        Parameters
        ----------
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "HAC", "cluster"}
        cov_kwds : dict, optional
            statsmodels' keywords of "HAC" (``maxlags``, ``kernel``,
            ``use_correction``) and "cluster" (``groups``: one label per fitted
            row, or two such for two-way clustering; ``use_correction``). A
            fit keeps no data columns, so ``groups`` are labels here, not
            column names (:func:`duolm.ols` takes either).
        """
        cov_type = check_cov_type(cov_type)
        kwds = check_cov_kwds(cov_type, cov_kwds)
        resolved = None if kwds is None else resolve_cov_kwds(self, cov_type, kwds)
        return dataclasses.replace(self, cov_type=cov_type, cov_kwds=resolved)


def _warn_perfect(fit: OLSFit, stacklevel: int) -> None:
    """Warn that the residuals are rounding errors (R's "essentially perfect fit")."""
    if fit.perfect_fit:
        warnings.warn(
            "essentially perfect fit: the residuals are rounding errors (s = "
            f"{math.sqrt(fit.scale):.3g}); t, F and p values are infinite where a coefficient "
            "is really there and undefined (NaN) where it is rounding noise of zero",
            PerfectFitWarning,
            stacklevel=stacklevel,
        )


def _warn_aliased(spec: DesignSpec, kept: BoolArray, stacklevel: int) -> None:
    """Warn that the columns not ``kept`` are aliased (R's NA coefficients)."""
    if not kept.all():
        dropped = [spec.terms[i] for i in np.flatnonzero(~kept)]
        warnings.warn(
            f"aliased column(s) {dropped}: linear combinations of earlier columns; their "
            "coefficients are not estimable and are reported as NaN",
            RankWarning,
            stacklevel=stacklevel,
        )


def solve_design(design: Design, tol: float = core.ALIAS_TOL) -> core.LstsqFit:
    """The in-memory least-squares solution of ``design`` for :meth:`OLSFit.from_fit`: of
    its rows scaled by ``sqrt(w)`` when it is weighted (weighted least squares)."""
    if design.weights is None:
        return core.lstsq(
            design.matrix, design.y, tol=tol, const_col=design.const_col, gram=design.gram
        )
    return core.lstsq(*core.scale_rows(design.X, design.y, design.weights), tol=tol)


def _fitted_rows(design: Design, resid: FloatArray, squares: Squares | None = None) -> FittedRows:
    """The fitted rows as the fit saw them (scaled by ``sqrt(w)`` when weighted)."""
    if design.weights is None:
        return FittedRows(design.matrix, design.y, resid, design.index, squares=squares)
    X, y = core.scale_rows(design.X, design.y, design.weights)
    return FittedRows(X, y, resid, design.index, design.weights)


def _kept_columns(X: FloatArray, kept: BoolArray) -> FloatArray:
    """``X[:, kept]`` without copying when every column is kept."""
    return X if kept.all() else X[:, kept]


def _pow2_rows(A: FloatArray) -> FloatArray:
    """Powers of two near the largest entry of each row of ``A`` (1 for a zero row)."""
    return core.nearest_pow2(np.max(np.abs(A), axis=1) if A.size else np.ones(A.shape[0]))
