"""The documentation's examples run: every ``>>>`` block in the user guide and how-to pages.

(README.md is doctested by pytest's own configuration; the API reference is built from the
docstrings, which are doctested with the source. CI builds the site with ``mkdocs build
--strict``.)
"""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted([*DOCS.glob("guide/*.md"), *DOCS.glob("howto/*.md")])
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(DOCS).as_posix() for p in PAGES])
def test_page_examples_run(page: Path) -> None:
    result = doctest.testfile(str(page), module_relative=False, optionflags=FLAGS, verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) failed in {page.name} (output above)"


def test_the_guide_has_examples_to_run() -> None:
    guide = DOCS / "guide" / "backprop-vs-finite-differences.md"
    assert guide.read_text().count(">>> ") >= 20


def test_pictures_the_pages_show_exist() -> None:
    import re

    for page in DOCS.rglob("*.md"):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            assert (page.parent / target).resolve().exists(), f"{page.name}: {target}"


def _hooks():
    pytest.importorskip("mkdocs", reason="the docs extra: pip install -e '.[docs]'")
    import importlib.util

    path = DOCS.parent / "scripts" / "mkdocs_hooks.py"
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gallery_lists_every_example_with_its_summary() -> None:
    import ast

    text = _hooks().gallery()
    for path in sorted((DOCS.parent / "examples").glob("*.py")):
        summary = (ast.get_docstring(ast.parse(path.read_text())) or "").splitlines()[0]
        assert f"**{summary}**" in text, path.name
        assert f"Source: `examples/{path.name}`" in text
    assert text.count("```text") == text.count("```") // 2  # every fence opened is closed


def test_doctest_blocks_in_docstrings_are_fenced() -> None:
    pytest.importorskip("griffe", reason="the docs extra: pip install -e '.[docs]'")
    import importlib.util

    path = DOCS.parent / "scripts" / "griffe_doctest_fences.py"
    spec = importlib.util.spec_from_file_location("griffe_doctest_fences", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = "Intro.\n\n    >>> f(1)\n    [2, 2, 1]\n\nMore text.\n>>> g()\n3"
    assert module.roles_as_code("see :func:`chainrule.grad` and :class:`~chainrule.CheckReport`") == (
        "see `chainrule.grad` and `chainrule.CheckReport`"
    )
    assert module.fence_doctests(text) == (
        "Intro.\n\n    ```pycon\n    >>> f(1)\n    [2, 2, 1]\n    ```\n\n"
        "More text.\n```pycon\n>>> g()\n3\n```"
    )


def test_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs extra: pip install -e '.[docs]' (CI builds the site)")
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(tmp_path)],
        cwd=DOCS.parent, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for page in (
        "index.html",
        "guide/backprop-vs-finite-differences/index.html",
        "examples/index.html",
        "reference/chainrule/index.html",
        "coverage/index.html",
        "handwritten_backprop/index.html",
    ):
        assert (tmp_path / page).exists(), page  # fmt: skip
    reference = (tmp_path / "reference" / "chainrule" / "index.html").read_text()
    assert 'id="chainrule.grad"' in reference and 'id="chainrule.check_grad"' in reference


def test_figure_script_draws_from_chainrule(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    import subprocess
    import sys

    script = DOCS.parent / "scripts" / "docs_figures.py"
    proc = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for name in ("step_size_error.png", "cost_versus_n.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "chain_rule_graph.svg").read_text().startswith("<svg")


def test_the_reference_documents_every_public_name() -> None:
    import re

    import chainrule as cr

    reference = DOCS / "reference"
    text = (reference / "chainrule.md").read_text()
    for name in cr.__all__:
        if name == "__version__":
            continue
        page = reference / f"{name}.md"
        if page.exists():  # a subpackage with its own page
            assert f"::: chainrule.{name}\n" in page.read_text(), name
        else:  # cr.jit is documented as chainrule.jit.jit, cr.Explanation as chainrule.explain.Explanation
            assert re.search(rf"^::: chainrule\.(\w+\.)?{name}$", text, re.M), name


def test_readme_links_resolve_and_reach_every_docs_page() -> None:
    import re

    root = DOCS.parent
    readme = (root / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t)]
    assert local, "the README links to its documentation"
    for target in local:
        assert (root / target).exists(), f"README links to {target}, which does not exist"
    pages = {p.relative_to(root).as_posix() for p in DOCS.glob("*/*.md")} | {"docs/index.md"}
    assert pages - set(local) == set(), "pages the README does not link to"
