"""The core: the square-root sufficient statistic and everything that factors.

The only rooms that run a QR, a Cholesky or a Givens rotation (DESIGN.md,
"One core, two readings"); nothing here imports from a layer above.

- :class:`SqrtStat` (:mod:`._sqrtstat`): ``R`` with ``R^T R = [X y]^T [X y]``,
  updated, merged and forgotten by orthogonal transformations;
- :func:`lstsq` (:mod:`._solver`): the refined in-memory solver, of an array
  or of :class:`Columns` (:mod:`._columns`: a frame's columns where they are,
  the intercept implicit), on the fused sweeps of :mod:`._sweep`;
- :mod:`._givens`: the row-by-row Givens kernel behind :func:`duolm.trajectory`;
- :mod:`._runlength`: the run-length recursion behind :func:`duolm.changepoints`
  (a Givens-updated factor per run length);
- :mod:`._xprec`: double-double arithmetic for the refinement's residuals;
- :class:`ResidualMoments` (:mod:`._moments`): mergeable moments of the
  residuals, and :mod:`._sandwich`: the HC meats and the mergeable HAC and
  cluster meats (:class:`HACMeat`, :class:`ClusterMeat`), which
  :class:`ScoreMeats` (:mod:`._scoremeats`) bundles for a streamed second pass;
  :class:`LagProducts` (:mod:`._lags`): mergeable lag products of a series of rows;
- :mod:`._weights`: the ``sqrt(w)`` scaling of weighted rows and the sums of
  the weights kept beside the statistic (:class:`WeightSums`).
"""

from __future__ import annotations

from duolm.core._columns import Columns, DesignMatrix, as_array
from duolm.core._lags import LagProducts
from duolm.core._moments import ResidualMoments, pool_central
from duolm.core._runlength import RunLengths, RunLengthStream, runlength_recursion
from duolm.core._sandwich import (
    HC_KINDS,
    KERNELS,
    LEVERAGE_ONE,
    ClusterMeat,
    HACMeat,
    Kernel,
    default_maxlags,
    hc_weights,
    kernel_weights,
    meat,
    meats,
)
from duolm.core._scoremeats import ScoreMeats, ScoreSpec
from duolm.core._solver import FAST_MIN_ROWS, LstsqFit, lstsq
from duolm.core._sqrtstat import ALIAS_TOL, FAST_MAX_COND, PERFECT_FIT, SqrtStat, nearest_pow2
from duolm.core._subsets import CentredFactor
from duolm.core._weights import WeightSums, scale_rows

__all__ = [
    "ALIAS_TOL",
    "FAST_MAX_COND",
    "FAST_MIN_ROWS",
    "HC_KINDS",
    "KERNELS",
    "LEVERAGE_ONE",
    "PERFECT_FIT",
    "CentredFactor",
    "ClusterMeat",
    "Columns",
    "DesignMatrix",
    "HACMeat",
    "Kernel",
    "LagProducts",
    "LstsqFit",
    "ResidualMoments",
    "RunLengthStream",
    "RunLengths",
    "ScoreMeats",
    "ScoreSpec",
    "SqrtStat",
    "WeightSums",
    "as_array",
    "default_maxlags",
    "hc_weights",
    "kernel_weights",
    "lstsq",
    "meat",
    "meats",
    "nearest_pow2",
    "pool_central",
    "runlength_recursion",
    "scale_rows",
]
