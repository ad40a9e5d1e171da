"""The explanation as one self-contained HTML page (no network: inline SVG, CSS and script).

The page shows the graph, a stepper for the backward pass (first / previous /
next / last buttons and a slider; the current node gets the class
``current`` and the inputs it sends to the class ``target``) and the forward,
backward and gradient tables. Element ids a test can rely on: ``graph``,
``step-first``, ``step-prev``, ``step-next``, ``step-last``, ``step-slider``,
``step-info``, ``bstep-K`` (row of step K), ``node-KEY`` (graph boxes).
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING

from .recording import summarize_value
from .render_svg import to_svg

if TYPE_CHECKING:
    from .explanation import Explanation

__all__ = ["to_html"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1em; color: #111; }
.chainrule-explain table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; font-size: 13px; }
.chainrule-explain th, .chainrule-explain td { border: 1px solid #bbb; padding: 2px 6px;
  vertical-align: top; white-space: pre; font-family: monospace; text-align: left; }
.chainrule-explain tr.current td { background: #fef08a; }
.chainrule-explain g.node.current rect { stroke: #dc2626; stroke-width: 3; fill: #fecaca; }
.chainrule-explain g.node.target rect { stroke: #2563eb; stroke-width: 3; }
.chainrule-explain .controls { margin: 0.5em 0; }
.chainrule-explain #step-info { white-space: pre; font-family: monospace; background: #f3f4f6;
  padding: 6px; min-height: 3em; }
.chainrule-explain .graph-box { overflow: auto; max-height: 70vh; border: 1px solid #ddd; }
"""

_JS = """
(function () {
  var root = document.getElementById("chainrule-explain");
  var steps = JSON.parse(document.getElementById("chainrule-steps").textContent);
  var slider = document.getElementById("step-slider");
  var info = document.getElementById("step-info");
  function clear(cls) {
    var els = root.querySelectorAll("." + cls);
    for (var i = 0; i < els.length; i++) { els[i].classList.remove(cls); }
  }
  function mark(key, cls) {
    var el = document.getElementById("node-" + key);
    if (el) { el.classList.add(cls); }
  }
  function show(k) {
    if (!steps.length) {
      info.textContent = "No backward steps (the output does not depend on the inputs).";
      return;
    }
    k = Math.max(0, Math.min(steps.length - 1, k));
    slider.value = k;
    clear("current"); clear("target");
    var s = steps[k];
    for (var i = 0; i < s.targets.length; i++) { mark(s.targets[i], "target"); }
    mark(s.key, "current");
    var row = document.getElementById("bstep-" + k);
    if (row) { row.classList.add("current"); }
    info.textContent = "step " + k + " of " + (steps.length - 1) + ": " + s.text;
    root.setAttribute("data-step", String(k));
    root.setAttribute("data-current", s.key);
  }
  function current() { return parseInt(slider.value, 10) || 0; }
  document.getElementById("step-first").onclick = function () { show(0); };
  document.getElementById("step-prev").onclick = function () { show(current() - 1); };
  document.getElementById("step-next").onclick = function () { show(current() + 1); };
  document.getElementById("step-last").onclick = function () { show(steps.length - 1); };
  slider.oninput = function () { show(current()); };
  var start = parseInt((location.hash.match(/step=(\\d+)/) || [0, 0])[1], 10);
  show(start);
})();
"""


def _table(title: str, header: list[str], rows: list[list[str]], row_ids: str = "") -> str:
    out = [
        f"<h3>{escape(title)}</h3>",
        "<table>",
        "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>",
    ]
    for k, row in enumerate(rows):
        rid = f' id="{row_ids}{k}"' if row_ids else ""
        out.append(f"<tr{rid}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def to_html(expl: Explanation, fragment: bool = False) -> str:
    """The page (or, with ``fragment``, a ``<div>`` for a notebook cell)."""
    display = expl.display()
    svg = to_svg(display).replace(' xmlns="http://www.w3.org/2000/svg"', "")
    steps = []
    for s in expl.steps:
        key = display.where.get(s.node, "")
        targets = sorted({display.where[e.input] for e in s.sent if e.input in display.where})
        sends = "; ".join(f"{expl.name(e.input)} += {summarize_value(e.value)}" for e in s.sent)
        text = f"{expl.name(s.node)}: adjoint {summarize_value(s.adjoint)}"
        if len(s.received) > 1:
            text += f" (sum of {len(s.received)} contributions)"
        text += f"\n  sends: {sends or '(input: gradient entry)'}"
        steps.append({"node": s.node, "key": key, "targets": targets, "text": text})
    data = json.dumps(steps).replace("</", "<\\/")
    fwd, bwd, grads = expl.tables(max_rows=max(len(expl.graph.nodes), expl.cap) if not fragment else None)
    names = {n.id: expl.name(n.id) for n in expl.graph.nodes}
    formulas = "\n\n".join("\n".join(ps.lines(names)) for ps in expl.path_sums())
    note = display.note and (display.note + ". " + expl.op_counts())
    n_steps = max(len(steps) - 1, 0)
    body = f"""
<div class="chainrule-explain" id="chainrule-explain" data-nodes="{len(display.nodes)}">
<style>{_CSS}</style>
<h2>chainrule.explain: {escape(expl.graph.fname)} = {escape(summarize_value(expl.value))}</h2>
<p>Backpropagation is the chain rule applied node by node, from the output back to the inputs.
Step through the backward pass: the current node is red, the inputs it sends contributions to are blue.</p>
<div class="controls">
<button type="button" id="step-first">first</button>
<button type="button" id="step-prev">previous</button>
<input type="range" id="step-slider" min="0" max="{n_steps}" value="0" step="1">
<button type="button" id="step-next">next</button>
<button type="button" id="step-last">last</button>
</div>
<div id="step-info"></div>
{f'<p class="note">{escape(note)}</p>' if note else ""}
<div class="graph-box" id="graph">
{svg}
</div>
{_table(*bwd, row_ids="bstep-")}
{f'<h3>The chain rule written out</h3><pre id="path-sums">{escape(formulas)}</pre>' if formulas else ""}
{_table(*grads)}
{_table(*fwd)}
<script type="application/json" id="chainrule-steps">{data}</script>
<script>{_JS}</script>
</div>
"""
    if fragment:
        return body
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>chainrule.explain: {escape(expl.graph.fname)}</title>\n</head>\n"
        f"<body>{body}</body>\n</html>\n"
    )
