"""The explanation as text tables: forward values, backward steps, gradient, path sums.

Uses ``rich`` when it is importable (boxed tables; :func:`print_tables` uses
the terminal's own width and colours), plain aligned text otherwise. A table
too wide for the width is written as one block per row instead, so the output
stays readable at 80 columns. All text is user-controlled at some point, so
it goes to rich as :class:`rich.text.Text` (never parsed as markup) and with
control characters made visible (:func:`~chainrule.explain.escaping.terminal`).
"""

from __future__ import annotations

import io
import shutil
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from .escaping import terminal

__all__ = ["plain_table", "print_tables", "render_tables"]

Table = tuple[str, Sequence[str], Sequence[Sequence[str]]]  # (title, header, rows)


def _natural_width(header: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    widths = [len(h) for h in header]
    for row in rows:
        for k, cell in enumerate(row):
            widths[k] = max(widths[k], max((len(x) for x in cell.split("\n")), default=0))
    return sum(widths) + 3 * len(widths) + 1


def plain_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An aligned text table with a title line."""
    widths = [len(h) for h in header]
    for row in rows:
        for k, cell in enumerate(row):
            widths[k] = max(widths[k], max((len(x) for x in cell.split("\n")), default=0))

    def fmt(cells: Sequence[str]) -> list[str]:
        split = [c.split("\n") for c in cells]
        height = max(len(s) for s in split)
        return [
            "  ".join((s[i] if i < len(s) else "").ljust(w) for s, w in zip(split, widths)).rstrip()
            for i in range(height)
        ]

    lines = [title, *fmt(header), "  ".join("-" * w for w in widths)]
    for row in rows:
        lines.extend(fmt(row))
    return "\n".join(lines)


def wrap(text: str, width: int) -> str:
    """Lines longer than ``width`` folded, continuing under their own indentation (plus two)."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip()) + 2)
        out.append(textwrap.fill(line, width, subsequent_indent=indent, break_on_hyphens=False))
    return "\n".join(out)


def block_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], width: int = 80) -> str:
    """A table written as one block per row: the first cells on a line, then one line per field."""
    lines = [title]
    lead = min(2, len(header))
    for row in rows:
        lines.append("  ".join(c for c in row[:lead] if c))
        for h, cell in zip(header[lead:], row[lead:]):
            if not cell:
                continue
            first, *rest = cell.split("\n")
            lines.append(f"    {h}: {first}")
            lines.extend(f"      {r}" for r in rest)
    return wrap("\n".join(lines), width)


def _safe(table: Table) -> Table:
    title, header, rows = table
    return terminal(title), [terminal(h) for h in header], [[terminal(c) for c in row] for row in rows]


def _print_rich(console: Any, tables: Sequence[Table], notes: Sequence[str]) -> None:
    from rich.table import Table as RichTable
    from rich.text import Text

    for table in tables:
        title, header, rows = _safe(table)
        if _natural_width(header, rows) > console.width:
            head = Text(title, style="bold")
            console.print(head)
            console.print(Text(block_table("", header, rows, console.width).lstrip("\n")), highlight=False)
            console.print()
            continue
        t = RichTable(
            title=Text(title, style="bold"),
            title_justify="left",
            header_style="bold cyan",
            min_width=min(len(title) + 2, console.width),
        )
        for h in header:
            t.add_column(Text(h))
        for row in rows:
            t.add_row(*(Text(c) for c in row))
        console.print(t)
    for note in notes:
        console.print(Text(wrap(terminal(note), console.width)), highlight=False)


def render_tables(
    tables: Sequence[Table], notes: Sequence[str], rich: bool | None = None, width: int = 140
) -> str:
    """All tables and notes as one string, ``width`` columns wide; ``rich=None`` uses rich if importable."""
    if rich is not False:
        try:
            from rich.console import Console
        except ImportError:
            if rich:
                raise
        else:
            buf = io.StringIO()
            console = Console(file=buf, width=width, force_terminal=False, color_system=None)
            _print_rich(console, tables, notes)
            return buf.getvalue()
    parts = []
    for table in tables:
        title, header, rows = _safe(table)
        fits = _natural_width(header, rows) <= width
        parts.append(plain_table(title, header, rows) if fits else block_table(title, header, rows, width))
    parts.extend(wrap(terminal(n), width) for n in notes)
    return "\n\n".join(parts) + "\n"


def print_tables(tables: Sequence[Table], notes: Sequence[str], console: Any = None) -> None:
    """Print to a terminal at its width and with its colours (rich's Console), or plain text."""
    if console is None:
        try:
            from rich.console import Console
        except ImportError:
            width = shutil.get_terminal_size((100, 24)).columns
            sys.stdout.write(render_tables(tables, notes, rich=False, width=width))
            return
        console = Console()
    _print_rich(console, tables, notes)
