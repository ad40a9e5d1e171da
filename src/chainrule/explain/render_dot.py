"""The graph as Graphviz DOT text (``dot -Tsvg`` draws it where Graphviz is installed)."""

from __future__ import annotations

from .layout import Display

__all__ = ["to_dot"]

_FILL = {"input": "#dbeafe", "output": "#fde68a", "op": "#f3f4f6", "group": "#e9d5ff", "collapsed": "#ffffff"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(display: Display, name: str = "chainrule") -> str:
    """DOT text: one box per display node, one arrow per input relation, inputs on top."""
    lines = [f"digraph {_quote(name)} {{", "  rankdir=TB;", '  node [shape=box, style="rounded,filled"];']
    if display.note:
        lines.append(f"  label={_quote(display.note)};")
    for b in display.nodes:
        label = _quote(f"{b.title}\n{b.text}").replace("\n", "\\n")
        lines.append(f"  n{b.key} [label={label}, fillcolor={_quote(_FILL[b.kind])}];")
    for a, b, count in display.edges:
        extra = f" [label={_quote('x' + str(count))}]" if count > 1 else ""
        lines.append(f"  n{a} -> n{b}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"
