"""A design matrix held as its columns, where they are, with the intercept implicit.

A formula of plain numeric columns of a frame (``y ~ x1 + ... + x20``) has the
frame's own arrays as its columns beside a column of ones. Copying them into a
new matrix costs as much as the whole fit at ``n = 10^6`` (160 MB written, page
faults included; issue 13). :class:`Columns` keeps the arrays as they are; the
fused sweeps of :mod:`duolm.core._sweep` read them in place and take the
intercept implicitly (its products with a column are the column's sum, with
itself the number of rows), and :attr:`Columns.array` builds the matrix only
when something reads ``X`` row by row (leverage, predictions, influence).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

__all__ = ["Columns", "DesignMatrix", "as_array", "read_only"]

FloatArray = NDArray[np.float64]


def read_only(array: FloatArray) -> FloatArray:
    """A read-only view of ``array`` (the caller's array itself stays as it was)."""
    view = array.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False)
class Columns:
    """A design matrix ``X`` of shape (n, k) held as its columns, its intercept implicit.

    Attributes
    ----------
    parts : tuple of ndarray of shape (n,)
        The columns of ``X`` other than the intercept, in order: float64,
        contiguous, read-only views (of a frame's arrays, not copies).
    intercept : int or None
        Position in ``X`` of a column of ones that is not stored, or None.
    nrows : int
        ``n``.

    Examples
    --------
    >>> cols = Columns((np.array([2.0, 3.0]),), intercept=0, nrows=2)
    >>> cols.shape, cols.array.tolist()
    ((2, 2), [[1.0, 2.0], [1.0, 3.0]])
    """

    parts: tuple[FloatArray, ...]
    intercept: int | None
    nrows: int

    def __post_init__(self) -> None:
        k = len(self.parts) + (self.intercept is not None)
        if self.intercept is not None and not 0 <= self.intercept < k:
            raise ValueError(f"intercept position {self.intercept} is outside 0..{k - 1}")
        for part in self.parts:
            if part.shape != (self.nrows,) or part.dtype != np.float64:
                raise ValueError(
                    f"each column must be float64 of shape ({self.nrows},), "
                    f"got {part.dtype} {part.shape}"
                )
            if not part.flags.c_contiguous:
                raise ValueError("each column must be contiguous")

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, k)``, the intercept counted."""
        return self.nrows, len(self.parts) + (self.intercept is not None)

    @property
    def positions(self) -> NDArray[np.intp]:
        """The position in ``X`` of each of :attr:`parts`."""
        k = self.shape[1]
        out: NDArray[np.intp] = np.flatnonzero(np.arange(k) != self.intercept)
        return out

    def column(self, j: int) -> FloatArray:
        """Column ``j`` of ``X``: a part, or ones (read-only, no memory) for the intercept."""
        if j == self.intercept:
            return np.broadcast_to(1.0, self.nrows)
        return self.parts[j - (self.intercept is not None and j > self.intercept)]

    @cached_property
    def array(self) -> FloatArray:
        """``X`` built (F order, each column copied in one piece), read-only; kept once built."""
        X = np.empty(self.shape, order="F")
        if self.intercept is not None:
            X[:, self.intercept] = 1.0
        for j, part in zip(self.positions, self.parts, strict=True):
            X[:, j] = part
        return read_only(X)


#: A design matrix as the core's in-memory solver takes it.
DesignMatrix = FloatArray | Columns


def as_array(X: DesignMatrix) -> FloatArray:
    """``X`` as an array (:attr:`Columns.array` for columns; an array as it is)."""
    return X.array if isinstance(X, Columns) else X
