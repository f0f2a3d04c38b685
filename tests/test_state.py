"""Saving and loading posteriors: exact round trips, atomic writes, refused bad files."""

from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import duolm
from duolm import NIG, BayesResults, bayes, state
from duolm.errors import DataError, StateFileError


def _same_nig(a: NIG, b: NIG) -> None:
    assert np.array_equal(a.prior_stat.R, b.prior_stat.R)
    assert np.array_equal(a.data_stat.R, b.data_stat.R)
    assert (a.nu0, a.nobs, a.label) == (b.nu0, b.nobs, b.label)
    assert (a.data_stat.y_mean, a.data_stat.y_m2) == (b.data_stat.y_mean, b.data_stat.y_m2)


def _posterior(seed: int) -> NIG:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(17, 3)) * 10.0 ** rng.integers(-5, 5, size=3)
    y = rng.normal(size=17) * 1e3
    return NIG(rng.normal(size=3), np.diag(rng.uniform(0.1, 9, 3)), 1.7, 0.3).update(X, y)


def test_nig_round_trip_is_exact(tmp_path: Path) -> None:
    for nig in (_posterior(0), NIG.reference(3), _posterior(1).forget(0.37), NIG.vague(2)):
        state.save(nig, tmp_path / "p.json")
        back = state.load_posterior(tmp_path / "p.json")
        assert isinstance(back, NIG)
        _same_nig(back, nig)
    post = _posterior(2)
    state.save(post, tmp_path / "p.json")
    back = state.load_posterior(tmp_path / "p.json")
    assert np.array_equal(back.m, post.m) and np.array_equal(back.V, post.V)
    assert (back.a, back.b, back.log_evidence) == (post.a, post.b, post.log_evidence)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lam=st.floats(0.01, 1.0))
def test_round_trip_exact_for_any_posterior(seed: int, lam: float) -> None:
    import tempfile

    nig = _posterior(seed).forget(lam)
    with tempfile.TemporaryDirectory() as tmp:
        state.save(nig, Path(tmp) / "p.json")
        _same_nig(state.load_posterior(Path(tmp) / "p.json"), nig)


def test_array_fit_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(30), rng.normal(size=(30, 2))])
    fit = bayes(X=X, y=X @ [1.0, 2.0, -1.0] + rng.normal(size=30))
    state.save(fit, tmp_path / "fit.json")
    back = state.load_bayes(tmp_path / "fit.json")
    assert isinstance(back, BayesResults) and back.design is None
    assert back.terms == fit.terms and back.spec == fit.spec
    _same_nig(back.posterior, fit.posterior)
    _same_nig(back.prior, fit.prior)
    new = rng.normal(size=(4, 3))
    pd.testing.assert_frame_equal(back.predict(new), fit.predict(new), rtol=0, atol=0)
    assert back.log_evidence == fit.log_evidence
    with pytest.raises(DataError, match="fitted rows were not kept"):
        back.predict()


def test_formula_fit_rebuilds_its_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 40
    data = pd.DataFrame(
        {
            "x": rng.uniform(1, 5, n),
            "g": rng.choice(["a", "b", "c"], n),
            "z": rng.normal(size=n),
            "w": rng.uniform(0, 1, n),
            "j": rng.integers(0, 3, n),
        }
    )
    data["y"] = np.exp(0.3 * data["x"] + (data["g"] == "b") + 0.1 * rng.normal(size=n))
    formula = (
        "np.log(y) ~ center(x) + C(g, contr.sum) + poly(z, 2) + g:x + scale(z) + bs(w, df=4) + C(j)"
    )
    fit = bayes(formula, data)
    state.save(fit, tmp_path / "fit.json")
    back = state.load_bayes(tmp_path / "fit.json")
    assert isinstance(back, BayesResults)
    assert back.terms == fit.terms and back.spec.formula == formula
    new = pd.DataFrame(
        {"x": [2.0, 4.5], "g": ["c", "a"], "z": [0.1, -1.2], "w": [0.5, 0.2], "j": [2, 0]},
        index=[7, 9],
    ).assign(y=[3.0, 4.0])
    pd.testing.assert_frame_equal(back.predict(new), fit.predict(new), rtol=0, atol=0)
    pd.testing.assert_series_equal(back.predictive_logpdf(new), fit.predictive_logpdf(new))
    with pytest.raises(DataError, match="level 'd'"):
        back.predict(new.assign(g=["d", "a"]))


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.json"
    state.save(_posterior(5), path)
    before = path.read_bytes()

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        state.save(_posterior(6), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["p.json"]  # no temporary file left behind
    assert path.stat().st_mode & 0o777 == 0o644


def _rewrite(path: Path, edit: object) -> None:
    doc = json.loads(path.read_text())
    edit(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))


