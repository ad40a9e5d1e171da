"""Checking a hand-written gradient against finite differences: ``check_grad(f, *args, grad=g)``.

Backpropagation written by hand (every neural-network course asks for it)
is checked the same way chainrule's own is: element by element ("full") or
along random directions ("fast"), with the same tolerances, report and table.
Only the numerical side runs ``f``, so ``f`` need not be traceable: it may
call ``float()``, ``math.exp`` or another library. A wrong leaf is named by
its tree path (``argument 0 ('params')['w1'][2, 0]``); there is no trace to
localize a wrong rule in, so the report lists the leaves that fail instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..pytree import tree_flatten
from .comparison import DEFAULT_PROBES, PER_ELEMENT, Checker, Problem, escalate, function_name, verdict_report
from .errors import CheckCostError, GradientCheckError
from .options import check_probes, check_tolerance, require_comparisons
from .report import CheckReport
from .tolerance import default_tolerances

__all__ = ["check_given_grad"]


class _GivenProblem(Problem):
    """A problem whose "backprop" side is the user's gradient function."""

    def __init__(self, f: Callable[..., Any], args: tuple[Any, ...], argnums: Any, rng: np.random.Generator,
                 grad: Callable[..., Any]):  # fmt: skip
        super().__init__(f, args, argnums, rng)
        if self.scalarized:
            raise TypeError(
                f"check_grad(..., grad=) needs {function_name(f)} to return a scalar (a loss), since a "
                "gradient is defined for scalar functions only; for a layer with a vector output "
                "write forward/backward functions and use chainrule.check_vjp."
            )
        self.given = grad
        self.argnums = argnums

    def backprop(self) -> np.ndarray:
        got = self.given(*self.args)
        if isinstance(self.argnums, int):
            trees: tuple[Any, ...] | None = (got,)
        else:
            trees = tuple(got) if isinstance(got, tuple | list) else None
        name = function_name(self.given)
        if trees is None or len(trees) != len(self.nums):
            want = f"a tuple of {len(self.nums)}" if len(self.nums) > 1 else "one tree"
            raise TypeError(
                f"{name} must return one gradient per differentiated argument (argnums="
                f"{self.argnums!r}): {want}; it returned {type(got).__name__}."
            )
        pieces = []
        leaf = 0
        for tree, n, treedef in zip(trees, self.nums, self.treedefs):
            leaves, got_def = tree_flatten(tree)
            if got_def != treedef:
                raise TypeError(
                    f"{name} returned a gradient for argument {n} with the structure {got_def!r}, but "
                    f"the argument has the structure {treedef!r}: the gradient must mirror the argument."
                )
            for value in leaves:
                shape = self.inputs.shapes[leaf]
                arr = np.asarray(value, dtype=np.float64)
                if arr.shape != shape:
                    raise ValueError(
                        f"{name} returned a gradient of shape {arr.shape} for {self.inputs.names[leaf]}, "
                        f"which has shape {shape}."
                    )
                pieces.append(arr.ravel())
                leaf += 1
        return np.concatenate(pieces) if pieces else np.zeros(0)


def check_given_grad(
    f: Callable[..., Any],
    args: tuple[Any, ...],
    grad: Callable[..., Any],
    *,
    argnums: int | Sequence[int] = 0,
    mode: str = "full",
    rtol: float | None = None,
    atol: float | None = None,
    seed: int | None = None,
    probes: int = DEFAULT_PROBES,
    max_evaluations: int | None = None,
    strict: bool = False,
    method: str = "central",
    raise_on_failure: bool = True,
    executor: Any = None,
) -> CheckReport:
    """The body of ``check_grad(f, *args, grad=g)``; see :func:`chainrule.check_grad`."""
    if mode not in ("full", "fast"):
        raise ValueError(f"mode= must be 'full' or 'fast', not {mode!r}")
    probes = check_probes(probes)
    rtol, atol = check_tolerance("rtol", rtol), check_tolerance("atol", atol)
    if not callable(grad):
        raise TypeError(f"grad= must be a function returning the gradient, not {type(grad).__name__}")
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    p = _GivenProblem(f, args, argnums, rng, grad)
    d_rtol, atol_frac = default_tolerances(p.dtype)
    n = p.size
    cost = 2 + PER_ELEMENT * n if mode == "full" else 1 + probes * (PER_ELEMENT + 1)
    if max_evaluations is not None and cost > max_evaluations:
        raise CheckCostError(
            f"a {mode!r} check of {function_name(f)} over {n} inputs needs about {cost} evaluations, more "
            f"than max_evaluations={max_evaluations}."
            + (" Use mode='fast' (random directional probes)." if mode == "full" else " Use fewer probes.")
        )
    c = Checker(p, d_rtol if rtol is None else rtol, atol_frac, atol, method, strict, ("rev",), executor)
    c.rtol_given = rtol is not None
    c.notes.append(
        f"gradient from {function_name(grad)} (hand-written), compared with finite differences of f"
    )
    g = p.backprop()
    if mode == "full":
        c.elements(g, None, "d/dx")
    else:
        gnorm = float(np.linalg.norm(g)) or 1.0
        for k in range(probes):
            v = rng.standard_normal(n)
            c.probe(v, float(g @ v), gnorm, f"probe {k}")
        if any(r.status == "FAIL" for r in c.rows):
            escalate(c, g, rng)
    failed = any(r.status == "FAIL" for r in c.rows)
    require_comparisons(function_name(f), c.rows, failed)
    report = verdict_report(p, c, mode, 1, ("rev",), probes if mode == "fast" else 0, failed, start)
    if failed:
        report.localization = _wrong_leaves(report)
    report.seconds = time.perf_counter() - start
    if failed and raise_on_failure:
        raise GradientCheckError(report)
    return report


def _wrong_leaves(report: CheckReport) -> str:
    """Which leaves of the hand-written gradient disagree, by tree path."""
    counts: dict[str, int] = {}
    for row in report.rows:
        if row.status == "FAIL" and row.index is not None and row.what == "d/dx":
            counts[row.path] = counts.get(row.path, 0) + 1
    if not counts:
        return "the hand-written gradient disagrees along a random direction"
    parts = [f"{path} ({k} element{'s' if k > 1 else ''})" for path, k in counts.items()]
    return "the hand-written gradient is wrong in " + ", ".join(parts)
