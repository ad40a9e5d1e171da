"""The explanation as an HTML widget: the graph, a stepper for the backward pass, the tables.

One self-contained ``<div>`` (no network: inline SVG, CSS and script), used
as a whole page by ``Explanation.to_html`` and as a notebook cell by
``_repr_html_``. Every render gets a unique id prefix, its CSS rules all start
with that id (nothing leaks into the host page), and its script finds its
elements inside its own root, so several widgets on one page work apart.

Stepping: first / previous / next / last buttons, a slider, the arrow keys
(Right/Down next, Left/Up previous, Home, End) while the widget has focus, and
a click on a box (its step; a group also lists what it stands for). The
current node gets the class ``current`` and is scrolled into view inside the
graph's box; the nodes it sends to get ``target``. A whole page also follows
and updates the URL's ``#step=K``. The root element carries ``data-step`` and
``data-current`` (the current box's ``data-node``) for tests and tools.

This module knows nothing of :class:`~chainrule.explain.Explanation`: it
renders a :class:`WidgetData`, which the explanation builds.

Examples
--------
>>> data = WidgetData(title="f = 1", svg="<svg></svg>", keys=["0"], steps=[(0, [])])
>>> a, b = to_html(data, fragment=True), to_html(data, fragment=True)
>>> a.startswith('<div class="chainrule-explain" id="chainrule-'), a == b
(True, False)
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .escaping import json_for_script, markup

__all__ = ["WidgetData", "to_html"]

_COUNTER = itertools.count()
# A page keeps the first and last half of this many steps; the middle ones become one "fold"
# entry (with their box when they all share one), so a page of a 1e5-node graph stays small.
MAX_PAGE_STEPS = 2000


def _folded_steps(steps: list[tuple[int, list[int]]]) -> tuple[list[Any], dict[str, int] | None]:
    """The steps a page carries, and where the middle ones were folded (``at``, ``count``)."""
    if len(steps) <= MAX_PAGE_STEPS:
        return list(steps), None
    half = MAX_PAGE_STEPS // 2
    middle = steps[half : len(steps) - half]
    first = middle[0]
    shared = all(s[0] == first[0] and list(s[1]) == list(first[1]) for s in middle)
    fold = [first[0], list(first[1])] if shared else [-1, []]
    return [*steps[:half], fold, *steps[len(steps) - half :]], {"at": half, "count": len(middle)}


@dataclass
class WidgetData:
    """What the widget shows. ``steps[k] = (index of the current box in keys, target box indices)``."""

    title: str
    svg: str
    keys: list[str]
    steps: list[tuple[int, list[int]]]
    step_text: dict[int, str] = field(default_factory=dict)
    details: dict[int, list[str]] = field(default_factory=dict)
    interiors: dict[int, str] = field(default_factory=dict)  # box index -> SVG of a group's inside
    tables: Sequence[tuple[str, Sequence[str], Sequence[Sequence[str]]]] = ()
    formulas: str = ""
    note: str = ""


_CSS = """
#ID { font-family: system-ui, sans-serif; color: #111; outline: none; }
#ID:focus-visible { box-shadow: 0 0 0 2px #93c5fd; }
#ID .cr-table { overflow-x: auto; max-width: 100%; }
#ID table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; font-size: 13px; }
#ID th, #ID td { border: 1px solid #bbb; padding: 2px 6px; vertical-align: top; white-space: pre;
  font-family: monospace; text-align: left; }
#ID tr.current td { background: #fef08a; }
#ID g.node { cursor: pointer; }
#ID g.node.current rect { stroke: #dc2626; stroke-width: 3; fill: #fecaca; }
#ID g.node.target rect { stroke: #2563eb; stroke-width: 3; }
#ID .cr-controls { margin: 0.5em 0; }
#ID .cr-info, #ID .cr-detail { white-space: pre; font-family: monospace; background: #f3f4f6;
  padding: 6px; min-height: 3em; overflow-x: auto; }
