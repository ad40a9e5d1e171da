"""Derivative rules of indexing: ``x[...]`` and its adjoint, the scatter-add.

Reading ``x[idx]`` is linear in ``x``; its transpose writes the cotangent into
zeros at ``idx``, accumulating duplicate indices (``np.add.at`` semantics), so
``x[[0, 0]]`` sends twice the gradient to ``x[0]``.

The gathers ``np.take``, ``np.take_along_axis``, ``np.sort`` and
``np.partition`` are written as indexing, so they inherit that rule.

Subgradient of ``sort`` (and ``partition``) with ties: the output is read
through a *stable* argsort of the input, so among equal elements the gradient
of the k-th sorted entry goes to the k-th of them in their original order.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..extend import (
    GETITEM,
    Primitive,
    axis_index,
    deflinear,
    int_array,
    is_basic_index,
    primal,
    refuse_out,
    register_function,
    unsupported,
)


def _scatter_add_impl(g: Any, index: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    out = np.zeros(shape, dtype=np.result_type(dtype, g))
    if is_basic_index(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


# Reading x[index] is linear in x, and its transpose is the scatter-add (and back).
scatter_add_p = Primitive("scatter_add", _scatter_add_impl)


def _getitem_vjp(ans: Any, x: Any, index: Any) -> Any:
    shape, dtype = np.shape(x), np.result_type(x)
    return lambda g: scatter_add_p(g, index, shape, dtype)


deflinear(GETITEM, _getitem_vjp)
deflinear(scatter_add_p, lambda ans, g, index, shape, dtype: lambda h: h[index])


# -- gathers: sort, take, take_along_axis -----------------------------------------------------------
def _take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    indices = int_array("numpy.take_along_axis", "indices", indices)
    if indices.dtype.kind not in "iu":
        raise IndexError("`indices` must be an integer array")
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr = np.ravel(arr)
        axis = 0
    ndim = np.ndim(arr)
    axis = axis_index(axis, ndim)
    if indices.ndim != ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    shape = np.shape(arr)
    index = tuple(
        indices if d == axis else np.arange(n).reshape((1,) * d + (n,) + (1,) * (ndim - d - 1))
        for d, n in enumerate(shape)
    )
    return arr[index]


register_function(np.take_along_axis, _take_along_axis)


def _sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Any:
    if order is not None:
        raise unsupported(np.sort, " with order= (structured arrays)")
    if axis is None:
        a = np.ravel(a)
        axis = -1
    perm = np.argsort(primal(a), axis=axis, kind="stable")
    return _take_along_axis(a, perm, axis)


def _partition(
    a: Any, kth: Any, axis: Any = -1, kind: Literal["introselect"] = "introselect", order: Any = None
) -> Any:
    if order is not None:
        raise unsupported(np.partition, " with order= (structured arrays)")
    if axis is None:
        a = np.ravel(a)
        axis = -1
    perm = np.argpartition(primal(a), kth, axis=axis, kind=kind)
    return _take_along_axis(a, perm, axis)


register_function(np.sort, _sort)
register_function(np.partition, _partition)


def _take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    refuse_out("numpy.take", out)
    index = int_array("numpy.take", "indices", indices)
    if axis is None:
        a = np.ravel(a)
        axis = 0
    axis = axis_index(axis, np.ndim(a))
    n = np.shape(a)[axis]
    if mode == "wrap":
        index = index % n
    elif mode == "clip":
        index = np.clip(index, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    return a[(slice(None),) * axis + (index,)]


register_function(np.take, _take)
