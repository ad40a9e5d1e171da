"""The traced value and the primitives it meets: :class:`Primitive`, :class:`Tracer`, :func:`apply`.

How a traced call flows
-----------------------
1. A transform (``grad``, ``jvp``) opens a trace (:mod:`.traces`) and wraps
   each input in a :class:`Tracer` that points to the trace.
2. The user's NumPy code runs unchanged. NumPy hands every ufunc and every
   array function that sees a :class:`Tracer` to ``Tracer.__array_ufunc__`` or
   ``Tracer.__array_function__``, which look the primitive up in the dispatch
   tables (:mod:`.registry`). Operators (``+``, ``@``, ``x[i]``) go straight
   to the newest trace's ``process`` with the engine's own operator
   primitives, skipping NumPy's dispatch.
3. :func:`apply` finds the newest trace among the arguments and hands it the
   call. The trace unwraps its own tracers, records the call and wraps the
   result. When values of older traces remain, the trace re-applies the
   primitive one trace lower, so a primitive's implementation never sees a
   tracer (except a ``composite`` one's, which is traced through): that is
   how nested derivatives keep their perturbations apart.

This module holds the pieces every trace kind shares; the traces themselves
(reverse, forward) are in :mod:`.traces`, the sweep in :mod:`.sweep`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ComplexValueError, InPlaceError, TracerConversionError, UnsupportedOperationError
from .array_methods import ArrayMethods
from .registry import (
    FUNCTION_HANDLERS,
    NONDIFF_REAL_ONLY,
    NONDIFF_UFUNCS,
    UFUNC_PRIMITIVES,
    qualified_name,
    unsupported,
)
from .value_checks import (
    check_constant,
    conversion_error,
    integer_conversion_error,
    is_complex,
    refuse_foreign_caller,
    refuse_store,
)

__all__ = [
    "BATCH",
    "CAST",
    "STAGING",
    "GETITEM",
    "Primitive",
    "Tracer",
    "apply",
    "as_traced_array",
    "astype",
    "contains_tracer",
    "is_basic_index",
    "normalize_index",
    "primal",
]

VjpMaker = Callable[..., "Callable[[Any], Any] | None"]
JvpRule = Callable[..., Any]

NO_KWARGS: dict[str, Any] = {}


class Primitive:
    """An operation with derivative rules: the unit the engine records.

    Parameters
    ----------
    name
        Shown in error messages, explanations and gradient-check reports.
        Unique among the primitives that carry rules (enforced when a rule is
        registered), so a report names exactly one.
    impl
        The function that computes the value on plain (unwrapped) arguments.
        It never sees a traced value: the engine re-applies the primitive on
        an outer trace's values itself.
    broadcasts
        Whether the arguments broadcast against each other. The engine then
        sums each cotangent back to its argument's shape (and broadcasts each
        tangent up to the output's), so no rule has to.
    composite
        The implementation is itself a composition of traceable NumPy
        operations whose intermediate values the rules keep (custom rules,
        checkpoints). Values of outer traces are then passed into it, so the
        operations it performs are recorded there, instead of the primitive
        being re-applied one trace lower.

    Rules, by argument position (see :mod:`chainrule.extend` for the helpers
    that write them):

    ``vjp_makers[i](ans, *args, **kwargs)`` returns a function ``g -> cotangent
    of argument i``, or ``None`` for a zero cotangent. The two stages keep in
    memory only what the inner function refers to.

    ``jvp_rules[i](t, ans, *args, **kwargs)`` returns argument i's contribution
    to the output tangent for its tangent ``t``, or ``None`` for zero.

    ``reads_constants`` (default ``True``) says the rules may read the values
    of non-traced array arguments during the sweep, so a trace keeps a copy of
    each to detect a later modification. ``add`` and ``subtract`` read only
    shapes, so an accumulator updated in place after ``x + acc`` is fine.

    ``supports_complex`` (default ``False``) declares that the rules are right
    for complex values under JAX's convention (a holomorphic function's reverse
    rule is ``g * f'(z)``, no conjugate; see ``docs/guide/complex.md``). The traces
    refuse a complex argument, constant or result of any other primitive, so a
    rule written for real numbers never meets a complex one silently.

    ``fresh_cotangents`` declares that every cotangent the reverse rules return
    is a new array that nothing else refers to, so the sweep may add later
    contributions into it in place. The family helpers of
    :mod:`chainrule.extend` set it where they compute the product themselves.
    """

    __slots__ = (
        "any_jvp",
        "any_vjp",
        "broadcasts",
        "composite",
        "fresh_cotangents",
        "impl",
        "joint_jvp",
        "joint_vjp",
        "jvp_rules",
        "name",
        "reads_constants",
        "supports_complex",
        "vjp_makers",
    )

    def __init__(
        self, name: str, impl: Callable[..., Any], *, broadcasts: bool = False, composite: bool = False
    ):
        self.name = name
        self.impl = impl
        self.broadcasts = broadcasts
        self.composite = composite
        self.fresh_cotangents = False
        self.reads_constants = True
        self.supports_complex = False
        self.vjp_makers: dict[int, VjpMaker | None] = {}
        self.jvp_rules: dict[int, JvpRule | None] = {}
        # For primitives with any number of arguments: rule(argnum, ...).
        self.any_vjp: Callable[..., Any] | None = None
        self.any_jvp: Callable[..., Any] | None = None
        # Variadic rules (defvariadic): called once per application with every traced
        # position, so that n arguments are read once, not once per traced argument.
        self.joint_vjp: Callable[..., Any] | None = None
        self.joint_jvp: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return apply(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def vjp_maker(self, argnum: int) -> VjpMaker | None:
        """The reverse rule's first stage for argument ``argnum`` (``None``: zero cotangent)."""
        try:
            return self.vjp_makers[argnum]
        except KeyError:
            pass
        if self.any_vjp is not None:
            any_vjp = self.any_vjp
            return lambda ans, *args, **kw: any_vjp(argnum, ans, *args, **kw)
        if self.joint_vjp is not None:
            joint_vjp = self.joint_vjp
            return lambda ans, *args, **kw: joint_vjp((argnum,), ans, *args, **kw)[0]
        raise UnsupportedOperationError(
            f"{self.name} has no reverse-mode rule for its argument {argnum}; "
            "differentiate with respect to another argument, or register one with "
            "chainrule.defvjp."
        )

    def jvp_rule(self, argnum: int) -> JvpRule | None:
        """The forward rule for argument ``argnum`` (``None``: zero tangent contribution)."""
        try:
            return self.jvp_rules[argnum]
        except KeyError:
            pass
        if self.any_jvp is not None:
            any_jvp = self.any_jvp
            return lambda t, ans, *args, **kw: any_jvp(argnum, t, ans, *args, **kw)
        if self.joint_jvp is not None:
            joint_jvp = self.joint_jvp
            return lambda t, ans, *args, **kw: joint_jvp((argnum,), (t,), ans, *args, **kw)
        raise UnsupportedOperationError(
            f"{self.name} has no forward-mode rule for its argument {argnum}; use "
            "reverse mode (grad, vjp, jacrev) for it, or register one with chainrule.defjvp."
        )


