"""Weighted designs: the weights of weighted least squares, found, checked and aligned.

Weights come as a column of the data (a name: carried beside the design by
:func:`~duolm.design.from_formula`, see :attr:`DesignSpec.carry`) or as an
array with one weight per row of the data, in the rows' order. A weight is
the row's relative precision, ``var(y_i) = sigma^2 / w_i`` (statsmodels'
``WLS``), so it must be positive and finite (:func:`duolm._checks.check_weights`
names the first row that is not). A missing weight makes the row missing:
dropped with the others under ``missing="drop"`` (and counted), refused under
``missing="raise"``, as statsmodels' ``missing="drop"`` drops it.

The design keeps ``X`` and ``y`` as given and the weights beside them
(:attr:`Design.weights`); the fits scale the rows by ``sqrt(w)`` themselves.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from duolm._checks import Missing, check_missing, check_weights
from duolm.design._build import ARRAY_WEIGHTS, Design, from_arrays, from_formula, make_design
from duolm.design._columns import (
    FloatArray,
    as_frame,
    missing_message,
    row_label,
    to_float,
    x_array,
    y_array,
)
from duolm.errors import DataError

__all__ = ["new_weights", "weighted_design", "weights_array"]


def weights_array(weights: object, rows: int, index: pd.Index, what: str = "weights") -> FloatArray:
    """``weights`` as a float64 array of ``rows`` entries, NaN for missing ones.

    Every weight that is not missing is checked positive and finite; ``index``
    labels the rows in messages.

    Raises
    ------
    DataError
        Not one number per row (wrong length, text, more than one dimension),
        or a weight that is zero, negative or infinite.
    """
    if isinstance(weights, pd.DataFrame):
        raise DataError(f"{what} must be one weight per row, got a frame")
    series = weights if isinstance(weights, pd.Series) else None
    if series is None:
        if type(weights).__module__.startswith("polars") and hasattr(weights, "to_numpy"):
            weights = weights.to_numpy()
        array = np.asarray(weights)
        if array.ndim != 1:
            raise DataError(f"{what} must be 1-D (one weight per row), got shape {array.shape}")
        series = pd.Series(array)
    w = to_float(series.reset_index(drop=True), what)
    if len(w) != rows:
        raise DataError(f"{what} has {len(w)} entries but the data has {rows} rows")
    present = ~np.isnan(w)
    check_weights(np.where(present, w, 1.0), what, lambda i: row_label(index, i))
    return w


def new_weights(weights: object, data: object, rows: int, index: pd.Index) -> FloatArray:
    """The weights of rows to predict: ones (None), one number for all, a column of
    ``data`` (a name) or one weight per row; each positive and finite."""
    if weights is None:
        return np.ones(rows)
    if isinstance(weights, str):
        frame = as_frame(data) if data is not None else None
        if frame is None or weights not in frame.columns:
            raise DataError(f"weights column {weights!r} is not in the new data")
        weights = frame[weights]
    if isinstance(weights, int | float | np.number):  # one weight for every row
        weights = np.full(rows, float(weights))
    w = weights_array(weights, rows, index, "weights of the new rows")
    if np.isnan(w).any():
        check_weights(w, "weights of the new rows", lambda i: row_label(index, i))
    return w


def weighted_design(
    formula: str | None,
    data: object,
    X: object,
    y: object,
    weights: object,
    missing: Missing,
    narrow: bool = False,
) -> Design:
    """The design of :func:`~duolm.design.make_design` with its weights (:attr:`Design.weights`).

    Parameters
    ----------
    formula, data, X, y, missing, narrow
        As for :func:`~duolm.design.make_design`.
    weights : str or array_like of shape (n,)
        A column of ``data`` (formula fits), or one weight per row of the data
        (``data``'s rows, or ``X``'s), in their order.

    Raises
    ------
    DataError
        A weights column not in the data or not numeric, weights of the wrong
        length, a weight that is zero, negative, infinite, or missing under
        ``missing="raise"``; each names the row (and the column).
    """
    check_missing(missing)
    if isinstance(weights, str):
        if formula is None:
            raise TypeError(
                f"weights={weights!r} names a column, which only a formula fit has; "
                "give an array fit one weight per row"
            )
        if not isinstance(formula, str):
            return make_design(formula, data, X, y, missing, narrow)  # its TypeError
        if data is None:
            raise TypeError("a formula needs data (a DataFrame or a mapping of columns)")
        return from_formula(formula, data, missing=missing, narrow=narrow, weights=weights)
    if formula is not None:
        if not isinstance(formula, str) or data is None or X is not None or y is not None:
            return make_design(formula, data, X, y, missing, narrow)  # its TypeError
        frame = as_frame(data)
        w = weights_array(weights, len(frame), frame.index)
        ok = _present(w, frame.index, missing)
        positions = pd.RangeIndex(len(frame))
        rows = frame.set_axis(positions, axis=0)
        if not ok.all():
            rows = rows.iloc[np.flatnonzero(ok)]
        design = from_formula(formula, rows, missing=missing, narrow=narrow)
        return _with_weights(design, w, frame.index, int((~ok).sum()))
    if X is None or y is None:
        return make_design(formula, data, X, y, missing, narrow)  # its TypeError
    Xa, names, index = x_array(X)
    ya, response = y_array(y)
    if len(ya) != len(Xa):
        raise DataError(f"X has {len(Xa)} rows but y has {len(ya)}")
    w = weights_array(weights, len(Xa), index)
    ok = _present(w, index, missing)
    keep = np.flatnonzero(ok)
    design = from_arrays(
        pd.DataFrame(Xa[keep], columns=names, index=keep),
        pd.Series(ya[keep], name=response, index=keep),
        missing=missing,
    )
    return _with_weights(design, w, index, len(w) - len(keep))


def _present(w: FloatArray, index: pd.Index, missing: Missing) -> np.ndarray:
    """Rows whose weight is not missing; a missing one refused under ``missing="raise"``."""
    lacking = np.isnan(w)
    if lacking.any() and missing == "raise":
        raise DataError(missing_message(["weights"], index[lacking]))
    return ~lacking


def _with_weights(design: Design, w: FloatArray, index: pd.Index, n_missing: int) -> Design:
    """``design`` (its rows labelled by position in the data) with their weights and labels."""
    positions = design.index.to_numpy()
    spec = dataclasses.replace(design.spec, weights=ARRAY_WEIGHTS)
    out = Design(
        matrix=design.matrix,
        y=design.y,
        spec=spec,
        n_dropped=design.n_dropped + n_missing,
        index=index[positions],
        weights=np.ascontiguousarray(w[positions]),
    )
    if "const_col" in design.__dict__:
        out.__dict__["const_col"] = design.__dict__["const_col"]
    return out
