"""Weighted fits of files, iterables of frames and Dask DataFrames (issue 10, item 1):
the weights column read beside the design in both passes == the in-memory weighted fit;
merged weighted parts == one fit; saved weighted fits come back weighted; the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner

import duolm
from duolm.cli import main
from duolm.errors import DataError
from shared import FORMULA, RTOL, _frame, assert_same_fit, crash_at


def _weighted(n: int = 150) -> pd.DataFrame:
    frame = _frame(n)
    frame["w"] = np.random.default_rng(8).uniform(0.25, 4.0, size=n)
    return frame


def _fit(data: object, **kw: object) -> duolm.OLSResults:
    return duolm.ols(FORMULA, data, weights="w", cov_type="HC3", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch_size", [7, 64, 1000])
def test_streamed_file_equals_in_memory(tmp_path: Path, batch_size: int) -> None:
    frame = _weighted()
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    got = _fit(path, batch_size=batch_size)
    want = _fit(frame)
    assert got.weighted and got.nobs == want.nobs
    assert_same_fit(got, want)
    text = str(got.summary())
    assert "WLS Regression Results" in text


def test_iterable_of_frames_and_dask_equal_in_memory() -> None:
    frame = _weighted()
    want = _fit(frame)
    chunks = [frame.iloc[i : i + 40] for i in range(0, len(frame), 40)]
    assert_same_fit(_fit(chunks), want)
    with dask.config.set(scheduler="synchronous"):
        got = _fit(dd.from_pandas(frame, npartitions=4))
    assert_same_fit(got, want)
    ref = sm.WLS(frame.y, sm.add_constant(frame[["x1", "x2", "x3"]]), weights=frame.w).fit()
    np.testing.assert_allclose(got.llf, ref.llf, rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.rsquared, ref.rsquared, rtol=RTOL, atol=0)


def test_bayes_streamed_equals_in_memory(tmp_path: Path) -> None:
    frame = _weighted()
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    prior = duolm.NIG.vague(4)
    got = duolm.bayes(FORMULA, path, prior=prior, weights="w", batch_size=33)
    want = duolm.bayes(FORMULA, frame, prior=prior, weights="w")
    np.testing.assert_allclose(got.params, want.params, rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.bse, want.bse, rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.log_evidence, want.log_evidence, rtol=RTOL, atol=0)


def test_missing_weights_are_dropped_in_every_batch(tmp_path: Path) -> None:
    frame = _weighted()
    frame.loc[[2, 50, 51, 120], "w"] = np.nan
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(duolm.errors.MissingValuesWarning):
        got = _fit(path, batch_size=16)
    with pytest.warns(duolm.errors.MissingValuesWarning):
        want = _fit(frame)
    assert got.n_dropped == want.n_dropped == 4
    assert_same_fit(got, want)


def test_bad_weight_in_a_later_batch_names_the_file_and_row(tmp_path: Path) -> None:
    frame = _weighted()
    frame.loc[97, "w"] = -1.0
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"data.csv: weights column 'w' is -1 at row 97"):
        _fit(path, batch_size=16)
    with pytest.raises(DataError, match="column 'v' of the weights is not in the data"):
        duolm.ols(FORMULA, path, weights="v")
    with pytest.raises(TypeError, match="give its name"):
        duolm.ols(FORMULA, path, weights=frame.w.to_numpy())
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.raises(DataError, match="partition 1: weights column 'w' is -1 at row 97"),
    ):
        _fit(dd.from_pandas(frame, npartitions=3))


def test_merged_weighted_parts_equal_one_fit() -> None:
    frame = _weighted()
    whole = duolm.reduce(FORMULA, frame, weights="w")
    parts = duolm.reduce(FORMULA, frame.iloc[:61], weights="w").merge(
        duolm.reduce(FORMULA, frame.iloc[61:], weights="w")
    )
    assert_same_fit(parts.ols(), whole.ols(), diagnostics=False)
    np.testing.assert_allclose(
        parts.bayes().log_evidence, whole.bayes().log_evidence, rtol=RTOL, atol=0
    )
    with pytest.raises(DataError, match="weighted reduction with an unweighted one"):
        parts.merge(duolm.reduce(FORMULA, frame))


def test_saved_weighted_fits_come_back_weighted(tmp_path: Path) -> None:
    frame = _weighted()
    fit = duolm.ols(FORMULA, frame, weights="w")
    duolm.save(fit, tmp_path / "fit.json")
    back = duolm.load_fit(tmp_path / "fit.json")
    assert back.spec.weights == "w" and back.weighted
    for name in ("llf", "rsquared", "centered_tss", "fvalue"):
        assert getattr(back, name) == getattr(fit, name)
    new = frame.iloc[:5]
    pd.testing.assert_frame_equal(back.predict(new, weights="w"), fit.predict(new, weights="w"))
    assert "WLS Regression Results" in str(back.summary())
    bayes = duolm.bayes(FORMULA, frame, weights=frame.w.to_numpy())
    duolm.save(bayes, tmp_path / "bayes.json")
    loaded = duolm.load_bayes(tmp_path / "bayes.json")
    assert loaded.spec.weights == "<array>"
    assert loaded.log_evidence == bayes.log_evidence


def test_cli_fit_weights(tmp_path: Path) -> None:
    frame = _weighted()
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    for stream in ("--in-memory", "--stream"):
        result = CliRunner().invoke(
            main, ["fit", str(path), "-f", FORMULA, "--ols", "--weights", "w", stream]
        )
        assert result.exit_code == 0, result.output
        assert "WLS Regression Results" in result.output
        ref = sm.WLS(frame.y, sm.add_constant(frame[["x1", "x2", "x3"]]), weights=frame.w).fit()
        assert f"{ref.rsquared:.3f}" in result.output
    result = CliRunner().invoke(main, ["fit", str(path), "-f", FORMULA, "--weights", "nope"])
    assert result.exit_code != 0 and "'nope' of the weights is not in the data" in result.output


@pytest.mark.parametrize("crash_after", [2, 5, 9])
def test_weighted_resume_from_a_checkpoint_is_bitwise_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    """The weights' sums are written to the checkpoint (R², llf of the resumed fit), and a
    checkpoint of the unweighted fit of the same file is refused."""
    path = tmp_path / "data.parquet"
    _weighted(200).to_parquet(path)
    want = _fit(path, batch_size=48)
    ckpt = tmp_path / "fit.ckpt"

    crash_at(
        monkeypatch,
        crash_after,
        lambda: _fit(path, batch_size=48, checkpoint=ckpt, checkpoint_every=1),
    )
    with pytest.raises(duolm.errors.StateFileError, match="weights"):
        duolm.ols(FORMULA, path, batch_size=48, checkpoint=ckpt, cov_type="HC3")
    got = _fit(path, batch_size=48, checkpoint=ckpt, checkpoint_every=1)
    for name in ("params", "bse", "rsquared", "llf", "centered_tss", "fvalue"):
        assert np.array_equal(np.asarray(getattr(got, name)), np.asarray(getattr(want, name)))


def test_cli_predict_with_the_new_rows_weights(tmp_path: Path) -> None:
    frame = _weighted()
    data, new, saved = tmp_path / "data.csv", tmp_path / "new.csv", tmp_path / "fit.json"
    frame.to_csv(data, index=False)
    frame.iloc[:6].to_csv(new, index=False)
    fit = duolm.ols(FORMULA, frame, weights="w")
    want = fit.predict(frame.iloc[:6], weights="w")
    runs = [
        ["fit", data, "-f", FORMULA, "--ols", "--weights", "w", "--save-state", saved],
        ["predict", saved, "--new", new, "--weights", "w", "--format", "csv"],
        [
            "predict",
            data,
            "-f",
            FORMULA,
            "--ols",
            "--new",
            new,
            "--weights",
            "w",
            "--format",
            "csv",
        ],
    ]
    for args in runs:
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    for args in runs[1:]:
        result = CliRunner().invoke(main, [str(a) for a in args])
        got = pd.read_csv(io.StringIO(result.output))
        np.testing.assert_allclose(got.obs_ci_lower, want.obs_ci_lower, rtol=1e-12, atol=0)


def test_weighted_batches_take_the_column_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain formula's weighted batches are reduced from their columns scaled by sqrt(w)
    (the compiled kernels), as unweighted ones: counted, and equal to the in-memory fit."""
    from duolm._stream import _batch

    frame = _weighted(600)
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    calls: list[int] = []
    real = _batch._Columns.stat

    def counted(self: _batch._Columns) -> object:
        calls.append(self.n)
        return real(self)

    monkeypatch.setattr(_batch._Columns, "stat", counted)
    got = _fit(path, batch_size=100)
    assert sum(calls) >= 400  # every batch after the first two went by the columns
    assert_same_fit(got, _fit(frame))
