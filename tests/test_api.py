"""The public entry points send files, iterables of frames and Dask DataFrames to the adapters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm

FORMULA = "height ~ time + I(time**2)"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return duolm.datasets.tracking(T=600)


@pytest.fixture(scope="module")
def files(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("route")
    out = {"csv": root / "d.csv", "parquet": root / "d.parquet"}
    frame.to_csv(out["csv"], index=False)
    frame.to_parquet(out["parquet"])
    return out


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_ols_of_a_file_is_the_in_memory_fit(
    frame: pd.DataFrame, files: dict[str, Path], kind: str
) -> None:
    whole = duolm.ols(FORMULA, frame, cov_type="HC3")
    streamed = duolm.ols(FORMULA, str(files[kind]), cov_type="HC3", batch_size=97)
    assert streamed.method == "stream" and streamed.rows is None
    np.testing.assert_allclose(streamed.params, whole.params, rtol=1e-10)
    np.testing.assert_allclose(streamed.bse, whole.bse, rtol=1e-10)
    np.testing.assert_allclose(
        streamed.diagnostics.durbin_watson, whole.diagnostics.durbin_watson, rtol=1e-10
    )
    direct = duolm.ols(FORMULA, files[kind], cov_type="HC3", batch_size=97)
    np.testing.assert_array_equal(streamed.params, direct.params)


def test_an_iterable_of_frames_is_streamed(frame: pd.DataFrame) -> None:
    parts = [frame.iloc[i : i + 150] for i in range(0, 600, 150)]
    np.testing.assert_allclose(
        duolm.ols(FORMULA, parts).params, duolm.ols(FORMULA, frame).params, rtol=1e-10
    )


def test_one_pass_fit_says_its_diagnostics_were_not_computed(files: dict[str, Path]) -> None:
    fit = duolm.ols(FORMULA, files["parquet"], diagnostics=False)
    with pytest.raises(duolm.DataError, match="not computed"):
        _ = fit.diagnostics
    assert "were not computed" in str(fit.summary())
    with pytest.raises(duolm.DataError, match="keeps no rows"):
        _ = fit.resid


def test_bayes_and_trajectory_of_a_file(frame: pd.DataFrame, files: dict[str, Path]) -> None:
    prior = duolm.NIG.from_xi(np.diag([1e4, 0.1, 0.1, 0.1]), 5)
    a = duolm.bayes(FORMULA, frame, prior=prior)
    b = duolm.bayes(FORMULA, files["csv"], prior=prior, batch_size=101)
    np.testing.assert_allclose(b.params, a.params, rtol=1e-10)
    np.testing.assert_allclose(b.log_evidence, a.log_evidence, rtol=1e-10)
    t_mem = duolm.trajectory(FORMULA, frame, prior=prior)
    t_file = duolm.trajectory(FORMULA, files["parquet"], prior=prior, batch_size=64)
    np.testing.assert_allclose(
        t_file["m[I(time ** 2)]"].to_numpy(), t_mem["m[I(time ** 2)]"].to_numpy(), rtol=1e-9
    )


def test_a_checkpointed_fit_through_the_entry_point(
    frame: pd.DataFrame, files: dict[str, Path], tmp_path: Path
) -> None:
    ckpt = tmp_path / "state.npz"
    fit = duolm.ols(FORMULA, files["csv"], batch_size=50, checkpoint=ckpt, checkpoint_every=2)
    np.testing.assert_allclose(fit.params, duolm.ols(FORMULA, frame).params, rtol=1e-10)
    assert not ckpt.exists()  # removed once the fit is complete


def test_streaming_options_are_refused_for_in_memory_data(frame: pd.DataFrame) -> None:
    for kwargs in ({"checkpoint": "x.npz"}, {"batch_size": 10}, {"progress": True}):
        with pytest.raises(TypeError, match="apply to streamed data"):
            duolm.ols(FORMULA, frame, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="apply to streamed data"):
            duolm.bayes(FORMULA, frame, **kwargs)  # type: ignore[arg-type]


def test_a_dask_dataframe_goes_to_the_dask_adapter(frame: pd.DataFrame) -> None:
    import dask
    import dask.dataframe as dd

    ddf = dd.from_pandas(frame, npartitions=4)
    with dask.config.set(scheduler="synchronous"):
        fit = duolm.ols(FORMULA, ddf)
        with pytest.raises(TypeError, match="do not apply to a Dask"):
            duolm.ols(FORMULA, ddf, checkpoint="x.npz")
    np.testing.assert_allclose(fit.params, duolm.ols(FORMULA, frame).params, rtol=1e-10)
