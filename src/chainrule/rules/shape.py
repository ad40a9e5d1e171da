"""Derivative rules of shape functions: reshape, transpose, broadcasting, flips, padding, triangles.

Joining, splitting and repeating are in :mod:`chainrule.rules.joining`.

All of these are linear, so each forward rule applies the same function to the
tangent, and each reverse rule applies the inverse rearrangement (or its sum,
for broadcasting) to the cotangent.

A few primitives carry the rules: ``reshape``, ``transpose``, ``broadcast_to``,
``concatenate``, ``stack``, ``flip``, ``roll``, ``pad`` (constant mode),
``triu``/``tril``. Everything else is written with them or with indexing (whose
reverse rule accumulates repeated indices): ``ravel``, ``squeeze``,
``expand_dims``, ``moveaxis``, ``atleast_*d``, ``hstack``/``vstack``/...,
``split`` (slices), ``tile`` and ``repeat`` (broadcast then reshape, or an
index list), and ``pad`` in the ``edge``/``wrap``/``reflect``/``symmetric``
modes (gathers along each axis). ``take``, ``take_along_axis`` and ``sort``
are in :mod:`chainrule.rules.indexing`.

Subgradients:

* ``np.conjugate`` of a real array is the identity; ``np.real``, ``np.imag``
  and ``np.angle`` are in :mod:`chainrule.rules.complex_values`.

Forward rules of the functions that join several arrays (``concatenate``,
``stack``) place each argument's tangent among zeros, one output-sized array
per traced argument.
"""

from __future__ import annotations

import operator
from typing import Any, Literal

import numpy as np

from ..extend import (
    Primitive,
    Tracer,
    UnsupportedOperationError,
    astype,
    axis_index,
    axis_tuple,
    defjvp,
    deflinear,
    defvjp,
    plain_ints,
    primal,
    raw_array,
    register_function,
    unbroadcast,
)

__all__ = [
    "broadcast_to_p",
    "flip_p",
    "pad_p",
    "reshape_p",
    "roll_p",
    "transpose_p",
    "tril_p",
    "triu_p",
]


# -- small helpers ----------------------------------------------------------------
def _cast_like(g: Any, dtype: Any) -> Any:
    """``g`` in the dtype of the argument it is the cotangent of (mixed-precision joins)."""
    return g if np.dtype(g.dtype) == dtype else astype(g, dtype)


# -- reshape and friends ------------------------------------------------------------
Order = Literal["C", "F"]  # the orders a reshape primitive is applied with (after _resolve_order)


def _reshape_impl(a: Any, shape: Any, order: Order = "C") -> Any:
    return np.reshape(a, shape, order=order)


reshape_p = Primitive("numpy.reshape", _reshape_impl)


def _reshape_vjp(ans: Any, a: Any, shape: Any, order: Order = "C") -> Any:
    in_shape = np.shape(a)
    return lambda g: np.reshape(g, in_shape, order=order)


deflinear(reshape_p, _reshape_vjp)


def _resolve_order(a: Any, order: str | None) -> Order:
    """``'A'`` reads like the memory layout of ``a``: fixed once, so the cotangent reads alike."""
    if order is None:
        return "C"
    if order == "A":
        flags = raw_array(a).flags
        return "F" if flags.f_contiguous and not flags.c_contiguous else "C"
    if order == "C":
        return "C"
    if order == "F":
        return "F"
    raise ValueError(f"order must be one of 'C', 'F', 'A' (got {order!r})")


def _shape_arg(shape: Any) -> tuple[int, ...]:
    return tuple(operator.index(s) for s in shape) if np.iterable(shape) else (operator.index(shape),)


def _reshape(a: Any, shape: Any = None, order: str = "C", *, copy: Any = None, **kwargs: Any) -> Any:
    # ``newshape`` was NumPy's name before 2.1 (removed in 2.4).
    shape = kwargs.pop("newshape", shape)
    if kwargs:
        raise TypeError(f"reshape() got unexpected keyword arguments {sorted(kwargs)}")
    if shape is None:
        raise TypeError("reshape() missing the required argument 'shape'")
    return reshape_p(a, _shape_arg(shape), _resolve_order(a, order))


register_function(np.reshape, _reshape)


def _memory_order(a: Any) -> Any:
    """``a`` transposed so that its C order is NumPy's ``order='K'`` (memory order)."""
    raw = raw_array(a)
    if raw.flags.c_contiguous:
        return a, "C"
    if raw.flags.f_contiguous:
        return a, "F"
    # NumPy walks the axes by decreasing stride size, each in its own direction.
    strides = raw.strides
    perm = tuple(sorted(range(raw.ndim), key=lambda i: -abs(strides[i])))
    if perm != tuple(range(raw.ndim)):
        a = np.transpose(a, perm)
    return a, "C"


def _ravel(a: Any, order: str = "C") -> Any:
    if order == "K":
        a, order = _memory_order(a)
    return reshape_p(a, (-1,), _resolve_order(a, order))


