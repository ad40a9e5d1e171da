"""Logistic regression by gradient descent on the log-likelihood (after autograd's logistic_regression.py).

A small synthetic data set, the negative log-likelihood written with
``np.logaddexp`` (stable for large margins), its gradient by backprop, and a
plain gradient-descent loop.

Run::

    python examples/autograd_ports/logistic_regression.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


def make_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((40, 3))
    true_weights = np.array([1.5, -2.0, 0.5])
    targets = (inputs @ true_weights + 0.3 * rng.standard_normal(40) > 0).astype(float)
    return inputs, targets


def predictions(weights: Any, inputs: np.ndarray) -> Any:
    return 0.5 * (np.tanh(0.5 * (inputs @ weights)) + 1.0)  # the logistic sigmoid


def training_loss(weights: Any, inputs: np.ndarray, targets: np.ndarray) -> Any:
    """The negative log-likelihood: log(1 + exp(-margin)) summed over the examples."""
    margins = (2.0 * targets - 1.0) * (inputs @ weights)
    return np.sum(np.logaddexp(0.0, -margins))


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    inputs, targets = make_data(seed)
    weights = np.random.default_rng(seed + 1).standard_normal(3)
    return (lambda w: training_loss(w, inputs, targets)), (weights,)


def main(seed: int = 0) -> dict[str, float]:
    inputs, targets = make_data(seed)
    loss_grad = cr.grad(training_loss)
    weights = np.zeros(3)
    initial = float(training_loss(weights, inputs, targets))
    for _ in range(200):
        weights = weights - 0.01 * loss_grad(weights, inputs, targets)
    accuracy = float(np.mean((predictions(weights, inputs) > 0.5) == (targets > 0.5)))
    return {"initial_loss": initial, "final_loss": float(training_loss(weights, inputs, targets)),
            "train_accuracy": accuracy}  # fmt: skip


if __name__ == "__main__":
    print(main())
