"""Accuracy per evaluation: chainrule.numerical beside numdifftools and scipy.differentiate (issue 14).

Three measurements on the same functions, printed as markdown tables, and a plot:

1. First derivatives of 14 smooth scalar functions at 5 points each (70
   cases, scales from 1e-3 to 1e2): the median and 90th-percentile relative
   error of each library's default adaptive method, its evaluations per
   derivative, and (for chainrule) how often the error estimate bounds the
   true error.
2. The Hessian of the 10-D Rosenbrock function at four points: the largest
   absolute error against ``scipy.optimize.rosen_hess`` and the number of
   function evaluations.
3. Error against evaluations for many settings of each library (methods,
   orders, step counts, tolerances), over the same 70 cases: the median
   relative error versus the mean number of evaluations, plotted to
   ``bench/numerical_accuracy.png``.
4. How often chainrule's error estimates bound the true error, on random
   smooth problems (derivatives of orders 1 to 4; gradients and Hessians with
   inputs of mixed scales).

numdifftools and scipy (>= 1.15, for ``scipy.differentiate``) are optional:
a missing library is skipped. Usage::

    python bench/numerical_accuracy.py           # everything (about a minute)
    python bench/numerical_accuracy.py --quick   # fewer cases, no plot
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import platform
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import numerical

HERE = pathlib.Path(__file__).resolve().parent

# (name, f, f', points): smooth at every point; scales differ on purpose.
FUNCTIONS: list[tuple[str, Callable[[Any], Any], Callable[[float], float], list[float]]] = [
    ("exp", np.exp, np.exp, [-2.0, 0.0, 0.5, 1.0, 3.0]),
    ("sin", np.sin, np.cos, [0.1, 0.7, 1.5, 2.5, 10.0]),
    ("cos", np.cos, lambda x: -np.sin(x), [0.2, 1.0, 2.0, 4.0, 20.0]),
    ("log", np.log, lambda x: 1 / x, [1e-3, 0.1, 1.0, 7.0, 100.0]),
    ("sqrt", np.sqrt, lambda x: 0.5 / np.sqrt(x), [1e-3, 0.3, 1.0, 5.0, 50.0]),
    ("tanh", np.tanh, lambda x: 1 - np.tanh(x) ** 2, [-1.0, 0.1, 0.5, 1.0, 3.0]),
    ("atan", np.arctan, lambda x: 1 / (1 + x * x), [-2.0, 0.01, 0.5, 1.0, 30.0]),
    ("1/x", lambda x: 1.0 / x, lambda x: -1 / x**2, [0.01, 0.3, 1.0, 2.0, 50.0]),
    ("x^5", lambda x: x**5, lambda x: 5 * x**4, [-1.5, 0.2, 1.0, 2.0, 3.0]),
    ("exp(sin)", lambda x: np.exp(np.sin(x)), lambda x: np.cos(x) * np.exp(np.sin(x)),
     [0.3, 1.0, 2.0, 5.0, 9.0]),
    ("logistic", lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2,
     [-4.0, -1.0, 0.2, 1.0, 5.0]),
    ("x*log(x)", lambda x: x * np.log(x), lambda x: np.log(x) + 1, [0.05, 0.5, 2.0, 3.0, 20.0]),
    ("sinh", np.sinh, np.cosh, [-2.0, 0.1, 0.6, 1.3, 4.0]),
    ("erf-like", lambda x: np.exp(-(x**2)), lambda x: -2 * x * np.exp(-(x**2)), [-1.0, 0.3, 0.8, 1.5, 2.5]),
]  # fmt: skip


def cases(quick: bool) -> list[tuple[str, Callable[[Any], Any], float, float]]:
    out = []
    for name, f, df, points in FUNCTIONS:
        for x in points[:2] if quick else points:
            out.append((name, f, x, float(df(x))))
    return out


class Counter:
    """Counts the points a function is evaluated at (vectorized calls count every point)."""

    def __init__(self, f: Callable[[Any], Any]):
        self.f, self.points = f, 0

    def __call__(self, x: Any, *args: Any) -> Any:
        self.points += int(np.size(x))
        return self.f(x, *args)


# -- the three libraries, one callable per setting: (f, x) -> (value, evaluations, error estimate) ----


def chainrule_runner(method: str, **kw: Any) -> Callable[..., tuple[float, int, float]]:
    def run(f: Callable[[Any], Any], x: float) -> tuple[float, int, float]:
        est = numerical.derivative(f, x, method=method, return_estimate=True, **kw)
        return float(est.value), int(est.evaluations), float(est.error)

    return run


def numdifftools_runner(**kw: Any) -> Callable[..., tuple[float, int, float]] | None:
    try:
        import numdifftools as nd
    except ImportError:
        return None

    def run(f: Callable[[Any], Any], x: float) -> tuple[float, int, float]:
        c = Counter(f)
        res = nd.Derivative(c, full_output=True, **kw)(x)
        if hasattr(res, "estimate"):  # numdifftools >= 0.11: one EstimateResult
            value, err = res.estimate, res.error_estimate
        else:  # older: (value, info)
            value, err = res[0], res[1].error_estimate
        return float(value), c.points, float(np.max(err))

    return run


def scipy_runner(**kw: Any) -> Callable[..., tuple[float, int, float]] | None:
    try:
        from scipy.differentiate import derivative
    except ImportError:
        return None

    def run(f: Callable[[Any], Any], x: float) -> tuple[float, int, float]:
        c = Counter(f)
        res = derivative(c, x, **kw)
        return float(res.df), c.points, float(res.error)

    return run


def measure(run: Callable[..., tuple[float, int, float]], data: list) -> dict[str, float]:
    rel, evals, honest = [], [], []
    for _, f, x, want in data:
        with np.errstate(all="ignore"):
            value, n, err = run(f, x)
        e = abs(value - want)
        rel.append(e / abs(want) if want != 0 else e)
        evals.append(n)
        honest.append(bool(e <= err))
    r = np.array(rel)
    r = np.where(np.isfinite(r), r, 1.0)
    return {
        "median": float(np.median(r)),
        "p90": float(np.quantile(r, 0.9)),
        "max": float(np.max(r)),
        "evals": float(np.mean(evals)),
        "evals_median": float(np.median(evals)),
        "honest": float(np.mean(honest)),
    }


# -- 1. first derivatives ----------------------------------------------------------------


def first_derivatives(data: list) -> None:
    print(f"## 1. First derivatives: {len(data)} cases ({len(FUNCTIONS)} functions x points)\n")
    print("| library, setting | median rel. error | 90th pct | max | evaluations (mean / median) "
          "| estimate >= true error |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    runners = [
        ("chainrule `method='adaptive'`", chainrule_runner("adaptive")),
        ("chainrule `method='richardson'`", chainrule_runner("richardson")),
        ("chainrule `method='central'` (default)", chainrule_runner("central")),
        ("numdifftools `Derivative` (default)", numdifftools_runner()),
        ("scipy.differentiate `derivative` (default)", scipy_runner()),
    ]
    for label, run in runners:
        if run is None:
            print(f"| {label} | not installed | | | | |")
            continue
        m = measure(run, data)
        print(f"| {label} | {m['median']:.2e} | {m['p90']:.1e} | {m['max']:.1e} | "
              f"{m['evals']:.1f} / {m['evals_median']:.0f} | {100 * m['honest']:.0f}% |")  # fmt: skip
    print()


# -- 2. Rosenbrock Hessian ---------------------------------------------------------------


def rosenbrock_hessians(quick: bool) -> None:
    from scipy.optimize import rosen, rosen_hess

    n = 10
    points = {
        "x = 0.5": np.full(n, 0.5),
        "x = [-1.2, 1, ...]": np.tile([-1.2, 1.0], n // 2),
        "x ~ N(0, 1), seed 0": np.random.default_rng(0).standard_normal(n),
        "x = linspace(-1.2, 1.5)": np.linspace(-1.2, 1.5, n),
    }
    if quick:
        points = dict(list(points.items())[:1])
    print(f"## 2. Hessian of the {n}-D Rosenbrock function (target: max abs error <= 1e-8 in <= 1000 "
          "evaluations)\n")  # fmt: skip
    print("| library, setting | " + " | ".join(points) + " |")
    print("|---|" + "---:|" * len(points))

    def ours(method: str) -> Callable[[np.ndarray], tuple[np.ndarray, int]]:
        def run(x: np.ndarray) -> tuple[np.ndarray, int]:
            c = Counter(rosen)
            return numerical.hessian(lambda v: c(v), x, method=method), c.points // n

        return run

    runners: list[tuple[str, Callable[[np.ndarray], tuple[np.ndarray, int]] | None]] = [
        ("chainrule `hessian(method='adaptive')`", ours("adaptive")),
        ("chainrule `hessian(method='richardson')`", ours("richardson")),
        ("chainrule `hessian()` (central)", ours("central")),
    ]
    try:
        import numdifftools as nd

        def ndh(x: np.ndarray) -> tuple[np.ndarray, int]:
            c = Counter(rosen)
            return nd.Hessian(lambda v: c(v))(x), c.points // n

        runners.append(("numdifftools `Hessian` (default)", ndh))
    except ImportError:
        runners.append(("numdifftools", None))
    try:
        from scipy.differentiate import hessian as sph

        def sh(x: np.ndarray) -> tuple[np.ndarray, int]:
            c = Counter(rosen)
            res = sph(lambda v: c(v), x)
            return res.ddf, c.points // n

        runners.append(("scipy.differentiate `hessian` (default)", sh))
    except ImportError:
        runners.append(("scipy.differentiate", None))
    for label, run in runners:
        if run is None:
            print(f"| {label} | not installed |" + " |" * (len(points) - 1))
            continue
        cells = []
        for x in points.values():
            h, evals = run(x)
            cells.append(f"{np.max(np.abs(h - rosen_hess(x))):.1e} ({evals})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\nCells: max abs error (evaluations of the function, one per point).\n")


# -- 3. error versus evaluations ---------------------------------------------------------


def sweep(data: list, plot: bool) -> None:
    settings: dict[str, list[tuple[str, Callable[..., tuple[float, int, float]] | None]]] = {
        "chainrule": [
            (m, chainrule_runner(m)) for m in ("forward", "central", "central4", "central6", "richardson")
        ]
        + [(f"adaptive atol={t:g}", chainrule_runner("adaptive", atol=t)) for t in (1e-4, 1e-8, 1e-12)]
        + [("adaptive", chainrule_runner("adaptive"))],
        "numdifftools": [(f"order={o}", numdifftools_runner(order=o)) for o in (2, 4, 6)]
        + [(f"num_steps={s}", _nd_steps(s)) for s in (6, 10, 20)],
        "scipy.differentiate": [
            (f"order={o} maxiter={m}", scipy_runner(order=o, maxiter=m))
            for o in (2, 4, 8)
            for m in (1, 2, 4, 10)
        ],
    }
    print("## 3. Median relative error versus mean evaluations, every setting\n")
    print("| library | setting | median rel. error | mean evaluations |")
    print("|---|---|---:|---:|")
    curves: dict[str, list[tuple[float, float]]] = {}
    for lib, runs in settings.items():
        for label, run in runs:
            if run is None:
                continue
            m = measure(run, data)
            curves.setdefault(lib, []).append((m["evals"], m["median"]))
            print(f"| {lib} | {label} | {m['median']:.1e} | {m['evals']:.1f} |")
    print()
    if not plot:
        return
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for (lib, pts), marker in zip(curves.items(), "osd"):
        pts = sorted(pts)
        ax.loglog(
            [p[0] for p in pts], [max(p[1], 1e-17) for p in pts], marker=marker, linestyle="none", label=lib
        )
    ax.set_xlabel("mean function evaluations per derivative")
    ax.set_ylabel(f"median relative error over {len(data)} cases")
    ax.set_title("First derivatives: accuracy versus cost")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = HERE / "numerical_accuracy.png"
    fig.savefig(out, dpi=120)
    print(f"plot: {out.relative_to(HERE.parent)}")


# -- 4. honesty sweep --------------------------------------------------------------------


def honesty_sweep(quick: bool) -> None:
    """How often chainrule's error estimate bounds the true error, on random smooth problems."""
    rng = np.random.default_rng(1)
    families = {
        "exp(a x)": (lambda a: lambda x: np.exp(a * x), lambda a, x, n: a**n * np.exp(a * x)),
        "sin(a x)": (lambda a: lambda x: np.sin(a * x), lambda a, x, n: a**n * np.sin(a * x + n * np.pi / 2)),
        "log(x)": (lambda a: np.log, lambda a, x, n: (-1) ** (n - 1) * math.factorial(n - 1) / x**n),
        "x**a": (lambda a: lambda x: x**a, lambda a, x, n: np.prod([a - k for k in range(n)]) * x ** (a - n)),
    }
    methods = ("adaptive", "richardson", "central")
    counts = {m: [0, 0] for m in methods}
    for name, (make, exact) in families.items():
        for _ in range(10 if quick else 60):
            a = float(rng.uniform(0.3, 3.0))
            positive = name in ("log(x)", "x**a")
            x = float(10 ** rng.uniform(-6, 2)) if positive else float(rng.uniform(-3, 3))
            for n in (1, 2, 3, 4):
                for m in methods:
                    est = numerical.derivative(make(a), x, n=n, method=m, return_estimate=True)
                    counts[m][0] += 1
                    counts[m][1] += int(abs(est.value - exact(a, x, n)) <= est.error)
    print("## 4. Is the error estimate an upper bound? Random smooth problems\n")
    print("Derivatives of order 1 to 4 of exp(a x), sin(a x) (x in [-3, 3]), log x and x**a (x from 1e-6")
    print("to 1e2, log-uniform), a in [0.3, 3]:\n")
    print("| method | derivatives | estimate >= true error |")
    print("|---|---:|---:|")
    for m, (total, ok) in counts.items():
        print(f"| `{m}` | {total} | {ok} ({100 * ok / total:.1f}%) |")
    grads = {m: [0, 0] for m in ("adaptive", "central")}
    hess = {m: [0, 0] for m in ("adaptive", "richardson", "central")}
    for _ in range(10 if quick else 40):
        k = 5
        x = rng.standard_normal(k) * 10 ** rng.uniform(-4, 1, k)
        a_mat = rng.standard_normal((k, k))

        def f(x: np.ndarray, a_mat: np.ndarray = a_mat) -> Any:
            return np.sum(np.sin(a_mat @ x)) + 0.1 * np.sum(x**4)

        g = a_mat.T @ np.cos(a_mat @ x) + 0.4 * x**3
        h = -a_mat.T @ np.diag(np.sin(a_mat @ x)) @ a_mat + np.diag(1.2 * x**2)
        for m, c in grads.items():
            est = numerical.grad(f, x, method=m, return_estimate=True)
            c[0] += k
            c[1] += int(np.sum(np.abs(est.value - g) <= est.error))
        for m, c in hess.items():
            est = numerical.hessian(f, x, method=m, return_estimate=True)
            c[0] += k * k
            c[1] += int(np.sum(np.abs(est.value - h) <= est.error))
    print("\nGradients and Hessians of sum(sin(A x)) + 0.1 sum(x**4), 5 inputs of scales 1e-4 to 10:\n")
    print("| operator, method | elements | estimate >= true error |")
    print("|---|---:|---:|")
    for label, table in (("grad", grads), ("hessian", hess)):
        for m, (total, ok) in table.items():
            print(f"| `{label}`, `{m}` | {total} | {ok} ({100 * ok / total:.1f}%) |")
    print()


def _nd_steps(num_steps: int) -> Callable[..., tuple[float, int, float]] | None:
    try:
        import numdifftools as nd
    except ImportError:
        return None
    return numdifftools_runner(step=nd.MinStepGenerator(num_steps=num_steps))


def versions() -> str:
    import numpy

    parts = [f"Python {platform.python_version()}", f"NumPy {numpy.__version__}"]
    for mod in ("scipy", "numdifftools"):
        try:
            parts.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            parts.append(f"{mod} not installed")
    cpu = platform.processor() or platform.machine()
    return f"{platform.platform()}, {cpu}, {os.cpu_count()} CPUs; " + ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases, no plot")
    ns = parser.parse_args()
    data = cases(ns.quick)
    print(f"Machine: {versions()}\n")
    first_derivatives(data)
    rosenbrock_hessians(ns.quick)
    sweep(data, plot=not ns.quick)
    honesty_sweep(ns.quick)


if __name__ == "__main__":
    main()
