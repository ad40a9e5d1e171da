"""A function restricted to a line through the point: ``t -> f(x0 + t d)``, evaluated with care.

Every operator reduces to derivatives along lines: a partial derivative is
the line along one input (``d = h e_i``), an elementwise derivative moves
every element at once (``d = h``), a directional derivative moves along the
user's direction. The unit of ``t`` is the step ``h``, so the formulas work
in ``t`` and the caller divides by ``h**n``.

:class:`Line` caches values by ``t`` (stencils at several step sizes share
points), keeps non-finite values for the caller to judge (the adaptive method
drops such steps; the stencils switch to one side), and builds the
:class:`~chainrule.numerical.NonFiniteError` that names the point, the input
and the shift.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, NamedTuple

import numpy as np

from .evaluate import Evaluator, NonFiniteError, nonfinite_error

__all__ = ["Line"]

#: ``describe(shift_t, output_element) -> "argument 0 ('x')[3] = 1e-06 moved by -2e-06 to -1e-06"``
Describe = Callable[[Any, int], str]


class Line:
    """``t -> f(x0 + t d)`` as flat output vectors, counted, cached and checked."""

    def __init__(
        self,
        ev: Evaluator,
        x0: np.ndarray,
        direction: np.ndarray,
        describe: Describe,
        executor: Executor | None = None,
        element: int | None = None,
    ):
        self.ev = ev
        self.x0 = x0
        self.direction = direction
        self.describe = describe
        self.executor = executor
        self.element = element  # the one input moved, for a line along one input
        self.cache: dict[Any, np.ndarray] = {0.0: ev.f0}
        self._input_noise: float | None = None

    @property
    def input_noise(self) -> float:
        """How far (in units of t) rounding ``x0 + t d`` to the inputs' precision can shift a point."""
        if self._input_noise is None:
            if self.element is not None:
                i = self.element
                ratio = abs(float(self.x0[i])) / abs(float(self.direction[i]))
            else:
                moved = self.direction != 0
                ratio = float(np.max(np.abs(self.x0[moved]) / np.abs(self.direction[moved]), initial=0.0))
            self._input_noise = ratio * self.ev.input_eps
        return self._input_noise

    @property
    def eps(self) -> float:
        return self.ev.eps

    def point(self, t: Any) -> np.ndarray:
        if self.element is not None and not isinstance(t, complex):
            x: np.ndarray = self.x0.copy()  # one input moves: no full multiply-add
            x[self.element] += t * self.direction[self.element]
            return x
        moved: np.ndarray = self.x0 + t * self.direction
        return moved

    def values(self, ts: Sequence[Any]) -> list[np.ndarray]:
        """The flat outputs at each ``t`` (non-finite values kept)."""
        todo = [t for t in dict.fromkeys(ts) if t not in self.cache]
        moved = self.element if all(not isinstance(t, complex) for t in todo) else None
        outs = self.ev.many([self.point(t) for t in todo], self.executor, moved=moved)
        self.cache.update(zip(todo, outs))
        return [self.cache[t] for t in ts]

    def error(self, t: Any, y: np.ndarray) -> NonFiniteError:
        """The NonFiniteError for the non-finite output ``y`` at ``t``."""
        j = int(np.flatnonzero(~np.isfinite(y))[0])
        return nonfinite_error(self.ev.f, y, j, self.describe(t, j))


def describe_element(label: str | Callable[[], str], base: float, h: float) -> Describe:
    """Messages for a line along one input element ``label`` (value ``base``, step unit ``h``).

    ``label`` may be a function, called only when a message is needed.
    """

    def describe(t: Any, j: int) -> str:
        shift = t * h
        name = label() if callable(label) else label
        return f"{name} = {_fmt(base, 17)} moved by {_fmt(shift)} to {_fmt(base + shift, 17)}"

    return describe


def describe_elementwise(label: Callable[[int], str], x0: np.ndarray, h: np.ndarray) -> Describe:
    """Messages for an elementwise line: output element ``j`` depends on input element ``j``."""

    def describe(t: Any, j: int) -> str:
        i = j if j < x0.size else 0
        shift = t * h[i]
        return f"{label(i)} = {_fmt(x0[i], 17)} moved by {_fmt(shift)} to {_fmt(x0[i] + shift, 17)}"

    return describe


def describe_direction(what: str, h: float) -> Describe:
    def describe(t: Any, j: int) -> str:
        return f"{what} moved by {_fmt(t * h)} times the direction"

    return describe


def _fmt(v: Any, digits: int = 3) -> str:
    """``digits`` significant digits; 17 means the shortest repr that reads back exactly."""
    if isinstance(v, complex | np.complexfloating):
        return f"({_fmt(v.real, digits)}{'+' if v.imag >= 0 else '-'}{_fmt(abs(v.imag), digits)}j)"
    return repr(float(v)) if digits >= 17 else f"{float(v):.{digits}g}"


class LineResult(NamedTuple):
    """A derivative along a line: value, error estimate (or None), status, note, and the step chosen."""

    value: np.ndarray
    error: np.ndarray | None
    status: int = 0
    note: str = ""
    step: np.ndarray | float = 1.0  # the step chosen, in units of t (adaptive: per output element)

    def estimated_error(self) -> np.ndarray:
        """The error estimate, for a difference taken with ``estimate=True`` (the adaptive method always)."""
        if self.error is None:
            raise AssertionError("no error estimate: the difference was taken with estimate=False")
        return self.error
