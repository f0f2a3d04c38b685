"""The frequentist reading: least squares with full inference and diagnostics.

- :class:`OLSResults` (:mod:`._results`): everything a statistician reads off
  a fit, built from a core state by class methods (``from_fit`` for data in
  memory, ``from_state`` for a fit that kept no rows);
- :mod:`._hypotheses`: linear hypotheses ``"x1 = 0, x2 = x3"`` as ``(L, r)``;
- :class:`Diagnostics` (:mod:`._diagnostics`): the residual tests of the summary;
- :mod:`._summary`: the printed table;
- :mod:`._robust`: HAC and cluster-robust covariances (``cov_type="HAC"``,
  ``"cluster"``) over the core's mergeable meats;
- :mod:`._tests`, :mod:`._durbin_watson`: the specification tests (Breusch-Pagan,
  White, Breusch-Godfrey, Ljung-Box, RESET, exact Durbin-Watson), VIF, the
  outlier test and influence measures, offered as methods of the result;
  :mod:`._testsums`: the sums a streamed second pass accumulates for them;
- :func:`anova` (:mod:`._anova`): type I-III tables and nested-model tests;
- :mod:`._glsar`: feasible GLS with AR(p) errors (:func:`duolm.glsar`).
"""

from __future__ import annotations

from duolm._checks import CovType
from duolm.frequentist._anova import anova
from duolm.frequentist._diagnostics import OMNIBUS_MIN_NOBS, Diagnostics
from duolm.frequentist._fit import FittedRows, FTestResult, OLSFit, solve_design
from duolm.frequentist._glsar import GLSARResults, check_rho, fit_glsar
from duolm.frequentist._hypotheses import parse_hypothesis
from duolm.frequentist._results import OLSResults
from duolm.frequentist._tests import DiagnosticTest
from duolm.frequentist._testsums import WHITE_MAX_COLUMNS, TestSpec, TestSums

__all__ = [
    "OMNIBUS_MIN_NOBS",
    "WHITE_MAX_COLUMNS",
    "CovType",
    "DiagnosticTest",
    "Diagnostics",
    "FTestResult",
    "FittedRows",
    "GLSARResults",
    "OLSFit",
    "OLSResults",
    "TestSpec",
    "TestSums",
    "anova",
    "check_rho",
    "fit_glsar",
    "parse_hypothesis",
    "solve_design",
]
