"""Griffe extension (mkdocs.yml): docstrings written for pytest and Sphinx, read as Markdown.

NumPy-style docstrings here put ``>>>`` examples in their text as well as under
"Examples". Markdown would read ``>>>`` as a quote and ``[2, 2, 1]`` as a link;
this wraps each doctest block (prompts and expected output, up to a blank line)
in a fenced ``pycon`` block before the docstring is rendered, and shows Sphinx
roles (``:func:`chainrule.grad```) as code. The docstrings themselves stay plain
doctests (pytest runs them).
"""

from __future__ import annotations

import re
from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    """Wrap runs of ``>>>`` lines and their output in fenced code blocks."""
    out: list[str] = []
    in_block = False
    indent = ""
    for line in text.split("\n"):
        stripped = line.lstrip()
        if not in_block and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out += [f"{indent}```pycon"]
            in_block = True
        elif in_block and not stripped:
            out.append(f"{indent}```")
            in_block = False
        out.append(line)
    if in_block:
        out.append(f"{indent}```")
    return "\n".join(out)


ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):`~?([^`]+)`")


def roles_as_code(text: str) -> str:
    """``:func:`~chainrule.grad``` becomes ``chainrule.grad`` in code font."""
    return ROLE.sub(r"`\1`", text)


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = roles_as_code(fence_doctests(obj.docstring.value))
