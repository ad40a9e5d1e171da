"""``chainrule demo --distributed [ADDRESS]``: the finite-difference phase again, on a Dask cluster.

The demo's finite differences (2N+1 evaluations of the loss, 34,453 for the
MLP) are independent, so they spread over workers: a LocalCluster on this
machine by default, or the cluster whose scheduler is at ADDRESS. The
columns of the gradient are shipped whole, in slices of about a quarter of a
second each (:func:`chainrule.numerical.executors.map_jobs`), so the client's
work is per task, not per evaluation. The gradient must come back bit for bit
the one-process gradient; the speed-up is reported as measured. When it is
below the number of workers the demo says why, with the machine's load, and
then measures a function that is expensive per evaluation (a heat-equation
solver, :func:`heat_loss`), where the evaluations dominate every other cost.
"""

from __future__ import annotations

import importlib
import io
import os
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
from .timing import median_seconds

__all__ = ["CpuUsage", "cpu_line", "distributed_finite_differences", "heat_loss", "why_not_faster"]

#: Inputs of the expensive function (49 evaluations by central differences).
HEAT_INPUTS = 24


def heat_loss(conductivity: np.ndarray, steps: int = 1500) -> float:
    """An expensive function: explicit heat diffusion on a rod of 24 segments, then the misfit.

    ``conductivity`` (one per segment, positive) sets how fast heat crosses
    each segment; the rod starts hot in the middle and is stepped ``steps``
    times on 240 cells. About 20-30 ms per evaluation here: a stand-in for
    the simulation whose parameters one fits, where each evaluation costs
    far more than shipping it.

    Examples
    --------
    >>> k = np.full(24, 0.5)
    >>> value = heat_loss(k, steps=10)
    >>> bool(np.isfinite(value)) and value > 0
    True
    """
    k = np.repeat(np.asarray(conductivity, dtype=np.float64), 10)[:-1]  # between the 240 cells
    u = np.exp(-(np.linspace(-3.0, 3.0, 240) ** 2))
    for _ in range(steps):
        flux = 0.2 * k * np.diff(u)
        u = u + np.concatenate((flux, [0.0])) - np.concatenate(([0.0], flux))  # flux from i+1 into i
    target = np.full(240, float(np.mean(u)))
    return float(np.sum((u - target) ** 2))


def why_not_faster(workers: int, speedup: float, cores: int, load: float, evaluation_ms: float) -> str:
    """The honest reason a speed-up is below the number of workers, from what was measured.

    Examples
    --------
    >>> print(why_not_faster(2, 0.7, 2, 9.5, 0.1))  # doctest: +NORMALIZE_WHITESPACE
    why not 2x: this machine was busy (load average 9.5 on 2 cores), so each worker got a share of a
    core, not a core; ... each evaluation here takes 0.10 ms ...
    """
    parts = [f"why not {workers}x:"]
    if load > cores - 0.5:
        parts.append(f"this machine was busy (load average {load:.1f} on {cores} cores), so each worker got "
                     "a share of a core, not a core;")  # fmt: skip
    if workers >= cores:
        parts.append(f"the {workers} workers, this process and Dask's scheduler share {cores} cores;")
    parts.append(
        f"each evaluation here takes {evaluation_ms:.2f} ms and the finite differences add as much again "
        "per evaluation (copying the parameters into a perturbed point); the workers do both, so that "
        "divides too, but a task must also be shipped, unpickled and its results returned, and the "
        "one-process run pays none of that. A function that takes milliseconds or more (a simulation) "
        "gains nearly the number of free cores: see the expensive function below."
    )
    return " ".join(parts)


