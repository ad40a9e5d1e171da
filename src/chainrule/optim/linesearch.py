"""A line search for the strong Wolfe conditions (bracketing, then zooming).

Along a descent direction ``d`` from ``x``, with ``phi(a) = f(x + a d)``, find
a step ``a > 0`` with

- sufficient decrease: ``phi(a) <= phi(0) + c1 * a * phi'(0)``, and
- strong curvature: ``|phi'(a)| <= c2 * |phi'(0)|``, with ``0 < c1 < c2 < 1``.

The algorithm is the classical one (Nocedal and Wright, *Numerical
Optimization*, 2nd ed., algorithms 3.5 and 3.6): grow the step until an
interval is known to contain such a point, then shrink the interval with
safeguarded cubic interpolation. A step at which ``f`` is not finite counts as
"too long". The search shares one budget of evaluations. The sufficient-decrease
test allows for the rounding error of ``phi(0)`` (4 ulp), so that steps whose
predicted decrease is below it can still be accepted by their slope.

Examples
--------
>>> phi = lambda a: ((a - 2.0) ** 2, 2.0 * (a - 2.0), None)
>>> r = strong_wolfe(phi, 4.0, -4.0, alpha1=1.0)
>>> r.success, abs(r.dphi) <= 0.9 * 4.0, r.value <= 4.0 + 1e-4 * r.alpha * -4.0
(True, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["LineSearchResult", "strong_wolfe"]

Phi = Callable[[float], tuple[float, float, Any]]


class LineSearchResult(NamedTuple):
    """The accepted step ``alpha``, ``phi(alpha)``, ``phi'(alpha)``, the gradient
    there (whatever ``phi`` returned third), the number of evaluations, whether
    both Wolfe conditions hold, and why not if they do not."""

    alpha: float
    value: float
    dphi: float
    grad: Any
    nevals: int
    success: bool
    message: str


def _cubic_min(a: float, fa: float, ga: float, b: float, fb: float, gb: float) -> float | None:
    """The minimizer of the cubic matching values and slopes at ``a`` and ``b`` (None if none)."""
    if a == b:
        return None
    d1 = ga + gb - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - ga * gb
    if not (disc >= 0.0 and math.isfinite(disc)):
        return None
    d2 = math.copysign(math.sqrt(disc), b - a)
    denom = gb - ga + 2.0 * d2
    if denom == 0.0:
        return None
    x = b - (b - a) * (gb + d2 - d1) / denom
    return x if math.isfinite(x) else None


def strong_wolfe(
    phi: Phi,
    phi0: float,
    dphi0: float,
    alpha1: float = 1.0,
    c1: float = 1e-4,
    c2: float = 0.9,
    max_evals: int = 30,
    alpha_max: float = 1e10,
) -> LineSearchResult:
    """Search for a step satisfying the strong Wolfe conditions.

    Parameters
    ----------
    phi
        ``alpha -> (phi(alpha), phi'(alpha), extra)``; ``extra`` (the gradient
        at the trial point) is handed back with the accepted step.
    phi0, dphi0
        ``phi(0)`` and ``phi'(0)``; ``dphi0`` must be negative (a descent direction).
    alpha1
        The first trial step.
    c1, c2
        The sufficient-decrease and curvature constants, ``0 < c1 < c2 < 1``.
    max_evals
        The budget of ``phi`` evaluations.

    Returns
    -------
    LineSearchResult
        On failure, the best point found that satisfies sufficient decrease
        (``success=False``), or ``alpha=0`` if there is none.
    """
    if not 0.0 < c1 < c2 < 1.0:
        raise ValueError(f"the line search needs 0 < c1 < c2 < 1, got c1={c1}, c2={c2}")
    if not dphi0 < 0.0:
        return LineSearchResult(0.0, phi0, dphi0, None, 0, False, "not a descent direction")
    # Near a minimum the predicted decrease drops below the rounding error of f;
    # allow that error, or no step could ever be accepted there.
    noise = 4.0 * 2.220446049250313e-16 * abs(phi0)

    def armijo(alpha: float) -> float:
        return phi0 + c1 * alpha * dphi0 + noise

    nevals = 0
    best: tuple[float, float, float, Any] | None = None  # best point with sufficient decrease

    def evaluate(alpha: float) -> tuple[float, float, Any]:
        nonlocal nevals, best
        nevals += 1
        value, slope, extra = phi(alpha)
        ok = math.isfinite(value) and math.isfinite(slope)
        if ok and value <= armijo(alpha) and (best is None or value < best[1]):
            best = (alpha, value, slope, extra)
        return (value, slope, extra) if ok else (math.inf, math.nan, extra)

    def fail(message: str) -> LineSearchResult:
        if best is not None:
            return LineSearchResult(best[0], best[1], best[2], best[3], nevals, False, message)
        return LineSearchResult(0.0, phi0, dphi0, None, nevals, False, message)

    def zoom(lo: float, f_lo: float, g_lo: float, hi: float, f_hi: float, g_hi: float) -> LineSearchResult:
        while nevals < max_evals:
            width = hi - lo
            if abs(width) <= 1e-12 * max(abs(lo), abs(hi), 1e-300) or abs(width) < 1e-300:
                return fail("the step interval shrank to rounding level before the Wolfe conditions held")
            trial = _cubic_min(lo, f_lo, g_lo, hi, f_hi, g_hi) if math.isfinite(f_hi) else None
            low, high = min(lo, hi), max(lo, hi)
            margin = 0.1 * (high - low)
            if trial is None or not low + margin <= trial <= high - margin:
                trial = 0.5 * (lo + hi)
            f_t, g_t, extra = evaluate(trial)
            if f_t > armijo(trial) or f_t >= f_lo:
                hi, f_hi, g_hi = trial, f_t, g_t
            else:
                if abs(g_t) <= -c2 * dphi0:
                    return LineSearchResult(
                        trial, f_t, g_t, extra, nevals, True, "strong Wolfe conditions hold"
                    )
                if g_t * (hi - lo) >= 0.0:
                    hi, f_hi, g_hi = lo, f_lo, g_lo
                lo, f_lo, g_lo = trial, f_t, g_t
        return fail(f"no step satisfying the strong Wolfe conditions within {max_evals} evaluations")

    prev, f_prev, g_prev = 0.0, phi0, dphi0
    alpha = float(alpha1)
    first = True
    while nevals < max_evals:
        f_a, g_a, extra = evaluate(alpha)
        if f_a > armijo(alpha) or (not first and f_a >= f_prev):
            return zoom(prev, f_prev, g_prev, alpha, f_a, g_a)
        if abs(g_a) <= -c2 * dphi0:
            return LineSearchResult(alpha, f_a, g_a, extra, nevals, True, "strong Wolfe conditions hold")
        if g_a >= 0.0:
            return zoom(alpha, f_a, g_a, prev, f_prev, g_prev)
        if alpha >= alpha_max:
            return fail(f"the step reached alpha_max={alpha_max} (is the objective bounded below?)")
        prev, f_prev, g_prev = alpha, f_a, g_a
        alpha = min(2.0 * alpha, alpha_max)
        first = False
    return fail(f"no step satisfying the strong Wolfe conditions within {max_evals} evaluations")
