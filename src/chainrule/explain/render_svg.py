"""The graph as a standalone SVG: boxes placed by a layered layout, edges that avoid them.

The placement comes from Graphviz's ``dot`` when it is installed (``engine=
"auto"`` or ``"dot"``) and from chainrule's own Sugiyama layout otherwise
(``engine="chainrule"``); the drawing is the same either way.

The SVG follows a contract that tests (and other tools) can rely on:

* each box is ``<g class="node" data-node="ID">`` holding one ``<rect>`` in
  absolute coordinates; ID is the recorded node's id for a box of one node,
  ``cID_ARG`` for a constant operand, ``gK`` for a group;
* each edge is ``<path class="edge" data-from="ID" data-to="ID" d="...">``
  with absolute ``M``, ``L`` and ``C`` commands only, starting on its source
  box and ending on its target box; arrowheads are separate polygons;
* no ``transform`` attribute, no nested ``<svg>``, no ``<use>``, no element
  ids and so no ``url(#...)`` references: two drawings on one page cannot clash;
* every user-controlled string is XML-escaped.

Examples
--------
>>> import numpy as np
>>> from chainrule.explain import explain
>>> e = explain(lambda x: np.sin(x) * 2.0, 1.0, engine="chainrule")
>>> svg = to_svg(e.display(), place(e.display(), "chainrule"))
>>> svg.count('<g class="node"'), svg.count('<path class="edge"')
(4, 3)
"""

from __future__ import annotations

import math
import textwrap

from .display import Display, DisplayNode
from .escaping import markup as escape
from .graphviz import dot_placement
from .layout import Placement, Segment, sugiyama

__all__ = ["ENGINES", "box_size", "place", "to_svg"]

ENGINES = ("auto", "dot", "chainrule")
CHAR_W = 7.3  # width of one character of 12px monospace
MAX_CHARS = 44  # longer texts are shortened in the box (the full text is in its tooltip)
BOX_H = 40.0
CONST_H = 24.0
_FILL = {
    "input": "#dbeafe",
    "output": "#fde68a",
    "op": "#f3f4f6",
    "const": "#e5e7eb",
    "group": "#e9d5ff",
    "collapsed": "#ffffff",
}


def _short(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "\u2026"


def box_size(b: DisplayNode) -> tuple[float, float]:
    """Width and height of a box, from its text."""
    if b.kind == "const":
        return len(_short(b.title)) * CHAR_W + 14.0, CONST_H
    return max(len(_short(b.title)), len(_short(b.text))) * CHAR_W + 16.0, BOX_H


def place(display: Display, engine: str = "auto") -> Placement:
    """Place the boxes and route the edges of ``display`` with the chosen layout engine."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    sizes = {b.key: box_size(b) for b in display.nodes}
    edges = [(a, b) for a, b, _ in display.edges]
    if engine in ("auto", "dot"):
        p = dot_placement(sizes, edges)
        if p is not None:
            return p
        if engine == "dot":
            raise RuntimeError(
                "engine='dot' needs Graphviz's dot program (Debian: apt-get install graphviz); "
                "use engine='chainrule' for the built-in layout"
            )
    return sugiyama(sizes, edges)


def _num(v: float) -> str:
    return f"{v:.1f}"


def path_data(segs: list[Segment]) -> str:
    """SVG path data with absolute commands."""
    return " ".join(kind + " " + " ".join(f"{_num(x)} {_num(y)}" for x, y in pts) for kind, pts in segs)


def _arrowhead(segs: list[Segment]) -> str:
    end = segs[-1][1][-1]
    prev = segs[-1][1][-2] if len(segs[-1][1]) > 1 else segs[-2][1][-1]
    dx, dy = end[0] - prev[0], end[1] - prev[1]
    norm = math.hypot(dx, dy) or 1.0
    ux, uy = dx / norm, dy / norm
    size, half = 8.0, 3.5
    bx, by = end[0] - ux * size, end[1] - uy * size
    pts = [end, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in pts)


def to_svg(display: Display, placement: Placement | None = None) -> str:
    """SVG text of the graph (no XML declaration, so it can be inlined in HTML)."""
    p = placement if placement is not None else place(display)
    # The note is folded to the drawing's width (at least 60 characters), never widening it much.
    chars = max(60, int((p.width - 16) / CHAR_W))
    note = textwrap.wrap(display.note, chars, break_on_hyphens=False) if display.note else []
    width = max(p.width, max((len(x) for x in note), default=0) * CHAR_W + 20)
    height = p.height + 16.0 * len(note) + (6.0 if note else 0.0)
    count = {(a, b): c for a, b, c in display.edges}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chainrule-graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="monospace" font-size="12" data-engine="{p.engine}">',
        f'<rect class="background" x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
    ]
    for a, b, segs in p.routes:
        grey = a.startswith("c")
        colour = "#9ca3af" if grey else "#555555"
        out.append(
            f'<path class="edge" data-from="{escape(a)}" data-to="{escape(b)}" d="{path_data(segs)}" '
            f'fill="none" stroke="{colour}" stroke-width="1.2"/>'
        )
        out.append(f'<polygon class="arrowhead" points="{_arrowhead(segs)}" fill="{colour}"/>')
        c = count.get((a, b), 1)
        if c > 1:
            x, y = segs[0][1][0]
            out.append(f'<text class="edge-count" x="{x + 4:.1f}" y="{y + 14:.1f}" fill="#555">x{c}</text>')
    for box in display.nodes:
        x, y, w, h = p.boxes[box.key]
        tip = escape(
            box.title + ("\n" + box.text if box.text else "") + "".join("\n" + d for d in box.detail[:20])
        )
        out.append(f'<g class="node" data-node="{escape(box.key)}" data-kind="{box.kind}">')
        out.append(f"<title>{tip}</title>")
        dash = ' stroke-dasharray="4 3"' if box.kind in ("group", "collapsed") else ""
        stroke = "#9ca3af" if box.kind == "const" else "#333333"
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" '
            f'fill="{_FILL[box.kind]}" stroke="{stroke}" stroke-width="1"{dash}/>'
        )
        cx = x + w / 2
        if box.kind == "const":
            out.append(
                f'<text x="{cx:.1f}" y="{y + 16:.1f}" text-anchor="middle" fill="#4b5563">'
                f"{escape(_short(box.title))}</text>"
            )
        else:
            out.append(
                f'<text x="{cx:.1f}" y="{y + 16:.1f}" text-anchor="middle" font-weight="bold">'
                f"{escape(_short(box.title))}</text>"
            )
            out.append(
                f'<text x="{cx:.1f}" y="{y + 32:.1f}" text-anchor="middle">{escape(_short(box.text))}</text>'
            )
        out.append("</g>")
    for k, line in enumerate(note):
        y = p.height + 16.0 * (k + 1)
        out.append(f'<text class="note" x="8" y="{y:.0f}" fill="#333">{escape(line)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
