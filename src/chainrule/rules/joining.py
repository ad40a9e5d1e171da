"""Derivative rules of joining, splitting and repeating arrays.

``concatenate`` and ``stack`` are primitives taking the arrays as separate
arguments (so plain arrays can sit among traced ones); the reverse rule of
each slices the cotangent back apart, and the forward rule places each
argument's tangent among zeros. ``hstack``/``vstack``/``dstack``/
``column_stack``/``append``, the ``split`` family (slices of the input), and
``tile``/``repeat`` (broadcast then reshape, or an index list) are built on
them and on :mod:`chainrule.rules.shape`.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..extend import (
    Primitive,
    Tracer,
    as_traced_array,
    astype,
    axis_index,
    defvariadic,
    plain_ints,
    refuse_out,
    register_function,
)
from .shape import _cast_like, broadcast_to_p, reshape_p

__all__ = ["concatenate_p", "stack_p"]


# -- joining ---------------------------------------------------------------------------
def _concatenate_impl(*arrays: Any, axis: int = 0) -> Any:
    return np.concatenate(arrays, axis=axis)


concatenate_p = Primitive("numpy.concatenate", _concatenate_impl)


def _slice_back(g_index: tuple[Any, ...], dtype: Any) -> Any:
    return lambda g: _cast_like(g[g_index], dtype)


def _concatenate_vjp(argnums: tuple[int, ...], ans: Any, *arrays: Any, axis: int = 0) -> list[Any]:
    # One pass over the arrays for every traced position: the offsets are running sums.
    starts = [0, *itertools.accumulate(np.shape(a)[axis] for a in arrays)]
    lead = (slice(None),) * axis
    return [_slice_back((*lead, slice(starts[k], starts[k + 1])), arrays[k].dtype) for k in argnums]


def _placed_tangents(argnums: tuple[int, ...], tangents: tuple[Any, ...], arrays: tuple[Any, ...],
                     dtype: Any) -> list[Any]:  # fmt: skip
    """Each argument's tangent (zeros for the untraced ones), in the output's dtype."""
    given = dict(zip(argnums, tangents))
    out = []
    for i, a in enumerate(arrays):
        out.append(_cast_like(given[i], dtype) if i in given else np.zeros(np.shape(a), dtype))
    return out


def _concatenate_jvp(argnums: tuple[int, ...], tangents: tuple[Any, ...], ans: Any, *arrays: Any,
                     axis: int = 0) -> Any:  # fmt: skip
    return np.concatenate(_placed_tangents(argnums, tangents, arrays, ans.dtype), axis=axis)


defvariadic(concatenate_p, _concatenate_vjp, _concatenate_jvp)


def _with_dtype(result: Any, dtype: Any) -> Any:
    return result if dtype is None else astype(result, dtype)


def _concatenate(
    arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    refuse_out("numpy.concatenate", out)
    arrays = [as_traced_array(a) for a in arrays]
    if axis is None:
        arrays = [np.ravel(a) for a in arrays]
        axis = 0
    elif arrays and np.ndim(arrays[0]) > 0:
        axis = axis_index(axis, np.ndim(arrays[0]))
    return _with_dtype(concatenate_p(*arrays, axis=axis), dtype)


register_function(np.concatenate, _concatenate)  # also np.concat


def _stack_impl(*arrays: Any, axis: int = 0) -> Any:
    return np.stack(arrays, axis=axis)


stack_p = Primitive("numpy.stack", _stack_impl)


def _stack_vjp(argnums: tuple[int, ...], ans: Any, *arrays: Any, axis: int = 0) -> list[Any]:
    lead = (slice(None),) * axis
    return [_slice_back((*lead, k), arrays[k].dtype) for k in argnums]


def _stack_jvp(argnums: tuple[int, ...], tangents: tuple[Any, ...], ans: Any, *arrays: Any,
               axis: int = 0) -> Any:  # fmt: skip
    return np.stack(_placed_tangents(argnums, tangents, arrays, ans.dtype), axis=axis)


defvariadic(stack_p, _stack_vjp, _stack_jvp)


def _stack(
    arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    refuse_out("numpy.stack", out)
    arrays = [as_traced_array(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    axis = axis_index(axis, np.ndim(arrays[0]) + 1)
    return _with_dtype(stack_p(*arrays, axis=axis), dtype)


register_function(np.stack, _stack)


def _hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    arrs = [np.atleast_1d(as_traced_array(a)) for a in tup]
    axis = 0 if arrs and np.ndim(arrs[0]) == 1 else 1
    return _concatenate(arrs, axis, dtype=dtype)


def _vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    return _concatenate([np.atleast_2d(as_traced_array(a)) for a in tup], 0, dtype=dtype)


def _dstack(tup: Any) -> Any:
    return _concatenate([np.atleast_3d(as_traced_array(a)) for a in tup], 2)


def _column_stack(tup: Any) -> Any:
    cols = []
    for a in map(as_traced_array, tup):
        nd = np.ndim(a)
        if nd < 2:
            a = np.reshape(a, (-1, 1)) if type(a) is Tracer else np.asarray(a).reshape(-1, 1)
        cols.append(a)
    return _concatenate(cols, 1)


def _append(arr: Any, values: Any, axis: Any = None) -> Any:
    arr, values = as_traced_array(arr), as_traced_array(values)
    if axis is None:
        return _concatenate([np.ravel(arr), np.ravel(values)], 0)
    return _concatenate([arr, values], axis)


register_function(np.hstack, _hstack)
register_function(np.vstack, _vstack)
register_function(np.dstack, _dstack)
register_function(np.column_stack, _column_stack)
register_function(np.append, _append)


# -- splitting -------------------------------------------------------------------------
def _split_slices(n: int, indices_or_sections: Any, equal: bool) -> list[slice]:
    if np.ndim(indices_or_sections) == 0:
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if equal and n % sections:
            raise ValueError("array split does not result in an equal division")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = [0, *np.cumsum(sizes).tolist()]
    else:
        bounds = [0, *(operator.index(i) for i in indices_or_sections), n]
    return [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]


def _splitter(equal: bool) -> Callable[..., list[Any]]:
    def split(ary: Any, indices_or_sections: Any, axis: Any = 0) -> list[Any]:
        indices_or_sections = plain_ints("numpy.split", "indices_or_sections", indices_or_sections)
        axis = axis_index(axis, np.ndim(ary))
        lead = (slice(None),) * axis
        # The index tuples are built outside the subscript: mypy reads ``a[(*lead, s)]`` as the
        # Python 3.11 syntax ``a[*lead, s]``.
        indices = [(*lead, s) for s in _split_slices(np.shape(ary)[axis], indices_or_sections, equal)]
        return [ary[index] for index in indices]

    return split


_split = _splitter(equal=True)
_array_split = _splitter(equal=False)


def _hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if np.ndim(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return _split(ary, indices_or_sections, 1 if np.ndim(ary) > 1 else 0)


def _vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if np.ndim(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return _split(ary, indices_or_sections, 0)


def _dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if np.ndim(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return _split(ary, indices_or_sections, 2)


def _unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    axis = axis_index(axis, np.ndim(x))
    lead = (slice(None),) * axis
    indices = [(*lead, i) for i in range(np.shape(x)[axis])]  # outside the subscript: see _splitter
    return tuple(x[index] for index in indices)


register_function(np.split, _split)
register_function(np.array_split, _array_split)
register_function(np.hsplit, _hsplit)
register_function(np.vsplit, _vsplit)
register_function(np.dsplit, _dsplit)
if hasattr(np, "unstack"):
    register_function(np.unstack, _unstack)


# -- repetition --------------------------------------------------------------------------
def _tile(A: Any, reps: Any) -> Any:
    reps = plain_ints("numpy.tile", "reps", reps)
    reps = tuple(operator.index(r) for r in reps) if np.iterable(reps) else (operator.index(reps),)
    if any(r < 0 for r in reps):
        raise ValueError("negative dimensions are not allowed")
    shape = np.shape(A)
    d = max(len(reps), len(shape))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    # out[q * n + j] = A[j] along each axis: broadcast over a new axis (q) before each, then merge.
    A = reshape_p(A, tuple(x for n in shape for x in (1, n)))
    A = broadcast_to_p(A, tuple(x for r, n in zip(reps, shape) for x in (r, n)))
    return reshape_p(A, tuple(r * n for r, n in zip(reps, shape)))


def _repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    repeats = np.asarray(plain_ints("numpy.repeat", "repeats", repeats))
    if axis is None:
        a = np.ravel(a)
        axis = 0
    axis = axis_index(axis, np.ndim(a))
    shape = np.shape(a)
    if repeats.size == 1 and repeats.ndim <= 1:
        r = operator.index(repeats.reshape(()).item())
        if r < 0:
            raise ValueError("repeats may not contain negative values.")
        # out[j * r + q] = a[j]: broadcast over a new axis after ``axis``, then merge.
        b = reshape_p(a, (*shape[: axis + 1], 1, *shape[axis + 1 :]))
        b = broadcast_to_p(b, (*shape[: axis + 1], r, *shape[axis + 1 :]))
        return reshape_p(b, (*shape[:axis], shape[axis] * r, *shape[axis + 1 :]))
    index = np.repeat(np.arange(shape[axis]), repeats)
    return a[(slice(None),) * axis + (index,)]


register_function(np.tile, _tile)
register_function(np.repeat, _repeat)
