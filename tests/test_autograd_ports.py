"""HIPS autograd's example programs, ported to plain NumPy + chainrule (examples/autograd_ports/).

Each program runs unchanged, as a script (``__main__``), and its printed
results are checked against what a working gradient must give (a loss that
falls, derivatives equal to closed forms). Each also offers
``gradient_case()``: a scalar function of the program and a point, whose
backprop gradient must match finite differences (``chainrule.numerical``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import runpy
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import chainrule as cr

PORTS = Path(__file__).resolve().parent.parent / "examples" / "autograd_ports"
NAMES = sorted(p.stem for p in PORTS.glob("*.py"))


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"autograd_port_{name}", PORTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_ported_programs_are_all_here():
    assert len(NAMES) >= 12, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name: str) -> None:
    f, args = load(name).gradient_case()
    analytic = cr.grad(f)(*args)
    numeric = cr.numerical.grad(f, *args)
    a_leaves, a_def = cr.tree_flatten(analytic)
    n_leaves, n_def = cr.tree_flatten(numeric)
    assert a_def == n_def
    for a, n in zip(a_leaves, n_leaves):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7)


def _run_as_script(name: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(PORTS / f"{name}.py"), run_name="__main__")
    return eval(out.getvalue(), {"np": np})  # the script prints its result dict


# What a working gradient gives each program (a wrong one fails these by far).
EXPECTED = {
    "tanh": lambda r: r["max_error_first_three"] < 1e-12,
    "sinusoid": lambda r: r["max_error_first"] < 1e-8 and r["max_error_second"] < 1e-8,
    "logistic_regression": lambda r: r["final_loss"] < 0.5 * r["initial_loss"] and r["train_accuracy"] > 0.85,
    "neural_net": lambda r: r["final_loss"] < 0.2 * r["initial_loss"] and r["train_accuracy"] > 0.9,
    "rnn": lambda r: r["final_loss"] < 0.3 * r["initial_loss"],
    "gaussian_process": lambda r: r["final_loss"] < r["initial_loss"] - 10 and r["prediction_error"] < 0.4,
    "convnet": lambda r: r["final_loss"] < 0.3 * r["initial_loss"] and r["train_accuracy"] > 0.9,
    "black_box_svi": lambda r: r["final_elbo"] > r["initial_elbo"] + 3.0,
    "ode_net": lambda r: r["final_loss"] < 0.1 * r["initial_loss"],
    "fluidsim": lambda r: r["final_loss"] < 0.5 * r["initial_loss"],
    "rkhs": lambda r: r["final_loss"] < 0.1 * r["initial_loss"] and r["gradient_type_is_function"] == 1.0,
    "hessian_vector_products": lambda r: r["hvp_error"] < 1e-10 and r["final_gradient_norm"] < 1e-8,
    "fixed_points": lambda r: max(r.values()) < 1e-10,
    "define_gradient": lambda r: r["check_passed"] == 1.0 and r["softmax_error"] < 1e-12
    and math.isclose(r["large_input_offset"], math.log(2.0), abs_tol=1e-12) and r["rule_calls"] > 0,
    "gmm": lambda r: r["final_loss"] < 0.8 * r["initial_loss"],
}  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_runs_unchanged_as_a_script(name: str) -> None:
    result = _run_as_script(name)
    assert EXPECTED[name](result), result


@pytest.mark.parametrize("name", NAMES)
def test_port_has_the_common_interface(name: str) -> None:
    module = load(name)
    doc = module.__doc__ or ""
    assert "autograd" in doc.splitlines()[0], "the summary names the autograd program it ports"
    assert callable(module.main) and callable(module.gradient_case)
