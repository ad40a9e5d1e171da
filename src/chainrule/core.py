"""The engine: primitives, traces, the traced value and the reverse sweep.

How a traced call flows
-----------------------
1. A transform (``grad``, ``jvp``) opens a trace and wraps each input in a
   :class:`Tracer` that points to the trace.
2. The user's NumPy code runs unchanged. NumPy hands every ufunc and every
   array function that sees a :class:`Tracer` to ``Tracer.__array_ufunc__`` or
   ``Tracer.__array_function__``; operators go straight to :func:`apply`.
3. :func:`apply` finds the newest trace among the arguments, unwraps the
   arguments that belong to it and runs the primitive on the raw values. Older
   traces' tracers stay wrapped, so the primitive's own call dispatches again,
   one trace lower: that is how nested derivatives keep their perturbations
   apart.
4. A :class:`ReverseTrace` appends one :class:`Node` to its tape, holding the
   closures that map an output cotangent to each input's cotangent. A
   :class:`ForwardTrace` computes the output tangent at once.
5. :func:`reverse_sweep` walks the tape backwards (creation order is a valid
   topological order), calls each closure once and sums cotangents per node.

Rules are written with NumPy operations, so when they run on tracers of an
outer trace they are themselves differentiated: higher orders need nothing
more.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .array_methods import ArrayMethods
from .errors import (
    InPlaceError,
    LeakedTracerError,
    TracerConversionError,
    UnsupportedOperationError,
)

__all__ = [
    "FUNCTION_HANDLERS",
    "UFUNC_PRIMITIVES",
    "ForwardTrace",
    "Node",
    "Primitive",
    "ReverseTrace",
    "Tracer",
    "apply",
    "defjvp",
    "defvjp",
    "primal",
    "reverse_sweep",
]

VjpMaker = Callable[..., Callable[[Any], Any] | None]
JvpRule = Callable[..., Any]


class Primitive:
    """An operation with derivative rules: the unit the engine records.

    Parameters
    ----------
    name
        Shown in error messages, explanations and gradient-check reports.
    impl
        The function that computes the value on raw (unwrapped) arguments.
    broadcasts
        Whether the arguments broadcast against each other. The engine then
        sums each cotangent back to its argument's shape (and broadcasts each
        tangent up to the output's), so no rule has to.

    Rules, by argument position:

    ``vjp_makers[i](ans, *args, **kwargs)`` returns a function ``g -> cotangent
    of argument i``, or ``None`` for a zero cotangent. The two stages keep in
    memory only what the inner function refers to.

    ``jvp_rules[i](t, ans, *args, **kwargs)`` returns argument i's contribution
    to the output tangent for its tangent ``t``, or ``None`` for zero.
    """

    __slots__ = ("any_jvp", "any_vjp", "broadcasts", "impl", "jvp_rules", "name", "vjp_makers")

    def __init__(self, name: str, impl: Callable[..., Any], *, broadcasts: bool = False):
        self.name = name
        self.impl = impl
        self.broadcasts = broadcasts
        self.vjp_makers: dict[int, VjpMaker | None] = {}
        self.jvp_rules: dict[int, JvpRule | None] = {}
        # For primitives with any number of arguments: rule(argnum, ...).
        self.any_vjp: Callable[..., Any] | None = None
        self.any_jvp: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return apply(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def vjp_maker(self, argnum: int) -> VjpMaker | None:
        try:
            return self.vjp_makers[argnum]
        except KeyError:
            pass
        if self.any_vjp is not None:
            any_vjp = self.any_vjp
            return lambda ans, *args, **kw: any_vjp(argnum, ans, *args, **kw)
        raise UnsupportedOperationError(
            f"{self.name} has no reverse-mode rule for its argument {argnum}; "
            "differentiate with respect to another argument, or register one with "
            "chainrule.defvjp."
        )

    def jvp_rule(self, argnum: int) -> JvpRule | None:
        try:
            return self.jvp_rules[argnum]
        except KeyError:
            pass
        if self.any_jvp is not None:
            any_jvp = self.any_jvp
            return lambda t, ans, *args, **kw: any_jvp(argnum, t, ans, *args, **kw)
        raise UnsupportedOperationError(
            f"{self.name} has no forward-mode rule for its argument {argnum}; use "
            "reverse mode (grad, vjp, jacrev) for it, or register one with chainrule.defjvp."
        )


# The dispatch tables, filled by the modules in chainrule.rules.
UFUNC_PRIMITIVES: dict[np.ufunc, Primitive] = {}
FUNCTION_HANDLERS: dict[Callable[..., Any], Callable[..., Any]] = {}
# Ufuncs whose result carries no derivative (comparisons, rounding, tests):
# they run on the plain values, which is exact, not an approximation.
NONDIFF_UFUNCS: set[np.ufunc] = set()
# Python-level operations that are not NumPy functions (indexing, casting).
INTERNAL: dict[str, Primitive] = {}


def _primitive_for(fun: Any, broadcasts: bool | None = None) -> Primitive:
    """The primitive registered for ``fun``, creating and registering it if new."""
    if isinstance(fun, Primitive):
        return fun
    if isinstance(fun, np.ufunc):
        prim = UFUNC_PRIMITIVES.get(fun)
        if prim is None:
            prim = Primitive(qualified_name(fun), fun, broadcasts=fun.nin > 1)
            UFUNC_PRIMITIVES[fun] = prim
        return prim
    handler = FUNCTION_HANDLERS.get(fun)
    prim = getattr(handler, "__self__", None)
    if isinstance(prim, Primitive):
        return prim
    prim = Primitive(qualified_name(fun), fun, broadcasts=bool(broadcasts))
    FUNCTION_HANDLERS[fun] = prim.__call__
    return prim


def defvjp(fun: Any, *makers: VjpMaker | None, argnums: Iterable[int] | None = None) -> Primitive:
    """Register reverse-mode rules for a NumPy function, ufunc or :class:`Primitive`.

    Each maker has the signature ``maker(ans, *args, **kwargs) -> (g -> cotangent)``
    and belongs to the argument in the same position (or in ``argnums``).
    ``None`` declares a zero cotangent. Write the inner function with NumPy
    operations so that it can itself be differentiated.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> cube = cr.Primitive("cube", lambda x: x ** 3)
    >>> _ = cr.defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)
    >>> float(cr.grad(lambda x: cube(x))(2.0))
    12.0
    """
    prim = _primitive_for(fun)
    positions = range(len(makers)) if argnums is None else list(argnums)
    for i, maker in zip(positions, makers, strict=True):
        prim.vjp_makers[i] = maker
    return prim


def defjvp(fun: Any, *rules: JvpRule | None, argnums: Iterable[int] | None = None) -> Primitive:
    """Register forward-mode rules ``rule(t, ans, *args, **kwargs) -> tangent contribution``."""
    prim = _primitive_for(fun)
    positions = range(len(rules)) if argnums is None else list(argnums)
    for i, rule in zip(positions, rules, strict=True):
        prim.jvp_rules[i] = rule
    return prim


def qualified_name(fun: Any) -> str:
    """``numpy.fft.fft``, ``numpy.sin``, ``scipy.special.gammaln``: what a user typed."""
    name = getattr(fun, "__name__", None) or repr(fun)
    if isinstance(fun, np.ufunc):
        if getattr(np, name, None) is fun:
            return f"numpy.{name}"
        return f"scipy.special.{name}" if _is_scipy_special(fun) else f"ufunc {name!r}"
    module = getattr(fun, "__module__", None)
    if module and module.startswith("numpy"):
        for public in ("numpy.linalg", "numpy.fft", "numpy.random", "numpy"):
            if module.startswith(public):
                return f"{public}.{name}"
    return f"{module}.{name}" if module else name


def _is_scipy_special(fun: np.ufunc) -> bool:
    import sys

    special = sys.modules.get("scipy.special")
    return special is not None and getattr(special, fun.__name__, None) is fun


_levels = itertools.count(1)
_NO_KWARGS: dict[str, Any] = {}


class Node:
    """One recorded primitive call: for each traced input, its node and the
    function that maps this node's cotangent to that input's contribution."""

    __slots__ = ("parents",)

    def __init__(self, parents: list[tuple[Node, Callable[[Any], Any]]] | tuple[()]):
        self.parents = parents


class ReverseTrace:
    """A tape of :class:`Node` in creation order, for reverse mode."""

    __slots__ = ("active", "level", "tape")

    def __init__(self) -> None:
        self.level = next(_levels)
        self.tape: list[Node] = []
        self.active = True

    def leaf(self, value: Any) -> Tracer:
        return Tracer(value, self, Node(()))

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.active:
            raise _leaked(prim)
        # The per-operation hot path: plain loops, no keyword unpacking when there is none.
        raw = []
        parents = []
        traced = []
        for a in args:
            if type(a) is Tracer and a._trace is self:
                traced.append(len(raw))
                raw.append(a._value)
            else:
                raw.append(a)
        ans = prim.impl(*raw, **kwargs) if kwargs else prim.impl(*raw)
        makers = prim.vjp_makers
        for i in traced:
            maker = makers[i] if i in makers else prim.vjp_maker(i)
            if maker is None:
                continue
            fn = maker(ans, *raw, **kwargs) if kwargs else maker(ans, *raw)
            if fn is None:
                continue
            if prim.broadcasts:
                shape = raw[i].shape
                if shape != ans.shape:
                    fn = _unbroadcaster(fn, shape, ans.shape)
            parents.append((args[i]._node, fn))
        node = Node(parents)
        self.tape.append(node)
        return Tracer(ans, self, node)


def _unbroadcaster(fn: Callable[[Any], Any], shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Any:
    return _UNBROADCASTER(fn, shape, out_shape)


class ForwardTrace:
    """Forward mode: each tracer carries its tangent, computed op by op."""

    __slots__ = ("active", "level")

    def __init__(self) -> None:
        self.level = next(_levels)
        self.active = True

    def leaf(self, value: Any, tangent: Any) -> Tracer:
        return Tracer(value, self, tangent)

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.active:
            raise _leaked(prim)
        raw = list(args)
        traced = []
        for i, a in enumerate(args):
            if type(a) is Tracer and a._trace is self:
                raw[i] = a._value
                traced.append(i)
        ans = prim.impl(*raw, **kwargs)
        out_tangent = None
        for i in traced:
            rule = prim.jvp_rule(i)
            if rule is None:
                continue
            t = rule(args[i]._node, ans, *raw, **kwargs)
            if t is None:
                continue
            if prim.broadcasts and np.shape(t) != np.shape(ans):
                t = np.broadcast_to(t, np.shape(ans))
            out_tangent = t if out_tangent is None else out_tangent + t
        if out_tangent is None:
            return ans
        return Tracer(ans, self, out_tangent)


def _leaked(prim: Primitive) -> LeakedTracerError:
    return LeakedTracerError(
        f"{prim.name} was applied to a traced value whose transformation has already "
        "returned (it was stored in a global, an attribute or a closure that outlived "
        "the call). Pass it in as an argument instead, or take its value with "
        "chainrule.primal(x) if no derivative should flow through it."
    )


def _newest(a: Tracer, b: Any) -> ReverseTrace | ForwardTrace:
    """The trace that records ``a op b``: the newer of the two operands' traces."""
    if type(b) is Tracer and b._trace.level > a._trace.level:
        return b._trace
    return a._trace


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
        return prim.impl(*args, **kwargs)
    return top.process(prim, args, kwargs)


