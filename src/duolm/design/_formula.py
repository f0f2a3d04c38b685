"""Parse a user's formula and check that it can only compute numbers.

Formulas are user input, and formulaic evaluates their Python factors with
``eval``. Before anything is evaluated, :func:`parse_formula` parses every
Python factor with :mod:`ast` and accepts only a whitelist: names of data
columns, the numeric functions below (bare or as ``np.<name>``), formulaic's
transforms, numbers, strings as arguments, lists of constants and arithmetic.
No attribute access other than ``np.<allowed>`` and ``contr.<allowed>``, no
subscripts, lambdas, comprehensions or names starting with ``_``.

As a second line of defence, :func:`evaluation_context` is what formulaic
looks names up in: every builtin and every formulaic transform that is not
whitelisted is shadowed there by a stub that refuses to run, and ``np`` is a
namespace holding only the whitelisted functions.
"""

from __future__ import annotations

import ast
import builtins
import math
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
from formulaic import Formula
from formulaic.formula import SimpleFormula
from formulaic.transforms import TRANSFORMS
from formulaic.utils.code import sanitize_variable_names

from duolm.errors import FormulaError

__all__ = ["ParsedFormula", "evaluation_context", "parse_formula"]

#: numpy functions a formula may call, as ``log(x)`` or ``np.log(x)``.
# fmt: off
NUMPY_FUNCTIONS = frozenset({
    "abs", "absolute", "fabs", "sign", "sqrt", "cbrt", "square", "power", "float_power",
    "reciprocal", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "logaddexp",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "hypot", "sinc",
    "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg",
    "degrees", "radians", "floor", "ceil", "trunc", "rint", "round", "clip",
    "maximum", "minimum", "fmax", "fmin", "mod", "fmod", "heaviside",
})
# fmt: on
NUMPY_CONSTANTS = frozenset({"pi", "e"})
#: formulaic's transforms (``formulaic.transforms.TRANSFORMS``) a formula may call.
# fmt: off
TRANSFORM_NAMES = frozenset({
    "C", "I", "Q", "center", "scale", "standardize", "poly", "bs", "cr", "cs", "cc", "lag",
    "Treatment", "Poly", "Sum", "Helmert", "Diff",
})
# fmt: on
#: contrasts a formula may name as ``contr.<name>``.
CONTRASTS = frozenset({"treatment", "sum", "helmert", "poly", "diff", "SAS", "custom"})
_FUNCTIONS = NUMPY_FUNCTIONS | TRANSFORM_NAMES
_BINARY_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_MAX_CONSTANT_EXPONENT = 1000


class _Forbidden:
    """Stands in for a builtin or transform that formulas may not use."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        raise FormulaError(f"'{self._name}' is not allowed in a formula")


def evaluation_context() -> dict[str, object]:
    """Return the names formulaic may resolve while evaluating a checked formula.

    Returns
    -------
    dict
        Whitelisted functions by name, ``np`` and ``contr`` as namespaces of
        whitelisted members, and a refusing stub for every other builtin and
        formulaic transform.
    """
    context: dict[str, object] = {name: _Forbidden(name) for name in dir(builtins)}
    context["__builtins__"] = _Forbidden("__builtins__")
    context.update({name: _Forbidden(name) for name in TRANSFORMS})
    context.update({name: getattr(np, name) for name in NUMPY_FUNCTIONS})
    context.update({name: TRANSFORMS[name] for name in TRANSFORM_NAMES})
    context["np"] = types.SimpleNamespace(
        **{name: getattr(np, name) for name in NUMPY_FUNCTIONS | NUMPY_CONSTANTS}
    )
    registry = TRANSFORMS["contr"]
    context["contr"] = types.SimpleNamespace(
        **{name: getattr(registry, name) for name in CONTRASTS}
    )
    return context


@dataclass(frozen=True)
class ParsedFormula:
    """A formula that passed the whitelist, with the columns it reads.

    Attributes
    ----------
    formula : formulaic.Formula
        The parsed formula (``lhs`` and ``rhs``); materialise this object, never
        the string again.
    response : str
        The left-hand side as formulaic names it (``"y"``, ``"np.log(y)"``).
    lhs_columns, rhs_columns : tuple of str
        Data columns read by each side, in order of first use.
    factor_columns : dict
        Factor expression -> data columns it reads (for error messages).
    categorical_only : frozenset of str
        Columns used only as the first argument of ``C()``: kept as they are.
    """

    formula: Any
    response: str
    lhs_columns: tuple[str, ...]
    rhs_columns: tuple[str, ...]
    factor_columns: dict[str, tuple[str, ...]]
    categorical_only: frozenset[str]

    @property
    def plain(self) -> bool:
        """Every term is a data column by name or the intercept, and so is the response
        (``"y ~ a + b"``, ``"y ~ a - 1"``): a design that depends on no value but the
        columns' own. Transforms, interactions, ``C()`` and literals are not plain."""
        rhs = all(
            _is_lookup(term) or [str(factor.expr) for factor in term.factors] == ["1"]
            for term in self.formula.rhs
        )
        return rhs and all(_is_lookup(term) for term in self.formula.lhs)


