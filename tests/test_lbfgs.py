"""L-BFGS and its strong Wolfe line search."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import LbfgsState, apply_updates, lbfgs, minimize, strong_wolfe


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_start(n):
    x0 = np.full(n, -1.2)
    x0[1::2] = 1.0
    return x0


# --- the line search -------------------------------------------------------------------

# 1-D functions phi(a) with phi'(0) < 0: (name, phi, dphi, first trial step)
LINE_FUNCTIONS = {
    "quadratic, overshoot": (lambda a: (a - 0.3) ** 2, lambda a: 2.0 * (a - 0.3), 1.0),
    "quadratic, too short": (lambda a: (a - 50.0) ** 2, lambda a: 2.0 * (a - 50.0), 1.0),
    "quartic": (lambda a: (a - 2.0) ** 4 - a, lambda a: 4.0 * (a - 2.0) ** 3 - 1.0, 1.0),
    "sin": (lambda a: -np.sin(a), lambda a: -np.cos(a), 10.0),
    "exp": (lambda a: np.exp(a - 3.0) - a, lambda a: np.exp(a - 3.0) - 1.0, 0.01),
    "steep then flat": (lambda a: -np.tanh(20.0 * a), lambda a: -20.0 / np.cosh(20.0 * a) ** 2, 1.0),
    "infinite past 1": (
        lambda a: (a - 0.8) ** 2 if a < 1.0 else np.inf,
        lambda a: 2.0 * (a - 0.8) if a < 1.0 else np.nan,
        4.0,
    ),
}


@pytest.mark.parametrize("name", list(LINE_FUNCTIONS))
@pytest.mark.parametrize("c2", [0.9, 0.1])
def test_line_search_satisfies_strong_wolfe(name, c2):
    phi, dphi, alpha1 = LINE_FUNCTIONS[name]
    c1 = 1e-4
    phi0, dphi0 = float(phi(0.0)), float(dphi(0.0))
    assert dphi0 < 0
    r = strong_wolfe(lambda a: (float(phi(a)), float(dphi(a)), "grad"), phi0, dphi0, alpha1, c1=c1, c2=c2)
    assert r.success, r.message
    assert r.alpha > 0
    assert r.value == phi(r.alpha)
    assert r.value <= phi0 + c1 * r.alpha * dphi0  # sufficient decrease
    assert abs(r.dphi) <= c2 * abs(dphi0)  # strong curvature condition
    assert r.grad == "grad"
    assert 1 <= r.nevals <= 30


def test_line_search_refuses_an_ascent_direction():
    r = strong_wolfe(lambda a: (a, 1.0, None), 0.0, 1.0)
    assert not r.success
    assert r.alpha == 0.0
    assert r.nevals == 0
    with pytest.raises(ValueError, match="c1 < c2"):
        strong_wolfe(lambda a: (a, 1.0, None), 0.0, -1.0, c1=0.5, c2=0.1)


def test_line_search_reports_an_unbounded_function():
    r = strong_wolfe(lambda a: (-a, -1.0, None), 0.0, -1.0, alpha_max=1e3, max_evals=50)
    assert not r.success
    assert "alpha_max" in r.message
    assert r.alpha == 1e3 or r.alpha > 0  # the best point found is returned


# --- L-BFGS ----------------------------------------------------------------------------


def test_lbfgs_solves_100d_rosenbrock():
    res = minimize(rosen, rosen_start(100), optimizer=lbfgs(), steps=2000, tol=1e-8)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, 1.0, atol=1e-7)
    assert res.nit < 1000
    # one line search rarely needs more than one or two evaluations per iteration
    assert res.nfev < 2 * res.nit


def test_lbfgs_quadratic_matches_linear_solve():
    rng = np.random.default_rng(1)
    M = rng.normal(size=(30, 30))
    A = M @ M.T + 30.0 * np.eye(30)
    b = rng.normal(size=30)
    res = minimize(lambda x: 0.5 * x @ (A @ x) - b @ x, np.zeros(30), tol=1e-10)
    assert res.success
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), atol=1e-10)
    assert res.nit <= 30  # well conditioned: far fewer than n iterations would also do


def test_lbfgs_memory_is_bounded():
    f = lambda x: np.sum(np.exp(x) - x) + 0.5 * np.sum(x**2)
    vg = cr.value_and_grad(f)
    opt = lbfgs(memory=3)
    x = np.linspace(-2.0, 2.0, 6)
    state = opt.init(x)
    for _ in range(8):
        value, g = vg(x)
        updates, state = opt.update(g, state, x, value=value, value_and_grad=vg)
        x = apply_updates(x, updates)
    assert isinstance(state, LbfgsState)
    assert len(state.s_history) == len(state.y_history) == len(state.rho_history) == 3
    for s, y, rho in zip(state.s_history, state.y_history, state.rho_history):
        assert rho == pytest.approx(1.0 / np.dot(s, y))
        assert np.dot(s, y) > 0  # the Wolfe conditions keep the curvature positive


def test_lbfgs_on_a_pytree_with_float32_leaf():
    x0 = {"a": np.zeros(3, dtype=np.float32), "b": (np.array([5.0]),)}
    f = lambda p: np.sum((p["a"] - 2.0) ** 2) + np.sum(np.cosh(p["b"][0] - 1.0))
    res = minimize(f, x0, tol=1e-5)
    assert res.success, res.message
    assert res.x["a"].dtype == np.float32
    np.testing.assert_allclose(res.x["a"], 2.0, atol=1e-5)
    np.testing.assert_allclose(res.x["b"][0], 1.0, atol=1e-6)


def test_lbfgs_with_a_wrong_gradient_stops_honestly():
    # The negated gradient makes every "descent" direction an ascent direction for f.
    f = lambda x: np.sum(x**2)
    res = minimize(f, np.ones(3), optimizer=lbfgs(), gradient=lambda x: -2.0 * x, steps=50)
    assert not res.success
    assert res.status == 3
    assert "line search" in res.message
    np.testing.assert_array_equal(res.x, np.ones(3))  # nothing accepted that increases f


def test_lbfgs_counts_line_search_evaluations():
    res = minimize(rosen, np.array([-1.2, 1.0]), optimizer=lbfgs(), steps=200, tol=1e-9)
    assert res.success
    np.testing.assert_allclose(res.x, 1.0, atol=1e-8)
    assert res.nfev == res.njev  # backprop: one call of f per evaluation
    assert res.nfev >= res.nit + 1


def test_exactly_zero_gradient_stops_with_success():
    res = minimize(lambda x: np.sum(x**2), np.ones(2), optimizer=lbfgs(), tol=None, steps=50)
    assert res.success
    assert "exactly zero" in res.message
    np.testing.assert_array_equal(res.x, 0.0)
