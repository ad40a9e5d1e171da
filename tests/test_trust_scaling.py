"""Issue 11, quadratic costs: each of these grew as n**2 and must grow as n.

Each test times a size n and 4n (best of a few runs, the garbage collector
off) and asserts the ratio is well under 16, what a quadratic cost gives; 4 is
linear, and the margin absorbs a loaded machine.
"""

from __future__ import annotations

import contextlib
import gc
import io
import time

import numpy as np

import chainrule as cr
from chainrule.cli import main

LINEAR_ENOUGH = 9.0  # quadratic: 16


def _best(fn, n, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn(n)
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best


def _ratio(fn, n):
    fn(n // 4)  # warm up (imports, caches)
    small, large = _best(fn, n), _best(fn, 4 * n)
    return large / small, (small, large)


def _stack(n):
    xs = list(np.linspace(0.1, 1.0, n))  # NumPy scalars: named lazily, never per leaf
    g = cr.grad(lambda xs: np.sum(np.stack(xs) ** 2))(xs)
    assert g[-1] == 2.0


def _concatenate(n):
    xs = [np.array([v]) for v in np.linspace(0.1, 1.0, n)]
    g = cr.grad(lambda xs: np.sum(np.concatenate(xs) ** 2))(xs)
    assert g[-1][0] == 2.0


def _stack_forward(n):
    xs = tuple(np.linspace(0.1, 1.0, n))
    _, t = cr.jvp(lambda *xs: np.stack(xs), xs, tuple(np.ones(n)))
    assert t.shape == (n,)


def _at_names(n):
    args = ["explain", "x0 * x1 + sin(x2)", "--at", *[f"x{i}=1" for i in range(n)], "--plain"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 0


def test_stack_of_many_traced_scalars_is_linear():
    ratio, times = _ratio(_stack, 2000)
    assert ratio < LINEAR_ENOUGH, times


def test_concatenate_of_many_traced_arrays_is_linear():
    ratio, times = _ratio(_concatenate, 2000)
    assert ratio < LINEAR_ENOUGH, times


def test_forward_mode_stack_of_many_tangents_is_linear():
    ratio, times = _ratio(_stack_forward, 2000)
    assert ratio < LINEAR_ENOUGH, times


def test_many_at_names_are_linear():
    ratio, times = _ratio(_at_names, 1500)
    assert ratio < LINEAR_ENOUGH, times


def test_variadic_rules_see_every_traced_position_once():
    # The mechanism behind the timings: one rule call per application, whatever n.
    from chainrule.rules import joining

    calls = []
    real = joining.stack_p.joint_vjp

    def counting(argnums, ans, *arrays, **kw):
        calls.append(len(argnums))
        return real(argnums, ans, *arrays, **kw)

    joining.stack_p.joint_vjp = counting
    try:
        cr.grad(lambda xs: np.sum(np.stack(xs) * np.arange(5.0)))(list(np.ones(5)))
    finally:
        joining.stack_p.joint_vjp = real
    assert calls == [5]


def test_variadic_rules_are_still_right_with_constants_among_traced_values():
    x, c = np.array([1.0, 2.0]), np.array([5.0, 7.0])
    for fn in (
        lambda x: np.stack([c, x, c, x * 3], axis=1),
        lambda x: np.concatenate([c, x, c, x * 3]),
        lambda x: np.einsum("i,i,i->i", x, c, x),
    ):
        cr.check_grad(lambda x, fn=fn: np.sum(np.sin(fn(x))), x, modes=("rev", "fwd"), order=2)
