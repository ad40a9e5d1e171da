"""Activation functions, written with NumPy operations so that chainrule differentiates them.

Each is a plain function of an array (traced or not). The numerically
delicate ones avoid overflow in the value *and* in the derivative:

* ``sigmoid`` is ``0.5 * (1 + tanh(x / 2))``, finite for any ``x``;
* ``softplus`` is ``logaddexp(0, x)``, whose derivative ``exp(x - ans)`` never overflows;
* ``logsumexp``, ``log_softmax`` and ``softmax`` subtract the maximum (a
  constant: the result does not depend on it, so no derivative flows through it).

Subgradients at kinks: ``relu`` and ``leaky_relu`` take the left derivative
at 0 (0 and ``alpha``), ``elu`` takes ``alpha`` at 0 (the left derivative;
with ``alpha = 1`` the function is differentiable there).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine import primal
from .validation import real

__all__ = [
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "logsumexp",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def relu(x: Any) -> Any:
    """``max(x, 0)``; derivative 0 at 0.

    >>> relu(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    """
    return np.where(x > 0, x, 0.0)


def leaky_relu(x: Any, alpha: float = 0.01) -> Any:
    """``x`` for ``x > 0``, ``alpha * x`` otherwise.

    >>> leaky_relu(np.array([-2.0, 3.0]), alpha=0.1)
    array([-0.2,  3. ])
    """
    alpha = real("leaky_relu", "alpha", alpha)
    return np.where(x > 0, x, alpha * x)


def elu(x: Any, alpha: float = 1.0) -> Any:
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    >>> elu(np.array([0.0, 1.0]))
    array([0., 1.])
    """
    alpha = real("elu", "alpha", alpha)
    negative = np.where(x > 0, 0.0, x)  # exp is never taken of a large positive x
    return np.where(x > 0, x, alpha * np.expm1(negative))


def gelu(x: Any, approximate: bool = True) -> Any:
    """Gaussian error linear unit ``x * Phi(x)``.

    ``approximate=True`` uses the tanh approximation; ``False`` the exact
    form with ``scipy.special.erf``.

    >>> round(float(gelu(np.array(1.0), approximate=False)), 6)
    0.841345
    """
    if not isinstance(approximate, bool | np.bool_):
        raise TypeError(f"gelu: approximate must be True or False, not {type(approximate).__name__}")
    if approximate:
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + np.tanh(inner))
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x * _INV_SQRT2))


def tanh(x: Any) -> Any:
    """Hyperbolic tangent."""
    return np.tanh(x)


def sigmoid(x: Any) -> Any:
    """Logistic function ``1 / (1 + exp(-x))``, without overflow.

    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, without overflow.

    >>> softplus(np.array([0.0, 1000.0]))
    array([6.93147181e-01, 1.00000000e+03])
    """
    return np.logaddexp(0.0, x)


def _shift(x: Any, axis: int) -> Any:
    """The (plain) maximum along ``axis``, 0 where it is not finite: a constant."""
    m = np.max(primal(x), axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0.0).astype(np.result_type(primal(x)))


def logsumexp(x: Any, axis: int = -1, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))``, stable for large ``|x|``.

    >>> float(logsumexp(np.array([1000.0, 1000.0])))  # doctest: +ELLIPSIS
    1000.693147...
    """
    m = _shift(x, axis)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - logsumexp(x)`` along ``axis``: log-probabilities.

    >>> log_softmax(np.array([0.0, 1000.0]))
    array([-1000.,     0.])
    """
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x: Any, axis: int = -1) -> Any:
    """Probabilities ``exp(x) / sum(exp(x))`` along ``axis``.

    >>> softmax(np.array([0.0, 0.0]))
    array([0.5, 0.5])
    """
    e = np.exp(x - _shift(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)
