"""Plain-loop optimizers with HIPS autograd's signatures: ``adam(grad, x0, callback, num_iters, step_size)``.

For code that used ``autograd.misc.optimizers``: change the import and
nothing else. ``grad(x, i)`` is called with the current parameters (any
pytree: dicts, lists, tuples of arrays, as autograd's ``flatten`` allowed)
and the iteration number; ``callback(x, i, g)``, if given, sees them before
each step; the final parameters are returned. The steps are autograd's, to
the formula (``eps`` outside the square root; ``rmsprop`` starts its average
of squares at one), so a ported program follows the same path.

The optax-style transformations of :mod:`chainrule.optim` (``adam(0.01)``,
``init``/``update``) are the general form; these loops are written here on
trees with the same arithmetic rather than through them, to keep autograd's
formulas exact.

Examples
--------
>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule.optim.loops import adam
>>> objective = lambda x, i: np.sum((x - 3.0) ** 2)
>>> x = adam(cr.grad(objective), np.zeros(2), num_iters=500, step_size=0.1)
>>> np.round(x, 3)
array([3., 3.])
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..pytree import tree_map

__all__ = ["adam", "rmsprop", "sgd"]

Grad = Callable[[Any, int], Any]
Callback = Callable[[Any, int, Any], Any] | None


def _float_leaf(a: Any) -> Any:
    arr = np.asarray(a)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)  # integer starts become float


def _as_float(x: Any) -> Any:
    return tree_map(_float_leaf, x)


def _gradient(grad: Grad, x: Any, i: int) -> Any:
    g = grad(x, i)
    if g is None:
        raise TypeError("grad(x, i) returned None; it must return a gradient shaped like x")
    return g


def sgd(
    grad: Grad,
    x: Any,
    callback: Callback = None,
    num_iters: int = 200,
    step_size: float = 0.1,
    mass: float = 0.9,
) -> Any:
    """Gradient descent with momentum: ``v = mass * v - (1 - mass) * g``, ``x = x + step_size * v``.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> x = sgd(cr.grad(lambda x, i: np.sum((x - 1.0) ** 2)), np.zeros(1), num_iters=300)
    >>> np.round(x, 4)
    array([1.])
    """
    x = _as_float(x)
    velocity = tree_map(np.zeros_like, x)
    for i in range(num_iters):
        g = _gradient(grad, x, i)
        if callback is not None:
            callback(x, i, g)
        velocity = tree_map(lambda v, gi: mass * v - (1.0 - mass) * gi, velocity, g)
        x = tree_map(lambda xi, v: xi + step_size * v, x, velocity)
    return x


def rmsprop(
    grad: Grad,
    x: Any,
    callback: Callback = None,
    num_iters: int = 100,
    step_size: float = 0.1,
    gamma: float = 0.9,
    eps: float = 1e-8,
) -> Any:
    """Root-mean-square propagation: steps of ``step_size * g / (sqrt(avg of g**2) + eps)``.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> x = rmsprop(cr.grad(lambda x, i: np.sum((x - 1.0) ** 2)), np.zeros(1), num_iters=300,
    ...             step_size=0.01)
    >>> np.round(x, 2)
    array([1.])
    """
    x = _as_float(x)
    avg_sq = tree_map(np.ones_like, x)
    for i in range(num_iters):
        g = _gradient(grad, x, i)
        if callback is not None:
            callback(x, i, g)
        avg_sq = tree_map(lambda a, gi: gamma * a + (1.0 - gamma) * gi**2, avg_sq, g)
        x = tree_map(lambda xi, gi, a: xi - step_size * gi / (np.sqrt(a) + eps), x, g, avg_sq)
    return x


def adam(
    grad: Grad,
    x: Any,
    callback: Callback = None,
    num_iters: int = 100,
    step_size: float = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> Any:
    """Adam (Kingma and Ba, 2015) with bias correction, as a loop: returns the final parameters.

    ``grad(x, i)`` gives the gradient at ``x`` (iteration ``i``: for minibatches);
    ``callback(x, i, g)`` runs before each step.
    """
    x = _as_float(x)
    m = tree_map(np.zeros_like, x)
    v = tree_map(np.zeros_like, x)
    for i in range(num_iters):
        g = _gradient(grad, x, i)
        if callback is not None:
            callback(x, i, g)
        m = tree_map(lambda mi, gi: (1.0 - b1) * gi + b1 * mi, m, g)
        v = tree_map(lambda vi, gi: (1.0 - b2) * gi**2 + b2 * vi, v, g)
        x = tree_map(functools.partial(_adam_step, step_size, 1.0 - b1 ** (i + 1), 1.0 - b2 ** (i + 1), eps),
                     x, m, v)  # fmt: skip
    return x


def _adam_step(step_size: float, c1: float, c2: float, eps: float, x: Any, m: Any, v: Any) -> Any:
    return x - step_size * (m / c1) / (np.sqrt(v / c2) + eps)
