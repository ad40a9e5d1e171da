"""Higher derivatives of tanh by nesting elementwise_grad (after autograd's examples/tanh.py).

autograd's first example differentiates ``tanh`` six times over by wrapping
``elementwise_grad`` around itself. The same nesting works unchanged here;
the first three derivatives are compared with their closed forms in ``t = tanh(x)``:
``1 - t^2``, ``-2 t (1 - t^2)`` and ``(1 - t^2)(6 t^2 - 2)``.

Run::

    python examples/autograd_ports/tanh.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


def derivatives(order: int) -> list[Callable[[Any], Any]]:
    """``[tanh, tanh', tanh'', ...]`` up to ``order``, each one elementwise_grad of the last."""
    funs: list[Callable[[Any], Any]] = [np.tanh]
    for _ in range(order):
        funs.append(cr.elementwise_grad(funs[-1]))
    return funs


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """A scalar function of the program (the summed third derivative) and a point, for checking."""
    third = derivatives(3)[3]
    x = np.random.default_rng(seed).uniform(-2.0, 2.0, size=5)
    return (lambda x: np.sum(third(x))), (x,)


def main(seed: int = 0) -> dict[str, float]:
    x = np.linspace(-3.0, 3.0, 25)
    funs = derivatives(6)
    values = [f(x) for f in funs]
    t = np.tanh(x)
    closed = [1.0 - t**2, -2.0 * t * (1.0 - t**2), (1.0 - t**2) * (6.0 * t**2 - 2.0)]
    error = max(float(np.max(np.abs(v - c))) for v, c in zip(values[1:4], closed))
    return {"max_error_first_three": error, "sixth_derivative_at_0": float(funs[6](np.zeros(1))[0])}


if __name__ == "__main__":
    print(main())
