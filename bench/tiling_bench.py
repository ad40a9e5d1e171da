"""Tiled regions of staged code (chainrule/jit/tiling.py) against the same code untiled.

For ``value_and_grad`` of ``sum(tanh(x) * exp(-x**2) + log1p(x**2))`` at several sizes:
the staged code with tiling off (threshold raised past every size), tiled on one thread,
tiled on two. The three rows of one size run in one process, repeated and interleaved; the
ratio is each row's best median over the untiled row's. These numbers chose
``TILE_MIN_SIZE`` and ``TILE_BYTES``.

Usage: python bench/tiling_bench.py [--sizes 70000,300000,1000000] [--tile-bytes 524288]
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
from chainrule.jit import tiling


def median_us(fn: Callable[[], Any], repeat: int = 21) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def loss(x: Any) -> Any:
    return np.sum(np.tanh(x) * np.exp(-(x**2)) + np.log1p(x**2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="70000,300000,500000,1000000,4000000")
    parser.add_argument("--tile-bytes", type=int, default=tiling.TILE_BYTES)
    args = parser.parse_args()
    tiling.TILE_BYTES = args.tile_bytes
    print("| elements | untiled | tiled, 1 thread | tiled, 2 threads |")
    print("| ---: | ---: | ---: | ---: |")
    for n in (int(s) for s in args.sizes.split(",")):
        x = np.random.default_rng(0).standard_normal(n)
        rows: dict[str, list[float]] = {}
        for _ in range(3):
            tiling.TILE_MIN_SIZE = 10**15
            untiled = cr.jit(cr.value_and_grad(loss))
            untiled(x)
            tiling.TILE_MIN_SIZE = 1
            tiled = cr.jit(cr.value_and_grad(loss))
            tiled(x)
            rows.setdefault("untiled", []).append(median_us(lambda f=untiled, x=x: f(x)))
            for threads in (1, 2):
                parallel.set_num_threads(threads)
                rows.setdefault(f"tiled {threads}", []).append(median_us(lambda f=tiled, x=x: f(x)))
            parallel.set_num_threads(None)
        base = min(rows["untiled"])
        one, two = min(rows["tiled 1"]) / base, min(rows["tiled 2"]) / base
        print(f"| {n} | {base:.0f} us | {one:.2f}x | {two:.2f}x |")


if __name__ == "__main__":
    main()
