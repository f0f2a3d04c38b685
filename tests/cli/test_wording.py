"""The command line's wording says what it does (issue 14, item 15)."""

from __future__ import annotations

from click.testing import CliRunner

from duolm.cli import main


def test_compare_help_names_one_default_prior() -> None:
    text = " ".join(CliRunner().invoke(main, ["compare", "--help"]).output.split())
    assert "Default: vague" not in text
    assert "Default: Zellner's unit-information g-prior of each model" in text
    fit_help = " ".join(CliRunner().invoke(main, ["fit", "--help"]).output.split())
    assert "Default: vague" in fit_help  # the fits' default is the vague prior
