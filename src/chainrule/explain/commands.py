"""The ``chainrule explain`` and ``chainrule check`` subcommands.

Each function parses its own arguments (``argv`` excludes the subcommand
name) and returns the exit code, so ``chainrule.cli`` only has to route:
``explain_command(argv)`` (``chainrule check`` lives in :mod:`chainrule.cli`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .escaping import terminal
from .explanation import explain
from .expression import FUNCTIONS, ExpressionError, compile_expression

__all__ = ["explain_command", "explain_parser"]


def explain_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chainrule explain",
        description=(
            "Explain the gradient of a formula as the chain rule, node by node: the recorded "
            "graph, forward values, each backward step (adjoint, local partials, contributions, "
            "accumulation) and, for scalars, each derivative as a sum over paths. The formula is "
            "checked and interpreted safely (never eval'd): numbers, the variables given with "
            "--at, pi, e, + - * / ** and the functions " + ", ".join(sorted(_functions())) + "."
        ),
        epilog=(
            'example: chainrule explain "sin(x*y) + x" --at x=1.0 y=2.0 --html out.html. '
            'a formula starting with "-" goes after "--": chainrule explain --at x=1 -- "-x**2"'
        ),
    )
    p.add_argument("expression", help='the formula, e.g. "sin(x*y) + x" (quote it for the shell)')
    p.add_argument(
        "--at",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="the point: one NAME=VALUE per variable (these are the inputs differentiated)",
    )
    p.add_argument(
        "--html", metavar="PATH", help="also write a self-contained HTML page that steps through the pass"
    )
    p.add_argument("--svg", metavar="PATH", help="also write the graph as SVG")
    p.add_argument("--dot", metavar="PATH", help="also write the graph as Graphviz DOT")
    p.add_argument(
        "--code",
        action="store_true",
        help="print the forward and backward pass as Python code (what chainrule.jit stages) "
        "instead of the tables",
    )
    p.add_argument("--plain", action="store_true", help="plain text tables (no rich formatting)")
    p.add_argument(
        "--width",
        type=int,
        default=None,
        metavar="COLUMNS",
        help="text width (default: the terminal's; tables too wide become one block per row)",
    )
    p.add_argument(
        "--layout",
        choices=("auto", "dot", "chainrule"),
        default="auto",
        help="picture layout: Graphviz's dot if installed (auto), dot, or the built-in layered layout",
    )
    return p


def _functions() -> list[str]:
    return list(FUNCTIONS)


def _fail(prog: str, message: str, code: int = 2) -> int:
    print(f"{prog}: error: {terminal(' '.join(str(message).split()))}", file=sys.stderr)
    return code


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace | int:
    try:
        return parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2


def explain_command(argv: Sequence[str] | None = None) -> int:
    """``chainrule explain EXPR --at x=1 y=2 [--html PATH]``; returns the exit code."""
    prog = "chainrule explain"
    args = _parse(explain_parser(), argv)
    if isinstance(args, int):
        return args
    names, values = [], []
    for item in args.at:
        name, sep, value = item.partition("=")
        if not sep:
            return _fail(prog, f"--at expects NAME=VALUE, got {item[:40]!r}")
        try:
            v = float(value)
        except ValueError:
            return _fail(prog, f"--at {name[:40]}: {value[:40]!r} is not a number")
        if not np.isfinite(v):
            return _fail(prog, f"--at {name[:40]}: the value must be finite")
        names.append(name.strip())
        values.append(np.float64(v))
    try:
        expr = compile_expression(args.expression, names)
        if not names:
            value = float(expr())
            # The formula as typed, its control characters (a comment's ESC, BEL) made visible.
            note = "(no variables given with --at: nothing to differentiate)"
            print(terminal(f"{args.expression} = {value:.17g} {note}"))
            return 0
        e = explain(expr, *values, argnums=tuple(range(len(names))), engine=args.layout)
    except ExpressionError as exc:
        return _fail(prog, str(exc))
    if args.code:
        print(e.code(), end="")
    else:
        _print_explanation(e, args.plain, args.width)
    try:
        if args.html:
            e.to_html(args.html)
            print(terminal(f"wrote {args.html}"))
        if args.svg:
            _write(args.svg, e.to_svg())
            print(terminal(f"wrote {args.svg}"))
        if args.dot:
            _write(args.dot, e.to_dot())
            print(terminal(f"wrote {args.dot}"))
    except OSError as exc:
        return _fail(prog, f"cannot write: {exc}", 1)
    return 0


def _print_explanation(e: Any, plain: bool, width: int | None) -> None:
    """The tables at the terminal's width, in colour when it is a terminal (rich's Console)."""
    if width is not None and width < 40:
        width = 40  # narrower is unreadable whatever we do
    if not plain:
        try:
            from rich.console import Console
        except ImportError:
            pass
        else:
            e.print(Console(width=width))
            return
    cols = width or shutil.get_terminal_size((100, 24)).columns
    print(e.table(rich=False, width=cols), end="")


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
