"""Rules for whole families at once: elementwise functions given their local derivatives.

For an elementwise function, the chain rule needs only the local partial
derivative ``d_i`` of the output with respect to input ``i``: the reverse rule
is ``g * d_i`` and the forward rule ``t * d_i``. :func:`defelementwise` writes
both from ``d_i``, so a new ufunc's rules are one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..engine import Primitive, defjvp, defvjp, parameter_names
from .masking import masked_product, times_fresh

__all__ = ["defelementwise"]

Derivative = Callable[..., Any]


def defelementwise(
    fun: Any,
    *derivatives: Derivative | None,
    masked: bool = False,
    fresh: bool = False,
    argnums: Iterable[int] | None = None,
) -> Primitive:
    """Rules of an elementwise function from its local partial derivatives, one per argument.

    Each derivative is a function of the inputs (``lambda x: np.cos(x)``), or,
    when its first parameter is named ``ans``, of the output and then the
    inputs (``lambda ans: 1.0 - ans * ans`` keeps only the output alive, not
    the input; ``lambda ans, x: ...`` both). ``None`` declares a zero
    derivative. Broadcasting is undone by the engine.

    ``masked``: the derivative can be infinite or NaN where the function is
    not differentiable (``sqrt`` at 0); a zero cotangent then still gives an
    exact zero (see :func:`masked_product`). ``fresh``: the derivative returns
    a new array the rule may overwrite (saves an allocation on large arrays).

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule.extend import Primitive, defelementwise
    >>> softsign = Primitive("softsign", lambda x: x / (1.0 + np.abs(x)))
    >>> _ = defelementwise(softsign, lambda x: 1.0 / (1.0 + np.abs(x)) ** 2)
    >>> cr.grad(lambda x: np.sum(softsign(x)))(np.array([0.0, 1.0]))
    array([1.  , 0.25])
    """
    makers: list[Callable[..., Any] | None] = []  # None: no derivative in that argument
    tangents: list[Callable[..., Any] | None] = []
    for d in derivatives:
        if d is None:
            makers.append(None)
            tangents.append(None)
            continue
        makers.append(_vjp_maker(d, masked, fresh))
        tangents.append(_jvp_rule(d))
    prim = defvjp(fun, *makers, argnums=argnums)
    defjvp(prim, *tangents, argnums=argnums)
    prim.fresh_cotangents = True  # each cotangent is a product this module computes
    return prim


def _uses_output(d: Derivative) -> tuple[bool, bool]:
    """Whether ``d`` takes the output (first parameter ``ans``), and whether it takes the inputs too."""
    names = parameter_names(d)
    with_ans = bool(names) and names[0] == "ans"
    return with_ans, not with_ans or len(names) > 1


def _vjp_maker(d: Derivative, masked: bool, fresh: bool) -> Callable[..., Any]:
    with_ans, with_inputs = _uses_output(d)
    # Each inner function refers only to what the derivative needs, so the
    # closure keeps only that alive until the backward pass. The plain product
    # is written inline: one Python call less per operation.
    if masked or fresh:
        times = masked_product if masked else times_fresh
        if with_ans and not with_inputs:
            return lambda ans, *args: lambda g: times(g, d(ans))
        if with_ans:
            return lambda ans, *args: lambda g: times(g, d(ans, *args))
        return lambda ans, *args: lambda g: times(g, d(*args))
    if with_ans and not with_inputs:
        return lambda ans, *args: lambda g: g * d(ans)
    if with_ans:
        return lambda ans, *args: lambda g: g * d(ans, *args)
    return lambda ans, *args: lambda g: g * d(*args)


def _jvp_rule(d: Derivative) -> Callable[..., Any]:
    with_ans, with_inputs = _uses_output(d)
    if with_ans and not with_inputs:
        return lambda t, ans, *args: t * d(ans)
    if with_ans:
        return lambda t, ans, *args: t * d(ans, *args)
    return lambda t, ans, *args: t * d(*args)
