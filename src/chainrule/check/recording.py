"""A reverse trace that also remembers what each primitive saw, and where it was called.

Used only to localize a failed gradient check: :class:`RecordingTrace` runs
like the ordinary :class:`~chainrule.core.ReverseTrace` and, for every node,
keeps the primitive, the raw argument values, keyword arguments, the result,
and the user's call site (the first stack frame outside chainrule and NumPy).
Walking the stack costs time, which is why ordinary traces never do it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import Primitive, ReverseTrace, Tracer
from ..pytree import tree_flatten, tree_unflatten

__all__ = ["Record", "RecordingTrace", "record"]

_SKIP = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
    os.path.dirname(os.path.abspath(np.__file__)) + os.sep,
)


@dataclass
class Record:
    """One primitive call as the function made it."""

    prim: Primitive
    raw: list[Any]
    traced: list[int]
    kwargs: dict[str, Any]
    ans: Any
    call_site: str


def call_site() -> str:
    """``file:line (function)`` of the innermost frame outside chainrule and NumPy."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_SKIP):
            return f"{frame.f_code.co_filename}:{frame.f_lineno} (in {frame.f_code.co_name})"
        frame = frame.f_back
    return "(unknown)"


class RecordingTrace(ReverseTrace):
    """A :class:`ReverseTrace` that records every node for rule-by-rule checking."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Record] = []

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        out = super().process(prim, args, kwargs)
        raw, traced = list(args), []
        for i, a in enumerate(args):
            if type(a) is Tracer and a._trace is self:
                raw[i] = a._value
                traced.append(i)
        ans = out._value if type(out) is Tracer and out._trace is self else out
        self.records.append(Record(prim, raw, traced, dict(kwargs), ans, call_site()))
        return out


def record(f: Callable[..., Any], args: Sequence[Any], nums: Sequence[int]) -> list[Record]:
    """Run ``f(*args)`` with ``args[nums]`` traced and return the recorded primitive calls."""
    trace = RecordingTrace()
    boxed = list(args)
    for n in nums:
        leaves, treedef = tree_flatten(args[n])
        boxed[n] = tree_unflatten(treedef, [trace.leaf(np.asarray(v)) for v in leaves])
    try:
        f(*boxed)
    finally:
        trace.active = False
    return trace.records
