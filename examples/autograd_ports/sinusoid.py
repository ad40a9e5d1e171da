"""Differentiating through a Python while loop: a Taylor series for sine (after autograd's sinusoid.py).

The series is summed until the next term is small, so the number of terms
depends on ``x``: ordinary control flow on traced values, decided by their
values. The derivative of the truncated series is the truncated series of
the derivative, close to ``cos(x)``; the second, close to ``-sin(x)``.

Run::

    python examples/autograd_ports/sinusoid.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


def taylor_sine(x: Any) -> Any:
    term = x
    total = term
    i = 0
    while np.abs(term) > 1e-10:  # a comparison has no derivative: a plain bool
        term = -term * x**2 / ((2 * i + 3) * (2 * i + 2))
        total = total + term
        i += 1
    return total


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    x = float(np.random.default_rng(seed).uniform(-3.0, 3.0))
    return taylor_sine, (x,)


def main(seed: int = 0) -> dict[str, float]:
    d1 = cr.grad(taylor_sine)
    d2 = cr.grad(d1)
    xs = np.linspace(-5.0, 5.0, 21)
    err1 = max(abs(float(d1(x)) - np.cos(x)) for x in xs)
    err2 = max(abs(float(d2(x)) + np.sin(x)) for x in xs)
    return {"max_error_first": err1, "max_error_second": err2}


if __name__ == "__main__":
    print(main())
