"""``cov_type="HAC"`` and ``"cluster"`` against statsmodels, R's sandwich and Petersen's
published standard errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose

import duolm
from duolm import core
from duolm.errors import CovarianceWarning, DataError, StateFileError

RTOL = 1e-10
FORMULA = "y ~ x1 + x2"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 150
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n).cumsum() / 4,
            "firm": rng.integers(0, 15, n),
            "year": rng.choice(["y1", "y2", "y3", "y4", "y5", "y6"], n),
        }
    )
    e = np.convolve(rng.normal(size=n + 3), [1.0, 0.6, 0.3, 0.1], "valid")
    df["y"] = 1.0 + df["x1"] - 0.5 * df["x2"] + e * (1 + 0.5 * np.abs(df["x1"]))
    return df


@pytest.fixture(scope="module")
def fit(frame: pd.DataFrame) -> duolm.OLSResults:
    return duolm.ols(FORMULA, frame)


def _same_cov(ours: duolm.OLSResults, ref: object) -> None:
    assert_allclose(
        ours.cov_params().to_numpy(),
        ref.cov_params().to_numpy(),  # type: ignore[attr-defined]
        rtol=RTOL,
        atol=0,
    )
    assert_allclose(ours.bse.to_numpy(), ref.bse.to_numpy(), rtol=RTOL, atol=0)  # type: ignore[attr-defined]


@pytest.mark.parametrize("maxlags", [0, 1, 3, 9, 40])
@pytest.mark.parametrize("kernel", ["bartlett", "uniform"])
@pytest.mark.parametrize("use_correction", [False, True])
def test_hac_matches_statsmodels(
    frame: pd.DataFrame, maxlags: int, kernel: str, use_correction: bool
) -> None:
    kw = {"maxlags": maxlags, "kernel": kernel, "use_correction": use_correction}
    ours = duolm.ols(FORMULA, frame, cov_type="HAC", cov_kwds=kw)
    _same_cov(ours, smf.ols(FORMULA, frame).fit(cov_type="HAC", cov_kwds=kw))


def test_hac_with_no_lags_is_hc0(fit: duolm.OLSResults) -> None:
    hac0 = fit.with_cov_type("HAC", {"maxlags": 0})
    hc0 = fit.with_cov_type("HC0")
    assert_allclose(hac0.cov_params(), hc0.cov_params(), rtol=1e-12, atol=0)
    assert_allclose(hac0.bse, hc0.bse, rtol=1e-12, atol=0)
    assert_allclose(hac0.fvalue, hc0.fvalue, rtol=1e-12, atol=0)


def test_hac_default_maxlags_is_stated(frame: pd.DataFrame, fit: duolm.OLSResults) -> None:
    assert core.default_maxlags(150) == 4  # floor(4 * 1.5^(2/9)) = floor(4.38)
    assert core.default_maxlags(1000) == 6
    ours = fit.with_cov_type("HAC")
    _same_cov(ours, smf.ols(FORMULA, frame).fit(cov_type="HAC", cov_kwds={"maxlags": 4}))
    text = " ".join(str(ours.summary()).split())
    assert "using 4 lags (the default floor(4 (n/100)^(2/9)))" in text


@pytest.mark.parametrize("use_correction", [True, False])
def test_one_way_cluster_matches_statsmodels(frame: pd.DataFrame, use_correction: bool) -> None:
    ref = smf.ols(FORMULA, frame).fit(
        cov_type="cluster", cov_kwds={"groups": frame["firm"], "use_correction": use_correction}
    )
    by_name = duolm.ols(
        FORMULA,
        frame,
        cov_type="cluster",
        cov_kwds={"groups": "firm", "use_correction": use_correction},
    )
    _same_cov(by_name, ref)
    by_labels = duolm.ols(FORMULA, frame).with_cov_type(
        "cluster", {"groups": frame["firm"].to_numpy(), "use_correction": use_correction}
    )
    _same_cov(by_labels, ref)


def test_cluster_labels_of_any_kind(frame: pd.DataFrame, fit: duolm.OLSResults) -> None:
    codes = pd.factorize(frame["year"])[0]
    ref = smf.ols(FORMULA, frame).fit(cov_type="cluster", cov_kwds={"groups": codes})
    _same_cov(fit.with_cov_type("cluster", {"groups": frame["year"].to_numpy()}), ref)
    _same_cov(fit.with_cov_type("cluster", {"groups": list(frame["year"])}), ref)


def test_cluster_labels_in_their_own_dtype_are_the_objects_bit_for_bit(
    frame: pd.DataFrame, fit: duolm.OLSResults
) -> None:
    # numeric, boolean and date labels are hashed in their own dtype (fast), text and mixed
    # ones as objects: the same groups in the same order, the same covariance to the bit
    firm = frame["firm"].to_numpy()
    day = np.datetime64("2020-01-01") + firm.astype("timedelta64[D]")
    for labels in (firm, firm.astype(np.float64), firm.astype(np.uint16), day, firm % 2 == 0):
        want = fit.with_cov_type("cluster", {"groups": labels.astype(object)}).cov_params()
        got = fit.with_cov_type("cluster", {"groups": labels}).cov_params()
        np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
        two = {"groups": (labels, frame["year"])}
        both = {"groups": (labels.astype(object), frame["year"])}
        np.testing.assert_array_equal(
            fit.with_cov_type("cluster", two).cov_params().to_numpy(),
            fit.with_cov_type("cluster", both).cov_params().to_numpy(),
        )


@pytest.mark.parametrize("use_correction", [True, False])
def test_two_way_cluster_matches_statsmodels(
    frame: pd.DataFrame, fit: duolm.OLSResults, use_correction: bool
) -> None:
    both = np.column_stack([frame["firm"].to_numpy(), pd.factorize(frame["year"])[0]])
    ref = smf.ols(FORMULA, frame).fit(
        cov_type="cluster", cov_kwds={"groups": both, "use_correction": use_correction}
    )
    by_names = duolm.ols(
        FORMULA,
        frame,
        cov_type="cluster",
        cov_kwds={"groups": ["firm", "year"], "use_correction": use_correction},
    )
    _same_cov(by_names, ref)
    for groups in (frame[["firm", "year"]], (frame["firm"], frame["year"]), both):
        kw = {"groups": groups, "use_correction": use_correction}
        _same_cov(fit.with_cov_type("cluster", kw), ref)


def test_cluster_groups_follow_the_dropped_rows(frame: pd.DataFrame) -> None:
    data = frame.copy()
    data.loc[[3, 40], "x1"] = np.nan  # dropped by the fit
    kept = data.dropna()
    ref = smf.ols(FORMULA, kept).fit(cov_type="cluster", cov_kwds={"groups": kept["firm"]})
    _same_cov(duolm.ols(FORMULA, data, cov_type="cluster", cov_kwds={"groups": "firm"}), ref)
    # a Series for all 150 rows is aligned on the 148 fitted rows by its index
    _same_cov(duolm.ols(FORMULA, data).with_cov_type("cluster", {"groups": data["firm"]}), ref)


def test_inference_reads_the_robust_covariance(frame: pd.DataFrame) -> None:
    kw = {"groups": "firm"}
    ours = duolm.ols(FORMULA, frame, cov_type="cluster", cov_kwds=kw)
    V = ours.cov_params().to_numpy()
    assert_allclose(ours.bse.to_numpy() ** 2, np.diag(V), rtol=1e-12, atol=0)
    assert_allclose(
        ours.f_test("x1 = 0").fvalue, ours.params["x1"] ** 2 / V[1, 1], rtol=1e-12, atol=0
    )
    X0 = pd.DataFrame({"x1": [0.5], "x2": [-1.0]})
    x0 = np.array([1.0, 0.5, -1.0])
    assert_allclose(ours.predict(X0)["mean_se"].iloc[0], np.sqrt(x0 @ V @ x0), rtol=1e-12, atol=0)


def test_bad_input_is_named(frame: pd.DataFrame, fit: duolm.OLSResults) -> None:
    labels = frame["firm"].to_numpy(dtype=float, copy=True)
    labels[17] = np.nan
    with pytest.raises(DataError, match="groups is missing at row 17"):
        fit.with_cov_type("cluster", {"groups": labels})
    with pytest.raises(DataError, match="one label per fitted row"):
        fit.with_cov_type("cluster", {"groups": np.arange(10)})
    with pytest.raises(DataError, match="at least 2 groups"):
        fit.with_cov_type("cluster", {"groups": np.zeros(len(frame))}).bse  # noqa: B018
    with pytest.raises(DataError, match="keeps no data columns"):
        fit.with_cov_type("cluster", {"groups": "firm"})
    with pytest.raises(DataError, match="column 'plant' is not in the data"):
        duolm.ols(FORMULA, frame, cov_type="cluster", cov_kwds={"groups": "plant"})
    with pytest.raises(ValueError, match="unknown"):
        fit.with_cov_type("HAC", {"lags": 3})
    with pytest.raises(ValueError, match="maxlags"):
        fit.with_cov_type("HAC", {"maxlags": -1})
    with pytest.raises(ValueError, match="kernel"):
        fit.with_cov_type("HAC", {"maxlags": 1, "kernel": "parzen"})
    with pytest.raises(ValueError, match="groups"):
        fit.with_cov_type("cluster")
    with pytest.raises(ValueError, match="cov_kwds apply to"):
        fit.with_cov_type("HC1", {"maxlags": 2})


def test_streamed_fit_without_the_meats_says_what_to_pass(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    red = duolm.reduce(FORMULA, str(path), diagnostics=True)
    with pytest.raises(DataError, match="groups='COLUMN'"):
        red.ols("cluster", {"groups": frame["firm"]})


def test_saving_a_dependent_covariance_is_refused(fit: duolm.OLSResults, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="with_cov_type"):
        duolm.save(fit.with_cov_type("HAC"), tmp_path / "f.json")
    duolm.save(fit.with_cov_type("HAC").with_cov_type("HC1"), tmp_path / "f.json")
    assert duolm.load_fit(tmp_path / "f.json").cov_type == "HC1"
    assert StateFileError is not None


# -- R's sandwich and Petersen's published cluster standard errors ------------------------
def test_hac_against_r_sandwich_newey_west() -> None:
    """``NeweyWest(fm, lag = 4, prewhite = FALSE, adjust = FALSE / TRUE)`` on statsmodels'
    macrodata growth rates, as stored in statsmodels' stats/tests/test_sandwich.py."""
    d = sm.datasets.macrodata.load_pandas().data
    data = pd.DataFrame(
        {
            "ginv": 400 * np.diff(np.log(d["realinv"].to_numpy())),
            "ggdp": 400 * np.diff(np.log(d["realgdp"].to_numpy())),
            "lint": d["realint"].to_numpy()[:-1],
        }
    )
    fit = duolm.ols("ginv ~ ggdp + lint", data)
    adjust_false = [
        [+1.3855512908840137, -0.313309610252268500, -0.059720797683570477],
        [-0.3133096102522685, +0.108101169035130618, +0.000389440793564339],
        [-0.0597207976835705, +0.000389440793564336, +0.086211852740503622],
    ]
    adjust_true = [
        [+1.40643899878678802, -0.3180328707083329709, -0.060621111216488610],
        [-0.31803287070833292, 0.1097308348999818661, +0.000395311760301478],
        [-0.06062111121648865, 0.0003953117603014895, +0.087511528912470993],
    ]
    hac = fit.with_cov_type("HAC", {"maxlags": 4})
    assert_allclose(hac.cov_params().to_numpy(), adjust_false, rtol=1e-10, atol=0)
    hac1 = fit.with_cov_type("HAC", {"maxlags": 4, "use_correction": True})
    assert_allclose(hac1.cov_params().to_numpy(), adjust_true, rtol=1e-10, atol=0)
    assert core.default_maxlags(fit.nobs) == 4  # R's "Lag truncation parameter chosen: 4"


