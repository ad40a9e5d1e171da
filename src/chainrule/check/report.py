"""What a gradient check found, for a person to read: text, HTML, and a table of elements."""

from __future__ import annotations

import html
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..terminal import terminal

__all__ = ["CheckReport", "Culprit", "Row"]

WIDTH = 80  # columns: the report reads in an 80-column terminal


def _wrap(lines: list[str], width: int) -> list[str]:
    """Wrap each line to ``width``, continuing one level deeper than it is indented."""
    out: list[str] = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()))
        out += textwrap.wrap(line, width=width, subsequent_indent=indent + "    ",
                             break_on_hyphens=False) or [line]  # fmt: skip
    return out


def _elide(text: str, width: int) -> str:
    """``text`` shortened to ``width``: its first word (``d/dx``), ``...``, and its end (the index).

    >>> _elide("d/dx argument 0 ('params')['weights'][3, 4]", 24)
    "d/dx ...'weights'][3, 4]"
    """
    if len(text) <= width:
        return text
    head = text.split(" ", 1)[0] + " "
    if len(head) + 3 >= width:
        head = ""
    return head + "..." + text[len(text) - (width - len(head) - 3) :]


def _console(out: TextIO, colour: bool | None) -> Any:
    """A rich console writing colour to ``out``, or ``None`` for plain text."""
    if colour is False or (colour is None and os.environ.get("NO_COLOR")):  # https://no-color.org
        return None
    try:
        from rich.console import Console
    except ImportError:  # rich is optional (the demo extra): plain text
        return None
    console = Console(file=out, width=WIDTH, highlight=False, force_terminal=True if colour else None)
    return console if console.color_system is not None else None


@dataclass
class Row:
    """One compared element: where it is, both values, and the verdict on it."""

    path: str
    index: tuple[int, ...]
    backprop: float
    numerical: float
    tolerance: float
    status: str = "ok"  # "ok", "FAIL", "kink"
    what: str = "d/dx"  # "d/dx", "u.v", "H.v"

    @property
    def abs_error(self) -> float:
        return abs(self.backprop - self.numerical)

    @property
    def rel_error(self) -> float:
        scale = max(abs(self.backprop), abs(self.numerical))
        return self.abs_error / scale if scale > 0 else 0.0

    @property
    def where(self) -> str:
        if not self.index:
            return self.path or "(scalar)"
        return f"{self.path}[{', '.join(map(str, self.index))}]"


@dataclass
class Culprit:
    """The first primitive (in the order the function ran) whose rule disagrees."""

    primitive: str
    argnum: int
    kind: str  # "reverse rule" / "forward rule" / "rule's derivative"
    call_site: str
    rule_value: float
    numerical_value: float
    detail: str = ""

    def __str__(self) -> str:
        text = (
            f"the {self.kind} of {self.primitive} for its argument {self.argnum}, "
            f"called at {self.call_site}: rule gives {self.rule_value:.6g}, finite differences "
            f"of the primitive at the values it saw give {self.numerical_value:.6g}"
        )
        return text + (f" ({self.detail})" if self.detail else "")