register_function(np.ravel, _ravel)


def _squeeze(a: Any, axis: Any = None) -> Any:
    shape = np.squeeze(raw_array(a), axis).shape
    return a if shape == np.shape(a) else reshape_p(a, shape)


def _expand_dims(a: Any, axis: Any) -> Any:
    return reshape_p(a, np.expand_dims(raw_array(a), axis).shape)


register_function(np.squeeze, _squeeze)
register_function(np.expand_dims, _expand_dims)


def _atleast(fun: Any) -> Any:
    def handler(*arys: Any) -> Any:
        out = []
        for a in arys:
            if type(a) is not Tracer:
                out.append(fun(a))
                continue
            shape = fun(raw_array(a)).shape
            out.append(a if shape == np.shape(a) else reshape_p(a, shape))
        return out[0] if len(out) == 1 else tuple(out)

    handler.__name__ = fun.__name__
    return handler


for _fun in (np.atleast_1d, np.atleast_2d, np.atleast_3d):
    register_function(_fun, _atleast(_fun))


# -- transposes -----------------------------------------------------------------------
def _transpose_impl(a: Any, axes: Any = None) -> Any:
    return np.transpose(a, axes)


def _inverse_axes(axes: Any) -> Any:
    if axes is None:
        return None
    inverse = [0] * len(axes)
    for i, ax in enumerate(axes):
        inverse[ax] = i
    return tuple(inverse)


transpose_p = Primitive("numpy.transpose", _transpose_impl)


def _transpose_vjp(ans: Any, a: Any, axes: Any = None) -> Any:
    inverse = _inverse_axes(axes)
    return lambda g: np.transpose(g, inverse)


deflinear(transpose_p, _transpose_vjp)


def _transpose(a: Any, axes: Any = None) -> Any:
    ndim = np.ndim(a)
    if axes is not None:
        axes = axis_tuple(axes, ndim)
        if len(axes) != ndim:
            raise ValueError("axes don't match array")
    return transpose_p(a, axes)


register_function(np.transpose, _transpose)  # also np.permute_dims


def _swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    ndim = np.ndim(a)
    i, j = axis_index(axis1, ndim), axis_index(axis2, ndim)
    perm = list(range(ndim))
    perm[i], perm[j] = j, i
    return transpose_p(a, tuple(perm))


def _moveaxis(a: Any, source: Any, destination: Any) -> Any:
    ndim = np.ndim(a)
    src = axis_tuple(source, ndim)
    dst = axis_tuple(destination, ndim)
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number of elements")
    perm = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return transpose_p(a, tuple(perm))


def _matrix_transpose(x: Any) -> Any:
    if np.ndim(x) < 2:
        raise ValueError(f"matrix_transpose needs at least 2 dimensions (got {np.ndim(x)})")
    return _swapaxes(x, -1, -2)


register_function(np.swapaxes, _swapaxes)
register_function(np.moveaxis, _moveaxis)
if hasattr(np, "matrix_transpose"):
    register_function(np.matrix_transpose, _matrix_transpose)


# -- broadcasting ----------------------------------------------------------------------
def _broadcast_to_impl(a: Any, shape: Any) -> Any:
    return np.broadcast_to(a, shape)


broadcast_to_p = Primitive("numpy.broadcast_to", _broadcast_to_impl)


def _broadcast_to_vjp(ans: Any, a: Any, shape: Any) -> Any:
    in_shape = np.shape(a)
    return lambda g: unbroadcast(g, in_shape)


deflinear(broadcast_to_p, _broadcast_to_vjp)
register_function(np.broadcast_to, lambda array, shape, subok=False: broadcast_to_p(array, _shape_arg(shape)))


def _broadcast_arrays(*args: Any, subok: bool = False) -> Any:
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return tuple(
        a if np.shape(a) == shape else (broadcast_to_p if type(a) is Tracer else np.broadcast_to)(a, shape)
        for a in args
    )


register_function(np.broadcast_arrays, _broadcast_arrays)


# -- reversal and rotation -----------------------------------------------------------------
def _flip_impl(m: Any, axis: Any = None) -> Any:
    return np.flip(m, axis)


flip_p = Primitive("numpy.flip", _flip_impl)
deflinear(flip_p, lambda ans, m, axis=None: lambda g: flip_p(g, axis))


def _flip(m: Any, axis: Any = None) -> Any:
    return flip_p(m, None if axis is None else axis_tuple(axis, np.ndim(m)))


