"""Building arrays from traced values: ranges with traced endpoints, fills, grids, selections.

* ``linspace``/``logspace``/``geomspace``: ``start + (stop - start) * t`` for
  NumPy's fixed fractions ``t`` (exp/log of it for the other two), so the
  samples are linear in the endpoints (``geomspace`` in their logarithms).
  ``retstep`` returns the traced step. An integer ``dtype`` floors the
  samples: piecewise constant, so the result is plain.
* ``full_like(a, v)``: ``v`` broadcast to the shape of ``a`` (traced when ``v``
  is). ``np.full(shape, v)`` and ``np.full_like(plain, v)`` with a traced ``v``
  cannot dispatch to chainrule (NumPy allocates the array first and writes
  ``v`` into it with ``np.copyto``): that write is refused with the alternative,
  ``np.broadcast_to(v, shape)``.
* ``meshgrid`` (reshape and broadcast), ``rollaxis`` (a ``moveaxis``),
  ``select`` (nested ``where``: the first true condition wins; other choices
  get an exact zero), ``piecewise`` (each function applied to the selected
  elements and written with a functional update; later conditions win).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..extend import (
    InPlaceError,
    Tracer,
    any_set,
    as_traced_array,
    axis_index,
    contains_tracer,
    plain_array,
    primal,
    refuse_complex,
    register_function,
)
from .updates import at

__all__: list[str] = []


# -- ranges ----------------------------------------------------------------------------------
def _fractions(num: int, endpoint: bool) -> tuple[np.ndarray, float]:
    """NumPy's sample positions in [0, 1] (``i / div``) and ``1 / div``."""
    div = (num - 1) if endpoint else num
    steps = np.arange(num, dtype=np.float64)
    if div > 0:
        return steps / div, 1.0 / div
    return steps * 0.0, np.nan


def _linspace(start: Any, stop: Any, num: Any = 50, endpoint: bool = True, retstep: bool = False,
              dtype: Any = None, axis: Any = 0, *, device: Any = None) -> Any:  # fmt: skip
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start, stop = as_traced_array(start), as_traced_array(stop)
    frac, inv = _fractions(num, endpoint)
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    start_b = np.reshape(start, (1,) * (len(shape) - np.ndim(start)) + np.shape(start))
    stop_b = np.reshape(stop, (1,) * (len(shape) - np.ndim(stop)) + np.shape(stop))
    # NumPy's dtype: that of start, stop and a float (float32 endpoints give float32 samples).
    t = np.reshape(frac, (-1,) + (1,) * len(shape)).astype(
        np.result_type(primal(start), primal(stop), float(num))
    )
    delta = stop_b - start_b
    y = start_b + delta * t
    if endpoint and num > 1:  # the last sample is stop exactly, as in NumPy
        y = np.concatenate([y[:-1], np.broadcast_to(stop_b, (1, *shape))], axis=0)
    y = np.broadcast_to(y, (num, *shape)) if np.shape(y) != (num, *shape) else y
    y = np.moveaxis(y, 0, axis_index(axis, len(shape) + 1))
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.inexact):
        y = np.floor(primal(y)).astype(dtype)  # NumPy floors: piecewise constant
    elif dtype is not None:
        y = y.astype(dtype)
    if retstep:
        return y, delta * inv if num > 1 or not endpoint else delta * np.nan
    return y


register_function(np.linspace, _linspace)


def _logspace(start: Any, stop: Any, num: Any = 50, endpoint: bool = True, base: Any = 10.0,
              dtype: Any = None, axis: Any = 0) -> Any:  # fmt: skip
    if isinstance(base, list | tuple):
        base = as_traced_array(base)
    if np.ndim(base):  # as NumPy: start, stop and base broadcast together first
        start, stop = as_traced_array(start), as_traced_array(stop)
        shape = np.broadcast_shapes(np.shape(start), np.shape(stop), np.shape(base))
        start, stop = np.broadcast_to(start, shape), np.broadcast_to(stop, shape)
    y = _linspace(start, stop, num, endpoint, axis=axis)
    if np.ndim(base):
        base = np.expand_dims(base, axis_index(axis, np.ndim(y)))
    out = np.power(base, y)
    return out if dtype is None else out.astype(dtype)


register_function(np.logspace, _logspace)


def _geomspace(start: Any, stop: Any, num: Any = 50, endpoint: bool = True, dtype: Any = None,
               axis: Any = 0) -> Any:  # fmt: skip
    start, stop = as_traced_array(start), as_traced_array(stop)
    refuse_complex("numpy.geomspace", start, stop)
    ps, pe = primal(start), primal(stop)
    if any_set(np.sign(ps) * np.sign(pe) < 0):
        raise ValueError(
            "numpy.geomspace: start and stop of opposite signs give complex samples, which "
            "chainrule does not differentiate yet."
        )
    np.geomspace(ps, pe, operator.index(num), endpoint)  # NumPy's own checks (zeros)
    sign = np.sign(ps)
    y = _linspace(np.log(np.abs(start)), np.log(np.abs(stop)), num, endpoint, axis=0)
    y = sign * np.exp(y)
    num = operator.index(num)
    if num > 0:  # NumPy sets the ends exactly
        parts = [np.expand_dims(start * np.ones(np.shape(y)[1:]), 0)]
        if num > 1:
            parts.append(y[1:-1] if endpoint else y[1:])
            if endpoint:
                parts.append(np.expand_dims(stop * np.ones(np.shape(y)[1:]), 0))
        y = np.concatenate(parts, axis=0)
    y = np.moveaxis(y, 0, axis_index(axis, np.ndim(y)))
    return y if dtype is None else y.astype(dtype)


