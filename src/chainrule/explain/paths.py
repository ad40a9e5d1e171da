"""The chain rule written out: a derivative as a sum over paths of products.

For a scalar output ``f`` and a scalar input ``x``, every path
``x -> v_a -> v_b -> ... -> f`` through the recorded graph contributes the
product of the local partial derivatives along it, and the derivative is the
sum of those products. The backward sweep computes the same sum, factored so
that shared path suffixes are multiplied once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .recording import BackwardStep, Edge, Graph

__all__ = ["Path", "PathIndex", "PathSum", "path_sum"]


@dataclass
class Path:
    """One path from an input to the output: its edges (input side first) and their product."""

    edges: list[Edge]
    product: float


@dataclass
class PathSum:
    """The derivative of the output with respect to one scalar leaf, written as a path sum.

    ``paths`` is empty when there are more than ``max_paths`` paths or one is
    longer than ``max_length`` edges (``count`` says how many); ``total`` is
    then ``None``.
    """

    leaf: int
    label: str
    count: int
    paths: list[Path]
    total: float | None

    def lines(self, names: dict[int, str]) -> list[str]:
        """The formula as text lines, using ``names[id]`` for each node."""
        head = f"d out / d {self.label}"
        if self.count == 0:
            return [f"{head} = 0 (no path from {self.label} to the output)"]
        if not self.paths:
            return [f"{head}: {self.count} path(s), too many or too long to write out"]
        out = [f"{head} = sum over {self.count} path(s) of the product of local partials:"]
        for k, p in enumerate(self.paths, 1):
            if not p.edges:  # the output is the input itself: the empty product
                out.append(f"  path {k}: {names[self.leaf]} is the output itself: (empty product) = 1")
                continue
            route = " -> ".join([names[p.edges[0].input]] + [names[e.consumer] for e in p.edges])
            factors = " * ".join(f"({float(e.local):.6g})" for e in p.edges)
            out.append(f"  path {k}: {route}: {factors} = {p.product:.6g}")
        terms = " + ".join(f"({p.product:.6g})" for p in self.paths)
        out.append(f"  {head} = {terms} = {self.total:.6g}")
        return out


class PathIndex:
    """The graph's edges towards the output, and the number of paths from each node: built once.

    Every leaf's path sum reads the same index (rebuilding it per leaf made a
    graph of ``n`` inputs cost ``O(n**2)``).
    """

    def __init__(self, graph: Graph, steps: list[BackwardStep]):
        self.up: dict[int, list[Edge]] = {}
        for step in steps:
            for e in step.sent:
                self.up.setdefault(e.input, []).append(e)
        self.out_id = graph.output.id if graph.output is not None else None
        self.count: dict[int, int] = {}
        # Fill counts from the output downwards (ids ascend along edges), so no deep recursion.
        for i in sorted(self.up, reverse=True):
            self.paths_from(i)

    def paths_from(self, i: int) -> int:
        count = self.count
        if i in count:
            return count[i]
        total = 1 if i == self.out_id else 0
        for e in self.up.get(i, []):
            total += self.paths_from(e.consumer)
        count[i] = total
        return total


def path_sum(
    graph: Graph,
    steps: list[BackwardStep],
    leaf: int,
    max_paths: int = 64,
    max_length: int = 64,
    index: PathIndex | None = None,
) -> PathSum | None:
    """Write ``d output / d leaf`` as a sum over paths, or ``None`` if not all scalars.

    Every edge on a path must join two single-number nodes (its local partial
    is then a number). ``index``: a :class:`PathIndex` shared by the leaves of one graph.
    """
    node = graph.nodes[leaf]
    if graph.output is None:
        return PathSum(leaf, node.label, 0, [], 0.0)
    index = PathIndex(graph, steps) if index is None else index
    up, count, out_id = index.up, index.count, index.out_id
    n = index.paths_from(leaf)
    if n == 0:
        return PathSum(leaf, node.label, 0, [], 0.0)
    # Only scalar edges on the paths.
    reach = [leaf]
    seen = {leaf}
    while reach:
        i = reach.pop()
        for e in up.get(i, []):
            if count.get(e.consumer, 1 if e.consumer == out_id else 0) == 0:
                continue
            if e.local is None:
                return None
            if e.consumer not in seen:
                seen.add(e.consumer)
                reach.append(e.consumer)
    if n > max_paths:
        return PathSum(leaf, node.label, n, [], None)
    paths: list[Path] = []
    # Depth first without recursion (a chain of thousands of scalar operations is one path of
    # thousands of edges); a path longer than max_length is not written out.
    stack: list[tuple[int, list[Edge], Any]] = [(leaf, [], 1.0)]
    while stack:
        i, prefix, product = stack.pop()
        if len(prefix) > max_length:
            return PathSum(leaf, node.label, n, [], None)
        if i == out_id:
            paths.append(Path(prefix, float(product)))
        for e in reversed(up.get(i, [])):
            if count.get(e.consumer, 0) == 0:
                continue
            stack.append((e.consumer, [*prefix, e], product * e.local))
    return PathSum(leaf, node.label, n, paths, float(sum(p.product for p in paths)))
