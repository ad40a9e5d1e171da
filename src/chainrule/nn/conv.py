"""Two-dimensional convolution as three primitives closed under differentiation.

The convolution (cross-correlation, as in every deep-learning library) of an
input ``x`` of shape ``(N, C, H, W)`` with a kernel ``w`` of shape
``(O, C, KH, KW)`` is the trilinear form's partial derivative

    T(x, w, g) = sum g * conv2d(x, w)

with respect to ``g``. Its other two partials are the kernel gradient
``conv2d_kernel_grad(x, g)`` (``dT/dw``) and the input gradient
``conv2d_input_grad(g, w)`` (``dT/dx``, a transposed convolution). Each of
the three is bilinear, and the reverse rule of each is made of the other two,
so derivatives of any order stay within these primitives and never fall back
to elementwise loops.

Speed: ``conv2d`` and ``conv2d_kernel_grad`` read the padded input through a
``sliding_window_view`` and contract it with one ``np.tensordot`` (one im2col
copy and one matrix product); ``conv2d_input_grad`` does one matrix product
and then adds ``KH * KW`` strided slices, so the backward pass costs about the
same as the forward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..extend import Primitive, defjvp, defvjp
from .validation import pair

__all__ = ["conv2d_input_grad", "conv2d_kernel_grad", "conv2d_raw", "conv_output_size"]

Pair = tuple[int, int]


def _pair(v: int | tuple[int, int], name: str) -> Pair:
    return pair("conv2d", name, v, minimum=0 if name == "padding" else 1)


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one axis.

    >>> conv_output_size(8, 3, 1, 1, 1)
    8
    >>> conv_output_size(8, 3, 2, 0, 2)
    2
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def windows(x: np.ndarray, kh: int, kw: int, s: Pair, p: Pair, d: Pair, oh: int, ow: int) -> np.ndarray:
    """View of shape ``(N, C, KH, KW, OH, OW)``: the input under each kernel tap."""
    if p != (0, 0):
        n, c, h, w = x.shape
        padded = np.zeros((n, c, h + 2 * p[0], w + 2 * p[1]), dtype=x.dtype)
        padded[:, :, p[0] : p[0] + h, p[1] : p[1] + w] = x
        x = padded
    ext_h = d[0] * (kh - 1) + 1
    ext_w = d[1] * (kw - 1) + 1
    v = sliding_window_view(x, (ext_h, ext_w), axis=(2, 3))
    v = v[:, :, : s[0] * (oh - 1) + 1 : s[0], : s[1] * (ow - 1) + 1 : s[1], :: d[0], :: d[1]]
    taps: np.ndarray = v.transpose(0, 1, 4, 5, 2, 3)
    return taps


def _conv_impl(x: np.ndarray, w: np.ndarray, s: Pair, p: Pair, d: Pair) -> np.ndarray:
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh = conv_output_size(h, kh, s[0], p[0], d[0])
    ow = conv_output_size(wd, kw, s[1], p[1], d[1])
    cols = windows(x, kh, kw, s, p, d, oh, ow).reshape(n, c * kh * kw, oh * ow)  # im2col copy
    out: np.ndarray = np.matmul(w.reshape(o, c * kh * kw), cols).reshape(n, o, oh, ow)
    return out


def _kernel_grad_impl(x: np.ndarray, g: np.ndarray, ksize: Pair, s: Pair, p: Pair, d: Pair) -> np.ndarray:
    n, o, oh, ow = g.shape
    c = x.shape[1]
    kh, kw = ksize
    cols = windows(x, kh, kw, s, p, d, oh, ow).transpose(1, 2, 3, 0, 4, 5)
    cols = cols.reshape(c * kh * kw, n * oh * ow)  # im2col copy
    gmat = g.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
    kernel_grad: np.ndarray = (gmat @ cols.T).reshape(o, c, kh, kw)
    return kernel_grad


def _input_grad_impl(g: np.ndarray, w: np.ndarray, xsize: Pair, s: Pair, p: Pair, d: Pair) -> np.ndarray:
    n, o, oh, ow = g.shape
    _, c, kh, kw = w.shape
    cols = np.matmul(w.reshape(o, c * kh * kw).T, g.reshape(n, o, oh * ow))
    return col2im(cols.reshape(n, c, kh, kw, oh, ow), xsize, s, p, d)


def col2im(cols: np.ndarray, xsize: Pair, s: Pair, p: Pair, d: Pair) -> np.ndarray:
    """The ``(N, C, H, W)`` input-shaped sum of ``cols`` ``(N, C, KH, KW, OH, OW)`` at each tap's place."""
    n, c, kh, kw, oh, ow = cols.shape
    hp, wp = xsize[0] + 2 * p[0], xsize[1] + 2 * p[1]
    out = np.zeros((n, c, hp, wp), dtype=cols.dtype)
    # col2im: one strided slice per kernel tap; within a tap no position repeats.
    for i in range(kh):
        r0 = i * d[0]
        rows = slice(r0, r0 + s[0] * (oh - 1) + 1, s[0])
        for j in range(kw):
            c0 = j * d[1]
            out[:, :, rows, c0 : c0 + s[1] * (ow - 1) + 1 : s[1]] += cols[:, :, i, j]
    if p == (0, 0):
        return out
    return out[:, :, p[0] : p[0] + xsize[0], p[1] : p[1] + xsize[1]]


