"""``duolm fit --cov-type HAC|cluster``: the options become statsmodels' cov_kwds, in memory
and streamed, and print the library's numbers (themselves checked against statsmodels in
tests/frequentist/test_robust.py and tests/stream/test_dependent.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

import duolm
from duolm.cli import main

FORMULA = "y ~ x"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    x = rng.normal(size=80).cumsum()
    e = np.convolve(rng.normal(size=82), [1.0, 0.7, 0.3], "valid")
    firm = rng.choice(["a", "b", "c", "d", "e", "f"], 80)
    return pd.DataFrame({"x": x, "y": 2.0 + 0.5 * x + e, "firm": firm, "year": np.arange(80) % 7})


@pytest.fixture(scope="module")
def path(data: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli_dependent") / "panel.csv"
    data.to_csv(out, index=False)
    return out


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _bse(result: Result) -> dict[str, float]:
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    return {name: row["std err"] for name, row in doc["ols"]["coefficients"].items()}


@pytest.mark.parametrize("where", ["--in-memory", "--stream"])
def test_hac_options(data: pd.DataFrame, path: Path, where: str) -> None:
    args = ("fit", path, "-f", FORMULA, "--ols", "--format", "json", where, "--cov-type", "HAC")
    kw = {"maxlags": 3, "kernel": "uniform", "use_correction": True}
    got = _bse(invoke(*args, "--maxlags", 3, "--kernel", "uniform", "--use-correction"))
    want = duolm.ols(FORMULA, data, cov_type="HAC", cov_kwds=kw).bse
    assert got == pytest.approx(want.to_dict(), rel=1e-10)
    got = _bse(invoke(*args))  # the default lags
    assert got == pytest.approx(duolm.ols(FORMULA, data, cov_type="HAC").bse.to_dict(), rel=1e-10)
    text = invoke(*args[:5], where, "--cov-type", "HAC", "--maxlags", 2).stdout
    assert "(HAC) using 2 lags" in " ".join(text.split())


@pytest.mark.parametrize("where", ["--in-memory", "--stream"])
def test_cluster_options(data: pd.DataFrame, path: Path, where: str) -> None:
    args = ("fit", path, "-f", FORMULA, "--ols", "--format", "json", where, "--cov-type", "cluster")
    for groups in ("firm", "firm,year"):
        names = groups.split(",")
        for flag, correction in (("--use-correction", True), ("--no-use-correction", False)):
            kw = {"groups": names, "use_correction": correction}
            want = duolm.ols(FORMULA, data, cov_type="cluster", cov_kwds=kw).bse
            assert _bse(invoke(*args, "--groups", groups, flag)) == pytest.approx(
                want.to_dict(), rel=1e-10
            )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--cov-type", "HC3", "--maxlags", "2"), "--maxlags apply to --cov-type HAC"),
        (("--cov-type", "HAC", "--groups", "firm"), "--groups applies to --cov-type cluster"),
        (("--cov-type", "cluster"), "needs --groups COLUMN"),
        (("--cov-type", "cluster", "--groups", "a,b,c"), "one column or two"),
        (("--cov-type", "cluster", "--groups", "plant"), "'plant' is not in the data"),
        (("--use-correction",), "applies to --cov-type HAC or cluster"),
    ],
)
def test_bad_options_are_named(path: Path, extra: tuple[str, ...], message: str) -> None:
    result = invoke("fit", path, "-f", FORMULA, "--ols", *extra)
    assert result.exit_code != 0
    assert message in result.output
