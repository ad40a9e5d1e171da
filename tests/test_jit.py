"""chainrule.jit: staged code equals the function, for every rule family and with derivatives inside.

Each case is compared with the plain call on fresh random data after staging,
so the comparison runs the staged code (not the staging run's own result).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import StagingError
from chainrule.jit.api import MAX_STRUCTURES

rng = np.random.default_rng(7)


def pos(*shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def sym(*shape: int) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, shape)


def spd(n: int) -> np.ndarray:
    a = rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


# (name, function of its inputs returning a scalar, input maker); every rule family of rules/.
CASES = [
    ("elementwise", lambda x: np.sum(np.tanh(x) * np.exp(-x * x) + np.log1p(x * x) + np.sqrt(x + 2.0)),
     lambda: (sym(4),)),
    ("binary", lambda x, y: np.sum(np.arctan2(x, y) + np.hypot(x, y) + x**y + np.maximum(x, y)),
     lambda: (pos(3), pos(3))),
    ("broadcast", lambda x, y: np.sum(x * y - x / y), lambda: (pos(2, 3), pos(3))),
    ("clip_where_abs", lambda x: np.sum(np.where(x > 0, np.clip(x, -0.5, 0.5), np.abs(x) ** 3)),
     lambda: (sym(6),)),
    ("reductions", lambda x: np.sum(np.mean(x, axis=0)) + np.max(x) + np.prod(x[0]) + np.std(x)
     + np.var(x, axis=1)[1], lambda: (pos(3, 4),)),
    ("logsumexp", lambda x: np.sum(np.log(np.sum(np.exp(x - np.max(x, axis=1, keepdims=True)), axis=1))),
     lambda: (sym(3, 5),)),
    ("cumulative", lambda x: np.sum(np.cumsum(x) * np.cumprod(x)), lambda: (pos(5),)),
    ("shape", lambda x: np.sum(np.transpose(np.reshape(x, (3, 2))) @ np.ones(3))
     + np.sum(np.squeeze(x[None]).T[::-1] * np.arange(6.0)), lambda: (sym(6),)),
    ("joining", lambda x, y: np.sum(np.concatenate([x, y]) ** 2 * np.stack([x, y]).sum(axis=0).repeat(2)),
     lambda: (sym(3), sym(3))),
    ("indexing", lambda x: np.sum(x[[0, 2, 2]] * x[1:3].sum() + np.take(x, [1, 0]).prod()),
     lambda: (sym(4),)),
    ("sort_argmax", lambda x: np.sum(np.sort(x) * np.arange(5.0)) + x[np.argmax(x)], lambda: (sym(5),)),
    ("products", lambda a, b: np.sum(a @ b) + np.einsum("ij,jk->", a, b) + np.dot(a[0], b[:, 0])
     + np.sum(np.outer(a[0], b[0])), lambda: (sym(2, 3), sym(3, 2))),
    ("linalg", lambda a: np.sum(np.linalg.inv(a)) + np.linalg.slogdet(a)[1]
     + np.sum(np.linalg.solve(a, np.ones(3))) + np.linalg.norm(a), lambda: (spd(3),)),
    ("cholesky_det", lambda a: np.sum(np.linalg.cholesky(a)) + np.linalg.det(a), lambda: (spd(3),)),
    ("casting", lambda x: np.sum(x.astype(np.float32).astype(np.float64) * 2.0 + np.floor(x) + x.astype(int)),
     lambda: (sym(4) * 3,)),
    ("updates", lambda x: np.sum(cr.at(x)[1].set(x[0] * 3.0) * cr.at(x)[[0, 0]].add(x[2])),
     lambda: (sym(3),)),
    ("nn_softmax", lambda x: np.sum(cr.nn.softmax(x) * np.arange(4.0)), lambda: (sym(2, 4),)),
]  # fmt: skip


def _close(a, b) -> None:
    for u, v in zip(cr.tree_leaves(a), cr.tree_leaves(b)):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)
        assert np.result_type(u) == np.result_type(v)


@pytest.mark.parametrize(("name", "f", "make"), CASES, ids=[c[0] for c in CASES])
def test_jit_equals_function_and_its_gradient(name, f, make) -> None:
    jf = cr.jit(f)
    nums = tuple(range(len(make())))
    jvg = cr.jit(cr.value_and_grad(f, argnums=nums))
    first = make()
    _close(jf(*first), f(*first))
    _close(jvg(*first), cr.value_and_grad(f, argnums=nums)(*first))
    for _ in range(2):  # fresh data: the staged code runs, not the staging
        args = make()
        _close(jf(*args), f(*args))
        _close(jvg(*args), cr.value_and_grad(f, argnums=nums)(*args))
    assert jf.stagings >= 1 and jvg.stagings >= 1


def test_grad_hessian_and_forward_mode_inside_jit() -> None:
    f = lambda x: np.sum(np.sin(x) ** 2 * x[0]) + np.prod(x)
    step = cr.jit(lambda x: (cr.grad(f)(x), cr.hessian(f)(x), cr.jvp(f, (x,), (np.ones(3),))[1]))
    for _ in range(3):
        x = sym(3)
        g, h, t = step(x)
        _close(g, cr.grad(f)(x))
        _close(h, cr.hessian(f)(x))
        _close(t, cr.jvp(f, (x,), (np.ones(3),))[1])
    assert step.stagings == 1


def test_later_calls_run_staged_code_without_tracing(monkeypatch) -> None:
    jf = cr.jit(cr.grad(lambda x: np.sum(np.exp(x))))
    x = sym(3)
    jf(x)
    # If the staged call traced again, the staging trace would be created.
    import chainrule.engine.staging as staging

    def refuse(*args, **kwargs):
        raise AssertionError("traced again")

    monkeypatch.setattr(staging.StagingTrace, "__init__", refuse)
    _close(jf(x + 1.0), np.exp(x + 1.0))


def test_branch_becomes_a_guard_and_both_branches_are_staged() -> None:
    def f(x):
        if np.sum(x) > 0:
            return np.sin(x)
        return np.cos(x) * 2.0

    jf = cr.jit(f)
    up, down = np.array([1.0, 2.0]), np.array([-1.0, -2.0])
    _close(jf(up), np.sin(up))
    _close(jf(down), np.cos(down) * 2.0)  # the guard fails: staged again, never the stale branch
    assert jf.stagings == 2
    _close(jf(up * 3), np.sin(up * 3))
    _close(jf(down * 3), np.cos(down * 3) * 2.0)
    assert jf.stagings == 2  # both variants cached
    assert "guard" in jf.source(up) and "if not" in jf.source(up)


def test_data_dependent_loop_and_guard_inside_a_rule() -> None:
    def newton_sqrt(a):
        x = a
        while np.max(np.abs(x * x - a)) > 1e-10:
            x = 0.5 * (x + a / x)
        return x

    jf = cr.jit(newton_sqrt)
    for a in (np.array([4.0, 9.0]), np.array([2.0, 3.0]), np.array([4.0, 9.0]) * 100):
        _close(jf(a), newton_sqrt(a))
    # log's backward rule checks for non-finite products (a Python branch inside the rule).
    jg = cr.jit(cr.grad(lambda x: np.sum(np.log(x))))
    _close(jg(np.array([1.0, 2.0])), np.array([1.0, 0.5]))
    with np.errstate(divide="ignore"):
        _close(jg(np.array([0.0, 2.0])), cr.grad(lambda x: np.sum(np.log(x)))(np.array([0.0, 2.0])))


def test_data_dependent_shape_is_guarded() -> None:
    f = lambda x: np.mean(x[x > 0])
    jf, jg = cr.jit(f), cr.jit(cr.grad(f))
    for x in (np.array([1.0, -1.0, 2.0]), np.array([1.0, 3.0, 2.0]), np.array([-1.0, 3.0, -2.0])):
        _close(jf(x), f(x))
        _close(jg(x), cr.grad(f)(x))


def test_shape_and_dtype_changes_stage_again() -> None:
    jf = cr.jit(lambda x: np.sum(x * x))
    jf(np.ones(3))
    jf(np.ones(3) * 2)
    assert jf.stagings == 1
    _close(jf(np.ones(4)), np.float64(4.0))
    _close(jf(np.ones(4, dtype=np.float32)), np.float32(4.0))
    _close(jf(np.ones((2, 2))), np.float64(4.0))
    assert jf.stagings == 4


def test_static_arguments_and_python_numbers() -> None:
    def f(x, n, scale):
        for _ in range(n):
            x = np.sin(x)
        return x * scale

    jf = cr.jit(f, static_argnums=1)
    x = sym(3)
    _close(jf(x, 2, 3.0), f(x, 2, 3.0))
    _close(jf(x, 3, 3.0), f(x, 3, 3.0))
    _close(jf(x, 3, 0.5), f(x, 3, 0.5))  # a Python number is static too
    _close(jf(x, 3, np.float64(0.7)), f(x, 3, 0.7))
    _close(jf(x, 3, np.float64(0.9)), f(x, 3, 0.9))  # a NumPy scalar is data
    assert jf.stagings == 4
    with pytest.raises(TypeError, match="not hashable"):
        jf(x, [1], 1.0)


W_GLOBAL = np.array([1.0, 2.0, 3.0])


def _uses_global(x):
    return np.sum(W_GLOBAL * x)


def test_closed_over_arrays_that_change_are_noticed() -> None:
    small = np.array([1.0, 2.0, 3.0])
    large = np.ones(100_000)
    f = cr.jit(lambda x: np.sum(small * x) + np.sum(large) * x[0])
    x = np.ones(3)
    assert f(x) == 6.0 + 100_000
    small[1] = 10.0
    assert f(x) == 14.0 + 100_000
    large *= 2.0
    assert f(x) == 14.0 + 200_000
    assert f.stagings == 3

    g = cr.jit(_uses_global)
    assert g(x) == 6.0
    global W_GLOBAL
    old = W_GLOBAL
    try:
        W_GLOBAL = np.array([0.0, 0.0, 1.0])  # rebinding, not writing
        assert g(x) == 1.0
    finally:
        W_GLOBAL = old

    # Through chainrule's own wrapper: grad(f) is followed to f's closure.
    weights = np.array([1.0, 2.0, 3.0])
    jg = cr.jit(cr.grad(lambda x: np.sum(weights * x**2)))
    np.testing.assert_array_equal(jg(x), 2.0 * weights)
    weights[0] = 5.0
    np.testing.assert_array_equal(jg(x), 2.0 * weights)

    scale = 2.0
    h = cr.jit(lambda x: np.sum(x) * scale)
    assert h(x) == 6.0
    scale = 3.0  # a closure variable rebound
    assert h(x) == 9.0


def test_arrays_made_during_staging_are_not_checked_but_protected() -> None:
    jf = cr.jit(lambda x: np.sum(x * np.arange(3.0)))
    x = np.ones(3)
    jf(x)
    variant = next(iter(jf._cache.values()))[0]
    assert not variant.constants.small and not variant.constants.large
    assert all(not a.flags.writeable for a in variant.code.namespace.values() if isinstance(a, np.ndarray))


def test_golden_source_of_a_small_gradient() -> None:
    def loss(w):
        return np.sum(np.sin(w) * w)

    # d/dw sum(sin(w) * w) = sin(w) + w cos(w); the all-ones seed of the backward pass is gone.
    expected = """\
