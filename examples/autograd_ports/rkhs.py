"""Gradient descent in a kernel Hilbert space, with functions as pytrees (after autograd's rkhs.py).

autograd's example gives functions of an RKHS a vector space of their own so
that ``grad`` of a functional returns a function. In chainrule the same role
is played by :func:`chainrule.register_pytree_node`: a kernel expansion
``f(x) = sum_i a_i k(c_i, x)`` is a tree whose leaf is the coefficient
vector (the centres are structure), so ``grad`` of a functional of ``f`` is
again a kernel expansion. Converting that Euclidean gradient to the RKHS
gradient (solving with the Gram matrix) gives functional gradient descent
for kernel ridge regression.

Run::

    python examples/autograd_ports/rkhs.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


def kernel(x: Any, y: Any, lengthscale: float = 0.5) -> Any:
    return np.exp(-((np.subtract.outer(x, y)) ** 2) / (2.0 * lengthscale**2))


class KernelExpansion:
    """``x -> sum_i coefs[i] * kernel(centres[i], x)``."""

    def __init__(self, centres: tuple[float, ...], coefs: Any):
        self.centres = centres
        self.coefs = coefs

    def __call__(self, x: Any) -> Any:
        return self.coefs @ kernel(np.array(self.centres), x)

    def norm_squared(self) -> Any:
        return self.coefs @ kernel(np.array(self.centres), np.array(self.centres)) @ self.coefs


cr.register_pytree_node(
    KernelExpansion,
    lambda f: ((f.coefs,), f.centres),  # the centres (a tuple: hashable) are the structure
    lambda centres, children: KernelExpansion(centres, children[0]),
)


def regression_loss(f: KernelExpansion, xs: Any, ys: Any, reg: float) -> Any:
    return np.sum((f(xs) - ys) ** 2) + reg * f.norm_squared()


def rkhs_gradient(f: KernelExpansion, euclidean: KernelExpansion) -> KernelExpansion:
    """The RKHS gradient from the gradient in the coefficients: K g_rkhs = g_coefs."""
    gram = kernel(np.array(f.centres), np.array(f.centres))
    return KernelExpansion(f.centres, np.linalg.solve(gram + 1e-8 * np.eye(len(f.centres)), euclidean.coefs))


def make_data(seed: int, n: int = 15) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = np.sort(rng.uniform(-2.0, 2.0, n))
    return xs, np.sin(2.0 * xs) + 0.05 * rng.standard_normal(n)


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    xs, ys = make_data(seed, n=5)
    f = KernelExpansion(tuple(xs), np.random.default_rng(seed).standard_normal(5))
    return (lambda f: regression_loss(f, xs, ys, 0.1)), (f,)


def main(seed: int = 0) -> dict[str, float]:
    xs, ys = make_data(seed)
    f = KernelExpansion(tuple(xs), np.zeros(len(xs)))
    loss_grad = cr.grad(regression_loss)
    initial = float(regression_loss(f, xs, ys, 0.01))
    for _ in range(100):
        g = rkhs_gradient(f, loss_grad(f, xs, ys, 0.01))  # a KernelExpansion, like f
        f = cr.tree_map(lambda a, b: a - 0.05 * b, f, g)
    return {"initial_loss": initial, "final_loss": float(regression_loss(f, xs, ys, 0.01)),
            "gradient_type_is_function": float(isinstance(g, KernelExpansion))}  # fmt: skip


if __name__ == "__main__":
    print(main())
