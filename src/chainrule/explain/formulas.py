"""Formula templates for local partial derivatives, keyed by primitive name.

An explanation shows each local partial both as a formula and as a number::

    d sin(v2)/d v2 = cos(v2) = cos(2) = -0.416147

:data:`FORMULAS` maps a primitive's name (``Primitive.name``, e.g.
``"numpy.sin"``) to ``{argnum: template}``. In a template ``{0}``, ``{1}``
stand for the operands and ``{out}`` for the result. Elementwise templates
give the local partial ``d out / d operand``; templates of array operations
(matmul, sum, mean, ...) contain ``g`` (the incoming cotangent) and give the
contribution sent to the operand. :data:`EXPRESSIONS` writes the operation
itself (``{0} * {1}``); operations without one are written ``name(...)``.
Primitives without a template show the number only. The table lives here so
that it can later move onto the primitives' rules unchanged.

Examples
--------
>>> p = local_partial("numpy.sin", 0, ["v2"], "v3", [2.0])
>>> p.text(np.cos(2.0))
'd sin(v2)/d v2 = cos(v2) = cos(2) = -0.416147'
>>> local_partial("numpy.multiply", 1, ["x", "y"], "v3", [1.0, -2.0]).text(1.0)
'd (x * y)/d y = x = 1'
>>> local_partial("numpy.matmul", 0, ["x", "w"], "v3").formula
'g @ w^T'
>>> local_partial("numpy.fft.fft", 0, ["x"], "v1") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EXPRESSIONS", "FORMULAS", "LocalPartial", "expression_of", "local_partial", "template"]

_UNARY = {
    "sin": "cos({0})",
    "cos": "-sin({0})",
    "tan": "1 + tan({0})^2",
    "arcsin": "1/sqrt(1 - {0}^2)",
    "arccos": "-1/sqrt(1 - {0}^2)",
    "arctan": "1/(1 + {0}^2)",
    "sinh": "cosh({0})",
    "cosh": "sinh({0})",
    "tanh": "1 - {out}^2",
    "arcsinh": "1/sqrt({0}^2 + 1)",
    "arccosh": "1/sqrt({0}^2 - 1)",
    "arctanh": "1/(1 - {0}^2)",
    "exp": "exp({0})",
    "exp2": "log(2) * 2^{0}",
    "expm1": "exp({0})",
    "log": "1/{0}",
    "log2": "1/({0} * log(2))",
    "log10": "1/({0} * log(10))",
    "log1p": "1/(1 + {0})",
    "sqrt": "1/(2 sqrt({0}))",
    "cbrt": "1/(3 cbrt({0})^2)",
    "square": "2 {0}",
    "reciprocal": "-1/{0}^2",
    "negative": "-1",
    "positive": "1",
    "absolute": "sign({0})",
    "fabs": "sign({0})",
}

FORMULAS: dict[str, dict[int, str]] = {
    **{f"numpy.{k}": {0: v} for k, v in _UNARY.items()},
    "numpy.add": {0: "1", 1: "1"},
    "numpy.subtract": {0: "1", 1: "-1"},
    "numpy.multiply": {0: "{1}", 1: "{0}"},
    "numpy.divide": {0: "1/{1}", 1: "-{0}/{1}^2"},
    "numpy.power": {0: "{1} {0}^({1} - 1)", 1: "log({0}) {0}^{1}"},
    "numpy.arctan2": {0: "{1}/({0}^2 + {1}^2)", 1: "-{0}/({0}^2 + {1}^2)"},
    "numpy.hypot": {0: "{0}/{out}", 1: "{1}/{out}"},
    "numpy.logaddexp": {0: "exp({0} - {out})", 1: "exp({1} - {out})"},
    "numpy.matmul": {0: "g @ {1}^T", 1: "{0}^T @ g"},
    "numpy.sum": {0: "g broadcast to the shape of {0}"},
    "numpy.mean": {0: "g / n, broadcast to the shape of {0}"},
    "numpy.reshape": {0: "g reshaped to the shape of {0}"},
    "numpy.transpose": {0: "g transposed back"},
    "numpy.broadcast_to": {0: "g summed over the broadcast axes"},
    "getitem": {0: "g scattered into zeros shaped like {0}"},
    "scipy.special.expit": {0: "{out} (1 - {out})"},
    "scipy.special.erf": {0: "2/sqrt(pi) exp(-{0}^2)"},
    "scipy.special.log1p": {0: "1/(1 + {0})"},
}

EXPRESSIONS: dict[str, str] = {
    "numpy.add": "{0} + {1}",
    "numpy.subtract": "{0} - {1}",
    "numpy.multiply": "{0} * {1}",
    "numpy.divide": "{0} / {1}",
    "numpy.power": "{0}^{1}",
    "numpy.matmul": "{0} @ {1}",
    "numpy.negative": "-{0}",
    "numpy.square": "{0}^2",
}


def template(primitive: str, argnum: int) -> str | None:
    """The formula template of ``d primitive / d operand argnum``, or ``None``."""
    return FORMULAS.get(primitive, {}).get(argnum)


def expression_of(primitive: str, operands: Sequence[str]) -> str:
    """The operation written with its operands: ``v1 * v2``, ``sin(v2)``."""
    form = EXPRESSIONS.get(primitive)
    if form is not None and all("{" + str(k) + "}" not in form for k in range(len(operands), 3)):
        text = _fill(form, operands, "")
        return f"({text})" if " " in text else text
    short = primitive.rsplit(".", 1)[-1]
    return f"{short}({', '.join(operands)})"


def _number(value: Any) -> str | None:
    """A scalar value as text for a formula (negative numbers in parentheses), else None."""
    if value is None or np.size(value) != 1:
        return None
    try:
        x = complex(np.asarray(value).reshape(()))
    except (TypeError, ValueError):
        return None
    if x.imag != 0:
        return None
    text = f"{x.real:.6g}"
    return f"({text})" if text.startswith("-") else text


def _fill(form: str, operands: Sequence[str], out: str) -> str:
    text = form.replace("{out}", out)
    for k, name in enumerate(operands):
        text = text.replace("{" + str(k) + "}", name)
    return text


@dataclass
class LocalPartial:
    """One local partial written out: ``d <expression>/d <operand> = <formula> = <numbers>``.

    ``numbers`` is the formula with scalar values substituted (``None`` when an
    operand is an array or the template uses the cotangent ``g``).
    """

    expression: str
    operand: str
    formula: str
    numbers: str | None
    is_vjp: bool

    def text(self, value: Any = None) -> str:
        """The formula, the numbers substituted, and ``value`` (the computed partial) if given."""
        if self.is_vjp:
            return f"contribution to {self.operand} = {self.formula}"
        parts = [f"d {self.expression}/d {self.operand}", self.formula]
        if self.numbers is not None and self.numbers != self.formula:
            parts.append(self.numbers)
        number = _number(value)
        if number is not None and number.strip("()") != parts[-1]:
            parts.append(number.strip("()") if number.startswith("(") else number)
        return " = ".join(parts)


def local_partial(
    primitive: str,
    argnum: int,
    operands: Sequence[str],
    out: str,
    values: Sequence[Any] | None = None,
    out_value: Any = None,
) -> LocalPartial | None:
    """The formula of ``d out / d operands[argnum]`` from :data:`FORMULAS`, or ``None``.

    ``operands`` are the names shown for the operation's positional
    operands, ``values`` their values (for the numeric form, scalars only).
    """
    form = template(primitive, argnum)
    if form is None or argnum >= len(operands):
        return None
    is_vjp = re.search(r"\bg\b", form) is not None
    formula = _fill(form, operands, out)
    numbers = None
    if not is_vjp and values is not None:
        nums = [_number(v) for v in values]
        used = [k for k in range(len(operands)) if "{" + str(k) + "}" in form]
        out_num = _number(out_value) if "{out}" in form else ""
        if all(k < len(nums) and nums[k] is not None for k in used) and out_num is not None:
            numbers = _fill(form, [n or "" for n in nums], out_num)
    return LocalPartial(expression_of(primitive, operands), operands[argnum], formula, numbers, is_vjp)
