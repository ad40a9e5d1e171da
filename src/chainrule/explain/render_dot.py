"""The graph as Graphviz DOT text (``dot -Tsvg`` draws it where Graphviz is installed).

Box ids are ``n`` plus the display key (quoted and escaped like the labels
unless it is letters, digits and ``_``), and every label is a quoted, escaped
DOT string, so user text cannot change the graph's structure.
"""

from __future__ import annotations

import re

from .display import Display
from .escaping import dot_string

__all__ = ["to_dot"]

_FILL = {
    "input": "#dbeafe",
    "output": "#fde68a",
    "op": "#f3f4f6",
    "const": "#e5e7eb",
    "group": "#e9d5ff",
    "collapsed": "#ffffff",
}


def _id(key: str) -> str:
    # Display keys are chainrule's own ("12", "g0", "c3_1"); anything else is quoted and escaped,
    # so no key can change the graph's structure (dropping characters could merge two boxes).
    return "n" + key if re.fullmatch(r"\w+", key, re.ASCII) else dot_string("n" + key)


def to_dot(display: Display, name: str = "chainrule") -> str:
    """DOT text: one box per display node (constants grey), one arrow per input relation."""
    lines = [f"digraph {dot_string(name)} {{", "  rankdir=TB;", '  node [shape=box, style="rounded,filled"];']
    if display.note:
        lines.append(f"  label={dot_string(display.note)};")
    for b in display.nodes:
        label = b.title if b.kind == "const" else f"{b.title}\n{b.text}"
        style = ', style="rounded,filled,dashed"' if b.kind in ("group", "collapsed") else ""
        font = ', fontcolor="#4b5563", color="#9ca3af"' if b.kind == "const" else ""
        lines.append(
            f"  {_id(b.key)} [label={dot_string(label)}, fillcolor={dot_string(_FILL[b.kind])}{style}{font}];"
        )
    for source, target, count in display.edges:
        extra = f" [label={dot_string('x' + str(count))}]" if count > 1 else ""
        lines.append(f"  {_id(source)} -> {_id(target)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"
