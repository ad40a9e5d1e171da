"""Helpers every rule shares: undoing broadcasting, and masked products.

``unbroadcast`` is the one place where a cotangent is summed back to the shape
of the argument that was broadcast; the engine calls it for every primitive
declared with ``broadcasts=True``, so no rule does it by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import primal

__all__ = ["masked_product", "masked_quotient", "times_fresh", "unbroadcast", "unbroadcaster"]


def _writable_result(fresh: Any, other: Any) -> bool:
    """Whether ``fresh op other`` can be written into ``fresh``: plain arrays, same result shape and dtype."""
    return (
        type(fresh) is np.ndarray
        and type(other) is np.ndarray
        and fresh.flags.writeable
        and fresh.shape == other.shape
        and fresh.dtype == other.dtype
    )


def times_fresh(g: Any, fresh: Any) -> Any:
    """``g * fresh`` where ``fresh`` is a temporary the rule just made: written into it.

    Large cotangents are megabytes; skipping one allocation per rule saves the
    page faults of a new buffer. Traced values (higher order) take the plain path.
    """
    if _writable_result(fresh, g):
        return np.multiply(fresh, g, out=fresh)
    return g * fresh


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
    # One reduction, no temporary: a NaN or inf anywhere makes the sum non-finite
    # (so does overflow of finite terms, which only costs the harmless fallback).
    with np.errstate(over="ignore", invalid="ignore"):
        total = primal(r).sum()
    if not np.isfinite(total):
        r = np.where(g == 0, 0.0, r)
    return r


def masked_quotient(g: Any, d: Any, fresh: bool = False) -> Any:
    """``g / d`` with the same zero-cotangent rule as :func:`masked_product`.

    One division instead of a reciprocal and a product: fewer passes over
    large arrays in the rules of ``log``, ``log1p``, ``sqrt`` and division.
    ``fresh`` says ``d`` is a temporary of the rule, which the quotient may overwrite.
    """
    r = np.divide(g, d, out=d) if fresh and _writable_result(d, g) else g / d
    with np.errstate(over="ignore", invalid="ignore"):
        total = primal(r).sum()
    if not np.isfinite(total):
        r = np.where(g == 0, 0.0, r)
    return r


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
