"""How NumPy's ufunc protocol (NEP 13) reaches the primitives.

``Tracer.__array_ufunc__`` lands here with the ufunc, its method
(``__call__``, ``reduce``, ``accumulate``, ``outer``, ``at``) and arguments.
Calls go to the ufunc's primitive; reductions and accumulations of
``add``/``multiply``/``maximum``/``minimum`` go to the matching array
function (``np.add.reduce`` is ``np.sum``); in-place forms are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import FUNCTION_HANDLERS, NONDIFF_UFUNCS, UFUNC_PRIMITIVES, Tracer, apply, primal, qualified_name
from .errors import InPlaceError, UnsupportedOperationError

__all__ = ["dispatch_ufunc", "unsupported"]

_REDUCE = {np.add: np.sum, np.multiply: np.prod, np.maximum: np.max, np.minimum: np.min}
_ACCUMULATE = {np.add: np.cumsum, np.multiply: np.cumprod}


def unsupported(fun: Any, detail: str = "") -> UnsupportedOperationError:
    """The error for a function applied to a traced value that has no rule."""
    name = qualified_name(fun)
    return UnsupportedOperationError(
        f"chainrule has no derivative rule for {name}{detail}, so it cannot differentiate "
        f"through it (passing the value through would drop the gradient silently). "
        f"Register a rule with chainrule.defvjp({name}, ...) (and chainrule.defjvp for "
        f"forward mode), or wrap the code that calls it in a function decorated with "
        f"chainrule.custom_vjp; use chainrule.primal(x) if no derivative should flow "
        f"through it."
    )


def _has_tracer(values: Any) -> bool:
    return any(type(v) is Tracer for v in values)


def dispatch_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    out = kwargs.pop("out", None)
    if out is not None:
        outs = out if isinstance(out, tuple) else (out,)
        raise InPlaceError(
            f"{qualified_name(ufunc)} was asked to write a traced result into an existing "
            f"array (out=..., or an in-place operator such as a += x on a NumPy array "
            f"a); the write cannot be recorded. Write the functional form instead: "
            f"a = {ufunc.__name__}(...) or a = a + x."
            + (" The output array is itself traced." if _has_tracer(outs) else "")
        )
    if "where" in kwargs:
        raise InPlaceError(
            f"{qualified_name(ufunc)}(..., where=mask) leaves the unselected entries "
            "undefined; use np.where(mask, ufunc(...), fallback) instead."
        )
    if method == "__call__":
        prim = UFUNC_PRIMITIVES.get(ufunc)
        if prim is not None:
            return apply(prim, inputs, kwargs)
        if ufunc in NONDIFF_UFUNCS:
            return ufunc(*map(primal, inputs), **kwargs)
        raise unsupported(ufunc)
    if method == "reduce" and ufunc in _REDUCE:
        axis = kwargs.pop("axis", 0)
        return _REDUCE[ufunc](inputs[0], axis=axis, **kwargs)
    if method == "accumulate" and ufunc in _ACCUMULATE:
        axis = kwargs.pop("axis", 0)
        return _ACCUMULATE[ufunc](inputs[0], axis=axis, **kwargs)
    if method == "outer" and ufunc in UFUNC_PRIMITIVES and len(inputs) == 2:
        a, b = inputs
        a = np.reshape(a, np.shape(a) + (1,) * np.ndim(b))
        return ufunc(a, b, **kwargs)
    if method in ("reduce", "accumulate", "outer", "reduceat") and ufunc in NONDIFF_UFUNCS:
        return getattr(ufunc, method)(*map(primal, inputs), **kwargs)
    if method == "at":
        raise InPlaceError(
            f"{qualified_name(ufunc)}.at writes in place and cannot be recorded; use "
            "chainrule.at(x)[idx].add(v) (duplicate indices accumulate)."
        )
    raise unsupported(ufunc, f".{method}")


def register_function(func: Any, handler: Any) -> None:
    """Route ``func`` (a NumPy array function) to ``handler`` when it sees a tracer."""
    FUNCTION_HANDLERS[func] = handler
