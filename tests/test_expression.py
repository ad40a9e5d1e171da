"""The expression interpreter of ``chainrule explain``: hostile inputs refused, valid ones right."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule.explain.commands import explain_command
from chainrule.explain.expression import (
    MAX_LENGTH,
    ExpressionError,
    compile_expression,
    evaluate,
)

VARS = {"x": 1.5, "y": -0.5}

HOSTILE = [
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os').system('ls')",
    "__import__",
    "__builtins__",
    "x.__class__",
    "x.__class__.__mro__",
    "x.real",
    "sin.__globals__",
    "np.sin(x)",
    "numpy.sin(x)",
    "open('f')",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "eval('1')",
    "exec('1')",
    "compile('1', 'f', 'eval')",
    "getattr(x, 'real')",
    "type(x)",
    "lambda: 0",
    "(lambda q: q)(x)",
    "[x for x in (1, 2)]",
    "{x for x in (1, 2)}",
    "{x: 1 for x in (1, 2)}",
    "sum(x for x in (1, 2))",
    "[1, 2][0]",
    "x[0]",
    "'abc'",
    "b'abc'",
    "f'{x}'",
    "True",
    "None",
    "1j",
    "x if y else 1",
    "x < y",
    "x and y",
    "x or y",
    "not x",
    "~x",
    "x // 2",
    "x % 2",
    "x @ y",
    "x << 2",
    "x ^ y",
    "(z := 1)",
    "z + 1",
    "sin(*[x])",
    "sin(x=1)",
    "hypot(x, **{'y': 1})",
    "sin(x, y)",
    "hypot(x)",
    "sin",
    "exp(1e308)",
    "exp(x * 1000)",
    "9**9**9",
    "9.0**9**9",
    "x ** 100000",
    "power(2, 5000)",
    "10.0 ** 308 * 10",
    "1e400",
    "1" + "0" * 400,
    "1 / 0",
    "x / (y + 0.5)",
    "log(0)",
    "log(-1)",
    "sqrt(-1)",
    "arcsin(2)",
    "x +",
    "import os",
    "x; y",
    "x\x00",
    "(" * 300 + "x" + ")" * 300,
    "-" * 60 + "x",
    "sin(" * 60 + "x" + ")" * 60,
    "+".join(["x"] * 600),
    "x" + " " * (MAX_LENGTH + 1),
    "\uff58.__class__",  # fullwidth x: NFKC-normalized to x by the parser
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_refused(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate(text, VARS)
    message = str(info.value)
    assert "\n" not in message
    assert 0 < len(message) < 400


def test_corpus_sizes() -> None:
    assert len(HOSTILE) >= 30
    assert len(VALID) >= 15


@pytest.mark.parametrize("text", HOSTILE[:40])
def test_hostile_input_cli_exit_code(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = explain_command([text, "--at", "x=1.5", "y=-0.5", "--plain"])
    err = capsys.readouterr().err
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("chainrule explain: error:")


x, y = VARS["x"], VARS["y"]
VALID = [
    ("x", x),
    ("2", 2.0),
    ("-x", -x),
    ("+x", x),
    ("x + y * 2", x + y * 2),
    ("(x + y) * 2", (x + y) * 2),
    ("x / y - 3", x / y - 3),
    ("x ** 2", x**2),
    ("x ** -2.5", x**-2.5),
    ("2 ** 10", 1024.0),
    ("-x ** 2", -(x**2)),
    ("sin(x * y) + x", math.sin(x * y) + x),
    ("cos(x) * tan(y)", math.cos(x) * math.tan(y)),
    ("exp(y) + log(x) + sqrt(x)", math.exp(y) + math.log(x) + math.sqrt(x)),
    ("tanh(x) + sinh(y) + cosh(y)", math.tanh(x) + math.sinh(y) + math.cosh(y)),
    ("arctan2(y, x)", math.atan2(y, x)),
    ("hypot(x, y)", math.hypot(x, y)),
    ("maximum(x, y) + minimum(x, y)", x + y),
    ("abs(y) + square(y)", 0.5 + 0.25),
    ("pi * e", math.pi * math.e),
    ("log1p(x) + expm1(y)", math.log1p(x) + math.expm1(y)),
    ("1e308 / 10", 1e307),
    ("sin(sin(sin(x)))", math.sin(math.sin(math.sin(x)))),
    ("power(x, 3)", x**3),
    ("1 / (1 + exp(-x))", 1 / (1 + math.exp(-x))),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_input_accepted(text: str, expected: float) -> None:
    assert evaluate(text, VARS) == pytest.approx(expected, rel=1e-14, abs=1e-300)


def test_unknown_name_message_says_how_to_give_it() -> None:
    with pytest.raises(ExpressionError, match="--at z="):
        evaluate("x + z", VARS)


@pytest.mark.parametrize("name", ["__import__", "_x", "sin", "pi", "for", "1x", "x.y"])
def test_bad_variable_names_refused(name: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression("1", [name])


def test_interpreter_never_evaluates_text() -> None:
    """eval/exec are never called; compile only to build an AST (that is what ast.parse does)."""
    import ast
    import builtins

    calls = []
    real_compile = builtins.compile

    def forbidden(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise AssertionError("eval/exec called")

    def ast_only_compile(source: object, filename: object, mode: str, flags: int = 0, **kw: object) -> object:
        if not flags & ast.PyCF_ONLY_AST:
            calls.append(source)
            raise AssertionError("compile to code called")
        return real_compile(source, filename, mode, flags, **kw)

    saved = builtins.eval, builtins.exec
    builtins.eval, builtins.exec, builtins.compile = forbidden, forbidden, ast_only_compile
    try:
        value = evaluate("sin(x * y) + x", VARS)
        with pytest.raises(ExpressionError):
            evaluate("__import__('os')", VARS)
    finally:
        builtins.eval, builtins.exec = saved
        builtins.compile = real_compile
    assert calls == []
    assert value == pytest.approx(math.sin(x * y) + x)


def test_expression_has_the_variables_as_signature() -> None:
    import inspect

    expr = compile_expression("x * y", ["x", "y"])
    assert list(inspect.signature(expr).parameters) == ["x", "y"]
    assert float(expr(np.float64(2.0), np.float64(3.0))) == 6.0
