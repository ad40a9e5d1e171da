"""numdifftools' public test cases, ported to chainrule.numerical.

Source: pbrod/numdifftools, src/numdifftools/tests/test_numdifftools.py (BSD-3-Clause);
each test names the case it ports. The functions, points and expected values
are theirs; the calls are ours (``derivative(f, x, n=..., method=...)`` for
``nd.Derivative(f, n=..., method=...)(x)`` and so on). Where numdifftools
asserts only closeness, we also assert that our error estimate bounds the
true error (the functions are smooth at these points).
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import numerical

COS_DERIVATIVES = (
    lambda x: -np.sin(x),
    lambda x: -np.cos(x),
    np.sin,
    np.cos,
    lambda x: -np.sin(x),
    lambda x: -np.cos(x),
    np.sin,
    np.cos,
)


# TestDerivative.test_derivative_of_cos_x: n = 1..6, their hypothesis examples and a sweep of [0, 10].
@pytest.mark.parametrize(
    "x", [7.6564547238847105, 8.9428143931508, 2.2204460492503134e-14, 0.0, 0.5, 3.0, 10.0]
)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_derivative_of_cos_x(x, n):
    est = numerical.derivative(np.cos, x, n=n, method="adaptive", return_estimate=True)
    true = COS_DERIVATIVES[n - 1](x)
    err = abs(est.value - true)
    np.testing.assert_allclose(est.value, true, rtol=1e-6, atol=100 * est.error + 1e-14)
    assert err <= est.error, (err, est.error)  # the estimate is honest
    assert est.error <= 10.0 ** (-8 + n)  # and not vacuous


# TestDerivative.test_high_order_derivative_cos: at pi/2, n = 1..6, every stencil and order, atol 1e-4.
# numdifftools' one-sided methods are adaptive; ours are fixed stencils, whose rounding error for
# n >= 5 at second order (eps / h**5 times weights summing to ~1e3) is 4e-4: allowed 1e-3 there.
@pytest.mark.parametrize("method", ["central", "forward", "backward", "adaptive"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
def test_high_order_derivative_cos(method, n, accuracy):
    true = (0.0, -1.0, 0.0, 1.0, 0.0, -1.0, 0.0)[n]
    if method == "adaptive":
        est = numerical.derivative(np.cos, np.pi / 2, n=n, method=method, return_estimate=True)
    else:
        est = numerical.derivative(
            np.cos, np.pi / 2, n=n, method=method, accuracy=accuracy, return_estimate=True
        )
    one_sided_low_order = method in ("forward", "backward") and n >= 5 and accuracy == 2
    np.testing.assert_allclose(est.value, true, atol=1e-3 if one_sided_low_order else 1e-4)
    assert abs(est.value - true) <= est.error


# TestDerivative.test_fun_with_additional_parameters and test_derivative_with_step_options (issue #9).
@pytest.mark.parametrize("method", ["forward", "backward", "central", "complex", "adaptive"])
def test_fun_with_additional_parameters(method):
    def func(x, a, b=1):
        return b * a * x * x * x

    # at x = 0 a fixed stencil keeps its truncation error h**p f^(p+1) / c; Richardson removes it
    atol = {"forward": 1e-6, "backward": 1e-6, "central": 1e-9}.get(method, 1e-13)
    assert abs(numerical.derivative(func, 0.0, 1.0, kwargs={"b": 2}, method=method)) <= atol
    np.testing.assert_allclose(numerical.derivative(func, 1.0, 1.0, kwargs={"b": 2}, method=method), 6.0,
                               rtol=1e-6 if method in ("forward", "backward") else 1e-9)  # fmt: skip
    np.testing.assert_allclose(numerical.grad(func, 1.0, 1.0, kwargs={"b": 2}, method=method), 6.0,
                               rtol=1e-6 if method in ("forward", "backward") else 1e-9)  # fmt: skip
    np.testing.assert_allclose(numerical.jacobian(func, 1.0, 1.0, kwargs={"b": 2}, method=method), 6.0,
                               rtol=1e-6 if method in ("forward", "backward") else 1e-9)  # fmt: skip
    hmethod = method if method in ("central", "adaptive") else "richardson"
    np.testing.assert_allclose(numerical.hessian(func, 1.0, 1.0, kwargs={"b": 2}, method=hmethod), 12.0,
                               rtol=1e-7)  # fmt: skip
    np.testing.assert_allclose(numerical.hessian(func, 1.0, 1.0, kwargs={"b": 2}, diagonal=True), 12.0,
                               rtol=1e-7)  # fmt: skip


# TestDerivative.test_derivative_cube (issue 7): an elementwise function of a (3, 2) array.
@pytest.mark.parametrize("method", ["central", "adaptive"])
def test_derivative_cube(method):
    x = np.ones((3, 2)) * 2
    dx = numerical.derivative(lambda x: x * x * x, x, method=method)
    assert dx.shape == (3, 2)
    np.testing.assert_allclose(dx, 3 * x**2, rtol=1e-8)


# TestDerivative.test_derivative_exp, test_derivative_sin, test_backward_derivative_on_sinh.
def test_derivative_exp_sin_sinh():
    np.testing.assert_allclose(numerical.derivative(np.exp, 0.0, method="adaptive"), 1.0, rtol=1e-8)
    x = np.linspace(0, 2.0 * np.pi, 13)
    np.testing.assert_allclose(numerical.derivative(np.sin, x, method="adaptive"), np.cos(x), atol=1e-8)
    np.testing.assert_allclose(numerical.derivative(np.sin, x), np.cos(x), atol=1e-8)
    np.testing.assert_allclose(
        numerical.derivative(np.sinh, 0.0, method="backward", accuracy=4), 1.0, rtol=1e-7
    )


# TestDerivative.test_central_and_forward_derivative_on_log: at x = 0.001.
@pytest.mark.parametrize("method", ["central", "central4", "forward", "adaptive", "richardson"])
def test_central_and_forward_derivative_on_log(method):
    est = numerical.derivative(np.log, 0.001, method=method, return_estimate=True)
    np.testing.assert_allclose(est.value, 1.0 / 0.001, rtol=1e-6)
    assert abs(est.value - 1000.0) <= est.error


# TestJacobian.test_scalar_to_vector: values across [-1000, 1000].
@pytest.mark.parametrize("val", [-1000.0, -3.7, 0.0, 1e-8, 0.25, 42.0, 999.0])
@pytest.mark.parametrize("method", ["complex", "central", "forward", "backward", "adaptive"])
def test_scalar_to_vector(val, method):
    fun = lambda x: np.array([x, x**2, x**3]).ravel()
    truth = np.array([[1.0], [2 * val], [3 * val**2]])
    np.testing.assert_allclose(numerical.jacobian(fun, np.array([val]), method=method), truth, rtol=1e-3,
                               atol=1e-6)  # fmt: skip


# TestJacobian.test_on_scalar_function and TestGradient.test_gradient.
@pytest.mark.parametrize("method", ["complex", "central", "forward", "backward", "adaptive"])
def test_jacobian_and_gradient_on_scalar_functions(method):
    fun = lambda x: x[0] * x[1] * x[2] + np.exp(x[0]) * x[1]
    tol = {"rtol": 1e-6} if method in ("forward", "backward") else {"rtol": 1e-9}
    np.testing.assert_allclose(numerical.jacobian(fun, np.array([3.0, 5.0, 7.0]), method=method),
                               [135.42768462, 41.08553692, 15.0], **tol)  # fmt: skip
    g = numerical.grad(lambda x: np.sum(x**2), np.array([1.0, 2.0, 3.0]), method=method)
    np.testing.assert_allclose(g, [2.0, 4.0, 6.0], **tol)


# TestJacobian.test_on_vector_valued_function: residuals of an exact fit, whose Jacobian is zero.
@pytest.mark.parametrize("method", ["complex", "central", "central4", "forward", "backward", "adaptive"])
def test_jacobian_on_vector_valued_function(method):
    xdata = np.arange(0, 1, 0.1)
    ydata = 1 + 2 * np.exp(0.75 * xdata)
    fun = lambda c: (c[0] + c[1] * np.exp(c[2] * xdata) - ydata) ** 2
    est = numerical.jacobian(fun, np.array([1.0, 2.0, 0.75]), method=method, return_estimate=True)
    # numdifftools: atol 1e-12 with Richardson everywhere; our plain stencils keep h**p
    atol = {"forward": 1e-6, "backward": 1e-6, "central": 1e-9}.get(method, 1e-12)
    np.testing.assert_allclose(est.value, np.zeros((ydata.size, 3)), atol=atol)
    # No estimate-bound assertion here: at an exact fit f = r**2 with r computed by cancellation,
    # so f's rounding noise (~ |r| eps |y|) is not the eps |f| an estimate can infer from f's values.


# TestJacobian.test_on_matrix_valued_function and test_issue_25: Jacobian layouts.
def test_jacobian_layouts():
    fun = lambda x: np.array([x[0] ** 2 + x[1] ** 2, x[0] ** 3 + x[1] ** 3])
    np.testing.assert_allclose(numerical.jacobian(fun, np.array([1.0, 2.0])), [[2.0, 4.0], [3.0, 12.0]])
    np.testing.assert_allclose(numerical.jacobian(fun, np.array([3.0, 4.0])), [[6.0, 8.0], [27.0, 48.0]])

    def g_fun(x):
        out = np.zeros((2, 2))
        out[0] = x
        out[1] = x
        return out

    np.testing.assert_allclose(
        numerical.jacobian(g_fun, np.array([1.0, 2.0])), [[[1, 0], [0, 1]], [[1, 0], [0, 1]]]
    )
    fun3 = lambda x: np.vstack((x[0] * x[1] * x[2] ** 2, x[0] * x[1] * x[2]))
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).T
    jac = numerical.jacobian(fun3, x, method="adaptive")  # ours: output (2, 2) x input (3, 2)
    tv = np.array([[[18.0, 180.0], [9.0, 144.0], [12.0, 240.0]], [[6.0, 30.0], [3.0, 24.0], [2.0, 20.0]]])
    # numdifftools lays it out as (output row, input row, column); ours is the full 4-D Jacobian
    np.testing.assert_allclose(np.einsum("ijkj->ikj", jac), tv, rtol=1e-9)


def rosen(x):
    """numdifftools.testing.rosen: Rosenbrock's function with the coefficient 105."""
    return (1 - x[0]) ** 2 + 105.0 * (x[1] - x[0] ** 2) ** 2


