"""Double-double kernels against exact rational arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from duolm.core import _xprec


def _exact_residual(y: np.ndarray, A: np.ndarray, x: np.ndarray) -> list[float]:
    out = []
    for i in range(len(y)):
        s = Fraction(float(y[i])) - sum(
            Fraction(float(A[i, j])) * Fraction(float(x[j])) for j in range(A.shape[1])
        )
        out.append(float(s))
    return out


def test_residual_is_correctly_rounded_under_cancellation() -> None:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 6))
    x = rng.normal(size=6)
    y = A @ x + rng.normal(size=200) * 1e-13  # residuals 1e3 below rounding of A @ x
    got = _xprec.residual(y, np.asfortranarray(A), x)
    np.testing.assert_allclose(got, _exact_residual(y, A, x), rtol=1e-15, atol=1e-300)


def test_cross_is_correctly_rounded_under_cancellation() -> None:
    rng = np.random.default_rng(1)
    A = rng.normal(size=(301, 3))
    r = rng.normal(size=301)
    r -= A @ np.linalg.lstsq(A, r, rcond=None)[0]  # A^T r ~ 1e-14: all cancellation
    exact = [
        float(sum(Fraction(float(A[i, j])) * Fraction(float(r[i])) for i in range(301)))
        for j in range(3)
    ]
    np.testing.assert_allclose(_xprec.cross(A, r), exact, rtol=1e-14, atol=1e-300)


def test_column_kernels_are_correctly_rounded_column_by_column() -> None:
    rng = np.random.default_rng(2)
    A = rng.normal(size=(50, 4))
    X = rng.normal(size=(4, 3))
    Y = A @ X + rng.normal(size=(50, 3)) * 1e-13
    got = _xprec.residual(Y, np.asfortranarray(A), X)
    for j in range(3):
        np.testing.assert_allclose(
            got[:, j], _exact_residual(Y[:, j], A, X[:, j]), rtol=1e-15, atol=1e-300
        )
    B = Y - A @ np.linalg.lstsq(A, Y, rcond=None)[0]  # A^T B ~ 1e-14: all cancellation
    exact = [
        [float(sum(Fraction(float(A[i, j])) * Fraction(float(B[i, c])) for i in range(50)))
         for c in range(3)]
        for j in range(4)
    ]  # fmt: skip
    np.testing.assert_allclose(_xprec.cross_columns(A, B), exact, rtol=1e-14, atol=1e-300)


def test_compiled_augmented_residuals_are_correctly_rounded() -> None:
    rng = np.random.default_rng(3)
    A = rng.normal(size=(40, 3))
    V = np.linalg.inv(A.T @ A)
    X = V + rng.normal(size=(3, 3)) * 1e-14
    Rr = -(A @ X) + rng.normal(size=(40, 3)) * 1e-15
    assert _xprec._augmented_kernel() is not None
    F, G = _xprec.augmented_residuals(A, X, Rr)
    Af, Xf, Rf = (
        [[Fraction(float(v)) for v in row] for row in M] for M in (A, X, Rr)
    )  # fmt: skip
    for i in range(40):
        for j in range(3):
            exact = -(Rf[i][j] + sum(Af[i][m] * Xf[m][j] for m in range(3)))
            assert abs(F[i, j] - float(exact)) <= 1e-15 * abs(float(exact)) + 1e-300
    for r in range(3):
        for j in range(3):
            exact = -(int(r == j) + sum(Af[i][r] * Rf[i][j] for i in range(40)))
            assert abs(G[r, j] - float(exact)) <= 1e-15 * abs(float(exact)) + 1e-300
    # the numpy path (without numba) gives the same numbers
    F2 = _xprec.residual(np.zeros((40, 3)), np.asfortranarray(A), X, Rr)
    G2 = -_xprec.cross_columns(np.vstack([A, np.eye(3)]), np.vstack([Rr, np.eye(3)]))
    np.testing.assert_allclose(F, F2, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(G, G2, rtol=1e-15, atol=1e-300)
