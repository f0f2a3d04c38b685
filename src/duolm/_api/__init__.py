"""The entry functions: check the arguments once, route the data by kind, read the result.

Every public fit starts here (DESIGN.md, "Layers"). Arguments are checked at
the door (:mod:`duolm._checks`, :func:`duolm.bayesian.checked_prior`) and
carried down as checked values; the data go by kind:

- in memory (a DataFrame, a mapping of columns, arrays ``X=``/``y=``): the
  design (:mod:`duolm.design`) and a :class:`~duolm.reduction.Reduction`
  holding its rows;
- a CSV or Parquet path, or an iterable of frames: the streaming wing
  (:mod:`duolm._stream`), batch by batch;
- a Dask DataFrame: :mod:`duolm.dask`, partition by partition.

Each returns a :class:`~duolm.reduction.Reduction`, and the readings are built
from it by the result classes: :func:`ols` and :func:`bayes` are
``reduce(...).ols()`` and ``reduce(...).bayes()``.

The entry functions by what they read: :mod:`._fits` (one model, data of any kind),
:mod:`._paths` (rows in order), :mod:`._models` (several models), :mod:`._influence`
(per-row measures of a fit written to a file); :mod:`._door` holds
the checks they share.
"""

from __future__ import annotations

from duolm._api._fits import bayes, ols, read_frame, reduce
from duolm._api._influence import write_influence
from duolm._api._models import bma, compare, glsar
from duolm._api._paths import changepoints, iter_trajectory, trajectory, write_trajectory

__all__ = [
    "bayes",
    "bma",
    "changepoints",
    "compare",
    "glsar",
    "iter_trajectory",
    "ols",
    "read_frame",
    "reduce",
    "trajectory",
    "write_influence",
    "write_trajectory",
]
