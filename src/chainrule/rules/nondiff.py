"""NumPy functions whose results carry no derivative: they run on the plain values.

These return integers, booleans, shapes, or piecewise-constant values (whose
derivative is zero almost everywhere), so evaluating them on the plain value
is exact, not an approximation. ``zeros_like`` and friends return constants.

A function belongs here only if its output is piecewise constant in every
float argument; ``tests/test_nondiff_audit.py`` checks each one by finite
differences at random points. Functions that once were here and are not
piecewise constant have rules elsewhere: ``unique`` (its values are a gather),
``bincount`` (linear in ``weights``), ``histogram`` (linear in ``weights``; its
edges follow the data), ``full_like`` (the fill value) and ``heaviside``
(equal to ``x2`` where ``x1 == 0``).
"""

from __future__ import annotations

import numpy as np

from ..extend import defnondiff

NONDIFF_FUNCTIONS = [
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.argmax, np.argmin, np.nanargmax, np.nanargmin, np.isin,
    np.argsort, np.argpartition, np.nonzero, np.flatnonzero, np.argwhere,
    np.searchsorted, np.digitize, np.count_nonzero, np.all, np.any,
    np.isclose, np.allclose, np.array_equal, np.array_equiv, np.isreal, np.iscomplex,
    np.round, np.around, np.fix, np.lexsort,
    np.zeros_like, np.ones_like, np.empty_like,
    np.isneginf, np.isposinf, np.may_share_memory, np.shares_memory,
]  # fmt: skip

defnondiff(*NONDIFF_FUNCTIONS)
