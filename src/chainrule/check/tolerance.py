"""Default tolerances by dtype, and the per-element tolerance a check applies.

An element passes when ``|backprop - numerical| <= atol + rtol * |numerical|
+ SAFETY * error``, where ``error`` is the finite-difference error estimate of
that element (truncation from a second step, plus rounding): the tolerance
follows from what the referee can resolve, not from one fixed number. The
default ``atol`` is relative to the gradient's scale (its largest element in
"full" mode, its norm for directional probes), so that a check does not
depend on the units of the loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SAFETY", "default_tolerances", "lowest_precision"]

SAFETY = 3.0

# (rtol, atol as a fraction of the gradient's scale)
_DEFAULTS = {
    8: (1e-6, 1e-8),  # float64 and wider
    4: (1e-3, 1e-4),  # float32: backprop itself rounds at ~1e-7 relative per operation
    2: (2e-2, 1e-2),  # float16
}


def lowest_precision(dtypes: list[Any]) -> np.dtype:
    """The least precise of the input dtypes (float64 if none)."""
    if not dtypes:
        return np.dtype(np.float64)
    return max((np.dtype(d) for d in dtypes), key=lambda d: np.finfo(d).eps)


def default_tolerances(dtype: Any) -> tuple[float, float]:
    """(rtol, atol fraction) for inputs of ``dtype``."""
    size = np.dtype(dtype).itemsize
    for bytes_, tol in sorted(_DEFAULTS.items()):
        if size <= bytes_:
            return tol
    return _DEFAULTS[8]
