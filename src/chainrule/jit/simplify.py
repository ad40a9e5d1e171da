"""Exact rewrites of staged equations that leave fewer and cheaper lines to run.

A staged backward pass is written by rules that work on any input (a wrapper
per primitive, ``broadcast_to`` before a product that would broadcast anyway,
a reduction then a ``reshape``), and each line of staged code costs a Python
call or more, several microseconds once the large matrix products of the same
call have flushed the caches. These passes, run by :func:`~.codegen.generate`
on the live equations, rewrite such lines into what a person would write,
keeping every value bit for bit:

* :func:`direct_reductions`: ``numpy.sum``/``max``/``min`` (the primitives'
  implementations and the plain NumPy functions) and ``np.any``/``np.all`` as
  the ufunc reduction they call (``np.add.reduce(x, axis=1, keepdims=True)``),
  without the Python wrappers around it.
* :func:`keepdims_reductions`: a reduction read only by a ``reshape`` to its
  ``keepdims`` shape becomes the reduction with ``keepdims=True``.
* :func:`drop_broadcasts`: ``b = np.broadcast_to(x, s)`` read only by
  elementwise operations whose results have the broadcast shape anyway: they
  read ``x``.
* :func:`inline_transposes`: ``t = np.transpose(x)`` read once is written
  ``x.T`` where it is read.

Each pass leaves alone a value that is returned or guarded, and checks the
shapes and dtypes recorded at staging (:attr:`Program.types`) before it
rewrites.
"""

from __future__ import annotations

import inspect
import operator
from typing import Any

import numpy as np

from ..engine.staging import Equation, Guard, Var
from .fusion import uses

__all__ = ["direct_reductions", "drop_broadcasts", "inline_transposes", "keepdims_reductions", "simplify"]

Steps = list[Equation | Guard]
Types = dict[str, tuple[tuple[int, ...], np.dtype[Any]]]

# A primitive's implementation and the ufunc reduction it is, when its parameters are
# exactly these (a changed implementation is left as it is).
_PRIMITIVE_REDUCTIONS: dict[str, tuple[np.ufunc, tuple[str, ...]]] = {
    "numpy.sum": (np.add, ("a", "axis", "keepdims")),
    "numpy.max": (np.maximum, ("a", "axis", "keepdims", "initial")),
    "numpy.min": (np.minimum, ("a", "axis", "keepdims", "initial")),
}
# NumPy functions that are one ufunc reduction of an array, and the options passed on as they are.
_NUMPY_REDUCTIONS: dict[Any, tuple[np.ufunc, tuple[str, ...]]] = {
    np.sum: (np.add, ("axis", "dtype", "keepdims")),
    np.max: (np.maximum, ("axis", "keepdims")),
    np.amax: (np.maximum, ("axis", "keepdims")),
    np.min: (np.minimum, ("axis", "keepdims")),
    np.amin: (np.minimum, ("axis", "keepdims")),
    np.any: (np.logical_or, ("axis", "keepdims")),
    np.all: (np.logical_and, ("axis", "keepdims")),
}
# Elementwise operations that broadcast their operands (operators on arrays are ufuncs).
_ELEMENTWISE_OPERATORS = {
    operator.add, operator.sub, operator.mul, operator.truediv, operator.lt, operator.le,
    operator.gt, operator.ge, operator.eq, operator.ne,
}  # fmt: skip
# NumPy 2 types a 0-d array as any array (NEP 50); NumPy 1 types it by its value, unlike the
# broadcast array: a 0-d operand keeps its broadcast_to there.
_NEP50 = int(np.__version__.split(".")[0]) >= 2


def _readers(steps: Steps, outputs: list[Any]) -> tuple[dict[str, list[int]], set[str]]:
    """For each variable, the positions of the equations reading it; and the variables never to rewrite.

    Those are the returned and guarded ones, and those a step reads other than as an argument.
    """
    readers: dict[str, list[int]] = {}
    fixed: set[str] = set()
    uses(outputs, fixed)
    for i, step in enumerate(steps):
        if isinstance(step, Guard):
            fixed.add(step.var.name)
            continue
        names: set[str] = set()
        uses((step.args, step.kwargs), names)
        for name in names:
            readers.setdefault(name, []).append(i)
    return readers, fixed


def _numeric(x: Any, types: Types) -> bool:
    return type(x) is Var and x.name in types and types[x.name][1].kind in "biuf"


