"""Remembering what each primitive saw, and where it was called.

Used only to localize a failed gradient check: :func:`record` runs the
function on an ordinary :class:`~chainrule.engine.ReverseTrace` with a
recorder that keeps, for every node, the primitive, the raw argument values,
keyword arguments, the result, and the user's call site (the first stack
frame outside chainrule and NumPy). Walking the stack costs time, which is
why ordinary traces never do it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import numpy as np

from ..engine import Node, Primitive, ReverseTrace, trace_scope
from ..pytree import tree_flatten, tree_unflatten

__all__ = ["Record", "record"]

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
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_SKIP):
            return f"{frame.f_code.co_filename}:{frame.f_lineno} (in {frame.f_code.co_name})"
        frame = frame.f_back
    return "(unknown)"


class _Records(list[Record]):
    """The recorder: appends one :class:`Record` per recorded node."""

    def __call__(
        self,
        node: Node,
        prim: Primitive,
        args: tuple[Any, ...],
        raw: list[Any],
        traced: list[int],
        kwargs: dict[str, Any],
        ans: Any,
    ) -> None:
        self.append(Record(prim, list(raw), list(traced), dict(kwargs), ans, call_site()))


def record(f: Callable[..., Any], args: Sequence[Any], nums: Sequence[int]) -> list[Record]:
    """Run ``f(*args)`` with ``args[nums]`` traced and return the recorded primitive calls."""
    records = _Records()
    with trace_scope(ReverseTrace(recorder=records)) as trace:
        boxed = list(args)
        for n in nums:
            leaves, treedef = tree_flatten(args[n])
            boxed[n] = tree_unflatten(treedef, [trace.leaf(np.asarray(v)) for v in leaves])
        f(*boxed)
    return list(records)