def _resign(doc: dict[str, object]) -> None:
    doc["sha256"] = state._digest(doc["kind"], doc["payload"])


def test_bad_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    state.save(_posterior(7), path)
    good = path.read_bytes()
    cases: dict[str, tuple[bytes, str]] = {
        "truncated": (good[: len(good) // 2], "not valid JSON"),
        "binary": (b"\x80\x04\x95" + bytes(range(40)), "not valid JSON"),
        "pickle": (pickle.dumps({"format": "duolm-posterior"}), "not valid JSON"),
        "foreign": (b'{"hello": "world"}', "not a duolm state file"),
        "empty": (b"", "not valid JSON"),
        "list": (b"[1, 2]", "not a duolm state file"),
    }
    for name, (content, match) in cases.items():
        bad = tmp_path / f"{name}.json"
        bad.write_bytes(content)
        with pytest.raises(StateFileError, match=match):
            state.load_posterior(bad)
    edits = {
        "future": (lambda d: d.update(version=2), "newer duolm"),
        "version": (lambda d: d.update(version="1"), "bad version"),
        "flipped digit": (lambda d: d["payload"].update(nu0=d["payload"]["nu0"] + 1), "checksum"),
        "kind": (lambda d: (d.update(kind="pickle"), _resign(d)), "unknown kind"),
        "kind unsigned": (lambda d: d.update(kind="bayes"), "checksum"),
        "lower": (
            lambda d: (d["payload"]["data"]["R"][2].__setitem__(0, 1.0), _resign(d)),
            "upper-triangular",
        ),
        "shape": (lambda d: (d["payload"].update(k=4), _resign(d)), "4 x 4|5 x 5"),
        "missing": (lambda d: (d["payload"].pop("label"), _resign(d)), "missing entry"),
        "text": (lambda d: (d["payload"].update(nu0="5"), _resign(d)), "nu0 is not a number"),
    }
    for name, (edit, match) in edits.items():
        bad = tmp_path / f"{name.replace(' ', '_')}.json"
        bad.write_bytes(good)
        _rewrite(bad, edit)
        with pytest.raises(StateFileError, match=match):
            state.load_posterior(bad)
    nan = tmp_path / "nan.json"
    nan.write_text(good.decode().replace('"nu0": ', '"nu0": NaN, "x": ', 1))
    with pytest.raises(StateFileError, match="not valid JSON"):
        state.load_posterior(nan)
    with pytest.raises(StateFileError, match="cannot read"):
        state.load_posterior(tmp_path / "absent.json")
    with pytest.raises(TypeError, match="NIG, a BayesResults or an OLSResults"):
        state.save("not a posterior", path)  # type: ignore[arg-type]


# -- least-squares fits ---------------------------------------------------------------------


def _ols_frame(seed: int, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {"x": rng.uniform(0, 10, n), "g": rng.choice(["a", "b", "c"], n), "z": rng.normal(size=n)}
    )
    data["y"] = 1 + 0.5 * data["x"] + (data["g"] == "b") + rng.normal(size=n) * (1 + data["x"])
    return data


def _same_fit_numbers(back: duolm.OLSResults, fit: duolm.OLSResults) -> None:
    for name in ("params", "bse", "tvalues", "pvalues"):
        pd.testing.assert_series_equal(getattr(back, name), getattr(fit, name), rtol=0, atol=0)
    pd.testing.assert_frame_equal(back.cov_params(), fit.cov_params(), rtol=0, atol=0)
    for name in ("rsquared", "rsquared_adj", "fvalue", "f_pvalue", "llf", "aic", "bic", "scale"):
        assert getattr(back, name) == getattr(fit, name), name
    assert (back.nobs, back.df_model, back.n_dropped, back.k_constant) == (
        fit.nobs,
        fit.df_model,
        fit.n_dropped,
        fit.k_constant,
    )
    assert back.diagnostics == fit.diagnostics
    for a, b in zip(back.summary().tables, fit.summary().tables, strict=True):
        if "field" in a:  # the header: Date and Time are those of each call
            a, b = (t[~t["field"].isin(["Date", "Time"])] for t in (a, b))
        pd.testing.assert_frame_equal(a, b)
    # the notes are the same but for the Breusch-Pagan test, which needs the fitted rows
    rows_only = "Breusch-Pagan"
    assert back.summary().notes == tuple(n for n in fit.summary().notes if rows_only not in n)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "HC3"])
