"""Smoke tests of the scripts in examples/: each runs with few steps and its numbers make sense.

The examples are not a package; they are loaded from their files, the way a
user runs them. Step counts are small so that the file runs in seconds; the
bars are set well below what the full runs reach, and above what an untrained
model (or a wrong gradient) would give.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = ["logistic_regression", "mlp", "cnn", "ode_parameter_fit", "physics_projectile"]
NAMES.append("handwritten_backprop")


def load(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module without putting examples/ on sys.path."""
    spec = importlib.util.spec_from_file_location(f"chainrule_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_example_has_the_common_interface(name: str) -> None:
    main = load(name).main
    params = inspect.signature(main).parameters
    assert list(params) == ["steps", "seed"]
    assert params["steps"].default is None
    assert params["seed"].default == 0


def test_logistic_regression_full_run() -> None:
    # The full run is cheap (L-BFGS on 31 parameters), so check the converged answer:
    # it must match scikit-learn's independent solver on the same objective.
    out = load("logistic_regression").main()
    assert out["gradient_check_passed"]
    assert out["gradient_check_max_abs_error"] < 1e-8
    assert out["final_loss"] < 0.5 * out["initial_loss"]
    # Breast cancer is nearly linearly separable: anything below 95% means a broken fit.
    assert out["train_accuracy"] > 0.95
    assert out["test_accuracy"] > 0.93
    assert out["max_weight_difference_to_sklearn"] < 1e-4


def test_mlp_learns_in_a_few_steps() -> None:
    out = load("mlp").main(steps=60)
    assert out["steps"] == 60
    # Chance is 10% and the loss of uniform guessing is log(10) = 2.30.
    assert out["final_loss"] < 0.5 * out["initial_loss"]
    assert out["test_accuracy"] > 0.8


def test_cnn_learns_in_a_few_steps() -> None:
    out = load("cnn").main(steps=40)
    assert out["gradient_check_passed"]
    assert out["final_loss"] < 0.8 * out["initial_loss"]
    assert out["test_accuracy"] > 0.4


def test_ode_parameter_fit_moves_toward_the_truth() -> None:
    out = load("ode_parameter_fit").main(steps=10)
    true, start, recovered = out["true"], out["start"], out["recovered"]

    def distance(p: dict[str, float]) -> float:
        return math.hypot(*(p[k] - true[k] for k in true))

    assert distance(recovered) < 0.2 * distance(start)
    # With noise sd 0.05 on 61 observations the estimates are within a few hundredths.
    assert abs(recovered["damping"] - true["damping"]) < 0.05
    assert abs(recovered["frequency"] - true["frequency"]) < 0.05
    # At the optimum the residual is the noise: the mean squared error is near its variance.
    assert out["final_loss"] < 0.05 * out["initial_loss"]
    assert 0.5 * 0.05**2 < out["final_loss"] < 2.0 * 0.05**2
    # Backprop through the 300 RK4 steps agrees with finite differences.
    for k in true:
        b, n = out["backprop_gradient"][k], out["numerical_gradient"][k]
        assert abs(b - n) <= 1e-6 * abs(n)


def test_projectile_finds_the_best_angle() -> None:
    out = load("physics_projectile").main(steps=10)
    # Drag shortens the best angle below the drag-free 45 degrees; the gradient-based
    # answer agrees with the brute-force scan to its 0.05-degree resolution.
    assert 30.0 < out["best_angle_deg"] < 45.0
    assert abs(out["best_angle_deg"] - out["scan_angle_deg"]) < 0.05
    assert out["best_range"] > out["start_range"]
    assert abs(out["backprop_derivative"] - out["numerical_derivative"]) <= 1e-6 * abs(
        out["numerical_derivative"]
    )


def test_handwritten_backprop_finds_the_wrong_line() -> None:
    out = load("handwritten_backprop").main(steps=20)
    # check_vjp passes the correct layers and names the input of the buggy tanh backward
    assert out["vjp affine"] == out["vjp tanh"] == out["vjp softmax loss"] == "pass"
    assert out["vjp tanh (buggy)"] == "FAIL"
    assert "argument 0 ('x')" in out["vjp culprit"]
    # check_grad(grad=) names the leaves below the slip, and only those
    assert out["grad correct"] == "pass"
    assert out["grad buggy"] == "FAIL"
    assert "['w1']" in out["grad culprit"] and "['b1']" in out["grad culprit"]
    assert "['w2']" not in out["grad culprit"] and "['b2']" not in out["grad culprit"]
    # the fixed gradient trains: 3 classes, chance loss log(3) = 1.1
    assert out["final_loss"] < 0.5 * out["initial_loss"]


@pytest.mark.parametrize("name", ["logistic_regression", "ode_parameter_fit", "handwritten_backprop"])
def test_example_runs_as_a_script(name: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--steps", "2", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
