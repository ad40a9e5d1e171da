"""The derivative rules, one module per family. Importing this package registers them all."""

from ..core import bind_operators
from . import casting, elementwise, indexing, linalg, nondiff, reductions, shape

bind_operators()

__all__ = ["casting", "elementwise", "indexing", "linalg", "nondiff", "reductions", "shape"]
