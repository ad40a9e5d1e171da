"""Small helpers shared by the product and ``numpy.linalg`` rules."""

from __future__ import annotations

from typing import Any

import numpy as np


def matrix_transpose(x: Any) -> Any:
    """Swap the last two axes (a view for arrays; a recorded transpose for tracers)."""
    if type(x) is np.ndarray:
        return x.swapaxes(-1, -2)
    nd = np.ndim(x)
    return np.transpose(x, (*range(nd - 2), nd - 1, nd - 2))


def expand2(x: Any) -> Any:
    """``x[..., None, None]``."""
    return np.reshape(x, (*np.shape(x), 1, 1))
