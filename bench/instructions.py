"""Instruction counts of chainrule's per-operation work, for comparing two versions on a busy machine.

Wall-clock ratios on a shared 2-core machine swing by 2x; the number of
instructions executed does not depend on the load. This script runs one
workload ``n`` times; run it under callgrind at two values of ``n`` and take
the difference, so that start-up (imports, rule registration) cancels:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/instructions.py a 20
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/instructions.py a 120
    # instructions per call = (Collected at 120 - Collected at 20) / 100

To compare with another version, put its ``src`` first on ``PYTHONPATH``
(``git worktree add /tmp/base <commit>``; ``PYTHONPATH=/tmp/base/src``).

Workloads: ``a`` value_and_grad of the 200-op chain on shape (3,) (bench/workloads.py);
``b`` the MLP of bench/workloads.py at its tiny size, float32 (per-op overhead);
``h`` the Hessian of the 20-D Rosenbrock function (forward over reverse);
``c`` the 1e6-element elementwise expression (large arrays: allocation and sweep).
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads as W

import chainrule as cr


def workload(name: str) -> tuple:
    if name == "a":
        return cr.value_and_grad(lambda *a: W.chain(np, *a)), W.chain_args("full")
    if name == "b":
        return cr.value_and_grad(lambda *a: W.mlp(np, *a)), W.mlp_args("tiny", np.float32)
    if name == "h":

        def rosenbrock(x: np.ndarray) -> np.ndarray:
            return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

        return cr.hessian(rosenbrock), (np.linspace(0.1, 1.0, 20),)
    if name == "c":
        return cr.value_and_grad(lambda *a: W.elementwise(np, *a)), W.elementwise_args("full")
    raise SystemExit(f"unknown workload {name!r}: use a, b, h or c")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    fn, args = workload(sys.argv[1])
    for _ in range(int(sys.argv[2])):
        fn(*args)
