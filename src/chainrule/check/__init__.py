"""Gradient checking: backpropagation against finite differences, and the wrong rule named.

:func:`check_grad` compares the derivatives chainrule computes with
:mod:`chainrule.numerical`, element by element ("full") or along random
directions ("fast"), and on failure raises :class:`GradientCheckError` with a
table of the worst elements and the first primitive whose rule disagrees.
:func:`check_grad` with ``grad=`` and :func:`check_vjp` check hand-written
gradients and backward passes the same way (finite differences only).
:func:`taylor_test` gives a step-free verdict from the convergence rate of
the Taylor remainder.
"""

from .errors import CheckCostError, GradientCheckError
from .gradcheck import check_grad
from .handwritten import check_given_grad
from .report import CheckReport, Culprit, Row
from .taylor import TaylorReport, taylor_test
from .vjpcheck import check_vjp

__all__ = [
    "CheckCostError",
    "CheckReport",
    "Culprit",
    "GradientCheckError",
    "Row",
    "TaylorReport",
    "check_given_grad",
    "check_grad",
    "check_vjp",
    "taylor_test",
]
