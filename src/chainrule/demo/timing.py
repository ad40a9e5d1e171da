"""Timing that survives a noisy machine: the median of repeated runs after a warm-up.

One cold run measures caches, allocation and import costs as much as the
work; the median of several warm runs is stable from run to run.

>>> t = median_seconds(lambda: sum(range(1000)), repeats=5)
>>> 0.0 < t < 1.0
True
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["median_seconds", "single_threaded_blas"]


def single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while the demo runs (when threadpoolctl, a scikit-learn
    dependency, is installed).

    The demo's matrices are small (64 x 128): a multithreaded BLAS gains nothing on
    them, and on a busy machine its threads wait for cores, which made one backprop
    gradient take 50 ms instead of 0.4 ms and the backprop/finite-difference ratio
    swing by 10x between runs. One thread keeps the timings about the work.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[Any] = threadpool_limits(limits=1, user_api="blas")
    return limits


def median_seconds(fn: Callable[[], Any], repeats: int = 7, budget: float = 2.0) -> float:
    """The median wall time of ``fn()`` over ``repeats`` runs after one warm-up run.

    Stops early (after at least 3 runs) once ``budget`` seconds are spent, so a
    slow function does not hold the demo up. The garbage collector is paused while
    timing, as :mod:`timeit` does: a collection of objects made elsewhere is not
    the cost of ``fn``.
    """
    if repeats < 1:
        raise ValueError(f"median_seconds: repeats must be at least 1, got {repeats}")
    fn()  # warm-up: caches, first-call allocations, lazily built tables
    times: list[float] = []
    spent = 0.0
    collecting = gc.isenabled()
    gc.disable()
    try:
        while len(times) < repeats and (len(times) < min(3, repeats) or spent < budget):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
            spent += times[-1]
    finally:
        if collecting:
            gc.enable()
    return statistics.median(times)
