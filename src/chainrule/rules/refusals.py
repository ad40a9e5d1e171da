"""NumPy functions that call Python code on plain slices: refused with the alternative.

``apply_along_axis`` and ``apply_over_axes`` dispatch to chainrule (so the
refusal can name them), but they build their result by writing each slice's
result into a preallocated NumPy array, which cannot carry a derivative.
``np.vectorize`` and SciPy's Python functions do not dispatch; their
conversion error names them (see :mod:`chainrule.engine.conversion`).
``np.float64(x)`` converts in C and cannot be told apart from ``np.asarray``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import UnsupportedOperationError, register_function

__all__: list[str] = []


def _refuse(name: str, alternative: str) -> Any:
    def handler(*args: Any, **kwargs: Any) -> Any:
        raise UnsupportedOperationError(
            f"{name} writes each slice's result into a plain NumPy array, which would drop the "
            f"derivative, so chainrule refuses it. {alternative}"
        )

    handler.__name__ = name.rsplit(".", 1)[-1]
    handler.refused = True  # type: ignore[attr-defined]  # read by scripts/coverage_manifest.py
    return handler


register_function(
    np.apply_along_axis,
    _refuse(
        "numpy.apply_along_axis",
        "Call the function on the whole array with axis=... (most NumPy functions take it), or "
        "loop over the slices and np.stack the results along the axis.",
    ),
)
register_function(
    np.apply_over_axes,
    _refuse(
        "numpy.apply_over_axes",
        "Call the function with axis=..., keepdims=True, one axis after another.",
    ),
)
