"""chainrule.explain in the terminal, its formula templates, its package shape and its size limits."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import formulas
from chainrule.explain.commands import explain_command

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def f_scalar(x, y):
    return np.sin(x * y) + x


# -- terminal -----------------------------------------------------------------------


def test_formula_and_number_for_each_local_partial():
    text = cr.explain(f_scalar, 1.0, 2.0, argnums=(0, 1)).table(rich=False)
    assert "d sin(v2)/d v2 = cos(v2) = cos(2) = -0.416147" in text
    assert "d (x * y)/d x = y = 2" in text
    assert "d (x * y)/d y = x = 1" in text
    assert "d (v3 + x)/d x = 1" in text


def test_primitive_without_template_shows_the_number_only():
    e = cr.explain(lambda x: np.sinc(x), 0.3)
    (edge,) = e.steps[0].sent
    assert formulas.template(e.nodes[1].primitive, 0) is None
    assert e.partial_text(edge) == f"d v1/d x = {float(edge.local):.6g}"


def test_array_operations_show_the_contribution_rule():
    w, x = np.ones((3, 2)), np.ones((4, 3))
    e = cr.explain(lambda w, x: np.sum(np.tanh(x @ w)), w, x)
    text = e.table(rich=False)
    assert "contribution to w = x^T @ g" in text  # x is not differentiated: named all the same
    assert "contribution to v2 = g broadcast to the shape of v2" in text  # v2 = tanh(x @ w)


@pytest.mark.parametrize("width", [80, 100])
def test_rich_console_width_and_colour(width):
    pytest.importorskip("rich")
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=True, color_system="standard")
    cr.explain(f_scalar, 1.0, 2.0, argnums=(0, 1)).print(console)
    out = buf.getvalue()
    assert ANSI.search(out)  # in colour on a terminal
    lines = ANSI.sub("", out).splitlines()
    assert max(len(x) for x in lines) <= width
    assert any("cos(v2) = cos(2) = -0.416147" in x for x in lines)


def test_command_uses_the_terminal_width(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert explain_command(["sin(x*y) + x", "--at", "x=1", "y=2"]) == 0
    out = capsys.readouterr().out
    assert max(len(x) for x in out.splitlines()) <= 80
    assert "\x1b[" not in out  # not a terminal: no colour codes
    assert "-0.416147" in out
    assert explain_command(["sin(x*y) + x", "--at", "x=1", "y=2", "--plain", "--width", "80"]) == 0
    plain = capsys.readouterr().out
    assert max(len(x) for x in plain.splitlines()) <= 80
    assert "sends to inputs (contribution): to v2 multiply: -0.416147" in plain  # one block per step


def test_command_layout_option(tmp_path, capsys):
    svg = tmp_path / "g.svg"
    assert explain_command(["x*x", "--at", "x=3", "--layout", "chainrule", "--svg", str(svg)]) == 0
    capsys.readouterr()
    assert 'data-engine="chainrule"' in svg.read_text()


# -- formula templates ------------------------------------------------------------------

_NAMES = {
    **{k: getattr(np, k) for k in ("sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "log", "sqrt")},
    **{k: getattr(np, k) for k in ("cbrt", "sign", "hypot", "logaddexp")},
    "pi": np.pi,
}


def _python(template: str) -> str:
    """A template as a Python expression: ^ is **, juxtaposition multiplies."""
    text = template.replace("{0}", "a").replace("{1}", "b").replace("{out}", "out").replace("^", "**")
    return re.sub(r"(?<=[\w)])\s+(?=[\w(])", "*", text)


def _elementwise_cases():
    for name, table in formulas.FORMULAS.items():
        if not name.startswith("numpy.") or any(re.search(r"\bg\b", t) for t in table.values()):
            continue
        yield name


@pytest.mark.parametrize("name", list(_elementwise_cases()))
def test_elementwise_templates_are_the_derivatives(name):
    fn = getattr(np, name.split(".", 1)[1])
    nargs = fn.nin
    point = (0.37, 1.3)[:nargs] if name not in ("numpy.arccosh",) else (1.7,)
    out = fn(*point)
    for argnum, template in formulas.FORMULAS[name].items():
        scope = {**_NAMES, "a": point[0], "b": point[-1], "out": out}
        value = eval(_python(template), {"__builtins__": {}}, scope)
        expected = cr.grad(lambda *v: fn(*v), argnums=argnum)(*point)
        assert value == pytest.approx(float(expected), rel=1e-12), (name, argnum, template)


def test_every_template_names_an_existing_operand():
    for name, table in formulas.FORMULAS.items():
        for argnum, template in table.items():
            used = {int(k) for k in re.findall(r"\{(\d)\}", template)}
            assert argnum in (0, 1) and used <= {0, 1}, (name, template)


# -- package shape ------------------------------------------------------------------------


def test_explain_is_both_the_module_and_the_function():
    import chainrule.explain as m

    assert type(m).__name__ == "CallableModule"
    assert m is cr.explain
    e = cr.explain(f_scalar, 1.0, 2.0)
    assert isinstance(e, m.Explanation)
    assert e.gradient == pytest.approx(2 * np.cos(2.0) + 1)
    from chainrule.explain import Explanation, explain

    assert Explanation is cr.Explanation and callable(explain)


def test_no_import_cycle_inside_explain():
    root = Path(cr.__file__).parent / "explain"
    graph: dict[str, set[str]] = {}
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                deps.add(node.module.split(".")[0])
            # Imports inside functions are how cycles were dodged: none are left within explain.
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and inner.level == 1:
                        raise AssertionError(f"{path.name}: relative import inside {node.name}")
        graph[path.stem] = deps
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            mod = todo.pop()
            assert mod != start, f"import cycle through explain/{start}.py"
            if mod not in seen and mod in graph:
                seen.add(mod)
                todo.extend(graph[mod])


# -- size ------------------------------------------------------------------------------


def test_page_of_a_100k_node_graph_stays_small():
    def big(x):
        t = x
        for _ in range(33_334):
            t = np.sin(t) * 1.0001 + x  # 3 nodes per step, x read by every step
        return t

    e = cr.explain(big, 0.3)
    assert len(e.nodes) > 100_000
    page = e.to_html()
    assert len(page.encode()) < 3_000_000
    assert page.count('<g class="node"') <= 60
    assert len(e.table(rich=False)) < 100_000
    assert e.gradient == pytest.approx(float(cr.grad(big)(0.3)))
