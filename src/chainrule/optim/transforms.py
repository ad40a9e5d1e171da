"""The building blocks: small gradient transformations to :func:`~chainrule.optim.chain`.

Each function returns a :class:`~chainrule.optim.GradientTransformation` whose
state is a ``NamedTuple``. All of them but :func:`scale_by_learning_rate` keep
the direction of their input; :func:`scale_by_learning_rate` multiplies by
``-learning_rate`` and so turns a gradient-like direction into a descent
update. **Updates are ADDED to the parameters**
(:func:`~chainrule.optim.apply_updates`).

Every state and update leaf has the dtype of its gradient leaf: constants are
Python floats, so a float32 gradient gives float32 moments and updates.

Examples
--------
>>> import numpy as np
>>> from chainrule.optim import chain, clip, scale_by_learning_rate
>>> opt = chain(clip(1.0), scale_by_learning_rate(0.1))
>>> updates, state = opt.update(np.array([5.0, -0.5]), opt.init(np.zeros(2)))
>>> updates
array([-0.1 ,  0.05])
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .base import (
    EmptyState,
    GradientTransformation,
    tree_global_norm,
    tree_map_checked,
    tree_zeros_like,
)
from .schedules import Schedule, as_schedule

__all__ = [
    "AdamState",
    "LionState",
    "RmsState",
    "RssState",
    "ScheduleState",
    "TraceState",
    "add_decayed_weights",
    "clip",
    "clip_by_global_norm",
    "identity",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_momentum",
    "trace",
]


class ScheduleState(NamedTuple):
    """How many updates have been made (the schedule's argument)."""

    count: int  # type: ignore[assignment]  # a field named like tuple.count, as in optax


class TraceState(NamedTuple):
    """The momentum buffer."""

    momentum: Any


class RssState(NamedTuple):
    """Adagrad's running sum of squared gradients."""

    sum_of_squares: Any


class RmsState(NamedTuple):
    """RMSprop's moving average of squared gradients."""

    mean_square: Any


class AdamState(NamedTuple):
    """Adam's step count and first and second moment estimates."""

    count: int  # type: ignore[assignment]  # a field named like tuple.count, as in optax
    mu: Any
    nu: Any


class LionState(NamedTuple):
    """Lion's momentum."""

    momentum: Any


def _check_rate(name: str, value: float, low: float = 0.0, high: float = 1.0) -> float:
    value = float(value)
    if not low <= value < high:
        raise ValueError(f"{name} must be in [{low}, {high}), got {value}")
    return value


def identity() -> GradientTransformation:
    """Pass updates through unchanged."""
    return GradientTransformation(lambda params: EmptyState(), lambda g, state, params=None: (g, state))


def scale(factor: float) -> GradientTransformation:
    """Multiply updates by ``factor`` (no sign change; see :func:`scale_by_learning_rate`).

    >>> scale(2.0).update(np.array([1.0]), EmptyState())[0]
    array([2.])
    """
    factor = float(factor)

    def update(updates: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        return tree_map_checked(lambda u: factor * u, updates), state

    return GradientTransformation(lambda params: EmptyState(), update)


def scale_by_learning_rate(learning_rate: float | Schedule) -> GradientTransformation:
    """Multiply by ``-learning_rate``: a direction becomes a descent update to be ADDED.

    ``learning_rate`` is a positive float or a schedule ``step -> float``
    (see :mod:`chainrule.optim.schedules`), evaluated at the number of
    updates made so far.

    >>> opt = scale_by_learning_rate(0.5)
    >>> opt.update(np.array([2.0]), opt.init(np.zeros(1)))[0]
    array([-1.])
    """
    schedule = as_schedule(learning_rate)

    def init(params: Any) -> ScheduleState:
        return ScheduleState(count=0)

    def update(updates: Any, state: ScheduleState, params: Any = None) -> tuple[Any, ScheduleState]:
        step = -float(schedule(state.count))
        return tree_map_checked(lambda u: step * u, updates), ScheduleState(state.count + 1)

    return GradientTransformation(init, update)


def scale_by_momentum(decay: float = 0.9, nesterov: bool = False) -> GradientTransformation:
    """Heavy-ball momentum: ``m = g + decay * m``; output ``m`` (or ``g + decay * m``
    with ``nesterov``). The output points uphill like ``g``; scale it by
    :func:`scale_by_learning_rate` to descend. (optax calls this ``trace``; chainrule
    keeps that word for the engine's traces, and ``trace`` here only as an alias.)
    """
    decay = _check_rate("decay", decay)

    def update(grads: Any, state: TraceState, params: Any = None) -> tuple[Any, TraceState]:
        m = tree_map_checked(lambda g, m: g + decay * m, grads, state.momentum)
        out = tree_map_checked(lambda g, m: g + decay * m, grads, m) if nesterov else m
        return out, TraceState(m)

    return GradientTransformation(lambda params: TraceState(tree_zeros_like(params)), update)


trace = scale_by_momentum  # optax's name, for people coming from optax


def scale_by_rss(initial_accumulator_value: float = 0.1, eps: float = 1e-7) -> GradientTransformation:
    """Adagrad's scaling: ``s += g**2``; output ``g / (sqrt(s) + eps)``."""
    initial = float(initial_accumulator_value)
    eps = float(eps)
    if initial < 0:
        raise ValueError(f"initial_accumulator_value must be >= 0, got {initial}")

    def init(params: Any) -> RssState:
        return RssState(tree_map_checked(lambda z: z + initial, tree_zeros_like(params)))

    def update(grads: Any, state: RssState, params: Any = None) -> tuple[Any, RssState]:
        s = tree_map_checked(lambda g, s: s + g * g, grads, state.sum_of_squares)
        out = tree_map_checked(lambda g, s: g / (np.sqrt(s) + eps), grads, s)
        return out, RssState(s)

    return GradientTransformation(init, update)


def scale_by_rms(decay: float = 0.9, eps: float = 1e-8, initial_scale: float = 0.0) -> GradientTransformation:
    """RMSprop's scaling: ``v = decay * v + (1 - decay) * g**2``; output ``g / (sqrt(v) + eps)``."""
    decay = _check_rate("decay", decay)
    eps, initial_scale = float(eps), float(initial_scale)

    def init(params: Any) -> RmsState:
        return RmsState(tree_map_checked(lambda z: z + initial_scale, tree_zeros_like(params)))

    def update(grads: Any, state: RmsState, params: Any = None) -> tuple[Any, RmsState]:
        v = tree_map_checked(lambda g, v: decay * v + (1.0 - decay) * (g * g), grads, state.mean_square)
        out = tree_map_checked(lambda g, v: g / (np.sqrt(v) + eps), grads, v)
        return out, RmsState(v)

    return GradientTransformation(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """Adam's scaling with bias correction: output ``m_hat / (sqrt(v_hat) + eps)``.

    The output points uphill like the gradient; scale it by
    :func:`scale_by_learning_rate` to descend.
    """
    b1, b2 = _check_rate("b1", b1), _check_rate("b2", b2)
    eps = float(eps)

    def init(params: Any) -> AdamState:
        return AdamState(0, tree_zeros_like(params), tree_zeros_like(params))

    def update(grads: Any, state: AdamState, params: Any = None) -> tuple[Any, AdamState]:
        count = state.count + 1
        mu = tree_map_checked(lambda g, m: b1 * m + (1.0 - b1) * g, grads, state.mu)
        nu = tree_map_checked(lambda g, v: b2 * v + (1.0 - b2) * (g * g), grads, state.nu)
        c1 = 1.0 - b1**count
        c2 = 1.0 - b2**count
        out = tree_map_checked(lambda m, v: (m / c1) / (np.sqrt(v / c2) + eps), mu, nu)
        return out, AdamState(count, mu, nu)

    return GradientTransformation(init, update)


def scale_by_lion(b1: float = 0.9, b2: float = 0.99) -> GradientTransformation:
    """Lion's direction: ``sign(b1 * m + (1 - b1) * g)``, then ``m = b2 * m + (1 - b2) * g``."""
    b1, b2 = _check_rate("b1", b1), _check_rate("b2", b2)

    def update(grads: Any, state: LionState, params: Any = None) -> tuple[Any, LionState]:
        out = tree_map_checked(lambda g, m: np.sign(b1 * m + (1.0 - b1) * g), grads, state.momentum)
        m = tree_map_checked(lambda g, m: b2 * m + (1.0 - b2) * g, grads, state.momentum)
        return out, LionState(m)

    return GradientTransformation(lambda params: LionState(tree_zeros_like(params)), update)


def clip(max_delta: float) -> GradientTransformation:
    """Clip each update element to ``[-max_delta, max_delta]`` (clipping by value).

    >>> clip(1.0).update(np.array([3.0, -0.5, -2.0]), EmptyState())[0]
    array([ 1. , -0.5, -1. ])
    """
    max_delta = float(max_delta)
    if not max_delta > 0:
        raise ValueError(f"max_delta must be positive, got {max_delta}")

    def update(updates: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        return tree_map_checked(lambda u: np.clip(u, -max_delta, max_delta), updates), state

    return GradientTransformation(lambda params: EmptyState(), update)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Rescale all updates together so that their joint Euclidean norm is at most ``max_norm``.

    >>> clip_by_global_norm(1.0).update({"a": np.array([3.0]), "b": np.array([4.0])}, EmptyState())[0]
    {'a': array([0.6]), 'b': array([0.8])}
    """
    max_norm = float(max_norm)
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")

    def update(updates: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        norm = tree_global_norm(updates)
        if norm <= max_norm or not math.isfinite(norm):
            return updates, state
        factor = max_norm / norm
        return tree_map_checked(lambda u: factor * u, updates), state

    return GradientTransformation(lambda params: EmptyState(), update)


def add_decayed_weights(weight_decay: float) -> GradientTransformation:
    """Add ``weight_decay * params`` to the updates (decoupled weight decay).

    Placed before :func:`scale_by_learning_rate` in a chain, the result is
    ``-lr * (direction + weight_decay * params)``: the weights shrink.

    >>> add_decayed_weights(0.1).update(np.array([1.0]), EmptyState(), np.array([2.0]))[0]
    array([1.2])
    """
    weight_decay = float(weight_decay)

    def update(updates: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        if params is None:
            raise ValueError("add_decayed_weights needs the params: call update(grads, state, params)")
        out = tree_map_checked(
            lambda u, p: u + weight_decay * p, updates, params, names=("updates", "params")
        )
        return out, state

    return GradientTransformation(lambda params: EmptyState(), update)
