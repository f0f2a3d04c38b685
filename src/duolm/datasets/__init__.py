"""Data sets that ship with duolm.

Each loader returns a fresh pandas DataFrame; the files live beside this
module and say where they come from in their first lines.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["longley"]


def _read(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#")


def longley() -> pd.DataFrame:
    """Longley's (1967) macroeconomic data, 16 years, as certified by NIST StRD.

    A classic test of numerical accuracy: the predictors are nearly collinear
    (condition number about 5e9), so naive normal equations lose most digits.

    Returns
    -------
    DataFrame of shape (16, 7)
        ``employed`` (total employment, the response), ``gnp_deflator``,
        ``gnp``, ``unemployed``, ``armed_forces``, ``population``, ``year``.

    Examples
    --------
    >>> longley().shape
    (16, 7)
    """
    return _read("longley.csv")
