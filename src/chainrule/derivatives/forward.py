"""Forward mode: ``jvp``, the output and its directional derivative in one pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import ForwardTrace, Tracer, trace_scope
from ..naming import argument_label
from ..pytree import describe_difference, paths_of, tree_flatten, tree_unflatten
from .arguments import as_float_leaf

__all__ = ["jvp"]


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: evaluate ``f(*primals)`` and its directional derivative ``J v``.

    ``primals`` and ``tangents`` are tuples of pytrees of the same structure,
    shapes and dtypes. Returns ``(out, tangent_out)``; each output leaf that
    does not depend on the primals gets a zero tangent.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.jvp(np.sin, (np.array([0.0, 1.0]),), (np.array([1.0, 2.0]),))[1]
    array([1.        , 1.08060461])
    """
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TypeError("jvp(f, primals, tangents) takes primals and tangents as tuples, e.g. (x,), (v,)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    boxed = []
    trace = ForwardTrace()
    for i, (p, t) in enumerate(zip(primals, tangents)):
        p_leaves, p_def = tree_flatten(p)
        t_leaves, t_def = tree_flatten(t)
        if p_def != t_def:
            raise ValueError(f"jvp: tangent {i} differs from primal {i} " + describe_difference(p, t))
        paths = paths_of(p_def)
        wrapped = []
        for pv, tv, path in zip(p_leaves, t_leaves, paths):
            pv = as_float_leaf(pv, lambda i=i, path=path: f"{argument_label(f, i)}{path}")
            if np.shape(tv) != np.shape(pv):
                raise ValueError(
                    f"jvp: the tangent of {argument_label(f, i)}{path} has shape {np.shape(tv)}, "
                    f"but the primal has shape {np.shape(pv)}"
                )
            wrapped.append(trace.leaf(pv, tv))
        boxed.append(tree_unflatten(p_def, wrapped))
    with trace_scope(trace):
        out = f(*boxed)
    out_leaves, out_def = tree_flatten(out)
    values, out_tangents = [], []
    for o in out_leaves:
        if type(o) is Tracer and o._trace is trace:
            values.append(o._value)
            out_tangents.append(o._tangent)
        else:
            values.append(o)
            out_tangents.append(np.zeros(np.shape(o), dtype=np.result_type(o)))
    return tree_unflatten(out_def, values), tree_unflatten(out_def, out_tangents)
