"""The ``chainrule`` command (also ``python -m chainrule``).

Subcommands:

* ``demo``: backprop on a real network and real data (see :mod:`chainrule.demo`);
* ``explain``: the chain rule of one expression, node by node;
* ``check``: a user's function checked against finite differences.

``chainrule --version`` prints the version.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from ._version import __version__

__all__ = ["main"]

CHECK_EPILOG = """\
examples:
  chainrule check mymodel.py:loss --arg w=shape:3,2 --arg x=shape:5,3
  chainrule check mymodel.py:f --arg x=0.5 --arg w="[1, 2]"
  chainrule check mymodel.py:f --arg x=shape:10 --domain x=0.1,2   (log: x > 0)
  chainrule check mymodel.py:f --arg params='{"w": [[1, 2]], "b": [0]}'
  chainrule check mymodel.py:sim --arg x=shape:200 --workers 8     (processes)
  chainrule check mymodel.py:sim --arg x=shape:200 --executor tcp://host:8786
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chainrule",
        description=(
            "Derivatives of plain NumPy code by backpropagation (the chain rule applied to a "
            "composition), checked by finite differences."
        ),
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="train a network on handwritten digits; compare backprop with finite differences",
        description=(
            "Load the digits bundled with scikit-learn, check the network's gradient against "
            "finite differences, time one gradient both ways, train with Adam and report accuracy. "
            'Needs the demo extra: pip install "chainrule[demo]".'
        ),
    )
    demo.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="network (default mlp)")
    demo.add_argument(
        "--epochs", type=int, default=None, help="training epochs (default 30 for mlp, 20 for cnn)"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed; the run is deterministic for a seed")
    demo.add_argument(
        "--plot", metavar="PATH", help="write loss, accuracy and cost-versus-N pictures to this PNG"
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bars even on a terminal")
    demo.add_argument(
        "--distributed",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="also run the finite differences on Dask: a LocalCluster, or the scheduler at ADDRESS "
        '(needs pip install "chainrule[dask]")',
    )
    sub.add_parser(
        "explain",
        help="show the chain rule of an expression node by node, e.g. explain 'sin(x*y) + x' --at x=1 y=2",
        add_help=False,
    )
    _add_check_parser(sub)
    return parser


def _add_check_parser(sub: Any) -> None:
    check = sub.add_parser(
        "check",
        help="check a function's gradient: check module:function --arg NAME=VALUE|shape:3,4 ...",
        description=(
            "Load a function and check its chainrule gradient against finite differences.\n"
            "Exit code 0 if it passes, 1 if it does not, 2 for a usage error."
        ),
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "target", help="MODULE:FUNCTION, where MODULE is importable (pkg.mod) or a file path ending in .py"
    )
    check.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one per positional argument: a value (0.5, [1, 2], JSON for dicts and nested lists) "
        "or shape:3,4 for random float64 inputs (shape: alone for a random scalar)",
    )
    check.add_argument(
        "--domain",
        action="append",
        default=[],
        metavar="NAME=LOW,HIGH",
        help="draw the random argument NAME uniformly from [LOW, HIGH) (default -1,1)",
    )
    check.add_argument("--seed", default="0", help="random seed for the inputs and the check (default 0)")
    check.add_argument(
        "--mode",
        choices=("full", "fast"),
        default="full",
        help="full: every partial derivative (default); fast: random directional probes",
    )
    check.add_argument(
        "--order", type=int, choices=(1, 2), default=1, help="2 also checks Hessian-vector products"
    )
    check.add_argument(
        "--grad",
        default=None,
        metavar="MODULE:FUNCTION",
        help="check this hand-written gradient of the function (same arguments, returns one "
        "gradient per argument) instead of chainrule's, by finite differences only",
    )
    check.add_argument("--plain", action="store_true", help="no colour, even on a terminal")
    check.add_argument(
        "--workers", type=int, metavar="N", help="evaluate the finite differences in N local processes"
    )
    check.add_argument(
        "--executor",
        metavar="ADDRESS",
        help="evaluate them on the Dask cluster at ADDRESS (tcp://host:8786), or 'local' for a new "
        'LocalCluster (of --workers processes); needs pip install "chainrule[dask]"',
    )


def _fail(message: str, code: int = 2) -> int:
    from .terminal import terminal

    print(f"chainrule check: error: {terminal(' '.join(message.split()))}", file=sys.stderr)
    return code


def _finite(value: Any) -> bool:
    import numpy as np

    from .pytree import tree_leaves

    return all(bool(np.all(np.isfinite(np.asarray(leaf, dtype=float)))) for leaf in tree_leaves(value))


def check_command(args: argparse.Namespace) -> int:
    """``chainrule check``: exit 0 if the gradient passes, 1 if not, 2 for a usage error."""
    from .cli_inputs import (
        InputSpecError,
        RandomSpec,
        load_function,
        make_inputs,
        order_specs,
        parse_arg,
        parse_domain,
        parse_seed,
    )

    try:
        specs = [parse_arg(text) for text in args.arg]
        domains: dict[str, tuple[float, float]] = {}
        for text in args.domain:
            name, low, high = parse_domain(text)
            domains[name] = (low, high)
        seed = parse_seed(args.seed)
        if not specs:
            raise InputSpecError("give each argument with --arg NAME=VALUE or --arg NAME=shape:3,4")
        f = load_function(args.target)
        hand = None if args.grad is None else load_function(args.grad)
        if hand is not None and args.order != 1:
            raise InputSpecError("--grad checks a gradient: use it with --order 1")
        specs = order_specs(f, specs)
        values = make_inputs(specs, domains, seed)
    except InputSpecError as exc:
        return _fail(str(exc))
    except (ImportError, SyntaxError) as exc:
        return _fail(f"cannot import {args.grad if args.grad and args.grad in str(exc) else args.target}: "
                     f"{type(exc).__name__}: {exc}")  # fmt: skip
    import numpy as np

    from .check import GradientCheckError, check_grad

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # a non-finite value is reported below
            warnings.simplefilter("ignore", RuntimeWarning)
            out = f(*values)
    except Exception as exc:
        return _fail(f"{args.target} raised {type(exc).__name__} at these inputs: {exc}", 1)
    if not _finite(out):
        random = [s.name for s in specs if s.name not in domains and isinstance(s, RandomSpec)]
        hint = (
            f"; give --domain NAME=LOW,HIGH for {', '.join(random)} (drawn from [-1, 1) by default)"
            if random
            else ""
        )
        return _fail(f"{args.target} is not finite (nan or inf) at these inputs: choose inputs inside "
                     f"its domain{hint}")  # fmt: skip
    colour = False if args.plain else None
    if args.workers is not None and args.workers < 1:
        return _fail(f"--workers must be at least 1, not {args.workers}")
    try:
        argnums = tuple(range(len(values)))
        with _evaluation_executor(args, f) as executor:
            if hand is None:
                report = check_grad(f, *values, argnums=argnums, seed=seed, mode=args.mode,
                                    order=args.order, executor=executor)  # fmt: skip
            else:
                # The gradient of the only argument, or a tuple of one per argument (as chainrule's grad).
                given = 0 if len(values) == 1 else argnums
                report = check_grad(f, *values, argnums=given, seed=seed, mode=args.mode, grad=hand,
                                    executor=executor)  # fmt: skip
    except GradientCheckError as exc:
        exc.report.show(colour=colour)
        return 1
    except Exception as exc:
        return _fail(f"{type(exc).__name__}: {exc}", 1)
    report.show(colour=colour)
    return 0


@contextlib.contextmanager
def _evaluation_executor(args: argparse.Namespace, f: Any) -> Iterator[Any]:
    """Where ``chainrule check`` evaluates: here (None), N processes, or a Dask cluster."""
    if args.executor is None and (args.workers is None or args.workers == 1):
        yield None
        return
    from .cli_progress import EvaluationTicker
    from .distributed.cluster import cluster_client, ship_by_value
    from .numerical.executors import with_progress

    ship_by_value(f)  # a function loaded from a file path travels by value
    if args.executor is not None:
        address = None if args.executor == "local" else args.executor
        with cluster_client(address, workers=args.workers, malloc_trim=False) as client:
            where = f"the cluster at {address}" if address else f"{len(client.nthreads())} Dask workers"
            ticker = EvaluationTicker(sys.stderr, where)
            try:
                yield with_progress(client, ticker)
            finally:
                ticker.close()
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(args.workers) as pool:
        ticker = EvaluationTicker(sys.stderr, f"{args.workers} worker processes")
        try:
            yield with_progress(pool, ticker)
        finally:
            ticker.close()


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import MissingExtraError, run_demo
    from .distributed.cluster import MissingDaskError

    try:
        run_demo(args.model, epochs=args.epochs, seed=args.seed, plot=args.plot,
                 progress=not args.no_progress, distributed=args.distributed)  # fmt: skip
    except (MissingExtraError, MissingDaskError) as exc:
        print(f"chainrule demo: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "explain":
        from .explain.commands import explain_command

        return explain_command(args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "check":
        return check_command(args)
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    return _run_demo(args)


if __name__ == "__main__":
    sys.exit(main())
