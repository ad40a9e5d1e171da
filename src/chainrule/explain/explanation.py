"""``explain(f, *args)``: one call of ``f`` recorded, and its backward pass replayed step by step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..derivatives import value_and_grad
from ..derivatives.arguments import leaf_gradient
from ..jit.api import jit
from ..pytree import tree_flatten, tree_unflatten
from .display import DEFAULT_CAP, Display, display_graph, group_interior
from .expression import Expression
from .formulas import local_partial
from .layout import Placement
from .paths import PathIndex, PathSum, path_sum
from .recording import BackwardStep, Edge, Graph, backward_steps, record, summarize_value
from .render_dot import to_dot
from .render_html import WidgetData, to_html
from .render_svg import ENGINES, place, to_svg
from .render_text import Table, print_tables, render_tables

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

    def __init__(
        self,
        graph: Graph,
        argnums: int | Sequence[int],
        cap: int = DEFAULT_CAP,
        engine: str = "auto",
        call: tuple[Callable[..., Any], tuple[Any, ...]] | None = None,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"explain: engine must be one of {ENGINES}, got {engine!r}")
        cap = _check_cap(cap)
        self.graph = graph
        self.call = call  # (f, args) of the recorded call, for code()
        self.cap = cap
        self.engine = engine
        self._display: Display | None = None
        self._placement: Placement | None = None
        self._svg: str | None = None
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
        out: list[PathSum] = []
        if self.graph.output is None or np.size(self.graph.output.value) != 1:
            return out
        index = PathIndex(self.graph, self.steps)
        for leaf in self.graph.leaves:
            if np.size(leaf.value) != 1:
                continue
            ps = path_sum(self.graph, self.steps, leaf.id, max_paths, index=index)
            if ps is not None:
                out.append(ps)
        return out

    def display(self) -> Display:
        """The boxes and arrows of the picture (summarized when there are more than ``cap``)."""
        if self._display is None:
            self._display = display_graph(self.graph, self.cap)
        return self._display

    def placement(self) -> Placement:
        """Where the picture's boxes and edges go (Graphviz's dot or the built-in layout)."""
        if self._placement is None:
            self._placement = place(self.display(), self.engine)
        return self._placement

    def short(self, i: int) -> str:
        """``v3`` or ``x``: a node's name inside formulas."""
        n = self.graph.nodes[i]
        return n.label if n.is_leaf else f"v{i}"

    def partial_text(self, e: Edge) -> str:
        """The local partial of edge ``e`` as a formula and a number, as far as known.

        ``d sin(v2)/d v2 = cos(v2) = cos(2) = -0.416147`` for a primitive with a
        formula template and scalar operands; the number alone otherwise.
        """
        n = self.graph.nodes[e.consumer]
        traced = {k: i.id for k, i in n.inputs}
        names, values = [], []
        for k in range(max(n.n_args, 1 + max(traced, default=-1))):
            if k in traced:
                names.append(self.short(traced[k]))
                values.append(self.graph.nodes[traced[k]].value)
            else:
                v = n.operands.get(k)
                named = self.graph.constant_names.get(id(v)) if v is not None else None
                scalar = v is not None and np.ndim(v) == 0
                names.append(named or (summarize_value(v) if scalar else f"c{k}"))
                values.append(v)
        lp = local_partial(n.primitive, e.argnum, names, f"v{n.id}", values, n.value)
        if lp is not None:
            return lp.text(e.local)
        if e.local is not None:
            return f"d v{n.id}/d {self.short(e.input)} = {float(e.local):.6g}"
        return ""

    # -- rows ---------------------------------------------------------------
    def forward_row(self, n: Any) -> list[str]:
        """The forward table's row of recorded node ``n``."""
        args = [f"{self.name(i.id)}" for _, i in n.inputs] + [c for _, c in n.constants]
        if len(args) > MAX_CELL_LINES:
            args = [*args[:MAX_CELL_LINES], f"... {len(args) - MAX_CELL_LINES} more"]
        kind = f"input {n.label}" if n.is_leaf else n.op
        return [f"v{n.id}", kind, ", ".join(args), str(n.shape), n.dtype, n.summary()]

    def forward_rows(self) -> list[list[str]]:
        return [self.forward_row(n) for n in self.graph.nodes]

    def _edge_text(self, e: Edge, direction: str) -> str:
        who = self.name(e.input if direction == "to" else e.consumer)
        text = f"{direction} {who}: {summarize_value(e.value)}"
        partial = self.partial_text(e)
        if partial:
            text += f"\n  ({partial})"
        return text

    def _edge_lines(self, edges: list[Edge], direction: str) -> list[str]:
        lines = [self._edge_text(e, direction) for e in edges[:MAX_CELL_LINES]]
        if len(edges) > MAX_CELL_LINES:
            lines.append(f"... and {len(edges) - MAX_CELL_LINES} more")
        return lines

    def backward_row(self, s: BackwardStep) -> list[str]:
        """The backward table's row of step ``s``."""
        if s.received:
            recv = self._edge_lines(s.received, "from")
            if len(s.received) > 1:
                recv.append(f"accumulated: sum of {len(s.received)} contributions")
        else:
            recv = ["seed: d out / d out = 1"]
        sent = self._edge_lines(s.sent, "to") or ["(input: gradient entry)"]
        return [str(s.index), self.name(s.node), summarize_value(s.adjoint), "\n".join(recv), "\n".join(sent)]

    def backward_rows(self) -> list[list[str]]:
        return [self.backward_row(s) for s in self.steps]

    def tables(self, max_rows: int | None = None) -> list[Table]:
        """The forward, backward and gradient tables; long ones keep their first and last rows."""
        cap = self.cap if max_rows is None else max_rows
        fwd = _capped(self.graph.nodes, cap, self.forward_row, 6)
        bwd = _capped(self.steps, cap, self.backward_row, 5)
        leaves = self.graph.leaves

        def grad_row(n: Any) -> list[str]:
            return [n.label, summarize_value(leaf_gradient(np.asarray(n.value), self.adjoints.get(n.id)))]

        grad_rows = _capped(leaves, max(cap, 100), grad_row, 2)
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
    def table(self, rich: bool | None = None, max_rows: int | None = None, width: int = 140) -> str:
        """Forward and backward tables, gradient and path sums as text (rich if available)."""
        return render_tables(self.tables(max_rows), self.notes(), rich=rich, width=width)

    def print(self, console: Any = None, max_rows: int | None = None) -> None:
        """Print the tables to a terminal at its own width and colours (rich's Console).

        Without rich, prints the plain tables.
        """
        print_tables(self.tables(max_rows), self.notes(), console)

    def code(self) -> str:
        """The forward and backward pass as Python source: what ``chainrule.jit`` stages.

        The same text as ``chainrule.jit(chainrule.value_and_grad(f, argnums)).source(*args)``
        (one emitter): one NumPy call per line, each backward line commented with the
        primitive whose chain-rule step it is.

        Examples
        --------
        >>> import numpy as np
        >>> from chainrule.explain import explain
        >>> e = explain(lambda x: np.sin(x) * x, 0.5)
        >>> print(e.code())  # doctest: +NORMALIZE_WHITESPACE
        # <lambda> staged by chainrule.jit for x: float64 ()
        def lambda_staged(x):
            v0 = np.sin(x)  # numpy.sin
            v1 = v0 * x  # numpy.multiply
            with np.errstate(divide='ignore', invalid='ignore'):
                v4 = np.cos(x)  # numpy.cos; backward of numpy.sin
                v5 = x * v4  # numpy.multiply; backward of numpy.sin
                v6 = v0 + v5  # numpy.add; sum of cotangents
            return (v1, v6)
        """
        if self.call is None:
            raise ValueError(
                "Explanation.code() needs the recorded function and arguments: build the "
                "explanation with chainrule.explain.explain(f, *args)"
            )
        f, args = self.call
        if isinstance(f, Expression):
            f = f.without_checks()  # its checks read values as numbers; the recording ran them
        staged_args = list(args)
        for n in self.graph.argnums:
            # Python numbers would be constants of the staged code: make them its inputs.
            leaves, treedef = tree_flatten(args[n])
            leaves = [np.float64(v) if type(v) in (int, float) else v for v in leaves]
            staged_args[n] = tree_unflatten(treedef, leaves)
        return jit(value_and_grad(f, argnums=self.graph.argnums)).source(*staged_args)

    def to_dot(self) -> str:
        """Graphviz DOT text of the graph (summarized when large)."""
        return to_dot(self.display(), self.graph.fname)

    def to_svg(self) -> str:
        """A standalone SVG of the graph (see :mod:`chainrule.explain.render_svg` for its contract)."""
        if self._svg is None:
            self._svg = to_svg(self.display(), self.placement())
        return self._svg

    def widget_data(self, fragment: bool = False) -> WidgetData:
        """Everything the HTML widget shows, as plain data."""
        display = self.display()
        keys = [b.key for b in display.nodes]
        index = {k: i for i, k in enumerate(keys)}
        steps = []
        for s in self.steps:
            targets = sorted({index[display.where[e.input]] for e in s.sent if e.input in display.where})
            steps.append((index.get(display.where.get(s.node, ""), -1), targets))
        cap = self.cap if fragment else max(2 * self.cap, 200)
        fwd, bwd, grads = self.tables(max_rows=cap)
        names = {n.id: self.name(n.id) for n in self.graph.nodes}
        formulas = "\n\n".join("\n".join(ps.lines(names)) for ps in self.path_sums())
        note = display.note and (display.note + ". " + self.op_counts())
        return WidgetData(
            title=f"{self.graph.fname} = {summarize_value(self.value)}",
            svg=self.to_svg(),
            keys=keys,
            steps=steps,
            step_text=_step_texts(self),
            details={i: b.detail for i, b in enumerate(display.nodes) if b.detail},
            interiors=self._interiors(display),
            tables=[bwd, grads, fwd],
            formulas=formulas,
            note=note,
        )

    def _interiors(self, display: Display) -> dict[int, str]:
        """For each group box (by index), the SVG of what it stands for (drawn on click)."""
        out = {}
        for i, b in enumerate(display.nodes):
            if b.kind in ("group", "collapsed"):
                inner = group_interior(self.graph, b)
                out[i] = to_svg(inner, place(inner, self.engine))
        return out

    def to_html(self, path: str | None = None) -> str:
        """One self-contained HTML page (inline SVG, tables, stepper), also written to ``path`` if given.

        The page's ``#step=K`` selects a step and follows the stepping.
        """
        page = to_html(self.widget_data(), fragment=False)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(page)
        return page

    def _repr_html_(self) -> str:
        return to_html(self.widget_data(fragment=True), fragment=True)

    def __str__(self) -> str:
        return self.table(rich=False)

    def __repr__(self) -> str:
        return (
            f"<Explanation of {self.graph.fname}: {len(self.graph.nodes)} nodes, "
            f"{len(self.steps)} backward steps, value {summarize_value(self.value)}>"
        )


