"""chainrule.explain: the recorded backward sweep equals grad, the path sums equal the
derivative, and the views (text, DOT, SVG, HTML) show the graph."""

from __future__ import annotations

import math
import re
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main as cli_main
from chainrule.cli_inputs import parse_shape
from chainrule.explain import explain
from chainrule.explain.commands import explain_command


def f_scalar(x, y):
    return np.sin(x * y) + x


def f_reuse(x):
    # x feeds several nodes; a squared intermediate feeds two more.
    a = x * x
    return np.exp(-a) + a * np.cos(x) + a


def f_array(w, x):
    return np.sum(np.tanh(x @ w) ** 2) + 0.1 * np.sum(w * w)


def f_tree(params, x):
    h = np.tanh(x @ params["w"] + params["b"])
    return np.mean(h**2) + params["s"] * np.sum(h)


RNG = np.random.default_rng(0)
CASES = [
    (f_scalar, (1.0, 2.0), (0, 1)),
    (f_scalar, (0.3, -1.7), 0),
    (f_reuse, (0.7,), 0),
    (f_array, (RNG.standard_normal((3, 2)), RNG.standard_normal((4, 3))), (0, 1)),
    (
        f_tree,
        (
            {"w": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2), "s": 0.5},
            RNG.standard_normal((5, 3)),
        ),
        0,
    ),
]


def _assert_tree_close(a, b):
    la, da = cr.tree_flatten(a)
    lb, db = cr.tree_flatten(b)
    assert da == db
    for u, v in zip(la, lb):
        np.testing.assert_allclose(u, v, rtol=1e-13, atol=1e-15)
        assert np.shape(u) == np.shape(v)


@pytest.mark.parametrize(("f", "args", "argnums"), CASES)
def test_adjoints_equal_grad(f, args, argnums):
    e = explain(f, *args, argnums=argnums)
    expected = cr.grad(f, argnums=argnums)(*args)
    _assert_tree_close(e.gradient, expected)
    # The leaf adjoints in the sweep log are the same numbers.
    for leaf in e.graph.leaves:
        final = [s for s in e.steps if s.node == leaf.id]
        if final:
            np.testing.assert_allclose(np.reshape(final[0].adjoint, leaf.shape), e.leaf_adjoint(leaf.label))
    assert e.value == pytest.approx(f(*args))


@pytest.mark.parametrize(("f", "args", "argnums"), CASES)
def test_each_step_adjoint_is_the_sum_of_what_it_received(f, args, argnums):
    e = explain(f, *args, argnums=argnums)
    for step in e.steps[1:]:
        total = sum(np.broadcast_to(r.value, np.shape(step.adjoint)) for r in step.received)
        np.testing.assert_allclose(total, step.adjoint, rtol=1e-14)
    # Steps run in reverse recording order, output first.
    order = [s.node for s in e.steps]
    assert order == sorted(order, reverse=True)
    assert order[0] == e.graph.output.id


def test_accumulation_where_a_node_feeds_several_others():
    e = explain(f_reuse, 0.7)
    x_step = next(s for s in e.steps if s.node == e.graph.leaves[0].id)
    # x is read by x*x (twice: both arguments) and by cos(x) -> three contributions.
    assert len(x_step.received) == 3
    a_node = next(n for n in e.nodes if n.op == "multiply" and all(i.is_leaf for _, i in n.inputs))
    a_step = next(s for s in e.steps if s.node == a_node.id)
    assert len(a_step.received) == 3  # negative (for exp(-a)), a * cos(x), + a
    assert "accumulated: sum of 3 contributions" in e.table(rich=False)


def test_sin_xy_plus_x_path_sum_by_hand():
    x, y = 1.0, 2.0
    e = explain(f_scalar, x, y, argnums=(0, 1))
    sums = {ps.label: ps for ps in e.path_sums()}
    # d/dx: two paths, x -> add (1) and x -> x*y -> sin -> add (y * cos(xy) * 1).
    px = sums["x"]
    assert px.count == 2
    assert sorted(p.product for p in px.paths) == pytest.approx(sorted([1.0, y * math.cos(x * y)]))
    assert px.total == pytest.approx(1.0 + y * math.cos(x * y), rel=1e-15)
    # d/dy: one path with local partials x, cos(xy), 1.
    py = sums["y"]
    assert py.count == 1
    assert [float(edge.local) for edge in py.paths[0].edges] == pytest.approx([x, math.cos(x * y), 1.0])
    assert py.total == pytest.approx(x * math.cos(x * y))
    text = e.table(rich=False)
    assert "d out / d x = sum over 2 path(s)" in text