def _is_lookup(term: Any) -> bool:
    """A term that is one data column looked up by name."""
    return len(term.factors) == 1 and term.factors[0].eval_method.value == "lookup"


def parse_formula(formula: object, columns: Sequence[str]) -> ParsedFormula:
    """Parse ``formula`` against data with ``columns``, refusing unsafe code.

    Parameters
    ----------
    formula : str
        ``"response ~ terms"`` in formulaic's (Wilkinson) syntax.
    columns : sequence of str
        The data's column names.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    FormulaError
        Malformed formula, unknown name, or code outside the whitelist.
    """
    if not isinstance(formula, str):
        raise FormulaError(f"formula must be a string, got {type(formula).__name__}")
    _check_shape(formula)
    try:
        parsed = Formula(formula, _context={"__formulaic_variables_available__": list(columns)})
    except Exception as exc:  # formulaic raises several types, SyntaxError included
        message = re.sub(r"\x1b\[[0-9;]*m|[⧛⧚]", "", str(exc)).strip()
        raise FormulaError(f"cannot parse formula {formula!r}: {message}") from exc
    lhs: Any = getattr(parsed, "lhs", None)
    rhs: Any = getattr(parsed, "rhs", None)
    if not (isinstance(lhs, SimpleFormula) and isinstance(rhs, SimpleFormula)):
        raise FormulaError(
            f"formula {formula!r} has several parts ('|' or nested '~'); "
            "only 'response ~ terms' is supported"
        )
    if (
        len(lhs) != 1
        or len(lhs[0].factors) != 1
        or lhs[0].factors[0].eval_method.value == "literal"
    ):
        raise FormulaError(
            f"formula {formula!r} must have exactly one response (one variable or "
            f"expression) left of '~', found {[str(term) for term in lhs]}"
        )
    known = set(columns)
    factor_columns: dict[str, tuple[str, ...]] = {}
    plain: set[str] = set()
    in_c: set[str] = set()
    for side in (lhs, rhs):
        for term in side:
            for factor in term.factors:
                if factor.expr not in factor_columns:
                    factor_columns[factor.expr] = _check_factor(factor, known, plain, in_c)
    lhs_cols = _ordered(factor_columns[f.expr] for f in lhs[0].factors)
    rhs_cols = _ordered(factor_columns[f.expr] for term in rhs for f in term.factors)
    return ParsedFormula(
        formula=parsed,
        response=str(lhs[0]),
        lhs_columns=lhs_cols,
        rhs_columns=rhs_cols,
        factor_columns=factor_columns,
        categorical_only=frozenset(in_c - plain),
    )


def _ordered(groups: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for group in groups for name in group))


