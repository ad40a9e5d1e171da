"""The differential operators: reverse mode, forward mode, Jacobians, Hessians and custom rules.

Each operator opens a trace of :mod:`chainrule.engine`, runs the user's
function once on traced arguments and reads the derivatives off the trace.
"""

from .custom import checkpoint, custom_jvp, custom_vjp, stop_gradient
from .elementwise import elementwise_grad
from .forward import jvp
from .jacobians import hessian, hvp, jacfwd, jacobian, jacrev
from .reverse import grad, value_and_grad, vjp
from .vectorizing import vmap

__all__ = [
    "checkpoint",
    "custom_jvp",
    "custom_vjp",
    "elementwise_grad",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "stop_gradient",
    "value_and_grad",
    "vjp",
    "vmap",
]
