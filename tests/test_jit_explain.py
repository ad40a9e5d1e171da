"""``Explanation.code()``, ``chainrule explain --code``: the backward pass as the code jit stages."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import explain
from chainrule.explain.commands import explain_command
from chainrule.explain.explanation import Explanation
from chainrule.explain.expression import compile_expression


def loss(w, x):
    return np.sum(np.tanh(x @ w) ** 2)


def test_code_is_the_source_jit_stages() -> None:
    w, x = np.array([0.5, -1.0]), np.array([[1.0, 2.0], [0.0, 1.0]])
    e = explain(loss, w, x)
    code = e.code()
    assert code == cr.jit(cr.value_and_grad(loss)).source(w, x)
    assert "backward of numpy.tanh" in code and "backward of numpy.matmul" in code
    # The code computes what the explanation explains.
    staged = cr.jit(cr.value_and_grad(loss))
    value, g = staged(w, x)
    np.testing.assert_allclose(g, e.gradient, rtol=1e-14)
    assert value == pytest.approx(float(e.value))


def test_python_numbers_become_inputs_of_the_code() -> None:
    e = explain(lambda x, y: np.sin(x * y) + x, 1.0, 2.0, argnums=(0, 1))
    code = e.code()
    assert "def lambda_staged(x, y):" in code  # not folded into constants
    assert "backward of numpy.sin" in code


def test_cli_code_prints_the_same_source(capsys) -> None:
    assert explain_command(["sin(x*y) + x", "--at", "x=1.0", "y=2.0", "--code"]) == 0
    printed = capsys.readouterr().out
    expr = compile_expression("sin(x*y) + x", ["x", "y"]).without_checks()
    expected = cr.jit(cr.value_and_grad(expr, argnums=(0, 1))).source(np.float64(1.0), np.float64(2.0))
    assert printed == expected
    assert "np.sin(v0)" in printed and "np.cos(v0)  # numpy.cos; backward of numpy.sin" in printed


def test_expression_without_checks_computes_the_same() -> None:
    checked = compile_expression("exp(-x**2) / y + log(x)", ["x", "y"])
    plain = checked.without_checks()
    at = (np.float64(0.7), np.float64(1.3))
    assert checked(*at) == plain(*at)
    assert np.isinf(plain(np.float64(0.0), np.float64(1.0)))  # the checks are what refuse this
    with pytest.raises(ValueError, match="finite"):
        checked(np.float64(0.0), np.float64(1.0))


def test_code_needs_the_recorded_call() -> None:
    e = explain(lambda x: x * x, 2.0)
    bare = Explanation(e.graph, 0)
    with pytest.raises(ValueError, match=r"explain\(f, \*args\)"):
        bare.code()
