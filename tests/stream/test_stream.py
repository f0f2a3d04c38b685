"""duolm.stream: fits of files and iterables of frames read in batches.

The reference for every streamed fit is the in-memory fit of the whole table,
``duolm.ols(formula, frame)`` (itself checked against statsmodels in
test_ols.py); the two must agree to rtol 1e-10 on everything the summary
shows. Checkpoints are checked bitwise: a run interrupted at any point and
resumed ends with exactly the numbers of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import duolm
from duolm import NIG, _stream, reduction
from duolm._checks import CovType
from duolm._stream import _batch as _reduction
from duolm._stream import _passes
from duolm.errors import DataError, FormulaError, RankWarning, StateFileError
from shared import FORMULA, RTOL, CrashError, _frame, assert_same_fit, crash_at, save_crashing_after


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def files(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stream")
    csv, parquet = folder / "data.csv", folder / "data.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet, row_group_size=40)  # several row groups
    return {"csv": csv, "parquet": parquet}


# -- streamed == in memory ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("batch_size", [1, 7, 40, 64, 10_000])
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1"])
def test_file_equals_in_memory(
    files: dict[str, Path], frame: pd.DataFrame, kind: str, batch_size: int, cov_type: CovType
) -> None:
    want = duolm.ols(FORMULA, frame, cov_type=cov_type)
    got = duolm.ols(FORMULA, files[kind], batch_size=batch_size, cov_type=cov_type)
    assert got.method == "stream" and got.rows is None
    assert_same_fit(got, want)
    assert "Durbin-Watson" in str(got.summary())


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_categorical_and_transforms_equal_in_memory(
    files: dict[str, Path], frame: pd.DataFrame, kind: str
) -> None:
    formula = "y ~ C(g) + x1 * x2 + np.log(x2 + 3) + I(x3 ** 2)"
    want = duolm.ols(formula, frame, cov_type="HC3")
    got = duolm.ols(formula, files[kind], batch_size=32, cov_type="HC3")
    assert_same_fit(got, want)


def test_iterable_of_frames(frame: pd.DataFrame) -> None:
    want = duolm.ols(FORMULA, frame)
    parts = [frame.iloc[:1], frame.iloc[1:50], frame.iloc[50:51], frame.iloc[51:]]
    assert_same_fit(duolm.ols(FORMULA, parts), want)
    one_shot = duolm.ols(FORMULA, iter(parts), diagnostics=False)
    assert_same_fit(one_shot, want, diagnostics=False)


def test_empty_frames_before_the_first_rows_are_skipped(frame: pd.DataFrame) -> None:
    for missing in ("drop", "raise"):
        parts = [frame.iloc[:0], frame.iloc[:0], frame.iloc[:60], frame.iloc[60:]]
        want = duolm.ols(FORMULA, frame.dropna(), missing=missing)
        assert_same_fit(duolm.ols(FORMULA, parts, missing=missing), want)


def test_one_shot_iterator_cannot_be_read_twice(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="read only once"):
        duolm.ols(FORMULA, iter([frame.iloc[:50], frame.iloc[50:]]))


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 149), max_size=8, unique=True))
def test_any_chunking_gives_the_in_memory_fit(cuts: list[int]) -> None:
    frame = _frame()
    bounds = [0, *sorted(cuts), len(frame)]
    parts = [frame.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    assert_same_fit(duolm.ols(FORMULA, parts), duolm.ols(FORMULA, frame))


def test_one_pass_has_the_estimate_and_nonrobust_inference(files: dict[str, Path]) -> None:
    want = duolm.ols(FORMULA, pd.read_parquet(files["parquet"]))
    got = duolm.ols(FORMULA, files["parquet"], diagnostics=False, batch_size=16)
    assert_same_fit(got, want, diagnostics=False)
    assert got.moments is None  # not computed: said so, never a number made up
    with pytest.raises(DataError, match="not computed"):
        _ = got.diagnostics
    with pytest.raises(ValueError, match="second pass"):
        duolm.ols(FORMULA, files["parquet"], diagnostics=False, cov_type="HC1")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_missing_rows_are_dropped_and_counted(tmp_path: Path, kind: str) -> None:
    frame = _frame()
    frame.loc[[0, 1, 2, 3, 4, 5, 6, 7, 60, 61, 149], "x1"] = np.nan  # the whole first batch too
    frame.loc[[20, 61], "y"] = np.nan
    path = tmp_path / f"nan.{kind}"
    frame.to_csv(path, index=False) if kind == "csv" else frame.to_parquet(path)
    want = duolm.ols(FORMULA, frame)
    got = duolm.ols(FORMULA, path, batch_size=8)
    assert got.n_dropped == want.n_dropped == 12
    assert_same_fit(got, want)
    with pytest.raises(DataError, match=r"missing values in column\(s\) 'x1'"):
        duolm.ols(FORMULA, path, batch_size=8, missing="raise")


def test_no_intercept_and_aliased_columns(frame: pd.DataFrame, tmp_path: Path) -> None:
    data = frame.assign(x4=2.0 * frame.x1 - frame.x2)
    path = tmp_path / "alias.parquet"
    data.to_parquet(path)
    for formula in ("y ~ x1 + x2 + x4 + x3", "y ~ 0 + x1 + x2 + x4"):
        with pytest.warns(RankWarning, match="x4"):
            want = duolm.ols(formula, data)
        with pytest.warns(RankWarning, match="x4"):
            got = duolm.ols(formula, path, batch_size=25)
        assert got.aliased == ("x4",)
        assert_same_fit(got, want)


def test_stateful_transform_is_fixed_on_the_first_batch(files: dict[str, Path]) -> None:
    frame = pd.read_csv(files["csv"])
    got = duolm.ols("y ~ center(x2) + x1", files["csv"], batch_size=50)
    want = duolm.ols("y ~ center(x2) + x1", frame)
    # center() uses the first batch's mean: the slopes are the in-memory ones ...
    np.testing.assert_allclose(got.params.iloc[1:], want.params.iloc[1:], rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.bse.iloc[1:], want.bse.iloc[1:], rtol=RTOL, atol=0)
    # ... and the intercept moves by slope * (mean of x2 - mean of its first 50 rows).
    shift = got.params.iloc[1] * (frame.x2.mean() - frame.x2.iloc[:50].mean())
    np.testing.assert_allclose(got.params.iloc[0], want.params.iloc[0] - shift, rtol=1e-9)


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_new_level_in_a_later_batch_is_an_error(tmp_path: Path, kind: str) -> None:
    frame = _frame()
    frame.loc[100, "g"] = "zz"
    path = tmp_path / f"level.{kind}"
    frame.to_csv(path, index=False) if kind == "csv" else frame.to_parquet(path)
    with pytest.raises(DataError, match=r"'g' has level 'zz' at row 100 that the fit did not see"):
        duolm.ols("y ~ C(g) + x1", path, batch_size=30)


def test_text_in_a_numeric_column_names_column_and_file_row(tmp_path: Path) -> None:
    frame = _frame().astype({"x2": object})
    frame.loc[137, "x2"] = "n/a?"
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    # row 137 is the 138th data line of the file (line 139 with the header); the first
    # batch of 64 rows is all numbers, so the spec takes x2 as numeric.
    with pytest.raises(DataError, match=r"text\.csv.*'x2' is not numeric: row 137 holds 'n/a\?'"):
        duolm.ols(FORMULA, path, batch_size=64)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("x1,x2,x3,y\n")
    with pytest.raises(DataError, match="no rows"):
        duolm.ols(FORMULA, header_only)
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    with pytest.raises(DataError, match="empty"):
        duolm.ols(FORMULA, blank)
    no_rows = tmp_path / "none.parquet"
    _frame().iloc[:0].to_parquet(no_rows)
    with pytest.raises(DataError, match="no rows"):
        duolm.ols(FORMULA, no_rows)
    with pytest.raises(FileNotFoundError, match="no such data file"):
        duolm.ols(FORMULA, tmp_path / "absent.parquet")
    with pytest.raises(FormulaError, match="nothere"):
        duolm.ols("y ~ nothere", header_only)


def test_lag_is_refused(files: dict[str, Path]) -> None:
    with pytest.raises(FormulaError, match="lag"):
        duolm.ols("y ~ lag(x1)", files["csv"])


def test_is_source(frame: pd.DataFrame, files: dict[str, Path]) -> None:
    assert _stream.is_source(files["csv"]) and _stream.is_source(str(files["parquet"]))
    assert _stream.is_source("big.CSV.gz") and _stream.is_source([frame])
    assert _stream.is_source(iter([frame])) and _stream.is_source(f for f in [frame])
    for other in (frame, frame.x1, {"x": [1.0]}, np.ones((3, 2)), "y ~ x", "data.txt", [], [1.0]):
        assert not _stream.is_source(other)


# -- Bayes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_bayes_equals_in_memory(files: dict[str, Path], frame: pd.DataFrame, kind: str) -> None:
    for prior in (None, NIG.reference(4), NIG(np.ones(4), 5.0 * np.eye(4), 3.0, 2.0)):
        want = duolm.bayes(FORMULA, frame, prior=prior)
        got = duolm.bayes(FORMULA, files[kind], prior=prior, batch_size=9)
        assert got.design is None and got.nobs == want.nobs
        np.testing.assert_allclose(got.params, want.params, rtol=RTOL, atol=0)
        np.testing.assert_allclose(got.bse, want.bse, rtol=RTOL, atol=0)
        np.testing.assert_allclose(
            got.credible_interval(0.1), want.credible_interval(0.1), rtol=RTOL, atol=0
        )
        np.testing.assert_allclose(got.posterior.b, want.posterior.b, rtol=RTOL, atol=0)
        assert got.posterior.a == want.posterior.a
        if prior is not None and prior.is_proper:
            np.testing.assert_allclose(got.log_evidence, want.log_evidence, rtol=RTOL, atol=0)


# -- checkpoints -------------------------------------------------------------------------------


def _numbers(fit: duolm.OLSResults) -> np.ndarray:
    """Every number a resumed run must reproduce bitwise."""
    d = fit.diagnostics
    return np.concatenate(
        [
            fit.params_kept,
            fit.stat.R.ravel(),
            [fit.stat.nobs, fit.stat.y_mean, fit.stat.y_m2, fit.n_dropped],
            [d.omnibus or 0.0, d.jarque_bera, d.skew, d.kurtosis, d.durbin_watson],
            *(np.ravel(m) for m in (fit.meats or {}).values()),
        ]
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = _frame(n=400, seed=11)
    frame.loc[[3, 77, 250], "x2"] = np.nan
    path = tmp_path_factory.mktemp("ckpt") / "big.parquet"
    frame.to_parquet(path, row_group_size=90)
    return path


def _fit(path: Path, ckpt: Path | None, every: int = 1) -> duolm.OLSResults:
    return duolm.ols(
        FORMULA, path, batch_size=48, checkpoint=ckpt, checkpoint_every=every, cov_type="HC2"
    )


@pytest.mark.parametrize("crash_after", range(1, 20))
def test_resume_after_a_crash_at_any_checkpoint_is_bitwise_equal(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    # 400 rows in batches of 48: 9 batches per pass, 9 + 1 + 9 checkpoint writes.
    want = _numbers(_fit(big, None))
    ckpt = tmp_path / "fit.ckpt"
    crash_at(monkeypatch, crash_after, lambda: _fit(big, ckpt))
    assert ckpt.exists()
    got = _numbers(_fit(big, ckpt))
    assert np.array_equal(got, want)
    assert not ckpt.exists()  # removed at the end


def test_a_checkpoint_of_another_alias_tol_is_refused(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pass 2's sums are those of the columns pass 1 kept, which alias_tol decides: a
    resume with another one broadcast (3, 2, 2) against (3, 3, 3) meats."""
    ckpt = tmp_path / "fit.ckpt"
    kw: dict[str, Any] = {"batch_size": 48, "checkpoint": ckpt, "checkpoint_every": 1}
    with monkeypatch.context() as patch:
        patch.setattr(_passes, "_save", save_crashing_after(12))  # in pass 2
        with pytest.raises(CrashError):
            duolm.ols(FORMULA, big, alias_tol=0.5, cov_type="HC1", **kw)
    with pytest.raises(StateFileError, match=r"alias_tol: 0\.5 there"):
        duolm.ols(FORMULA, big, cov_type="HC1", **kw)
    got = duolm.ols(FORMULA, big, alias_tol=0.5, cov_type="HC1", **kw)  # the same run: resumed
    want = duolm.ols(FORMULA, big, alias_tol=0.5, cov_type="HC1", batch_size=48)
    assert np.array_equal(_numbers(got), _numbers(want))


