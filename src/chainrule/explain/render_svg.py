"""The graph as a standalone SVG drawn with chainrule's own layered layout.

No Graphviz needed: boxes are placed in layers by depth (inputs on top, the
output at the bottom), each layer ordered by the mean position of its inputs.
Every box is a ``<g class="node" id="node-KEY" data-ids="...">`` so that a
page's script (or a test) can find the recorded nodes it stands for.
"""

from __future__ import annotations

from html import escape

from .layout import BOX_H, Display, layout

__all__ = ["to_svg"]

_FILL = {"input": "#dbeafe", "output": "#fde68a", "op": "#f3f4f6", "group": "#e9d5ff", "collapsed": "#ffffff"}


def to_svg(display: Display) -> str:
    """SVG text of the graph (no XML declaration, so it can be inlined in HTML)."""
    width, height = layout(display)
    note_h = 20.0 if display.note else 0.0
    height += note_h
    box = {b.key: b for b in display.nodes}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chainrule-graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="monospace" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/>'
        "</marker></defs>",
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
    ]
    for a, b, count in display.edges:
        s, t = box[a], box[b]
        x1, y1 = s.x + s.width / 2, s.y + BOX_H
        x2, y2 = t.x + t.width / 2, t.y
        if t.y <= s.y:  # should not happen (inputs sit above), but draw it anyway
            y1, y2 = s.y, t.y + BOX_H
        my = (y1 + y2) / 2
        out.append(
            f'<path class="edge" data-from="{a}" data-to="{b}" d="M {x1:.1f} {y1:.1f} C {x1:.1f} {my:.1f} '
            f'{x2:.1f} {my:.1f} {x2:.1f} {y2:.1f}" fill="none" stroke="#555" stroke-width="1.2" '
            'marker-end="url(#arrow)"/>'
        )
        if count > 1:
            out.append(f'<text x="{(x1 + x2) / 2 + 4:.1f}" y="{my:.1f}" fill="#555">x{count}</text>')
    for b in display.nodes:
        ids = " ".join(str(i) for i in b.ids)
        out.append(f'<g class="node {b.kind}" id="node-{b.key}" data-ids="{ids}">')
        out.append(
            f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.width:.1f}" height="{BOX_H:.1f}" rx="6" '
            f'fill="{_FILL[b.kind]}" stroke="#333" stroke-width="1"/>'
        )
        cx = b.x + b.width / 2
        out.append(
            f'<text x="{cx:.1f}" y="{b.y + 16:.1f}" text-anchor="middle" font-weight="bold">'
            f"{escape(b.title)}</text>"
        )
        out.append(f'<text x="{cx:.1f}" y="{b.y + 32:.1f}" text-anchor="middle">{escape(b.text)}</text>')
        out.append("</g>")
    if display.note:
        out.append(f'<text class="note" x="8" y="{height - 6:.0f}" fill="#333">{escape(display.note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