# loss staged by chainrule.jit for w: float64 (2,)
def loss_staged(w):
    v0 = np.sin(w)  # numpy.sin
    v1 = v0 * w  # numpy.multiply
    v2 = np.add.reduce(v1, axis=None)  # numpy.sum
    with np.errstate(divide='ignore', invalid='ignore'):
        v5 = np.cos(w)  # numpy.cos; backward of numpy.sin
        v6 = w * v5  # numpy.multiply; backward of numpy.sin
        v7 = v0 + v6  # numpy.add; sum of cotangents
    return (v2, v7)
"""
    staged = cr.jit(cr.value_and_grad(loss))
    src = staged.source(np.ones(2))
    assert src == expected
    w = np.array([0.3, -1.2])
    _, g = staged(w)
    np.testing.assert_allclose(g, np.sin(w) + w * np.cos(w), rtol=1e-15)


def test_printing_and_converting_name_the_line() -> None:
    def prints(x):
        print(x)  # the line the error names
        return x

    with pytest.raises(StagingError, match=r"test_jit.py:\d+: print\(x\)"):
        cr.jit(prints)(np.ones(2))

    def converts(x):
        return float(np.sum(x)) * x

    with pytest.raises(StagingError, match=r"float\(np.sum\(x\)\)"):
        cr.jit(converts)(np.ones(2))

    def writes(x):
        y = np.zeros(2)
        y[0] = x[0]
        return y

    with pytest.raises(StagingError, match=r"y\[0\] = x\[0\]"):
        cr.jit(writes)(np.ones(2))


def test_jit_inside_grad_runs_the_function_as_is() -> None:
    inner = cr.jit(lambda x: np.sum(np.sin(x)))
    x = sym(3)
    _close(cr.grad(inner)(x), np.cos(x))
    assert inner.eager_calls == 1 and inner.stagings == 0
    outer = cr.jit(lambda x: inner(x) * 2.0)
    _close(outer(x), 2.0 * np.sum(np.sin(x)))


def test_pytrees_and_keyword_arguments() -> None:
    def loss(params, x, *, y):
        return np.sum((x @ params["w"] + params["b"] - y) ** 2)

    step = cr.jit(cr.value_and_grad(loss))
    params = {"w": sym(3, 2), "b": sym(2)}
    x, y = sym(4, 3), sym(4, 2)
    _close(step(params, x, y=y), cr.value_and_grad(loss)(params, x, y=y))
    params2 = {"w": sym(3, 2), "b": sym(2)}
    _close(step(params2, x, y=y), cr.value_and_grad(loss)(params2, x, y=y))
    assert "params_w" in step.source(params, x, y=y)


def test_returned_constants_are_fresh_copies() -> None:
    jf = cr.jit(cr.grad(lambda x, y: np.sum(x), argnums=1))  # the gradient w.r.t. y is a constant zero
    g = jf(np.ones(2), np.ones(2))
    g += 1.0
    _close(jf(np.ones(2), np.ones(2)), np.zeros(2))


def test_large_temporaries_are_reused_exactly() -> None:
    def f(x):
        x2 = x**2
        return np.sum(np.tanh(x) * np.exp(-x2) + np.log1p(x2))

    x = sym(100_000)
    step = cr.jit(cr.value_and_grad(f))
    step(x)
    assert "out=" in step.source(x)  # dead temporaries of 100k elements were written into
    for _ in range(2):
        x = sym(100_000)
        value, g = step(x)
        ev, eg = cr.value_and_grad(f)(x)
        np.testing.assert_allclose(value, ev, rtol=1e-12)
        np.testing.assert_allclose(g, eg, rtol=1e-12, atol=1e-15)


def test_a_gradient_equal_to_an_input_is_a_new_array() -> None:
    jf = cr.jit(cr.grad(lambda x, y: np.sum(x * y)))  # the gradient is y (times the dropped seed)
    y = sym(3)
    for _ in range(2):
        g = jf(sym(3), y)
        np.testing.assert_array_equal(g, y)
        assert g is not y


def test_memory_order_and_many_static_values() -> None:
    f = lambda x: np.sum(np.ravel(x, order="A") * np.arange(6.0))
    jf = cr.jit(f)
    c = sym(2, 3)
    fortran = np.asfortranarray(sym(2, 3))
    _close(jf(c), f(c))
    _close(jf(fortran), f(fortran))  # a different memory order is a different structure
    assert jf.stagings == 2
    scaled = cr.jit(lambda x, s: x * s)
    for k in range(MAX_STRUCTURES + 5):  # each Python number is a new structure
        _close(scaled(c, float(k)), c * float(k))
    assert len(scaled._cache) == MAX_STRUCTURES


def test_rewrites_are_exact_bit_for_bit() -> None:
    def chain(x):
        for _ in range(3):
            x = -(np.tanh(np.cos(np.sin(x)) * 0.5) * 1.01)
            x = np.exp(x) + 0.1
        return np.sum(x * x)

    step = cr.jit(cr.value_and_grad(chain))
    source = step.source(sym(3))
    assert "* -1.01" in source  # the negation was folded into the product
    for _ in range(3):
        x = sym(3)
        value, g = step(x)
        ev, eg = cr.value_and_grad(chain)(x)
        assert value == ev
        np.testing.assert_array_equal(g, eg)


def test_integer_inputs_custom_rules_and_checkpoints() -> None:
    x = sym(3)
    pick = cr.jit(lambda i, x: np.sum(x[i] ** 2))
    for i in (np.array([0, 2]), np.array([1, 1])):
        assert pick(i, x) == np.sum(x[i] ** 2)

    @cr.custom_vjp
    def clipped(x):
        return np.sin(x)

    clipped.defvjp(lambda x: (np.sin(x), np.cos(x)), lambda res, g: (np.clip(g * res, -0.1, 0.1),))
    custom = lambda x: np.sum(clipped(x) * x)
    saved = lambda x: np.sum(cr.checkpoint(lambda y: np.tanh(y) ** 2)(x))
    for f in (custom, saved):
        jg = cr.jit(cr.grad(f))
        for _ in range(3):
            x = sym(3) * 3
            _close(jg(x), cr.grad(f)(x))
        assert jg.stagings == 1


def test_integer_argument_to_grad_inside_jit_is_refused_as_without_jit() -> None:
    with pytest.raises(TypeError, match="has dtype int64"):
        cr.jit(cr.grad(lambda x: np.sum(x * x)))(np.array([1, 2]))


# -- package shape ------------------------------------------------------------------------


def test_jit_is_both_the_module_and_the_function() -> None:
    import chainrule.jit as m
    from chainrule import jit as from_package

    assert type(m).__name__ == "CallableModule"
    assert m is cr.jit and from_package is m
    assert m.jit is m.api.jit and m.Jitted is m.api.Jitted
    x = pos(4)
    staged = cr.jit(lambda x: np.sum(np.log(x) * x))
    assert isinstance(staged, m.Jitted)
    np.testing.assert_allclose(staged(x), np.sum(np.log(x) * x), rtol=1e-15)
    with pytest.raises(TypeError, match="needs a function, got a int"):
        cr.jit(3)
    import inspect

    # The module's call is the function itself, so every option of jit() passes through.
    assert inspect.signature(type(m).__call__) == inspect.signature(m.jit)
    np.testing.assert_allclose(cr.jit(lambda x: np.sum(x * x), fuse=False)(x), np.sum(x * x), rtol=1e-15)


@cr.jit
def _decorated(x: np.ndarray) -> np.ndarray:
    return np.sum(x**3)


def test_the_callable_module_works_as_a_decorator_and_with_static_argnums() -> None:
    x = sym(3)
    assert isinstance(_decorated, cr.jit.Jitted)
    np.testing.assert_allclose(_decorated(x), np.sum(x**3), rtol=1e-15)
    power = cr.jit(lambda x, k: np.sum(x**k), static_argnums=1)
    np.testing.assert_allclose(power(x, 3), np.sum(x**3), rtol=1e-15)
    assert power.static_argnums == frozenset({1})


def test_a_function_without_a_name_is_staged_and_named_by_its_type() -> None:
    import functools

    def scaled(a: float, x: np.ndarray) -> np.ndarray:
        return np.sum(a * x)

    x = pos(3)
    staged = cr.jit(functools.partial(scaled, 2.0))
    np.testing.assert_allclose(staged(x), 2.0 * np.sum(x), rtol=1e-15)
    np.testing.assert_allclose(staged(x + 1.0), 2.0 * np.sum(x + 1.0), rtol=1e-15)  # the staged code
    assert staged.stagings == 1
    assert repr(staged) == "<chainrule.jit of partial: 1 staging(s)>"
    assert "def partial_staged(x):" in staged.source(x)


def test_a_constant_never_takes_the_name_of_a_parameter_or_temporary() -> None:
    # The first constant array is named c0: a parameter named c0 shadowed it, and the staged
    # code multiplied the argument by itself (a silent wrong result on the second call).
    k = np.arange(3.0) + 5

    def f(c0, v0, region0):
        return np.sum(c0 * k) + np.sum(v0 * np.full(3, 2.0)) + np.sum(np.sin(region0) * k)

    g = cr.grad(f, argnums=(0, 1, 2))
    jg = cr.jit(g)
    x = np.ones(3)
    jg(x, x, x)
    for got, want in zip(jg(x, x, x), g(x, x, x)):
        assert np.array_equal(got, want)
    assert jg.eager_calls == 0


def test_parameters_named_like_temporaries_are_renamed() -> None:
    # Temporaries are v0, v1, ...: parameters named so were overwritten by them (the gradient
    # with respect to v0 read sin(v0) instead of v0, silently).
    def f(v0, v1):
        return np.sum(np.sin(v0) * v1)

    g = cr.grad(f, argnums=(0, 1))
    jg = cr.jit(g)
    x, y = np.full(3, 0.5), np.arange(3.0)
    jg(x, y)
    for got, want in zip(jg(x, y), g(x, y)):
        assert np.array_equal(got, want)
    assert "def f_staged(a_v0, a_v1)" in jg.source(x, y)
