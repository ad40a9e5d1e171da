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

* **Reaching an array through an object or a container** (``self.W``,
  ``params["w"]``, ``model.layers[0].b``, ``config.scale`` of a module): the
  function's code is read for chains of attributes and constant subscripts that
  start at a global, a closure variable or a bound method's ``self``. Each chain
  is followed again before every call, through instance dictionaries, modules,
  dicts, lists and tuples only (never a property or a custom ``__getitem__``,
  which could run code), and what it reaches must be the very array (or an equal
  number) it reached at staging; the arrays it reaches are fingerprinted too.

Not covered: chains through computed keys (``params[name]``), properties and
other code; pass such values as arguments.
"""

from __future__ import annotations

import dis
import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["ConstantGuard", "SAMPLE", "SMALL_BYTES", "RandomDraws"]

SMALL_BYTES = 65536
SAMPLE = 256


Chain = tuple[Any, tuple[tuple[str, Any], ...], Any]  # (root, path, what it reached at staging)


def _bindings(
    fun: Any, depth: int, seen: set[tuple[int, int]], out: list[tuple[Any, str, bool, Any]],
    chains: list[Chain], arguments: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """``(holder, name, value)`` for the globals and closure cells ``fun``'s code reads, and
    the chains of attributes and constant subscripts it follows from them (``chains``);
    ``arguments``: parameters of ``fun`` whose values are fixed (static arguments), roots too."""
    bound = getattr(fun, "__self__", None) if isinstance(fun, types.MethodType) else None
    fun = getattr(fun, "__func__", fun)
    code = getattr(fun, "__code__", None)
    if code is None or (id(fun), id(bound)) in seen or depth < 0:
        return
    seen.add((id(fun), id(bound)))
    names: set[str] = set()
    codes = []
    stack = [code]
    while stack:
        c = stack.pop()
        codes.append(c)
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
    cells: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, getattr(fun, "__closure__", None) or ()):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell (a name assigned later)
            continue
        out.append((cell, name, True, value))
        found.append(value)
        cells[name] = value
    if not own:
        first = code.co_varnames[0] if bound is not None and code.co_argcount else None
        recorded: set[tuple[int, tuple[tuple[str, Any], ...]]] = set()
        for c in codes:
            for load, name, path in _chains(c):
                if load == "LOAD_GLOBAL" and name in glob:
                    root = glob[name]
                elif load == "LOAD_DEREF" and name in cells:
                    root = cells[name]
                elif load == "LOAD_FAST" and name == first and c is code:
                    root = bound
                elif load == "LOAD_FAST" and arguments and name in arguments and c is code:
                    root = arguments[name]
                else:
                    continue
                # Every prefix: ``self.rng.random`` reaches the generator ``self.rng`` on the way
                # (Python 3.12 writes a method call as LOAD_ATTR, not LOAD_METHOD).
                for cut in range(1, len(path) + 1):
                    reached = _follow(root, path[:cut])
                    if isinstance(reached, _LEAVES + _RANDOM) and (id(root), path[:cut]) not in recorded:
                        recorded.add((id(root), path[:cut]))
                        chains.append((root, path[:cut], reached))
                    elif isinstance(reached, types.FunctionType | types.MethodType):
                        found.append(reached)  # a function stored on an object: its code is read
                if path[-1][0] == "attr":  # a method of an object: its code is read too
                    method = _method(_follow(root, path[:-1]), path[-1][1])
                    if method is not None:
                        found.append(method)
    for value in found:
        if not isinstance(value, types.FunctionType | types.MethodType):
            value = _method(value, "__call__")  # a callable object (a layer): its __call__
        if value is not None:
            _bindings(value, depth - 1, seen, out, chains)


def _method(obj: Any, name: str) -> types.MethodType | None:
    """``obj.name`` when it is a plain function defined on ``obj``'s class (bound to ``obj``)."""
    if obj is _MISSING or isinstance(obj, type | types.ModuleType):
        return None
    for klass in type(obj).__mro__:
        found = klass.__dict__.get(name, _MISSING)
        if found is not _MISSING:
            return types.MethodType(found, obj) if isinstance(found, types.FunctionType) else None
    return None


_MISSING = object()
_LEAVES = (np.ndarray, np.generic, int, float, complex, bool)
_RANDOM = (np.random.Generator, np.random.RandomState, np.random.BitGenerator)


def _step(obj: Any, kind: str, key: Any) -> Any:
    """One link of a chain, through plain data only (``_MISSING`` where it would run code)."""
    if kind == "attr":
        if isinstance(obj, types.ModuleType):
            return obj.__dict__.get(key, _MISSING)
        attrs = getattr(obj, "__dict__", None)
        if type(attrs) is not dict or key not in attrs:
            return _MISSING
        for klass in type(obj).__mro__:  # a data descriptor (property) on the class wins
            found = klass.__dict__.get(key, _MISSING)
            if found is not _MISSING:
                return _MISSING if hasattr(type(found), "__set__") else attrs[key]
        return attrs[key]
    if type(obj) is dict:
        return obj.get(key, _MISSING) if isinstance(key, str | int | float | tuple) else _MISSING
    if type(obj) in (list, tuple) and type(key) is int and -len(obj) <= key < len(obj):
        return obj[key]
    return _MISSING


