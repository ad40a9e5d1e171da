"""Numerical differentiation: finite differences done properly, the referee of backprop.

This package knows nothing of the tracing engine; it calls the function on
perturbed copies of plain NumPy inputs. Every operator costs O(N) function
evaluations for N differentiated input elements (the Hessian O(N**2)):
each element is perturbed separately. That is the price of needing no
derivative rules, and why it serves to *check* backpropagation.

Methods (``method=``):

==============  =====  ================  ===============================
method          order  points per input  default step
==============  =====  ================  ===============================
``forward``     1      1                 ``eps**(1/2) * max(1, |x|)``
``backward``    1      1                 ``eps**(1/2) * max(1, |x|)``
``central``     2      2                 ``eps**(1/3) * max(1, |x|)``
``central4``    4      4                 ``eps**(1/5) * max(1, |x|)``
``central6``    6      6                 ``eps**(1/7) * max(1, |x|)``
``complex``     exact  1 (complex)       ``1e-20 * max(1, |x|)``
``richardson``  8      8                 ``eps**(1/7) * max(1, |x|)``
==============  =====  ================  ===============================

``return_estimate=True`` returns :class:`Estimate` ``(value, error,
evaluations, step)``.

Examples
--------
>>> import numpy as np
>>> from chainrule import numerical
>>> numerical.grad(lambda x: np.sum(np.exp(x)), np.zeros(2), method="complex")
array([1., 1.])
"""

from .api import derivative, directional, grad, hessian, jacobian
from .estimate import Estimate
from .evaluate import NonFiniteError
from .stencils import METHODS
from .steps import StepUnderflowWarning, default_step

__all__ = [
    "METHODS",
    "Estimate",
    "NonFiniteError",
    "StepUnderflowWarning",
    "default_step",
    "derivative",
    "directional",
    "grad",
    "hessian",
    "jacobian",
]
