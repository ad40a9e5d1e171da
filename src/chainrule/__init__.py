"""chainrule: derivatives of plain NumPy code by backpropagation, checked by finite differences.

Backpropagation is the chain rule applied to a function that is a composition:
one forward pass records it, one backward pass yields every partial
derivative. It is not an optimizer; optimizers consume its gradients.
"""

from typing import TYPE_CHECKING, Any

from . import (
    explain,  # the package, callable as explain(f, *args)
    extend,
    numerical,
)
from . import rules as _rules  # registers every derivative rule
from ._version import __version__
from .check import CheckReport, GradientCheckError, check_grad, taylor_test
from .check.vjpcheck import check_vjp
from .derivatives import (
    checkpoint,
    custom_jvp,
    custom_vjp,
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
    vmap,
)
from .engine import Primitive, Tracer, defjvp, defvjp, primal
from .errors import (
    ChainruleError,
    InPlaceError,
    LeakedTracerError,
    NonScalarOutputError,
    StagingError,
    TracerConversionError,
    UnsupportedOperationError,
)
from .explain import Explanation
from .jit import jit  # the function; its package stays importable as chainrule.jit.api etc.
from .pytree import tree_flatten, tree_leaves, tree_map, tree_unflatten
from .rules.updates import at

__all__ = [
    "ChainruleError",
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
    "defjvp",
    "defvjp",
    "explain",
    "extend",
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
    "stop_gradient",
    "taylor_test",
    "tree_flatten",
    "tree_leaves",
    "tree_map",
    "tree_unflatten",
    "value_and_grad",
    "vjp",
    "vmap",
]

del _rules

if TYPE_CHECKING:  # type checkers and editors see the subpackages; at run time they load on first use
    from . import nn, optim

# Subpackages imported on first attribute access (PEP 562), so ``import chainrule`` stays as fast
# as the engine alone while ``cr.optim.adam`` and ``cr.nn.Dense`` work without a separate import.
_LAZY_SUBPACKAGES = ("nn", "optim")


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBPACKAGES:
        import importlib

        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module  # later lookups find it directly, without __getattr__
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBPACKAGES))
