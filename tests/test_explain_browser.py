"""chainrule.explain's pictures and widget in a real browser (headless Chromium).

Skipped, saying why, when Chromium is not installed (Debian: ``apt-get install chromium``;
``.ci/run`` installs it). Each test writes a page, lets Chromium run it (the page's own
script plus a test script that acts and writes its findings into the DOM) and reads the
dumped DOM or a screenshot back.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain.display import group_interior
from chainrule.explain.graphviz import dot_available

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)
ENGINES = ["chainrule", pytest.param("dot", marks=pytest.mark.skipif(not dot_available(), reason="no dot"))]


def _flags(tmp_path: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]


def _run(tmp_path: Path, *args: str) -> str:
    res = subprocess.run(
        [CHROMIUM, *_flags(tmp_path), *args], capture_output=True, text=True, timeout=120, check=True
    )
    return res.stdout


def _results(tmp_path: Path, page: str, script: str, fragment: str = "", size: str = "1000,800") -> dict:
    """Load ``page`` with ``script`` appended; the script stores its findings in ``window.out``."""
    tail = (
        "<script>window.out = {};\n"
        + script
        + "\nsetTimeout(function () { var pre = document.createElement('pre'); pre.id = 'test-out';"
        " pre.textContent = JSON.stringify(window.out); document.body.appendChild(pre); }, 300);</script>"
    )
    html = page.replace("</body>", tail + "</body>") if "</body>" in page else page + tail
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    url = path.as_uri() + fragment
    dom = _run(tmp_path, "--virtual-time-budget=3000", f"--window-size={size}", "--dump-dom", url)
    m = re.search(r'<pre id="test-out">(.*?)</pre>', dom, re.S)
    assert m, "the test script did not run"
    return json.loads(unescape(m.group(1)))


def _page(*fragments: str) -> str:
    head = '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
    return head + "".join(fragments) + "</body></html>"


def f_scalar(x, y):
    return np.sin(x * y) + x


def mlp(params, x):
    h = x
    for k in range(len(params) // 2):
        h = np.tanh(h @ params[f"w{k}"] + params[f"b{k}"])
    return np.mean(h**2)


def chain(x):
    for k in range(120):
        x = np.sin(x) * 1.01 if k % 2 else np.cos(x) + 0.1
    return x


RNG = np.random.default_rng(0)
MLP = ({f"{p}{k}": RNG.standard_normal((4, 4) if p == "w" else 4) for k in range(14) for p in "wb"},)
MLP += (RNG.standard_normal((5, 4)),)

_GEOMETRY = """
var bad = [], n = 0;
var boxes = [].slice.call(document.querySelectorAll("g.node")).map(function (g) {
  var r = g.querySelector("rect");
  return {key: g.getAttribute("data-node"), x: +r.getAttribute("x"), y: +r.getAttribute("y"),
          w: +r.getAttribute("width"), h: +r.getAttribute("height")};
});
function inside(p, b) { var t = 0.75;
  return p.x > b.x + t && p.x < b.x + b.w - t && p.y > b.y + t && p.y < b.y + b.h - t; }
function onBorder(p, b) { var t = 1.0;
  var inX = p.x >= b.x - t && p.x <= b.x + b.w + t, inY = p.y >= b.y - t && p.y <= b.y + b.h + t;
  var side = Math.min(Math.abs(p.x - b.x), Math.abs(p.x - b.x - b.w)) <= t ||
             Math.min(Math.abs(p.y - b.y), Math.abs(p.y - b.y - b.h)) <= t;
  return inX && inY && side; }
