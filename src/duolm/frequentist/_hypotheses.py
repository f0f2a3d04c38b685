"""Linear hypotheses ``L beta = r`` given as a matrix or as text like ``"x = 0, a - b = 1"``."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from duolm.errors import FormulaError

FloatArray = NDArray[np.float64]


def parse_hypothesis(hypothesis: object, names: Sequence[str]) -> tuple[FloatArray, FloatArray]:
    """Return ``(L, r)`` for a hypothesis about the coefficients ``names``.

    Parameters
    ----------
    hypothesis : str, sequence of str, array_like of shape (q, k), or tuple (L, r)
        Text: comma-separated linear equations in the coefficient names, e.g.
        ``"time = 0"`` or ``"x1 + 2*x2 = 1, x3 = x4"``; a bare expression means
        ``= 0``; a list of such strings means all of them. A matrix alone means
        ``L beta = 0``. The equations must be linearly independent.
    names : sequence of str
        Coefficient names, in order.

    Examples
    --------
    >>> L, r = parse_hypothesis("b - 2*a = 1, a", ["a", "b"])
    >>> L.tolist(), r.tolist()
    ([[-2.0, 1.0], [1.0, 0.0]], [1.0, 0.0])
    """
    k = len(names)
    if isinstance(hypothesis, list | tuple) and all(isinstance(h, str) for h in hypothesis):
        hypothesis = ", ".join(hypothesis) if hypothesis else []
    if isinstance(hypothesis, str):
        return _independent(*_parse_text(hypothesis, list(names)))
    if isinstance(hypothesis, tuple) and len(hypothesis) == 2:
        L = np.atleast_2d(np.asarray(hypothesis[0], dtype=np.float64))
        r = np.atleast_1d(np.asarray(hypothesis[1], dtype=np.float64))
    else:
        L = np.atleast_2d(np.asarray(hypothesis, dtype=np.float64))
        r = np.zeros(L.shape[0])
    if L.ndim != 2 or L.shape[1] != k:
        raise ValueError(
            f"hypothesis matrix must have {k} columns (one per coefficient), got {L.shape}"
        )
    if r.shape != (L.shape[0],):
        raise ValueError(f"right-hand side must have {L.shape[0]} entries, got {r.shape}")
    if not (np.all(np.isfinite(L)) and np.all(np.isfinite(r))):
        raise ValueError("hypothesis contains NaN or inf")
    if L.shape[0] == 0:
        raise ValueError("hypothesis has no equations")
    empty = np.flatnonzero(~L.any(axis=1))
    if len(empty):
        raise ValueError(f"hypothesis row {empty[0]} involves no coefficient (all zeros)")
    return _independent(L, r)


def _independent(L: FloatArray, r: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Refuse equations that repeat or combine others: their joint test is undefined."""
    if not np.all(np.isfinite(r)):
        raise ValueError(f"hypothesis right-hand side {r.tolist()} is not finite")
    if np.linalg.matrix_rank(L) < L.shape[0]:
        raise ValueError(
            f"hypothesis equations are linearly dependent ({L.shape[0]} equations of rank "
            f"{np.linalg.matrix_rank(L)}); drop the redundant ones"
        )
    return L, r


#: Most signs and parentheses in a row a hypothesis may nest (Python's parser recurses
#: once per level: 50,000 unary minus signs exhaust its memory).
MAX_NESTING = 100


def _check_nesting(text: str) -> None:
    run = deepest = 0
    for char in text:
        if char in "+-(":
            run += 1
            deepest = max(deepest, run)
        elif not char.isspace():
            run = 0
    if deepest > MAX_NESTING:
        raise FormulaError(
            f"hypothesis nests {deepest} signs or parentheses in a row; at most {MAX_NESTING}"
        )


def _parse_text(text: str, names: list[str]) -> tuple[FloatArray, FloatArray]:
    _check_nesting(text)
    # Replace each coefficient name (longest first, as they may contain each other
    # and characters like "I(x ** 2)") by a placeholder identifier, then parse.
    placeholders: dict[str, int] = {}
    order = sorted(range(len(names)), key=lambda i: -len(names[i]))
    work = text
    for i in order:
        token = f"__b{i}__"
        pattern = r"(?<![\w.])" + re.escape(names[i]) + r"(?![\w.(\[])"
        work, count = re.subn(pattern, token, work)
        if count:
            placeholders[token] = i

    def user_text(s: str) -> str:  # undo the placeholders for error messages
        for token, i in placeholders.items():
            s = s.replace(token, names[i])
        return s.strip()

    rows, rhs = [], []
    for part in work.split(","):
        if not part.strip():
            raise FormulaError(f"empty equation in hypothesis {text!r}")
        sides = part.split("=")
        if len(sides) > 2:
            raise FormulaError(f"more than one '=' in {user_text(part)!r}")
        left = _linear(sides[0], placeholders, names, text)
        right = (
            _linear(sides[1], placeholders, names, text)
            if len(sides) == 2
            else (np.zeros(len(names)), 0.0)
        )
        with np.errstate(over="ignore", invalid="ignore"):
            coef = left[0] - right[0]
            const = right[1] - left[1]
        if not (np.all(np.isfinite(coef)) and np.isfinite(const)):
            raise FormulaError(
                f"equation {user_text(part)!r} overflows: its coefficients or constant are "
                "not finite doubles (rescale the equation)"
            )
        if not np.any(coef):
            raise FormulaError(f"equation {user_text(part)!r} involves no coefficient")
        rows.append(coef)
        rhs.append(const)
    return np.array(rows), np.array(rhs)