def test_cluster_against_petersen() -> None:
    """Petersen's test data (5,000 firm-years) and his published standard errors:
    clustered by firm 0.0670, 0.0506; by year 0.0234, 0.0334; by both 0.0651, 0.0536.
    The data file ships with statsmodels (stats/tests/test_data.txt)."""
    path = Path(sm.__file__).parent / "stats" / "tests" / "test_data.txt"
    pet = pd.read_csv(path, sep=r"\s+", header=None, names=["firm", "year", "x", "y"])
    for groups, expected in [
        ("firm", [0.0670, 0.0506]),
        ("year", [0.0234, 0.0334]),
        (["firm", "year"], [0.0651, 0.0536]),
    ]:
        fit = duolm.ols("y ~ x", pet, cov_type="cluster", cov_kwds={"groups": groups})
        assert_allclose(fit.bse.to_numpy(), expected, rtol=0, atol=5e-5)


def test_maxlags_beyond_the_rows_is_refused(tmp_path: Path) -> None:
    """A lag of n or more pairs no rows, and Bartlett's weights of a long window tend to 1:
    maxlags = 10**6 on 20 rows gave standard errors near 0 and p ~ 1e-49, silently."""
    rng = np.random.default_rng(0)
    n = 20
    frame = pd.DataFrame({"x": rng.normal(size=n)})
    frame["y"] = 1 + frame.x + rng.normal(size=n)
    for maxlags in (n, 10**6):
        with pytest.raises(DataError, match=r"'maxlags' must be below the number of rows .*\(20\)"):
            duolm.ols("y ~ x", frame, cov_type="HAC", cov_kwds={"maxlags": maxlags})
    ok = duolm.ols("y ~ x", frame, cov_type="HAC", cov_kwds={"maxlags": n - 1})
    assert np.all(np.isfinite(ok.bse))
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="must be below the number of rows"):  # before pass 2
        duolm.ols("y ~ x", path, cov_type="HAC", cov_kwds={"maxlags": n}, batch_size=7)


