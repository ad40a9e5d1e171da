"""The reverse sweep: cotangents propagated from the outputs back through a tape, once.

There is one sweep. Explanations and the gradient checker watch it through a
:class:`SweepObserver` instead of replaying it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

from .traces import Node, ReverseTrace

__all__ = ["SweepObserver", "reverse_sweep"]


class SweepObserver(Protocol):
    """Watches :func:`reverse_sweep`: each node as its total cotangent is used, and each contribution."""

    def visit(self, node: Node, adjoint: Any) -> None: ...

    def contribution(self, node: Node, position: int, parent: Node, value: Any) -> None: ...


def reverse_sweep(
    trace: ReverseTrace,
    seeds: Iterable[tuple[Node, Any]],
    *,
    retain: bool = False,
    observer: SweepObserver | None = None,
) -> dict[Node, Any]:
    """Propagate cotangents from ``seeds`` back through ``trace``'s tape.

    Walks the tape in reverse creation order (a valid topological order: no
    graph sort), calls each node's cotangent functions once with the node's
    total cotangent, and sums the contributions per input node. Returns the
    cotangent of every node that received one and was not consumed (the
    leaves). Unless ``retain``, each node drops its functions once used, so
    the values they hold are freed while the sweep goes on.

    ``observer.visit(node, g)`` is called before a node's functions run, and
    ``observer.contribution(node, k, parent, c)`` for each contribution ``c``
    its ``k``-th parent receives.
    """
    adjoint: dict[Node, Any] = {}
    for node, g in seeds:
        prev = adjoint.get(node)
        adjoint[node] = g if prev is None else prev + g
    tape = trace.tape
    # Arrays only this sweep refers to: sums it allocated, and results of rules
    # that declare their cotangents fresh. Further contributions are added into
    # them in place (one allocation per fan-out, not one per extra consumer).
    # Ownership is explicit, never guessed from reference counts. Kept by id with
    # the array itself, so an id cannot be reused while it is in the table.
    owned: dict[int, Any] = {}
    # 0 * inf from a branch that np.where did not select is masked by the rules
    # (see chainrule.extend.masked_product); the warning would only repeat what
    # the result shows.
    with np.errstate(divide="ignore", invalid="ignore"):
        pop = adjoint.pop
        get = adjoint.get
        for node in reversed(tape):
            g = pop(node, None)
            if g is None:
                continue
            # Handed to the rules now, which may pass it on unchanged (the rule of
            # add returns g itself): no longer ours alone.
            owned.pop(id(g), None)
            if observer is not None:
                observer.visit(node, g)
            for k, (parent, fn, fresh) in enumerate(node.parents):
                c = fn(g)
                if c is None:
                    continue
                if observer is not None:
                    observer.contribution(node, k, parent, c)
                prev = get(parent)
                if prev is None:
                    adjoint[parent] = c
                    # (Not while observed: the observer keeps each contribution as it was.)
                    if fresh and observer is None and type(c) is np.ndarray and c.flags.writeable:
                        owned[id(c)] = c
                elif (
                    id(prev) in owned
                    and type(c) is np.ndarray
                    and c.shape == prev.shape
                    and c.dtype == prev.dtype
                ):
                    prev += c
                else:
                    total = prev + c
                    adjoint[parent] = total
                    if type(total) is np.ndarray:
                        owned[id(total)] = total
            if not retain:
                node.parents = ()  # frees the functions, and the values they keep
    if not retain:
        tape.clear()
    return adjoint
