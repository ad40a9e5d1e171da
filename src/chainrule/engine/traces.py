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
from threading import get_ident
from typing import Any, Protocol, TypeVar

import numpy as np

from ..errors import ForeignTraceError, InvalidRuleOutputError, LeakedTracerError, ModifiedAfterUseError
from .broadcasting import unbroadcaster
from .core import Primitive, Tracer, apply
from .value_checks import PLAIN_CONSTANTS, check_constant, check_result, is_complex, refuse_complex_arguments

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


def _foreign_thread(prim: Primitive) -> ForeignTraceError:
    """A call mixed this trace with a trace of another thread (nested traces share one thread).

    Checked, per value, only where values of older traces take part (the nested
    path). A grad in thread B over thread A's live value would otherwise return
    A's traced value as B's gradient.
    """
    return ForeignTraceError(
        f"{prim.name} was applied to a traced value of a transformation running in "
        "another thread. Each thread differentiates its own values: pass plain arrays "
        "between threads (chainrule.primal(x)), and call grad/vjp/jvp in the thread "
        "that uses them."
    )


# Result types a trace wraps without a closer look (the complex and foreign-type checks
# of value_checks.check_result are for everything else).
_PLAIN_RESULTS = frozenset({np.float64, np.float32, np.float16})


def _refusal(trace: ReverseTrace | ForwardTrace, prim: Primitive) -> Exception:
    """Why ``trace`` cannot record ``prim`` now: it was poisoned, or has closed."""
    if trace.poisoned is not None:
        return trace.poisoned
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

    __slots__ = ("active", "complex_values", "level", "poisoned", "recorder", "saved", "tape", "thread")
    kind = "reverse"

    def __init__(self, recorder: Recorder | None = None) -> None:
        self.level = next(_levels)
        self.tape: list[Node] = []
        self.active = True
        self.recorder = recorder
        self.thread = get_ident()
        self.poisoned: Exception | None = None
        # Whether a complex value was traced: only then are the arguments of primitives
        # without complex rules looked at (a real program pays nothing for it).
        self.complex_values = False
        # The constant arrays the rules may read during the sweep, each with a copy taken
        # when first used: a sweep first checks none was modified since (NumPy arrays have
        # no version counter, so the copy stands in for PyTorch's saved-tensor version check).
        self.saved: dict[int, tuple[np.ndarray, np.ndarray, str]] = {}

    def poison(self, error: Exception) -> None:
        _poison(self, error)

    def _save(self, a: np.ndarray, prim: Primitive) -> None:
        """Keep a copy of constant ``a`` to check later, unless it cannot change.

        An array that is read-only and owns its memory (or views one that is)
        cannot be modified without first making it writeable again, so it is not
        copied: ``big.flags.writeable = False`` spares a large constant the copy.
        """
        owner = a if a.base is None else a.base
        if (
            not a.flags.writeable
            and type(owner) is np.ndarray
            and not owner.flags.writeable
            and owner.base is None
        ):
            self.saved[id(a)] = (a, a, prim.name)
            return
        self.saved[id(a)] = (a, a.copy(), prim.name)

    def check_saved(self) -> None:
        """Raise if a constant array a recorded call used was modified since (the sweep would read it)."""
        for a, copy, name in self.saved.values():
            # The plain comparison first: equal_nan costs several passes more.
            if copy is not a and not np.array_equal(a, copy) and not np.array_equal(a, copy, equal_nan=True):
                raise ModifiedAfterUseError(
                    f"An array of shape {a.shape} used by {name} in the traced computation was "
                    "modified afterwards, so its derivative would be computed from the new "
                    "values. Modify a copy instead (y = a.copy()), or modify it only after the "
                    "derivative has been computed."
                )

    def leaf(self, value: Any) -> Tracer:
        """A traced input: a node with no parents."""
        if not self.complex_values and is_complex(value):
            self.complex_values = True
        node = Node()
        node.parents = ()
        return Tracer(value, self, node)

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.active:
            raise _refusal(self, prim)
        # The per-operation hot path: plain loops, no keyword unpacking when there is none.
        raw: list[Any] = []
        traced: list[int] = []
        outer = False
        for a in args:
            ta = type(a)
            if ta is Tracer:
                if a._trace is self:
                    traced.append(len(raw))
                    a = a._value
                    if type(a) is Tracer:  # this trace's value is an older trace's tracer
                        outer = True
                        if a._trace.thread != self.thread:
                            raise _foreign_thread(prim)
                    raw.append(a)
                    continue
                outer = True
                if a._trace.thread != self.thread:
                    raise _foreign_thread(prim)
            elif ta is np.ndarray:
                if prim.reads_constants and id(a) not in self.saved:
                    self._save(a, prim)
            elif ta not in PLAIN_CONSTANTS:
                check_constant(prim, a)
            raw.append(a)
        if outer and not prim.composite:  # values of older traces remain: they record this call too
            ans = apply(prim, tuple(raw), kwargs)
        else:
            ans = prim.impl(*raw, **kwargs) if kwargs else prim.impl(*raw)
        ta = type(ans)
        if not self.complex_values and ((ta is np.ndarray and ans.dtype.kind != "c") or ta in _PLAIN_RESULTS):
            complex_ans = False  # the per-operation path of a real program
        else:
            complex_ans = _checked_result(self, prim, ans, raw, traced)
        # The rules, applied: for each traced argument, its function g -> cotangent.
        # Written out here, on the per-operation path (no helper call); everything
        # else that needs a rule applied (the checker's localization) goes through
        # this method (see rule_application.py).
        fresh = prim.fresh_cotangents
        makers = prim.vjp_makers
        parents = []
        if prim.joint_vjp is not None:  # a variadic rule: every traced position in one call
            fns = prim.joint_vjp(tuple(traced), ans, *raw, **kwargs)
            parents = [(args[i]._node, fn, fresh) for i, fn in zip(traced, fns) if fn is not None]
            traced = []
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
            if complex_ans and not is_complex(raw[i]):
                # A real argument of a complex result: its cotangent is the real part
                # (the transpose of embedding the reals in the complex numbers).
                fn = _real_part(fn)
            parents.append((args[i]._node, fn, fresh))
        node = Node()
        node.parents = parents
        self.tape.append(node)
        if self.recorder is not None:
            self.recorder(node, prim, args, raw, traced, kwargs, ans)
        return Tracer(ans, self, node)


