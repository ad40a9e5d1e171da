"""The derivative rules, one module per family. Importing this package registers them all."""

from ..core import bind_operators
from . import (
    casting,
    cumulative,
    elementwise,
    indexing,
    joining,
    linalg,
    nondiff,
    products,
    reductions,
    shape,
)

try:  # SciPy is optional: its ufuncs get rules only where it is installed
    import scipy.special  # noqa: F401
except ImportError:  # pragma: no cover
    pass
else:
    from . import special  # noqa: F401

bind_operators()

__all__ = [
    "casting",
    "cumulative",
    "elementwise",
    "indexing",
    "joining",
    "linalg",
    "nondiff",
    "products",
    "reductions",
    "shape",
]
