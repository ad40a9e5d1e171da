"""The ``chainrule explain`` and ``chainrule check`` subcommands.

Each function parses its own arguments (``argv`` excludes the subcommand
name) and returns the exit code, so ``chainrule.cli`` only has to route:
``explain_command(argv)`` and ``check_command(argv)``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .explanation import explain
from .expression import FUNCTIONS, ExpressionError, compile_expression

__all__ = ["check_command", "explain_command", "explain_parser", "check_parser"]


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
    print(f"{prog}: error: {' '.join(str(message).split())}", file=sys.stderr)
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
            print(
                f"{args.expression} = {value:.17g} (no variables given with --at: nothing to differentiate)"
            )
            return 0
        e = explain(expr, *values, argnums=tuple(range(len(names))), engine=args.layout)
    except ExpressionError as exc:
        return _fail(prog, str(exc))
    _print_explanation(e, args.plain, args.width)
    try:
        if args.html:
            e.to_html(args.html)
            print(f"wrote {args.html}")
        if args.svg:
            _write(args.svg, e.to_svg())
            print(f"wrote {args.svg}")
        if args.dot:
            _write(args.dot, e.to_dot())
            print(f"wrote {args.dot}")
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


def check_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chainrule check",
        description=(
            "Load a function and check its chainrule gradient against finite differences at "
            "random float64 inputs of the given shapes. Exit code 0 if it passes, 1 if not."
        ),
        epilog="example: chainrule check mymodel.py:loss --arg w=3,2 --arg x=5,3",
    )
    p.add_argument(
        "target",
        help="MODULE:FUNCTION, where MODULE is an importable module (pkg.mod) or a file path ending in .py",
    )
    p.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="NAME=SHAPE",
        help="one per positional argument, in order: SHAPE is comma-separated, e.g. 3,4; "
        "empty or () for a scalar (repeat --arg for each argument)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed for the inputs and the check (default 0)")
    p.add_argument(
        "--mode",
        choices=("full", "fast"),
        default="full",
        help="full: every partial derivative (default); fast: random directional probes",
    )
    p.add_argument(
        "--order", type=int, choices=(1, 2), default=1, help="2 also checks Hessian-vector products"
    )
    return p


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3,4"``, ``"(3, 4)"``, ``"3x4"``, ``""`` or ``"()"`` (a scalar) as a shape tuple."""
    t = text.strip().strip("()[]").replace("x", ",").replace(" ", "")
    if not t:
        return ()
    parts = [p for p in t.split(",") if p]
    shape = tuple(int(p) for p in parts)
    if any(n < 0 for n in shape) or int(np.prod(shape)) > 10**7:
        raise ValueError(f"shape {text!r} is negative or too large")
    return shape


def load_function(target: str) -> Callable[..., Any]:
    """Import ``module:function`` (module may be a ``.py`` file path)."""
    module_part, sep, func_part = target.rpartition(":")
    if not sep or not module_part or not func_part:
        raise ValueError(f"expected MODULE:FUNCTION, got {target!r}")
    if module_part.endswith(".py") or os.sep in module_part:
        path = os.path.abspath(module_part)
        if not os.path.isfile(path):
            raise ValueError(f"no such file: {module_part}")
        name = "_chainrule_check_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ValueError(f"cannot load {module_part}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(module_part)
    obj: Any = module
    for attr in func_part.split("."):
        if not hasattr(obj, attr):
            raise ValueError(f"{module_part} has no attribute {func_part!r}")
        obj = getattr(obj, attr)
    if not callable(obj):
        raise ValueError(f"{target} is not callable")
    return obj


def _order_args(
    f: Callable[..., Any], named: list[tuple[str, tuple[int, ...]]]
) -> list[tuple[str, tuple[int, ...]]]:
    """Put the --arg entries in the order of ``f``'s parameters when all names match."""
    try:
        params = [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return named
    given = {n for n, _ in named}
    if given <= set(params):
        missing = [p for p in params[: len(named)] if p not in given]
        if missing:
            raise ValueError(f"no --arg for parameter(s) {', '.join(missing)}")
        return sorted(named, key=lambda t: params.index(t[0]))
    return named


def _fallback_check(f: Callable[..., Any], args: list[np.ndarray], names: list[str]) -> tuple[bool, str]:
    """grad against central differences (used only when chainrule.check is not available)."""
    from ..transforms import grad

    g = grad(f, argnums=tuple(range(len(args))))(*args)
    lines = ["chainrule.check is not available; compared grad with central differences (h=1e-6)"]
    ok = True
    for k, (name, a, gk) in enumerate(zip(names, args, g)):
        num = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus, minus = [x.copy() for x in args], [x.copy() for x in args]
            plus[k][idx] += 1e-6
            minus[k][idx] -= 1e-6
            num[idx] = (float(f(*plus)) - float(f(*minus))) / 2e-6
        err = float(np.max(np.abs(np.asarray(gk) - num), initial=0.0))
        scale = 1.0 + float(np.max(np.abs(num), initial=0.0))
        passed = err <= 1e-5 * scale
        ok &= passed
        lines.append(f"  {name}: max |grad - numeric| = {err:.3g} ({'ok' if passed else 'FAIL'})")
    lines.append("PASS" if ok else "FAIL")
    return ok, "\n".join(lines)


def check_command(argv: Sequence[str] | None = None) -> int:
    """``chainrule check module:function --arg x=3,4 ...``; exit 0 pass, 1 fail, 2 usage error."""
    prog = "chainrule check"
    args = _parse(check_parser(), argv)
    if isinstance(args, int):
        return args
    named = []
    try:
        for item in args.arg:
            name, sep, shape = item.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"--arg expects NAME=SHAPE, got {item!r}")
            named.append((name.strip(), parse_shape(shape)))
        f = load_function(args.target)
        named = _order_args(f, named)
    except (ValueError, ImportError, SyntaxError) as exc:
        return _fail(prog, str(exc))
    rng = np.random.default_rng(args.seed)
    values = [
        rng.standard_normal(shape) if shape else np.float64(rng.standard_normal()) for _, shape in named
    ]
    names = [n for n, _ in named]
    try:
        from ..check import GradientCheckError, check_grad
    except ImportError:
        try:
            ok, report = _fallback_check(f, [np.asarray(v, dtype=np.float64) for v in values], names)
        except Exception as exc:
            return _fail(prog, f"{type(exc).__name__}: {exc}", 1)
        print(report)
        return 0 if ok else 1
    try:
        report = check_grad(
            f, *values, argnums=tuple(range(len(values))), seed=args.seed, mode=args.mode, order=args.order
        )
    except GradientCheckError as exc:
        print(str(exc))
        return 1
    except Exception as exc:
        return _fail(prog, f"{type(exc).__name__}: {exc}", 1)
    print(str(report))
    return 0