def _bind(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[str], dict[str, Any]] | None:
    """``fn``'s parameter names, and the arguments of the call by name (those passed); None if unknown."""
    try:
        sig = inspect.signature(fn)
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError):
        return None
    return list(sig.parameters), dict(bound.arguments)


def _as_reduction(step: Equation, types: Types) -> tuple[np.ufunc, Any, dict[str, Any]] | None:
    """``(ufunc, operand, options)`` when ``step`` is one ufunc reduction of a staged array."""
    prim = step.prim
    try:
        entry = _NUMPY_REDUCTIONS.get(step.fn)
    except TypeError:  # an unhashable callable
        return None
    if entry is None and prim is not None and step.fn is prim.impl and prim.name in _PRIMITIVE_REDUCTIONS:
        ufunc, params = _PRIMITIVE_REDUCTIONS[prim.name]
        bound = _bind(step.fn, step.args, step.kwargs)
        if bound is None or tuple(bound[0]) != params:
            return None
        named = bound[1]
        if named.get("initial") is None:
            named.pop("initial", None)
        allowed: tuple[str, ...] = params[1:]
    elif entry is not None:
        ufunc, allowed = entry
        bound = _bind(step.fn, step.args, step.kwargs)
        if bound is None:
            return None
        named = bound[1]
        if named.get("out", None) is not None:
            return None
        named.pop("out", None)
    else:
        return None
    operand = named.pop(bound[0][0], None)
    if not _numeric(operand, types) or not set(named) <= set(allowed):
        return None
    if ufunc in (np.logical_or, np.logical_and) and types[operand.name][1] != np.bool_:
        return None
    options = {"axis": named.pop("axis", None)}  # a ufunc's reduce takes axis 0 by default
    if named.get("keepdims") is False:
        del named["keepdims"]
    options.update(named)
    return ufunc, operand, options


def direct_reductions(steps: Steps, types: Types) -> None:
    """Sums, maxima, minima, ``any`` and ``all`` of staged arrays written as the ufunc reduction.

    ``np.sum(x, axis=1)`` calls ``np.add.reduce(x, axis=1)`` through two or three Python
    functions (dispatch, option parsing); a primitive's implementation adds one more.
    The reduction itself is the same call, so the values are the same.
    """
    for step in steps:
        if isinstance(step, Guard) or len(step.outs) != 1:
            continue
        found = _as_reduction(step, types)
        if found is not None:
            ufunc, operand, options = found
            step.fn, step.args, step.kwargs = ufunc.reduce, (operand,), options


def _is_reduce(fn: Any) -> bool:
    """Whether ``fn`` is a ufunc's ``reduce`` method (``np.add.reduce``)."""
    return getattr(fn, "__name__", None) == "reduce" and isinstance(getattr(fn, "__self__", None), np.ufunc)


def _keepdims_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...] | None:
    ndim = len(shape)
    axes = range(ndim) if axis is None else (axis if type(axis) is tuple else (axis,))
    if not all(type(a) is int and -ndim <= a < ndim for a in axes):
        return None
    kept = {a % ndim for a in axes}
    return tuple(1 if i in kept else n for i, n in enumerate(shape))


def keepdims_reductions(steps: Steps, outputs: list[Any], types: Types) -> Steps:
    """``s = np.add.reduce(x, axis=1); r = np.reshape(s, (n, 1))`` as one reduction with ``keepdims=True``.

    Only when the reshape is the one reader of ``s`` and its shape is the reduction's
    with the reduced axes kept (``keepdims`` changes the result's shape, not its values).
    """
    readers, fixed = _readers(steps, outputs)
    dropped: set[int] = set()
    for step in steps:
        if (
            isinstance(step, Guard)
            or not _is_reduce(step.fn)
            or step.kwargs.get("keepdims", False)
            or set(step.kwargs) - {"axis", "dtype"}
            or len(step.args) != 1
            or type(step.args[0]) is not Var
            or step.args[0].name not in types
        ):
            continue
        s = step.outs[0].name
        who = readers.get(s, [])
        if s in fixed or len(who) != 1:
            continue
        reshape = steps[who[0]]
        if not (
            isinstance(reshape, Equation)
            and reshape.fn is np.reshape
            and reshape.kwargs.get("order", "C") == "C"
            and not set(reshape.kwargs) - {"order"}
            and len(reshape.args) == 2
            and reshape.args[0] == Var(s)
            and reshape.outs[0].name in types
        ):
            continue
        target = _keepdims_shape(types[step.args[0].name][0], step.kwargs.get("axis", 0))
        if target is None or target != types[reshape.outs[0].name][0]:
            continue
        step.kwargs = {**step.kwargs, "keepdims": True}
        step.outs = reshape.outs
        dropped.add(who[0])
    return [s for i, s in enumerate(steps) if i not in dropped]


