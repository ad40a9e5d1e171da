"""Noticing that a constant of staged code changed, so a call never returns a stale result.

Values the function read from closures and globals while it was staged are
built into the staged code. Two things can make them stale, and both are
checked before every call:

* **Rebinding** (``W = W - lr * g`` at module level, a closure variable
  assigned anew): for the function and the Python functions it refers to
  (three levels deep), every global name its code reads (modules aside) and
  every closure cell is compared by identity with what it held at staging.
  For chainrule's own wrappers (``grad(f)``) only the closure is followed.
* **Writing into an array** (``W[0] = 1``, ``W -= lr * g``): each array
  constant is fingerprinted. Up to 64 KiB the whole buffer is compared with a
  snapshot; a larger array is compared at 256 evenly spread elements (plus its
  first and last), which catches any write that touches them and in practice
  every whole-array update. An array the staging created itself (no one else
  holds it) cannot change and is made read-only instead of being checked.

Not covered: attributes of objects (``self.W``) and values reached through
containers or other modules; pass such values as arguments.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["ConstantGuard", "SAMPLE", "SMALL_BYTES"]

SMALL_BYTES = 65536
SAMPLE = 256


def _bindings(fun: Any, depth: int, seen: set[int], out: list[tuple[Any, str, bool, Any]]) -> None:
    """``(holder, name, value)`` for the globals and closure cells ``fun``'s code reads."""
    fun = getattr(fun, "__func__", fun)
    code = getattr(fun, "__code__", None)
    if code is None or id(fun) in seen or depth < 0:
        return
    seen.add(id(fun))
    names: set[str] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    # chainrule's own functions (grad's wrapper) read only chainrule's globals: their
    # closures (the user's function) are followed, their module globals are not checked.
    own = (getattr(fun, "__module__", None) or "").startswith("chainrule.")
    glob = {} if own else getattr(fun, "__globals__", {})
    found = []
    for name in sorted(names):
        if name in glob and not isinstance(glob[name], types.ModuleType):
            out.append((glob, name, False, glob[name]))
            found.append(glob[name])
    for name, cell in zip(code.co_freevars, getattr(fun, "__closure__", None) or ()):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell (a name assigned later)
            continue
        out.append((cell, name, True, value))
        found.append(value)
    for value in found:
        if isinstance(value, types.FunctionType | types.MethodType):
            _bindings(value, depth - 1, seen, out)


class ConstantGuard:
    """Checks, before a call of staged code, that its constants are those it was staged with."""

    def __init__(self, fun: Callable[..., Any], namespace: dict[str, Any], private_refs: int):
        self.bindings: list[tuple[Any, str, bool, Any]] = []
        _bindings(fun, 3, set(), self.bindings)
        self.small: list[tuple[np.ndarray, bytes]] = []
        self.large: list[tuple[np.ndarray, np.ndarray, bytes]] = []
        seen: set[int] = set()
        arrays: list[np.ndarray] = []
        for obj in namespace.values():
            if type(obj) is not np.ndarray:
                continue
            # References: the namespace(s) of the staged code, this loop, getrefcount's argument.
            if obj.base is None and sys.getrefcount(obj) <= private_refs + 2:
                obj.flags.writeable = False  # made by the staging itself: no one else can write it
                continue
            arrays.append(obj)
        # The closed-over arrays themselves: what the staging computed from them alone
        # (np.sum(W) with W a constant) is folded into a new constant, so they are checked too.
        for *_, value in self.bindings:
            items = value.values() if isinstance(value, dict) else value
            if not isinstance(items, list | tuple | type({}.values())):
                items = (value,)
            arrays.extend(v for v in items if type(v) is np.ndarray)
        for obj in arrays:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.nbytes <= SMALL_BYTES:
                self.small.append((obj, obj.tobytes()))
            else:
                where = np.unique(np.linspace(0, obj.size - 1, SAMPLE + 2).astype(np.intp))
                self.large.append((obj, where, obj.flat[where].tobytes()))

    def changed(self) -> str | None:
        """What changed since staging (for the message), or None."""
        for holder, name, is_cell, value in self.bindings:
            now = holder.cell_contents if is_cell else holder.get(name)
            if now is not value:
                return f"the {'closure variable' if is_cell else 'global'} {name!r} was rebound"
        for obj, snapshot in self.small:
            if obj.tobytes() != snapshot:
                return f"a closed-over array of shape {obj.shape} was written into"
        for obj, where, snapshot in self.large:
            if obj.flat[where].tobytes() != snapshot:
                return f"a closed-over array of shape {obj.shape} was written into"
        return None
