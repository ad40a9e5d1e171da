"""Parameter initializers. Each takes an explicit NumPy ``Generator``: no global random state.

>>> w = glorot_uniform(np.random.default_rng(0), (3, 2))
>>> w.shape, w.dtype
((3, 2), dtype('float64'))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .validation import float_dtype, generator, real

__all__ = ["glorot_uniform", "he_normal", "normal", "zeros"]


def _shape(where: str, shape: Any) -> tuple[int, ...]:
    try:
        out = tuple(shape)
    except TypeError:
        raise TypeError(f"{where}: shape must be a tuple of ints such as (3, 2), not {shape!r}") from None
    if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 0 for n in out):
        raise ValueError(f"{where}: shape {shape!r} must hold whole numbers >= 0")
    return tuple(int(n) for n in out)


def _start(where: str, rng: Any, shape: Any, dtype: Any) -> tuple[tuple[int, ...], np.dtype[Any]]:
    generator(where, "rng", rng)
    return _shape(where, shape), float_dtype(where, dtype)


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)``: dense ``(in, out)``; conv ``(out, in, kh, kw)``."""
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:
        receptive = shape[2] * shape[3]
        return shape[1] * receptive, shape[0] * receptive
    n = int(np.prod(shape))
    return n, n


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Uniform on ``[-a, a]`` with ``a = sqrt(6 / (fan_in + fan_out))`` (Glorot and Bengio, 2010)."""
    shape, dtype = _start("glorot_uniform", rng, shape, dtype)
    fan_in, fan_out = _fans(shape)
    a = math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return rng.uniform(-a, a, size=shape).astype(dtype)


def he_normal(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Normal with standard deviation ``sqrt(2 / fan_in)``, suited to ReLU networks (He et al., 2015)."""
    shape, dtype = _start("he_normal", rng, shape, dtype)
    fan_in, _ = _fans(shape)
    return (rng.standard_normal(shape) * math.sqrt(2.0 / max(fan_in, 1))).astype(dtype)


def normal(
    rng: np.random.Generator, shape: tuple[int, ...], std: float = 0.01, dtype: Any = np.float64
) -> np.ndarray:
    """Normal with standard deviation ``std``."""
    shape, dtype = _start("normal", rng, shape, dtype)
    std = real("normal", "std", std, 0.0)
    return (rng.standard_normal(shape) * std).astype(dtype)


def zeros(shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Zeros (biases, offsets)."""
    shape, dtype = _shape("zeros", shape), float_dtype("zeros", dtype)
    return np.zeros(shape, dtype=dtype)
