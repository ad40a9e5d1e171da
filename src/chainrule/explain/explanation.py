"""``explain(f, *args)``: one call of ``f`` recorded, and its backward pass replayed step by step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..derivatives.arguments import leaf_gradient
from ..pytree import tree_unflatten
from .layout import DEFAULT_CAP, Display, display_graph
from .paths import PathSum, path_sum
from .recording import Edge, Graph, backward_steps, record, summarize_value
from .render_dot import to_dot
from .render_html import to_html
from .render_svg import to_svg
from .render_text import Table, render_tables

__all__ = ["Explanation", "explain"]


class Explanation:
    """One call of a function, recorded, with its backward sweep in the order it runs.

    Attributes
    ----------
    graph
        The recorded nodes (``graph.nodes``; leaves first), the output node and the leaves.
    steps
        The backward sweep: one :class:`~chainrule.explain.recording.BackwardStep` per node
        that received a cotangent, output first.
    adjoints
        The cotangent of every node by id (the gradient at the leaves).
    value
        The function's value.
    gradient
        The gradient, shaped like the differentiated argument(s) (as ``grad`` returns it).
    """

    def __init__(self, graph: Graph, argnums: int | Sequence[int], cap: int = DEFAULT_CAP) -> None:
        self.graph = graph
        self.cap = cap
        self.steps, self.adjoints = backward_steps(graph)
        self.value = graph.output_value
        grads = []
        for treedef, leaves in graph.arg_trees:
            g = [leaf_gradient(np.asarray(n.value), self.adjoints.get(n.id)) for n in leaves]
            # A Python-float leaf was traced as a float64 scalar: give back a NumPy scalar.
            g = [x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x for x in g]
            grads.append(tree_unflatten(treedef, g))
        self.gradient = grads[0] if isinstance(argnums, int) else tuple(grads)

    # -- derived facts ------------------------------------------------------
    @property
    def nodes(self) -> list[Any]:
        return self.graph.nodes

    def name(self, i: int) -> str:
        """``v3 sin`` or ``x``: how views refer to node ``i``."""
        n = self.graph.nodes[i]
        return n.label if n.is_leaf else f"v{i} {n.op}"

    def leaf_adjoint(self, label: str) -> Any:
        """The adjoint (gradient entry) of the leaf named ``label``."""
        for n in self.graph.leaves:
            if n.label == label:
                return leaf_gradient(np.asarray(n.value), self.adjoints.get(n.id))
        raise KeyError(f"no input named {label!r}; inputs are {[n.label for n in self.graph.leaves]}")

    def path_sums(self, max_paths: int = 64) -> list[PathSum]:
        """For each scalar leaf, its derivative as a sum over paths (when all are scalars)."""
        out = []
        if self.graph.output is None or np.size(self.graph.output.value) != 1:
            return out
        for leaf in self.graph.leaves:
            if np.size(leaf.value) != 1:
                continue
            ps = path_sum(self.graph, self.steps, leaf.id, max_paths)
            if ps is not None:
                out.append(ps)
        return out

    def display(self) -> Display:
        return display_graph(self.graph, self.cap)

    # -- rows ---------------------------------------------------------------
    def forward_rows(self) -> list[list[str]]:
        rows = []
        for n in self.graph.nodes:
            args = [f"{self.name(i.id)}" for _, i in n.inputs] + [c for _, c in n.constants]
            rows.append(
                [
                    f"v{n.id}",
                    f"input {n.label}" if n.is_leaf else n.op,
                    ", ".join(args),
                    str(n.shape),
                    n.dtype,
                    n.summary(),
                ]
            )
        return rows

    def _edge_text(self, e: Edge, direction: str) -> str:
        who = self.name(e.input if direction == "to" else e.consumer)
        text = f"{direction} {who}: {summarize_value(e.value)}"
        if e.local is not None:
            top, bottom = self.name(e.consumer).split()[0], self.name(e.input).split()[0]
            text += f"  (local d{top}/d{bottom} = {float(e.local):.6g})"
        return text

    def backward_rows(self) -> list[list[str]]:
        rows = []
        for s in self.steps:
            if s.received:
                recv = [self._edge_text(e, "from") for e in s.received]
                if len(s.received) > 1:
                    recv.append(f"accumulated: sum of {len(s.received)} contributions")
            else:
                recv = ["seed: d out / d out = 1"]
            sent = [self._edge_text(e, "to") for e in s.sent] or ["(input: gradient entry)"]
            rows.append(
                [
                    str(s.index),
                    self.name(s.node),
                    summarize_value(s.adjoint),
                    "\n".join(recv),
                    "\n".join(sent),
                ]
            )
        return rows

    def tables(self, max_rows: int | None = None) -> list[Table]:
        cap = self.cap if max_rows is None else max_rows
        fwd = _cap_rows(self.forward_rows(), cap)
        bwd = _cap_rows(self.backward_rows(), cap)
        grad_rows = [
            [n.label, summarize_value(leaf_gradient(np.asarray(n.value), self.adjoints.get(n.id)))]
            for n in self.graph.leaves
        ]
        return [
            (f"Forward pass of {self.graph.fname}: value {summarize_value(self.value)}",
             ["node", "op", "inputs", "shape", "dtype", "value"], fwd),
            ("Backward pass (chain rule, node by node, output first)",
             ["step", "node", "adjoint", "received (accumulation)", "sends to inputs (contribution)"], bwd),
            ("Gradient (adjoints of the inputs)", ["input", "d out / d input"], grad_rows),
        ]  # fmt: skip

    def notes(self) -> list[str]:
        names = {n.id: self.name(n.id) for n in self.graph.nodes}
        out = []
        d = self.display()
        if d.note:
            out.append("Summary: " + d.note + ". " + self.op_counts())
        for ps in self.path_sums():
            out.append("\n".join(ps.lines(names)))
        return out

    def op_counts(self) -> str:
        counts: dict[str, int] = {}
        for n in self.graph.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return "Operations: " + ", ".join(
            f"{op} x{c}" for op, c in sorted(counts.items(), key=lambda t: -t[1])
        )

    # -- views --------------------------------------------------------------
    def table(self, rich: bool | None = None, max_rows: int | None = None) -> str:
        """Forward and backward tables, gradient and path sums as text (rich if available)."""
        return render_tables(self.tables(max_rows), self.notes(), rich=rich)

    def to_dot(self) -> str:
        """Graphviz DOT text of the graph (summarized when large)."""
        return to_dot(self.display(), self.graph.fname)

    def to_svg(self) -> str:
        """A standalone SVG of the graph, laid out without any external program."""
        return to_svg(self.display())

    def to_html(self, path: str | None = None) -> str:
        """One self-contained HTML page (inline SVG, tables, stepper), also written to ``path`` if given."""
        page = to_html(self)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(page)
        return page

    def _repr_html_(self) -> str:
        return to_html(self, fragment=True)

    def __str__(self) -> str:
        return self.table(rich=False)

    def __repr__(self) -> str:
        return (
            f"<Explanation of {self.graph.fname}: {len(self.graph.nodes)} nodes, "
            f"{len(self.steps)} backward steps, value {summarize_value(self.value)}>"
        )


def _cap_rows(rows: list[list[str]], cap: int) -> list[list[str]]:
    if len(rows) <= cap:
        return rows
    head, tail = rows[: cap // 2], rows[-(cap // 2) :]
    gap = ["..."] + [f"{len(rows) - len(head) - len(tail)} rows omitted"] + [""] * (len(rows[0]) - 2)
    return [*head, gap, *tail]


def explain(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] = 0,
    cap: int = DEFAULT_CAP,
) -> Explanation:
    """Record one call ``f(*args)`` and explain its gradient as the chain rule, node by node.

    Parameters
    ----------
    f
        A scalar-valued function of NumPy arrays (as for :func:`chainrule.grad`).
    *args
        The arguments of the call.
    argnums
        Which argument(s) to differentiate (their leaves are the graph's inputs).
    cap
        Graphs with more nodes than this are summarized in pictures and tables.

    Returns
    -------
    Explanation
        With ``.table()``, ``.to_dot()``, ``.to_svg()``, ``.to_html(path)``.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.explain import explain
    >>> e = explain(lambda x, y: np.sin(x * y) + x, 1.0, 2.0, argnums=(0, 1))
    >>> [round(float(g), 6) for g in e.gradient]
    [0.167706, -0.416147]
    >>> [n.op for n in e.nodes]
    ['input', 'input', 'multiply', 'sin', 'add']
    """
    return Explanation(record(f, args, argnums), argnums, cap)
