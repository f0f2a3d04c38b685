"""Per-row influence measures of a fit, written to a file batch by batch (data of any size).

A streamed fit keeps no rows, so ``fit.influence()`` cannot be a frame in
memory; :func:`write_influence` reads the source again in batches, builds
each batch's design with the fit's formula, measures its residuals against the
fit's estimate and writes ``fit.influence()``'s columns for its rows
(:func:`duolm.frequentist._tests.influence`: every measure is a function of the
row, the fit's factor and its residual sum of squares) to a Parquet file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pandas as pd

from duolm._api._door import StreamOptions
from duolm._api._paths import write_frames
from duolm._checks import Missing, check_missing
from duolm.errors import DataError
from duolm.frequentist import OLSResults
from duolm.frequentist._tests import influence


def write_influence(
    fit: OLSResults,
    source: object,
    out: str | os.PathLike[str],
    *,
    missing: Missing = "drop",
    batch_size: int | None = None,
    progress: bool = False,
    encoding: str | None = None,
) -> int:
    """Write the influence measures of every fitted row of ``source`` to a Parquet file.

    The columns are those of :meth:`OLSResults.influence` (statsmodels'
    ``summary_frame`` plus ``covratio``), with the source's row numbers as the
    column ``row`` (rows dropped for missing values are absent). Memory is
    bounded by the batch size; the file appears complete or not at all.

    Parameters
    ----------
    fit : OLSResults
        A formula fit of ``source`` (streamed or not), e.g. ``duolm.ols(formula, path)``.
    source : path or iterable of DataFrames
        The data the fit was made from, read again in batches: a CSV or
        Parquet path, or a (re-iterable) iterable of frames.
    out : path
        The Parquet file to write.
    missing, batch_size, progress, encoding
        As for :func:`duolm.ols` on the same source.

    Returns
    -------
    int
        Rows written; equal to ``fit.nobs`` unless ``source`` is other data.

    Examples
    --------
    >>> import duolm, pandas as pd, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [1.1, 1.9, 3.2, 3.9, 5.1]})
    >>> frame.to_parquet(folder / "d.parquet")
    >>> fit = duolm.ols("y ~ x", str(folder / "d.parquet"))
    >>> duolm.write_influence(fit, str(folder / "d.parquet"), folder / "influence.parquet")
    5
    >>> round(float(pd.read_parquet(folder / "influence.parquet")["hat_diag"].sum()), 10)
    2.0
    """
    if not isinstance(fit, OLSResults):
        raise TypeError(f"write_influence takes an OLSResults, got {type(fit).__name__}")
    formula = fit.spec.formula
    if formula is None:
        raise DataError("write_influence needs a formula fit (it rebuilds the design from source)")
    missing = check_missing(missing)
    opts = StreamOptions.checked(batch_size, None, None, progress, encoding)
    designs = opts.designs(formula, source, missing)

    def frames() -> Iterator[pd.DataFrame]:
        for design in designs:
            if design.spec.terms != fit.spec.terms:
                raise DataError(
                    f"the source's design has columns {list(design.spec.terms)}, the fit's "
                    f"{list(fit.spec.terms)}: pass the data the fit was made from"
                )
            X = design.X if fit.kept.all() else design.X[:, fit.kept]
            e = design.y - X @ fit.params_kept
            yield influence(fit, (np.ascontiguousarray(X), e, design.index))

    return write_frames(frames(), out)
