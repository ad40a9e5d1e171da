"""A staged :class:`~chainrule.engine.staging.Program` written as Python source, and compiled.

One NumPy call per line, named temporaries (``v12``), the inputs named after
the function's parameters, a comment naming the primitive (and, for lines of a
backward pass, the chain-rule step), guards where the function branched on its
data. Equations whose results reach neither an output nor a guard are dropped.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import keyword
import linecache
import math
import operator
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..engine import CAST, GETITEM
from ..engine.staging import Equation, Guard, Program, Var
from .buffers import BufferPool, assign_buffers
from .fusion import Fused, fuse, reads
from .fusion import uses as _uses
from .simplify import simplify
from .tiling import TiledRegion, region_source, tile_regions

__all__ = ["GuardFailed", "StagedCode", "generate"]


_serial = itertools.count()


class GuardFailed(Exception):
    """Raised by staged code when a branch, value or shape differs from the staging run."""


_OPERATORS = {
    np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/", np.matmul: "@",
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
    operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=",
    operator.eq: "==", operator.ne: "!=",
}  # fmt: skip


def _numpy_path(fn: Any) -> str | None:
    """``np.sin``, ``np.linalg.solve``, ``np.add.reduce``: how the staged code names a NumPy callable."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, np.ufunc):
        base = _numpy_path(owner)
        return f"{base}.{fn.__name__}" if base and getattr(owner, fn.__name__, None) == fn else None
    name = getattr(fn, "__name__", None)
    if not name:
        return None
    for path, module in (("np", np), ("np.linalg", np.linalg), ("np.fft", np.fft)):
        if getattr(module, name, None) is fn:
            return f"{path}.{name}"
    return None


class _Writer:
    """Names for the constants the source refers to, and the rendering of arguments."""

    def __init__(self, variables: set[str]) -> None:
        self.namespace: dict[str, Any] = {"np": np, "GuardFailed": GuardFailed}
        # The program's own names (parameters, temporaries): a constant named like one
        # would be shadowed by it inside the function, silently.
        self._taken = variables
        self._by_id: dict[int, str] = {}
        self.described: list[str] = []
        self._arrays = 0

    def constant(self, obj: Any, hint: str = "c") -> str:
        name = self._by_id.get(id(obj))
        if name is not None:
            return name
        base = "".join(ch if ch.isalnum() else "_" for ch in hint).strip("_") or "c"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = "c_" + base
        name, k = base, 1
        if base == "c":
            name = f"c{self._arrays}"
            self._arrays += 1
        while name in self.namespace or name in self._taken:
            name, k = f"{base}_{k}", k + 1
        self.namespace[name] = obj
        self._by_id[id(obj)] = name
        if isinstance(obj, np.ndarray):
            self.described.append(f"{name}: {obj.dtype} array of shape {obj.shape}")
        elif isinstance(obj, np.generic):
            self.described.append(f"{name} = np.{type(obj).__name__}({obj.item()!r})")
        return name

    def value(self, x: Any) -> str:
        t = type(x)
        if t is Var:
            var: Var = x
            return var.name
        if x is None or t is bool or t is int or t is str or x is Ellipsis:
            return repr(x)
        if t is float:
            if math.isfinite(x):
                return repr(x)
            return "np.nan" if math.isnan(x) else ("np.inf" if x > 0 else "-np.inf")
        if t is tuple:
            inner = ", ".join(self.value(v) for v in x)
            return f"({inner},)" if len(x) == 1 else f"({inner})"
        if t is list:
            return "[" + ", ".join(self.value(v) for v in x) + "]"
        if t is dict:
            return "{" + ", ".join(f"{k!r}: {self.value(v)}" for k, v in x.items()) + "}"
        if t is slice:
            return f"slice({self.value(x.start)}, {self.value(x.stop)}, {self.value(x.step)})"
        if isinstance(x, type):
            type_name = x.__name__
            if getattr(np, type_name, None) is x:
                return f"np.{type_name}"
        path = _numpy_path(x) if callable(x) else None
        if path is not None:
            return path
        if isinstance(x, np.dtype):
            return self.constant(x, f"{x.name}_dtype")
        if isinstance(x, np.ndarray | np.generic):
            return self.constant(x)
        return self.constant(x, getattr(x, "__name__", "c"))

    def index(self, x: Any) -> str:
        """An index as written inside ``[...]``: slices as ``a:b``."""
        if type(x) is tuple:
            return ", ".join(self.index(v) for v in x) if x else "()"
        if type(x) is slice:
            parts = ["" if v is None else self.value(v) for v in (x.start, x.stop, x.step)]
            return ":".join(parts[:2]) + (f":{parts[2]}" if parts[2] else "")
        return self.value(x)

    def call(self, eq: Equation) -> str:
        fn, args, kwargs = eq.fn, eq.args, eq.kwargs
        if type(fn) is Fused:
            parts = [self.value(a) for a in args] + [f"{k}={self.value(v)}" for k, v in kwargs.items()]
            return f"{self.constant(fn, 'fused')}({', '.join(parts)})"
        if eq.prim is GETITEM:
            return f"{self.value(args[0])}[{self.index(args[1])}]"
        if eq.prim is CAST or fn is CAST.impl:
            return f"{self.value(args[0])}.astype({self.value(args[1])})"
        if fn is np.negative and len(args) == 1 and not kwargs:
            return f"-{self.value(args[0])}"
        symbol = _OPERATORS.get(fn) if not kwargs and len(args) == 2 else None
        if symbol is not None:
            return f"{self.value(args[0])} {symbol} {self.value(args[1])}"
        path = _numpy_path(fn)
        if path is None:
            hint = eq.prim.name if eq.prim is not None else getattr(fn, "__name__", "f")
            path = self.constant(fn, hint)
        defaults = _defaults(fn)
        parts = [self.value(a) for a in args] + [
            f"{k}={self.value(v)}" for k, v in kwargs.items() if not (k in defaults and _same(defaults[k], v))
        ]
        return f"{path}({', '.join(parts)})"


