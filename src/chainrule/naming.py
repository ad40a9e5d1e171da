"""Names of a function's positional arguments, for messages and reports.

Shared by the engine, :mod:`chainrule.numerical` (which knows nothing else of
the engine) and :mod:`chainrule.explain`. ``inspect.signature`` is slow, so
callers use these only when they need the text.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["argument_label", "parameter_name"]


def parameter_name(f: Callable[..., Any], argnum: int) -> str | None:
    """The name of ``f``'s positional parameter ``argnum``, or ``None`` if it has none.

    >>> parameter_name(lambda weights, x: 0, 1)
    'x'
    """
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return None
    if argnum < len(params) and params[argnum].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return params[argnum].name
    return None


def argument_label(f: Callable[..., Any], argnum: int) -> str:
    """``argument 0 ('weights')``, or ``argument 0`` when the parameter has no name.

    >>> argument_label(lambda weights: 0, 0)
    "argument 0 ('weights')"
    """
    name = parameter_name(f, argnum)
    return f"argument {argnum} ({name!r})" if name else f"argument {argnum}"