MAX_CELL_LINES = 8  # contributions listed in one table cell or step text


def _check_cap(cap: Any) -> int:
    """``cap=`` as an int >= 1: None or a negative number would summarize nothing or everything."""
    if isinstance(cap, bool) or not isinstance(cap, int | np.integer):
        raise TypeError(f"explain: cap must be a whole number of boxes (default {DEFAULT_CAP}), "
                        f"not {type(cap).__name__} {cap!r}")  # fmt: skip
    if cap < 1:
        raise ValueError(f"explain: cap={int(cap)} must be at least 1 (the most boxes and table rows "
                         f"shown before summarizing; default {DEFAULT_CAP})")  # fmt: skip
    return int(cap)


def _capped(items: Sequence[Any], cap: int, row: Callable[[Any], list[str]], width: int) -> list[list[str]]:
    """Rows of ``items``, keeping the first and last ``cap // 2`` when there are more than ``cap``."""
    if len(items) <= cap:
        return [row(x) for x in items]
    half = max(cap // 2, 1)
    head = [row(x) for x in items[:half]]
    tail = [row(x) for x in items[len(items) - half :]]
    gap = ["...", f"{len(items) - 2 * half} rows omitted"] + [""] * (width - 2)
    return [*head, gap, *tail]


MAX_STEP_TEXTS = 2000  # steps whose full text a page carries (the first and last half)


def _step_texts(expl: Explanation) -> dict[int, str]:
    n = len(expl.steps)
    half = MAX_STEP_TEXTS // 2
    chosen = range(n) if n <= MAX_STEP_TEXTS else [*range(half), *range(n - half, n)]
    out = {}
    for k in chosen:
        s: BackwardStep = expl.steps[k]
        text = f"{expl.name(s.node)}: adjoint {summarize_value(s.adjoint)}"
        if len(s.received) > 1:
            text += f" (sum of {len(s.received)} contributions)"
        for e in s.sent[:MAX_CELL_LINES]:
            text += f"\n  {expl.name(e.input)} += {summarize_value(e.value)}"
            partial = expl.partial_text(e)
            if partial:
                text += f"    {partial}"
        if len(s.sent) > MAX_CELL_LINES:
            text += f"\n  ... and {len(s.sent) - MAX_CELL_LINES} more"
        if not s.sent:
            text += "\n  (input: its adjoint is the gradient entry)"
        out[k] = text
    return out


def explain(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] = 0,
    cap: int = DEFAULT_CAP,
    engine: str = "auto",
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
        Graphs with more boxes than this are summarized in pictures and tables.
    engine
        Layout of the picture: ``"auto"`` (Graphviz's ``dot`` if installed, else
        the built-in layered layout), ``"dot"`` or ``"chainrule"``.

    Returns
    -------
    Explanation
        With ``.table()``, ``.print()``, ``.to_dot()``, ``.to_svg()``, ``.to_html(path)``.

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
    cap = _check_cap(cap)
    return Explanation(record(f, args, argnums), argnums, cap, engine, call=(f, tuple(args)))
