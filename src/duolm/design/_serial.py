"""A design spec to and from JSON-ready values, for saved fits and posteriors.

A spec is saved as ``response``, ``terms``, ``has_intercept``, ``formula``,
``missing``, for a weighted fit (or one that carried columns) ``carry`` and
``weights`` (the carried columns, the weights column or ``"<array>"``), and
for formula fits the data columns with their kinds and formulaic's state of
each side (``ensure_full_rank``, each factor's encoder state such as the
categorical levels, and the state of stateful transforms such as the mean of
``center(x)`` or the knots of ``bs(x)``). Numbers are JSON numbers written by
``repr``, so every float comes back bit for bit; dictionaries with non-string
keys, tuples and arrays are tagged (``{"__dict__": [[key, value], ...]}``,
``{"__tuple__": [...]}``). The contrast objects of categorical factors are not
saved: formulaic rebuilds them from the formula and the saved levels. The file
around it is :mod:`duolm.state`'s.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from duolm.design._build import DesignSpec
from duolm.design._formula import parse_formula
from duolm.errors import DataError, FormulaError, StateFileError

__all__ = ["decode", "encode", "spec_from", "spec_payload"]

_KINDS = ("numeric", "categorical", "asis")


def encode(value: Any, where: str) -> Any:
    """A formulaic state value as JSON (tags for what JSON cannot say)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        if not math.isfinite(x):
            return {"__float__": repr(x)}
        return x
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"__ndarray__": encode(value.tolist(), where), "dtype": str(value.dtype)}
    if isinstance(value, list):
        return [encode(v, where) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, where) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, where), encode(v, where)] for k, v in value.items()]}
    raise StateFileError(
        f"cannot save the design: the state of {where!r} holds a {type(value).__name__}, "
        "which the file format cannot store"
    )


#: The dtypes an ``__ndarray__`` tag may name (what :func:`_encode` writes: kinds b, i, u, f).
_DTYPES = frozenset(
    ["bool", "float16", "float32", "float64"]
    + [f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)]
)


def _corrupt(message: str) -> StateFileError:
    return StateFileError(f"corrupt state file: {message}")


def decode(value: Any) -> Any:
    """A tagged JSON value back as Python; every tag, dtype and shape checked first.

    Raises
    ------
    StateFileError
        An unknown tag, a tag with other keys, a dtype outside :data:`_DTYPES`,
        an array whose entries are not numbers of one rectangular shape, a
        ``__float__`` that is not a float's text.
    """
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise _corrupt(f"unexpected value of type {type(value).__name__}")
    keys = sorted(value)
    if keys == ["__tuple__"] and isinstance(value["__tuple__"], list):
        return tuple(decode(v) for v in value["__tuple__"])
    if keys == ["__dict__"] and isinstance(value["__dict__"], list):
        pairs = value["__dict__"]
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise _corrupt("a __dict__ tag must hold [key, value] pairs")
        out = {}
        for k, v in pairs:
            key = _hashable(decode(k))
            try:
                hash(key)
            except TypeError:
                raise _corrupt(f"a __dict__ key is not hashable: {key!r}") from None
            out[key] = decode(v)
        return out
    if keys == ["__ndarray__", "dtype"]:
        return _array(value["__ndarray__"], value["dtype"])
    if keys == ["__float__"]:
        text = value["__float__"]
        if not isinstance(text, str) or text.strip().lower() not in ("inf", "-inf", "nan", "+inf"):
            raise _corrupt(f"a __float__ tag holds {text!r}, not inf, -inf or nan")
        return float(text)
    raise _corrupt(f"unknown tagged value with keys {keys}")


def _array(entries: Any, dtype: Any) -> np.ndarray[Any, Any]:
    """An ``__ndarray__`` tag's array: a known dtype, a rectangular nest of plain numbers."""
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise _corrupt(f"an array's dtype {dtype!r} is not one of {sorted(_DTYPES)}")
    shape: list[int] = []
    level: Any = entries
    while isinstance(level, list):  # the shape from the first entries, checked below
        shape.append(len(level))
        if not level:
            break
        level = level[0]
    size = math.prod(shape)
    flat: list[Any] = []

    def walk(node: Any, depth: int) -> None:
        if depth == len(shape):
            if isinstance(node, list | dict | str) or node is None:
                raise _corrupt("an array's entries are not numbers")
            flat.append(node)
            return
        if not isinstance(node, list) or len(node) != shape[depth]:
            raise _corrupt(f"an array is not rectangular (shape {tuple(shape)})")
        for item in node:
            walk(item, depth + 1)

    walk(entries, 0)
    if len(flat) != size:  # pragma: no cover - walk checks every level
        raise _corrupt("an array's size does not match its shape")
    try:
        return np.array(flat, dtype=np.dtype(dtype)).reshape(shape)
    except (OverflowError, TypeError, ValueError) as exc:
        raise _corrupt(f"an array's entries do not fit dtype {dtype}: {exc}") from None


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _side(spec: Any) -> dict[str, Any]:
    encoder = {
        expr: [kind.value, encode({k: v for k, v in st.items() if k != "contrasts"}, expr)]
        for expr, (kind, st) in spec.encoder_state.items()
    }
    structure = [
        {
            "term": str(row.term),
            "scoped_terms": [
                {
                    "factors": [[sf.factor.expr, bool(sf.reduced)] for sf in scoped.factors],
                    "scale": encode(scoped.scale, str(row.term)),
                }
                for scoped in row.scoped_terms
            ],
            "columns": [str(c) for c in row.columns],
        }
        for row in spec.structure
    ]
    return {
        "ensure_full_rank": bool(spec.ensure_full_rank),
        "encoder_state": encoder,
        "transform_state": encode(dict(spec.transform_state), "transforms"),
        "structure": structure,
    }


