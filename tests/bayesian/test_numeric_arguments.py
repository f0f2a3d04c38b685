"""Numbers from the user are validated and the parameter named (issue 14, item 9).

The class: a value that is not a number (``forget("0.5")``), or a number whose
square, inverse or factor leaves the doubles (``NIG.vague(k, scale=1e200)``,
``NIG(m, V, a, b)`` with ``V^-1/2 m`` or ``2 b`` beyond 1.8e308). Hypotheses are
in tests/frequentist/test_hypothesis_literals.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import duolm
from duolm.errors import PriorError

# -- the NIG's numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e200, 1e154, 1e-200, 1e-155])
def test_vague_scale_whose_square_leaves_the_doubles_is_refused(scale: float) -> None:
    with pytest.raises(PriorError, match=r"scale must be between 2\.98e-154 and 6\.7e\+153"):
        duolm.NIG.vague(2, scale=scale)


@pytest.mark.parametrize("scale", [1e150, 1e-150, 1.0])
def test_vague_scale_inside_the_range_is_exact(scale: float) -> None:
    prior = duolm.NIG.vague(3, scale=scale)
    np.testing.assert_allclose(prior.V, scale**2 * np.eye(3), rtol=1e-14, atol=0)
    assert np.all(np.isfinite(prior.prior_stat.R))


@pytest.mark.parametrize("name", ["scale", "a", "b"])
@pytest.mark.parametrize("value", ["1", b"1", None, True])
def test_vague_settings_that_are_not_numbers_are_named(name: str, value: object) -> None:
    with pytest.raises(PriorError, match=rf"{name} must be a number, got"):
        duolm.NIG.vague(2, **{name: value})  # type: ignore[arg-type]


def test_nig_whose_factor_overflows_names_the_parameter() -> None:
    with pytest.raises(PriorError, match=r"m is too large for V"):
        duolm.NIG(np.array([1e308, 1e308]), 1e-300 * np.eye(2), 1.0, 1.0)
    with pytest.raises(PriorError, match=r"b = 1e\+308 overflows"):
        duolm.NIG(np.zeros(2), np.eye(2), 1.0, 1e308)
    with pytest.raises(PriorError, match=r"nu must be a number, got '5'"):
        duolm.NIG.from_xi(np.eye(3), "5")  # type: ignore[arg-type]


@pytest.mark.parametrize("lam", ["0.5", b"0.5", None, True])
@pytest.mark.parametrize("toward", [None, "prior"])
def test_forget_names_lam_when_it_is_not_a_number(lam: object, toward: object) -> None:
    post = duolm.NIG.vague(2).update(np.array([[1.0, 2.0], [1.0, 3.0]]), np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"forgetting factor lam must be a number in \(0, 1\]"):
        post.forget(lam, toward)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"lam must be a number"):
        post.stat.forget(lam)  # type: ignore[arg-type]


def test_forget_accepts_numpy_numbers_and_refuses_nan() -> None:
    post = duolm.NIG.vague(2).update(np.array([[1.0, 2.0], [1.0, 3.0]]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(post.forget(np.float32(0.5)).nu, post.forget(0.5).nu, rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"lam must be in \(0, 1\], got nan"):
        post.forget(float("nan"))


def test_alias_tol_that_is_not_a_number_is_named() -> None:
    data = {"x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 2.0, 2.0, 4.0]}
    with pytest.raises(
        ValueError, match=r"alias_tol is a relative tolerance in \(0, 1\), got '0\.1'"
    ):
        duolm.ols("y ~ x", data, alias_tol="0.1")  # type: ignore[arg-type]