@functools.lru_cache(maxsize=512)
def _defaults(fn: Any) -> dict[str, Any]:
    """Keyword defaults of ``fn`` (left out of the source when a call passes them)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and (a is b or (isinstance(a, bool | int | float | str) and a == b))


def _subst(x: Any, alias: dict[str, Var]) -> Any:
    t = type(x)
    if t is Var:
        return alias.get(x.name, x)
    if t is tuple or t is list:
        return t(_subst(v, alias) for v in x)
    if t is dict:
        return {k: _subst(v, alias) for k, v in x.items()}
    return x


def _is_ones(x: Any) -> bool:
    return isinstance(x, np.ndarray | np.generic) and x.dtype.kind == "f" and bool(np.all(x == 1.0))


def _key(x: Any) -> Any:
    """A hashable description of an argument, for spotting repeated equations."""
    t = type(x)
    if t is Var:
        return ("v", x.name)
    if x is None or t in (bool, int, float, str) or x is Ellipsis:
        return (t, x)
    if t is tuple or t is list:
        return (t, tuple(_key(v) for v in x))
    if t is slice:
        return ("slice", _key(x.start), _key(x.stop), _key(x.step))
    if t is dict:
        return ("dict", tuple(sorted((k, _key(v)) for k, v in x.items())))
    return ("id", id(x))


_ARITHMETIC = (np.add, np.subtract, np.multiply, np.true_divide)


def _simplify(program: Program, outputs: list[Any]) -> tuple[list[Equation | Guard], list[Any]]:
    """Exact rewrites: repeated equations computed once, and products with the all-ones seed dropped.

    The backward pass starts from a cotangent of ones, broadcast at staging into an
    array of ones: ``ones * v`` is ``v`` where ``v`` has the product's shape and dtype,
    and ``ones / v`` is ``1.0 / v``. A NumPy call is deterministic, so the same call on
    the same values (the forward ``a * b`` that a rule recomputes) is made once.
    """
    alias: dict[str, Var] = {}
    seen: dict[Any, list[Var]] = {}
    steps: list[Equation | Guard] = []
    types = program.types
    for step in program.steps:
        if isinstance(step, Guard):
            steps.append(Guard(_subst(step.var, alias), step.kind, step.expected, step.where))
            continue
        args = _subst(step.args, alias)
        kwargs = _subst(step.kwargs, alias)
        if step.fn in _ARITHMETIC and len(args) == 2 and not kwargs and len(step.outs) == 1:
            a, b = args
            out_type = types.get(step.outs[0].name)
            if _is_ones(a) and type(b) is Var and types.get(b.name) == out_type:
                if step.fn is np.multiply:
                    alias[step.outs[0].name] = b
                    continue
                args = (1.0, b)
            elif _is_ones(b) and type(a) is Var and types.get(a.name) == out_type:
                if step.fn in (np.multiply, np.true_divide):
                    alias[step.outs[0].name] = a
                    continue
                args = (a, 1.0)
        # (Floating-point error handling changes warnings, never values: not part of the key.)
        key = (id(step.fn), _key(args), _key(kwargs))
        earlier = seen.get(key)
        if earlier is not None and len(earlier) == len(step.outs):
            for o, e in zip(step.outs, earlier):
                alias[o.name] = e
            continue
        seen[key] = step.outs
        steps.append(
            Equation(
                step.outs,
                step.fn,
                args,
                kwargs,
                step.label,
                step.context,
                step.errstate,
                step.unpack,
                step.prim,
            )
        )
    return steps, _subst(outputs, alias)


def _fold_negations(
    steps: list[Equation | Guard], outputs: list[Any], types: dict[str, Any]
) -> list[Equation | Guard]:
    """``n = -a; m = n * 1.01`` becomes ``m = a * -1.01`` when nothing else reads ``n``.

    Exact: rounding to nearest is symmetric, so ``(-a) * c == a * (-c)`` bit for bit.
    (Rules write the derivative of ``-x`` and of ``x * c`` one after the other.)
    """
    count: dict[str, int] = {}
    for step in steps:
        for name in reads(step):
            count[name] = count.get(name, 0) + 1
    returned: set[str] = set()
    _uses(outputs, returned)
    negations = {
        step.outs[0].name: step.args[0]
        for step in steps
        if isinstance(step, Equation)
        and step.fn is np.negative
        and len(step.args) == 1
        and not step.kwargs
        and type(step.args[0]) is Var
        and types.get(step.args[0].name, ((), np.dtype(object)))[1].kind == "f"
        and count.get(step.outs[0].name) == 1
        and step.outs[0].name not in returned
    }
    folded: set[str] = set()
    for step in steps:
        if isinstance(step, Guard) or step.fn is not np.multiply or step.kwargs or len(step.args) != 2:
            continue
        a, b = step.args
        if type(a) is Var and a.name in negations and type(b) is float:
            step.args = (negations[a.name], -b)
            folded.add(a.name)
        elif type(b) is Var and b.name in negations and type(a) is float:
            step.args = (-a, negations[b.name])
            folded.add(b.name)
    return [
        s for s in steps if isinstance(s, Guard) or s.outs[0].name not in folded or s.fn is not np.negative
    ]


# Arrays at least this large are written into a dead temporary instead of a new buffer:
# a new buffer of this size is fresh pages from the system (page faults on first touch).
REUSE_MIN_SIZE = 32768


def _reuse_buffers(steps: list[Equation | Guard], outputs: list[Any], types: dict[str, Any]) -> None:
    """Give a ufunc call ``out=`` a large temporary that dies at this call (same shape and dtype).

    A temporary qualifies only if a ufunc call made it (a new array, no one else's view)
    and only ufunc calls read it (so no view of it outlives it).
    """
    last: dict[str, int] = {}
    from_ufunc: set[str] = set()
    viewed: set[str] = set()
    for i, step in enumerate(steps):
        used = reads(step)
        if not isinstance(step, Guard):
            # A fused expression reads and writes elementwise as a ufunc does.
            plain_ufunc = (isinstance(step.fn, np.ufunc) or type(step.fn) is Fused) and not step.kwargs
            if not plain_ufunc:
                viewed |= used
            elif len(step.outs) == 1:
                from_ufunc.add(step.outs[0].name)
        for name in used:
            last[name] = i
    returned: set[str] = set()
    _uses(outputs, returned)
    for i, step in enumerate(steps):
        if isinstance(step, Guard) or step.kwargs or len(step.outs) != 1:
            continue
        if not isinstance(step.fn, np.ufunc) and type(step.fn) is not Fused:
            continue
        out_type = types.get(step.outs[0].name)
        if out_type is None or int(np.prod(out_type[0])) < REUSE_MIN_SIZE:
            continue
        for a in step.args:
            if (
                type(a) is Var
                and a.name in from_ufunc
                and a.name not in viewed
                and a.name not in returned
                and last.get(a.name) == i
                and types.get(a.name) == out_type
            ):
                step.kwargs = {"out": a}
                break


def _live_steps(program: Program, outputs: list[Any]) -> list[Equation | Guard]:
    """The steps that reach an output or a guard (guards are always kept), in order."""
    live: set[str] = set()
    _uses(outputs, live)
    kept: list[Equation | Guard] = []
    for step in reversed(program.steps):
        if isinstance(step, Guard):
            live.add(step.var.name)
            kept.append(step)
        elif any(o.name in live for o in step.outs):
            _uses(step.args, live)
            _uses(step.kwargs, live)
            kept.append(step)
    kept.reverse()
    return kept


def _errstate_block(blocks: list[dict[str, str]], err: dict[str, str], indent: int) -> list[str]:
    """Close the open ``errstate`` blocks that set something ``err`` does not; open one for the rest.

    A run of backward-pass lines under one setting, with one line needing one more
    (``over='ignore'`` for a sum) in the middle, is one block with a block inside, not
    three blocks: each ``with np.errstate`` costs a microsecond or more.
    """
    while blocks and not blocks[-1].items() <= err.items():
        blocks.pop()
    outer = blocks[-1] if blocks else {}
    if err == outer:
        return []
    settings = ", ".join(f"{k}={v!r}" for k, v in sorted(err.items()) if outer.get(k) != v)
    line = "    " * (indent + len(blocks)) + f"with np.errstate({settings}):"
    blocks.append(err)
    return [line]


def _emit(steps: list[Equation | Guard], w: _Writer, indent: int, guards: Iterator[int]) -> list[str]:
    """Source lines of ``steps`` at ``indent`` levels, inside ``errstate`` blocks where they differ."""
    lines: list[str] = []
    blocks: list[dict[str, str]] = []  # the open errstate blocks' settings, outermost first
    for step in steps:
        if isinstance(step, Equation) and step.errstate != (blocks[-1] if blocks else {}):
            lines.extend(_errstate_block(blocks, step.errstate, indent))
        pad = "    " * (indent + len(blocks))
        if isinstance(step, Guard):
            v = step.var.name
            if step.kind == "bool":
                test = f"not {v}" if step.expected else v
            elif step.kind == "shape":
                test = f"{v}.shape != {step.expected!r}"
            else:
                test = f"{v} != {w.value(step.expected)}"
            lines.append(f"{pad}if {test}:  # guard: {step.where}")
            lines.append(f"{pad}    raise GuardFailed({next(guards)})")
            continue
        targets = ", ".join(o.name for o in step.outs) + ("," if step.unpack and len(step.outs) == 1 else "")
        label = f'numexpr "{step.fn.expression}"' if type(step.fn) is Fused else step.label
        comment = label + (f"; {step.context}" if step.context else "")
        lines.append(f"{pad}{targets} = {w.call(step)}  # {comment}")
    return lines


class StagedCode:
    """A compiled staged function: ``fn(*input_leaves) -> tuple of output leaves``, and its source."""

    def __init__(self, fn: Callable[..., Any], source: str, namespace: dict[str, Any]):
        self.fn = fn
        self.source = source
        self.namespace = namespace


def generate(
    program: Program,
    outputs: list[Any],
    name: str,
    header: list[str],
    fusion: bool = True,
    tiling: bool = True,
) -> StagedCode:
    """Python source of ``program`` returning the leaves ``outputs`` (staged values as :class:`Var`).

    ``fusion``: arithmetic on large arrays evaluated by numexpr where it is installed
    (:mod:`.fusion`); the result is the same bit for bit.
    """
    variables = {v.name for v in program.inputs}
    for step in program.steps:
        if isinstance(step, Equation):
            variables.update(o.name for o in step.outs)
    w = _Writer(variables)
    body: list[str] = []
    inputs = {v.name for v in program.inputs}
    produced = list(outputs)
    steps, outputs = _simplify(program, outputs)
    # An output that the simplification made an input or another output is copied
    # (a plain call returns a new array each).
    names = [o.name for o in outputs if type(o) is Var]
    fresh_copy = {
        i
        for i, (a, b) in enumerate(zip(produced, outputs))
        if type(b) is Var and a is not b and (b.name in inputs or names.count(b.name) > 1)
    }
    live = _live_steps(Program(steps, program.inputs, program.types), outputs)
    live = _fold_negations(live, outputs, program.types)
    if fusion:
        live = fuse(live, outputs, program.types, np.geterr())
    if tiling:
        regions = itertools.count()
        live = tile_regions(live, outputs, program.types, lambda: next(regions))
    _reuse_buffers(live, outputs, program.types)
    pool = assign_buffers(live, outputs, program.types, REUSE_MIN_SIZE)
    live = simplify(live, outputs, program.types)
    if pool:
        buffers = ", ".join(f"_tmp{k}" for k in range(len(pool)))
        sizes = ", ".join(f"{np.dtype(d).name} {s}" for s, d in pool)
        body.append(f"    {buffers}, = {w.constant(BufferPool(pool), 'buffers')}()  # preallocated: {sizes}")
    counter = itertools.count()
    body.extend(_emit(live, w, 1, counter))
    returned = []
    for i, leaf in enumerate(outputs):
        text = w.value(leaf)
        if isinstance(leaf, np.ndarray) or i in fresh_copy:
            text += ".copy()"  # the caller owns what it gets, as in a plain call
        returned.append(text)
    body.append(f"    return ({', '.join(returned)}{',' if len(returned) == 1 else ''})")
    regions_source: list[str] = []
    tiled = [s for s in live if isinstance(s, Equation) and type(s.fn) is TiledRegion]
    for step in tiled:
        regions_source += region_source(step, w, program.types, lambda s, k: _emit(s, w, k, counter))
    params = ", ".join(v.name for v in program.inputs)
    lines = [f"# {h}" for h in header]
    if w.described:
        lines.append("# constants: " + "; ".join(w.described))
    lines.extend(regions_source)
    lines.append(f"def {name}({params}):")
    lines.extend(body)
    source = "\n".join(lines) + "\n"
    filename = f"<chainrule.jit {name} {next(_serial)}>"
    # Tracebacks through staged code show its lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    namespace = dict(w.namespace)
    exec(code, namespace)
    for step in tiled:
        region: TiledRegion = step.fn
        region.tile = namespace[f"_{region.__name__}_tile"]
        region.plain = namespace[f"_{region.__name__}_plain"]
        # The equations hold constants: only the namespaces may (constants.py counts references).
        del region.region_steps, region.region_inputs, region.region_outputs  # type: ignore[attr-defined]
    return StagedCode(namespace[name], source, w.namespace)
