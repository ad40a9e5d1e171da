"""The trace kinds: reverse (a tape for backpropagation) and forward (tangents carried along).

A trace has a ``level`` from one global counter: the newer of two traces has
the higher level and records an operation that mixes their values. Each
trace's ``process(prim, args, kwargs)`` unwraps its own tracers, re-applies
the primitive one trace lower when values of older traces remain (so no
implementation ever sees a tracer), and wraps the result.

:func:`trace_scope` opens a trace and closes it however the traced function
ends, so a tracer kept past its transform is refused, not recorded onto a
dead tape.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import numpy as np

from ..errors import LeakedTracerError
from .broadcasting import unbroadcaster
from .core import Primitive, Tracer, apply

__all__ = ["ForwardTrace", "Node", "Recorder", "ReverseTrace", "trace_scope"]

_levels = itertools.count(1)


class Node:
    """One recorded primitive call: for each traced input, ``(input node, g -> contribution, fresh)``.

    ``fresh`` says the contribution is a new array nothing else refers to (see
    ``Primitive.fresh_cotangents``), so the sweep may add into it in place.
    """

    __slots__ = ("parents",)
    # No __init__: made on the per-operation path, where a Python-level constructor
    # would cost a frame; the trace sets ``parents`` right after creating it.
    parents: list[tuple[Node, Callable[[Any], Any], bool]] | tuple[()]


class Recorder(Protocol):
    """Called by a :class:`ReverseTrace` after each node it records (explain and check use it)."""

    def __call__(
        self,
        node: Node,
        prim: Primitive,
        args: tuple[Any, ...],
        raw: list[Any],
        traced: list[int],
        kwargs: dict[str, Any],
        ans: Any,
    ) -> None: ...


def _leaked(prim: Primitive) -> LeakedTracerError:
    return LeakedTracerError(
        f"{prim.name} was applied to a traced value whose transformation has already "
        "returned (it was stored in a global, an attribute or a closure that outlived "
        "the call). Pass it in as an argument instead, or take its value with "
        "chainrule.primal(x) if no derivative should flow through it."
    )


class ReverseTrace:
    """A tape of :class:`Node` in creation order, for reverse mode.

    ``recorder``, when given, sees every recorded call with its plain values
    (how explanations and the checker's localization watch a run without a
    trace of their own).
    """

    __slots__ = ("active", "level", "recorder", "tape")
    kind = "reverse"

    def __init__(self, recorder: Recorder | None = None) -> None:
        self.level = next(_levels)
        self.tape: list[Node] = []
        self.active = True
        self.recorder = recorder

    def leaf(self, value: Any) -> Tracer:
        """A traced input: a node with no parents."""
        node = Node()
        node.parents = ()
        return Tracer(value, self, node)

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.active:
            raise _leaked(prim)
        # The per-operation hot path: plain loops, no keyword unpacking when there is none.
        raw: list[Any] = []
        traced: list[int] = []
        outer = False
        for a in args:
            if type(a) is Tracer:
                if a._trace is self:
                    traced.append(len(raw))
                    a = a._value
                    if type(a) is Tracer:  # this trace's value is an older trace's tracer
                        outer = True
                    raw.append(a)
                    continue
                outer = True
            raw.append(a)
        if outer and not prim.composite:  # values of older traces remain: they record this call too
            ans = apply(prim, tuple(raw), kwargs)
        else:
            ans = prim.impl(*raw, **kwargs) if kwargs else prim.impl(*raw)
        # The rules, applied: for each traced argument, its function g -> cotangent.
        # Written out here, on the per-operation path (no helper call); everything
        # else that needs a rule applied (the checker's localization) goes through
        # this method (see rule_application.py).
        fresh = prim.fresh_cotangents
        makers = prim.vjp_makers
        parents = []
        for i in traced:
            maker = makers[i] if i in makers else prim.vjp_maker(i)
            if maker is None:
                continue
            fn = maker(ans, *raw, **kwargs) if kwargs else maker(ans, *raw)
            if fn is None:
                continue
            if prim.broadcasts:
                # Traced values and ufunc results are NumPy arrays or scalars: read the
                # attribute (np.shape goes through NumPy's dispatch).
                try:
                    shape, out_shape = raw[i].shape, ans.shape
                except AttributeError:
                    shape, out_shape = np.shape(raw[i]), np.shape(ans)
                if shape != out_shape:
                    fn = unbroadcaster(fn, shape, out_shape)
            parents.append((args[i]._node, fn, fresh))
        node = Node()
        node.parents = parents
        self.tape.append(node)
        if self.recorder is not None:
            self.recorder(node, prim, args, raw, traced, kwargs, ans)
        return Tracer(ans, self, node)


class ForwardTrace:
    """Forward mode: each tracer carries its tangent, computed op by op."""

    __slots__ = ("active", "level")
    kind = "forward"

    def __init__(self) -> None:
        self.level = next(_levels)
        self.active = True

    def leaf(self, value: Any, tangent: Any) -> Tracer:
        """A traced input with its tangent."""
        return Tracer(value, self, None, tangent)

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.active:
            raise _leaked(prim)
        raw = list(args)
        traced: list[int] = []
        tangents: list[Any] = []
        outer = False
        for i, a in enumerate(args):
            if type(a) is Tracer:
                if a._trace is self:
                    traced.append(i)
                    tangents.append(a._tangent)
                    value = raw[i] = a._value
                    if type(value) is Tracer:
                        outer = True
                else:
                    outer = True
        if outer and not prim.composite:
            ans = apply(prim, tuple(raw), kwargs)
        else:
            ans = prim.impl(*raw, **kwargs) if kwargs else prim.impl(*raw)
        # The rules, applied: the output's tangent, summed over the traced arguments.
        t = None
        for i, t_in in zip(traced, tangents):
            rule = prim.jvp_rule(i)
            if rule is None:
                continue
            c = rule(t_in, ans, *raw, **kwargs) if kwargs else rule(t_in, ans, *raw)
            if c is None:
                continue
            if prim.broadcasts and np.shape(c) != np.shape(ans):
                c = np.broadcast_to(c, np.shape(ans))
            t = c if t is None else t + c
        if t is None:
            return ans  # no tangent: a constant of this trace
        return Tracer(ans, self, None, t)


TraceT = TypeVar("TraceT", ReverseTrace, ForwardTrace)


@contextmanager
def trace_scope(trace: TraceT) -> Iterator[TraceT]:
    """Use ``trace`` for the block; afterwards its tracers are refused if used again."""
    try:
        yield trace
    finally:
        trace.active = False
