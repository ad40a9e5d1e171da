"""A primitive's rules applied to one call, outside a traced function: what the checker's localization needs.

The rules are applied in one place, the traces' ``process`` methods (the
per-operation path, written out there). Applying them to a single recorded
call, as the checker does to re-check one primitive at the values it saw,
runs that same method on a one-operation trace, so the check sees exactly
what a gradient computation does (broadcasting undone, zero rules skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .core import Primitive, Tracer
from .traces import ForwardTrace, ReverseTrace, trace_scope

__all__ = ["cotangent_functions", "output_tangent"]


def cotangent_functions(
    prim: Primitive,
    raw: Sequence[Any],
    kwargs: dict[str, Any],
    argnums: Sequence[int],
) -> list[tuple[int, Callable[[Any], Any]]]:
    """``(i, g -> cotangent of argument i)`` for each argument in ``argnums`` with a non-zero rule.

    ``raw`` are the plain arguments of the call. Each function returns a
    cotangent of argument ``i``'s exact shape.
    """
    with trace_scope(ReverseTrace()) as trace:
        args = list(raw)
        for i in argnums:
            args[i] = trace.leaf(raw[i])
        out = trace.process(prim, tuple(args), kwargs)
    position = {id(args[i]._node): i for i in argnums}
    return [(position[id(parent)], fn) for parent, fn, _ in out._node.parents]


def output_tangent(
    prim: Primitive,
    raw: Sequence[Any],
    kwargs: dict[str, Any],
    argnums: Sequence[int],
    tangents: Sequence[Any],
) -> Any:
    """The tangent of the call's output given the tangents of arguments ``argnums``; ``None`` for zero."""
    with trace_scope(ForwardTrace()) as trace:
        args = list(raw)
        for i, t in zip(argnums, tangents):
            args[i] = trace.leaf(raw[i], t)
        out = trace.process(prim, tuple(args), kwargs)
    return out._tangent if type(out) is Tracer and out._trace is trace else None
