"""Formulas are user input: only whitelisted code may reach formulaic's eval."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from formulaic import Formula, model_matrix

from duolm.design import evaluation_context, from_formula, parse_formula
from duolm.errors import FormulaError

COLUMNS = ["y", "x", "g", "my col"]


@pytest.fixture
def data() -> pd.DataFrame:
    return pd.DataFrame(
        {"y": [1.0, 2.0, 4.0], "x": [1.0, 2.0, 3.0], "g": ["a", "b", "a"], "my col": [3.0, 1, 2]}
    )


ATTACKS = [
    "y ~ x + __import__('os').system('touch {p}')",
    "y ~ x + {{__import__('os').system('touch {p}')}}",
    "y ~ I(__import__('os').system('touch {p}'))",
    "y ~ x + open('{p}', 'w')",
    "y ~ I(open('{p}', 'w'))",
    "{{open('{p}', 'w')}} ~ x",
    "np.log(y) ~ I(open('{p}', 'w'))",
    "y ~ I(().__class__.__bases__[0].__subclasses__())",
    "y ~ I(np.__dict__['save']('{p}', x))",
    "y ~ I(np.save('{p}', x))",
    "y ~ I(x.__class__)",
    "y ~ I(x.to_csv('{p}'))",
    "y ~ I('{{0.__class__}}'.format(x))",
    "y ~ exec(\"open('{p}', 'w')\")",
    "y ~ I(eval(\"open('{p}', 'w')\"))",
    "y ~ I(getattr(np, 'save')('{p}', x))",
    "y ~ I(globals())",
    "y ~ I(__builtins__)",
    "y ~ I((lambda: open('{p}', 'w'))())",
    "y ~ I([open('{p}', 'w') for _ in 'a'])",
    "y ~ I((z := open('{p}', 'w')))",
    "y ~ I(*x)",
    "y ~ I(x if open('{p}', 'w') else x)",
    "y ~ C(g, _context=open('{p}', 'w'))",
    "y ~ Q('__builtins__')",
    "y ~ I(['a'] * 10**9)",
    "y ~ I(10**10**10)",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_formula_cannot_run_code(attack: str, data: pd.DataFrame, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    with pytest.raises(FormulaError):
        from_formula(attack.format(p=target), data)
    assert not target.exists()


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ open('f')", r"'open' is not allowed"),
        ("y ~ I(x.__class__)", r"'x.__class__' is not allowed: only np.<function>"),
        ("y ~ I(np.__dict__)", r"'np.__dict__' is not an allowed function"),
        ("y ~ I(x[0])", r"'x\[0\]' is not allowed in a formula \(Subscript\)"),
        ("y ~ I(lambda: 1)", r"\(Lambda\)"),
        ("y ~ getattr(x, 'a')", r"'getattr' is not allowed"),
        ("y ~ I(np.load('f'))", r"'np.load' is not an allowed function"),
        ("y ~ I(np)", r"'np' can only be called"),
        ("y ~ I(log)", r"'log' can only be called"),
        ("y ~ frobnicate(x)", r"'frobnicate' is not a known function"),
        ("y ~ I(x + 'a')", r"is not arithmetic on numbers"),
        ("y ~ C(g, **{'a': 1})", r"keyword argument that is not allowed"),
        ("y ~ I(x < 1)", r"\(Compare\)"),
    ],
)
def test_refusal_names_the_offending_piece(formula: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        parse_formula(formula, COLUMNS)


def test_allowed_code_parses_and_reports_columns() -> None:
    parsed = parse_formula(
        "np.log(y) ~ x + log1p(x) + np.sqrt(`my col`) + C(g, levels=['b', 'a']) + "
        "I(-x**2 / 2) + poly(x, degree=2) + Q('my col') + I(np.pi * x) + C(g, contr.sum)",
        COLUMNS,
    )
    assert parsed.response == "np.log(y)"
    assert parsed.lhs_columns == ("y",)
    assert parsed.rhs_columns == ("x", "my col", "g")
    assert parsed.categorical_only == frozenset({"g"})
    assert parsed.factor_columns["np.sqrt(`my col`)"] == ("my col",)


def test_column_used_plainly_and_in_c_is_not_categorical_only() -> None:
    assert parse_formula("y ~ C(x) + x", COLUMNS).categorical_only == frozenset()


def test_column_shadowing_a_function_is_refused() -> None:
    with pytest.raises(FormulaError, match="'log' is a data column, not a function"):
        parse_formula("y ~ log(x)", [*COLUMNS, "log"])
    with pytest.raises(FormulaError, match="'np' is also a data column"):
        parse_formula("y ~ np.log(x)", [*COLUMNS, "np"])


def test_unknown_names_list_the_columns() -> None:
    with pytest.raises(FormulaError, match=r"unknown name 'z' in formula; columns are: g, my col"):
        parse_formula("y ~ np.log(z)", COLUMNS)
    with pytest.raises(FormulaError, match=r"unknown name 'other col'"):
        parse_formula("y ~ `other col`", COLUMNS)


def test_moderate_constant_powers_are_fine() -> None:
    parse_formula("y ~ I(x * 10**3) + I(x ** -2) + I(2 ** 0.5 * x)", COLUMNS)
    with pytest.raises(FormulaError, match="constant power too large"):
        parse_formula("y ~ I(x * (-(10**1000))**1000)", COLUMNS)


def test_context_refuses_builtins_even_without_the_ast_check(tmp_path: Path) -> None:
    # Defence in depth: formulaic resolving a name through our context never
    # reaches the real builtins or the full numpy module.
    target = tmp_path / "pwned"
    frame = pd.DataFrame({"y": [1.0, 2.0], "x": [1.0, 2.0]})
    with pytest.raises(Exception, match="'open' is not allowed"):
        model_matrix(Formula(f"y ~ open('{target}', 'w')"), frame, context=evaluation_context())
    with pytest.raises(Exception, match="has no attribute 'save'"):
        model_matrix(Formula(f"y ~ np.save('{target}', x)"), frame, context=evaluation_context())
    assert not target.exists()


def test_columns_named_like_code_are_only_looked_up(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    name = f"open('{target}', 'w')"
    frame = pd.DataFrame({"y": [1.0, 2.0, 4.0], name: [1.0, 2.0, 5.0]})
    design = from_formula("y ~ .", frame)
    assert design.spec.terms == ("Intercept", name)
    assert not target.exists()


@pytest.mark.parametrize(
    "formula", ["y ~ (a+b+c+d)**12", "y ~ (a+b)**100", "y ~ (a+b+c+d+e+f+g+h+i+j+k+l)**12"]
)
def test_a_power_of_a_sum_beyond_its_terms_is_refused_before_formulaic(formula: str) -> None:
    """formulaic multiplies the sum out k times: (a+b+c+d)**12 took 451 s of CPU."""
    with pytest.raises(FormulaError, match=r"power above the number of terms|expands to"):
        parse_formula(formula, list("yabcdefghijkl"))
    assert parse_formula("y ~ (a+b+c)**3", list("yabc")).rhs_columns == ("a", "b", "c")
