"""Gaussian process hyperparameters by maximum marginal likelihood (after autograd's gaussian_process.py).

The log marginal likelihood of a GP with a squared-exponential kernel is
written with ``np.linalg.cholesky`` and triangular-free solves; its
gradient in the (log) hyperparameters, one flat vector unpacked by hand,
drives L-BFGS (``chainrule.optim.minimize``). The posterior mean then
predicts held-out points.

Run::

    python examples/autograd_ports/gaussian_process.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.optim import minimize


def unpack_kernel_params(params: Any) -> tuple[Any, Any, Any]:
    mean = params[0]
    noise_scale = np.exp(params[1]) + 1e-4
    return mean, noise_scale, params[2:]


def rbf_covariance(kernel_params: Any, x: Any, xp: Any) -> Any:
    output_scale = np.exp(kernel_params[0])
    lengthscales = np.exp(kernel_params[1:])
    diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
    return output_scale * np.exp(-0.5 * np.sum(diffs**2, axis=2))


def log_marginal_likelihood(params: Any, x: Any, y: Any) -> Any:
    mean, noise_scale, kernel_params = unpack_kernel_params(params)
    cov = rbf_covariance(kernel_params, x, x) + noise_scale * np.eye(len(y))
    chol = np.linalg.cholesky(cov)
    alpha = np.linalg.solve(cov, y - mean)
    n = len(y)
    return -0.5 * (y - mean) @ alpha - np.sum(np.log(np.diagonal(chol))) - 0.5 * n * np.log(2 * np.pi)


def predict(params: Any, x: Any, y: Any, xstar: Any) -> Any:
    mean, noise_scale, kernel_params = unpack_kernel_params(params)
    cov_f_f = rbf_covariance(kernel_params, xstar, xstar)
    cov_y_f = rbf_covariance(kernel_params, x, xstar)
    cov_y_y = rbf_covariance(kernel_params, x, x) + noise_scale * np.eye(len(y))
    pred_mean = mean + cov_y_f.T @ np.linalg.solve(cov_y_y, y - mean)
    pred_cov = cov_f_f - cov_y_f.T @ np.linalg.solve(cov_y_y, cov_y_f)
    return pred_mean, pred_cov


def build_toy_dataset(seed: int, n: int = 25) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-4.0, 4.0, n))[:, None]
    y = np.cos(x[:, 0]) + 0.1 * rng.standard_normal(n)
    return x, y


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    x, y = build_toy_dataset(seed, n=8)
    params = np.array([0.1, -1.0, 0.2, 0.3])
    return (lambda p: log_marginal_likelihood(p, x, y)), (params,)


def main(seed: int = 0) -> dict[str, float]:
    x, y = build_toy_dataset(seed)
    objective = lambda params: -log_marginal_likelihood(params, x, y)
    params = np.array([0.0, -1.0, 0.0, 0.0])  # mean, log noise, log output scale, log lengthscale
    initial = float(objective(params))
    result = minimize(objective, params, steps=100, progress=False)
    xstar = np.linspace(-3.0, 3.0, 7)[:, None]
    mean, cov = predict(result.x, x, y, xstar)
    return {"initial_loss": initial, "final_loss": float(objective(result.x)),
            "prediction_error": float(np.max(np.abs(mean - np.cos(xstar[:, 0])))),
            "min_predictive_variance": float(np.min(np.diag(cov)))}  # fmt: skip


if __name__ == "__main__":
    print(main())
