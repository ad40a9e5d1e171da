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


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def Dense(units: int, dtype: Any = np.float64) -> Layer:
    """Fully connected layer on the last axis."""

    def init(rng: np.random.Generator, shape: Shape) -> tuple[Any, Shape]:
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
    k, s, p, d = _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)

    def init(rng: np.random.Generator, shape: Shape) -> tuple[Any, Shape]:
        c, h, w = shape
        oh = conv_output_size(h, k[0], s[0], p[0], d[0])
        ow = conv_output_size(w, k[1], s[1], p[1], d[1])
        return layers.init_conv2d(rng, c, out_channels, k, dtype), (out_channels, oh, ow)

    return Layer(f"Conv2D({out_channels}, {k})", init, lambda prm, x, **kw: layers.conv2d(prm, x, s, p, d))


def _pool(name: str, fn: Callable[..., Any], kernel: Any, stride: Any) -> Layer:
    k = _pair(kernel)
    s = k if stride is None else _pair(stride)

    def init(rng: np.random.Generator, shape: Shape) -> tuple[Any, Shape]:
        c, h, w = shape
        return {}, (c, (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1)

    return Layer(f"{name}({k})", init, lambda p, x, **kw: fn(x, k, s))


def MaxPool2D(kernel: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None) -> Layer:
    """Max pooling (stride defaults to the kernel)."""
    return _pool("MaxPool2D", max_pool2d, kernel, stride)


def AvgPool2D(kernel: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None) -> Layer:
    """Average pooling (stride defaults to the kernel)."""
    return _pool("AvgPool2D", avg_pool2d, kernel, stride)


def Flatten() -> Layer:
    """Flatten everything but the batch axis."""
    return Layer(
        "Flatten", lambda rng, shape: ({}, (int(np.prod(shape)),)), lambda p, x, **kw: layers.flatten(x)
    )


def Dropout(rate: float) -> Layer:
    """Dropout, active only when ``apply(..., train=True, rng=...)``."""

    def apply(p: Any, x: Any, *, rng: np.random.Generator | None = None, train: bool = False) -> Any:
        return layers.dropout(x, rate, rng, train)

    return Layer(f"Dropout({rate})", lambda rng, shape: ({}, shape), apply)


def LayerNorm(eps: float = 1e-5, dtype: Any = np.float64) -> Layer:
    """Layer normalization over the last axis, with learnable scale and offset."""
    return Layer(
        "LayerNorm",
        lambda rng, shape: (layers.init_layer_norm(shape[-1], dtype), shape),
        lambda p, x, **kw: layers.layer_norm(p, x, eps),
    )


def Embedding(vocab_size: int, dim: int, dtype: Any = np.float64) -> Layer:
    """Integer ids of any shape to rows of a learned table."""
    return Layer(
        f"Embedding({vocab_size}, {dim})",
        lambda rng, shape: (layers.init_embedding(rng, vocab_size, dim, dtype), (*shape, dim)),
        lambda p, x, **kw: layers.embedding(p, x),
    )


def Activation(fn: Callable[[Any], Any] = relu) -> Layer:
    """An elementwise function without parameters (``relu``, ``tanh``, ...)."""
    return Layer(
        getattr(fn, "__name__", "Activation"), lambda rng, shape: ({}, shape), lambda p, x, **kw: fn(x)
    )


class Sequential:
    """Layers applied one after another; parameters are a plain list of per-layer dicts."""

    def __init__(self, *layers: Layer) -> None:
        self.layers = tuple(layers)

    def __repr__(self) -> str:
        return f"Sequential({', '.join(layer.name for layer in self.layers)})"

    def init(self, rng: np.random.Generator, input_shape: Shape) -> list[Any]:
        """One parameter dict per layer, drawn from ``rng``; ``input_shape`` excludes the batch axis."""
        params = []
        shape = tuple(input_shape)
        for layer in self.layers:
            p, shape = layer.init(rng, shape)
            params.append(p)
        return params

    def output_shape(self, input_shape: Shape) -> Shape:
        """The shape (without the batch axis) the network produces for ``input_shape``."""
        shape = tuple(input_shape)
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
