"""``minimize``: the loop that feeds gradients from any source to any optimizer.

The gradient source and the optimizer are independent choices:

- ``gradient="backprop"``: value and gradient from one forward and one
  backward pass (:func:`chainrule.value_and_grad`);
- ``gradient="numerical"``: finite differences (``chainrule.numerical.grad``),
  O(N) evaluations of ``f`` per gradient, visible in ``result.nfev``;
- ``gradient=callable``: your own ``x -> gradient tree``.

Examples
--------
>>> import numpy as np
>>> from chainrule.optim import adam, minimize
>>> f = lambda p: np.sum((p["w"] - 2.0) ** 2) + (p["b"] + 1.0) ** 2
>>> res = minimize(f, {"w": np.zeros(2), "b": 0.0}, optimizer=adam(0.1), steps=2000, tol=1e-8)
>>> res.success, np.round(res.x["w"], 6), round(float(res.x["b"]), 6)
(True, array([2., 2.]), -1.0)
>>> res = minimize(f, {"w": np.zeros(2), "b": 0.0})  # L-BFGS by default
>>> res.nit <= 5, res.message
(True, 'the gradient norm is below tol=1e-06')
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from .base import GradientTransformation, LineSearchTransformation, apply_updates, tree_global_norm
from .evaluation import Objective, first_nonfinite
from .quasi_newton import lbfgs
from .result import History, OptimizeResult

__all__ = ["minimize"]

Callback = Callable[[int, Any, float, Any], Any]


class _Progress:
    """A rich progress bar when asked for, rich is installed and stdout is a terminal."""

    def __init__(self, enabled: bool, steps: int):
        self.bar: Any = None
        self.task: Any = None
        self._context: AbstractContextManager[Any] = nullcontext()
        if not (enabled and sys.stdout.isatty()):
            return
        try:
            from rich.progress import Progress
        except ImportError:
            return
        self.bar = Progress(transient=False)
        self._context = self.bar
        self.task = self.bar.add_task("minimize", total=steps)

    def __enter__(self) -> _Progress:
        self._context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._context.__exit__(*exc)

    def step(self, value: float, grad_norm: float) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=f"f={value:.6g} |g|={grad_norm:.3g}")


def _nonfinite_message(step: int, value: float, grads: Any, params: Any, note: str | None) -> str | None:
    where = first_nonfinite(params)
    if where is not None:
        return f"the parameters became non-finite at step {step}: leaf {where}"
    if not math.isfinite(value):
        return f"the objective is {value} at step {step}"
    where = first_nonfinite(grads)
    if where is not None:
        because = f" ({note})" if note else ""
        return f"the gradient is non-finite at step {step}: leaf {where}{because}"
    return None


def _check_steps(steps: Any) -> int:
    """``steps=`` as an int >= 0: the loop's only guaranteed stop."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral | float | np.floating):
        raise TypeError(
            f"steps must be a whole number of iterations (e.g. steps=1000), not {type(steps).__name__} "
            f"{steps!r}; to stop on a small gradient give tol= as well"
        )
    if not math.isfinite(steps):
        raise ValueError(
            f"steps={steps!r} would never stop on its own: give a number of iterations, and tol= to stop "
            "earlier when the gradient norm is small"
        )
    whole = int(steps)
    if whole != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative whole number, got {steps!r}")
    return whole


