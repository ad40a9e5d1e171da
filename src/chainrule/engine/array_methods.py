"""The ``ndarray`` methods a traced value offers, each the NumPy function of the same name.

Kept apart from :mod:`chainrule.engine.core` so the engine file holds only the
engine; every method here routes through NumPy's dispatch to the rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import InPlaceError

__all__ = ["ArrayMethods"]


def _axes(args: tuple[Any, ...]) -> Any:
    # x.reshape(2, 3) and x.reshape((2, 3)) mean the same, as for ndarray.
    if len(args) == 1 and (args[0] is None or isinstance(args[0], tuple | list)):
        return args[0]
    return args


class ArrayMethods:
    """Mixin giving :class:`~chainrule.engine.core.Tracer` the familiar ``ndarray`` methods."""

    __slots__ = ()

    if TYPE_CHECKING:
        # Tracer, the one class mixing these in, is array-like to NumPy (its __array_function__ and
        # __array_ufunc__ route every call below to the rules; __array__ refuses with advice).
        # Declared here so that type checkers accept ``self`` where NumPy takes an array.
        def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray: ...

    # Logical operators on boolean values (masks built under chainrule.jit's staging trace;
    # on other traces the ufuncs refuse or run on plain values as NumPy's dispatch decides).
    def __and__(self, other: Any) -> Any:
        return np.bitwise_and(self, other)

    def __rand__(self, other: Any) -> Any:
        return np.bitwise_and(other, self)

    def __or__(self, other: Any) -> Any:
        return np.bitwise_or(self, other)

    def __ror__(self, other: Any) -> Any:
        return np.bitwise_or(other, self)

    def __xor__(self, other: Any) -> Any:
        return np.bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Any:
        return np.bitwise_xor(other, self)

    def __invert__(self) -> Any:
        return np.invert(self)

    @property
    def T(self) -> Any:
        return np.transpose(self)

    @property
    def mT(self) -> Any:
        return np.swapaxes(self, -1, -2)

    @property
    def real(self) -> Any:
        return np.real(self)

    @property
    def imag(self) -> Any:
        return np.imag(self)

    def reshape(self, *shape: Any, order: Literal["C", "F", "A"] = "C") -> Any:
        return np.reshape(self, _axes(shape), order=order)

    def transpose(self, *axes: Any) -> Any:
        return np.transpose(self, _axes(axes) if axes else None)

    def swapaxes(self, axis1: int, axis2: int) -> Any:
        return np.swapaxes(self, axis1, axis2)

    def ravel(self, order: Literal["C", "F", "A", "K"] = "C") -> Any:
        return np.ravel(self, order=order)

    def flatten(self, order: Literal["C", "F", "A", "K"] = "C") -> Any:
        return np.ravel(self, order=order)

    def squeeze(self, axis: Any = None) -> Any:
        return np.squeeze(self, axis=axis)

    def sum(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return np.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return np.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def prod(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return np.prod(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return np.max(self, axis=axis, out=out, keepdims=keepdims)

    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return np.min(self, axis=axis, out=out, keepdims=keepdims)

    def var(
        self, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0, keepdims: bool = False
    ) -> Any:
        return np.var(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def std(
        self, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0, keepdims: bool = False
    ) -> Any:
        return np.std(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        return np.cumsum(self, axis=axis, dtype=dtype, out=out)

    def cumprod(self, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        return np.cumprod(self, axis=axis, dtype=dtype, out=out)

    def dot(self, other: Any) -> Any:
        return np.dot(self, other)

    def clip(self, min: Any = None, max: Any = None) -> Any:
        return np.clip(self, min, max)

    def copy(self) -> Any:
        return self  # traced values are immutable: a copy is the same value

    def repeat(self, repeats: Any, axis: Any = None) -> Any:
        return np.repeat(self, repeats, axis=axis)

    def take(self, indices: Any, axis: Any = None) -> Any:
        return np.take(self, indices, axis=axis)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return np.diagonal(self, offset, axis1, axis2)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return np.trace(self, offset, axis1, axis2)

    def conj(self) -> Any:
        return np.conjugate(self)

    def round(self, decimals: int = 0) -> Any:
        return np.round(self, decimals)

    def all(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.all(self, axis=axis, keepdims=keepdims)

    def any(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.any(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: Any = None) -> Any:
        return np.argmax(self, axis=axis)

    def argmin(self, axis: Any = None) -> Any:
        return np.argmin(self, axis=axis)

    def argsort(self, axis: int = -1, kind: Any = None) -> Any:
        return np.argsort(self, axis=axis, kind=kind)

    def nonzero(self) -> Any:
        return np.nonzero(self)

    # -- in-place methods: refused, with the functional form --------------------
    def sort(self, axis: int = -1, kind: Any = None, order: Any = None) -> None:
        _refuse_in_place("x.sort()", "x = np.sort(x)")

    def partition(self, kth: Any, axis: int = -1, kind: str = "introselect", order: Any = None) -> None:
        _refuse_in_place("x.partition(k)", "x = np.partition(x, k)")

    def fill(self, value: Any) -> None:
        _refuse_in_place("x.fill(v)", "x = np.full_like(x, v) (or x * 0 + v)")

    def put(self, indices: Any, values: Any, mode: str = "raise") -> None:
        _refuse_in_place("x.put(i, v)", "x = chainrule.at(x)[i].set(v)")

    def resize(self, *new_shape: Any, refcheck: bool = True) -> None:
        _refuse_in_place("x.resize(shape)", "x = np.resize(x, shape) or np.reshape")


def _refuse_in_place(what: str, instead: str) -> None:
    raise InPlaceError(f"{what} changes a traced array in place, which cannot be recorded; write {instead}.")
