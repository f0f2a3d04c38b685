"""duolm.reduce and Reduction: one pass, both readings, exact merges of disjoint data.

References: the in-memory fits of the same rows (themselves checked against statsmodels
and NIST elsewhere), and the exact identity merged parts == one fit of all rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import duolm
from duolm import NIG
from duolm._stream import _passes
from duolm.errors import DataError
from shared import FORMULA, RTOL, _frame, assert_same_fit

PRIOR = NIG(np.zeros(4), 10.0 * np.eye(4), 2.0, 1.5)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame(400, seed=21)


@pytest.fixture(scope="module")
def parquet(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reduce") / "data.parquet"
    frame.to_parquet(path)
    return path


def _summary_text(fit: duolm.OLSResults | duolm.BayesResults) -> str:
    return "\n".join(
        line
        for line in str(fit.summary()).splitlines()
        if "Date:" not in line and "Time:" not in line
    )


def test_in_memory_readings_are_the_fits_exactly(frame: pd.DataFrame) -> None:
    red = duolm.reduce(FORMULA, frame)
    assert red.passes == 2 and red.design is not None
    for cov in ("nonrobust", "HC3"):
        got, want = red.ols(cov), duolm.ols(FORMULA, frame, cov_type=cov)
        pd.testing.assert_series_equal(got.bse, want.bse, rtol=0, atol=0)
        assert _summary_text(got) == _summary_text(want)
    got_b, want_b = red.bayes(PRIOR), duolm.bayes(FORMULA, frame, prior=PRIOR)
    pd.testing.assert_series_equal(got_b.params, want_b.params, rtol=0, atol=0)
    assert got_b.log_evidence == want_b.log_evidence


def test_streamed_reduction_gives_both_readings(frame: pd.DataFrame, parquet: Path) -> None:
    red = duolm.reduce(FORMULA, parquet, batch_size=64, diagnostics=True, robust=True)
    assert red.passes == 2 and red.design is None and red.nobs == len(frame)
    assert_same_fit(red.ols("HC1"), duolm.ols(FORMULA, frame, cov_type="HC1"))
    got, want = red.bayes(PRIOR), duolm.bayes(FORMULA, frame, prior=PRIOR)
    np.testing.assert_allclose(got.params, want.params, rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.bse, want.bse, rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.log_evidence, want.log_evidence, rtol=RTOL, atol=0)


def test_one_pass_reduction_refuses_what_needs_the_residuals(parquet: Path) -> None:
    red = duolm.reduce(FORMULA, parquet)
    assert red.passes == 1
    fit = red.ols()
    with pytest.raises(DataError, match="one pass"):
        _ = fit.diagnostics
    with pytest.raises(ValueError, match="second pass"):
        red.ols("HC3")
    nonrobust = duolm.reduce(FORMULA, parquet, diagnostics=True)
    with pytest.raises(ValueError, match="robust=True"):
        nonrobust.ols("HC0")


@pytest.mark.parametrize("cut", [37, 200, 399])
def test_merged_reductions_equal_one_fit(frame: pd.DataFrame, cut: int) -> None:
    whole = duolm.ols(FORMULA, frame)
    first, second = duolm.reduce(FORMULA, frame.iloc[:cut]), duolm.reduce(FORMULA, frame.iloc[cut:])
    merged = first.merge(second)
    assert merged.nobs == len(frame) and merged.passes == 1
    fit = merged.ols()
    for name in ("params", "bse", "tvalues", "pvalues"):
        np.testing.assert_allclose(getattr(fit, name), getattr(whole, name), rtol=RTOL, atol=0)
    for name in ("rsquared", "fvalue", "llf", "aic", "ssr", "centered_tss"):
        np.testing.assert_allclose(getattr(fit, name), getattr(whole, name), rtol=RTOL, atol=0)
    assert fit.k_constant == whole.k_constant
    other = second.merge(first)  # order does not matter
    np.testing.assert_allclose(other.ols().params, whole.params, rtol=RTOL, atol=0)
    posterior = merged.bayes(PRIOR)
    want = duolm.bayes(FORMULA, frame, prior=PRIOR)
    np.testing.assert_allclose(posterior.params, want.params, rtol=RTOL, atol=0)
    np.testing.assert_allclose(posterior.log_evidence, want.log_evidence, rtol=RTOL, atol=0)


def test_a_file_and_a_frame_merge(frame: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "head.csv"
    frame.iloc[:150].to_csv(path, index=False)
    merged = duolm.reduce(FORMULA, path, batch_size=40).merge(
        duolm.reduce(FORMULA, frame.iloc[150:])
    )
    np.testing.assert_allclose(
        merged.ols().params, duolm.ols(FORMULA, frame).params, rtol=RTOL, atol=0
    )
    assert merged.label == f"{path} + data"  # both sources named


def test_reductions_of_other_designs_do_not_merge(frame: pd.DataFrame) -> None:
    a = duolm.reduce(FORMULA, frame)
    with pytest.raises(DataError, match=r"different designs: 'y ~ x1 \+ x2 \+ x3'.*'y ~ x1'"):
        a.merge(duolm.reduce("y ~ x1", frame))
    with pytest.raises(TypeError, match="Reduction"):
        a.merge(duolm.ols(FORMULA, frame))  # type: ignore[arg-type]


def test_reduce_resumes_from_its_checkpoint(parquet: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "r.ckpt"
    want = duolm.reduce(FORMULA, parquet, batch_size=50).ols().params
    real = _passes._save
    calls = [0]

    def crash(*args: object) -> None:
        calls[0] += 1
        real(*args)  # type: ignore[arg-type]
        if calls[0] == 2:
            raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_passes, "_save", crash)
        with pytest.raises(KeyboardInterrupt):
            duolm.reduce(FORMULA, parquet, batch_size=50, checkpoint=ckpt, checkpoint_every=1)
    assert ckpt.exists()
    got = duolm.reduce(FORMULA, parquet, batch_size=50, checkpoint=ckpt, checkpoint_every=1)
    assert np.array_equal(got.ols().params, want) and not ckpt.exists()


def test_compare_reads_reductions_as_their_least_squares_fits(frame: pd.DataFrame) -> None:
    small, big = "y ~ x1", FORMULA
    by_fit = duolm.compare(duolm.ols(small, frame), duolm.ols(big, frame))
    by_reduction = duolm.compare(duolm.reduce(small, frame), duolm.reduce(big, frame))
    pd.testing.assert_frame_equal(by_reduction, by_fit)
    named = duolm.compare({"a": duolm.reduce(small, frame), "b": duolm.ols(big, frame)})
    assert list(named.index) == ["a", "b"]


def test_arguments_are_checked_at_the_door(frame: pd.DataFrame, parquet: Path) -> None:
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        duolm.reduce(FORMULA, parquet, batch_size=0)
    with pytest.raises(ValueError, match="checkpoint_every"):
        duolm.reduce(FORMULA, parquet, checkpoint_every=-1)
    with pytest.raises(TypeError, match="apply to streamed data"):
        duolm.reduce(FORMULA, frame, batch_size=10)
    with pytest.raises(ValueError, match="missing"):
        duolm.reduce(FORMULA, frame, missing="skip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alias_tol"):
        duolm.reduce(FORMULA, frame, alias_tol=2.0)


def test_every_object_says_what_it_is(frame: pd.DataFrame, parquet: Path) -> None:
    red = duolm.reduce(FORMULA, parquet)
    fit, post = duolm.ols(FORMULA, frame), duolm.bayes(FORMULA, frame, prior=PRIOR)
    for obj, start in (
        (red, "<Reduction of 'y ~ x1 + x2 + x3'"),
        (fit, "<OLSResults 'y ~ x1 + x2 + x3': 400 rows, 4 coefficients, R²"),
        (post, "<BayesResults 'y ~ x1 + x2 + x3': 400 rows, 4 coefficients, posterior"),
        (post.posterior, "NIG(k=4, a="),
    ):
        text = repr(obj)
        assert text.startswith(start) and "\n" not in text, text
        page = obj._repr_html_()
        assert page.count("<table") >= 1 and "<script" not in page
    assert "one pass" in repr(red) and "data.parquet" in repr(red)
    assert "Durbin-Watson" in fit._repr_html_()
    assert "Log evidence" in post._repr_html_() or "evidence" in post._repr_html_()
    flat = NIG.reference(2)
    assert "singular" in flat._repr_html_()


def test_cli_fit_both_reads_a_streamed_file_once_per_pass(
    frame: pd.DataFrame, parquet: Path
) -> None:
    from duolm.cli import main

    real = _passes._batches
    passes: list[int] = []

    def counting(job: object, start: int) -> object:
        passes.append(start)
        return real(job, start)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_passes, "_batches", counting)
        for mode, reads in (("--both", 2), ("--ols", 2), ("--bayes", 1)):
            passes.clear()
            result = CliRunner().invoke(
                main, ["fit", str(parquet), "-f", FORMULA, mode, "--stream", "--format", "json"]
            )
            assert result.exit_code == 0, result.output
            assert len(passes) == reads, (mode, passes)


def test_rows_in_memory_defer_pass_one(frame: pd.DataFrame) -> None:
    # the least-squares reading of rows in memory factors them once (its own solver);
    # counting rows must not run pass 1 (a second factorisation and a column scan)
    red = duolm.reduce(FORMULA, frame.assign(x1=frame.x1.where(frame.index != 3)))
    assert (red.nobs, red.n_dropped, red.passes) == (399, 1, 2)
    assert "pass1" not in red.__dict__  # the cached property was never computed
    red.ols()
    assert "pass1" not in red.__dict__
    assert red.merge(red).nobs == 798 and "pass1" in red.__dict__
