"""Casting between floating dtypes (the engine's ``astype`` primitive), and the identity-like ``np.copy``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import CAST, astype, deflinear, register_function


# Linear: the cotangent is cast back to the input's dtype (a real input's cotangent is the
# real part of a complex one: the transpose of embedding the reals in the complex numbers).
def _cast_back(x: Any) -> Any:
    dtype = x.dtype
    if np.iscomplexobj(x):
        return lambda g: astype(g, dtype)
    return lambda g: astype(np.real(g), dtype)


deflinear(CAST, lambda ans, x, dtype: _cast_back(x))


def _copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    return a  # traced values are immutable: a copy is the same value


register_function(np.copy, _copy)
