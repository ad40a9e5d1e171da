"""Differentiating a fixed point by the implicit function theorem (after autograd's fixed_points.py).

``fixed_point(f, a, x0)`` iterates ``x <- f(a)(x)`` to convergence; its
derivative in ``a`` does not need the iterations recorded: at the fixed point
``x* = f(a)(x*)``, and the cotangent of ``a`` is ``u^T d f / d a`` where ``u``
solves the adjoint fixed point ``u = g + u^T d f / d x``. It is a
``custom_vjp`` whose first argument, the function, is in ``nondiff_argnums``.
The example computes a square root by Newton's iteration and differentiates
it twice.

Run::

    python examples/autograd_ports/fixed_points.py
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


def _iterate(step: Callable[[Any], Any], x: Any, tol: float = 1e-14, max_iter: int = 200) -> Any:
    for _ in range(max_iter):
        new = step(x)
        if np.max(np.abs(cr.primal(new) - cr.primal(x))) < tol:
            return new
        x = new
    return x


@functools.partial(cr.custom_vjp, nondiff_argnums=(0,))
def fixed_point(f: Callable[[Any], Callable[[Any], Any]], a: Any, x0: Any) -> Any:
    return _iterate(f(a), x0)


def _fixed_point_fwd(f: Any, a: Any, x0: Any) -> tuple[Any, Any]:
    x_star = _iterate(f(a), x0)
    return x_star, (a, x_star)


def _fixed_point_bwd(f: Any, residuals: Any, g: Any) -> tuple[Any, Any]:
    a, x_star = residuals
    _, vjp_x = cr.vjp(lambda x: f(a)(x), x_star)
    u = _iterate(lambda u: g + vjp_x(u)[0], np.zeros_like(g))  # the adjoint fixed point
    _, vjp_a = cr.vjp(lambda a: f(a)(x_star), a)
    return vjp_a(u)[0], None  # the starting guess does not change the fixed point


fixed_point.defvjp(_fixed_point_fwd, _fixed_point_bwd)


def newton_sqrt_iter(a: Any) -> Callable[[Any], Any]:
    return lambda x: 0.5 * (x + a / x)


def sqrt(a: Any, guess: float = 10.0) -> Any:
    return fixed_point(newton_sqrt_iter, a, np.full(np.shape(a), guess))


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    a = np.random.default_rng(seed).uniform(0.5, 4.0, size=3)
    return (lambda a: np.sum(sqrt(a) ** 3)), (a,)


def main(seed: int = 0) -> dict[str, float]:
    a = np.array([2.0, 9.0])
    d1 = cr.elementwise_grad(sqrt)(a)
    d2 = cr.elementwise_grad(cr.elementwise_grad(sqrt))(a)
    return {"value_error": float(np.max(np.abs(sqrt(a) - np.sqrt(a)))),
            "first_derivative_error": float(np.max(np.abs(d1 - 0.5 / np.sqrt(a)))),
            "second_derivative_error": float(np.max(np.abs(d2 + 0.25 * a**-1.5)))}  # fmt: skip


if __name__ == "__main__":
    print(main())
