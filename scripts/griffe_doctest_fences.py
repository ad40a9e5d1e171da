"""Griffe extension (mkdocs.yml): show docstring doctests as code, wherever they are.

NumPy-style docstrings here put ``>>>`` examples in their text as well as under
"Examples". Markdown would read ``>>>`` as a quote and ``[2, 2, 1]`` as a link;
this wraps each doctest block (prompts and expected output, up to a blank line)
in a fenced ``pycon`` block before the docstring is rendered. The docstrings
themselves stay plain doctests (pytest runs them).
"""

from __future__ import annotations

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


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
