"""Recording one call and watching its backward sweep: what an explanation shows.

:func:`record` runs the function on an ordinary
:class:`~chainrule.engine.ReverseTrace` with a recorder that keeps, for every
primitive call, its name, the recorded nodes it read, the constants it was
given and its output. :func:`backward_steps` runs the engine's one reverse
sweep (:func:`~chainrule.engine.reverse_sweep`) over that tape with an
observer that logs each step; there is no second sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..derivatives.arguments import as_float_leaf, check_scalar_output, normalize_argnums
from ..engine import Node, Primitive, ReverseTrace, Tracer, reverse_sweep, trace_scope
from ..naming import positional_names
from ..pytree import paths_of, tree_flatten, tree_unflatten

__all__ = ["BackwardStep", "Edge", "Graph", "RecNode", "backward_steps", "record"]


def short_name(name: str) -> str:
    """``numpy.sin`` -> ``sin``: the name as an explanation shows it."""
    for prefix in ("numpy.", "scipy.special."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def summarize_value(value: Any, limit: int = 4) -> str:
    """A short text for a value: the number itself, or shape and a few entries."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{arr.item():.6g}" if np.issubdtype(arr.dtype, np.number) else repr(arr.item())
    flat = arr.ravel()
    if not np.issubdtype(arr.dtype, np.number):
        return f"{arr.dtype}{list(arr.shape)}"
    head = ", ".join(f"{v:.4g}" for v in flat[:limit])
    more = ", ..." if flat.size > limit else ""
    return f"[{head}{more}] shape {arr.shape}"


class RecNode:
    """A recorded node as an explanation shows it (beside the engine's own :class:`Node`).

    Attributes
    ----------
    id
        Position in recording order (leaves first, in argument order).
    op
        The primitive's short name, or ``"input"`` for a leaf.
    label
        For a leaf, its argument path (``x``, ``params['w']``).
    inputs
        ``(argnum, input node)`` for every traced input that receives a cotangent.
    constants
        ``(argnum, summary)`` for the arguments that were not traced.
    value
        The output value (kept: an explanation shows it).
    primitive
        The primitive's full name (``numpy.sin``), the key of its formula template.
    operands
        ``argnum -> value`` of the positional arguments that were not traced
        (``None`` for those that are not arrays or numbers): the pictures draw
        them as grey leaves and the formulas substitute them.
    n_args
        The number of positional arguments.
    """

    __slots__ = ("constants", "id", "inputs", "label", "n_args", "op", "operands", "primitive", "value")

    def __init__(self, id: int, op: str, value: Any, label: str = "") -> None:
        self.id = id
        self.op = op
        self.value = value
        self.label = label
        self.inputs: list[tuple[int, RecNode]] = []
        self.constants: list[tuple[int, str]] = []
        self.primitive = op
        self.operands: dict[int, Any] = {}
        self.n_args = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.value))

    @property
    def dtype(self) -> str:
        return str(np.result_type(self.value))

    @property
    def is_leaf(self) -> bool:
        return self.op == "input"

    def summary(self) -> str:
        return summarize_value(self.value)

    def title(self) -> str:
        """``sin`` or ``x`` (a leaf): the node's name in views."""
        return self.label if self.is_leaf else self.op

    def __repr__(self) -> str:
        return f"<node {self.id} {self.title()} = {self.summary()}>"


