"""Hessian of the 20-D Rosenbrock function, and a Hessian-vector product on an MLP, side by side.

Engines: chainrule (jacfwd over grad; hvp as jvp of grad), HIPS autograd
(hessian; make_hvp), PyTorch (torch.func.hessian; jvp of grad), JAX (eager and
jit). Results are checked against chainrule's before timing; each number is
the median of repeated calls in this one process.

Usage: python bench/hessian_bench.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rosen(xp: Any) -> Callable[[Any], Any]:
    return lambda x: xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def mlp_loss(xp: Any, data: np.ndarray, labels: np.ndarray) -> Callable[[Any], Any]:
    """Loss of a 64-128-10 tanh MLP with flat parameters (so every engine sees one vector)."""
    sizes = [(64, 128), (128,), (128, 10), (10,)]
    offsets = np.cumsum([0] + [int(np.prod(s)) for s in sizes])

    def loss(theta: Any) -> Any:
        w1, b1, w2, b2 = (theta[offsets[i] : offsets[i + 1]].reshape(sizes[i]) for i in range(4))
        h = xp.tanh(data @ w1 + b1)
        logits = h @ w2 + b2
        m = xp.max(logits, axis=1, keepdims=True)
        lse = xp.log(xp.sum(xp.exp(logits - m), axis=1, keepdims=True)) + m
        return -xp.sum(labels * (logits - lse)) / data.shape[0]

    return loss, int(offsets[-1])


class _TorchNumpy:
    """The few NumPy-style calls the MLP uses, spelled for PyTorch (dim/keepdim)."""

    @staticmethod
    def tanh(a: Any) -> Any:
        import torch

        return torch.tanh(a)

    @staticmethod
    def exp(a: Any) -> Any:
        import torch

        return torch.exp(a)

    @staticmethod
    def log(a: Any) -> Any:
        import torch

        return torch.log(a)

    @staticmethod
    def max(a: Any, axis: int, keepdims: bool) -> Any:
        import torch

        return torch.amax(a, dim=axis, keepdim=keepdims)

    @staticmethod
    def sum(a: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        import torch

        return torch.sum(a) if axis is None else torch.sum(a, dim=axis, keepdim=keepdims)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x20 = rng.uniform(-1, 1, 20)
    data = rng.standard_normal((128, 64))
    labels = np.eye(10)[rng.integers(0, 10, 128)]
    rows: list[tuple[str, str, float]] = []

    ref_h = cr.hessian(rosen(np))(x20)
    rows.append(
        ("hessian rosenbrock-20", "chainrule", median_time(lambda: cr.hessian(rosen(np))(x20), args.repeat))
    )
    h_rr = cr.hessian(rosen(np), mode="rev-rev")
    assert np.allclose(h_rr(x20), ref_h)
    rows.append(("hessian rosenbrock-20", "chainrule rev-rev", median_time(lambda: h_rr(x20), args.repeat)))
    loss_np, n = mlp_loss(np, data, labels)
    theta = rng.standard_normal(n) * 0.1
    v = rng.standard_normal(n)
    ref_hv = cr.hvp(loss_np, (theta,), (v,))
    rows.append(
        ("hvp mlp 64-128-10", "chainrule", median_time(lambda: cr.hvp(loss_np, (theta,), (v,)), args.repeat))
    )
    rows.append(
        ("grad mlp 64-128-10", "chainrule", median_time(lambda: cr.grad(loss_np)(theta), args.repeat))
    )

    try:
        import autograd
        import autograd.numpy as anp

        h = autograd.hessian(rosen(anp))
        assert np.allclose(h(x20), ref_h)
        rows.append(("hessian rosenbrock-20", "autograd", median_time(lambda: h(x20), args.repeat)))
        loss_a, _ = mlp_loss(anp, data, labels)
        hvp_a = autograd.make_hvp(loss_a)
        assert np.allclose(hvp_a(theta)[0](v), ref_hv)
        rows.append(("hvp mlp 64-128-10", "autograd", median_time(lambda: hvp_a(theta)[0](v), args.repeat)))
    except ImportError:
        pass

    try:
        import torch

        tx = torch.from_numpy(x20)
        th = lambda: torch.func.hessian(rosen(torch))(tx)
        assert np.allclose(th().numpy(), ref_h)
        rows.append(("hessian rosenbrock-20", "torch", median_time(th, args.repeat)))
        loss_t, _ = mlp_loss(_TorchNumpy, torch.from_numpy(data), torch.from_numpy(labels))
        tt, tv = torch.from_numpy(theta), torch.from_numpy(v)
        thvp = lambda: torch.func.jvp(torch.func.grad(loss_t), (tt,), (tv,))[1]
        assert np.allclose(thvp().numpy(), ref_hv)
        rows.append(("hvp mlp 64-128-10", "torch", median_time(thvp, args.repeat)))
    except ImportError:
        pass

    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jx = jnp.asarray(x20)
        jh = jax.hessian(rosen(jnp))
        jhj = jax.jit(jh)
        assert np.allclose(np.asarray(jh(jx)), ref_h)
        rows.append(
            (
                "hessian rosenbrock-20",
                "jax eager",
                median_time(lambda: jh(jx).block_until_ready(), args.repeat),
            )
        )
        rows.append(
            (
                "hessian rosenbrock-20",
                "jax jit",
                median_time(lambda: jhj(jx).block_until_ready(), args.repeat),
            )
        )
        loss_j, _ = mlp_loss(jnp, jnp.asarray(data), jnp.asarray(labels))
        jt, jv = jnp.asarray(theta), jnp.asarray(v)
        jhvp = lambda t, u: jax.jvp(jax.grad(loss_j), (t,), (u,))[1]
        jhvpj = jax.jit(jhvp)
        assert np.allclose(np.asarray(jhvp(jt, jv)), ref_hv)
        rows.append(
            (
                "hvp mlp 64-128-10",
                "jax eager",
                median_time(lambda: jhvp(jt, jv).block_until_ready(), args.repeat),
            )
        )
        rows.append(
            (
                "hvp mlp 64-128-10",
                "jax jit",
                median_time(lambda: jhvpj(jt, jv).block_until_ready(), args.repeat),
            )
        )
    except ImportError:
        pass

    base = {w: t for w, e, t in rows if e == "chainrule"}
    print("| workload | engine | median (ms) | chainrule / engine |")
    print("| --- | --- | --- | --- |")
    for workload, engine, t in rows:
        print(f"| {workload} | {engine} | {t * 1e3:.3f} | {base[workload] / t:.2f} |")
    ratio = base["hvp mlp 64-128-10"] / base["grad mlp 64-128-10"]
    print(f"\nhvp / grad cost on the MLP (chainrule): {ratio:.2f}")


if __name__ == "__main__":
    main()