# TestGradient.test_directional_diff and TestDerivative.test_directional_diff (Rosenbrock at [2, 3]).
@pytest.mark.parametrize("method", ["central", "central4", "adaptive"])
def test_directional_diff(method):
    v = np.array([1.0, -1.0]) / np.sqrt(2.0)
    x0 = np.array([2.0, 3.0])
    rtol = 1e-7 if method == "central" else 1e-11
    np.testing.assert_allclose(
        np.dot(numerical.grad(rosen, x0, method=method), v), 743.87633380824832, rtol=rtol
    )
    np.testing.assert_allclose(numerical.directional(rosen, (x0,), (v,), method=method), 743.87633380824832,
                               rtol=rtol)  # fmt: skip
    v = np.array([1.0, -1.0])  # numdifftools' unnormalized variant: the same value times sqrt(2)
    np.testing.assert_allclose(numerical.directional(rosen, (x0,), (v,), method="adaptive"),
                               743.87633380824832 * np.sqrt(2.0), rtol=1e-9)  # fmt: skip


# TestHessdiag: x0 + x1**2 + x2**3, default steps and their awkward points (1e-314, 88).
@pytest.mark.parametrize("vals", [(1.0, 2.0, 3.0), (0.0, 16.003907623933742, 68.02057249966789),
                                  (1.2009289063e-314, 1.2009289063e-314, 1.2009289063e-314),
                                  (88.01663712016305, 88.01663712016305, 88.01663712016305),
                                  (0.0, 19.945812226807096, 54.11322414875562)])  # fmt: skip
