"""custom_vjp, custom_jvp and checkpoint: used when they should be, composable, and clear on misuse."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_derivatives


def make_softplus():
    @cr.custom_vjp
    def softplus(x):
        return np.logaddexp(0.0, x)

    def fwd(x):
        return softplus(x), x

    def bwd(x, g):
        return (g / (1.0 + np.exp(-x)),)

    softplus.defvjp(fwd, bwd)
    return softplus


def test_custom_vjp_rule_is_used_and_counted():
    softplus = make_softplus()
    x = np.array([-2.0, 0.0, 3.0])
    g = cr.grad(lambda x: np.sum(softplus(x)))(x)
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-x)))
    assert softplus.calls == 1


def test_custom_vjp_that_differs_from_the_function_proves_the_rule_is_used():
    @cr.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1.0, 1.0),))
    g = cr.grad(lambda x: np.sum(10.0 * clip_gradient(x)))(np.ones(3))
    np.testing.assert_array_equal(g, np.ones(3))


def test_custom_vjp_composes_with_nesting_and_forward_mode():
    softplus = make_softplus()
    x = np.array([-1.0, 0.5, 2.0])
    # forward mode is derived from the reverse rule, exactly
    _, t = cr.jvp(softplus, (x,), (np.ones(3),))
    np.testing.assert_allclose(t, 1 / (1 + np.exp(-x)))
    # second derivative differentiates bwd itself
    d2 = cr.grad(lambda x: np.sum(cr.grad(lambda y: np.sum(softplus(y)))(x)))(x)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(d2, s * (1 - s))
    check_derivatives(softplus, x, order=2)


def test_custom_vjp_with_pytree_arguments_and_several_outputs():
    @cr.custom_vjp
    def f(p, scale):
        return p["a"] * scale, np.sum(p["b"]) * scale

    def fwd(p, scale):
        return f(p, scale), (p, scale)

    def bwd(res, g):
        p, scale = res
        ga, gb = g
        return {"a": ga * scale, "b": np.full(p["b"].shape, gb * scale)}, np.sum(ga * p["a"]) + gb * np.sum(
            p["b"]
        )

    f.defvjp(fwd, bwd)
    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0, 5.0])}
    loss = lambda p, s: np.sum(f(p, s)[0] ** 2) + f(p, s)[1]
    gp, gs = cr.grad(loss, argnums=(0, 1))(p, 1.5)
    np.testing.assert_allclose(gp["a"], 2 * p["a"] * 1.5**2)
    np.testing.assert_allclose(gp["b"], np.full(3, 1.5))
    assert float(gs) == pytest.approx(2 * 1.5 * np.sum(p["a"] ** 2) + 12.0)


@pytest.mark.parametrize(
    ("bwd", "message"),
    [
        (lambda res, g: g, "must return a tuple"),
        (lambda res, g: (g, g), r"one cotangent per positional argument \(1\)"),
        (lambda res, g: (np.ones(5),), r"has shape \(5,\), but the argument has shape \(3,\)"),
        (lambda res, g: ({"a": g},), "structure"),
    ],
)
def test_custom_vjp_wrong_rule_output_is_explained(bwd, message):
    @cr.custom_vjp
    def f(x):
        return x * 2.0

    f.defvjp(lambda x: (f(x), None), bwd)
    with pytest.raises(TypeError, match=message):
        cr.grad(lambda x: np.sum(f(x)))(np.ones(3))


def test_custom_vjp_without_rule_is_refused():
    @cr.custom_vjp
    def f(x):
        return x

    with pytest.raises(TypeError, match="defvjp"):
        cr.grad(lambda x: f(x))(1.0)


def test_custom_jvp_gives_reverse_mode_by_transposition():
    @cr.custom_jvp
    def stable_log1pexp(x):
        return np.logaddexp(0.0, x)

    @stable_log1pexp.defjvp
    def rule(primals, tangents):
        (x,), (t,) = primals, tangents
        return stable_log1pexp(x), t * np.exp(x - np.logaddexp(0.0, x))

    x = np.array([-30.0, 0.0, 40.0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(stable_log1pexp(x)))(x), 1 / (1 + np.exp(-x)))
    assert stable_log1pexp.calls >= 1
    check_derivatives(stable_log1pexp, np.array([-1.0, 0.3, 2.0]), order=2)


def test_checkpoint_gives_bit_identical_gradients():
    rng = np.random.default_rng(3)
    ws = [rng.standard_normal((8, 8)) * 0.3 for _ in range(6)]
    x = rng.standard_normal((4, 8))

    def layer(x, w):
        return np.tanh(x @ w)

    def plain(ws, x):
        for w in ws:
            x = layer(x, w)
        return np.sum(x**2)

    segment = cr.checkpoint(lambda x, w1, w2: layer(layer(x, w1), w2))

    def remat(ws, x):
        for i in range(0, len(ws), 2):
            x = segment(x, ws[i], ws[i + 1])
        return np.sum(x**2)

    g_plain = cr.grad(plain, argnums=(0, 1))(ws, x)
    g_remat = cr.grad(remat, argnums=(0, 1))(ws, x)
    for a, b in zip(cr.tree_leaves(g_plain), cr.tree_leaves(g_remat)):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_recomputes_instead_of_storing():
    calls = []

    def body(x):
        calls.append(1)
        return np.sin(x) * x

    f = cr.checkpoint(body)
    cr.grad(lambda x: np.sum(f(x)))(np.ones(3))
    assert len(calls) == 2  # once forward, once again in the backward pass
    check_derivatives(f, np.array([0.3, 1.1]), order=2)
