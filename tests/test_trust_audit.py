"""Issue 11, re-audited item by item: the "Crashes, hangs, leaks" and "Unclear errors" lists.

Each test is one item of the issue's lists, tried against today's code; an
unclear error must name the argument, the problem and the fix.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.check import check_grad
from chainrule.cli import main
from chainrule.errors import InvalidRuleOutputError, TracerConversionError

X = np.array([0.3, 1.2])


def f3(x):
    return np.sum(np.sin(x) * np.cos(x) + x**2)


# -- crashes, hangs, leaks --------------------------------------------------------------
def test_vjp_fn_of_a_python_float():
    _, vf = cr.vjp(lambda x: np.sum(x**2), X)
    np.testing.assert_allclose(vf(1.0)[0], 2 * X)


@pytest.mark.parametrize("expression", ["x", "(" * 100 + "x" + ")" * 100])
def test_cli_explain_of_an_identity(expression, capsys):
    assert main(["explain", expression, "--at", "x=1", "--plain"]) == 0
    assert "x is the output itself" in capsys.readouterr().out


def test_explain_of_an_identity_function(tmp_path):
    e = cr.explain(lambda x: x, 3.0)
    assert float(e.gradient) == 1.0
    assert "(empty product) = 1" in e.table()
    assert "<svg" in e.to_svg()
    assert "digraph" in e.to_dot()
    e.to_html(tmp_path / "id.html")


def test_explain_of_a_long_scalar_chain_does_not_recurse():
    def chain(x):
        for _ in range(3000):
            x = np.sin(x)
        return x

    e = cr.explain(chain, 0.5)
    assert "too many or too long to write out" in e.table()


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_explain_with_a_small_cap(cap, tmp_path):
    e = cr.explain(f3, X, cap=cap)
    assert "Forward pass" in e.table()
    e.to_svg()
    e.to_dot()
    e.to_html(tmp_path / "c.html")


def test_retrying_a_vjp_fn_after_an_interrupted_backward():
    calls = {"n": 0}

    @cr.custom_vjp
    def h(x):
        return np.sin(x)

    def bwd(x, g):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return (g * np.cos(x),)

    h.defvjp(lambda x: (np.sin(x), x), bwd)
    _, vf = cr.vjp(lambda x: np.sum(h(x) * x), X)
    with pytest.raises(KeyboardInterrupt):
        vf(1.0)
    np.testing.assert_allclose(vf(1.0)[0], np.cos(X) * X + np.sin(X))


def test_cli_check_with_a_negative_seed(tmp_path, monkeypatch, capsys):
    (tmp_path / "m.py").write_text("import numpy as np\n\ndef f(x):\n    return np.sum(x ** 2)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "m.py:f", "--arg", "x=shape:3", "--seed", "-1"]) == 2
    assert "--seed: -1 is outside 0 to 4294967295" in capsys.readouterr().err


def test_a_600_deep_pytree_works_and_a_cyclic_one_is_refused():
    tree = 1.5
    for _ in range(600):
        tree = [tree]
    g = cr.grad(lambda t: _innermost(t) ** 2)(tree)
    assert _innermost(g) == 3.0
    assert cr.pytree.tree_structure(g) == cr.pytree.tree_structure(tree)
    cyclic: list = [1.0]
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="contains itself"):
        cr.grad(lambda t: t[0] ** 2)(cyclic)


def _innermost(t):
    while isinstance(t, list):
        t = t[0]
    return t


# -- unclear errors ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("out", "got"), [(lambda x: np.sum(x), "returned a Tracer"), (lambda x: (x, 1, 2), "length 3")]
)
def test_vjp_has_aux_with_a_non_pair(out, got):
    with pytest.raises(
        TypeError, match=f"has_aux=True needs .* to return a pair .*{got}.*Return \\(output, aux\\)"
    ):
        cr.vjp(out, X, has_aux=True)


@pytest.mark.parametrize(
    ("block", "message"), [(lambda y: None, "returned None"), (lambda y: "s", "returned a str")]
)
def test_checkpoint_of_a_block_without_arrays(block, message):
    with pytest.raises(InvalidRuleOutputError, match=f"checkpointed block .*{message}.*must return an array"):
        cr.grad(lambda x: np.sum(cr.checkpoint(block)(x)))(X)


def _custom_vjp(fwd):
    @cr.custom_vjp
    def g(x):
        return np.sin(x)

    g.defvjp(fwd, lambda r, gg: (gg,))
    return g


@pytest.mark.parametrize(
    ("fwd", "got"), [(lambda x: (np.sin(x), x, 1), "tuple of length 3"), (np.sin, "ndarray")]
)
def test_custom_vjp_forward_functions_of_the_wrong_form(fwd, got):
    g = _custom_vjp(fwd)
    with pytest.raises(
        InvalidRuleOutputError, match=f"must return a pair \\(output, residuals\\).*{got}.*Return"
    ):
        cr.grad(lambda x: np.sum(g(x)))(X)


@pytest.mark.parametrize("mode", ["fast", "slow", "double"])
def test_custom_vjp_with_a_string_static_argument_and_a_none_cotangent(mode):
    # "double" happened to work before: NumPy reads it as a dtype name.
    @cr.custom_vjp
    def g(x, mode):
        return np.sin(x)

    g.defvjp(lambda x, mode: (np.sin(x), x), lambda r, gg: (gg * np.cos(r), None))
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(g(x, mode)))(X), np.cos(X))


def test_custom_jvp_with_a_none_tangent():
    @cr.custom_jvp
    def g(x):
        return np.sin(x)

    g.defjvp(lambda p, t: (np.sin(p[0]), None))
    with pytest.raises(InvalidRuleOutputError, match="returned None as the tangent.*np.zeros_like"):
        cr.jvp(g, (X,), (np.ones(2),))


@pytest.mark.parametrize("op", [cr.numerical.grad, cr.numerical.jacobian])
@pytest.mark.parametrize(
    ("out", "message"), [("a", "returned str 'a', which is not a number"), (None, "holds no number")]
)
def test_numerical_on_a_non_numeric_output(op, out, message):
    with pytest.raises(TypeError, match=message):
        op(lambda x: out, X)


def test_numerical_on_an_empty_input_gives_an_empty_gradient_like_backprop():
    empty = np.zeros(0)
    got = cr.numerical.grad(lambda x: np.sum(x), empty)
    assert got.shape == (0,)
    assert cr.grad(lambda x: np.sum(x))(empty).shape == (0,)


def test_numerical_with_a_wrong_shape_step():
    with pytest.raises(ValueError, match=r"step= for argument 0 \('x'\) has shape \(3,\).*shape \(2,\)"):
        cr.numerical.grad(lambda x: np.sum(x**2), X, step=np.ones(3))


def test_check_grad_with_a_str_output_and_bad_rtol():
    with pytest.raises(TypeError, match="returned str 'a', which is not a number"):
        check_grad(lambda x: "a", X)
    with pytest.raises(ValueError, match="rtol=-1.0 is not a tolerance"):
        check_grad(f3, X, rtol=-1)
    with pytest.raises(TypeError, match="rtol= must be a non-negative number"):
        check_grad(f3, X, rtol="a")


@pytest.mark.parametrize(
    ("steps", "error", "message"),
    [(None, TypeError, "steps must be a whole number"), (float("inf"), ValueError, "would never stop"),
     (2.5, ValueError, "non-negative whole number"), (-1, ValueError, "non-negative whole number")],
)  # fmt: skip
def test_minimize_with_bad_steps(steps, error, message):
    with pytest.raises(error, match=message):
        optim.minimize(f3, X, optim.adam(0.1), steps=steps)


@pytest.mark.parametrize(
    ("rate", "error", "message"),
    [(None, TypeError, "learning_rate must be a positive number"), ("0.1", TypeError, "not str"),
     (-0.1, ValueError, "a negative rate would climb"), (float("nan"), ValueError, "must be finite")],
)  # fmt: skip
def test_optimizers_with_bad_learning_rates(rate, error, message):
    for make in (optim.adam, optim.sgd, optim.momentum, optim.rmsprop):
        with pytest.raises(error, match=message):
            make(rate)


def test_minimize_non_scalar_error_names_the_users_function():
    def residuals(x):
        return x**2

    with pytest.raises(
        cr.errors.NonScalarOutputError, match="grad needs .*residuals to return a scalar"
    ) as info:
        optim.minimize(residuals, X, optim.adam(0.1), steps=3)
    assert "CountedFunction" not in str(info.value)


@pytest.mark.parametrize(
    ("cap", "error"), [(None, TypeError), (-1, ValueError), (0, ValueError), (2.5, TypeError)]
)
def test_explain_with_a_bad_cap(cap, error):
    with pytest.raises(error, match="explain: cap"):
        cr.explain(f3, X, cap=cap)


@pytest.mark.parametrize("argnums", [None, 1.0])
def test_bad_argnums_name_the_fix(argnums):
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints.*Write argnums=0"):
        cr.grad(lambda x, y: np.sum(x), argnums=argnums)(X, X)


def test_tracer_view():
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(x.view() ** 2))(X), 2 * X)
    with pytest.raises(cr.errors.UnsupportedOperationError, match="Use x.astype"):
        cr.grad(lambda x: np.sum(x.view(np.int64)))(X)


def test_writing_a_traced_value_into_a_numpy_array_puts_chainrules_advice_first():
    def f(x):
        y = np.zeros(3)
        y[0] = x[0]
        return np.sum(y)

    with pytest.raises(TracerConversionError, match=r"^y\[i\] = x at .* chainrule.at\(y\)\[i\].set\(x\)"):
        cr.grad(f)(X)


def test_math_sin_says_use_np_sin():
    with pytest.raises(TracerConversionError, match=r"math.sin\(x\): use np.sin\(x\)"):
        cr.grad(lambda x: math.sin(x))(1.0)
