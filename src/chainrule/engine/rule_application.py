"""Applying a primitive's rules to one recorded call: the one place it is done.

The reverse trace builds its node's cotangent functions with
:func:`cotangent_functions`, the forward trace its output tangent with
:func:`output_tangent`, and the gradient checker's localization calls both to
re-check one primitive at the values it saw. Broadcasting is undone here, once,
for every primitive declared with ``broadcasts=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .broadcasting import unbroadcaster
from .core import Primitive

__all__ = ["cotangent_functions", "output_tangent"]


def cotangent_functions(
    prim: Primitive,
    ans: Any,
    raw: Sequence[Any],
    kwargs: dict[str, Any],
    argnums: Sequence[int],
) -> list[tuple[int, Callable[[Any], Any]]]:
    """``(i, g -> cotangent of argument i)`` for each argument in ``argnums`` with a non-zero rule.

    ``raw`` are the plain arguments and ``ans`` the plain result of the call.
    Each function returns a cotangent of argument ``i``'s exact shape.
    """
    makers = prim.vjp_makers
    out = []
    for i in argnums:
        maker = makers[i] if i in makers else prim.vjp_maker(i)
        if maker is None:
            continue
        fn = maker(ans, *raw, **kwargs) if kwargs else maker(ans, *raw)
        if fn is None:
            continue
        if prim.broadcasts:
            # Traced values and ufunc results are NumPy arrays or scalars: read the
            # attribute (np.shape goes through NumPy's dispatch, a cost per operation).
            try:
                shape, out_shape = raw[i].shape, ans.shape
            except AttributeError:
                shape, out_shape = np.shape(raw[i]), np.shape(ans)
            if shape != out_shape:
                fn = unbroadcaster(fn, shape, out_shape)
        out.append((i, fn))
    return out


def output_tangent(
    prim: Primitive,
    ans: Any,
    raw: Sequence[Any],
    kwargs: dict[str, Any],
    argnums: Sequence[int],
    tangents: Sequence[Any],
) -> Any:
    """The tangent of the call's output given the tangents of arguments ``argnums``; ``None`` for zero."""
    out = None
    for i, t in zip(argnums, tangents):
        rule = prim.jvp_rule(i)
        if rule is None:
            continue
        c = rule(t, ans, *raw, **kwargs) if kwargs else rule(t, ans, *raw)
        if c is None:
            continue
        if prim.broadcasts and np.shape(c) != np.shape(ans):
            c = np.broadcast_to(c, np.shape(ans))
        out = c if out is None else out + c
    return out
