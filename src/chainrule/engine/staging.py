"""The staging trace: every NumPy call on its values recorded as one equation of a program.

``chainrule.jit`` runs a function once under a :class:`StagingTrace`, the
outermost trace. Its values are :class:`~chainrule.engine.core.Tracer` objects
holding the real arrays, so the function runs for real and its result is
exact; each primitive applied to them (:meth:`StagingTrace.process`) and each
other NumPy call (:meth:`StagingTrace.call`, reached through the hook in
:mod:`.core`) is appended to :attr:`StagingTrace.equations` with its arguments,
staged values replaced by :class:`Var`. Derivatives taken inside the function
(``grad``, ``hessian``) open traces above this one; their rules run NumPy on
staging values, so the backward pass is recorded too.

A Python decision on a staged value (``if np.sum(x) > 0``, a count used as a
length, a shape that depends on the data) becomes a :class:`Guard`: the staged
code checks it and asks for a new staging when it fails. Printing a staged
value is refused with the line that did it.

The equations are turned into Python source by :mod:`chainrule.jit`.
"""

from __future__ import annotations

import linecache
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import get_ident
from types import FrameType
from typing import Any

import numpy as np

from ..errors import InPlaceError, LeakedTracerError, StagingError
from .core import GETITEM, STAGING, Primitive, Tracer
from .sweep import reverse_sweep
from .traces import ForwardTrace, ReverseTrace, _levels

__all__ = ["Equation", "Guard", "StagingTrace", "Var", "user_line"]


@dataclass(frozen=True)
class Var:
    """A staged value in an equation: the name of a variable of the staged code."""

    name: str


@dataclass
class Equation:
    """``outs = fn(*args, **kwargs)``, one NumPy call of the staged program."""

    outs: list[Var]
    fn: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    label: str  # the primitive or NumPy function, for the comment
    context: str  # the chain-rule step that made it ("" for the function's own code)
    errstate: dict[str, str]  # floating-point error handling that differs from the caller's
    unpack: bool = False  # the call returns a tuple of arrays, one variable each
    prim: Primitive | None = None


@dataclass
class Guard:
    """A Python decision taken at staging on a staged value; the staged code re-checks it.

    ``kind``: ``"bool"`` (``bool(var) == expected``), ``"value"`` (``var == expected``,
    a Python number), ``"shape"`` (``var.shape == expected``).
    """

    var: Var
    kind: str
    expected: Any
    where: str  # the user's line that took the decision


@dataclass
class Program:
    """What a staging run recorded, in order: equations and guards interleaved."""

    steps: list[Equation | Guard] = field(default_factory=list)
    inputs: list[Var] = field(default_factory=list)
    # Each variable's shape and dtype at staging (fixed by the cache key and the guards).
    types: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = field(default_factory=dict)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NUMPY = os.path.dirname(os.path.abspath(np.__file__))
_ENGINE = os.path.dirname(os.path.abspath(__file__))


def user_line(frame: Any = None) -> str:
    """``file:line: source`` of the innermost frame outside chainrule and NumPy (the user's code)."""
    f = frame if frame is not None else sys._getframe(1)
    while f is not None:
        name = os.path.abspath(f.f_code.co_filename)
        if not name.startswith(_PACKAGE) and not name.startswith(_NUMPY) and "contextlib" not in name:
            return _where(f)
        f = f.f_back
    return "<unknown line>"


def _where(f: Any) -> str:
    source = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    return f"{f.f_code.co_filename}:{f.f_lineno}: {source}"


def decision_line() -> str:
    """Where a guarded decision was taken: the user's line, and the rule's line if a rule took it."""
    f: FrameType | None = sys._getframe(1)
    while f is not None:
        name = os.path.abspath(f.f_code.co_filename)
        if not name.startswith(_ENGINE) and not name.startswith(_NUMPY):
            break
        f = f.f_back
    if f is None:
        return "<unknown line>"
    name = os.path.abspath(f.f_code.co_filename)
    if name.startswith(_PACKAGE):  # a rule's own check (masked products): say which, and for whom
        inner = f"chainrule/{os.path.relpath(name, _PACKAGE)}:{f.f_lineno}: "
        inner += linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
        return f"{inner} (for {user_line(f)})"
    return _where(f)


# Functions whose result's shape depends on the values, not only on the shapes: their
# outputs get a shape guard (a later equation may have read the shape as a constant).
_DATA_SHAPED = {
    np.nonzero, np.flatnonzero, np.argwhere, np.unique, np.extract, np.compress,
    np.trim_zeros, np.setdiff1d, np.intersect1d, np.union1d, np.setxor1d,
}  # fmt: skip
for _name in ("unique_values", "unique_counts", "unique_inverse", "unique_all"):
    if hasattr(np, _name):
        _DATA_SHAPED.add(getattr(np, _name))
