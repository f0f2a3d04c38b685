"""Helpers that several test folders share (the list of scalars, a streamed test frame,
the check that two least-squares fits agree in every number, a checkpoint writer that
crashes)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm.errors import DataError

SCALARS = [
    "rsquared",
    "rsquared_adj",
    "fvalue",
    "f_pvalue",
    "llf",
    "aic",
    "bic",
    "ssr",
    "ess",
    "centered_tss",
    "uncentered_tss",
    "scale",
    "nobs",
    "df_model",
    "df_resid",
]

PREDICT_COLUMNS = [
    "mean",
    "mean_se",
    "mean_ci_lower",
    "mean_ci_upper",
    "obs_ci_lower",
    "obs_ci_upper",
]

RTOL = 1e-10
FORMULA = "y ~ x1 + x2 + x3"
STREAM_SCALARS = [*SCALARS, "k_constant"]
DIAGNOSTICS = [
    "omnibus",
    "omnibus_pvalue",
    "jarque_bera",
    "jarque_bera_pvalue",
    "skew",
    "kurtosis",
    "durbin_watson",
    "condition_number",
]


def _frame(n: int = 150, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.uniform(-2.0, 5.0, size=n),
            "x3": rng.integers(0, 10, size=n).astype(np.int64),
            "g": rng.choice(["a", "b", "c"], size=n),
        }
    )
    frame["y"] = (
        1.5
        + 0.8 * frame.x1
        - 0.3 * frame.x2
        + 0.1 * frame.x3
        + frame.g.map({"a": 0.0, "b": 1.0, "c": -0.5})
        + rng.standard_t(6, size=n)
    )
    frame.loc[:4, "g"] = ["a", "b", "c", "a", "b"]  # every level in the first batch
    return frame


def assert_same_fit(
    got: duolm.OLSResults, want: duolm.OLSResults, *, diagnostics: bool = True
) -> None:
    """Every number of the summary, and the robust covariances, to RTOL."""
    assert got.terms == want.terms
    assert got.n_dropped == want.n_dropped
    assert got.aliased == want.aliased
    for name in ("params", "bse", "tvalues", "pvalues"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.conf_int(0.1), want.conf_int(0.1), rtol=RTOL, atol=0)
    np.testing.assert_allclose(got.cov_params(), want.cov_params(), rtol=RTOL, atol=1e-300)
    for name in STREAM_SCALARS:
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=RTOL, atol=0)
    np.testing.assert_allclose(
        got.scaled_condition_number, want.scaled_condition_number, rtol=RTOL, atol=0
    )
    if not diagnostics:
        return
    for name in DIAGNOSTICS:
        np.testing.assert_allclose(
            getattr(got.diagnostics, name), getattr(want.diagnostics, name), rtol=RTOL, atol=0
        )
    if not got.meats:  # a nonrobust streamed fit skips the leverages and meats, and says so
        with pytest.raises(DataError, match="was not computed"):
            _ = got.with_cov_type("HC3").bse
        return
    for cov in ("HC0", "HC1", "HC2", "HC3"):
        np.testing.assert_allclose(
            got.with_cov_type(cov).bse, want.with_cov_type(cov).bse, rtol=RTOL, atol=0
        )


class CrashError(Exception):
    """A streamed fit killed right after a checkpoint write (see :func:`save_crashing_after`)."""


def save_crashing_after(*counts: int) -> Callable[..., None]:
    """The stream's checkpoint writer, raising :class:`CrashError` right after its write
    number n (counted from 1 over every run that uses it) for each n in ``counts``; patch
    it in as ``duolm._stream._passes._save``."""
    from duolm._stream import _passes

    real_save = _passes._save
    writes: list[int] = []

    def save(*args: Any) -> None:
        real_save(*args)
        writes.append(1)
        if len(writes) in counts:
            raise CrashError

    return save


def crash_at(monkeypatch: pytest.MonkeyPatch, write: int, run: Callable[[], object]) -> None:
    """Call ``run`` (a checkpointed fit) with the stream's writer crashing right after its
    write number ``write``, and check that it crashed (:func:`save_crashing_after`)."""
    from duolm._stream import _passes

    with monkeypatch.context() as patch:
        patch.setattr(_passes, "_save", save_crashing_after(write))
        with pytest.raises(CrashError):
            run()


def timeless(text: str) -> list[str]:
    """A summary's lines with the Date and Time values blanked (same width, so alignment
    still counts): two fits printed a second apart compare equal."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(Date:|Time:)(\s+)(\S+(?: \S+)*)", line)
        if m:
            line = m.group(1) + m.group(2) + "#" * len(m.group(3)) + line[m.end() :]
        out.append(line)
    return out
