"""chainrule.scipy.integrate: adjoint ODE derivatives against closed forms, SciPy's values and
finite differences (orders 1-2, both modes)."""

import numpy as np
import pytest

si = pytest.importorskip("scipy.integrate")

import chainrule as cr  # noqa: E402
from chainrule.check import check_derivatives  # noqa: E402
from chainrule.scipy import integrate as I  # noqa: E402
from chainrule.scipy import linalg as L  # noqa: E402

TIGHT = dict(rtol=1e-11, atol=1e-12)
T = np.array([0.0, 0.4, 1.0, 1.5])


def linear(y, t, a):
    return a @ y


def test_linear_ode_matches_the_matrix_exponential_and_its_derivatives():
    rng = np.random.default_rng(0)
    a = 0.5 * rng.standard_normal((3, 3))
    y0 = rng.standard_normal(3)
    ys = I.odeint(linear, y0, T, args=(a,), **TIGHT)
    assert np.allclose(ys, si.odeint(linear, y0, T, args=(a,), **TIGHT))
    exact = lambda y0, a: np.stack([L.expm(a * t) @ y0 for t in T])
    assert np.allclose(ys, exact(y0, a), atol=1e-9)
    w = rng.standard_normal(ys.shape)
    loss = lambda f: lambda y0, a: np.sum(w * f(y0, a))
    ode = lambda y0, a: I.odeint(linear, y0, T, args=(a,), **TIGHT)
    for got, want in zip(
        cr.grad(loss(ode), argnums=(0, 1))(y0, a), cr.grad(loss(exact), argnums=(0, 1))(y0, a)
    ):
        assert np.allclose(got, want, atol=1e-8)


def test_gradient_in_the_output_times():
    # y' = -y + sin(t): d y(t_i) / d t_i = f(y_i, t_i), and d y(t_i) / d t_0 = -Phi(t_i, t_0) f(y_0, t_0)
    f = lambda y, t: -y + np.sin(t)
    y0 = np.array([0.7])
    jac = cr.jacfwd(lambda t: I.odeint(f, y0, t, **TIGHT)[:, 0])(T)
    ys = si.odeint(f, y0, T, **TIGHT)[:, 0]
    assert np.allclose(np.diag(jac)[1:], -ys[1:] + np.sin(T[1:]), atol=1e-8)
    assert np.allclose(jac[1:, 0], -np.exp(-T[1:]) * (-y0[0] + np.sin(0.0)), atol=1e-8)
    assert jac[0, 0] == 0.0


def lotka_volterra(y, t, theta):
    prey, pred = y[0], y[1]
    return np.stack([theta[0] * prey - theta[1] * prey * pred, -theta[2] * pred + theta[1] * prey * pred])


@pytest.mark.parametrize("tfirst", [False, True])
def test_nonlinear_first_order_both_modes(tfirst):
    y0 = np.array([1.0, 0.5])
    theta = np.array([1.1, 0.4, 0.9])
    t = np.array([0.0, 0.5, 1.0])
    func = (lambda t, y, th: lotka_volterra(y, t, th)) if tfirst else lotka_volterra
    f = lambda y0, theta, t: I.odeint(func, y0, t, args=(theta,), tfirst=tfirst, **TIGHT)
    check_derivatives(f, y0, theta, t, order=1, rtol=2e-5, atol=1e-6)


def test_second_order_both_modes():
    # Each order adds an adjoint solve of a larger augmented system (and forward mode is derived
    # from the reverse rule through one more): a small problem, ~5 s of CPU.
    t = np.array([0.0, 0.6])
    f = lambda y0, k: I.odeint(
        lambda y, t, k: -k * y * y + np.sin(t), y0, t, args=(k,), rtol=1e-10, atol=1e-11
    )
    check_derivatives(f, np.array([0.8]), np.array(0.7), order=2, rtol=2e-5, atol=1e-6)


def test_solve_ivp():
    y0 = np.array([1.0, 0.5])
    theta = np.array([1.1, 0.4, 0.9])
    t = np.array([0.0, 0.3, 1.0])
    fun = lambda t, y, th: lotka_volterra(y, t, th)
    sol = I.solve_ivp(fun, (0.0, 1.0), y0, method="DOP853", t_eval=t, args=(theta,), **TIGHT)
    ref = si.solve_ivp(fun, (0.0, 1.0), y0, method="DOP853", t_eval=t, args=(theta,), **TIGHT)
    assert np.allclose(sol.y, ref.y) and sol.y.shape == (2, 3)
    f = lambda y0, th, t1: (
        I.solve_ivp(fun, (0.0, t1), y0, method="DOP853", t_eval=np.stack([0.3, t1]), args=(th,), **TIGHT).y
    )
    check_derivatives(f, y0, theta, np.array(1.0), order=1, rtol=2e-5, atol=1e-6)
    # without t_eval: the solver's own times, the end point differentiable
    g = cr.grad(lambda t1: I.solve_ivp(fun, (0.0, t1), y0, args=(theta,), **TIGHT).y[0, -1])(1.0)
    y1 = ref.y[:, -1]
    assert np.isclose(g, lotka_volterra(y1, 1.0, theta)[0], rtol=1e-6)


def test_closure_over_a_traced_value_is_refused_with_advice():
    def loss(k):
        return np.sum(I.odeint(lambda y, t: -k * y, np.array([1.0]), T))

    with pytest.raises(TypeError, match="through args="):
        cr.grad(loss)(0.5)


def test_errors():
    with pytest.raises(ValueError, match="monotonic"):
        I.odeint(linear, np.ones(2), np.array([0.0, 1.0, 0.5]), args=(np.eye(2),))
    with pytest.raises(ValueError, match="Dfun"):
        I.odeint(linear, np.ones(2), T, args=(np.eye(2),), Dfun=lambda y, t, a: a)


def test_trapezoid():
    rng = np.random.default_rng(1)
    y, x = rng.standard_normal((2, 5)), np.sort(rng.uniform(0, 3, 5))
    assert np.allclose(I.trapezoid(y, x), si.trapezoid(y, x))
    check_derivatives(lambda y, x: I.trapezoid(y, x, axis=-1), y, x)


def test_dynamics_returning_a_list():
    # autograd-style dynamics often return a list of components
    f = lambda y, t, k: [-k * y[0], k * y[0] - y[1]]
    y0, t = np.array([1.0, 0.0]), np.array([0.0, 0.5, 1.0])
    ys = I.odeint(f, y0, t, args=(0.7,), **TIGHT)
    assert np.allclose(ys, si.odeint(f, y0, t, args=(0.7,), **TIGHT))
    check_derivatives(lambda k: I.odeint(f, y0, t, args=(k,), **TIGHT), np.array(0.7), order=1, rtol=2e-5)
