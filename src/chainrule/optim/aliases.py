"""Ready-made optimizers, each a :func:`~chainrule.optim.chain` of small transformations.

Every optimizer here returns *updates to be ADDED* to the parameters:
``params = apply_updates(params, updates)`` is ``params + updates``, and the
updates already carry the minus sign of descent. ``learning_rate`` is a
positive float or a schedule (:mod:`chainrule.optim.schedules`).

Examples
--------
>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule.optim import adam, apply_updates
>>> loss = lambda p: np.sum((p - 3.0) ** 2)
>>> opt = adam(learning_rate=0.1)
>>> params = np.zeros(2)
>>> state = opt.init(params)
>>> for _ in range(300):
...     updates, state = opt.update(cr.grad(loss)(params), state, params)
...     params = apply_updates(params, updates)
>>> np.round(params, 3)
array([3., 3.])
"""

from __future__ import annotations

from .base import GradientTransformation, chain
from .schedules import Schedule
from .transforms import (
    add_decayed_weights,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_momentum,
    scale_by_rms,
    scale_by_rss,
)

__all__ = ["adagrad", "adam", "adamw", "lion", "momentum", "nesterov", "rmsprop", "sgd"]

LearningRate = float | Schedule


def sgd(learning_rate: LearningRate = 0.01) -> GradientTransformation:
    """Plain gradient descent: updates (to be ADDED) are ``-learning_rate * grad``."""
    return chain(scale_by_learning_rate(learning_rate))


def momentum(learning_rate: LearningRate = 0.01, beta: float = 0.9) -> GradientTransformation:
    """Heavy-ball momentum: ``m = g + beta * m``; updates (to be ADDED) are ``-learning_rate * m``."""
    return chain(scale_by_momentum(beta), scale_by_learning_rate(learning_rate))


def nesterov(learning_rate: LearningRate = 0.01, beta: float = 0.9) -> GradientTransformation:
    """Nesterov momentum: ``m = g + beta * m``; updates (to be ADDED) are
    ``-learning_rate * (g + beta * m)``."""
    return chain(scale_by_momentum(beta, nesterov=True), scale_by_learning_rate(learning_rate))


def adagrad(
    learning_rate: LearningRate = 0.1, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> GradientTransformation:
    """Adagrad: updates (to be ADDED) are ``-learning_rate * g / (sqrt(sum of g**2) + eps)``."""
    return chain(scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(learning_rate))


def rmsprop(
    learning_rate: LearningRate = 0.01, decay: float = 0.9, eps: float = 1e-8
) -> GradientTransformation:
    """RMSprop: updates (to be ADDED) are ``-learning_rate * g / (sqrt(mean of g**2) + eps)``."""
    return chain(scale_by_rms(decay, eps), scale_by_learning_rate(learning_rate))


def adam(
    learning_rate: LearningRate = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """Adam: updates (to be ADDED) are ``-learning_rate * m_hat / (sqrt(v_hat) + eps)``."""
    return chain(scale_by_adam(b1, b2, eps), scale_by_learning_rate(learning_rate))


def adamw(
    learning_rate: LearningRate = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
) -> GradientTransformation:
    """Adam with decoupled weight decay: updates (to be ADDED) are
    ``-learning_rate * (m_hat / (sqrt(v_hat) + eps) + weight_decay * params)``.

    Its minimum is that of ``loss`` only when ``weight_decay`` is 0; otherwise
    it is pulled towards zero.
    """
    return chain(
        scale_by_adam(b1, b2, eps), add_decayed_weights(weight_decay), scale_by_learning_rate(learning_rate)
    )


def lion(
    learning_rate: LearningRate = 1e-4, b1: float = 0.9, b2: float = 0.99, weight_decay: float = 0.0
) -> GradientTransformation:
    """Lion (evolved sign momentum): updates (to be ADDED) are
    ``-learning_rate * (sign(b1 * m + (1 - b1) * g) + weight_decay * params)``.

    Every coordinate moves by exactly ``learning_rate`` per step, so use a
    decaying schedule to settle on a minimum.
    """
    parts = [scale_by_lion(b1, b2)]
    if weight_decay:
        parts.append(add_decayed_weights(weight_decay))
    parts.append(scale_by_learning_rate(learning_rate))
    return chain(*parts)
