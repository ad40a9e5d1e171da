"""Gradient checking: backpropagation against finite differences, and the wrong rule named.

:func:`check_grad` compares the derivatives chainrule computes with
:mod:`chainrule.numerical`, element by element ("full") or along random
directions ("fast"), and on failure raises :class:`GradientCheckError` with a
table of the worst elements and the first primitive whose rule disagrees.
:func:`check_grad` with ``grad=`` and :func:`check_vjp` check hand-written
gradients and backward passes the same way (finite differences only).
:func:`taylor_test` gives a step-free verdict from the convergence rate of
the Taylor remainder. :func:`check_rule` and :func:`check_derivatives` check
a derivative rule itself, for rule authors and chainrule's own tests;
:func:`check_rule_jit` checks that ``chainrule.jit`` stages it faithfully.
"""

from typing import TYPE_CHECKING, Any

from .errors import CheckCostError, GradientCheckError
from .gradcheck import check_grad
from .handwritten import check_given_grad
from .report import CheckReport, Culprit, Row
from .rules import BROADCAST_PAIRS, check_derivatives, check_rule
from .taylor import TaylorReport, taylor_test
from .vjpcheck import check_vjp

__all__ = [
    "BROADCAST_PAIRS",
    "CheckCostError",
    "CheckReport",
    "Culprit",
    "GradientCheckError",
    "Row",
    "TaylorReport",
    "check_derivatives",
    "check_given_grad",
    "check_grad",
    "check_rule",
    "check_rule_jit",
    "check_vjp",
    "taylor_test",
]

if TYPE_CHECKING:
    from .jit_rules import check_rule_jit


def __getattr__(name: str) -> Any:
    # check_rule_jit loads chainrule.jit (a tenth of a second): on first use, not with
    # ``import chainrule`` (PEP 562, as chainrule's own subpackages).
    if name == "check_rule_jit":
        import importlib

        value = importlib.import_module(f"{__name__}.jit_rules").check_rule_jit
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
