"""The command line reads text in other encodings with --encoding (issue 14, item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from duolm import datasets
from duolm.cli import main

FORMULA = "height ~ time"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("enc")
    frame = datasets.tracking().assign(site="Málaga")
    text = frame.to_csv(index=False)
    out = {}
    for name, codec in [("utf8", "utf-8"), ("latin", "latin-1"), ("utf16", "utf-16")]:
        out[name] = folder / f"{name}.csv"
        out[name].write_bytes(text.encode(codec))
    return out


def test_a_latin1_file_is_named_with_the_option_to_give(files: dict[str, Path]) -> None:
    result = invoke("fit", files["latin"], "-f", FORMULA, "--ols")
    assert result.exit_code == 1
    assert "latin.csv: not UTF-8 text" in result.output
    assert "--encoding on the command line" in result.output


@pytest.mark.parametrize("name", ["latin", "utf16"])
@pytest.mark.parametrize("mode", ["--in-memory", "--stream"])
def test_encoding_gives_the_utf8_numbers(files: dict[str, Path], name: str, mode: str) -> None:
    codec = {"latin": "latin-1", "utf16": "utf-16"}[name]
    want = invoke("fit", files["utf8"], "-f", FORMULA, "--ols", mode, "--format", "json")
    got = invoke(
        "fit", files[name], "-f", FORMULA, "--ols", mode, "--format", "json", "--encoding", codec
    )
    assert got.exit_code == 0, got.output
    assert (
        json.loads(got.stdout)["ols"]["coefficients"]
        == json.loads(want.stdout)["ols"]["coefficients"]
    )


def test_an_unknown_encoding_is_one_line(files: dict[str, Path]) -> None:
    result = invoke("fit", files["utf8"], "-f", FORMULA, "--encoding", "klingon")
    assert result.exit_code == 1
    assert "duolm: error: encoding: unknown encoding 'klingon'" in result.output
