"""Normalizing the arguments of NumPy calls, shared by the rule modules.

Handlers turn a user's call into a primitive's fixed signature; these helpers
do the common parts the same way everywhere (axes, ``out=``, integer
arguments that must not be traced).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..engine import Tracer, as_traced_array, contains_tracer, primal
from ..engine.core import BATCH
from ..errors import ComplexValueError, InPlaceError, TracerConversionError

__all__ = [
    "as_traced_array",
    "axis_index",
    "axis_tuple",
    "contains_tracer",
    "differentiated",
    "int_array",
    "plain_ints",
    "raw_array",
    "reduced_axes",
    "refuse_complex",
    "refuse_out",
]


def axis_index(axis: Any, ndim: int) -> int:
    """One axis as a non-negative int, with NumPy's error when out of range.

    >>> axis_index(-1, 3)
    2
    """
    ax = operator.index(axis)
    if not -ndim <= ax < ndim:
        raise np.exceptions.AxisError(ax, ndim)
    return ax % ndim if ndim else 0


def axis_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    """Distinct non-negative axes, in the order given (``axis`` an int or a sequence).

    >>> axis_tuple((0, -1), 3)
    (0, 2)
    """
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    out = tuple(axis_index(a, ndim) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return out


def reduced_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """The axes a reduction removes, sorted (``None``: all of them).

    >>> reduced_axes(None, 2), reduced_axes(-1, 3)
    ((0, 1), (2,))
    """
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    return tuple(sorted(int(a) % max(ndim, 1) for a in axes))


def plain_array(a: Any, dtype: Any = None) -> Any:
    """``np.asarray(primal(a), dtype)``, except that a value batched by ``chainrule.vmap`` stays batched.

    For the piecewise-constant quantities rules compute from values (masks,
    tolerances): under ``vmap`` they differ by example, so they stay batched
    values and the NumPy calls on them are batched too.

    >>> plain_array(2.0)
    array(2.)
    """
    plain = primal(a)
    if is_batched(plain):
        return plain if dtype is None else plain.astype(dtype)
    return np.asarray(plain, dtype=dtype)


def is_batched(a: Any) -> bool:
    """Whether ``a`` is (or is traced over) a value batched by ``chainrule.vmap``."""
    plain = primal(a)
    return type(plain) is Tracer and plain._trace.kind == BATCH


def differentiated(a: Any) -> bool:
    """Whether ``a`` is traced by ``grad``, ``jvp`` or another derivative (not only by ``vmap`` or ``jit``).

    >>> differentiated(np.ones(2))
    False
    """
    while type(a) is Tracer and a._trace.kind == BATCH:
        a = a._value.data
    # (primal stops at chainrule.jit's staging value: the function's data, not differentiated.)
    return type(a) is Tracer and primal(a) is not a


def raw_array(a: Any) -> np.ndarray:
    """The plain value of ``a`` as an array: for shapes, strides and flags only (never for its data)."""
    plain = primal(a)
    if type(plain) is Tracer:
        if plain._trace.kind == BATCH:  # batched by vmap: the layout of one example
            first: np.ndarray = raw_array(plain._value.data)[0]
            return first
        plain = plain._value  # chainrule.jit's staging value: its layout, here at staging
    return np.asarray(plain)


def refuse_out(name: str, out: Any) -> None:
    """Refuse ``out=``: a write into an existing array cannot be recorded."""
    if out is not None:
        raise InPlaceError(f"{name}(..., out=...) writes in place; assign the result instead.")


def plain_ints(name: str, what: str, value: Any) -> Any:
    """``value`` unchanged, or an error if it is traced (indices, shifts and counts carry no derivative)."""
    if type(value) is Tracer and primal(value) is not value:  # (a staging value is data: kept)
        raise TracerConversionError(
            f"{name}: {what} was a traced value; it carries no derivative. Pass "
            f"chainrule.primal({what}) (as integers) instead."
        )
    return value


def refuse_complex(name: str, *values: Any) -> None:
    """Refuse complex arguments of a function whose rules are for real numbers (never cast them silently)."""
    for v in values:
        dtype = getattr(v, "dtype", None)
        complex_ = np.dtype(dtype).kind == "c" if dtype is not None else isinstance(v, complex)
        if complex_:
            raise ComplexValueError(
                f"{name}: chainrule has no derivative rule for complex arguments of this function "
                "(it never drops an imaginary part silently); pass real arrays, e.g. the real and "
                "imaginary parts separately (docs/guide/complex.md lists the functions with complex rules)."
            )


def int_array(name: str, what: str, value: Any) -> Any:
    """:func:`plain_ints` as an array (``np.asarray``), or the staging value itself under chainrule.jit."""
    value = plain_ints(name, what, value)
    return value if type(value) is Tracer else np.asarray(value)
