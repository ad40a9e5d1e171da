"""Batching rules for ``chainrule.vmap`` by family: what a rule author registers with :func:`defbatch`.

A batching rule ``rule(size, prim, values, batched, kwargs)`` receives the
primitive's arguments with each batched one (``batched[i]``) replaced by its
data, whose axis 0 holds the ``size`` examples, and returns the result's data
with the batch axis first. Most NumPy functions batch in one of a few ways,
so a rule is usually one of these families:

* elementwise and broadcasting primitives (ufuncs, ``broadcasts=True``):
  automatic, nothing to register;
* :func:`leading_rule`: the implementation already maps over leading axes
  (NumPy's linear algebra, ``triu``, casts, elementwise functions that are not
  ufuncs): the arguments are lifted to a common rank and the primitive runs once;
* :func:`axis_rule`: a reduction, scan or reordering along named ``axis``
  parameters: the axes shift by one past the batch axis;
* :func:`joining_rule`: ``concatenate``/``stack``: every array gets the batch
  axis, the axis shifts;
* anything else: the engine's loop over the examples (correct, slow), which
  docs/coverage.md lists.

Each rule applies primitives or NumPy functions, never implementations, so a
trace older than the batch trace records the batched call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ..engine import Primitive, apply
from ..engine.batching import batched_ndim, broadcast_batch, elementwise_rule, lift_ndim, loop_rule
from ..engine.definitions import defbatch

__all__ = [
    "axis_rule",
    "batched_ndim",
    "broadcast_batch",
    "defbatch",
    "elementwise_rule",
    "joining_rule",
    "leading_rule",
    "lift_ndim",
    "loop_rule",
    "shift_axis",
]

BatchRule = Callable[[int, Primitive, list[Any], list[bool], dict[str, Any]], Any]


def shift_axis(axis: Any, ndim: int, none_is_all: bool = True) -> Any:
    """A logical ``axis`` (int, tuple, ``None`` for all) of an ``ndim``-axis value, as an axis of the data.

    >>> shift_axis(-1, 3), shift_axis(None, 2), shift_axis((0, -1), 2)
    (3, (1, 2), (1, 2))
    """
    if axis is None:
        return tuple(range(1, ndim + 1)) if none_is_all else None
    if isinstance(axis, tuple | list):
        return tuple(int(a) % max(ndim, 1) + 1 for a in axis)
    return int(axis) % max(ndim, 1) + 1


def _binder(prim: Primitive) -> inspect.Signature:
    sig = _SIGNATURES.get(prim)
    if sig is None:
        sig = _SIGNATURES[prim] = inspect.signature(prim.impl)
    return sig


_SIGNATURES: dict[Primitive, inspect.Signature] = {}


def axis_rule(*names: str, none_is_all: bool = True) -> BatchRule:
    """The rule of a primitive of one array (its first argument) along the axes in parameters ``names``.

    ``None`` in one of them means every axis (a reduction over all), unless
    ``none_is_all`` is false (the primitive flattens then: batched by the loop).
    """

    def rule(
        size: int, prim: Primitive, values: list[Any], batched: list[bool], kwargs: dict[str, Any]
    ) -> Any:
        if not batched[0] or any(batched[1:]):
            return loop_rule(size, prim, values, batched, kwargs)
        bound = _binder(prim).bind(*values, **kwargs)
        bound.apply_defaults()
        ndim = batched_ndim(values[0], True)
        if ndim == 0:
            # NumPy's axis rules for a 0-d array differ by function (np.sum(x, axis=-1) is x,
            # np.cumsum(x, axis=0) a 1-element array): the loop gives exactly NumPy's answer.
            return loop_rule(size, prim, values, batched, kwargs)
        for name in names:
            axis = bound.arguments[name]
            if axis is None and not none_is_all:
                return loop_rule(size, prim, values, batched, kwargs)
            bound.arguments[name] = shift_axis(axis, ndim)
        return apply(prim, bound.args, bound.kwargs)

    rule.family = "axis"  # type: ignore[attr-defined]
    return rule


def leading_rule(core_ndim: int = 0) -> BatchRule:
    """The rule of a primitive mapping over the leading axes of its arrays (linear algebra: ``core_ndim=2``).

    The batched arguments are lifted to the common rank (so unbatched ones
    broadcast against them as against one example) and the primitive runs once.
    A batched argument with fewer than ``core_ndim`` axes per example takes the loop.
    """

    def rule(
        size: int, prim: Primitive, values: list[Any], batched: list[bool], kwargs: dict[str, Any]
    ) -> Any:
        for v, b in zip(values, batched):
            if b and batched_ndim(v, True) < core_ndim:
                return loop_rule(size, prim, values, batched, kwargs)
        return elementwise_rule(size, prim, values, batched, kwargs)

    rule.family = "leading axes"  # type: ignore[attr-defined]
    return rule


def joining_rule(stacks: bool) -> BatchRule:
    """``concatenate`` (``stacks=False``) and ``stack``: every array batched, the ``axis`` keyword shifted."""

    def rule(
        size: int, prim: Primitive, values: list[Any], batched: list[bool], kwargs: dict[str, Any]
    ) -> Any:
        axis = kwargs.get("axis", 0)
        if axis is None or not values:
            return loop_rule(size, prim, values, batched, kwargs)
        ndim = max(batched_ndim(v, b) for v, b in zip(values, batched)) + (1 if stacks else 0)
        arrays = tuple(broadcast_batch(v, b, size) for v, b in zip(values, batched))
        return apply(prim, arrays, {**kwargs, "axis": shift_axis(axis, ndim)})

    rule.family = "joining"  # type: ignore[attr-defined]
    return rule


def register_all(rules: Sequence[tuple[Any, BatchRule]]) -> None:
    """``defbatch`` for each ``(primitive, rule)``, with the family the rule names."""
    for prim, rule in rules:
        defbatch(prim, rule, getattr(rule, "family", "rule"))
