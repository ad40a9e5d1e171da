"""Peak memory and time of the gradient of a deep chain, plain vs checkpointed, each case in a fresh process.

The chain is x = tanh(x @ W_i) for i < N (N = 1000, x of shape (64, 256),
W_i of shape (256, 256), float64); the loss is sum(x). The gradient is taken
with respect to x (the weights are constants, so what is measured is the
activations the backward pass keeps, which is what checkpointing trades for
recomputation). Checkpointed runs wrap each segment of round(sqrt(N)) layers.

Peak memory is the increase of the process's maximum resident set size over
its value once the inputs exist (ru_maxrss), which every engine's allocator
shows alike.

Usage: python bench/checkpoint_memory.py [--layers 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time

CASES = ["chainrule", "chainrule-checkpoint", "torch", "torch-checkpoint", "jax", "jax-checkpoint"]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _inputs(n: int):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 256))
    ws = [rng.standard_normal((256, 256)) / 16.0 for _ in range(n)]
    return x, ws


def run_case(case: str, n: int) -> dict[str, float]:
    import numpy as np

    x, ws = _inputs(n)
    seg = max(1, round(math.sqrt(n)))
    if case.startswith("chainrule"):
        import chainrule as cr

        def segment(h, *w):
            for wi in w:
                h = np.tanh(h @ wi)
            return h

        block = cr.checkpoint(segment)

        def loss(x):
            h = x
            if case.endswith("checkpoint"):
                for i in range(0, n, seg):
                    h = block(h, *ws[i : i + seg])
            else:
                h = segment(h, *ws)
            return np.sum(h)

        compute = lambda: cr.grad(loss)(x)
    elif case.startswith("torch"):
        import torch
        from torch.utils.checkpoint import checkpoint

        tx = torch.from_numpy(x).requires_grad_(True)
        tws = [torch.from_numpy(w) for w in ws]

        def tsegment(h, lo, hi):
            for w in tws[lo:hi]:
                h = torch.tanh(h @ w)
            return h

        def compute():
            tx.grad = None
            if case.endswith("checkpoint"):
                h = tx
                for i in range(0, n, seg):
                    h = checkpoint(tsegment, h, i, min(n, i + seg), use_reentrant=False)
            else:
                h = tsegment(tx, 0, n)
            h.sum().backward()
            return tx.grad.numpy()
    else:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jws = [jnp.asarray(w) for w in ws]

        def jsegment(h, w):
            for wi in w:
                h = jnp.tanh(h @ wi)
            return h

        jblock = jax.checkpoint(jsegment)

        def jloss(x):
            h = x
            if case.endswith("checkpoint"):
                for i in range(0, n, seg):
                    h = jblock(h, jws[i : i + seg])
            else:
                h = jsegment(h, jws)
            return jnp.sum(h)

        jx = jnp.asarray(x)
        compute = lambda: np.asarray(jax.grad(jloss)(jx))
    base = _rss_mib()
    start = time.perf_counter()
    g = compute()
    elapsed = time.perf_counter() - start
    peak = _rss_mib() - base
    return {"peak_mib": peak, "seconds": elapsed, "checksum": float(np.sum(g))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.layers)))
        return
    results: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeat):
        for case in CASES:
            proc = subprocess.run(
                [sys.executable, __file__, "--case", case, "--layers", str(args.layers)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                results.setdefault(case, [])
                continue
            results.setdefault(case, []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
    segment = round(math.sqrt(args.layers))
    print(f"gradient of {args.layers} layers tanh(x @ W), x (64, 256), w.r.t. x; "
          f"segments of {segment} layers; medians of {args.repeat} fresh processes\n")  # fmt: skip
    print("| case | peak memory increase (MiB) | time (s) | checksum |")
    print("| --- | --- | --- | --- |")
    med = {}
    for case in CASES:
        runs = results.get(case) or []
        if not runs:
            print(f"| {case} | not available | | |")
            continue
        peak = sorted(r["peak_mib"] for r in runs)[len(runs) // 2]
        secs = sorted(r["seconds"] for r in runs)[len(runs) // 2]
        med[case] = (peak, secs)
        print(f"| {case} | {peak:.1f} | {secs:.3f} | {runs[0]['checksum']:.6g} |")
    if "chainrule" in med and "chainrule-checkpoint" in med:
        (p0, t0), (p1, t1) = med["chainrule"], med["chainrule-checkpoint"]
        print(f"\nchainrule checkpoint: {p0 / max(p1, 1e-9):.1f}x less peak memory (target >= 5x), "
              f"{t1 / t0:.2f}x the time (target <= 1.5x)")  # fmt: skip


if __name__ == "__main__":
    main()
