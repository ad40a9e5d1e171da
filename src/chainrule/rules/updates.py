"""Functional indexed updates: ``at(x)[idx].set(v)``, ``.add(v)``, ``.multiply(v)``.

Traced arrays are immutable, so ``x[idx] = v`` cannot be recorded. ``at``
returns a new array instead, and differentiates with respect to both ``x`` and
``v`` (either may be traced, or both, or neither):

* ``set``: ``out = x`` with ``out[idx] = v``. The overwritten entries of ``x``
  get zero gradient. With repeated indices the last write wins, as in NumPy,
  and the gradient of an output entry goes only to the element of ``v`` (after
  broadcasting) that was written last there; the elements it overwrote get
  zero, because they do not reach the output.
* ``add``: ``out = x`` plus ``v`` scattered at ``idx``. Repeated indices
  accumulate (``np.add.at`` semantics), so each element of ``v`` gets the
  gradient of the entry it was added to.
* ``multiply``: ``out = x`` with ``out[idx] *= v``. Repeated indices multiply
  together when ``v`` is plain; with a traced ``v`` they are refused.

The result has the dtype of ``x`` (as an in-place update would); a traced
``v`` needs a floating-point ``x``.

Examples
--------
>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import at
>>> x = np.zeros(4)
>>> at(x)[[1, 1, 3]].add(1.0)
array([0., 2., 0., 1.])
>>> cr.grad(lambda v: np.sum(at(x)[[1, 1, 3]].add(v) ** 2))(np.ones(3))
array([4., 4., 2.])
>>> cr.grad(lambda v: np.sum(at(x)[[0, 0]].set(v)))(np.array([1.0, 2.0]))
array([0., 1.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import (
    Primitive,
    Tracer,
    UnsupportedOperationError,
    astype,
    defjvp,
    defvjp,
    is_basic_index,
    normalize_index,
    primal,
    unbroadcast,
)

__all__ = ["At", "IndexedUpdate", "at"]


def _last_writers(shape: tuple[int, ...], index: Any) -> np.ndarray | None:
    """Which positions of ``x[index]`` survive ``out[index] = v``; ``None`` if all do."""
    if is_basic_index(index):
        return None
    written = np.full(shape, -1, dtype=np.intp)
    sel_shape = written[index].shape
    ids = np.arange(int(np.prod(sel_shape)), dtype=np.intp).reshape(sel_shape)
    written[index] = ids
    winners = written[index] == ids
    return None if winners.all() else winners


def _cotangent_of_v(g: Any, index: Any, vshape: tuple[int, ...], vdtype: Any, winners: Any = None) -> Any:
    c = g[index]
    if winners is not None:
        c = np.where(winners, c, 0.0)
    c = unbroadcast(c, vshape)
    return c if np.dtype(c.dtype) == vdtype else astype(c, vdtype)


# -- set -------------------------------------------------------------------------------------
def _set_impl(x: Any, v: Any, index: Any) -> Any:
    out = np.array(x, copy=True)
    out[index] = v
    return out


set_p = Primitive("chainrule.at.set", _set_impl)


def _set_vjp_v(ans: Any, x: Any, v: Any, index: Any) -> Any:
    vshape, vdtype = np.shape(v), np.result_type(v)
    winners = _last_writers(np.shape(x), index)
    return lambda g: _cotangent_of_v(g, index, vshape, vdtype, winners)


defvjp(set_p, lambda ans, x, v, index: lambda g: set_p(g, 0.0, index), _set_vjp_v)
defjvp(
    set_p,
    lambda t, ans, x, v, index: set_p(t, 0.0, index),
    lambda t, ans, x, v, index: set_p(np.zeros(np.shape(ans), np.result_type(ans)), t, index),
)


# -- add -------------------------------------------------------------------------------------
def _add_impl(x: Any, v: Any, index: Any) -> Any:
    out = np.array(x, copy=True)
    if is_basic_index(index):
        out[index] += v
    else:
        np.add.at(out, index, v)
    return out


add_p = Primitive("chainrule.at.add", _add_impl)


def _add_vjp_v(ans: Any, x: Any, v: Any, index: Any) -> Any:
    vshape, vdtype = np.shape(v), np.result_type(v)
    return lambda g: _cotangent_of_v(g, index, vshape, vdtype)


defvjp(add_p, lambda ans, x, v, index: lambda g: g, _add_vjp_v)
defjvp(
    add_p,
    lambda t, ans, x, v, index: t,
    lambda t, ans, x, v, index: add_p(np.zeros(np.shape(ans), np.result_type(ans)), t, index),
)


# -- the user-facing objects ------------------------------------------------------------------
class IndexedUpdate:
    """``at(x)[index]``: the updates that return a new array (see :mod:`chainrule.at`)."""

    __slots__ = ("_index", "_x")

    def __init__(self, x: Any, index: Any):
        self._x = x
        self._index = index

    def __repr__(self) -> str:
        return f"at({self._x!r})[{self._index!r}]"

    def _check(self, v: Any, op: str) -> None:
        if type(v) is Tracer and not np.issubdtype(np.result_type(primal(self._x)), np.inexact):
            raise TypeError(
                f"at(x)[idx].{op}(v) with a traced v needs a floating-point x (x has dtype "
                f"{np.result_type(primal(self._x))}); the result takes x's dtype and would "
                "drop the derivative. Use x.astype(float)."
            )

    def get(self) -> Any:
        """``x[index]``."""
        return self._x[self._index]

    def set(self, v: Any) -> Any:
        """A copy of ``x`` with ``x[index] = v`` (repeated indices: the last write wins)."""
        self._check(v, "set")
        return set_p(self._x, v, self._index)

    def add(self, v: Any) -> Any:
        """A copy of ``x`` with ``v`` added at ``index`` (repeated indices accumulate)."""
        self._check(v, "add")
        return add_p(self._x, v, self._index)

    def multiply(self, v: Any) -> Any:
        """A copy of ``x`` with the entries at ``index`` multiplied by ``v``.

        Repeated indices multiply together; with a traced ``v`` they are refused.
        """
        self._check(v, "multiply")
        x, index = self._x, self._index
        dtype = np.result_type(primal(x))
        if type(v) is not Tracer:
            factor = np.ones(np.shape(x), dtype=dtype)
            np.multiply.at(factor, index, v)
            return x * factor
        if _last_writers(np.shape(x), index) is not None:
            raise UnsupportedOperationError(
                "chainrule.at(x)[idx].multiply(v) with a traced v and repeated indices has no "
                "derivative rule; make the indices unique, or multiply by a factor built with "
                "at(np.ones_like(x))[idx].set(v) per group."
            )
        return x * set_p(np.ones(np.shape(x), dtype=dtype), v, index)


class At:
    """``at(x)``: index it to get an :class:`IndexedUpdate`."""

    __slots__ = ("_x",)

    def __init__(self, x: Any):
        self._x = x

    def __repr__(self) -> str:
        return f"at({self._x!r})"

    def __getitem__(self, index: Any) -> IndexedUpdate:
        return IndexedUpdate(self._x, normalize_index(index))


def at(x: Any) -> At:
    """Functional, differentiable indexed updates of ``x``: ``at(x)[idx].set(v)``, ``.add(v)``.

    Parameters
    ----------
    x
        The array to update: a NumPy array or a traced value. It is never
        modified; each update returns a new array with ``x``'s dtype.

    Returns
    -------
    At
        Index it, then call ``.set(v)``, ``.add(v)``, ``.multiply(v)`` or ``.get()``.

    Examples
    --------
    >>> import numpy as np
    >>> at(np.arange(4.0))[1:3].set(-1.0)
    array([ 0., -1., -1.,  3.])
    >>> at(np.zeros((2, 2)))[:, 0].add(np.array([1.0, 2.0]))
    array([[1., 0.],
           [2., 0.]])
    """
    return At(x if type(x) is Tracer else np.asarray(x))
