"""Layers as pure functions on parameter dicts, each with an initializer.

``init_*`` functions take an explicit ``numpy.random.Generator`` and return a
plain dict of arrays; the apply functions take that dict first. Nothing is
hidden: ``chainrule.grad`` of a loss built from these returns a dict of the
same keys.

>>> rng = np.random.default_rng(0)
>>> p = init_dense(rng, 4, 3)
>>> sorted(p), dense(p, np.ones((2, 4))).shape
(['b', 'w'], (2, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import primal
from .conv import conv2d_raw
from .init import glorot_uniform, he_normal, normal, zeros
from .validation import count, float_dtype, generator, indices, pair, real

__all__ = [
    "conv2d",
    "dense",
    "dropout",
    "embedding",
    "flatten",
    "init_conv2d",
    "init_dense",
    "init_embedding",
    "init_layer_norm",
    "layer_norm",
]

Params = dict[str, Any]


def init_dense(rng: np.random.Generator, n_in: int, n_out: int, dtype: Any = np.float64) -> Params:
    """``{"w": (n_in, n_out) Glorot-uniform, "b": (n_out,) zeros}``."""
    generator("init_dense", "rng", rng)
    n_in, n_out = count("init_dense", "n_in", n_in), count("init_dense", "n_out", n_out)
    dtype = float_dtype("init_dense", dtype)
    return {"w": glorot_uniform(rng, (n_in, n_out), dtype), "b": zeros((n_out,), dtype)}


def dense(params: Params, x: Any) -> Any:
    """``x @ w + b`` for ``x`` of shape ``(..., n_in)``."""
    return x @ params["w"] + params["b"]


def init_conv2d(
    rng: np.random.Generator,
    in_channels: int,
    out_channels: int,
    kernel: int | tuple[int, int],
    dtype: Any = np.float64,
) -> Params:
    """``{"w": (out, in, kh, kw) He-normal, "b": (out,) zeros}``."""
    generator("init_conv2d", "rng", rng)
    in_channels = count("init_conv2d", "in_channels", in_channels)
    out_channels = count("init_conv2d", "out_channels", out_channels)
    kh, kw = pair("init_conv2d", "kernel", kernel, minimum=1)
    dtype = float_dtype("init_conv2d", dtype)
    return {
        "w": he_normal(rng, (out_channels, in_channels, kh, kw), dtype),
        "b": zeros((out_channels,), dtype),
    }


def conv2d(
    params: Params,
    x: Any,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Any:
    """Convolution of ``x`` ``(N, C, H, W)`` with ``params["w"]`` plus a per-channel bias."""
    out = conv2d_raw(x, params["w"], stride, padding, dilation)
    return out + np.reshape(params["b"], (1, -1, 1, 1))


def flatten(x: Any) -> Any:
    """``(N, ...)`` to ``(N, prod(...))``."""
    return np.reshape(x, (np.shape(x)[0], -1))


def dropout(x: Any, rate: float, rng: np.random.Generator | None = None, train: bool = False) -> Any:
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    In evaluation (``train=False``) or with ``rate == 0`` it is the identity.
    The mask comes from ``rng``, so a given generator state gives a given mask.

    >>> dropout(np.ones(3), 0.5) is not None
    True
    """
    rate = real("dropout", "rate", rate, 0.0, 1.0, high_open=True, hint="the share of elements zeroed")
    if not train or rate == 0.0:
        return x
    if rng is None:
        raise ValueError("dropout in training mode needs an explicit rng (a numpy.random.Generator)")
    generator("dropout", "rng", rng)
    keep = 1.0 - float(rate)
    mask = (rng.random(np.shape(x)) < keep).astype(np.result_type(primal(x)))
    return x * mask * (1.0 / keep)


def init_layer_norm(dim: int, dtype: Any = np.float64) -> Params:
    """``{"scale": ones, "offset": zeros}`` of length ``dim``."""
    dim, dtype = count("init_layer_norm", "dim", dim), float_dtype("init_layer_norm", dtype)
    return {"scale": np.ones((dim,), dtype=dtype), "offset": zeros((dim,), dtype)}


def layer_norm(params: Params, x: Any, eps: float = 1e-5) -> Any:
    """Normalize the last axis to zero mean and unit variance, then scale and offset."""
    eps = real("layer_norm", "eps", eps, 0.0, low_open=True, hint="a small positive number such as 1e-5")
    mu = np.mean(x, axis=-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=-1, keepdims=True)
    return xc / np.sqrt(var + eps) * params["scale"] + params["offset"]


def init_embedding(rng: np.random.Generator, vocab_size: int, dim: int, dtype: Any = np.float64) -> Params:
    """``{"table": (vocab_size, dim)}`` normal with standard deviation 1."""
    generator("init_embedding", "rng", rng)
    vocab_size, dim = count("init_embedding", "vocab_size", vocab_size), count("init_embedding", "dim", dim)
    dtype = float_dtype("init_embedding", dtype)
    return {"table": normal(rng, (vocab_size, dim), std=1.0, dtype=dtype)}


def embedding(params: Params, ids: Any) -> Any:
    """Rows of ``params["table"]`` for integer ``ids`` (any shape); repeated ids accumulate gradient."""
    table = params["table"]
    return table[indices("embedding", "ids", ids, np.shape(table)[0], what="row")]
