"""``elementwise_grad``: HIPS autograd's derivative of a function applied element by element."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..pytree import tree_map
from .arguments import function_name, normalize_argnums, resolve_argnum
from .reverse import vjp

__all__ = ["elementwise_grad"]


def elementwise_grad(
    f: Callable[..., Any], argnums: int = 0, *, argnum: int | None = None
) -> Callable[..., Any]:
    """The derivative of each output element with respect to its own input element.

    ``elementwise_grad(f)(x)`` is the vector-Jacobian product of ``f`` with a
    cotangent of ones, ``1^T J``: one backward pass. It equals the elementwise
    derivative when each output depends only on the input element in the same
    position (``np.tanh``, ``x ** 2``: a diagonal Jacobian); for other functions
    it is the sum of each Jacobian column, as in HIPS autograd, whose name it keeps.
    ``argnum`` is autograd's spelling of ``argnums``.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cr.elementwise_grad(np.tanh)(np.array([0.0, 1.0]))
    array([1.        , 0.41997434])
    >>> d2 = cr.elementwise_grad(cr.elementwise_grad(np.sin))     # second derivatives, -sin(x)
    >>> d2(np.array([np.pi / 6, np.pi / 2]))
    array([-0.5, -1. ])
    """
    argnums = resolve_argnum(argnums, argnum, "elementwise_grad")
    if not isinstance(argnums, int | np.integer):
        raise TypeError(
            f"elementwise_grad takes one argument position (argnums={argnums!r}); call it once per argument."
        )

    @functools.wraps(f)
    def elementwise_grad_f(*args: Any, **kwargs: Any) -> Any:
        (n,) = normalize_argnums(argnums, len(args), f)

        def of_one(x: Any) -> Any:
            return f(*args[:n], x, *args[n + 1 :], **kwargs)

        out, pullback = vjp(of_one, args[n])
        try:
            ones = tree_map(lambda o: np.ones(np.shape(o), dtype=np.result_type(o)), out)
        except TypeError as e:
            raise TypeError(f"elementwise_grad needs {function_name(f)} to return arrays: {e}") from None
        return pullback(ones)[0]

    return elementwise_grad_f