def apply(prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run ``prim`` on ``args``, recording it on the newest trace among them."""
    top = None
    level = 0
    for a in args:
        if type(a) is Tracer:
            t = a._trace
            if t.level > level:
                top = t
                level = t.level
    if top is None:
        for a in args:  # a staging or batched value inside a tuple (an index): its trace records the call
            if type(a) is tuple:
                for b in a:
                    if type(b) is Tracer and (b._trace.kind is STAGING or b._trace.kind is BATCH):
                        return b._trace.process(prim, args, kwargs)
        return prim.impl(*args, **kwargs)
    return top.process(prim, args, kwargs)


def primal(x: Any) -> Any:
    """The plain value under any number of trace wrappers (no derivative flows).

    Under ``chainrule.jit`` it stops at the staging trace's value: that is the
    function's data, which the staged code must read when it runs.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: x * cr.primal(x))(3.0)  # the second factor is a constant
    np.float64(3.0)
    """
    while type(x) is Tracer:
        kind = x._trace.kind
        if kind is STAGING or kind is BATCH:  # (a batched value's data has the batch axis)
            return x
        x = x._value
    return x


def plain_call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``fn`` (no derivative) on the plain values of ``args``; values still traced: their trace computes it.

    A batched value (``chainrule.vmap``) stays traced under :func:`primal`: its
    trace computes ``fn`` example by example, or all at once.
    """
    plain = [primal(a) for a in args]
    newest = None
    for v in plain:
        if type(v) is Tracer and (newest is None or v._trace.level > newest.level):
            newest = v._trace
    if newest is not None:
        return newest.call(fn, tuple(plain), kwargs)
    return fn(*plain, **kwargs)


class _Stacked:
    """Names the operation in refusals of what a list of traced values holds."""

    name = "stacking a list that holds traced values"
    supports_complex = True  # the stack itself is linear; each element's own step was checked


_STACKED = _Stacked()


def contains_tracer(value: Any) -> bool:
    """Whether ``value`` is traced, or a list or tuple (at any depth) holding a traced value."""
    if type(value) is Tracer:
        return True
    if isinstance(value, list | tuple):
        return any(contains_tracer(v) for v in value)
    return False


def as_traced_array(value: Any) -> Any:
    """An array-like argument as one array: nested lists holding traced values are stacked.

    NumPy accepts ``[x, [np.prod(x)]]``-style containers where it expects an
    array, but converting one that holds a traced value would drop its
    derivative. A handler that NumPy dispatched to calls this instead of
    ``np.asarray``: a traced value is returned as it is, a container holding
    traced values becomes ``np.stack`` of its elements (recursively, so the
    result is traced), and anything else becomes ``np.asarray(value)``.

    >>> as_traced_array([1.0, 2.0])
    array([1., 2.])
    """
    if type(value) is Tracer:
        return value
    if isinstance(value, list | tuple) and contains_tracer(value):
        parts = [as_traced_array(v) for v in value]
        if not parts:
            return np.asarray(value)
        return np.stack(parts)
    if type(value) is not np.ndarray:  # a masked array or matrix would lose its meaning here
        check_constant(_STACKED, value)
    return np.asarray(value)


# -- the staging trace's hook (chainrule.jit; the trace itself is in .staging) -----------
# A staging trace is always the outermost trace. It records every NumPy call made on its
# values, with derivative rules or without, so the calls can be replayed later with no
# tracing. Where the engine would otherwise compute on plain values (comparisons, bool(),
# functions without rules), a value that is still traced after primal() is a staging
# value, and the call goes to its trace's ``call`` (record a NumPy call) or ``concrete``
# (a Python value the staged code must guard).
STAGING = "staging"
# A batch trace's values also stay traced under primal() (their data has one more axis
# than the value they stand for); the trace itself is in .batching.
BATCH = "batch"


def staging_trace(args: Any, kwargs: dict[str, Any] = NO_KWARGS) -> Any:
    """The staging trace when it is the only trace among ``args`` (one level into lists), else None."""
    trace = None
    for a in (*args, *kwargs.values()):
        if type(a) is list or type(a) is tuple:
            for b in a:
                if type(b) is Tracer:
                    if b._trace.kind is not STAGING:
                        return None
                    trace = b._trace
        elif type(a) is Tracer:
            if a._trace.kind is not STAGING:
                return None
            trace = a._trace
    return trace


def _compare(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    a, b = primal(a), primal(b)
    if type(a) is Tracer or type(b) is Tracer:  # staging or batched values: their trace computes it
        trace = _newest(a, b) if type(a) is Tracer else b._trace
        return trace.call(op, (a, b), NO_KWARGS)
    return op(a, b)


def _newest(a: Tracer, b: Any) -> Any:
    """The trace that records ``a op b``: the newer of the two operands' traces."""
    if type(b) is Tracer and b._trace.level > a._trace.level:
        return b._trace
    return a._trace


class Tracer(ArrayMethods):
    """A value being differentiated: a NumPy duck array that records what is done to it.

    It takes part in NumPy's own dispatch (``__array_ufunc__``, NEP 13, and
    ``__array_function__``, NEP 18), so unmodified NumPy code runs on it. It
    is immutable: ``x += 1`` rebinds ``x`` to a new tracer, and ``x[i] = v``
    is refused with the functional alternative.

    ``_node`` is its recorded node in a reverse trace; ``_tangent`` its
    tangent in a forward trace. Each trace reads only its own slot.
    """

    __slots__ = ("_node", "_tangent", "_trace", "_value")
    __array_priority__ = 1000.0

    def __init__(self, value: Any, trace: Any, node: Any = None, tangent: Any = None):
        self._value = value
        self._trace = trace
        self._node = node
        self._tangent = tangent

    # -- what NumPy asks of a duck array ------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape  # type: ignore[no-any-return]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._value.dtype  # type: ignore[no-any-return]

    @property
    def ndim(self) -> int:
        return self._value.ndim  # type: ignore[no-any-return]

    @property
    def size(self) -> int:
        return self._value.size  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self._value)

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        value = primal(self)
        if type(value) is Tracer:
            return value._trace.describe(value)  # type: ignore[no-any-return]
        return f"Tracer({value!r}, {self._trace.kind} trace {self._trace.level})"

    def __str__(self) -> str:
        value = primal(self)
        if type(value) is Tracer:  # print() while staging: refused, naming the line
            return value._trace.concrete(value, str)  # type: ignore[no-any-return]
        return repr(self)

    def __bool__(self) -> bool:
        value = primal(self)
        if type(value) is Tracer:  # a branch on a staging value: guarded in the staged code
            return value._trace.concrete(value, bool)  # type: ignore[no-any-return]
        return bool(value)

    __hash__ = object.__hash__

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        for v in inputs:  # np.add([x[0], x[1]], y): a ufunc's inputs are array-likes
            if type(v) is list or type(v) is tuple:
                inputs = tuple(as_traced_array(u) if isinstance(u, list | tuple) else u for u in inputs)
                break
        if method == "__call__" and not kwargs:
            prim = UFUNC_PRIMITIVES.get(ufunc)
            if prim is not None:
                return apply(prim, inputs, NO_KWARGS)
        if self._trace.kind is BATCH:
            call = ufunc if method == "__call__" else getattr(ufunc, method)
            return self._trace.dispatch((ufunc, method), call, _method_handler(ufunc, method), inputs, kwargs)
        return _dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if self._trace.kind is STAGING and staging_trace(args, kwargs) is not None:
            return self._trace.call(func, args, kwargs)
        handler = FUNCTION_HANDLERS.get(func)
        if handler is None:
            raise unsupported(func)
        if self._trace.kind is BATCH:  # (a handler may call func on plain values: see BatchTrace.dispatch)
            return self._trace.dispatch(func, func, handler, args, kwargs)
        return handler(*args, **kwargs)

    def astype(self, dtype: Any, copy: bool = True) -> Any:
        return astype(self, dtype)

    # Traced values are immutable, so a copy may be the value itself; it stays traced.
    def __copy__(self) -> Tracer:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Tracer:
        return self

    def view(self, dtype: Any = None, type: Any = None) -> Any:
        if dtype is None and type is None:
            return self  # a view of an immutable value is the value
        raise UnsupportedOperationError(
            "x.view(dtype) reinterprets the bytes of a traced value, which has no derivative. "
            "Use x.astype(dtype) to convert values, or chainrule.primal(x).view(...) where no "
            "derivative should flow."
        )

    # -- refusals ------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        refuse_foreign_caller()
        raise conversion_error("Converting to a NumPy array", primal(self))

    def __float__(self) -> float:
        refuse_store(self)
        raise conversion_error("float() of")

    def __int__(self) -> int:
        refuse_store(self)
        raise integer_conversion_error("int", primal(self))

    def __complex__(self) -> complex:
        raise conversion_error("complex() of")

    def __index__(self) -> int:
        raise conversion_error("Using as an index")

    def tolist(self) -> Any:
        raise conversion_error("tolist() of")

    def item(self, *args: Any) -> Any:
        raise conversion_error("item() of")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise InPlaceError(
            "Traced arrays are immutable: x[i] = v cannot be recorded. Write "
            "x = chainrule.at(x)[i].set(v) (or .add(v)), or build the array with "
            "np.where / np.concatenate."
        )

    # -- operators: straight to the newest trace, skipping NumPy's dispatch --
    def __add__(self, other: Any) -> Any:
        return _newest(self, other).process(ADD, (self, other), NO_KWARGS)

    def __radd__(self, other: Any) -> Any:
        return _newest(self, other).process(ADD, (other, self), NO_KWARGS)

    def __sub__(self, other: Any) -> Any:
        return _newest(self, other).process(SUBTRACT, (self, other), NO_KWARGS)

    def __rsub__(self, other: Any) -> Any:
        return _newest(self, other).process(SUBTRACT, (other, self), NO_KWARGS)

    def __mul__(self, other: Any) -> Any:
        return _newest(self, other).process(MULTIPLY, (self, other), NO_KWARGS)

    def __rmul__(self, other: Any) -> Any:
        return _newest(self, other).process(MULTIPLY, (other, self), NO_KWARGS)

    def __truediv__(self, other: Any) -> Any:
        return _newest(self, other).process(DIVIDE, (self, other), NO_KWARGS)

    def __rtruediv__(self, other: Any) -> Any:
        return _newest(self, other).process(DIVIDE, (other, self), NO_KWARGS)

    def __pow__(self, other: Any) -> Any:
        if type(other) in (int, float) and other == 2:
            return self._trace.process(SQUARE, (self,), NO_KWARGS)
        return _newest(self, other).process(POWER, (self, other), NO_KWARGS)

    def __rpow__(self, other: Any) -> Any:
        return _newest(self, other).process(POWER, (other, self), NO_KWARGS)

    def __matmul__(self, other: Any) -> Any:
        return _newest(self, other).process(MATMUL, (self, other), NO_KWARGS)

    def __rmatmul__(self, other: Any) -> Any:
        return _newest(self, other).process(MATMUL, (other, self), NO_KWARGS)

    def __neg__(self) -> Any:
        return self._trace.process(NEGATIVE, (self,), NO_KWARGS)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return np.abs(self)

    def __mod__(self, other: Any) -> Any:
        return np.mod(self, other)

    def __rmod__(self, other: Any) -> Any:
        return np.mod(other, self)

    def __floordiv__(self, other: Any) -> Any:
        return np.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return np.floor_divide(other, self)

    def __divmod__(self, other: Any) -> Any:
        return np.floor_divide(self, other), np.mod(self, other)

    def __lt__(self, other: Any) -> Any:
        return _compare(operator.lt, self, other)

    def __le__(self, other: Any) -> Any:
        return _compare(operator.le, self, other)

    def __gt__(self, other: Any) -> Any:
        return _compare(operator.gt, self, other)

    def __ge__(self, other: Any) -> Any:
        return _compare(operator.ge, self, other)

    def __eq__(self, other: Any) -> Any:
        return _compare(operator.eq, self, other)

    def __ne__(self, other: Any) -> Any:
        return _compare(operator.ne, self, other)

    def __getitem__(self, index: Any) -> Any:
        # An index carries no derivative (differentiated indices are refused), so this
        # tracer's own trace records the call, unless the index is batched by a newer
        # vmap: that trace must see it (the value would otherwise outlive its trace).
        index = normalize_index(index)
        trace = self._trace
        if type(index) is Tracer:
            if index._trace.level > trace.level:
                trace = index._trace
        elif type(index) is tuple:
            for p in index:
                if type(p) is Tracer and p._trace.level > trace.level:
                    trace = p._trace
        return trace.process(GETITEM, (self, index), NO_KWARGS)


# -- the engine's own primitives: operators, indexing, casting ------------------------
# The rules attach to these same objects (chainrule.rules finds them by ufunc).
def _ufunc_primitive(ufunc: np.ufunc, broadcasts: bool) -> Primitive:
    prim = Primitive(qualified_name(ufunc), ufunc, broadcasts=broadcasts)
    UFUNC_PRIMITIVES[ufunc] = prim
    return prim


ADD = _ufunc_primitive(np.add, True)
SUBTRACT = _ufunc_primitive(np.subtract, True)
ADD.reads_constants = SUBTRACT.reads_constants = False  # their rules need shapes only
MULTIPLY = _ufunc_primitive(np.multiply, True)
DIVIDE = _ufunc_primitive(np.true_divide, True)
POWER = _ufunc_primitive(np.power, True)
SQUARE = _ufunc_primitive(np.square, False)
NEGATIVE = _ufunc_primitive(np.negative, False)
# matmul broadcasts batch dimensions itself; its rules undo that, not the engine.
MATMUL = _ufunc_primitive(np.matmul, False)
GETITEM = Primitive("getitem", operator.getitem)


def is_basic_index(index: Any) -> bool:
    """Whether ``index`` selects a view (ints, slices, None, Ellipsis): no repeats possible."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or (isinstance(p, slice | int | np.integer) and not isinstance(p, bool))
        for p in parts
    )


def normalize_index(index: Any) -> Any:
    """Lists become arrays (as NumPy reads them); traced indices are refused."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        # A staging value is data (recorded); a batched one (vmap) differs by example.
        if type(p) is Tracer and p._trace.kind is not STAGING and p._trace.kind is not BATCH:
            raise TracerConversionError(
                "A traced value was used as an index. Indices carry no derivative: "
                "use chainrule.primal(i).astype(int) to index with its value."
            )
        out.append(np.asarray(p) if isinstance(p, list) else p)
    return tuple(out) if isinstance(index, tuple) else out[0]


def _cast_impl(x: Any, dtype: Any) -> Any:
    return x.astype(dtype)


CAST = Primitive("ndarray.astype", _cast_impl)


def astype(x: Any, dtype: Any) -> Any:
    """``x.astype(dtype)``: differentiable between inexact dtypes, plain otherwise.

    Casting to an integer or boolean dtype has zero derivative almost
    everywhere, so the result is a plain array.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "c" and np.dtype(x.dtype).kind == "c":
        raise ComplexValueError(
            f"Casting a traced complex value to {dtype} would drop its imaginary part, so "
            "chainrule refuses. Take np.real(x) (or np.abs(x)) first."
        )
    if not np.issubdtype(dtype, np.inexact):
        plain = primal(x)
        if type(plain) is Tracer:
            return plain._trace.call(_cast_impl, (plain, dtype), NO_KWARGS)
        return np.asarray(plain).astype(dtype)
    if np.dtype(x.dtype) == dtype:
        return x
    return CAST(x, dtype)


# -- NumPy's ufunc protocol (NEP 13) beyond a plain call ------------------------------
_REDUCE: dict[np.ufunc, Callable[..., Any]] = {
    np.add: np.sum,
    np.multiply: np.prod,
    np.maximum: np.max,
    np.minimum: np.min,
}
_ACCUMULATE: dict[np.ufunc, Callable[..., Any]] = {np.add: np.cumsum, np.multiply: np.cumprod}
# Binary ufuncs whose reduce/accumulate NumPy computes as the left fold ((a0 op a1) op a2)...
# (power is not among them: NumPy's float power.reduce is not that fold).
_FOLDS = {
    np.subtract, np.true_divide, np.logaddexp, np.logaddexp2, np.hypot,
    np.maximum, np.minimum, np.fmax, np.fmin, np.add, np.multiply,
}  # fmt: skip


def _dispatch_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A ufunc call with options, or a ufunc method (``reduce``, ``accumulate``, ``outer``, ``at``).

    Reductions and accumulations of ``add``/``multiply``/``maximum``/``minimum``
    go to the matching array function (``np.add.reduce`` is ``np.sum``);
    in-place forms are refused.
    """
    out = kwargs.pop("out", None)
    if out is not None:
        outs = out if isinstance(out, tuple) else (out,)
        raise InPlaceError(
            f"{qualified_name(ufunc)} was asked to write a traced result into an existing "
            f"array (out=..., or an in-place operator such as a += x on a NumPy array "
            f"a); the write cannot be recorded. Write the functional form instead: "
            f"a = {ufunc.__name__}(...) or a = a + x."
            + (" The output array is itself traced." if any(type(v) is Tracer for v in outs) else "")
        )
    if "where" in kwargs:
        raise InPlaceError(
            f"{qualified_name(ufunc)}(..., where=mask) leaves the unselected entries "
            "undefined; use np.where(mask, ufunc(...), fallback) instead."
        )
    staging = staging_trace(inputs, kwargs)
    if staging is not None:
        call = ufunc if method == "__call__" else getattr(ufunc, method)
        return staging.call(call, inputs, kwargs)
    if method == "__call__":
        prim = UFUNC_PRIMITIVES.get(ufunc)
        if prim is not None and kwargs.get("dtype") is not None and ufunc not in NONDIFF_UFUNCS:
            # ufunc(a, b, dtype=d) computes in d: cast the inputs, then the plain call.
            dtype = np.dtype(kwargs.pop("dtype"))
            inputs = tuple(astype(v, dtype) if type(v) is Tracer else np.asarray(v, dtype) for v in inputs)
        if prim is not None:
            return apply(prim, inputs, kwargs)
        if ufunc in NONDIFF_UFUNCS:
            plain = tuple(map(primal, inputs))
            if ufunc in NONDIFF_REAL_ONLY and any(map(is_complex, plain)):
                raise unsupported(ufunc, " of complex values (not piecewise constant there: sign(z) = z/|z|)")
            return plain_call(ufunc, inputs, kwargs)
        raise unsupported(ufunc)
    if method == "reduce" and ufunc in _REDUCE:
        axis = kwargs.pop("axis", 0)
        return _REDUCE[ufunc](inputs[0], axis=axis, **kwargs)
    if method == "accumulate" and ufunc in _ACCUMULATE:
        if np.ndim(inputs[0]) == 0:  # np.cumsum takes 0-d as 1-d, accumulate refuses it:
            ufunc.accumulate(primal(inputs[0]))  # NumPy raises its own error
        axis = kwargs.pop("axis", 0)
        return _ACCUMULATE[ufunc](inputs[0], axis=axis, **kwargs)
    if method in ("reduce", "accumulate") and ufunc in _FOLDS and len(inputs) == 1:
        return _fold(ufunc, method, inputs[0], kwargs)
    if method == "outer" and ufunc in UFUNC_PRIMITIVES and len(inputs) == 2:
        a, b = inputs
        a = np.reshape(a, np.shape(a) + (1,) * np.ndim(b))
        return ufunc(a, b, **kwargs)
    if method in ("reduce", "accumulate", "outer", "reduceat") and ufunc in NONDIFF_UFUNCS:
        return plain_call(getattr(ufunc, method), inputs, kwargs)
    if method == "at":
        functional = {"add": "add(v)", "subtract": "add(-v)", "multiply": "multiply(v)"}.get(ufunc.__name__)
        raise InPlaceError(
            f"{qualified_name(ufunc)}.at writes in place and cannot be recorded; use "
            + (f"chainrule.at(x)[idx].{functional} (duplicate indices accumulate)." if functional else
               "a functional form: chainrule.at(x)[idx].set(v) with the values computed by NumPy "
               "operations on x[idx] (unique indices), or np.where over a mask.")
        )  # fmt: skip
    raise unsupported(ufunc, f".{method}")


def _method_handler(ufunc: np.ufunc, method: str) -> Callable[..., Any]:
    return lambda *inputs, **kwargs: _dispatch_ufunc(ufunc, method, inputs, kwargs)


def _fold(ufunc: np.ufunc, method: str, a: Any, kwargs: dict[str, Any]) -> Any:
    """``ufunc.reduce``/``ufunc.accumulate`` of a binary ufunc in ``_FOLDS``, as NumPy's left fold.

    ``((a0 op a1) op a2) ...`` along the axis, one recorded call per element
    (so ``subtract``/``divide``/``power`` keep NumPy's order); several axes
    (reduce only) fold one after the other, as NumPy allows for reorderable ufuncs.
    """
    # NumPy validates the call (axes, identity of empty reductions, dtype) on the plain value.
    expected = getattr(ufunc, method)(primal(a), **kwargs)
    axis = kwargs.pop("axis", 0)
    dtype = kwargs.pop("dtype", None)
    keepdims = kwargs.pop("keepdims", False)
    initial = kwargs.pop("initial", None)
    if kwargs:
        raise unsupported(ufunc, f".{method} with {', '.join(sorted(kwargs))}=")
    if dtype is not None:
        a = astype(a, dtype)
    if axis is None:
        a = np.reshape(a, (-1,))
        axes: tuple[int, ...] = (0,)
    else:
        given = axis if isinstance(axis, tuple) else (axis,)
        axes = tuple(sorted((operator.index(x) % max(a.ndim, 1) for x in given), reverse=True))
    for ax in axes:  # from the last axis, so the others keep their positions
        moved = np.moveaxis(a, ax, 0)
        acc = moved[0] if initial is None else ufunc(initial, moved[0])
        partial = [acc]
        for i in range(1, moved.shape[0]):
            acc = ufunc(acc, moved[i])
            partial.append(acc)
        if method == "accumulate":
            return np.moveaxis(np.stack(partial), 0, ax)
        a = np.expand_dims(acc, ax) if keepdims else acc
    if axis is None and keepdims:
        a = np.reshape(a, np.shape(expected))
    return a
