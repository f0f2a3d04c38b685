"""Model comparison (criteria, evidence, Bayes factors) and the side-by-side reading."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from duolm import NIG, bayes, compare, ols, side_by_side
from duolm.bayesian import COMPARE_COLUMNS as COLUMNS
from duolm.bayesian import unit_information_prior
from duolm.errors import DataError


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 60
    frame = pd.DataFrame({"x": rng.uniform(0, 10, n), "z": rng.normal(size=n)})
    frame["y"] = 3.0 + 0.8 * frame["x"] + rng.normal(size=n)
    return frame


FORMULAS = ("y ~ 1", "y ~ x", "y ~ x + z")


def test_table_of_ols_fits(data: pd.DataFrame) -> None:
    fits = [ols(f, data) for f in FORMULAS]
    table = compare(*fits)
    assert list(table.columns) == list(COLUMNS)
    assert list(table.index) == list(FORMULAS)
    for f, fit in zip(FORMULAS, fits, strict=True):
        row = table.loc[f]
        assert (row["nobs"], row["k"]) == (60, fit.rank)
        np.testing.assert_allclose(
            row[["rsquared", "rsquared_adj", "aic", "bic"]].to_numpy(dtype=float),
            [fit.rsquared, fit.rsquared_adj, fit.aic, fit.bic],
            rtol=1e-14,
        )
        # the evidence is that of the unit-information g-prior fitted from the rows
        X = fit.rows.X  # type: ignore[union-attr]
        direct = bayes(f, data, prior=NIG.zellner(X, g=60.0))
        np.testing.assert_allclose(row["log_evidence"], direct.log_evidence, rtol=1e-10)
        assert row["prior"] == "zellner(g=60)"
    le = table["log_evidence"].to_numpy(dtype=float)
    np.testing.assert_allclose(table["posterior_prob"].sum(), 1.0, rtol=1e-14)
    np.testing.assert_allclose(table["bayes_factor"], np.exp(le - le.max()), rtol=1e-14)
    p = table["posterior_prob"].to_numpy(dtype=float)
    np.testing.assert_allclose(p[1] / p[2], math.exp(le[1] - le[2]), rtol=1e-12)
    assert table["posterior_prob"].idxmax() == "y ~ x"  # the model that made the data
    assert table["bayes_factor"].max() == 1.0


def test_bayes_fits_pairs_and_mappings(data: pd.DataFrame) -> None:
    prior = NIG.vague(2, scale=10.0, a=2.0, b=2.0)
    fb = bayes("y ~ x", data, prior=prior)
    fo = ols("y ~ x", data)
    table = compare({"bayes": fb, "pair": (fo, fb), "ols": fo})
    assert list(table.index) == ["bayes", "pair", "ols"]
    assert table.loc["bayes", "log_evidence"] == fb.log_evidence
    assert table.loc["pair", "log_evidence"] == fb.log_evidence
    for col in ("rsquared", "aic", "bic"):
        np.testing.assert_allclose(table.loc["bayes", col], getattr(fo, col), rtol=1e-12)
    assert table.loc["bayes", "prior"] == prior.label
    own = compare(fo, fo, prior=lambda fit: NIG.vague(fit.rank, scale=10.0, a=2.0, b=2.0))
    assert list(own.index) == ["y ~ x", "y ~ x (2)"]
    np.testing.assert_allclose(own["log_evidence"], fb.log_evidence, rtol=1e-10)
    np.testing.assert_allclose(own["posterior_prob"], 0.5, rtol=1e-14)


def test_streamed_fit_without_rows_has_an_evidence(data: pd.DataFrame) -> None:
    fo = ols("y ~ x + z", data)
    streamed = dataclasses.replace(fo, rows=None)
    a, b = compare(fo, prior=unit_information_prior), compare(streamed)
    np.testing.assert_allclose(b["log_evidence"], a["log_evidence"], rtol=1e-12)


def test_models_of_different_data_are_refused(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="not fitted to the same observations"):
        compare(ols("y ~ x", data), ols("y ~ x", data.iloc[:-1]))
    other = data.assign(y=data["y"] + 1e-9)
    with pytest.raises(DataError, match="not fitted to the same observations"):
        compare(ols("y ~ x", data), ols("y ~ x", other))
    with pytest.raises(DataError, match="differ in data or terms"):
        compare((ols("y ~ x", data), bayes("y ~ x", other)))
    with pytest.raises(TypeError, match="models must be"):
        compare("y ~ x")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aliased = ols("y ~ x + I(2 * x)", data)
    with pytest.raises(DataError, match="aliased column"):
        compare(aliased)


def test_side_by_side_under_the_reference_prior(data: pd.DataFrame) -> None:
    fo = ols("y ~ x", data)
    fb = bayes("y ~ x", data, prior=NIG.reference(2))
    sbs = side_by_side(fo, fb, alpha=0.1)
    t = sbs.table
    assert list(t.columns) == [
        "ols_estimate", "ols_lower", "ols_upper", "ols_width",
        "bayes_estimate", "bayes_lower", "bayes_upper", "bayes_width",
    ]  # fmt: skip
    ci = fo.conf_int(0.1)
    np.testing.assert_allclose(t["ols_lower"], ci["lower"], rtol=1e-14)
    np.testing.assert_allclose(t["bayes_lower"], t["ols_lower"], rtol=1e-10)
    np.testing.assert_allclose(t["bayes_width"], t["ols_width"], rtol=1e-10)
    np.testing.assert_allclose(t["ols_width"], ci["upper"] - ci["lower"], rtol=1e-14)
    assert "repeated samples" in sbs.frequentist and "with probability 0.9" in sbs.bayesian
    assert "reference" in sbs.bayesian
    assert "ols_width" in str(sbs) and "<table" in sbs._repr_html_()
    with pytest.raises(DataError, match="different terms"):
        side_by_side(ols("y ~ x + z", data), fb)
    with pytest.raises(DataError, match="same observations"):
        side_by_side(ols("y ~ x", data.iloc[:-1]), fb)
