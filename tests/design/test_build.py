"""Design matrices from formulas and arrays (duolm.design)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from duolm.design import Design, from_arrays, from_formula
from duolm.errors import DataError, FormulaError

X_VALUES = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


@pytest.fixture
def data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [1.0, 3.0, 2.0, 5.0, 4.0, 7.0],
            "x": X_VALUES,
            "z": [0.5, -1.0, 2.0, 0.0, 1.5, 3.0],
            "g": ["a", "b", "c", "a", "b", "c"],
            "flag": [True, False, True, True, False, False],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def check_matrix(design: Design) -> None:
    n, k = len(design.index), len(design.spec.terms)
    assert design.X.shape == (n, k) and design.y.shape == (n,)
    # C order, or F order for a plain formula's columns copied one by one (issue 13)
    assert design.X.dtype == np.float64
    assert design.X.flags["C_CONTIGUOUS"] or design.X.flags["F_CONTIGUOUS"]
    assert design.y.dtype == np.float64
    assert np.isfinite(design.X).all() and np.isfinite(design.y).all()


# ---------------------------------------------------------------- formulas


def test_quadratic_equals_hand_built_matrix(data: pd.DataFrame) -> None:
    design = from_formula("y ~ x + I(x**2)", data)
    x = np.array(X_VALUES)
    assert_array_equal(design.X, np.column_stack([np.ones(6), x, x**2]))
    assert_array_equal(design.y, data["y"].to_numpy())
    assert design.spec.terms == ("Intercept", "x", "I(x ** 2)")
    assert design.spec.response == "y"
    assert design.spec.has_intercept
    assert design.spec.formula == "y ~ x + I(x**2)"
    assert design.n_dropped == 0
    assert design.index.equals(data.index)
    check_matrix(design)


@pytest.mark.parametrize("formula", ["y ~ x - 1", "y ~ 0 + x", "y ~ -1 + x"])
def test_no_intercept(formula: str, data: pd.DataFrame) -> None:
    design = from_formula(formula, data)
    assert design.spec.terms == ("x",)
    assert not design.spec.has_intercept
    assert_array_equal(design.X[:, 0], X_VALUES)


def test_polynomial_to_degree_ten(data: pd.DataFrame) -> None:
    formula = "y ~ x + " + " + ".join(f"I(x**{p})" for p in range(2, 11))
    design = from_formula(formula, data)
    assert_allclose(design.X, np.vander(X_VALUES, 11, increasing=True), rtol=1e-15, atol=0)
    assert design.spec.terms[-1] == "I(x ** 10)"


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("log", np.log),
        ("log1p", np.log1p),
        ("log10", np.log10),
        ("sqrt", np.sqrt),
        ("exp", np.exp),
        ("abs", np.abs),
        ("sin", np.sin),
        ("arctan", np.arctan),
        ("square", np.square),
        ("floor", np.floor),
    ],
)
def test_bare_and_np_functions(name: str, function: np.ufunc, data: pd.DataFrame) -> None:
    bare = from_formula(f"y ~ {name}(x)", data)
    dotted = from_formula(f"y ~ np.{name}(x)", data)
    assert bare.spec.terms == ("Intercept", f"{name}(x)")
    assert dotted.spec.terms == ("Intercept", f"np.{name}(x)")
    assert_array_equal(bare.X[:, 1], function(np.array(X_VALUES)))
    assert_array_equal(dotted.X[:, 1], bare.X[:, 1])


def test_function_of_response(data: pd.DataFrame) -> None:
    design = from_formula("np.log(y) ~ x", data)
    assert design.spec.response == "np.log(y)"
    assert_array_equal(design.y, np.log(data["y"].to_numpy()))


def test_categorical_with_c_and_plain_text(data: pd.DataFrame) -> None:
    with_c = from_formula("y ~ C(g)", data)
    plain = from_formula("y ~ g", data)
    dummies = np.column_stack([np.ones(6), data["g"] == "b", data["g"] == "c"]).astype(float)
    assert with_c.spec.terms == ("Intercept", "C(g)[T.b]", "C(g)[T.c]")
    assert plain.spec.terms == ("Intercept", "g[T.b]", "g[T.c]")
    assert_array_equal(with_c.X, dummies)
    assert_array_equal(plain.X, dummies)


def test_categorical_levels_and_contrasts(data: pd.DataFrame) -> None:
    design = from_formula("y ~ C(g, levels=['c', 'b', 'a'])", data)
    assert design.spec.terms == (
        "Intercept",
        "C(g, levels=['c', 'b', 'a'])[T.b]",
        "C(g, levels=['c', 'b', 'a'])[T.a]",
    )
    summed = from_formula("y ~ C(g, contr.sum)", data)
    assert summed.X.shape == (6, 3)


def test_numeric_column_as_categorical(data: pd.DataFrame) -> None:
    data["cyl"] = [4, 6, 8, 4, 6, 8]
    design = from_formula("y ~ C(cyl)", data)
    assert design.spec.terms == ("Intercept", "C(cyl)[T.6]", "C(cyl)[T.8]")


def test_interactions(data: pd.DataFrame) -> None:
    x, z = np.array(X_VALUES), data["z"].to_numpy()
    colon = from_formula("y ~ x:z", data)
    assert colon.spec.terms == ("Intercept", "x:z")
    assert_array_equal(colon.X[:, 1], x * z)
    star = from_formula("y ~ x*z", data)
    assert star.spec.terms == ("Intercept", "x", "z", "x:z")
    assert_array_equal(star.X, np.column_stack([np.ones(6), x, z, x * z]))
    mixed = from_formula("y ~ x:g", data)
    assert mixed.spec.terms == ("Intercept", "x:g[a]", "x:g[b]", "x:g[c]")


def test_boolean_column_is_zero_one(data: pd.DataFrame) -> None:
    design = from_formula("y ~ flag", data)
    assert design.spec.terms == ("Intercept", "flag")
    assert_array_equal(design.X[:, 1], [1.0, 0, 1, 1, 0, 0])


def test_stateful_transforms(data: pd.DataFrame) -> None:
    x = np.array(X_VALUES)
    design = from_formula("y ~ center(x) + scale(z) + poly(x, 2) + bs(x, df=3) + cr(x, df=3)", data)
    assert design.spec.terms[:5] == (
        "Intercept",
        "center(x)",
        "scale(z)",
        "poly(x, 2)[1]",
        "poly(x, 2)[2]",
    )
    assert len(design.spec.terms) == 11
    assert_allclose(design.X[:, 1], x - x.mean(), rtol=0, atol=1e-15)
    z = data["z"].to_numpy()
    assert_allclose(design.X[:, 2], (z - z.mean()) / z.std(ddof=1), rtol=1e-14, atol=1e-15)
    check_matrix(design)


def test_dot_means_all_other_columns() -> None:
    frame = pd.DataFrame({"y": [1.0, 2, 4], "a": [1.0, 0, 1], "b": [2.0, 1, 0]})
    assert from_formula("y ~ .", frame).spec.terms == ("Intercept", "a", "b")


def test_backticks_and_q_for_awkward_names() -> None:
    frame = pd.DataFrame({"y": [1.0, 2, 4], "my col": [1.0, 0, 3]})
    design = from_formula("y ~ `my col` + I(`my col` ** 2) + Q('my col')", frame)
    assert design.spec.terms == ("Intercept", "my col", "I(`my col` ** 2)", "Q('my col')")
    assert_array_equal(design.X[:, 2], [1.0, 0, 9])


def test_huge_and_tiny_magnitudes_pass_untouched() -> None:
    x = np.array([1e300, -1e-300, 5e-324, 1.7976931348623157e308])
    frame = pd.DataFrame({"y": [1e-300, 2e300, 3.0, -4.0], "x": x})
    design = from_formula("y ~ x", frame)
    assert_array_equal(design.X[:, 1], x)
    assert_array_equal(design.y, frame["y"].to_numpy())
    arrays = from_arrays(x[:, None], frame["y"])
    assert_array_equal(arrays.X[:, 0], x)


def test_polars_and_mapping_give_the_same_design(data: pd.DataFrame) -> None:
    formula = "y ~ x + g + flag + center(z)"
    expected = from_formula(formula, data.reset_index(drop=True))
    as_polars = from_formula(formula, pl.DataFrame({c: data[c].tolist() for c in data}))
    as_mapping = from_formula(formula, {c: data[c].to_numpy() for c in data})
    as_lists = from_formula(formula, {c: data[c].tolist() for c in data})
    for design in (as_polars, as_mapping, as_lists):
        assert design.spec.terms == expected.spec.terms
        assert_array_equal(design.X, expected.X)
        assert_array_equal(design.y, expected.y)


def test_polars_nulls_are_missing() -> None:
    frame = pl.DataFrame(
        {"y": [1.0, 2.0, None, 4.0], "x": [1, None, 3, 4], "g": ["a", "b", "a", None]}
    )
    design = from_formula("y ~ x + g", frame)
    assert design.n_dropped == 3
    assert list(design.index) == [0]


# ---------------------------------------------------------------- missing and bad data


def test_missing_rows_are_dropped_and_counted() -> None:
    frame = pd.DataFrame(
        {
            "y": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
            "x": pd.array([1, 2, 3, pd.NA, 5, 6], dtype="Int64"),
            "g": ["a", None, "b", "a", "b", "a"],
            "unused": [np.nan] * 6,
        },
        index=list("pqrstu"),
    )
    design = from_formula("y ~ x + g", frame)
    assert design.n_dropped == 3
    assert list(design.index) == ["p", "t", "u"]
    assert_array_equal(design.X[:, 1], [1.0, 5.0, 6.0])
    assert_array_equal(design.y, [1.0, 5.0, 6.0])


def test_missing_raise_names_columns_and_rows() -> None:
    frame = pd.DataFrame({"y": [1.0, np.nan, 3.0, 4.0], "x": [1.0, 2.0, None, 4.0]})
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'y', 'x' at rows 1, 2"):
        from_formula("y ~ x", frame, missing="raise")


def test_missing_raise_shortens_long_row_lists() -> None:
    frame = pd.DataFrame({"y": np.arange(10.0), "x": [np.nan] * 8 + [1.0, 2.0]})
    with pytest.raises(DataError, match=r"at rows 0, 1, 2, 3, 4 \(and 3 more\)"):
        from_formula("y ~ x", frame, missing="raise")


def test_infinite_input_is_refused_even_when_dropping(data: pd.DataFrame) -> None:
    data.loc[13, "z"] = -np.inf
    with pytest.raises(DataError, match=r"column 'z' is -inf at row 13"):
        from_formula("y ~ x + z", data)
    data.loc[12, "y"] = np.inf
    with pytest.raises(DataError, match=r"column 'y' is inf at row 12"):
        from_formula("y ~ x", data)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ np.log(abs(z))", r"term 'np.log\(abs\(z\)\)' is -inf at row 13 \(z = 0\)"),
        ("y ~ sqrt(z)", r"term 'sqrt\(z\)' is nan at row 11 \(z = -1\)"),
        ("y ~ I(x / z)", r"term 'I\(x / z\)' is inf at row 13 \(x = 4, z = 0\)"),
        ("np.log(z) ~ x", r"response 'np.log\(z\)' is nan at row 11 \(z = -1\)"),
    ],
)
def test_non_finite_from_a_transform(formula: str, message: str, data: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning escapes
        with pytest.raises(DataError, match=message):
            from_formula(formula, data)


def test_overflow_in_a_transform_is_refused() -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0], "x": [1.0, 1e200]})
    with pytest.raises(DataError, match=r"term 'I\(x \*\* 2\)' is inf at row 1 \(x = 1e\+200\)"):
        from_formula("y ~ I(x**2)", frame)


def test_mostly_numeric_text_names_the_bad_value() -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "x": ["1.5", "2", "abc", "4"]})
    with pytest.raises(DataError, match=r"column 'x' is not numeric: row 2 holds 'abc'"):
        from_formula("y ~ x", frame)
    mixed = pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": pd.Series([1.5, 2, "n/a"], dtype=object)})
    with pytest.raises(DataError, match=r"row 2 holds 'n/a', which is not a number"):
        from_formula("y ~ x", mixed)


def test_numeric_text_is_numeric() -> None:
    frame = pd.DataFrame({"y": ["1", "2.5", "3e2"], "x": ["1.5", "2", "-4"]})
    design = from_formula("y ~ x", frame)
    assert design.spec.terms == ("Intercept", "x")
    assert_array_equal(design.y, [1.0, 2.5, 300.0])


def test_text_response_is_refused(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"the response column 'g' is not numeric \(dtype str\)"):
        from_formula("g ~ x", data)


def test_unsupported_column_dtype(data: pd.DataFrame) -> None:
    data["t"] = pd.date_range("2024-01-01", periods=6)
    with pytest.raises(DataError, match=r"column 't' has dtype datetime64"):
        from_formula("y ~ t", data)
    data["c"] = data["x"] + 1j
    with pytest.raises(DataError, match=r"column 'c' is complex"):
        from_formula("y ~ c", data)


def test_empty_data(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="the data has no rows"):
        from_formula("y ~ x", data.iloc[:0])
    data["x"] = np.nan
    with pytest.raises(DataError, match="no rows left after dropping 6 rows with missing values"):
        from_formula("y ~ x", data)


def test_bad_data_types() -> None:
    with pytest.raises(DataError, match="data must be a pandas DataFrame, a polars DataFrame"):
        from_formula("y ~ x", [[1, 2], [3, 4]])
    with pytest.raises(DataError, match="cannot make a table of the mapping's columns"):
        from_formula("y ~ x", {"y": [1.0, 2.0], "x": [1.0, 2.0, 3.0]})


def test_duplicate_used_column_is_refused() -> None:
    frame = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["y", "x", "x"])
    with pytest.raises(DataError, match="column 'x' appears more than once"):
        from_formula("y ~ x", frame)


def test_lag_rows_count_as_missing() -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0, 4.0, 8.0], "x": [1.0, 2.0, 3.0, 4.0]})
    design = from_formula("y ~ lag(x)", frame)
    assert design.n_dropped == 1
    assert_array_equal(design.X[:, 1], [1.0, 2.0, 3.0])
    assert_array_equal(design.y, [2.0, 4.0, 8.0])
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'lag\(x\)' at rows 0"):
        from_formula("y ~ lag(x)", frame, missing="raise")


def test_missing_must_be_drop_or_raise(data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="missing must be 'drop' or 'raise'"):
        from_formula("y ~ x", data, missing="ignore")  # type: ignore[arg-type]


# ---------------------------------------------------------------- malformed formulas


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y x", r"has no '~'; write it as 'response ~ terms'"),
        ("~ x", r"has no response left of '~'"),
        ("y ~ ", r"has no terms right of '~'"),
        ("y ~ (x + z", r"unbalanced parentheses in formula 'y ~ \(x \+ z': 1 '\(' not closed"),
        ("y ~ x + z)", r"unbalanced parentheses .*extra '\)'"),
        ("y ~ w", r"unknown name 'w' in formula; columns are: flag, g, x, y, z"),
        ("y ~ np.log(w)", r"unknown name 'w' in formula"),
        ("y ~ 0", r"has no terms \(no columns in X\)"),
        ("y ~ x | z", r"has several parts"),
        ("y + z ~ x", r"must have exactly one response"),
        ("y ~ x ~ z", r"cannot parse formula"),
        ("y ~ x +* z", r"cannot parse formula"),
    ],
)
def test_malformed_formula(formula: str, message: str, data: pd.DataFrame) -> None:
    with pytest.raises(FormulaError, match=message):
        from_formula(formula, data)


def test_formula_must_be_text(data: pd.DataFrame) -> None:
    with pytest.raises(FormulaError, match="formula must be a string"):
        from_formula(42, data)  # type: ignore[arg-type]


def test_formula_that_fails_on_the_data(data: pd.DataFrame) -> None:
    with pytest.raises(FormulaError, match=r"cannot evaluate the formula on this data"):
        from_formula("y ~ np.log(g)", data)


# ---------------------------------------------------------------- new data


def test_build_x_reproduces_the_fit(data: pd.DataFrame) -> None:
    formula = "y ~ x + I(x**2) + C(g) + center(z) + poly(x, 2) + flag + np.log(x)"
    design = from_formula(formula, data)
    again = design.spec.build_x(data.drop(columns="y"))
    assert_array_equal(again, design.X)
    assert again.flags["C_CONTIGUOUS"] and again.dtype == np.float64


def test_build_x_keeps_levels_order_and_fitted_state(data: pd.DataFrame) -> None:
    design = from_formula("y ~ g + center(x) + scale(z)", data)
    new = pd.DataFrame({"g": ["c", "c", "b"], "x": [0.0, 10.0, 3.5], "z": [0.0, 1.0, 2.0]})
    X = design.spec.build_x(new)
    assert_array_equal(X[:, :3], [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    x_mean = np.mean(X_VALUES)
    z = data["z"].to_numpy()
    assert_allclose(X[:, 3], [0.0 - x_mean, 10.0 - x_mean, 0.0], rtol=0, atol=1e-15)
    assert_allclose(X[:, 4], (new["z"] - z.mean()) / z.std(ddof=1), rtol=1e-14, atol=0)


def test_build_x_polars_and_mapping(data: pd.DataFrame) -> None:
    spec = from_formula("y ~ x + g", data).spec
    expected = spec.build_x(pd.DataFrame({"x": [2.0, 7.0], "g": ["b", "a"]}))
    assert_array_equal(spec.build_x(pl.DataFrame({"x": [2.0, 7.0], "g": ["b", "a"]})), expected)
    assert_array_equal(spec.build_x({"x": [2, 7], "g": ["b", "a"]}), expected)


def test_build_x_unseen_level(data: pd.DataFrame) -> None:
    spec = from_formula("y ~ x + C(g)", data).spec
    new = pd.DataFrame({"x": [1.0, 2.0], "g": ["a", "zz"]}, index=["first", "second"])
    with pytest.raises(DataError, match=r"column 'g' has level 'zz' at row 'second' that the fit"):
        spec.build_x(new)


def test_build_x_missing_and_infinite(data: pd.DataFrame) -> None:
    spec = from_formula("y ~ x + g", data).spec
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'x' at rows 1"):
        spec.build_x({"x": [1.0, np.nan], "g": ["a", "b"]})
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'g' at rows 0"):
        spec.build_x({"x": [1.0, 2.0], "g": [None, "b"]})
    with pytest.raises(DataError, match=r"column 'x' is inf at row 0"):
        spec.build_x({"x": [np.inf, 2.0], "g": ["a", "b"]})
    with pytest.raises(DataError, match=r"column 'x' used by the formula is not in the data"):
        spec.build_x({"g": ["a", "b"]})
    with pytest.raises(DataError, match=r"column 'x' is not numeric: row 1 holds 'two'"):
        spec.build_x({"x": ["1", "two"], "g": ["a", "b"]})


def test_build_x_transform_non_finite_and_empty(data: pd.DataFrame) -> None:
    spec = from_formula("y ~ np.log(x)", data).spec
    with pytest.raises(DataError, match=r"term 'np.log\(x\)' is -inf at row 1 \(x = 0\)"):
        spec.build_x({"x": [1.0, 0.0]})
    assert spec.build_x({"x": np.zeros(0)}).shape == (0, 2)


def test_build_xy_for_later_batches(data: pd.DataFrame) -> None:
    spec = from_formula("y ~ x + g + center(z)", data).spec
    batch = pd.DataFrame(
        {"y": [1.0, np.nan, 3.0], "x": [1.0, 2.0, 3.0], "g": ["c", "a", "b"], "z": [0.0, 0.0, 1.0]}
    )
    X, y, n_dropped = spec.build_xy(batch)
    assert n_dropped == 1
    assert_array_equal(y, [1.0, 3.0])
    assert_array_equal(X, spec.build_x(batch.iloc[[0, 2]]))
    empty_X, empty_y, dropped = spec.build_xy(batch.iloc[[1]])
    assert empty_X.shape == (0, 5) and empty_y.shape == (0,) and dropped == 1
    with pytest.raises(DataError, match=r"level 'q'"):
        spec.build_xy(batch.assign(g=["a", "b", "q"]))


def test_build_xy_keeps_the_raise_policy(data: pd.DataFrame) -> None:
    spec = from_formula("y ~ x", data, missing="raise").spec
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'y' at rows 0"):
        spec.build_xy({"y": [np.nan], "x": [1.0]})


def test_specs_are_frozen(data: pd.DataFrame) -> None:
    design = from_formula("y ~ x", data)
    with pytest.raises(dataclasses.FrozenInstanceError):
        design.spec.terms = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        design.n_dropped = 3  # type: ignore[misc]
    assert "_rhs_spec" not in repr(design.spec)


# ---------------------------------------------------------------- arrays


def test_arrays_used_as_given() -> None:
    X = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]])
    design = from_arrays(X, [1.0, 2.0, 3.0])
    assert_array_equal(design.X, X)
    assert design.spec.terms == ("x0", "x1")
    assert design.spec.response == "y"
    assert design.spec.formula is None
    assert design.spec.has_intercept
    assert design.index.equals(pd.RangeIndex(3))
    check_matrix(design)


def test_arrays_names_from_frames_and_series() -> None:
    X = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 0.0, 1.0]})
    design = from_arrays(X, pd.Series([1.0, 2.0, 3.0], name="weight"))
    assert design.spec.terms == ("a", "b")
    assert design.spec.response == "weight"
    assert not design.spec.has_intercept
    polars = from_arrays(
        pl.DataFrame({"a": [1, 2, 3], "b": [0.5, 0.0, 1.0]}), pl.Series("w", [1.0, 2, 3])
    )
    assert polars.spec.terms == ("a", "b") and polars.spec.response == "w"
    assert_array_equal(polars.X, design.X)


def test_arrays_shapes() -> None:
    one_column = from_arrays(np.array([1.0, 2.0, 3.0]), np.array([[1.0], [2.0], [3.0]]))
    assert one_column.X.shape == (3, 1) and one_column.y.shape == (3,)
    with pytest.raises(DataError, match=r"X has 3 rows but y has 2"):
        from_arrays(np.ones((3, 2)), [1.0, 2.0])
    with pytest.raises(DataError, match=r"X must be 2-D of shape \(n, k\), got 3-D"):
        from_arrays(np.ones((3, 2, 2)), np.ones(3))
    with pytest.raises(DataError, match=r"y must be 1-D of shape \(n,\), got shape \(3, 2\)"):
        from_arrays(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(DataError, match=r"X has no columns"):
        from_arrays(np.ones((3, 0)), np.ones(3))
    with pytest.raises(DataError, match=r"X and y have no rows"):
        from_arrays(np.ones((0, 2)), np.ones(0))


def test_arrays_non_numeric() -> None:
    with pytest.raises(DataError, match=r"X column 'x1' is not numeric: row 0 holds 'b'"):
        from_arrays(np.array([["1", "b"], ["2", "3"]]), [1.0, 2.0])
    with pytest.raises(DataError, match=r"X column 'g' is not numeric: row 0 holds 'a'"):
        from_arrays(pd.DataFrame({"g": ["a", "b"]}), [1.0, 2.0])
    with pytest.raises(DataError, match=r"y is not numeric: row 1 holds 'x'"):
        from_arrays(np.ones((2, 1)), ["1", "x"])
    with pytest.raises(DataError, match=r"X column 'x0' is complex"):
        from_arrays(np.ones((2, 1)) * 1j, [1.0, 2.0])


def test_arrays_missing_and_infinite() -> None:
    X = np.array([[1.0, np.nan], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
    y = np.array([1.0, 2.0, np.nan, 4.0])
    design = from_arrays(X, y)
    assert design.n_dropped == 2
    assert list(design.index) == [1, 3]
    assert_array_equal(design.X, X[[1, 3]])
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'x1', 'y' at rows 0, 2"):
        from_arrays(X, y, missing="raise")
    with pytest.raises(DataError, match=r"X column 'x1' is -inf at row 3"):
        from_arrays(np.where(X == 4.0, -np.inf, X), y)
    with pytest.raises(DataError, match=r"y is inf at row 1"):
        from_arrays(X, np.array([1.0, np.inf, 3.0, 4.0]))
    with pytest.raises(DataError, match=r"no rows left after dropping 4 rows"):
        from_arrays(X, np.full(4, np.nan))


def test_arrays_intercept_detection() -> None:
    assert not from_arrays(np.array([[0.0, 1.0], [0.0, 2.0]]), [1.0, 2.0]).spec.has_intercept
    assert from_arrays(np.array([[1.0, -3.0], [2.0, -3.0]]), [1.0, 2.0]).spec.has_intercept


def test_arrays_build_x() -> None:
    spec = from_arrays(np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]]), [1.0, 2.0, 3.0]).spec
    assert_array_equal(spec.build_x([1.0, 7.0]), [[1.0, 7.0]])
    assert_array_equal(spec.build_x([[1.0, 7.0], [1.0, 8.0]]), [[1.0, 7.0], [1.0, 8.0]])
    with pytest.raises(DataError, match=r"X has 3 columns but the fit had 2 \(x0, x1\)"):
        spec.build_x(np.ones((2, 3)))
    with pytest.raises(DataError, match=r"X column 'x1' is missing \(NaN\) at row 1"):
        spec.build_x([[1.0, 2.0], [1.0, np.nan]])
    with pytest.raises(DataError, match=r"X column 'x0' is inf at row 0"):
        spec.build_x([[np.inf, 2.0]])
    single = from_arrays(np.array([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0]).spec
    assert single.build_x([4.0, 5.0]).shape == (2, 1)


def test_arrays_build_x_reorders_named_frames() -> None:
    spec = from_arrays(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 5.0]}), [1.0, 2.0]).spec
    assert_array_equal(spec.build_x(pd.DataFrame({"b": [9.0], "a": [8.0]})), [[8.0, 9.0]])


def test_arrays_build_xy_takes_a_pair() -> None:
    spec = from_arrays(np.ones((2, 2)), [1.0, 2.0]).spec
    X, y, n_dropped = spec.build_xy((np.array([[1.0, 2.0], [np.nan, 1.0]]), [3.0, 4.0]))
    assert_array_equal(X, [[1.0, 2.0]]) and n_dropped == 1
    assert_array_equal(y, [3.0])
    with pytest.raises(DataError, match=r"needs a pair \(X, y\)"):
        spec.build_xy(np.ones((2, 2)))
    with pytest.raises(DataError, match=r"X has 1 columns but the fit had 2"):
        spec.build_xy((np.ones((2, 1)), [1.0, 2.0]))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))),
            st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_arrays_drop_exactly_the_rows_with_nan(rows: list[tuple[float, float]]) -> None:
    table = np.array(rows)
    complete = ~np.isnan(table).any(axis=1)
    if not complete.any():
        with pytest.raises(DataError, match="no rows left"):
            from_arrays(table[:, :1], table[:, 1])
        return
    design = from_arrays(table[:, :1], table[:, 1])
    assert design.n_dropped == int((~complete).sum())
    assert_array_equal(design.index, np.flatnonzero(complete))
    assert_array_equal(design.X[:, 0], table[complete, 0])
    assert_array_equal(design.y, table[complete, 1])


# -- large frames: the columns copied directly, verified against formulaic -----------------


def _large(n: int = 2000, seed: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n) * 1e3,
            "k": rng.integers(-5, 5, size=n),  # int64
            "flag": rng.random(n) < 0.3,  # bool: 0/1
            "n": pd.array(rng.integers(0, 9, size=n), dtype="Int64"),  # nullable, no NA
            "g": rng.choice(["a", "b"], size=n),
        },
        index=pd.RangeIndex(100, 100 + n),
    )


def _through_formulaic(formula: str, frame: pd.DataFrame, **kw: object) -> Design:
    """The design built by formulaic for every row (the direct copy switched off)."""
    import duolm.design._build as design_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(design_module, "HEAD_ROWS", len(frame) + 1)
        return from_formula(formula, frame, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "formula",
    ["y ~ x + k + flag + n", "y ~ x - 1", "y ~ 0 + k + x", "y ~ x + C(g)", "y ~ x + I(x**2)"],
)
def test_large_frame_design_equals_formulaic_bit_for_bit(formula: str) -> None:
    frame = _large()
    got = from_formula(formula, frame)
    want = _through_formulaic(formula, frame)
    check_matrix(got)
    assert got.spec.terms == want.spec.terms and got.spec.has_intercept == want.spec.has_intercept
    assert_array_equal(got.X, want.X)
    assert_array_equal(got.y, want.y)
    assert got.index.equals(want.index) and got.n_dropped == want.n_dropped == 0


def test_large_polars_frame_equals_pandas() -> None:
    frame = _large().drop(columns=["n"]).reset_index(drop=True)
    got = from_formula("y ~ x + k", pl.from_pandas(frame))
    want = _through_formulaic("y ~ x + k", frame)
    assert_array_equal(got.X, want.X)
    assert_array_equal(got.y, want.y)


@pytest.mark.parametrize("row", [50, 1500])  # in the rows formulaic sees first, or after
def test_large_frame_missing_value_is_dropped_or_refused_by_row(row: int) -> None:
    frame = _large()
    frame.loc[100 + row, "x"] = np.nan
    got = from_formula("y ~ x + k", frame)
    assert got.n_dropped == 1 and 100 + row not in got.index
    assert_array_equal(got.X, _through_formulaic("y ~ x + k", frame).X)
    with pytest.raises(DataError, match=str(100 + row)):
        from_formula("y ~ x + k", frame, missing="raise")


def test_large_frame_inf_after_the_first_rows_names_its_row() -> None:
    frame = _large()
    frame.loc[1900, "y"] = -np.inf
    with pytest.raises(DataError, match="1900"):
        from_formula("y ~ x", frame)


def test_large_frame_design_owns_its_arrays() -> None:
    frame = _large()
    design = from_formula("y ~ x", frame)
    before = (design.X.copy(), design.y.copy())
    frame.loc[:, ["x", "y"]] = 0.0  # the caller's data changes later
    assert_array_equal(design.X, before[0])
    assert_array_equal(design.y, before[1])
    assert not np.shares_memory(design.y, frame["y"].to_numpy())


@pytest.mark.parametrize(
    ("formula", "direct"), [("y ~ x + k + flag", True), ("y ~ x + C(g)", False)]
)
def test_formulaic_sees_only_the_first_rows_of_a_plain_formula(
    formula: str, direct: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duolm.design._build as design_module

    sizes: list[int] = []
    real = design_module._materialize

    def materialize(build: object, data: pd.DataFrame, **kw: object) -> object:
        sizes.append(len(data))
        return real(build, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(design_module, "_materialize", materialize)
    frame = _large()
    from_formula(formula, frame)
    assert (max(sizes) == design_module.HEAD_ROWS) is direct
    assert (max(sizes) == len(frame)) is not direct


def test_large_frame_errors_count_every_row_not_the_first_ones() -> None:
    frame = _large(5000)
    rows = [3, 5, 7, 9, 11, 13, 2000]
    frame.loc[[100 + r for r in rows], "x"] = np.nan
    with pytest.raises(DataError, match=r"\(and 2 more\)"):
        from_formula("y ~ x", frame, missing="raise")
    frame.loc[100:399, "x"] = np.nan  # every row formulaic would see first
    assert from_formula("y ~ x", frame).n_dropped == 301


def test_large_frame_with_a_data_column_named_intercept() -> None:
    frame = _large()
    frame["Intercept"] = 1.0
    later = frame.index >= 1500  # ones in the first rows only
    frame.loc[later, "Intercept"] = np.linspace(2.0, 3.0, int(later.sum()))
    for formula in ("y ~ Intercept + x", "y ~ x + Intercept", "y ~ 0 + Intercept + x"):
        got = from_formula(formula, frame)
        want = _through_formulaic(formula, frame)
        assert got.spec.terms == want.spec.terms
        assert_array_equal(got.X, want.X)


@pytest.mark.parametrize("n", [20, 2000])
def test_complex_numbers_in_an_object_column_are_refused_by_row(n: int) -> None:
    x = np.arange(n, dtype=float).astype(object)
    x[5] = 1 + 2j
    frame = pd.DataFrame({"x": x, "y": np.arange(n) * 1.0}, index=range(100, 100 + n))
    with pytest.raises(DataError, match=r"column 'x' is complex at row 105"):
        from_formula("y ~ x", frame)
