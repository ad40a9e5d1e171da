"""The random generators a function can see, and their states: so that a recomputation draws the same numbers.

``checkpoint`` runs its block again in the backward pass. A block that draws
random numbers (dropout, noise) would draw different ones the second time and
get the derivative of a different function, silently. PyTorch's checkpoint
saves and restores its RNG state for the same reason. NumPy has no single RNG
state, so :func:`visible_generators` looks where a block's generators can be:
its arguments, its closure, the module globals it names, its default values,
the attributes of a bound method's object (one level down), and NumPy's
global ``np.random`` state. :class:`RandomSnapshot` records their states when
the block first runs and puts them back around the recomputation.

A generator reachable only some other way (deeper in an object, created
inside the block from a fixed seed is fine) is not found; the recomputation's
output is therefore also compared with the original by ``checkpoint``, which
catches whatever this search misses.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["RandomSnapshot", "visible_generators"]

_GLOBAL = np.random.mtrand._rand  # the RandomState behind np.random.rand, np.random.seed, ...
_RNG_TYPES = (np.random.Generator, np.random.RandomState, np.random.BitGenerator)


def _names(code: types.CodeType) -> Iterator[str]:
    """The global names a code object (and the functions nested in it) refers to."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _candidates(fun: Any, args: tuple[Any, ...]) -> Iterator[Any]:
    """Objects a call ``fun(*args)`` can reach directly."""
    yield from args
    seen_funs: set[int] = set()
    stack = [fun]
    while stack:
        f = stack.pop()
        if id(f) in seen_funs:
            continue
        seen_funs.add(id(f))
        if isinstance(f, functools.partial):
            stack.append(f.func)
            yield from f.args
            yield from f.keywords.values()
            continue
        if isinstance(f, types.MethodType):
            yield f.__self__
            stack.append(f.__func__)
            continue
        wrapped = getattr(f, "__wrapped__", None)
        if wrapped is not None:
            stack.append(wrapped)
        if not isinstance(f, types.FunctionType):
            yield f  # a callable object: its attributes are searched below
            continue
        for cell in f.__closure__ or ():
            try:
                yield cell.cell_contents
            except ValueError:  # an empty cell
                continue
        yield from f.__defaults__ or ()
        yield from (f.__kwdefaults__ or {}).values()
        g = f.__globals__
        for name in _names(f.__code__):
            if name in g:
                yield g[name]


def visible_generators(fun: Callable[..., Any], args: tuple[Any, ...]) -> list[Any]:
    """The NumPy random generators ``fun(*args)`` can reach (see the module docstring), global one first."""
    found: dict[int, Any] = {id(_GLOBAL): _GLOBAL}

    def consider(x: Any, depth: int) -> None:
        if isinstance(x, _RNG_TYPES):
            found.setdefault(id(x), x)
        elif depth > 0 and isinstance(x, list | tuple):
            for v in x[:64]:  # a container of generators, not a data set
                consider(v, depth - 1)
        elif depth > 0 and isinstance(x, dict):
            for v in list(x.values())[:64]:
                consider(v, depth - 1)
        elif depth > 0 and not isinstance(x, type | types.ModuleType | np.ndarray):
            attrs = getattr(x, "__dict__", None)
            if isinstance(attrs, dict):
                for v in list(attrs.values())[:64]:
                    consider(v, depth - 1)

    for c in _candidates(fun, args):
        consider(c, 2)
    return list(found.values())


def _get_state(rng: Any) -> Any:
    if isinstance(rng, np.random.RandomState):
        return rng.get_state()
    bits = rng.bit_generator if isinstance(rng, np.random.Generator) else rng
    return bits.state


def _set_state(rng: Any, state: Any) -> None:
    if isinstance(rng, np.random.RandomState):
        rng.set_state(state)
        return
    bits = rng.bit_generator if isinstance(rng, np.random.Generator) else rng
    bits.state = state


class RandomSnapshot:
    """The states of some generators at one moment; :meth:`replay` runs a function from that moment.

    >>> rng = np.random.default_rng(0)
    >>> snap = RandomSnapshot([rng])
    >>> first = rng.random()
    >>> bool(snap.replay(rng.random) == first)  # the same number again
    True
    >>> bool(rng.random() != first)  # and the generator goes on where it was
    True
    """

    def __init__(self, generators: list[Any]):
        self.generators = generators
        self.states = [_get_state(g) for g in generators]

    def replay(self, fun: Callable[[], Any]) -> Any:
        """Run ``fun()`` with the generators in their recorded states, then put back their current ones."""
        current = [_get_state(g) for g in self.generators]
        try:
            for g, s in zip(self.generators, self.states):
                _set_state(g, s)
            return fun()
        finally:
            for g, s in zip(self.generators, current):
                _set_state(g, s)
