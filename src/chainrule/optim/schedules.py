"""Learning-rate schedules: functions from the step count (0, 1, 2, ...) to a positive float.

Any optimizer's ``learning_rate`` may be a float or one of these. A schedule
gives a step *size*; the optimizer applies the minus sign (updates are ADDED
to the parameters, so a descent update is ``-schedule(step) * direction``).

Examples
--------
>>> s = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=10, decay_steps=110)
>>> [round(s(k), 3) for k in (0, 5, 10, 60, 110, 200)]
[0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "Schedule",
    "constant_schedule",
    "cosine_decay_schedule",
    "exponential_decay_schedule",
    "join_schedules",
    "linear_schedule",
    "piecewise_constant_schedule",
    "step_decay_schedule",
    "warmup_cosine_decay_schedule",
]

Schedule = Callable[[int], float]


def _positive_int(name: str, value: int) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def constant_schedule(value: float) -> Schedule:
    """The same step size at every step.

    >>> constant_schedule(0.1)(1000)
    0.1
    """
    value = float(value)
    return lambda count: value


def piecewise_constant_schedule(init_value: float, boundaries_and_scales: dict[int, float]) -> Schedule:
    """Start at ``init_value``; from step ``b`` on, multiply by ``scale`` for each ``b: scale``.

    >>> s = piecewise_constant_schedule(1.0, {10: 0.1, 20: 0.5})
    >>> s(9), s(10), s(25)
    (1.0, 0.1, 0.05)
    """
    items = sorted((int(b), float(s)) for b, s in boundaries_and_scales.items())
    init_value = float(init_value)

    def schedule(count: int) -> float:
        value = init_value
        for boundary, scale in items:
            if count >= boundary:
                value *= scale
        return value

    return schedule


def step_decay_schedule(init_value: float, step_size: int, decay_rate: float) -> Schedule:
    """Multiply by ``decay_rate`` every ``step_size`` steps (a staircase).

    >>> s = step_decay_schedule(1.0, step_size=100, decay_rate=0.5)
    >>> s(99), s(100), s(250)
    (1.0, 0.5, 0.25)
    """
    step_size = _positive_int("step_size", step_size)
    init_value, decay_rate = float(init_value), float(decay_rate)
    return lambda count: init_value * decay_rate ** (count // step_size)


def exponential_decay_schedule(init_value: float, decay_rate: float, transition_steps: int) -> Schedule:
    """Smooth decay: ``init_value * decay_rate ** (count / transition_steps)``.

    >>> exponential_decay_schedule(1.0, 0.5, 10)(20)
    0.25
    """
    transition_steps = _positive_int("transition_steps", transition_steps)
    init_value, decay_rate = float(init_value), float(decay_rate)
    return lambda count: init_value * decay_rate ** (count / transition_steps)


def linear_schedule(init_value: float, end_value: float, transition_steps: int) -> Schedule:
    """Go linearly from ``init_value`` to ``end_value`` in ``transition_steps``, then stay
    (a linear warm-up when ``init_value < end_value``).

    Examples
    --------
    >>> s = linear_schedule(0.0, 1.0, 4)
    >>> [s(k) for k in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    transition_steps = _positive_int("transition_steps", transition_steps)
    init_value, end_value = float(init_value), float(end_value)

    def schedule(count: int) -> float:
        frac = min(count, transition_steps) / transition_steps
        return init_value + frac * (end_value - init_value)

    return schedule


def cosine_decay_schedule(init_value: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Half a cosine from ``init_value`` down to ``alpha * init_value`` over ``decay_steps``.

    >>> s = cosine_decay_schedule(1.0, 100)
    >>> s(0), s(50), s(100), s(1000)
    (1.0, 0.5, 0.0, 0.0)
    """
    decay_steps = _positive_int("decay_steps", decay_steps)
    init_value, alpha = float(init_value), float(alpha)

    def schedule(count: int) -> float:
        frac = min(count, decay_steps) / decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * frac))
        return init_value * ((1.0 - alpha) * cosine + alpha)

    return schedule


def warmup_cosine_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
) -> Schedule:
    """Linear warm-up from ``init_value`` to ``peak_value`` over ``warmup_steps``, then a
    cosine decay to ``end_value``; ``decay_steps`` counts the whole schedule (warm-up included).
    """
    warmup_steps = _positive_int("warmup_steps", warmup_steps)
    decay_steps = _positive_int("decay_steps", decay_steps)
    if decay_steps <= warmup_steps:
        raise ValueError(f"decay_steps ({decay_steps}) must exceed warmup_steps ({warmup_steps})")
    warmup = linear_schedule(init_value, peak_value, warmup_steps)
    peak_value, end_value = float(peak_value), float(end_value)
    span = decay_steps - warmup_steps

    def schedule(count: int) -> float:
        if count < warmup_steps:
            return warmup(count)
        frac = min(count - warmup_steps, span) / span
        return end_value + (peak_value - end_value) * 0.5 * (1.0 + math.cos(math.pi * frac))

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Use ``schedules[i]`` from ``boundaries[i-1]`` on, each restarted at count 0."""
    if len(boundaries) != len(schedules) - 1:
        raise ValueError("join_schedules needs one boundary fewer than schedules")

    def schedule(count: int) -> float:
        start = 0
        chosen = schedules[0]
        for s, b in zip(schedules[1:], boundaries):
            if count >= b:
                chosen, start = s, b
        return chosen(count - start)

    return schedule


def as_schedule(learning_rate: Any) -> Schedule:
    """A float becomes a :func:`constant_schedule`; a schedule stays as is."""
    if callable(learning_rate):
        schedule: Schedule = learning_rate
        return schedule
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
        raise TypeError(
            f"learning_rate must be a positive number such as 1e-3 or a schedule step -> number, "
            f"not {type(learning_rate).__name__} {learning_rate!r}"
        )
    if not (math.isfinite(learning_rate) and float(learning_rate) > 0):
        raise ValueError(
            f"learning_rate={learning_rate!r} must be finite and > 0 (updates are added with the minus "
            "sign of descent already in them; a negative rate would climb)"
        )
    return constant_schedule(float(learning_rate))
