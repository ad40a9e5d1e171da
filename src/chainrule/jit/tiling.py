"""Tiled regions: the elementwise steps on one large array shape evaluated tile by tile, on threads.

A staged ``value_and_grad`` of ``sum(tanh(x) * exp(-x**2) + log1p(x**2))`` on a
million elements is twenty NumPy calls, each a pass over 8 MB: every pass
reads its operands from memory and writes its result back. Evaluated one tile
of 512 KB (65,536 float64) at a time, all twenty calls run on operands that are
still in the core's cache, and the tiles are shared among threads
(:mod:`chainrule.parallel`; NumPy releases the GIL inside each call).

A **region** is a set of steps of the staged program, all on arrays of one
shape ``S`` (at least :data:`TILE_MIN_SIZE` elements):

* a ufunc call (``np.tanh``, ``+``, ``<``...) whose array operands all have
  shape ``S`` (scalars and 0-d values broadcast; any other shape is not
  elementwise per tile, and stays out);
* a sum (or mean) of a region value to a scalar, in float32 or float64. NumPy sums by
  pairwise summation (blocks of 128, halves rounded to multiples of 8); the
  tiles are the leaves of that same recursion, and the tiles' sums are added
  up along it, so the total is NumPy's bit for bit.

Steps that a region's steps do not need and that do not need the region run
before it; steps that read a region's sums (or anything computed after it) run
after it. Values only the region reads live in per-thread scratch tiles;
values read after the region are written into new arrays, tile by tile.

Every result equals the untiled program's bit for bit: each element is
computed by the same ufunc from the same operands, and the sums as above.
The tiled code needs C-contiguous operands (the tiles are slices of the flat
arrays); a region called on another layout runs its untiled version, also
staged (``_region<k>_plain`` in the source).
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import parallel
from ..engine.staging import Equation, Guard, Var
from .fusion import reads, uses

__all__ = ["TILE_BYTES", "TILE_MIN_SIZE", "TiledRegion", "pairwise_tree", "tile_regions"]

TILE_MIN_SIZE = 1 << 19  # elements: below, untiled passes run from the L3 cache and win (measured)
TILE_BYTES = 1 << 19  # bytes of the widest dtype per tile (2^18 to 2^20 measured best)
MIN_STEPS = 2  # a region of one step saves no pass over memory

_OPERATOR_UFUNCS: dict[Any, np.ufunc] = {
    operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
    operator.truediv: np.true_divide, operator.neg: np.negative,
    operator.lt: np.less, operator.le: np.less_equal, operator.gt: np.greater,
    operator.ge: np.greater_equal, operator.eq: np.equal, operator.ne: np.not_equal,
}  # fmt: skip
_SUM_DEFAULTS = {"axis": None, "dtype": None, "out": None, "keepdims": False}
_PAIRWISE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

Types = dict[str, tuple[tuple[int, ...], np.dtype[Any]]]
Tree = tuple[int, int] | tuple["Tree", "Tree"]


# -- NumPy's pairwise summation ------------------------------------------------------------
def pairwise_tree(n: int, leaf: int) -> Tree:
    """The recursion of NumPy's pairwise sum of ``n`` elements, cut at pieces of at most ``leaf``.

    A leaf is ``(start, stop)``; an inner node the pair of its halves. NumPy sums
    ``n <= 128`` elements directly, and splits larger runs at ``n // 2`` rounded
    down to a multiple of 8; ``np.sum`` of a leaf is the same recursion below it.

    >>> pairwise_tree(1000, 512)
    ((0, 496), (496, 1000))
    """

    def build(start: int, count: int) -> Tree:
        if count <= leaf or count <= 128:
            return (start, start + count)
        half = count // 2
        half -= half % 8
        return (build(start, half), build(start + half, count - half))

    return build(0, n)


def _leaves(tree: Tree) -> list[tuple[int, int]]:
    if type(tree[0]) is int:
        return [tree]
    return _leaves(tree[0]) + _leaves(tree[1])  # type: ignore[arg-type]


def _combine(tree: Tree, partials: list[Any], index: list[int]) -> Any:
    """The sum along ``tree`` of the leaves' sums ``partials`` (in leaf order)."""
    if type(tree[0]) is int:
        value = partials[index[0]]
        index[0] += 1
        return value
    left = _combine(tree[0], partials, index)  # type: ignore[arg-type]
    return left + _combine(tree[1], partials, index)  # type: ignore[arg-type]


