"""Instructions per call of chainrule.jit, eager chainrule and the hand-written backprop (callgrind).

Wall-clock ratios on a loaded machine are noisy; instruction counts are not.
Each row runs in its own process under ``valgrind --tool=callgrind`` twice,
with ``n1`` and ``n2`` steady-state calls after the same setup (imports, data,
warm-up, staging); the difference divided by ``n2 - n1`` is the count of one
call, with startup cancelled out. BLAS runs single-threaded here
(``OPENBLAS_NUM_THREADS=1``), so the counts are of one core's work.

Usage::

    python bench/jit_callgrind.py            # a and b64
    python bench/jit_callgrind.py --only a
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROWS = ("numpy-hand", "chainrule jit", "chainrule eager")
CALLS = {"a": (20, 120), "b64": (2, 6), "b32": (2, 6), "c": (1, 3)}


def child(key: str, row: str, n: int) -> None:
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import workloads as W

    import chainrule as cr

    w = W.WORKLOADS[key]
    args = w.make_args("full")
    f = lambda *a: w.fn(np, *a)
    if row == "numpy-hand":
        fn = lambda: w.hand(*args)
    elif row == "chainrule jit":
        jf = cr.jit(cr.value_and_grad(f))
        fn = lambda: jf(*args)
    else:
        vg = cr.value_and_grad(f)
        fn = lambda: vg(*args)
    fn()
    fn()
    for _ in range(n):
        fn()


def count(key: str, row: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
             os.path.abspath(__file__), "--child", key, row, str(n)],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        with open(out) as fh:
            text = fh.read()
    m = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
    if m is None:
        raise RuntimeError("no instruction total in the callgrind output")
    return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="a,b64")
    p.add_argument("--child", nargs=3, metavar=("KEY", "ROW", "N"))
    opts = p.parse_args(argv)
    if opts.child:
        key, row, n = opts.child
        child(key, row, int(n))
        return 0
    jobs = [(k, row, n) for k in opts.only.split(",") for row in ROWS for n in CALLS[k]]
    with ThreadPoolExecutor(max_workers=min(6, os.cpu_count() or 1)) as pool:
        totals = dict(zip(jobs, pool.map(lambda j: count(*j), jobs)))
    print("| workload | row | instructions per call | ratio to hand-written |")
    print("|---|---|---:|---:|")
    for key in opts.only.split(","):
        n1, n2 = CALLS[key]
        per = {row: (totals[(key, row, n2)] - totals[(key, row, n1)]) / (n2 - n1) for row in ROWS}
        for row in ROWS:
            print(f"| {key} | {row} | {per[row]:,.0f} | {per[row] / per['numpy-hand']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
