"""The result of a numerical derivative together with what it cost and how good it is."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["STATUS", "Estimate"]

#: What :attr:`Estimate.status` means (the codes follow ``scipy.differentiate``'s).
STATUS = {
    0: "converged: the error estimate meets the tolerance (or, without one, reached its minimum)",
    -1: "the error estimate stopped decreasing before meeting the tolerance: rounding dominates; "
    "the value is the best one found",
    -2: "the step sequence ended before the tolerance was met; the value is the best one found",
}


class _Fields(NamedTuple):
    value: Any
    error: Any
    evaluations: int
    step: Any


class Estimate(_Fields):
    """A finite-difference derivative with its error estimate, its cost and a status.

    It unpacks as the 4-tuple ``(value, error, evaluations, step)``; ``status``
    and ``message`` are attributes.

    Attributes
    ----------
    value
        The derivative, with the structure the plain call returns.
    error
        An estimate of the absolute error of each element, same structure as
        ``value``: truncation (from a second step size or successive
        Richardson extrapolations) plus rounding (machine epsilon times the
        function values, divided by the step). On smooth functions it bounds
        the true error.
    evaluations
        How many times the function was called, the base point included
        (with ``vectorized=True``: how many points it was evaluated at).
    step
        The step used for each input element (the structure of the
        differentiated arguments), or the scalar step of a directional
        derivative. For Richardson extrapolation, the largest step of the
        sequence; for the adaptive method, the step chosen (the largest
        over output elements).
    status
        0 when converged (see :data:`STATUS`); -1 or -2 when a tolerance was
        asked for and not met. The worst over all elements.
    message
        The status in words, and any notes (a one-sided stencil used near
        the edge of the domain).
    """

    status: int = 0
    message: str = ""

    def __new__(
        cls, value: Any, error: Any, evaluations: int, step: Any, status: int = 0, message: str = ""
    ) -> Estimate:
        self = super().__new__(cls, value, error, evaluations, step)
        self.status = int(status)
        self.message = message or STATUS.get(int(status), "")
        return self

    @property
    def success(self) -> bool:
        """Whether the tolerance was met (status 0)."""
        return self.status == 0

    def __repr__(self) -> str:
        return (
            f"Estimate(value={self.value!r}, error={self.error!r}, evaluations={self.evaluations}, "
            f"step={self.step!r}, status={self.status})"
        )
