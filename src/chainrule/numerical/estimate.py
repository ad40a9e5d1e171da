"""The result of a numerical derivative together with what it cost and how good it is."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Estimate"]


class Estimate(NamedTuple):
    """A finite-difference derivative with its error estimate and cost.

    Attributes
    ----------
    value
        The derivative, with the structure the plain call returns.
    error
        An estimate of the absolute error of each element, same structure as
        ``value``: truncation (from a second step size or successive
        Richardson extrapolations) plus rounding (machine epsilon times the
        function values, divided by the step).
    evaluations
        How many times the function was called, the base point included.
    step
        The step used for each input element (the structure of the
        differentiated arguments), or the scalar step of a directional
        derivative. For Richardson extrapolation, the largest step of the
        sequence.
    """

    value: Any
    error: Any
    evaluations: int
    step: Any
