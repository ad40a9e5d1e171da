"""Black-box variational inference with the reparameterization trick (after autograd's black_box_svi.py).

A diagonal Gaussian approximates a two-dimensional, banana-shaped
unnormalized density. The evidence lower bound is estimated with samples
``mean + exp(log_std) * eps``; the noise is drawn from a generator seeded by
the iteration number, so each estimate is an ordinary function of the
variational parameters, and its gradient (through the samples) drives
autograd's ``adam`` loop.

Run::

    python examples/autograd_ports/black_box_svi.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.optim.loops import adam


def log_density(x: Any) -> Any:
    """Unnormalized log density of a banana: x0 ~ N(0, 1.5^2), x1 | x0 ~ N(0.5 x0^2 - 1, 0.5^2)."""
    mu, log_sigma = x[:, 0], x[:, 1]
    return -0.5 * (mu / 1.5) ** 2 - 0.5 * ((log_sigma - 0.5 * mu**2 + 1.0) / 0.5) ** 2


def gaussian_entropy(log_std: Any) -> Any:
    return 0.5 * log_std.shape[0] * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)


def variational_objective(params: Any, t: int, num_samples: int = 50) -> Any:
    """A Monte Carlo estimate of the ELBO at iteration ``t`` (common random numbers per t)."""
    mean, log_std = params[:2], params[2:]
    eps = np.random.default_rng(t).standard_normal((num_samples, 2))
    samples = eps * np.exp(log_std) + mean
    return gaussian_entropy(log_std) + np.mean(log_density(samples))


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    params = np.array([0.3, -0.2, -0.5, -1.0])
    return (lambda p: variational_objective(p, seed, num_samples=10)), (params,)


def main(seed: int = 0) -> dict[str, float]:
    params = np.array([-1.0, -1.0, -5.0, -5.0])
    objective = lambda p, t: -variational_objective(p, seed * 1000 + t)
    evaluate = lambda p: float(np.mean([variational_objective(p, 10_000 + k, 200) for k in range(5)]))
    initial = evaluate(params)
    params = adam(cr.grad(objective), params, num_iters=300, step_size=0.1)
    return {"initial_elbo": initial, "final_elbo": evaluate(params),
            "mean_0": float(params[0]), "std_0": float(np.exp(params[2]))}  # fmt: skip


if __name__ == "__main__":
    print(main())
