"""chainrule.numerical: any order, steps by scale and dtype, complex conventions, passthrough, vectorized."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from chainrule import numerical
from chainrule.numerical import Estimate, fornberg_weights, make_stencil


# Fornberg (1988), Math. Comp. 51, Table 1 (centred) and Table 3 (one-sided): exact weights.
@pytest.mark.parametrize(
    ("offsets", "n", "want"),
    [
        ((-1, 1), 1, [Fraction(-1, 2), Fraction(1, 2)]),
        (
            (-2, -1, 0, 1, 2),
            2,
            [Fraction(-1, 12), Fraction(4, 3), Fraction(-5, 2), Fraction(4, 3), Fraction(-1, 12)],
        ),
        ((-2, -1, 0, 1, 2), 4, [1, -4, 6, -4, 1]),
        ((-2, -1, 1, 2), 3, [Fraction(-1, 2), 1, -1, Fraction(1, 2)]),
        ((0, 1, 2, 3), 1, [Fraction(-11, 6), 3, Fraction(-3, 2), Fraction(1, 3)]),
        (
            (0, 1, 2, 3, 4),
            2,
            [Fraction(35, 12), Fraction(-26, 3), Fraction(19, 2), Fraction(-14, 3), Fraction(11, 12)],
        ),
    ],
)
def test_fornberg_weights_match_the_published_tables(offsets, n, want):
    np.testing.assert_allclose(fornberg_weights(offsets, n), [float(w) for w in want], rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("n", range(1, 9))
@pytest.mark.parametrize("kind", ["central", "forward", "backward"])
def test_every_stencil_is_exact_on_polynomials_of_its_degree(n, kind):
    st = make_stencil(kind, n, 2)
    degree = len(st.offsets) - 1
    h, x = 0.5, 0.3
    for k in range(n, degree + 1):  # d^n/dx^n x**k = k!/(k-n)! x**(k-n)
        got = sum(w * (x + o * h) ** k for w, o in zip(st.weights, st.offsets)) / h**n
        want = np.prod(np.arange(k - n + 1, k + 1)) * x ** (k - n)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n", range(1, 9))
def test_orders_1_to_8_with_honest_estimates(n):
    # d^n/dx^n exp(a x) = a**n exp(a x): smooth, and the scale grows with n
    a, x = 0.7, 0.4
    est = numerical.derivative(lambda x: np.exp(a * x), x, n=n, method="adaptive", return_estimate=True)
    want = a**n * np.exp(a * x)
    assert abs(est.value - want) <= est.error
    assert abs(est.value - want) <= 10.0 ** (-13 + 1.2 * n) * abs(want)
    for method in ("central", "central4", "richardson"):
        est = numerical.derivative(lambda x: np.exp(a * x), x, n=n, method=method, return_estimate=True)
        assert abs(est.value - want) <= est.error, method


def test_directional_second_derivative():
    f = lambda x: np.sum(np.sin(x) * x[::-1])
    x, v = np.array([0.3, 1.2, -0.4]), np.array([1.0, -2.0, 0.5])
    # d^2/dt^2 f(x + t v) = v^T H v, with H from the mixed partials
    hess = numerical.hessian(f, x, method="adaptive")
    est = numerical.directional(f, (x,), (v,), n=2, method="adaptive", return_estimate=True)
    np.testing.assert_allclose(est.value, v @ hess @ v, rtol=1e-8)
    assert abs(est.value - v @ hess @ v) <= est.error + 1e-8


# -- steps: scale, dtype ----------------------------------------------------------------


@pytest.mark.parametrize("x", [2.8e-6, 1e-9, 3e-3])
def test_small_scale_points_get_small_steps(x):
    # log and 1/x vary on the scale of x: a step of eps**(1/3) (no max(1, |x|)) stays inside
    for method in ("central", "central4", "adaptive"):
        est = numerical.derivative(np.log, x, method=method, return_estimate=True)
        assert abs(est.value - 1 / x) <= est.error <= 1e-6 / x
    est = numerical.hessian(lambda v: np.log(v[0]) * v[1] ** 2, np.array([x, 1.5]), method="adaptive",
                            return_estimate=True)  # fmt: skip
    want = np.array([[-(1.5**2) / x**2, 3.0 / x], [3.0 / x, 2 * np.log(x)]])
    assert np.all(np.abs(est.value - want) <= est.error)
    np.testing.assert_allclose(est.value, want, rtol=1e-6)


def test_hessian_estimate_includes_truncation():
    # x**4 / 12 has f'''' = 2, so central second differences at h have error h**2 / 6 exactly
    f = lambda x: np.sum(x**4) / 12.0
    est = numerical.hessian(f, np.array([1.0]), step=0.1, return_estimate=True)
    true_error = abs(est.value[0, 0] - 1.0)
    np.testing.assert_allclose(true_error, 0.1**2 / 6, rtol=1e-6)
    assert true_error <= est.error[0, 0] <= 10 * true_error
    diag = numerical.hessian(
        f, np.array([1.0, 2.0]), diagonal=True, method="richardson", return_estimate=True
    )
    np.testing.assert_allclose(diag.value, [1.0, 4.0], rtol=1e-10)
    assert diag.evaluations == 1 + 2 * 2 * 3


def test_step_follows_the_dtype_the_function_computes_in():
    f32 = lambda x: np.sum(np.sin(np.asarray(x, np.float32)))
    est = numerical.grad(f32, np.array([0.5, 1.0]), return_estimate=True)
    eps32 = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(est.step, eps32 ** (1 / 3) * np.array([0.5, 1.0]), rtol=1e-3)
    assert np.all(np.abs(est.value - np.cos([0.5, 1.0])) <= est.error)
    assert np.all(np.abs(est.value - np.cos([0.5, 1.0])) < 1e-3)


def test_float32_results_stay_float32_in_every_operator():
    x = np.array([0.3, 0.9], dtype=np.float32)
    assert numerical.grad(lambda x: np.sum(x**3), x).dtype == np.float32
    assert numerical.jacobian(lambda x: x**3, x).dtype == np.float32
    assert numerical.hessian(lambda x: np.sum(x**3), x).dtype == np.float32
    assert numerical.derivative(lambda x: x**3, x, method="adaptive").dtype == np.float32


# -- complex ---------------------------------------------------------------------------


def test_complex_inputs_follow_jax_conventions():
    z = np.array([3 + 4j, -1 + 0.5j])
    # real-valued f of complex z: df/dx - i df/dy (jax.grad gives 6 - 8j for |z|**2 at 3 + 4j)
    g = numerical.grad(lambda z: np.sum(np.abs(z) ** 2), z, method="central4")
    np.testing.assert_allclose(g, 2 * np.conj(z), rtol=1e-10)
    assert g.dtype == np.complex128
    # holomorphic: df/dz
    np.testing.assert_allclose(numerical.jacobian(lambda z: z**3, z, holomorphic=True, method="adaptive"),
                               np.diag(3 * z**2), rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(numerical.derivative(np.exp, z, holomorphic=True), np.exp(z), rtol=1e-9)
    with pytest.raises(TypeError, match="holomorphic=True"):
        numerical.jacobian(lambda z: z**2, z)
    with pytest.raises(TypeError, match="holomorphic=True"):
        numerical.derivative(np.exp, z)
    with pytest.raises(TypeError, match="imaginary axis"):
        numerical.grad(lambda z: np.sum(np.abs(z)), z, method="complex")
    est = numerical.grad(lambda z: np.sum(np.abs(z) ** 2), z, return_estimate=True)
    assert np.all(np.abs(est.value - 2 * np.conj(z)) <= est.error)


def test_complex_outputs_keep_their_imaginary_part():
    f = lambda x: np.exp(1j * x)
    np.testing.assert_allclose(numerical.derivative(f, 0.3, method="adaptive"), 1j * np.exp(0.3j), rtol=1e-12)
    jac = numerical.jacobian(lambda x: np.exp(1j * x), np.array([0.3, 0.7]))
    np.testing.assert_allclose(jac, np.diag(1j * np.exp(1j * np.array([0.3, 0.7]))), rtol=1e-9, atol=1e-12)
    with pytest.raises(TypeError, match="real-valued"):
        numerical.grad(lambda x: np.sum(np.exp(1j * x)), np.ones(2))
    with pytest.raises(TypeError, match="real-valued function"):  # the complex step would read Im f as f'
        numerical.derivative(f, 0.3, method="complex")


# -- passthrough, vectorized, workers --------------------------------------------------


def test_args_and_kwargs_reach_f():
    f = lambda x, a, b=1.0: b * a * np.sum(x**3)
    np.testing.assert_allclose(numerical.grad(f, np.ones(2), 2.0, kwargs={"b": 3.0}), [18.0, 18.0])
    d = numerical.derivative(lambda x, a, b=1.0: b * a * x**3, 1.0, 2.0, kwargs={"b": 3.0})
    np.testing.assert_allclose(d, 18.0)
    h = numerical.hessian(f, np.ones(2), 2.0, kwargs={"b": 3.0})
    np.testing.assert_allclose(h, np.diag([36.0, 36.0]), rtol=1e-7)


def test_vectorized_evaluates_a_stencil_in_one_call():
    shapes = []

    def f(x):
        shapes.append(x.shape)
        return np.sin(x)

    x = np.array([0.1, 0.2, 0.3])
    est = numerical.derivative(f, x, method="central4", vectorized=True, return_estimate=True)
    np.testing.assert_allclose(est.value, np.cos(x), rtol=1e-10)
    # the base point, then in one call the points at h and at 2h (+-h, +-2h, +-4h: 6 distinct)
    assert shapes == [(1, 3), (6, 3)]
    assert est.evaluations == 1 + 6
    shapes.clear()
    g = numerical.grad(lambda X: np.sum(np.sin(X), axis=-1), x, vectorized=True, method="central")
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-9)


def test_workers_give_the_same_adaptive_result():
    x = np.linspace(0.1, 2.0, 8)
    f = lambda x: np.sum(np.exp(x) * np.cos(x))
    np.testing.assert_array_equal(numerical.grad(f, x, method="adaptive"),
                                  numerical.grad(f, x, method="adaptive", workers=3))  # fmt: skip


def test_estimate_unpacks_as_before_and_reports_status():
    est = numerical.grad(
        lambda x: np.sum(x**2), np.ones(2), method="adaptive", atol=1e-9, return_estimate=True
    )
    value, error, evaluations, step = est
    assert value.shape == step.shape == (2,)
    assert isinstance(est, Estimate) and est.status == 0 and est.success
    assert np.all(error <= 1e-9) and evaluations == est.evaluations
    with pytest.raises(ValueError, match="accuracy"):
        numerical.grad(lambda x: x, 1.0, method="richardson", accuracy=4)
    with pytest.raises(ValueError, match="first derivatives"):
        numerical.derivative(np.sin, 1.0, n=2, method="complex")


def test_complex_step_refuses_a_function_that_is_not_analytic():
    # x * |x| accepts complex input, and the complex step alone would return |x| instead of 2|x|
    with pytest.raises(TypeError, match="not complex-analytic"):
        numerical.grad(lambda x: np.sum(x * np.abs(x)), np.array([1.5, -0.5]), method="complex")
    with pytest.raises(TypeError, match="not complex-analytic"):
        numerical.derivative(lambda x: np.real(x) ** 2 + x, 2.0, method="complex")
    got = numerical.grad(lambda x: np.sum(np.exp(x) * np.sin(x)), np.array([1.5, -0.5]), method="complex")
    x = np.array([1.5, -0.5])
    np.testing.assert_allclose(got, np.exp(x) * (np.sin(x) + np.cos(x)), rtol=1e-14)


def test_operations_without_complex_support_refuse_complex_inputs_by_name():
    z = np.array([1 + 1j, 2.0])
    with pytest.raises(TypeError, match=r"argument 0 \('z'\) is complex"):
        numerical.hessian(lambda z: np.sum(np.abs(z) ** 2), z)
    # (check_grad takes complex inputs: tests/test_complex_rules.py)
