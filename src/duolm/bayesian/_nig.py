"""The Normal-inverse-gamma distribution: the conjugate prior and posterior of duolm.

The model is the lecture's ``y_t = beta^T x_t + e_t``, ``e_t ~ N(0, sigma^2)``
with the conjugate prior ``beta | sigma^2 ~ N(m, sigma^2 V)``,
``sigma^2 ~ iG(a, b)``. The lecture keeps the extended information matrix
``xi = [[m'V^-1 m + 2b, m'V^-1], [V^-1 m, V^-1]]`` (order ``[y, x]``) and
``nu = 2a``, and updates them by adding ``z z^T``, ``z = [y, x]``, and 1.

This module holds :class:`NIG` (its constructors :meth:`~NIG.from_xi`,
:meth:`~NIG.reference`, :meth:`~NIG.vague`, :meth:`~NIG.zellner`; the
operations :meth:`~NIG.update`, :meth:`~NIG.merge`, :meth:`~NIG.forget`) and
:func:`log_evidence_between`. The fit and its results, which read a posterior
off the data, are in :mod:`duolm.bayes`, which re-exports :class:`NIG`.

:class:`NIG` keeps the square root of the same statistic (DESIGN.md, "One core,
two readings") in two parts: the prior's factor

    R_0 = [[Rxx_0, Rxx_0 m_0], [0, sqrt(2 b_0)]],  Rxx_0^T Rxx_0 = V_0^-1,  nu_0 = 2 a_0

and a :class:`~duolm.core.SqrtStat` of the data rows alone. The posterior is
read from the triangularised stack ``[R_0; R_data]``: ``m`` solves
``Rxx m = rxy``, ``V = Rxx^-1 Rxx^-T``, ``b = ryy^2 / 2`` and
``a = (nu_0 + n) / 2`` (Banerjee, "Bayesian linear model: gory details",
eqs. for ``m*``, ``V*``, ``a*``, ``b*``). Nothing subtracts ``m'V^-1 m`` terms,
so the posterior keeps its digits when the data sit far from 0, and two
posteriors of the same prior merge exactly, the prior counted once.

Quantities that do not exist are refused with :class:`~duolm.errors.PriorError`
naming the condition, never returned as NaN: ``V`` and ``m`` when ``V^-1`` is
singular (the reference prior before ``k`` independent rows), the evidence of
an improper prior, the mean of ``sigma^2`` for ``a <= 1`` and its variance for
``a <= 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.linalg as sla
from numpy.typing import NDArray
from scipy import special, stats

from duolm import core
from duolm._checks import all_finite
from duolm.core import ALIAS_TOL, SqrtStat, _sweep
from duolm.errors import DataError, PriorError

__all__ = ["NIG", "Refined", "log_evidence_between", "precision_factor", "refined_update"]

FloatArray = NDArray[np.float64]


#: Relative asymmetry ``max|V - V^T| / max|V|`` accepted as rounding in a given V or xi.
SYMMETRY_RTOL = 1e-10

#: Defaults of :meth:`NIG.vague` (and of :func:`duolm.bayes` without a prior).
VAGUE_SCALE = 1e3
VAGUE_A = 1e-3
VAGUE_B = 1e-3

#: The range of ``NIG.vague``'s scale: scale² and 1/scale² are normal doubles.
_SCALE_MIN = math.sqrt(np.finfo(np.float64).tiny) * 2.0
_SCALE_MAX = math.sqrt(np.finfo(np.float64).max) / 2.0


def _finite_positive(value: float, name: str) -> float:
    if isinstance(value, str | bytes | bool) or value is None:  # float("5") would pass
        raise PriorError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise PriorError(f"{name} must be a number, got {value!r}") from exc
    if not (math.isfinite(x) and x > 0):
        raise PriorError(f"{name} must be finite and > 0, got {x}")
    return x


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise PriorError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _symmetric(M: object, name: str, k: int | None) -> FloatArray:
    try:
        A = np.array(M, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PriorError(f"{name} must be a numeric matrix: {exc}") from exc
    if A.ndim != 2 or A.shape[0] != A.shape[1] or (k is not None and A.shape[0] != k):
        want = f"({k}, {k})" if k is not None else "square"
        raise PriorError(f"{name} must have shape {want}, got {A.shape}")
    if not np.all(np.isfinite(A)):
        raise PriorError(f"{name} has non-finite entries (NaN or inf)")
    scale = float(np.max(np.abs(A))) if A.size else 0.0
    asym = float(np.max(np.abs(A - A.T))) if A.size else 0.0
    if asym > SYMMETRY_RTOL * scale:
        raise PriorError(f"{name} is not symmetric: max |{name} - {name}^T| = {asym:.3g}")
    out: FloatArray = 0.5 * (A + A.T)
    return out


def _block(Rxx: FloatArray, rxy: FloatArray, ryy: float) -> FloatArray:
    k = Rxx.shape[0]
    R = np.zeros((k + 1, k + 1))
    R[:k, :k] = np.triu(Rxx)
    R[:k, k] = rxy
    R[k, k] = ryy
    return R


def _check_rows(X: object, y: object, k: int) -> tuple[FloatArray, FloatArray]:
    """``X`` and ``y`` as float64 arrays (not copied when they are; read only), shapes and
    finite values checked (else a DataError naming the first bad entry)."""
    try:
        Xa = np.atleast_1d(np.asarray(X, dtype=np.float64))
        ya = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"X and y must be numeric: {exc}") from exc
    if Xa.ndim == 1:  # one row of k values, or (k == 1) one value per row
        Xa = Xa[None, :] if Xa.shape[0] == k else Xa[:, None] if k == 1 else Xa
    ya = ya.reshape(-1) if ya.ndim == 0 or (ya.ndim == 2 and ya.shape[1] == 1) else ya
    if Xa.ndim != 2 or Xa.shape[1] != k:
        raise DataError(f"X must have {k} columns (one per coefficient), got shape {Xa.shape}")
    if ya.ndim != 1 or ya.shape[0] != Xa.shape[0]:
        raise DataError(f"y must have one value per row of X ({Xa.shape[0]}), got {ya.shape}")
    for what, arr in (("X", Xa), ("y", ya)):
        if not all_finite(arr):
            bad = np.argwhere(~np.isfinite(arr))[0]
            raise DataError(f"{what} is {arr[tuple(bad)]} at row {bad[0]}; must be finite")
    return Xa, ya


def precision_factor(V: FloatArray, name: str = "V") -> FloatArray:
    """Upper-triangular ``R`` with ``R^T R = V^-1``, for a symmetric positive definite V.

    With upper ``U`` such that ``U U^T = V`` (the Cholesky factor of the reversed
    matrix), ``R = U^-1`` is upper triangular and ``V^-1`` is never formed, so its
    condition number is not squared (DESIGN.md: ``Rxx_0 = chol(V_0^-1)^T``).

    Examples
    --------
    >>> V = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> R = precision_factor(V)
    >>> bool(np.allclose(R.T @ R @ V, np.eye(2), rtol=0, atol=1e-14))
    True
    """
    k = V.shape[0]
    try:
        U = sla.cholesky(V[::-1, ::-1], lower=True)[::-1, ::-1]
    except np.linalg.LinAlgError as exc:
        raise PriorError(f"{name} is not positive definite (its Cholesky factor fails)") from exc
    out: FloatArray = np.triu(sla.solve_triangular(U, np.eye(k), lower=False))
    return out


@dataclass(frozen=True, eq=False)
class Refined:
    """A posterior's moments refined from the rows it saw (:func:`refined_update`).

    Attributes
    ----------
    stat : SqrtStat
        Factor of the stack ``[R_prior; X y]``: ``Rxx`` from Householder QR, ``rxy = Rxx m``
        and ``ryy`` the norm of the refined residuals (the prior's ``sqrt(2 b_0)`` included).
    m : ndarray of shape (k,)
        Posterior mean, the refined least-squares solution of the stack.
    V : ndarray of shape (k, k)
        ``(Rxx^T Rxx)^-1`` refined column by column.
    """

    stat: SqrtStat
    m: FloatArray
    V: FloatArray


@dataclass(frozen=True, eq=False, init=False, repr=False)
class NIG:
    """A Normal-inverse-gamma distribution over ``(beta, sigma^2)``: a prior or a posterior.

    ``beta | sigma^2 ~ N(m, sigma^2 V)`` and ``sigma^2 ~ iG(a, b)``.

    Parameters
    ----------
    m : array_like of shape (k,)
        Mean of beta; finite.
    V : array_like of shape (k, k)
        Scale of beta (in units of sigma^2); symmetric positive definite.
    a, b : float
        Shape and scale of the inverse gamma; finite and > 0.

    Attributes
    ----------
    prior_stat : SqrtStat
        Square-root factor of the prior part of xi, shape (k + 1, k + 1), ``nobs = 0``.
    nu0 : float
        The prior's ``nu_0 = 2 a_0``.
    data_stat : SqrtStat
        Square-root statistic of the data rows seen since the prior.
    label : str
        How the prior was made (printed by summaries).
    terms : tuple of str or None
        The names of the coefficients when this is the posterior of a fit (the
        design's columns), None for an NIG made by hand. A named NIG merges only
        with one of the same names, and serves as the prior only of a design
        with these columns (:func:`~duolm.bayesian.checked_prior`): beliefs about
        other coefficients are never pooled by position.

    Examples
    --------
    >>> prior = NIG(np.zeros(2), 10 * np.eye(2), a=2.5, b=5000.0)
    >>> X = np.column_stack([np.ones(4), [1.0, 2.0, 3.0, 4.0]])
    >>> post = prior.update(X, np.array([1.0, 3.0, 2.0, 5.0]))
    >>> post.a, round(post.b, 4)
    (4.5, 5001.4094)
    >>> post.m.round(4).tolist()
    [0.047, 1.0807]
    >>> bool(np.allclose(post.xi[1:, 1:], np.linalg.inv(post.V), rtol=1e-12))
    True
    """

    prior_stat: SqrtStat
    nu0: float
    data_stat: SqrtStat
    label: str
    terms: tuple[str, ...] | None
    refined: Refined | None

    def __init__(self, m: object, V: object, a: float, b: float) -> None:
        try:
            mv = np.array(m, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise PriorError(f"m must be a numeric vector: {exc}") from exc
        if mv.ndim != 1 or mv.shape[0] < 1:
            raise PriorError(f"m must be a vector of length k >= 1, got shape {mv.shape}")
        if not np.all(np.isfinite(mv)):
            raise PriorError("m has non-finite entries (NaN or inf)")
        k = mv.shape[0]
        Vs = _symmetric(V, "V", k)
        a, b = _finite_positive(a, "a"), _finite_positive(b, "b")
        if not math.isfinite(2.0 * b):  # ryy_0 = sqrt(2 b)
            raise PriorError(f"b = {b:g} overflows: 2 b must be a finite double (b < 8.9e307)")
        Rxx0 = precision_factor(Vs)
        if not np.all(np.isfinite(Rxx0)):
            raise PriorError("V is too small: the factor of V^-1 overflows a double")
        with np.errstate(over="ignore", invalid="ignore"):
            rxy0 = Rxx0 @ mv
        if not np.all(np.isfinite(rxy0)):
            raise PriorError("m is too large for V: V^-1/2 m overflows a double")
        R0 = _block(Rxx0, rxy0, math.sqrt(2.0 * b))
        self._set(SqrtStat(R0, 0.0), 2.0 * a, SqrtStat.empty(k), "NIG(m, V, a, b)")

    def _set(
        self,
        prior: SqrtStat,
        nu0: float,
        data: SqrtStat,
        label: str,
        terms: tuple[str, ...] | None = None,
        refined: Refined | None = None,
    ) -> None:
        object.__setattr__(self, "prior_stat", prior)
        object.__setattr__(self, "nu0", float(nu0))
        object.__setattr__(self, "data_stat", data)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "refined", refined)

    @classmethod
    def from_parts(
        cls,
        prior_stat: SqrtStat,
        nu0: float,
        data_stat: SqrtStat,
        label: str,
        terms: tuple[str, ...] | None = None,
        refined: Refined | None = None,
    ) -> NIG:
        """Assemble from the two square-root parts (used by :mod:`duolm.state`).

        ``refined``, from :func:`refined_update` only, holds the stack's factor, ``m``
        and ``V`` refined from the rows; the parts alone give them to rounding.
        """
        if prior_stat.k != data_stat.k:
            raise PriorError(f"prior part has {prior_stat.k} regressors, data {data_stat.k}")
        if not math.isfinite(float(nu0)):
            raise PriorError(f"nu0 must be finite, got {nu0}")
        if not np.all(np.isfinite(prior_stat.R)):
            raise PriorError(f"the prior {label} has a non-finite factor (its numbers overflow)")
        if terms is not None and len(terms) != prior_stat.k:
            raise PriorError(f"{len(terms)} term names for {prior_stat.k} coefficients")
        if refined is not None and refined.stat.k != prior_stat.k:
            raise PriorError(
                f"refined moments of {refined.stat.k} coefficients, not {prior_stat.k}"
            )
        obj = object.__new__(cls)
        obj._set(SqrtStat(prior_stat.R, 0.0), nu0, data_stat, label, terms, refined)
        return obj

    def named(self, terms: tuple[str, ...] | None) -> NIG:
        """The same distribution, its coefficients named ``terms`` (None: unnamed)."""
        return NIG.from_parts(
            self.prior_stat, self.nu0, self.data_stat, self.label, terms, self.refined
        )

    # -- constructors -------------------------------------------------------------
    @classmethod
    def from_xi(cls, xi: object, nu: float) -> NIG:
        """The prior with the lecture's extended information matrix ``xi`` and ``nu``.

        Parameters
        ----------
        xi : array_like of shape (k + 1, k + 1)
            Order ``[y, x]``: ``[[m'V^-1 m + 2b, m'V^-1], [V^-1 m, V^-1]]``;
            symmetric positive definite (V^-1 positive definite and b > 0).
        nu : float
            ``2 a``; > 0.

        Examples
        --------
        >>> prior = NIG.from_xi(np.diag([10000.0, 0.1, 0.1]), 5)  # the lecture's
        >>> prior.a, prior.b, prior.m.tolist(), np.diag(prior.V).round(12).tolist()
        (2.5, 5000.0, [0.0, 0.0], [10.0, 10.0])
        """
        M = _symmetric(xi, "xi", None)
        if M.shape[0] < 2:
            raise PriorError(f"xi must be at least 2 x 2, got {M.shape}")
        nu = _finite_positive(nu, "nu")
        order = [*range(1, M.shape[0]), 0]  # lecture [y, x] -> core [x, y]
        try:
            R0 = sla.cholesky(M[np.ix_(order, order)], lower=False)
        except np.linalg.LinAlgError as exc:
            raise PriorError(
                "xi is not positive definite (V^-1 must be positive definite and b > 0)"
            ) from exc
        k = M.shape[0] - 1
        return cls.from_parts(SqrtStat(np.triu(R0), 0.0), nu, SqrtStat.empty(k), "from_xi")

    @classmethod
    def reference(cls, k: int) -> NIG:
        """The improper reference prior ``p(beta, sigma^2) ∝ 1/sigma^2``.

        The limit ``V^-1 = 0``, ``a = -k/2``, ``b = 0``. After ``n > k`` rows of
        full rank the posterior of beta is Student t with ``n - k`` dof at the
        least-squares estimate with scale ``s^2 (X^T X)^-1``: its credible
        intervals are the confidence intervals of :func:`duolm.ols`.

        Examples
        --------
        >>> ref = NIG.reference(2)
        >>> ref.a, ref.b, ref.is_proper
        (-1.0, 0.0, False)
        """
        k = _check_k(k)
        return cls.from_parts(SqrtStat.empty(k), -float(k), SqrtStat.empty(k), "reference")

    @classmethod
    def vague(
        cls, k: int, *, scale: float = VAGUE_SCALE, a: float = VAGUE_A, b: float = VAGUE_B
    ) -> NIG:
        """A proper, flat prior centred at 0: ``m = 0``, ``V = scale^2 I``.

        The default of :func:`duolm.bayes`. It is weak when the coefficients
        are small against ``scale * sigma`` and ``b`` is small against half
        the residual sum of squares; data in other units need another
        ``scale`` and ``b`` (or :meth:`reference`).
        """
        k = _check_k(k)
        scale = _finite_positive(scale, "scale")
        a, b = _finite_positive(a, "a"), _finite_positive(b, "b")
        # V = scale^2 I and its factor I / scale must both be normal doubles
        if not _SCALE_MIN <= scale <= _SCALE_MAX:
            raise PriorError(
                f"scale must be between {_SCALE_MIN:.3g} and {_SCALE_MAX:.3g} (V = scale^2 I "
                f"must be a finite, invertible double), got {scale:g}"
            )
        out = cls(np.zeros(k), scale**2 * np.eye(k), a, b)
        object.__setattr__(out, "label", f"vague(scale={scale:g}, a={a:g}, b={b:g})")
        return out

    @classmethod
    def zellner(
        cls, X: object, g: float, *, m: object = None, a: float = VAGUE_A, b: float = VAGUE_B
    ) -> NIG:
        """Zellner's g-prior: ``beta | sigma^2 ~ N(m, g sigma^2 (X^T X)^-1)``.

        Parameters
        ----------
        X : array_like of shape (n, k)
            Design of full column rank; ``V^-1 = X^T X / g`` from its R factor.
        g : float
            > 0; ``g = n`` is the unit-information prior.
        m : array_like of shape (k,), optional
            Prior mean (default 0).
        a, b : float
            The inverse gamma part.
        """
        Xa = np.array(X, dtype=np.float64)
        if Xa.ndim != 2 or Xa.shape[1] < 1 or not np.all(np.isfinite(Xa)):
            raise PriorError(f"X must be a finite (n, k) matrix, got shape {Xa.shape}")
        k = Xa.shape[1]
        g = _finite_positive(g, "g")
        a, b = _finite_positive(a, "a"), _finite_positive(b, "b")
        mv = np.zeros(k) if m is None else np.array(m, dtype=np.float64)
        if mv.shape != (k,) or not np.all(np.isfinite(mv)):
            raise PriorError(f"m must be a finite vector of length {k}")
        st = SqrtStat.from_data(Xa, np.zeros(len(Xa)))
        if np.any(st.alias_ratios() < ALIAS_TOL):
            raise PriorError("X is rank deficient: the g-prior's V^-1 = X^T X / g is singular")
        Rxx0 = st.Rxx / math.sqrt(g)
        R0 = _block(Rxx0, Rxx0 @ mv, math.sqrt(2.0 * b))
        return cls.from_parts(SqrtStat(R0, 0.0), 2.0 * a, SqrtStat.empty(k), f"zellner(g={g:g})")

    # -- the posterior stack ------------------------------------------------------
    @cached_property
    def stat(self) -> SqrtStat:
        """The triangularised stack ``[R_0; R_data]``: R^T R = xi (order [x, y]).

        For a posterior refined from its rows (:meth:`refine`), the refined factor.
        """
        if self.refined is not None:
            return self.refined.stat
        if self.data_stat.nobs == 0 and not np.any(self.data_stat.R):
            return self.prior_stat
        return self.prior_stat.merge(self.data_stat)

    @property
    def k(self) -> int:
        """Number of coefficients."""
        return self.prior_stat.k

    @property
    def nobs(self) -> float:
        """Observations seen since the prior (an effective count after forgetting)."""
        return self.data_stat.nobs

    @property
    def nu(self) -> float:
        """``nu = nu_0 + n = 2 a``."""
        return self.nu0 + self.nobs

    @property
    def a(self) -> float:
        """Shape of the inverse gamma, ``nu / 2``."""
        return 0.5 * self.nu

    @cached_property
    def b(self) -> float:
        """Scale of the inverse gamma, ``ryy^2 / 2`` of the stack."""
        # Lecture: b_t = (xi11 - xi12 xi22^-1 xi21) / 2, a Schur complement of xi,
        # which is ryy^2 in square-root form: no difference of large terms is formed.
        return 0.5 * self.stat.ryy**2

    @cached_property
    def xi(self) -> FloatArray:
        """The lecture's extended information matrix, order ``[y, x]``, shape (k + 1, k + 1)."""
        R = self.stat.R
        order = [self.k, *range(self.k)]
        out: FloatArray = (R.T @ R)[np.ix_(order, order)]
        return out

    @cached_property
    def beta_proper(self) -> bool:
        """True when ``V^-1`` is positive definite (so ``m`` and ``V`` exist)."""
        if np.all(np.diag(self.prior_stat.Rxx) > 0):
            return True
        return bool(np.all(self.stat.alias_ratios() >= ALIAS_TOL))

    @property
    def is_proper(self) -> bool:
        """True when the distribution is proper: ``V^-1`` positive definite, a > 0, b > 0."""
        return self.beta_proper and self.a > 0 and self.b > 0

    def _need_beta(self, what: str) -> None:
        if not self.beta_proper:
            raise PriorError(
                f"{what} does not exist: V^-1 is singular (improper in beta; the reference "
                f"prior needs {self.k} rows of full rank)"
            )

    def _need_proper(self, what: str) -> None:
        self._need_beta(what)
        if not (self.a > 0 and self.b > 0):
            raise PriorError(
                f"{what} does not exist: the inverse gamma is improper (a = {self.a:g}, "
                f"b = {self.b:g}; both must be > 0)"
            )

    def _need_a(self, bound: float, what: str) -> None:
        self._need_proper(what)
        if not self.a > bound:
            raise PriorError(f"{what} needs a > {bound:g}, here a = {self.a:g}")

    @cached_property
    def m(self) -> FloatArray:
        """Mean (and mode and median) of beta: solves ``Rxx m = rxy``, shape (k,)."""
        self._need_beta("m")
        if self.refined is not None:
            return self.refined.m
        return self.stat.solve()  # lecture: m_t = xi22^-1 xi21, here Rxx m = rxy

    @cached_property
    def V(self) -> FloatArray:
        """Scale matrix of beta, ``Rxx^-1 Rxx^-T``, shape (k, k)."""
        self._need_beta("V")
        if self.refined is not None:
            return self.refined.V
        return self.stat.cov_unscaled()

    @cached_property
    def V_inv(self) -> FloatArray:
        """Precision ``V^-1 = Rxx^T Rxx``, shape (k, k); exists for improper priors too."""
        Rxx = self.stat.Rxx
        out: FloatArray = Rxx.T @ Rxx
        return out

    def quad(self, X: FloatArray) -> FloatArray:
        """``x^T V x`` for each row of X (``||Rxx^-T x||^2``), shape (n,)."""
        self._need_beta("x'Vx")
        return self.stat.leverage(np.atleast_2d(np.asarray(X, dtype=np.float64)))

    # -- operations ---------------------------------------------------------------
    def update(self, X: object, y: object) -> NIG:
        """The posterior after rows ``X`` (shape (n, k), or (k,) for one row) and ``y``."""
        Xa, ya = _check_rows(X, y, self.k)
        if len(ya) == 0:
            return self
        data = self.data_stat.update(Xa, ya)
        return NIG.from_parts(self.prior_stat, self.nu0, data, self.label, self.terms)

    def same_prior(self, other: NIG) -> bool:
        """True when both hold the identical prior part (same R_0 and nu_0)."""
        return (
            self.k == other.k
            and self.nu0 == other.nu0
            and bool(np.array_equal(self.prior_stat.R, other.prior_stat.R))
        )

    def merge(self, other: NIG) -> NIG:
        """The posterior of the union of two disjoint data sets fitted from the same prior."""
        if not isinstance(other, NIG):
            raise TypeError(f"can only merge an NIG, got {type(other).__name__}")
        if self.terms is not None and other.terms is not None and self.terms != other.terms:
            raise PriorError(
                f"cannot merge posteriors of different models: coefficients {list(self.terms)} "
                f"and {list(other.terms)}"
            )
        if not self.same_prior(other):
            raise PriorError(
                "cannot merge posteriors of different priors (the prior must be counted once)"
            )
        data = self.data_stat.merge(other.data_stat)
        return NIG.from_parts(
            self.prior_stat, self.nu0, data, self.label, self.terms or other.terms
        )

    def forget(self, lam: float, toward: NIG | Literal["prior"] | None = None) -> NIG:
        """Discount the past for parameters that drift (DESIGN.md, "forget").

        Parameters
        ----------
        lam : float
            Forgetting factor in (0, 1]; 1 forgets nothing.
        toward : None, "prior" or NIG
            None: exponential forgetting of the whole statistic,
            ``xi <- lam xi``, ``nu <- lam nu`` (prior part included).
            ``"prior"``: stabilised forgetting toward this NIG's own prior,
            ``xi <- lam xi + (1 - lam) xi_0``, which keeps the prior part and
            scales only the data part (``R_data <- sqrt(lam) R_data``, counts
            ``lam n``), so forgotten posteriors still merge. An NIG: stabilised
            forgetting toward that distribution's xi and nu.
        """
        from duolm.core._sqrtstat import _check_lambda

        lam = _check_lambda(lam)
        if toward is None:
            return NIG.from_parts(
                self.prior_stat.forget(lam),
                lam * self.nu0,
                self.data_stat.forget(lam),
                self.label,
                self.terms,
            )
        data = self.data_stat.forget(lam)
        if isinstance(toward, str):
            if toward != "prior":
                raise ValueError(f"toward must be None, 'prior' or an NIG, got {toward!r}")
            return NIG.from_parts(self.prior_stat, self.nu0, data, self.label, self.terms)
        if not isinstance(toward, NIG) or toward.k != self.k:
            raise PriorError(f"toward must be an NIG with {self.k} coefficients")
        if toward.data_stat.nobs == 0 and self.same_prior(toward):
            return NIG.from_parts(self.prior_stat, self.nu0, data, self.label, self.terms)
        prior = self.prior_stat.forget_toward(lam, SqrtStat(toward.stat.R, 0.0))
        nu0 = lam * self.nu0 + (1.0 - lam) * toward.nu
        return NIG.from_parts(prior, nu0, data, self.label, self.terms)

    @property
    def prior(self) -> NIG:
        """The prior part alone (no data)."""
        empty = SqrtStat.empty(self.k)
        return NIG.from_parts(self.prior_stat, self.nu0, empty, self.label, self.terms)

    # -- densities ----------------------------------------------------------------
    @cached_property
    def log_evidence(self) -> float:
        """``log p(y | X)`` of the data seen since the prior (Banerjee's marginal likelihood).

        ``-n/2 log(2 pi) + (log|V_t| - log|V_0|)/2 + a_0 log b_0 - a_t log b_t
        + log Gamma(a_t) - log Gamma(a_0)``, log-determinants from R's diagonal.
        After forgetting it is this formula on the discounted statistic, not a
        marginal likelihood.
        """
        return log_evidence_between(self.prior, self)

    def joint_logpdf(self, j: int, beta: object, sigma2: object) -> FloatArray:
        """``log p(beta_j, sigma²)``: the marginal NIG density of one coefficient and sigma².

        ``beta_j | sigma² ~ N(m_j, sigma² V_jj)`` and ``sigma² ~ iG(a, b)`` (DESIGN.md,
        "Bayesian results"); arrays broadcast. This is the joint density the lecture
        draws for the prior.
        """
        self._need_proper("the joint density")
        if not 0 <= int(j) < self.k:
            raise ValueError(f"j must name one of the {self.k} coefficients, got {j!r}")
        b_j = np.asarray(beta, dtype=np.float64)
        s2 = np.asarray(sigma2, dtype=np.float64)
        v = float(self.V[j, j])
        with np.errstate(divide="ignore", invalid="ignore"):
            normal = -0.5 * (np.log(2.0 * math.pi * v * s2) + (b_j - self.m[j]) ** 2 / (v * s2))
            out: FloatArray = normal + stats.invgamma.logpdf(s2, self.a, scale=self.b)
        return out

    def beta_given_sigma2(
        self, sigma2: float, columns: list[int] | None = None
    ) -> stats._multivariate.multivariate_normal_frozen:
        """The conditional ``beta | sigma² ~ N(m, sigma² V)`` of the chosen coefficients.

        Parameters
        ----------
        sigma2 : float
            A value of sigma², finite and > 0.
        columns : list of int, optional
            Positions of the coefficients (default all).
        """
        self._need_beta("the conditional of beta")
        s2 = float(sigma2)
        if not (math.isfinite(s2) and s2 > 0):
            raise ValueError(f"sigma2 must be finite and > 0, got {sigma2!r}")
        idx = list(range(self.k)) if columns is None else [int(j) for j in columns]
        return stats.multivariate_normal(self.m[idx], s2 * self.V[np.ix_(idx, idx)])

    def predictive_logpdf(self, X: object, y: object) -> FloatArray:
        """Log density of each new ``(x, y)`` under the posterior predictive, shape (n,).

        Student t, ``2a`` dof, location ``m^T x``, scale^2 ``(b/a)(1 + x^T V x)``.
        """
        self._need_proper("the predictive density")
        Xa, ya = _check_rows(X, y, self.k)
        scale = np.sqrt(self.b / self.a * (1.0 + self.quad(Xa)))
        logpdf = stats.t.logpdf(ya, df=2.0 * self.a, loc=Xa @ self.m, scale=scale)
        return np.asarray(logpdf, dtype=np.float64)

    def __repr__(self) -> str:
        return (
            f"NIG(k={self.k}, a={self.a:.6g}, b={self.b:.6g}, nobs={self.nobs:g}, "
            f"prior={self.label})"
        )

    def _repr_html_(self) -> str:
        """The hyperparameters as a table: ``m``, ``sqrt(diag V)``, ``a`` and ``b``."""
        import html

        head = f"<p><code>{html.escape(repr(self))}</code></p>"
        if not self.beta_proper:
            return head + "<p>V^-1 is singular (a flat direction): m and V are undefined.</p>"
        rows = "".join(
            f"<tr><th>beta_{j}</th><td>{m:.6g}</td><td>{math.sqrt(v):.6g}</td></tr>"
            for j, (m, v) in enumerate(zip(self.m, np.diag(self.V), strict=True))
        )
        table = (
            "<table class='duolm-nig'><tr><th></th><th>m</th><th>sqrt(V_jj)</th></tr>"
            f"{rows}</table>"
        )
        return head + table + f"<p>a = {self.a:.6g}, b = {self.b:.6g}</p>"


def log_evidence_between(start: NIG, end: NIG) -> float:
    """``log p(data | start)`` for the rows that took ``start`` to ``end``.

    Both must be proper; ``end`` is ``start`` updated with ``end.nobs - start.nobs`` rows.
    """
    if not start.is_proper:
        raise PriorError(
            f"the evidence does not exist for an improper prior ({start.label}, a = "
            f"{start.a:g}, b = {start.b:g}); give a proper prior"
        )
    end._need_proper("the evidence")
    n = end.nobs - start.nobs
    logdet_v0 = -start.stat.logdet()
    logdet_vt = -end.stat.logdet()
    a0, b0, at, bt = start.a, start.b, end.a, end.b
    return float(
        -0.5 * n * math.log(2.0 * math.pi)
        + 0.5 * (logdet_vt - logdet_v0)
        + a0 * math.log(b0)
        - at * math.log(bt)
        + special.gammaln(at)
        - special.gammaln(a0)
    )


def refined_update(
    prior: NIG,
    X: object,
    y: object,
    const_col: int | None = None,
    gram: FloatArray | None = None,
) -> NIG:
    """``prior.update(X, y)``, its ``m``, ``V`` and ``b`` as accurate as least squares on the rows.

    The posterior mean is the least-squares solution of the stacked system
    ``[Rxx_0; X] beta ~ [rxy_0; y]`` (the prior's factor as rows above the data,
    DESIGN.md "One core, two readings"), ``V`` its ``(A^T A)^-1`` and
    ``2 b = ryy_0^2 + ||residuals||^2``. :func:`duolm.core.lstsq` solves it as it
    solves the OLS fit: Householder QR with Björck's refinement in double-double
    (or, for many rows of a well-conditioned stack, a corrected Cholesky step),
    ``V`` refined the same way; a plain update loses up to ``cond^2 * eps``. The
    prior's all-zero rows are left out, so under the reference prior the stack is
    ``X`` itself and the posterior mean is the OLS estimate to the bit.

    The data part (``data_stat``) is the rows' statistic as :func:`duolm.core.lstsq`
    takes it (the Gram route for many rows of a well-conditioned design, Householder
    otherwise; the plain update's to rounding, at the cost of the OLS fit rather than a
    Householder factorisation of every row), so the result merges, forgets and
    serialises as any posterior; those operations return unrefined posteriors. When the
    rows or the stack are numerically rank deficient, the plain update.

    Parameters
    ----------
    prior : NIG
    X : array_like of shape (n, k)
    y : array_like of shape (n,)
    const_col : int, optional
        The design's constant column, passed to :func:`duolm.core.lstsq` when
        the stack is ``X`` alone (as the OLS fit passes it).
    gram : ndarray of shape (k + 1, k + 1), optional
        ``[X y]^T [X y]`` when the design's build took it (read instead of the rows).

    ``X`` may be a design's :class:`~duolm.core.Columns` (a frame's columns where they
    are, checked finite when the design was built): neither it nor the prior's rows
    stacked above it are copied into one matrix.
    """
    if isinstance(X, core.Columns):
        Xa: core.DesignMatrix = X
        ya = np.asarray(y, dtype=np.float64)
        if X.shape[1] != prior.k or ya.shape != (X.shape[0],):
            raise DataError(f"X must have {prior.k} columns and y one value per row of X")
    else:
        Xa, ya = _check_rows(X, y, prior.k)
    if len(ya) == 0:
        return prior
    k = prior.k
    R0 = prior.stat.R
    rows = np.flatnonzero(np.any(R0[:k] != 0.0, axis=1))
    # The data's own statistic as least squares takes it (the Gram route for a
    # well-conditioned design, Householder otherwise): a plain update would factor
    # every row by Householder, ~15x the OLS fit on 10^6 x 20.
    if gram is None and rows.size and len(ya) >= core.FAST_MIN_ROWS:
        gram = _sweep.gram(Xa, ya)  # taken once, for the data's fit and the stacked one
    own = core.lstsq(Xa, ya, const_col=const_col, cov=not rows.size, gram=gram)
    if prior.data_stat.nobs == 0 and np.all(own.kept):
        post = NIG.from_parts(prior.prior_stat, prior.nu0, own.stat, prior.label, prior.terms)
    else:
        post = prior.update(core.as_array(Xa), ya)
    if rows.size:  # the prior's rows above the data's, X not copied onto them
        fit = core.lstsq(Xa, ya, cov=True, gram=gram, above=(R0[rows, :k], R0[rows, k]))
    else:
        fit = own
    if not np.all(fit.kept) or fit.cov is None or not np.all(np.isfinite(fit.cov)):
        return post
    R = np.array(fit.stat.R)
    R[k, k] = math.hypot(R0[k, k], fit.stat.ryy)  # 2 b = 2 b_0 + ||residuals||^2
    data = post.data_stat
    refined = Refined(SqrtStat(R, data.nobs, data.y_mean, data.y_m2), fit.params, fit.cov)
    return NIG.from_parts(
        post.prior_stat, post.nu0, post.data_stat, post.label, post.terms, refined
    )
