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

from ..extend import (
    Primitive,
    Tracer,
    any_set,
    astype,
    axis_tuple,
    defcomplex,
    defjvp,
    deflinear,
    defvjp,
    primal,
    raw_array,
    reduced_axes,
    refuse_out,
    register_function,
    unsupported,
)


def keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """``shape`` with the reduced axes set to 1."""
    axes = reduced_axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_to(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduced cotangent back to the input's ``shape``."""
    if not keepdims:
        g = np.reshape(g, keepdims_shape(shape, axis))
    return np.broadcast_to(g, shape)


def _count(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements each output element of a reduction gathers."""
    return math.prod(shape[i] for i in reduced_axes(axis, len(shape)))


def _keep(ans: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """A reduction's result with the reduced axes kept (as size 1)."""
    return ans if keepdims else np.reshape(ans, keepdims_shape(shape, axis))


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
deflinear(
    sum_p, lambda ans, a, axis=None, keepdims=False: lambda g: expand_to(g, np.shape(a), axis, keepdims)
)


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
deflinear(
    mean_p,
    lambda ans, a, axis=None, keepdims=False: (
        lambda g: expand_to(g * _inverse_count(np.shape(a), axis), np.shape(a), axis, keepdims)
    ),
)


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


# -- max and min ---------------------------------------------------------------------
def _extreme_weights(ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """1/k on each of the k elements equal to the result of their slice, 0 elsewhere."""
    px = primal(x)
    best = _keep(primal(ans), np.shape(px), axis, keepdims)
    hit = px == best
    axes = reduced_axes(axis, np.ndim(px))
    count = hit.sum(axis=axes, keepdims=True)
    # One hit in every slice means no tie and no NaN (a NaN equals nothing): the mask is the
    # weight (in every example, under vmap). One test, so one guard when jit stages it.
    if bool((count == 1).all()) if type(count) is np.ndarray else not any_set(count != 1):
        return hit.astype(px.dtype)
    if any_set(np.isnan(best)):  # a NaN in a slice is its max; the gradient goes there
        hit |= np.isnan(px) & np.isnan(best)
        count = hit.sum(axis=axes, keepdims=True)
    # (Where a slice has one hit this divides by 1: the same weights as the mask.)
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


def _conj_centred(x: Any, axis: Any) -> Any:
    """``x - mean``, conjugated for complex ``x``: var = mean |x - m|^2 has the reverse factor
    conj(x - m) under JAX's convention (the mean's own change is orthogonal to x - m)."""
    c = _centred(x, axis)
    return np.conjugate(c) if np.iscomplexobj(raw_array(x)) else c


def _real_if_complex(t: Any) -> Any:
    """The tangent of a real result (var, std) of complex values: the real part."""
    return np.real(t) if np.iscomplexobj(raw_array(t)) else t


def _var_d(x: Any, axis: Any, ddof: float) -> Any:
    return _conj_centred(x, axis) * (2.0 / _dof(np.shape(x), axis, ddof))


def _std_d(ans: Any, x: Any, axis: Any, ddof: float, keepdims: bool) -> Any:
    """d std / d x = (x - mean) / (dof * std), and 0 where std is 0."""
    shape = np.shape(x)
    s = _keep(ans, shape, axis, keepdims) * _dof(shape, axis, ddof)
    zero = primal(s) == 0
    if not any_set(zero):
        return _conj_centred(x, axis) / s
    return np.where(zero, 0.0, _conj_centred(x, axis) / np.where(zero, 1.0, s))


var_p = Primitive("numpy.var", _var_impl)
defvjp(
    var_p,
    lambda ans, a, axis=None, ddof=0, keepdims=False: (
        lambda g: expand_to(g, np.shape(a), axis, keepdims) * _var_d(a, axis, ddof)
    ),
)
defjvp(
    var_p,
    lambda t, ans, a, axis=None, ddof=0, keepdims=False: _real_if_complex(
        np.sum(t * _var_d(a, axis, ddof), axis=axis, keepdims=keepdims)
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
    lambda t, ans, a, axis=None, ddof=0, keepdims=False: _real_if_complex(
        np.sum(t * _std_d(ans, a, axis, ddof, keepdims), axis=axis, keepdims=keepdims)
    ),
)
defcomplex(var_p, std_p)


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
        axis = axis_tuple(axis, len(shape))
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
        if any_set(primal(scale) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = np.sum(np.multiply(a, weights), axis=axis, keepdims=keepdims) / scale
    if not returned:
        return avg
    if weights is None:  # scale is the count
        return avg, np.full(np.shape(avg), scale, dtype=np.result_type(avg))
    if np.shape(scale) != np.shape(avg):
        return avg, np.broadcast_to(scale, np.shape(avg))
    return avg, scale


register_function(np.average, _average)


def _nan_to_zero(a: Any) -> Any:
    nan = np.isnan(primal(a))
    return np.where(nan, 0.0, a) if any_set(nan) else a


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
