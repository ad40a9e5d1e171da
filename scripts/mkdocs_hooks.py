"""MkDocs hooks (mkdocs.yml ``hooks:``): pages generated at build time, so they cannot go stale.

* ``examples.md``: the gallery, from the docstrings of ``examples/*.py`` (read, not imported);
  each example's picture, when ``scripts/docs_figures.py`` made one, is shown with it.
* ``handwritten_backprop.md``: a placeholder until the real page is written (the how-to
  links to it, and a strict build refuses links to missing pages).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

TITLES = {"cnn": "CNN", "mlp": "MLP", "ode_parameter_fit": "ODE parameter fit"}

PLACEHOLDER = """# Hand-written backprop, checked

This walkthrough is being written: it will take a network whose backward pass is written by
hand, find its bug with `chainrule.check_grad`, and fix it. Until then, see
[Check your own hand-written backprop](howto/check-handwritten-backprop.md).
"""


def gallery() -> str:
    """The examples gallery as Markdown: title, what the example shows, how to run it."""
    lines = [
        "# Examples",
        "",
        "Each example is one file in `examples/` that runs on its own (`python examples/NAME.py`);",
        "the test suite runs each with few steps. Backprop is used the same way in all of them:",
        "write the computation in NumPy, ask `chainrule` for its gradient.",
        "",
    ]
    for path in sorted(EXAMPLES.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        title, _, body = doc.partition("\n")
        heading = TITLES.get(path.stem, path.stem.replace("_", " ").capitalize())
        lines += [f"## {heading}", "", f"**{title.strip()}**", ""]
        picture = ROOT / "docs" / "images" / f"example_{path.stem}.png"
        if picture.exists():
            lines += [f"![{path.stem}](images/{picture.name})", ""]
        text = body.strip().replace("Run::", "Run:").replace("\n    python ", "\n    $ python ")
        lines += [_indented_blocks_as_code(text), "", f"Source: `examples/{path.name}`.", ""]
    return "\n".join(lines)


def _indented_blocks_as_code(text: str) -> str:
    """Turn the docstrings' indented literal blocks into fenced code (Markdown needs a blank line)."""
    out: list[str] = []
    in_code = False
    for line in text.splitlines():
        indented = line.startswith("    ")
        if indented and not in_code:
            out += ["", "```text"]
            in_code = True
        elif not indented and in_code and line.strip():
            out += ["```", ""]
            in_code = False
        out.append(line[4:] if in_code and indented else line)
    if in_code:
        out.append("```")
    return "\n".join(out)


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "examples.md", content=gallery()))
    if files.get_file_from_path("handwritten_backprop.md") is None:
        files.append(File.generated(config, "handwritten_backprop.md", content=PLACEHOLDER))
    return files