def _follow(root: Any, path: tuple[tuple[str, Any], ...]) -> Any:
    for kind, key in path:
        root = _step(root, kind, key)
        if root is _MISSING:
            break
    return root


def _chains(code: types.CodeType) -> list[tuple[str, str, tuple[tuple[str, Any], ...]]]:
    """``(load, name, path)``: attribute and constant-subscript chains from a loaded name."""
    found = []
    start: tuple[str, str] | None = None
    path: list[tuple[str, Any]] = []
    pending_key: Any = _MISSING

    def close() -> None:
        if start is not None and path:
            found.append((start[0], start[1], tuple(path)))

    for ins in dis.get_instructions(code):
        op = ins.opname
        if op in ("LOAD_GLOBAL", "LOAD_DEREF", "LOAD_FAST", "LOAD_NAME"):
            close()
            start, path, pending_key = (op, str(ins.argval)), [], _MISSING
        elif start is not None and op == "LOAD_METHOD" and pending_key is _MISSING:
            close()  # the object whose method is called (a generator, a model)...
            path.append(("attr", ins.argval))
            close()  # ...and the method, whose code is read too
            start, path = None, []
        elif start is not None and op == "LOAD_ATTR" and pending_key is _MISSING:
            path.append(("attr", ins.argval))
        elif start is not None and op == "LOAD_CONST" and pending_key is _MISSING:
            pending_key = ins.argval
        elif start is not None and op == "BINARY_SUBSCR" and pending_key is not _MISSING:
            path.append(("item", pending_key))
            pending_key = _MISSING
        elif op in ("CACHE", "PRECALL", "NOP", "EXTENDED_ARG"):
            continue
        else:
            close()
            start, path, pending_key = None, [], _MISSING
    close()
    return found


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) or type(a) is not type(b):
        return False
    return bool(a == b) or (a != a and b != b)  # numbers: equal values (NaN equals NaN)


class ConstantGuard:
    """Checks, before a call of staged code, that its constants are those it was staged with."""

    def __init__(
        self, fun: Callable[..., Any], namespace: dict[str, Any], private_refs: int,
        statics: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self.bindings: list[tuple[Any, str, bool, Any]] = []
        self.chains: list[Chain] = []
        _bindings(fun, 3, set(), self.bindings, self.chains, statics)
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
        arrays.extend(reached for *_, reached in self.chains if type(reached) is np.ndarray)
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
        for root, path, reached in self.chains:
            if not _same(_follow(root, path), reached):
                text = "".join(f".{k}" if kind == "attr" else f"[{k!r}]" for kind, k in path)
                return f"the value at {type(root).__name__}{text} was replaced"
        for obj, snapshot in self.small:
            if obj.tobytes() != snapshot:
                return f"a closed-over array of shape {obj.shape} was written into"
        for obj, where, snapshot in self.large:
            if obj.flat[where].tobytes() != snapshot:
                return f"a closed-over array of shape {obj.shape} was written into"
        return None


def _random_state(rng: Any) -> Any:
    if isinstance(rng, np.random.RandomState):
        return rng.get_state(legacy=False)
    if isinstance(rng, np.random.Generator):
        return rng.bit_generator.state
    return rng.state


def _equal_states(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal_states(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


class RandomDraws:
    """Notices a function that draws random numbers while it is staged.

    Staged code would repeat the staging run's draws on every call (a dropout
    mask, noise): a silently different result from the function's. The
    generators watched are NumPy's global one (``np.random.rand``...) and every
    ``Generator``, ``RandomState`` or bit generator the function reaches as a
    global, a closure variable, through attributes and constant keys (as
    :class:`ConstantGuard`), or receives as an argument.
    """

    def __init__(self, fun: Callable[..., Any], arguments: list[Any]):
        bindings: list[tuple[Any, str, bool, Any]] = []
        chains: list[Chain] = []
        _bindings(fun, 3, set(), bindings, chains)
        found: list[Any] = [np.random.mtrand._rand, *arguments]
        for *_, value in bindings:
            found.extend(value.values() if isinstance(value, dict) else [value])
        found.extend(reached for *_, reached in chains)
        seen: set[int] = set()
        self.generators = []
        for g in found:
            if isinstance(g, _RANDOM) and id(g) not in seen:
                seen.add(id(g))
                self.generators.append((g, _random_state(g)))

    def drawn(self) -> str | None:
        """The generator drawn from since this object was made, described; None if none was."""
        for g, state in self.generators:
            if not _equal_states(_random_state(g), state):
                if g is np.random.mtrand._rand:
                    return "NumPy's global random generator (np.random.rand, np.random.normal...)"
                return f"a {type(g).__name__}"
        return None
