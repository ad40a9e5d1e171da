"""Differentiable ``scipy.signal.convolve``, ``correlate`` and ``fftconvolve`` (N-D, every mode).

One primitive, the full convolution over a set of axes (all of them for
``convolve``/``correlate``; ``axes`` of ``fftconvolve``, the other axes
broadcasting), computed by SciPy. It is bilinear: its tangent is
``conv(da, v) + conv(a, dv)`` and the cotangent of ``a`` is the window of
``conv(g, flip(v))`` that lines up with ``a`` (a correlation of ``g`` with
``v``), summed over broadcast axes; the same for ``v``. The rules call the
primitive itself, so every order follows. Complex inputs follow JAX's
convention (no conjugate in the rules: the convolution is holomorphic in
each input); ``correlate`` conjugates ``in2`` as SciPy does. ``'same'`` and ``'valid'`` are
windows of the full result (differentiable slicing), and ``correlate(a, v)``
is ``convolve(a, flip(v))``, as in SciPy.

>>> import numpy as np
>>> import chainrule as cr
>>> cr.grad(lambda v: np.sum(convolve(np.array([1.0, 2.0]), v)))(np.zeros(3)).tolist()
[3.0, 3.0, 3.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal as ss

from ..extend import Primitive, axis_tuple, defbatch, defcomplex, defjvp, defvjp, loop_rule, unbroadcast

__all__ = ["convolve", "correlate", "fftconvolve"]

_MODES = ("full", "same", "valid")


def _full_impl(a: Any, v: Any, axes: tuple[int, ...], method: str) -> Any:
    if method == "fft" or len(axes) != np.ndim(a):
        return ss.fftconvolve(a, v, mode="full", axes=axes)
    return ss.convolve(a, v, mode="full", method=method)


conv_p = Primitive("scipy.signal.convolve", _full_impl)
defcomplex(conv_p)  # bilinear: its rules (convolutions with the flipped other input) hold for complex values


def _window(full: Any, like: tuple[int, ...], other: tuple[int, ...], axes: tuple[int, ...]) -> Any:
    """The part of ``conv(g, flip(other))`` that lines up with an input of shape ``like``."""
    index = tuple(
        slice(other[k] - 1, other[k] - 1 + like[k]) if k in axes else slice(None) for k in range(len(like))
    )
    return full[index]


def _flip(x: Any, axes: tuple[int, ...]) -> Any:
    return np.flip(x, axis=axes)


def _bar(mine: Any, other: Any, axes: tuple[int, ...], method: str) -> Any:
    shape_mine, shape_other = np.shape(mine), np.shape(other)

    def bar(g: Any) -> Any:
        full = conv_p(g, _flip(other, axes), axes, method)
        window = _window(full, shape_mine, shape_other, axes)
        return unbroadcast(window, shape_mine)

    return bar


defvjp(
    conv_p,
    lambda ans, a, v, axes, method: _bar(a, v, axes, method),
    lambda ans, a, v, axes, method: _bar(v, a, axes, method),
)
defjvp(
    conv_p,
    lambda t, ans, a, v, axes, method: conv_p(t, v, axes, method),
    lambda t, ans, a, v, axes, method: conv_p(a, t, axes, method),
)


def _batch_rule(
    size: int, prim: Primitive, values: list[Any], batched: list[bool], kwargs: dict[str, Any]
) -> Any:
    """``vmap`` of the full convolution: one SciPy call for the batch.

    Over some axes (``fftconvolve``), the batch axis is one more axis that is not
    convolved: it broadcasts. Over every axis (``convolve``, ``correlate``) with one
    input shared, the batch axis is convolved too, the shared input having length 1
    there: each output slice is one example's convolution, by the method SciPy
    would pick for it. With both inputs batched there the examples are looped.
    """
    a, v, axes, method = values
    if batched[2] or batched[3]:
        return loop_rule(size, prim, values, batched, kwargs)
    ndim = np.ndim(a) - (1 if batched[0] else 0)
    if method == "auto" and len(axes) == ndim:
        # SciPy's choice for one example (it depends on the shapes and dtypes), not for the stack.
        one = [np.zeros(np.shape(x)[1:] if b else np.shape(x), x.dtype) for x, b in zip((a, v), batched)]
        method = ss.choose_conv_method(one[0], one[1], mode="full")
    shifted = tuple(k + 1 for k in axes)
    lifted = [x if b else np.expand_dims(x, 0) for x, b in zip((a, v), batched[:2])]
    if method == "fft" or len(axes) != ndim:
        return prim(lifted[0], lifted[1], shifted, method)
    if batched[0] and batched[1]:
        return loop_rule(size, prim, values, batched, kwargs)
    return prim(lifted[0], lifted[1], (0, *shifted), method)


defbatch(conv_p, _batch_rule, "convolution")


def _mode_window(
    full: Any, s1: tuple[int, ...], s2: tuple[int, ...], axes: tuple[int, ...], mode: str
) -> Any:
    if mode == "full":
        return full
    index = []
    for k in range(len(np.shape(full))):
        if k not in axes:
            index.append(slice(None))
        elif mode == "same":
            start = (s2[k] - 1) // 2
            index.append(slice(start, start + s1[k]))
        else:
            start = min(s1[k], s2[k]) - 1
            index.append(slice(start, start + abs(s1[k] - s2[k]) + 1))
    return full[tuple(index)]


def _checked(
    name: str, in1: Any, in2: Any, mode: str, method: str
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if mode not in _MODES:
        raise ValueError(f"{name}: mode must be 'full', 'same' or 'valid', got {mode!r}")
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"{name}: method must be 'auto', 'direct' or 'fft', got {method!r}")
    s1, s2 = np.shape(in1), np.shape(in2)
    if len(s1) != len(s2):
        raise ValueError(f"{name}: in1 and in2 should have the same dimensionality, got {s1} and {s2}")
    return s1, s2


def _valid_ok(name: str, s1: tuple[int, ...], s2: tuple[int, ...], axes: tuple[int, ...]) -> None:
    first = all(s1[k] >= s2[k] for k in axes)
    second = all(s2[k] >= s1[k] for k in axes)
    if not (first or second):
        raise ValueError(
            f"{name}: for 'valid' mode, one input must be at least as large as the other in every "
            f"dimension, got shapes {s1} and {s2}"
        )


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """The N-dimensional convolution, as :func:`scipy.signal.convolve`.

    >>> convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]), mode="same").tolist()
    [1.0, 2.5, 4.0]
    """
    name = "chainrule.scipy.signal.convolve"
    s1, s2 = _checked(name, in1, in2, mode, method)
    axes = tuple(range(len(s1)))
    if mode == "valid":
        _valid_ok(name, s1, s2, axes)
    return _mode_window(conv_p(in1, in2, axes, method), s1, s2, axes, mode)


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """The N-dimensional cross-correlation, as :func:`scipy.signal.correlate`.

    ``convolve(in1, flip(conj(in2)))``, as SciPy computes it.

    >>> correlate(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0]), mode="valid").tolist()
    [3.0, 5.0]
    """
    name = "chainrule.scipy.signal.correlate"
    s1, s2 = _checked(name, in1, in2, mode, method)
    axes = tuple(range(len(s1)))
    if mode == "valid":
        _valid_ok(name, s1, s2, axes)
    if np.iscomplexobj(in2):
        in2 = np.conj(in2)
    return _mode_window(conv_p(in1, _flip(in2, axes), axes, method), s1, s2, axes, mode)


def fftconvolve(in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> Any:
    """The convolution by FFT over ``axes`` (all by default), as :func:`scipy.signal.fftconvolve`.

    The other axes broadcast, as in SciPy.

    >>> fftconvolve(np.ones((2, 3)), np.ones((1, 2)), axes=1).round(6).tolist()
    [[1.0, 2.0, 2.0, 1.0], [1.0, 2.0, 2.0, 1.0]]
    """
    name = "chainrule.scipy.signal.fftconvolve"
    s1, s2 = _checked(name, in1, in2, mode, "fft")
    ax = tuple(range(len(s1))) if axes is None else tuple(sorted(axis_tuple(axes, len(s1))))
    for k in range(len(s1)):
        if k not in ax and s1[k] != s2[k] and 1 not in (s1[k], s2[k]):
            raise ValueError(f"{name}: incompatible shapes {s1} and {s2} on axis {k}, which is not convolved")
    if mode == "valid":
        _valid_ok(name, s1, s2, ax)
    if 0 in s1 or 0 in s2:
        return ss.fftconvolve(np.zeros(s1), np.zeros(s2), mode=mode, axes=axes)
    out_like = tuple(max(s1[k], s2[k]) if k not in ax else s1[k] for k in range(len(s1)))
    return _mode_window(conv_p(in1, in2, ax, "fft"), out_like, s2, ax, mode)
