"""The dispatch tables: which primitive a NumPy function or ufunc reaches.

The engine reads these tables when NumPy hands it a call on a traced value;
rule modules fill them through :mod:`chainrule.extend` only. A function with
no entry is refused by :func:`unsupported`, never passed through.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import UnsupportedOperationError

__all__ = [
    "FUNCTION_HANDLERS",
    "NONDIFF_REAL_ONLY",
    "NONDIFF_UFUNCS",
    "UFUNC_PRIMITIVES",
    "qualified_name",
    "unsupported",
]

# ufunc -> Primitive (typed loosely: the Primitive class lives above this module).
UFUNC_PRIMITIVES: dict[np.ufunc, Any] = {}
# NumPy array function -> the handler that normalizes the call and applies primitives.
FUNCTION_HANDLERS: dict[Callable[..., Any], Callable[..., Any]] = {}
# Ufuncs whose result carries no derivative (comparisons, rounding, tests): they
# run on the plain values, which is exact, not an approximation.
NONDIFF_UFUNCS: set[np.ufunc] = set()
# Of those, the ones piecewise constant for real arguments only: np.sign(z) is z / |z|.
NONDIFF_REAL_ONLY: set[np.ufunc] = set()


def qualified_name(fun: Any) -> str:
    """``numpy.fft.fft``, ``numpy.sin``, ``scipy.special.gammaln``: what a user typed.

    >>> qualified_name(np.sin), qualified_name(np.linalg.inv)
    ('numpy.sin', 'numpy.linalg.inv')
    """
    name = getattr(fun, "__name__", None) or repr(fun)
    if isinstance(fun, np.ufunc):
        if getattr(np, name, None) is fun:
            return f"numpy.{name}"
        special = sys.modules.get("scipy.special")
        if special is not None and getattr(special, name, None) is fun:
            return f"scipy.special.{name}"
        return f"ufunc {name!r}"
    module = getattr(fun, "__module__", None)
    if module and module.startswith("numpy"):
        for public in ("numpy.linalg", "numpy.fft", "numpy.random", "numpy"):
            if module.startswith(public):
                return f"{public}.{name}"
    return f"{module}.{name}" if module else name


def unsupported(fun: Any, detail: str = "") -> UnsupportedOperationError:
    """The error for a function applied to a traced value that has no rule."""
    name = fun if isinstance(fun, str) else qualified_name(fun)
    return UnsupportedOperationError(
        f"chainrule has no derivative rule for {name}{detail}, so it cannot differentiate "
        f"through it (passing the value through would drop the gradient silently). "
        f"Register a rule with chainrule.defvjp({name}, ...) (and chainrule.defjvp for "
        f"forward mode), or wrap the code that calls it in a function decorated with "
        f"chainrule.custom_vjp; use chainrule.primal(x) if no derivative should flow "
        f"through it."
    )
