"""Max and average pooling over ``(N, C, H, W)`` inputs, without padding.

Both are built from linear primitives closed under differentiation:

* average pooling is ``window_sum / (KH * KW)``; the transpose of
  ``window_sum`` spreads each output cotangent over its window, and the
  transpose of that is ``window_sum`` again;
* max pooling picks, in each window, the index of its largest element (a
  non-differentiable decision, taken on the plain values) and then *gathers*
  the input there; the transpose of the gather *scatters* the cotangent back
  to those positions, and the transpose of the scatter is the gather.

Subgradient: max pooling's gradient goes entirely to the argmax of each
window; among tied elements, to the first in row-major order within the
window (``np.argmax``'s choice). Overlapping windows (stride < kernel) that
pick the same element accumulate at it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..extend import Primitive, defjvp, defvjp, primal
from .validation import pair

__all__ = ["avg_pool2d", "max_pool2d"]

Pair = tuple[int, int]


def _pair(v: int | tuple[int, int], name: str) -> Pair:
    return pair("pooling", name, v, minimum=1)


def _out(size: int, k: int, s: int) -> int:
    return (size - k) // s + 1


def _windows(x: np.ndarray, k: Pair, s: Pair) -> np.ndarray:
    """View ``(N, C, OH, OW, KH, KW)``."""
    oh, ow = _out(x.shape[2], k[0], s[0]), _out(x.shape[3], k[1], s[1])
    v = sliding_window_view(x, k, axis=(2, 3))
    return v[:, :, : s[0] * (oh - 1) + 1 : s[0], : s[1] * (ow - 1) + 1 : s[1]]


def _tap_slices(i: int, j: int, s: Pair, oh: int, ow: int) -> tuple[slice, slice, slice, slice]:
    """Where kernel tap ``(i, j)`` reads the input, for every output position."""
    return (
        slice(None),
        slice(None),
        slice(i, i + s[0] * (oh - 1) + 1, s[0]),
        slice(j, j + s[1] * (ow - 1) + 1, s[1]),
    )


# -- window sum and its transpose ------------------------------------------------
def _window_sum_impl(x: Any, k: Pair, s: Pair) -> Any:
    return _windows(x, k, s).sum(axis=(4, 5))


def _spread_impl(g: Any, k: Pair, s: Pair, hw: Pair) -> Any:
    n, c, oh, ow = g.shape
    out = np.zeros((n, c, hw[0], hw[1]), dtype=g.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            out[_tap_slices(i, j, s, oh, ow)] += g
    return out


window_sum_p = Primitive("chainrule.nn.window_sum", _window_sum_impl)
spread_p = Primitive("chainrule.nn.window_sum_transpose", _spread_impl)
defvjp(window_sum_p, lambda ans, x, k, s: lambda g: spread_p(g, k, s, np.shape(x)[2:]))
defjvp(window_sum_p, lambda t, ans, x, k, s: window_sum_p(t, k, s))
defvjp(spread_p, lambda ans, g, k, s, hw: lambda h: window_sum_p(h, k, s))
defjvp(spread_p, lambda t, ans, g, k, s, hw: spread_p(t, k, s, hw))


# -- gather at the argmax and its transpose --------------------------------------
def _gather_impl(x: Any, idx: np.ndarray, k: Pair, s: Pair) -> Any:
    w = _windows(x, k, s)
    n, c, oh, ow = idx.shape
    flat = w.reshape(n, c, oh, ow, k[0] * k[1])
    return np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]


def _scatter_impl(g: Any, idx: np.ndarray, k: Pair, s: Pair, hw: Pair) -> Any:
    n, c, oh, ow = g.shape
    out = np.zeros((n, c, hw[0], hw[1]), dtype=g.dtype)
    zero = np.zeros((), dtype=g.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            out[_tap_slices(i, j, s, oh, ow)] += np.where(idx == i * k[1] + j, g, zero)
    return out


def _argmax_impl(x: np.ndarray, k: Pair, s: Pair) -> np.ndarray:
    w = _windows(x, k, s)
    n, c, oh, ow = w.shape[:4]
    index: np.ndarray = np.argmax(w.reshape(n, c, oh, ow, k[0] * k[1]), axis=-1)
    return index


# The index of each window's largest element: a piecewise-constant decision, applied to plain
# values only (never differentiated); a primitive so that vmap batches it (nn/batching.py).
argmax_p = Primitive("chainrule.nn.max_pool_argmax", _argmax_impl)
gather_p = Primitive("chainrule.nn.max_pool_gather", _gather_impl)
scatter_p = Primitive("chainrule.nn.max_pool_scatter", _scatter_impl)
defvjp(gather_p, lambda ans, x, idx, k, s: lambda g: scatter_p(g, idx, k, s, np.shape(x)[2:]))
defjvp(gather_p, lambda t, ans, x, idx, k, s: gather_p(t, idx, k, s))
defvjp(scatter_p, lambda ans, g, idx, k, s, hw: lambda h: gather_p(h, idx, k, s))
defjvp(scatter_p, lambda t, ans, g, idx, k, s, hw: scatter_p(t, idx, k, s, hw))


def _check(x: Any, k: Pair, name: str) -> None:
    shape = np.shape(x)
    if len(shape) != 4:
        raise ValueError(f"{name} needs an input of shape (N, C, H, W), got {shape}")
    if shape[2] < k[0] or shape[3] < k[1]:
        raise ValueError(f"{name}: kernel {k} is larger than the input's spatial size {shape[2:]}")


def max_pool2d(x: Any, kernel: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None) -> Any:
    """Largest element of each ``kernel`` window, moved by ``stride`` (default: ``kernel``).

    Examples
    --------
    >>> x = np.array([[[[1.0, 2.0], [4.0, 3.0]]]])
    >>> max_pool2d(x, 2)
    array([[[[4.]]]])
    """
    k = _pair(kernel, "kernel")
    s = k if stride is None else _pair(stride, "stride")
    _check(x, k, "max_pool2d")
    return gather_p(x, argmax_p(primal(x), k, s), k, s)


def avg_pool2d(x: Any, kernel: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None) -> Any:
    """Mean of each ``kernel`` window, moved by ``stride`` (default: ``kernel``).

    Examples
    --------
    >>> x = np.array([[[[1.0, 2.0], [4.0, 3.0]]]])
    >>> avg_pool2d(x, 2)
    array([[[[2.5]]]])
    """
    k = _pair(kernel, "kernel")
    s = k if stride is None else _pair(stride, "stride")
    _check(x, k, "avg_pool2d")
    return window_sum_p(x, k, s) * (1.0 / (k[0] * k[1]))