# Functions answering about shapes and dtypes only: their Python results need no guard.
_STATIC = {np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj}
# Functions that write into one of their arguments.
_WRITERS = {np.copyto, np.put, np.place, np.putmask, np.fill_diagonal, np.put_along_axis}

_PROCESS_CODE = ReverseTrace.process.__code__
_FORWARD_CODE = ForwardTrace.process.__code__
_SWEEP_CODE = reverse_sweep.__code__
_ADD_CODES = {Tracer.__add__.__code__, Tracer.__radd__.__code__}


class StagingTrace:
    """The outermost trace of ``chainrule.jit``: records NumPy calls on its values as a :class:`Program`."""

    kind = STAGING

    def __init__(self) -> None:
        self.level = next(_levels)
        self.active = True
        # As every trace: the thread that opened it, and an error that poisoned it.
        self.thread = get_ident()
        self.poisoned: Exception | None = None
        self.program = Program()
        # NumPy calls on staged values that raised (``label (line)``): if the function
        # caught the error and went on, its later calls could take the other path, which
        # the staged code does not have (chainrule.jit refuses to stage it).
        self.raised: list[str] = []
        self._count = 0
        self._base_err = np.geterr()
        # Which primitive each node of a reverse trace applied (by tape position), so the
        # backward equations can say whose chain-rule step they are.
        self._node_labels: dict[tuple[int, int], str] = {}
        self._tape_index: dict[int, tuple[int, dict[int, int]]] = {}

    # -- values --------------------------------------------------------------------------
    def _fresh(self, value: Any, prefix: str = "v") -> Tracer:
        name = f"{prefix}{self._count}"
        self._count += 1
        if isinstance(value, np.ndarray | np.generic):
            self.program.types[name] = (value.shape, value.dtype)
        # The ``_node`` slot (unused by this trace) holds the value's variable name.
        return Tracer(value, self, name)

    def input(self, value: Any, name: str) -> Tracer:
        """A traced input of the staged function, bound to the parameter ``name``."""
        t = Tracer(value, self, name)
        self.program.inputs.append(Var(name))
        self.program.types[name] = (value.shape, value.dtype)
        return t

    def _vars(self, x: Any) -> Any:
        """``x`` with its staging values replaced by :class:`Var` (recursing into lists, tuples, dicts)."""
        t = type(x)
        if t is Tracer:
            if x._trace is not self:
                raise StagingError(
                    f"a value traced by another trace reached chainrule.jit's staging trace ({user_line()})"
                )
            return Var(x._node)
        if t is tuple or t is list:
            return t(self._vars(v) for v in x)
        if t is dict:
            return {k: self._vars(v) for k, v in x.items()}
        return x

    @staticmethod
    def _values(x: Any) -> Any:
        t = type(x)
        if t is Tracer:
            return x._value
        if t is tuple or t is list:
            return t(StagingTrace._values(v) for v in x)
        if t is dict:
            return {k: StagingTrace._values(v) for k, v in x.items()}
        return x

    def _check_active(self, what: str) -> None:
        if not self.active:
            raise LeakedTracerError(
                f"{what} was applied to a value of a chainrule.jit staging run that has already "
                "returned (kept in a global or an attribute); pass it in as an argument instead."
            )

    # -- recording -----------------------------------------------------------------------
    def _append(
        self, outs: list[Tracer], fn: Any, args: Any, kwargs: Any, label: str,
        prim: Primitive | None, unpack: bool = False,
    ) -> None:  # fmt: skip
        """Append the equation ``outs = fn(*args, **kwargs)``, staged values as :class:`Var`."""
        names = [Var(o._node) for o in outs]
        context, errstate = self._context(), self._errstate()
        equation = Equation(names, fn, self._vars(args), self._vars(kwargs), label, context, errstate)
        equation.unpack, equation.prim = unpack, prim
        self.program.steps.append(equation)

    def _errstate(self) -> dict[str, str]:
        now = np.geterr()
        return {k: str(v) for k, v in now.items() if self._base_err.get(k) != v}

    def _record(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], ans: Any, label: str,
                prim: Primitive | None = None) -> Any:  # fmt: skip
        if isinstance(ans, np.ndarray | np.generic):
            out = self._fresh(ans)
            self._append([out], fn, args, kwargs, label, prim)
            return out
        if isinstance(ans, tuple | list) and ans and all(isinstance(a, np.ndarray | np.generic) for a in ans):
            outs = [self._fresh(a) for a in ans]
            self._append(outs, fn, args, kwargs, label, prim, unpack=True)
            if type(ans) is list:
                return outs
            if type(ans) is tuple:
                return tuple(outs)
            return type(ans)(*outs)  # a named tuple (slogdet, eigh, ...)
        if fn in _STATIC or ans is None or isinstance(ans, np.dtype | type | str):
            return ans  # about shapes and dtypes, which the cache key fixes
        if isinstance(ans, bool | int | float | complex):
            # A Python number computed from the data: guarded at its value.
            out = self._fresh(ans)
            self._append([out], fn, args, kwargs, label, prim)
            self.program.steps.append(Guard(Var(out._node), "value", ans, decision_line()))
            return ans
        if isinstance(ans, tuple) and all(isinstance(a, int) for a in ans):
            return ans  # a shape
        raise StagingError(
            f"chainrule.jit cannot stage {label}: it returned a {type(ans).__name__}, not an array "
            f"({user_line()}). Call it outside the jitted function, or pass its result in as an argument."
        )

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Apply ``prim`` to staged values: compute it, and record one equation calling its implementation."""
        self._check_active(prim.name)
        if prim.composite:  # custom rules and checkpoints: their NumPy code is recorded step by step
            return prim.impl(*args, **kwargs)
        try:
            ans = prim.impl(*self._values(args), **kwargs) if kwargs else prim.impl(*self._values(args))
        except Exception as e:
            self.raised.append(f"{prim.name} raised {type(e).__name__} ({user_line()})")
            raise
        out = self._record(prim.impl, args, kwargs, ans, prim.name, prim)
        if prim is GETITEM and _has_mask(args[1]):
            self.program.steps.append(Guard(Var(out._node), "shape", np.shape(ans), user_line()))
        return out

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A NumPy call (or comparison) with staged values among its arguments: computed and recorded."""
        label = _label(fn)
        self._check_active(label)
        owner = getattr(fn, "__self__", None)
        if (
            fn in _WRITERS
            or kwargs.get("out") is not None
            or (isinstance(owner, np.ufunc) and getattr(fn, "__name__", "") == "at")
        ):
            raise InPlaceError(
                f"{label} writes into an array, which chainrule.jit cannot stage ({user_line()}); "
                "write the functional form (y = f(x)) or chainrule.at(x)[i].set(v)."
            )
        try:
            ans = fn(*self._values(args), **self._values(kwargs))
        except Exception as e:
            self.raised.append(f"{label} raised {type(e).__name__} ({user_line()})")
            raise
        out = self._record(fn, args, kwargs, ans, label)
        if fn in _DATA_SHAPED or (fn is np.where and len(args) + len(kwargs) == 1):
            for o in out if isinstance(out, tuple | list) else (out,):
                if type(o) is Tracer:
                    self.program.steps.append(Guard(Var(o._node), "shape", np.shape(o._value), user_line()))
        return out

    def concrete(self, value: Tracer, kind: type) -> Any:
        """A Python value of a staged value: ``bool`` (a branch, guarded); ``str`` is refused."""
        self._check_active(f"{kind.__name__}()")
        if kind is bool:
            answer = bool(value._value)  # raises as NumPy does for an ambiguous truth value
            self.program.steps.append(Guard(Var(value._node), "bool", answer, decision_line()))
            return answer
        raise StagingError(
            f"printing or formatting a traced value inside chainrule.jit ({user_line()}): it would "
            "show the value of the first call only. Return the value instead, or run the function "
            "without jit to debug it."
        )

    def describe(self, value: Tracer) -> str:
        return f"Tracer(<staged {value._node}: {value.dtype} {value.shape}>)"

    # -- comments: which chain-rule step made an equation ---------------------------------
    def _context(self) -> str:
        f: FrameType | None = sys._getframe(2)
        callee = None
        depth = 0
        while f is not None and depth < 40:
            code = f.f_code
            if code is _PROCESS_CODE:
                trace, prim = f.f_locals["self"], f.f_locals["prim"]
                self._node_labels[(id(trace), len(trace.tape))] = prim.name
                return ""
            if code is _FORWARD_CODE:
                if callee is not None and callee.co_name == "output_tangent":
                    return f"tangent of {f.f_locals['prim'].name}"
                return ""
            if code is _SWEEP_CODE:
                trace, node = f.f_locals["trace"], f.f_locals.get("node")
                if callee in _ADD_CODES:
                    return "sum of cotangents"
                label = self._label_of(trace, node)
                return f"backward of {label}" if label else "backward"
            callee = code
            f = f.f_back
            depth += 1
        return ""

    def _label_of(self, trace: Any, node: Any) -> str:
        tape = trace.tape
        cached = self._tape_index.get(id(trace))
        if cached is None or cached[0] != len(tape):
            cached = (len(tape), {id(n): i for i, n in enumerate(tape)})
            self._tape_index[id(trace)] = cached
        i = cached[1].get(id(node))
        return self._node_labels.get((id(trace), i), "") if i is not None else ""


def _has_mask(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(type(p) is Tracer and p.dtype == np.bool_ for p in parts)


def _label(fn: Any) -> str:
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, np.ufunc):
        return f"numpy.{owner.__name__}.{fn.__name__}"
    if isinstance(fn, np.ufunc):
        return f"numpy.{fn.__name__}"
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__name__", None) or repr(fn)
    if module == "_operator":
        return f"operator {name}"
    return f"{module}.{name}" if module else name