@dataclass
class CheckReport:
    """The result of :func:`chainrule.check_grad`.

    ``verdict`` is "pass", "pass (with kinks)" or "FAIL". The errors are over
    the compared quantities (partial derivatives in "full" mode, directional
    derivatives ``grad . v`` in "fast" mode, Hessian-vector products at order 2).
    """

    function: str
    mode: str
    order: int
    modes: tuple[str, ...]
    verdict: str
    max_abs_error: float
    max_rel_error: float
    worst: str
    evaluations: int
    seconds: float
    tolerance: str
    rows: list[Row] = field(default_factory=list)
    kinks: list[str] = field(default_factory=list)
    probes: int = 0
    notes: list[str] = field(default_factory=list)
    culprit: Culprit | None = None
    localization: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict != "FAIL"

    def worst_rows(self, count: int = 8) -> list[Row]:
        failing = [r for r in self.rows if r.status == "FAIL"]
        pool = failing or self.rows
        return sorted(pool, key=lambda r: r.abs_error / r.tolerance if r.tolerance > 0 else r.abs_error,
                      reverse=True)[:count]  # fmt: skip

    def _summary(self, width: int = WIDTH) -> list[str]:
        lines = [
            f"gradient check of {self.function}: {self.verdict}",
            f"  mode {self.mode!r}, order {self.order}, modes {', '.join(self.modes)}"
            + (f", {self.probes} random unit-Gaussian probe(s)" if self.probes else ""),
            f"  max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g}",
            # On a line of its own: a tree path stays whole (the table may elide it).
            f"  worst: {self.worst}",
            f"  {self.evaluations} function evaluations in {self.seconds:.3g} s",
            f"  tolerance: {self.tolerance}",
        ]
        if self.kinks:
            shown = ", ".join(self.kinks[:5]) + (" ..." if len(self.kinks) > 5 else "")
            lines.append(
                f"  {len(self.kinks)} element(s) at a kink (one-sided differences disagree): {shown}"
            )
        lines += [f"  note: {n}" for n in self.notes]
        if self.culprit is not None:
            lines.append(f"  culprit: {self.culprit}")
        elif self.localization:
            lines.append(f"  localization: {self.localization}")
        return _wrap(lines, width)

    def table(self, count: int = 8, width: int = WIDTH) -> str:
        """The worst elements as a text table no wider than ``width`` columns."""
        rows = self.worst_rows(count)
        if not rows:
            return ""
        head = ("element", "backprop", "numerical", "abs err", "rel err", "tol", "")
        for digits in (8, 6):  # fewer digits before shortening the element names
            body = [
                (f"{r.what} {r.where}", f"{r.backprop:.{digits}g}", f"{r.numerical:.{digits}g}",
                 f"{r.abs_error:.3g}", f"{r.rel_error:.3g}", f"{r.tolerance:.3g}", r.status)
                for r in rows
            ]  # fmt: skip
            widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
            if sum(widths) + 2 * (len(widths) - 1) <= width:
                break
        room = width - (sum(widths[1:]) + 2 * (len(widths) - 1))
        full_names: list[str] = []
        if widths[0] > room:
            widths[0] = max(room, 12)
            full_names = [b[0] for b in body if len(b[0]) > widths[0]]
            body = [(_elide(b[0], widths[0]), *b[1:]) for b in body]

        def fmt(cells: Sequence[str]) -> str:
            return "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        lines = [fmt(head), fmt(tuple("-" * w for w in widths)), *(fmt(b) for b in body)]
        if full_names:  # the elided element names in full, one per line
            lines += ["elements shortened above:", *_wrap([f"  {name}" for name in full_names], width)]
        return "\n".join(lines)

    def __str__(self) -> str:
        text = "\n".join(self._summary())
        table = self.table()
        return f"{text}\n{table}" if table and self.verdict == "FAIL" else text

    def show(self, file: TextIO | None = None, colour: bool | None = None) -> None:
        """Print the report, with colour when ``file`` is a terminal that supports it.

        ``colour=None`` decides from the terminal (and ``NO_COLOR``/``TERM``, through
        rich, which is optional: without it the text is plain); ``False`` never
        colours; ``True`` colours when rich is installed.
        """
        out = file if file is not None else sys.stdout
        console = _console(out, colour)
        text = terminal(str(self))  # names and dict keys are the user's: no raw control bytes
        if console is None:
            print(text, file=out)
            return
        from rich.text import Text

        styles = {"FAIL": "bold red", "kink": "yellow", "ok": "green"}
        lines = text.split("\n")
        first = Text(lines[0])
        first.highlight_words([self.verdict], "bold green" if self.passed else "bold red")
        console.print(first)
        for line in lines[1:]:
            styled = Text(line)
            status = line.rsplit(None, 1)[-1] if line.strip() else ""
            if status in styles and line.startswith(("d/dx", "u.v", "H.v")):
                styled.stylize(styles[status])
            elif line.lstrip().startswith("culprit:"):
                styled.stylize("red")
            console.print(styled)

    def _repr_html_(self) -> str:
        esc = html.escape
        colour = "#2a7" if self.passed else "#c33"
        items = "".join(f"<li>{esc(line.strip())}</li>" for line in self._summary()[1:])
        rows = "".join(
            f"<tr><td><code>{esc(r.what + ' ' + r.where)}</code></td><td>{r.backprop:.8g}</td>"
            f"<td>{r.numerical:.8g}</td><td>{r.abs_error:.3g}</td><td>{r.rel_error:.3g}</td>"
            f"<td>{r.tolerance:.3g}</td><td>{esc(r.status)}</td></tr>"
            for r in self.worst_rows()
        )
        table = (
            "<table><tr><th>element</th><th>backprop</th><th>numerical</th><th>abs err</th>"
            f"<th>rel err</th><th>tol</th><th></th></tr>{rows}</table>"
            if rows
            else ""
        )
        return (
            f"<div><b style='color:{colour}'>gradient check of {esc(self.function)}: "
            f"{esc(self.verdict)}</b><ul>{items}</ul>{table}</div>"
        )

    def __repr__(self) -> str:
        return (
            f"CheckReport(verdict={self.verdict!r}, max_abs_error={self.max_abs_error:.3g}, "
            f"max_rel_error={self.max_rel_error:.3g}, worst={self.worst!r}, "
            f"evaluations={self.evaluations})"
        )


def describe(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
