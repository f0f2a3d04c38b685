"""No command writes an output onto one of its inputs (issue 14, item 5).

``duolm report data.csv -o data.csv`` and ``duolm fit data.csv --save-state data.csv``
replaced the data by the page or the JSON; now every such pair is refused before
anything is read or written, and the input is left byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest
from click.testing import CliRunner, Result

from duolm import datasets
from duolm.cli import main

FORMULA = "height ~ time"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    datasets.tracking().to_csv(path, index=False)
    return path


def refused(result: Result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("command", "option", "name"),
    [
        (["report"], "-o", "--output"),
        (["fit", "--bayes"], "--save-state", "--save-state"),
        (["fit"], "--plot", "--plot"),
    ],
)
def test_an_output_onto_the_data_is_refused(
    data: Path, command: list[str], option: str, name: str
) -> None:
    before = data.read_bytes()
    result = invoke(*command, data, "-f", FORMULA, option, data)
    refused(result, f"{name} '{data}' is the DATA of this command")
    assert data.read_bytes() == before


def test_the_same_file_by_another_name_is_refused(data: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.csv"
    os.symlink(data, link)
    relative = os.path.relpath(data)
    before = data.read_bytes()
    refused(invoke("report", data, "-f", FORMULA, "-o", link), "is the DATA of this command")
    refused(invoke("report", relative, "-f", FORMULA, "-o", data), "is the DATA of this command")
    assert data.read_bytes() == before


def test_an_output_onto_the_prior_file_is_refused(data: Path, tmp_path: Path) -> None:
    prior = tmp_path / "prior.json"
    prior.write_text('{"xi": [10000, 0.1, 0.1], "nu": 5}')
    before = prior.read_bytes()
    result = invoke("fit", data, "-f", FORMULA, "--bayes", "--prior", prior, "--save-state", prior)
    refused(result, "is the --prior of this command")
    result = invoke("report", data, "-f", FORMULA, "--prior", prior, "-o", prior)
    refused(result, "is the --prior of this command")
    assert prior.read_bytes() == before


def test_two_outputs_onto_one_file_are_refused(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    result = invoke("fit", data, "-f", FORMULA, "--save-state", out, "--plot", out)
    refused(result, "--save-state and --plot both write")


@pytest.mark.slow  # a report and a fit: several seconds
def test_other_paths_still_work(data: Path, tmp_path: Path) -> None:
    result = invoke("report", data, "-f", FORMULA, "-o", tmp_path / "page.html")
    assert result.exit_code == 0, result.output
    result = invoke("fit", data, "-f", FORMULA, "--save-state", tmp_path / "post.json")
    assert result.exit_code == 0, result.output