class _Recorder:
    """Keeps a :class:`RecNode` for every node the trace records (the engine's recorder hook)."""

    def __init__(self) -> None:
        self.nodes: list[RecNode] = []
        self.by_node: dict[Node, RecNode] = {}

    def leaf(self, trace: ReverseTrace, value: Any, label: str) -> Tracer:
        tracer = trace.leaf(value)
        rec = RecNode(len(self.nodes), "input", value, label)
        self.nodes.append(rec)
        self.by_node[tracer._node] = rec
        return tracer

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
        rec = RecNode(len(self.nodes), short_name(prim.name), primal_of(ans))
        unclaimed = list(traced)
        for parent, _, _ in node.parents:  # which argument each recorded parent came from
            i = next(k for k in unclaimed if args[k]._node is parent)
            unclaimed.remove(i)
            rec.inputs.append((i, self.by_node[parent]))
        rec.constants = [(i, _constant_summary(a)) for i, a in enumerate(args) if i not in traced] + [
            (-1, f"{k}={v!r}") for k, v in kwargs.items()
        ]
        _keep_operands(rec, prim, args, traced)
        self.nodes.append(rec)
        self.by_node[node] = rec


def primal_of(ans: Any) -> Any:
    """The recorded output without outer traces' wrappers (an explanation shows numbers)."""
    while type(ans) is Tracer:
        ans = ans._value
    return ans


def _keep_operands(node: RecNode, prim: Primitive, args: tuple[Any, ...], traced: list[int]) -> None:
    """Keep what the views need about the operands that carry no derivative.

    Kept apart from the recording itself: the recorder calls it for each node.
    """
    node.primitive = prim.name
    node.n_args = len(args)
    for i, a in enumerate(args):
        if i in traced:
            continue
        plain = isinstance(a, np.ndarray | np.generic | float | int) and not isinstance(a, bool)
        node.operands[i] = a if plain else None


def _constant_summary(a: Any) -> str:
    if type(a) is Tracer:
        return "outer traced value"
    if isinstance(a, np.ndarray | np.generic | float | int):
        return summarize_value(a)
    text = repr(a)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class Edge:
    """One contribution of the backward sweep: ``consumer`` sends ``value`` to ``input``."""

    consumer: int
    input: int
    argnum: int
    value: Any
    local: Any = None  # the local partial d consumer / d input, when both are scalars


@dataclass
class BackwardStep:
    """One step of the backward sweep, in the order it runs.

    ``adjoint`` is the node's total cotangent (the sum of ``received``),
    ``sent`` the contributions it passes to its inputs.
    """

    index: int
    node: int
    adjoint: Any
    received: list[Edge] = field(default_factory=list)
    sent: list[Edge] = field(default_factory=list)


@dataclass
class Graph:
    """A recorded call: nodes in recording order, the output and the leaves."""

    nodes: list[RecNode]
    output: RecNode | None
    trace: ReverseTrace
    by_node: dict[Node, RecNode]
    leaves: list[RecNode]
    output_value: Any
    argnums: tuple[int, ...]
    arg_trees: list[tuple[Any, list[RecNode]]]
    fname: str
    # id() of each array leaf of the arguments not differentiated -> its path (``x``,
    # ``data['y']``), so pictures can name those operands. The ids are taken while the
    # arguments are alive and every operand exists by the end of the recording, so an
    # operand's id can only match the argument it is.
    constant_names: dict[int, str] = field(default_factory=dict)


def _arg_label(f: Callable[..., Any], argnum: int, names: list[str | None] | None = None) -> str:
    names = positional_names(f) if names is None else names
    return (names[argnum] if argnum < len(names) else None) or f"arg{argnum}"


def record(f: Callable[..., Any], args: Sequence[Any], argnums: int | Sequence[int] = 0) -> Graph:
    """Run ``f(*args)`` once on a recording trace; leaves are named by argument path."""
    nums = normalize_argnums(argnums, len(args), f)
    params = positional_names(f)  # read once: an expression of 30,000 variables has 30,000 parameters
    recorder = _Recorder()
    with trace_scope(ReverseTrace(recorder=recorder)) as trace:
        boxed = list(args)
        arg_trees = []
        for n in nums:
            values, treedef = tree_flatten(args[n])
            name = _arg_label(f, n, params)
            tracers = []
            for v, p in zip(values, paths_of(treedef)):

                def describe(n: int = n, where: str = f"{name}{p}") -> str:
                    return f"argument {n} ({where})"

                v = as_float_leaf(v, describe)
                tracers.append(recorder.leaf(trace, v, f"{name}{p}"))
            boxed[n] = tree_unflatten(treedef, tracers)
            arg_trees.append((treedef, [recorder.by_node[t._node] for t in tracers]))
        out = f(*boxed)
        check_scalar_output(out, f)
    leaves = [node for _, nodes in arg_trees for node in nodes]
    if type(out) is Tracer and out._trace is trace:
        output: RecNode | None = recorder.by_node[out._node]
        value = out._value
    else:
        output, value = None, out
    fname = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)
    graph = Graph(recorder.nodes, output, trace, recorder.by_node, leaves, value, nums, arg_trees, fname)
    graph.constant_names = _constant_names(f, args, nums, params)
    return graph


