"""Threads for large NumPy work: how many, and one shared pool to run them on.

NumPy releases the GIL inside a ufunc's loop, so a large elementwise
computation split into parts runs on several cores from plain Python threads.
chainrule does this only where it is measured to pay (arrays of hundreds of
thousands of elements: staged code's tiled regions, :mod:`chainrule.jit.tiling`)
and only with results equal bit for bit to the serial computation.

How many threads: :func:`set_num_threads`, or the ``CHAINRULE_NUM_THREADS``
environment variable, or ``OMP_NUM_THREADS`` (the convention of threaded numeric
libraries, which process pools such as Dask's workers set to 1 so that their
processes do not oversubscribe the cores), or else the processors this process
may run on (``os.sched_getaffinity``: a container's CPU set is often smaller
than the machine's), at most :data:`MAX_DEFAULT_THREADS`. One thread means
everything runs in the caller's thread.

Floating-point error handling (``np.errstate``) belongs to the thread that set
it; :func:`run_parts` gives every part the caller's settings, so a part warns,
ignores or raises exactly as the serial code would.

>>> import numpy as np
>>> from chainrule import parallel
>>> x = np.arange(6.0)
>>> parallel.run_parts([lambda: np.sum(x[:3]), lambda: np.sum(x[3:])])
[np.float64(3.0), np.float64(12.0)]
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

__all__ = ["MAX_DEFAULT_THREADS", "num_threads", "run_parts", "set_num_threads"]

T = TypeVar("T")

MAX_DEFAULT_THREADS = 8  # more threads than this rarely help memory-bound loops
_ENV = "CHAINRULE_NUM_THREADS"

_lock = threading.Lock()
_chosen: int | None = None  # set_num_threads
_pool: ThreadPoolExecutor | None = None
_pool_pid = -1  # a forked child has the pool object but not its threads: it makes its own
_pool_size = 0


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def num_threads() -> int:
    """Threads chainrule uses for one large computation (see the module).

    >>> num_threads() >= 1
    True
    """
    if _chosen is not None:
        return _chosen
    text = os.environ.get(_ENV)
    if text:
        try:
            n = int(text)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(
                f"environment variable {_ENV}={text!r}: expected a positive whole number of "
                f"threads (1 runs everything in the calling thread); unset it for the default"
            )
        return n
    omp = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if omp.isdigit() and int(omp) >= 1:  # (OpenMP's own syntax allows a list; its first entry)
        return min(int(omp), MAX_DEFAULT_THREADS)
    return max(1, min(_usable_cpus(), MAX_DEFAULT_THREADS))


def set_num_threads(n: int | None) -> None:
    """Use ``n`` threads for large computations; ``None`` restores the default.

    >>> set_num_threads(1)
    >>> num_threads()
    1
    >>> set_num_threads(None)
    """
    global _chosen
    if n is not None and (type(n) is not int or n < 1):
        raise ValueError(f"set_num_threads: n must be a positive int or None, got {n!r}")
    _chosen = n


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_pid, _pool_size
    with _lock:
        if _pool is None or _pool_pid != os.getpid() or _pool_size < workers:
            # (An old pool's idle threads exit when it is garbage collected.)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chainrule")
            _pool_pid, _pool_size = os.getpid(), workers
        return _pool


_worker = threading.local()  # set in the pool's threads while they run a part


def _with_errstate(part: Callable[[], T], settings: Any, call: Any) -> Callable[[], T]:
    def run() -> T:
        _worker.busy = True
        try:
            with np.errstate(call=call, **settings):
                return part()
        finally:
            _worker.busy = False

    return run


def run_parts(parts: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``parts`` concurrently (the first in the calling thread); their results in order.

    Every part runs under the caller's ``np.errstate``. If parts raise, the first
    part's exception (in order) is raised, after all parts have finished: no part
    is left running on arrays the caller may reuse.
    """
    if len(parts) <= 1 or getattr(_worker, "busy", False):
        # A part that itself asks for threads runs its parts in turn: waiting in a pool
        # thread for parts queued behind it on the same pool could wait forever.
        return [p() for p in parts]
    settings = np.geterr()
    call = np.geterrcall()
    pool = _executor(len(parts) - 1)
    futures: list[Future[T]] = [pool.submit(_with_errstate(p, settings, call)) for p in parts[1:]]
    first: list[T] = []
    error: BaseException | None = None
    try:
        first.append(parts[0]())
    except BaseException as e:  # re-raised below, after the other parts end
        error = e
    results = first
    for f in futures:
        try:
            results.append(f.result())
        except BaseException as e:
            if error is None:
                error = e
    if error is not None:
        raise error
    return results
