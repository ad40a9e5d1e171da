"""The launch angle that throws farthest against air drag, by backprop through a simulation.

Without air resistance the best angle is 45 degrees. With quadratic drag,

    a = -g e_y - k |v| v,

there is no closed form; we simulate the flight with a fixed-step RK4 loop
in plain NumPy until the projectile comes down, cut the last step short so
that it ends exactly on the ground, and let ``chainrule``
differentiate the range with respect to the angle through the whole loop.
L-BFGS then climbs to the best angle. A brute-force scan of angles (forward
simulations only, no derivatives) confirms the answer, and a finite-difference
derivative confirms the gradient.

The number of steps until landing depends on the angle, a discrete choice
with no derivative; it is made on plain values (``chainrule.primal``). The
length of the last, partial step (found by Newton's method, itself
differentiated) is what makes the range a smooth function of the angle.

Run::

    python examples/physics_projectile.py [--steps 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from chainrule import numerical, primal, value_and_grad
from chainrule.optim import minimize

SPEED = 50.0  # launch speed, m/s
GRAVITY = 9.81  # m/s^2
DRAG = 0.005  # k = (drag coefficient x air density x area) / (2 mass), 1/m
DT = 0.01  # s


def acceleration(state: Any) -> Any:
    """Time derivative of the state (x, y, vx, vy) under gravity and quadratic drag."""
    vx, vy = state[2], state[3]
    speed = np.sqrt(vx**2 + vy**2)  # never 0 in flight, so sqrt's derivative is finite
    return np.stack([vx, vy, -DRAG * speed * vx, -GRAVITY - DRAG * speed * vy])


def rk4_step(state: Any, h: Any) -> Any:
    """One classic Runge-Kutta 4 step of length ``h`` (a number or a traced value)."""
    k1 = acceleration(state)
    k2 = acceleration(state + (0.5 * h) * k1)
    k3 = acceleration(state + (0.5 * h) * k2)
    k4 = acceleration(state + h * k3)
    return state + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def flight_range(angle: Any) -> Any:
    """Horizontal distance travelled before landing, for a launch ``angle`` in radians."""
    state = np.stack([0.0 * angle, 0.0 * angle, SPEED * np.cos(angle), SPEED * np.sin(angle)])
    previous = state
    # The loop's length is decided on plain values: the derivative does not flow
    # through "how many steps", only through the arithmetic of each step.
    while primal(state[1]) >= 0.0:
        previous = state
        state = rk4_step(state, DT)
    # The landing lies within the last step. Find the partial step tau that ends
    # exactly at y = 0 by Newton's method (slope dy/dt = vy), starting from linear
    # interpolation. Cutting the last step short instead of interpolating
    # linearly matters: linear interpolation makes the range a piecewise-smooth
    # function of the angle with a small kink every time the step count changes,
    # and its derivative is then off by O(DT). Newton converges in a couple of
    # iterations; they are differentiated like the rest of the code.
    tau = DT * previous[1] / (previous[1] - state[1])
    for _ in range(3):
        landing = rk4_step(previous, tau)
        tau = tau - landing[1] / landing[3]
    return rk4_step(previous, tau)[0]


def negative_range(params: dict[str, Any]) -> Any:
    """The objective: minimizing -range maximizes the range."""
    return -flight_range(params["angle"])


def main(steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Find the best launch angle; returns it with the brute-force answer and the gradient check.

    Parameters
    ----------
    steps
        Maximum L-BFGS iterations (default 30).
    seed
        Unused: the problem is deterministic (accepted for a uniform interface).
    """
    del seed
    steps = 30 if steps is None else steps
    start = {"angle": math.radians(20.0)}

    # The derivative of the range with respect to the angle, two ways.
    value, backprop = value_and_grad(negative_range)(start)
    finite = numerical.grad(negative_range, start, method="central4")
    # Signs flipped: the objective is -range, the printout is about the range.
    d_backprop, d_numerical = -float(backprop["angle"]), -float(finite["angle"])
    print(f"at 20 degrees: range {-float(value):.3f} m")
    print(f"d range / d angle: backprop {d_backprop:.6f} m/rad, finite differences {d_numerical:.6f} m/rad")

    result = minimize(negative_range, start, steps=steps, tol=1e-6, progress=False)
    best_angle = math.degrees(float(result.x["angle"]))
    best_range = -float(result.fun)
    print(f"L-BFGS: {result.nit} iterations, {result.nfev} simulations ({result.message})")

    # Independent check without derivatives: simulate every degree from 1 to 89,
    # then every 0.05 degree around the best one. Many more simulations, no gradient.
    def farthest(angles_deg: np.ndarray) -> float:
        ranges = [float(flight_range(math.radians(a))) for a in angles_deg]
        return float(angles_deg[int(np.argmax(ranges))])

    scan_angle = farthest(np.arange(1.0, 90.0, 1.0))
    scan_angle = farthest(np.arange(scan_angle - 1.0, scan_angle + 1.0, 0.05))

    no_drag = SPEED**2 / GRAVITY
    print(f"best angle {best_angle:.2f} deg, range {best_range:.2f} m "
          f"(brute-force scan: {scan_angle:.2f} deg; without drag: 45 deg, {no_drag:.1f} m)")  # fmt: skip
    return {
        "start_angle_deg": 20.0,
        "start_range": -float(value),
        "best_angle_deg": best_angle,
        "best_range": best_range,
        "scan_angle_deg": scan_angle,
        "iterations": int(result.nit),
        "backprop_derivative": d_backprop,
        "numerical_derivative": d_numerical,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="maximum L-BFGS iterations")
    parser.add_argument("--seed", type=int, default=0, help="unused (the problem is deterministic)")
    args = parser.parse_args()
    main(steps=args.steps, seed=args.seed)
