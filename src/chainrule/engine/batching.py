"""The batching trace: ``vmap``'s trace kind, beside reverse and forward.

A value of a batch trace is a :class:`Tracer` whose ``_value`` is a
:class:`Batched`: the data of every example stacked along axis 0, with the
*logical* shape (the shape one example has) as plain attributes. ``Tracer``
reads ``shape``, ``ndim``, ``dtype`` and ``size`` from ``_value``, so user
code, rules and other traces see the shape of one example, and the reverse
and forward traces need no test of their own for batched values: their per
operation path is unchanged.

:meth:`BatchTrace.process` unwraps its own values to their data and applies
the primitive's batching rule (``BATCH_RULES``, by family: elementwise and
broadcasting primitives align their arguments and run once; the rest is
registered in :mod:`chainrule.rules.batching`). A primitive with no rule runs
once per example and the results are stacked (:func:`loop_rule`): correct and
slow, and listed as such in docs/coverage.md.

Values that are not of this trace (plain arrays, values of older traces) are
the same for every example: rules broadcast them, they never stack them.
The batch axis always stays at position 0 of ``data``, so no rule tracks
where it is.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InPlaceError, TracerConversionError, UnsupportedOperationError
from .core import NO_KWARGS, Primitive, Tracer, apply
from .registry import BATCH_RULES
from .traces import _levels, _poison, _refusal

__all__ = [
    "BATCH",
    "BatchTrace",
    "Batched",
    "Part",
    "batched_ndim",
    "broadcast_batch",
    "elementwise_rule",
    "example",
    "loop_rule",
    "lift_ndim",
    "rule_kind",
]

BATCH = "batch"


class Batched:
    """The ``_value`` of a batch trace's tracer: ``data`` with the batch axis first.

    ``shape``, ``ndim``, ``dtype`` and ``size`` describe one example (the
    logical value), precomputed so that reading them costs an attribute load.
    """

    __slots__ = ("data", "dtype", "ndim", "shape", "size")

    def __init__(self, data: Any):
        self.data = data
        shape = data.shape[1:]
        self.shape = shape
        self.ndim = len(shape)
        self.dtype = data.dtype
        self.size = math.prod(shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return int(self.shape[0])


def batched_ndim(value: Any, batched: bool) -> int:
    """The logical number of axes of a rule's argument (its data has one more when batched)."""
    t = type(value)
    nd = value.ndim if t is np.ndarray or t is Tracer else np.ndim(value)
    return nd - 1 if batched else nd


def lift_ndim(data: Any, ndim: int) -> Any:
    """Batched ``data`` with length-1 axes inserted after the batch axis, up to logical ``ndim`` axes.

    Then unbatched values (which broadcast from the right) line up with it.
    """
    missing = ndim - (data.ndim - 1)
    if missing <= 0:
        return data
    shape = data.shape
    return np.reshape(data, shape[:1] + (1,) * missing + shape[1:])


def broadcast_batch(value: Any, batched: bool, size: int) -> Any:
    """``value`` with a batch axis: batched data unchanged, anything else broadcast to ``size`` copies."""
    if batched:
        return value
    return np.broadcast_to(value, (size, *np.shape(value)))