def spec_payload(spec: DesignSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "response": spec.response,
        "terms": list(spec.terms),
        "has_intercept": spec.has_intercept,
        "formula": spec.formula,
        "missing": spec._missing,
    }
    if spec.carry or spec.weights is not None:  # absent in files of unweighted fits
        out["carry"] = list(spec.carry)
        out["weights"] = spec.weights
    if spec.formula is not None:
        out["kinds"] = dict(spec._kinds)
        out["rhs"] = _side(spec._rhs_spec)
        out["lhs"] = _side(spec._lhs_spec)
    return out


def _model_spec(formula: Any, side: dict[str, Any]) -> Any:
    """formulaic's ModelSpec of one side, its column structure included.

    The structure (which columns each term makes, which factors are reduced
    in rank) is what formulaic records after materialising; its factors are
    stored by expression and rebuilt without values, as formulaic itself
    stores them (``ScopedTerm.copy(without_values=True)``).
    """
    from formulaic import ModelSpec
    from formulaic.materializers.base import EncodedTermStructure
    from formulaic.materializers.types import EvaluatedFactor, ScopedFactor, ScopedTerm
    from formulaic.parser.types import Factor

    encoder = {
        expr: (Factor.Kind(kind), decode(state))
        for expr, (kind, state) in side["encoder_state"].items()
    }
    terms = {str(term): term for term in formula}
    factors = {f.expr: f for term in formula for f in term.factors}
    structure = [
        EncodedTermStructure(
            terms[row["term"]],
            [
                ScopedTerm(
                    [
                        ScopedFactor(EvaluatedFactor(factors[expr], None), reduced=bool(red))
                        for expr, red in scoped["factors"]
                    ],
                    scale=decode(scoped["scale"]),
                )
                for scoped in row["scoped_terms"]
            ],
            [str(c) for c in row["columns"]],
        )
        for row in side["structure"]
    ]
    return ModelSpec(
        structure=structure,
        formula=formula,
        materializer="pandas",
        ensure_full_rank=bool(side["ensure_full_rank"]),
        na_action="ignore",
        output="numpy",
        encoder_state=encoder,
        transform_state=decode(side["transform_state"]),
    )


def spec_from(payload: Any) -> DesignSpec:
    try:
        terms = tuple(payload["terms"])
        if not all(isinstance(t, str) for t in terms) or not isinstance(payload["response"], str):
            raise StateFileError("corrupt state file: design names are not strings")
        missing = payload["missing"]
        if missing not in ("drop", "raise"):
            raise StateFileError(f"corrupt state file: missing policy {missing!r}")
        formula = payload["formula"]
        carry = tuple(payload.get("carry", ()))
        weights = payload.get("weights")
        if not all(isinstance(c, str) for c in carry) or not isinstance(weights, str | None):
            raise StateFileError("corrupt state file: carried column names are not strings")
        base = {
            "response": payload["response"],
            "terms": terms,
            "has_intercept": bool(payload["has_intercept"]),
            "formula": formula,
            "carry": carry,
            "weights": weights,
            "_missing": missing,
        }
        if formula is None:
            return DesignSpec(**base)
        kinds = dict(payload["kinds"])
        if any(v not in _KINDS for v in kinds.values()):
            raise StateFileError("corrupt state file: unknown column kind")
        parsed = parse_formula(formula, list(kinds))
        rhs = _model_spec(parsed.formula.rhs, payload["rhs"])
        lhs = _model_spec(parsed.formula.lhs, payload["lhs"])
        return DesignSpec(**base, _parsed=parsed, _rhs_spec=rhs, _lhs_spec=lhs, _kinds=kinds)
    except StateFileError:
        raise
    except (  # formulaic's objects rebuilt from untrusted entries
        KeyError,
        IndexError,
        AttributeError,
        TypeError,
        ValueError,
        FormulaError,
        DataError,
    ) as exc:
        raise StateFileError(f"corrupt state file: cannot rebuild the design: {exc}") from exc
