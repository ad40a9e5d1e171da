"""Derivative rules of reductions: sum, mean, prod, max/min, var/std, cumulative ones.

Each reverse rule restores the reduced axes (``keepdims``) and broadcasts the
cotangent back over them; each forward rule reduces the tangent the same way.
``axis`` may be an int, a negative int, a tuple or ``None``; ``dtype=`` casts
the input first (differentiably between float dtypes); ``out=`` is refused;
``where=`` works for ``sum`` and ``mean`` and is refused elsewhere.

Choices at kinks and singular points, used everywhere:

* ``max``/``min``/``amax``/``amin`` with ties: the gradient is split equally
  among the tied elements (each of ``k`` tied maxima gets ``1/k``). If a slice
  holds a NaN, the result is NaN and the gradient goes to the NaN elements.
  ``ptp`` is ``max - min`` and inherits both choices.
* ``std`` at zero variance: gradient 0. ``std`` is the norm of the centred
  vector, a convex function whose minimum is there; 0 is its subgradient, the
  same choice as ``abs`` at 0. Never NaN, whatever the cotangent.
* ``prod`` and ``cumprod`` never divide by an input that may be zero: when the
  result has a zero (or is not finite) the "product of the others" comes from
  prefix and suffix products, and ``cumprod``'s rules from a linear scan, so
  the derivatives of every order stay exact (one zero in a slice gives the
  zero element the product of the rest; two zeros give zeros, but not zero
  second derivatives).
* ``nansum``/``nanmean``: NaN elements get zero gradient.

>>> import chainrule as cr
>>> cr.grad(np.prod)(np.array([2.0, 0.0, 3.0]))
array([0., 6., 0.])
>>> cr.grad(np.max)(np.array([1.0, 3.0, 3.0]))
array([0. , 0.5, 0.5])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core import Primitive, Tracer, defjvp, defvjp, primal
from ..dispatch import register_function, unsupported
from ..errors import InPlaceError
from .casting import astype


def normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    """The reduced axes as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    return tuple(sorted(int(a) % max(ndim, 1) for a in axes))


def keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """``shape`` with the reduced axes set to 1."""
    axes = normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_to(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduced cotangent back to the input's ``shape``."""
    if not keepdims:
        g = np.reshape(g, keepdims_shape(shape, axis))
    return np.broadcast_to(g, shape)


def refuse_out(name: str, out: Any) -> None:
    if out is not None:
        raise InPlaceError(f"{name}(..., out=...) writes in place; assign the result instead.")


def _count(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements each output element of a reduction gathers."""
    return math.prod(shape[i] for i in normalize_axis(axis, len(shape)))


def _keep(ans: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """A reduction's result with the reduced axes kept (as size 1)."""
    return ans if keepdims else np.reshape(ans, keepdims_shape(shape, axis))


def _axis_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` as a tuple of non-negative ints, in the order given (checked)."""
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    out = []
    for ax in axes:
        if not -ndim <= int(ax) < ndim:
            raise np.exceptions.AxisError(int(ax), ndim)
        out.append(int(ax) % ndim)
    return tuple(out)


def _cast(a: Any, dtype: Any) -> Any:
    return a if dtype is None else astype(a, dtype)


def _refuse_options(func: Any, kw: dict[str, Any]) -> None:
    """Options of ``func`` that chainrule does not differentiate (``where=``, ``mean=``)."""
    if kw:
        raise unsupported(func, f" with {', '.join(f'{k}=' for k in sorted(kw))}")


# -- sum and mean -----------------------------------------------------------------
def _sum_impl(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.sum(a, axis=axis, keepdims=keepdims)


sum_p = Primitive("numpy.sum", _sum_impl)
defvjp(sum_p, lambda ans, a, axis=None, keepdims=False: lambda g: expand_to(g, np.shape(a), axis, keepdims))
defjvp(sum_p, lambda t, ans, a, axis=None, keepdims=False: np.sum(t, axis=axis, keepdims=keepdims))


def _sum(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = None,
    **kw: Any,
) -> Any:
    refuse_out("numpy.sum", out)
    _refuse_options(np.sum, kw)
    a = _cast(a, dtype)
    if where is not None:
        a = np.where(primal(where), a, 0.0)
    total = sum_p(a, axis, keepdims)
    return total if initial is None else total + initial


register_function(np.sum, _sum)


def _mean_impl(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.mean(a, axis=axis, keepdims=keepdims)


def _inverse_count(shape: tuple[int, ...], axis: Any) -> float:
    n = _count(shape, axis)
    return 1.0 / n if n else math.nan


mean_p = Primitive("numpy.mean", _mean_impl)
defvjp(
    mean_p,
    lambda ans, a, axis=None, keepdims=False: (
        lambda g: expand_to(g * _inverse_count(np.shape(a), axis), np.shape(a), axis, keepdims)
    ),
)
defjvp(mean_p, lambda t, ans, a, axis=None, keepdims=False: np.mean(t, axis=axis, keepdims=keepdims))


def _mean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, where: Any = None
) -> Any:
    refuse_out("numpy.mean", out)
    a = _cast(a, dtype)
    if where is None:
        return mean_p(a, axis, keepdims)
    mask = np.broadcast_to(primal(where), np.shape(a))
    count = np.sum(mask, axis=axis, keepdims=keepdims).astype(a.dtype)
    return sum_p(np.where(mask, a, 0.0), axis, keepdims) / count


register_function(np.mean, _mean)


# -- moving along one axis: reverse, shift, linear scan ----------------------------
def _along(ndim: int, axis: int, s: slice) -> tuple[slice, ...]:
    idx = [slice(None)] * ndim
    idx[axis] = s
    return tuple(idx)


def _moved(x: Any, d: int, axis: int, fill: float) -> Any:
    if type(x) is Tracer:  # a value of an outer trace: record it there
        return shift_p(x, d, axis, fill)
    n, ndim = np.shape(x)[axis], np.ndim(x)
    out = np.full(np.shape(x), fill, dtype=x.dtype)
    if d >= 0:
        out[_along(ndim, axis, slice(d, n))] = x[_along(ndim, axis, slice(0, max(n - d, 0)))]
    else:
        out[_along(ndim, axis, slice(0, max(n + d, 0)))] = x[_along(ndim, axis, slice(-d, n))]
    return out


def _flipped(x: Any, axis: int) -> Any:
    return flip_p(x, axis) if type(x) is Tracer else np.flip(x, axis)


# Linear, and each the other's transpose: shift by d, shift back by -d.
shift_p = Primitive("shift", _moved)
defvjp(shift_p, lambda ans, x, d, axis, fill: lambda g: shift_p(g, -d, axis, 0.0))
defjvp(shift_p, lambda t, ans, x, d, axis, fill: shift_p(t, d, axis, 0.0))
flip_p = Primitive("numpy.flip", _flipped)
defvjp(flip_p, lambda ans, x, axis: lambda g: flip_p(g, axis))
defjvp(flip_p, lambda t, ans, x, axis: flip_p(t, axis))


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
    return bool(np.all(np.isfinite(p) & (p != 0)))


# -- cumulative sum and product ------------------------------------------------------
def _cumsum_impl(a: Any, axis: int) -> Any:
    return np.cumsum(a, axis=axis)


cumsum_p = Primitive("numpy.cumsum", _cumsum_impl)
defvjp(cumsum_p, lambda ans, a, axis: lambda g: _reverse(cumsum_p(_reverse(g, axis), axis), axis))
defjvp(cumsum_p, lambda t, ans, a, axis: cumsum_p(t, axis))


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
        return prim(a, _axis_tuple(axis, np.ndim(a))[0])

    return handler


register_function(np.cumsum, _cumulative(cumsum_p, "numpy.cumsum"))
register_function(np.cumprod, _cumulative(cumprod_p, "numpy.cumprod"))


def _grow_impl(y: Any, axis: int, identity: float) -> Any:
    if type(y) is Tracer:
        return grow_p(y, axis, identity)
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
        return grow_p(y, 0 if axis is None else _axis_tuple(axis, np.ndim(y))[0], identity)

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
    axes = normalize_axis(axis, len(shape))
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


# -- max and min ---------------------------------------------------------------------
def _extreme_weights(ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """1/k on each of the k elements equal to the result of their slice, 0 elsewhere."""
    px = primal(x)
    best = _keep(primal(ans), np.shape(px), axis, keepdims)
    hit = px == best
    if np.isnan(best).any():  # a NaN in a slice is its max; the gradient goes there
        hit |= np.isnan(px) & np.isnan(best)
    count = hit.sum(axis=normalize_axis(axis, np.ndim(px)), keepdims=True)
    if count.size == 0 or count.max() <= 1:  # no ties: the mask is the weight
        return hit.astype(px.dtype)
    return (hit / np.maximum(count, 1)).astype(px.dtype)


def _extreme(name: str, impl: Any) -> Primitive:
    prim = Primitive(name, impl)
    defvjp(
        prim,
        lambda ans, a, axis=None, keepdims=False, initial=None: (
            # w has the input's shape, so the product broadcasts g back without broadcast_to
            lambda w: lambda g: (g if keepdims else np.reshape(g, keepdims_shape(np.shape(a), axis))) * w
        )(_extreme_weights(ans, a, axis, keepdims)),
    )
    defjvp(
        prim,
        lambda t, ans, a, axis=None, keepdims=False, initial=None: np.sum(
            t * _extreme_weights(ans, a, axis, keepdims), axis=axis, keepdims=keepdims
        ),
    )
    return prim


def _with_initial(f: Any) -> Any:
    def impl(a: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Any:
        if initial is None:
            return f(a, axis=axis, keepdims=keepdims)
        return f(a, axis=axis, keepdims=keepdims, initial=initial)

    return impl


max_p = _extreme("numpy.max", _with_initial(np.max))
min_p = _extreme("numpy.min", _with_initial(np.min))


def _extreme_handler(func: Any, prim: Primitive) -> Any:
    name = f"numpy.{func.__name__}"

    def handler(
        a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None, **kw: Any
    ) -> Any:
        refuse_out(name, out)
        _refuse_options(func, kw)
        if type(initial) is Tracer:
            raise unsupported(func, " with a traced initial=; use np.maximum/np.minimum with it")
        return prim(a, axis, keepdims, initial)

    return handler


for _func, _prim in ((np.max, max_p), (np.amax, max_p), (np.min, min_p), (np.amin, min_p)):
    register_function(_func, _extreme_handler(_func, _prim))


def _ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    refuse_out("numpy.ptp", out)
    return max_p(a, axis, keepdims) - min_p(a, axis, keepdims)


register_function(np.ptp, _ptp)


# -- variance and standard deviation --------------------------------------------------
def _centred(x: Any, axis: Any) -> Any:
    return x - np.mean(x, axis=axis, keepdims=True)


def _dof(shape: tuple[int, ...], axis: Any, ddof: float) -> float:
    dof = _count(shape, axis) - ddof
    return float(dof) if dof > 0 else math.nan


def _var_impl(a: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
    return np.var(a, axis=axis, ddof=ddof, keepdims=keepdims)


def _std_impl(a: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
    return np.std(a, axis=axis, ddof=ddof, keepdims=keepdims)


def _var_d(x: Any, axis: Any, ddof: float) -> Any:
    return _centred(x, axis) * (2.0 / _dof(np.shape(x), axis, ddof))


def _std_d(ans: Any, x: Any, axis: Any, ddof: float, keepdims: bool) -> Any:
    """d std / d x = (x - mean) / (dof * std), and 0 where std is 0."""
    shape = np.shape(x)
    s = _keep(ans, shape, axis, keepdims) * _dof(shape, axis, ddof)
    zero = primal(s) == 0
    if not np.any(zero):
        return _centred(x, axis) / s
    return np.where(zero, 0.0, _centred(x, axis) / np.where(zero, 1.0, s))


var_p = Primitive("numpy.var", _var_impl)
defvjp(
    var_p,
    lambda ans, a, axis=None, ddof=0, keepdims=False: (
        lambda g: expand_to(g, np.shape(a), axis, keepdims) * _var_d(a, axis, ddof)
    ),
)
defjvp(
    var_p,
    lambda t, ans, a, axis=None, ddof=0, keepdims=False: np.sum(
        t * _var_d(a, axis, ddof), axis=axis, keepdims=keepdims
    ),
)
std_p = Primitive("numpy.std", _std_impl)
defvjp(
    std_p,
    lambda ans, a, axis=None, ddof=0, keepdims=False: (
        lambda g: expand_to(g, np.shape(a), axis, keepdims) * _std_d(ans, a, axis, ddof, keepdims)
    ),
)
defjvp(
    std_p,
    lambda t, ans, a, axis=None, ddof=0, keepdims=False: np.sum(
        t * _std_d(ans, a, axis, ddof, keepdims), axis=axis, keepdims=keepdims
    ),
)


def _spread(func: Any, prim: Primitive) -> Any:
    name = f"numpy.{func.__name__}"

    def handler(
        a: Any,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        ddof: float = 0,
        keepdims: bool = False,
        *,
        correction: Any = None,
        **kw: Any,
    ) -> Any:
        refuse_out(name, out)
        _refuse_options(func, kw)
        if correction is not None:
            if ddof != 0:
                raise ValueError(f"{name}: ddof and correction can't be provided simultaneously.")
            ddof = correction
        return prim(_cast(a, dtype), axis, ddof, keepdims)

    return handler


register_function(np.var, _spread(np.var, var_p))
register_function(np.std, _spread(np.std, std_p))


# -- weighted average and NaN-skipping reductions --------------------------------------
def _average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False
) -> Any:
    shape = np.shape(a)
    if axis is not None:
        axis = _axis_tuple(axis, len(shape))
    if weights is None:
        avg = np.mean(a, axis=axis, keepdims=keepdims)
        scale = _count(shape, axis)
    else:
        if np.shape(weights) != shape:
            if axis is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            if np.shape(weights) != tuple(shape[ax] for ax in axis):
                raise ValueError("Shape of weights must be consistent with shape of a along specified axis.")
            weights = np.transpose(weights, tuple(int(i) for i in np.argsort(axis)))
            weights = np.reshape(weights, tuple(n if i in axis else 1 for i, n in enumerate(shape)))
        scale = np.sum(weights, axis=axis, keepdims=keepdims)
        if np.any(primal(scale) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = np.sum(np.multiply(a, weights), axis=axis, keepdims=keepdims) / scale
    if not returned:
        return avg
    if weights is None:
        scale = np.full(np.shape(avg), scale, dtype=np.result_type(avg))
    elif np.shape(scale) != np.shape(avg):
        scale = np.broadcast_to(scale, np.shape(avg))
    return avg, scale


register_function(np.average, _average)


def _nan_to_zero(a: Any) -> Any:
    nan = np.isnan(primal(a))
    return np.where(nan, 0.0, a) if np.any(nan) else a


def _nansum(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    **kw: Any,
) -> Any:
    refuse_out("numpy.nansum", out)
    _refuse_options(np.nansum, kw)
    total = sum_p(_nan_to_zero(_cast(a, dtype)), axis, keepdims)
    return total if initial is None else total + initial


def _nanmean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> Any:
    refuse_out("numpy.nanmean", out)
    _refuse_options(np.nanmean, kw)
    a = _cast(a, dtype)
    count = np.sum(~np.isnan(primal(a)), axis=axis, keepdims=keepdims).astype(a.dtype)
    return sum_p(_nan_to_zero(a), axis, keepdims) / count


register_function(np.nansum, _nansum)
register_function(np.nanmean, _nanmean)
