"""Parameter initializers. Each takes an explicit NumPy ``Generator``: no global random state.

>>> w = glorot_uniform(np.random.default_rng(0), (3, 2))
>>> w.shape, w.dtype
((3, 2), dtype('float64'))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["glorot_uniform", "he_normal", "normal", "zeros"]


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
    fan_in, fan_out = _fans(tuple(shape))
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape).astype(dtype)


def he_normal(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Normal with standard deviation ``sqrt(2 / fan_in)``, suited to ReLU networks (He et al., 2015)."""
    fan_in, _ = _fans(tuple(shape))
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


def normal(
    rng: np.random.Generator, shape: tuple[int, ...], std: float = 0.01, dtype: Any = np.float64
) -> np.ndarray:
    """Normal with standard deviation ``std``."""
    return (rng.standard_normal(shape) * std).astype(dtype)


def zeros(shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Zeros (biases, offsets)."""
    return np.zeros(shape, dtype=dtype)
