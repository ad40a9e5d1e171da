"""Differences, derivatives and integrals of sampled data, cross products and 1-D convolution.

``diff``, ``ediff1d``, ``gradient``, ``trapezoid`` and ``cross`` are built from
slices, arithmetic and ``concatenate``/``stack`` (linear or bilinear, so every
order is exact, for real and complex values). ``convolve`` and ``correlate``
share one primitive, the full 1-D convolution, which is bilinear: the transpose in each argument is a full
convolution with the other argument reversed, sliced; ``'same'`` and
``'valid'`` modes are slices of the full result; ``correlate`` conjugates its
second argument, as NumPy does.

>>> import numpy as np
>>> import chainrule as cr
>>> cr.grad(lambda x: np.sum(np.diff(x) ** 2))(np.array([0.0, 1.0, 3.0]))
array([-2., -2.,  4.])
"""

from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np

from ..extend import (
    Primitive,
    as_traced_array,
    axis_index,
    defcomplex,
    deflinear,
    plain_ints,
    raw_array,
    register_function,
)

__all__ = ["convolve_full_p"]

_MISSING: Any = object()


def _along(axis: int, ndim: int, part: slice | int) -> tuple[Any, ...]:
    return (slice(None),) * axis + (part,) + (slice(None),) * (ndim - axis - 1)


# -- diff and ediff1d ------------------------------------------------------------------------
def _diff(a: Any, n: Any = 1, axis: Any = -1, prepend: Any = _MISSING, append: Any = _MISSING) -> Any:
    n = operator.index(plain_ints("numpy.diff", "n", n))
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    a = as_traced_array(a)
    if n == 0:
        return a
    if np.ndim(a) == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = axis_index(axis, np.ndim(a))
    parts: list[Any] = []  # per side, the traced array to join, or None
    for extra in (prepend, append):
        if extra is _MISSING:
            parts.append(None)
            continue
        extra = as_traced_array(extra)
        if np.ndim(extra) == 0:
            shape = list(np.shape(a))
            shape[axis] = 1
            extra = np.broadcast_to(extra, tuple(shape))
        parts.append(extra)
    if parts[0] is not None or parts[1] is not None:
        a = np.concatenate([p for p in (parts[0], a, parts[1]) if p is not None], axis=axis)
    nd = np.ndim(a)
    for _ in range(n):
        a = a[_along(axis, nd, slice(1, None))] - a[_along(axis, nd, slice(None, -1))]
    return a


register_function(np.diff, _diff)


def _ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    ary = np.ravel(as_traced_array(ary))
    parts = [ary[1:] - ary[:-1]]
    if to_begin is not None:
        parts.insert(0, np.ravel(as_traced_array(to_begin)))
    if to_end is not None:
        parts.append(np.ravel(as_traced_array(to_end)))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


register_function(np.ediff1d, _ediff1d)


# -- gradient ------------------------------------------------------------------------------------
def _spacings(f: Any, varargs: tuple[Any, ...], axes: tuple[int, ...]) -> list[Any]:
    """One spacing per axis: a scalar step or the sample coordinates (as NumPy reads ``varargs``)."""
    if not varargs:
        return [1.0] * len(axes)
    if len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        return [varargs[0]] * len(axes)
    if len(varargs) != len(axes):
        raise TypeError("invalid number of arguments")
    out = []
    for d, ax in zip(varargs, axes):
        if np.ndim(d) == 0:
            out.append(d)
            continue
        if np.ndim(d) != 1:
            raise ValueError("distances must be either scalars or 1d")
        if len(d) != np.shape(f)[ax]:
            raise ValueError("when 1d, distances must match the length of the corresponding dimension")
        out.append(as_traced_array(d))
    return out


def _gradient_1d(f: Any, h: Any, edge_order: int) -> Any:
    """The derivative of ``f`` along axis 0 with spacing ``h`` (scalar or coordinates), NumPy's stencils."""
    n = np.shape(f)[0]
    if n < edge_order + 1:
        raise ValueError(
            "Shape of array too small to calculate a numerical gradient, "
            "at least (edge_order + 1) elements are required."
        )
    extra = (1,) * (np.ndim(f) - 1)
    dx = np.diff(h) if np.ndim(h) == 1 else np.broadcast_to(h, (n - 1,))
    dx1, dx2 = np.reshape(dx[:-1], (-1, *extra)), np.reshape(dx[1:], (-1, *extra))
    # Second-order central differences on a non-uniform grid (uniform: (f[2:] - f[:-2]) / 2h).
    a = -dx2 / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    inner = a * f[:-2] + b * f[1:-1] + c * f[2:]
    if edge_order == 1:
        first = (f[1] - f[0]) / dx[0]
        last = (f[-1] - f[-2]) / dx[-1]
    else:
        d1, d2 = dx[0], dx[1]
        first = (
            -(2.0 * d1 + d2) / (d1 * (d1 + d2)) * f[0]
            + (d1 + d2) / (d1 * d2) * f[1]
            - d1 / (d2 * (d1 + d2)) * f[2]
        )
        d1, d2 = dx[-2], dx[-1]
        last = (
            d2 / (d1 * (d1 + d2)) * f[-3]
            - (d2 + d1) / (d1 * d2) * f[-2]
            + (2.0 * d2 + d1) / (d2 * (d1 + d2)) * f[-1]
        )
    return np.concatenate([np.expand_dims(first, 0), inner, np.expand_dims(last, 0)], axis=0)