# -- which steps a region takes ------------------------------------------------------------
def _operands_fit(
    step: Equation, types: Types, shape: tuple[int, ...] | None, args: tuple[Any, ...] | None = None
) -> bool:
    """One output of ``shape`` (any large shape when None), every operand (``args``) that shape or 0-d."""
    out_type = types.get(step.outs[0].name)
    if out_type is None or out_type[1].kind not in "biufc":
        return False
    out_shape = out_type[0]
    if shape is None:
        if int(np.prod(out_shape)) < TILE_MIN_SIZE:
            return False
    elif out_shape != shape:
        return False
    for a in step.args if args is None else args:
        if type(a) is Var:
            t = types.get(a.name)
            if t is None or (t[0] != out_shape and t[0] != ()) or t[1].kind not in "biufc":
                return False
        elif isinstance(a, np.ndarray | np.generic):
            if a.ndim != 0 or a.dtype.kind not in "biufc":
                return False
        elif type(a) not in (bool, int, float, complex):
            return False
    return True


def _ufunc(step: Equation | Guard, types: Types, shape: tuple[int, ...] | None) -> np.ufunc | None:
    """The ufunc of an elementwise step on arrays of ``shape`` (any large shape when None)."""
    if isinstance(step, Guard) or step.kwargs or step.unpack or len(step.outs) != 1:
        return None
    fn = step.fn if isinstance(step.fn, np.ufunc) else _OPERATOR_UFUNCS.get(step.fn)
    if fn is None or fn.nout != 1 or fn.nin != len(step.args) or fn.signature is not None:
        return None
    return fn if _operands_fit(step, types, shape) else None


def _selection(step: Equation | Guard, types: Types, shape: tuple[int, ...] | None) -> bool:
    """``np.where(c, a, b)`` or ``x.astype(t)`` on arrays of ``shape``: elementwise, without ``out=``."""
    if isinstance(step, Guard) or step.kwargs or step.unpack or len(step.outs) != 1:
        return False
    name = step.prim.name if step.prim is not None else None
    where = (step.fn is np.where or name == "numpy.where") and len(step.args) == 3
    cast = name == "ndarray.astype" and len(step.args) == 2 and isinstance(step.args[1], np.dtype | type)
    if not (where or cast):
        return False
    # (A cast's operand has the output's shape: a 0-d one would be broadcast by nothing.)
    operands = step.args[:1] if cast else step.args
    if cast and (type(operands[0]) is not Var or types.get(operands[0].name, ((),))[0] == ()):
        return False
    return _operands_fit(step, types, shape, operands)


def _elementwise(step: Equation | Guard, types: Types, shape: tuple[int, ...] | None) -> bool:
    return _ufunc(step, types, shape) is not None or _selection(step, types, shape)


def _reduction(step: Equation) -> str | None:
    """``"sum"`` or ``"mean"`` for a call of ``np.sum``/``np.mean`` or their primitives."""
    name = step.prim.name if step.prim is not None else None
    if step.fn is np.sum or name == "numpy.sum":
        return "sum"
    if step.fn is np.mean or name == "numpy.mean":
        return "mean"
    return None


def _total_sum(step: Equation | Guard, types: Types, shape: tuple[int, ...]) -> bool:
    """A sum or mean of an array of ``shape`` to one float32/float64 number, with no options.

    NumPy's mean is its sum divided by the count (an ``np.intp``), in the sum's dtype.
    """
    if isinstance(step, Guard) or len(step.outs) != 1 or step.unpack or not step.args:
        return False
    if _reduction(step) is None or type(step.args[0]) is not Var:
        return False
    if any(a is not None and a is not False for a in step.args[1:]):
        return False  # (the primitive's positional axis and keepdims)
    if any(k not in _SUM_DEFAULTS or v is not _SUM_DEFAULTS[k] for k, v in step.kwargs.items()):
        return False
    src, dst = types.get(step.args[0].name), types.get(step.outs[0].name)
    return (
        src is not None
        and dst is not None
        and src[0] == shape
        and dst[0] == ()
        and src[1] == dst[1]
        and (src[1] in _PAIRWISE_DTYPES)
    )


