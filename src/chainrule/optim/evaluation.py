"""Where gradients come from, and counting what they cost.

The optimizers never see this: they receive a gradient tree. This module turns
``gradient="backprop" | "numerical" | callable`` into one function
``params -> (value, gradient)``, counts every call of the objective (so the
O(N) cost of finite differences shows in ``nfev``), checks trees, and finds
the first non-finite leaf for error messages.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import numerical
from ..derivatives import value_and_grad
from ..pytree import paths_of, tree_flatten, tree_unflatten
from .base import check_same_tree

__all__ = ["CountedFunction", "Objective", "first_nonfinite", "gradient_source_name"]


class CountedFunction:
    """``f`` with a call counter (``calls``)."""

    def __init__(self, f: Callable[..., Any]):
        self.f = f
        self.calls = 0
        # Messages (grad's "needs f to return a scalar") and argument names read the user's function.
        functools.update_wrapper(self, f)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.f(*args, **kwargs)


def gradient_source_name(gradient: Any) -> str:
    if callable(gradient):
        return "callable"
    if gradient in ("backprop", "numerical"):
        return str(gradient)
    raise ValueError(
        f"gradient={gradient!r}: use 'backprop' (reverse-mode, one backward pass), "
        "'numerical' (finite differences, O(N) evaluations) or a function x -> gradient tree"
    )


def _as_float(value: Any, f: Callable[..., Any]) -> float:
    if np.ndim(value) != 0:
        name = getattr(f, "__name__", repr(f))
        raise ValueError(f"the objective {name} must return a scalar, got shape {np.shape(value)}")
    return float(value)


def _nan_like(tree: Any) -> Any:
    leaves, treedef = tree_flatten(tree)
    dtypes = [np.result_type(np.float64(v) if isinstance(v, float | int) else v) for v in leaves]
    return tree_unflatten(treedef, [np.full(np.shape(v), np.nan, dtype=d) for v, d in zip(leaves, dtypes)])


def _leaves_equal(a: list[Any], b: list[Any]) -> bool:
    return all(np.result_type(x) == np.result_type(y) and np.array_equal(x, y) for x, y in zip(a, b))


class Objective:
    """``params -> (value, gradient)`` from the chosen source, counted and memoized.

    The last evaluated point is remembered, so that a line search's final
    evaluation is not repeated by the loop that accepts its step.
    """

    def __init__(self, f: Callable[..., Any], gradient: Any = "backprop", args: tuple[Any, ...] = ()):
        self.source = gradient_source_name(gradient)
        self.user_f = f
        self.counted = CountedFunction(f)
        self.args = tuple(args)
        self.gradient = gradient
        self.njev = 0
        self.note: str | None = None  # why the last numerical gradient is NaN, if it is
        self._last: tuple[Any, list[Any], float, Any] | None = None
        if self.source == "backprop":
            self._vg = value_and_grad(self.counted)

    @property
    def nfev(self) -> int:
        return self.counted.calls

    def _compute(self, params: Any) -> tuple[float, Any]:
        args = self.args
        if self.source == "backprop":
            value, grads = self._vg(params, *args)
        elif self.source == "numerical":
            value = self.counted(params, *args)
            self.note = None
            if not math.isfinite(_as_float(value, self.user_f)):
                grads = _nan_like(params)
            else:
                try:
                    grads = numerical.grad(self.counted, params, *args)
                except numerical.NonFiniteError as err:
                    # A stencil point was non-finite: report it as a non-finite gradient.
                    grads = _nan_like(params)
                    self.note = str(err)
        else:
            value = self.counted(params, *args)
            grads = self.gradient(params, *args)
        self.njev += 1
        check_same_tree(params, grads, "params", f"gradient (from {self.source})")
        return _as_float(value, self.user_f), grads

    def __call__(self, params: Any) -> tuple[float, Any]:
        leaves, treedef = tree_flatten(params)
        last = self._last
        if last is not None and last[0] == treedef and _leaves_equal(last[1], leaves):
            return last[2], last[3]
        value, grads = self._compute(params)
        self._last = (treedef, [np.array(v, copy=True) for v in leaves], value, grads)
        return value, grads


def first_nonfinite(tree: Any) -> str | None:
    """Describe the first leaf of ``tree`` holding NaN or infinity, or ``None`` if all are finite.

    >>> first_nonfinite({"w": np.array([1.0, np.nan, np.inf]), "b": 0.0})
    "['w'] (1 NaN and 1 infinite of 3 elements)"
    """
    leaves, treedef = tree_flatten(tree)
    for path, leaf in zip(paths_of(treedef), leaves):
        a = np.asarray(leaf)
        if np.issubdtype(a.dtype, np.inexact) and not np.all(np.isfinite(a)):
            nan = int(np.sum(np.isnan(a)))
            inf = int(np.sum(np.isinf(a)))
            parts = [f"{nan} NaN"] if nan else []
            parts += [f"{inf} infinite"] if inf else []
            return f"{path or 'root'} ({' and '.join(parts)} of {a.size} elements)"
    return None
