"""chainrule.numerical: each method to its promised accuracy, error estimates, refusals."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from chainrule import numerical
from chainrule.numerical import Estimate, NonFiniteError, StepUnderflowWarning

# (function, derivative, points): scales from 1e-2 to 1e3, each function's natural scale ~ |x|.
CASES = [
    ("cubic", lambda x: x**3 - 2.0 * x, lambda x: 3.0 * x**2 - 2.0, [0.01, 0.7, 3.0, 50.0, 1e3]),
    ("exp", np.exp, np.exp, [-3.0, 0.0, 0.5, 4.0]),
    ("sin", np.sin, np.cos, [0.0, 0.3, 1.7, 3.0]),
    ("log", np.log, lambda x: 1.0 / x, [0.5, 1.0, 7.0, 300.0, 1e3]),
]
# method -> promised relative accuracy at the default step (order p: ~eps**(p/(p+1)))
PROMISED = {
    "forward": 1e-6,
    "backward": 1e-6,
    "central": 1e-9,
    "central4": 1e-11,
    "central6": 1e-10,
    "richardson": 1e-11,
    "complex": 1e-13,
}


@pytest.mark.parametrize("method", list(PROMISED))
@pytest.mark.parametrize(("name", "f", "df", "points"), CASES, ids=[c[0] for c in CASES])
def test_known_derivatives_to_promised_accuracy(method, name, f, df, points):
    for x in points:
        got = numerical.grad(f, float(x), method=method)
        want = df(x)
        # rounding is relative to f's value over the step's scale max(1, |x|)
        scale = max(abs(want), abs(f(x)) / max(1.0, abs(x)))
        assert abs(got - want) <= PROMISED[method] * scale, (x, got, want, (got - want) / scale)


def test_complex_step_is_exact_to_rounding():
    x = np.array([0.1, 1.5, 20.0])
    f = lambda x: np.exp(x) * np.sin(x) / (1.0 + x**2)
    df = lambda x: (
        (np.exp(x) * (np.sin(x) + np.cos(x)) * (1 + x**2) - np.exp(x) * np.sin(x) * 2 * x) / (1 + x**2) ** 2
    )
    got = numerical.derivative(f, x, method="complex")
    np.testing.assert_allclose(got, df(x), rtol=1e-13)


@pytest.mark.parametrize(("f", "df"), [(np.exp, np.exp), (np.sin, np.cos), (np.log, lambda x: 1 / x),
                                       (lambda x: x**5, lambda x: 5 * x**4)])  # fmt: skip
@pytest.mark.parametrize("x0", [0.2, 1.0, 3.0, 40.0])
def test_richardson_error_estimate_bounds_true_error(f, df, x0):
    est = numerical.derivative(f, x0, method="richardson", return_estimate=True)
    assert isinstance(est, Estimate)
    assert abs(est.value - df(x0)) <= est.error
    assert est.error <= 1e-6 * abs(df(x0))  # and it is not vacuous
    assert est.evaluations == 9  # base point + 4 levels x 2


def test_estimates_report_cost_and_step():
    x = np.array([1.0, 2.0, 3.0])
    est = numerical.grad(lambda x: np.sum(np.sin(x)), x, method="central", return_estimate=True)
    assert est.evaluations == 1 + 4 * 3  # base, then +-h and +-2h per element (value and estimate)
    np.testing.assert_allclose(
        est.step, np.finfo(float).eps ** (1 / 3) * np.array([1.0, 2.0, 3.0]), rtol=1e-6
    )
    assert np.all(np.abs(est.value - np.cos(x)) <= est.error)
    plain = numerical.grad(lambda x: np.sum(np.sin(x)), x, method="forward", return_estimate=False)
    assert isinstance(plain, np.ndarray)


def test_default_step_by_method_dtype_and_scale():
    eps64, eps32 = float(np.finfo(np.float64).eps), float(np.finfo(np.float32).eps)
    x = np.array([0.5, 100.0, 0.0, 3e-6])
    scale = np.array([0.5, 100.0, 1.0, 3e-6])  # |x|, and 1 at 0: no max(1, |x|)
    np.testing.assert_allclose(numerical.default_step("forward", x), math.sqrt(eps64) * scale)
    np.testing.assert_allclose(numerical.default_step("central", x, np.float32), eps32 ** (1 / 3) * scale)
    np.testing.assert_allclose(numerical.default_step("central4", x), eps64 ** (1 / 5) * scale)
    np.testing.assert_allclose(numerical.default_step("complex", x), 1e-20 * scale)
    # the n-th derivative balances eps / h**n against h**p
    np.testing.assert_allclose(numerical.default_step("central", x, n=3), eps64 ** (1 / 5) * scale)


def test_user_step_is_used():
    est = numerical.grad(
        lambda x: np.sum(x**2), np.array([1.0]), method="forward", step=0.5, return_estimate=True
    )
    # forward difference of x^2 at 1 with h = 0.5: ((1.5)^2 - 1) / 0.5 = 2.5 exactly
    assert est.value[0] == 2.5
    assert est.step[0] == 0.5


def test_pytrees_argnums_and_jacobian_layout():
    params = {"w": np.arange(6.0).reshape(2, 3), "b": [np.ones(3), 2.0]}
    f = lambda p, s: s * (np.sum(p["w"] ** 2) + np.sum(p["b"][0]) * p["b"][1])
    g = numerical.grad(f, params, 3.0, argnums=(0, 1), method="central4")
    np.testing.assert_allclose(g[0]["w"], 6.0 * np.arange(6.0).reshape(2, 3), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(g[0]["b"][0], 3.0 * 2.0 * np.ones(3), rtol=1e-10)
    np.testing.assert_allclose(g[0]["b"][1], 3.0 * 3.0, rtol=1e-10)
    np.testing.assert_allclose(g[1], np.sum(np.arange(6.0) ** 2) + 3.0 * 2.0, rtol=1e-10)
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    jac = numerical.jacobian(lambda x: a @ x, np.array([0.3, -0.2]), method="complex")
    np.testing.assert_allclose(jac, a, rtol=1e-14)
    jac = numerical.jacobian(lambda x: {"y": x**2, "s": np.sum(x)}, np.array([1.0, 2.0]), method="complex")
    np.testing.assert_allclose(jac["y"], np.diag([2.0, 4.0]), atol=1e-14)
    np.testing.assert_allclose(jac["s"], [1.0, 1.0], atol=1e-14)


def test_hessian_and_directional():
    x = np.array([1.0, 2.0, -0.5])
    f = lambda x: x[0] ** 2 * x[1] + np.sin(x[2]) * x[1] ** 3
    want = np.array([[2 * x[1], 2 * x[0], 0.0],
                     [2 * x[0], 6 * x[1] * np.sin(x[2]), 3 * x[1] ** 2 * np.cos(x[2])],
                     [0.0, 3 * x[1] ** 2 * np.cos(x[2]), -np.sin(x[2]) * x[1] ** 3]])  # fmt: skip
    np.testing.assert_allclose(numerical.hessian(f, x), want, atol=1e-6)
    v = np.array([0.5, -1.0, 2.0])
    d = numerical.directional(lambda x: np.sin(x) * x, (x,), (v,), method="central4")
    np.testing.assert_allclose(d, (np.cos(x) * x + np.sin(x)) * v, rtol=1e-10)


def test_workers_give_the_same_result():
    x = np.linspace(0.1, 2.0, 20)
    f = lambda x: np.sum(np.exp(x) * np.cos(x))
    serial = numerical.grad(f, x, method="central4")
    parallel = numerical.grad(f, x, method="central4", workers=4)
    np.testing.assert_array_equal(serial, parallel)
    np.testing.assert_array_equal(numerical.directional(f, (x,), (np.ones(20),), workers=3),
                                  numerical.directional(f, (x,), (np.ones(20),)))  # fmt: skip


def test_float32_inputs_are_upcast_and_results_stay_float32():
    x = np.array([0.3, 1.1], dtype=np.float32)
    seen = []

    def f(x):
        seen.append(x.dtype)
        return np.sum(np.sin(x))

    g = numerical.grad(f, x, method="central4")
    assert set(seen) == {np.dtype(np.float64)}
    assert g.dtype == np.float32  # a gradient has the dtype of its argument
    np.testing.assert_allclose(g, np.cos(x.astype(np.float64)), rtol=1e-7)
    numerical.grad(f, x, upcast=False)
    assert seen[-1] == np.float32


def test_nonfinite_at_a_stencil_point_names_the_input_point_and_shift():
    # finite only within 1e-7 of x = 0.5: every step of 1e-6 leaves the domain on both sides
    f = lambda x: x[0] + np.log(1e-14 - (x[1] - 0.5) ** 2)
    with pytest.raises(NonFiniteError, match=r"argument 0 \('x'\)\[1\] = 0.5 moved by -1e-06 to 0.4999989"):
        numerical.grad(f, np.array([1.0, 0.5]), step=1e-6)
    with pytest.raises(NonFiniteError, match="at the given point"):
        numerical.grad(lambda x: np.sum(np.sqrt(x)), np.array([-1.0]))


def test_one_sided_differences_at_the_edge_of_the_domain():
    # exp(x) defined for x > 0 only: a central step of 0.01 at x = 0.001 crosses the edge
    f = lambda x: np.sum(np.exp(x) + 0.0 * np.log(x))
    est = numerical.grad(f, np.array([1e-3, 1.0]), step=0.01, return_estimate=True)
    assert "one-sided (forward)" in est.message and "argument 0 ('x')[0]" in est.message
    np.testing.assert_allclose(est.value, np.exp([1e-3, 1.0]), rtol=1e-4)
    assert np.all(np.abs(est.value - np.exp([1e-3, 1.0])) <= est.error)


def test_non_scalar_output_and_integer_input_refused():
    with pytest.raises(TypeError, match=r"shape \(3,\)"):
        numerical.grad(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(TypeError, match=r"argument 0 \('n'\)"):
        numerical.grad(lambda n: n * 2.0, 3)
    with pytest.raises(TypeError, match=r"argument 0 \('x'\)\['k'\].*int64"):
        numerical.grad(lambda x: np.sum(x["k"]), {"k": np.arange(3)})
    with pytest.raises(ValueError, match="unknown method"):
        numerical.grad(lambda x: x, 1.0, method="fivepoint")


def test_step_underflow():
    with pytest.raises(ValueError, match=r"argument 0 \('x'\)\[1\].*x \+ h == x"):
        numerical.grad(lambda x: np.sum(x), np.array([1.0, 1e5]), step=1e-12)
    with pytest.warns(StepUnderflowWarning, match=r"argument 0 \('x'\)\[1\]"):
        numerical.grad(lambda x: np.sum(x), np.array([1.0, 1e5]), step=2e-11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        numerical.grad(lambda x: np.sum(x), np.array([1.0, 1e5]))  # default steps: no warning


def test_complex_step_refuses_a_non_analytic_function():
    with pytest.raises(TypeError, match="imaginary part"):
        numerical.grad(lambda x: float(np.sum(np.abs(x))), np.ones(2), method="complex")


def test_elementwise_derivative_cost_does_not_grow():
    est = numerical.derivative(np.tanh, np.linspace(-2, 2, 1000), method="central", return_estimate=True)
    np.testing.assert_allclose(est.value, 1 - np.tanh(np.linspace(-2, 2, 1000)) ** 2, rtol=1e-8, atol=1e-10)
    assert est.evaluations == 5
