"""``chainrule.explain``: backpropagation shown as what it is, the chain rule node by node.

:func:`explain` records one call of a function and replays its backward pass
step by step. The :class:`Explanation` it returns shows the recorded graph,
forward values and backward steps as text tables (``.table()``, or
``.print()`` to a terminal at its own width and colours), Graphviz DOT
(``.to_dot()``), a standalone SVG drawn with a layered (Sugiyama) layout
(``.to_svg()``; Graphviz's ``dot`` places the boxes when it is installed),
and one self-contained HTML widget that steps through the backward pass
(``.to_html(path)``, also shown by Jupyter). Each local partial derivative is
written as a formula and a number (see :mod:`chainrule.explain.formulas`);
for scalar inputs each derivative is also written as the sum over paths of
products of local partials.

This package is callable: ``chainrule.explain(f, *args)`` is
:func:`chainrule.explain.explain`. The package and the function share one
name (``cr.explain``), so rather than let the function shadow the module
(which made ``import chainrule.explain as m`` return the function), the
module object's class is a :class:`types.ModuleType` subclass whose
``__call__`` forwards to :func:`explain`. ``import chainrule.explain as m``
gives the module, ``cr.explain(f, x)`` keeps working.

Examples
--------
>>> import numpy as np
>>> import chainrule as cr
>>> e = cr.explain(lambda x, y: np.sin(x * y) + x, 1.0, 2.0, argnums=(0, 1))
>>> print("\\n".join(e.path_sums()[0].lines({n.id: e.name(n.id) for n in e.nodes})))
d out / d x = sum over 2 path(s) of the product of local partials:
  path 1: x -> v4 add: (1) = 1
  path 2: x -> v2 multiply -> v3 sin -> v4 add: (2) * (-0.416147) * (1) = -0.832294
  d out / d x = (1) + (-0.832294) = 0.167706
>>> import chainrule.explain as m
>>> type(m).__name__, m.explain is explain
('CallableModule', True)
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .explanation import Explanation, explain
from .expression import ExpressionError, compile_expression, evaluate

__all__ = ["Explanation", "ExpressionError", "compile_expression", "evaluate", "explain"]


class CallableModule(types.ModuleType):
    """The ``chainrule.explain`` package, callable as :func:`explain`."""

    def __call__(self, f: Any, *args: Any, **kwargs: Any) -> Explanation:
        return explain(f, *args, **kwargs)


sys.modules[__name__].__class__ = CallableModule
