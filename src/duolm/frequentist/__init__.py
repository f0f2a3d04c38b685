"""The frequentist reading: least squares with full inference and diagnostics.

- :class:`OLSResults` (:mod:`._results`): everything a statistician reads off
  a fit, built from a core state by class methods (``from_fit`` for data in
  memory, ``from_state`` for a fit that kept no rows);
- :mod:`._hypotheses`: linear hypotheses ``"x1 = 0, x2 = x3"`` as ``(L, r)``;
- :class:`Diagnostics` (:mod:`._diagnostics`): the residual tests of the summary;
- :mod:`._summary`: the printed table.
"""

from __future__ import annotations

from duolm._checks import CovType
from duolm.frequentist._diagnostics import OMNIBUS_MIN_NOBS, Diagnostics
from duolm.frequentist._fit import FittedRows, FTestResult, OLSFit
from duolm.frequentist._hypotheses import parse_hypothesis
from duolm.frequentist._results import OLSResults

__all__ = [
    "OMNIBUS_MIN_NOBS",
    "CovType",
    "Diagnostics",
    "FTestResult",
    "FittedRows",
    "OLSFit",
    "OLSResults",
    "parse_hypothesis",
]
