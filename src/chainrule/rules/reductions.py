"""Derivative rules of reductions: sum, mean, prod, max/min, var/std, cumulative ones.

Each reverse rule restores the reduced axes (``keepdims``) and broadcasts the
cotangent back over them; each forward rule reduces the tangent the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Primitive, defjvp, defvjp
from ..dispatch import register_function
from ..errors import InPlaceError


def normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    """The reduced axes as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    return tuple(sorted(int(a) % max(ndim, 1) for a in axes))


def keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """``shape`` with the reduced axes set to 1."""
    axes = normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_to(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduced cotangent back to the input's ``shape``."""
    if not keepdims:
        g = np.reshape(g, keepdims_shape(shape, axis))
    return np.broadcast_to(g, shape)


def refuse_out(name: str, out: Any) -> None:
    if out is not None:
        raise InPlaceError(f"{name}(..., out=...) writes in place; assign the result instead.")


def _sum_impl(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.sum(a, axis=axis, keepdims=keepdims)


sum_p = Primitive("numpy.sum", _sum_impl)
defvjp(sum_p, lambda ans, a, axis=None, keepdims=False: lambda g: expand_to(g, np.shape(a), axis, keepdims))
defjvp(sum_p, lambda t, ans, a, axis=None, keepdims=False: np.sum(t, axis=axis, keepdims=keepdims))


def _sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    refuse_out("numpy.sum", out)
    if kw:
        raise TypeError(f"chainrule's numpy.sum does not support {sorted(kw)} on traced values")
    if dtype is not None:
        from .casting import astype

        a = astype(a, dtype)
    return sum_p(a, axis, keepdims)


register_function(np.sum, _sum)
