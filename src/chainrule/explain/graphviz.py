"""Graphviz's ``dot`` as the layout engine, when it is installed.

``dot`` (Gansner, Koutsofios, North and Vo, "A technique for drawing directed
graphs", IEEE TSE 1993) places the boxes and routes the edges as splines that
avoid the boxes. It is run as a subprocess on a DOT text that gives each box
its exact size; its ``plain`` output (positions in inches, y upwards, edges
as cubic B-spline control points) is turned into a :class:`Placement` in
SVG coordinates, so the picture is drawn by :mod:`.render_svg` either way.
Edge ids and labels never reach ``dot``: boxes are named ``n0, n1, ...``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from .layout import MARGIN, Placement, Segment

__all__ = ["dot_available", "dot_placement"]

_TIMEOUT = 60.0


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def dot_placement(
    sizes: dict[str, tuple[float, float]],
    edges: Sequence[tuple[str, str]],
    order_hint: Sequence[str] | None = None,
) -> Placement | None:
    """Lay out with ``dot``; ``None`` if it is missing, fails or times out."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    keys = list(order_hint) if order_hint is not None else list(sizes)
    name = {k: f"n{i}" for i, k in enumerate(keys)}
    back = {v: k for k, v in name.items()}
    lines = [
        "digraph g {",
        "  rankdir=TB; nodesep=0.3; ranksep=0.6; splines=spline;",
        '  node [shape=box, fixedsize=true, label=""];',
        "  edge [arrowhead=none, arrowtail=none];",
    ]
    fed = {b for _, b in edges}
    for k in keys:
        w, h = sizes[k]
        # One group for every node with inputs: dot keeps edges inside a group straight, so the
        # chain of operations runs down one column and parameters sit beside it.
        group = ", group=ops" if k in fed else ""
        lines.append(f"  {name[k]} [width={w / 72:.4f}, height={h / 72:.4f}{group}];")
    for a, b in edges:
        lines.append(f"  {name[a]} -> {name[b]};")
    lines.append("}")
    try:
        res = subprocess.run(
            [exe, "-Tplain"], input="\n".join(lines), capture_output=True, text=True, timeout=_TIMEOUT
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    return _parse_plain(res.stdout, back, sizes, edges)


def _parse_plain(
    text: str,
    back: dict[str, str],
    sizes: dict[str, tuple[float, float]],
    edges: Sequence[tuple[str, str]],
) -> Placement | None:
    height = 0.0
    centers: dict[str, tuple[float, float]] = {}
    splines: dict[tuple[str, str], list[list[tuple[float, float]]]] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "graph":
            height = float(parts[3]) * 72
        elif parts[0] == "node":
            centers[back[parts[1]]] = (float(parts[2]) * 72, float(parts[3]) * 72)
        elif parts[0] == "edge":
            n = int(parts[3])
            pts = [(float(parts[4 + 2 * i]) * 72, float(parts[5 + 2 * i]) * 72) for i in range(n)]
            splines.setdefault((back[parts[1]], back[parts[2]]), []).append(pts)
    if set(centers) != set(sizes):
        return None

    def to_svg(p: tuple[float, float]) -> tuple[float, float]:
        return (p[0] + MARGIN, height - p[1] + MARGIN)

    boxes = {}
    for k, (cx, cy) in centers.items():
        w, h = sizes[k]
        sx, sy = to_svg((cx, cy))
        boxes[k] = (sx - w / 2, sy - h / 2, float(w), float(h))
    routes: list[tuple[str, str, list[Segment]]] = []
    for a, b in edges:
        pts_list = splines.get((a, b))
        if not pts_list:
            return None
        pts = [to_svg(p) for p in pts_list.pop(0)]
        if (len(pts) - 1) % 3:
            return None
        segs: list[Segment] = [("M", [_onto(boxes[a], pts[0])])]
        if segs[0][1][0] != pts[0]:
            segs.append(("L", [pts[0]]))
        for i in range(1, len(pts), 3):
            segs.append(("C", pts[i : i + 3]))
        end = _onto(boxes[b], pts[-1])
        if end != pts[-1]:
            segs.append(("L", [end]))
        routes.append((a, b, segs))
    width = max((x + w for x, _, w, _ in boxes.values()), default=0.0) + MARGIN
    total_h = height + 2 * MARGIN
    return Placement(boxes, routes, max(width, 2 * MARGIN), total_h, {}, "graphviz")


def _onto(box: tuple[float, float, float, float], p: tuple[float, float]) -> tuple[float, float]:
    """The point of the box's border nearest to ``p`` (``p`` itself if on the border)."""
    x, y, w, h = box
    px, py = min(max(p[0], x), x + w), min(max(p[1], y), y + h)
    if x < px < x + w and y < py < y + h:  # inside: push out through the nearest side
        d = {"l": px - x, "r": x + w - px, "t": py - y, "b": y + h - py}
        side = min(d, key=d.__getitem__)
        px = x if side == "l" else x + w if side == "r" else px
        py = y if side == "t" else y + h if side == "b" else py
    return (round(px, 3), round(py, 3))