def primal(x: Any) -> Any:
    """The plain value under any number of trace wrappers (no derivative flows)."""
    while type(x) is Tracer:
        x = x._value
    return x


def reverse_sweep(
    trace: ReverseTrace,
    seeds: Iterable[tuple[Node, Any]],
    *,
    retain: bool = False,
) -> dict[Node, Any]:
    """Propagate cotangents from ``seeds`` back through ``trace``'s tape.

    Returns the cotangent of every node that received one and was not consumed
    (the leaves). Unless ``retain``, each node drops its closures once used, so
    the values they hold are freed while the sweep goes on.
    """
    adjoint: dict[Node, Any] = {}
    for node, g in seeds:
        prev = adjoint.get(node)
        adjoint[node] = g if prev is None else prev + g
    tape = trace.tape
    # 0 * inf from a branch that np.where did not select is masked by the
    # rules (see rules.broadcasting.masked_product); the warning would only
    # repeat what the result shows.
    with np.errstate(divide="ignore", invalid="ignore"):
        nodes = reversed(tape)
        pop = adjoint.pop
        get = adjoint.get
        # Sums this sweep allocated itself: nothing else refers to them, so further
        # contributions can be added in place (one allocation per fan-out, not one
        # per extra consumer). Kept by id with the array, so an id is never reused.
        owned: dict[int, Any] = {}
        for node in nodes:
            g = pop(node, None)
            if g is None:
                continue
            owned.pop(id(g), None)  # handed to the rules now, which may pass it on
            for parent, fn in node.parents:
                c = fn(g)
                if c is None:
                    continue
                prev = get(parent)
                if prev is None:
                    adjoint[parent] = c
                    # A fresh array no one else refers to (the rule's own temporary: not
                    # a view, and only this frame holds it) may take later sums in place.
                    if type(c) is np.ndarray and c.base is None and _refcount(c) <= _TEMPORARY_REFS:
                        owned[id(c)] = c
                elif (
                    id(prev) in owned
                    and type(c) is np.ndarray
                    and c.shape == prev.shape
                    and c.dtype == prev.dtype
                ):
                    prev += c
                else:
                    total = prev + c
                    adjoint[parent] = total
                    if type(total) is np.ndarray:
                        owned[id(total)] = total
            if not retain:
                node.parents = ()  # frees the closures, and the values they keep
    if not retain:
        tape.clear()
    return adjoint