@pytest.mark.parametrize("method", ["central", "richardson", "adaptive"])
def test_hessdiag(vals, method):
    fun = lambda x: x[0] + x[1] ** 2 + x[2] ** 3
    x = np.array(vals)
    htrue = np.array([0.0, 2.0, 6.0 * x[2]])
    est = numerical.hessian(fun, x, diagonal=True, method=method, return_estimate=True)
    # the rounding of a second difference is eps |f| / h**2: |f| reaches 7e5 at these points
    atol = (1e-2 if method == "central" else 1e-6) * max(1.0, abs(x[2]))
    np.testing.assert_allclose(est.value, htrue, rtol=1e-5, atol=atol)
    assert np.all(np.abs(est.value - htrue) <= est.error + 1e-300)


# TestHessian.test_hessian_cos_x_y_at_0_0 and test_on_scalar_function.
@pytest.mark.parametrize("method", ["central", "richardson", "adaptive"])
def test_hessians(method):
    est = numerical.hessian(
        lambda xy: np.cos(xy[0] - xy[1]), np.zeros(2), method=method, return_estimate=True
    )
    np.testing.assert_allclose(est.value, [[-1.0, 1.0], [1.0, -1.0]], rtol=1e-6)
    assert np.all(np.abs(est.value - [[-1.0, 1.0], [1.0, -1.0]]) <= est.error)

    def fun(xyz):
        x, y, z = xyz
        return x * y * z + np.exp(x) * y

    x = np.array([3.0, 5.0, 7.0])
    want = np.array([[np.exp(3.0) * 5, np.exp(3.0) + 7, 5], [np.exp(3.0) + 7, 0, 3], [5, 3, 0]])
    est = numerical.hessian(fun, x, method=method, return_estimate=True)
    np.testing.assert_allclose(est.value, want, atol=1e-4)
    assert np.all(np.abs(est.value - want) <= est.error)


# TestHessian.test_complex_hessian_issue_35: 1j * <x, x>. numdifftools differentiates it; we refuse
# complex-valued functions in hessian (a Hessian is of a real scalar) with an error that says so.
def test_complex_valued_hessian_is_refused_clearly():
    with pytest.raises(TypeError, match="real scalar"):
        numerical.hessian(lambda x: 1j * np.inner(x, x), np.ones(3))
    # the real and imaginary parts separately are what the user wants
    np.testing.assert_allclose(
        numerical.hessian(lambda x: np.inner(x, x), np.ones(3)), 2 * np.eye(3), atol=1e-7
    )
