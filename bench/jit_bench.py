"""chainrule.jit against eager chainrule and the hand-written NumPy backprop (issue 16).

For each workload of bench/workloads.py: value_and_grad eager, value_and_grad
under ``cr.jit`` (steady state: the staged code), and the hand-written
backprop (the floor). Timing as bench/run.py: calibrated loops, repeats
interleaved across the rows so machine load hits them alike, the median
reported. A control row runs the hand-written code a second time under
another name: its ratio to the first shows this run's noise. JAX's jit of
``jax.value_and_grad`` is a peer row where JAX is installed. Staging cost is
the first call of a fresh ``cr.jit`` (tracing, code generation, compilation,
one run) beside the first call of a fresh ``jax.jit`` (tracing, XLA
compilation, one run; JAX's caches cleared first), each with its steady call.

Usage::

    python bench/jit_bench.py            # a (chain), b64, b32, c
    python bench/jit_bench.py --quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R
import workloads as W

import chainrule as cr


def _jax_fns(w: W.Workload, args: tuple[Any, ...]) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
    """JAX jit of value_and_grad: ``(steady call, first call of a fresh jit)``; None without JAX."""
    if not R.available_engines().get("jax.jit"):
        return None
    import jax

    _, steady, _ = R.prepare("jax.jit", w, args)
    steady()  # compiled once: the rows time the compiled code

    def first_call() -> Any:
        jax.clear_caches()  # nothing reused from an earlier compilation
        _, vg, _ = R.prepare("jax.jit", w, args)
        return vg()

    return steady, first_call


def _rows(key: str) -> tuple[dict[str, Callable[[], Any]], dict[str, Callable[[], Any]], int]:
    w = W.WORKLOADS[key]
    args = w.make_args("full")
    f = lambda *a: w.fn(np, *a)
    vg = cr.value_and_grad(f)
    jvg = cr.jit(vg, fuse=False)
    fused = cr.jit(vg, fuse=True)
    hand = w.hand
    # The same check as bench/run.py before anything is timed.
    hv, hg = hand(*args)
    for got in (vg(*args), jvg(*args), jvg(*args), fused(*args), fused(*args)):
        assert np.allclose(got[0], hv, rtol=1e-4), (key, got[0], hv)
        for a, b in zip(W.flatten(got[1]), W.flatten(hg[0])):
            assert np.allclose(a, b, rtol=1e-3, atol=1e-6 * max(1.0, float(np.max(np.abs(b))))), key
    rows = {
        "numpy-hand": lambda: hand(*args),
        "chainrule eager": lambda: vg(*args),
        "chainrule jit": lambda: jvg(*args),
        "chainrule jit+numexpr": lambda: fused(*args),
        "numpy-hand (control)": lambda: hand(*args),
    }
    firsts = {"chainrule jit": lambda: cr.jit(cr.value_and_grad(f))(*args)}
    jax_fns = _jax_fns(w, args)
    if jax_fns is not None:
        rows["JAX jit"] = jax_fns[0]
        firsts["JAX jit"] = jax_fns[1]
    return rows, firsts, w.n_ops


def measure(key: str, repeats: int, min_time: float) -> dict[str, Any]:
    rows, firsts, n_ops = _rows(key)
    timed = {name: (fn, R.calibrate(fn, min_time=min_time), []) for name, fn in rows.items()}
    cpu: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(repeats):
        for name, (fn, number, times) in timed.items():
            c0 = time.process_time()
            times.append(R.one_repeat(fn, number))
            cpu[name].append((time.process_time() - c0) / number)
    out: dict[str, Any] = {name: statistics.median(t) for name, (_, _, t) in timed.items()}
    # CPU time of this process (all its threads, page faults included): less sensitive than the
    # wall clock to other processes on a loaded machine.
    out["cpu"] = {name: statistics.median(t) for name, t in cpu.items()}
    first_times: dict[str, list[float]] = {name: [] for name in firsts}
    for _ in range(max(3, repeats // 2)):  # interleaved, as the rows
        for name, fn in firsts.items():
            t0 = time.perf_counter()
            fn()
            first_times[name].append(time.perf_counter() - t0)
    out["first"] = {name: statistics.median(t) for name, t in first_times.items()}
    out["n_ops"] = n_ops
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| workload | hand-written | eager | jit (steady) | jit / hand | jit+numexpr / hand | eager / hand | "
        "JAX jit / hand | control | CPU time: jit / hand, jit+numexpr / hand, control | per op: hand, jit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in results.items():
        hand, eager, jit = r["numpy-hand"], r["chainrule eager"], r["chainrule jit"]
        c = r["cpu"]
        ch = c["numpy-hand"]
        per_op = f"{hand / r['n_ops'] * 1e6:.2f}, {jit / r['n_ops'] * 1e6:.2f} µs" if r["n_ops"] else "-"
        jax = f"{r['JAX jit'] / hand:.3f}" if "JAX jit" in r else "-"
        lines.append(
            f"| {key} | {R.fmt_time(hand)} | {R.fmt_time(eager)} | {R.fmt_time(jit)} | "
            f"{jit / hand:.3f} | {r['chainrule jit+numexpr'] / hand:.3f} | {eager / hand:.2f} | {jax} | "
            f"{r['numpy-hand (control)'] / hand:.3f} | {c['chainrule jit'] / ch:.3f}, "
            f"{c['chainrule jit+numexpr'] / ch:.3f}, {c['numpy-hand (control)'] / ch:.3f} | {per_op} |"
        )
    return "\n".join(lines)


def staging_table(results: dict[str, dict[str, Any]]) -> str:
    """First call of a fresh jit (staging or tracing and compiling, plus one run) against steady calls."""
    lines = [
        "| workload | chainrule first call | steady | first / steady | JAX jit first call | steady | "
        "first / steady | chainrule first / JAX first |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in results.items():
        cf, cs = r["first"]["chainrule jit"], r["chainrule jit"]
        row = f"| {key} | {R.fmt_time(cf)} | {R.fmt_time(cs)} | {cf / cs:.0f} | "
        if "JAX jit" in r:
            jf, js = r["first"]["JAX jit"], r["JAX jit"]
            row += f"{R.fmt_time(jf)} | {R.fmt_time(js)} | {jf / js:.0f} | {cf / jf:.2f} |"
        else:
            row += "- | - | - | - |"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="a,b64,b32,c")
    opts = p.parse_args(argv)
    repeats, min_time = (3, 0.05) if opts.quick else (11, 0.2)
    load0 = os.getloadavg()
    results = {}
    for key in opts.only.split(","):
        print(f"[{key}]", file=sys.stderr)
        results[key] = measure(key, repeats, min_time)
    load1 = os.getloadavg()
    print(table(results))
    print()
    print(staging_table(results))
    info = R.machine_info()
    versions = ", ".join(f"{k} {info[k]}" for k in ("python", "numpy", "jax", "jaxlib", "numpy_blas"))
    try:
        import numexpr

        versions += f", numexpr {numexpr.__version__} ({numexpr.get_num_threads()} threads)"
    except ImportError:
        versions += ", numexpr not installed"
    print(
        f"\nrepeats {repeats} (median), min {min_time}s per repeat; load average "
        f"{load0[0]:.1f} -> {load1[0]:.1f}; {info['cpu']}, {info['usable_cpus']} usable CPUs; {versions}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