def _linear(
    src: str, placeholders: dict[str, int], names: list[str], text: str
) -> tuple[FloatArray, float]:
    try:
        tree = ast.parse(src.strip(), mode="eval").body
    except SyntaxError as exc:
        raise FormulaError(f"cannot parse hypothesis {text!r}: {exc.msg}") from None
    except (MemoryError, RecursionError):
        raise FormulaError(f"hypothesis {text[:60]!r}... nests too deeply to parse") from None
    coef = np.zeros(len(names))
    const = 0.0

    def visit(node: ast.expr, sign: float) -> None:
        nonlocal const
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            visit(node.left, sign)
            visit(node.right, sign if isinstance(node.op, ast.Add) else -sign)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            visit(node.operand, -sign if isinstance(node.op, ast.USub) else sign)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            num, term = (node.left, node.right)
            if not _is_number(num):
                num, term = term, num
            if not _is_number(num):
                raise FormulaError(f"hypothesis {text!r} is not linear in the coefficients")
            visit(term, sign * _number(num, text, src))
        elif _is_number(node):
            const += sign * _number(node, text, src)
        elif isinstance(node, ast.Name) and node.id in placeholders:
            coef[placeholders[node.id]] += sign
        elif isinstance(node, ast.Name):
            raise FormulaError(f"unknown coefficient {node.id!r} in hypothesis; names are {names}")
        else:
            raise FormulaError(f"hypothesis {text!r} is not linear in the coefficients")

    visit(tree, 1.0)
    return coef, const


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _is_number(node.operand)
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float)


def _number(node: ast.expr, text: str, src: str) -> float:
    """A literal as a finite double; a literal beyond the doubles' range is refused."""
    if isinstance(node, ast.UnaryOp):
        return -_number(node.operand, text, src)
    assert isinstance(node, ast.Constant) and isinstance(node.value, int | float)
    value = node.value
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        literal = ast.get_source_segment(src.strip(), node) or str(value)
        if len(literal) > 20:
            literal = f"{literal[:12]}... ({len(literal)} characters)"
        raise FormulaError(
            f"the number {literal} in hypothesis {text[:80]!r} is not finite as a double "
            "(beyond about 1.8e308)"
        )
    return x


def equations(hypothesis: object, names: Sequence[str]) -> list[str] | None:
    """The equations of a hypothesis given as text, one label per row of ``L``.

    ``"time = 0, x - z"`` gives ``["time = 0", "x - z"]`` (white space folded);
    commas inside coefficient names such as ``bs(x, df=4)[1]`` do not split.
    None for a hypothesis given as a matrix (it has no text).

    Examples
    --------
    >>> equations("b - 2*a = 1,  a", ["a", "b"])
    ['b - 2*a = 1', 'a']
    >>> equations(["bs(x, 3)[1] = 0"], ["bs(x, 3)[1]"])
    ['bs(x, 3)[1] = 0']
    """
    if (
        isinstance(hypothesis, list | tuple)
        and hypothesis
        and all(isinstance(h, str) for h in hypothesis)
    ):
        hypothesis = ", ".join(hypothesis)
    if not isinstance(hypothesis, str):
        return None
    work = hypothesis
    tokens: dict[str, str] = {}
    for i in sorted(range(len(names)), key=lambda i: -len(names[i])):  # as _parse_text
        token = f"__b{i}__"
        pattern = r"(?<![\w.])" + re.escape(names[i]) + r"(?![\w.(\[])"
        work, count = re.subn(pattern, token, work)
        if count:
            tokens[token] = names[i]
    out = []
    for part in work.split(","):
        for token, name in tokens.items():
            part = part.replace(token, name)
        out.append(" ".join(part.split()))
    return out


def written(coefs: FloatArray, rhs: float, names: Sequence[str]) -> str:
    """One row of ``L beta = r`` as an equation in the coefficient names.

    Examples
    --------
    >>> written(np.array([1.0, -0.5, 0.0]), 2.0, ["a", "b", "c"])
    'a - 0.5*b = 2'
    """
    text = ""
    for c, name in zip(coefs, names, strict=True):
        if c == 0:
            continue
        size = "" if abs(c) == 1 else f"{abs(c):g}*"
        sign = ("-" if c < 0 else "") if not text else (" - " if c < 0 else " + ")
        text += f"{sign}{size}{name}"
    return f"{text or '0'} = {rhs:g}"
