"""The SVG contract of chainrule.explain, checked on real explanations with both layout engines.

Contract (issue 19): each drawn node is ``<g class="node" data-node="ID">`` holding one
absolute ``<rect>``; ID is the recorded node's id for one-node boxes; each edge is
``<path class="edge" data-from data-to d>`` with absolute M/L/C/Q commands starting and
ending on its own boxes and entering no other; no ``transform`` except on the root, no
nested ``<svg>`` or ``<use>``; boxes inside the drawing; every operand of every recorded
operation appears as a node; no edge joins nodes the recording does not connect;
``url(#...)`` resolves inside the fragment; ``to_html``/``_repr_html_`` embed ``to_svg``;
CSS scoped to the widget; user text escaped everywhere.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html import unescape

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain.display import draws_operand
from chainrule.explain.graphviz import dot_available
from explain_geometry import NS, boxes_overlap, edge_violations, parse_path, parse_svg

ENGINES = ["chainrule", pytest.param("dot", marks=pytest.mark.skipif(not dot_available(), reason="no dot"))]
RNG = np.random.default_rng(0)


def f_scalar(x, y):
    return np.sin(x * y) + x


def readme_loss(params, x, y):
    h = np.tanh(x @ params["w1"] + params["b1"])
    return np.mean((h @ params["w2"] - y) ** 2)


def mlp(params, x):
    h = x
    for k in range(len(params) // 2):
        h = np.tanh(h @ params[f"w{k}"] + params[f"b{k}"])
    return np.mean(h**2)


def chain300(x):
    for k in range(300):
        x = np.sin(x) * 1.01 if k % 2 else np.cos(x) + 0.1
    return x


def skips(x):
    a = np.sin(x)
    b = np.cos(a) * x  # x skips over sin
    c = np.tanh(b) + a  # a skips over cos and multiply
    return np.exp(c) * b + x


def fan_out(x):
    return sum(np.sin(x * float(k)) for k in range(1, 9))


MLP14 = {f"{p}{k}": RNG.standard_normal((4, 4) if p == "w" else 4) for k in range(14) for p in "wb"}
README = {"w1": RNG.standard_normal((3, 4)), "b1": np.zeros(4), "w2": RNG.standard_normal((4, 1))}
CASES = {
    "scalar": (f_scalar, (1.0, 2.0), (0, 1), 60),
    "readme": (readme_loss, (README, RNG.standard_normal((8, 3)), RNG.standard_normal((8, 1))), 0, 60),
    "mlp14": (mlp, (MLP14, RNG.standard_normal((5, 4))), 0, 60),
    "chain300": (chain300, (0.3,), 0, 60),
    "chain300_full": (chain300, (0.3,), 0, 10_000),
    "skips": (skips, (0.4,), 0, 60),
    "fan_out": (fan_out, (0.7,), 0, 60),
}


def _explain(name, engine):
    f, args, argnums, cap = CASES[name]
    return cr.explain(f, *args, argnums=argnums, cap=cap, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", [k for k in CASES if k != "chain300_full"])
def test_svg_contract(name, engine):
    e = _explain(name, engine)
    svg = e.to_svg()
    d = parse_svg(svg)
    display = e.display()
    # Boxes: one per display node, ids as promised, inside the drawing, not overlapping.
    assert set(d.boxes) == {b.key for b in display.nodes}
    for b in display.nodes:
        if b.kind in ("input", "op", "output"):
            assert b.key == str(b.ids[0]) and len(b.ids) == 1
            assert e.nodes[b.ids[0]].id == int(b.key)
    for x, y, w, h in d.boxes.values():
        assert x >= 0 and y >= 0 and x + w <= d.width and y + h <= d.height
    assert boxes_overlap(d) == []
    # Edges: absolute commands, from box to box, entering no other box.
    for _, _, path in d.edges:
        parse_path(path)
    assert edge_violations(d) == []
    # Only the root may carry a transform; nothing nested, nothing referenced from outside.
    for el in d.root.iter():
        if el is not d.root:
            assert "transform" not in el.attrib
        assert el.tag not in (f"{NS}svg", f"{NS}use") or el is d.root
    refs = re.findall(r"url\(#([^)]+)\)", svg)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    assert set(refs) <= ids
    _check_operands_and_edges(e, display, d)


def _check_operands_and_edges(e, display, d):
    members = {b.key: set(b.ids) for b in display.nodes}
    where = display.where
    for n in e.nodes:
        if n.is_leaf or not n.inputs:
            continue
        # Every traced operand is drawn (possibly inside a group standing for it) ...
        for _, i in n.inputs:
            assert where[i.id] in d.boxes
        # ... and so is every constant operand of a node drawn on its own.
        if where[n.id] == str(n.id):
            for k in n.operands:
                if draws_operand(n, k):
                    assert f"c{n.id}_{k}" in d.boxes
                    assert (f"c{n.id}_{k}", str(n.id)) in {(a, b) for a, b, _ in d.edges}
    # No edge joins boxes the recording does not connect.
    for a, b, _ in d.edges:
        if d.kinds[a] == "const":
            assert re.fullmatch(r"c(\d+)_\d+", a).group(1) == b
            continue
        connected = any(i.id in members[a] for m in members[b] for _, i in e.nodes[m].inputs)
        assert connected, f"edge {a}->{b} joins nodes that are not connected"


def test_operands_not_differentiated_are_grey_leaves():
    e = _explain("readme", "chainrule")
    d = parse_svg(e.to_svg())
    consts = [k for k, kind in d.kinds.items() if kind == "const"]
    # The data x (read by the first matmul) and the targets y (read by subtract).
    matmul = next(n for n in e.nodes if n.op == "matmul")
    subtract = next(n for n in e.nodes if n.op == "subtract")
    assert sorted(consts) == sorted([f"c{matmul.id}_0", f"c{subtract.id}_1"])
    fills = {g.get("data-node"): g.find(f"{NS}rect").get("fill") for g in d.root.iter(f"{NS}g")}
    assert {fills[k] for k in consts} == {"#e5e7eb"}  # grey
    titles = {b.key: b.title for b in e.display().nodes}
    assert titles[f"c{matmul.id}_0"] == "x: float64[8, 3]"  # named after the argument
    assert titles[f"c{subtract.id}_1"] == "y: float64[8, 1]"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["mlp14", "chain300"])
def test_large_graphs_stay_small(name, engine):
    e = _explain(name, engine)
    d = parse_svg(e.to_svg())
    assert d.width < 4000 and d.height < 4000
    groups = [b for b in e.display().nodes if b.kind == "group"]
    assert groups and all(" x [" in b.title for b in groups)  # labelled: "11 x [add > tanh > matmul]"
    assert edge_violations(d) == []


def test_mlp_parameters_beside_their_consumers():
    e = _explain("mlp14", "chainrule")
    d = parse_svg(e.to_svg())
    p = e.placement()
    for n in e.nodes:
        if n.op == "matmul" and e.display().where[n.id] == str(n.id):
            (w,) = [i for _, i in n.inputs if i.is_leaf]
            assert p.layer[str(w.id)] == p.layer[str(n.id)] - 1
            assert abs(d.boxes[str(w.id)][1] - d.boxes[str(n.id)][1]) < 120


def test_full_chain_without_summary_is_still_correct():
    e = _explain("chain300_full", "chainrule")
    d = parse_svg(e.to_svg())
    assert len(d.boxes) == len(e.nodes) + 300  # every op has one constant operand
    # The chain runs straight down with its constants beside it: it does not drift sideways.
    assert d.width < 400
    assert edge_violations(d, step=4.0) == []


def test_html_and_notebook_embed_the_same_svg():
    e = _explain("readme", "auto")
    svg = e.to_svg()
    assert svg.strip() in e.to_html()
    assert svg.strip() in e._repr_html_()


def test_css_is_scoped_to_the_widget():
    e = _explain("scalar", "auto")
    for html in (e.to_html(), e._repr_html_()):
        root_id = re.search(r'<div class="chainrule-explain" id="([^"]+)"', html).group(1)
        css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
        heads = [rule.split("{")[0] for rule in css.split("}") if "{" in rule]
        selectors = [s.strip() for head in heads for s in head.split(",")]
        assert selectors
        for s in selectors:
            assert s.startswith(f"#{root_id}"), s
        assert "body" not in css and "html" not in css


def test_two_renders_share_no_id():
    e1, e2 = _explain("scalar", "auto"), _explain("skips", "auto")
    a, b = e1._repr_html_(), e2._repr_html_()
    ids_a, ids_b = set(re.findall(r'\bid="([^"]+)"', a)), set(re.findall(r'\bid="([^"]+)"', b))
    assert ids_a and not ids_a & ids_b


EVIL = '</script><script>alert("x")</script>\x1b[31m<b>&amp;\n"\'{}[bold]'


def evil_function(params, x):
    return np.sum(np.tanh(x @ params[EVIL]))


def test_user_text_is_escaped_everywhere(tmp_path):
    evil_function.__qualname__ = EVIL
    e = cr.explain(evil_function, {EVIL: RNG.standard_normal((2, 2))}, RNG.standard_normal((3, 2)))
    svg = e.to_svg()
    ET.fromstring(svg)  # well-formed XML, so the text was escaped
    assert "<b>" not in svg and "<script>" not in svg
    for html in (e.to_html(), e._repr_html_()):
        assert "<script>alert" not in html and "<b>" not in html and "\x1b" not in html
        # The JSON payload still round-trips the text exactly.
        payload = re.search(r'class="cr-data">(.*?)</script>', html, re.S).group(1)
        data = json.loads(payload)
        label = e.graph.leaves[0].label
        assert "<script>alert" in label
        assert any(label in t for t in data["texts"].values())
        assert EVIL.split("\n")[0] not in payload
    dot = e.to_dot()
    assert "\x1b" not in dot
    if shutil.which("dot"):
        res = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        assert len(re.findall(r'<g id="node\d+" class="node">', res.stdout)) == len(e.display().nodes)
    text = e.table(rich=False) + e.table(rich=True)
    assert "\x1b" not in text and "\\x1b" in text
    assert "[bold]" in text  # shown literally, never taken as rich markup
    assert unescape(svg).count("alert") >= 1  # the text is shown, not dropped


@pytest.mark.parametrize("name", ["mlp14", "chain300"])
def test_group_interior_drawing(name):
    from chainrule.explain.display import group_interior
    from chainrule.explain.render_svg import place, to_svg

    e = _explain(name, "chainrule")
    group = next(b for b in e.display().nodes if b.kind == "group")
    inner = group_interior(e.graph, group, limit=12)
    d = parse_svg(to_svg(inner, place(inner, "chainrule")))
    ops = sorted(int(k) for k in d.boxes if not k.startswith("o"))
    assert ops == sorted(i for i in group.ids if not e.nodes[i].is_leaf)[:12]
    # Everything those nodes read is drawn: inside as a box, outside as a grey leaf.
    for i in ops:
        for _, src in e.nodes[i].inputs:
            key = str(src.id) if src.id in ops else f"o{src.id}"
            assert (key, str(i)) in {(a, b) for a, b, _ in d.edges}
    assert edge_violations(d) == []


def test_layout_engine_choice_and_fallback(monkeypatch):
    import chainrule.explain.graphviz as gv

    with pytest.raises(ValueError, match="engine must be one of"):
        cr.explain(f_scalar, 1.0, 2.0, engine="neato")
    monkeypatch.setattr(gv.shutil, "which", lambda name: None)  # as if Graphviz were missing
    e = cr.explain(f_scalar, 1.0, 2.0)
    assert 'data-engine="chainrule"' in e.to_svg()
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        cr.explain(f_scalar, 1.0, 2.0, engine="dot").to_svg()


@pytest.mark.skipif(not dot_available(), reason="no dot")
def test_auto_engine_uses_dot_when_installed():
    assert 'data-engine="graphviz"' in cr.explain(f_scalar, 1.0, 2.0).to_svg()