def _check_shape(formula: str) -> None:
    """Check for a single '~' with both sides non-empty and balanced parentheses."""
    outside = re.sub(r"`[^`]*`|'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"", "_", formula)
    if "~" not in outside:
        raise FormulaError(
            f"formula {formula!r} has no '~'; write it as 'response ~ terms', e.g. 'y ~ x'"
        )
    left, _, right = outside.partition("~")
    if not left.strip():
        raise FormulaError(f"formula {formula!r} has no response left of '~'")
    if not right.strip():
        raise FormulaError(f"formula {formula!r} has no terms right of '~'")
    depth = 0
    for char in outside:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise FormulaError(f"unbalanced parentheses in formula {formula!r}: extra ')'")
    if depth:
        raise FormulaError(f"unbalanced parentheses in formula {formula!r}: {depth} '(' not closed")
    _check_powers(formula, outside)


#: Most terms a formula-level power of a sum may expand to (all interactions up to order k
#: of t terms: sum of C(t, i) for i <= k); formulaic expands it by repeated products.
_MAX_POWER_TERMS = 512


def _check_powers(formula: str, outside: str) -> None:
    """Refuse ``(a + b + ...) ** k`` beyond what it can mean, before formulaic expands it.

    A formula-level power of a sum is every interaction of its terms up to order ``k``: a
    ``k`` above the number of factors adds nothing, and formulaic multiplies the sum out
    ``k`` times first (``(a+b+c+d)**12``: 15 terms, minutes of CPU). The factors of a
    group are counted generously (every name in it), so no meaningful power is refused.
    Powers inside a function call (``I((x + 1)**2)``) are arithmetic, not expanded.
    """
    calls: list[bool] = []  # for each open '(': does it start a call (a name before it)?
    starts: list[int] = []
    for at, char in enumerate(outside):
        if char == "(":
            before = outside[:at].rstrip()
            calls.append(bool(before) and (before[-1].isalnum() or before[-1] in "_.`"))
            starts.append(at)
        elif char == ")":
            call, start = calls.pop(), starts.pop()
            if call or any(calls):
                continue
            power = re.match(r"\s*(?:\*\*|\^)\s*(\d+)", outside[at + 1 :])
            if power is None:
                continue
            k = int(power.group(1))
            names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9.]*|`[^`]*`", outside[start + 1 : at]))
            t = max(len(names), 1)
            group = formula[start : at + 1 + power.end()]
            if k > t:
                raise FormulaError(
                    f"{group!r} in formula {formula!r}: a power above the number of terms "
                    f"in the sum ({t}) adds no interactions; use at most **{t}"
                )
            terms = sum(math.comb(t, i) for i in range(1, k + 1))
            if terms > _MAX_POWER_TERMS:
                raise FormulaError(
                    f"{group!r} in formula {formula!r} expands to {terms} terms (more than "
                    f"{_MAX_POWER_TERMS}); lower the power or list the interactions wanted"
                )


def _unknown(name: str, known: set[str]) -> FormulaError:
    if name.startswith("_") or name in dir(builtins):
        return FormulaError(f"'{name}' is not allowed in a formula")
    listed = ", ".join(sorted(known)) or "(none)"
    return FormulaError(f"unknown name '{name}' in formula; columns are: {listed}")


def _check_factor(factor: Any, known: set[str], plain: set[str], in_c: set[str]) -> tuple[str, ...]:
    """Check one formulaic factor; return the data columns it reads."""
    method = factor.eval_method.value
    if method == "literal":  # formulaic reads it with ast.literal_eval
        return ()
    if method == "lookup":
        if factor.expr not in known:
            raise _unknown(factor.expr, known)
        plain.add(factor.expr)
        return (factor.expr,)
    aliases: dict[str, str] = {}
    code = sanitize_variable_names(factor.expr, {}, aliases)
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"invalid Python in formula term {factor.expr!r}: {exc.msg}") from exc
    checker = _Checker(known, aliases)
    checker.visit(tree.body)
    plain.update(checker.plain)
    in_c.update(checker.in_c)
    return tuple(dict.fromkeys(checker.used))


class _Checker:
    """Walk a factor's AST, accepting only whitelisted nodes."""

    def __init__(self, known: set[str], aliases: dict[str, str]) -> None:
        self.known = known
        self.aliases = aliases
        self.used: list[str] = []
        self.plain: set[str] = set()
        self.in_c: set[str] = set()

    def refuse(self, node: ast.AST, why: str = "is not allowed in a formula") -> NoReturn:
        text = ast.unparse(node)
        text = text if len(text) <= 60 else text[:57] + "..."
        raise FormulaError(f"'{text}' {why} ({type(node).__name__})")

    def column(self, node: ast.Name) -> str | None:
        name = self.aliases.get(node.id, node.id)
        return name if name in self.known else None

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            name = self.column(node)
            if name is None:
                if node.id in _FUNCTIONS or node.id in {"np", "contr"}:
                    self.refuse(node, "can only be called, as in log(x) or np.log(x)")
                raise _unknown(self.aliases.get(node.id, node.id), self.known)
            self.used.append(name)
            self.plain.add(name)
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float | str) and node.value is not None:
                self.refuse(node)
        elif isinstance(node, ast.Attribute):
            self.attribute(node)
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _BINARY_OPS):
            for side in (node.left, node.right):
                if isinstance(side, ast.List | ast.Tuple) or (
                    isinstance(side, ast.Constant) and isinstance(side.value, str)
                ):
                    self.refuse(node, "is not arithmetic on numbers")
            if isinstance(node.op, ast.Pow):
                self.power(node)
            self.visit(node.left)
            self.visit(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            self.visit(node.operand)
        elif isinstance(node, ast.List | ast.Tuple):
            for element in node.elts:
                inner = element.operand if isinstance(element, ast.UnaryOp) else element
                if not isinstance(inner, ast.Constant):
                    self.refuse(element, "is not a constant (lists may hold only constants)")
                self.visit(element)
        else:
            self.refuse(node)

    def attribute(self, node: ast.Attribute) -> None:
        base = node.value
        allowed = {"np": NUMPY_FUNCTIONS | NUMPY_CONSTANTS, "contr": CONTRASTS}
        if not isinstance(base, ast.Name) or base.id not in allowed:
            self.refuse(node, "is not allowed: only np.<function> and contr.<contrast>")
        if self.column(base) is not None:
            self.refuse(node, f"is ambiguous: '{base.id}' is also a data column")
        if node.attr.startswith("_") or node.attr not in allowed[base.id]:
            self.refuse(node, "is not an allowed function")

    def call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            self.attribute(func)
        elif isinstance(func, ast.Name):
            if self.column(func) is not None:
                self.refuse(func, "is a data column, not a function; rename the column")
            if func.id not in _FUNCTIONS:
                if func.id.startswith("_") or func.id in dir(builtins):
                    self.refuse(func)
                self.refuse(func, "is not a known function")
        else:
            self.refuse(node, "calls something that is not a named function")
        for keyword in node.keywords:
            if keyword.arg is None or keyword.arg.startswith("_"):
                self.refuse(node, "passes a keyword argument that is not allowed")
            self.visit(keyword.value)
        if isinstance(func, ast.Name) and func.id == "Q":
            self.quoted(node)
            return
        for position, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                self.refuse(arg)
            if isinstance(func, ast.Name) and func.id == "C" and position == 0:
                if isinstance(arg, ast.Name) and (name := self.column(arg)) is not None:
                    self.used.append(name)
                    self.in_c.add(name)
                    continue
                self.visit(arg)
            else:
                self.visit(arg)

    def quoted(self, node: ast.Call) -> None:
        """``Q("name")`` looks a column up by a string: the string must be a column."""
        args = node.args
        if len(args) != 1 or node.keywords or not isinstance(args[0], ast.Constant):
            self.refuse(node, "must name one column, as in Q('my col')")
        name = args[0].value
        if not isinstance(name, str) or name not in self.known:
            raise _unknown(str(name), self.known)
        self.used.append(name)
        self.plain.add(name)

    def power(self, node: ast.BinOp) -> None:
        """Refuse constant powers that Python would compute as huge integers."""

        def constant(part: ast.AST) -> bool:
            if isinstance(part, ast.UnaryOp):
                return constant(part.operand)
            if isinstance(part, ast.BinOp):
                return constant(part.left) and constant(part.right)
            return isinstance(part, ast.Constant)

        def number(part: ast.AST) -> ast.AST:
            return part.operand if isinstance(part, ast.UnaryOp) else part

        if constant(node.left) and constant(node.right):
            exponent = number(node.right)
            if not (
                isinstance(number(node.left), ast.Constant)
                and isinstance(exponent, ast.Constant)
                and isinstance(exponent.value, int | float)
                and abs(exponent.value) <= _MAX_CONSTANT_EXPONENT
            ):
                self.refuse(node, "is a constant power too large to compute")


# -- sizes a formula asks for (issue 14: resource bombs) -------------------------------------

#: Arguments of formulaic's transforms that set how many columns they make, with their
#: defaults, in positional order after the data: ``bs(x, df=10**8)`` would build a
#: hundred-million-column basis before any other check could see it.
_SIZES: dict[str, tuple[tuple[str, int | None], ...]] = {
    "bs": (("df", None), ("knots", None), ("degree", 3)),
    "cr": (("df", None), ("knots", None)),
    "cs": (("df", None), ("knots", None)),
    "cc": (("df", None), ("knots", None)),
    "poly": (("degree", 1),),
    "lag": (("k", 1),),
}


def _constant(node: ast.AST) -> Any:
    """The value of a constant expression the whitelist accepted (None if not constant)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _constant(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
        return None
    if isinstance(node, ast.List | ast.Tuple):
        return [_constant(e) for e in node.elts]
    if isinstance(node, ast.BinOp) and isinstance(node.op, _BINARY_OPS):
        left, right = _constant(node.left), _constant(node.right)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right)):
            return None
        import operator

        apply = {
            ast.Add: operator.add,
            ast.Sub: operator.sub,
            ast.Mult: operator.mul,
            ast.Div: operator.truediv,
            ast.FloorDiv: operator.floordiv,
            ast.Mod: operator.mod,
            ast.Pow: operator.pow,  # bounded by the whitelist (_MAX_CONSTANT_EXPONENT)
        }[type(node.op)]
        try:
            return apply(left, right)
        except (ArithmeticError, ValueError):
            return None
    return None


def _transform_sizes(expr: str) -> list[tuple[str, str, int]]:
    """``(call, argument, columns)`` for each sized transform in a factor's code."""
    aliases: dict[str, str] = {}
    try:
        tree = ast.parse(sanitize_variable_names(expr, {}, aliases), mode="eval")
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        sizes = _SIZES.get(node.func.id)
        if sizes is None:
            continue
        given = {
            name: node.args[i + 1] for i, (name, _) in enumerate(sizes) if i + 1 < len(node.args)
        }
        given.update({kw.arg: kw.value for kw in node.keywords if kw.arg is not None})
        values = {
            name: _constant(given[name]) if name in given else default for name, default in sizes
        }
        text = ast.unparse(node)
        text = text if len(text) <= 60 else text[:57] + "..."
        for name, value in values.items():
            if name == "knots":
                count = len(value) if isinstance(value, list) else 0
                out.append((text, name, count))
            elif isinstance(value, float) and value.is_integer():
                out.append((text, name, int(value)))
            elif isinstance(value, int) and not isinstance(value, bool):
                out.append((text, name, value))
    return out


#: Most cells (rows x columns) of a design built in memory: 2 GiB of float64.
MAX_DESIGN_CELLS = 2**28


def check_sizes(parsed: ParsedFormula, rows: int, levels: Any, narrow: bool = False) -> None:
    """Refuse a formula asking for more columns (or a longer lag) than the data have rows.

    Checked before formulaic builds anything: each size argument of a transform
    (``df``, ``degree``, the number of ``knots``, ``lag``'s ``k``) must be at most
    ``rows``; and the columns the right-hand side would make, counted term by
    term (a categorical factor as its number of levels, a spline as its ``df``,
    an interaction as the product), times ``rows`` must stay within
    :data:`MAX_DESIGN_CELLS` (2 GiB of doubles). (A design as wide as its rows
    is built, for the Bayesian reading; least squares refuses it after.)

    Parameters
    ----------
    parsed : ParsedFormula
    rows : int
        Rows of the data the design is built from.
    levels : callable
        ``levels(column, categorical) -> int``: the number of distinct values of
        a column used as a categorical (as a term, or inside ``C()`` when
        ``categorical``); 1 for a numeric column used as a number.
    narrow : bool
        Least squares: refuse as well a design with as many columns as rows.

    Raises
    ------
    DataError
        A transform's size argument exceeds ``rows``, or the design would exceed
        :data:`MAX_DESIGN_CELLS` (the widest term named).
    """
    from duolm.errors import DataError

    # Each term's columns are counted from below (a categorical factor as its levels
    # less one, as reduced-rank coding makes them; a transform's size less one), so
    # that a design this refuses is always at least this wide.
    total = 0
    worst: tuple[int, str] = (0, "")
    for term in parsed.formula.rhs:
        size = 1
        for factor in term.factors:
            method = factor.eval_method.value
            if method == "literal":
                continue
            if method == "lookup":
                size *= max(1, int(levels(factor.expr, False)) - 1)
                continue
            sizes = _transform_sizes(factor.expr)
            for call, name, value in sizes:
                if value > rows and name == "k":
                    raise DataError(
                        f"{call} shifts by k={value}, more than the {rows} rows of the data"
                    )
                if value > rows:
                    raise DataError(
                        f"too few rows: {rows} observation(s) for {value} coefficient(s): "
                        f"{call} asks for {name}={value}; a term may not ask for more "
                        "columns than the data have rows"
                    )
            columns = [v for _, name, v in sizes if name in ("df", "degree")]
            read = parsed.factor_columns.get(factor.expr, ())
            if factor.expr.startswith("C(") and len(read) == 1:  # C(g): one column a level
                size *= max(1, int(levels(read[0], True)) - 1)
            elif columns:
                size *= max(1, max(columns) - 1)
        total += size
        worst = max(worst, (size, str(term)))
        if narrow and total >= rows and worst[0] > 1:  # (one-column terms: ols counts them)
            raise DataError(
                f"too few rows: {rows} observation(s) for at least {total} coefficient(s) "
                f"(term {worst[1]!r} alone makes about {worst[0]}); least squares needs more "
                "rows than coefficients (too many categorical levels, or too large a df?)"
            )
        if rows * total > MAX_DESIGN_CELLS:
            raise DataError(
                f"the formula asks for at least {total} columns (term {worst[1]!r} alone makes "
                f"about {worst[0]}) on {rows} rows: a design of {rows * total * 8 / 2**30:.3g} "
                f"GiB, over the {MAX_DESIGN_CELLS * 8 // 2**30} GiB duolm builds in memory "
                "(too many categorical levels? merge the rare ones, or fit fewer terms)"
            )
