"""chainrule: derivatives of plain NumPy code by backpropagation, checked by finite differences.

Backpropagation is the chain rule applied to a function that is a composition:
one forward pass records it, one backward pass yields every partial
derivative. It is not an optimizer; optimizers consume its gradients.
"""

from . import numerical
from . import rules as _rules  # registers every derivative rule
from .at import at
from .check import CheckReport, GradientCheckError, check_grad, taylor_test
from .check.vjpcheck import check_vjp
from .core import Primitive, Tracer, defjvp, defvjp, primal
from .custom import checkpoint, custom_jvp, custom_vjp, stop_gradient
from .errors import (
    ChainruleError,
    InPlaceError,
    LeakedTracerError,
    NonScalarOutputError,
    TracerConversionError,
    UnsupportedOperationError,
)
from .explain import Explanation, explain
from .jacobians import hessian, hvp, jacfwd, jacobian, jacrev
from .pytree import tree_flatten, tree_leaves, tree_map, tree_unflatten
from .transforms import grad, jvp, value_and_grad, vjp

__version__ = "0.1.0"

__all__ = [
    "ChainruleError",
    "Explanation",
    "CheckReport",
    "GradientCheckError",
    "InPlaceError",
    "LeakedTracerError",
    "NonScalarOutputError",
    "Primitive",
    "Tracer",
    "TracerConversionError",
    "UnsupportedOperationError",
    "__version__",
    "check_grad",
    "check_vjp",
    "at",
    "checkpoint",
    "custom_jvp",
    "custom_vjp",
    "defjvp",
    "defvjp",
    "explain",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "numerical",
    "primal",
    "stop_gradient",
    "taylor_test",
    "tree_flatten",
    "tree_leaves",
    "tree_map",
    "tree_unflatten",
    "value_and_grad",
    "vjp",
]

del _rules
