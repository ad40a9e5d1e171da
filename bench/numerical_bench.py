"""Finite differences against backpropagation: cost, gradient checks, accuracy (issue 3).

Three measurements, printed as markdown tables (and a PNG plot):

1. ``check_grad`` on the 784-256-256-10 tanh MLP (269,322 float64 parameters,
   batch 32, softmax cross-entropy, written with plain NumPy): "fast" mode is
   run on it; "full" mode is O(N) evaluations, so it is measured on smaller
   MLPs (N about 100 to 20k) and *extrapolated* to 270k parameters, two ways:
   a linear fit of the measured times, and ``evaluations(N) x`` the measured
   time of one evaluation of the big MLP (each evaluation of a larger network
   costs more, so the linear fit is a lower bound).
2. ``numerical.grad`` (central differences, 2N evaluations) against
   ``chainrule.grad`` (one forward and one backward pass) on
   ``f(x) = sum(tanh(A x))`` with ``A`` of shape (3, N), for N = 10 ... 1e5:
   times, evaluation counts, and a log-log plot (bench/numerical_cost.png).
3. Accuracy and evaluation counts of ``numerical.grad`` (central, central4,
   richardson, complex), ``scipy.optimize.approx_fprime`` (default epsilon)
   and numdifftools (if importable) on four functions, against the exact
   gradient from ``chainrule.grad``.

Timings use one BLAS thread (``OPENBLAS_NUM_THREADS=1``, set before NumPy is
imported). Usage::

    python bench/numerical_bench.py           # everything (a few minutes)
    python bench/numerical_bench.py --quick   # small sizes, a smoke run
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import itertools
import math
import pathlib
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import numerical
from chainrule.check import check_grad

HERE = pathlib.Path(__file__).resolve().parent


# -- 1. check_grad on MLPs -----------------------------------------------------


def mlp_problem(sizes: list[int], batch: int = 32, seed: int = 0) -> tuple[Callable[..., Any], dict, int]:
    """A tanh MLP with softmax cross-entropy on a fixed random batch: (loss, params, N)."""
    rng = np.random.default_rng(seed)
    params = {}
    for k, (m, n) in enumerate(itertools.pairwise(sizes)):
        params[f"W{k}"] = rng.standard_normal((m, n)) / math.sqrt(m)
        params[f"b{k}"] = 0.1 * rng.standard_normal(n)
    x = rng.standard_normal((batch, sizes[0]))
    labels = rng.integers(0, sizes[-1], batch)
    onehot = np.eye(sizes[-1])[labels]
    layers = len(sizes) - 1

    def loss(p: dict) -> Any:
        h = x
        for k in range(layers):
            h = h @ p[f"W{k}"] + p[f"b{k}"]
            if k < layers - 1:
                h = np.tanh(h)
        z = h - np.max(h, axis=1, keepdims=True)
        logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
        return -np.sum(onehot * logp) / batch

    n = sum(v.size for v in params.values())
    return loss, params, n


def time_eval(f: Callable[..., Any], *args: Any, repeat: int = 20) -> float:
    """The median time of one call of f."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_check_grad(quick: bool) -> None:
    print("## 1. check_grad on tanh MLPs (float64, batch 32, softmax cross-entropy)\n")
    big = [784, 256, 256, 10] if not quick else [64, 32, 32, 10]
    loss, params, n_big = mlp_problem(big)
    t_eval_big = time_eval(loss, params)
    report = check_grad(loss, params, mode="fast", seed=0)
    print(
        f"MLP {'-'.join(map(str, big))}: N = {n_big:,} parameters; one evaluation {t_eval_big * 1e3:.2f} ms\n"
    )
    print("| mode | N | verdict | evaluations | wall time (s) |")
    print("|---|---:|---|---:|---:|")
    print(
        f"| fast ({report.probes} probes, rev) | {n_big:,} | {report.verdict} | {report.evaluations} "
        f"| {report.seconds:.2f} |"
    )
    rows = []
    hidden = [2, 8, 24, 48, 96, 128] if not quick else [2, 8]
    for h in hidden:
        sizes = [32, h, h, 10]
        f, p, n = mlp_problem(sizes)
        te = time_eval(f, p)
        t0 = time.perf_counter()
        rep = check_grad(f, p, mode="full", seed=0)
        wall = time.perf_counter() - t0
        rows.append((sizes, n, rep.verdict, rep.evaluations, wall, te))
        print(f"| full (measured) | {n:,} | {rep.verdict} | {rep.evaluations:,} | {wall:.2f} |")
    ns = np.array([r[1] for r in rows], dtype=float)
    walls = np.array([r[4] for r in rows])
    evals = np.array([r[3] for r in rows], dtype=float)
    # evaluations are exactly linear in N; fit them too rather than assume the constant
    e_slope, e_icpt = np.polyfit(ns, evals, 1)
    t_slope, t_icpt = np.polyfit(ns, walls, 1)
    evals_big = e_slope * n_big + e_icpt
    lin = t_slope * n_big + t_icpt
    per_eval = evals_big * t_eval_big
    print(
        f"| full (EXTRAPOLATED: linear fit of the times above) | {n_big:,} | - | ~{evals_big:,.0f} "
        f"| ~{lin:,.0f} (lower bound) |"
    )
    print(
        f"| full (EXTRAPOLATED: evaluations x {t_eval_big * 1e3:.2f} ms per evaluation of this MLP) "
        f"| {n_big:,} | - | ~{evals_big:,.0f} | ~{per_eval:,.0f} (~{per_eval / 3600:.1f} h) |"
    )
    print("\nMeasured 'full' points (MLP 32-h-h-10): time per evaluation of the loss alone:\n")
    print("| MLP | N | evaluations | wall (s) | wall / evaluation (ms) | one loss evaluation (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for sizes, n, _, ev, wall, te in rows:
        print(
            f"| {'-'.join(map(str, sizes))} | {n:,} | {ev:,} | {wall:.2f} | {wall / ev * 1e3:.3f} "
            f"| {te * 1e3:.3f} |"
        )
    print(
        f"\nFull mode is not run at N = {n_big:,}: the numbers above are extrapolations "
        f"(evaluations fit: {e_slope:.3f} N + {e_icpt:.0f}).\n"
    )


# -- 2. numerical.grad vs backprop as N grows ------------------------------------


def bench_cost(quick: bool) -> None:
    print("## 2. numerical.grad (central) vs chainrule.grad on f(x) = sum(tanh(A x)), A: 3 x N\n")
    sizes = [10, 100, 1000, 10_000, 100_000] if not quick else [10, 100, 1000]
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        a = rng.standard_normal((3, n)) / math.sqrt(n)
        x = rng.standard_normal(n)

        def f(x: Any, a: np.ndarray = a) -> Any:
            return np.sum(np.tanh(a @ x))

        t_f = time_eval(f, x)
        g_bp = cr.grad(f)
        t_bp = min(time_eval(g_bp, x, repeat=5), time_eval(g_bp, x, repeat=5))
        t0 = time.perf_counter()
        est = numerical.grad(f, x, return_estimate=False)
        t_num = time.perf_counter() - t0
        counter = [0]

        def counted(x: Any, f: Callable[..., Any] = f, counter: list[int] = counter) -> Any:
            counter[0] += 1
            return f(x)

        if n <= 10_000:
            numerical.grad(counted, x)
            n_evals = counter[0]
        else:
            n_evals = 2 * n + 1  # central: 2 per element + the value at x (counted at the smaller sizes)
        exact = g_bp(x)
        err = float(np.max(np.abs(est - exact)) / np.max(np.abs(exact)))
        rows.append((n, t_f, t_bp, t_num, n_evals, err))
    print(
        "| N | one evaluation of f (ms) | backprop grad (ms) | numerical.grad (s) "
        "| evaluations (numerical) | numerical / backprop time | rel. error of numerical |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, t_f, t_bp, t_num, ev, err in rows:
        print(
            f"| {n:,} | {t_f * 1e3:.4f} | {t_bp * 1e3:.3f} | {t_num:.4g} | {ev:,} "
            f"| {t_num / t_bp:,.0f} | {err:.1e} |"
        )
    print(
        "\nBackprop costs one forward and one backward pass (about 3 evaluations' worth of work) "
        "whatever N; central differences cost 2N + 1 evaluations, each O(N), so O(N^2) in all.\n"
    )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not importable: no plot)\n")
        return
    ns = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.loglog(ns, [r[3] for r in rows], "o-", label="numerical.grad (central, 2N+1 evaluations)")
    ax.loglog(ns, [r[2] for r in rows], "s-", label="chainrule.grad (backprop)")
    ax.loglog(ns, [r[1] for r in rows], ":", color="gray", label="one evaluation of f")
    ax.set_xlabel("N (inputs)")
    ax.set_ylabel("time (s)")
    ax.set_title("Gradient of sum(tanh(A x)), A: 3 x N (1 BLAS thread)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = HERE / "numerical_cost.png"
    fig.savefig(out, dpi=120)
    print(f"Plot: {out.relative_to(HERE.parent)}\n")


# -- 3. accuracy against other finite-difference tools -----------------------------


def rosenbrock(x: Any) -> Any:
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def exp_sin(x: Any) -> Any:
    return np.sum(np.exp(0.5 * x) * np.sin(3.0 * x)) + np.sum(x) ** 2 * 0.1


_R = np.random.default_rng(7)
_XD = _R.standard_normal((50, 10))
_YD = (_R.uniform(size=50) < 0.5).astype(float)
_OBS = _R.normal(1.5, 2.0, 40)


def logistic_nll(w: Any) -> Any:
    """Logistic-regression negative log-likelihood, written analytically (complex step works)."""
    z = _XD @ w
    return np.sum(np.log(1.0 + np.exp(z)) - _YD * z)


def gaussian_nll(theta: Any) -> Any:
    """Negative log-likelihood of N(mu, exp(log_sigma)^2) for 40 observations; theta = (mu, log_sigma)."""
    mu, log_s = theta[0], theta[1]
    r = (_OBS - mu) * np.exp(-log_s)
    return np.sum(0.5 * r**2 + log_s) + 0.5 * _OBS.size * math.log(2 * math.pi)


FUNCTIONS = [
    ("Rosenbrock 10-D", rosenbrock, np.linspace(-1.2, 1.3, 10)),
    ("sum exp(x/2) sin(3x) + 0.1 (sum x)^2, 10-D", exp_sin, np.linspace(-1.0, 1.5, 10)),
    ("logistic NLL, 10 weights, 50 points", logistic_nll, 0.3 * np.random.default_rng(3).standard_normal(10)),
    ("Gaussian NLL (mu, log sigma)", gaussian_nll, np.array([1.0, 0.3])),
]


def bench_accuracy() -> None:
    from scipy.optimize import approx_fprime

    try:
        import numdifftools as nd
    except ImportError:
        nd = None
    print("## 3. Accuracy: max |g - g_exact| / max |g_exact| (normwise) and evaluations\n")
    print("Exact gradient: chainrule.grad (backprop). Evaluations counted by a wrapper around f.\n")
    methods: list[tuple[str, Callable[..., Any]]] = [
        (f"numerical.grad {m}", lambda f, x, m=m: numerical.grad(f, x, method=m))
        for m in ("central", "central4", "richardson", "complex")
    ]
    methods.append(("scipy approx_fprime (default eps)", lambda f, x: approx_fprime(x, f)))
    if nd is not None:
        methods.append((f"numdifftools {nd.__version__} Gradient (default)", lambda f, x: nd.Gradient(f)(x)))
    else:
        print("(numdifftools not importable: its rows are missing)\n")
    header = "| method | " + " | ".join(name for name, _, _ in FUNCTIONS) + " |"
    print(header)
    print("|---|" + "---:|" * len(FUNCTIONS))
    for label, method in methods:
        cells = []
        for _, f, x in FUNCTIONS:
            exact = cr.grad(f)(x)
            count = [0]

            def counted(z: Any, f: Callable[..., Any] = f, count: list[int] = count) -> Any:
                count[0] += 1
                return f(z)

            g = np.asarray(method(counted, x.copy()), dtype=float).reshape(x.shape)
            err = float(np.max(np.abs(g - exact)) / np.max(np.abs(exact)))
            cells.append(f"{err:.1e} ({count[0]} ev)")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", default="1,2,3", help="which parts to run, e.g. 1,3")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    print(
        f"# chainrule numerical benchmark\n\nnumpy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
        f"load average {os.getloadavg()[0]:.2f}\n"
    )
    if "1" in parts:
        bench_check_grad(args.quick)
    if "2" in parts:
        bench_cost(args.quick)
    if "3" in parts:
        bench_accuracy()


if __name__ == "__main__":
    main()
