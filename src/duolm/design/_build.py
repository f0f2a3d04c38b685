"""Design matrices: formula or arrays -> (X, y) with term names and a missing-data policy.

This is the first layer of duolm (DESIGN.md, "Layers"). Formulas are parsed
with formulaic after the safety check of :mod:`duolm.design._formula`; arrays are
used as given. Whatever comes out is float64, C- or F-contiguous and finite: missing
rows are dropped (and counted) or refused, infinite inputs and non-finite
results of transforms are refused with the column (or term) and row named.

The :class:`DesignSpec` remembers how a design was built (categorical levels,
the state of stateful transforms such as ``center(x)``) so that new data for
predictions, or later batches of a streamed fit, get exactly the same columns.

This module holds the public :class:`Design`, :class:`DesignSpec`,
:func:`from_formula`, :func:`from_arrays` and :func:`constant_column`, and the
formulaic plumbing (evaluation, unseen levels, ``lag()`` rows, non-finite
transforms). Turning frames, mappings, Series and arrays into float columns
(text read as numbers, polars converted, missing and infinite values found
and reported) is :mod:`duolm.design._columns`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from formulaic import model_matrix
from formulaic.errors import DataMismatchWarning
from numpy.typing import NDArray

from duolm._checks import check_missing, check_weights
from duolm.core._columns import Columns, DesignMatrix, as_array, read_only
from duolm.core._sweep import ColumnScan, gram_scan, scan
from duolm.design._columns import (
    FloatArray,
    Kind,
    Missing,
    as_frame,
    check_inf,
    column_kind,
    missing_message,
    one_column,
    prepare,
    row_label,
    to_float,
    x_array,
    y_array,
)
from duolm.design._formula import ParsedFormula, evaluation_context, parse_formula
from duolm.design._recipe import Recipe
from duolm.errors import DataError, FormulaError

__all__ = [
    "ARRAY_WEIGHTS",
    "Carried",
    "Design",
    "DesignSpec",
    "constant_column",
    "from_arrays",
    "from_formula",
    "make_design",
]


@dataclass(frozen=True)
class DesignSpec:
    """How a design was built, to rebuild its columns for new data.

    Attributes
    ----------
    response : str
        Name of y: the formula's left-hand side, the Series name, or ``"y"``.
    terms : tuple of str
        Column names of X in order (formulaic's names for formula fits, e.g.
        ``"Intercept"``, ``"I(x ** 2)"``, ``"C(g)[T.b]"``; the frame's columns
        or ``x0, x1, ...`` for array fits).
    has_intercept : bool
        The formula has an intercept term, or (arrays) some column of the fit
        is constant and nonzero.
    formula : str or None
        The formula, or None for ``X=``/``y=`` fits.
    carry : tuple of str
        Data columns carried beside ``X`` and ``y`` (CARRIED COLUMNS: the
        weights, cluster groups): read with the rows, missing values in them
        drop (or refuse) the row like missing values of the formula's columns,
        and their kept values come back in :attr:`Design.carried`.
    weights : str or None
        The column of ``carry`` holding the weights of a weighted fit,
        :data:`ARRAY_WEIGHTS` when they were given as an array, None when
        the fit is not weighted.
    """

    response: str
    terms: tuple[str, ...]
    has_intercept: bool
    formula: str | None
    carry: tuple[str, ...] = ()
    weights: str | None = None
    _missing: Missing = field(default="drop", repr=False)
    _parsed: ParsedFormula | None = field(default=None, repr=False, compare=False, hash=False)
    _rhs_spec: Any = field(default=None, repr=False, compare=False, hash=False)
    _lhs_spec: Any = field(default=None, repr=False, compare=False, hash=False)
    _kinds: Mapping[str, Kind] = field(default_factory=dict, repr=False, compare=False, hash=False)
    #: Per side ("rhs", "lhs"): the verified :class:`Recipe`, or False (formulaic builds it).
    _recipes: dict[str, Recipe | bool] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    def plain_columns(self) -> tuple[str | None, ...] | None:
        """The data column each column of ``[X y]`` copies (None: the intercept), or None.

        Not None only for a formula whose terms and response are all plain
        numeric columns (and the intercept): such a design depends on no value
        of the data, and its columns can be copied from it directly.
        """
        if self._parsed is None or "Intercept" in self._kinds or self.carry:
            return None  # a data column named Intercept, or columns carried beside the design
        plain: list[str | None] = []
        for term in (*self.terms, self.response):
            if term == "Intercept" and self.has_intercept:
                plain.append(None)
            elif self._kinds.get(term) == "numeric":
                plain.append(term)
            else:
                return None
        return tuple(plain)

    def build_x(self, data: object) -> FloatArray:
        """Build the design matrix for new data, with the same columns as the fit.

        Parameters
        ----------
        data : DataFrame, polars DataFrame, mapping or array-like
            Formula fits: columns by name (the response is not needed).
            Array fits: rows of shape (m, k); a 1-D array of length k is one
            row (when k == 1, a 1-D array of length m is m rows).

        Returns
        -------
        X : ndarray of shape (m, k)
            float64, C-contiguous, finite.

        Raises
        ------
        DataError
            Missing or infinite values (column and row named), a categorical
            level not seen in the fit, text in a numeric column, wrong width.
        """
        if self._parsed is None:
            X, names, index = x_array(data, self.terms)
            _check_width(X, self.terms)
            missing = np.isnan(X)
            if missing.any():
                row, col = np.argwhere(missing)[0]
                raise DataError(
                    f"X column {names[col]!r} is missing (NaN) at row {row_label(index, row)}"
                )
            for col, name in enumerate(names):
                check_inf(X[:, col], f"X column {name!r}", index)
            return np.ascontiguousarray(X)
        frame = as_frame(data)
        clean, _ = self._clean(
            frame,
            self._parsed.rhs_columns,
            "raise",
            "new data need a value in every column the formula uses: drop or fill these "
            "rows first (e.g. new_data.dropna())",
        )
        if len(clean) == 0:
            return np.zeros((0, len(self.terms)))
        X = self._side("rhs", clean)
        return _finite(X, self._rhs_spec, self._parsed, clean, frame.index, "term")

    def build_xy(self, data: object) -> tuple[FloatArray, FloatArray, int]:
        """Build (X, y) for a later batch of a streamed fit.

        Parameters
        ----------
        data : DataFrame, polars DataFrame or mapping (formula fits); a pair
            ``(X, y)`` of arrays (array fits).

        Returns
        -------
        X : ndarray of shape (m, k)
        y : ndarray of shape (m,)
        n_dropped : int
            Rows dropped for missing values, by the fit's missing policy. A
            batch may be empty; that is not an error here.
        """
        X, y, n_dropped, _ = self.build_xyc(data)
        return X, y, n_dropped

    def build_xyc(self, data: object) -> tuple[FloatArray, FloatArray, int, Carried]:
        """:meth:`build_xy` and the kept rows' values of the :attr:`carry` columns.

        Returns
        -------
        X, y, n_dropped
            As :meth:`build_xy`; a row missing a carried value counts as dropped.
        carried : dict of str -> ndarray of shape (m,)
            Each carried column's values for the rows of ``X``: float64 for a
            numeric column (weights checked by :func:`duolm._checks.check_weights`),
            the values as given otherwise (group labels).
        """
        if self._parsed is None:
            if not (isinstance(data, tuple) and len(data) == 2):
                raise DataError("an array fit's build_xy needs a pair (X, y)")
            design = _arrays(data[0], data[1], self._missing, allow_empty=True)
            _check_width(design.X, self.terms)
            return design.X, design.y, design.n_dropped, {}
        frame = as_frame(data)
        parsed = self._parsed
        columns = tuple(dict.fromkeys(parsed.lhs_columns + parsed.rhs_columns + self.carry))
        clean, keep = self._clean(frame, columns, self._missing)
        n_dropped = int(len(keep) - keep.sum())
        if len(clean) == 0:
            return np.zeros((0, len(self.terms))), np.zeros(0), n_dropped, _no_rows(self.carry)
        raw = [self._side("rhs", clean), self._side("lhs", clean)]
        X, y, index, n_lagged, rows = _xy(self, raw, clean, frame.index[keep], self._missing)
        carried = _carried(self, clean, rows, index)
        return X, y, n_dropped + n_lagged, carried

    def row_xy(self, row: Mapping[str, object]) -> tuple[FloatArray, FloatArray] | None:
        """``(X, y)`` of one row given as a mapping of column -> value, or None.

        The quick path of :class:`duolm.Online` for rows that arrive one at a
        time: once both sides' :class:`Recipe` have been verified against
        formulaic on a batch, a row whose numeric columns hold finite real
        numbers and whose categorical columns hold levels of the fit is built
        by the recipes without a pandas frame. Anything else (a missing,
        infinite or unseen value, text where a number belongs, an absent
        column, carried columns, a design without recipes) returns None: the
        full path (:meth:`build_xy`) builds the row, or names what is wrong
        with it.

        Returns
        -------
        X : ndarray of shape (1, k)
        y : ndarray of shape (1,)
        """
        rhs, lhs = self._recipes.get("rhs"), self._recipes.get("lhs")
        parsed = self._parsed
        if parsed is None or self.carry or not isinstance(rhs, Recipe):
            return None
        if not isinstance(lhs, Recipe):
            return None
        column: Any = pd.Series if rhs.evaluates or lhs.evaluates else np.array
        clean: dict[str, Any] = {}
        for name in dict.fromkeys(parsed.lhs_columns + parsed.rhs_columns):
            value = row.get(name)
            if self._kinds.get(name) == "numeric":
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    return None
                number = float(value)
                if not math.isfinite(number):
                    return None
                clean[name] = column([number], dtype=np.float64)
            elif not isinstance(value, str | numbers.Real) or pd.isna(np.asarray(value)):
                return None
            else:
                clean[name] = column([value], dtype=object)
        if not clean:
            return None
        X, Y = rhs.build(clean), lhs.build(clean)
        if X is None or Y is None or not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
            return None  # the full path names the term and the value
        return X, Y[:, 0].copy()

    def _clean(
        self,
        frame: pd.DataFrame,
        columns: Sequence[str],
        missing: Missing,
        advice: str = "use missing='drop' to drop these rows",
    ) -> tuple[pd.DataFrame, np.ndarray[Any, np.dtype[np.bool_]]]:
        assert self._parsed is not None
        for name in columns:
            if name not in frame.columns:
                what = _carried_what(self, name) if name in self.carry else "used by the formula"
                raise DataError(f"column {name!r} {what} is not in the data")
        clean, keep = prepare(frame, columns, self._kinds, missing, advice)
        _check_levels(self._rhs_spec, self._parsed, self._kinds, clean, frame.index[keep])
        return clean, keep

    def _side(self, side: str, clean: pd.DataFrame) -> Any:
        """One side's matrix for checked rows: by its recipe once verified, else formulaic.

        The first time a side is built, its :class:`Recipe` (if the design has one)
        is built beside formulaic's matrix and kept only if the two are equal value
        for value (NaN where NaN); formulaic's matrix is returned that time.
        """
        model_spec = self._rhs_spec if side == "rhs" else self._lhs_spec
        recipe = self._recipes.get(side)
        if isinstance(recipe, Recipe):
            fast = recipe.build(clean)
            if fast is not None:
                return fast
        matrix = _materialize(model_spec.get_model_matrix, clean, fitting=False)
        if recipe is None:
            assert self._parsed is not None
            names = {name: name for name in self._kinds}
            candidate = Recipe.of(model_spec, names)
            fast = None if candidate is None else candidate.build(clean)
            same = fast is not None and np.array_equal(
                fast, np.asarray(matrix, dtype=np.float64), equal_nan=True
            )
            self._recipes[side] = candidate if same and candidate is not None else False
        return matrix

    @property
    def _specs(self) -> tuple[Any, Any]:
        return self._rhs_spec, self._lhs_spec


@dataclass(frozen=True)
class Design:
    """A design matrix and response ready for the core.

    Attributes
    ----------
    matrix : ndarray of shape (n, k) or Columns
        The design matrix as it is held: an array, or the columns of a frame
        where they are with the intercept implicit (:class:`duolm.core.Columns`,
        for a formula of plain numeric columns). A float64 array given as ``X=``
        in C or F order, and a frame's float64 columns, are used where they
        are, not copied: changing them after the fit changes what the fit's
        per-row results read.
    y : ndarray of shape (n,)
        float64, all finite.
    spec : DesignSpec
        How to rebuild X for new data.
    n_dropped : int
        Rows dropped because of missing values.
    index : pandas.Index
        Labels of the rows kept (positions for arrays).
    carried : dict of str -> ndarray of shape (n,)
        The kept rows' values of the columns ``spec.carry`` (see
        :meth:`DesignSpec.build_xyc`); empty when nothing is carried.
    weights : ndarray of shape (n,) or None
        Positive finite weights of a weighted fit (``spec.weights``), else None.
    gram : ndarray of shape (k + 1, k + 1) or None
        ``[X y]^T [X y]`` when the build took it (the compiled finite check of a
        frame's columns does), for the in-memory fit to read instead of the rows.
    """

    matrix: DesignMatrix
    y: FloatArray
    spec: DesignSpec
    n_dropped: int
    index: pd.Index
    carried: Carried = field(default_factory=dict)
    weights: FloatArray | None = None
    gram: FloatArray | None = None

    @property
    def X(self) -> FloatArray:
        """The design matrix, shape (n, k): float64, C- or F-contiguous, all finite,
        read-only; built on first read when held as :class:`~duolm.core.Columns`."""
        return as_array(self.matrix)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, k)`` of the design matrix, without building it."""
        return self.matrix.shape

    @cached_property
    def const_col(self) -> int | None:
        """Position of the first constant, nonzero column of X (the intercept), if any."""
        return constant_column(self.matrix)


def from_formula(
    formula: str,
    data: object,
    *,
    missing: Missing = "drop",
    narrow: bool = False,
    carry: Sequence[str] = (),
    weights: str | None = None,
) -> Design:
    """Build a design from a formula such as ``"y ~ x + I(x**2)"``.

    Parameters
    ----------
    formula : str
        ``"response ~ terms"`` in formulaic's syntax: ``x - 1`` or ``0 + x``
        drop the intercept, ``a:b`` and ``a*b`` are interactions, ``C(g)``,
        ``center(x)``, ``poly(x, 3)``, ``bs(x, df=4)`` and numeric functions
        (``log(x)``, ``np.log(x)``, ``sqrt``, ...) may be used. Only a safe
        whitelist of code is accepted (see :mod:`duolm.design._formula`).
    data : pandas DataFrame, polars DataFrame or mapping of name -> array
        Text columns used as plain terms are categorical; boolean columns are 0/1.
    missing : {"drop", "raise"}
        Rows with a missing value in a column the formula uses are dropped and
        counted in ``n_dropped``, or refused.
    narrow : bool
        Refuse, before building it, a design with at least as many columns as
        rows (least squares). Any design is refused before it is built when a
        transform asks for more columns than rows or it would exceed 2 GiB
        (:func:`duolm._safe_formula.check_sizes`).
    carry : sequence of str
        Data columns to carry beside the design (:attr:`DesignSpec.carry`).
    weights : str, optional
        The column of the weights (carried, numeric, positive and finite).

    Returns
    -------
    Design
        X of shape (n, k), y of shape (n,).

    Raises
    ------
    FormulaError
        Malformed formula, unknown name, or code outside the whitelist.
    DataError
        No rows, infinite values, text in a numeric column, a non-numeric
        response, a transform giving a non-finite value, missing values with
        ``missing="raise"``.

    Notes
    -----
    As in R, ``x**2`` in the formula language is an interaction power
    (``(a + b)**2`` = ``a + b + a:b``); write ``I(x**2)`` for the square.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [1.1, 1.9, 3.2, 3.9]})
    >>> design = from_formula("y ~ x + I(x**2)", data)
    >>> design.spec.terms
    ('Intercept', 'x', 'I(x ** 2)')
    >>> design.X[:2]
    array([[1., 1., 1.],
           [1., 2., 4.]])
    """
    check_missing(missing)
    frame = as_frame(data)
    parsed = parse_formula(formula, [str(name) for name in frame.columns])
    return _from_parsed(formula, parsed, frame, missing, narrow, carry, weights)


def _from_parsed(
    formula: str,
    parsed: ParsedFormula,
    frame: pd.DataFrame,
    missing: Missing,
    narrow: bool,
    carry: Sequence[str],
    weights: str | None,
) -> Design:
    """:func:`from_formula` of a frame, its formula parsed against the frame's columns."""
    if len(frame) == 0:
        raise DataError("the data has no rows")
    carry = tuple(dict.fromkeys(([weights] if weights is not None else []) + list(carry)))
    for name in carry:
        if name not in frame.columns:
            what = "of the weights" if name == weights else "to carry beside the design"
            raise DataError(f"column {name!r} {what} is not in the data")
    columns = tuple(dict.fromkeys(parsed.lhs_columns + parsed.rhs_columns + carry))
    kinds = {name: column_kind(one_column(frame, name), name, parsed) for name in columns}
    if weights is not None and kinds[weights] != "numeric":
        dtype = one_column(frame, weights).dtype
        raise DataError(f"the weights column {weights!r} is not numeric (dtype {dtype})")
    for name in parsed.lhs_columns:
        if kinds[name] != "numeric":
            dtype = one_column(frame, name).dtype
            raise DataError(f"the response column {name!r} is not numeric (dtype {dtype})")
    if len(frame) > HEAD_ROWS and parsed.plain and all(k == "numeric" for k in kinds.values()):
        direct = _direct_design(formula, parsed, frame, columns, missing, carry, weights)
        if direct is not None:
            return direct
    clean, keep = prepare(frame, columns, kinds, missing)
    n_dropped = int(len(keep) - keep.sum())
    if len(clean) == 0:
        from duolm.design._columns import why_no_rows

        counts = {
            name: int(
                np.isnan(to_float(one_column(frame, name), name)).sum()
                if kinds[name] == "numeric"
                else one_column(frame, name).isna().sum()
            )
            for name in columns
        }
        raise DataError(
            f"no rows left after dropping {n_dropped} rows with missing values: "
            f"{why_no_rows(counts, len(frame))}"
        )
    index = frame.index[keep]
    from duolm.design._formula import check_sizes

    def levels(name: str, categorical: bool) -> int:
        if not categorical and kinds.get(name) == "numeric":
            return 1
        return int(clean[name].nunique()) if name in clean.columns else 1

    check_sizes(parsed, len(clean), levels, narrow)  # before formulaic builds anything
    matrices = _materialize(lambda data, **kw: model_matrix(parsed.formula, data, **kw), clean)
    rhs, lhs = matrices.rhs.model_spec, matrices.lhs.model_spec
    if len(lhs.column_names) != 1:
        raise DataError(
            f"the response {parsed.response!r} must be one numeric column, "
            f"got {len(lhs.column_names)} columns {list(lhs.column_names)}"
        )
    if not rhs.column_names:
        raise FormulaError(f"formula {formula!r} has no terms (no columns in X)")
    spec = DesignSpec(
        response=parsed.response,
        terms=tuple(str(name) for name in rhs.column_names),
        has_intercept=any(str(term) == "1" for term in rhs.terms),
        formula=formula,
        carry=carry,
        weights=weights,
        _missing=missing,
        _parsed=parsed,
        _rhs_spec=rhs,
        _lhs_spec=lhs,
        _kinds=kinds,
    )
    X, y, index, n_lagged, rows = _xy(spec, [matrices.rhs, matrices.lhs], clean, index, missing)
    if len(y) == 0:
        raise DataError(
            f"no rows left after dropping {n_dropped + n_lagged} rows with missing values"
        )
    carried = _carried(spec, clean, rows, index)
    return Design(
        matrix=X,
        y=y,
        spec=spec,
        n_dropped=n_dropped + n_lagged,
        index=index,
        carried=carried,
        weights=carried[weights] if weights is not None else None,
    )


#: Rows of a large frame on which formulaic builds the design of a formula of plain
#: numeric columns, to fix its spec and verify the columns copied for all rows.
HEAD_ROWS = 256


def _direct_design(
    formula: str,
    parsed: ParsedFormula,
    frame: pd.DataFrame,
    columns: Sequence[str],
    missing: Missing,
    carry: tuple[str, ...] = (),
    weights: str | None = None,
) -> Design | None:
    """The design of a large frame read from its columns where they are, or None.

    For a formula of plain numeric columns (:attr:`ParsedFormula.plain`)
    whose used values are all finite: formulaic builds the design of the first
    :data:`HEAD_ROWS` rows, which fixes the spec
    (:meth:`DesignSpec.plain_columns`), and when the frame's columns for those
    rows equal formulaic's design value for value, the whole design is the
    frame's columns, held as :class:`~duolm.core.Columns` (float64 columns are
    not copied; the intercept is implicit), and one compiled sweep
    (:func:`~duolm.core._sweep.gram_scan`) checks them finite and takes
    ``[X y]^T [X y]`` for the fit. Otherwise None: the caller builds it as any
    other design, with the errors that name rows and counts over all rows.
    Numeric carried columns (the weights) are copied; weights that are not
    all positive also send the frame to the caller, whose error names the row.
    """
    values: dict[str, FloatArray] = {}
    try:
        for name in columns:  # converted as the formulaic path converts them
            values[name] = to_float(one_column(frame, name), f"column {name!r}")
        head = _from_parsed(  # the formula as parsed for the whole frame: the same columns
            formula, parsed, frame.iloc[:HEAD_ROWS], missing, False, carry, weights
        )
    except DataError:  # the whole frame reports it, with every row counted
        return None
    plain = dataclasses.replace(head.spec, carry=()).plain_columns()  # carried: copied below
    if plain is None or head.n_dropped:
        return None
    carried = {name: np.array(values[name], dtype=np.float64, copy=True) for name in carry}
    if not all(np.isfinite(c).all() for c in carried.values()):
        return None
    if weights is not None and not np.all(carried[weights] > 0):
        return None
    terms, response = plain[:-1], plain[-1]
    assert response is not None
    intercept = terms.index(None) if None in terms else None
    parts = [np.ascontiguousarray(values[term]) for term in terms if term is not None]
    y = np.array(values[response], dtype=np.float64, copy=True)  # never a view of the caller's
    top = min(len(frame), HEAD_ROWS)
    first = Columns(tuple(read_only(part[:top]) for part in parts), intercept, top).array
    if not (np.array_equal(first, head.X) and np.array_equal(y[:HEAD_ROWS], head.y)):
        return None
    X = Columns(tuple(read_only(part) for part in parts), intercept, len(frame))
    # finite values (a sum is finite only if its terms are: else the checked path), the
    # constant columns and, for the fit, [X y]'[X y]: one compiled pass
    swept = gram_scan(X, y, products=weights is None)
    scanned = swept.scan
    if not (np.isfinite(scanned.sums).all() and math.isfinite(swept.y_sum)):
        return None
    design = Design(
        matrix=X,
        y=y,
        spec=head.spec,
        n_dropped=0,
        index=frame.index,
        carried=carried,
        weights=carried[weights] if weights is not None else None,
        gram=swept.gram,
    )
    design.__dict__["const_col"] = _first_constant(scanned)  # the cached_property, known
    return design


def from_arrays(X: object, y: object, *, missing: Missing = "drop") -> Design:
    """Build a design from a matrix X and a response y, used as given.

    Parameters
    ----------
    X : array-like of shape (n, k) or (n,), pandas or polars DataFrame
        No intercept is added. Column names come from a frame, else ``x0, x1, ...``.
    y : array-like of shape (n,) or (n, 1), pandas or polars Series
        The Series name (default ``"y"``) becomes ``spec.response``.
    missing : {"drop", "raise"}
        Rows with NaN in X or y are dropped and counted, or refused.

    Returns
    -------
    Design
        ``spec.has_intercept`` is True when some column is constant and nonzero.

    Raises
    ------
    DataError
        Wrong shapes or lengths, non-numeric values, infinite values, no rows,
        missing values with ``missing="raise"``.
    """
    check_missing(missing)
    return _arrays(X, y, missing, allow_empty=False)


# ---------------------------------------------------------------- arrays


def _arrays(X: object, y: object, missing: Missing, *, allow_empty: bool) -> Design:
    _check_aligned(X, y)
    Xa, names, index = x_array(X)
    ya, response = y_array(y)
    if len(ya) != len(Xa):
        raise DataError(f"X has {len(Xa)} rows but y has {len(ya)}")
    if len(Xa) == 0 and not allow_empty:
        raise DataError("X and y have no rows")
    # The common case, in one pass and no temporary: a sum is finite only if every term
    # is (an overflowing sum merely sends us to the detailed checks below); the same pass
    # finds the constant columns (minimum == maximum).
    scanned = scan(Xa) if len(Xa) else None
    with np.errstate(over="ignore"):
        finite = scanned is None or np.isfinite(scanned.sums).all()
        finite = finite and np.isfinite(ya.sum())
    if finite:
        const = None if scanned is None else _first_constant(scanned)
        return _array_design(Xa, ya, response, names, missing, 0, index, const)
    for col, name in enumerate(names):
        check_inf(Xa[:, col], f"X column {name!r}", index)
    check_inf(ya, "y", index)
    lacking = np.isnan(Xa).any(axis=1) | np.isnan(ya)
    if lacking.any() and missing == "raise":
        bad = [name for col, name in enumerate(names) if np.isnan(Xa[:, col]).any()]
        bad += ["y"] if np.isnan(ya).any() else []
        raise DataError(missing_message(bad, index[lacking]))
    keep = ~lacking
    n_dropped = int(lacking.sum())
    if n_dropped == len(Xa) and not allow_empty:
        from duolm.design._columns import why_no_rows

        counts = {name: int(np.isnan(Xa[:, col]).sum()) for col, name in enumerate(names)}
        counts["y"] = int(np.isnan(ya).sum())
        raise DataError(
            f"no rows left after dropping {n_dropped} rows with missing values: "
            f"{why_no_rows(counts, len(Xa))}"
        )
    Xk = np.ascontiguousarray(Xa[keep])
    return _array_design(Xk, ya[keep].copy(), response, names, missing, n_dropped, index[keep])


def _check_aligned(X: object, y: object) -> None:
    """pandas X and y must label their rows alike: pairing them by position would be a guess."""
    if not (isinstance(X, pd.DataFrame | pd.Series) and isinstance(y, pd.Series | pd.DataFrame)):
        return
    if len(X.index) != len(y.index) or X.index.equals(y.index):
        return  # a length mismatch gets its own message
    at = int(np.flatnonzero(X.index.to_numpy() != y.index.to_numpy())[0])
    x_label, y_label = X.index.to_list()[at], y.index.to_list()[at]
    raise DataError(
        f"X and y have different row labels (row {at}: {x_label!r} in X, "
        f"{y_label!r} in y): align them, e.g. y.reindex(X.index), or pass arrays"
    )


def _array_design(
    X: FloatArray,
    y: FloatArray,
    response: str,
    names: Sequence[str],
    missing: Missing,
    n_dropped: int,
    index: pd.Index,
    const: int | Literal["unknown"] | None = "unknown",
) -> Design:
    """The design of an array fit from its finite rows (``const``: its intercept, if known)."""
    if const == "unknown":
        const = constant_column(X)
    spec = DesignSpec(
        response=response,
        terms=tuple(names),
        has_intercept=const is not None,
        formula=None,
        _missing=missing,
    )
    design = Design(matrix=X, y=y, spec=spec, n_dropped=n_dropped, index=index)
    design.__dict__["const_col"] = const  # the cached_property, already known
    return design


def _first_constant(scanned: ColumnScan) -> int | None:
    """:func:`constant_column` from a column scan: the first column whose entries all equal
    its first, nonzero."""
    flat = np.flatnonzero((scanned.varies == 0) & (scanned.first != 0))
    return int(flat[0]) if flat.size else None


def constant_column(X: DesignMatrix) -> int | None:
    """Position of the first constant, nonzero column of ``X`` (the intercept), if any.

    Candidates are found on the first rows, so only they cost a pass over the data.
    :class:`~duolm.core.Columns` are read where they are (their intercept is constant
    by construction), not built into a matrix.

    Examples
    --------
    >>> constant_column(np.array([[2.0, 1.0, 3.0], [5.0, 1.0, 3.0]]))
    1
    """
    n, k = X.shape
    if n == 0:
        return None
    intercept = X.intercept if isinstance(X, Columns) else None
    column = X.column if isinstance(X, Columns) else (lambda j: X[:, j])
    head = np.column_stack([column(j)[:64] for j in range(k)])
    candidates = np.flatnonzero((head == head[0]).all(axis=0) & (head[0] != 0))
    for j in candidates.tolist():
        if j == intercept or np.all(column(j) == column(j)[0]):
            return int(j)
    return None


#: The values of the carried columns, by name (:attr:`Design.carried`).
Carried = dict[str, NDArray[Any]]

#: :attr:`DesignSpec.weights` of weights given as an array (no column of the data).
ARRAY_WEIGHTS = "<array>"


def _carried_what(spec: DesignSpec, name: str) -> str:
    return "of the weights" if name == spec.weights else "to carry beside the design"


def _no_rows(carry: Sequence[str]) -> Carried:
    return {name: np.zeros(0) for name in carry}


def _carried(
    spec: DesignSpec, clean: pd.DataFrame, rows: NDArray[np.intp], index: pd.Index
) -> Carried:
    """The carried columns' values at ``rows`` of ``clean`` (``index`` labels them);
    the weights checked positive and finite."""
    out: Carried = {}
    for name in spec.carry:
        values = clean[name].to_numpy()[rows]
        if spec._kinds.get(name) == "numeric":
            values = np.ascontiguousarray(values, dtype=np.float64)
        out[name] = values
    if spec.weights is not None and spec.weights in out:
        check_weights(
            out[spec.weights], f"weights column {spec.weights!r}", lambda i: row_label(index, i)
        )
    return out


def _check_width(X: FloatArray, terms: tuple[str, ...]) -> None:
    if X.shape[1] != len(terms):
        raise DataError(
            f"X has {X.shape[1]} columns but the fit had {len(terms)} ({', '.join(terms)})"
        )


# ---------------------------------------------------------------- formulaic


def _materialize(build: Any, clean: pd.DataFrame, *, fitting: bool = True) -> Any:
    """Run formulaic in the restricted namespace; translate its errors and warnings."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("error", DataMismatchWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            return build(clean, context=evaluation_context(), na_action="ignore", output="numpy")
    except DataMismatchWarning as exc:
        raise DataError(f"categorical data does not match the fit: {exc}") from exc
    except Exception as exc:
        cause = exc.__cause__
        if isinstance(cause, FormulaError | DataError):
            raise cause from exc
        error = FormulaError if fitting else DataError
        raise error(f"cannot evaluate the formula on this data: {exc}") from exc


def _check_levels(
    spec: Any,
    parsed: ParsedFormula,
    kinds: Mapping[str, Kind],
    clean: pd.DataFrame,
    index: pd.Index,
) -> None:
    """Refuse categorical levels of new data that the fit did not see."""
    for expr, (kind, state) in spec.encoder_state.items():
        columns = parsed.factor_columns.get(expr, ())
        if kind.value != "categorical" or "categories" not in state or len(columns) != 1:
            continue
        name = columns[0]
        if kinds.get(name) == "numeric":  # a transform of a number, e.g. C(np.floor(x))
            continue
        levels = state["categories"]
        unseen = np.flatnonzero(~clean[name].isin(levels).to_numpy())
        if len(unseen):
            row = unseen[0]
            raise DataError(
                f"column {name!r} has level {clean[name].iloc[row]!r} at row "
                f"{row_label(index, row)} that the fit did not see (levels: "
                f"{', '.join(repr(level) for level in levels)})"
            )


def _xy(
    spec: DesignSpec, raw: Sequence[Any], clean: pd.DataFrame, index: pd.Index, missing: Missing
) -> tuple[FloatArray, FloatArray, pd.Index, int, NDArray[np.intp]]:
    """Checked X and y from formulaic's matrices; rows that lag() left empty are missing.

    Also returns the positions in ``clean`` of the rows of ``X`` (for the carried columns).
    """
    rhs, lhs = spec._specs
    assert spec._parsed is not None
    X = np.asarray(raw[0], dtype=np.float64)
    lag_terms = {
        str(term): part
        for term, part in rhs.term_slices.items()
        if any("lag(" in factor.expr for factor in term.factors)
    }
    lag_columns = [i for part in lag_terms.values() for i in range(part.start, part.stop)]
    lagged = np.asarray(np.isnan(X[:, lag_columns]).any(axis=1), dtype=bool)
    if lagged.any() and missing == "raise":
        raise DataError(missing_message(list(lag_terms), index[lagged]))
    rows = np.flatnonzero(~lagged)
    clean, index = clean.iloc[rows].reset_index(drop=True), index[rows]
    X = _finite(X[rows], rhs, spec._parsed, clean, index, "term")
    Y = _finite(
        np.asarray(raw[1], dtype=np.float64)[rows], lhs, spec._parsed, clean, index, "response"
    )
    return X, Y[:, 0].copy(), index, int(lagged.sum()), rows


def _finite(
    matrix: Any, spec: Any, parsed: ParsedFormula, clean: pd.DataFrame, index: pd.Index, what: str
) -> FloatArray:
    """Matrix as float64 C-contiguous; a NaN or inf made by a transform is an error."""
    array = np.ascontiguousarray(np.asarray(matrix, dtype=np.float64))
    bad = np.argwhere(~np.isfinite(array))
    if len(bad) == 0:
        return array
    row, col = (int(i) for i in bad[0])
    term = next(t for t, s in spec.term_slices.items() if s.start <= col < s.stop)
    used = dict.fromkeys(c for f in term.factors for c in parsed.factor_columns.get(f.expr, ()))
    inputs = ", ".join(f"{name} = {_value(clean[name].iloc[row])}" for name in used)
    raise DataError(
        f"{what} {spec.column_names[col]!r} is {array[row, col]} at row {row_label(index, row)}"
        + (f" ({inputs})" if inputs else "")
    )


def _value(value: object) -> str:
    if isinstance(value, float | np.floating):
        text = repr(float(value))  # shortest round-trip form
        return text.removesuffix(".0")
    return repr(value)


def make_design(
    formula: str | None,
    data: object,
    X: object,
    y: object,
    missing: Missing,
    narrow: bool = False,
) -> Design:
    """Build the design from either ``(formula, data)`` or ``(X=, y=)``.

    ``narrow``: least squares, whose formula designs must have fewer columns than
    rows (checked before they are built).
    """
    if formula is not None and not isinstance(formula, str):
        raise TypeError(
            f"the first argument is a formula string, got {type(formula).__name__}; "
            "pass arrays as X=..., y=..."
        )
    check_missing(missing)
    if formula is not None:
        if X is not None or y is not None:
            raise TypeError("give either a formula with data, or X= and y=, not both")
        if data is None:
            raise TypeError("a formula needs data (a DataFrame or a mapping of columns)")
        return from_formula(formula, data, missing=missing, narrow=narrow)
    if X is None or y is None:
        raise TypeError("give a formula and data, or both X= and y=")
    return from_arrays(X, y, missing=missing)