@pytest.mark.parametrize("crash_after", [2, 5, 9, 12])
def test_a_csv_with_blank_lines_resumes_at_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    """pandas' chunks skip blank lines, and its ``skiprows`` counted them: a resumed
    run read some rows twice (400 rows came out 407, silently)."""
    frame = _frame(n=400, seed=3)
    lines = frame.to_csv(index=False).splitlines()
    text = "\n".join(line + ("\n" if i % 23 == 5 else "") for i, line in enumerate(lines))
    path = tmp_path / "blank.csv"
    path.write_text(text + "\n")

    def fit(ckpt: Path | None) -> duolm.OLSResults:
        return duolm.ols(
            FORMULA, path, batch_size=48, checkpoint=ckpt, checkpoint_every=1, cov_type="HC1"
        )

    want = fit(None)
    assert want.nobs == 400
    ckpt = tmp_path / "fit.ckpt"
    crash_at(monkeypatch, crash_after, lambda: fit(ckpt))
    got = fit(ckpt)
    assert got.nobs == 400
    assert np.array_equal(_numbers(got), _numbers(want))


@pytest.mark.parametrize("crash_in", [("part", 4), ("part", 8), ("resid", 1), ("resid", 7)])
def test_resume_after_a_crash_between_checkpoints(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_in: tuple[str, int]
) -> None:
    want = _numbers(_fit(big, None))
    ckpt = tmp_path / "fit.ckpt"
    where, at = crash_in
    cls = reduction.Pass1 if where == "part" else reduction.Pass2
    name = "merge"  # once per batch in either pass
    real = getattr(cls, name)
    calls: list[int] = []

    def crashing(self: Any, *args: Any) -> Any:
        calls.append(1)
        if len(calls) == at:
            raise CrashError
        return real(self, *args)

    monkeypatch.setattr(cls, name, crashing)
    with pytest.raises(CrashError):
        _fit(big, ckpt, every=3)
    monkeypatch.setattr(cls, name, real)
    assert np.array_equal(_numbers(_fit(big, ckpt, every=3)), want)


