"""``argnums``: which positional arguments are differentiated, normalized once for every caller.

The differential operators (:mod:`chainrule.derivatives`), finite differences
(:mod:`chainrule.numerical`), the checks and explain all read ``argnums``
through :func:`normalize_argnums`, so one spelling means one thing everywhere
and every mistake gets the same message. It sits beside :mod:`chainrule.naming`
at the bottom of the layers: it imports nothing else of chainrule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["function_name", "is_index", "normalize_argnums"]


def function_name(f: Callable[..., Any] | None) -> str:
    """``f``'s qualified name for messages (its repr if it has none).

    >>> function_name(function_name)
    'function_name'
    """
    if f is None:
        return "the function"
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def is_index(n: Any) -> bool:
    """A Python or NumPy integer, not a bool: one position.

    >>> is_index(np.int64(1)), is_index(True), is_index(1.0)
    (True, False, False)
    """
    return isinstance(n, int | np.integer) and not isinstance(n, bool | np.bool_)


def normalize_argnums(argnums: Any, nargs: int, f: Callable[..., Any] | None = None) -> tuple[int, ...]:
    """``argnums`` as a tuple of distinct non-negative positions below ``nargs``: the one normalization.

    An int (``np.integer`` too) or a sequence of them; negative numbers count
    from the end, as in indexing. Duplicates are refused: each position is one
    variable, so ``(0, 0)`` has no meaning of its own (JAX would give a zero for
    one copy). ``f`` only names the function in messages.

    >>> normalize_argnums(-1, 3)
    (2,)
    >>> normalize_argnums((0, 0), 2)
    Traceback (most recent call last):
    ...
    ValueError: argnums=(0, 0) names argument 0 twice; list each argument once.
    """
    if is_index(argnums):
        nums: tuple[Any, ...] = (argnums,)
    elif isinstance(argnums, tuple | list) and all(is_index(n) for n in argnums):
        nums = tuple(argnums)
        if not nums:
            raise ValueError(
                f"argnums={argnums!r} selects no argument; give at least one position, e.g. argnums=0."
            )
    else:
        raise TypeError(
            f"argnums must be an int or a tuple of ints (positions of the positional arguments "
            f"of {function_name(f)}), not {argnums!r}. Write argnums=0 for the first argument "
            "or argnums=(0, 1) for the first two."
        )
    out: list[int] = []
    seen: set[int] = set()  # (a list's `in` made 30,000 positions quadratic)
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(
                f"argnums={argnums!r} asks for argument {int(n)}, but {function_name(f)} was called "
                f"with {nargs} positional argument(s)"
            )
        k = int(n) % nargs
        if k in seen:
            raise ValueError(f"argnums={argnums!r} names argument {k} twice; list each argument once.")
        seen.add(k)
        out.append(k)
    return tuple(out)
