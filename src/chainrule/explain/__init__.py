"""``chainrule.explain``: backpropagation shown as what it is, the chain rule node by node.

:func:`explain` records one call of a function and replays its backward pass
step by step. The :class:`Explanation` it returns shows the recorded graph,
forward values and backward steps as text tables (``.table()``), Graphviz DOT
(``.to_dot()``), a standalone SVG laid out without external programs
(``.to_svg()``), and one self-contained HTML page that steps through the
backward pass (``.to_html(path)``, also shown by Jupyter). For scalar inputs
it also writes each derivative as the sum over paths of products of local
partial derivatives.

Examples
--------
>>> import numpy as np
>>> from chainrule.explain import explain
>>> e = explain(lambda x, y: np.sin(x * y) + x, 1.0, 2.0, argnums=(0, 1))
>>> print("\\n".join(e.path_sums()[0].lines({n.id: e.name(n.id) for n in e.nodes})))
d out / d x = sum over 2 path(s) of the product of local partials:
  path 1: x -> v4 add: (1) = 1
  path 2: x -> v2 multiply -> v3 sin -> v4 add: (2) * (-0.416147) * (1) = -0.832294
  d out / d x = (1) + (-0.832294) = 0.167706
"""

from .explanation import Explanation, explain
from .expression import ExpressionError, compile_expression, evaluate

__all__ = ["Explanation", "ExpressionError", "compile_expression", "evaluate", "explain"]