def _gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: Any = 1) -> Any:
    f = as_traced_array(f)
    edge_order = operator.index(edge_order)
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    nd = np.ndim(f)
    axes = (
        tuple(range(nd))
        if axis is None
        else tuple(axis_index(a, nd) for a in (axis if isinstance(axis, tuple | list) else (axis,)))
    )
    # NumPy's result has f's dtype when it is a float one (float64 otherwise).
    dtype = f.dtype if np.issubdtype(f.dtype, np.inexact) else np.dtype(np.float64)
    out = []
    for ax, h in zip(axes, _spacings(f, varargs, axes)):
        moved = np.moveaxis(f, ax, 0)
        out.append(np.moveaxis(_gradient_1d(moved, h, edge_order), 0, ax).astype(dtype))
    return out[0] if len(out) == 1 else tuple(out)


register_function(np.gradient, _gradient)


# -- trapezoid -------------------------------------------------------------------------------------
def _trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: Any = -1) -> Any:
    y = as_traced_array(y)
    nd = np.ndim(y)
    axis = axis_index(axis, nd)
    if x is None:
        d = dx
    else:
        x = as_traced_array(x)
        d = np.diff(x, axis=axis if np.ndim(x) == nd else -1)
        if np.ndim(x) == 1:
            d = np.reshape(d, (-1,) + (1,) * (nd - 1 - axis))
    mid = (y[_along(axis, nd, slice(1, None))] + y[_along(axis, nd, slice(None, -1))]) * 0.5
    return np.sum(d * mid, axis=axis)


if hasattr(np, "trapezoid"):
    register_function(np.trapezoid, _trapezoid)


# -- cross -----------------------------------------------------------------------------------------
def _cross(a: Any, b: Any, axisa: Any = -1, axisb: Any = -1, axisc: Any = -1, axis: Any = None) -> Any:
    a, b = as_traced_array(a), as_traced_array(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = np.moveaxis(a, axis_index(axisa, np.ndim(a)), -1)
    b = np.moveaxis(b, axis_index(axisb, np.ndim(b)), -1)
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    if na == 2 or nb == 2:  # as NumPy 2 does
        warnings.warn(
            "Arrays of 2-dimensional vectors are deprecated. Use arrays of 3-dimensional vectors "
            "instead. (deprecated in NumPy 2.0)",
            DeprecationWarning,
            stacklevel=3,
        )
    if na == 2 and nb == 2:
        # NumPy returns the z component alone (and warns that 2-vectors are deprecated).
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    a2 = a[..., 2] if na == 3 else 0.0
    b2 = b[..., 2] if nb == 3 else 0.0
    c = np.stack(np.broadcast_arrays(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0), axis=-1)
    return np.moveaxis(c, -1, axis_index(axisc, np.ndim(c)))


register_function(np.cross, _cross)


# -- convolve and correlate: one bilinear primitive -------------------------------------------------
def _convolve_full_impl(a: Any, v: Any) -> Any:
    return np.convolve(a, v, mode="full")


convolve_full_p = Primitive("numpy.convolve", _convolve_full_impl)


def _transpose_in(other: Any, n: int) -> Any:
    """The transpose of ``a -> a * other`` (full convolution) for an ``a`` of length ``n``."""
    m = np.shape(other)[0]
    return lambda g: convolve_full_p(g, other[::-1])[m - 1 : m - 1 + n]


deflinear(
    convolve_full_p,
    lambda ans, a, v: _transpose_in(v, np.shape(a)[0]),
    lambda ans, a, v: _transpose_in(a, np.shape(v)[0]),
)
# Bilinear without conjugates: the transposes above hold for complex values as written.
defcomplex(convolve_full_p)


def _mode_slice(full: Any, n: int, m: int, mode: str) -> Any:
    """NumPy's ``'same'`` (length max(n, m), centred) or ``'valid'`` part of a full convolution."""
    long_, short = max(n, m), min(n, m)
    if mode == "full":
        return full
    if mode == "same":
        start = (short - 1) // 2
        return full[start : start + long_]
    if mode == "valid":
        return full[short - 1 : long_]
    raise ValueError(f"mode must be one of 'full', 'same' or 'valid', not {mode!r}")


def _one_d(name: str, a: Any, v: Any) -> tuple[Any, Any]:
    a, v = as_traced_array(a), as_traced_array(v)
    a = np.reshape(a, (-1,)) if np.ndim(a) == 0 else a
    v = np.reshape(v, (-1,)) if np.ndim(v) == 0 else v
    if np.ndim(a) != 1 or np.ndim(v) != 1:
        raise ValueError(f"{name}: object too deep for desired array (1-D arguments only)")
    if not np.shape(a)[0] or not np.shape(v)[0]:
        raise ValueError(f"{name}: arguments cannot be empty")
    return a, v


def _convolve(a: Any, v: Any, mode: str = "full") -> Any:
    a, v = _one_d("numpy.convolve", a, v)
    return _mode_slice(convolve_full_p(a, v), np.shape(a)[0], np.shape(v)[0], mode)


def _correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    a, v = _one_d("numpy.correlate", a, v)
    n, m = np.shape(a)[0], np.shape(v)[0]
    # correlate(a, v)[k] = sum_i a[i + k] v[i]: a convolution with v reversed. When v is the
    # longer one NumPy computes the reversed correlation of (v, a) and reverses it back.
    # NumPy conjugates v: correlate(a, v)[k] = sum_i a[i + k] conj(v[i]).
    if np.iscomplexobj(raw_array(v)):
        v = np.conjugate(v)
    full = convolve_full_p(a, v[::-1])
    if mode == "same" and m > n:
        start = (n - 1) - (n - 1) // 2
        return full[start : start + m]
    return _mode_slice(full, n, m, mode)


register_function(np.convolve, _convolve)
register_function(np.correlate, _correlate)
