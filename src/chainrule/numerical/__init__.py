"""Numerical differentiation: finite differences done properly, the referee of backprop.

This package knows nothing of the tracing engine; it calls the function on
perturbed copies of plain NumPy inputs. Every operator costs O(N) function
evaluations for N differentiated input elements (the Hessian O(N**2)):
each element is perturbed separately. That is the price of needing no
derivative rules, and why it serves to *check* backpropagation.

Methods (``method=``); ``n`` is the derivative order (:func:`derivative`
and :func:`directional` take ``n=1..8``), ``s = |x|`` (1 where ``x = 0``):

==============  ==========  ======================  ===============================
method          accuracy    points per input        default step
==============  ==========  ======================  ===============================
``forward``     1           ``n + 1`` (one-sided)   ``eps**(1/(n+1)) * s``
``backward``    1           ``n + 1`` (one-sided)   ``eps**(1/(n+1)) * s``
``central``     2           2 for n = 1             ``eps**(1/(n+2)) * s``
``central4``    4           4 for n = 1             ``eps**(1/(n+4)) * s``
``central6``    6           6 for n = 1             ``eps**(1/(n+6)) * s``
``complex``     exact       1 complex + 4 real      ``1e-20 * s``
``richardson``  8           8 for n = 1             ``eps**(1/(n+6)) * s``
``adaptive``    best found  about 28 for n = 1      a sequence spanning both scales
==============  ==========  ======================  ===============================

Weights for any order and stencil come from Fornberg's algorithm
(:func:`fornberg_weights`). Symmetric stencils switch to one side near the
edge of a function's domain. ``return_estimate=True`` returns
:class:`Estimate` ``(value, error, evaluations, step)`` with a ``status``;
the error estimates include truncation and rounding and bound the true
error on smooth functions.

Examples
--------
>>> import numpy as np
>>> from chainrule import numerical
>>> numerical.grad(lambda x: np.sum(np.exp(x)), np.zeros(2), method="complex")
array([1., 1.])
"""

from .api import derivative, directional, grad, hessian, jacobian
from .estimate import STATUS, Estimate
from .evaluate import NonFiniteError
from .executors import EvaluationError
from .fornberg import fornberg_weights
from .stencils import METHODS, make_stencil
from .steps import StepUnderflowWarning, default_step

__all__ = [
    "METHODS",
    "Estimate",
    "EvaluationError",
    "NonFiniteError",
    "STATUS",
    "StepUnderflowWarning",
    "default_step",
    "derivative",
    "directional",
    "fornberg_weights",
    "grad",
    "hessian",
    "jacobian",
    "make_stencil",
]
