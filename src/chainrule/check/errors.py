"""The exceptions of gradient checking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ChainruleError

if TYPE_CHECKING:
    from .report import CheckReport

__all__ = ["CheckCostError", "GradientCheckError"]


class GradientCheckError(ChainruleError, AssertionError):
    """Backpropagation disagrees with finite differences.

    The message is a table of the worst elements; ``report`` holds the
    :class:`~chainrule.check.CheckReport`, and, when the check could localize
    it, the first primitive whose rule is wrong and where it was called.
    """

    def __init__(self, report: CheckReport):
        super().__init__(str(report))
        self.report = report


class CheckCostError(ChainruleError, ValueError):
    """A check would take more function evaluations than ``max_evaluations`` allows."""