def test_an_indefinite_covariance_is_said_by_name() -> None:
    """Two-way clusters (and HAC with uniform weights) can give a negative variance: its
    standard error is NaN, as statsmodels, but no longer silently."""
    rng = np.random.default_rng(2)
    n = 30
    X = np.c_[np.ones(n), rng.normal(size=n)]
    y = X @ [1.0, 1.0] + rng.normal(size=n)
    g1, g2 = rng.integers(0, 5, n), rng.integers(0, 3, n)
    fit = duolm.ols(X=X, y=y, cov_type="cluster", cov_kwds={"groups": [g1, g2]})
    with pytest.warns(CovarianceWarning, match="variance of 'x0' is negative"):
        bse = fit.bse
    assert np.isnan(bse.iloc[0]) and np.isfinite(bse.iloc[1])
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": np.c_[g1, g2]})
    assert_allclose(bse.iloc[1], ref.bse[1], rtol=1e-10, atol=0)
    assert np.isnan(ref.bse[0])
    with warnings.catch_warnings():  # a semidefinite one says nothing
        warnings.simplefilter("error")
        _ = duolm.ols(X=X, y=y, cov_type="cluster", cov_kwds={"groups": g1}).bse


def test_a_series_of_groups_is_aligned_by_label_at_any_length() -> None:
    """A same-length Series was used by position, a shorter or longer one by label: on a
    frame sorted after the labels were taken, the rows were clustered by other rows'
    labels, silently; two full Series beside a dropped row were read as 31 groupings."""
    rng = np.random.default_rng(2)
    n = 30
    data = pd.DataFrame({"x": rng.normal(size=n), "firm": rng.integers(0, 6, n)})
    data["y"] = data.x + rng.normal(size=n) + data.firm
    data["year"] = rng.integers(0, 4, n)
    ordered = data.sort_values("x")
    kw = {"cov_type": "cluster"}
    got = duolm.ols("y ~ x", ordered, cov_kwds={"groups": data["firm"]}, **kw)
    ref = smf.ols("y ~ x", ordered).fit(
        cov_type="cluster", cov_kwds={"groups": ordered["firm"].to_numpy()}
    )
    assert_allclose(got.bse, ref.bse, rtol=1e-10, atol=0)
    dropped = ordered.copy()
    dropped.loc[dropped.index[0], "x"] = np.nan
    with pytest.warns(duolm.errors.MissingValuesWarning):
        two = duolm.ols("y ~ x", dropped, cov_kwds={"groups": [data["firm"], data["year"]]}, **kw)
    rest = dropped.dropna()
    ref2 = smf.ols("y ~ x", rest).fit(
        cov_type="cluster", cov_kwds={"groups": rest[["firm", "year"]].to_numpy()}
    )
    assert_allclose(two.bse, ref2.bse, rtol=1e-10, atol=0)
    other = pd.Series(data["firm"].to_numpy(), index=data.index + 1000)
    with pytest.raises(DataError, match=r"aligned on the fitted rows by its index"):
        duolm.ols("y ~ x", data, cov_kwds={"groups": other}, **kw)