#ID .cr-detail:empty { display: none; }
#ID .cr-inside { overflow: auto; max-height: 50vh; border: 1px dashed #a78bfa; margin-bottom: 6px; }
#ID .cr-graph { overflow: auto; max-height: 70vh; max-width: 100%; border: 1px solid #ddd; }
"""

_JS = """
(function () {
  var root = document.getElementById("__ROOT__");
  if (!root || root.getAttribute("data-ready")) { return; }
  root.setAttribute("data-ready", "1");
  var data = JSON.parse(root.querySelector("script.cr-data").textContent);
  function part(role) { return root.querySelector('[data-role="' + role + '"]'); }
  var slider = part("slider"), info = part("info"), box = part("graph"), detail = part("detail");
  var nodes = {}, stepOf = {}, rows = {}, marked = [];
  var els = root.querySelectorAll("g.node");
  for (var i = 0; i < els.length; i++) { nodes[els[i].getAttribute("data-node")] = els[i]; }
  var trs = root.querySelectorAll("tr[data-step]");
  for (i = 0; i < trs.length; i++) { rows[trs[i].getAttribute("data-step")] = trs[i]; }
  var n = data.total, cur = 0, fold = data.fold;
  // Step k's entry: past a fold (the middle of a long pass, kept as one entry) the entries shift.
  function entry(k) {
    if (!fold || k < fold.at) { return k; }
    return k < fold.at + fold.count ? fold.at : k - fold.count + 1;
  }
  function number(e) { return fold && e > fold.at ? e + fold.count - 1 : e; }
  for (i = data.steps.length - 1; i >= 0; i--) {
    if (data.steps[i][0] >= 0) { stepOf[data.keys[data.steps[i][0]]] = number(i); }
  }
  function mark(el, cls) { if (el) { el.classList.add(cls); marked.push([el, cls]); } }
  function reveal(el) {
    var b = box.getBoundingClientRect(), r = el.getBoundingClientRect();
    if (r.left < b.left || r.right > b.right) { box.scrollLeft += (r.left + r.right - b.left - b.right) / 2; }
    if (r.top < b.top || r.bottom > b.bottom) { box.scrollTop += (r.top + r.bottom - b.top - b.bottom) / 2; }
  }
  function show(k, fromUrl) {
    if (!n) { info.textContent = "No backward steps (the output does not depend on the inputs)."; return; }
    k = Math.max(0, Math.min(n - 1, parseInt(k, 10) || 0));
    cur = k;
    slider.value = String(k);
    while (marked.length) { var m = marked.pop(); m[0].classList.remove(m[1]); }
    var e = entry(k), s = data.steps[e], key = s[0] >= 0 ? data.keys[s[0]] : "";
    var folded = fold && e === fold.at && k >= fold.at && k < fold.at + fold.count;
    for (var j = 0; j < s[1].length; j++) { mark(nodes[data.keys[s[1][j]]], "target"); }
    mark(nodes[key], "current");
    mark(rows[String(k)], "current");
    var text = folded ? null : data.texts[String(k)];
    info.textContent = "step " + k + " of " + (n - 1) + ": " + (text || (folded ?
      "one of the " + fold.count + " middle steps (" + fold.at + " to " + (fold.at + fold.count - 1) +
      "), folded on a page of a graph this large" + (key ? ", in box " + key : "") :
      "box " + key + " (this step's details are not kept in a graph this large)"));
    root.setAttribute("data-step", String(k));
    root.setAttribute("data-current", key);
    if (nodes[key]) { reveal(nodes[key]); }
    if (data.url && !fromUrl) {
      try { history.replaceState(null, "", "#step=" + k); } catch (e) { location.hash = "step=" + k; }
    }
  }
  function fromHash() {
    var m = /step=(\\d+)/.exec(location.hash);
    return m ? parseInt(m[1], 10) : null;
  }
  part("first").onclick = function () { show(0); };
  part("prev").onclick = function () { show(cur - 1); };
  part("next").onclick = function () { show(cur + 1); };
  part("last").onclick = function () { show(n - 1); };
  slider.oninput = function () { show(slider.value); };
  function onKey(ev) {
    if (ev.target === slider || ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var go = {ArrowRight: cur + 1, ArrowDown: cur + 1, ArrowLeft: cur - 1, ArrowUp: cur - 1,
              Home: 0, End: n - 1}[ev.key];
    if (go === undefined) { return; }
    ev.preventDefault();
    show(go);
  }
  root.addEventListener("keydown", onKey);
  if (data.url) {  // a page of its own: the keys work before the widget has focus
    document.addEventListener("keydown", function (ev) {
      if (ev.target === document.body || ev.target === document.documentElement) { onKey(ev); }
    });
  }
  root.addEventListener("click", function (ev) {
    var g = ev.target.closest ? ev.target.closest("g.node") : null;
    if (!g) { return; }
    var key = g.getAttribute("data-node"), idx = data.keys.indexOf(key);
    if (!box.contains(g)) { return; }  // a box inside an expanded group: nothing to step to
    var lines = data.details[String(idx)], inside = data.inside[String(idx)];
    detail.textContent = lines ? g.querySelector("title").textContent.split("\\n")[0] + ":\\n" +
      lines.join("\\n") : "";
    if (inside) {
      var pane = document.createElement("div");
      pane.className = "cr-inside";
      pane.innerHTML = inside;  // chainrule's own SVG, escaped when it was drawn
      detail.insertBefore(pane, detail.firstChild);
    }
    if (stepOf[key] !== undefined) { show(stepOf[key]); }
    root.focus();
  });
  if (data.url) {
    window.addEventListener("hashchange", function () {
      var k = fromHash();
      if (k !== null) { show(k, true); }
    });
  }
  var start = data.url ? fromHash() : null;
  show(start === null ? 0 : start, true);
})();
"""


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], steps: bool = False) -> str:
    out = [
        f"<h3>{markup(title)}</h3>",
        '<div class="cr-table"><table>',
        "<tr>" + "".join(f"<th>{markup(h)}</th>" for h in header) + "</tr>",
    ]
    for row in rows:
        attr = f' data-step="{markup(row[0])}"' if steps and row and row[0].isdigit() else ""
        out.append(f"<tr{attr}>" + "".join(f"<td>{markup(c)}</td>" for c in row) + "</tr>")
    out.append("</table></div>")
    return "\n".join(out)


def new_prefix() -> str:
    """A fresh id prefix for one render: a counter and a random part (unique across kernels)."""
    return f"chainrule-{next(_COUNTER)}-{secrets.token_hex(4)}"


def to_html(data: WidgetData, fragment: bool = False, prefix: str | None = None) -> str:
    """The widget as a ``<div>`` (``fragment``) or a whole page that also follows ``#step=K``."""
    p = prefix or new_prefix()
    kept, fold = _folded_steps(data.steps)
    payload = json_for_script(
        {
            "keys": data.keys,
            "steps": kept,
            "fold": fold,
            "total": len(data.steps),
            "texts": {str(k): v for k, v in data.step_text.items()},
            "details": {str(k): v for k, v in data.details.items()},
            "inside": {str(k): v for k, v in data.interiors.items()},
            "url": not fragment,
        }
    )
    n_steps = max(len(data.steps) - 1, 0)
    tables = list(data.tables)
    parts = [
        f'<div class="chainrule-explain" id="{p}" tabindex="0" data-steps="{len(data.steps)}">',
        f"<style>{_CSS.replace('#ID', '#' + p)}</style>",
        f"<h2>chainrule.explain: {markup(data.title)}</h2>",
        "<p>Backpropagation is the chain rule applied node by node, from the output back to the inputs. "
        "Step through the backward pass with the buttons or the arrow keys: the current node is red, "
        "the inputs it sends contributions to are blue; grey boxes are constants. "
        "Click a box to jump to its step (a dashed group lists what it stands for).</p>",
        '<div class="cr-controls">',
        '<button type="button" data-role="first">first</button>',
        '<button type="button" data-role="prev">previous</button>',
        f'<input type="range" data-role="slider" aria-label="backward step" min="0" max="{n_steps}" '
        'value="0" step="1">',
        '<button type="button" data-role="next">next</button>',
        '<button type="button" data-role="last">last</button>',
        "</div>",
        '<div class="cr-info" data-role="info" aria-live="polite"></div>',
        f'<p class="cr-note">{markup(data.note)}</p>' if data.note else "",
        f'<div class="cr-graph" data-role="graph">\n{data.svg}</div>',
        '<div class="cr-detail" data-role="detail"></div>',
    ]
    # In a notebook the tables start folded (the picture and the stepper are the point).
    parts.append(
        f'<details class="cr-tables"{"" if fragment else " open"}><summary>tables: backward pass, '
        "chain rule written out, gradient, forward pass</summary>"
    )
    if tables:
        parts.append(_table(*tables[0], steps=True))
    if data.formulas:
        parts.append("<h3>The chain rule written out</h3>")
        parts.append(f'<pre class="cr-paths">{markup(data.formulas)}</pre>')
    parts.extend(_table(*t) for t in tables[1:])
    parts.append("</details>")
    parts.append(f'<script type="application/json" class="cr-data">{payload}</script>')
    parts.append(f"<script>{_JS.replace('__ROOT__', p)}</script>")
    parts.append("</div>")
    body = "\n".join(x for x in parts if x)
    if fragment:
        return body + "\n"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>chainrule.explain: {markup(data.title)}</title>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
