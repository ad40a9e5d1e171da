"""Names of a function's positional arguments, for messages and reports.

Shared by the engine, :mod:`chainrule.numerical` (which knows nothing else of
the engine) and :mod:`chainrule.explain`. ``inspect.signature`` is slow, so
callers use these only when they need the text.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["argument_label", "parameter_name", "positional_names"]


def parameter_name(f: Callable[..., Any], argnum: int) -> str | None:
    """The name of ``f``'s positional parameter ``argnum``, or ``None`` if it has none.

    >>> parameter_name(lambda weights, x: 0, 1)
    'x'
    """
    names = positional_names(f)
    return names[argnum] if argnum < len(names) else None


def positional_names(f: Callable[..., Any]) -> list[str | None]:
    """The names of ``f``'s positional parameters (``None`` past them): one signature read for all.

    Naming thousands of arguments one :func:`parameter_name` call at a time
    reads the signature each time; callers naming many read it once here.

    >>> positional_names(lambda a, b, *rest, c: 0)
    ['a', 'b']
    """
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return []
    out: list[str | None] = []
    for p in params:
        if p.kind not in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            break
        out.append(p.name)
    return out


def argument_label(f: Callable[..., Any], argnum: int) -> str:
    """``argument 0 ('weights')``, or ``argument 0`` when the parameter has no name.

    >>> argument_label(lambda weights: 0, 0)
    "argument 0 ('weights')"
    """
    name = parameter_name(f, argnum)
    return f"argument {argnum} ({name!r})" if name else f"argument {argnum}"
