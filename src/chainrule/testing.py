"""Test helpers: check any differentiable function's rules against finite differences.

:func:`check_grads` compares reverse mode (``vjp``) and forward mode (``jvp``)
with a fourth-order central difference along random directions, and recurses
for higher orders: at order 2 it checks the derivative of ``x -> u^T J(x)``
(reverse over reverse) and of ``x -> J(x) v`` (forward over forward), which
exercises every rule's own rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .pytree import tree_flatten, tree_unflatten
from .transforms import jvp, vjp

__all__ = ["check_grads"]


def _vdot(a: Any, b: Any) -> float:
    la, _ = tree_flatten(a)
    lb, _ = tree_flatten(b)
    return float(
        sum(np.sum(np.asarray(x, dtype=np.float64) * np.asarray(y, dtype=np.float64)) for x, y in zip(la, lb))
    )


def _axpy(alpha: float, v: Sequence[Any], x: Sequence[Any]) -> list[Any]:
    return [np.asarray(xi + alpha * vi, dtype=np.result_type(xi)) for xi, vi in zip(x, v)]


def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    leaves, treedef = tree_flatten(tree)
    out = [rng.standard_normal(np.shape(x)).astype(np.result_type(x, np.float32)) for x in leaves]
    return tree_unflatten(treedef, out)


def _numeric_directional(f: Callable[..., Any], args: Sequence[Any], v: Sequence[Any], h: float) -> Any:
    """Fourth-order central difference of ``f`` at ``args`` along ``v`` (output-shaped)."""
    f2p = tree_flatten(f(*_axpy(2 * h, v, args)))[0]
    f1p = tree_flatten(f(*_axpy(h, v, args)))[0]
    f1m = tree_flatten(f(*_axpy(-h, v, args)))[0]
    f2m = tree_flatten(f(*_axpy(-2 * h, v, args)))[0]
    return [
        (-np.asarray(a, np.float64) + 8 * np.asarray(b, np.float64) - 8 * np.asarray(c, np.float64)
         + np.asarray(d, np.float64)) / (12 * h)
        for a, b, c, d in zip(f2p, f1p, f1m, f2m)
    ]  # fmt: skip


def check_grads(
    f: Callable[..., Any],
    *args: Any,
    order: int = 2,
    modes: Sequence[str] = ("rev", "fwd"),
    h: float = 1e-3,
    rtol: float = 1e-6,
    atol: float = 1e-7,
    seed: int = 0,
) -> None:
    """Assert that ``f``'s derivatives up to ``order`` match finite differences.

    ``args`` are float arrays (all differentiated); ``f`` may return any
    pytree of arrays. Random directions ``v`` (inputs) and ``u`` (outputs)
    give one scalar per mode, ``u . J v``, compared with the numerical value
    to ``atol + rtol * scale``. Raises ``AssertionError`` naming the order and
    mode that disagree.

    Examples
    --------
    >>> import numpy as np
    >>> check_grads(lambda x, y: np.sin(x) * y, np.array([0.3, 1.2]), np.array([[2.0], [0.5]]))
    """
    rng = np.random.default_rng(seed)
    args = tuple(np.asarray(a, dtype=np.float64) for a in args)
    v = [rng.standard_normal(np.shape(a)) for a in args]
    out = f(*args)
    u = _random_like(out, rng)
    u_leaves = tree_flatten(u)[0]
    numeric = _numeric_directional(f, args, v, h)
    expected = float(sum(np.sum(ui * ni) for ui, ni in zip(u_leaves, numeric)))
    scale = float(sum(np.sum(np.abs(ui * ni)) for ui, ni in zip(u_leaves, numeric))) + 1.0
    for mode in modes:
        if mode == "rev":
            _, vjp_fn = vjp(f, *args)
            got = _vdot(vjp_fn(u), v)
        elif mode == "fwd":
            _, tangent = jvp(f, tuple(args), tuple(v))
            got = _vdot(u, tangent)
        else:
            raise ValueError(f"unknown mode {mode!r}; use 'rev' and/or 'fwd'")
        if not abs(got - expected) <= atol + rtol * scale:
            raise AssertionError(
                f"order-1 {mode}-mode derivative of {getattr(f, '__name__', f)} disagrees with "
                f"finite differences: u.Jv = {got!r} by {mode}, {expected!r} numerically "
                f"(difference {abs(got - expected):.3g}, tolerance {atol + rtol * scale:.3g})"
            )
    if order > 1:
        for mode in modes:
            if mode == "rev":

                def first(*xs: Any) -> Any:
                    return vjp(f, *xs)[1](u)

            else:

                def first(*xs: Any) -> Any:
                    return jvp(f, tuple(xs), tuple(v))[1]

            first.__name__ = f"{mode} derivative of {getattr(f, '__name__', 'f')}"
            check_grads(first, *args, order=order - 1, modes=modes, h=h, rtol=rtol, atol=atol, seed=seed + 1)
