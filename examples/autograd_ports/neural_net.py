"""A multilayer perceptron classifier trained with autograd's adam loop (after autograd's neural_net.py).

Parameters are a list of ``(weights, biases)`` pairs, the class scores are
normalized with a log-sum-exp, the objective adds a Gaussian prior (L2) on
the parameters, and training runs ``adam(grad, params, callback, num_iters,
step_size)`` with minibatches chosen by the iteration number, as in
autograd. The data are three Gaussian blobs instead of MNIST, so the run
takes a fraction of a second and downloads nothing.

Run::

    python examples/autograd_ports/neural_net.py
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.optim.loops import adam

Params = list[tuple[Any, Any]]


def init_random_params(scale: float, layer_sizes: list[int], rng: np.random.Generator) -> Params:
    return [(scale * rng.standard_normal((m, n)), scale * rng.standard_normal(n))
            for m, n in itertools.pairwise(layer_sizes)]  # fmt: skip


def logsumexp(a: Any, axis: int) -> Any:
    top = np.max(a, axis=axis, keepdims=True)
    return top + np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True))


def neural_net_predict(params: Params, inputs: Any) -> Any:
    """Log-probabilities of the classes: tanh hidden layers, a normalized linear output."""
    for w, b in params:
        outputs = inputs @ w + b
        inputs = np.tanh(outputs)
    return outputs - logsumexp(outputs, axis=1)


def l2_norm(params: Params) -> Any:
    flat, _ = cr.flatten(params)
    return flat @ flat


def log_posterior(params: Params, inputs: Any, targets: Any, l2_reg: float) -> Any:
    log_prior = -l2_reg * l2_norm(params)
    log_lik = np.sum(neural_net_predict(params, inputs) * targets)
    return log_prior + log_lik


def accuracy(params: Params, inputs: Any, targets: Any) -> float:
    return float(np.mean(np.argmax(targets, axis=1) == np.argmax(neural_net_predict(params, inputs), axis=1)))


def make_data(seed: int, n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    labels = rng.integers(0, 3, size=n)
    inputs = centres[labels] + 0.7 * rng.standard_normal((n, 2))
    return inputs, np.eye(3)[labels]


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    inputs, targets = make_data(seed, n=20)
    params = init_random_params(0.5, [2, 5, 3], np.random.default_rng(seed))
    return (lambda p: log_posterior(p, inputs, targets, 0.1)), (params,)


def main(seed: int = 0) -> dict[str, float]:
    inputs, targets = make_data(seed)
    params = init_random_params(0.1, [2, 10, 3], np.random.default_rng(seed))
    batch_size, num_batches = 30, 5

    def objective(params: Params, it: int) -> Any:
        idx = slice((it % num_batches) * batch_size, (it % num_batches + 1) * batch_size)
        return -log_posterior(params, inputs[idx], targets[idx], 0.01)

    losses: list[float] = []

    def callback(params: Params, it: int, gradient: Params) -> None:
        if it % num_batches == 0:
            losses.append(-float(log_posterior(params, inputs, targets, 0.01)))

    before = accuracy(params, inputs, targets)
    params = adam(cr.grad(objective), params, callback=callback, num_iters=100, step_size=0.05)
    return {"initial_loss": losses[0], "final_loss": losses[-1], "initial_accuracy": before,
            "train_accuracy": accuracy(params, inputs, targets)}  # fmt: skip


if __name__ == "__main__":
    print(main())