def test_resume_keeps_a_refused_column_path(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the direct column path fails its check, formulaic builds every batch; a resumed
    run must not check again and switch (the Gram would be summed otherwise)."""
    real = _reduction._Builder._verified

    def refuse(self: Any, direct: Any, X: Any, y: Any) -> Any:
        checked = real(self, direct, X, y)
        return dataclasses.replace(checked, plain=None) if direct is not None else checked

    with monkeypatch.context() as patch:
        patch.setattr(_reduction._Builder, "_verified", refuse)
        want = _numbers(_fit(big, None))
    ckpt = tmp_path / "fit.ckpt"
    with monkeypatch.context() as patch:
        patch.setattr(_reduction._Builder, "_verified", refuse)
        patch.setattr(_passes, "_save", save_crashing_after(4))
        with pytest.raises(CrashError):
            _fit(big, ckpt)
    assert np.array_equal(_numbers(_fit(big, ckpt)), want)  # resumed without the patch


_CHILD = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    import duolm
    from duolm import reduction
    from duolm._stream import _passes

    path, ckpt, mode, out = sys.argv[1:5]
    if mode.startswith("exit"):  # die right after the k-th checkpoint write, or inside one
        k = int(mode.split(":")[1])
        real_save, real_replace, count = _passes._save, os.replace, [0]
        def save(*args):
            count[0] += 1
            if count[0] == k and mode.startswith("exit-mid"):
                os.replace = lambda *a: os._exit(17)
            real_save(*args)
            if count[0] == k:
                os._exit(17)
        _passes._save = save
    elif mode == "slow":  # give the parent time to kill it
        real_merge = reduction.Pass1.merge
        def merge(self, *args):
            time.sleep(0.05)
            return real_merge(self, *args)
        reduction.Pass1.merge = merge
    fit = duolm.ols("y ~ x1 + x2 + x3", path, batch_size=48, checkpoint=ckpt,
                     checkpoint_every=1, cov_type="HC2")
    np.save(out, fit.params_kept)
    """
)