@pytest.mark.parametrize(
    ("f", "args"),
    [
        (f_scalar, (0.4, 1.3)),
        (f_reuse, (0.7,)),
        (lambda x, y: np.exp(x * y) / (1.0 + x**2) - np.tanh(y) * x, (0.5, -0.25)),
        (lambda x: np.sqrt(x) * np.log(x) + x**3 / x, (2.5,)),
    ],
)
def test_path_sum_equals_derivative(f, args):
    argnums = tuple(range(len(args)))
    e = explain(f, *args, argnums=argnums)
    g = cr.grad(f, argnums=argnums)(*args)
    sums = e.path_sums()
    assert len(sums) == len(args)
    for ps, gi in zip(sums, g):
        assert ps.total == pytest.approx(float(gi), rel=1e-12, abs=1e-14)
        assert len(ps.paths) == ps.count


def test_path_count_capped():
    def many(x):
        for _ in range(12):
            x = x * x  # both arguments are x: 2 paths per multiply -> 4096 paths
        return x

    ps = explain(many, 1.01, cap=10).path_sums(max_paths=100)[0]
    assert ps.count == 2**12
    assert ps.paths == [] and ps.total is None


def test_no_path_sums_for_arrays():
    e = explain(f_array, *CASES[3][1], argnums=(0, 1))
    assert e.path_sums() == []


def _dot_nodes(dot):
    return re.findall(r"^\s*n(\w+) \[label=", dot, flags=re.M)


def _dot_edges(dot):
    return re.findall(r"^\s*n\w+ -> n\w+", dot, flags=re.M)


def test_dot_and_svg_node_counts():
    e = explain(f_scalar, 1.0, 2.0, argnums=(0, 1))
    # x, y, multiply, sin, add
    dot = e.to_dot()
    assert len(_dot_nodes(dot)) == 5
    assert len(_dot_edges(dot)) == 4 + 1  # x->mul, y->mul, mul->sin, sin->add, x->add
    svg = e.to_svg()
    assert svg.count('<g class="node') == 5
    assert svg.count('class="edge"') == 5
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for op in ("multiply", "sin", "add"):
        assert op in svg and op in dot


def test_svg_is_well_formed_xml():
    import xml.etree.ElementTree as ET

    e = explain(f_tree, *CASES[4][1], engine="chainrule")
    root = ET.fromstring(e.to_svg())
    ns = "{http://www.w3.org/2000/svg}"
    groups = [g for g in root.iter(f"{ns}g") if g.get("class") == "node"]
    recorded = [n for n in e.nodes if n.is_leaf or n.inputs]
    # One box per recorded node, plus the data x (not differentiated) as a grey constant.
    assert len(groups) == len(recorded) + 1
    kinds = [g.get("data-kind") for g in groups]
    assert kinds.count("const") == 1
    # Layers: every arrow points down (inputs above their consumers).
    boxes = {g.get("data-node"): float(g.find(f"{ns}rect").get("y")) for g in groups}
    for p in root.iter(f"{ns}path"):
        if p.get("class") == "edge":
            assert boxes[p.get("data-from")] < boxes[p.get("data-to")]


