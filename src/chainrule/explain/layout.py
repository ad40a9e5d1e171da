"""A layered (Sugiyama) layout of boxes and arrows, needing no external program.

The four classic steps (Sugiyama, Tagawa and Toda, "Methods for visual
understanding of hierarchical system structures", IEEE SMC 1981):

1. **Cycles** are broken by reversing the back edges of a depth-first search
   (a recorded graph has none, but a summarized one could).
2. **Layers**: every box sits one layer below its lowest input (longest path);
   boxes without inputs (parameters, constants) then move down to sit just
   above the first box that reads them, beside its other inputs.
3. **Dummy nodes** are placed on every layer a long edge crosses, and layer
   orders are improved by sweeps that sort each layer by the median position
   of its neighbours (Eades and Wormald, "Edge crossings in drawings of
   bipartite graphs", Algorithmica 1994) followed by swaps of neighbours that
   remove crossings (the "transpose" step of Gansner et al. 1993), keeping the
   order with the fewest crossings (counted exactly).
4. **Coordinates**: in each layer the boxes keep their order and minimum gaps
   while moving as close as possible to the mean position of their
   neighbours (a weighted isotonic regression, solved by pool-adjacent-
   violators), sweeping down and up a few times.

Edges are then routed so that no edge can pass through a box: between two
layers an edge is a cubic curve whose control points lie in the gap between
the layers (a cubic Bezier stays inside the hull of its control points), and
inside a layer it is a vertical segment at its dummy node's reserved slot.

Examples
--------
>>> p = sugiyama({"a": (40, 30), "b": (40, 30), "c": (40, 30)}, [("a", "b"), ("b", "c"), ("a", "c")])
>>> [p.layer[k] for k in "abc"]
[0, 1, 2]
>>> p.routes[2][0], p.routes[2][1], len(p.routes[2][2]) > 2  # a -> c passes a dummy slot
('a', 'c', True)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["GAP_X", "GAP_Y", "MARGIN", "Placement", "Segment", "count_crossings", "sugiyama"]

GAP_X = 24.0  # between neighbouring boxes in a layer
GAP_Y = 56.0  # between layers
DUMMY_W = 10.0  # the slot an edge reserves in a layer it crosses
MARGIN = 20.0
SWEEPS = 12

Point = tuple[float, float]
Segment = tuple[str, list[Point]]  # ("M" | "L" | "C", points)


@dataclass
class Placement:
    """Where every box goes (``x, y, width, height``, top-left) and every edge's route."""

    boxes: dict[str, tuple[float, float, float, float]]
    routes: list[tuple[str, str, list[Segment]]]
    width: float
    height: float
    layer: dict[str, int] = field(default_factory=dict)
    engine: str = "chainrule"


def _break_cycles(keys: Sequence[str], edges: Sequence[tuple[str, str]]) -> set[int]:
    """Indices of edges to reverse so that the graph has no cycle (iterative DFS)."""
    out: dict[str, list[tuple[str, int]]] = {k: [] for k in keys}
    for e, (a, b) in enumerate(edges):
        out[a].append((b, e))
    state: dict[str, int] = {}
    reverse: set[int] = set()
    for root in keys:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            v, it = stack[-1]
            for w, e in it:
                s = state.get(w, 0)
                if s == 1:
                    reverse.add(e)
                elif s == 0:
                    state[w] = 1
                    stack.append((w, iter(out[w])))
                    break
            else:
                state[v] = 2
                stack.pop()
    return reverse