def test_least_squares_fit_round_trip_is_exact(tmp_path: Path, cov_type: str) -> None:
    data = _ols_frame(7)
    data.loc[3, "z"] = np.nan  # a dropped row travels as a count
    fit = duolm.ols("y ~ x + C(g) + center(z)", data, cov_type=cov_type)  # type: ignore[arg-type]
    state.save(fit, tmp_path / "ols.json")
    assert state.saved_kind(tmp_path / "ols.json") == "ols"
    back = state.load_fit(tmp_path / "ols.json")
    assert isinstance(back, duolm.OLSResults) and back.rows is None
    _same_fit_numbers(back, fit)
    new = pd.DataFrame({"x": [2.0, 11.0], "g": ["c", "b"], "z": [0.3, -2.0]}, index=[5, 8])
    pd.testing.assert_frame_equal(back.predict(new), fit.predict(new), rtol=0, atol=0)
    for other in ("HC0", "HC2", "nonrobust"):  # every robust meat is saved
        pd.testing.assert_series_equal(
            back.with_cov_type(other).bse, fit.with_cov_type(other).bse, rtol=0, atol=0
        )
    with pytest.raises(DataError, match="keeps no rows"):
        _ = back.leverage


def test_streamed_and_aliased_fits_round_trip(tmp_path: Path) -> None:
    data = _ols_frame(8, n=300)
    data["x2"] = 2.0 * data["x"]  # aliased: NaN coefficient, kept mask saved
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    with pytest.warns(duolm.RankWarning):
        fit = duolm.ols("y ~ x + x2 + z", path, batch_size=64, cov_type="HC2")
    state.save(fit, tmp_path / "s.json")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading says nothing: the aliasing was said at fit time
        back = state.load_fit(tmp_path / "s.json")
    _same_fit_numbers(back, fit)
    assert back.aliased == ("x2",)
    one_pass = duolm.ols("y ~ x + z", path, diagnostics=False)
    state.save(one_pass, tmp_path / "one.json")
    back = state.load_fit(tmp_path / "one.json")
    with pytest.raises(DataError, match="one pass"):
        _ = back.diagnostics
    pd.testing.assert_series_equal(back.bse, one_pass.bse, rtol=0, atol=0)


def test_loading_is_typed(tmp_path: Path) -> None:
    data = _ols_frame(9)
    state.save(duolm.ols("y ~ x", data), tmp_path / "ols.json")
    state.save(bayes("y ~ x", data), tmp_path / "bayes.json")
    state.save(NIG.vague(2), tmp_path / "nig.json")
    with pytest.raises(StateFileError, match=r"holds a least-squares fit.*use load_fit"):
        state.load_posterior(tmp_path / "ols.json")
    with pytest.raises(StateFileError, match=r"holds a Bayesian fit.*use load_bayes"):
        state.load_fit(tmp_path / "bayes.json")
    with pytest.raises(StateFileError, match=r"holds a posterior \(NIG\).*use load_posterior"):
        state.load_bayes(tmp_path / "nig.json")
    assert isinstance(state.load_posterior(tmp_path / "bayes.json"), NIG)
    assert duolm.load_fit is state.load_fit and duolm.load_bayes is state.load_bayes


def test_tampered_least_squares_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ols.json"
    state.save(duolm.ols("y ~ x + z", _ols_frame(10), cov_type="HC3"), path)
    good = path.read_bytes()
    edits = {
        "kept": (lambda d: d["payload"].update(kept=[True, 1, True]), "kept"),
        "k": (lambda d: d["payload"].update(kept=[True, True]), "disagree"),
        "cov": (lambda d: d["payload"].update(cov_type="HC9"), "cov_type"),
        "nobs": (lambda d: d["payload"]["stat"].update(nobs=2), "degree of freedom"),
        "moments": (lambda d: d["payload"].update(moments=[1.0]), "moments"),
        "meat": (lambda d: d["payload"]["meats"].update(HC0=[[1.0]]), "meats.HC0"),
        "const": (lambda d: d["payload"].update(const_col=7), "const_col"),
        "singular": (
            lambda d: d["payload"]["stat"]["R"][1].__setitem__(1, 0.0),
            "singular",
        ),
        "missing": (lambda d: d["payload"].pop("method"), "missing entry 'method'"),
        "params": (lambda d: d["payload"].update(params=[1.0]), "params must be 3 numbers"),
    }
    for name, (edit, match) in edits.items():
        bad = tmp_path / f"{name}.json"
        bad.write_bytes(good)
        _rewrite(bad, lambda d, edit=edit: (edit(d), _resign(d)))
        with pytest.raises(StateFileError, match=match):
            state.load_fit(bad)
