"""The Durbin-Watson note suggests a quadratic term only to a model without one (item 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import duolm


@pytest.fixture(scope="module")
def drifting() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.arange(200.0)
    return pd.DataFrame({"t": t, "y": 1e-4 * t**3 + np.cumsum(rng.normal(size=200))})


def note(fit: duolm.OLSResults) -> str:
    (text,) = [n for n in fit.summary().notes if "Durbin-Watson" in n]
    return text


def test_a_straight_line_is_told_of_a_quadratic_term(drifting: pd.DataFrame) -> None:
    assert "e.g. a quadratic term" in note(duolm.ols("y ~ t", drifting))


@pytest.mark.parametrize(
    "formula", ["y ~ t + I(t**2)", "y ~ I(t ** 3)", "y ~ poly(t, 2)", "y ~ bs(t, df=4)"]
)
def test_a_curved_model_is_not_told_to_add_what_it_has(
    drifting: pd.DataFrame, formula: str
) -> None:
    text = note(duolm.ols(formula, drifting))
    assert "quadratic" not in text
    assert "a higher degree, a spline, another input" in text
