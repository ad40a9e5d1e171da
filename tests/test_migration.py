"""What HIPS autograd (and JAX) users reach for first: each checked against finite differences or by hand."""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import InvalidRuleOutputError
from chainrule.optim import loops
from chainrule.pytree import (
    TreeDef,
    register_pytree_node,
    tree_flatten,
    tree_map,
    tree_structure,
    tree_unflatten,
)

RNG = np.random.default_rng(13)


# -- elementwise_grad and argnum ------------------------------------------------------------


def test_elementwise_grad_is_the_diagonal_derivative():
    x = RNG.standard_normal((3, 4))
    assert np.allclose(cr.elementwise_grad(np.tanh)(x), 1.0 - np.tanh(x) ** 2)
    numeric = cr.numerical.grad(lambda x: np.sum(np.sin(x) * x), x)
    assert np.allclose(cr.elementwise_grad(lambda x: np.sin(x) * x)(x), numeric, atol=1e-7)


def test_elementwise_grad_second_order_and_argnum():
    x = np.linspace(-1.0, 1.0, 5)
    d3 = cr.elementwise_grad(cr.elementwise_grad(cr.elementwise_grad(np.sin)))
    assert np.allclose(d3(x), -np.cos(x))
    f = lambda a, b: a * b**3
    b = np.array([1.0, 2.0])
    assert np.allclose(cr.elementwise_grad(f, argnum=1)(2.0 * np.ones(2), b), 6.0 * b**2)
    assert np.allclose(cr.elementwise_grad(f, 1)(2.0 * np.ones(2), b), 6.0 * b**2)


def test_argnum_is_autograds_spelling_of_argnums():
    f = lambda a, b: np.sum(a * b**2)
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    assert np.allclose(cr.grad(f, argnum=1)(a, b), 2.0 * a * b)
    _value, g = cr.value_and_grad(f, argnum=0)(a, b)
    assert np.allclose(g, b**2)
    assert np.allclose(cr.jacobian(lambda a, b: a * b, argnum=1)(a, b), np.diag(a))
    assert np.allclose(cr.hessian(f, argnum=1)(a, b), np.diag(2.0 * a))
    with pytest.raises(TypeError, match="both argnums=1 and argnum=0"):
        cr.grad(f, 1, argnum=0)


# -- flatten / ravel_pytree ----------------------------------------------------------------


def test_flatten_round_trip_and_differentiable():
    params = {"w": RNG.standard_normal((2, 3)), "b": RNG.standard_normal(3), "layers": [2.0]}
    v, unflatten = cr.flatten(params)
    assert v.shape == (10,) and v.dtype == np.float64
    back = unflatten(v)
    assert cr.flatten([np.float32(1.0), np.ones(1)])[1](np.zeros(2))[0].dtype == np.float32
    for a, b in zip(tree_flatten(back)[0], tree_flatten(params)[0]):
        assert np.array_equal(a, b)

    def loss(vec):
        p = unflatten(vec)
        return np.sum(np.tanh(p["w"] @ p["b"])) * p["layers"][0]

    assert np.allclose(cr.grad(loss)(v), cr.numerical.grad(loss, v), atol=1e-6)
    with pytest.raises(ValueError, match="length 10"):
        unflatten(np.zeros(9))


# -- autograd's optimizer loops --------------------------------------------------------------


def test_adam_loop_follows_autograds_formula_on_a_tree():
    target = {"a": np.array([1.0, -2.0]), "b": 3.0}
    objective = lambda p, i: np.sum((p["a"] - target["a"]) ** 2) + (p["b"] - target["b"]) ** 2
    seen = []
    x = loops.adam(cr.grad(objective), {"a": np.zeros(2), "b": 0.0}, num_iters=3, step_size=0.1,
                   callback=lambda x, i, g: seen.append(i))  # fmt: skip
    assert seen == [0, 1, 2]
    # By hand: with bias correction, Adam's first step has size step_size along -sign(g).
    x = loops.adam(cr.grad(objective), {"a": np.zeros(2), "b": 0.0}, num_iters=1, step_size=0.1)
    assert np.allclose(x["a"], [0.1, -0.1], atol=1e-6) and np.isclose(x["b"], 0.1, atol=1e-6)
    x = loops.adam(cr.grad(objective), {"a": np.zeros(2), "b": 0}, num_iters=1000, step_size=0.05)
    assert np.allclose(x["a"], target["a"], atol=1e-3) and np.isclose(x["b"], 3.0, atol=1e-3)