def _layers(keys: Sequence[str], dag: Sequence[tuple[str, str]]) -> dict[str, int]:
    preds: dict[str, list[str]] = {k: [] for k in keys}
    succs: dict[str, list[str]] = {k: [] for k in keys}
    for a, b in dag:
        preds[b].append(a)
        succs[a].append(b)
    indeg = {k: len(preds[k]) for k in keys}
    order = [k for k in keys if indeg[k] == 0]
    for v in order:  # Kahn's algorithm; order grows while iterating
        for w in succs[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                order.append(w)
    layer: dict[str, int] = {}
    for v in order:
        layer[v] = 1 + max((layer[u] for u in preds[v]), default=-1)
    for v in keys:  # sources sit just above their first consumer
        if not preds[v] and succs[v]:
            layer[v] = min(layer[w] for w in succs[v]) - 1
    low = min(layer.values(), default=0)
    return {k: v - low for k, v in layer.items()}


class _Fenwick:
    def __init__(self, n: int) -> None:
        self.t = [0] * (n + 1)

    def add(self, i: int) -> None:
        i += 1
        while i < len(self.t):
            self.t[i] += 1
            i += i & -i

    def above(self, i: int) -> int:
        """How many added indices are greater than ``i``."""
        total, j = 0, len(self.t) - 1
        while j > 0:
            total += self.t[j]
            j -= j & -j
        j = i + 1
        while j > 0:
            total -= self.t[j]
            j -= j & -j
        return total


def count_crossings(pairs: Sequence[tuple[int, int]], n_lower: int) -> int:
    """Crossings among edges ``(upper position, lower position)`` between two layers.

    >>> count_crossings([(0, 1), (1, 0)], 2), count_crossings([(0, 0), (1, 1)], 2)
    (1, 0)
    """
    tree = _Fenwick(max(n_lower, 1))
    total = 0
    for _, lo in sorted(pairs):
        total += tree.above(lo)
        tree.add(lo)
    return total


def _pava(target: list[float], weight: list[float]) -> list[float]:
    """Weighted isotonic (non-decreasing) regression by pool-adjacent-violators."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for t, w in zip(target, weight):
        blocks.append([t, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for m, _, c in blocks:
        out.extend([m] * int(c))
    return out


def sugiyama(
    sizes: dict[str, tuple[float, float]],
    edges: Sequence[tuple[str, str]],
    order_hint: Sequence[str] | None = None,
) -> Placement:
    """Lay out boxes of the given ``(width, height)`` and the edges between them.

    ``order_hint`` (default: the order of ``sizes``) seeds the order within layers.
    """
    keys = list(order_hint) if order_hint is not None else list(sizes)
    rank = {k: i for i, k in enumerate(keys)}
    flip = _break_cycles(keys, edges)
    dag = [(b, a) if e in flip else (a, b) for e, (a, b) in enumerate(edges)]
    layer = _layers(keys, dag)
    n_layers = max(layer.values(), default=-1) + 1
    # Dummy nodes: one per layer an edge crosses. Items are box keys or ("d", edge, layer).
    rows: list[list[object]] = [[] for _ in range(n_layers)]
    for k in sorted(keys, key=lambda k: rank[k]):
        rows[layer[k]].append(k)
    chains: list[list[object]] = []
    up: dict[object, list[object]] = {}
    down: dict[object, list[object]] = {}
    for e, (a, b) in enumerate(dag):
        chain: list[object] = [a]
        for r in range(layer[a] + 1, layer[b]):
            d = ("d", e, r)
            rows[r].append(d)
            chain.append(d)
        chain.append(b)
        chains.append(chain)
        for u, v in itertools.pairwise(chain):
            down.setdefault(u, []).append(v)
            up.setdefault(v, []).append(u)
    _reduce_crossings(rows, up, down)
    width = {k: float(sizes[k][0]) for k in keys}
    x = _coordinates(rows, up, down, width)
    # Vertical: each layer is a band as tall as its tallest box; boxes are top-aligned.
    band = [max((sizes[k][1] for k in row if isinstance(k, str)), default=20.0) for row in rows]
    top = []
    y = MARGIN
    for h in band:
        top.append(y)
        y += h + GAP_Y
    height = y - GAP_Y + MARGIN if rows else 2 * MARGIN
    boxes = {k: (x[k] - width[k] / 2, top[layer[k]], width[k], float(sizes[k][1])) for k in keys}
    routes = _route(edges, flip, chains, x, boxes, layer, top, band)
    right = max((bx + bw for bx, _, bw, _ in boxes.values()), default=0.0)
    right = max([right, *(x[d] + DUMMY_W / 2 for row in rows for d in row if not isinstance(d, str))])
    return Placement(boxes, routes, right + MARGIN, height, layer)


def _reduce_crossings(
    rows: list[list[object]], up: dict[object, list[object]], down: dict[object, list[object]]
) -> None:
    def total() -> int:
        t = 0
        for r in range(len(rows) - 1):
            pos = {v: i for i, v in enumerate(rows[r + 1])}
            pairs = [(i, pos[w]) for i, v in enumerate(rows[r]) for w in down.get(v, [])]
            t += count_crossings(pairs, len(rows[r + 1]))
        return t

    best = [list(row) for row in rows]
    best_c = total()
    for sweep in range(SWEEPS):
        if best_c == 0:
            break
        if sweep % 2 == 0:
            order, nbrs, ref = range(1, len(rows)), up, -1
        else:
            order, nbrs, ref = range(len(rows) - 2, -1, -1), down, 1
        for r in order:
            pos = {v: i for i, v in enumerate(rows[r + ref])}
            cur = {v: i for i, v in enumerate(rows[r])}

            def key(
                v: object, pos: dict[object, int] = pos, cur: dict[object, int] = cur,
                nbrs: dict[object, list[object]] = nbrs,
            ) -> tuple[float, int]:  # fmt: skip
                return (_median(v, nbrs, pos, cur), cur[v])

            rows[r].sort(key=key)
        _transpose(rows, up, down)
        c = total()
        if c < best_c:
            best_c, best = c, [list(row) for row in rows]
    rows[:] = best


def _transpose(
    rows: list[list[object]],
    up: dict[object, list[object]],
    down: dict[object, list[object]],
    passes: int = 4,
) -> None:
    """Swap neighbours in a layer while that removes crossings (the "transpose" step of dot)."""
    for _ in range(passes):
        improved = False
        for r, row in enumerate(rows):
            above = {v: i for i, v in enumerate(rows[r - 1])} if r > 0 else {}
            below = {v: i for i, v in enumerate(rows[r + 1])} if r + 1 < len(rows) else {}
            for i in range(len(row) - 1):
                u, v = row[i], row[i + 1]
                if _pair_crossings(v, u, above, below, up, down) < _pair_crossings(
                    u, v, above, below, up, down
                ):
                    row[i], row[i + 1] = v, u
                    improved = True
        if not improved:
            return


def _pair_crossings(
    u: object,
    v: object,
    above: dict[object, int],
    below: dict[object, int],
    up: dict[object, list[object]],
    down: dict[object, list[object]],
) -> int:
    """Crossings between the edges of ``u`` and of ``v`` (``u`` left of ``v``) with both adjacent layers."""
    c = 0
    for nbrs, pos in ((up, above), (down, below)):
        pu = [pos[w] for w in nbrs.get(u, ()) if w in pos]
        pv = [pos[w] for w in nbrs.get(v, ()) if w in pos]
        c += sum(1 for a in pu for b in pv if a > b)
    return c


def _median(
    v: object, nbrs: dict[object, list[object]], pos: dict[object, int], cur: dict[object, int]
) -> float:
    """Median position of ``v``'s neighbours in the reference layer (its own position if none)."""
    ps = sorted(pos[w] for w in nbrs.get(v, []) if w in pos)
    if not ps:
        return float(cur[v])
    m = len(ps) // 2
    return float(ps[m]) if len(ps) % 2 else (ps[m - 1] + ps[m]) / 2


def _coordinates(
    rows: list[list[object]],
    up: dict[object, list[object]],
    down: dict[object, list[object]],
    width: dict[str, float],
) -> dict[object, float]:
    def w(v: object) -> float:
        return width[v] if isinstance(v, str) else DUMMY_W

    def gap(a: object, b: object) -> float:
        return (w(a) + w(b)) / 2 + (GAP_X if isinstance(a, str) or isinstance(b, str) else 6.0)

    sources = {v for row in rows for v in row if isinstance(v, str) and not up.get(v)}
    x: dict[object, float] = {}
    for row in rows:
        pos = MARGIN
        for v in row:
            x[v] = pos + w(v) / 2
            pos += w(v) + GAP_X
    sweeps: list[tuple[range, list[dict[object, list[object]]]]] = []
    down_order, up_order = range(len(rows)), range(len(rows) - 1, -1, -1)
    for _ in range(4):
        sweeps += [(down_order, [up]), (up_order, [down])]
    sweeps.append((down_order, [up, down]))
    for order, nbr_maps in sweeps:
        for r in order:
            row = rows[r]
            if not row:
                continue
            target, weight = [], []
            offset = 0.0
            for i, v in enumerate(row):
                if i:
                    offset += gap(row[i - 1], v)
                # A box with inputs follows its neighbours that have inputs too (the chain of
                # operations, and the dummies of long edges), not the sources beside it:
                # otherwise each parameter or constant would nudge the chain sideways and a
                # long chain would drift. Sources follow their consumers.
                nbrs = [u for m in nbr_maps for u in m.get(v, [])]
                main = [u for u in nbrs if u not in sources]
                ns = main if v not in sources and main else nbrs
                total = float(len(ns))
                want = sum(x[u] for u in ns) / total if ns else x[v]
                target.append(want - offset)
                # Sources give way to the chain when both want the same place.
                kind_w = 4.0 if not isinstance(v, str) else 1e-3 if v in sources else 1.0
                weight.append(kind_w * max(total, 1.0))
            fitted = _pava(target, weight)
            offset = 0.0
            for i, v in enumerate(row):
                if i:
                    offset += gap(row[i - 1], v)
                x[v] = fitted[i] + offset
    low = min((x[v] - w(v) / 2 for row in rows for v in row), default=MARGIN)
    return {v: p - low + MARGIN for v, p in x.items()}


def _ports(ends: list[tuple[str, float]], boxes: dict[str, tuple[float, float, float, float]]) -> list[float]:
    """Spread the edges meeting one side of a box, ordered by where they come from."""
    key = ends[0][0]
    bx, _, bw, _ = boxes[key]
    k = len(ends)
    if k == 1:
        return [bx + bw / 2]
    order = sorted(range(k), key=lambda i: ends[i][1])
    out = [0.0] * k
    for rank, i in enumerate(order):
        out[i] = bx + bw * (0.2 + 0.6 * rank / (k - 1))
    return out


def _route(
    edges: Sequence[tuple[str, str]],
    flip: set[int],
    chains: list[list[object]],
    x: dict[object, float],
    boxes: dict[str, tuple[float, float, float, float]],
    layer: dict[str, int],
    top: list[float],
    band: list[float],
) -> list[tuple[str, str, list[Segment]]]:
    # Port positions: edges leaving the bottom / entering the top of each box.
    leaving: dict[str, list[tuple[int, float]]] = {}
    entering: dict[str, list[tuple[int, float]]] = {}
    for e, chain in enumerate(chains):
        first, last = chain[0], chain[-1]
        assert isinstance(first, str)  # a chain runs from box to box, through dummy nodes
        assert isinstance(last, str)
        leaving.setdefault(first, []).append((e, x[chain[1]]))
        entering.setdefault(last, []).append((e, x[chain[-2]]))
    out_port: dict[int, float] = {}
    in_port: dict[int, float] = {}
    for store, port in ((leaving, out_port), (entering, in_port)):
        for key, items in store.items():
            xs = _ports([(key, p) for _, p in items], boxes)
            for (e, _), px in zip(items, xs):
                port[e] = px
    routes = []
    for e, chain in enumerate(chains):
        a, b = chain[0], chain[-1]
        assert isinstance(a, str)
        assert isinstance(b, str)
        ra = layer[a]
        _, ay, _, ah = boxes[a]
        cx, cy = out_port[e], ay + ah
        segs: list[Segment] = [("M", [(cx, cy)])]
        band_bottom = top[ra] + band[ra]
        if cy < band_bottom:
            segs.append(("L", [(cx, band_bottom)]))
        for r, v in enumerate(chain[1:], start=ra + 1):
            nx = in_port[e] if v == b else x[v]
            y0, y1 = top[r - 1] + band[r - 1], top[r]
            mid = (y0 + y1) / 2
            segs.append(("C", [(cx, mid), (nx, mid), (nx, y1)]))
            cx = nx
            if v != b:
                segs.append(("L", [(cx, top[r] + band[r])]))
        routes.append((a, b, segs) if e not in flip else (b, a, _reverse(segs)))
    return routes


def _reverse(segs: list[Segment]) -> list[Segment]:
    """The same curve traversed from its end to its start."""
    points: list[Point] = [segs[0][1][0]]
    kinds: list[tuple[str, int]] = []
    for kind, pts in segs[1:]:
        kinds.append((kind, len(pts)))
        points.extend(pts)
    points.reverse()
    out: list[Segment] = [("M", [points[0]])]
    i = 1
    for kind, n in reversed(kinds):
        out.append((kind, points[i : i + n]))
        i += n
    return out
