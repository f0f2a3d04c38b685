"""NIST StRD linear least squares datasets: parser, designs and the LRE.

Shared by ``tests/test_nist.py`` and ``benchmarks/bench_accuracy.py``. The
files in ``tests/data/nist/`` are NIST's own, byte for byte (see
``tests/data/README.md``); everything here is read from them: the line ranges
of the certified values and of the data come from each file's header, and
every number is parsed from its decimal text straight to float64.

The accuracy measure is McCullough's log relative error (LRE), the number of
correct significant digits ("Assessing the reliability of statistical
software", The American Statistician 52, 1998).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DATA_DIR",
    "NAMES",
    "QUANTITIES",
    "Anova",
    "NistDataset",
    "load",
    "load_all",
    "lre",
    "lres",
]

DATA_DIR = Path(__file__).parent / "data" / "nist"

#: The eleven datasets in NIST's order of difficulty (lower, average, higher).
NAMES = (
    "Norris",
    "Pontius",
    "NoInt1",
    "NoInt2",
    "Filip",
    "Longley",
    "Wampler1",
    "Wampler2",
    "Wampler3",
    "Wampler4",
    "Wampler5",
)

#: Quantities scored by ``lres``, named after the result attributes they read
#: (statsmodels' names, which duolm keeps); ``resid_sd`` is sqrt(``scale``).
QUANTITIES = ("params", "bse", "resid_sd", "rsquared", "ssr", "ess", "fvalue")

#: Most digits an LRE can claim: NIST certifies 15 significant digits.
LRE_CAP = 15.0

_RANGE = r"\(lines\s+(\d+)\s+to\s+(\d+)\)"
_CERTIFIED_RANGE = re.compile(r"Certified Values\s*" + _RANGE)
_DATA_RANGE = re.compile(r"Data\s*" + _RANGE)
_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?|[-+]?Infinity)"
_PARAM_ROW = re.compile(rf"^\s*B(\d+)\s+{_NUMBER}\s+{_NUMBER}\s*$")
_RESID_SD = re.compile(rf"^\s*Standard Deviation\s+{_NUMBER}\s*$")
_RSQUARED = re.compile(rf"^\s*R-Squared\s+{_NUMBER}\s*$")
_REGRESSION = re.compile(rf"^\s*Regression\s+(\d+)\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s*$")
_RESIDUAL = re.compile(rf"^\s*Residual\s+(\d+)\s+{_NUMBER}\s+{_NUMBER}\s*$")
_OBSERVATIONS = re.compile(r"^\s*(\d+)\s+Observations\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Anova:
    """NIST's certified analysis-of-variance table.

    For models with an intercept the regression sum of squares is centred
    (statsmodels' ``ess``); for the no-intercept models NoInt1 and NoInt2 it
    is uncentred, sum(yhat**2), which statsmodels also reports as ``ess``
    when there is no constant. The residual sum of squares is ``ssr``.
    """

    df_model: int
    ss_model: float
    ms_model: float
    fvalue: float  # inf for the exact fit Wampler1 (NIST prints "Infinity")
    df_resid: int
    ss_resid: float
    ms_resid: float


@dataclass(frozen=True)
class NistDataset:
    """One StRD dataset: its data and NIST's certified results.

    Attributes
    ----------
    name : str
        File stem, e.g. ``"Filip"``.
    y : ndarray of shape (n,)
        Response, float64 parsed from the decimal text.
    x : ndarray of shape (n, p)
        Predictor columns as printed by NIST (one for the polynomial and
        no-intercept models, six for Longley).
    x_names : tuple of str
        Names of the predictor columns from the data header (``x`` or
        ``x1`` ... ``x6``).
    params, bse : ndarray of shape (k,)
        Certified estimates B0..B(k-1) (B1 only for NoInt*) and their
        standard deviations, in design-column order.
    resid_sd : float
        Certified residual standard deviation, sqrt(SSE / (n - k)).
    rsquared : float
        Certified R-squared (uncentred for the no-intercept models).
    anova : Anova
        Certified analysis-of-variance table.
    has_intercept : bool
        False for NoInt1 and NoInt2 (model y = B1*x).
    nobs_stated : int
        Number of observations stated in the file header.
    """

    name: str
    y: np.ndarray
    x: np.ndarray
    x_names: tuple[str, ...]
    params: np.ndarray
    bse: np.ndarray
    resid_sd: float
    rsquared: float
    anova: Anova
    has_intercept: bool
    nobs_stated: int

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])

    @property
    def k(self) -> int:
        """Number of certified parameters (= columns of the design)."""
        return int(self.params.shape[0])

    @property
    def degree(self) -> int | None:
        """Polynomial degree in x, or None for Longley (6 predictors)."""
        if self.x.shape[1] > 1:
            return None
        return self.k - 1 if self.has_intercept else 1

    @property
    def kind(self) -> str:
        """``"polynomial degree d"``, ``"linear in 6 predictors"`` or ``"no intercept"``."""
        if not self.has_intercept:
            return "no intercept"
        if self.degree is None:
            return f"linear in {self.x.shape[1]} predictors"
        return f"polynomial degree {self.degree}"

    def design_matrix(self) -> np.ndarray:
        """Design X of shape (n, k), float64, intercept column first where present.

        Polynomial terms are ``x ** j`` computed in float64 (the same numbers
        the formula route's ``I(x**j)`` produces).
        """
        if self.degree is None or not self.has_intercept:
            columns = [self.x[:, j] for j in range(self.x.shape[1])]
        else:
            x = self.x[:, 0]
            columns = [x**j for j in range(1, self.degree + 1)]
        if self.has_intercept:
            columns.insert(0, np.ones(self.nobs))
        return np.column_stack(columns).astype(np.float64, copy=False)

    @cached_property
    def formula(self) -> str:
        """Formula for ``duolm.ols(formula, data)``, e.g. ``"y ~ x + I(x**2)"``."""
        if not self.has_intercept:
            return "y ~ " + " + ".join(self.x_names) + " - 1"
        if self.degree is None:
            return "y ~ " + " + ".join(self.x_names)
        terms = ["x"] + [f"I(x**{j})" for j in range(2, self.degree + 1)]
        return "y ~ " + " + ".join(terms)

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The data as a frame with columns ``y`` and the predictor names."""
        frame = pd.DataFrame(self.x, columns=list(self.x_names))
        frame.insert(0, "y", self.y)
        return frame


def _float(text: str) -> float:
    # Fortran exponents (D) never occur in the StRD files, but cost nothing.
    return float(text.replace("D", "E").replace("d", "e"))


def _line_range(pattern: re.Pattern[str], header: str, name: str) -> tuple[int, int]:
    match = pattern.search(header)
    if match is None:
        raise ValueError(f"{name}: no {pattern.pattern!r} in the header")
    first, last = int(match.group(1)), int(match.group(2))
    return first - 1, last  # 1-based inclusive -> Python slice


def parse(text: str, name: str) -> NistDataset:
    """Parse the text of one StRD ``.dat`` file (LF or CRLF line endings)."""
    lines = text.splitlines()
    header = "\n".join(lines[:30])
    c0, c1 = _line_range(_CERTIFIED_RANGE, header, name)
    d0, d1 = _line_range(_DATA_RANGE, header, name)

    params: dict[int, tuple[float, float]] = {}
    resid_sd = rsquared = None
    regression = residual = None
    for line in lines[c0:c1]:
        if m := _PARAM_ROW.match(line):
            params[int(m.group(1))] = (_float(m.group(2)), _float(m.group(3)))
        elif m := _RESID_SD.match(line):
            resid_sd = _float(m.group(1))
        elif m := _RSQUARED.match(line):
            rsquared = _float(m.group(1))
        elif m := _REGRESSION.match(line):
            regression = (int(m.group(1)), *map(_float, m.group(2, 3, 4)))
        elif m := _RESIDUAL.match(line):
            residual = (int(m.group(1)), *map(_float, m.group(2, 3)))
    if not params or resid_sd is None or rsquared is None or not regression or not residual:
        raise ValueError(f"{name}: incomplete certified values in lines {c0 + 1} to {c1}")
    indices = sorted(params)
    has_intercept = indices[0] == 0
    if indices != list(range(indices[0], indices[0] + len(indices))):
        raise ValueError(f"{name}: parameters {indices} are not consecutive")

    columns = lines[d0 - 1].split()
    if columns[:2] != ["Data:", "y"]:
        raise ValueError(f"{name}: line {d0} is not the data header: {lines[d0 - 1]!r}")
    rows = [[_float(v) for v in line.split()] for line in lines[d0:d1]]
    data = np.array(rows, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != len(columns) - 1:
        raise ValueError(f"{name}: data rows do not match the header {columns[1:]}")

    stated = _OBSERVATIONS.search(header)
    return NistDataset(
        name=name,
        y=data[:, 0].copy(),
        x=data[:, 1:].copy(),
        x_names=tuple(columns[2:]),
        params=np.array([params[i][0] for i in indices]),
        bse=np.array([params[i][1] for i in indices]),
        resid_sd=resid_sd,
        rsquared=rsquared,
        anova=Anova(*regression, *residual),
        has_intercept=has_intercept,
        nobs_stated=int(stated.group(1)) if stated else -1,
    )


def load(name: str) -> NistDataset:
    """Load ``tests/data/nist/<name>.dat``."""
    path = DATA_DIR / f"{name}.dat"
    return parse(path.read_bytes().decode("ascii"), name)


def load_all() -> dict[str, NistDataset]:
    """All eleven datasets, keyed by name, in the order of ``NAMES``."""
    return {name: load(name) for name in NAMES}


def lre(estimate: object, certified: object) -> float:
    """Log relative error: the number of correct significant digits.

    McCullough's definition, per component: ``-log10(|est - cert| / |cert|)``,
    or ``-log10(|est|)`` (the absolute form) where ``cert == 0``; clipped to
    [0, 15]. A certified infinity (Wampler1's F) is compared through its
    reciprocal, ``-log10(|1 / est|)``; a non-finite estimate of a finite value
    scores 0. Returns the minimum over the components.

    Examples
    --------
    >>> round(lre(1.000001, 1.0), 6)
    6.0
    >>> round(lre([2.0, -3.0e-4 * (1 + 2e-9)], [2.0, -3.0e-4]), 3)
    8.699
    >>> lre(1e-12, 0.0), lre(1.0, 1.0), lre(np.inf, np.inf), lre(np.nan, 1.0)
    (12.0, 15.0, 15.0, 0.0)
    """
    est = np.asarray(estimate, dtype=np.float64)
    cert = np.asarray(certified, dtype=np.float64)
    if est.shape != cert.shape or est.size == 0:
        raise ValueError(f"lre: estimate of shape {est.shape}, certified {cert.shape}")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        error = np.where(
            np.isinf(cert),
            np.abs(1.0 / est),
            np.where(cert == 0.0, np.abs(est), np.abs(est - cert) / np.abs(cert)),
        )
        digits = -np.log10(error)
    digits = np.where(np.isinf(cert) & (np.sign(est) != np.sign(cert)), 0.0, digits)
    digits = np.where(np.isnan(digits), 0.0, digits)
    return float(np.clip(digits, 0.0, LRE_CAP).min())


def lres(result: object, dataset: NistDataset) -> dict[str, float]:
    """LRE of each of ``QUANTITIES`` for a fitted result against the certified values.

    ``result`` is anything with statsmodels' attribute names: ``params``,
    ``bse``, ``scale`` (residual variance; its square root is compared with
    the certified residual SD), ``rsquared``, ``ssr`` (residual sum of
    squares), ``ess`` (regression sum of squares) and ``fvalue``. An attribute
    that is missing or None scores nan (not computed by that method).
    """
    anova = dataset.anova
    certified = {
        "params": dataset.params,
        "bse": dataset.bse,
        "resid_sd": dataset.resid_sd,
        "rsquared": dataset.rsquared,
        "ssr": anova.ss_resid,
        "ess": anova.ss_model,
        "fvalue": anova.fvalue,
    }
    scored: dict[str, float] = {}
    for quantity, value in certified.items():
        attribute = "scale" if quantity == "resid_sd" else quantity
        estimate = getattr(result, attribute, None)
        if estimate is None:
            scored[quantity] = float("nan")
            continue
        estimate = np.asarray(estimate, dtype=np.float64)
        if quantity == "resid_sd":
            estimate = np.sqrt(estimate)
        scored[quantity] = lre(estimate, value)
    return scored
