"""Run the chainrule benchmark: the workloads of bench/workloads.py on every engine, in one run.

Engines: chainrule, the hand-written NumPy backprop (the floor), and where
importable HIPS autograd, PyTorch (CPU, default thread count), JAX eager and
JAX ``jit``. Before timing anything, every engine's value and gradient are
compared with the hand-written ones; an engine that disagrees loses its row
(with the reason) instead of being timed.

Timing is timeit-style: one warm-up call (two for ``jit``: compile, then run),
then ``repeats`` repeats of a loop sized to last at least ``min_time``; the
median per-call time is reported. The repeats of all engines are interleaved,
so that load from elsewhere on the machine affects them alike. The garbage
collector is disabled inside a timed loop and run between repeats, as
``timeit`` does. The load average at the start and the end is printed: on a
busy machine the absolute times mean little, the ratios somewhat more.

Workload (e) measures peak memory, each engine in a fresh subprocess: after
the inputs exist, the kernel's peak-RSS counter is reset (``/proc/self/clear_refs``)
and the increment is the peak RSS during the gradient (``VmHWM``) minus the RSS
before it; the absolute peak is reported too. (``resource.getrusage(...).ru_maxrss``
is not usable here: Linux carries the parent's peak RSS across fork and exec
into it, so every child would report the parent's peak.) For the NumPy-based engines a second child
measures the same with ``tracemalloc`` (NumPy reports its buffers to it), which
does not depend on the allocator's caching.

Usage::

    python bench/run.py                 # everything, full size
    python bench/run.py --quick         # a short smoke run
    python bench/run.py --only a,b      # choose workloads (a, b, c, d, e; b32/b64 also work)
    python bench/run.py --json out.json # also write the raw numbers
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads as W

ENGINES = ["chainrule", "numpy-hand", "autograd", "torch", "jax", "jax.jit"]
HAND = "numpy-hand"

# -- engines ------------------------------------------------------------------------


def _try_import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: tree_map(fn, v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(tree_map(fn, v) for v in tree)
    return fn(tree)


def available_engines() -> dict[str, bool]:
    have = {"chainrule": True, "numpy-hand": True}
    have["autograd"] = _try_import("autograd") is not None
    have["torch"] = _try_import("torch") is not None
    jax = _try_import("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
    have["jax"] = have["jax.jit"] = jax is not None
    return have


def prepare(engine: str, w: W.Workload, args: tuple[Any, ...]) -> tuple[Callable, Callable, Callable]:
    """``(forward, value_and_grad, check)`` closures for one engine on one workload.

    ``check()`` returns ``(value as float, flat list of gradient arrays)``.
    """
    if engine in ("chainrule", "numpy-hand"):

        def fwd() -> Any:
            return w.fn(np, *args)

        if engine == "chainrule":
            import chainrule as cr

            vgf = cr.value_and_grad(lambda *a: w.fn(np, *a), argnums=w.argnums)

            def vg() -> Any:
                return vgf(*args)
        else:

            def vg() -> Any:
                return w.hand(*args)

        def check() -> Any:
            v, g = vg()
            return float(v), [np.asarray(x) for x in W.flatten(g)]

        return fwd, vg, check

    if engine == "autograd":
        import autograd
        import autograd.numpy as anp

        f = lambda *a: w.fn(anp, *a)
        vgf = autograd.value_and_grad(f, w.argnums)

        def fwd() -> Any:
            return f(*args)

        def vg() -> Any:
            return vgf(*args)

        def check() -> Any:
            v, g = vg()
            return float(v), [np.asarray(x) for x in W.flatten(g)]

        return fwd, vg, check

    if engine == "torch":
        import torch

        targs = list(tree_map(torch.from_numpy, args))
        for i in w.argnums:
            targs[i] = tree_map(lambda t: t.requires_grad_(True), targs[i])
        leaves = [leaf for i in w.argnums for leaf in W.flatten(targs[i])]

        def fwd() -> Any:
            with torch.no_grad():
                return w.fn(torch, *targs)

        def vg() -> Any:
            loss = w.fn(torch, *targs)
            return loss, torch.autograd.grad(loss, leaves)

        def check() -> Any:
            v, g = vg()
            return float(v.detach()), [x.numpy() for x in g]

        return fwd, vg, check

    if engine in ("jax", "jax.jit"):
        import jax
        import jax.numpy as jnp

        jargs = tree_map(jnp.asarray, args)
        f = lambda *a: w.fn(jnp, *a)
        vgf = jax.value_and_grad(f, argnums=w.argnums)
        if engine == "jax.jit":
            f, vgf = jax.jit(f), jax.jit(vgf)

        def fwd() -> Any:
            return jax.block_until_ready(f(*jargs))

        def vg() -> Any:
            return jax.block_until_ready(vgf(*jargs))

        def check() -> Any:
            v, g = vg()
            return float(v), [np.asarray(x) for x in W.flatten(g)]

        return fwd, vg, check

    raise ValueError(engine)


# -- verification and timing ----------------------------------------------------------------


def tolerance(dtype: np.dtype) -> tuple[float, float]:
    """(rtol, atol relative to the largest entry) for comparing gradients across engines."""
    return (2e-3, 1e-4) if dtype == np.float32 else (1e-6, 1e-9)


def compare(ref: tuple[float, list[np.ndarray]], got: tuple[float, list[np.ndarray]]) -> str | None:
    """None if ``got`` agrees with the hand-written ``ref``, else what differs."""
    (rv, rg), (gv, gg) = ref, got
    if len(rg) != len(gg):
        return f"{len(gg)} gradient leaves, expected {len(rg)}"
    rtol, atol = tolerance(rg[0].dtype)
    if not np.allclose(gv, rv, rtol=rtol, atol=atol * max(1.0, abs(rv))):
        return f"value {gv!r} != hand-written {rv!r}"
    for i, (r, g) in enumerate(zip(rg, gg)):
        if np.shape(r) != np.shape(g):
            return f"gradient leaf {i} has shape {np.shape(g)}, expected {np.shape(r)}"
        scale = float(np.max(np.abs(r))) if r.size else 1.0
        if not np.allclose(g, r, rtol=rtol, atol=atol * max(scale, 1e-30)):
            err = float(np.max(np.abs(np.asarray(g, dtype=np.float64) - r)))
            return f"gradient leaf {i} differs from hand-written (max abs err {err:.3g}, scale {scale:.3g})"
    return None


def calibrate(fn: Callable[[], Any], *, min_time: float, warmup: int = 1) -> int:
    """Warm ``fn`` up and return how many calls make one repeat last ``min_time``."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    return max(1, int(min_time / max(once, 1e-9)))


