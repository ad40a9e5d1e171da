"""A minimal way to compose layers: a :class:`Sequential` of (init, apply) pairs.

Each :class:`Layer` is a pair of functions ``init(rng, input_shape) ->
(params, output_shape)`` and ``apply(params, x, *, rng, train) -> y`` (shapes
exclude the batch axis). ``Sequential.init`` returns a plain list with one
parameter dict per layer (``{}`` for layers without parameters), so the tree
you differentiate, print and update is the tree you see.

>>> net = Sequential(Dense(16), Activation(relu), Dense(10))
>>> params = net.init(np.random.default_rng(0), (64,))
>>> [sorted(p) for p in params]
[['b', 'w'], [], ['b', 'w']]
>>> net.apply(params, np.zeros((5, 64))).shape
(5, 10)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import layers
from .activations import relu
from .conv import conv_output_size
from .pooling import avg_pool2d, max_pool2d
from .validation import count, float_dtype, function, generator, input_shape, pair, real

__all__ = [
    "Activation",
    "AvgPool2D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Layer",
    "LayerNorm",
    "MaxPool2D",
    "Sequential",
]

Shape = tuple[int, ...]


class Layer(NamedTuple):
    """``init(rng, input_shape) -> (params, output_shape)`` and ``apply(params, x, *, rng, train)``."""

    name: str
    init: Callable[[np.random.Generator, Shape], tuple[Any, Shape]]
    apply: Callable[..., Any]


def _fits(where: str, shape: Shape, out: tuple[int, int], what: str) -> None:
    if out[0] < 1 or out[1] < 1:
        raise ValueError(
            f"{where}: {what} does not fit in the input of shape {shape} (C, H, W): the output would be "
            f"{out[0]} x {out[1]}; use a smaller kernel, more padding or a larger input"
        )


def Dense(units: int, dtype: Any = np.float64) -> Layer:
    """Fully connected layer on the last axis."""
    units, dtype = count("Dense", "units", units), float_dtype("Dense", dtype)

    def init(rng: np.random.Generator, shape: Shape) -> tuple[Any, Shape]:
        shape = input_shape(f"Dense({units})", shape)
        return layers.init_dense(rng, shape[-1], units, dtype), (*shape[:-1], units)

    return Layer(f"Dense({units})", init, lambda p, x, **kw: layers.dense(p, x))


def Conv2D(
    out_channels: int,
    kernel: int | tuple[int, int] = 3,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    dtype: Any = np.float64,
) -> Layer:
    """2-D convolution with bias on ``(C, H, W)`` inputs."""
    out_channels = count("Conv2D", "out_channels", out_channels)
    k, s = pair("Conv2D", "kernel", kernel, 1), pair("Conv2D", "stride", stride, 1)
    p, d = pair("Conv2D", "padding", padding, 0), pair("Conv2D", "dilation", dilation, 1)
    dtype = float_dtype("Conv2D", dtype)
    name = f"Conv2D({out_channels}, {k})"

    def init(rng: np.random.Generator, shape: Shape) -> tuple[Any, Shape]:
        c, h, w = shape = input_shape(name, shape, 3, "(C, H, W)")
        oh = conv_output_size(h, k[0], s[0], p[0], d[0])
        ow = conv_output_size(w, k[1], s[1], p[1], d[1])
        _fits(name, shape, (oh, ow), f"the kernel {k} (dilation {d}, padding {p})")
        return layers.init_conv2d(rng, c, out_channels, k, dtype), (out_channels, oh, ow)

    return Layer(name, init, lambda prm, x, **kw: layers.conv2d(prm, x, s, p, d))


def _pool(name: str, fn: Callable[..., Any], kernel: Any, stride: Any) -> Layer:
    k = pair(name, "kernel", kernel, 1)
    s = k if stride is None else pair(name, "stride", stride, 1)
    label = f"{name}({k})"

    def init(rng: np.random.Generator, shape: Shape) -> tuple[Any, Shape]:
        c, h, w = shape = input_shape(label, shape, 3, "(C, H, W)")
        out = ((h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1)
        _fits(label, shape, out, f"the window {k}")
        return {}, (c, *out)

    return Layer(label, init, lambda p, x, **kw: fn(x, k, s))


def MaxPool2D(kernel: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None) -> Layer:
    """Max pooling (stride defaults to the kernel)."""
    return _pool("MaxPool2D", max_pool2d, kernel, stride)


def AvgPool2D(kernel: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None) -> Layer:
    """Average pooling (stride defaults to the kernel)."""
    return _pool("AvgPool2D", avg_pool2d, kernel, stride)


def Flatten() -> Layer:
    """Flatten everything but the batch axis."""
    return Layer(
        "Flatten",
        lambda rng, shape: ({}, (int(np.prod(input_shape("Flatten", shape))),)),
        lambda p, x, **kw: layers.flatten(x),
    )


def Dropout(rate: float) -> Layer:
    """Dropout, active only when ``apply(..., train=True, rng=...)``."""
    rate = real("Dropout", "rate", rate, 0.0, 1.0, high_open=True, hint="the share of elements zeroed")

    def apply(p: Any, x: Any, *, rng: np.random.Generator | None = None, train: bool = False) -> Any:
        return layers.dropout(x, rate, rng, train)

    return Layer(f"Dropout({rate})", lambda rng, shape: ({}, shape), apply)


def LayerNorm(eps: float = 1e-5, dtype: Any = np.float64) -> Layer:
    """Layer normalization over the last axis, with learnable scale and offset."""
    eps = real("LayerNorm", "eps", eps, 0.0, low_open=True, hint="a small positive number such as 1e-5")
    dtype = float_dtype("LayerNorm", dtype)

    def init(rng: np.random.Generator, shape: Shape) -> tuple[Any, Shape]:
        shape = input_shape("LayerNorm", shape)
        return layers.init_layer_norm(shape[-1], dtype), shape

    return Layer(
        "LayerNorm",
        init,
        lambda p, x, **kw: layers.layer_norm(p, x, eps),
    )


def Embedding(vocab_size: int, dim: int, dtype: Any = np.float64) -> Layer:
    """Integer ids of any shape to rows of a learned table."""
    vocab_size, dim = count("Embedding", "vocab_size", vocab_size), count("Embedding", "dim", dim)
    dtype = float_dtype("Embedding", dtype)
    return Layer(
        f"Embedding({vocab_size}, {dim})",
        lambda rng, shape: (layers.init_embedding(rng, vocab_size, dim, dtype), (*shape, dim)),
        lambda p, x, **kw: layers.embedding(p, x),
    )


def Activation(fn: Callable[[Any], Any] = relu) -> Layer:
    """An elementwise function without parameters (``relu``, ``tanh``, ...)."""
    function("Activation", "fn", fn)
    return Layer(
        getattr(fn, "__name__", "Activation"), lambda rng, shape: ({}, shape), lambda p, x, **kw: fn(x)
    )


def _shape_arg(shape: Any) -> Shape:
    return input_shape("Sequential", shape)


class Sequential:
    """Layers applied one after another; parameters are a plain list of per-layer dicts."""

    def __init__(self, *layers: Any) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                fix = (
                    " pass the layers as separate arguments: Sequential(*layers)"
                    if isinstance(layer, list | tuple)
                    else " build layers with nn.Dense, nn.Conv2D, ..."
                )
                raise TypeError(f"Sequential: argument {i} is {type(layer).__name__} {layer!r:.40}, not a "
                                f"Layer;{fix}")  # fmt: skip
        self.layers = tuple(layers)

    def __repr__(self) -> str:
        return f"Sequential({', '.join(layer.name for layer in self.layers)})"

    def init(self, rng: np.random.Generator, input_shape: Shape) -> list[Any]:
        """One parameter dict per layer, drawn from ``rng``; ``input_shape`` excludes the batch axis."""
        generator("Sequential.init", "rng", rng)
        params = []
        shape = _shape_arg(input_shape)
        for layer in self.layers:
            p, shape = layer.init(rng, shape)
            params.append(p)
        return params

    def output_shape(self, input_shape: Shape) -> Shape:
        """The shape (without the batch axis) the network produces for ``input_shape``."""
        shape = _shape_arg(input_shape)
        rng = np.random.default_rng(0)
        for layer in self.layers:
            _, shape = layer.init(rng, shape)
        return shape

    def apply(
        self, params: list[Any], x: Any, *, rng: np.random.Generator | None = None, train: bool = False
    ) -> Any:
        """Run ``x`` through every layer. ``rng`` and ``train`` reach the layers that use them (dropout)."""
        if len(params) != len(self.layers):
            raise ValueError(
                f"{self!r} has {len(self.layers)} layers but got {len(params)} parameter entries"
            )
        for layer, p in zip(self.layers, params):
            x = layer.apply(p, x, rng=rng, train=train)
        return x
