"""What a picture of the graph draws: boxes and arrows, summarized when the graph is large.

Every recorded node that carries a derivative is a box; so is every operand
that does not (a constant or a non-differentiated argument such as the data
``x``), drawn as a grey leaf beside the operation that reads it. Graphs with
more than ``cap`` boxes are summarized in up to three stages, each only if
the previous one left too many boxes:

1. repeated structure: the longest run of a repeating block of operations in
   recording order (the layers of a network, the body of a loop) keeps its
   first and last repetition and draws the repetitions between as one
   labelled group box (repeated as long as it pays);
2. parallel nodes: op nodes of the same operation at the same depth become
   one box;
3. the middle depths are folded into a single box.

``Display.where`` maps every recorded node to the box that stands for it.

Examples
--------
>>> import numpy as np
>>> from chainrule.explain import explain
>>> d = display_graph(explain(lambda x: np.sin(x) * 2.0, 1.0).graph)
>>> [(b.key, b.kind) for b in d.nodes]
[('0', 'input'), ('1', 'op'), ('2', 'output'), ('c2_1', 'const')]
>>> d.edges
[('0', '1', 1), ('1', '2', 1), ('c2_1', '2', 1)]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .recording import Graph, RecNode, summarize_value

__all__ = ["DEFAULT_CAP", "Display", "DisplayNode", "display_graph", "draws_operand"]

DEFAULT_CAP = 60
MAX_PERIOD = 64  # longest repeating block looked for
DETAIL_MAX = 100  # members listed in a group's detail


@dataclass
class DisplayNode:
    """One box: a recorded node, a constant operand, or a group of recorded nodes.

    ``key`` is the box's ``data-node`` value: the recorded node's id in decimal
    for a box of one recorded node, ``cID_ARG`` for a constant, ``gK`` for a group.
    """

    key: str
    ids: list[int]
    title: str
    text: str
    kind: str  # "input", "op", "output", "const", "group" or "collapsed"
    depth: int = 0
    detail: list[str] = field(default_factory=list)  # what a group stands for, shown on click


@dataclass
class Display:
    """The boxes and arrows to draw, and a note saying what was summarized ('' if nothing)."""

    nodes: list[DisplayNode]
    edges: list[tuple[str, str, int]]  # (from key, to key, number of recorded edges)
    note: str = ""
    where: dict[int, str] = field(default_factory=dict)  # recorded id -> display key


def depths(graph: Graph) -> dict[int, int]:
    """Longest distance from an input, for every recorded node."""
    d: dict[int, int] = {}
    for node in graph.nodes:
        d[node.id] = 1 + max((d[i.id] for _, i in node.inputs), default=-1)
    return d


def draws_operand(node: RecNode, argnum: int) -> bool:
    """Whether positional argument ``argnum`` of ``node`` is an operand drawn as a grey leaf.

    Arrays, NumPy scalars and floats are; so are Python ints given to a ufunc
    (``x ** 2``). Other arguments (``axis``, ``None``, flags) are parameters,
    shown in the box's text instead.
    """
    value = node.operands.get(argnum)
    if value is None:
        return False
    if isinstance(value, np.ndarray | np.generic | float):
        return True
    short = node.primitive.rsplit(".", 1)[-1]
    return node.primitive.startswith("numpy.") and isinstance(getattr(np, short, None), np.ufunc)


def _kind(graph: Graph, node: RecNode) -> str:
    if node.is_leaf:
        return "input"
    return "output" if graph.output is node else "op"


def _single(graph: Graph, n: RecNode, depth: int) -> DisplayNode:
    # Arguments that are not operands (axis=1, keepdims=True); None and False say nothing.
    params = [c for k, c in n.constants if (k < 0 or not draws_operand(n, k)) and c not in ("None", "False")]
    text = n.summary() if not params or n.is_leaf else f"{n.summary()}  ({', '.join(params)})"
    return DisplayNode(str(n.id), [n.id], f"v{n.id} {n.title()}", text, _kind(graph, n), depth)


def display_graph(graph: Graph, cap: int = DEFAULT_CAP) -> Display:
    """The boxes and arrows for ``graph``, summarized if it has more than ``cap`` boxes."""
    depth = depths(graph)
    nodes = [n for n in graph.nodes if _relevant(n)]
    n_consts = sum(draws_operand(n, k) for n in nodes for k in n.operands)
    where = {n.id: str(n.id) for n in nodes}
    groups: dict[str, DisplayNode] = {}
    notes: list[str] = []
    if len(nodes) + n_consts > cap:
        _collapse_repeats(graph, nodes, where, groups, cap, notes)
    if len({where[n.id] for n in nodes}) > cap:
        _group_parallel(graph, nodes, depth, where, groups, notes)
    if len({where[n.id] for n in nodes}) > cap:
        _fold_middle(graph, nodes, depth, where, groups, cap, notes)
    boxes: dict[str, DisplayNode] = {}
    for n in nodes:
        key = where[n.id]
        if key in boxes:
            continue
        boxes[key] = groups[key] if key in groups else _single(graph, n, depth[n.id])
    counts: Counter[tuple[str, str]] = Counter()
    for n in nodes:
        b = where[n.id]
        for _, i in n.inputs:
            a = where.get(i.id)
            if a is not None and a != b:
                counts[(a, b)] += 1
    consts = []
    drawn = len(boxes)
    for n in nodes:
        if where[n.id] != str(n.id):
            continue  # operands of grouped nodes are summarized by their group
        for k in sorted(n.operands):
            if draws_operand(n, k):
                key = f"c{n.id}_{k}"
                value = n.operands[k]
                title = _const_title(value, graph.constant_names.get(id(value)))
                consts.append(DisplayNode(key, [], title, "constant", "const", depth[n.id] - 1))
                counts[(key, str(n.id))] += 1
    all_boxes = list(boxes.values()) + consts
    edges = [(a, b, c) for (a, b), c in counts.items()]
    if notes:
        n_ops = len(nodes)
        notes.insert(0, f"{n_ops} recorded nodes drawn as {drawn} boxes")
    return Display(all_boxes, edges, "; ".join(notes), where)


def _const_title(value: Any, name: str | None) -> str:
    """``0.1``, ``x: float64[8, 3]`` (a named argument) or ``const float64[8, 3]``."""
    if np.ndim(value) == 0:
        text = summarize_value(value)
        return f"{name} = {text}" if name else text
    return f"{name or 'const'}: {np.asarray(value).dtype}{list(np.shape(value))}"


def _detail(members: list[RecNode]) -> list[str]:
    lines = [f"v{n.id} {n.title()} = {n.summary()}" for n in members[:DETAIL_MAX]]
    if len(members) > DETAIL_MAX:
        lines.append(f"... and {len(members) - DETAIL_MAX} more")
    return lines


def _relevant(node: RecNode) -> bool:
    """Leaves, and nodes with a traced input (the others carry no derivative)."""
    return node.is_leaf or bool(node.inputs)


# -- stage 1: repeated blocks ---------------------------------------------------


def _signatures(ops: list[RecNode], pos: dict[int, int]) -> np.ndarray:
    """One integer per op node: its primitive and how it reads its inputs (relative positions)."""
    table: dict[Any, int] = {}
    codes = np.empty(len(ops), dtype=np.int64)
    for k, n in enumerate(ops):
        reads = tuple((a, k - pos[i.id] if i.id in pos else "leaf") for a, i in n.inputs)
        sig = (n.primitive, reads, tuple(sorted(n.operands)))
        codes[k] = table.setdefault(sig, len(table))
    return codes


def _best_repeat(codes: np.ndarray, taken: np.ndarray) -> tuple[int, int, int] | None:
    """``(start, period, repetitions)`` of the run covering most positions (3+ repetitions)."""
    best: tuple[int, int, int] | None = None
    best_cover = 0
    n = len(codes)
    for p in range(1, min(MAX_PERIOD, n // 3) + 1):
        eq = (codes[:-p] == codes[p:]) & ~taken[:-p] & ~taken[p:]
        if not eq.any():
            continue
        # Runs of True in eq: a run of length L starting at s means positions s..s+L+p-1 repeat.
        padded = np.concatenate(([False], eq, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        starts, ends = edges[::2], edges[1::2]
        lengths = ends - starts
        k = int(np.argmax(lengths))
        reps = (int(lengths[k]) + p) // p
        if reps >= 3 and reps * p > best_cover:
            best, best_cover = (int(starts[k]), p, reps), reps * p
    return best


def _collapse_repeats(
    graph: Graph,
    nodes: list[RecNode],
    where: dict[int, str],
    groups: dict[str, DisplayNode],
    cap: int,
    notes: list[str],
) -> None:
    ops = [n for n in nodes if not n.is_leaf]
    if len(ops) < 3:
        return
    pos = {n.id: k for k, n in enumerate(ops)}
    codes = _signatures(ops, pos)
    taken = np.zeros(len(ops), dtype=bool)
    consumers: dict[int, set[str]] = {}
    for _ in range(8):
        found = _best_repeat(codes, taken)
        if found is None:
            break
        start, p, reps = found
        lo, hi = start + p, start + (reps - 1) * p  # keep the first and last repetition
        taken[start : start + reps * p] = True
        members = ops[lo:hi]
        key = f"g{len(groups)}"
        block = [n.op for n in ops[start : start + p]]
        group = DisplayNode(
            key,
            [n.id for n in members],
            f"{reps - 2} x [{' > '.join(block)}]"[:80],
            f"repeated block, v{members[0].id}..v{members[-1].id}",
            "group",
            detail=_detail(members),
        )
        for n in members:
            where[n.id] = key
        groups[key] = group
        notes.append(f"{len(members)} nodes ({reps - 2} repetitions of a {p}-op block) in group {key}")
        if len({where[n.id] for n in nodes}) <= cap:
            break
    # Inputs read only inside one group (the parameters of the middle layers) join it.
    for n in nodes:
        if n.is_leaf:
            continue
        for _, i in n.inputs:
            consumers.setdefault(i.id, set()).add(where[n.id])
    absorbed: Counter[str] = Counter()
    for leaf in graph.leaves:
        users = consumers.get(leaf.id, set())
        if len(users) == 1 and (key := next(iter(users))) in groups:
            where[leaf.id] = key
            groups[key].ids.append(leaf.id)
            absorbed[key] += 1
            if len(groups[key].detail) < DETAIL_MAX:
                groups[key].detail.append(f"input {leaf.label} = {leaf.summary()}")
    for key, k in absorbed.items():
        groups[key].text += f", {k} inputs"
        notes.append(f"{k} inputs read only inside group {key} drawn in it")


# -- stage 2 and 3: parallel nodes, middle depths ---------------------------------


def _group_parallel(
    graph: Graph,
    nodes: list[RecNode],
    depth: dict[int, int],
    where: dict[int, str],
    groups: dict[str, DisplayNode],
    notes: list[str],
) -> None:
    buckets: dict[tuple[int, str], list[RecNode]] = {}
    for n in nodes:
        if not n.is_leaf and n is not graph.output and where[n.id] == str(n.id):
            buckets.setdefault((depth[n.id], n.op), []).append(n)
    merged = 0
    for (d, op), members in buckets.items():
        if len(members) < 2:
            continue
        key = f"g{len(groups)}"
        groups[key] = DisplayNode(
            key,
            [n.id for n in members],
            f"{op} x{len(members)}",
            f"depth {d}, each shape {members[0].shape}",
            "group",
            d,
            _detail(members),
        )
        for n in members:
            where[n.id] = key
        merged += len(members)
    if merged:
        notes.append(f"{merged} parallel nodes grouped by operation and depth")


def _fold_middle(
    graph: Graph,
    nodes: list[RecNode],
    depth: dict[int, int],
    where: dict[int, str],
    groups: dict[str, DisplayNode],
    cap: int,
    notes: list[str],
) -> None:
    keys: dict[str, int] = {}
    for n in nodes:
        k = where[n.id]
        keys[k] = min(keys.get(k, depth[n.id]), depth[n.id])
    order = sorted(keys, key=lambda k: (keys[k], k))
    n_head, n_tail = max(cap // 2, 1), max(cap // 2 - 1, 1)  # one box goes to the fold
    head = set(order[:n_head])
    tail = set(order[len(order) - n_tail :])
    fold = [k for k in order if k not in head and k not in tail]
    if not fold:
        return
    key = f"g{len(groups)}"
    folded = set(fold)
    members = [n for n in nodes if where[n.id] in folded]
    d0, d1 = keys[fold[0]], keys[fold[-1]]
    groups[key] = DisplayNode(
        key,
        [n.id for n in members],
        f"... {len(members)} nodes",
        f"depths {d0}-{d1} folded",
        "collapsed",
        (d0 + d1) // 2,
        _detail(members),
    )
    for n in members:
        where[n.id] = key
    for k in fold:
        groups.pop(k, None)
    notes.append(f"{len(members)} nodes at depths {d0}-{d1} folded into group {key}")


def group_interior(graph: Graph, box: DisplayNode, limit: int = 12) -> Display:
    """What a group stands for, drawn: its first ``limit`` op nodes and what they read.

    Inputs from outside the shown part become grey leaves named after their node
    (``v31 tanh``); this is the drawing a group expands to when clicked.
    """
    members = sorted(i for i in box.ids if not graph.nodes[i].is_leaf)[:limit]
    shown = set(members)
    boxes: dict[str, DisplayNode] = {}
    counts: Counter[tuple[str, str]] = Counter()
    for i in members:
        n = graph.nodes[i]
        boxes[str(i)] = _single(graph, n, 0)
        boxes[str(i)].kind = "op"
        for _, src in n.inputs:
            if src.id in shown:
                key = str(src.id)
            else:
                key = f"o{src.id}"
                if key not in boxes:
                    title = src.label if src.is_leaf else f"v{src.id} {src.op}"
                    boxes[key] = DisplayNode(key, [], title, "outside", "const")
            counts[(key, str(i))] += 1
    more = len([i for i in box.ids if not graph.nodes[i].is_leaf]) - len(members)
    note = f"first {len(members)} of {len(members) + more} nodes of {box.title}" if more > 0 else ""
    return Display(list(boxes.values()), [(a, b, c) for (a, b), c in counts.items()], note)
