"""A safe interpreter for arithmetic expressions typed on the command line.

``chainrule explain "sin(x*y) + x" --at x=1.0 y=2.0`` differentiates a
formula typed by a user. The text is parsed with :mod:`ast` and checked
against a whitelist before anything runs, then evaluated by walking the tree
here: no ``eval``, ``exec`` or ``compile`` of user text, ever.

Allowed: numbers (int and float literals, finite), the variables given with
``--at``, the constants ``pi`` and ``e``, the operators ``+ - * / **`` and
unary ``-``/``+``, parentheses, and calls of whitelisted NumPy functions by
their bare name with positional arguments. Everything else is refused with an
:class:`ExpressionError` whose message is one line: attribute access,
subscripts, other calls, keyword or starred arguments, strings, comparisons,
lambdas, comprehensions, names not given, and so on.

Resource bounds: the text is at most :data:`MAX_LENGTH` characters, the tree
at most :data:`MAX_NODES` nodes and :data:`MAX_DEPTH` levels deep; all numbers
are float64 (no unbounded Python integers), an exponent may not exceed
:data:`MAX_EXPONENT` in magnitude, and every intermediate value must be finite
(overflow, division by zero and values outside a function's domain are
refused, naming the operation).

Examples
--------
>>> evaluate("sin(x*y) + x", {"x": 1.0, "y": 2.0})
1.9092974268256817
>>> evaluate("x.__class__", {"x": 1.0})
Traceback (most recent call last):
...
chainrule.explain.expression.ExpressionError: attribute access (.__class__) is not allowed
"""

from __future__ import annotations

import ast
import inspect
import keyword
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import primal

__all__ = ["FUNCTIONS", "Expression", "ExpressionError", "compile_expression", "evaluate"]

MAX_LENGTH = 1000
MAX_NODES = 400
MAX_DEPTH = 40
MAX_EXPONENT = 1000.0


class ExpressionError(ValueError):
    """An expression the interpreter refuses (the message is one line)."""


# name -> (NumPy function, number of arguments)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    **{
        name: (getattr(np, name), 1)
        for name in (
            "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
            "arcsinh", "arccosh", "arctanh", "exp", "expm1", "exp2", "log", "log1p", "log2",
            "log10", "sqrt", "cbrt", "square", "abs", "absolute", "reciprocal",
        )
    },
    **{name: (getattr(np, name), 2) for name in ("arctan2", "hypot", "maximum", "minimum", "power")},
}  # fmt: skip
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_BINOPS: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", lambda a, b: a + b),
    ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b),
    ast.Div: ("/", lambda a, b: a / b),
    ast.Pow: ("**", lambda a, b: a**b),
}
_UNARY: dict[type, tuple[str, Callable[[Any], Any]]] = {
    ast.USub: ("-", lambda a: -a),
    ast.UAdd: ("+", lambda a: a),
}
_REFUSED_NAMES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "conditional expressions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.JoinedStr: "strings",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


def _one_line(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Expression:
    """A checked expression: call it with the variables' values, in ``variables`` order.

    It has a real signature (one parameter per variable), so explanations name
    their inputs after the variables.
    """

    def __init__(
        self, text: str, tree: ast.Expression, variables: Sequence[str], checks: bool = True
    ) -> None:
        self.text = text
        # Whether each step is checked to be finite (the checks read values as Python numbers).
        self.checks = checks
        self.tree = tree
        self.variables = tuple(variables)
        self.__signature__ = inspect.Signature(
            [inspect.Parameter(v, inspect.Parameter.POSITIONAL_OR_KEYWORD) for v in self.variables]
        )
        self.__name__ = self.__qualname__ = text

    def __call__(self, *values: Any) -> Any:
        if len(values) != len(self.variables):
            raise TypeError(f"the expression takes {len(self.variables)} values, got {len(values)}")
        env = dict(zip(self.variables, values))
        with np.errstate(all="ignore"):
            return _eval(self.tree.body, env, self.checks)

    def without_checks(self) -> Expression:
        """The same expression without the finiteness and exponent checks (for staging by ``jit``,
        at values where the checked expression already ran)."""
        return Expression(self.text, self.tree, self.variables, checks=False)

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, variables={self.variables!r})"


def _check_variable(name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise ExpressionError(f"invalid variable name {name!r} (use letters, digits and _; no leading _)")
    if name in FUNCTIONS or name in CONSTANTS:
        raise ExpressionError(f"{name!r} is a function or constant name and cannot be a variable")


def compile_expression(text: str, variables: Sequence[str]) -> Expression:
    """Parse and check ``text``; refuse anything outside the whitelist.

    Parameters
    ----------
    text
        The expression, e.g. ``"sin(x*y) + x"``.
    variables
        The names that may appear (the ``--at`` names), in argument order.

    Raises
    ------
    ExpressionError
        With a one-line reason, for anything not allowed.
    """
    if not isinstance(text, str):
        raise ExpressionError("the expression must be a string")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression too long ({len(text)} characters; the limit is {MAX_LENGTH})")
    for v in variables:
        _check_variable(v)
    if len(set(variables)) != len(variables):
        raise ExpressionError("a variable is given twice")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {_one_line(exc.msg or 'invalid syntax')}") from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(
            f"cannot parse the expression: {_one_line(str(exc)) or type(exc).__name__}"
        ) from None
    count = [0]
    _check(tree.body, set(variables), 1, count)
    return Expression(text, tree, variables)


