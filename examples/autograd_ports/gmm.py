"""A Gaussian mixture model fitted by maximum likelihood with L-BFGS (after autograd's gmm.py).

The parameters are unconstrained (log mixing proportions normalized inside,
log standard deviations), held in a dict; the log-likelihood marginalizes
the component with ``logsumexp`` from ``chainrule.scipy.special`` (SciPy's
signature: autograd's ``autograd.scipy.special`` import becomes this one);
L-BFGS (``chainrule.optim.minimize``) works on the dict directly.

Run::

    python examples/autograd_ports/gmm.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.optim import minimize
from chainrule.scipy.special import logsumexp


def log_normal_diag(x: Any, means: Any, log_stds: Any) -> Any:
    """``(n, k)``: the log density of each point under each diagonal Gaussian."""
    z = (x[:, None, :] - means[None]) / np.exp(log_stds)[None]
    return -0.5 * np.sum(z**2, axis=2) - np.sum(log_stds, axis=1)[None] - 0.5 * x.shape[1] * np.log(2 * np.pi)


def gmm_log_likelihood(params: dict[str, Any], data: Any) -> Any:
    log_weights = params["log proportions"] - logsumexp(params["log proportions"], axis=0)
    per_component = log_weights[None] + log_normal_diag(data, params["means"], params["log stds"])
    return np.sum(logsumexp(per_component, axis=1))


def make_data(seed: int, n: int = 120) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]])
    labels = rng.integers(0, 3, size=n)
    return centres[labels] + 0.5 * rng.standard_normal((n, 2))


def init_params(rng: np.random.Generator, k: int = 3) -> dict[str, np.ndarray]:
    return {"log proportions": 0.1 * rng.standard_normal(k), "means": rng.standard_normal((k, 2)),
            "log stds": np.zeros((k, 2))}  # fmt: skip


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    data = make_data(seed, n=10)
    return (lambda p: gmm_log_likelihood(p, data)), (init_params(np.random.default_rng(seed)),)


def main(seed: int = 0) -> dict[str, float]:
    data = make_data(seed)
    params = init_params(np.random.default_rng(seed + 1))
    objective = lambda p: -gmm_log_likelihood(p, data) / len(data)
    initial = float(objective(params))
    result = minimize(objective, params, steps=200, progress=False)
    return {"initial_loss": initial, "final_loss": float(objective(result.x))}


if __name__ == "__main__":
    print(main())
