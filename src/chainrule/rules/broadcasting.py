"""Helpers every rule shares: undoing broadcasting, and masked products.

``unbroadcast`` is the one place where a cotangent is summed back to the shape
of the argument that was broadcast; the engine calls it for every primitive
declared with ``broadcasts=True``, so no rule does it by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["masked_product", "unbroadcast"]


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


def masked_product(g: Any, d: Any) -> Any:
    """``g * d``, but exactly 0 where ``g`` is 0, even when ``d`` is inf or NaN.

    A zero cotangent means "this element does not reach the output" (for
    example the branch ``np.where`` did not select); the local derivative
    there may be infinite (``sqrt`` at 0) and must not turn the gradient into
    NaN. Rules whose derivative can be non-finite use this instead of ``*``;
    the check costs one pass and the fix only runs when something is
    non-finite.
    """
    r = g * d
    if not np.isfinite(r).all():
        r = np.where(g == 0, 0.0, r)
    return r
