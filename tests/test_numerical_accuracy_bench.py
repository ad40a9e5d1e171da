"""The headline numbers of bench/numerical_accuracy.py hold (chainrule's side only; no peers needed).

The benchmark compares with numdifftools and scipy.differentiate; this test keeps
chainrule's own claims from regressing: on the benchmark's 70 first-derivative
cases the adaptive method's median relative error stays at the 1e-14 level in
fewer than 31 evaluations (numdifftools' default count), and its error estimate
bounds the true error in every case.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np

_PATH = pathlib.Path(__file__).resolve().parents[1] / "bench" / "numerical_accuracy.py"
_spec = importlib.util.spec_from_file_location("bench_numerical_accuracy", _PATH)
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench
_spec.loader.exec_module(bench)


def test_adaptive_first_derivatives_are_accurate_cheap_and_honest():
    m = bench.measure(bench.chainrule_runner("adaptive"), bench.cases(quick=False))
    assert m["median"] <= 3e-14
    assert m["max"] <= 1e-11
    assert m["evals"] < 31
    assert m["honest"] == 1.0


def test_rosenbrock_hessian_target():
    from scipy.optimize import rosen, rosen_hess

    from chainrule import numerical

    for x in (np.full(10, 0.5), np.linspace(-1.2, 1.5, 10)):
        counter = bench.Counter(rosen)
        h = numerical.hessian(counter, x, method="adaptive")
        assert np.max(np.abs(h - rosen_hess(x))) <= 1e-8
        assert counter.points // 10 <= 1000