def _child(big: Path, ckpt: Path, mode: str, out: Path) -> subprocess.Popen[bytes]:
    script = out.with_suffix(".py")
    script.write_text(_CHILD)
    return subprocess.Popen(
        [sys.executable, str(script), str(big), str(ckpt), mode, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["exit:3", "exit:10", "exit-mid:14", "sigkill"])
def test_killed_process_resumes_bitwise(big: Path, tmp_path: Path, mode: str) -> None:
    ckpt = tmp_path / "fit.ckpt"
    want = _fit(big, None).params_kept
    proc = _child(big, ckpt, "slow" if mode == "sigkill" else mode, tmp_path / "killed.npy")
    if mode == "sigkill":
        deadline = time.monotonic() + 60
        while not ckpt.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.12)  # a few batches more
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, err.decode()
    assert ckpt.exists()
    resumed = _child(big, ckpt, "none", tmp_path / "resumed.npy")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    assert np.array_equal(np.load(tmp_path / "resumed.npy"), want)
    assert not ckpt.exists()
    assert not list(tmp_path.glob(".fit.ckpt.*.tmp"))  # a half-written temp file is cleaned


def test_checkpoint_of_other_arguments_is_refused(big: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "fit.ckpt"
    with pytest.raises(CrashError), _crash_after_first_save():
        _fit(big, ckpt)
    with pytest.raises(StateFileError, match=r"batch_size: 48 there, 50 now"):
        duolm.ols(FORMULA, big, batch_size=50, checkpoint=ckpt)
    with pytest.raises(StateFileError, match="formula"):
        duolm.ols("y ~ x1", big, batch_size=48, checkpoint=ckpt)
    with pytest.raises(StateFileError, match="robust"):  # HC meats were (not) accumulated
        duolm.ols(FORMULA, big, batch_size=48, checkpoint=ckpt, cov_type="nonrobust")
    os.utime(big, ns=(time.time_ns(), time.time_ns() + 10**9))  # the file was modified
    with pytest.raises(StateFileError, match="mtime_ns"):
        _fit(big, ckpt)
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(StateFileError, match="not readable"):
        _fit(big, ckpt)


def test_a_checkpoint_changed_after_it_was_written_is_refused(big: Path, tmp_path: Path) -> None:
    """Entries edited by hand or damaged on disk resumed silently into numbers no run
    made (a pass number skipping the rest of pass 1, a batch count skipping pass 2, a
    meat of another shape broadcast) or raised IndexError and the like: a digest of the
    entries is written with them and checked."""
    ckpt = tmp_path / "fit.ckpt"
    with pytest.raises(CrashError), _crash_after_first_save():
        _fit(big, ckpt)
    with np.load(ckpt, allow_pickle=False) as z:
        entries = {name: z[name] for name in z.files}
    for name, value in [("pass_", 3), ("batches", 999), ("batches", -3), ("nobs", 1e9)]:
        _write(ckpt, **{**entries, name: np.array(value)})
        with pytest.raises(StateFileError, match="do not match their digest"):
            _fit(big, ckpt)
    _write(ckpt, **{k: v for k, v in entries.items() if k != "const_mask"})
    with pytest.raises(StateFileError, match="corrupt"):
        _fit(big, ckpt)
    _write(ckpt, **entries)  # as written: resumed
    assert np.array_equal(_numbers(_fit(big, ckpt)), _numbers(_fit(big, None)))


def _write(path: Path, **entries: Any) -> None:
    with open(path, "wb") as handle:  # np.savez of a name would add ".npz"
        np.savez(handle, **entries)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"hello", "not a NumPy .npz archive"),
        (b"PAR1 the data file itself", "not a NumPy .npz archive"),
        (b"\x93NUMPY a plain .npy", "not a NumPy .npz archive"),
        (b"\x80\x04 a pickle", "pickles"),
    ],
)
def test_what_a_checkpoint_path_holds_instead_is_said(
    big: Path, tmp_path: Path, content: bytes, what: str
) -> None:
    """Any file that was not a zip was said to hold pickles, and a plain .npy raised
    TypeError."""
    ckpt = tmp_path / "fit.ckpt"
    ckpt.write_bytes(content)
    with pytest.raises(StateFileError, match=f"not readable: .*{what}"):
        _fit(big, ckpt)