def distributed_finite_differences(
    loss: Callable[..., Any],
    args: tuple[Any, ...],
    serial: tuple[Any, float],
    backprop_seconds: float,
    address: str | None,
    say: Callable[..., None],
    stream: TextIO,
    progress: bool,
    evaluation_seconds: float = 0.0,
    expensive: bool = True,
    serial_cpu_seconds: float | None = None,
) -> tuple[float, int]:
    """Time the gradient of ``loss(*args)`` by central differences on Dask; returns (seconds, workers).

    ``serial`` is the one-process (gradient, seconds) to compare with;
    ``evaluation_seconds`` the time of one evaluation of ``loss`` (for the
    explanation). With ``expensive``, a slow-to-evaluate function
    (:func:`heat_loss`) is then timed both ways too. Given the serial run's
    CPU seconds, the CPU seconds of the distributed run (this process and the
    workers) are shown beside them: on a busy machine wall-clock time says
    more about the load than about the work, CPU time does not.
    """
    gradient, serial_seconds = serial
    start = time.perf_counter()
    # malloc_trim=False: Dask's default made the workers' per-evaluation bookkeeping 2-3x slower.
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
        start, usage = time.perf_counter(), CpuUsage(client)
        try:
            result = numerical_grad(loss, *args, executor=with_progress(client, bar.advance))
        finally:
            bar.close()
        seconds = time.perf_counter() - start
        here_cpu, workers_cpu = usage.done()
        same = all(np.array_equal(a, b) for a, b in zip(tree_leaves(gradient), tree_leaves(result)))
        speedup = serial_seconds / seconds
        say(f"  finite differences  {seconds * 1e3:9.0f} ms   {speedup:.2f}x the speed of one process")
        say(f"  gradient            {'identical to' if same else 'DIFFERENT from'} the one-process gradient")
        if serial_cpu_seconds is not None:
            say(cpu_line(serial_cpu_seconds, here_cpu, workers_cpu, workers))
        if speedup < 0.8 * workers:
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
            text = why_not_faster(workers, speedup, os.cpu_count() or 1, load, evaluation_seconds * 1e3)
            for line in textwrap.wrap(text, width=78, initial_indent="  ", subsequent_indent="  "):
                say(line)
        if expensive:
            _expensive(client, workers, say)
    return seconds, workers


def _expensive(client: Any, workers: int, say: Callable[..., None]) -> None:
    """The same comparison for :func:`heat_loss`, whose evaluations dominate every other cost."""
    k = np.linspace(0.3, 0.9, HEAT_INPUTS)
    one = median_seconds(lambda: heat_loss(k), repeats=3, budget=0.5)
    start, cpu = time.perf_counter(), time.process_time()
    here = numerical_grad(heat_loss, k)
    serial, serial_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, usage = time.perf_counter(), CpuUsage(client)
    there = numerical_grad(heat_loss, k, executor=client)
    spread = time.perf_counter() - start
    here_cpu, workers_cpu = usage.done()
    same = "identical" if np.array_equal(here, there) else "DIFFERENT"
    say(f"  an expensive function (a heat-equation solver, {HEAT_INPUTS} inputs, {one * 1e3:.0f} ms per "
        "evaluation):")  # fmt: skip
    say(f"  finite differences  {serial * 1e3:9.0f} ms in one process, {spread * 1e3:.0f} ms on {workers} "
        f"workers: {serial / spread:.2f}x ({same} gradients)")  # fmt: skip
    say(cpu_line(serial_cpu, here_cpu, workers_cpu, workers))


class CpuUsage:
    """CPU seconds spent from now on by this process and by the cluster's workers (their whole processes)."""

    def __init__(self, client: Any):
        self.client = client
        self.here = time.process_time()
        self.workers = client.run(time.process_time)

    def done(self) -> tuple[float, float]:
        """(this process's, the workers' summed) CPU seconds since construction."""
        after = self.client.run(time.process_time)
        here = time.process_time() - self.here
        return here, float(sum(after[k] - self.workers.get(k, after[k]) for k in after))


def cpu_line(serial: float, here: float, workers_cpu: float, workers: int) -> str:
    """CPU seconds both ways, and the speed-up they allow on free cores (an estimate, said so).

    Examples
    --------
    >>> print(cpu_line(8.9, 1.5, 9.2, 2).strip())  # doctest: +NORMALIZE_WHITESPACE
    CPU time  one process 8.9 s; distributed: workers 9.2 s, this process 1.5 s
    (so on 2 free cores: about 1.9x)
    """
    bound = serial / max(here, workers_cpu / max(workers, 1), 1e-9)
    return (f"  CPU time  one process {serial:.1f} s; distributed: workers {workers_cpu:.1f} s, this process "
            f"{here:.1f} s\n  (so on {workers} free cores: about {bound:.1f}x)")  # fmt: skip
