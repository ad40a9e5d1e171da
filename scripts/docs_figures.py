"""Draw the documentation's pictures from chainrule's own outputs (docs/images/).

Usage: python scripts/docs_figures.py [--out DIR] [--quick]

* ``step_size_error.png``: the error of central differences against backprop as the
  step h shrinks (truncation error falls as h**2, then rounding error grows as 1/h);
* ``cost_versus_n.png``: seconds per gradient against the number of parameters N,
  backprop measured, finite differences as 2N+1 measured evaluations (timings: rerun
  on your machine, the shape is what matters);
* ``chain_rule_graph.svg``: the graph of ``sin(x*y) + x`` as ``chainrule.explain`` draws it;
* ``example_ode_parameter_fit.png``, ``example_physics_projectile.png``: the gallery's
  pictures, from running those examples.

Needs the demo extra (matplotlib, scikit-learn). ``--quick`` measures fewer sizes and skips
the examples (tests).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import chainrule as cr

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def step_size_error(path: Path) -> None:
    f = lambda x: np.sum(np.sin(x) * x**2)
    x = np.array([0.5, 1.0, 2.0])
    exact = cr.grad(f)(x)
    steps = np.logspace(-13, -1, 49)
    eye = np.eye(len(x))
    errors = [
        np.max(np.abs([(f(x + h * eye[i]) - f(x - h * eye[i])) / (2 * h) for i in range(len(x))] - exact))
        for h in steps
    ]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.loglog(steps, errors, ".-", label="central differences vs backprop")
    ax.loglog(steps, 2.0 * steps**2, ":", color="grey", label="truncation ~ h²")
    ax.loglog(steps, 1e-16 / steps, "--", color="grey", label="rounding ~ ε/h")
    ax.set(xlabel="step h", ylabel="max |error|", ylim=(1e-12, 1.0),
           title="f(x) = Σ sin(x)·x²: the error of finite differences")  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def cost_versus_n_figure(path: Path, quick: bool) -> None:
    from chainrule import nn
    from chainrule.demo.cost import cost_versus_n
    from chainrule.demo.timing import single_threaded_blas

    data = nn.load_digits(seed=0)
    widths = (4, 64) if quick else (2, 4, 16, 64, 256)
    with single_threaded_blas():  # as the demo measures (see its docstring)
        points = cost_versus_n(data.x_train[:64], data.y_train[:64], widths=widths)
    n = [p.parameters for p in points]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.loglog(n, [p.finite_difference_seconds for p in points], "o-", label="finite differences: (2N+1) x f")
    ax.loglog(n, [p.backprop_seconds for p in points], "s-", label="backprop (measured)")
    ax.loglog(n, [p.function_seconds for p in points], ":", color="grey", label="f alone")
    ax.set(xlabel="parameters N", ylabel="seconds per gradient",
           title="one gradient of an MLP's loss (batch of 64 digits)")  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def chain_rule_graph(path: Path) -> None:
    e = cr.explain(lambda x, y: np.sin(x * y) + x, 1.0, 2.0, argnums=(0, 1))
    path.write_text(e.to_svg(), encoding="utf-8")


def _example(name: str):  # type: ignore[no-untyped-def]
    """Import ``examples/<name>.py`` from its file, as the tests do."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"chainrule_example_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ode_example(path: Path) -> None:
    import contextlib
    import io

    ode = _example("ode_parameter_fit")
    with contextlib.redirect_stdout(io.StringIO()):
        result = ode.main()
    observed = ode.make_observations(0)
    t = np.arange(len(observed)) * ode.DT * ode.EVERY
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.plot(t, observed, "k.", markersize=4, label="noisy observations")
    ax.plot(t, ode.simulate_positions(result["start"]), ":", label="start: damping 0.1, frequency 1.7")
    fitted = result["recovered"]
    label = f"fitted: damping {fitted['damping']:.3f}, frequency {fitted['frequency']:.3f}"
    ax.plot(t, ode.simulate_positions(fitted), "-", label=label)
    ax.set(xlabel="time", ylabel="position", title="L-BFGS with gradients through 300 RK4 steps")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def projectile_example(path: Path) -> None:
    import contextlib
    import io
    import math

    projectile = _example("physics_projectile")
    with contextlib.redirect_stdout(io.StringIO()):
        result = projectile.main()
    angles = np.arange(5.0, 86.0, 1.0)
    ranges = [float(projectile.flight_range(math.radians(a))) for a in angles]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.plot(angles, ranges, "-", label="range (simulated with drag)")
    ax.plot([result["start_angle_deg"]], [result["start_range"]], "o", label="start: 20 degrees")
    ax.plot([result["best_angle_deg"]], [result["best_range"]], "*", markersize=12,
            label=f"L-BFGS with backprop: {result['best_angle_deg']:.2f} degrees")  # fmt: skip
    ax.axvline(45.0, color="grey", linestyle=":", label="45 degrees (best without drag)")
    ax.set(xlabel="launch angle (degrees)", ylabel="range (m)", title="the best launch angle, by gradient")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="directory for the pictures (docs/images)")
    parser.add_argument("--quick", action="store_true", help="fewer sizes, no examples (for tests)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    step_size_error(args.out / "step_size_error.png")
    cost_versus_n_figure(args.out / "cost_versus_n.png", args.quick)
    chain_rule_graph(args.out / "chain_rule_graph.svg")
    if not args.quick:  # the examples run in full (tens of seconds); test_examples covers them
        ode_example(args.out / "example_ode_parameter_fit.png")
        projectile_example(args.out / "example_physics_projectile.png")
    print(f"wrote the pictures to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
