"""The report and the command line give no Python-only advice (``pass x=``) (item 15)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import duolm
from duolm.present import plots


@pytest.fixture(scope="module")
def two_inputs() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=30), "z": rng.normal(size=30)})
    frame["y"] = 1 + frame["x"] - frame["z"] + rng.normal(size=30)
    return frame


def test_python_callers_still_get_the_x_advice(two_inputs: pd.DataFrame) -> None:
    fit = duolm.ols("y ~ x + z", two_inputs)
    with pytest.raises(ValueError, match=r"pass x= when the others are constant"):
        plots.bands(fit, two_inputs)


def test_the_report_says_why_without_x(two_inputs: pd.DataFrame) -> None:
    from duolm.present.report import build_report

    page = build_report(two_inputs, "y ~ x + z")
    assert "No bands figure" in page
    assert "x=" not in page.split("No bands figure", 1)[1][:300]


def test_the_command_line_says_why_without_x(two_inputs: pd.DataFrame, tmp_path: Path) -> None:
    from duolm.cli import main

    path = tmp_path / "xz.csv"
    two_inputs.to_csv(path, index=False)
    png = tmp_path / "res.png"
    result = CliRunner().invoke(main, ["fit", str(path), "-f", "y ~ x + z", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert "no bands figure" in result.stderr
    assert "x=" not in result.stderr
    assert "the residual diagnostics instead" in result.stderr
