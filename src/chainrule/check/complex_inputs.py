"""Complex inputs of a gradient check: each one checked in its real and its imaginary direction.

A complex leaf ``z`` of a differentiated argument is replaced by the pair
``ComplexParts(real=x, imag=y)`` of real arrays (a report names them
``...real`` and ``...imag``), and the function is evaluated at
``x + 1j * y``. Checking the real function checks every partial derivative
``df/dx`` and ``df/dy`` by finite differences, and backprop computes them
through the complex values (``x + 1j * y`` is itself differentiated), so each
rule on the way is checked in both directions. grad's own result for the
complex leaf is ``df/dx - i df/dy`` (JAX's convention; see docs/guide/complex.md),
so the two agree exactly when the pair does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..argnums import normalize_argnums
from ..pytree import tree_flatten, tree_unflatten

__all__ = ["ComplexParts", "has_complex_leaf", "realified"]


class ComplexParts(NamedTuple):
    """The real and imaginary parts of a complex leaf, checked as two real leaves."""

    real: Any
    imag: Any


def _is_complex(v: Any) -> bool:
    return bool(np.iscomplexobj(v)) if isinstance(v, np.ndarray | np.generic | complex) else False


def has_complex_leaf(args: tuple[Any, ...], argnums: int | Sequence[int]) -> bool:
    nums = normalize_argnums(argnums, len(args))
    return any(_is_complex(v) for n in nums for v in tree_flatten(args[n])[0])


def realified(
    f: Callable[..., Any], args: tuple[Any, ...], argnums: int | Sequence[int]
) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """``f`` and ``args`` with every complex differentiated leaf split into its :class:`ComplexParts`.

    >>> import numpy as np
    >>> g, a = realified(lambda z: np.abs(z) ** 2, (np.array([3 + 4j]),), 0)
    >>> a
    (ComplexParts(real=array([3.]), imag=array([4.])),)
    >>> g(*a)
    array([25.])
    """
    nums = normalize_argnums(argnums, len(args))
    new_args = list(args)
    rebuilders: dict[int, Callable[[Any], Any]] = {}
    for n in nums:
        leaves, treedef = tree_flatten(args[n])
        split = [_is_complex(v) for v in leaves]
        if not any(split):
            continue
        # np.array(...)[()]: a copy, and a NumPy scalar for a Python complex (whose .real has no .copy)
        pairs = [
            ComplexParts(np.array(np.real(v))[()], np.array(np.imag(v))[()]) if s else v
            for v, s in zip(leaves, split)
        ]
        new_args[n] = tree_unflatten(treedef, pairs)

        def rebuild(tree: Any, treedef: Any = treedef, split: list[bool] = split) -> Any:
            # The pairs are leaves' worth of subtrees: flatten the rebuilt argument one level.
            flat = tree_flatten(tree)[0]
            out, k = [], 0
            for s in split:
                if s:
                    out.append(flat[k] + 1j * flat[k + 1])
                    k += 2
                else:
                    out.append(flat[k])
                    k += 1
            return tree_unflatten(treedef, out)

        rebuilders[n] = rebuild

    def g(*a: Any, **kwargs: Any) -> Any:
        full = list(a)
        for n, rebuild in rebuilders.items():
            full[n] = rebuild(full[n])
        return f(*full, **kwargs)

    g.__qualname__ = getattr(f, "__qualname__", getattr(f, "__name__", "f"))
    return g, tuple(new_args)
