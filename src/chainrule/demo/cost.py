"""The cost of one gradient as the number of parameters N grows: backprop versus finite differences.

For MLPs of growing width on the same batch, measure the loss alone and one
backprop gradient (medians of repeats). Central finite differences need 2N+1
evaluations of the loss, so their cost is (2N+1) times the measured loss time;
backprop stays a small constant multiple of one loss evaluation at every N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from ..derivatives import value_and_grad
from .timing import median_seconds

__all__ = ["CostPoint", "cost_versus_n"]


@dataclass(frozen=True)
class CostPoint:
    """One network size: N, and the measured seconds of the loss and of one backprop gradient."""

    parameters: int
    function_seconds: float
    backprop_seconds: float

    @property
    def finite_difference_seconds(self) -> float:
        """Central differences: 2N+1 evaluations of the loss."""
        return (2 * self.parameters + 1) * self.function_seconds


def cost_versus_n(
    x: np.ndarray, y: np.ndarray, widths: tuple[int, ...] = (4, 16, 64, 256), seed: int = 0
) -> list[CostPoint]:
    """Time the loss and its backprop gradient for one-hidden-layer MLPs of the given widths."""
    points = []
    for width in widths:
        model = nn.Sequential(nn.Dense(width), nn.Activation(nn.tanh), nn.Dense(10))
        params = model.init(np.random.default_rng(seed), x.shape[1:])

        def loss(params: Any, model: nn.Sequential = model) -> Any:
            return nn.softmax_cross_entropy(model.apply(params, x), y)

        step = value_and_grad(loss)
        n = sum(int(p.size) for layer in params for p in layer.values())
        function_seconds = median_seconds(lambda: loss(params), budget=0.5)  # noqa: B023 - called at once
        backprop_seconds = median_seconds(lambda: step(params), budget=0.5)  # noqa: B023 - called at once
        points.append(CostPoint(n, function_seconds, backprop_seconds))
    return points