def mlp(params, x):
    h = x
    for k in range(len(params) // 2):
        h = np.tanh(h @ params[f"w{k}"] + params[f"b{k}"])
    return np.mean(h**2)


def scalar_loop(x):
    total = x
    for k in range(40):
        total = total + np.sin(x * k) * 0.1
    return total


def test_large_graph_summarized():
    e = explain(scalar_loop, 0.3, cap=60)
    n = len(e.nodes)
    assert n > 60
    d = e.display()
    real = [b for b in d.nodes if b.kind != "const"]
    assert len(real) <= 60
    # The note counts what it says: recorded nodes and the boxes drawn for them.
    assert f"{n} recorded nodes drawn as {len(real)} boxes" in d.note
    groups = [b for b in d.nodes if b.kind == "group"]
    assert len(groups) == 1 and "x [" in groups[0].title  # the loop body, repeated
    dot = e.to_dot()
    svg = e.to_svg()
    assert len(_dot_nodes(dot)) == len(d.nodes)
    assert svg.count('<g class="node"') == len(d.nodes)
    # Every recorded node is accounted for by exactly one box.
    covered = sorted(i for b in d.nodes for i in b.ids)
    assert covered == sorted(x.id for x in e.nodes if x.is_leaf or x.inputs)
    text = e.table(rich=False)
    assert "rows omitted" in text and "Summary:" in text
    assert e.gradient == pytest.approx(float(cr.grad(scalar_loop)(0.3)))


def test_large_graph_without_repeats_is_grouped_then_folded():
    rng = np.random.default_rng(3)
    ops = [np.sin, np.cos, np.tanh, np.exp, np.square, np.arctan]

    def irregular(x):
        # No block repeats: each step applies a random op to a random earlier value.
        vals = [x]
        for _ in range(150):
            f = ops[int(rng.integers(len(ops)))]
            a = vals[int(rng.integers(len(vals)))]
            vals.append(f(a) * 0.5 if rng.random() < 0.5 else f(a) + vals[-1])
        return vals[-1]

    e = explain(irregular, 0.2, cap=20)
    d = e.display()
    assert len([b for b in d.nodes if b.kind != "const"]) <= 20
    assert any(b.kind == "collapsed" for b in d.nodes)
    assert "folded into group" in d.note
    covered = sorted(i for b in d.nodes for i in b.ids)
    assert covered == sorted(x.id for x in e.nodes if x.is_leaf or x.inputs)
    assert e.to_svg().count('<g class="node"') == len(d.nodes)


def test_mlp_explained():
    rng = np.random.default_rng(1)
    params = {"w0": rng.standard_normal((4, 8)), "b0": rng.standard_normal(8)}
    params |= {"w1": rng.standard_normal((8, 3)), "b1": rng.standard_normal(3)}
    x = rng.standard_normal((5, 4))
    e = explain(mlp, params, x)
    _assert_tree_close(e.gradient, cr.grad(mlp)(params, x))
    labels = {n.label for n in e.graph.leaves}
    assert labels == {"params['w0']", "params['b0']", "params['w1']", "params['b1']"}
    assert "matmul" in e.to_dot()


def test_html_self_contained_with_controls(tmp_path):
    import json

    e = explain(f_scalar, 1.0, 2.0, argnums=(0, 1))
    path = tmp_path / "out.html"
    page = e.to_html(str(path))
    assert path.read_text(encoding="utf-8") == page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "<link" not in page and "src=" not in page  # no external resources
    for role in ("first", "prev", "next", "last", "slider", "info", "graph", "detail"):
        assert page.count(f'data-role="{role}"') == 1
    assert page.count('<g class="node"') == 5
    assert page.count("<tr data-step=") == len(e.steps)
    assert 'data-role="slider" aria-label="backward step" min="0" max="4"' in page
    assert "The chain rule written out" in page
    assert "d sin(v2)/d v2 = cos(v2) = cos(2) = -0.416147" in page
    # The steps' data is valid JSON naming the highlighted boxes.
    data = json.loads(re.search(r'class="cr-data">(.*?)</script>', page, re.S).group(1))
    keys = data["keys"]
    assert [keys[k] for k, _ in data["steps"]] == ["4", "3", "2", "1", "0"]
    assert sorted(keys[t] for t in data["steps"][0][1]) == ["0", "3"]
    assert data["url"] is True


def test_html_escapes_user_text():
    def evil(x):
        return np.sin(x)

    evil.__qualname__ = "<script>alert(1)</script>"
    page = explain(evil, 1.0).to_html()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_repr_html_is_a_fragment_with_a_fresh_prefix():
    e = explain(f_scalar, 1.0, 2.0)
    frag, again = e._repr_html_(), e._repr_html_()
    assert frag.lstrip().startswith("<div") and "<html" not in frag
    assert 'data-role="slider"' in frag
    ids = re.findall(r' id="([^"]+)"', frag)
    assert len(ids) == 1  # only the root has an id ...
    assert ids != re.findall(r' id="([^"]+)"', again)  # ... and each render its own
    assert '"url": false' in frag  # a notebook cell never rewrites the URL


def test_table_rich_and_plain():
    e = explain(f_scalar, 1.0, 2.0, argnums=(0, 1))
    plain = e.table(rich=False)
    for word in ("Forward pass", "Backward pass", "multiply", "sin", "0.167706", "-0.416147"):
        assert word in plain
    pytest.importorskip("rich")
    fancy = e.table()
    assert "0.167706" in fancy and "Backward pass" in fancy


def test_float32_gradient_dtype():
    x = np.array([0.5, 1.5], dtype=np.float32)
    e = explain(lambda x: np.sum(np.sin(x) * x), x)
    assert e.gradient.dtype == np.float32
    np.testing.assert_allclose(e.gradient, cr.grad(lambda x: np.sum(np.sin(x) * x))(x))


def test_constant_output():
    e = explain(lambda x: np.float64(3.0), 1.0)
    assert e.steps == []
    assert e.gradient == 0.0
    assert "<svg" in e.to_html()


def test_explain_command(tmp_path, capsys):
    out = tmp_path / "e.html"
    code = explain_command(["sin(x*y) + x", "--at", "x=1.0", "y=2.0", "--plain", "--html", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "0.167706" in text and "-0.416147" in text
    assert out.exists() and 'data-role="slider"' in out.read_text()


def test_explain_command_bad_at(capsys):
    assert explain_command(["x", "--at", "x=abc"]) == 2
    assert explain_command(["x", "--at", "x"]) == 2
    assert explain_command(["x", "--at", "x=inf"]) == 2
    assert explain_command(["--help"]) == 0
    capsys.readouterr()


def test_parse_shape():
    assert parse_shape("3,4") == (3, 4)
    assert parse_shape("(3, 4)") == (3, 4)
    assert parse_shape("3x4") == (3, 4)
    assert parse_shape("") == ()
    assert parse_shape("()") == ()


USER_MODULE = textwrap.dedent(
    """
    import numpy as np
    import chainrule as cr

    def loss(w, x):
        return np.sum(np.tanh(x @ w) ** 2)

    bad_cube = cr.Primitive("bad_cube", lambda x: x ** 3)
    cr.defvjp(bad_cube, lambda ans, x: lambda g: g * 2.0 * x ** 2)  # wrong: should be 3 x^2
    cr.defjvp(bad_cube, lambda t, ans, x: t * 2.0 * x ** 2)

    def wrong(x):
        return np.sum(bad_cube(x))
    """
)


def check_command(argv):
    # `chainrule check` moved to chainrule.cli, with NAME=shape:3,4 for random inputs.
    argv = [a.replace("=", "=shape:", 1) if "=" in a and not a.startswith("-") else a for a in argv]
    try:
        return cli_main(["check", *argv])
    except SystemExit as exc:
        return int(exc.code or 0)


def test_check_command_pass_and_fail(tmp_path, capsys):
    mod = tmp_path / "usermod_explain_check.py"
    mod.write_text(USER_MODULE)
    assert check_command([f"{mod}:loss", "--arg", "w=3,2", "--arg", "x=5,3"]) == 0
    out = capsys.readouterr().out
    assert "pass" in out.lower()
    assert check_command([f"{mod}:wrong", "--arg", "x=4"]) == 1
    out = capsys.readouterr().out
    assert "fail" in out.lower()


def test_check_command_module_name(tmp_path, capsys, monkeypatch):
    (tmp_path / "usermod_explain_named.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    # The --arg order follows the function's parameters when the names match.
    assert check_command(["usermod_explain_named:loss", "--arg", "x=5,3", "--arg", "w=3,2"]) == 0
    assert check_command(["usermod_explain_named:nothing", "--arg", "x=2"]) == 2
    assert check_command(["no_such_module_xyz:f"]) == 2
    assert check_command(["not-a-target"]) == 2
    capsys.readouterr()
    sys.modules.pop("usermod_explain_named", None)
