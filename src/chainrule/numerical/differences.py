"""One finite-difference derivative along one direction, by any method.

:func:`difference` evaluates the method's points ``x0 + t d`` (``point(t)``)
and returns the derivative of every output element, an estimate of its error
and the number of evaluations it made. The estimate is

* for stencils: truncation ``|D(h) - D(2h)| / (2**order - 1)`` (the leading
  error term, from a second step twice as large) plus rounding
  ``2 eps sum|w_k f_k| / h``;
* for Richardson: the difference between the last two extrapolations plus
  the rounding of the smallest step;
* for the complex step: rounding only (there is no subtraction, and the
  truncation ``h**2 f''' / 6`` is below rounding at ``h = 1e-20``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np

from .evaluate import Evaluator, map_ordered
from .stencils import RICHARDSON_LEVELS, STENCILS

__all__ = ["difference"]

Point = Callable[[Any], np.ndarray]


def difference(
    ev: Evaluator,
    point: Point,
    h: float,
    method: str,
    eps: float,
    *,
    estimate: bool,
    where: str,
    executor: Executor | None = None,
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(derivative, error estimate or None, evaluations) of ``t -> f(point(t))`` at 0."""
    if method == "complex":
        return _complex(ev, point, h, eps, where)
    if method == "richardson":
        return _richardson(ev, point, h, eps, where, executor)
    stencil = STENCILS[method]
    ks = list(stencil.offsets)
    if estimate:
        ks += [2 * k for k in stencil.offsets if 2 * k not in ks]
    values = _evaluate(ev, point, h, ks, where, executor)
    d1, fabs = _apply(stencil.offsets, stencil.weights, values, h)
    if not estimate:
        return d1, None, _cost(ks)
    d2, _ = _apply(tuple(2 * k for k in stencil.offsets), stencil.weights, values, 2 * h)
    error = np.abs(d1 - d2) / (2**stencil.order - 1) + 2.0 * eps * fabs / abs(h)
    return d1, error, _cost(ks)


def _cost(ks: list[float]) -> int:
    return sum(1 for k in ks if k != 0)


def _evaluate(
    ev: Evaluator, point: Point, h: float, ks: list[float], where: str, executor: Executor | None
) -> dict[float, np.ndarray]:
    nonzero = [k for k in ks if k != 0]
    outs = map_ordered(executor, lambda k: ev.checked(point(k * h), where, k * h), nonzero)
    values = dict(zip(nonzero, outs))
    values[0.0] = ev.f0
    return values


def _apply(
    offsets: tuple[float, ...], weights: tuple[float, ...], values: dict[float, np.ndarray], h: float
) -> tuple[np.ndarray, np.ndarray]:
    total = np.zeros(np.shape(values[0.0]))
    fabs = np.zeros(total.shape)
    for k, w in zip(offsets, weights):
        total = total + w * values[k]
        fabs = fabs + abs(w) * np.abs(values[k])
    return total / h, fabs


def _richardson(
    ev: Evaluator, point: Point, h: float, eps: float, where: str, executor: Executor | None
) -> tuple[np.ndarray, np.ndarray, int]:
    steps = [h * 0.5**j for j in range(RICHARDSON_LEVELS)]
    ks = [s * k for s in (0.5**j for j in range(RICHARDSON_LEVELS)) for k in (-1.0, 1.0)]
    values = _evaluate(ev, point, h, ks, where, executor)
    table: list[list[np.ndarray]] = []
    fabs = np.zeros(ev.f0.shape)
    for j, s in enumerate(steps):
        up, down = values[0.5**j], values[-(0.5**j)]
        fabs = np.maximum(fabs, np.maximum(np.abs(up), np.abs(down)))
        row = [(up - down) / (2.0 * s)]
        for m in range(1, j + 1):
            factor = 4.0**m
            row.append(row[m - 1] + (row[m - 1] - table[j - 1][m - 1]) / (factor - 1.0))
        table.append(row)
    best = table[-1][-1]
    previous = table[-2][-2]
    # The extrapolation weights sum in magnitude to about 1.6; 4 leaves room for noise in f.
    rounding = 4.0 * eps * fabs / steps[-1]
    return best, np.abs(best - previous) + rounding, len(ks)


def _complex(
    ev: Evaluator, point: Point, h: float, eps: float, where: str
) -> tuple[np.ndarray, np.ndarray, int]:
    y = ev.checked(point(1j * h), where, h)
    if not np.iscomplexobj(y):
        raise TypeError(
            f"method='complex' perturbs {where} by {h:.3g}j, but the function returned a real "
            "result: it dropped the imaginary part (np.real, abs, float(), a cast, a comparison). "
            "The complex step needs a function that extends analytically to complex input; "
            "use method='central4' or 'richardson' instead."
        )
    value = np.imag(y) / h
    return value, 4.0 * eps * np.abs(value), 1
