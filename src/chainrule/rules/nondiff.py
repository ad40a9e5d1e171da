"""NumPy functions whose results carry no derivative: they run on the plain values.

These return integers, booleans, shapes, or piecewise-constant values (whose
derivative is zero almost everywhere), so evaluating them on the plain value
is exact, not an approximation. ``zeros_like`` and friends return constants.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Tracer, primal
from ..dispatch import register_function


def _unwrap(x: Any) -> Any:
    if type(x) is Tracer:
        return primal(x)
    if isinstance(x, list | tuple) and any(type(v) is Tracer for v in x):
        return type(x)(primal(v) for v in x)
    return x


def _on_values(func: Any) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        return func(*map(_unwrap, args), **{k: _unwrap(v) for k, v in kwargs.items()})

    run.__name__ = getattr(func, "__name__", "nondiff")
    run.nondiff = True  # type: ignore[attr-defined]  # read by scripts/coverage_manifest.py
    return run


NONDIFF_FUNCTIONS = [
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.argmax, np.argmin, np.argsort, np.argpartition, np.nonzero, np.flatnonzero, np.argwhere,
    np.searchsorted, np.digitize, np.count_nonzero, np.all, np.any,
    np.isclose, np.allclose, np.array_equal, np.array_equiv, np.isreal, np.iscomplex,
    np.round, np.around, np.fix, np.unique, np.histogram, np.bincount, np.lexsort,
    np.zeros_like, np.ones_like, np.empty_like, np.full_like,
    np.isneginf, np.isposinf, np.may_share_memory, np.shares_memory,
]  # fmt: skip

for _func in NONDIFF_FUNCTIONS:
    register_function(_func, _on_values(_func))
