"""chainrule on Dask (issue 17): distributed finite differences and data-parallel gradients.

Two measurements, printed as markdown tables:

1. ``numerical.grad`` (central differences, 81 evaluations) of a function of
   40 inputs taking 20 ms per evaluation, serial and on a LocalCluster of 1
   and 2 worker processes (one thread each): the ratio to the serial time.
   Two kinds of 20 ms: waiting (``time.sleep``: a simulation on another
   machine, an I/O-bound code) and computing (a NumPy loop calibrated to
   20 ms). Larger clusters are *extrapolated* from the measured overhead
   (marked as such): ``T(W) = T_serial / W + (T_1 - T_serial)``.
2. The gradient of a logistic-regression loss and of a small MLP loss over a
   Dask array generated lazily in 200k-row chunks, on a LocalCluster of 2
   workers with a memory limit per worker, by
   :func:`chainrule.distributed.dask_value_and_grad`; checked against a
   chunk-by-chunk NumPy reference, timed beside the same gradient written
   by hand directly in ``dask.array``, with the client's memory growth.
   The issue's size (8e7 x 4 = 2.4 GB, 500 MB per worker) is scaled down
   for a 2-core machine: 8e6 x 4 (256 MB) and 200 MB per worker (about
   100 MB of which the worker's own Python, NumPy and Dask) by default.

Usage::

    python bench/dask_bench.py            # the measurements (a few minutes on 2 cores)
    python bench/dask_bench.py --quick    # small sizes, a smoke run
    python bench/dask_bench.py --rows 80000000 --memory 500MB   # the issue's size
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import chainrule as cr
from chainrule import numerical


def sleeping(x: np.ndarray) -> float:
    time.sleep(0.02)
    return float(np.sum(np.sin(x) * x))


def _calibrate(seconds: float) -> int:
    n = 10_000
    a = np.random.default_rng(0).standard_normal(64)
    start = time.perf_counter()
    for _ in range(n):
        a = np.sin(a)
    per = (time.perf_counter() - start) / n
    return max(1, int(seconds / per))


def make_computing(loops: int):  # type: ignore[no-untyped-def]
    def computing(x: np.ndarray) -> float:
        a = np.resize(x, 64)
        for _ in range(loops):
            a = np.sin(a)
        return float(np.sum(np.sin(x) * x) + 0.0 * a[0])

    return computing


def finite_differences(quick: bool) -> None:
    from chainrule.distributed import cluster_client

    n = 8 if quick else 40
    x = np.linspace(0.1, 1.0, n)
    computing = make_computing(_calibrate(0.02))
    functions = {"waiting (sleep 20 ms)": sleeping, "computing (NumPy, ~20 ms)": computing}
    print(f"### 1. numerical.grad of a 20 ms function of {n} inputs ({2 * n + 1} evaluations)\n")
    print("| function | serial | 1 worker | 2 workers | 2 workers / serial | 4 (extrap.) | 8 (extrap.) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, f in functions.items():
        start = time.perf_counter()
        serial = numerical.grad(f, x)
        t_serial = time.perf_counter() - start
        times = {}
        for workers in (1, 2):
            with cluster_client(workers=workers, malloc_trim=False) as client:
                numerical.grad(f, x[:2], executor=client)  # warm-up: imports on the workers
                start = time.perf_counter()
                result = numerical.grad(f, x, executor=client)
                times[workers] = time.perf_counter() - start
            assert np.array_equal(result, serial), "the distributed gradient differs from the serial one"
        overhead = max(times[1] - t_serial, 0.0)
        extrapolated = {w: t_serial / w + overhead for w in (4, 8)}
        ratio = times[2] / t_serial
        print(f"| {name} | {t_serial:.2f} s | {times[1]:.2f} s | {times[2]:.2f} s | {ratio:.2f}x | "
              f"{extrapolated[4]:.2f} s | {extrapolated[8]:.2f} s |")  # fmt: skip
    print("\nResults bit-identical to the serial run (asserted). Extrapolated columns: "
          "serial / W + the overhead measured with 1 worker (not measured).\n")  # fmt: skip


def cpu_accounting(quick: bool) -> None:
    """Wall clock and CPU seconds (client, workers) of the demo's finite differences, shipped two ways.

    On a machine shared with other work, wall-clock ratios say more about the
    load than about the code. CPU seconds do not depend on it: the speed-up
    on W free cores is at most ``serial CPU / max(client CPU, workers' CPU / W)``
    (an estimate, marked as such in the table).
    """
    import importlib

    from threadpoolctl import threadpool_limits

    import chainrule.numerical.executors as executors
    from chainrule import nn
    from chainrule.demo import build_model
    from chainrule.demo.distributed import heat_loss
    from chainrule.distributed import cluster_client

    data = nn.load_digits(seed=0)
    model = build_model("mlp")
    params = model.init(np.random.default_rng(0), data.x_train.shape[1:])
    params = [{k: v + 0.01 if k == "b" else v for k, v in layer.items()} for layer in params]
    xb, yb = data.x_train[:64], data.y_train[:64]

    def mlp_loss(params, x, y):  # type: ignore[no-untyped-def]
        return nn.softmax_cross_entropy(model.apply(params, x), y)

    heat = "heat-equation solver (24 inputs, ~20 ms)"
    cases = {"demo MLP loss (17,226 inputs, 0.1 ms)": (mlp_loss, (params, xb, yb)),
             heat: (heat_loss, (np.linspace(0.3, 0.9, 24),))}  # fmt: skip
    if quick:
        cases = {heat: cases[heat]}
    print("### Finite differences on 2 workers: wall clock and CPU seconds\n")
    print("| function | shipped | wall: serial | wall: 2 workers | CPU: serial | CPU: client | CPU: workers "
          "| est. speed-up on 2 free cores |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    shipping = executors.map_jobs
    with threadpool_limits(limits=1, user_api="blas"), cluster_client(workers=2, malloc_trim=False) as client:
        client.run(importlib.import_module, "chainrule")
        for name, (f, args) in cases.items():
            wall, cpu = time.perf_counter(), time.process_time()
            serial = numerical.grad(f, *args)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            for how in ("jobs", "points (rounds)"):
                executors.map_jobs = shipping if how == "jobs" else (lambda *a: None)  # type: ignore[assignment]
                try:
                    before = client.run(time.process_time)
                    w2, c2 = time.perf_counter(), time.process_time()
                    result = numerical.grad(f, *args, executor=client)
                    w2, c2 = time.perf_counter() - w2, time.process_time() - c2
                    after = client.run(time.process_time)
                finally:
                    executors.map_jobs = shipping
                pairs = zip(cr.tree_leaves(serial), cr.tree_leaves(result))
                assert all(np.array_equal(a, b) for a, b in pairs)
                workers_cpu = sum(after[k] - before[k] for k in after)
                estimate = cpu / max(c2, workers_cpu / 2)
                print(f"| {name} | {how} | {wall:.1f} s | {w2:.1f} s | {cpu:.1f} s | {c2:.1f} s | "
                      f"{workers_cpu:.1f} s | {estimate:.2f}x |", flush=True)  # fmt: skip
    print("\nGradients bit-identical to the serial run (asserted). CPU seconds of the workers include their "
          "Dask event loops; the estimate assumes 2 cores free of other work.\n")  # fmt: skip


def logistic(w, x, y):  # type: ignore[no-untyped-def]
    return np.mean(np.logaddexp(0.0, -y * (x @ w)))


def mlp(p, x, y):  # type: ignore[no-untyped-def]
    h = np.tanh(x @ p["w1"] + p["b1"])
    return np.mean((h @ p["w2"] - y) ** 2)


def logistic_dask(w, x, y):  # type: ignore[no-untyped-def]
    """The same value and gradient written by hand in dask.array (lazy: the caller computes)."""
    import dask.array as da

    margin = -y * (x @ w)
    grad = (x * (-y / (1.0 + da.exp(-margin)))[:, None]).mean(axis=0)
    return [da.mean(da.logaddexp(0.0, margin)), grad]


def mlp_dask(p, x, y):  # type: ignore[no-untyped-def]
    import dask.array as da

    h = da.tanh(x @ p["w1"] + p["b1"])
    r = h @ p["w2"] - y
    rows = x.shape[0]
    dz = (2.0 / rows) * r[:, None] * p["w2"][None, :] * (1.0 - h**2)
    return [da.mean(r**2), (2.0 / rows) * (h.T @ r), x.T @ dz, dz.sum(axis=0)]


def _rss() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss)


class PeakRSS:
    """The client's peak resident memory above its level at entry, sampled every 20 ms by a thread.

    The growth at the end alone would miss a transient copy of the data.
    """

    def __enter__(self) -> PeakRSS:
        import threading

        self.base = self.peak = _rss()
        self._stop = threading.Event()

        def sample() -> None:
            while not self._stop.wait(0.02):
                self.peak = max(self.peak, _rss())

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())
        self.end = _rss()

    @property
    def growth(self) -> float:
        return self.peak - self.base


def data_parallel(rows: int, memory: str, quick: bool, direct_timeout: float) -> None:
    import dask.array as da

    from chainrule.distributed import cluster_client, dask_value_and_grad

    chunk = 200_000 if not quick else 20_000
    rng = da.random.default_rng(2)
    x = rng.standard_normal((rows, 4), chunks=(chunk, 4))
    y = da.sign(x[:, 0] + 0.5 * rng.standard_normal(rows, chunks=chunk))
    p_rng = np.random.default_rng(1)
    mlp_params = {"w1": p_rng.standard_normal((4, 16)) * 0.5, "b1": np.zeros(16),
                  "w2": p_rng.standard_normal(16) * 0.5}  # fmt: skip
    cases = {
        "logistic regression": (logistic, np.array([0.5, -0.2, 0.3, 0.1]), logistic_dask),
        "MLP 4-16-1 (tanh)": (mlp, mlp_params, mlp_dask),
    }
    gigabytes = rows * 4 * 8 / 1e9
    print(f"### 2. Gradients over a {rows:.0e} x 4 float64 Dask array ({gigabytes:.2f} GB, lazily "
          f"generated in {chunk:,}-row chunks), LocalCluster of 2 workers with {memory} each\n")  # fmt: skip
    print("| loss | dask_value_and_grad | by hand in dask.array | max rel. diff vs chunk-by-chunk NumPy "
          "| client peak RSS growth (ours) | (by hand) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    from distributed import wait

    with cluster_client(workers=2, memory_limit=memory) as client:
        for name, (loss, params, direct) in cases.items():
            with PeakRSS() as ours_memory:
                start = time.perf_counter()
                # Blocks of 25k rows inside each chunk: the MLP's activations of a whole 200k-row
                # chunk (several arrays of 200k x 16) would not fit beside a worker's own 100 MB.
                value, g = dask_value_and_grad(loss, params, x, y, block_rows=25_000)
                ours = time.perf_counter() - start
            print(f"<!-- {name}: dask_value_and_grad {ours:.1f} s -->", flush=True)
            with PeakRSS() as direct_memory:
                start = time.perf_counter()
                futures = client.compute(direct(params, x, y))
                try:
                    wait(futures, timeout=direct_timeout)
                    client.gather(futures)
                    by_hand = f"{time.perf_counter() - start:.1f} s"
                except Exception as exc:  # its graph holds more than a worker's memory: killed or paused
                    client.cancel(futures)
                    by_hand = f"not done after {time.perf_counter() - start:.0f} s ({type(exc).__name__})"
            print(f"<!-- {name}: by hand {by_hand} -->", flush=True)
            # The reference: the same chunks in NumPy, one at a time, here.
            total, reference = 0.0, [np.zeros_like(leaf) for leaf in cr.tree_leaves(g)]
            for i in range(x.numblocks[0]):
                xi, yi = x.blocks[i].compute(scheduler="sync"), y.blocks[i].compute(scheduler="sync")
                vi, gi = cr.value_and_grad(loss)(params, xi, yi)
                total += float(vi) * len(yi) / rows
                reference = [r + leaf * len(yi) / rows for r, leaf in zip(reference, cr.tree_leaves(gi))]
            diffs = [abs(value - total) / abs(total)] + [
                float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(cr.tree_leaves(g), reference)
            ]
            memory = f"{ours_memory.growth / 1e6:.0f} MB | {direct_memory.growth / 1e6:.0f} MB"
            print(f"| {name} | {ours:.1f} s | {by_hand} | {max(diffs):.1e} | {memory} |", flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--rows", type=int, default=None, help="rows of the data (default 8e6; quick 2e5)")
    parser.add_argument("--memory", default="200MB", help="memory limit per worker (default 200MB)")
    parser.add_argument("--only", choices=("fd", "cpu", "data"), default=None, help="one of the measurements")
    parser.add_argument("--direct-timeout", type=float, default=90.0,
                        help="seconds given to the by-hand dask.array gradient (default 90)")  # fmt: skip
    args = parser.parse_args()
    rows = args.rows or (200_000 if args.quick else 8_000_000)
    import dask
    import distributed

    print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())}; "
          f"chainrule {cr.__version__}, NumPy {np.__version__}, dask {dask.__version__}, "
          f"distributed {distributed.__version__}\n")  # fmt: skip
    if args.only in (None, "fd"):
        finite_differences(args.quick)
    if args.only in (None, "cpu"):
        cpu_accounting(args.quick)
    if args.only in (None, "data"):
        data_parallel(rows, args.memory, args.quick, args.direct_timeout)


if __name__ == "__main__":
    main()
