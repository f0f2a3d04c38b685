"""Small pieces shared by the presentation modules (:mod:`duolm.demo`,
:mod:`duolm.report` and the command line), written once here.

- :func:`cell`: a table cell as text (the command line's tables, the
  report's HTML tables);
- :func:`ols_reference`: the least-squares estimates drawn as reference
  lines on the posterior's evolution figure (the demo, the report);
- :func:`interval_gap`: the largest difference between the credible and the
  confidence intervals' end points (the demo, the report).
"""

from __future__ import annotations

import math

import numpy as np

from duolm.bayesian import SideBySide
from duolm.frequentist import OLSResults

__all__ = ["cell", "interval_gap", "ols_reference"]


def cell(value: object, *, nan: str = "") -> str:
    """A table cell as text: integers and booleans as they are, floats to 6 significant digits.

    Parameters
    ----------
    value : object
        The cell.
    nan : str
        What a NaN float reads as (``None`` always reads as ``""``).

    Examples
    --------
    >>> cell(np.float64(1 / 3)), cell(np.int64(7)), cell(np.bool_(True)), cell(None)
    ('0.333333', '7', 'True', '')
    >>> cell(float("nan")), cell(float("nan"), nan="nan")
    ('', 'nan')
    """
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return nan if math.isnan(value) else f"{float(value):.6g}"
    return "" if value is None else str(value)


def ols_reference(fit: OLSResults) -> dict[str, float]:
    """Least-squares estimates, and s² as ``sigma2``, keyed as the evolution figure's panels."""
    ref = {str(name): float(value) for name, value in fit.params.items()}
    ref["sigma2"] = fit.scale
    return ref


def interval_gap(both: SideBySide) -> float:
    """Largest ``|credible - confidence|`` end point of the side-by-side intervals."""
    t = both.table
    return max(
        float((t["bayes_lower"] - t["ols_lower"]).abs().max()),
        float((t["bayes_upper"] - t["ols_upper"]).abs().max()),
    )