class ForwardTrace:
    """Forward mode: each tracer carries its tangent, computed op by op."""

    __slots__ = ("active", "complex_values", "level", "poisoned", "thread")
    kind = "forward"

    def __init__(self) -> None:
        self.level = next(_levels)
        self.active = True
        self.complex_values = False
        self.thread = get_ident()
        self.poisoned: Exception | None = None

    def poison(self, error: Exception) -> None:
        _poison(self, error)

    def leaf(self, value: Any, tangent: Any) -> Tracer:
        """A traced input with its tangent."""
        if not self.complex_values and is_complex(value):
            self.complex_values = True
        return Tracer(value, self, None, tangent)

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.active:
            raise _refusal(self, prim)
        raw = list(args)
        traced: list[int] = []
        tangents: list[Any] = []
        outer = False
        for i, a in enumerate(args):
            ta = type(a)
            if ta is Tracer:
                if a._trace is self:
                    traced.append(i)
                    tangents.append(a._tangent)
                    value = raw[i] = a._value
                    if type(value) is Tracer:
                        outer = True
                        if value._trace.thread != self.thread:
                            raise _foreign_thread(prim)
                    continue
                outer = True
                if a._trace.thread != self.thread:
                    raise _foreign_thread(prim)
            elif ta is not np.ndarray and ta not in PLAIN_CONSTANTS:
                check_constant(prim, a)
        if outer and not prim.composite:
            ans = apply(prim, tuple(raw), kwargs)
        else:
            ans = prim.impl(*raw, **kwargs) if kwargs else prim.impl(*raw)
        ta = type(ans)
        if not self.complex_values and ((ta is np.ndarray and ans.dtype.kind != "c") or ta in _PLAIN_RESULTS):
            complex_ans = False  # the per-operation path of a real program
        else:
            complex_ans = _checked_result(self, prim, ans, raw, traced)
        # The rules, applied: the output's tangent, summed over the traced arguments.
        t = None
        rules = prim.jvp_rules
        if prim.joint_jvp is not None:  # a variadic rule: every tangent in one call
            t = prim.joint_jvp(tuple(traced), tuple(tangents), ans, *raw, **kwargs)
            traced = []
        for i, t_in in zip(traced, tangents):
            rule = rules[i] if i in rules else prim.jvp_rule(i)
            if rule is None:
                continue
            c = rule(t_in, ans, *raw, **kwargs) if kwargs else rule(t_in, ans, *raw)
            if c is None:
                continue
            if prim.broadcasts:
                # Read shapes by attribute where there is one (np.shape dispatches).
                out_shape = ans.shape if type(ans) is np.ndarray else np.shape(ans)
                if (c.shape if type(c) is np.ndarray else np.shape(c)) != out_shape:
                    c = np.broadcast_to(c, out_shape)
            t = c if t is None else t + c
        if t is None:
            return ans  # no tangent: a constant of this trace
        if self.complex_values and not complex_ans and is_complex(t):
            raise _complex_tangent(prim)
        return Tracer(ans, self, None, t)


