"""Forward mode: ``jvp``, the output and its directional derivative in one pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from ..engine import ForwardTrace, Tracer, trace_scope
from ..naming import argument_label
from ..pytree import describe_difference, paths_of, tree_flatten, tree_unflatten
from .arguments import as_float_leaf, check_numeric_output, direction_leaf


def _owner(a: Any) -> int | None:
    if type(a) is not np.ndarray:
        return None
    return id(a) if a.base is None else id(a.base)


__all__ = ["jvp"]


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: evaluate ``f(*primals)`` and its directional derivative ``J v``.

    ``primals`` and ``tangents`` are tuples of pytrees of the same structure,
    shapes and dtypes (a Python number as a tangent takes its primal's dtype).
    Returns ``(out, tangent_out)``: each output tangent has its output's dtype,
    and each output leaf that does not depend on the primals gets a zero
    tangent. No result shares memory with the primals or tangents given.

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
    given: set[int | None] = {None}  # owners of the caller's arrays: no result may share them
    for i, (p, t) in enumerate(zip(primals, tangents)):
        p_leaves, p_def = tree_flatten(p)
        t_leaves, t_def = tree_flatten(t)
        if p_def != t_def:
            raise ValueError(f"jvp: tangent {i} differs from primal {i} " + describe_difference(p, t))
        paths = paths_of(p_def)
        wrapped = []
        for pv, tv, path in zip(p_leaves, t_leaves, paths):
            pv = as_float_leaf(pv, partial(_leaf_label, f, i, path, ""))
            tangent_label = partial(_leaf_label, f, i, path, "jvp: the tangent of ")
            tv = direction_leaf(tv, pv, tangent_label, cast_floats=False)
            given.add(_owner(pv))
            given.add(_owner(tv))
            wrapped.append(trace.leaf(pv, tv))
        boxed.append(tree_unflatten(p_def, wrapped))
    with trace_scope(trace):
        out = f(*boxed)
    out_leaves, out_def = tree_flatten(out)
    check_numeric_output(out_leaves, f, "jvp")
    values, out_tangents = [], []
    for o in out_leaves:
        if type(o) is Tracer and o._trace is trace:
            v, t = o._value, o._tangent
            dtype = v.dtype
            if type(t) is not Tracer and (np.result_type(t) != dtype or _owner(t) in given):
                t = np.array(t, dtype=dtype)  # the output's dtype, in an array the caller owns
                if type(v) is not np.ndarray:
                    t = t[()]  # a scalar tangent beside a scalar value
        else:
            v = o
            t = np.zeros(np.shape(o), dtype=np.result_type(o))
        if _owner(v) in given and _owner(v) is not None:
            v = v.copy()
        values.append(v)
        out_tangents.append(t)
    return tree_unflatten(out_def, values), tree_unflatten(out_def, out_tangents)


def _leaf_label(f: Callable[..., Any], argnum: int, path: str, prefix: str) -> str:
    """``x['w']``: a differentiated leaf named in an error message (built only if one is raised)."""
    return f"{prefix}{argument_label(f, argnum)}{path}"
