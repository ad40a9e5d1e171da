"""The package's shape, checked from its source: imports point one way and never in a circle.

Layers, lowest first (a module may import its own layer and the ones below):

    errors, pytree, ravel, naming, argnums, terminal < numerical < engine < extend < rules
    < derivatives, jit < check, scipy < optim, nn, explain < demo, cli, cli_inputs, cli_progress

The imports are read with ``ast`` (nothing is executed), at module level and
inside functions alike, so a cycle cannot hide in a function body. Imports
under ``if TYPE_CHECKING:`` are for the type checker and never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "chainrule"

LAYERS = {
    "errors": 0, "pytree": 0, "ravel": 0, "naming": 0, "argnums": 0, "terminal": 0, "_version": 0,
    "parallel": 0,
    "numerical": 1,
    "engine": 2,
    "extend": 3,
    "rules": 4,
    "derivatives": 5, "jit": 5,
    "check": 6, "scipy": 6,
    "optim": 7, "nn": 7, "explain": 7, "distributed": 7,
    "demo": 8, "cli": 8, "cli_inputs": 8, "cli_progress": 8, "__main__": 8,
}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """``(imported chainrule module, line, inside a function)`` for every import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_name(path).split(".")
    package = here if _is_package(path) else here[:-1]
    known = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) in (
                "TYPE_CHECKING",
                "typing.TYPE_CHECKING",
            ):
                continue  # for the type checker only: never imported at run time
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "chainrule":
                        found.append((alias.name, child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                elif child.module and child.module.split(".")[0] == "chainrule":
                    target = child.module
                else:
                    visit(child, nested)
                    continue
                for alias in child.names:  # `from . import rules` imports a module
                    sub = f"{target}.{alias.name}"
                    found.append((sub if sub in known else target, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package facade chainrule/__init__.py re-exports everything
    return LAYERS[parts[1]]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_top_level_module_has_a_layer():
    names = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    names -= {"__init__", "py.typed"}
    assert names <= set(LAYERS), f"modules without a layer: {sorted(names - set(LAYERS))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_upward_import(path):
    own = _layer(_module_name(path))
    if own is None:
        return
    for target, line, _ in _imports(path):
        theirs = _layer(target)
        assert theirs is not None and theirs <= own, (
            f"{path.relative_to(PACKAGE)}:{line} imports {target} (layer {theirs}) from layer {own}"
        )


def test_no_import_cycles():
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        name = _module_name(path)
        graph[name] = {t for t, _, _ in _imports(path) if t != name}
    # A package's __init__ re-exports its submodules: importing a submodule first
    # runs the package's __init__, which is not an edge the submodule chose.
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack and state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)


def test_no_imports_of_chainrule_inside_functions():
    # Only the command line defers imports, so that `chainrule --help` starts fast.
    hidden = [
        f"{p.relative_to(PACKAGE)}:{line} imports {target}"
        for p in MODULES
        if p.name != "cli.py"
        for target, line, inside in _imports(p)
        if inside
    ]
    assert not hidden, "imports inside functions (they hide cycles):\n" + "\n".join(hidden)


def test_numerical_does_not_import_the_engine():
    for path in (PACKAGE / "numerical").rglob("*.py"):
        for target, line, _ in _imports(path):
            assert _layer(target) in (0, 1), f"{path.name}:{line} imports {target}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "rules").glob("*.py")), ids=lambda p: p.name)
def test_rule_modules_import_only_the_rule_authors_module(path):
    for target, line, _ in _imports(path):
        assert target == "chainrule.extend" or target.startswith("chainrule.rules"), (
            f"rules/{path.name}:{line} imports {target}; rule modules import chainrule.extend only"
        )


def test_primitive_names_are_unique():
    # In a fresh interpreter: only chainrule's own rules are registered there (SciPy's with
    # them: importing scipy.special registers those, see chainrule.rules.import_hooks).
    code = (
        "import collections, chainrule, scipy.special\n"
        "from chainrule.engine import RULED_PRIMITIVES\n"
        "names = collections.Counter(p.name for p in RULED_PRIMITIVES)\n"
        "print(len(RULED_PRIMITIVES), sorted(n for n, c in names.items() if c > 1))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    count, duplicates = out.split(" ", 1)
    assert int(count) > 140
    assert duplicates.strip() == "[]", f"primitives sharing a name: {duplicates}"


def test_the_add_a_rule_walkthrough_runs_as_written():
    doc = (PACKAGE.parent.parent / "docs" / "architecture.md").read_text()
    section = doc.split("## How to add a rule", 1)[1]
    blocks = section.split("```python\n")[1:]
    walkthrough = next(b.split("```", 1)[0] for b in blocks if b.startswith("import numpy"))
    exec(compile(walkthrough, "docs/architecture.md", "exec"), {})
    # The rule and the test line it quotes are the ones in the source.
    rule_line = blocks[0].split("```", 1)[0].strip().splitlines()[-1]
    assert rule_line in (PACKAGE / "rules" / "elementwise.py").read_text()
    test_line = blocks[1].split("```", 1)[0].strip()
    assert test_line in (PACKAGE.parent.parent / "tests" / "test_elementwise.py").read_text()
