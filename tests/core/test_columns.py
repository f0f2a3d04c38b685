"""A design held as columns (duolm.core.Columns): the solver reads them as it reads X.

The least-squares fit of :class:`Columns` (the intercept implicit) against the fit
of the same matrix built, on each of the solver's paths (Cholesky, centred
Cholesky, Householder), and against the Householder path with refinement.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from duolm.core import Columns, _solver, _sweep, as_array, lstsq

N = _sweep.KERNEL_MIN_ROWS + 3_217  # the kernels apply; not a multiple of any tile


def _frame_block(seed: int, p: int, offset: float = 0.0) -> tuple[Columns, np.ndarray]:
    rng = np.random.default_rng(seed)
    block = rng.standard_normal((p, N)) + offset  # as pandas holds a frame's columns
    cols = Columns(tuple(block), 0, N)
    y = cols.array @ rng.standard_normal(p + 1) + rng.standard_normal(N)
    return cols, y


def test_columns_build_the_matrix_once_read_only() -> None:
    a, b = np.array([2.0, 3.0, 5.0]), np.array([7.0, 11.0, 13.0])
    cols = Columns((a, b), intercept=1, nrows=3)
    assert cols.shape == (3, 3) and cols.positions.tolist() == [0, 2]
    X = as_array(cols)
    assert X.tolist() == [[2.0, 1.0, 7.0], [3.0, 1.0, 11.0], [5.0, 1.0, 13.0]]
    assert X is cols.array and X.flags.f_contiguous and not X.flags.writeable
    assert as_array(X) is X


@pytest.mark.parametrize(
    ("parts", "intercept", "message"),
    [
        ((np.ones(3),), 2, "intercept position 2"),
        ((np.ones(4),), 0, r"shape \(3,\)"),
        ((np.ones(3, dtype=np.float32),), None, "float64"),
        ((np.ones(6)[::2],), None, "contiguous"),
    ],
)
def test_columns_refuse_what_the_sweeps_cannot_read(
    parts: tuple[np.ndarray, ...], intercept: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Columns(parts, intercept, 3)


def test_fit_of_columns_is_the_fit_of_the_matrix() -> None:
    built, y = _frame_block(1, 8)
    cols = Columns(built.parts, 0, N)  # the same columns, the matrix not built
    got = lstsq(cols, y, const_col=0)
    want = lstsq(built.array, y, const_col=0)
    assert got.method == want.method == "cholesky"
    assert_allclose(got.params, want.params, rtol=1e-13, atol=0)
    assert_allclose(got.resid, want.resid, rtol=0, atol=1e-13)
    assert_allclose(got.stat.R, want.stat.R, rtol=1e-12, atol=1e-9)
    assert_allclose(got.moments.m2, want.moments.m2, rtol=1e-13, atol=0)  # type: ignore[union-attr]
    assert got.squares is not None and want.squares is not None
    assert_allclose(got.squares.xu, want.squares.xu, rtol=1e-10, atol=1e-6)
    ref = _solver._lstsq_householder(built.array, y, 1e-12)  # refined, from the rows
    assert_allclose(got.params, ref.params, rtol=1e-12, atol=0)
    assert "array" not in cols.__dict__  # the Cholesky path never built the matrix


def test_fit_of_columns_far_from_zero_takes_the_centred_path() -> None:
    cols, y = _frame_block(2, 5, offset=1e4)  # nearly collinear with the intercept
    got = lstsq(cols, y, const_col=0)
    want = lstsq(cols.array, y, const_col=0)
    assert got.method == want.method == "cholesky-centred"
    ref = _solver._lstsq_householder(cols.array, y, 1e-12)
    assert_allclose(got.params, ref.params, rtol=1e-9, atol=0)
    assert_allclose(got.params, want.params, rtol=1e-10, atol=0)
    assert_allclose(got.stat.ssr, ref.stat.ssr, rtol=1e-10, atol=0)


def test_aliased_columns_fall_back_to_householder() -> None:
    cols, y = _frame_block(3, 4)
    twice = Columns((*cols.parts, 2.0 * cols.parts[1]), 0, N)
    fit = lstsq(twice, y, const_col=0)
    assert fit.method == "householder" and fit.kept.tolist() == [True] * 5 + [False]
    assert_allclose(fit.params, lstsq(cols, y, const_col=0).params, rtol=1e-11, atol=0)


def test_a_given_gram_matrix_is_read_instead_of_the_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cols, y = _frame_block(4, 6)
    G = _sweep.gram(cols, y)
    monkeypatch.setattr(_sweep, "gram", lambda *args: pytest.fail("read the rows again"))
    fit = lstsq(cols, y, const_col=0, gram=G)
    assert fit.method == "cholesky"
    assert_allclose(fit.stat.ssr, float(fit.resid @ fit.resid), rtol=1e-13, atol=0)
