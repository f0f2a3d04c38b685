"""Literals and nesting in hypotheses are validated and named (issue 14, item 9).

A literal no double holds (400 digits, ``1e999``) was an OverflowError or blamed on
linear dependence; 50,000 unary minus signs exhausted the parser's memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm.errors import FormulaError


@pytest.fixture(scope="module")
def fit() -> duolm.OLSResults:
    rng = np.random.default_rng(11)
    data = pd.DataFrame({"x": rng.normal(size=30), "z": rng.normal(size=30)})
    data["y"] = 1.0 + 2.0 * data.x + rng.normal(size=30)
    return duolm.ols("y ~ x + z", data)


# -- literals in hypotheses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hypothesis", "shown"),
    [
        ("1e999*x = 0", r"1e999"),
        ("x = 1e999", r"1e999"),
        ("x = -1e999", r"1e999"),
        ("x = " + "9" * 400, r"999999999999\.\.\. \(400 characters\)"),
        ("2*x + " + "7" * 400 + "*z = 1", r"777777777777\.\.\. \(400 characters\)"),
    ],
)
def test_a_literal_beyond_the_doubles_is_named(
    fit: duolm.OLSResults, hypothesis: str, shown: str
) -> None:
    for method in (fit.t_test, fit.f_test):
        with pytest.raises(FormulaError, match=rf"the number {shown} in hypothesis .* not finite"):
            method(hypothesis)


def test_an_equation_whose_arithmetic_overflows_is_named(fit: duolm.OLSResults) -> None:
    with pytest.raises(FormulaError, match=r"equation '1e200\*x = 1e200\*1e200' overflows"):
        fit.t_test("1e200*x = 1e200*1e200")


@pytest.mark.parametrize("chars", ["-", "+", "(", "-(", "- "])
def test_deep_nesting_is_refused_before_the_parser_runs(fit: duolm.OLSResults, chars: str) -> None:
    body = chars * 50_000 + "x" + (")" * (50_000 * chars.count("(")))
    with pytest.raises(FormulaError, match=r"nests \d+ signs or parentheses in a row; at most 100"):
        fit.t_test(body + " = 0")


def test_ordinary_hypotheses_still_agree_with_statsmodels(fit: duolm.OLSResults) -> None:
    import statsmodels.formula.api as smf

    data = pd.DataFrame({"x": fit.rows.X[:, 1], "z": fit.rows.X[:, 2], "y": fit.rows.y})
    ref = smf.ols("y ~ x + z", data).fit()
    for hypothesis in ["x - -z = 2", "x = -(-(1))", "2*x - 3*z = 0.5", "-(x) = 1e300*0"]:
        mine, theirs = fit.t_test(hypothesis), ref.t_test(hypothesis.replace("-(x)", "-x"))
        np.testing.assert_allclose(
            np.asarray(mine[["se", "t", "pvalue"]].iloc[0], dtype=float),
            [float(np.squeeze(v)) for v in (theirs.sd, theirs.tvalue, theirs.pvalue)],
            rtol=1e-9,
            atol=0,
        )