def _grow(
    steps: list[Equation | Guard], types: Types, shape: tuple[int, ...]
) -> tuple[list[Equation | Guard], list[Equation], list[Equation | Guard]]:
    """``(before, region, after)``: ``steps`` split around the region on ``shape`` starting at steps[0]."""
    before: list[Equation | Guard] = []
    region: list[Equation] = []
    after: list[Equation | Guard] = []
    inside: set[str] = set()  # elementwise values of the region
    late: set[str] = set()  # sums of the region, and what is computed after it
    for step in steps:
        read = reads(step)
        if not read & late:
            if _elementwise(step, types, shape):
                assert isinstance(step, Equation)
                region.append(step)
                inside.add(step.outs[0].name)
                continue
            if isinstance(step, Equation) and _total_sum(step, types, shape) and step.args[0].name in inside:
                region.append(step)
                late.add(step.outs[0].name)
                continue
        if read & (inside | late):
            after.append(step)
            if isinstance(step, Equation):
                late.update(o.name for o in step.outs)
        else:
            before.append(step)
    return before, region, after


# -- the region object the staged code calls -------------------------------------------------
class TiledRegion:
    """``region(*inputs) -> tuple of outputs``: the tiled (or, off C order, the plain) evaluation."""

    def __init__(
        self,
        name: str,
        shape: tuple[int, ...],
        inputs_full: list[bool],
        outputs: list[tuple[str, tuple[int, ...], np.dtype[Any]]],
        scratch: list[np.dtype[Any]],
        leaf: int,
        steps: int,
    ):
        self.__name__ = name
        self.shape = shape
        self.size = int(np.prod(shape))
        self.inputs_full = inputs_full
        self.outputs = outputs  # (kind "full", "sum" or "mean", shape, dtype), in the order returned
        self.scratch_dtypes = scratch
        self.tree = pairwise_tree(self.size, leaf)
        self.leaves = _leaves(self.tree)
        self.leaf = max(stop - start for start, stop in self.leaves)
        self.steps = steps
        self.tile: Callable[..., tuple[Any, ...]] | None = None  # set once the source is compiled
        self.plain: Callable[..., tuple[Any, ...]] | None = None
        self._local = threading.local()

    def scratch(self, n: int) -> tuple[np.ndarray, ...]:
        """This thread's scratch tiles, ``n`` elements each."""
        bufs: tuple[np.ndarray, ...] | None = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = tuple(np.empty(self.leaf, d) for d in self.scratch_dtypes)
            self._local.bufs = bufs
        return tuple(b[:n] for b in bufs)

    def _groups(self, threads: int) -> list[list[tuple[int, int]]]:
        """The leaves in ``threads`` runs of about equal size, in order."""
        groups: list[list[tuple[int, int]]] = [[] for _ in range(threads)]
        per = self.size / threads
        for start, stop in self.leaves:
            groups[min(threads - 1, int(start / per))].append((start, stop))
        return [g for g in groups if g]

    def __call__(self, *inputs: Any) -> tuple[Any, ...]:
        assert self.tile is not None
        assert self.plain is not None
        for x, full in zip(inputs, self.inputs_full):
            if full and not x.flags.c_contiguous:
                return self.plain(*inputs)
        flat = [x.reshape(-1) if full else x for x, full in zip(inputs, self.inputs_full)]
        results = [np.empty(shape, dtype) for kind, shape, dtype in self.outputs if kind == "full"]
        targets = [r.reshape(-1) for r in results]
        tile = self.tile

        def run(group: list[tuple[int, int]]) -> Callable[[], list[tuple[Any, ...]]]:
            return lambda: [tile(start, stop, *flat, *targets) for start, stop in group]

        groups = self._groups(min(parallel.num_threads(), len(self.leaves)))
        partials = [p for part in parallel.run_parts([run(g) for g in groups]) for p in part]
        out: list[Any] = []
        full_results = iter(results)
        k = 0
        for kind, _, _ in self.outputs:
            if kind == "full":
                out.append(next(full_results))
            else:
                total = _combine(self.tree, [p[k] for p in partials], [0])
                if kind == "mean":  # as np.mean: the sum over the count, back in the sum's dtype
                    total = total.dtype.type(total / np.intp(self.size))
                out.append(total)
                k += 1
        return tuple(out)

    def __repr__(self) -> str:
        return f"<tiled region of {self.steps} steps on {self.shape}, {len(self.leaves)} tiles>"


