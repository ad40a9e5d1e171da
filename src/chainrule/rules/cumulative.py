"""Derivative rules of products and cumulative reductions: ``prod``, ``cumsum``, ``cumprod``.

``cumsum``'s reverse rule is a reversed cumulative sum of the cotangent
(``cumulative_sum``/``cumulative_prod`` are the same rules). ``prod`` and
``cumprod`` never divide by an input where that would be wrong: where the
result has no zero they use ``ans / x``; otherwise ``prod`` is a product of
prefix and suffix cumulative products, and ``cumprod`` a linear recurrence
evaluated in ``log2(n)`` passes of shifts (each a primitive with its own
rules), so zeros in the input give exact derivatives at every order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import (
    Primitive,
    any_set,
    axis_tuple,
    defjvp,
    deflinear,
    defvjp,
    primal,
    reduced_axes,
    refuse_out,
    register_function,
)
from .reductions import _cast, _count, _keep, _refuse_options, expand_to
from .shape import flip_p


# -- moving along one axis: reverse, shift, linear scan ----------------------------
def _along(ndim: int, axis: int, s: slice) -> tuple[slice, ...]:
    idx = [slice(None)] * ndim
    idx[axis] = s
    return tuple(idx)


def _moved(x: Any, d: int, axis: int, fill: float) -> Any:
    n, ndim = np.shape(x)[axis], np.ndim(x)
    out = np.full(np.shape(x), fill, dtype=x.dtype)
    if d >= 0:
        out[_along(ndim, axis, slice(d, n))] = x[_along(ndim, axis, slice(0, max(n - d, 0)))]
    else:
        out[_along(ndim, axis, slice(0, max(n + d, 0)))] = x[_along(ndim, axis, slice(-d, n))]
    return out


# Linear, and each the other's transpose: shift by d, shift back by -d.
shift_p = Primitive("shift", _moved)
defvjp(shift_p, lambda ans, x, d, axis, fill: lambda g: shift_p(g, -d, axis, 0.0))
defjvp(shift_p, lambda t, ans, x, d, axis, fill: shift_p(t, d, axis, 0.0))


def _reverse(x: Any, axis: int) -> Any:
    """``x`` in reverse order along ``axis``."""
    return flip_p(x, axis)


def _shift(x: Any, d: int, axis: int, fill: float) -> Any:
    """``x`` moved ``d`` places along ``axis`` (backwards if ``d < 0``), ``fill`` in the gap."""
    return shift_p(x, d, axis, fill)


def _scan(a: Any, b: Any, axis: int, reverse: bool = False) -> Any:
    """``s[i] = a[i] * s[i-1] + b[i]`` along ``axis`` from ``s[-1] = 0`` (from the end if ``reverse``).

    Doubling steps (each element combines with the one ``d`` places back, for
    d = 1, 2, 4, ...): log2(n) array operations, no division, so it is exact
    with zeros and differentiable to any order.
    """
    if reverse:
        return _reverse(_scan(_reverse(a, axis), _reverse(b, axis), axis), axis)
    n = np.shape(b)[axis]
    d = 1
    while d < n:
        b = b + a * _shift(b, d, axis, 0.0)
        if 2 * d < n:
            a = a * _shift(a, d, axis, 1.0)
        d *= 2
    return b


def _nonzero_finite(ans: Any) -> bool:
    """Whether dividing a product by its factors is exact here (no zero, inf or NaN)."""
    p = primal(ans)
    return not any_set(~(np.isfinite(p) & (p != 0)))  # (in every example, under vmap)


# -- cumulative sum and product ------------------------------------------------------
def _cumsum_impl(a: Any, axis: int) -> Any:
    return np.cumsum(a, axis=axis)


cumsum_p = Primitive("numpy.cumsum", _cumsum_impl)
deflinear(cumsum_p, lambda ans, a, axis: lambda g: _reverse(cumsum_p(_reverse(g, axis), axis), axis))


def _cumprod_impl(a: Any, axis: int) -> Any:
    return np.cumprod(a, axis=axis)


def _cumprod_vjp(ans: Any, x: Any, axis: int) -> Any:
    if _nonzero_finite(ans):
        return lambda g: _reverse(cumsum_p(_reverse(g * ans, axis), axis), axis) / x
    # d/dx_i = prod_{j<i} x_j * S_i with S_i = g_i + x_{i+1} S_{i+1}.
    return lambda g: _shift(ans, 1, axis, 1.0) * _scan(_shift(x, -1, axis, 0.0), g, axis, reverse=True)


def _cumprod_jvp(t: Any, ans: Any, x: Any, axis: int) -> Any:
    if _nonzero_finite(ans):
        return ans * cumsum_p(t / x, axis)
    # u_k = x_k u_{k-1} + t_k prod_{j<k} x_j.
    return _scan(x, t * _shift(ans, 1, axis, 1.0), axis)


cumprod_p = Primitive("numpy.cumprod", _cumprod_impl)
defvjp(cumprod_p, _cumprod_vjp)
defjvp(cumprod_p, _cumprod_jvp)


def _cumulative(prim: Primitive, name: str) -> Any:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        refuse_out(name, out)
        a = _cast(a, dtype)
        if axis is None:
            a, axis = np.reshape(a, (-1,)), 0
        elif np.ndim(a) == 0:  # NumPy accumulates a 0-d array as the 1-element array (axis 0 or -1)
            a = np.reshape(a, (1,))
        return prim(a, axis_tuple(axis, np.ndim(a))[0])

    return handler


register_function(np.cumsum, _cumulative(cumsum_p, "numpy.cumsum"))
register_function(np.cumprod, _cumulative(cumprod_p, "numpy.cumprod"))


def _grow_impl(y: Any, axis: int, identity: float) -> Any:
    shape = tuple(n + 1 if i == axis else n for i, n in enumerate(np.shape(y)))
    out = np.full(shape, identity, dtype=y.dtype)
    out[_along(len(shape), axis, slice(1, None))] = y
    return out


# ``include_initial``: the identity prepended along ``axis``.
grow_p = Primitive("include_initial", _grow_impl)
defvjp(grow_p, lambda ans, y, axis, identity: lambda g: g[_along(np.ndim(g), axis, slice(1, None))])
defjvp(grow_p, lambda t, ans, y, axis, identity: grow_p(t, axis, 0.0))


def _cumulative_fn(prim: Primitive, name: str, identity: float) -> Any:
    handler = _cumulative(prim, name)

    def cumulative(
        x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None, include_initial: bool = False
    ) -> Any:
        if axis is None and np.ndim(x) > 1:
            raise ValueError(f"{name}: axis must be given for arrays of more than one dimension")
        y = handler(x, axis, dtype, out)
        if not include_initial:
            return y
        return grow_p(y, 0 if axis is None else axis_tuple(axis, np.ndim(y))[0], identity)

    return cumulative


if hasattr(np, "cumulative_sum"):  # NumPy >= 2.1
    register_function(np.cumulative_sum, _cumulative_fn(cumsum_p, "numpy.cumulative_sum", 0.0))
    register_function(np.cumulative_prod, _cumulative_fn(cumprod_p, "numpy.cumulative_prod", 1.0))


# -- product -------------------------------------------------------------------------
def _prod_impl(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.prod(a, axis=axis, keepdims=keepdims)


def _exclusive_products(x: Any, axis: int) -> Any:
    """``prod_{j != i} x_j`` along ``axis``, as prefix times suffix products (no division)."""
    before = _shift(cumprod_p(x, axis), 1, axis, 1.0)
    after = _reverse(_shift(cumprod_p(_reverse(x, axis), axis), 1, axis, 1.0), axis)
    return before * after


def _others(ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """d prod / d x: for each element, the product of the other elements of its slice."""
    shape = np.shape(x)
    if _nonzero_finite(ans):
        return _keep(ans, shape, axis, keepdims) / x
    axes = reduced_axes(axis, len(shape))
    if len(axes) == 1:
        return _exclusive_products(x, axes[0])
    if not axes:
        return np.ones(shape, dtype=x.dtype)
    # Move the reduced axes to the end and flatten them into one.
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    perm = kept + axes
    moved = np.reshape(np.transpose(x, perm), (*(shape[i] for i in kept), _count(shape, axes)))
    others = _exclusive_products(moved, len(kept))
    others = np.reshape(others, tuple(shape[i] for i in perm))
    return np.transpose(others, tuple(int(i) for i in np.argsort(perm)))


prod_p = Primitive("numpy.prod", _prod_impl)
defvjp(
    prod_p,
    lambda ans, a, axis=None, keepdims=False: (
        lambda g: expand_to(g, np.shape(a), axis, keepdims) * _others(ans, a, axis, keepdims)
    ),
)
defjvp(
    prod_p,
    lambda t, ans, a, axis=None, keepdims=False: np.sum(
        t * _others(ans, a, axis, keepdims), axis=axis, keepdims=keepdims
    ),
)


def _prod(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    **kw: Any,
) -> Any:
    refuse_out("numpy.prod", out)
    _refuse_options(np.prod, kw)
    result = prod_p(_cast(a, dtype), axis, keepdims)
    return result if initial is None else result * initial


register_function(np.prod, _prod)