def one_repeat(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call over ``number`` calls, with the garbage collector off (as timeit)."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t0) / number
    finally:
        gc.enable()


def run_timed(w: W.Workload, engines: list[str], *, repeats: int, min_time: float) -> dict[str, dict]:
    """Verify every engine against the hand-written gradient, then time them.

    The repeats are interleaved (engine 1, engine 2, ..., engine 1, ...), so a
    burst of load from elsewhere on the machine hits all engines alike and the
    ratios stay meaningful.
    """
    args = w.make_args("full")
    hv, hg = w.hand(*args)
    ref = (float(hv), [np.asarray(x) for x in W.flatten(hg)])
    rows: dict[str, dict] = {}
    timed: dict[str, dict[str, Any]] = {}
    for engine in engines:
        try:
            fwd, vg, check = prepare(engine, w, args)
            err = None if engine == HAND else compare(ref, check())
        except Exception as e:
            err = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
        if err is not None:
            rows[engine] = {"error": err}
            print(f"  {engine:10s} ABORTED: {err}", file=sys.stderr)
            continue
        warm = 2 if engine == "jax.jit" else 1
        timed[engine] = {
            "forward": (fwd, calibrate(fwd, min_time=min_time, warmup=warm), []),
            "vg": (vg, calibrate(vg, min_time=min_time, warmup=warm), []),
        }
        rows[engine] = {}
    for _ in range(repeats):
        for kinds in timed.values():
            for fn, number, times in kinds.values():
                times.append(one_repeat(fn, number))
    for engine, kinds in timed.items():
        row = rows[engine]
        for kind, (_, _number, times) in kinds.items():
            row[kind] = statistics.median(times)
            row[kind + "_spread"] = (min(times), max(times))
        row["vg_over_fwd"] = row["vg"] / row["forward"]
        if w.n_ops:
            row["us_per_op"] = row["vg"] / w.n_ops * 1e6
            row["fwd_us_per_op"] = row["forward"] / w.n_ops * 1e6
        print(
            f"  {engine:10s} fwd {fmt_time(row['forward']):>9s}  vg {fmt_time(row['vg']):>9s}",
            file=sys.stderr,
        )
    return rows


# -- memory (e), each engine in a fresh process ------------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _malloc_trim() -> None:
    """Give freed heap memory back to the OS, so that the baseline RSS is live data only
    (otherwise an engine could reuse memory freed while the inputs were built, and look smaller)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def memory_child(engine: str, layers: int, mode: str) -> dict[str, Any]:
    """Runs in a fresh process: the gradient of (e), and how much memory it took."""
    import resource
    import tracemalloc

    w = W.WORKLOADS["e"]
    if engine in ("jax", "jax.jit"):
        import jax

        jax.config.update("jax_enable_x64", True)
    elif engine in ("torch", "autograd", "chainrule"):
        importlib.import_module(engine)
    if mode == "tracemalloc":
        tracemalloc.start()
    args = W.deep_args("full", layers=layers)
    if engine in ("jax", "jax.jit"):
        import jax.numpy as jnp

        x, ws = args
        x = jnp.asarray(x)
        ws = [jnp.asarray(ws.pop(0)) for _ in range(len(ws))]  # convert one at a time
        args = (x, ws)
        gc.collect()
    _, vg, _ = prepare(engine, w, args)
    del args
    result: dict[str, Any] = {"engine": engine, "mode": mode, "layers": layers}
    if engine == "jax.jit":  # compile (and run) once, so the measurement is the run, not XLA
        vg()
    gc.collect()
    _malloc_trim()
    if mode == "tracemalloc":
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = vg()
        peak = tracemalloc.get_traced_memory()[1]
        result.update(base_kib=base // 1024, peak_kib=peak // 1024)
    else:
        base = _rss_kib()
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # reset this process's peak-RSS counter (VmHWM)
            result["peak_reset"] = True
        except OSError:
            result["peak_reset"] = False
        out = vg()
        # ru_maxrss also counts the parent's RSS at fork (Linux keeps it across exec),
        # so it is reported but the peak is the process's own high-water mark, VmHWM.
        result["ru_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = _status_kib("VmHWM") if result["peak_reset"] else result["ru_maxrss_kib"]
        result.update(base_kib=base, peak_kib=peak)
    result["increment_kib"] = result["peak_kib"] - result["base_kib"]
    value, grads = out
    leaves = W.flatten(grads)
    result["checksum"] = [float(value)] + [
        float(np.sum(np.abs(np.asarray(g, dtype=np.float64)))) for g in leaves[:3]
    ]
    result["checksum"].append(float(sum(np.sum(np.abs(np.asarray(g, dtype=np.float64))) for g in leaves)))
    return result


def run_memory(engines: list[str], layers: int) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    # Small-depth gradient check in this process first (the children only report checksums).
    w = W.WORKLOADS["e"]
    args = W.deep_args("full", layers=8)
    hv, hg = w.hand(*args)
    ref = (float(hv), [np.asarray(x) for x in W.flatten(hg)])
    for engine in engines:
        row: dict[str, Any] = {}
        if engine != HAND:
            try:
                err = compare(ref, prepare(engine, w, args)[2]())
            except Exception as e:
                err = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
            if err:
                rows[engine] = {"error": err}
                print(f"  {engine:10s} ABORTED: {err}", file=sys.stderr)
                continue
        modes = ["rss", "tracemalloc"] if engine in ("chainrule", HAND, "autograd") else ["rss"]
        for mode in modes:
            cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", engine]
            cmd += ["--layers", str(layers), "--mode", mode]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                row["error"] = f"child failed: {proc.stderr.strip().splitlines()[-1:]}"
                break
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            row[mode] = res
        rows[engine] = row
        if "rss" in row:
            print(
                f"  {engine:10s} peak {row['rss']['peak_kib'] / 1024:8.1f} MiB  "
                f"increment {row['rss']['increment_kib'] / 1024:8.1f} MiB",
                file=sys.stderr,
            )
    # The full-depth results must agree too (checksums of the value and the gradients).
    ref_sum = rows.get(HAND, {}).get("rss", {}).get("checksum")
    if ref_sum:
        for row in rows.values():
            got = row.get("rss", {}).get("checksum")
            if got and not np.allclose(got, ref_sum, rtol=1e-6):
                row["error"] = f"full-depth gradient checksum {got} != hand-written {ref_sum}"
    return rows


# -- reporting -----------------------------------------------------------------------------


def fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.1f} µs"
    if t < 1.0:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.3f} s"


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as fh:
            models = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        info["cpu"] = models[0] if models else platform.processor()
        info["logical_cpus"] = len(models)
    except OSError:
        info["cpu"] = platform.processor()
    info["usable_cpus"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for name in ("numpy", "chainrule", "autograd", "torch", "jax", "jaxlib"):
        mod = _try_import(name)
        info[name] = getattr(mod, "__version__", "installed") if mod is not None else "not installed"
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        info["numpy_blas"] = "?"
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    info["GLIBC_TUNABLES"] = os.environ.get("GLIBC_TUNABLES", "")
    info["load_average_at_start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


def timing_table(results: dict[str, dict[str, dict]]) -> str:
    lines = [
        "| workload | engine | forward | value_and_grad | vg/fwd | µs/op (vg) | chainrule/engine |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, rows in results.items():
        if key == "e":
            continue
        title = W.WORKLOADS[key].title
        cr_vg = rows.get("chainrule", {}).get("vg")
        for engine, row in rows.items():
            if "error" in row:
                lines.append(f"| {title} | {engine} | aborted: {row['error']} | | | | |")
                continue
            per_op = f"{row['us_per_op']:.2f}" if "us_per_op" in row else ""
            ratio = f"{cr_vg / row['vg']:.2f}x" if cr_vg else "-"
            lines.append(
                f"| {title} | {engine} | {fmt_time(row['forward'])} | {fmt_time(row['vg'])} | "
                f"{row['vg_over_fwd']:.2f} | {per_op} | {ratio} |"
            )
    return "\n".join(lines)


def memory_table(rows: dict[str, dict]) -> str:
    lines = [
        "| engine | peak RSS | RSS increment | chainrule/engine (RSS incr.) | tracemalloc peak increment "
        "| chainrule/engine (tracemalloc) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    cr = rows.get("chainrule", {})
    cr_rss = cr.get("rss", {}).get("increment_kib")
    cr_tm = cr.get("tracemalloc", {}).get("increment_kib")
    for engine, row in rows.items():
        if "error" in row:
            lines.append(f"| {engine} | aborted: {row['error']} | | | | |")
            continue
        rss, tm = row.get("rss", {}), row.get("tracemalloc", {})
        mib = lambda k: f"{k / 1024:.1f} MiB" if k is not None else "-"
        r1 = f"{cr_rss / rss['increment_kib']:.2f}x" if cr_rss and rss.get("increment_kib") else "-"
        r2 = f"{cr_tm / tm['increment_kib']:.2f}x" if cr_tm and tm.get("increment_kib") else "-"
        lines.append(
            f"| {engine} | {mib(rss.get('peak_kib'))} | {mib(rss.get('increment_kib'))} | {r1} | "
            f"{mib(tm.get('increment_kib'))} | {r2} |"
        )
    return "\n".join(lines)


def targets(results: dict[str, dict[str, dict]], memory: dict[str, dict] | None) -> list[str]:
    out = []

    def check(label: str, ours: float | None, theirs: float | None, limit: float, unit: str = "s") -> None:
        if ours is None or theirs is None:
            out.append(f"- {label}: n/a (an engine is missing or aborted)")
            return
        ratio = ours / theirs
        verdict = "PASS" if ratio <= limit else "MISS"
        if unit == "s":
            detail = f"{fmt_time(ours)} vs {fmt_time(theirs)}"
        elif unit == "KiB":
            detail = f"{ours / 1024:.1f} vs {theirs / 1024:.1f} MiB"
        else:
            detail = f"{ours:.2f} vs {theirs:.2f} {unit}"
        out.append(f"- {verdict} {label}: {ratio:.3f}x (limit {limit}x; {detail})")

    def get(key: str, engine: str, field: str) -> float | None:
        return results.get(key, {}).get(engine, {}).get(field)

    for key, rows in results.items():
        ours, theirs = rows.get("chainrule", {}).get("forward"), rows.get(HAND, {}).get("forward")
        if key != "e" and ours and theirs:
            out.append(
                f"- control ({key}): the forward rows of chainrule and numpy-hand run identical code; "
                f"their ratio {ours / theirs:.3f} shows this run's measurement noise"
            )
    if "a" in results:
        check(
            "(a) per-op vg cost vs autograd",
            get("a", "chainrule", "us_per_op"),
            get("a", "autograd", "us_per_op"),
            0.5,
            "µs/op",
        )
        check(
            "(a) per-op vg cost vs torch eager (aim)",
            get("a", "chainrule", "us_per_op"),
            get("a", "torch", "us_per_op"),
            1.0,
            "µs/op",
        )
    for key in ("b32", "b64", "d"):
        if key in results:
            check(f"({key}) vg vs hand-written", get(key, "chainrule", "vg"), get(key, HAND, "vg"), 1.2)
    if "c" in results:
        check("(c) vg vs hand-written", get("c", "chainrule", "vg"), get("c", HAND, "vg"), 1.3)
    if memory:
        for mode in ("rss", "tracemalloc"):
            ours = memory.get("chainrule", {}).get(mode, {}).get("increment_kib")
            theirs = memory.get(HAND, {}).get(mode, {}).get("increment_kib")
            check(f"(e) peak memory increment ({mode}) vs hand-written", ours, theirs, 1.1, "KiB")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short smoke run (few repeats, 100 layers in (e))")
    p.add_argument("--only", default="", help="comma-separated workloads: a,b,c,d,e (or b32,b64)")
    p.add_argument("--engines", default="", help="comma-separated subset of " + ",".join(ENGINES))
    p.add_argument("--json", default=None, help="also write the raw results to this file")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--layers", type=int, default=W.DEEP_LAYERS, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="rss", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)

    if opts.memory_child:
        print(json.dumps(memory_child(opts.memory_child, opts.layers, opts.mode)))
        return 0

    have = available_engines()
    engines = [e for e in ENGINES if have[e]]
    if opts.engines:
        wanted = opts.engines.split(",")
        engines = [e for e in engines if e in wanted]
    missing = [e for e in ENGINES if not have[e]]
    keys = list(W.WORKLOADS)
    if opts.only:
        wanted = [k.strip() for k in opts.only.split(",") if k.strip()]
        keys = [k for k in keys if any(k == x or k.rstrip("0123456789") == x for x in wanted)]
    repeats = opts.repeats or (3 if opts.quick else 11)
    min_time = 0.02 if opts.quick else 0.2
    layers = 100 if opts.quick else opts.layers

    info = machine_info()
    results: dict[str, dict[str, dict]] = {}
    memory = None
    for key in keys:
        w = W.WORKLOADS[key]
        print(f"{w.title} ...", file=sys.stderr)
        if w.memory:
            memory = run_memory(engines, layers)
            results[key] = memory
        else:
            results[key] = run_timed(w, engines, repeats=repeats, min_time=min_time)

    info["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print("## Machine\n")
    for k, v in info.items():
        print(f"- {k}: {v}")
    if missing:
        print(f"- not installed: {', '.join(missing)}")
    print(f"- repeats: {repeats} (median), min {min_time}s per repeat{', QUICK' if opts.quick else ''}\n")
    if any(k != "e" for k in results):
        print("## Time\n")
        print(timing_table(results))
        print()
    if memory is not None:
        print(f"## Peak memory of (e), {layers} layers, each engine in a fresh process\n")
        print(memory_table(memory))
        print()
    print("## Targets (chainrule as a ratio of the peer, in this run)\n")
    print("\n".join(targets(results, memory)))
    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump({"machine": info, "results": results, "quick": opts.quick}, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