# -- the pass ---------------------------------------------------------------------------------
def tile_regions(
    steps: list[Equation | Guard], outputs: list[Any], types: Types, serial: Callable[[], int]
) -> list[Equation | Guard]:
    """``steps`` with each region replaced by one call of a :class:`TiledRegion`.

    The region equations keep their steps (``eq.fn.region_steps``) for the code
    generator, which writes the tile function and the plain function.
    ``serial()`` numbers the regions.
    """
    result: list[Equation | Guard] = []
    pending = [_scalar_constants(s, types) for s in steps]
    returned: set[str] = set()
    uses(outputs, returned)
    while pending:
        start = next((i for i, s in enumerate(pending) if _elementwise(s, types, None)), None)
        if start is None:
            result.extend(pending)
            break
        first = pending[start]
        assert isinstance(first, Equation)
        shape = types[first.outs[0].name][0]
        before, region, after = _grow(pending[start:], types, shape)
        if sum(1 for s in region if _elementwise(s, types, shape)) < MIN_STEPS:
            result.extend(pending[: start + 1])  # not worth a region: the steps as they were
            pending = pending[start + 1 :]
            continue
        result.extend(pending[:start])
        result.extend(before)
        result.append(_region_equation(region, after, returned, types, shape, serial()))
        pending = after
    return result


def _scalar_constants(step: Equation | Guard, types: Types) -> Equation | Guard:
    """An elementwise step with a constant that is one value broadcast (the all-ones seed of a
    backward pass) reads that value as a 0-d array instead, when another operand has the
    result's shape: the same elements and the same result dtype (NumPy types a 0-d array as
    strongly as a full one), and the step can join a region."""
    if isinstance(step, Guard):
        return step
    if not ((isinstance(step.fn, np.ufunc) and step.fn.signature is None) or step.fn is np.where):
        return step  # (np.matmul is a ufunc too, with a core signature)
    out_type = types.get(step.outs[0].name) if len(step.outs) == 1 else None
    if out_type is None:
        return step
    full = any(type(a) is Var and types.get(a.name, ((),))[0] == out_type[0] for a in step.args)
    args = tuple(
        np.asarray(a[(0,) * a.ndim])
        if full and type(a) is np.ndarray and a.ndim and a.shape == out_type[0] and not any(a.strides)
        else a
        for a in step.args
    )
    if all(x is y for x, y in zip(args, step.args)):
        return step
    return Equation(
        step.outs, step.fn, args, step.kwargs, step.label, step.context, step.errstate, step.unpack, step.prim
    )


