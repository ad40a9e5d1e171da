"""A neural ODE: fit the dynamics of a spiral by backprop through an RK4 solver (after autograd's ode_net.py).

autograd's version calls its ``odeint`` (with an adjoint rule). Here the
solver is a fixed-step fourth-order Runge-Kutta loop in plain NumPy, and
backprop goes through every step. The dynamics are a small tanh network; the
target trajectory comes from a known linear spiral.

Run::

    python examples/autograd_ports/ode_net.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.optim.loops import adam

TRUE_A = np.array([[-0.1, 2.0], [-2.0, -0.1]])


def rk4(dynamics: Callable[[Any], Any], y0: Any, dt: float, steps: int) -> Any:
    """The states at every step, ``(steps + 1, *y0.shape)``."""
    ys = [y0]
    y = y0
    for _ in range(steps):
        k1 = dynamics(y)
        k2 = dynamics(y + 0.5 * dt * k1)
        k3 = dynamics(y + 0.5 * dt * k2)
        k4 = dynamics(y + dt * k3)
        y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        ys.append(y)
    return np.stack(ys)


def nn_dynamics(params: dict[str, Any]) -> Callable[[Any], Any]:
    def f(y: Any) -> Any:
        return np.tanh(y @ params["w1"] + params["b1"]) @ params["w2"] + y @ params["linear"]

    return f


def trajectory_loss(params: dict[str, Any], target: Any, y0: Any, dt: float) -> Any:
    predicted = rk4(nn_dynamics(params), y0, dt, target.shape[0] - 1)
    return np.mean((predicted - target) ** 2)


def init_params(rng: np.random.Generator, hidden: int = 8) -> dict[str, np.ndarray]:
    return {"w1": 0.3 * rng.standard_normal((2, hidden)), "b1": np.zeros(hidden),
            "w2": 0.3 * rng.standard_normal((hidden, 2)), "linear": np.zeros((2, 2))}  # fmt: skip


def make_target(steps: int, dt: float) -> tuple[np.ndarray, np.ndarray]:
    y0 = np.array([2.0, 0.0])
    return rk4(lambda y: y @ TRUE_A, y0, dt, steps), y0


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    target, y0 = make_target(5, 0.1)
    return (lambda p: trajectory_loss(p, target, y0, 0.1)), (init_params(np.random.default_rng(seed), 3),)


def main(seed: int = 0) -> dict[str, float]:
    target, y0 = make_target(20, 0.05)
    params = init_params(np.random.default_rng(seed))
    objective = lambda p, it: trajectory_loss(p, target, y0, 0.05)
    initial = float(objective(params, 0))
    params = adam(cr.grad(objective), params, num_iters=40, step_size=0.05)
    return {"initial_loss": initial, "final_loss": float(objective(params, 0))}


if __name__ == "__main__":
    print(main())
