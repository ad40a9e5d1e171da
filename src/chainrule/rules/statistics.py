"""Order statistics and NaN-skipping reductions, built from sort, gathers and masked reductions.

``quantile``/``percentile``/``median`` (and their ``nan`` forms): every method
NumPy offers is an interpolation ``(1 - w) * s[lo] + w * s[hi]`` between two
order statistics ``s`` whose positions and weight depend only on the count of
values and on ``q``, never on the values: so the result is piecewise linear in
the data, and its rule is a sort, two gathers and that interpolation. The
positions come from NumPy itself (the quantile of ``0, 1, ..., n - 1`` is the
virtual index), so every method matches NumPy's definition. ``q`` carries no
derivative (a traced ``q`` is refused). At ties the sorted order decides which
of the tied elements gets the gradient (the order of a stable sort); a slice
holding a NaN gives NaN (``quantile``) or skips it (``nanquantile``).

``nanmax``/``nanmin``: the ``max``/``min`` rule on the non-NaN values (ties
split equally); an all-NaN slice gives NaN and zero gradient. ``nanprod``,
``nancumsum``, ``nancumprod`` replace NaN by 1 or 0; ``nanvar``/``nanstd`` by
the slice's mean (so ``std``'s choice at zero variance, gradient 0, carries
over). ``nan_to_num``: replaced entries get zero gradient.

>>> import numpy as np
>>> import chainrule as cr
>>> cr.grad(np.median)(np.array([3.0, 1.0, 2.0, 5.0]))
array([0.5, 0. , 0.5, 0. ])
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..extend import (
    Tracer,
    UnsupportedOperationError,
    any_set,
    as_traced_array,
    axis_tuple,
    primal,
    refuse_complex,
    refuse_out,
    register_function,
)

__all__: list[str] = []


# -- quantiles ---------------------------------------------------------------------------------
QuantileMethod = Literal[
    "inverted_cdf", "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf",
    "hazen", "weibull", "linear", "median_unbiased", "normal_unbiased",
    "lower", "higher", "midpoint", "nearest",
]  # fmt: skip


def _positions(
    count: int, q: np.ndarray, method: QuantileMethod
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``lo``, ``hi`` and ``w`` for each ``q``: the quantile is ``(1 - w) s[lo] + w s[hi]``."""
    if count == 0:
        zero = np.zeros(q.shape, np.intp)
        return zero, zero, np.zeros(q.shape)
    virtual = np.quantile(np.arange(count, dtype=np.float64), q, method=method)
    lo = np.clip(np.floor(virtual), 0, count - 1).astype(np.intp)
    hi = np.minimum(lo + 1, count - 1)
    return lo, hi, virtual - lo


