"""The batching rules of session 4 (issue 15) against the loop fallback they replace, batch 64.

For each workload, ``cr.vmap(f)`` (and ``cr.vmap(cr.grad(loss))``) runs with the
primitive's batching rule and with the rule removed (the engine's loop over
the examples, what the primitive had before). The two are timed in alternating
rounds; each round's ratio rule / loop shares that moment's load, and the
median of the rounds' ratios is reported with the median times.

The Jacobian section (issue 15, gap 3) compares ``jacfwd``/``jacrev``/``hessian``
on a primitive that takes the loop inside the batched pass with the
per-basis-vector loop they fall back to when a function cannot batch.

Usage: OPENBLAS_NUM_THREADS=1 python bench/vmap_rules.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.engine.registry import BATCH_RULES
from chainrule.extend import deflinear
from chainrule.nn import conv, pooling
from chainrule.rules import decompositions, differences, fft
from chainrule.scipy import linalg as scipy_linalg
from chainrule.scipy import signal
from chainrule.scipy.linalg import matrix_functions, triangular

BATCH = 64
RNG = np.random.default_rng(0)


@contextlib.contextmanager
def without_rules(*prims: Any) -> Iterator[None]:
    """The primitives batched by the engine's loop, as before their rules existed."""
    saved = {p: BATCH_RULES.pop(p) for p in prims}
    try:
        yield
    finally:
        BATCH_RULES.update(saved)


def _time(fn: Callable[[], Any]) -> float:
    """Seconds per call: enough calls for about 20 ms, the best of three such runs."""
    fn()
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < 0.02:
        fn()
        calls += 1
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def compare(fast: Callable[[], Any], slow: Callable[[], Any], rounds: int) -> tuple[float, float, float]:
    """Median times of ``fast`` and ``slow`` and the median of their per-round ratios."""
    tf, ts, ratios = [], [], []
    for _ in range(rounds):
        a, b = _time(fast), _time(slow)
        tf.append(a)
        ts.append(b)
        ratios.append(a / b)
    return statistics.median(tf), statistics.median(ts), statistics.median(ratios)


