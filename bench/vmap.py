"""vmap's two targets (issue 15), chainrule beside HIPS autograd, PyTorch and JAX in one process.

1. Per-example gradients of a 784-128-10 tanh MLP, batch 256, float64:
   ``cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))`` against a Python loop of
   ``cr.grad`` (target: at most 0.25x its time) and ``torch.func.vmap(grad)``
   (target: within 2x), with JAX's ``vmap(grad)`` (eager and jit) beside them.
2. The Hessian of the 20-D Rosenbrock function: ``cr.hessian`` (one batched
   forward pass over the gradient) against ``autograd.hessian`` (target: at
   most 0.5x its time), with ``torch.func.hessian`` and ``jax.hessian``.

Every engine's result is checked against chainrule's loop before timing; each
number is the median of repeated calls, all engines in this one invocation so
their ratios share the machine's load.

Two floor rows show what any NumPy program computing these gradients must pay:
the per-example gradient of the first layer's weights alone is 205 MB written
into a new array (``X[:, :, None] * D[:, None, :]``), once into memory the
program reused, once into fresh memory (the operating system zeroes each new
page on first touch). The loop of ``grad`` writes its 256 small gradients into
memory that ``malloc`` recycles from the previous call.

chainrule splits that product over threads (``chainrule.parallel``); the row
"1 thread" is chainrule with ``set_num_threads(1)``.

Usage: OPENBLAS_NUM_THREADS=1 python bench/vmap.py [--repeat 15] [--batch 256]
(BLAS and PyTorch are given one thread, so their matrix products run on one core.)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import parallel


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mlp_loss(xp: Any) -> Callable[[Any, Any, Any], Any]:
    """Squared error of a tanh MLP for ONE example (x of shape (784,), y of shape (10,))."""

    def loss(params: Any, x: Any, y: Any) -> Any:
        h = xp.tanh(x @ params["w1"] + params["b1"])
        out = h @ params["w2"] + params["b2"]
        return xp.sum((out - y) ** 2)

    return loss


def rosen(xp: Any) -> Callable[[Any], Any]:
    return lambda x: xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def per_example(rows: list[tuple[str, str, float]], repeat: int, batch: int) -> None:
    rng = np.random.default_rng(0)
    params = {
        "w1": rng.standard_normal((784, 128)) * 0.05,
        "b1": np.zeros(128),
        "w2": rng.standard_normal((128, 10)) * 0.1,
        "b2": np.zeros(10),
    }
    X, Y = rng.standard_normal((batch, 784)), rng.standard_normal((batch, 10))
    loss = mlp_loss(np)
    g = cr.grad(loss)
    batched = cr.vmap(g, in_axes=(None, 0, 0))

    def loop() -> list[Any]:
        return [g(params, X[i], Y[i]) for i in range(batch)]

    ref = {k: np.stack([r[k] for r in loop()]) for k in params}
    got = batched(params, X, Y)
    for k in params:
        assert np.allclose(got[k], ref[k], rtol=1e-10, atol=1e-12), k
    name = f"per-example grads, MLP 784-128-10, batch {batch}"
    threads = f"chainrule vmap(grad) {parallel.num_threads()} threads"
    rows.append((name, threads, median_time(lambda: batched(params, X, Y), repeat)))
    parallel.set_num_threads(1)
    rows.append((name, "chainrule vmap(grad) 1 thread", median_time(lambda: batched(params, X, Y), repeat)))
    parallel.set_num_threads(None)
    rows.append((name, "chainrule loop of grad", median_time(loop, max(5, repeat // 2))))
    D = rng.standard_normal((batch, 128))
    reused = np.empty((batch, 784, 128))
    rows.append(
        (
            name,
            "floor: W1 product into reused memory",
            median_time(lambda: np.multiply(X[:, :, None], D[:, None, :], out=reused), repeat),
        )
    )
    rows.append(
        (
            name,
            "floor: W1 product into fresh memory",
            median_time(lambda: X[:, :, None] * D[:, None, :], repeat),
        )
    )

    try:
        import torch
        from torch.func import grad as tgrad
        from torch.func import vmap as tvmap

        torch.set_num_threads(1)
        tp = {k: torch.from_numpy(v) for k, v in params.items()}
        tX, tY = torch.from_numpy(X), torch.from_numpy(Y)
        tb = tvmap(tgrad(mlp_loss(torch)), in_dims=(None, 0, 0))
        out = tb(tp, tX, tY)
        for k in params:
            assert np.allclose(out[k].numpy(), ref[k], rtol=1e-10, atol=1e-12), k
        rows.append((name, "torch.func vmap(grad)", median_time(lambda: tb(tp, tX, tY), repeat)))
    except ImportError:
        pass

    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jp = {k: jnp.asarray(v) for k, v in params.items()}
        jX, jY = jnp.asarray(X), jnp.asarray(Y)
        jb = jax.vmap(jax.grad(mlp_loss(jnp)), in_axes=(None, 0, 0))
        jbj = jax.jit(jb)
        for k in params:
            assert np.allclose(np.asarray(jb(jp, jX, jY)[k]), ref[k], rtol=1e-10, atol=1e-12), k
        rows.append(
            (name, "jax vmap(grad) eager", median_time(lambda: jax.block_until_ready(jb(jp, jX, jY)), repeat))
        )
        rows.append(
            (name, "jax vmap(grad) jit", median_time(lambda: jax.block_until_ready(jbj(jp, jX, jY)), repeat))
        )
    except ImportError:
        pass


def hessian(rows: list[tuple[str, str, float]], repeat: int) -> None:
    x20 = np.random.default_rng(1).uniform(-1, 1, 20)
    h = cr.hessian(rosen(np))
    ref = h(x20)
    name = "hessian, rosenbrock 20-D"
    rows.append((name, "chainrule hessian", median_time(lambda: h(x20), repeat)))
    h_rr = cr.hessian(rosen(np), mode="rev-rev")
    assert np.allclose(h_rr(x20), ref)
    rows.append((name, "chainrule hessian rev-rev", median_time(lambda: h_rr(x20), repeat)))
    try:
        import autograd
        import autograd.numpy as anp

        ha = autograd.hessian(rosen(anp))
        assert np.allclose(ha(x20), ref)
        rows.append((name, "autograd hessian", median_time(lambda: ha(x20), repeat)))
    except ImportError:
        pass
    try:
        import torch

        tx = torch.from_numpy(x20)
        th = torch.func.hessian(rosen(torch))
        assert np.allclose(th(tx).numpy(), ref)
        rows.append((name, "torch.func hessian", median_time(lambda: th(tx), repeat)))
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jx = jnp.asarray(x20)
        jh = jax.hessian(rosen(jnp))
        assert np.allclose(np.asarray(jh(jx)), ref)
        rows.append((name, "jax hessian eager", median_time(lambda: jh(jx).block_until_ready(), repeat)))
    except ImportError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    rows: list[tuple[str, str, float]] = []
    per_example(rows, args.repeat, args.batch)
    hessian(rows, args.repeat)
    first = {}
    for workload, _engine, t in rows:
        first.setdefault(workload, t)
    print("| workload | engine | median (ms) | chainrule's first row / engine |")
    print("| --- | --- | --- | --- |")
    for workload, engine, t in rows:
        print(f"| {workload} | {engine} | {t * 1e3:.3f} | {first[workload] / t:.2f} |")
    times = {(w, e): t for w, e, t in rows}
    pe = f"per-example grads, MLP 784-128-10, batch {args.batch}"
    ours = next(t for (w, e), t in times.items() if w == pe and e.startswith("chainrule vmap(grad)"))
    loop = times[pe, "chainrule loop of grad"]
    print(f"\nvmap(grad) / loop of grad: {ours / loop:.3f} (target <= 0.25)")
    print(f"vmap(grad) 1 thread / loop of grad: {times[pe, 'chainrule vmap(grad) 1 thread'] / loop:.3f}")
    fresh = times[pe, "floor: W1 product into fresh memory"]
    print(
        f"floor (fresh memory, 1 thread) / loop of grad: {fresh / loop:.3f}; "
        f"reused memory: {times[pe, 'floor: W1 product into reused memory'] / loop:.3f}"
    )
    if (pe, "torch.func vmap(grad)") in times:
        torch_ratio = ours / times[pe, "torch.func vmap(grad)"]
        print(f"vmap(grad) / torch.func vmap(grad): {torch_ratio:.2f} (target <= 2)")
    hn = "hessian, rosenbrock 20-D"
    if (hn, "autograd hessian") in times:
        ratio = times[hn, "chainrule hessian"] / times[hn, "autograd hessian"]
        print(f"hessian / autograd hessian: {ratio:.3f} (target <= 0.5)")


if __name__ == "__main__":
    main()