def _quantile_core(
    a: Any, q: Any, axis: Any, method: QuantileMethod, keepdims: bool, skip_nan: bool, name: str,
    dtype: Any = None,
) -> Any:  # fmt: skip
    a = as_traced_array(a)
    refuse_complex(name, a)
    if type(q) is Tracer:
        raise UnsupportedOperationError(
            f"{name}: q was a traced value; the quantile's derivative in q is not supported. "
            "Pass chainrule.primal(q)."
        )
    q = np.asarray(q, dtype=np.float64)
    if np.any((q < 0) | (q > 1)):  # NumPy's own message, for percentiles too
        raise ValueError("Quantiles must be in the range [0, 1]")
    nd = np.ndim(a)
    axes = tuple(range(nd)) if axis is None else axis_tuple(axis, nd)
    kept = [i for i in range(nd) if i not in axes]
    shape = np.shape(a)
    moved = np.transpose(a, tuple(axes) + tuple(kept))
    n = int(np.prod([shape[i] for i in axes]))
    rest = tuple(shape[i] for i in kept)
    flat = np.reshape(moved, (n, -1))  # (n, R): one column per slice
    pflat = primal(flat)
    nan = np.isnan(pflat)
    s = np.sort(flat, axis=0)  # NaN sorts last
    counts = (n - nan.sum(axis=0)) if skip_nan else np.full(pflat.shape[1], n)
    lo = np.empty((q.size, pflat.shape[1]), np.intp)
    hi = np.empty_like(lo)
    w = np.empty(lo.shape)
    for c in np.unique(counts):
        cols = counts == c
        lo_c, hi_c, w_c = _positions(int(c), q.ravel(), method)
        lo[:, cols], hi[:, cols], w[:, cols] = lo_c[:, None], hi_c[:, None], w_c[:, None]
    if dtype is not None:  # NumPy's: float32 data and a Python-float q give float32
        w = w.astype(dtype)
    s_lo = np.take_along_axis(s, lo, axis=0)
    s_hi = np.take_along_axis(s, hi, axis=0)
    out = s_lo + w * (s_hi - s_lo) if any_set(w) else s_lo
    # NaN where the slice holds one (quantile) or holds nothing else (nanquantile).
    undefined = (counts == 0) if skip_nan else nan.any(axis=0)
    if n == 0:
        undefined = np.ones(pflat.shape[1], bool)
    if any_set(undefined):
        out = np.where(undefined, np.nan, out)
    out_shape = rest
    if keepdims:
        out_shape = tuple(1 if i in axes else shape[i] for i in range(nd))
    return np.reshape(out, q.shape + out_shape)


def _quantile_handler(name: str, scale: float, skip_nan: bool, fixed_q: float | None = None) -> Any:
    def handler(a: Any, q: Any = None, axis: Any = None, out: Any = None, overwrite_input: bool = False,
                method: QuantileMethod = "linear", keepdims: bool = False, *, weights: Any = None,
                interpolation: Any = None) -> Any:  # fmt: skip
        refuse_out(name, out)
        if weights is not None or interpolation is not None:
            raise UnsupportedOperationError(
                f"{name}: weights= and the deprecated interpolation= are not supported for traced "
                "values; use method= (all of NumPy's methods are)."
            )
        qq = fixed_q if fixed_q is not None else q
        dtype = None
        if type(qq) is not Tracer:
            a = as_traced_array(a)
            weak = qq if isinstance(qq, float | int | np.ndarray | np.generic) else np.asarray(qq)
            dtype = np.result_type(primal(a).dtype, weak, np.float16)  # at least a float
            qq = np.asarray(qq, dtype=np.float64) / scale
        return _quantile_core(a, qq, axis, method, keepdims, skip_nan, name, dtype)

    return handler


def _median_handler(name: str, skip_nan: bool) -> Any:
    quantile = _quantile_handler(name, 1.0, skip_nan, fixed_q=0.5)

    def handler(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
                keepdims: bool = False) -> Any:  # fmt: skip
        return quantile(a, None, axis, out, overwrite_input, "linear", keepdims)

    return handler


register_function(np.quantile, _quantile_handler("numpy.quantile", 1.0, False))
register_function(np.percentile, _quantile_handler("numpy.percentile", 100.0, False))
register_function(np.nanquantile, _quantile_handler("numpy.nanquantile", 1.0, True))
register_function(np.nanpercentile, _quantile_handler("numpy.nanpercentile", 100.0, True))
register_function(np.median, _median_handler("numpy.median", False))
register_function(np.nanmedian, _median_handler("numpy.nanmedian", True))


# -- NaN-skipping reductions -----------------------------------------------------------------------
def _nan_mask(a: Any) -> np.ndarray:
    mask: np.ndarray = np.isnan(primal(a))
    return mask


