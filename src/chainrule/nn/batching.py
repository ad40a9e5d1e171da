"""Batching rules (``chainrule.vmap``) of convolution and pooling: per-example gradients of CNNs.

Every array of these primitives is ``(N, C, H, W)``-like, computed sample by
sample along ``N`` and channel by channel along the others, so a batch axis
folds into an existing axis and the primitive runs once:

* into ``N`` (the samples): pooling's four primitives, ``conv2d(x, w)`` and
  ``conv2d_input_grad(g, w)`` with the kernel shared;
* into the channels, with the kernel batched and the data shared (an ensemble
  of kernels on one input): the output channels ``O`` of ``conv2d`` and
  ``conv2d_kernel_grad``, the input channels ``C`` of ``conv2d_input_grad``
  and ``conv2d_kernel_grad``.

With both arguments batched (the kernel gradient of per-example gradients:
each example's input against its own output cotangent) nothing folds; each
primitive is then one im2col copy and one stacked matrix product over the
examples, computed on plain data. When an older trace records the call
(``grad`` of a ``vmap``) those take the loop over the examples instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import Primitive, broadcast_batch, defbatch, loop_rule, primal
from . import conv, pooling

__all__: list[str] = []

Values = list[Any]
Flags = list[bool]
Kwargs = dict[str, Any]


def _fold(data: Any) -> Any:
    """Batched data ``(B, N, ...)`` as ``(B * N, ...)``."""
    shape = np.shape(data)
    return np.reshape(data, (shape[0] * shape[1], *shape[2:]))


def _unfold(out: Any, size: int) -> Any:
    shape = np.shape(out)
    return np.reshape(out, (size, shape[0] // size, *shape[1:]))


def _into_axis(data: Any, axis: int) -> Any:
    """Batched data ``(B, A0, A1, ...)``, the batch folded into logical axis ``axis`` (examples outermost)."""
    moved = np.moveaxis(data, 0, axis)
    shape = np.shape(moved)
    return np.reshape(moved, (*shape[:axis], shape[axis] * shape[axis + 1], *shape[axis + 2 :]))


def _out_of_axis(out: Any, axis: int, size: int) -> Any:
    """The inverse of :func:`_into_axis` on a result: the batch axis back in front."""
    shape = np.shape(out)
    split = np.reshape(out, (*shape[:axis], size, shape[axis] // size, *shape[axis + 1 :]))
    return np.moveaxis(split, axis, 0)


def _plain(*values: Any) -> bool:
    return all(type(v) is np.ndarray for v in values)


def _samples_rule(arrays: int) -> Any:
    """The first ``arrays`` arguments' batch folded into their sample axis ``N``: one call."""

    def rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
        if any(batched[arrays:]):
            return loop_rule(size, prim, values, batched, kwargs)
        folded = [_fold(broadcast_batch(v, b, size)) for v, b in zip(values[:arrays], batched)]
        return _unfold(prim(*folded, *values[arrays:], **kwargs), size)

    rule.family = "samples"  # type: ignore[attr-defined]
    return rule


def _decision_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    """Max pooling's argmax (piecewise constant): on the plain values, so no older trace records it."""
    return _unfold(prim(_fold(primal(values[0])), *values[1:], **kwargs), size)


_decision_rule.family = "samples"  # type: ignore[attr-defined]


# -- conv2d(x, w, s, p, d) ---------------------------------------------------------------------
def _conv_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    x, w, *rest = values
    if any(batched[2:]):
        return loop_rule(size, prim, values, batched, kwargs)
    if not batched[1]:
        return _unfold(prim(_fold(x), w, *rest), size)
    if not batched[0]:  # kernels batched: the batch joins the output channels
        return _out_of_axis(prim(x, _fold(w), *rest), 1, size)
    if not _plain(x, w):
        return loop_rule(size, prim, values, batched, kwargs)
    s, p, d = rest
    n, c, h, wd = x.shape[1:]
    o, _, kh, kw = w.shape[1:]
    oh = conv.conv_output_size(h, kh, s[0], p[0], d[0])
    ow = conv.conv_output_size(wd, kw, s[1], p[1], d[1])
    cols = conv.windows(_fold(x), kh, kw, s, p, d, oh, ow).reshape(size, n, c * kh * kw, oh * ow)
    return np.matmul(w.reshape(size, 1, o, c * kh * kw), cols).reshape(size, n, o, oh, ow)


# -- conv2d_kernel_grad(x, g, ksize, s, p, d) ------------------------------------------------
def _kernel_grad_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    x, g, *rest = values
    if any(batched[2:]):
        return loop_rule(size, prim, values, batched, kwargs)
    if not batched[1]:  # inputs batched: the batch joins the input channels
        return _out_of_axis(prim(_into_axis(x, 1), g, *rest), 1, size)
    if not batched[0]:  # cotangents batched: the batch joins the output channels
        return _unfold(prim(x, _into_axis(g, 1), *rest), size)
    if not _plain(x, g):
        return loop_rule(size, prim, values, batched, kwargs)
    (kh, kw), s, p, d = rest
    n, c = x.shape[1:3]
    o, oh, ow = g.shape[2:]
    cols = conv.windows(_fold(x), kh, kw, s, p, d, oh, ow).reshape(size, n, c * kh * kw, oh * ow)
    cols = cols.transpose(0, 2, 1, 3).reshape(size, c * kh * kw, n * oh * ow)
    gmat = g.reshape(size, n, o, oh * ow).transpose(0, 2, 1, 3).reshape(size, o, n * oh * ow)
    return np.matmul(gmat, cols.transpose(0, 2, 1)).reshape(size, o, c, kh, kw)


# -- conv2d_input_grad(g, w, xsize, s, p, d) -------------------------------------------------
def _input_grad_rule(size: int, prim: Primitive, values: Values, batched: Flags, kwargs: Kwargs) -> Any:
    g, w, *rest = values
    if any(batched[2:]):
        return loop_rule(size, prim, values, batched, kwargs)
    if not batched[1]:
        return _unfold(prim(_fold(g), w, *rest), size)
    if not batched[0]:  # kernels batched: the batch joins the input channels
        return _out_of_axis(prim(g, _into_axis(w, 1), *rest), 1, size)
    if not _plain(g, w):
        return loop_rule(size, prim, values, batched, kwargs)
    xsize, s, p, d = rest
    n, o, oh, ow = g.shape[1:]
    c, kh, kw = w.shape[2:]
    wt = np.swapaxes(w.reshape(size, 1, o, c * kh * kw), -1, -2)
    cols = np.matmul(wt, g.reshape(size, n, o, oh * ow))
    return _unfold(conv.col2im(cols.reshape(size * n, c, kh, kw, oh, ow), xsize, s, p, d), size)


for _rule in (_conv_rule, _kernel_grad_rule, _input_grad_rule):
    _rule.family = "samples, channels"  # type: ignore[attr-defined]

defbatch(conv.conv2d_p, _conv_rule, "samples, channels")
defbatch(conv.kernel_grad_p, _kernel_grad_rule, "samples, channels")
defbatch(conv.input_grad_p, _input_grad_rule, "samples, channels")
defbatch(pooling.window_sum_p, _samples_rule(1), "samples")
defbatch(pooling.spread_p, _samples_rule(1), "samples")
defbatch(pooling.gather_p, _samples_rule(2), "samples")
defbatch(pooling.scatter_p, _samples_rule(2), "samples")
defbatch(pooling.argmax_p, _decision_rule, "samples")
