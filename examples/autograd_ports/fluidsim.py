"""Optimize the initial wind of a smoke simulation to hit a target (after autograd's fluidsim.py).

A Jos Stam style "stable fluids" solver on a small periodic grid: pressure
projection by Jacobi iterations with ``np.roll``, semi-Lagrangian advection
with bilinear interpolation (``np.floor`` picks the cells, integer indexing
reads them, and the weights carry the derivative). Backprop runs through the
whole simulation; the initial velocity field, two arrays flattened into one
vector with ``chainrule.flatten``, is fitted by L-BFGS.

Run::

    python examples/autograd_ports/fluidsim.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.optim import minimize


def project(vx: Any, vy: Any, iterations: int = 10) -> tuple[Any, Any]:
    """Remove the divergent part of the velocity field (periodic boundaries)."""
    h = 1.0 / vx.shape[0]
    div = -0.5 * h * (np.roll(vx, -1, axis=0) - np.roll(vx, 1, axis=0)
                      + np.roll(vy, -1, axis=1) - np.roll(vy, 1, axis=1))  # fmt: skip
    p = np.zeros(vx.shape)
    for _ in range(iterations):
        p = (div + np.roll(p, 1, axis=0) + np.roll(p, -1, axis=0)
             + np.roll(p, 1, axis=1) + np.roll(p, -1, axis=1)) / 4.0  # fmt: skip
    vx = vx - 0.5 * (np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0)) / h
    vy = vy - 0.5 * (np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1)) / h
    return vx, vy


def advect(f: Any, vx: Any, vy: Any) -> Any:
    """Move ``f`` along the velocity field: read it where each cell's fluid came from."""
    rows, cols = f.shape
    cell_ys, cell_xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    center_xs = cell_xs - vx
    center_ys = cell_ys - vy
    left_ix = np.floor(center_ys).astype(int)  # piecewise constant: no derivative, as it should be
    top_ix = np.floor(center_xs).astype(int)
    rw = center_ys - left_ix  # the interpolation weights carry the derivative
    bw = center_xs - top_ix
    left_ix, right_ix = np.mod(left_ix, rows), np.mod(left_ix + 1, rows)
    top_ix, bot_ix = np.mod(top_ix, cols), np.mod(top_ix + 1, cols)
    flat = (1 - rw) * ((1 - bw) * f[left_ix, top_ix] + bw * f[left_ix, bot_ix])
    return flat + rw * ((1 - bw) * f[right_ix, top_ix] + bw * f[right_ix, bot_ix])


def simulate(vx: Any, vy: Any, smoke: Any, num_time_steps: int) -> Any:
    for _ in range(num_time_steps):
        vx, vy = project(vx, vy)
        vx_updated = advect(vx, vx, vy)
        vy_updated = advect(vy, vx, vy)
        vx, vy = vx_updated, vy_updated
        smoke = advect(smoke, vx, vy)
    return smoke


def initial_smoke(size: int) -> np.ndarray:
    ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return np.exp(-((ys - size / 3) ** 2 + (xs - size / 3) ** 2) / 4.0)


def target_smoke(size: int) -> np.ndarray:
    ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return np.exp(-((ys - 2 * size / 3) ** 2 + (xs - size / 2) ** 2) / 4.0)


def distance_from_target(velocities: Any, smoke: Any, target: Any, steps: int) -> Any:
    final = simulate(velocities["vx"], velocities["vy"], smoke, steps)
    return np.mean((final - target) ** 2)


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    rng = np.random.default_rng(seed)
    velocities = {"vx": 0.4 * rng.standard_normal((6, 6)), "vy": 0.4 * rng.standard_normal((6, 6))}
    smoke, target = initial_smoke(6), target_smoke(6)
    return (lambda v: distance_from_target(v, smoke, target, 2)), (velocities,)


def main(seed: int = 0) -> dict[str, float]:
    size, steps = 12, 4
    smoke, target = initial_smoke(size), target_smoke(size)
    vector, unflatten = cr.flatten({"vx": np.zeros((size, size)), "vy": np.zeros((size, size))})
    objective = lambda v: distance_from_target(unflatten(v), smoke, target, steps)
    initial = float(objective(vector))
    result = minimize(objective, vector, steps=25, progress=False)
    return {"initial_loss": initial, "final_loss": float(objective(result.x))}


if __name__ == "__main__":
    print(main())
