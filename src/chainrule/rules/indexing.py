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

import operator
from typing import Any

import numpy as np

from ..core import INTERNAL, Primitive, Tracer, defjvp, defvjp
from ..dispatch import register_function, unsupported
from ..errors import TracerConversionError
from .shape import normalize_axis, plain_ints, raw_array, refuse_out


def is_basic_index(index: Any) -> bool:
    """True when ``index`` selects without advanced indexing, so no element repeats."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or (isinstance(p, slice | int | np.integer) and not isinstance(p, bool))
        for p in parts
    )


def normalize_index(index: Any) -> Any:
    """Lists become arrays (as NumPy reads them); traced indices are refused."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if type(p) is Tracer:
            raise TracerConversionError(
                "A traced value was used as an index. Indices carry no derivative: "
                "use chainrule.primal(i).astype(int) to index with its value."
            )
        out.append(np.asarray(p) if isinstance(p, list) else p)
    return tuple(out) if isinstance(index, tuple) else out[0]


def _scatter_add_impl(g: Any, index: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    if type(g) is Tracer:
        # A value of an older trace (nested derivatives): record it there.
        return scatter_add_p(g, index, shape, dtype)
    out = np.zeros(shape, dtype=np.result_type(dtype, g))
    if is_basic_index(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


scatter_add_p = Primitive("scatter_add", _scatter_add_impl)
getitem_p = Primitive("getitem", operator.getitem)
INTERNAL["getitem"] = getitem_p
INTERNAL["scatter_add"] = scatter_add_p


def _getitem_vjp(ans: Any, x: Any, index: Any) -> Any:
    shape, dtype = np.shape(x), np.result_type(x)
    return lambda g: scatter_add_p(g, index, shape, dtype)


defvjp(getitem_p, _getitem_vjp)
defjvp(getitem_p, lambda t, ans, x, index: t[index])
defvjp(scatter_add_p, lambda ans, g, index, shape, dtype: lambda h: h[index])
defjvp(scatter_add_p, lambda t, ans, g, index, shape, dtype: scatter_add_p(t, index, shape, dtype))


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` for traced ``x``: the primitive behind ``Tracer.__getitem__``."""
    return getitem_p(x, normalize_index(index))


# -- gathers: sort, take, take_along_axis -----------------------------------------------------------
def _take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    indices = np.asarray(plain_ints("numpy.take_along_axis", "indices", indices))
    if indices.dtype.kind not in "iu":
        raise IndexError("`indices` must be an integer array")
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr = np.ravel(arr)
        axis = 0
    ndim = np.ndim(arr)
    axis = normalize_axis(axis, ndim)
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
    perm = np.argsort(raw_array(a), axis=axis, kind="stable")
    return _take_along_axis(a, perm, axis)


def _partition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None) -> Any:
    if order is not None:
        raise unsupported(np.partition, " with order= (structured arrays)")
    if axis is None:
        a = np.ravel(a)
        axis = -1
    perm = np.argpartition(raw_array(a), kth, axis=axis, kind=kind)
    return _take_along_axis(a, perm, axis)


register_function(np.sort, _sort)
register_function(np.partition, _partition)


def _take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    refuse_out("numpy.take", out)
    index = np.asarray(plain_ints("numpy.take", "indices", indices))
    if axis is None:
        a = np.ravel(a)
        axis = 0
    axis = normalize_axis(axis, np.ndim(a))
    n = np.shape(a)[axis]
    if mode == "wrap":
        index = index % n
    elif mode == "clip":
        index = np.clip(index, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    return a[(slice(None),) * axis + (index,)]


register_function(np.take, _take)
