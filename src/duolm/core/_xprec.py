"""Residuals in twice the working precision, from float64 pairs.

Iterative refinement of a least-squares solution gains digits only when its
residuals are computed more accurately than the solution itself (Björck,
*Numerical Methods for Least Squares Problems*, 1996, sec. 2.9). numpy's
``longdouble`` is plain double on some platforms (Windows, macOS on arm64),
so these kernels build the extra precision from error-free transformations
of float64 numbers instead: Dekker's split and two-product, Knuth's two-sum,
combined as in Ogita, Rump and Oishi, "Accurate sum and dot product" (SIAM J.
Sci. Comput. 26, 2005), algorithms Sum2 and Dot2. The result of each kernel
is as accurate as if it had been computed in double-double precision and
then rounded to float64.

Inputs must be well inside the float64 range (``|a| < 1e290``): the callers
scale columns by powers of two first, which is exact.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from duolm.core._jit import compiled

FloatArray = NDArray[np.float64]

_SPLITTER = 2.0**27 + 1.0  # Dekker's constant for 53-bit mantissas


def two_sum(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return ``s, e`` with ``s = fl(a + b)`` and ``a + b = s + e`` exactly (Knuth)."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def split(a: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return ``hi, lo`` with ``a = hi + lo`` and each half fitting in 26 bits (Dekker)."""
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(
    a: FloatArray, b: FloatArray, a_split: tuple[FloatArray, FloatArray] | None = None
) -> tuple[FloatArray, FloatArray]:
    """Return ``p, e`` with ``p = fl(a * b)`` and ``a * b = p + e`` exactly (Dekker)."""
    p = a * b
    ah, al = split(a) if a_split is None else a_split
    bh, bl = split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def residual(
    y: FloatArray, A: FloatArray, x: FloatArray, r: FloatArray | None = None
) -> FloatArray:
    """Return ``y - r - A @ x`` accurate to the last bit of float64 (Dot2).

    Parameters
    ----------
    y : ndarray of shape (n,) or (n, m)
    A : ndarray of shape (n, k)
        Best given in Fortran order: the kernel walks its columns.
    x : ndarray of shape (k,) or (k, m)
        With m columns, each column of the result is that of ``y``, ``r`` and ``x``
        (each column of A is split once for all of them).
    r : ndarray of the shape of y, optional
        A vector subtracted as well (the residual estimate of Björck's
        augmented system).

    Examples
    --------
    >>> A = np.array([[1e16, 1.0], [1.0, 1.0]])
    >>> residual(np.array([1.0, 2.0]), A, np.array([1.0, -1e16]))
    array([1.e+00, 1.e+16])
    """
    s = np.array(y, dtype=np.float64, copy=True)
    c = np.zeros_like(s)
    if r is not None:
        s, e = two_sum(s, -r)
        c += e
    columns = x.ndim == 2
    for j in range(A.shape[1]):
        a = A[:, j, None] if columns else A[:, j]
        p, pe = two_prod(a, -x[j][None, :] if columns else np.full(1, -x[j]))
        s, e = two_sum(s, p)
        c += e + pe
    out: FloatArray = s + c
    return out


def cross(
    A: FloatArray, r: FloatArray, a_split: tuple[FloatArray, FloatArray] | None = None
) -> FloatArray:
    """Return ``A.T @ r`` with every entry accurate to the last bit (pairwise Sum2).

    Parameters
    ----------
    A : ndarray of shape (n, k)
    r : ndarray of shape (n,)
    a_split : pair of ndarray of shape (n, k), optional
        ``split(A)``, when the caller reuses it across vectors ``r``.

    Returns
    -------
    ndarray of shape (k,)

    Examples
    --------
    >>> A = np.array([[1.0], [1e-16], [-1.0]])
    >>> cross(A, np.array([1.0, 1.0, 1.0]))
    array([1.e-16])
    """
    s, err = two_prod(A, r[:, None], a_split)
    comp = err.sum(axis=0)
    while s.shape[0] > 1:
        if s.shape[0] % 2:
            s = np.vstack([s, np.zeros((1, s.shape[1]))])
        s, e = two_sum(s[0::2], s[1::2])
        comp += e.sum(axis=0)
    out: FloatArray = (s[0] if s.shape[0] else np.zeros(A.shape[1])) + comp
    return out