def _nan_extreme(func: Any, fill: float, name: str) -> Any:
    def handler(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None,
                where: Any = None) -> Any:  # fmt: skip
        refuse_out(name, out)
        if where is not None:
            raise UnsupportedOperationError(f"{name}(..., where=) is not supported for traced values")
        a = as_traced_array(a)
        refuse_complex(name, a)
        nan = _nan_mask(a)
        kw = {} if initial is None else {"initial": initial}
        best = func(np.where(nan, fill, a), axis=axis, keepdims=keepdims, **kw)
        empty = np.all(nan, axis=axis, keepdims=keepdims)
        if initial is None and any_set(empty):
            best = np.where(empty, np.nan, best)
        return best

    return handler


register_function(np.nanmax, _nan_extreme(np.max, -np.inf, "numpy.nanmax"))
register_function(np.nanmin, _nan_extreme(np.min, np.inf, "numpy.nanmin"))


def _nanprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
             initial: Any = None, where: Any = None) -> Any:  # fmt: skip
    refuse_out("numpy.nanprod", out)
    a = as_traced_array(a)
    kw = {k: v for k, v in (("initial", initial), ("where", where), ("dtype", dtype)) if v is not None}
    return np.prod(np.where(_nan_mask(a), 1.0, a), axis=axis, keepdims=keepdims, **kw)


register_function(np.nanprod, _nanprod)


def _nan_cumulative(func: Any, fill: float, name: str) -> Any:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        refuse_out(name, out)
        a = as_traced_array(a)
        return func(np.where(_nan_mask(a), fill, a), axis=axis, dtype=dtype)

    return handler


register_function(np.nancumsum, _nan_cumulative(np.cumsum, 0.0, "numpy.nancumsum"))
register_function(np.nancumprod, _nan_cumulative(np.cumprod, 1.0, "numpy.nancumprod"))


def _nan_moment(root: bool, name: str) -> Any:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
                keepdims: bool = False, *, where: Any = None, mean: Any = None,
                correction: Any = None) -> Any:  # fmt: skip
        refuse_out(name, out)
        if where is not None or mean is not None:
            raise UnsupportedOperationError(f"{name}(..., where=, mean=) is not supported for traced values")
        if correction is not None:
            ddof = correction
        a = as_traced_array(a)
        if dtype is not None:
            a = a.astype(dtype)
        nan = _nan_mask(a)
        nd = np.ndim(a)
        axes = tuple(range(nd)) if axis is None else axis_tuple(axis, nd)
        size = int(np.prod([np.shape(a)[i] for i in axes]))
        count = size - nan.sum(axis=axes, keepdims=True)
        # NaNs replaced by their slice's mean add nothing to the squared deviations and
        # leave the mean unchanged: var over the filled slice times size / (count - ddof).
        centre = np.nanmean(a, axis=axes, keepdims=True) if any_set(nan) else 0.0
        filled = np.where(nan, centre, a) if any_set(nan) else a
        dof = count - ddof
        # real for complex a too: var and std of complex values are real
        factor = np.where(dof > 0, size / np.where(dof > 0, dof, 1), np.nan).astype(primal(a).real.dtype)
        if root:
            result = np.std(filled, axis=axes, keepdims=True) * np.sqrt(factor)
        else:
            result = np.var(filled, axis=axes, keepdims=True) * factor
        return (
            result
            if keepdims
            else np.reshape(result, tuple(n for i, n in enumerate(np.shape(a)) if i not in axes))
        )

    return handler


register_function(np.nanvar, _nan_moment(False, "numpy.nanvar"))
register_function(np.nanstd, _nan_moment(True, "numpy.nanstd"))


def _nan_to_num(x: Any, copy: bool = True, nan: Any = 0.0, posinf: Any = None, neginf: Any = None) -> Any:
    x = as_traced_array(x)
    refuse_complex("numpy.nan_to_num", x)
    px = primal(x)
    info = np.finfo(px.dtype)
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    out = np.where(np.isnan(px), nan, x)
    out = np.where(np.isposinf(px), big, out)
    return np.where(np.isneginf(px), small, out).astype(px.dtype)


register_function(np.nan_to_num, _nan_to_num)
