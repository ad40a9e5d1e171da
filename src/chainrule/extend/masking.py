"""Products that keep an unselected branch's zero cotangent exactly zero, and writes into temporaries.

A zero cotangent means "this element does not reach the output" (for example
the branch ``np.where`` did not select); the local derivative there may be
infinite (``sqrt`` at 0) and must not turn the gradient into NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Tracer, primal
from ..engine.core import BATCH

__all__ = ["any_set", "masked_product", "masked_quotient", "times_fresh"]


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


def _nothing_to_mask(g: Any, r: Any) -> bool:
    """Whether ``g`` is plain data without a zero while the result ``r`` is traced.

    Then masking changes nothing (``np.where(g == 0, 0.0, r)`` is ``r``), and testing
    ``g`` is cheaper than testing ``r``: under ``chainrule.jit`` it runs once at staging
    instead of as a guarded check in every call of the staged code (a backward pass
    seeded with ones hands ``log``'s rule a constant cotangent). Plain ``r`` (eager
    code) keeps the one-pass test of ``r``.
    """
    return type(r) is Tracer and type(g) is np.ndarray and g.dtype.kind == "f" and bool(g.all())


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
    if _nothing_to_mask(g, r):
        return r
    # One reduction, no temporary: a NaN or inf anywhere makes the sum non-finite
    # (so does overflow of finite terms, which only costs the harmless fallback).
    with np.errstate(over="ignore", invalid="ignore"):
        total = (r if type(r) is np.ndarray else _unbatched(r)).sum()
    if not np.isfinite(total):
        r = np.where(g == 0, 0.0, r)
    return r


def _unbatched(x: Any) -> Any:
    """The plain value of ``x``; for a value batched by ``chainrule.vmap``, all its examples at once."""
    if type(x) is np.ndarray:  # the common case, first
        return x
    x = primal(x)
    while type(x) is Tracer and x._trace.kind == BATCH:
        x = primal(x._value.data)
    return x


def any_set(mask: Any) -> bool:
    """Whether any element of ``mask`` is set, in any example when it is batched by ``chainrule.vmap``.

    For a rule that takes a cheaper path when nothing needs masking (or
    refuses when something is wrong): under ``vmap`` one path serves every
    example, so the careful path is taken if any example needs it.

    >>> any_set(np.array([0.0, 1.0]) == 0)
    True
    """
    m = _unbatched(mask)
    return bool(m.any()) if type(m) is np.ndarray else bool(np.any(m))


def masked_quotient(g: Any, d: Any, fresh: bool = False) -> Any:
    """``g / d`` with the same zero-cotangent rule as :func:`masked_product`.

    One division instead of a reciprocal and a product: fewer passes over
    large arrays in the rules of ``log``, ``log1p``, ``sqrt`` and division.
    ``fresh`` says ``d`` is a temporary of the rule, which the quotient may overwrite.
    """
    r = np.divide(g, d, out=d) if fresh and _writable_result(d, g) else g / d
    if _nothing_to_mask(g, r):
        return r
    with np.errstate(over="ignore", invalid="ignore"):
        total = (r if type(r) is np.ndarray else _unbatched(r)).sum()
    if not np.isfinite(total):
        r = np.where(g == 0, 0.0, r)
    return r
