"""The ``duolm`` command line."""

from __future__ import annotations

import sys

import click

from duolm import datasets
from duolm.ols import ols

LONGLEY_FORMULA = "employed ~ gnp_deflator + gnp + unemployed + armed_forces + population + year"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="duolm")
def main() -> None:
    """Linear regression read two ways: frequentist and exact Bayesian."""


@main.command()
def demo() -> None:
    """Fit the built-in Longley data and print the summary.

    Example: duolm demo
    """
    fit = ols(LONGLEY_FORMULA, datasets.longley())
    click.echo(f"duolm demo: {LONGLEY_FORMULA}  (Longley 1967, NIST StRD)\n")
    click.echo(str(fit.summary()))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