def _region_equation(
    region: list[Equation], after: list[Equation | Guard], returned: set[str], types: Types,
    shape: tuple[int, ...], number: int,
) -> Equation:  # fmt: skip
    produced = {s.outs[0].name for s in region}
    read_after: set[str] = set(returned)
    for s in after:
        read_after |= reads(s)
    inputs: list[str] = []
    for s in region:
        for name in sorted(reads(s)):
            if name not in produced and name not in inputs:
                inputs.append(name)
    outs = [s.outs[0].name for s in region if s.outs[0].name in read_after]
    kinds = {s.outs[0].name: _reduction(s) or "sum" for s in region if not _elementwise(s, types, shape)}
    outputs = [(kinds[n] if types[n][0] == () else "full", types[n][0], types[n][1]) for n in outs]
    widest = max(types[s.outs[0].name][1].itemsize for s in region)
    tiled = TiledRegion(
        f"region{number}", shape, [types[n][0] == shape for n in inputs],
        [(k, sh, dt) for k, sh, dt in outputs], [], max(128, TILE_BYTES // widest), len(region),
    )  # fmt: skip
    tiled.region_steps = region  # type: ignore[attr-defined]
    tiled.region_inputs = inputs  # type: ignore[attr-defined]
    tiled.region_outputs = outs  # type: ignore[attr-defined]
    context = f"{len(region)} elementwise steps on {shape} in tiles (see _{tiled.__name__}_tile)"
    return Equation(
        [Var(n) for n in outs], tiled, tuple(Var(n) for n in inputs), {}, "tiled region", context,
        {}, unpack=True, prim=None,
    )  # fmt: skip


# -- source of the tile and plain functions -----------------------------------------------
def region_source(
    region_eq: Equation, writer: Any, types: Types, emit: Callable[..., list[str]]
) -> list[str]:
    """Source lines of ``_<name>_tile`` and ``_<name>_plain`` for a region equation.

    ``emit(steps, indent)`` writes steps as the code generator writes them (with
    their ``errstate`` blocks); ``writer`` renders values.
    """
    tiled: TiledRegion = region_eq.fn
    name = tiled.__name__
    steps: list[Equation] = tiled.region_steps  # type: ignore[attr-defined]
    inputs: list[str] = tiled.region_inputs  # type: ignore[attr-defined]
    outs: list[str] = tiled.region_outputs  # type: ignore[attr-defined]
    full_outs = [n for n in outs if types[n][0] != ()]
    sums = [n for n in outs if types[n][0] == ()]

    # Scratch tiles: a value only the region reads takes a free tile of its dtype; the
    # tile of an operand read for the last time is free for the step's own result
    # (an elementwise call may write over its operand).
    last: dict[str, int] = {}
    for i, s in enumerate(steps):
        for n in reads(s):
            last[n] = i
    slots: list[np.dtype[Any]] = []
    free: list[int] = []
    slot_of: dict[str, int] = {}
    tile_steps: list[Equation] = []
    partial_names: dict[str, str] = {}
    for i, s in enumerate(steps):
        out = s.outs[0].name
        ufunc = _ufunc(s, types, tiled.shape)
        for n in reads(s):
            if last.get(n) == i and n in slot_of and n not in outs:
                free.append(slot_of[n])
        if ufunc is None and not _selection(s, types, tiled.shape):  # a sum or mean: the tile's sum
            partial_names[out] = f"_p_{out}"
            tile_steps.append(
                Equation([Var(f"_p_{out}")], np.sum, (s.args[0],), {}, s.label, s.context, s.errstate)
            )
            continue
        if ufunc is None:  # np.where or astype: a new tile array (no out=), copied out if read later
            tile_steps.append(s)
            if out in outs:
                copy = (Var(f"_o_{out}"), Var(out))
                tile_steps.append(Equation([Var("_")], np.copyto, copy, {}, "copy", "", s.errstate))
            continue
        if out in outs:
            target = Var(f"_o_{out}")
        else:
            dtype = types[out][1]
            k = next((k for k in free if slots[k] == dtype), None)
            if k is None:
                k = len(slots)
                slots.append(dtype)
            else:
                free.remove(k)
            slot_of[out] = k
            target = Var(f"_s{k}")
        tile_steps.append(
            Equation(s.outs, ufunc, s.args, {"out": target}, s.label, s.context, s.errstate, prim=s.prim)
        )
    tiled.scratch_dtypes = slots

    params = ", ".join(["_lo", "_hi", *inputs, *(f"_out_{n}" for n in full_outs)])
    lines = [f"def _{name}_tile({params}):"]
    lines.append(f'    """One tile, elements _lo:_hi, of {name} ({tiled.steps} steps on {tiled.shape})."""')
    for n, full in zip(inputs, tiled.inputs_full):
        if full:
            lines.append(f"    {n} = {n}[_lo:_hi]")
    for n in full_outs:
        lines.append(f"    _o_{n} = _out_{n}[_lo:_hi]")
    if slots:
        names = ", ".join(f"_s{k}" for k in range(len(slots)))
        lines.append(f"    {names}, = {writer.constant(tiled, name)}.scratch(_hi - _lo)")
    lines.extend(emit(tile_steps, 1))
    partials = ", ".join(partial_names[n] for n in sums)
    lines.append(f"    return ({partials}{',' if len(sums) == 1 else ''})")
    lines.append("")
    lines.append(f"def _{name}_plain({', '.join(inputs)}):")
    lines.append(f'    """{name} untiled, for operands that are not C-contiguous."""')
    lines.extend(emit(list(steps), 1))
    lines.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    lines.append("")
    return lines