def _shape_of(x: Any, types: Types) -> tuple[int, ...] | None:
    t = type(x)
    if t is Var:
        known = types.get(x.name)
        return known[0] if known is not None else None
    if t is bool or t is int or t is float or t is complex:
        return ()
    if isinstance(x, np.ndarray | np.generic):
        return x.shape
    return None


def _only_as_argument(step: Equation, name: str) -> bool:
    """Whether ``step`` reads ``name`` only as a positional argument (not in a list, not as ``out=``)."""
    inside: set[str] = set()
    uses(([a for a in step.args if type(a) is not Var], step.kwargs), inside)
    return name not in inside


def _elementwise(step: Equation) -> bool:
    fn = step.fn
    if isinstance(fn, np.ufunc):
        return fn.nout == 1
    return fn in _ELEMENTWISE_OPERATORS


def drop_broadcasts(steps: Steps, outputs: list[Any], types: Types) -> Steps:
    """``b = np.broadcast_to(x, s); y = b * z`` as ``y = x * z`` when ``y`` has the shape ``s`` anyway.

    Every reader of ``b`` must be an elementwise operation (a ufunc, an operator)
    whose operands, with ``x`` for ``b``, broadcast to the shape recorded for its result:
    it then computes the same elements from the same values.
    """
    readers, fixed = _readers(steps, outputs)
    dropped: set[int] = set()
    for i, step in enumerate(steps):
        if (
            isinstance(step, Guard)
            or step.fn is not np.broadcast_to
            or step.kwargs
            or len(step.args) != 2
            or type(step.args[0]) is not Var
        ):
            continue
        x = step.args[0]
        b = step.outs[0].name
        if b in fixed or x.name not in types or (not _NEP50 and not types[x.name][0]):
            continue
        rewritten: list[tuple[Equation, tuple[Any, ...]]] = []
        for k in readers.get(b, []):
            reader = steps[k]
            if not isinstance(reader, Equation) or not _elementwise(reader) or len(reader.outs) != 1:
                break
            if set(reader.kwargs) - {"out"} or reader.outs[0].name not in types:
                break
            args = tuple(x if type(a) is Var and a.name == b else a for a in reader.args)
            shapes = [_shape_of(a, types) for a in args]
            if any(s is None for s in shapes) or not _only_as_argument(reader, b):
                break
            try:
                shape = np.broadcast_shapes(*shapes)  # type: ignore[arg-type]
            except ValueError:
                break
            if shape != types[reader.outs[0].name][0]:
                break
            rewritten.append((reader, args))
        else:
            for reader, args in rewritten:
                reader.args = args
            dropped.add(i)
    return [s for i, s in enumerate(steps) if i not in dropped]


def inline_transposes(steps: Steps, outputs: list[Any]) -> Steps:
    """``t = np.transpose(x); y = f(t)`` as ``y = f(x.T)`` where ``t`` is read once.

    ``x.T`` is the view ``np.transpose(x)`` makes, without the function call. Run last:
    the reader's argument becomes the text ``x.T``, not a variable of the program.
    """
    readers, fixed = _readers(steps, outputs)
    dropped: set[int] = set()
    for i, step in enumerate(steps):
        if (
            isinstance(step, Guard)
            or step.fn is not np.transpose
            or step.kwargs
            or len(step.args) != 1
            or type(step.args[0]) is not Var
        ):
            continue
        t = step.outs[0].name
        who = readers.get(t, [])
        if t in fixed or len(who) != 1:
            continue
        reader = steps[who[0]]
        assert isinstance(reader, Equation)
        if not _only_as_argument(reader, t):
            continue
        view = Var(f"{step.args[0].name}.T")
        reader.args = tuple(view if type(a) is Var and a.name == t else a for a in reader.args)
        dropped.add(i)
    return [s for i, s in enumerate(steps) if i not in dropped]


def simplify(steps: Steps, outputs: list[Any], types: Types) -> Steps:
    """All the passes of this module, in order; ``steps`` are the live equations, buffers assigned."""
    direct_reductions(steps, types)
    steps = keepdims_reductions(steps, outputs, types)
    steps = drop_broadcasts(steps, outputs, types)
    return inline_transposes(steps, outputs)
