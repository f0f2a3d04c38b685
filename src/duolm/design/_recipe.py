"""A fixed design rebuilt without formulaic: the recipe of each column.

Once a fit has fixed its design (the terms, the levels of each categorical
factor), every later batch of a stream, every :class:`duolm.Online` update and
every prediction builds the same columns again. formulaic does that with a
fixed cost of ~20 ms per side and call, whatever the number of rows: on a
stream of small batches it is nearly all the time. For the designs that need
no state beyond the levels, each column is a product of factor columns that
numpy computes directly:

- a numeric factor (a column, or a whitelisted expression such as
  ``I(x**2)`` or ``np.log(x)``) is evaluated in the formula's restricted
  namespace (:func:`duolm.design._formula.evaluation_context`);
- a categorical factor (a column or ``C(column)`` with the default treatment
  contrasts) gives one indicator per level, all levels when the term is full
  rank, all but the first (the base) when it is reduced;
- the columns of an interaction run through the factors' columns with the
  first factor varying fastest, as formulaic orders them.

Anything else (stateful transforms such as ``center`` or ``bs``, ``lag``,
other contrasts, factors that make several columns) has no recipe, and the
caller keeps formulaic. :meth:`Recipe.build` is verified against formulaic on
the first batch it is used for (:class:`duolm.design.DesignSpec`): a recipe
that does not reproduce formulaic's matrix value for value is never used.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from duolm.design._columns import FloatArray
from duolm.design._formula import evaluation_context

__all__ = ["Recipe"]


@dataclass(frozen=True)
class _Numeric:
    expr: str | None  # a whitelisted expression (compiled once, see _compiled)
    column: str | None  # or a plain lookup, read without evaluating


@dataclass(frozen=True)
class _Categorical:
    column: str
    levels: pd.Index
    reduced: bool  # treatment contrasts: the first level is the base

    @functools.cached_property
    def codes(self) -> dict[object, int]:
        """Level -> code, for one value at a time (the hash lookup of ``levels``)."""
        return {level: code for code, level in enumerate(self.levels)}


_Factor = _Numeric | _Categorical


@dataclass(frozen=True)
class Recipe:
    """Columns of one side of a fixed design, each a product of factor columns.

    Attributes
    ----------
    columns : tuple of tuple of (factor, int)
        For each column of the matrix, the factors it multiplies and the index
        of the factor's column used (the level of a categorical factor).
    width : int
        Number of columns.
    """

    columns: tuple[tuple[tuple[_Factor, int], ...], ...]
    width: int

    @property
    def evaluates(self) -> bool:
        """Some column evaluates an expression (its namespace holds the data as Series)."""
        return any(
            isinstance(factor, _Numeric) and factor.expr is not None
            for parts in self.columns
            for factor, _ in parts
        )

    @classmethod
    def of(cls, model_spec: Any, columns: Mapping[str, str]) -> Recipe | None:
        """The recipe of a formulaic ``ModelSpec``, or None when it needs formulaic.

        Parameters
        ----------
        model_spec : formulaic.ModelSpec
            One side of a fitted formula.
        columns : mapping of str to str
            Data column read by each plain factor expression (formulaic's
            lookup names to the data's names).
        """
        if model_spec.transform_state:  # center, scale, poly, bs...: a state beyond levels
            return None
        states = model_spec.encoder_state
        recipe: list[tuple[tuple[_Factor, int], ...]] = []
        try:
            for structure in model_spec.structure:
                for scoped in structure.scoped_terms:
                    if scoped.scale != 1:
                        return None
                    factors = [_factor(f, states, columns) for f in scoped.factors]
                    if any(f is None for f in factors):
                        return None
                    widths = [_width(f) for f in factors if f is not None]
                    # formulaic: the first factor's columns vary fastest
                    for combo in itertools.product(*(range(w) for w in reversed(widths))):
                        picks = tuple(reversed(combo))
                        recipe.append(
                            tuple((f, i) for f, i in zip(factors, picks, strict=True) if f)
                        )
        except (AttributeError, KeyError, TypeError, SyntaxError, ValueError):
            return None  # a formulaic structure this recipe does not know: keep formulaic
        if len(recipe) != len(model_spec.column_names):
            return None
        return cls(columns=tuple(recipe), width=len(recipe))

    def build(self, clean: pd.DataFrame | Mapping[str, Any]) -> FloatArray | None:
        """The matrix for ``clean``, or None where the recipe cannot build it.

        Parameters
        ----------
        clean : DataFrame, or mapping of column -> Series of equal length
            Rows already checked (numeric columns float64, no missing values).
            Where no column :attr:`evaluates` an expression, 1-D arrays will do.

        Returns
        -------
        ndarray of shape (n, width), or None
            None when a factor's value is not 1-D, or a categorical value is
            not one of the fit's levels (its indicators would all be 0: the
            caller's full path names the level). Non-finite results of
            expressions are left in place for the caller's check, which names
            the term and the row.
        """
        n = len(clean) if isinstance(clean, pd.DataFrame) else len(next(iter(clean.values())))
        namespace: dict[str, object] = {}
        values: dict[int, Any] = {}
        out = np.empty((n, self.width))
        for j, parts in enumerate(self.columns):
            col = np.ones(n)
            for factor, pick in parts:
                key = id(factor)
                if key not in values:
                    value = _evaluate(factor, clean, n, namespace)
                    if value is None or (isinstance(factor, _Categorical) and (value < 0).any()):
                        return None
                    values[key] = value
                value = values[key]
                if isinstance(factor, _Numeric):
                    col = col * value
                else:
                    level = pick + 1 if factor.reduced else pick
                    col = col * (value == level)
            out[:, j] = col
        return out


def _evaluate(
    factor: _Factor, clean: pd.DataFrame | Mapping[str, Any], n: int, namespace: dict[str, object]
) -> Any:
    """A numeric factor's values, or a categorical one's level codes; None if not 1-D."""
    if isinstance(factor, _Categorical):  # codes of the fit's levels (unseen: -1)
        values = clean[factor.column]
        if n == 1 and not isinstance(values, pd.Series):  # one row: no index to build
            return np.array([factor.codes.get(values[0], -1)])
        return factor.levels.get_indexer(pd.Index(values))
    if factor.column is not None:  # a plain lookup
        return np.asarray(clean[factor.column], dtype=np.float64)
    assert factor.expr is not None
    if not namespace:
        namespace.update(_context())
        namespace.update({str(c): values for c, values in clean.items()})
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(
                eval(_compiled(factor.expr), namespace), dtype=np.float64
            )  # whitelisted
    except Exception:  # formulaic evaluates it again and names the problem
        return None
    if value.ndim == 0:
        value = np.full(n, float(value))
    return value if value.shape == (n,) else None


@functools.lru_cache(maxsize=256)
def _compiled(expr: str) -> Any:
    return compile(expr, "<formula>", "eval")


@functools.cache
def _context() -> Mapping[str, object]:
    """The restricted namespace, built once (callers copy it before adding columns)."""
    return evaluation_context()


def _width(factor: _Factor) -> int:
    if isinstance(factor, _Numeric):
        return 1
    return len(factor.levels) - 1 if factor.reduced else len(factor.levels)


def _factor(scoped: Any, states: Mapping[str, Any], columns: Mapping[str, str]) -> _Factor | None:
    factor = scoped.factor.factor  # formulaic's Factor inside the EvaluatedFactor
    expr = str(factor.expr)
    if "lag(" in expr:  # rows of earlier batches
        return None
    kind, state = states[expr]
    method = factor.eval_method.value
    if kind.value == "numerical":
        if method == "lookup":
            return _Numeric(expr=None, column=columns[expr]) if expr in columns else None
        if method != "python":
            return None
        _compiled(expr)  # a syntax formulaic reads and Python does not: no recipe
        return _Numeric(expr=expr, column=None)
    if kind.value != "categorical":
        return None
    name = expr[2:-1] if expr.startswith("C(") and expr.endswith(")") else expr
    if name not in columns or (method == "python" and not expr.startswith("C(")):
        return None
    contrasts = state.get("contrasts")
    if contrasts is not None:
        spec = contrasts.contrasts
        if type(spec).__name__ != "TreatmentContrasts" or str(spec.base) != "Sentinel.UNSET":
            return None
    levels = pd.Index(list(state["categories"]), dtype=object)
    if not levels.is_unique:
        return None
    return _Categorical(column=columns[name], levels=levels, reduced=bool(scoped.reduced))