def _constant_names(
    f: Callable[..., Any], args: Sequence[Any], nums: tuple[int, ...], params: list[str | None]
) -> dict[int, str]:
    """Names of the array leaves of the arguments that are not differentiated, by ``id``."""
    names = {}
    differentiated = set(nums)
    for n, a in enumerate(args):
        if n in differentiated:
            continue
        values, treedef = tree_flatten(a)
        for v, p in zip(values, paths_of(treedef)):
            if isinstance(v, np.ndarray | np.generic | float):
                names[id(v)] = f"{_arg_label(f, n, params)}{p}"
    return names


def _local_partial(fn: Callable[[Any], Any], consumer: RecNode, input: RecNode) -> Any:
    """``d consumer / d input`` when both are single numbers: the closure applied to 1."""
    if np.size(consumer.value) != 1 or np.size(input.value) != 1:
        return None
    one = np.ones(np.shape(consumer.value), dtype=np.result_type(consumer.value))
    c = fn(one)
    return None if c is None else np.asarray(c).reshape(())[()]


class _StepLog:
    """The sweep observer: one :class:`BackwardStep` per visited node, one :class:`Edge` per contribution."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.steps: list[BackwardStep] = []
        self.received: dict[int, list[Edge]] = {}
        self.adjoint: dict[int, Any] = {}

    def visit(self, node: Node, adjoint: Any) -> None:
        rec = self.graph.by_node[node]
        self.adjoint[rec.id] = adjoint
        self.steps.append(BackwardStep(len(self.steps), rec.id, adjoint, self.received.get(rec.id, [])))

    def contribution(self, node: Node, position: int, parent: Node, value: Any) -> None:
        rec = self.graph.by_node[node]
        into = self.graph.by_node[parent]
        fn = node.parents[position][1]
        edge = Edge(rec.id, into.id, rec.inputs[position][0], value, _local_partial(fn, rec, into))
        self.steps[-1].sent.append(edge)
        self.received.setdefault(into.id, []).append(edge)


def backward_steps(graph: Graph) -> tuple[list[BackwardStep], dict[int, Any]]:
    """The backward sweep over ``graph``, every step logged.

    Returns the steps (output first, then in reverse recording order, one per
    node that receives a cotangent) and the adjoint of every node by id.
    """
    log = _StepLog(graph)
    if graph.output is None:
        return log.steps, log.adjoint
    out = graph.output
    seed = np.ones(np.shape(out.value), dtype=np.result_type(out.value))[()]
    out_node = next(node for node, rec in graph.by_node.items() if rec is out)
    leaves = reverse_sweep(graph.trace, [(out_node, seed)], retain=True, observer=log)
    # The inputs are not on the tape (no rules to run); their steps close the sweep,
    # in reverse recording order like the others.
    for rec in sorted((graph.by_node[node] for node in leaves), key=lambda r: -r.id):
        g = leaves[next(node for node in leaves if graph.by_node[node] is rec)]
        log.adjoint[rec.id] = g
        log.steps.append(BackwardStep(len(log.steps), rec.id, g, log.received.get(rec.id, [])))
    return log.steps, log.adjoint