register_function(np.geomspace, _geomspace)


# -- fills -----------------------------------------------------------------------------------------
def _full_like(a: Any, fill_value: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
               shape: Any = None, *, device: Any = None) -> Any:  # fmt: skip
    target_shape = np.shape(a) if shape is None else tuple(np.atleast_1d(shape).tolist())
    target_dtype = np.dtype(dtype) if dtype is not None else primal(a).dtype
    if type(fill_value) is not Tracer:
        return np.full_like(primal(a), fill_value, dtype=dtype, order=order, shape=shape)
    # A complex fill of a real target is refused by the cast below (it would drop the imaginary part).
    if not np.issubdtype(target_dtype, np.inexact):  # an integer fill truncates: no derivative
        return np.full_like(primal(a), primal(fill_value), dtype=dtype, order=order, shape=shape)
    return np.broadcast_to(fill_value, target_shape).astype(target_dtype)


register_function(np.full_like, _full_like)


def _copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    raise InPlaceError(
        "numpy.copyto writes a traced value into an existing array, which cannot be recorded. "
        "np.full(shape, v) and np.full_like(plain_array, v) with a traced fill value do this "
        "internally: write np.broadcast_to(v, shape) (or np.full_like(x, v) with x traced, "
        "or np.zeros(shape) + v) instead; for a general write use np.where(mask, src, dst)."
    )


_copyto.refused = True  # type: ignore[attr-defined]  # read by scripts/coverage_manifest.py
register_function(np.copyto, _copyto)


# -- grids and axes --------------------------------------------------------------------------------
def _meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> Any:
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    arrays = [np.ravel(as_traced_array(x)) for x in xi]
    ndim = len(arrays)
    shapes = []
    for i in range(ndim):
        shape = [1] * ndim
        shape[i] = -1
        shapes.append(shape)
    if indexing == "xy" and ndim > 1:
        shapes[0][0], shapes[0][1] = 1, -1
        shapes[1][0], shapes[1][1] = -1, 1
    out = [np.reshape(x, tuple(s)) for x, s in zip(arrays, shapes)]
    if not sparse:
        out = list(np.broadcast_arrays(*out))
    return tuple(out)


register_function(np.meshgrid, _meshgrid)


def _rollaxis(a: Any, axis: Any, start: Any = 0) -> Any:
    nd = np.ndim(a)
    axis = axis_index(axis, nd)
    start = operator.index(start)
    if start < 0:
        start += nd
    if not 0 <= start < nd + 1:
        raise np.exceptions.AxisError(
            f"'start' arg requires {-nd} <= start < {nd + 1}, but {start} was passed in"
        )
    if axis < start:
        start -= 1
    if axis == start:
        return a
    return np.moveaxis(a, axis, start)


register_function(np.rollaxis, _rollaxis)


# -- selection -------------------------------------------------------------------------------------
def _select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    conds = [plain_array(c) for c in condlist]
    for c in conds:
        if c.dtype != bool:
            raise TypeError("invalid entry in condlist: should be boolean ndarray")
    result = as_traced_array(default)
    for cond, choice in zip(reversed(conds), reversed(list(choicelist))):
        result = np.where(cond, as_traced_array(choice), result)
    return result


register_function(np.select, _select)


def _piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    x = as_traced_array(x)
    px = primal(x)
    # NumPy's reading: one condition unless condlist is a sequence of lists or arrays.
    if np.isscalar(condlist) or (not isinstance(primal(condlist[0]), list | np.ndarray) and px.ndim != 0):
        condlist = [condlist]
    conds = [plain_array(c, dtype=bool) for c in condlist]
    if len(funclist) == len(conds) + 1:  # the last function is "otherwise"
        otherwise = ~np.any(conds, axis=0) if conds else np.ones(px.shape, bool)
        conds.append(otherwise)
    elif len(funclist) != len(conds):
        raise ValueError(
            f"with {len(conds)} condition(s), either {len(conds)} or {len(conds) + 1} functions are expected"
        )
    y: np.ndarray | Tracer = np.zeros(px.shape, px.dtype)  # traced once a traced value is set
    for cond, func in zip(conds, funclist):
        cond = np.broadcast_to(cond, px.shape)
        if not callable(func):
            value = func
        elif not any_set(cond):
            continue
        else:
            value = func(x[cond], *args, **kw)
        y = (
            at(y)[cond].set(value)
            if contains_tracer(value) or isinstance(y, Tracer)
            else _plain_set(y, cond, value)
        )
    return y


def _plain_set(y: np.ndarray, cond: np.ndarray, value: Any) -> np.ndarray:
    y = y.copy()
    y[cond] = value
    return y


register_function(np.piecewise, _piecewise)