def minimize(
    f: Callable[..., Any],
    x0: Any,
    optimizer: GradientTransformation | LineSearchTransformation | None = None,
    *,
    steps: int = 1000,
    tol: float | None = 1e-6,
    gradient: str | Callable[..., Any] = "backprop",
    args: tuple[Any, ...] = (),
    callback: Callback | None = None,
    progress: bool = True,
) -> OptimizeResult:
    """Minimize ``f(x, *args)`` from ``x0`` with an optimizer and a gradient source.

    Parameters
    ----------
    f
        The objective: a pytree of float arrays (like ``x0``) to a float scalar.
    x0
        The starting point, any pytree of float arrays and floats.
    optimizer
        A :class:`~chainrule.optim.GradientTransformation` (``adam(1e-3)``,
        ``sgd(0.1)``, a ``chain``) or :func:`~chainrule.optim.lbfgs` (the default).
        Its updates are ADDED to the parameters.
    steps
        The maximum number of updates.
    tol
        Stop with success when the gradient's global Euclidean norm is at most
        ``tol`` (``None``: run all ``steps``, which then counts as success).
    gradient
        ``"backprop"``, ``"numerical"``, or a function ``(x, *args) -> gradient``
        returning a tree like ``x``.
    args
        Extra positional arguments of ``f`` (and of a callable ``gradient``);
        they are not differentiated.
    callback
        ``callback(step, x, value, grad)`` after each evaluated iterate (step 0
        is ``x0``); return ``True`` to stop.
    progress
        Show a progress bar (rich) when stdout is a terminal.

    Returns
    -------
    OptimizeResult
        ``x`` (a tree like ``x0``), ``fun``, ``jac``, ``nit``, ``nfev``,
        ``njev``, ``success``, ``status``, ``message``, ``history`` and
        ``gradient``. If a value, gradient or parameter becomes non-finite,
        the loop stops with a message naming the step and the leaf, and ``x``
        is the last finite iterate (``success=False``).

    Raises
    ------
    ValueError
        If a gradient's tree differs from the parameters' (the message names the path).
    """
    if optimizer is None:
        optimizer = lbfgs()
    if not isinstance(optimizer, GradientTransformation | LineSearchTransformation):
        raise TypeError(
            f"optimizer must be a GradientTransformation (e.g. chainrule.optim.adam(1e-3)) or "
            f"chainrule.optim.lbfgs(), got {type(optimizer).__name__}"
        )
    steps = _check_steps(steps)
    line_search = isinstance(optimizer, LineSearchTransformation)
    evaluate = Objective(f, gradient, args)
    values: list[float] = []
    norms: list[float] = []
    times: list[float] = []

    def result(params: Any, value: float, grads: Any, nit: int, status: int, message: str) -> OptimizeResult:
        return OptimizeResult(
            x=params,
            fun=value,
            jac=grads,
            nit=nit,
            nfev=evaluate.nfev,
            njev=evaluate.njev,
            success=status == 0,
            status=status,
            message=message,
            history=History(np.array(values), np.array(norms), np.array(times)),
            gradient=evaluate.source,
        )

    start = time.perf_counter()
    params = x0
    value, grads = evaluate(params)
    bad = _nonfinite_message(0, value, grads, params, evaluate.note)
    if bad is not None:
        return result(params, value, grads, 0, 2, bad + "; there is no finite iterate to return but x0")
    state = optimizer.init(params)
    nit = 0
    status, message = 1, f"the step limit steps={steps} was reached"
    with _Progress(progress, steps) as bar:
        while True:
            norm = tree_global_norm(grads)
            now = time.perf_counter()
            values.append(value)
            norms.append(norm)
            times.append(now - start)
            start = now
            bar.step(value, norm)
            if callback is not None and callback(nit, params, value, grads):
                status, message = 4, f"stopped by the callback at step {nit}"
                break
            if tol is not None and norm <= tol:
                status, message = 0, f"the gradient norm is below tol={tol}"
                break
            if norm == 0.0:
                status, message = 0, f"the gradient is exactly zero at step {nit} (a stationary point)"
                break
            if nit >= steps:
                if tol is None:
                    status, message = 0, f"ran all steps={steps}"
                break
            if line_search:
                updates, state = optimizer.update(grads, state, params, value=value, value_and_grad=evaluate)
                if state.failed is not None:
                    status, message = 3, f"stopped at step {nit}: {state.failed}"
                    break
            else:
                updates, state = optimizer.update(grads, state, params)
            new_params = apply_updates(params, updates)
            where = first_nonfinite(new_params)
            if where is not None:
                status = 2
                message = (
                    f"the parameters became non-finite at step {nit + 1}: leaf {where}; "
                    f"x is the last finite iterate (step {nit})"
                )
                break
            new_value, new_grads = evaluate(new_params)
            bad = _nonfinite_message(nit + 1, new_value, new_grads, new_params, evaluate.note)
            if bad is not None:
                status, message = 2, f"{bad}; x is the last finite iterate (step {nit})"
                break
            params, value, grads = new_params, new_value, new_grads
            nit += 1
    return result(params, value, grads, nit, status, message)