def cross_columns(A: FloatArray, B: FloatArray) -> FloatArray:
    """Return ``A.T @ B`` with every entry accurate to the last bit (:func:`cross` by rows).

    Parameters
    ----------
    A : ndarray of shape (n, k)
    B : ndarray of shape (n, m)

    Returns
    -------
    ndarray of shape (k, m)

    Examples
    --------
    >>> A = np.array([[1.0, 2.0], [1e-16, 0.0], [-1.0, 0.0]])
    >>> cross_columns(A, np.ones((3, 1)))
    array([[1.e-16],
           [2.e+00]])
    """
    b_split = split(B)
    out: FloatArray = np.stack([cross(B, A[:, j], b_split) for j in range(A.shape[1])])
    return out


def _augmented_source(A: Any, X: Any, Rr: Any, F: Any, G: Any) -> None:  # pragma: no cover
    """``F = -(Rr + A X)`` and ``G = -(I + A^T Rr)`` accurate to the last bit (Dot2).

    The residuals of the augmented systems ``r_j + A x_j = 0, A^T r_j = -e_j`` (the
    columns of ``(A^T A)^-1``, :func:`duolm.core._solver._refine_inverse`) in one
    compiled pass over the rows: Dekker's two-product and Knuth's two-sum, with the
    errors carried in a second sum (Ogita, Rump & Oishi 2005, Dot2). Compiled by numba
    (:func:`augmented_residuals`); run as Python only in its test.
    """
    n, k = A.shape
    m = X.shape[1]
    split = 134217729.0  # 2**27 + 1
    S = np.zeros((k, m))
    C = np.zeros((k, m))
    for j in range(min(k, m)):
        S[j, j] = 1.0
    for i in range(n):
        for j in range(m):
            s = -Rr[i, j]
            c = 0.0
            for ell in range(k):
                a = A[i, ell]
                b = -X[ell, j]
                p = a * b
                t = split * a
                ah = t - (t - a)
                al = a - ah
                t = split * b
                bh = t - (t - b)
                bl = b - bh
                pe = ((ah * bh - p) + ah * bl + al * bh) + al * bl
                x = s + p
                z = x - s
                e = (s - (x - z)) + (p - z)
                s = x
                c += e + pe
            F[i, j] = s + c
        for ell in range(k):
            a = A[i, ell]
            t = split * a
            ah = t - (t - a)
            al = a - ah
            for j in range(m):
                b = Rr[i, j]
                p = a * b
                t = split * b
                bh = t - (t - b)
                bl = b - bh
                pe = ((ah * bh - p) + ah * bl + al * bh) + al * bl
                s = S[ell, j]
                x = s + p
                z = x - s
                e = (s - (x - z)) + (p - z)
                S[ell, j] = x
                C[ell, j] += e + pe
    for ell in range(k):
        for j in range(m):
            G[ell, j] = -(S[ell, j] + C[ell, j])


@functools.cache
def _augmented_kernel() -> Callable[..., Any] | None:
    return compiled(_augmented_source)


def augmented_residuals(
    A: FloatArray, X: FloatArray, Rr: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``-(Rr + A X)`` and ``-(I + A^T Rr)``, each entry accurate to the last bit.

    Parameters
    ----------
    A : ndarray of shape (n, k)
    X : ndarray of shape (k, m)
    Rr : ndarray of shape (n, m)

    Returns
    -------
    F : ndarray of shape (n, m)
    G : ndarray of shape (k, m)
        ``I`` is the (k, m) identity block.

    One compiled pass (numba); without numba, :func:`residual` and
    :func:`cross_columns` (the same accuracy, numpy speed).

    Examples
    --------
    >>> A = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> F, G = augmented_residuals(A, np.diag([1.0, 0.3]), -np.diag([1.0, 0.5]))
    >>> (F + 0.0).round(12).tolist(), (G + 0.0).tolist()
    ([[0.0, 0.0], [0.0, -0.1]], [[0.0, 0.0], [0.0, 0.0]])
    """
    kernel = _augmented_kernel()
    n, k = A.shape
    m = X.shape[1]
    if kernel is None:
        eye = np.eye(k, m)
        F = residual(np.zeros((n, m)), A, X, Rr)
        G = -cross_columns(np.vstack([A, np.eye(k)]), np.vstack([Rr, eye]))
        return F, G
    F, G = np.empty((n, m)), np.empty((k, m))
    kernel(np.ascontiguousarray(A), np.ascontiguousarray(X), np.ascontiguousarray(Rr), F, G)
    return F, G