@pytest.mark.parametrize("loop", [loops.sgd, loops.rmsprop])
def test_sgd_and_rmsprop_loops_converge(loop):
    objective = lambda x, i: np.sum((x - np.array([1.0, 2.0])) ** 2)
    x = loop(cr.grad(objective), np.zeros(2), num_iters=2000, step_size=0.01)
    assert np.allclose(x, [1.0, 2.0], atol=1e-2)


# -- pytrees ---------------------------------------------------------------------------------


def test_dict_key_order_does_not_change_the_structure():
    f = lambda p: p["a"] * np.sin(p["b"])
    primal = {"a": np.array(2.0), "b": np.array(0.5)}
    tangent = {"b": np.array(1.0), "a": np.array(0.0)}  # same keys, other insertion order
    _out, t = cr.jvp(f, (primal,), (tangent,))
    assert np.isclose(t, 2.0 * np.cos(0.5))
    # The gradient keeps the argument's own insertion order.
    g = cr.grad(lambda p: np.sum(p["z"] * p["a"]))({"z": np.ones(2), "a": np.ones(2)})
    assert list(g) == ["z", "a"]
    assert tree_structure(OrderedDict(b=1, a=2)) != tree_structure({"a": 1, "b": 2})  # types differ
    assert tree_structure({1: 0, "a": 0}) == tree_structure({"a": 0, 1: 0})  # mixed key types


def test_vjp_cotangent_dict_in_another_order():
    _out, vjp_fn = cr.vjp(lambda x: {"s": np.sin(x), "c": np.cos(x)}, np.array(0.3))
    (g,) = vjp_fn({"c": np.array(1.0), "s": np.array(2.0)})
    assert np.isclose(g, 2.0 * np.cos(0.3) - np.sin(0.3))


@dataclasses.dataclass
class Layer:
    w: np.ndarray
    b: np.ndarray
    name: str = dataclasses.field(default="dense", metadata={"static": True})

    def __post_init__(self):  # must not run on rebuilt gradients (a check written for arrays)
        if np.ndim(self.w) != 2:
            raise ValueError("w must be a matrix")


@dataclasses.dataclass(frozen=True)
class Frozen:
    scale: float
    shift: np.ndarray


def test_dataclasses_are_pytrees():
    layer = Layer(RNG.standard_normal((3, 2)), RNG.standard_normal(2))
    x = RNG.standard_normal((4, 3))
    loss = lambda p: np.sum(np.tanh(x @ p.w + p.b) ** 2)
    g = cr.grad(loss)(layer)
    assert type(g) is Layer and g.name == "dense" and g.w.shape == (3, 2)
    numeric = cr.numerical.grad(loss, layer)
    assert np.allclose(g.w, numeric.w, atol=1e-6) and np.allclose(g.b, numeric.b, atol=1e-6)
    frozen = Frozen(2.0, np.ones(2))
    gf = cr.grad(lambda p: p.scale * np.sum(p.shift**2))(frozen)
    assert type(gf) is Frozen and np.isclose(gf.scale, 2.0) and np.allclose(gf.shift, 4.0)
    assert "Layer" in repr(tree_structure(layer))
    assert tree_structure(Layer(np.ones((1, 1)), np.ones(1), "a")) != tree_structure(layer)


class Point:
    def __init__(self, x, y, label):
        self.x, self.y, self.label = x, y, label


