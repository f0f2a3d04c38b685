"""``cov_type="HAC"`` and ``"cluster"`` on streamed files, iterables of frames and Dask.

The second pass feeds the score rows to the core's mergeable HAC and cluster
meats batch by batch (partition by partition); the result must be the
in-memory fit's and statsmodels' at 1e-10 whatever the batch size, batches
shorter than ``maxlags`` included (the lag products then span several batch
boundaries).
"""

from __future__ import annotations

from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose

import duolm
from duolm._stream import _batch
from duolm.errors import DataError, MissingValuesWarning
from shared import CrashError, crash_at, save_crashing_after, timeless

RTOL = 1e-10
FORMULA = "y ~ x1 + x2"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Serially correlated, heteroskedastic errors; 12 firms and 5 years as clusters."""
    rng = np.random.default_rng(23)
    x1, x2 = rng.normal(size=(2, 120))
    e = np.convolve(rng.normal(size=123), [1.0, 0.6, 0.3, 0.1], "valid") * (1 + np.abs(x1) / 2)
    year = rng.choice(["y1", "y2", "y3", "y4", "y5"], 120)
    x2 = x2.cumsum() / 4
    y = 1.0 + x1 - 0.5 * x2 + e
    return pd.DataFrame(
        {"x1": x1, "x2": x2, "firm": rng.integers(0, 12, 120), "year": year, "y": y}
    )


@pytest.fixture(scope="module")
def files(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("dependent")
    frame.to_parquet(folder / "d.parquet")
    frame.to_csv(folder / "d.csv", index=False)
    return {"parquet": str(folder / "d.parquet"), "csv": str(folder / "d.csv")}


def _same(ours: duolm.OLSResults, ref: object) -> None:
    for got, want in (
        (ours.cov_params().to_numpy(), ref.cov_params()),  # type: ignore[attr-defined]
        (ours.bse.to_numpy(), ref.bse),  # type: ignore[attr-defined]
        (ours.params.to_numpy(), ref.params),  # type: ignore[attr-defined]
    ):
        assert_allclose(got, np.asarray(want), rtol=RTOL, atol=0)


@pytest.mark.parametrize("batch_size", [1, 2, 5, 17, 1000])
@pytest.mark.parametrize(
    "kw",
    [
        {"maxlags": 3},
        {"maxlags": 9, "kernel": "uniform", "use_correction": True},
        {"maxlags": 40},  # longer than most batches: lags span several boundaries
    ],
)
def test_streamed_hac_equals_in_memory_and_statsmodels(
    frame: pd.DataFrame, files: dict[str, str], batch_size: int, kw: dict[str, object]
) -> None:
    ref = smf.ols(FORMULA, frame).fit(cov_type="HAC", cov_kwds=kw)
    ours = duolm.ols(FORMULA, files["parquet"], cov_type="HAC", cov_kwds=kw, batch_size=batch_size)
    _same(ours, ref)
    _same(ours, duolm.ols(FORMULA, frame, cov_type="HAC", cov_kwds=kw))
    assert ours.cov_type == "HAC"
    assert_allclose(ours.fvalue, ref.fvalue, rtol=RTOL)  # the Wald F reads the HAC covariance


def test_streamed_hac_default_maxlags_is_the_rule_on_the_rows_fitted(
    frame: pd.DataFrame, files: dict[str, str]
) -> None:
    lags = duolm.core.default_maxlags(len(frame))  # 4 for 120 rows
    ref = smf.ols(FORMULA, frame).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    ours = duolm.ols(FORMULA, files["csv"], cov_type="HAC", batch_size=7)
    _same(ours, ref)
    text = " ".join(str(ours.summary()).split())
    assert f"using {lags} lags (the default floor(4 (n/100)^(2/9)))" in text


def test_streamed_hac_with_no_lags_is_hc0(files: dict[str, str]) -> None:
    hac = duolm.ols(FORMULA, files["parquet"], cov_type="HAC", cov_kwds={"maxlags": 0})
    hc0 = hac.with_cov_type("HC0")  # the same second pass accumulated the HC meats
    assert_allclose(hac.cov_params(), hc0.cov_params(), rtol=1e-12, atol=0)


@pytest.mark.parametrize(("batch_size", "use_correction"), [(4, True), (1000, False)])
def test_streamed_cluster_equals_statsmodels(
    frame: pd.DataFrame, files: dict[str, str], batch_size: int, use_correction: bool
) -> None:
    one = smf.ols(FORMULA, frame).fit(
        cov_type="cluster", cov_kwds={"groups": frame["firm"], "use_correction": use_correction}
    )
    kw = {"groups": "firm", "use_correction": use_correction}
    for path in files.values():
        _same(duolm.ols(FORMULA, path, cov_type="cluster", cov_kwds=kw, batch_size=batch_size), one)
    both = np.column_stack([frame["firm"].to_numpy(), pd.factorize(frame["year"])[0]])
    two = smf.ols(FORMULA, frame).fit(
        cov_type="cluster", cov_kwds={"groups": both, "use_correction": use_correction}
    )
    kw2 = {"groups": ["firm", "year"], "use_correction": use_correction}
    ours = duolm.ols(FORMULA, files["csv"], cov_type="cluster", cov_kwds=kw2, batch_size=batch_size)
    _same(ours, two)
    assert "12 and 5 groups (two-way)" in " ".join(str(ours.summary()).split())


def test_iterable_of_frames_and_dropped_rows(frame: pd.DataFrame) -> None:
    data = frame.copy()
    data.loc[[3, 40, 41], "x1"] = np.nan  # dropped by the fit, groups follow
    data.loc[50, "firm"] = np.nan  # the group of a dropped row is not needed...
    data.loc[50, "x2"] = np.nan
    kept = data.dropna()
    chunks = [data.iloc[i : i + 13] for i in range(0, len(data), 13)]
    ref = smf.ols(FORMULA, kept).fit(cov_type="cluster", cov_kwds={"groups": kept["firm"]})
    with pytest.warns(MissingValuesWarning):
        ours = duolm.ols(FORMULA, chunks, cov_type="cluster", cov_kwds={"groups": "firm"})
    _same(ours, ref)
    ref = smf.ols(FORMULA, kept).fit(cov_type="HAC", cov_kwds={"maxlags": 5})
    with pytest.warns(MissingValuesWarning):
        _same(duolm.ols(FORMULA, chunks, cov_type="HAC", cov_kwds={"maxlags": 5}), ref)
    data.loc[60, "firm"] = np.nan  # ...that of a fitted row is
    chunks = [data.iloc[i : i + 13] for i in range(0, len(data), 13)]
    with pytest.raises(DataError, match="groups column 'firm' is missing at row 60"):
        duolm.ols(FORMULA, chunks, cov_type="cluster", cov_kwds={"groups": "firm"})


def test_reduction_carries_the_meats(frame: pd.DataFrame, files: dict[str, str]) -> None:
    red = duolm.reduce(
        FORMULA,
        files["parquet"],
        diagnostics=True,
        robust=True,
        hac={"maxlags": 6},
        groups=["firm", "year"],
        batch_size=10,
    )
    sm = smf.ols(FORMULA, frame)
    _same(red.ols("HAC", {"maxlags": 6}), sm.fit(cov_type="HAC", cov_kwds={"maxlags": 6}))
    fit = red.ols("HAC", {"maxlags": 6, "use_correction": True})
    ref = sm.fit(cov_type="HAC", cov_kwds={"maxlags": 6, "use_correction": True})
    _same(fit, ref)
    both = np.column_stack([frame["firm"].to_numpy(), pd.factorize(frame["year"])[0]])
    _same(
        fit.with_cov_type("cluster", {"groups": ["firm", "year"]}),
        sm.fit(cov_type="cluster", cov_kwds={"groups": both}),
    )
    _same(fit.with_cov_type("HC3"), sm.fit(cov_type="HC3"))
    # what was not accumulated is refused, naming what to pass
    with pytest.raises(DataError, match=r"maxlags=6, kernel='bartlett': pass those"):
        red.ols("HAC", {"maxlags": 2})
    with pytest.raises(DataError, match=r"pass groups=\['firm', 'year'\]"):
        red.ols("cluster", {"groups": "firm"})
    with pytest.raises(DataError, match="pass groups"):
        red.ols("cluster", {"groups": frame["firm"].to_numpy()})
    plain = duolm.reduce(FORMULA, files["parquet"], diagnostics=True, robust=True)
    with pytest.raises(DataError, match=r"reduce with diagnostics=True and hac="):
        plain.ols("HAC")
    hc = plain.ols("HC1")
    with pytest.raises(DataError, match="accumulated none"):
        hc.with_cov_type("cluster", {"groups": "firm"})


def test_bad_requests_are_named(frame: pd.DataFrame, files: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(DataError, match="column names, not labels"):
        duolm.ols(FORMULA, files["csv"], cov_type="cluster", cov_kwds={"groups": frame["firm"]})
    with pytest.raises(DataError, match="column 'plant' is not in the data"):
        duolm.ols(FORMULA, files["csv"], cov_type="cluster", cov_kwds={"groups": "plant"})
    with pytest.raises(ValueError, match="use diagnostics=True"):
        duolm.reduce(FORMULA, files["csv"], hac=True)
    in_memory = duolm.reduce(FORMULA, frame, hac=True)  # rows at hand: nothing to accumulate
    want = duolm.ols(FORMULA, frame, cov_type="HAC", cov_kwds={"maxlags": 2}).bse
    assert_allclose(in_memory.ols("HAC", {"maxlags": 2}).bse, want, rtol=1e-14)
    with pytest.raises(ValueError, match="hac must be True or a dict"):
        duolm.reduce(FORMULA, files["csv"], diagnostics=True, hac=3)


def test_dask_equals_in_memory(frame: pd.DataFrame) -> None:
    ddf = dd.from_pandas(frame, npartitions=9)  # 14 rows each: maxlags 30 spans several
    with dask.config.set(scheduler="synchronous"):
        for kw in ({"maxlags": 30, "kernel": "uniform"}, {}):
            ours = duolm.ols(FORMULA, ddf, cov_type="HAC", cov_kwds=kw)
            _same(ours, duolm.ols(FORMULA, frame, cov_type="HAC", cov_kwds=kw))
        kw2 = {"groups": ["firm", "year"]}
        ours = duolm.ols(FORMULA, ddf, cov_type="cluster", cov_kwds=kw2)
        _same(ours, duolm.ols(FORMULA, frame, cov_type="cluster", cov_kwds=kw2))
        with pytest.raises(DataError, match="column 'plant' is not in the Dask DataFrame"):
            duolm.ols(FORMULA, ddf, cov_type="cluster", cov_kwds={"groups": "plant"})


def test_weighted_streamed_fit_equals_statsmodels_wls(frame: pd.DataFrame, tmp_path: Path) -> None:
    data = frame.assign(w=np.random.default_rng(4).uniform(0.5, 2.0, len(frame)))
    data.to_parquet(tmp_path / "w.parquet")
    wls = smf.wls(FORMULA, data, weights=data["w"])
    for cov_type, kw, ref_kw in (
        ("HAC", {"maxlags": 3}, {"maxlags": 3}),
        ("cluster", {"groups": "firm"}, {"groups": data["firm"]}),
    ):
        ours = duolm.ols(
            FORMULA,
            str(tmp_path / "w.parquet"),
            weights="w",
            cov_type=cov_type,
            cov_kwds=kw,
            batch_size=11,
        )
        _same(ours, wls.fit(cov_type=cov_type, cov_kwds=ref_kw))


@pytest.mark.parametrize(
    ("cov_type", "kw"),
    [
        ("HAC", {"maxlags": 40}),
        ("HAC", {"maxlags": 3, "kernel": "uniform"}),
        ("cluster", {"groups": ["firm", "year"]}),
    ],
)
def test_score_rows_of_the_compiled_pass_are_the_numpy_ones(
    files: dict[str, str], monkeypatch: pytest.MonkeyPatch, cov_type: str, kw: dict[str, object]
) -> None:
    # a plain formula's pass 2 takes the score rows from the compiled kernel, never numpy's
    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the numpy pass 2 ran")

    with monkeypatch.context() as patched:
        patched.setattr(_batch.Pass2, "of", refused)
        fast = duolm.ols(FORMULA, files["parquet"], cov_type=cov_type, cov_kwds=kw, batch_size=17)
    # the same fit with the kernel's pass 2 refused: numpy's whitening and products
    monkeypatch.setattr(_batch, "_pass2_of_columns", lambda *args, **kwargs: None)
    slow = duolm.ols(FORMULA, files["parquet"], cov_type=cov_type, cov_kwds=kw, batch_size=17)
    assert_allclose(fast.cov_params(), slow.cov_params(), rtol=1e-12, atol=0)
    assert_allclose(fast.with_cov_type("HC3").bse, slow.with_cov_type("HC3").bse, rtol=1e-12)


def test_two_way_clusters_of_a_parquet_file_equal_statsmodels(
    frame: pd.DataFrame, files: dict[str, str]
) -> None:
    # the labels are read from the Arrow columns (ints and strings), no frame built
    both = np.column_stack([frame["firm"].to_numpy(), pd.factorize(frame["year"])[0]])
    two = smf.ols(FORMULA, frame).fit(cov_type="cluster", cov_kwds={"groups": both})
    for batch_size in (7, 1000):
        kw = {"groups": ["firm", "year"]}
        _same(
            duolm.ols(
                FORMULA, files["parquet"], cov_type="cluster", cov_kwds=kw, batch_size=batch_size
            ),
            two,
        )


def test_a_missing_group_label_in_a_parquet_file_is_named(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    firm = table.column("firm").to_pylist()
    firm[60] = None  # a null in an integer column
    nulls = table.set_column(table.schema.get_field_index("firm"), "firm", pa.array(firm))
    pq.write_table(nulls, tmp_path / "null.parquet")
    # NaN in a float column is a value to Arrow, not a null: still a missing label
    nan = np.asarray(firm, dtype=float)
    nans = table.set_column(table.schema.get_field_index("firm"), "firm", pa.array(nan))
    pq.write_table(nans, tmp_path / "nan.parquet", row_group_size=50)
    assert nans.column("firm").null_count == 0
    # a dictionary (categorical) column: Arrow's to_numpy gives its nulls some other label
    cats = np.array(["a", "b", "c"], dtype=object)[np.asarray(frame["firm"]) % 3]
    cats[60] = None
    where = table.schema.get_field_index("firm")
    coded = table.set_column(where, "firm", pa.array(cats).dictionary_encode())
    pq.write_table(coded, tmp_path / "dictionary.parquet")
    for name in ("null.parquet", "nan.parquet", "dictionary.parquet"):
        with pytest.raises(DataError, match="groups column 'firm' is missing at row 60"):
            duolm.ols(
                FORMULA,
                tmp_path / name,
                cov_type="cluster",
                cov_kwds={"groups": "firm"},
                batch_size=16,
            )


# -- checkpoints of the HAC and cluster meats ---------------------------------------------------


CHECKPOINTED = [
    ("HAC", {"maxlags": 9}),  # longer than the batches: the meats' head and tail rows matter
    ("HAC", {"kernel": "uniform"}),  # the lag rule, counted by pass 1
    ("cluster", {"groups": "firm"}),
    ("cluster", {"groups": ["firm", "year"]}),  # integer and text labels, their intersection
]


@pytest.mark.parametrize(("cov_type", "kw"), CHECKPOINTED)
@pytest.mark.parametrize("crash_after", [3, 16, 17, 20, 31])
def test_a_resumed_hac_or_cluster_fit_is_bitwise_the_uninterrupted_one(
    files: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cov_type: str,
    kw: dict[str, object],
    crash_after: int,
) -> None:
    # 120 rows in batches of 8: 15 batches a pass, 15 + 1 + 15 checkpoint writes; a crash
    # after write 17, 20 or 31 leaves the meats of part of pass 2 in the checkpoint

    def fit(ckpt: Path | None) -> duolm.OLSResults:
        return duolm.ols(
            FORMULA,
            files["parquet"],
            cov_type=cov_type,
            cov_kwds=kw,
            batch_size=8,
            checkpoint=ckpt,
            checkpoint_every=1,
        )

    want = fit(None)
    ckpt = tmp_path / "fit.ckpt"
    crash_at(monkeypatch, crash_after, lambda: fit(ckpt))
    got = fit(ckpt)
    assert np.array_equal(got.cov_params().to_numpy(), want.cov_params().to_numpy())
    assert np.array_equal(got.params.to_numpy(), want.params.to_numpy())
    assert timeless(str(got.summary())) == timeless(str(want.summary()))
    assert not ckpt.exists()


def test_a_checkpoint_of_other_dependent_meats_is_refused(
    files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from duolm._stream import _passes
    from duolm.errors import StateFileError

    ckpt = tmp_path / "fit.ckpt"
    with monkeypatch.context() as patch:
        patch.setattr(_passes, "_save", save_crashing_after(1))
        with pytest.raises(CrashError):
            duolm.ols(
                FORMULA,
                files["parquet"],
                cov_type="HAC",
                cov_kwds={"maxlags": 3},
                batch_size=8,
                checkpoint=ckpt,
            )
    for cov_type, kw in (("HAC", {"maxlags": 4}), ("cluster", {"groups": "firm"})):
        with pytest.raises(StateFileError, match="scores"):
            duolm.ols(
                FORMULA,
                files["parquet"],
                cov_type=cov_type,
                cov_kwds=kw,
                batch_size=8,
                checkpoint=ckpt,
            )


def test_labels_a_checkpoint_cannot_store_are_named(tmp_path: Path) -> None:
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(5)
    n = 60
    table = pa.table(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "y": rng.normal(size=n),
            "plant": pa.array([Decimal(i % 4) for i in range(n)], pa.decimal128(5, 0)),
        }
    )
    pq.write_table(table, tmp_path / "d.parquet")
    with pytest.raises(DataError, match=r"cluster groups of column 'plant'.*Decimal"):
        duolm.ols(
            FORMULA,
            tmp_path / "d.parquet",
            cov_type="cluster",
            cov_kwds={"groups": "plant"},
            batch_size=10,
            checkpoint=tmp_path / "c.ckpt",
            checkpoint_every=1,
        )
    # without a checkpoint the same labels cluster the fit
    fit = duolm.ols(
        FORMULA,
        tmp_path / "d.parquet",
        cov_type="cluster",
        cov_kwds={"groups": "plant"},
        batch_size=10,
    )
    assert np.isfinite(fit.bse.to_numpy()).all()


@pytest.mark.parametrize("kind", ["date", "zoned"])
def test_date_groups_are_one_group_whether_a_batch_dropped_rows_or_not(
    tmp_path: Path, kind: str
) -> None:
    """Batches that dropped a row took their labels through pandas (``datetime.date``,
    zoned ``Timestamp``), the others through Arrow (``datetime64``): never equal, so
    9 days made 18 groups and wrong standard errors, silently (and a checkpoint refused
    the pandas labels)."""
    rng = np.random.default_rng(0)
    n = 3000
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 9, n), "D")
    labels = day.date if kind == "date" else day.tz_localize("Europe/Prague")
    data = pd.DataFrame({"x": rng.normal(size=n), "day": labels})
    data["y"] = 1 + 2 * data.x + rng.normal(size=n)
    data.loc[[10, 20, 1500], "x"] = np.nan  # batches 0 and 3 drop rows, the others none
    path = tmp_path / "dates.parquet"
    data.to_parquet(path)
    kw = {"cov_type": "cluster", "cov_kwds": {"groups": "day"}}
    with pytest.warns(MissingValuesWarning):
        want = duolm.ols("y ~ x", data, **kw)
        got = duolm.ols("y ~ x", path, batch_size=500, **kw)
        resumed = duolm.ols("y ~ x", path, batch_size=500, checkpoint=tmp_path / "c", **kw)
    red = duolm.reduce("y ~ x", path, batch_size=500, diagnostics=True, groups="day")
    assert red.pass2 is not None and red.pass2.scores is not None
    assert red.pass2.scores.clusters is not None
    assert red.pass2.scores.clusters[0].n_groups == 9
    assert_allclose(got.bse, want.bse, rtol=RTOL, atol=0)
    assert_allclose(resumed.bse, want.bse, rtol=RTOL, atol=0)
