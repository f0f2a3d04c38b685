"""The ``--prior`` option of the command line: its grammar and the priors it builds.

:func:`parse_prior` reads a specification into a factory ``(k, X) -> NIG``
(the model's number of coefficients k is known only once its design is
built); :func:`build_prior` builds the prior for a formula on a data frame.
Items are separated by ``;`` (so quote them in the shell), a name from its
value by ``=`` or ``:``, numbers by ``,``:

==========================================  =================================================
``vague``                                   ``NIG.vague(k)``: m = 0, V = 1000² I, a = b = 0.001
``vague;scale=100;a=1;b=1``                 the same with other settings
``reference``                               ``p(beta, sigma²) ∝ 1/sigma²`` (credible intervals
                                            equal the confidence intervals)
``zellner`` or ``zellner;g=100``            Zellner's g-prior (default g = n)
``xi=10000,0.1,0.1;nu=5``                   the lecture's prior: diag(xi) (k + 1 values, order
                                            [y, x]) or all (k + 1)² entries, and nu
``m=0;V=10;a=2.5;b=5000``                   NIG(m, V, a, b); m: 1 or k values, V: 1 (times I),
                                            k (diagonal) or k² values
a path                                      a state file written by ``--save-state`` (its
                                            posterior becomes the prior) or a JSON object
                                            ``{"xi": ..., "nu": ...}`` or
                                            ``{"m": ..., "V": ..., "a": ..., "b": ...}``
==========================================  =================================================

A specification that does not parse raises :class:`duolm.errors.PriorError`,
which the command line prints as one line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm._files import loads
from duolm.bayesian import NIG
from duolm.design import make_design
from duolm.errors import PriorError

__all__ = ["PRIOR_HELP", "PriorFactory", "build_prior", "parse_prior"]

FloatArray = NDArray[np.float64]

#: ``(k, X) -> NIG``: a prior for a design with k columns (X only for Zellner's prior).
PriorFactory = Callable[[int, FloatArray], NIG]

#: The help text of ``--prior``.
PRIOR_HELP = (
    "Prior of the Bayesian fit (quote it): vague[;scale=S;a=A;b=B], reference, "
    "zellner[;g=G], xi=X0,X1,..;nu=N (the lecture's, e.g. 'xi=10000,0.1,0.1;nu=5'), "
    "m=..;V=..;a=A;b=B, or a state/JSON file. Default: vague."
)


def _numbers(name: str, text: str) -> FloatArray:
    try:
        values = np.array([float(v) for v in text.split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        raise PriorError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if values.size == 0:
        raise PriorError(f"{name} has no values")
    return values


def _scalar(name: str, values: FloatArray) -> float:
    if values.size != 1:
        raise PriorError(f"{name} takes one number, got {values.size}")
    return float(values[0])


def _vector(name: str, values: FloatArray, k: int) -> FloatArray:
    if values.size == 1:
        return np.full(k, float(values[0]))
    if values.size != k:
        raise PriorError(f"{name} has {values.size} values; the model has k = {k} coefficients")
    return values


def _matrix(name: str, values: FloatArray, k: int) -> FloatArray:
    """1 value (times I), k values (diagonal) or k² values (row by row)."""
    if values.size == 1:
        return float(values[0]) * np.eye(k)
    if values.size == k:
        return np.diag(values)
    if values.size == k * k:
        return values.reshape(k, k)
    raise PriorError(f"{name} has {values.size} values; give 1, {k} (diagonal) or {k * k}")


def _xi_prior(xi: FloatArray, nu: float, k: int) -> NIG:
    size = k + 1
    if xi.ndim == 1 and xi.size == size:
        M = np.diag(xi)
    elif xi.size == size * size:
        M = xi.reshape(size, size)
    else:
        raise PriorError(
            f"xi has {xi.size} values; the model has k = {k} coefficients, so xi is "
            f"{size} x {size} (order [y, x]): give its {size} diagonal entries or all "
            f"{size * size}"
        )
    return NIG.from_xi(M, nu)


def _keyword_prior(keyword: str, items: dict[str, FloatArray]) -> PriorFactory:
    allowed = {"vague": {"scale", "a", "b"}, "reference": set(), "zellner": {"g", "a", "b", "m"}}
    extra = sorted(set(items) - allowed[keyword])
    if extra:
        raise PriorError(
            f"{keyword} takes {', '.join(sorted(allowed[keyword])) or 'no settings'}, "
            f"not {', '.join(extra)}"
        )
    s = {name: _scalar(name, v) for name, v in items.items() if name != "m"}
    if keyword == "vague":
        return lambda k, X: NIG.vague(k, **s)
    if keyword == "reference":
        return lambda k, X: NIG.reference(k)

    def zellner(k: int, X: FloatArray) -> NIG:
        m = _vector("m", items["m"], k) if "m" in items else None
        g = s.get("g", float(len(X)))
        return NIG.zellner(X, g, m=m, **{n: v for n, v in s.items() if n in ("a", "b")})

    return zellner


def _items_prior(items: dict[str, FloatArray]) -> PriorFactory:
    names = set(items)
    if names == {"xi", "nu"}:
        xi, nu = items["xi"], _scalar("nu", items["nu"])
        return lambda k, X: _xi_prior(xi, nu, k)
    if names == {"m", "V", "a", "b"}:
        a, b = _scalar("a", items["a"]), _scalar("b", items["b"])
        return lambda k, X: NIG(_vector("m", items["m"], k), _matrix("V", items["V"], k), a=a, b=b)
    raise PriorError(
        f"a prior is given by xi and nu, or by m, V, a and b; got {', '.join(sorted(names))}"
    )


def _file_prior(path: Path) -> PriorFactory:
    from duolm import state
    from duolm.errors import StateFileError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriorError(f"cannot read the prior file {str(path)!r}: {exc}") from None
    try:  # a depth limit before parsing (issue 14: JSON bombs)
        document = loads(raw, "it", "a JSON prior or state file")
    except StateFileError as exc:
        raise StateFileError(f"cannot read the prior file {str(path)!r}: {exc}") from None
    if isinstance(document, dict) and "format" in document:
        posterior = state.load_posterior(path)
        return lambda k, X: posterior
    if not isinstance(document, dict):
        raise PriorError(f"the prior file {str(path)!r} must hold a JSON object")

    def numbers(name: str, value: object) -> FloatArray:
        try:
            return np.array(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise PriorError(f"{name} in {str(path)!r} must be numbers") from None

    return _items_prior({str(n): numbers(str(n), v) for n, v in document.items()})


def parse_prior(spec: str) -> PriorFactory:
    """Read a ``--prior`` specification; the prior is built once the model's k is known.

    Parameters
    ----------
    spec : str
        ``vague``, ``vague;scale=S;a=A;b=B``, ``reference``, ``zellner``,
        ``zellner;g=G``, ``xi=...;nu=N``, ``m=...;V=...;a=A;b=B`` (items
        separated by ``;``, ``name=value`` or ``name:value``, values by ``,``),
        or the path of a state file or of a JSON object with those names.

    Returns
    -------
    callable
        ``factory(k, X) -> NIG`` for a design ``X`` with ``k`` columns.

    Raises
    ------
    PriorError
        The specification does not parse.

    Examples
    --------
    >>> factory = parse_prior("xi:10000,0.1,0.1;nu:5")  # the lecture's prior
    >>> prior = factory(2, np.ones((3, 2)))
    >>> prior.a, prior.b
    (2.5, 5000.0)
    >>> factory = parse_prior("m=0;V=10;a=2.5;b=5000")
    >>> factory(2, np.ones((3, 2))).V.round(12).tolist()
    [[10.0, 0.0], [0.0, 10.0]]
    """
    text = spec.strip()
    if not text:
        raise PriorError("the prior is empty")
    path = Path(text)
    if path.is_file():
        return _file_prior(path)
    parts = [p.strip() for p in text.split(";") if p.strip()]
    keyword = None
    if parts and parts[0].lower() in ("vague", "reference", "zellner"):
        keyword = parts.pop(0).lower()
    items: dict[str, FloatArray] = {}
    for part in parts:
        sep = min((i for i in (part.find("="), part.find(":")) if i > 0), default=-1)
        if sep < 0:
            raise PriorError(
                f"cannot read {part!r} in prior {spec!r}: expected name=value, one of the "
                "keywords vague, reference, zellner, or an existing file"
            )
        name, value = part[:sep].strip(), part[sep + 1 :]
        if name in items:
            raise PriorError(f"{name} is given twice in prior {spec!r}")
        items[name] = _numbers(name, value)
    if keyword is not None:
        return _keyword_prior(keyword, items)
    return _items_prior(items)


def build_prior(spec: str | None, formula: str, data: pd.DataFrame) -> NIG | None:
    """The prior for ``formula`` on ``data`` (None: the library's default)."""
    if spec is None:
        return None
    factory = parse_prior(spec)
    design = make_design(formula, data, None, None, "drop")
    return factory(design.X.shape[1], design.X)
