"""Derivative rules of counting functions whose float outputs are not piecewise constant.

* ``unique``: the unique values are a gather of the input (each taken from its
  first occurrence, the element ``return_index`` names), so the gradient of a
  unique value goes to that element. Where values tie the function has a kink
  (a small perturbation splits them); the first occurrence gets it all there.
  ``return_index``/``return_inverse``/``return_counts`` are integers (plain).
* ``bincount(x, weights=w)``: linear in ``w`` (a scatter-add of ``w`` into the
  bins ``x`` names); ``x`` is integer and carries no derivative.
* ``histogram(a, bins, range, density, weights)``: the counts are piecewise
  constant in ``a``, linear in ``weights``; the bin edges follow the data
  (``min(a)``, ``max(a)``) when ``bins`` is a number or a rule name and
  ``range`` is not given, and follow ``range`` or traced explicit ``bins``
  otherwise. ``density=True`` divides by the weighted total and the bin
  widths, differentiably.

>>> import numpy as np
>>> import chainrule as cr
>>> cr.grad(lambda x: np.sum(np.unique(x) ** 2))(np.array([3.0, 1.0, 3.0]))
array([6., 2., 0.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import Tracer, as_traced_array, plain_ints, primal, refuse_complex, register_function
from .indexing import scatter_add_p

__all__: list[str] = []


# -- unique ------------------------------------------------------------------------------
def _unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: Any = None,
    **kwargs: Any,
) -> Any:
    ar = as_traced_array(ar)
    refuse_complex("numpy.unique", ar)
    # The flags are bools here; NumPy's stubs overload unique on their literal values only.
    plain = np.unique(  # type: ignore[call-overload]
        primal(ar),
        return_index=True,
        return_inverse=return_inverse,
        return_counts=return_counts,
        axis=axis,
        **kwargs,
    )
    index = plain[1]
    values = np.ravel(ar)[index] if axis is None else np.take(ar, index, axis=axis)
    extras = ([index] if return_index else []) + list(plain[2:])
    return (values, *extras) if extras else values


register_function(np.unique, _unique)


def _unique_values(x: Any) -> Any:
    return _unique(x)


if hasattr(np, "unique_values"):
    register_function(np.unique_values, _unique_values)


# -- bincount ------------------------------------------------------------------------------
def _bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    x = np.asarray(plain_ints("numpy.bincount", "x", x))
    if weights is None:
        return np.bincount(x, minlength=minlength)
    weights = as_traced_array(weights)
    refuse_complex("numpy.bincount", weights)
    size = np.bincount(x, minlength=minlength).shape  # NumPy's own checks and length
    if np.shape(weights) != x.shape:
        raise ValueError("The weights and list don't have the same length.")
    return scatter_add_p(
        np.asarray(weights, np.float64) if type(weights) is not Tracer else weights, x, size, np.float64
    )


register_function(np.bincount, _bincount)


# -- histogram -----------------------------------------------------------------------------
def _bin_of(a: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each element (``-1`` outside), as NumPy assigns them: half-open bins, the last closed."""
    # Written without in-place writes, so that it also runs on values batched by vmap.
    idx = np.searchsorted(edges, a, side="right") - 1
    idx = np.where(a == edges[-1], len(edges) - 2, idx)
    return np.where((a < edges[0]) | (a > edges[-1]), -1, idx)


def _edges(a: Any, bins: Any, range: Any, plain_edges: np.ndarray) -> Any:
    """The bin edges, traced where they depend on a traced value (data, ``range`` or ``bins``)."""
    if np.ndim(bins) == 1:
        return bins if type(bins) is Tracer else plain_edges
    if range is not None:
        lo, hi = range
    else:
        flat = np.ravel(a)
        lo, hi = (np.min(flat), np.max(flat)) if np.size(flat) else (0.0, 1.0)
    if type(lo) is not Tracer and type(hi) is not Tracer:
        return plain_edges
    if primal(lo) == primal(hi):  # NumPy widens an empty range by 0.5 each side
        lo, hi = lo - 0.5, hi + 0.5
    n = len(plain_edges) - 1
    steps = (np.arange(n + 1) / n).astype(plain_edges.dtype)
    inner = lo + (hi - lo) * steps[1:-1]
    return np.concatenate([np.reshape(lo, (1,)), inner, np.reshape(hi, (1,))])


def _histogram(a: Any, bins: Any = 10, range: Any = None, density: Any = None, weights: Any = None) -> Any:
    a = as_traced_array(a)
    weights = None if weights is None else as_traced_array(weights)
    refuse_complex("numpy.histogram", a, weights)
    pa = np.ravel(primal(a))
    pbins = primal(bins) if np.ndim(primal(bins)) == 1 else bins
    prange = None if range is None else tuple(primal(r) for r in range)
    pweights = None if weights is None else np.ravel(primal(weights))
    if weights is not None and np.shape(weights) != np.shape(a):
        raise ValueError("numpy.histogram: weights should have the same shape as a.")
    counts, plain_edges = np.histogram(pa, pbins, prange, weights=pweights)
    edges = _edges(a, bins, range, plain_edges)
    if type(weights) is Tracer:
        idx = _bin_of(pa, plain_edges)
        inside = idx >= 0
        # Weights outside every bin add 0 to bin 0 (a fixed shape, so vmap can batch it).
        w = np.where(inside, np.ravel(weights), 0.0)
        counts = scatter_add_p(w, np.where(inside, idx, 0), counts.shape, counts.dtype)
    if density:
        return counts / np.sum(counts) / np.diff(edges), edges
    return counts, edges


register_function(np.histogram, _histogram)

# The edges NumPy computes alone: the same rule, the counts dropped.
register_function(
    np.histogram_bin_edges,
    lambda a, bins=10, range=None, weights=None: _histogram(a, bins, range)[1],
)