register_pytree_node(Point, lambda p: ((p.x, p.y), p.label), lambda label, ch: Point(*ch, label))


class Unregistered:
    pass


def test_register_pytree_node():
    p = Point(np.array(1.0), np.array(2.0), "p")
    g = cr.grad(lambda p: p.x**2 * p.y)(p)
    assert type(g) is Point and g.label == "p"
    assert np.isclose(g.x, 4.0) and np.isclose(g.y, 1.0)
    _out, t = cr.jvp(lambda p: p.x * p.y, (p,), (Point(np.array(1.0), np.array(0.0), "p"),))
    assert np.isclose(t, 2.0)
    with pytest.raises(ValueError, match="differs from primal"):
        cr.jvp(lambda p: p.x * p.y, (p,), (Point(np.array(1.0), np.array(0.0), "q"),))
    assert tree_map(lambda v: v * 3, [p])[0].y == 6.0
    leaves, treedef = tree_flatten({"p": p, "u": Unregistered()})
    assert len(leaves) == 3 and isinstance(treedef, TreeDef)
    assert tree_unflatten(treedef, [1, 2, 3])["p"].y == 2
    with pytest.raises(ValueError, match="already a pytree"):
        register_pytree_node(dict, lambda d: ((), None), lambda a, c: {})


# -- custom rules with non-array arguments and nondiff_argnums -------------------------------


def test_custom_vjp_with_function_string_and_int_arguments():
    @cr.custom_vjp
    def apply(f, x, n, label):
        return f(x) * n

    apply.defvjp(
        lambda f, x, n, label: (f(x) * n, (x, n)),
        lambda res, g: (None, g * np.cos(res[0]) * res[1], None, None),
    )
    x = np.array([0.1, 0.7])
    expected = 3.0 * np.cos(x)
    assert np.allclose(cr.grad(lambda x: np.sum(apply(np.sin, x, 3, "s")))(x), expected)
    assert np.allclose(cr.jvp(lambda x: apply(np.sin, x, 3, "s"), (x,), (np.ones(2),))[1], expected)


def test_custom_vjp_nondiff_argnums_like_jax():
    @functools.partial(cr.custom_vjp, nondiff_argnums=(0,))
    def power(n, x):
        return x**n

    power.defvjp(lambda n, x: (x**n, x), lambda n, x, g: (g * n * x ** (n - 1),))
    x = np.array([0.5, 1.5])
    assert np.allclose(cr.grad(lambda x: np.sum(power(3, x)))(x), 3.0 * x**2)
    assert np.allclose(np.diag(cr.hessian(lambda x: np.sum(power(3, x)))(x)), 6.0 * x)
    assert power.calls > 0
    with pytest.raises(TypeError, match="nondiff_argnums but holds a traced value"):
        cr.grad(lambda x: np.sum(power(x, x)))(x)
    bad = cr.custom_vjp(lambda n, x: x * n, nondiff_argnums=0)
    bad.defvjp(lambda n, x: (x * n, None), lambda n, res, g: (g, g))
    with pytest.raises(InvalidRuleOutputError, match="not in nondiff_argnums"):
        cr.grad(lambda x: np.sum(bad(2.0, x)))(x)
    with pytest.raises(TypeError, match="non-negative positions"):
        cr.custom_vjp(lambda x: x, nondiff_argnums=(-1,))


def test_custom_jvp_with_a_function_argument():
    @cr.custom_jvp
    def apply(f, x):
        return f(x)

    @apply.defjvp
    def apply_jvp(primals, tangents):
        f, x = primals
        return f(x), 2.0 * x * tangents[1]

    x = np.array([1.0, -2.0])
    assert np.allclose(cr.grad(lambda x: np.sum(apply(np.square, x)))(x), 2.0 * x)


class Params(NamedTuple):
    w: np.ndarray


def test_namedtuple_still_in_field_order():
    leaves, _ = tree_flatten(Params(np.ones(1)))
    assert len(leaves) == 1
