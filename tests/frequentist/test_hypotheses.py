"""Linear hypotheses ``L beta = r``: text, matrix and ``(L, r)`` forms, and their errors.

Every expected ``(L, r)`` below is worked out by hand from the equation beside it.
"""

from __future__ import annotations

import numpy as np
import pytest

from duolm.errors import FormulaError
from duolm.frequentist import parse_hypothesis

NAMES = ["Intercept", "I(x ** 2)", "C(g)[T.b]", "x", "a", "b", "a:b"]


def _row(**coefs: float) -> list[float]:
    """A row of L over NAMES from keyword coefficients (names spelled as python ids)."""
    spelled = {
        "Intercept": "Intercept",
        "Ix2": "I(x ** 2)",
        "Cgb": "C(g)[T.b]",
        "x": "x",
        "a": "a",
        "b": "b",
        "ab": "a:b",
    }
    row = [0.0] * len(NAMES)
    for key, value in coefs.items():
        row[NAMES.index(spelled[key])] = value
    return row


@pytest.mark.parametrize(
    ("text", "L", "r"),
    [
        ("a = 0", [_row(a=1)], [0]),
        ("I(x ** 2) = 0", [_row(Ix2=1)], [0]),
        ("C(g)[T.b] - 2*x = 1", [_row(Cgb=1, x=-2)], [1]),
        ("2*a - b = 1", [_row(a=2, b=-1)], [1]),
        ("a*2 + 0.5*b = 3 - 1", [_row(a=2, b=0.5)], [2]),
        ("-a = -1", [_row(a=-1)], [-1]),
        ("3 = a", [_row(a=-1)], [-3]),
        ("a + a = 2", [_row(a=2)], [2]),
        ("a:b = 0", [_row(ab=1)], [0]),
        # a bare expression means "= 0"
        ("a", [_row(a=1)], [0]),
        ("a - b", [_row(a=1, b=-1)], [0]),
        # several equations, one row each
        (
            "a = b, x = 3, Intercept",
            [_row(a=1, b=-1), _row(x=1), _row(Intercept=1)],
            [0, 3, 0],
        ),
        (
            "I(x ** 2) + C(g)[T.b] = 1, a:b = 0",
            [_row(Ix2=1, Cgb=1), _row(ab=1)],
            [1, 0],
        ),
    ],
)
def test_text_forms(text: str, L: list[list[float]], r: list[float]) -> None:
    got_L, got_r = parse_hypothesis(text, NAMES)
    np.testing.assert_array_equal(got_L, np.array(L, dtype=float))
    np.testing.assert_array_equal(got_r, np.array(r, dtype=float))


def test_names_containing_commas_equals_and_other_names() -> None:
    names = ["Intercept", "C(g, contr.treatment(base='b'))[T.a]", "x", "x:z", "np.log(x)"]
    L, r = parse_hypothesis("C(g, contr.treatment(base='b'))[T.a] = 1, x:z = x", names)
    np.testing.assert_array_equal(L, [[0, 1, 0, 0, 0], [0, 0, -1, 1, 0]])
    np.testing.assert_array_equal(r, [1, 0])
    L, r = parse_hypothesis("np.log(x) - x", names)
    np.testing.assert_array_equal(L, [[0, 0, -1, 0, 1]])
    np.testing.assert_array_equal(r, [0])


def test_matrix_form_means_equal_to_zero() -> None:
    M = np.eye(len(NAMES))[[1, 4]]
    L, r = parse_hypothesis(M, NAMES)
    np.testing.assert_array_equal(L, M)
    np.testing.assert_array_equal(r, [0, 0])
    # one row given as a flat list
    L, r = parse_hypothesis(_row(a=1, b=1), NAMES)
    np.testing.assert_array_equal(L, [_row(a=1, b=1)])
    np.testing.assert_array_equal(r, [0])


def test_pair_form() -> None:
    M = np.eye(len(NAMES))[[0, 3]]
    L, r = parse_hypothesis((M, [1.5, -2.0]), NAMES)
    np.testing.assert_array_equal(L, M)
    np.testing.assert_array_equal(r, [1.5, -2.0])
    L, r = parse_hypothesis((_row(x=1), 2.0), NAMES)
    np.testing.assert_array_equal(L, [_row(x=1)])
    np.testing.assert_array_equal(r, [2.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("c = 0", r"unknown coefficient 'c' in hypothesis; names are \['Intercept'"),
        ("a + zz", "unknown coefficient 'zz'"),
        ("a*b = 0", r"hypothesis 'a\*b = 0' is not linear in the coefficients"),
        ("x**2", "not linear in the coefficients"),
        ("x/2 = 1", "not linear in the coefficients"),
        ("", "empty equation in hypothesis ''"),
        ("a = 0,", "empty equation in hypothesis 'a = 0,'"),
        ("a = 0, , b = 0", "empty equation"),
        ("a = 1 = 2", "more than one '='"),
        ("1 = 2", "involves no coefficient"),
        ("a +", "cannot parse hypothesis 'a \\+'"),
    ],
)
def test_text_errors(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        parse_hypothesis(text, NAMES)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a = b = 0", "more than one '=' in 'a = b = 0'"),
        ("a - a", "equation 'a - a' involves no coefficient"),
    ],
)
def test_error_messages_quote_the_users_equation(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        parse_hypothesis(text, NAMES)


@pytest.mark.parametrize(
    ("hypothesis", "message"),
    [
        (np.ones((2, 3)), r"must have 7 columns \(one per coefficient\), got \(2, 3\)"),
        ((np.eye(7)[:2], [1.0]), r"right-hand side must have 2 entries, got \(1,\)"),
        ([[np.nan] * 7], "hypothesis contains NaN or inf"),
        ((np.eye(7)[:1], [np.inf]), "hypothesis contains NaN or inf"),
    ],
)
def test_matrix_errors(hypothesis: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hypothesis(hypothesis, NAMES)


@pytest.mark.parametrize(
    ("hypothesis", "message"),
    [
        ("a = 0, a = 1", "linearly dependent"),
        ("a = b, 2*a - 2*b = 0, x", "linearly dependent"),
        (np.vstack([np.eye(7)[:2], np.eye(7)[:1]]), "linearly dependent"),
        (np.zeros((1, 7)), "row 0 involves no coefficient"),
        (np.zeros((0, 7)), "no equations"),
        ("a = 1e999", "not finite"),
    ],
)
def test_degenerate_hypotheses_are_refused(hypothesis: object, message: str) -> None:
    # they used to end in numpy's "Singular matrix", a ZeroDivisionError or an infinite effect
    with pytest.raises((ValueError, FormulaError), match=message):
        parse_hypothesis(hypothesis, NAMES)


def test_a_list_of_equations_is_their_conjunction() -> None:
    L, r = parse_hypothesis(["a = 1", "x = b"], NAMES)
    np.testing.assert_array_equal(L, [_row(a=1), _row(x=1, b=-1)])
    np.testing.assert_array_equal(r, [1.0, 0.0])
