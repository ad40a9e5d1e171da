"""What a picture of the graph draws: display nodes, edges and a layered layout.

Small graphs are drawn node for node. Larger ones (more than ``cap`` nodes)
are summarized: nodes of the same operation at the same depth (a "layer")
become one box, and if that still leaves too many boxes, the middle layers are
folded into a single box that says how many nodes it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .recording import Graph, RecNode

__all__ = ["Display", "DisplayNode", "display_graph", "layout"]

DEFAULT_CAP = 60


@dataclass
class DisplayNode:
    """One box: a single recorded node, or a group of them."""

    key: str
    ids: list[int]
    title: str
    text: str
    depth: int
    kind: str  # "input", "op", "output", "group" or "collapsed"
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0


@dataclass
class Display:
    """The boxes and arrows to draw, and a note saying what was collapsed ('' if nothing)."""

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


def _kind(graph: Graph, node: RecNode) -> str:
    if node.is_leaf:
        return "input"
    return "output" if graph.output is node else "op"


def display_graph(graph: Graph, cap: int = DEFAULT_CAP) -> Display:
    """The boxes and arrows for ``graph``, summarized if it has more than ``cap`` nodes."""
    depth = depths(graph)
    nodes = [n for n in graph.nodes if _relevant(graph, n)]
    where: dict[int, str] = {}
    boxes: dict[str, DisplayNode] = {}
    note = ""
    if len(nodes) <= cap:
        for n in nodes:
            key = str(n.id)
            boxes[key] = DisplayNode(
                key, [n.id], f"v{n.id} {n.title()}", n.summary(), depth[n.id], _kind(graph, n)
            )
            where[n.id] = key
    else:
        for n in nodes:
            kind = _kind(graph, n)
            key = str(n.id) if kind in ("input", "output") else f"g{depth[n.id]}_{n.op}"
            box = boxes.get(key)
            if box is None:
                box = DisplayNode(key, [], n.title(), "", depth[n.id], kind)
                boxes[key] = box
            box.ids.append(n.id)
            where[n.id] = key
        for box in boxes.values():
            if len(box.ids) == 1:
                n = graph.nodes[box.ids[0]]
                box.title, box.text = f"v{n.id} {n.title()}", n.summary()
            else:
                box.kind = "group"
                shape = graph.nodes[box.ids[0]].shape
                box.title = f"{box.title} x{len(box.ids)}"
                box.text = f"layer {box.depth}, each shape {shape}"
        note = f"{len(nodes)} nodes grouped by operation and layer into {len(boxes)} boxes"
        if len(boxes) > cap:
            ordered = sorted(boxes.values(), key=lambda b: (b.depth, b.key))
            keep_head = {b.key for b in ordered[: cap // 2]}
            keep_tail = {b.key for b in ordered[-(cap // 2 - 1) :]}
            folded = [b for b in ordered if b.key not in keep_head and b.key not in keep_tail]
            n_folded = sum(len(b.ids) for b in folded)
            mid = (folded[0].depth + folded[-1].depth) // 2
            coll = DisplayNode(
                "collapsed",
                [i for b in folded for i in b.ids],
                f"... {n_folded} nodes",
                f"{len(folded)} groups, layers {folded[0].depth}-{folded[-1].depth} not drawn",
                mid,
                "collapsed",
            )
            for b in folded:
                del boxes[b.key]
                for i in b.ids:
                    where[i] = "collapsed"
            boxes["collapsed"] = coll
            note += f"; {n_folded} nodes in {len(folded)} middle boxes folded into one"
    counts: dict[tuple[str, str], int] = {}
    for n in nodes:
        for _, i in n.inputs:
            a, b = where.get(i.id), where[n.id]
            if a is None or a == b:
                continue
            counts[(a, b)] = counts.get((a, b), 0) + 1
    edges = [(a, b, c) for (a, b), c in counts.items()]
    return Display(list(boxes.values()), edges, note, where)


def _relevant(graph: Graph, node: RecNode) -> bool:
    """Leaves, and nodes with a traced input (the others carry no derivative)."""
    return node.is_leaf or bool(node.inputs)


CHAR_W = 7.0
BOX_H = 40.0
GAP_X = 24.0
GAP_Y = 50.0
MARGIN = 20.0


def layout(display: Display) -> tuple[float, float]:
    """Place the boxes in layers by depth (inputs on top); returns the drawing's size."""
    layers: dict[int, list[DisplayNode]] = {}
    for box in display.nodes:
        box.width = max(len(box.title), len(box.text)) * CHAR_W + 16.0
        layers.setdefault(box.depth, []).append(box)
    preds: dict[str, list[str]] = {}
    for a, b, _ in display.edges:
        preds.setdefault(b, []).append(a)
    pos: dict[str, float] = {}
    rows = []
    for d in sorted(layers):
        row = layers[d]
        # Order each layer by the mean position of its inputs (fewer crossings).
        row.sort(key=lambda b: _mean([pos[p] for p in preds.get(b.key, []) if p in pos], b.ids[0]))
        for k, b in enumerate(row):
            pos[b.key] = float(k)
        rows.append(row)
    widths = [sum(b.width for b in row) + GAP_X * (len(row) - 1) for row in rows]
    total_w = max(widths, default=0.0) + 2 * MARGIN
    for r, (row, w) in enumerate(zip(rows, widths)):
        x = (total_w - w) / 2
        for b in row:
            b.x = x
            b.y = MARGIN + r * (BOX_H + GAP_Y)
            x += b.width + GAP_X
    total_h = 2 * MARGIN + len(rows) * BOX_H + max(len(rows) - 1, 0) * GAP_Y
    return total_w, total_h


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else float(default)
