"""Derivative rules of shape functions: reshape, transpose, broadcasting, joining, splitting.

All of these are linear, so each forward rule applies the same function to the
tangent, and each reverse rule applies the inverse rearrangement (or its sum,
for broadcasting) to the cotangent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Primitive, defjvp, defvjp
from ..dispatch import register_function
from .broadcasting import unbroadcast


def _reshape_impl(a: Any, shape: Any, order: str = "C") -> Any:
    return np.reshape(a, shape, order=order)


reshape_p = Primitive("numpy.reshape", _reshape_impl)
defvjp(reshape_p, lambda ans, a, shape, order="C": lambda g: np.reshape(g, np.shape(a), order=order))
defjvp(reshape_p, lambda t, ans, a, shape, order="C": np.reshape(t, shape, order=order))


def _reshape(a: Any, shape: Any = None, order: str = "C", **kwargs: Any) -> Any:
    shape = kwargs.pop("newshape", shape)
    return reshape_p(a, shape, order)


register_function(np.reshape, _reshape)


def _transpose_impl(a: Any, axes: Any = None) -> Any:
    return np.transpose(a, axes)


def _inverse_axes(axes: Any, ndim: int) -> Any:
    if axes is None:
        return None
    return tuple(np.argsort([ax % ndim for ax in axes]))


transpose_p = Primitive("numpy.transpose", _transpose_impl)
defvjp(transpose_p, lambda ans, a, axes=None: lambda g: np.transpose(g, _inverse_axes(axes, np.ndim(a))))
defjvp(transpose_p, lambda t, ans, a, axes=None: np.transpose(t, axes))
register_function(np.transpose, lambda a, axes=None: transpose_p(a, axes))


def _broadcast_to_impl(a: Any, shape: Any) -> Any:
    return np.broadcast_to(a, shape)


broadcast_to_p = Primitive("numpy.broadcast_to", _broadcast_to_impl)
defvjp(broadcast_to_p, lambda ans, a, shape: lambda g: unbroadcast(g, np.shape(a)))
defjvp(broadcast_to_p, lambda t, ans, a, shape: np.broadcast_to(t, shape))
register_function(
    np.broadcast_to,
    lambda array, shape, subok=False: broadcast_to_p(array, tuple(shape) if np.iterable(shape) else (shape,)),
)