class BatchTrace:
    """The trace of one ``vmap`` over ``size`` examples."""

    __slots__ = ("active", "entered", "level", "poisoned", "size", "thread")
    kind = BATCH

    def __init__(self, size: int) -> None:
        from threading import get_ident

        self.level = next(_levels)
        self.active = True
        self.size = size
        self.thread = get_ident()
        self.poisoned: Exception | None = None
        self.entered: set[Any] = set()

    def poison(self, error: Exception) -> None:
        _poison(self, error)  # type: ignore[arg-type]

    def wrap(self, data: Any) -> Tracer:
        """A value of this trace with ``data`` (batch axis first)."""
        return Tracer(Batched(data), self)

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.active:
            raise _refusal(self, prim)  # type: ignore[arg-type]
        values = list(args)
        batched = [False] * len(args)
        for i, a in enumerate(args):
            if type(a) is Tracer and a._trace is self:
                values[i] = a._value.data
                batched[i] = True
            elif type(a) is tuple and any(type(p) is Tracer and p._trace is self for p in a):
                # An index holding batched integer arrays: its batched parts are marked.
                values[i] = tuple(
                    Part(p._value.data) if type(p) is Tracer and p._trace is self else p for p in a
                )
                batched[i] = True
        rule = BATCH_RULES.get(prim)
        if rule is None:
            if prim.composite:
                return self._composite(prim, args, values, batched, kwargs)
            rule = elementwise_rule if (prim.broadcasts or isinstance(prim.impl, np.ufunc)) else loop_rule
        return self.wrap(rule(self.size, prim, values, batched, kwargs))

    def _composite(
        self,
        prim: Primitive,
        args: tuple[Any, ...],
        values: list[Any],
        batched: list[bool],
        kwargs: dict[str, Any],
    ) -> Any:
        """A custom rule or checkpoint: its function traced on the batched values.

        When values of older traces take part (``grad(vmap(f))`` with ``f`` a custom
        rule), those traces must record the custom rule, batched: they get a
        primitive whose implementation and rules are the original ones run under a
        batch trace of their own (:func:`_batched_composite`).
        """
        if any(type(v) is Tracer for v in values):
            derived = _batched_composite(prim, batched, self.size)
            return self.wrap(apply(derived, tuple(values), kwargs if kwargs else NO_KWARGS))
        return prim.impl(*args, **kwargs)

    def dispatch(
        self, key: Any, fn: Callable[..., Any], handler: Callable[..., Any], args: Any, kwargs: dict[str, Any]
    ) -> Any:
        """A NumPy function's handler on batched values, or, re-entered from it, ``fn`` per example.

        Handlers compute piecewise-constant parts by calling the same NumPy
        function on plain values (``np.unique(primal(x))``); a batched value stays
        traced under ``primal``, so that call comes back here, and runs on each
        example's data instead of recursing.
        """
        if key in self.entered:
            if self._newer_inside((args, kwargs)):
                # Not the handler's own call on plain values: a derivative rule of a newer
                # trace calling the same function (where's tangent rule inside vmap(hessian(f))
                # whose f calls np.where): the handler runs, and its primitives go to that trace.
                return handler(*args, **kwargs)
            return self.call(fn, tuple(args), kwargs)
        self.entered.add(key)
        try:
            return handler(*args, **kwargs)
        except (UnsupportedOperationError, TracerConversionError, InPlaceError) as exc:
            # The handler branched on, converted or wrote into a batched value (a quantile's
            # per-count loop, a histogram's masks): the function runs once per example
            # instead, which is right whenever it is right for one example.
            if not self.active or self._newer_inside((args, kwargs)):
                raise
            try:
                return self.call(fn, tuple(args), kwargs)
            except Exception:
                raise exc from None
        finally:
            self.entered.discard(key)

    def _newer_inside(self, value: Any) -> bool:
        """Whether ``value`` holds a value of a newer trace (which may hold this trace's values)."""
        if type(value) is Tracer:
            return bool(value._trace.level > self.level)
        if isinstance(value, list | tuple):
            return any(self._newer_inside(v) for v in value)
        if isinstance(value, dict):
            return any(self._newer_inside(v) for v in value.values())
        return False

    # -- what the engine asks of a trace whose values stay traced under primal() ------------
    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A function with no derivative (comparison, rounding, ``argmax``, a shape query) on batched values.

        Ufuncs and comparisons run once on aligned data; functions of shapes and
        dtypes only run on one example; anything else runs once per example and
        the results are stacked (they must agree in shape, or be equal Python values).
        """
        if not self.active:
            raise _refusal(self, _Named(fn))  # type: ignore[arg-type]
        if self._newer_inside((args, kwargs)):
            # A newer trace's value may hold this trace's examples; running fn per example
            # would hand each example all of them.
            raise UnsupportedOperationError(
                f"{_name(fn)} was called on a batched value next to a value of a transformation "
                "opened inside the vmap; chainrule cannot run it example by example there. "
                "Apply it outside that transformation, or to chainrule.primal values."
            )
        if fn in _METADATA:
            return fn(*[self._example(a) for a in args], **{k: self._example(v) for k, v in kwargs.items()})
        flat = list(args)
        batched = [type(a) is Tracer and a._trace is self for a in flat]
        values = [a._value.data if b else a for a, b in zip(flat, batched)]
        if (isinstance(fn, np.ufunc) or fn in _ELEMENTWISE_CALLS) and not any(
            isinstance(a, list | tuple) for a in flat
        ):
            nd = max(batched_ndim(v, b) for v, b in zip(values, batched))
            aligned = [lift_ndim(v, nd) if b else v for v, b in zip(values, batched)]
            return self._wrap_plain(fn(*aligned, **kwargs))
        results = [
            fn(*[self._slice(a, j) for a in flat], **{k: self._slice(v, j) for k, v in kwargs.items()})
            for j in range(self.size)
        ]
        return self._stack_plain(fn, results)

    def _example(self, a: Any) -> Any:
        if isinstance(a, list | tuple):
            return type(a)(self._example(v) for v in a)
        if type(a) is Tracer and a._trace is self:
            return a._value.data[0]
        return a

    def _slice(self, a: Any, j: int) -> Any:
        if isinstance(a, list | tuple):
            return type(a)(self._slice(v, j) for v in a)
        if type(a) is Tracer and a._trace is self:
            return a._value.data[j]
        return a

    def _wrap_plain(self, out: Any) -> Any:
        return self.wrap(out)

    def _stack_plain(self, fn: Any, results: list[Any]) -> Any:
        first = results[0] if results else None
        if isinstance(first, tuple) and all(isinstance(r, tuple) and len(r) == len(first) for r in results):
            parts = [self._stack_plain(fn, [r[k] for r in results]) for k in range(len(first))]
            return type(first)(*parts) if hasattr(first, "_fields") else tuple(parts)
        if all(isinstance(r, np.ndarray | np.generic) or type(r) is Tracer for r in results):
            shapes = {np.shape(r) for r in results}
            if len(shapes) > 1:
                raise UnsupportedOperationError(
                    f"{_name(fn)} returned results of different shapes for different examples "
                    f"of a vmap ({sorted(shapes)}): a batched value must have one shape. Compute "
                    "a fixed-shape result instead (np.where with a mask rather than selecting "
                    "by a mask)."
                )
            return self.wrap(np.stack(results))
        if any(r != first for r in results[1:]):
            raise UnsupportedOperationError(
                f"{_name(fn)} returned a Python value that differs between the examples of a "
                "vmap; it cannot be batched. Use array operations (np.where) instead."
            )
        return first

    def concrete(self, value: Tracer, kind: type) -> Any:
        """``str()`` of a batched value describes it; ``bool()`` is refused (each example could differ)."""
        if kind is str:
            return self.describe(value)
        raise UnsupportedOperationError(
            "bool() of a value batched by chainrule.vmap: each example may give "
            "a different answer, so Python control flow cannot depend on it. Write the "
            "branch with np.where(condition, a, b), or loop over the examples in Python."
        )

    def describe(self, value: Tracer) -> str:
        examples = f"{self.size} examples of {value.dtype} {value.shape}"
        return f"Tracer(<batched: {examples}>, batch trace {self.level})"


def _batched_composite(prim: Primitive, batched: list[bool], size: int) -> Primitive:
    """``prim`` (a custom rule or checkpoint) as a primitive on batched data, for an older trace to record.

    Its implementation and its rules are the original ones, run on values of one
    batch trace opened for this call and kept open (the custom rule's residuals
    are values of it, used again by the backward pass); data goes in and out
    with the batch axis first.
    """
    inner = BatchTrace(size)

    def wrap(data: Any, is_batched: bool = True) -> Any:
        return inner.wrap(data) if is_batched else data

    def unwrap(value: Any) -> Any:
        if type(value) is Tracer and value._trace is inner:
            return value._value.data
        return None if value is None else broadcast_batch(value, False, size)

    def impl(*data: Any, **kwargs: Any) -> Any:
        return unwrap(prim.impl(*[wrap(d, b) for d, b in zip(data, batched)], **kwargs))

    def vjp(i: int, ans: Any, *data: Any, **kwargs: Any) -> Any:
        maker = prim.vjp_maker(i)
        if maker is None:
            return None
        fn = maker(wrap(ans), *[wrap(d, b) for d, b in zip(data, batched)], **kwargs)
        if fn is None:
            return None
        if batched[i]:
            return lambda g: unwrap(fn(wrap(g)))
        return lambda g: _sum_examples(fn(wrap(g)), inner)

    def jvp(i: int, t: Any, ans: Any, *data: Any, **kwargs: Any) -> Any:
        rule = prim.jvp_rule(i)
        if rule is None:
            return None
        return unwrap(
            rule(wrap(t, batched[i]), wrap(ans), *[wrap(d, b) for d, b in zip(data, batched)], **kwargs)
        )

    derived = Primitive(f"{prim.name} (batched)", impl, composite=True)
    derived.any_vjp = vjp
    derived.any_jvp = jvp
    return derived


def _sum_examples(value: Any, trace: BatchTrace) -> Any:
    """The cotangent of an unbatched argument: the examples' cotangents summed."""
    if type(value) is Tracer and value._trace is trace:
        return np.sum(value._value.data, axis=0)
    return None if value is None else value * trace.size