def _checked_result(
    trace: ReverseTrace | ForwardTrace, prim: Primitive, ans: Any, raw: list[Any], traced: list[int]
) -> bool:
    """Whether ``ans`` is complex, after the checks of a result off the real-valued fast path.

    A complex result needs a primitive with complex rules (and marks the trace as having met
    complex values); once it has, the traced arguments of a primitive without complex rules
    are checked too (``np.sign(z)`` has a real result). A foreign result type is refused.
    """
    if type(ans) is Tracer:  # an older trace recorded the call, and checked its result
        complex_ans = ans.dtype.kind == "c"
    elif type(ans) in _PLAIN_RESULTS:
        complex_ans = False
    else:
        complex_ans = check_result(prim, ans)
    if complex_ans:
        trace.complex_values = True
    elif trace.complex_values and not prim.supports_complex:
        refuse_complex_arguments(prim, [raw[i] for i in traced])
    return complex_ans


def _real_part(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def real_part(g: Any) -> Any:
        c = fn(g)
        return None if c is None else np.real(c)

    return real_part


def _complex_tangent(prim: Primitive) -> InvalidRuleOutputError:
    return InvalidRuleOutputError(
        f"The forward rule of {prim.name} returned a complex tangent for a real result: a rule "
        "for complex arguments with a real result (abs, angle, real) must return a real tangent. "
        "This is a bug in the rule; please report it with the call that raised this."
    )


class ScopedTrace(Protocol):
    """What :func:`trace_scope` needs of a trace: the reverse, forward and staging traces have it."""

    active: bool
    poisoned: Exception | None


TraceT = TypeVar("TraceT", bound=ScopedTrace)


def _poison(trace: ReverseTrace | ForwardTrace, error: Exception) -> None:
    """Make ``trace`` refuse every further operation with ``error`` (and its scope raise it at the end).

    For a mistake the user's code does not see as an error (NumPy replaces the
    one chainrule raised). Costs nothing per operation: the trace is no longer
    active, and the refusal finds the error.
    """
    if trace.poisoned is None:
        trace.poisoned = error
    trace.active = False


@contextmanager
def trace_scope(trace: TraceT) -> Iterator[TraceT]:
    """Use ``trace`` for the block; afterwards its tracers are refused if used again.

    A trace poisoned during the block raises its error when the block ends,
    even if the block swallowed it or failed otherwise.
    """
    try:
        yield trace
    except Exception as exc:
        if trace.poisoned is not None and exc is not trace.poisoned:
            raise trace.poisoned from exc
        raise
    finally:
        trace.active = False
    if trace.poisoned is not None:
        raise trace.poisoned