def _cplx(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _correlate_same(a: Any, v: Any) -> Any:
    return np.correlate(a, v, "same")


def _scipy_same(x: Any, k: Any) -> Any:
    return signal.convolve(x, k, mode="same")


def _scipy_fft(a: Any, v: Any) -> Any:
    return signal.fftconvolve(a, v, axes=-1)


def _lower_solve(a: Any, b: Any) -> Any:
    return scipy_linalg.solve_triangular(a, b, lower=True)


def workloads() -> list[tuple[str, tuple[Any, ...], Callable[..., Any], tuple[np.ndarray, ...], Any]]:
    """(name, primitives, function, batched arguments, in_axes)."""
    spd = RNG.standard_normal((BATCH, 6, 6))
    return [
        ("fft n=256 (complex)", (fft.fftn_p,), np.fft.fft, (_cplx(BATCH, 256),), 0),
        ("rfft n=256", (fft.rfft_p,), np.fft.rfft, (RNG.standard_normal((BATCH, 256)),), 0),
        ("irfft m=129", (fft.irfft_p,), np.fft.irfft, (_cplx(BATCH, 129),), 0),
        ("fft2 16x16", (fft.fftn_p,), np.fft.fft2, (_cplx(BATCH, 16, 16),), 0),
        ("rfftn 8x8x8", (fft.rfft_p, fft.fftn_p), np.fft.rfftn, (RNG.standard_normal((BATCH, 8, 8, 8)),), 0),
        ("convolve 256*16, kernel shared", (differences.convolve_full_p,), np.convolve,
         (RNG.standard_normal((BATCH, 256)), RNG.standard_normal(16)), (0, None)),
        ("convolve 256*16, both batched", (differences.convolve_full_p,), np.convolve,
         (RNG.standard_normal((BATCH, 256)), RNG.standard_normal((BATCH, 16))), 0),
        ("convolve 100*5, both batched", (differences.convolve_full_p,), np.convolve,
         (RNG.standard_normal((BATCH, 100)), RNG.standard_normal((BATCH, 5))), 0),
        ("correlate 64*32 same, both", (differences.convolve_full_p,), _correlate_same,
         (RNG.standard_normal((BATCH, 64)), RNG.standard_normal((BATCH, 32))), 0),
        ("scipy convolve 28x28 * 3x3 same, kernel shared", (signal.conv_p,), _scipy_same,
         (RNG.standard_normal((BATCH, 28, 28)), RNG.standard_normal((3, 3))), (0, None)),
        ("scipy fftconvolve 256 * 32 axes=-1, both", (signal.conv_p,), _scipy_fft,
         (RNG.standard_normal((BATCH, 4, 256)), RNG.standard_normal((BATCH, 4, 32))), 0),
        ("scipy expm 4x4", (matrix_functions.expm_p,), scipy_linalg.expm,
         (0.3 * RNG.standard_normal((BATCH, 4, 4)),), 0),
        ("scipy solve_triangular 8x8, vector", (triangular.solve_triangular_p,), _lower_solve,
         (np.tril(RNG.standard_normal((BATCH, 8, 8))) + 4 * np.eye(8), RNG.standard_normal((BATCH, 8))), 0),
        ("eigvals 6x6 (real)", (decompositions.eig_p,), np.linalg.eigvals, (spd,), 0),
        ("svdvals 6x6 (complex)", (decompositions.complex_svdvals_p, decompositions.singular_vectors_p),
         np.linalg.svdvals, (_cplx(BATCH, 6, 6),), 0),
    ]  # fmt: skip


def _loss(f: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *a: np.sum(np.abs(f(*a)) ** 2)


def _call(fn: Callable[..., Any], args: tuple[Any, ...], looped: tuple[Any, ...]) -> Callable[[], Any]:
    """``fn(*args)``, with the rules of the primitives ``looped`` removed."""

    def call() -> Any:
        with without_rules(*looped):
            return fn(*args)

    return call


def _cnn_loss(params: Any, x: Any, y: Any) -> Any:
    """One 8x8 digit-like example through conv 3x3 (8 channels), ReLU, max pool 2, dense 128 -> 10."""
    h = nn.max_pool2d(nn.relu(nn.conv2d_raw(x[None], params["w"], padding=1)), 2)
    return np.sum((np.reshape(h, (-1,)) @ params["v"] - y) ** 2)


def cnn_rows(rounds: int) -> list[str]:
    """Per-example gradients of a small CNN, batch 64: nn's rules against the loop."""
    params = {"w": RNG.standard_normal((8, 1, 3, 3)) * 0.3, "v": RNG.standard_normal((128, 10)) * 0.1}
    xs, ys = RNG.standard_normal((BATCH, 1, 8, 8)), RNG.standard_normal((BATCH, 10))
    prims = (conv.conv2d_p, conv.kernel_grad_p, conv.input_grad_p, pooling.gather_p, pooling.scatter_p,
             pooling.argmax_p)  # fmt: skip
    fn = cr.vmap(cr.grad(_cnn_loss), in_axes=(None, 0, 0))
    want = fn(params, xs, ys)
    with without_rules(*prims):
        np.testing.assert_allclose(fn(params, xs, ys)["w"], want["w"], rtol=1e-10)
    tf, ts, ratio = compare(_call(fn, (params, xs, ys), ()), _call(fn, (params, xs, ys), prims), rounds)
    return [f"| CNN 1x8x8 -> conv 8x3x3 -> pool -> 10 | vmap(grad) | {tf * 1e6:.0f} | {ts * 1e6:.0f} "
            f"| {ratio:.2f} ({1 / ratio:.1f}x) |"]  # fmt: skip


def rule_rows(rounds: int) -> list[str]:
    rows = []
    for name, prims, f, args, in_axes in workloads():
        for label, fn in [("vmap", cr.vmap(f, in_axes=in_axes)),
                          ("vmap(grad)", cr.vmap(cr.grad(_loss(f)), in_axes=in_axes))]:  # fmt: skip
            want = fn(*args)
            with without_rules(*prims):
                np.testing.assert_allclose(fn(*args), want, rtol=1e-8, atol=1e-10)

            tf, ts, ratio = compare(_call(fn, args, ()), _call(fn, args, prims), rounds)
            rows.append(
                f"| {name} | {label} | {tf * 1e6:.0f} | {ts * 1e6:.0f} | {ratio:.2f} ({1 / ratio:.1f}x) |"
            )
    return rows


def jacobian_rows(rounds: int) -> list[str]:
    """A primitive with no rule inside jacfwd's batched pass, against the per-basis-vector loop."""
    rev = cr.Primitive("bench_reverse_cumsum", lambda x: np.cumsum(x[::-1]))
    deflinear(rev, lambda ans, x: lambda g: np.cumsum(g[::-1]))
    n = 40
    x = RNG.standard_normal(n)

    def f(x: Any) -> Any:
        return np.tanh(rev(np.sin(x)))

    def loop_jacfwd() -> Any:
        eye = np.eye(n)
        return np.stack([cr.jvp(f, (x,), (e,))[1] for e in eye], axis=-1)

    def loop_jacrev() -> Any:
        _, pull = cr.vjp(f, x)
        return np.stack([pull(e)[0] for e in np.eye(n)])

    np.testing.assert_allclose(cr.jacfwd(f)(x), loop_jacfwd(), rtol=1e-12)
    np.testing.assert_allclose(cr.jacrev(f)(x), loop_jacfwd(), rtol=1e-12)
    np.testing.assert_allclose(loop_jacrev(), loop_jacfwd(), rtol=1e-12)

    def loop_hessian_f() -> Any:
        g = cr.grad(lambda x: np.sum(f(x)))
        return np.stack([cr.jvp(g, (x,), (e,))[1] for e in np.eye(n)], axis=-1)

    np.testing.assert_allclose(
        cr.hessian(lambda x: np.sum(f(x)))(x), loop_hessian_f(), rtol=1e-10, atol=1e-12
    )
    rows = []
    hess = cr.hessian(lambda x: np.sum(f(x)))
    for label, batched, looped in [("jacfwd", lambda: cr.jacfwd(f)(x), loop_jacfwd),
                                   ("jacrev", lambda: cr.jacrev(f)(x), loop_jacrev),
                                   ("hessian", lambda: hess(x), loop_hessian_f)]:  # fmt: skip
        tf, ts, ratio = compare(batched, looped, rounds)
        rows.append(f"| {label}, n={n}, one loop primitive | {tf * 1e6:.0f} | {ts * 1e6:.0f} | {ratio:.2f} |")
    a, v = RNG.standard_normal(40), RNG.standard_normal(40)

    def energy(a: Any, v: Any) -> Any:
        return np.sum(np.convolve(a, v) ** 2)

    def loop_hessian() -> Any:
        g = cr.grad(energy, argnums=(0, 1))
        return [cr.jvp(g, (a, v), (e[:40], e[40:]))[1] for e in np.eye(80)]

    hess_conv = cr.hessian(energy, argnums=(0, 1))
    for label, looped in [
        ("convolve's rule", ()),
        ("convolve looped, as before", (differences.convolve_full_p,)),
    ]:
        tf, ts, ratio = compare(_call(hess_conv, (a, v), looped), loop_hessian, rounds)
        rows.append(f"| hessian, convolve 40*40, {label} | {tf * 1e6:.0f} | {ts * 1e6:.0f} | {ratio:.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    print(f"batch {BATCH}, {args.rounds} alternating rounds; times in microseconds per call\n")
    print("| workload | transform | rule | loop | rule / loop |")
    print("| --- | --- | ---: | ---: | ---: |")
    print("\n".join(rule_rows(args.rounds) + cnn_rows(args.rounds)))
    print("\n| Jacobian | batched pass | per-basis-vector loop | batched / loop |")
    print("| --- | ---: | ---: | ---: |")
    print("\n".join(jacobian_rows(args.rounds)))


if __name__ == "__main__":
    main()