class _crash_after_first_save:  # noqa: N801 - used as a context manager
    def __enter__(self) -> None:
        self.real = _passes._save

        def save(*args: Any) -> None:
            self.real(*args)
            raise CrashError

        _passes._save = save

    def __exit__(self, *exc: object) -> None:
        _passes._save = self.real


def test_checkpoint_needs_a_file(frame: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file source"):
        duolm.ols(FORMULA, [frame], checkpoint=tmp_path / "x.ckpt")


def test_checkpoint_file_has_no_pickles(big: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "fit.ckpt"
    with pytest.raises(CrashError), _crash_after_first_save():
        _fit(big, ckpt)
    with np.load(ckpt, allow_pickle=False) as z:
        assert str(z["format"]) == "duolm.stream.checkpoint"
        assert int(z["pass_"]) == 1 and int(z["batches"]) == 1


# -- progress ------------------------------------------------------------------------------------


def test_progress_bar_goes_to_stderr(
    files: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    duolm.ols(FORMULA, files["parquet"], batch_size=50, progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "pass 2/2" in err
    duolm.ols(FORMULA, files["parquet"], batch_size=50)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_no_warnings_on_clean_data(files: dict[str, Path]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        duolm.ols(FORMULA, files["csv"], batch_size=33)


# -- trajectory ----------------------------------------------------------------------------------


def _assert_same_trajectory(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got.index.equals(want.index)
    for name in want.columns:
        if want[name].dtype.kind == "f":  # exact zeros (b at an exact fit) meet rounding
            values = np.abs(want[name].to_numpy())
            finite = values[np.isfinite(values)]
            scale = finite.max() if finite.size else 1.0
            np.testing.assert_allclose(
                got[name], want[name], rtol=RTOL, atol=1e-13 * scale, equal_nan=True
            )
        else:
            assert (got[name] == want[name]).all(), name


@pytest.mark.parametrize("batch_size", [1, 13, 1000])
@pytest.mark.parametrize("prior", [None, "reference"])
def test_trajectory_equals_in_memory(tmp_path: Path, batch_size: int, prior: str | None) -> None:
    frame = _frame(n=120)
    frame.loc[[0, 1, 50], "x2"] = np.nan
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    nig = NIG.reference(4) if prior == "reference" else None
    want = duolm.trajectory(FORMULA, frame, prior=nig)
    got = duolm.trajectory(FORMULA, path, prior=nig, batch_size=batch_size)
    _assert_same_trajectory(got, want)
    frames = list(duolm.iter_trajectory(FORMULA, path, prior=nig, batch_size=batch_size))
    assert all(len(f) <= batch_size for f in frames)
    out = tmp_path / "trajectory.parquet"
    assert duolm.write_trajectory(FORMULA, path, out, prior=nig, batch_size=batch_size) == 117
    _assert_same_trajectory(pd.read_parquet(out).rename_axis(None), want)


def test_trajectory_of_a_one_shot_iterator(frame: pd.DataFrame) -> None:
    parts = iter([frame.iloc[:70], frame.iloc[70:]])
    _assert_same_trajectory(duolm.trajectory(FORMULA, parts), duolm.trajectory(FORMULA, frame))


def test_csv_resume_is_bitwise_equal(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.csv"
    pd.read_parquet(big).to_csv(path, index=False)
    want = _numbers(_fit(path, None))
    ckpt = tmp_path / "fit.ckpt"
    with monkeypatch.context() as patch:
        patch.setattr(_passes, "_save", save_crashing_after(4, 13))
        for _ in range(2):  # crash in pass 1, resume and crash in pass 2
            with pytest.raises(CrashError):
                _fit(path, ckpt)
    assert np.array_equal(_numbers(_fit(path, ckpt)), want)


@pytest.mark.parametrize("fit", [duolm.ols, duolm.bayes, duolm.trajectory])
def test_column_missing_in_a_later_frame_is_a_data_error(fit: Any) -> None:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"x": rng.normal(size=30), "y": rng.normal(size=30)})
    frames = [frame.iloc[:15], frame.iloc[15:].drop(columns="x")]
    with pytest.raises(DataError, match="column 'x' used by the formula is not in the data"):
        fit("y ~ x", frames)


def test_a_checkpoint_of_another_encoding_is_refused(tmp_path: Path) -> None:
    # the encoding decides what the bytes mean: resuming under another is not the same run
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"x": rng.normal(size=400), "g": rng.choice(["é", "e"], 400)})
    frame["y"] = frame.x + rng.normal(size=400)
    path = tmp_path / "latin.csv"
    path.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    ckpt = tmp_path / "fit.ckpt"
    with pytest.raises(CrashError), _crash_after_first_save():
        duolm.ols("y ~ x + g", path, batch_size=50, checkpoint=ckpt, encoding="latin-1")
    with pytest.raises(StateFileError, match=r"encoding: 'latin-1' there, 'cp1252' now"):
        duolm.ols("y ~ x + g", path, batch_size=50, checkpoint=ckpt, encoding="cp1252")
    resumed = duolm.ols("y ~ x + g", path, batch_size=50, checkpoint=ckpt, encoding="latin-1")
    assert resumed.nobs == 400


def test_errors_in_an_iterable_of_frames_name_the_frame(frame: pd.DataFrame) -> None:
    """Each frame names its rows by its own index: "row 3" alone did not say of which."""
    parts = [frame.iloc[:50].reset_index(drop=True), frame.iloc[50:].reset_index(drop=True)]
    parts[1] = parts[1].copy()
    parts[1].loc[3, "y"] = np.nan
    with pytest.raises(DataError, match=r"the frames \(frame 1\): missing .*'y' at rows 3"):
        duolm.ols(FORMULA, parts, missing="raise")
    parts[1].loc[3, "y"] = np.inf
    with pytest.raises(DataError, match=r"the frames \(frame 1\): column 'y' is inf at row 3"):
        duolm.ols(FORMULA, parts)
