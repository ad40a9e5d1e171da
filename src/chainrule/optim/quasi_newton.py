"""L-BFGS: a quasi-Newton optimizer with a strong Wolfe line search.

L-BFGS keeps the last ``memory`` pairs ``s = x_{k+1} - x_k`` and
``y = g_{k+1} - g_k`` and applies the inverse-Hessian approximation they
define to the gradient by the two-loop recursion; the step length along that
direction comes from :func:`~chainrule.optim.linesearch.strong_wolfe`, which
guarantees ``s . y > 0`` and so a positive definite approximation.

Because the line search evaluates the objective, the update takes two extra
keyword arguments: the ``value`` at ``params`` and a ``value_and_grad``
function. :func:`~chainrule.optim.minimize` passes them. As everywhere in
:mod:`chainrule.optim`, the returned **updates are ADDED** to the parameters.

Examples
--------
>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule.optim import apply_updates, lbfgs
>>> f = lambda x: np.sum((x - 1.0) ** 2) + np.sum(x ** 4)
>>> vg = cr.value_and_grad(f)
>>> opt = lbfgs()
>>> x = np.zeros(3)
>>> state = opt.init(x)
>>> for _ in range(20):
...     value, g = vg(x)
...     updates, state = opt.update(g, state, x, value=value, value_and_grad=vg)
...     x = apply_updates(x, updates)
>>> np.round(x, 6)  # 4 x**3 + 2 (x - 1) = 0
array([0.589755, 0.589755, 0.589755])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..pytree import tree_flatten, tree_unflatten
from .base import (
    LineSearchTransformation,
    apply_updates,
    check_same_tree,
    tree_add,
    tree_global_norm,
    tree_scale,
    tree_vdot,
)
from .linesearch import strong_wolfe

__all__ = ["LbfgsState", "lbfgs"]


class LbfgsState(NamedTuple):
    """The memory of L-BFGS.

    ``s_history`` and ``y_history`` hold the last pairs of parameter and
    gradient differences (oldest first), ``rho_history`` their ``1 / (s . y)``.
    ``prev_grad`` and ``prev_update`` are the gradient and the update of the
    previous step, from which the next pair is formed. ``failed`` holds the
    line search's message when no acceptable step was found (the update is then
    zero and the loop should stop).
    """

    count: int  # type: ignore[assignment]  # a field named like tuple.count, as in optax
    s_history: tuple[Any, ...]
    y_history: tuple[Any, ...]
    rho_history: tuple[float, ...]
    prev_grad: Any
    prev_update: Any
    failed: str | None = None
    line_search_evals: int = 0


def _dot(a: list[Any], b: list[Any]) -> float:
    return sum(float(np.vdot(x, y)) for x, y in zip(a, b))


def _axpy(alpha: float, x: list[Any], y: list[Any]) -> list[Any]:
    """``alpha * x + y`` leaf by leaf (``alpha`` a Python float: dtypes are kept)."""
    return [alpha * xi + yi for xi, yi in zip(x, y)]


def _direction(grads: Any, state: LbfgsState) -> Any:
    """``-H grads`` by the two-loop recursion (``H`` the L-BFGS inverse Hessian).

    Works on the leaf lists (the trees have been checked to match) to keep the
    per-iteration overhead at a few NumPy calls per stored pair.
    """
    q, treedef = tree_flatten(grads)
    q = [np.asarray(v) for v in q]
    ss = [tree_flatten(s)[0] for s in state.s_history]
    ys = [tree_flatten(y)[0] for y in state.y_history]
    alphas = []
    for s, y, rho in zip(reversed(ss), reversed(ys), reversed(state.rho_history)):
        a = rho * _dot(s, q)
        alphas.append(a)
        q = _axpy(-a, y, q)
    gamma = _dot(ss[-1], ys[-1]) / _dot(ys[-1], ys[-1]) if ss else 1.0
    r = [gamma * v for v in q]
    for s, y, rho, a in zip(ss, ys, state.rho_history, reversed(alphas)):
        b = rho * _dot(y, r)
        r = _axpy(a - b, s, r)
    return tree_unflatten(treedef, [-v for v in r])


def lbfgs(
    memory: int = 10,
    c1: float = 1e-4,
    c2: float = 0.9,
    max_line_search_evals: int = 30,
) -> LineSearchTransformation:
    """L-BFGS with a line search satisfying the strong Wolfe conditions.

    Parameters
    ----------
    memory
        How many recent ``(s, y)`` pairs to keep.
    c1, c2
        The Wolfe constants (sufficient decrease, curvature), ``0 < c1 < c2 < 1``.
    max_line_search_evals
        The evaluation budget of one line search.

    Returns
    -------
    LineSearchTransformation
        ``init(params)`` and
        ``update(grads, state, params, *, value, value_and_grad) -> (updates, state)``;
        the updates are ADDED to ``params`` and equal ``alpha * direction`` for
        the accepted step ``alpha``.
    """
    if int(memory) != memory or memory < 1:
        raise ValueError(f"memory must be a positive integer, got {memory!r}")
    memory = int(memory)

    def init(params: Any) -> LbfgsState:
        return LbfgsState(0, (), (), (), None, None)

    def update(
        grads: Any,
        state: LbfgsState,
        params: Any,
        *,
        value: float,
        value_and_grad: Callable[[Any], tuple[float, Any]],
    ) -> tuple[Any, LbfgsState]:
        check_same_tree(params, grads, "params", "gradient")
        s_hist, y_hist, rho_hist = state.s_history, state.y_history, state.rho_history
        if state.prev_grad is not None:
            y = tree_add(grads, tree_scale(-1.0, state.prev_grad))
            s = state.prev_update
            sy = tree_vdot(s, y)
            if sy > 1e-10 * tree_global_norm(s) * tree_global_norm(y):
                s_hist = (*s_hist, s)[-memory:]
                y_hist = (*y_hist, y)[-memory:]
                rho_hist = (*rho_hist, 1.0 / sy)[-memory:]
        state = state._replace(s_history=s_hist, y_history=y_hist, rho_history=rho_hist)

        def search(state: LbfgsState) -> tuple[Any, Any]:
            direction = _direction(grads, state)
            slope = tree_vdot(grads, direction)
            # Without curvature pairs the direction is -grads: a first step of length at most 1.
            alpha1 = 1.0 if state.s_history else min(1.0, 1.0 / max(tree_global_norm(grads), 1e-300))

            def phi(alpha: float) -> tuple[float, float, Any]:
                v, g = value_and_grad(apply_updates(params, tree_scale(alpha, direction)))
                return float(v), tree_vdot(g, direction), g

            return direction, strong_wolfe(phi, float(value), slope, alpha1, c1, c2, max_line_search_evals)

        direction, result = search(state)
        evals = result.nevals
        if not result.success and result.alpha == 0.0 and state.s_history:
            # The curvature memory may be stale: retry once as steepest descent.
            state = state._replace(s_history=(), y_history=(), rho_history=())
            direction, result = search(state)
            evals += result.nevals
        updates = tree_scale(result.alpha, direction)
        failed = None
        if result.alpha == 0.0:
            failed = f"the line search found no step that decreases the objective ({result.message})"
        new_state = state._replace(
            count=state.count + 1,
            prev_grad=grads,
            prev_update=updates,
            failed=failed,
            line_search_evals=evals,
        )
        return updates, new_state

    return LineSearchTransformation(init, update)
