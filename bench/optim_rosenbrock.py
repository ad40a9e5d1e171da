"""Iterations and wall time to solve the 100-D Rosenbrock function with L-BFGS.

Compares, from the same start and with the same tolerances:

- ``scipy.optimize.minimize(rosen, jac=rosen_der, method="L-BFGS-B")``: SciPy
  with its hand-written gradient;
- ``chainrule.optim.minimize_scipy(rosen, method="L-BFGS-B")``: the same SciPy
  optimizer fed value and gradient from one backprop call;
- ``chainrule.optim.minimize(rosen, optimizer=lbfgs())``: chainrule's own L-BFGS;
- ``minimize_scipy(..., method="trust-ncg")``: Hessian-vector products by
  forward-over-reverse.

Prints a markdown table. Run: ``python bench/optim_rosenbrock.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

# SciPy's L-BFGS-B calls BLAS on 100-element vectors: threads only add contention
# (on a loaded machine, several times the run time). Set before NumPy loads BLAS.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.optimize  # noqa: E402

from chainrule.optim import lbfgs, minimize, minimize_scipy  # noqa: E402

N = 100
GTOL = 1e-6


def rosen(x: Any) -> Any:
    """The chained Rosenbrock function, written with traced NumPy operations."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def start() -> np.ndarray:
    x0 = np.full(N, -1.2)
    x0[1::2] = 1.0
    return x0


def run_scipy_handwritten() -> dict[str, Any]:
    r = scipy.optimize.minimize(
        scipy.optimize.rosen,
        start(),
        jac=scipy.optimize.rosen_der,
        method="L-BFGS-B",
        options={"gtol": GTOL, "ftol": 1e-15, "maxiter": 10_000},
    )
    return {"nit": r.nit, "nfev": r.nfev, "x": r.x, "fun": r.fun, "success": r.success}


def run_bridge(method: str) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        options = {"gtol": GTOL, "maxiter": 10_000}
        if method == "L-BFGS-B":
            options["ftol"] = 1e-15
        r = minimize_scipy(rosen, start(), method=method, options=options)
        return {"nit": r.nit, "nfev": r.nfev, "x": r.x, "fun": r.fun, "success": r.success}

    return run


def run_own_lbfgs() -> dict[str, Any]:
    r = minimize(rosen, start(), optimizer=lbfgs(), steps=10_000, tol=GTOL, progress=False)
    return {"nit": r.nit, "nfev": r.nfev, "x": r.x, "fun": r.fun, "success": r.success}


def measure(run: Callable[[], dict[str, Any]], repeat: int) -> dict[str, Any]:
    best = float("inf")
    out: dict[str, Any] = {}
    for _ in range(repeat):
        t = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t)
    out["time"] = best
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats (the best is reported)")
    repeat = parser.parse_args().repeat
    cases = [
        ("SciPy L-BFGS-B, hand-written rosen_der", run_scipy_handwritten),
        ("minimize_scipy L-BFGS-B (backprop)", run_bridge("L-BFGS-B")),
        ("chainrule.optim.minimize, lbfgs()", run_own_lbfgs),
        ("minimize_scipy trust-ncg (backprop + HVP)", run_bridge("trust-ncg")),
    ]
    print(f"100-D Rosenbrock from (-1.2, 1, -1.2, 1, ...), gtol={GTOL}; best of {repeat} runs")
    print(f"(Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__})\n")
    print(
        "| solver | iterations | f evaluations | wall time (ms) | ms / evaluation | max abs(x-1) | success |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, run in cases:
        r = measure(run, repeat)
        err = float(np.max(np.abs(np.asarray(r["x"]) - 1.0)))
        print(
            f"| {name} | {r['nit']} | {r['nfev']} | {1e3 * r['time']:.1f} | "
            f"{1e3 * r['time'] / max(r['nfev'], 1):.3f} | {err:.1e} | {r['success']} |"
        )


if __name__ == "__main__":
    main()