def _check(node: ast.AST, names: set[str], depth: int, count: list[int]) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise ExpressionError(f"expression too large (more than {MAX_NODES} parts)")
    if depth > MAX_DEPTH:
        raise ExpressionError(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, int | float):  # an ast constant: no other subclasses
            kind = {str: "strings", bytes: "bytes", bool: "booleans", complex: "complex numbers"}.get(
                type(v), f"{type(v).__name__} literals"
            )
            raise ExpressionError(f"{kind} are not allowed; only real numbers")
        try:
            f = float(v)
        except OverflowError:
            raise ExpressionError("number literal too large") from None
        if not math.isfinite(f):
            raise ExpressionError(f"number literal {_one_line(repr(v), 30)} is not finite")
        return
    if isinstance(node, ast.Name):
        if node.id in names or node.id in CONSTANTS:
            return
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function; call it, as in {node.id}(x)")
        raise ExpressionError(
            f"unknown name {_one_line(node.id, 40)!r}; give its value with --at {node.id}=VALUE"
            if not node.id.startswith("_")
            else f"name {_one_line(node.id, 40)!r} is not allowed"
        )
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed; only + - * / **")
        _check(node.left, names, depth + 1, count)
        _check(node.right, names, depth + 1, count)
        return
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed; only unary - and +")
        _check(node.operand, names, depth + 1, count)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            what = "attribute access" if isinstance(node.func, ast.Attribute) else "this kind of call"
            raise ExpressionError(f"{what} is not allowed; call functions by name, e.g. sin(x)")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"function {_one_line(name, 40)!r} is not allowed; allowed: {allowed}")
        if node.keywords:
            raise ExpressionError(f"keyword arguments are not allowed (in the call of {name})")
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise ExpressionError(f"starred arguments are not allowed (in the call of {name})")
        arity = FUNCTIONS[name][1]
        if len(node.args) != arity:
            raise ExpressionError(f"{name} takes {arity} argument(s), got {len(node.args)}")
        for a in node.args:
            _check(a, names, depth + 1, count)
        return
    if isinstance(node, ast.Attribute):
        raise ExpressionError(f"attribute access (.{_one_line(node.attr, 30)}) is not allowed")
    what = _REFUSED_NAMES.get(type(node), type(node).__name__)
    raise ExpressionError(
        f"{what} not allowed; only numbers, variables, + - * / ** and whitelisted functions"
    )


def _finite(value: Any, what: str) -> Any:
    v = np.asarray(primal(value))
    if not np.all(np.isfinite(v)):
        raise ExpressionError(
            f"{what} is not a finite real number (overflow, division by zero or outside the domain)"
        )
    return value


def _describe(node: ast.AST) -> str:
    try:
        return _one_line(ast.unparse(node), 50)
    except Exception:  # pragma: no cover - unparse of a checked tree does not fail
        return type(node).__name__


def _eval(node: ast.AST, env: dict[str, Any], checks: bool = True) -> Any:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # the tree was checked: only real numbers
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        return np.float64(CONSTANTS[node.id])
    if isinstance(node, ast.BinOp):
        a = _eval(node.left, env, checks)
        b = _eval(node.right, env, checks)
        sym, op = _BINOPS[type(node.op)]
        if not checks:
            return op(a, b)
        if sym == "**":
            e = float(np.max(np.abs(primal(b))))
            if e > MAX_EXPONENT:
                raise ExpressionError(
                    f"exponent {e:.6g} in {_describe(node)} is too large (limit {MAX_EXPONENT:g})"
                )
        return _finite(op(a, b), _describe(node))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)][1](_eval(node.operand, env, checks))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)  # the tree was checked: calls of known names only
        fun = FUNCTIONS[node.func.id][0]
        args = [_eval(a, env, checks) for a in node.args]
        if not checks:
            return fun(*args)
        if fun is np.power:
            e = float(np.max(np.abs(primal(args[1]))))
            if e > MAX_EXPONENT:
                raise ExpressionError(
                    f"exponent {e:.6g} in {_describe(node)} is too large (limit {MAX_EXPONENT:g})"
                )
        return _finite(fun(*args), _describe(node))
    raise ExpressionError(f"{type(node).__name__} not allowed")  # pragma: no cover - checked before


def evaluate(text: str, values: dict[str, float]) -> float:
    """Check and evaluate ``text`` with the given variable values; returns a float."""
    expr = compile_expression(text, list(values))
    return float(expr(*[np.float64(v) for v in values.values()]))