def _fliplr(m: Any) -> Any:
    if np.ndim(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip_p(m, (1,))


def _flipud(m: Any) -> Any:
    if np.ndim(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip_p(m, (0,))


def _rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    ndim = np.ndim(m)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    a0, a1 = axis_tuple(axes, ndim)
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip_p(m, (a0, a1))
    perm = list(range(ndim))
    perm[a0], perm[a1] = a1, a0
    if k == 1:
        return transpose_p(flip_p(m, (a1,)), tuple(perm))
    return flip_p(transpose_p(m, tuple(perm)), (a1,))


register_function(np.flip, _flip)
register_function(np.fliplr, _fliplr)
register_function(np.flipud, _flipud)
register_function(np.rot90, _rot90)


def _roll_impl(a: Any, shift: Any, axis: Any = None) -> Any:
    return np.roll(a, shift, axis)


def _negate(shift: Any) -> Any:
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


roll_p = Primitive("numpy.roll", _roll_impl)
deflinear(roll_p, lambda ans, a, shift, axis=None: lambda g: roll_p(g, _negate(shift), axis))


def _roll(a: Any, shift: Any, axis: Any = None) -> Any:
    shift = plain_ints("numpy.roll", "shift", shift)
    shift = operator.index(shift) if np.ndim(shift) == 0 else tuple(operator.index(s) for s in shift)
    if axis is not None:
        axis = tuple(axis) if np.iterable(axis) else operator.index(axis)
    return roll_p(a, shift, axis)


register_function(np.roll, _roll)


# -- padding --------------------------------------------------------------------------------
def _pad_impl(array: Any, pad_width: Any, constant_values: Any = 0) -> Any:
    return np.pad(array, pad_width, mode="constant", constant_values=constant_values)


pad_p = Primitive("numpy.pad", _pad_impl)


def _pad_vjp(ans: Any, array: Any, pad_width: Any, constant_values: Any = 0) -> Any:
    index = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, np.shape(array)))
    return lambda g: g[index]


defvjp(pad_p, _pad_vjp)
defjvp(pad_p, lambda t, ans, array, pad_width, constant_values=0: np.pad(t, pad_width))

# Modes that only copy elements: along each axis, output i reads input index[i].
GatherMode = Literal["edge", "wrap", "reflect", "symmetric"]
_GATHER_MODES: dict[str, GatherMode] = {m: m for m in ("edge", "wrap", "reflect", "symmetric")}


def _pad_pairs(pad_width: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    pw = np.asarray(plain_ints("numpy.pad", "pad_width", pad_width))
    if pw.dtype.kind not in "iu":
        raise TypeError("`pad_width` must be of integral type.")
    pairs = np.broadcast_to(pw, (ndim, 2))
    if (pairs < 0).any():
        raise ValueError("index can't contain negative values")
    return tuple((int(lo), int(hi)) for lo, hi in pairs.tolist())


def _has_tracer(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(_has_tracer(v) for v in value)
    return type(value) is Tracer


def _pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    ndim = np.ndim(array)
    pairs = _pad_pairs(pad_width, ndim)
    if mode == "constant":
        value = kwargs.pop("constant_values", 0)
        if kwargs:
            raise ValueError(f"unsupported keyword arguments for mode 'constant': {set(kwargs)}")
        if not _has_tracer(value):
            return pad_p(array, pairs, value)
        if type(value) is not Tracer or np.ndim(value) != 0:
            raise UnsupportedOperationError(
                "numpy.pad(mode='constant') supports a traced constant_values only as a scalar; "
                "pad with 0 and add the padding values with np.where instead."
            )
        dtype = np.result_type(primal(array))
        inside = np.pad(np.zeros(np.shape(array), dtype=dtype), pairs, constant_values=1.0)
        return pad_p(array, pairs, 0) + astype(value, dtype) * inside
    gather = _GATHER_MODES.get(mode) if isinstance(mode, str) else None
    if gather is not None:
        if gather in ("reflect", "symmetric") and kwargs.get("reflect_type", "even") != "even":
            raise UnsupportedOperationError(
                f"chainrule has no derivative rule for numpy.pad(mode={gather!r}, reflect_type='odd')."
            )
        out = array
        for ax, pair in enumerate(pairs):
            if pair != (0, 0):
                index = np.pad(np.arange(np.shape(array)[ax]), pair, mode=gather, **kwargs)
                out = out[(slice(None),) * ax + (index,)]
        return out
    raise UnsupportedOperationError(
        f"chainrule has no derivative rule for numpy.pad with mode={mode!r}; supported modes are "
        f"'constant', {', '.join(repr(m) for m in _GATHER_MODES)}."
    )


register_function(np.pad, _pad)


# -- triangles ----------------------------------------------------------------------------------
def _triangle(fun: Any) -> Primitive:
    prim = Primitive(f"numpy.{fun.__name__}", lambda m, k=0: fun(m, k=k))

    def vjp(ans: Any, m: Any, k: int = 0) -> Any:
        shape = np.shape(m)
        # A 1-d input is broadcast to a square first: sum that back.
        return lambda g: unbroadcast(fun(g, k=k), shape)

    deflinear(prim, vjp)
    register_function(fun, lambda m, k=0: prim(m, operator.index(k)))
    return prim


triu_p = _triangle(np.triu)
tril_p = _triangle(np.tril)


deflinear(np.conjugate, lambda ans, x: lambda g: np.conjugate(g))
