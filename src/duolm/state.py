"""Saving and loading posteriors: a documented, versioned JSON format, never pickle.

The file is UTF-8 JSON::

    {
      "format": "duolm-posterior",
      "version": 1,
      "kind": "nig" | "bayes",
      "payload": {...},
      "sha256": "<hex SHA-256 of {"kind": ..., "payload": ...} as canonical JSON>"
    }

An ``"nig"`` payload is one :class:`~duolm.bayes.NIG` in its square-root
form: ``k``, ``label``, ``nu0``, ``prior_R`` (the prior's (k+1)x(k+1) upper
factor, order ``[x..., y]``) and ``data`` (``R``, ``nobs``, ``y_mean``,
``y_m2`` of the data part). A ``"bayes"`` payload holds the ``posterior`` and
the ``prior`` of a :class:`~duolm.bayes.BayesResults` and its ``design``:
``response``, ``terms``, ``has_intercept``, ``formula``, ``missing``, and for
formula fits the data columns with their kinds and formulaic's state of each
side (``ensure_full_rank``, each factor's encoder state such as the
categorical levels, and the state of stateful transforms such as the mean of
``center(x)`` or the knots of ``bs(x)``). Numbers are JSON numbers written by
``repr``, so every float comes back bit for bit; dictionaries with non-string
keys, tuples and arrays are tagged (``{"__dict__": [[key, value], ...]}``,
``{"__tuple__": [...]}``).

What is not restored: the fitted rows (a loaded ``BayesResults`` has
``design=None``, so ``predict()`` needs data and it cannot enter
:func:`duolm.compare`), and the contrast objects of categorical factors,
which formulaic rebuilds from the formula and the saved levels.

Writes are atomic: a temporary file in the target directory, flushed and
synced, then ``os.replace``. Loading a file that is not JSON, is truncated,
fails its checksum, has another format name, a newer version or malformed
contents raises :class:`~duolm.errors.StateFileError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from duolm.bayes import NIG, BayesResults
from duolm.core import SqrtStat
from duolm.design import DesignSpec
from duolm.errors import DataError, FormulaError, PriorError, StateFileError

__all__ = ["FORMAT", "VERSION", "load", "load_posterior", "save"]

FORMAT = "duolm-posterior"
VERSION = 1

_KINDS = ("numeric", "categorical", "asis")


# -- tagged values ---------------------------------------------------------------------------


def _encode(value: Any, where: str) -> Any:
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
        return {"__ndarray__": _encode(value.tolist(), where), "dtype": str(value.dtype)}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
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


def _decode(value: Any) -> Any:
    """A tagged JSON value back as Python; every tag, dtype and shape checked first.

    Raises
    ------
    StateFileError
        An unknown tag, a tag with other keys, a dtype outside :data:`_DTYPES`,
        an array whose entries are not numbers of one rectangular shape, a
        ``__float__`` that is not a float's text.
    """
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise _corrupt(f"unexpected value of type {type(value).__name__}")
    keys = sorted(value)
    if keys == ["__tuple__"] and isinstance(value["__tuple__"], list):
        return tuple(_decode(v) for v in value["__tuple__"])
    if keys == ["__dict__"] and isinstance(value["__dict__"], list):
        pairs = value["__dict__"]
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise _corrupt("a __dict__ tag must hold [key, value] pairs")
        out = {}
        for k, v in pairs:
            key = _hashable(_decode(k))
            try:
                hash(key)
            except TypeError:
                raise _corrupt(f"a __dict__ key is not hashable: {key!r}") from None
            out[key] = _decode(v)
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


# -- NIG <-> JSON ----------------------------------------------------------------------------


def _matrix(R: Any) -> list[list[float]]:
    return [[float(x) for x in row] for row in np.asarray(R)]


def _nig_payload(nig: NIG) -> dict[str, Any]:
    d = nig.data_stat
    return {
        "k": nig.k,
        "label": nig.label,
        "nu0": nig.nu0,
        "prior_R": _matrix(nig.prior_stat.R),
        "data": {
            "R": _matrix(d.R),
            "nobs": d.nobs,
            "y_mean": d.y_mean,
            "y_m2": d.y_m2,
        },
    }


def _finite_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateFileError(f"corrupt state file: {name} is not a number")
    x = float(value)
    if not math.isfinite(x):
        raise StateFileError(f"corrupt state file: {name} is not finite")
    return x


def _square(value: Any, k: int, name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    ok = isinstance(value, list) and all(
        isinstance(row, list) and all(not isinstance(x, bool) for x in row) for row in value
    )
    try:
        R = np.array(value, dtype=np.float64) if ok else None
    except (TypeError, ValueError):
        R = None
    if R is None or R.shape != (k + 1, k + 1):
        raise StateFileError(f"corrupt state file: {name} is not a {k + 1} x {k + 1} matrix")
    if not np.all(np.isfinite(R)) or np.any(np.tril(R, -1) != 0):
        raise StateFileError(f"corrupt state file: {name} is not a finite upper-triangular factor")
    return R


def _nig_from(payload: Any) -> NIG:
    if not isinstance(payload, dict):
        raise StateFileError("corrupt state file: a posterior entry is not an object")
    try:
        k = payload["k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise StateFileError("corrupt state file: k is not a positive integer")
        data = payload["data"]
        label = payload["label"]
        if not isinstance(label, str) or not isinstance(data, dict):
            raise StateFileError("corrupt state file: label or data has the wrong type")
        prior = SqrtStat(_square(payload["prior_R"], k, "prior_R"), 0.0)
        nobs = _finite_float(data["nobs"], "nobs")
        if nobs < 0:
            raise StateFileError("corrupt state file: nobs is negative")
        stat = SqrtStat(
            _square(data["R"], k, "R"),
            nobs,
            _finite_float(data["y_mean"], "y_mean"),
            _finite_float(data["y_m2"], "y_m2"),
        )
        return NIG.from_parts(prior, _finite_float(payload["nu0"], "nu0"), stat, label)
    except KeyError as exc:
        raise StateFileError(f"corrupt state file: missing entry {exc}") from exc
    except PriorError as exc:
        raise StateFileError(f"corrupt state file: {exc}") from exc


# -- DesignSpec <-> JSON ---------------------------------------------------------------------


def _side(spec: Any) -> dict[str, Any]:
    encoder = {
        expr: [kind.value, _encode({k: v for k, v in st.items() if k != "contrasts"}, expr)]
        for expr, (kind, st) in spec.encoder_state.items()
    }
    structure = [
        {
            "term": str(row.term),
            "scoped_terms": [
                {
                    "factors": [[sf.factor.expr, bool(sf.reduced)] for sf in scoped.factors],
                    "scale": _encode(scoped.scale, str(row.term)),
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
        "transform_state": _encode(dict(spec.transform_state), "transforms"),
        "structure": structure,
    }


def _spec_payload(spec: DesignSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "response": spec.response,
        "terms": list(spec.terms),
        "has_intercept": spec.has_intercept,
        "formula": spec.formula,
        "missing": spec._missing,
    }
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
        expr: (Factor.Kind(kind), _decode(state))
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
                    scale=_decode(scoped["scale"]),
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
        transform_state=_decode(side["transform_state"]),
    )


def _spec_from(payload: Any) -> DesignSpec:
    from duolm._safe_formula import parse_formula

    try:
        terms = tuple(payload["terms"])
        if not all(isinstance(t, str) for t in terms) or not isinstance(payload["response"], str):
            raise StateFileError("corrupt state file: design names are not strings")
        missing = payload["missing"]
        if missing not in ("drop", "raise"):
            raise StateFileError(f"corrupt state file: missing policy {missing!r}")
        formula = payload["formula"]
        base = {
            "response": payload["response"],
            "terms": terms,
            "has_intercept": bool(payload["has_intercept"]),
            "formula": formula,
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


# -- files -----------------------------------------------------------------------------------


def _canonical(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _digest(kind: Any, payload: Any) -> str:
    """SHA-256 of the kind and the payload, in canonical JSON."""
    return hashlib.sha256(_canonical({"kind": kind, "payload": payload})).hexdigest()


def save(obj: NIG | BayesResults, path: str | os.PathLike[str]) -> None:
    """Write a posterior (an :class:`NIG` or a :class:`BayesResults`) to ``path`` atomically.

    Parameters
    ----------
    obj : NIG or BayesResults
        A results object is saved with its prior, posterior and design spec
        (not the fitted rows).
    path : str or path-like
        The file to write (replaced atomically if it exists).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> post = NIG(np.zeros(2), np.eye(2), 2.0, 1.0).update([1.0, 2.0], 3.0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save(post, pathlib.Path(tmp) / "post.json")
    ...     back = load_posterior(pathlib.Path(tmp) / "post.json")
    >>> bool(np.array_equal(back.V, post.V)), back.b == post.b
    (True, True)
    """
    if isinstance(obj, NIG):
        kind, payload = "nig", _nig_payload(obj)
    elif isinstance(obj, BayesResults):
        kind = "bayes"
        payload = {
            "posterior": _nig_payload(obj.posterior),
            "prior": _nig_payload(obj.prior),
            "design": _spec_payload(obj.spec),
        }
    else:
        raise TypeError(f"can save an NIG or a BayesResults, got {type(obj).__name__}")
    digest = _digest(kind, payload)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "payload": payload,
        "sha256": digest,
    }
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    target = Path(path)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; keep the usual (or the old file's) mode
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


#: Deepest nesting of arrays and objects a state or prior file may have (saved files
#: nest at most a dozen levels: formulaic's states inside tags inside the payload).
MAX_DEPTH = 64


def loads(raw: bytes, label: str, what: str = "a duolm state file") -> Any:
    """Parse JSON bytes of a state or prior file, refusing deep nesting before parsing.

    Python's parser recurses once per level: a "JSON bomb" of nested brackets
    would raise RecursionError (or exhaust the stack). The nesting is measured
    on the text first, strings left out.

    Raises
    ------
    StateFileError
        Not UTF-8, not JSON, NaN or infinities, or nested deeper than :data:`MAX_DEPTH`.
    """
    import re

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateFileError(
            f"{label} is not {what} (not valid JSON: not UTF-8 text: {exc})"
        ) from None
    brackets = re.sub(r'"(?:[^"\\]|\\.)*"', "", text)
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                raise StateFileError(
                    f"{label} is not {what}: its JSON nests deeper than {MAX_DEPTH} levels"
                )
        elif char in "]}":
            depth -= 1
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise StateFileError(
            f"{label} is not {what} (not valid JSON; truncated or corrupt?): {exc}"
        ) from None


def _read(path: str | os.PathLike[str]) -> tuple[str, Any]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise StateFileError(f"cannot read state file {os.fspath(path)!r}: {exc}") from exc
    document = loads(raw, repr(os.fspath(path)))
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateFileError(f"{os.fspath(path)!r} is not a duolm state file (format {FORMAT!r})")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StateFileError(f"corrupt state file: bad version {version!r}")
    if version > VERSION:
        raise StateFileError(
            f"{os.fspath(path)!r} has format version {version}, written by a newer duolm; "
            f"this one reads up to version {VERSION}"
        )
    payload, kind = document.get("payload"), document.get("kind")
    try:
        digest = _digest(kind, payload)
    except (TypeError, ValueError) as exc:
        raise StateFileError(f"corrupt state file: {exc}") from exc
    if digest != document.get("sha256"):
        raise StateFileError(f"corrupt state file {os.fspath(path)!r}: checksum mismatch")
    if kind not in ("nig", "bayes") or not isinstance(payload, dict):
        raise StateFileError(f"corrupt state file: unknown kind {kind!r}")
    return kind, payload


def load(path: str | os.PathLike[str]) -> NIG | BayesResults:
    """Read what :func:`save` wrote: an NIG, or a BayesResults with ``design=None``.

    Raises
    ------
    StateFileError
        The file is not JSON, is truncated, fails its checksum, is of another
        format or a newer version, or its contents are malformed.
    """
    kind, payload = _read(path)
    if kind == "nig":
        return _nig_from(payload)
    try:
        posterior, prior = _nig_from(payload["posterior"]), _nig_from(payload["prior"])
        spec = _spec_from(payload["design"])
    except KeyError as exc:
        raise StateFileError(f"corrupt state file: missing entry {exc}") from exc
    if len(spec.terms) != posterior.k or prior.k != posterior.k:
        raise StateFileError("corrupt state file: the design and the posterior disagree on k")
    return BayesResults(spec=spec, prior=prior, posterior=posterior, design=None)


def load_posterior(path: str | os.PathLike[str]) -> NIG:
    """The posterior NIG of a state file, whichever kind was saved."""
    obj = load(path)
    return obj if isinstance(obj, NIG) else obj.posterior
