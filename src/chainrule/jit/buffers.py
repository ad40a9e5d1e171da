"""Preallocated buffers: the large temporaries of staged code kept from one call to the next.

A new array of a megabyte or more is fresh pages from the operating system, and
touching them the first time costs page faults: on the machines measured here a
new 8 MB temporary costs more than the ``np.multiply`` that fills it. Staged
code knows every temporary's shape and dtype, so it allocates the large ones
once (per thread, on the first call) and writes into them with ``out=``.

A temporary is given a buffer only if no one can hold on to it past the call:

* it is not returned, and neither is anything written into the same buffer
  later (the dead-temporary reuse of :mod:`.codegen` chains values through one
  buffer);
* every reader is a ufunc, a fused expression (:mod:`.fusion`) or a sum that
  reduces (new arrays, never views), or a guard.

Temporaries whose lifetimes do not overlap share a buffer. Each thread has its
own set (two threads calling the same staged function never share one), and a
variant keeps it for its lifetime in the cache: the memory is that of one call's
large temporaries, held between calls, as JAX's compiled functions do.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..engine.staging import Equation, Guard, Var
from .fusion import Fused, reads, uses

__all__ = ["BufferPool", "assign_buffers"]


class BufferPool:
    """``pool()``: this thread's preallocated arrays, made on its first call."""

    def __init__(self, specs: list[tuple[tuple[int, ...], np.dtype[Any]]]):
        self.specs = specs
        self._local = threading.local()

    def __call__(self) -> tuple[np.ndarray, ...]:
        bufs: tuple[np.ndarray, ...] | None = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = tuple(np.empty(shape, dtype) for shape, dtype in self.specs)
            self._local.bufs = bufs
        return bufs

    @property
    def nbytes(self) -> int:
        """Bytes per thread."""
        return sum(int(np.prod(s)) * np.dtype(d).itemsize for s, d in self.specs)

    def __repr__(self) -> str:
        return f"<{len(self.specs)} preallocated buffers, {self.nbytes} bytes per thread>"


def _elementwise(step: Equation | Guard) -> bool:
    """A call that makes a new array from its operands elementwise (a ufunc, a fused expression)."""
    return not isinstance(step, Guard) and (isinstance(step.fn, np.ufunc) or type(step.fn) is Fused)


def _reduces(step: Equation, types: dict[str, Any]) -> bool:
    """A sum to fewer elements than its operand: a new array, never a view of it."""
    is_sum = step.fn is np.sum or (step.prim is not None and step.prim.name == "numpy.sum")
    if not is_sum or not step.args or type(step.args[0]) is not Var:
        return False
    src, dst = types.get(step.args[0].name), types.get(step.outs[0].name)
    return src is not None and dst is not None and int(np.prod(dst[0])) < int(np.prod(src[0]))


def assign_buffers(
    steps: list[Equation | Guard], outputs: list[Any], types: dict[str, Any], min_size: int
) -> list[tuple[tuple[int, ...], np.dtype[Any]]]:
    """Give qualifying new temporaries ``out=`` a pool variable ``_tmpK``; returns the pool's specs.

    Runs after the dead-temporary reuse (``out=`` an operand read for the last time).
    """
    last: dict[str, int] = {}
    escapes: set[str] = set()  # read by something that may keep a view
    for i, step in enumerate(steps):
        used = reads(step)
        if not isinstance(step, Guard) and not _elementwise(step) and not _reduces(step, types):
            escapes |= used
        for name in used:
            last[name] = i
    uses(outputs, escapes)

    # Chains of values sharing one buffer: a root (a new array) and what was written into it.
    root_of: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    start: dict[str, int] = {}
    for i, step in enumerate(steps):
        if isinstance(step, Guard) or len(step.outs) != 1:
            continue
        name = step.outs[0].name
        out = step.kwargs.get("out")
        if type(out) is Var and out.name in root_of:
            root = root_of[out.name]
            root_of[name] = root
            members[root].append(name)
        elif _elementwise(step) and not step.kwargs:
            t = types.get(name)
            if t is not None and int(np.prod(t[0])) >= min_size:
                root_of[name] = name
                members[name] = [name]
                start[name] = i

    specs: list[tuple[tuple[int, ...], np.dtype[Any]]] = []
    free_after: list[int] = []  # per buffer: the last step that reads its current value
    by_index = {i: s for i, s in enumerate(steps)}
    for root in sorted(members, key=lambda r: start[r]):
        chain = members[root]
        if any(m in escapes for m in chain):
            continue
        end = max(last.get(m, start[root]) for m in chain)
        t = types[root]
        slot = next((k for k, spec in enumerate(specs) if spec == t and free_after[k] < start[root]), None)
        if slot is None:
            slot = len(specs)
            specs.append(t)
            free_after.append(end)
        else:
            free_after[slot] = end
        step = by_index[start[root]]
        assert isinstance(step, Equation)
        step.kwargs = {"out": Var(f"_tmp{slot}")}
    return specs
