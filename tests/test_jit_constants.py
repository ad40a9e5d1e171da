"""Arrays a staged function reaches through objects and containers (jit/constants.py chains).

``params["w"] = new``, ``self.W = new`` and ``model.layers[0]["b"] = new`` between
calls used to leave the staged code computing with the old array, silently. Each
test fails on that stale result.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import StagingError
from chainrule.jit.constants import _chains, _follow, _step

X = np.arange(3.0)


def test_a_dict_entry_replaced_between_calls() -> None:
    params = {"w": np.ones(3)}
    f = cr.jit(lambda x: np.sum(x * params["w"]))
    assert f(X) == f(X) == 3.0
    params["w"] = np.zeros(3)
    assert f(X) == 0.0 and f.stagings == 2


class Model:
    def __init__(self) -> None:
        self.w = np.ones(3)
        self.layers = [{"b": np.ones(3)}]
        self.scale = 1.0

    def loss(self, x):
        return np.sum(x * self.w) * self.scale + np.sum(self.layers[0]["b"] * x)


def test_an_attribute_replaced_between_calls() -> None:
    m = Model()
    f = cr.jit(lambda x: np.sum(x * m.w))
    f(X)
    m.w = np.full(3, 2.0)
    assert f(X) == 6.0


def test_a_bound_method_and_nested_containers() -> None:
    m = Model()
    step = cr.jit(cr.value_and_grad(m.loss))
    step(X)
    m.layers[0]["b"] = np.zeros(3)
    value, grad = step(X)
    assert value == m.loss(X) and np.array_equal(grad, cr.grad(m.loss)(X))
    m.scale = 2.0  # a number reached through self
    assert step(X)[0] == m.loss(X)


def test_a_method_called_through_a_closure() -> None:
    m = Model()
    f = cr.jit(lambda x: m.loss(x))
    f(X)
    m.w = np.zeros(3)
    assert f(X) == m.loss(X)


def test_in_place_writes_through_a_chain_are_seen() -> None:
    m = Model()
    f = cr.jit(lambda x: np.sum(x * m.w))
    f(X)
    m.w[1] = 10.0
    assert f(X) == np.sum(X * m.w)


def test_unchanged_chains_do_not_restage() -> None:
    m = Model()
    f = cr.jit(m.loss)
    for _ in range(5):
        f(X)
    assert f.stagings == 1 and f.eager_calls == 0


def test_chains_never_run_code() -> None:
    # A property or a custom __getitem__ is not followed: it could compute, or have effects.
    calls = []

    class Lazy:
        @property
        def w(self):
            calls.append(1)
            return np.ones(3)

    class Table:
        def __getitem__(self, key):
            calls.append(key)
            return np.ones(3)

    assert _follow(Lazy(), (("attr", "w"),)) is _step(Lazy(), "attr", "w")
    assert _step(Table(), "item", 0) is _step(Table(), "item", 1)  # both _MISSING
    assert calls == []


def test_chains_read_from_bytecode() -> None:
    params = {"w": np.ones(3)}
    m = Model()

    def f(x):
        return x * params["w"] + m.layers[0]["b"] + m.w

    found = {(name, path) for _, name, path in _chains(f.__code__)}
    assert ("params", (("item", "w"),)) in found
    assert ("m", (("attr", "layers"), ("item", 0), ("item", "b"))) in found
    assert ("m", (("attr", "w"),)) in found
    assert isinstance(f.__code__, types.CodeType)


class Dropout:
    def __init__(self) -> None:
        self.rng = np.random.default_rng(1)

    def __call__(self, x):
        return x * (self.rng.random(x.shape) > 0.5)


def test_random_draws_are_refused_at_staging() -> None:
    # Staged code would repeat the first call's draws forever: a frozen dropout mask.
    rng = np.random.default_rng(0)
    drop = Dropout()
    cases = {
        "NumPy's global random generator": lambda x: x + np.random.standard_normal(3),  # noqa: NPY002
        "a Generator": lambda x: x + rng.standard_normal(3),
    }
    for what, f in cases.items():
        with pytest.raises(StagingError, match=f"draws random numbers from {what}"):
            cr.jit(f)(X)
    with pytest.raises(StagingError, match="draws random numbers from a Generator"):
        cr.jit(drop.__call__)(X)  # through self
    with pytest.raises(StagingError, match="draws random numbers from a Generator"):
        cr.jit(lambda x, r: x + r.random(3), static_argnums=1)(X, rng)  # as an argument
    with pytest.raises(StagingError, match="draws random numbers"):
        cr.jit(cr.grad(lambda x: np.sum(drop(x) * x)))(X)  # inside a derivative


def test_a_mask_passed_in_is_fine_and_generators_not_drawn_from_are_fine() -> None:
    rng = np.random.default_rng(2)
    f = cr.jit(lambda x, mask: np.sum(x * mask) + rng.bit_generator.state["state"]["inc"] * 0)
    mask = rng.random(3) > 0.5
    assert f(X, mask) == np.sum(X * mask)


def test_a_static_argument_s_attribute_replaced_between_calls() -> None:
    # A static argument is part of the cache key by its hash (its identity, for most
    # objects): the same model with a new W hit the old staging.
    m = Model()
    f = cr.jit(lambda x, model: np.sum(x * model.w), static_argnums=1)
    assert f(X, m) == f(X, m) == 3.0
    m.w = np.zeros(3)
    assert f(X, m) == 0.0


def test_a_function_stored_on_an_object_is_read_too() -> None:
    table = {"w": np.ones(3)}

    class Net:
        def __init__(self) -> None:
            self.activation = lambda x: np.tanh(x) * table["w"]

    net = Net()
    f = cr.jit(lambda x: np.sum(net.activation(x)))
    f(X)
    table["w"] = np.zeros(3)
    assert f(X) == 0.0
