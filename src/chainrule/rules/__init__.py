"""The derivative rules, one module per family. Importing this package registers them all.

Each module imports :mod:`chainrule.extend` only (and sibling rule modules).
"""

from . import (
    casting,
    complex_values,
    construction,
    counting,
    cumulative,
    decompositions,
    differences,
    elementwise,
    fft,
    identity_like,
    indexing,
    joining,
    linalg,
    linalg_composites,
    nondiff,
    polynomials,
    products,
    pseudoinverse,
    qr,
    reductions,
    refusals,
    shape,
    statistics,
    updates,
)

try:  # SciPy is optional: its ufuncs get rules only where it is installed
    import scipy.special  # noqa: F401
except ImportError:  # pragma: no cover
    pass
else:
    from . import special  # noqa: F401

from . import batching, batching_signal

__all__ = [
    "batching",
    "batching_signal",
    "casting",
    "complex_values",
    "construction",
    "counting",
    "cumulative",
    "decompositions",
    "differences",
    "elementwise",
    "fft",
    "identity_like",
    "indexing",
    "joining",
    "linalg",
    "linalg_composites",
    "nondiff",
    "polynomials",
    "products",
    "pseudoinverse",
    "qr",
    "reductions",
    "refusals",
    "shape",
    "statistics",
    "updates",
]
