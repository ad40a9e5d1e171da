"""What a gradient check found, for a person to read: text, HTML, and a table of elements."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckReport", "Culprit", "Row"]


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

    def _summary(self) -> list[str]:
        lines = [
            f"gradient check of {self.function}: {self.verdict}",
            f"  mode {self.mode!r}, order {self.order}, modes {', '.join(self.modes)}"
            + (f", {self.probes} random unit-Gaussian probe(s)" if self.probes else ""),
            f"  max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g}"
            f" (worst: {self.worst})",
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
        return lines

    def table(self, count: int = 8) -> str:
        rows = self.worst_rows(count)
        if not rows:
            return ""
        head = ("element", "backprop", "numerical", "abs err", "rel err", "tol", "")
        body = [
            (f"{r.what} {r.where}", f"{r.backprop:.8g}", f"{r.numerical:.8g}", f"{r.abs_error:.3g}",
             f"{r.rel_error:.3g}", f"{r.tolerance:.3g}", r.status)
            for r in rows
        ]  # fmt: skip
        widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
        fmt = lambda cells: "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )
        return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths)), *(fmt(b) for b in body)])

    def __str__(self) -> str:
        text = "\n".join(self._summary())
        table = self.table()
        return f"{text}\n{table}" if table and self.verdict == "FAIL" else text

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
