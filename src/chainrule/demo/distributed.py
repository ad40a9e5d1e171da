"""``chainrule demo --distributed [ADDRESS]``: the finite-difference phase again, on a Dask cluster.

The demo's finite differences (2N+1 evaluations of the loss, 34,453 for the
MLP) are independent, so they spread over workers: a LocalCluster on this
machine by default, or the cluster whose scheduler is at ADDRESS. The
gradient must come back bit for bit the one-process gradient; the speed-up
is reported as measured, with the reason when there is none (each
evaluation of the demo's loss takes about 0.1 ms, so the client's own work
per point and the shipping of the points weigh as much as the evaluations).
"""

from __future__ import annotations

import importlib
import io
import textwrap
import time
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

from ..distributed import cluster_client
from ..numerical import grad as numerical_grad
from ..numerical.executors import with_progress
from ..pytree import tree_leaves
from .progress import EvaluationProgress

__all__ = ["distributed_finite_differences"]

SLOW = (
    "why not the number of workers: each evaluation of this loss takes about 0.1 ms, so the "
    "client's own work per point (building it, reading the result) and shipping the points "
    "weigh as much as the evaluations, and the client shares the cores with the workers. A "
    "function that takes milliseconds or more (a simulation) gains nearly the number of workers."
)


def distributed_finite_differences(
    loss: Callable[..., Any],
    args: tuple[Any, ...],
    serial: tuple[Any, float],
    backprop_seconds: float,
    address: str | None,
    say: Callable[..., None],
    stream: TextIO,
    progress: bool,
) -> tuple[float, int]:
    """Time the gradient of ``loss(*args)`` by central differences on Dask; returns (seconds, workers).

    ``serial`` is the one-process (gradient, seconds) to compare with.
    """
    gradient, serial_seconds = serial
    start = time.perf_counter()
    with cluster_client(address, malloc_trim=False) as client:
        # Worker start-up (importing chainrule) is not the cost of the evaluations.
        client.run(importlib.import_module, "chainrule")
        workers = len(client.nthreads())
        where = f"the cluster at {address}" if address else f"a LocalCluster of {workers} worker processes"
        say(f"  the same finite differences on {where} (started in {time.perf_counter() - start:.1f} s):")
        total = 2 * sum(int(np.size(leaf)) for leaf in tree_leaves(args[0])) + 1
        shown = stream if progress else io.StringIO()
        bar = EvaluationProgress(total, backprop_seconds, out=shown, live=None if progress else False)
        bar.advance(1)  # the base point, evaluated here
        start = time.perf_counter()
        try:
            result = numerical_grad(loss, *args, executor=with_progress(client, bar.advance))
        finally:
            bar.close()
        seconds = time.perf_counter() - start
    same = all(np.array_equal(a, b) for a, b in zip(tree_leaves(gradient), tree_leaves(result)))
    speedup = serial_seconds / seconds
    say(f"  finite differences  {seconds * 1e3:9.0f} ms   {speedup:.2f}x the speed of one process")
    say(f"  gradient            {'identical to' if same else 'DIFFERENT from'} the one-process gradient")
    if speedup < 0.8 * workers:
        for line in textwrap.wrap(SLOW, width=78, initial_indent="  ", subsequent_indent="  "):
            say(line)
    return seconds, workers
