"""chainrule: derivatives of plain NumPy code by backpropagation, checked by finite differences.

Backpropagation is the chain rule applied to a function that is a composition:
one forward pass records it, one backward pass yields every partial
derivative. It is not an optimizer; optimizers consume its gradients.
"""

from typing import TYPE_CHECKING, Any

from . import extend, numerical
from . import rules as _rules  # registers every derivative rule
from ._version import __version__
from .check import CheckReport, GradientCheckError, check_grad, taylor_test
from .check.vjpcheck import check_vjp
from .derivatives import (
    checkpoint,
    custom_jvp,
    custom_vjp,
    elementwise_grad,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    stop_gradient,
    value_and_grad,
    vjp,
)
from .engine import Primitive, Tracer, defcomplex, defjvp, defvjp, primal
from .errors import (
    ChainruleError,
    ComplexValueError,
    InPlaceError,
    LeakedTracerError,
    NonScalarOutputError,
    StagingError,
    TracerConversionError,
    UnsupportedOperationError,
)
from .pytree import register_pytree_node, tree_flatten, tree_leaves, tree_map, tree_unflatten
from .ravel import flatten, ravel_pytree
from .rules.updates import at

__all__ = [
    "ChainruleError",
    "ComplexValueError",
    "Explanation",
    "CheckReport",
    "GradientCheckError",
    "InPlaceError",
    "LeakedTracerError",
    "NonScalarOutputError",
    "Primitive",
    "StagingError",
    "Tracer",
    "TracerConversionError",
    "UnsupportedOperationError",
    "__version__",
    "check_grad",
    "jit",
    "check_vjp",
    "at",
    "checkpoint",
    "custom_jvp",
    "custom_vjp",
    "defcomplex",
    "defjvp",
    "defvjp",
    "elementwise_grad",
    "explain",
    "extend",
    "flatten",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "nn",
    "numerical",
    "optim",
    "primal",
    "ravel_pytree",
    "register_pytree_node",
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

if TYPE_CHECKING:
    # Type checkers and editors see what run time loads on first use (below). They see cr.explain
    # and cr.jit as the functions they are called as (a type checker cannot call a module); at run
    # time those are the packages, callable as the functions, so that ``import chainrule.jit as m``
    # gives the module (see chainrule.explain's docstring).
    from . import nn, optim
    from .explain import Explanation
    from .explain.explanation import explain
    from .jit.api import jit

# Subpackages imported on first attribute access (PEP 562), so ``import chainrule`` stays as fast
# as the engine alone while ``cr.optim.adam``, ``cr.nn.Dense``, ``cr.explain(f, x)`` and ``cr.jit(f)``
# work without a separate import.
_LAZY_SUBPACKAGES = ("explain", "jit", "nn", "optim")
_LAZY_ATTRIBUTES = {"Explanation": "explain"}  # name -> the subpackage defining it


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBPACKAGES:
        import importlib

        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module  # later lookups find it directly, without __getattr__
        return module
    if name in _LAZY_ATTRIBUTES:
        value = getattr(__getattr__(_LAZY_ATTRIBUTES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBPACKAGES) | set(_LAZY_ATTRIBUTES))