_refcount = sys.getrefcount
# References to a rule's fresh result at the check above: the local name `c`, the
# adjoint dict's entry, and getrefcount's own argument.
_TEMPORARY_REFS = 3


def _conversion_error(what: str) -> TracerConversionError:
    return TracerConversionError(
        f"{what} a traced value would drop its derivative, so chainrule refuses. "
        "This happens with np.asarray(x), np.array([...x...]), float(x), x.tolist(), "
        "and when a traced value is written into a NumPy array (y[i] = x). Use array "
        "operations instead: np.stack([a, b]) instead of np.array([a, b]); "
        "np.where(mask, x, y) or chainrule.at(y)[i].set(x) instead of y[i] = x; "
        "or chainrule.primal(x) where no derivative should flow."
    )


class Tracer(ArrayMethods):
    """A value being differentiated: a NumPy duck array that records what is done to it.

    It takes part in NumPy's own dispatch (``__array_ufunc__``, NEP 13, and
    ``__array_function__``, NEP 18), so unmodified NumPy code runs on it. It
    is immutable: ``x += 1`` rebinds ``x`` to a new tracer, and ``x[i] = v``
    is refused with the functional alternative.
    """

    __slots__ = ("_node", "_trace", "_value")
    __array_priority__ = 1000.0

    def __init__(self, value: Any, trace: ReverseTrace | ForwardTrace, node: Any):
        self._value = value
        self._trace = trace
        self._node = node  # a Node in reverse mode, the tangent in forward mode

    # -- what NumPy asks of a duck array ------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return self._value.size

    def __len__(self) -> int:
        return len(self._value)

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        kind = "reverse" if isinstance(self._trace, ReverseTrace) else "forward"
        return f"Tracer({primal(self)!r}, {kind} trace {self._trace.level})"

    def __bool__(self) -> bool:
        return bool(primal(self))

    __hash__ = object.__hash__

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method == "__call__" and not kwargs:
            prim = UFUNC_PRIMITIVES.get(ufunc)
            if prim is not None:
                return apply(prim, inputs, _NO_KWARGS)
        return _dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        handler = FUNCTION_HANDLERS.get(func)
        if handler is None:
            from .dispatch import unsupported

            raise unsupported(func)
        return handler(*args, **kwargs)

    # -- refusals ------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise _conversion_error("Converting to a NumPy array")

    def __float__(self) -> float:
        raise _conversion_error("float() of")

    def __int__(self) -> int:
        raise _conversion_error("int() of")

    def __complex__(self) -> complex:
        raise _conversion_error("complex() of")

    def __index__(self) -> int:
        raise _conversion_error("Using as an index")

    def tolist(self) -> Any:
        raise _conversion_error("tolist() of")

    def item(self, *args: Any) -> Any:
        raise _conversion_error("item() of")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise InPlaceError(
            "Traced arrays are immutable: x[i] = v cannot be recorded. Write "
            "x = chainrule.at(x)[i].set(v) (or .add(v)), or build the array with "
            "np.where / np.concatenate."
        )

    # -- operators: straight to the trace, skipping NumPy's dispatch and `apply` --
    def __add__(self, other: Any) -> Any:
        return _newest(self, other).process(_ADD, (self, other), _NO_KWARGS)

    def __radd__(self, other: Any) -> Any:
        return _newest(self, other).process(_ADD, (other, self), _NO_KWARGS)

    def __sub__(self, other: Any) -> Any:
        return _newest(self, other).process(_SUB, (self, other), _NO_KWARGS)

    def __rsub__(self, other: Any) -> Any:
        return _newest(self, other).process(_SUB, (other, self), _NO_KWARGS)

    def __mul__(self, other: Any) -> Any:
        return _newest(self, other).process(_MUL, (self, other), _NO_KWARGS)

    def __rmul__(self, other: Any) -> Any:
        return _newest(self, other).process(_MUL, (other, self), _NO_KWARGS)

    def __truediv__(self, other: Any) -> Any:
        return _newest(self, other).process(_DIV, (self, other), _NO_KWARGS)

    def __rtruediv__(self, other: Any) -> Any:
        return _newest(self, other).process(_DIV, (other, self), _NO_KWARGS)

    def __pow__(self, other: Any) -> Any:
        if type(other) in (int, float) and other == 2:
            return self._trace.process(_SQUARE, (self,), _NO_KWARGS)
        return _newest(self, other).process(_POW, (self, other), _NO_KWARGS)

    def __rpow__(self, other: Any) -> Any:
        return _newest(self, other).process(_POW, (other, self), _NO_KWARGS)

    def __matmul__(self, other: Any) -> Any:
        return _newest(self, other).process(_MATMUL, (self, other), _NO_KWARGS)

    def __rmatmul__(self, other: Any) -> Any:
        return _newest(self, other).process(_MATMUL, (other, self), _NO_KWARGS)

    def __neg__(self) -> Any:
        return self._trace.process(_NEG, (self,), _NO_KWARGS)

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
        return primal(self) < primal(other)

    def __le__(self, other: Any) -> Any:
        return primal(self) <= primal(other)

    def __gt__(self, other: Any) -> Any:
        return primal(self) > primal(other)

    def __ge__(self, other: Any) -> Any:
        return primal(self) >= primal(other)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return primal(self) == primal(other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return primal(self) != primal(other)

    def __getitem__(self, index: Any) -> Any:
        return _GETITEM(self, index)


# Bound once the rules are registered (see chainrule.rules.__init__).
_ADD = _SUB = _MUL = _DIV = _POW = _SQUARE = _MATMUL = _NEG = Primitive("unbound", None)  # type: ignore[arg-type]
_GETITEM: Callable[[Any, Any], Any] = None  # type: ignore[assignment]
_dispatch_ufunc: Callable[..., Any] = None  # type: ignore[assignment]
_UNBROADCASTER: Callable[..., Any] = None  # type: ignore[assignment]


def bind_operators() -> None:
    """Point the operator fast paths at the registered primitives."""
    global _ADD, _SUB, _MUL, _DIV, _POW, _SQUARE, _MATMUL, _NEG, _GETITEM, _dispatch_ufunc, _UNBROADCASTER
    from .dispatch import dispatch_ufunc
    from .rules.broadcasting import unbroadcaster
    from .rules.indexing import getitem

    _UNBROADCASTER = unbroadcaster
    _dispatch_ufunc = dispatch_ufunc
    _GETITEM = getitem
    _ADD = UFUNC_PRIMITIVES[np.add]
    _SUB = UFUNC_PRIMITIVES[np.subtract]
    _MUL = UFUNC_PRIMITIVES[np.multiply]
    _DIV = UFUNC_PRIMITIVES[np.true_divide]
    _POW = UFUNC_PRIMITIVES[np.power]
    _SQUARE = UFUNC_PRIMITIVES[np.square]
    _MATMUL = UFUNC_PRIMITIVES[np.matmul]
    _NEG = UFUNC_PRIMITIVES[np.negative]