class _Named:
    def __init__(self, fn: Any):
        self.name = _name(fn)


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or repr(fn)


# Functions of shapes and dtypes only: one example answers for all of them (and the
# zeros/ones they build are the same for every example, so they stay unbatched).
_METADATA = frozenset(
    {np.shape, np.ndim, np.size, np.result_type, np.zeros_like, np.ones_like, np.empty_like,
     np.iscomplexobj, np.isrealobj, np.min_scalar_type}
)  # fmt: skip
_ELEMENTWISE_CALLS = frozenset(
    {operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne}
)  # fmt: skip


# -- the default rules ---------------------------------------------------------------------
def elementwise_rule(
    size: int, prim: Primitive, values: list[Any], batched: list[bool], kwargs: dict[str, Any]
) -> Any:
    """Ufuncs and broadcasting primitives: batched arguments lifted to a common rank, one call.

    Unbatched arguments broadcast from the right against the lifted data,
    exactly as they would against one example.
    """
    nd = 0
    for v, b in zip(values, batched):
        n = batched_ndim(v, b)
        if n > nd:
            nd = n
    args = [lift_ndim(v, nd) if b else v for v, b in zip(values, batched)]
    return apply(prim, tuple(args), kwargs if kwargs else NO_KWARGS)


class Part:
    """A batched element of a tuple argument (an index): its data, batch axis first."""

    __slots__ = ("data",)

    def __init__(self, data: Any):
        self.data = data


def example(value: Any, batched: bool, j: int) -> Any:
    """Example ``j`` of a rule's argument: the slice of batched data, or the argument itself."""
    if not batched:
        return value
    if type(value) is tuple:
        return tuple(p.data[j] if type(p) is Part else p for p in value)
    return value[j]


def loop_rule(
    size: int, prim: Primitive, values: list[Any], batched: list[bool], kwargs: dict[str, Any]
) -> Any:
    """The fallback: the primitive once per example, the results stacked (correct, not fast)."""
    results = []
    for j in range(size):
        args = tuple(example(v, b, j) for v, b in zip(values, batched))
        results.append(apply(prim, args, kwargs if kwargs else NO_KWARGS))
    return np.stack(results)


def rule_kind(prim: Primitive) -> str:
    """How ``prim`` is batched: the family of its rule, ``"elementwise"``, ``"custom"`` or ``"loop"``."""
    rule = BATCH_RULES.get(prim)
    if rule is not None:
        return getattr(rule, "family", "rule")
    if prim.composite:
        return "traced"
    if prim.broadcasts or isinstance(prim.impl, np.ufunc):
        return "elementwise"
    return "loop"
