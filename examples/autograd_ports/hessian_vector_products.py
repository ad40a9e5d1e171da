"""Newton-CG with Hessian-vector products, never forming the Hessian (after autograd's make_hvp examples).

``chainrule.hvp(f, (x,), (v,))`` is forward mode over reverse mode: ``H v`` at
the cost of about two gradients. Conjugate gradients needs nothing else, so
a truncated Newton method fits a regularized logistic regression in a few
steps. The products are checked against the full ``chainrule.hessian``.

Run::

    python examples/autograd_ports/hessian_vector_products.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


def make_data(seed: int, n: int = 60, d: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((n, d))
    labels = np.sign(inputs @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n))
    return inputs, labels


def loss(w: Any, inputs: Any, labels: Any) -> Any:
    return np.mean(np.logaddexp(0.0, -labels * (inputs @ w))) + 0.05 * (w @ w)


def conjugate_gradient(matvec: Callable[[Any], Any], b: Any, iterations: int) -> Any:
    x = np.zeros_like(b)
    r = b - matvec(x)
    p = r
    for _ in range(iterations):
        ap = matvec(p)
        alpha = (r @ r) / (p @ ap)
        x = x + alpha * p
        r_new = r - alpha * ap
        if np.sqrt(r_new @ r_new) < 1e-12:
            break
        p = r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """``v^T H(w) v``: differentiating it is a third derivative of the loss."""
    inputs, labels = make_data(seed, n=10, d=3)
    v = np.array([1.0, -0.5, 2.0])
    f = lambda w: v @ cr.hvp(lambda w: loss(w, inputs, labels), (w,), (v,))
    return f, (np.random.default_rng(seed).standard_normal(3),)


def main(seed: int = 0) -> dict[str, float]:
    inputs, labels = make_data(seed)
    f = lambda w: loss(w, inputs, labels)
    w = np.zeros(inputs.shape[1])
    v = np.arange(1.0, 1.0 + inputs.shape[1])
    hvp_error = float(np.max(np.abs(cr.hvp(f, (w,), (v,)) - cr.hessian(f)(w) @ v)))
    initial = float(f(w))
    for _ in range(5):
        step = conjugate_gradient(lambda u, w=w: cr.hvp(f, (w,), (u,)), -cr.grad(f)(w), 10)
        w = w + step
    return {"initial_loss": initial, "final_loss": float(f(w)), "hvp_error": hvp_error,
            "final_gradient_norm": float(np.linalg.norm(cr.grad(f)(w)))}  # fmt: skip


if __name__ == "__main__":
    print(main())
