"""The result of an optimization, shaped like SciPy's ``OptimizeResult``."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = ["History", "OptimizeResult"]


class History(NamedTuple):
    """One entry per iterate (the start included): the objective value, the
    gradient's global Euclidean norm and the wall time in seconds spent on the
    step that produced the iterate (for entry 0, the first evaluation)."""

    value: np.ndarray
    grad_norm: np.ndarray
    time: np.ndarray

    def __repr__(self) -> str:
        n = len(self.value)
        if n == 0:
            return "History(empty)"
        return (
            f"History({n} iterates: value {self.value[0]:.6g} -> {self.value[-1]:.6g}, "
            f"grad_norm {self.grad_norm[0]:.3g} -> {self.grad_norm[-1]:.3g}, "
            f"total time {float(np.sum(self.time)):.3g} s)"
        )


class OptimizeResult(dict[str, Any]):
    """A dict with attribute access, as SciPy's ``OptimizeResult``.

    Attributes
    ----------
    x
        The best iterate, a tree with the structure, shapes and dtypes of ``x0``.
    fun
        The objective at ``x`` (a Python float).
    jac
        The gradient at ``x`` (a tree like ``x``).
    nit
        The number of iterations (updates) made.
    nfev, njev
        Calls of the objective function (all of them, including those made by
        finite differences) and gradient evaluations.
    success, status, message
        Whether the stopping criterion was met, a code (0 success, 1 step or
        iteration limit, 2 non-finite value, 3 no further progress, 4 stopped
        by the callback) and a sentence saying why the loop stopped.
    history
        A :class:`History` of value, gradient norm and time per iterate.
    gradient
        How gradients were computed: ``"backprop"``, ``"numerical"`` or ``"callable"``.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        del self[name]

    def __dir__(self) -> list[str]:
        return list(self.keys())

    def __repr__(self) -> str:
        order = [
            "message",
            "success",
            "status",
            "fun",
            "nit",
            "nfev",
            "njev",
            "nhev",
            "gradient",
            "x",
            "history",
        ]
        keys = [k for k in order if k in self] + sorted(k for k in self if k not in order and k != "jac")
        width = max(map(len, keys), default=0)
        lines = []
        for k in keys:
            text = repr(self[k]).replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{k.rjust(width)}: {text}")
        return "\n".join(lines)
