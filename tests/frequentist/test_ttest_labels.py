"""t_test says which hypothesis each row tests (issue 14, item 15)."""

from __future__ import annotations

import numpy as np

import duolm


def test_t_test_rows_carry_their_equations() -> None:
    fit = duolm.ols("height ~ time + I(time**2)", duolm.datasets.tracking())
    test = fit.t_test("time = 0,  I(time ** 2) = 0.3")
    assert test.index.tolist() == ["time = 0", "I(time ** 2) = 0.3"]
    assert list(test.columns) == ["effect", "se", "t", "pvalue", "lower", "upper"]
    assert test.index.name == "hypothesis"
    listed = fit.t_test(["time = 0", "I(time ** 2) = 0.3"])
    np.testing.assert_allclose(listed["t"], test["t"], rtol=0, atol=0)


def test_a_matrix_hypothesis_is_written_out() -> None:
    fit = duolm.ols("height ~ time + I(time**2)", duolm.datasets.tracking())
    test = fit.t_test(([[0.0, 1.0, -0.5], [1.0, 0.0, 0.0]], [2.0, 0.0]))
    assert test.index.tolist() == ["time - 0.5*I(time ** 2) = 2", "Intercept = 0"]
    same = fit.t_test("time - 0.5*I(time ** 2) = 2, Intercept = 0")
    np.testing.assert_allclose(test["t"], same["t"], rtol=1e-13, atol=0)


def test_names_with_commas_do_not_split_an_equation() -> None:
    rng = np.random.default_rng(3)
    data = {"x": rng.uniform(0, 1, 60), "y": rng.normal(size=60)}
    fit = duolm.ols("y ~ bs(x, df=4)", data)
    name = fit.params.index[1]
    assert "," in name
    assert fit.t_test(f"{name} = 0").index.tolist() == [f"{name} = 0"]