var byKey = {}; boxes.forEach(function (b) { byKey[b.key] = b; });
[].slice.call(document.querySelectorAll("path.edge")).forEach(function (path) {
  var a = path.getAttribute("data-from"), b = path.getAttribute("data-to");
  var len = path.getTotalLength(), steps = Math.max(2, Math.ceil(len / 2));
  var first = path.getPointAtLength(0), last = path.getPointAtLength(len);
  if (!onBorder(first, byKey[a])) { bad.push(a + "->" + b + " does not start on its box"); }
  if (!onBorder(last, byKey[b])) { bad.push(a + "->" + b + " does not end on its box"); }
  for (var i = 0; i <= steps; i++) {
    var p = path.getPointAtLength(len * i / steps); n++;
    for (var k = 0; k < boxes.length; k++) {
      var box = boxes[k];
      if (box.key !== a && box.key !== b && inside(p, box)) {
        bad.push(a + "->" + b + " enters " + box.key + " at " + p.x.toFixed(1) + "," + p.y.toFixed(1));
        break;
      }
    }
  }
});
window.out.bad = bad; window.out.samples = n;
window.out.edges = document.querySelectorAll("path.edge").length;
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_no_edge_enters_a_box_in_chromium(tmp_path, engine):
    cases = [
        cr.explain(f_scalar, 1.0, 2.0, argnums=(0, 1), engine=engine),
        cr.explain(mlp, *MLP, engine=engine),
        cr.explain(chain, 0.3, cap=1000, engine=engine),
    ]
    for e in cases:
        out = _results(tmp_path, _page(e.to_svg()), _GEOMETRY)
        assert out["edges"] == len(e.display().edges) > 0
        assert out["samples"] > 10 * out["edges"]
        assert out["bad"] == []


def _pixels(path: Path):
    mpimg = pytest.importorskip("matplotlib.image")
    return mpimg.imread(str(path))[..., :3]


def test_screenshots_small_and_large(tmp_path):
    small = cr.explain(f_scalar, 1.0, 2.0, argnums=(0, 1))
    large = cr.explain(chain, 0.3, cap=1000)  # 240 ops drawn in full: a tall drawing
    for name, e in (("small", small), ("large", large)):
        page = tmp_path / f"{name}.html"
        e.to_html(str(page))
        shot = tmp_path / f"{name}.png"
        flags = ["--window-size=1000,900", "--virtual-time-budget=2000"]
        _run(tmp_path, f"--screenshot={shot}", *flags, page.as_uri())
        rgb = _pixels(shot)
        assert (rgb < 0.9).any(axis=-1).mean() > 0.01  # something drawn, not a blank page
        # The current node (the output, at step 0) is highlighted in red and on screen, even
        # at the bottom of a drawing many times taller than the window: it was scrolled into view.
        red = (np.abs(rgb[..., 0] - 220 / 255) < 0.08) & (rgb[..., 1] < 0.25) & (rgb[..., 2] < 0.25)
        assert red.sum() > 50, f"no highlighted node visible in the {name} screenshot"


def test_current_node_scrolls_into_view(tmp_path):
    e = cr.explain(chain, 0.3, cap=1000)
    script = """
    var root = document.querySelector(".chainrule-explain"), box = root.querySelector(".cr-graph");
    function visible() {
      var g = root.querySelector("g.node.current");
      var b = box.getBoundingClientRect(), r = g.getBoundingClientRect();
      return r.top >= b.top - 1 && r.bottom <= b.bottom + 1 && r.left >= b.left - 1 && r.right <= b.right + 1;
    }
    window.out.first = [root.getAttribute("data-step"), visible(), box.scrollHeight > 3 * box.clientHeight];
    root.dispatchEvent(new KeyboardEvent("keydown", {key: "End", bubbles: true}));
    window.out.last = [root.getAttribute("data-step"), visible()];
    """
    out = _results(tmp_path, e.to_html(), script)
    assert out["first"] == ["0", True, True]
    assert out["last"] == [str(len(e.steps) - 1), True]


_KEYS = """
function key(root, k) { root.dispatchEvent(new KeyboardEvent("keydown", {key: k, bubbles: true})); }
function state(root) { return [root.getAttribute("data-step"), root.getAttribute("data-current"),
  root.querySelectorAll("g.node.current").length, location.hash]; }
"""