conv2d_p = Primitive("chainrule.nn.conv2d_raw", _conv_impl)
kernel_grad_p = Primitive("chainrule.nn.conv2d_kernel_grad", _kernel_grad_impl)
input_grad_p = Primitive("chainrule.nn.conv2d_input_grad", _input_grad_impl)


def _hw(a: Any) -> Pair:
    shape = np.shape(a)
    return (shape[2], shape[3])


# conv2d(x, w): reverse rules are the other two partials of T.
defvjp(
    conv2d_p,
    lambda ans, x, w, s, p, d: lambda g: input_grad_p(g, w, _hw(x), s, p, d),
    lambda ans, x, w, s, p, d: lambda g: kernel_grad_p(x, g, _hw(w), s, p, d),
)
defjvp(
    conv2d_p,
    lambda t, ans, x, w, s, p, d: conv2d_p(t, w, s, p, d),
    lambda t, ans, x, w, s, p, d: conv2d_p(x, t, s, p, d),
)
# kernel_grad(x, g) with cotangent h (kernel-shaped).
defvjp(
    kernel_grad_p,
    lambda ans, x, g, k, s, p, d: lambda h: input_grad_p(g, h, _hw(x), s, p, d),
    lambda ans, x, g, k, s, p, d: lambda h: conv2d_p(x, h, s, p, d),
)
defjvp(
    kernel_grad_p,
    lambda t, ans, x, g, k, s, p, d: kernel_grad_p(t, g, k, s, p, d),
    lambda t, ans, x, g, k, s, p, d: kernel_grad_p(x, t, k, s, p, d),
)
# input_grad(g, w) with cotangent h (input-shaped).
defvjp(
    input_grad_p,
    lambda ans, g, w, xs, s, p, d: lambda h: conv2d_p(h, w, s, p, d),
    lambda ans, g, w, xs, s, p, d: lambda h: kernel_grad_p(h, g, _hw(w), s, p, d),
)
defjvp(
    input_grad_p,
    lambda t, ans, g, w, xs, s, p, d: input_grad_p(t, w, xs, s, p, d),
    lambda t, ans, g, w, xs, s, p, d: input_grad_p(g, t, xs, s, p, d),
)


def _check(x: Any, w: Any) -> None:
    xs, ws = np.shape(x), np.shape(w)
    if len(xs) != 4 or len(ws) != 4:
        raise ValueError(
            f"conv2d needs x of shape (N, C, H, W) and w of shape (O, C, KH, KW); got {xs} and {ws}"
        )
    if xs[1] != ws[1]:
        raise ValueError(f"conv2d: x has {xs[1]} channels but the kernel expects {ws[1]} (w shape {ws})")


def conv2d_raw(
    x: Any,
    w: Any,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Any:
    """Cross-correlate ``x`` ``(N, C, H, W)`` with ``w`` ``(O, C, KH, KW)``: ``(N, O, OH, OW)``.

    Zero ``padding`` is added on both sides; ``dilation`` spaces the kernel
    taps. Differentiable to any order in both arguments.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv2d_raw(x, np.ones((1, 1, 2, 2)), stride=2)
    array([[[[10., 18.],
             [42., 50.]]]])
    """
    _check(x, w)
    s, p, d = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    xs, ws = np.shape(x), np.shape(w)
    for axis in (0, 1):
        if conv_output_size(xs[2 + axis], ws[2 + axis], s[axis], p[axis], d[axis]) < 1:
            raise ValueError(
                f"conv2d: the kernel {ws[2:]} (dilation {d}) does not fit in the padded input {xs[2:]} "
                f"(padding {p})"
            )
    return conv2d_p(x, w, s, p, d)


def conv2d_input_grad(
    g: Any, w: Any, input_hw: tuple[int, int], stride: Any = 1, padding: Any = 0, dilation: Any = 1
) -> Any:
    """The transposed convolution: the cotangent of ``conv2d``'s input for output cotangent ``g``."""
    s, p, d = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    return input_grad_p(g, w, (int(input_hw[0]), int(input_hw[1])), s, p, d)


def conv2d_kernel_grad(
    x: Any, g: Any, kernel_hw: tuple[int, int], stride: Any = 1, padding: Any = 0, dilation: Any = 1
) -> Any:
    """The cotangent of ``conv2d``'s kernel for input ``x`` and output cotangent ``g``."""
    s, p, d = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    return kernel_grad_p(x, g, (int(kernel_hw[0]), int(kernel_hw[1])), s, p, d)
