"""The derivative rules, one module per family. Importing this package registers them all.

Each module imports :mod:`chainrule.extend` only (and sibling rule modules).
The rules of SciPy's ufuncs (:mod:`chainrule.rules.special`) are registered
when ``scipy.special`` is imported, before that import returns (at once if it
already was): ``import chainrule`` does not import SciPy, and no SciPy ufunc is
ever reachable without its rule (see :mod:`chainrule.rules.import_hooks`).
"""

import importlib
import types

from . import (
    batching,
    batching_signal,
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
from .import_hooks import after_import


def _register_scipy_rules(module: types.ModuleType) -> None:
    # By name, not `from . import special`: that module imports SciPy, which is the cost deferred.
    importlib.import_module(f"{__name__}.special")


after_import("scipy.special", _register_scipy_rules)

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
    "import_hooks",
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