def test_stepping_by_key_and_url(tmp_path):
    e = cr.explain(f_scalar, 1.0, 2.0, argnums=(0, 1))
    order = [str(s.node) for s in e.steps]  # the box of each step (all boxes are single nodes)
    script = (
        _KEYS
        + """
    var root = document.querySelector(".chainrule-explain");
    window.out.start = state(root);
    key(root, "ArrowRight"); window.out.right = state(root);
    key(root, "ArrowLeft"); key(root, "ArrowLeft"); window.out.left = state(root);
    key(root, "End"); window.out.end = state(root);
    key(root, "ArrowDown"); window.out.past_end = state(root);
    key(root, "Home"); window.out.home = state(root);
    root.querySelector('[data-role="next"]').click(); window.out.button = state(root);
    key(document.body, "ArrowRight"); window.out.page_key = state(root);  // a page: keys anywhere
    key(document.body, "ArrowLeft");
    location.hash = "#step=3";
    setTimeout(function () { window.out.hash = state(root); }, 100);
    """
    )
    out = _results(tmp_path, e.to_html(), script, fragment="#step=2")
    assert out["start"] == ["2", order[2], 1, "#step=2"]  # the URL selects the step
    assert out["right"] == ["3", order[3], 1, "#step=3"]  # ... and follows it
    assert out["left"] == ["1", order[1], 1, "#step=1"]
    assert out["end"] == ["4", order[4], 1, "#step=4"]
    assert out["past_end"] == out["end"]
    assert out["home"] == ["0", order[0], 1, "#step=0"]
    assert out["button"] == ["1", order[1], 1, "#step=1"]
    assert out["page_key"] == ["2", order[2], 1, "#step=2"]
    assert out["hash"] == ["3", order[3], 1, "#step=3"]  # editing the URL moves the widget


def test_two_widgets_on_one_page(tmp_path):
    e1 = cr.explain(f_scalar, 1.0, 2.0, argnums=(0, 1))
    e2 = cr.explain(mlp, *MLP)
    host = '<table class="host"><tr><td id="host-cell">host</td></tr></table>'
    script = (
        _KEYS
        + """
    var roots = document.querySelectorAll(".chainrule-explain");
    window.out.ready = [roots[0].getAttribute("data-ready"), roots[1].getAttribute("data-ready")];
    window.out.start = [state(roots[0]), state(roots[1])];
    key(roots[1], "ArrowRight"); key(roots[1], "ArrowRight");
    key(document.body, "ArrowRight");  // in a notebook, keys outside the widgets do nothing
    roots[0].querySelector('[data-role="last"]').click();
    window.out.after = [state(roots[0]), state(roots[1])];
    var cell = document.getElementById("host-cell"), cs = getComputedStyle(cell);
    window.out.host = [cs.borderTopStyle, cs.fontFamily.indexOf("monospace") >= 0,
                       getComputedStyle(document.body).marginTop];
    window.out.ids = roots[0].id !== roots[1].id;
    """
    )
    out = _results(tmp_path, _page(host, e1._repr_html_(), e2._repr_html_()), script)
    assert out["ready"] == ["1", "1"]
    assert out["ids"] is True
    s1, s2 = out["start"]
    assert s1[:3] == ["0", str(e1.graph.output.id), 1]
    assert s2[:3] == ["0", str(e2.graph.output.id), 1]
    a1, a2 = out["after"]
    assert a1[0] == str(len(e1.steps) - 1) and a1[2] == 1  # the first widget went to its last step
    assert a2[0] == "2" and a2[2] == 1  # the second took the two key presses, alone
    assert a1[3] == "" and a2[3] == ""  # notebook widgets leave the URL alone
    assert out["host"] == ["none", False, "8px"]  # the host page's styles are untouched


def test_clicking_a_group_lists_its_members(tmp_path):
    e = cr.explain(mlp, *MLP)
    group = next(b for b in e.display().nodes if b.kind == "group")
    script = f"""
    var root = document.querySelector(".chainrule-explain");
    var g = root.querySelector('g.node[data-node="{group.key}"]');
    g.querySelector("rect").dispatchEvent(new MouseEvent("click", {{bubbles: true}}));
    window.out.detail = root.querySelector('[data-role="detail"]').textContent;
    window.out.current = root.getAttribute("data-current");
    window.out.inside = [].slice.call(root.querySelectorAll(".cr-inside g.node")).map(function (n) {{
      return n.getAttribute("data-node"); }});
    window.out.main = root.querySelectorAll(".cr-graph g.node").length;
    """
    out = _results(tmp_path, e.to_html(), script)
    assert out["current"] == group.key
    assert group.title in out["detail"]
    assert all(line in out["detail"] for line in group.detail[:5])
    # The group expands into a drawing of what it stands for: its op nodes (the first 12)
    # and, as grey leaves, what they read from outside.
    inner = group_interior(e.graph, group)
    assert sorted(out["inside"]) == sorted(b.key for b in inner.nodes)
    ops = [k for k in out["inside"] if not k.startswith("o")]
    assert len(ops) == min(12, len([i for i in group.ids if not e.nodes[i].is_leaf]))
    assert out["main"] == len(e.display().nodes)  # the main picture is unchanged
