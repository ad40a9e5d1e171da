"""Recover the damping and frequency of an oscillator by backprop through an ODE integrator.

Nothing here is a neural network. The model is a damped harmonic oscillator,

    x'' = -damping * x' - frequency**2 * x,

integrated by a fixed-step fourth-order Runge-Kutta loop written in plain
NumPy (300 steps, each a handful of array operations). The loss compares the
simulated positions with noisy synthetic observations. ``chainrule`` records
the whole integration as one composition of NumPy operations and backprop
returns the exact derivative of the loss with respect to the two parameters,
which L-BFGS uses to fit them. One comparison with finite differences
(``chainrule.numerical.grad``) shows that this derivative is the right one.

Run::

    python examples/ode_parameter_fit.py [--steps 50] [--seed 0]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from chainrule import numerical, value_and_grad
from chainrule.optim import minimize

TRUE_PARAMS = {"damping": 0.3, "frequency": 2.0}
# Far enough from the truth that the fit has work to do (the simulated phase
# is off by more than a radian after a few periods), close enough that the
# loss is still in the basin of the true parameters: a frequency fit of an
# oscillation has a local minimum for every whole number of missed periods.
START_PARAMS = {"damping": 0.1, "frequency": 1.7}
Y0 = np.array([1.0, 0.0])  # released from x = 1 at rest
DT = 0.025
N_STEPS = 300  # t in [0, 7.5]: a bit more than two periods of the true oscillator
EVERY = 5  # observe the position every 5 integrator steps (61 observations)
NOISE = 0.05


def oscillator(y: Any, params: dict[str, Any]) -> Any:
    """Right-hand side of the first-order system: d/dt (x, v) = (v, -damping v - frequency^2 x)."""
    x, v = y[0], y[1]
    # np.stack, not np.array: np.array([...]) of traced values would have to
    # convert them to plain numbers and lose their derivatives (chainrule refuses).
    return np.stack([v, -params["damping"] * v - params["frequency"] ** 2 * x])


def rk4(rhs: Any, y0: Any, params: dict[str, Any], dt: float, n_steps: int) -> Any:
    """Classic fixed-step Runge-Kutta 4; returns the ``(n_steps + 1, 2)`` trajectory.

    An ordinary Python loop: backprop follows whatever operations actually ran,
    so there is no need to express the integrator in any special form.
    """
    y = y0
    trajectory = [y]
    for _ in range(n_steps):
        k1 = rhs(y, params)
        k2 = rhs(y + (0.5 * dt) * k1, params)
        k3 = rhs(y + (0.5 * dt) * k2, params)
        k4 = rhs(y + dt * k3, params)
        y = y + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        trajectory.append(y)
    return np.stack(trajectory)


def simulate_positions(params: dict[str, Any]) -> Any:
    """Positions at the observation times."""
    return rk4(oscillator, Y0, params, DT, N_STEPS)[::EVERY, 0]


def loss(params: dict[str, Any], observed: np.ndarray) -> Any:
    """Mean squared error between simulated and observed positions."""
    return np.mean((simulate_positions(params) - observed) ** 2)


def make_observations(seed: int) -> np.ndarray:
    """Noisy positions of the true oscillator (the same integrator, so the model is exact)."""
    clean = simulate_positions(TRUE_PARAMS)
    return clean + NOISE * np.random.default_rng(seed).standard_normal(clean.shape)


def main(steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Fit the two parameters with L-BFGS; returns true, start and recovered values and the gradient check.

    Parameters
    ----------
    steps
        Maximum L-BFGS iterations (default 50; it usually needs about a dozen).
    seed
        Seed of the observation noise.
    """
    steps = 50 if steps is None else steps
    observed = make_observations(seed)
    print(f"{len(observed)} noisy observations of x(t), noise sd {NOISE}")

    # The same gradient two ways at the starting point: backprop (one forward and one
    # backward pass through all 300 RK4 steps) and central finite differences.
    value, backprop = value_and_grad(loss)(START_PARAMS, observed)
    finite = numerical.grad(loss, START_PARAMS, observed, method="central4")
    gradient_gap = max(abs(float(backprop[k]) - float(finite[k])) for k in START_PARAMS)
    for k in START_PARAMS:
        print(f"d loss / d {k:9s}  backprop {float(backprop[k]):+.10f}  "
              f"finite differences {float(finite[k]):+.10f}")  # fmt: skip

    result = minimize(loss, START_PARAMS, args=(observed,), steps=steps, tol=1e-9, progress=False)
    recovered = {k: float(v) for k, v in result.x.items()}
    print(f"L-BFGS: {result.nit} iterations, {result.nfev} evaluations ({result.message})")
    print(f"loss {float(value):.5f} -> {result.fun:.5f} (noise variance {NOISE**2:.5f})")
    print(f"{'':10s} {'true':>8s} {'start':>8s} {'recovered':>10s}")
    for k in TRUE_PARAMS:
        print(f"{k:10s} {TRUE_PARAMS[k]:8.4f} {START_PARAMS[k]:8.4f} {recovered[k]:10.4f}")
    return {
        "true": dict(TRUE_PARAMS),
        "start": dict(START_PARAMS),
        "recovered": recovered,
        "initial_loss": float(value),
        "final_loss": float(result.fun),
        "iterations": int(result.nit),
        "backprop_gradient": {k: float(v) for k, v in backprop.items()},
        "numerical_gradient": {k: float(v) for k, v in finite.items()},
        "gradient_gap": gradient_gap,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="maximum L-BFGS iterations")
    parser.add_argument("--seed", type=int, default=0, help="seed of the observation noise")
    args = parser.parse_args()
    main(steps=args.steps, seed=args.seed)
