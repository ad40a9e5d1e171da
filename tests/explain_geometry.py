"""Helpers for the explain tests: read the SVG contract back and check its geometry.

Not a test module: ``test_explain_*`` files import it (pytest puts ``tests/`` on the path).
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = "{http://www.w3.org/2000/svg}"
Box = tuple[float, float, float, float]


@dataclass
class Drawing:
    width: float
    height: float
    boxes: dict[str, Box]
    kinds: dict[str, str]
    edges: list[tuple[str, str, str]]  # (from, to, d)
    root: ET.Element


def parse_svg(svg: str) -> Drawing:
    """Boxes and edges of an SVG that follows the contract (asserts the parts it relies on)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    boxes: dict[str, Box] = {}
    kinds: dict[str, str] = {}
    for g in root.iter(f"{NS}g"):
        if g.get("class") != "node":
            continue
        key = g.get("data-node")
        assert key is not None
        assert key not in boxes, f"duplicate data-node {key}"
        rects = g.findall(f"{NS}rect")
        assert len(rects) == 1, f"node {key} holds {len(rects)} rects"
        r = rects[0]
        boxes[key] = tuple(float(r.get(a)) for a in ("x", "y", "width", "height"))  # type: ignore[assignment]
        kinds[key] = g.get("data-kind", "")
    edges = []
    for p in root.iter(f"{NS}path"):
        if p.get("class") == "edge":
            edges.append((p.get("data-from"), p.get("data-to"), p.get("d")))
    return Drawing(float(root.get("width")), float(root.get("height")), boxes, kinds, edges, root)


_TOKEN = re.compile(r"[A-Za-z]|-?\d+(?:\.\d+)?(?:e-?\d+)?")


def parse_path(d: str) -> list[tuple[str, list[tuple[float, float]]]]:
    """``M x y L x y C ...`` as commands with their points; only absolute M, L, C and Q allowed."""
    tokens = _TOKEN.findall(d)
    out: list[tuple[str, list[tuple[float, float]]]] = []
    i = 0
    arity = {"M": 1, "L": 1, "C": 3, "Q": 2}
    while i < len(tokens):
        cmd = tokens[i]
        assert cmd in arity, f"path command {cmd!r} is not an absolute M, L, C or Q"
        n = arity[cmd]
        nums = [float(t) for t in tokens[i + 1 : i + 1 + 2 * n]]
        assert len(nums) == 2 * n
        out.append((cmd, list(zip(nums[::2], nums[1::2]))))
        i += 1 + 2 * n
    assert out and out[0][0] == "M"
    return out


def sample_path(d: str, step: float = 2.0) -> list[tuple[float, float]]:
    """Points along the path about ``step`` apart (curves sampled by parameter, finely)."""
    pts: list[tuple[float, float]] = []
    cur = (0.0, 0.0)
    for cmd, ps in parse_path(d):
        if cmd == "M":
            cur = ps[0]
            pts.append(cur)
            continue
        ctrl = [cur, *ps]
        length = sum(((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5 for a, b in itertools.pairwise(ctrl))
        n = max(2, int(length / step) + 1)
        for k in range(1, n + 1):
            t = k / n
            pts.append(_bezier(ctrl, t))
        cur = ps[-1]
    return pts


def _bezier(ctrl: list[tuple[float, float]], t: float) -> tuple[float, float]:
    pts = list(ctrl)
    while len(pts) > 1:
        pts = [((1 - t) * a[0] + t * b[0], (1 - t) * a[1] + t * b[1]) for a, b in itertools.pairwise(pts)]
    return pts[0]


def inside(p: tuple[float, float], box: Box, tol: float = 0.75) -> bool:
    """Strictly inside the box shrunk by ``tol`` (touching a border does not count)."""
    x, y, w, h = box
    return x + tol < p[0] < x + w - tol and y + tol < p[1] < y + h - tol


def on_border(p: tuple[float, float], box: Box, tol: float = 1.0) -> bool:
    x, y, w, h = box
    near_x = x - tol <= p[0] <= x + w + tol
    near_y = y - tol <= p[1] <= y + h + tol
    at_side = min(abs(p[0] - x), abs(p[0] - x - w)) <= tol or min(abs(p[1] - y), abs(p[1] - y - h)) <= tol
    return near_x and near_y and at_side


def edge_violations(drawing: Drawing, step: float = 2.0) -> list[str]:
    """Edges entering a box other than their own two, or not starting and ending on their boxes."""
    bad = []
    for a, b, d in drawing.edges:
        pts = sample_path(d, step)
        if not on_border(pts[0], drawing.boxes[a]):
            bad.append(f"edge {a}->{b} starts at {pts[0]}, not on box {a} {drawing.boxes[a]}")
        if not on_border(pts[-1], drawing.boxes[b]):
            bad.append(f"edge {a}->{b} ends at {pts[-1]}, not on box {b} {drawing.boxes[b]}")
        for key, box in drawing.boxes.items():
            if key in (a, b):
                continue
            hit = next((p for p in pts if inside(p, box)), None)
            if hit is not None:
                bad.append(f"edge {a}->{b} enters box {key} at {hit}")
    return bad


def boxes_overlap(drawing: Drawing, gap: float = 0.0) -> list[tuple[str, str]]:
    out = []
    items = list(drawing.boxes.items())
    for i, (ka, (xa, ya, wa, ha)) in enumerate(items):
        for kb, (xb, yb, wb, hb) in items[i + 1 :]:
            if xa < xb + wb + gap and xb < xa + wa + gap and ya < yb + hb + gap and yb < ya + ha + gap:
                out.append((ka, kb))
    return out
