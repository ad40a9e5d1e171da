"""The explanation as text tables: forward values, backward steps, gradient, path sums.

Uses ``rich`` when it is importable (boxed tables), plain aligned text otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

__all__ = ["plain_table", "render_tables"]

Table = tuple[str, Sequence[str], Sequence[Sequence[str]]]  # (title, header, rows)


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


def render_tables(tables: Sequence[Table], notes: Sequence[str], rich: bool | None = None) -> str:
    """All tables and notes as one string; ``rich=None`` uses rich if importable."""
    if rich is not False:
        try:
            from rich.console import Console
            from rich.table import Table as RichTable
        except ImportError:
            if rich:
                raise
        else:
            buf = io.StringIO()
            console = Console(file=buf, width=140, force_terminal=False, color_system=None)
            for title, header, rows in tables:
                t = RichTable(title=title, title_justify="left", min_width=len(title) + 2)
                for h in header:
                    t.add_column(h)
                for row in rows:
                    t.add_row(*row)
                console.print(t)
            for note in notes:
                console.print(note, markup=False, highlight=False)
            return buf.getvalue()
    parts = [plain_table(*t) for t in tables]
    parts.extend(notes)
    return "\n\n".join(parts) + "\n"
