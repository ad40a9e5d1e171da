"""Derivative rules of indexing: ``x[...]`` and its adjoint, the scatter-add.

Reading ``x[idx]`` is linear in ``x``; its transpose writes the cotangent into
zeros at ``idx``, accumulating duplicate indices (``np.add.at`` semantics), so
``x[[0, 0]]`` sends twice the gradient to ``x[0]``.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..core import INTERNAL, Primitive, Tracer, defjvp, defvjp
from ..errors import TracerConversionError


def _is_basic(index: Any) -> bool:
    """True when ``index`` selects without advanced indexing, so no element repeats."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or isinstance(p, slice | int | np.integer) and not isinstance(p, bool)
        for p in parts
    )


def normalize_index(index: Any) -> Any:
    """Lists become arrays (as NumPy reads them); traced indices are refused."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if type(p) is Tracer:
            raise TracerConversionError(
                "A traced value was used as an index. Indices carry no derivative: "
                "use chainrule.primal(i).astype(int) to index with its value."
            )
        out.append(np.asarray(p) if isinstance(p, list) else p)
    return tuple(out) if isinstance(index, tuple) else out[0]


def _scatter_add_impl(g: Any, index: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    out = np.zeros(shape, dtype=np.result_type(dtype, g))
    if _is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


scatter_add_p = Primitive("scatter_add", _scatter_add_impl)
getitem_p = Primitive("getitem", operator.getitem)
INTERNAL["getitem"] = getitem_p
INTERNAL["scatter_add"] = scatter_add_p

defvjp(getitem_p, lambda ans, x, index: lambda g: scatter_add_p(g, index, np.shape(x), x.dtype))
defjvp(getitem_p, lambda t, ans, x, index: t[index])
defvjp(scatter_add_p, lambda ans, g, index, shape, dtype: lambda h: h[index])
defjvp(scatter_add_p, lambda t, ans, g, index, shape, dtype: scatter_add_p(t, index, shape, dtype))


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` for traced ``x``: the primitive behind ``Tracer.__getitem__``."""
    return getitem_p(x, normalize_index(index))
