"""Undoing broadcasting: the one place a cotangent is summed back to its argument's shape.

The engine calls :func:`unbroadcaster` for every primitive declared with
``broadcasts=True`` (so no rule does it by hand); rules that broadcast on
purpose (``broadcast_to``) call :func:`unbroadcast`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["unbroadcast", "unbroadcaster"]


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes along which an array of ``shape`` was broadcast.

    >>> unbroadcast(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    >>> unbroadcast(np.ones((2, 3)), (2, 1))
    array([[3.],
           [3.]])
    """
    gshape = np.shape(g)
    if gshape == shape:
        return g
    if len(gshape) < len(shape) or any(s != 1 and s != gs for s, gs in zip(shape[::-1], gshape[::-1])):
        # g is smaller than the argument (a scalar cotangent, say): spread it.
        g = np.broadcast_to(g, np.broadcast_shapes(gshape, shape))
        gshape = np.shape(g)
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    if axes:
        g = np.sum(g, axis=axes)
    if np.shape(g) != shape:
        g = np.reshape(g, shape)
    return g


def unbroadcaster(fn: Any, shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Any:
    """Wrap a cotangent rule so its result is summed back to ``shape``.

    The axes are worked out once, when the operation is recorded (both shapes
    are known then), so the backward pass does one ``sum`` and at most one
    ``reshape``.
    """
    lead = len(out_shape) - len(shape)
    if lead < 0:
        return lambda g: unbroadcast(fn(g), shape)
    for s, o in zip(shape, out_shape[lead:]):
        if s != 1 and s != o:
            return lambda g: unbroadcast(fn(g), shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and out_shape[lead + i] != 1
    )

    def summed(g: Any) -> Any:
        c = fn(g)
        if np.shape(c) != out_shape:  # a rule that returned something smaller
            return unbroadcast(c, shape)
        if axes:
            c = c.sum(axis=axes)
        return c if c.shape == shape else c.reshape(shape)

    return summed
