"""Later batches built by a design's recipe equal formulaic's, column for column.

formulaic is the reference: for every formula, the matrices of new batches
(``build_xy``) and new rows (``build_x``) are compared with what formulaic
builds from the same spec. A recipe is used only where it is verified, and a
design it cannot reproduce keeps formulaic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from duolm.design import from_formula
from duolm.design._build import _materialize
from duolm.design._recipe import Recipe
from duolm.errors import DataError


def _data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    g[:3] = ["a", "b", "c"]
    h = np.array(["u", "v"])[rng.integers(0, 2, n)]
    h[:2] = ["u", "v"]
    k = rng.integers(1, 4, n).astype(float)
    k[:3] = [1.0, 2.0, 3.0]
    x = rng.uniform(0.5, 3.0, n)
    z = rng.normal(size=n)
    y = 1 + x - 0.5 * z + (g == "b") + rng.normal(size=n)
    return pd.DataFrame({"x": x, "z": z, "g": g, "h": h, "k": k, "y": y})


def _formulaic(spec: object, side: str, rows: pd.DataFrame) -> np.ndarray:
    model_spec = spec._rhs_spec if side == "rhs" else spec._lhs_spec  # type: ignore[attr-defined]
    return np.asarray(_materialize(model_spec.get_model_matrix, rows, fitting=False))


FAST = [
    "y ~ x",
    "y ~ x + z - 1",
    "y ~ x + I(x**2) + C(g)",
    "y ~ 0 + C(g)",
    "y ~ g + h",
    "y ~ g:h",
    "y ~ g * h + x",
    "y ~ x:g + z",
    "y ~ x * g * h",
    "y ~ np.log(x) + np.exp(z / 4) + sqrt(x)",
    "np.log(x) ~ z + I(z * x) + C(k)",
    "y ~ x:z + I(x - z) + abs(z)",
]


@pytest.mark.parametrize("formula", FAST)
def test_later_batches_equal_formulaic(formula: str) -> None:
    data = _data(120, seed=3)
    spec = from_formula(formula, data.iloc[:40]).spec
    for start in (40, 47, 90):  # the first build verifies, the later ones use the recipe
        batch = data.iloc[start : start + 23].reset_index(drop=True)
        X, y, dropped = spec.build_xy(batch)
        assert dropped == 0
        np.testing.assert_array_equal(X, _formulaic(spec, "rhs", batch))
        np.testing.assert_array_equal(y, _formulaic(spec, "lhs", batch).ravel())
    assert isinstance(spec._recipes["rhs"], Recipe)
    assert isinstance(spec._recipes["lhs"], Recipe)
    new = data.iloc[100:103].reset_index(drop=True)
    np.testing.assert_array_equal(spec.build_x(new), _formulaic(spec, "rhs", new))


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ center(x) + z",  # a stateful transform
        "y ~ poly(x, 2)",
        "y ~ scale(z) + x",
        "y ~ C(g, contr.sum)",  # contrasts other than the default treatment
        "y ~ C(g, contr.treatment('b'))",
        "y ~ x + lag(z)",  # rows of earlier batches
    ],
)
def test_designs_with_state_keep_formulaic(formula: str) -> None:
    data = _data(80, seed=4)
    spec = from_formula(formula, data.iloc[:40]).spec
    for start in (40, 60):
        batch = data.iloc[start : start + 20].reset_index(drop=True)
        X, _, dropped = spec.build_xy(batch)
        want = _formulaic(spec, "rhs", batch)
        keep = ~np.isnan(want).any(axis=1)  # lag() leaves its first row empty
        np.testing.assert_array_equal(X, want[keep])
        assert dropped == (~keep).sum()
    assert spec._recipes["rhs"] is False


def test_a_recipe_that_disagrees_with_formulaic_is_never_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _data(60, seed=5)
    spec = from_formula("y ~ x + C(g)", data.iloc[:30]).spec
    real = Recipe.build

    def off_by_one(self: Recipe, clean: pd.DataFrame) -> np.ndarray | None:
        out = real(self, clean)
        return None if out is None else out + (self.width > 1)

    monkeypatch.setattr(Recipe, "build", off_by_one)
    batch = data.iloc[30:].reset_index(drop=True)
    X, _, _ = spec.build_xy(batch)
    np.testing.assert_array_equal(X, _formulaic(spec, "rhs", batch))
    assert spec._recipes["rhs"] is False
    X, _, _ = spec.build_xy(batch)  # and stays formulaic's
    np.testing.assert_array_equal(X, _formulaic(spec, "rhs", batch))


def test_bad_rows_are_named_as_before() -> None:
    data = _data(60, seed=6)
    spec = from_formula("y ~ np.log(x) + C(g)", data.iloc[:30]).spec
    spec.build_xy(data.iloc[30:40])  # verified
    assert isinstance(spec._recipes["rhs"], Recipe)
    bad = data.iloc[40:50].reset_index(drop=True)
    bad.loc[4, "x"] = -1.0
    with pytest.raises(DataError, match=r"np\.log\(x\).*row 4"):
        spec.build_xy(bad)
    bad = data.iloc[40:50].reset_index(drop=True)
    bad.loc[2, "g"] = "zz"
    with pytest.raises(DataError, match=r"level 'zz' at row 2"):
        spec.build_xy(bad)


@pytest.mark.parametrize("formula", FAST)
def test_one_row_from_a_mapping_equals_formulaic(formula: str) -> None:
    data = _data(80, seed=7)
    spec = from_formula(formula, data.iloc[:40]).spec
    assert spec.row_xy(data.iloc[50].to_dict()) is None  # not verified yet: the full path
    spec.build_xy(data.iloc[40:50])  # verified
    for i in range(50, 80):
        row = data.iloc[i].to_dict()
        quick = spec.row_xy(row)
        assert quick is not None
        frame = data.iloc[i : i + 1].reset_index(drop=True)
        np.testing.assert_array_equal(quick[0], _formulaic(spec, "rhs", frame))
        np.testing.assert_array_equal(quick[1], _formulaic(spec, "lhs", frame).ravel())


@pytest.mark.parametrize(
    "change",
    [
        {"g": "zz"},  # a level the fit did not see: all indicators 0 if built
        {"g": None},
        {"x": float("nan")},
        {"x": float("inf")},
        {"x": True},
        {"x": "1.5"},
        {"x": -1.0},  # np.log(x) is nan: the full path names the term
        {"k": 7.0},  # C(k): an unseen level of a numeric column
    ],
)
def test_a_row_the_recipe_cannot_vouch_for_goes_the_full_path(change: dict[str, object]) -> None:
    data = _data(60, seed=8)
    spec = from_formula("y ~ np.log(x) + C(g) + C(k)", data.iloc[:30]).spec
    spec.build_xy(data.iloc[30:40])
    row = data.iloc[45].to_dict()
    assert spec.row_xy(row) is not None
    assert spec.row_xy({**row, **change}) is None
    missing_column = {name: value for name, value in row.items() if name != "g"}
    assert spec.row_xy(missing_column) is None


def test_a_recipe_refuses_codes_of_unseen_levels() -> None:
    data = _data(40, seed=9)
    spec = from_formula("y ~ C(g)", data.iloc[:30]).spec
    spec.build_xy(data.iloc[30:40])
    recipe = spec._recipes["rhs"]
    assert isinstance(recipe, Recipe)
    batch = data.iloc[30:40].reset_index(drop=True)
    assert recipe.build(batch) is not None
    batch.loc[3, "g"] = "zz"
    assert recipe.build(batch) is None
