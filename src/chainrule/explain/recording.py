"""Recording one call: a reverse trace that keeps what an explanation shows.

:class:`RecordingTrace` is a :class:`chainrule.core.ReverseTrace` whose
``process`` also keeps, for every primitive call, its name, the recorded
nodes it read, the constants it was given and a summary of its output. The
per-argument cotangent closures are kept too, so :func:`backward_steps` can
replay the backward sweep step by step without touching the engine's own
:func:`chainrule.core.reverse_sweep`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import Node, Primitive, ReverseTrace, Tracer
from ..naming import parameter_name
from ..pytree import paths_of, tree_flatten, tree_unflatten
from ..transforms import _as_float_leaf, _normalize_argnums, _scalar_output

__all__ = ["BackwardStep", "Edge", "Graph", "RecNode", "RecordingTrace", "backward_steps", "record"]


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


class RecNode(Node):
    """A recorded node: the engine's :class:`Node` plus what an explanation shows.

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

    def __init__(self, parents: Any, id: int, op: str, value: Any, label: str = "") -> None:
        super().__init__(parents)
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


class RecordingTrace(ReverseTrace):
    """A reverse trace that records every node for an explanation."""

    __slots__ = ("nodes",)

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[RecNode] = []

    def named_leaf(self, value: Any, label: str) -> Tracer:
        node = RecNode((), len(self.nodes), "input", value, label)
        self.nodes.append(node)
        return Tracer(value, self, node)

    def leaf(self, value: Any) -> Tracer:
        return self.named_leaf(value, f"input{len(self.nodes)}")

    def process(self, prim: Primitive, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # The engine records the node; this keeps it, with what an explanation shows,
        # by putting a RecNode (a Node with labels) in its place.
        out = super().process(prim, args, kwargs)
        plain = self.tape.pop()
        traced = [i for i, a in enumerate(args) if type(a) is Tracer and a._trace is self]
        ans = out._value if type(out) is Tracer and out._trace is self else out
        node = RecNode(plain.parents, len(self.nodes), short_name(prim.name), ans)
        unclaimed = list(traced)
        inputs = []
        for parent, _ in plain.parents:  # which argument each recorded parent came from
            i = next(k for k in unclaimed if args[k]._node is parent)
            unclaimed.remove(i)
            inputs.append((i, parent))
        node.inputs = inputs
        node.constants = [(i, _constant_summary(a)) for i, a in enumerate(args) if i not in traced] + [
            (-1, f"{k}={v!r}") for k, v in kwargs.items()
        ]
        _keep_operands(node, prim, args, traced)
        self.nodes.append(node)
        self.tape.append(node)
        if type(out) is Tracer and out._trace is self:
            out._node = node
        return out


def _keep_operands(node: RecNode, prim: Primitive, args: tuple[Any, ...], traced: list[int]) -> None:
    """Keep what the views need about the operands that carry no derivative.

    Kept apart from the recording itself so that it moves unchanged when the
    engine's sweep gains an observer hook.
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


def _arg_label(f: Callable[..., Any], argnum: int) -> str:
    return parameter_name(f, argnum) or f"arg{argnum}"


def record(f: Callable[..., Any], args: Sequence[Any], argnums: int | Sequence[int] = 0) -> Graph:
    """Run ``f(*args)`` once on a :class:`RecordingTrace`; leaves are named by argument path."""
    nums = _normalize_argnums(argnums, len(args), f)
    trace = RecordingTrace()
    boxed = list(args)
    arg_trees = []
    for n in nums:
        values, treedef = tree_flatten(args[n])
        name = _arg_label(f, n)
        tracers = []
        for v, p in zip(values, paths_of(treedef)):
            v = _as_float_leaf(v, lambda n=n, where=f"{name}{p}": f"argument {n} ({where})")
            tracers.append(trace.named_leaf(v, f"{name}{p}"))
        boxed[n] = tree_unflatten(treedef, tracers)
        arg_trees.append((treedef, [t._node for t in tracers]))
    try:
        out = f(*boxed)
        _scalar_output(out, f)
    finally:
        trace.active = False
    leaves = [node for _, nodes in arg_trees for node in nodes]
    if type(out) is Tracer and out._trace is trace:
        output: RecNode | None = out._node
        value = out._value
    else:
        output, value = None, out
    fname = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)
    graph = Graph(trace.nodes, output, leaves, value, nums, arg_trees, fname)
    graph.constant_names = _constant_names(f, args, nums)
    return graph


def _constant_names(f: Callable[..., Any], args: Sequence[Any], nums: tuple[int, ...]) -> dict[int, str]:
    """Names of the array leaves of the arguments that are not differentiated, by ``id``."""
    names = {}
    for n, a in enumerate(args):
        if n in nums:
            continue
        values, treedef = tree_flatten(a)
        for v, p in zip(values, paths_of(treedef)):
            if isinstance(v, np.ndarray | np.generic | float):
                names[id(v)] = f"{_arg_label(f, n)}{p}"
    return names


def _local_partial(fn: Callable[[Any], Any], consumer: RecNode, input: RecNode) -> Any:
    """``d consumer / d input`` when both are single numbers: the closure applied to 1."""
    if np.size(consumer.value) != 1 or np.size(input.value) != 1:
        return None
    one = np.ones(np.shape(consumer.value), dtype=np.result_type(consumer.value))
    c = fn(one)
    return None if c is None else np.asarray(c).reshape(())[()]


def backward_steps(graph: Graph) -> tuple[list[BackwardStep], dict[int, Any]]:
    """Replay the backward sweep over ``graph``, logging every step.

    Returns the steps (output first, then in reverse recording order, one per
    node that receives a cotangent) and the adjoint of every node by id.
    """
    adjoint: dict[int, Any] = {}
    received: dict[int, list[Edge]] = {}
    steps: list[BackwardStep] = []
    if graph.output is None:
        return steps, adjoint
    out = graph.output
    adjoint[out.id] = np.ones(np.shape(out.value), dtype=np.result_type(out.value))[()]
    with np.errstate(divide="ignore", invalid="ignore"):
        for node in reversed(graph.nodes):
            g = adjoint.get(node.id)
            if g is None:
                continue
            step = BackwardStep(len(steps), node.id, g, received.get(node.id, []))
            for (parent, fn), (argnum, _) in zip(node.parents, node.inputs):
                c = fn(g)
                if c is None:
                    continue
                edge = Edge(node.id, parent.id, argnum, c, _local_partial(fn, node, parent))
                step.sent.append(edge)
                received.setdefault(parent.id, []).append(edge)
                prev = adjoint.get(parent.id)
                adjoint[parent.id] = c if prev is None else prev + c
            steps.append(step)
    return steps, adjoint
