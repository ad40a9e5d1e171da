"""The ``chainrule`` command (also ``python -m chainrule``).

Subcommands:

* ``demo``: backprop on a real network and real data (see :mod:`chainrule.demo`);
* ``explain``: the chain rule of one expression, node by node;
* ``check``: a user's function checked against finite differences.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description=(
            "Derivatives of plain NumPy code by backpropagation (the chain rule applied to a "
            "composition), checked by finite differences."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="train a network on handwritten digits; compare backprop with finite differences",
        description=(
            "Load the digits bundled with scikit-learn, check the network's gradient against "
            "finite differences, time one gradient both ways, train with Adam and report accuracy."
        ),
    )
    demo.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="network (default mlp)")
    demo.add_argument(
        "--epochs", type=int, default=None, help="training epochs (default 30 for mlp, 20 for cnn)"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed; the run is deterministic for a seed")
    demo.add_argument("--plot", metavar="PATH", help="write loss and accuracy curves to this PNG")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    sub.add_parser(
        "explain",
        help="show the chain rule of an expression node by node, e.g. explain 'sin(x*y) + x' --at x=1 y=2",
        add_help=False,
    )
    sub.add_parser(
        "check",
        help="check a function's gradient: check module:function --arg NAME=SHAPE ...",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in ("explain", "check"):
        from .explain.commands import check_command, explain_command

        command = explain_command if args_list[0] == "explain" else check_command
        return command(args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 2
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    from .demo import run_demo

    run_demo(args.model, epochs=args.epochs, seed=args.seed, plot=args.plot, progress=not args.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
