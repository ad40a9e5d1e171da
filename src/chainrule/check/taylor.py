"""The Taylor test: a verdict on the gradient without choosing a finite-difference step.

For a direction ``u`` and steps ``h, h/2, h/4, ...`` the remainder
``r(h) = |f(x + h u) - f(x) - h (grad f . u)|`` shrinks like ``h**2`` when the
gradient is right and only like ``h`` when it is wrong. The observed slope of
``log r`` against ``log h`` is the verdict: about 2 passes, about 1 fails.
Remainders down at rounding level carry no information and are left out;
when all of them are (``f`` linear along ``u``), the gradient is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..derivatives import value_and_grad
from ..numerical.inputs import Inputs
from ..pytree import tree_leaves

__all__ = ["TaylorReport", "taylor_test"]


@dataclass
class TaylorReport:
    """Steps, remainders, the observed convergence slope and the verdict."""

    steps: list[float]
    remainders: list[float]
    slope: float
    verdict: str
    used: list[bool] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def __str__(self) -> str:
        lines = [
            f"Taylor test: {self.verdict} (observed slope {self.slope:.2f}; "
            "2 if the gradient is right, 1 if not)"
        ]
        lines += [
            f"  h={h:.3g}  remainder={r:.3g}" + ("" if u else "  (rounding level, not used)")
            for h, r, u in zip(self.steps, self.remainders, self.used)
        ]
        return "\n".join(lines)


def taylor_test(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] = 0,
    seed: int | None = None,
    halvings: int = 8,
    h0: float | None = None,
) -> TaylorReport:
    """Check ``f``'s gradient by the convergence rate of its Taylor remainder.

    ``f`` returns a scalar. The direction is a random unit-Gaussian ``u``
    normalized to norm 1; the first step ``h0`` defaults to
    ``0.1 * max(1, |x|_inf)``. Returns a :class:`TaylorReport` whose verdict
    is "pass" when the slope is at least 1.8.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.check import taylor_test
    >>> report = taylor_test(lambda x: np.sum(np.exp(x) * x), np.array([0.3, -1.0]), seed=0)
    >>> report.verdict, round(report.slope)
    ('pass', 2)
    """
    rng = np.random.default_rng(seed)
    inputs = Inputs(f, args, argnums, upcast=False)
    value, g = value_and_grad(f, argnums=inputs.nums)(*args)
    gvec = np.concatenate([np.ravel(np.asarray(leaf, np.float64)) for tree in g for leaf in _leaves(tree)])
    u = rng.standard_normal(inputs.size)
    u /= np.linalg.norm(u) or 1.0
    x0 = inputs.x0.astype(np.float64)
    slope_term = float(gvec @ u)
    f0 = float(value)
    h = h0 if h0 is not None else 0.1 * max(1.0, float(np.max(np.abs(x0), initial=0.0)))
    eps = float(np.max(inputs.eps()))
    steps, remainders, used = [], [], []
    for _ in range(halvings):
        fh = float(f(*inputs.build(x0 + h * u)))
        r = abs(fh - f0 - h * slope_term)
        steps.append(h)
        remainders.append(r)
        used.append(r > 100.0 * eps * max(abs(f0), abs(fh), 1e-300) + 100.0 * eps * abs(h * slope_term))
        h /= 2.0
    pts = [(np.log2(s), np.log2(r)) for s, r, ok in zip(steps, remainders, used) if ok and r > 0]
    if len(pts) < 3:
        # Remainders at rounding level from the largest step on: f is linear along u and the
        # gradient's directional derivative matches it to rounding.
        return TaylorReport(
            steps, remainders, float("nan"), "pass" if not any(used[:2]) else "inconclusive", used
        )
    # The asymptotic rate shows at the small steps: fit the last (up to) four usable points.
    xs, ys = np.array(pts[-4:]).T
    slope = float(np.polyfit(xs, ys, 1)[0])
    return TaylorReport(steps, remainders, slope, "pass" if slope >= 1.8 else "FAIL", used)


def _leaves(tree: Any) -> list[Any]:
    return tree_leaves(tree)
