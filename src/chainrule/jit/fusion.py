"""Fusion: chains of arithmetic on large arrays evaluated in one pass by numexpr (optional).

A staged program computes ``(1.0 - t * t) * e + (g + -(t * e)) * (2.0 * x)`` as
eight NumPy calls, each a full pass over memory with a new temporary. When
`numexpr <https://github.com/pydata/numexpr>`_ is installed, :func:`fuse`
rewrites such a tree of equations into one equation that numexpr evaluates
block by block (in cache, on several threads), with no temporaries.

What is fused, and why exactly those:

* Only ``+ - * /``, negation and ``np.square`` on float64 arrays of one shape
  (at least :data:`FUSE_MIN_SIZE` elements) and Python or NumPy float64
  scalars. Each is one IEEE-754 operation, which numexpr computes in the same
  order (the expression is written fully parenthesized, and compiled with
  ``optimization='none'``, so ``a / 2.0`` is not turned into ``a * 0.5``), so
  the fused result equals the unfused one bit for bit.
  Transcendental functions stay NumPy calls: NumPy's SIMD ``tanh``, ``exp``,
  ``log1p`` are 3-10x faster here than numexpr's (without Intel's VML), and
  they round differently.
* A value is inlined into the expressions that read it when all its readers
  are fusable and it is read once, or is at most :data:`RECOMPUTE_OPS`
  operations (recomputed: arithmetic is cheaper than a pass over memory;
  numexpr computes a repeated subexpression once per block). Otherwise it is
  materialized, itself as one fused pass when it is a tree of several
  operations.
* Floating-point warnings: numexpr raises none (division by zero gives
  ``inf`` as NumPy does, silently). Equations run under ``errstate`` with
  ``raise`` or ``call`` for some error are never fused.

Threads: numexpr starts with one thread per online processor (up to 16). When
neither ``NUMEXPR_NUM_THREADS``, ``NUMEXPR_MAX_THREADS`` nor
``OMP_NUM_THREADS`` is set, the first fusion lowers that to the processors
this process may run on (``os.sched_getaffinity``), since a container's CPU
set is often smaller than the machine: more threads than cores only contend.
An explicit setting is never changed.

Fusion is opt-in (``chainrule.jit(f, fuse=True)``): on the 2-core AVX-512
machine of bench/RESULTS.md numexpr's arithmetic is 2-3x slower per operation
than NumPy's SIMD loops on arrays that fit in the cache, which the passes it
saves do not make up for; with the temporaries preallocated (:mod:`.buffers`)
the unfused code is the faster one there. Fusion pays where memory bandwidth
limits (arrays much larger than the cache, more cores, no AVX-512).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..engine.staging import Equation, Guard, Var

try:  # optional: the `jit` extra
    import numexpr as _numexpr
except ImportError:  # pragma: no cover - exercised where numexpr is absent
    _numexpr = None

__all__ = ["FUSE_MIN_SIZE", "RECOMPUTE_OPS", "Fused", "available", "fuse", "reads", "uses"]

FUSE_MIN_SIZE = 32768  # below this a NumPy call is cheaper than numexpr's setup
RECOMPUTE_OPS = 2  # a value read by several fused expressions is recomputed up to this size
MAX_OPS = 48  # a larger expression is split (materialized) to bound recomputation
MAX_LEAVES = 24  # numexpr's iterator takes a bounded number of operands

# NumPy callable -> (numexpr operator, arity)
_BINARY = {
    np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/",
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
}  # fmt: skip
_UNARY = {np.negative: "-", operator.neg: "-"}

_threads_set = False


def available() -> bool:
    """Whether numexpr is installed (fusion happens only then)."""
    return _numexpr is not None


def _configure_threads() -> None:
    global _threads_set
    if _threads_set or _numexpr is None:
        return
    _threads_set = True
    if any(os.environ.get(k) for k in ("NUMEXPR_NUM_THREADS", "NUMEXPR_MAX_THREADS", "OMP_NUM_THREADS")):
        return  # the user's choice
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        usable = os.cpu_count() or 1
    if _numexpr.get_num_threads() > usable:
        _numexpr.set_num_threads(usable)


def uses(x: Any, out: set[str]) -> None:
    """Add to ``out`` the names of the variables in ``x`` (recursing into lists, tuples, dicts)."""
    t = type(x)
    if t is Var:
        out.add(x.name)
    elif t is tuple or t is list:
        for v in x:
            uses(v, out)
    elif t is dict:
        for v in x.values():
            uses(v, out)


def reads(step: Equation | Guard) -> set[str]:
    """The names of the variables a step reads (a guard: the one it tests)."""
    names: set[str] = set()
    if isinstance(step, Guard):
        names.add(step.var.name)
    else:
        uses((step.args, step.kwargs), names)
    return names


class Fused:
    """One numexpr expression over named float64 arrays: ``fused(*leaves, out=None)``."""

    def __init__(self, expression: str, leaves: list[str]):
        if _numexpr is None:  # pragma: no cover - fuse() checks first
            raise RuntimeError("numexpr is not installed")
        _configure_threads()
        self.expression = expression
        self.leaves = leaves
        self._kernel = _numexpr.NumExpr(
            expression, signature=[(n, np.float64) for n in leaves], optimization="none", truediv=True
        )

    def __call__(self, *arrays: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        # Arithmetic only: no VML function in the expression.
        result: np.ndarray = self._kernel(*arrays, out=out, order="K", casting="safe", ex_uses_vml=False)
        return result

    def __repr__(self) -> str:
        return f"<numexpr {self.expression!r}>"


def _scalar(x: Any) -> str | None:
    """The literal of a float64-exact scalar operand, or None."""
    if type(x) is float or (type(x) is int and abs(x) < 2**53):
        return repr(float(x))
    if isinstance(x, np.floating | np.ndarray) and np.ndim(x) == 0 and x.dtype in (np.float64, np.float32):
        return repr(float(x))
    return None


def _lax(errstate: dict[str, str], base: Mapping[str, object]) -> bool:
    """Floating-point errors only warn or are ignored (numexpr cannot raise them)."""
    return all(v in ("ignore", "warn") for v in {**base, **errstate}.values())


def _fusable(step: Equation | Guard, types: dict[str, Any], base_err: Mapping[str, object]) -> bool:
    if isinstance(step, Guard) or step.kwargs or len(step.outs) != 1 or step.unpack:
        return False
    fn = step.fn
    if fn in _BINARY:
        if len(step.args) != 2:
            return False
    elif fn in _UNARY or fn is np.square:
        if len(step.args) != 1:
            return False
    else:
        return False
    out_type = types.get(step.outs[0].name)
    if out_type is None or out_type[1] != np.float64 or int(np.prod(out_type[0])) < FUSE_MIN_SIZE:
        return False
    for a in step.args:
        if type(a) is Var:
            if types.get(a.name) != out_type:
                return False  # broadcasting or another dtype: NumPy's call
        elif _scalar(a) is None:
            return False
    return _lax(step.errstate, base_err)


class _Expr:
    __slots__ = ("leaves", "ops", "text")

    def __init__(self, text: str, leaves: list[str], ops: int):
        self.text, self.leaves, self.ops = text, leaves, ops


def fuse(
    steps: list[Equation | Guard], outputs: list[Any], types: dict[str, Any], base_err: Mapping[str, object]
) -> list[Equation | Guard]:
    """``steps`` with trees of fusable equations replaced by :class:`Fused` equations (see the module)."""
    if _numexpr is None:
        return steps
    fusable = [_fusable(s, types, base_err) for s in steps]
    if sum(fusable) < 2:
        return steps
    readers: dict[str, set[int]] = {}
    blocked: set[str] = set()  # read by a guard, an output or an equation that is not fused
    for i, step in enumerate(steps):
        for n in reads(step):
            readers.setdefault(n, set()).add(i)
            if not fusable[i]:
                blocked.add(n)
    returned: set[str] = set()
    uses(outputs, returned)
    blocked |= returned

    inlined: dict[str, _Expr] = {}
    out: list[Equation | Guard] = []
    for i, step in enumerate(steps):
        if not fusable[i]:
            out.append(step)
            continue
        assert isinstance(step, Equation)
        parts: list[str] = []
        leaves: list[str] = []
        ops = 1
        for a in step.args:
            if type(a) is Var:
                sub = inlined.get(a.name)
                if sub is None:
                    parts.append(a.name)
                    if a.name not in leaves:
                        leaves.append(a.name)
                else:
                    parts.append(f"({sub.text})")
                    leaves.extend(n for n in sub.leaves if n not in leaves)
                    ops += sub.ops
            else:
                literal = _scalar(a)
                assert literal is not None
                parts.append(f"({literal})" if literal.startswith("-") else literal)
        if step.fn is np.square:
            text = f"{parts[0]} * {parts[0]}"
        elif step.fn in _UNARY:
            text = f"-{parts[0]}"
        else:
            text = f"{parts[0]} {_BINARY[step.fn]} {parts[1]}"
        expr = _Expr(text, leaves, ops)
        name = step.outs[0].name
        n_readers = len(readers.get(name, ()))
        if (
            name not in blocked
            and n_readers > 0
            and (n_readers == 1 or ops <= RECOMPUTE_OPS)
            and ops < MAX_OPS
            and len(leaves) < MAX_LEAVES
        ):
            inlined[name] = expr  # its readers compute it
            continue
        if ops == 1:
            out.append(step)  # one operation: NumPy's own call is as good
            continue
        out.append(
            Equation(
                step.outs, Fused(text, leaves), tuple(Var(n) for n in leaves), {}, "numexpr",
                step.context, step.errstate, prim=None,
            )
        )  # fmt: skip
    return out
