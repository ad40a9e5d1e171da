"""The SciPy bridge: pytrees in and out, value and gradient by backprop, exact Hessian products."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import OptimizeResult, minimize_scipy

scipy_optimize = pytest.importorskip("scipy.optimize")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """SciPy's L-BFGS-B calls BLAS on tiny vectors; threads only add contention there."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_start(n):
    x0 = np.full(n, -1.2)
    x0[1::2] = 1.0
    return x0


# method -> options; all reach the global minimum from the start (-1.2, 1, -1.2, 1, ...)
ROSEN_100D_METHODS = {
    "L-BFGS-B": {"gtol": 1e-9, "ftol": 1e-15, "maxiter": 5000},
    "BFGS": {"gtol": 1e-7, "maxiter": 5000},
    "trust-ncg": {"gtol": 1e-8},
    "trust-krylov": {"gtol": 1e-8},
    "Newton-CG": {"xtol": 1e-12, "maxiter": 5000},
}


@pytest.mark.parametrize("method", list(ROSEN_100D_METHODS))
def test_bridge_solves_100d_rosenbrock(method):
    res = minimize_scipy(rosen, rosen_start(100), method=method, options=ROSEN_100D_METHODS[method])
    assert isinstance(res, OptimizeResult)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, 1.0, atol=1e-5)
    assert res.fun < 1e-10
    assert res.gradient == "backprop"
    if method in ("trust-ncg", "trust-krylov", "Newton-CG"):
        assert res.nhev > 0
    else:
        assert res.nhev == 0


def test_bridge_matches_scipy_with_handwritten_gradient():
    x0 = rosen_start(20)
    options = {"gtol": 1e-9, "ftol": 1e-15}
    ours = minimize_scipy(rosen, x0, method="L-BFGS-B", options=options)
    ref = scipy_optimize.minimize(
        scipy_optimize.rosen, x0, jac=scipy_optimize.rosen_der, method="L-BFGS-B", options=options
    )
    assert ours.success
    assert ref.success
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-7)
    assert abs(ours.nit - ref.nit) <= 0.2 * ref.nit  # gradients equal to rounding: similar paths


def test_hessp_is_the_exact_hessian_product():
    # A quadratic: Newton-type methods with the exact Hessian product converge at once.
    rng = np.random.default_rng(0)
    M = rng.normal(size=(8, 8))
    A = M @ M.T + np.eye(8)
    b = rng.normal(size=8)
    f = lambda x: 0.5 * x @ (A @ x) - b @ x
    res = minimize_scipy(f, np.zeros(8), method="trust-exact")
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), atol=1e-8)
    assert res.nit <= 2
    res = minimize_scipy(f, np.zeros(8), method="Newton-CG", options={"xtol": 1e-12})
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), atol=1e-8)


def test_hessp_against_the_analytic_rosenbrock_hessian(monkeypatch):
    seen = []
    x0 = np.array([-1.2, 1.0, 0.3, 2.0])
    real_minimize = scipy_optimize.minimize

    def spy(fun, x, **kw):
        p = np.array([1.0, -2.0, 0.5, 3.0])
        seen.append((kw["hessp"](x, p), scipy_optimize.rosen_hess_prod(x, p)))
        return real_minimize(fun, x, **kw)

    monkeypatch.setattr(scipy_optimize, "minimize", spy)
    minimize_scipy(rosen, x0, method="trust-ncg")
    got, want = seen[0]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_pytree_in_pytree_out_with_dtypes():
    x0 = {"w": np.zeros((2, 2), dtype=np.float32), "b": 0.0, "c": [np.ones(3)]}
    target = np.array([[1.0, 2.0], [3.0, 4.0]])
    f = lambda p: np.sum((p["w"] - target) ** 2) + (p["b"] - 0.5) ** 2 + np.sum((p["c"][0] + 1.0) ** 2)
    res = minimize_scipy(f, x0, method="BFGS")
    assert res.success
    assert res.x["w"].dtype == np.float32
    assert res.x["w"].shape == (2, 2)
    np.testing.assert_allclose(res.x["w"], target, atol=1e-5)
    assert float(res.x["b"]) == pytest.approx(0.5, abs=1e-6)
    np.testing.assert_allclose(res.x["c"][0], -1.0, atol=1e-6)
    assert cr.pytree.tree_structure(res.jac) == cr.pytree.tree_structure(x0)


@pytest.mark.filterwarnings("ignore::UserWarning")  # trust-constr may warn on a quadratic
def test_trust_constr_and_gradient_free_methods():
    f = lambda x: np.sum((x - np.array([1.0, -1.0])) ** 2)
    res = minimize_scipy(f, np.zeros(2), method="trust-constr")
    np.testing.assert_allclose(res.x, [1.0, -1.0], atol=1e-6)
    assert res.nhev > 0
    res = minimize_scipy(f, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-12})
    np.testing.assert_allclose(res.x, [1.0, -1.0], atol=1e-6)


def test_bounds_on_the_flat_vector():
    f = lambda x: np.sum((x - 2.0) ** 2)
    res = minimize_scipy(f, np.zeros(3), method="L-BFGS-B", bounds=[(0.0, 1.0)] * 3)
    np.testing.assert_allclose(res.x, 1.0)


@pytest.mark.parametrize(
    ("method", "options"),
    [("L-BFGS-B", {"gtol": 1e-10, "ftol": 1e-15}), ("Newton-CG", {"xtol": 1e-12})],
)
def test_logistic_regression_matches_scikit_learn(method, options):
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    datasets = pytest.importorskip("sklearn.datasets")
    X, y01 = datasets.make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)
    y = 2.0 * y01 - 1.0
    C = 0.7

    def loss(params):
        # scikit-learn's objective: C * sum(log(1 + exp(-y z))) + ||w||^2 / 2, intercept not penalized
        z = X @ params["w"] + params["b"]
        return C * np.sum(np.logaddexp(0.0, -y * z)) + 0.5 * np.sum(params["w"] ** 2)

    res = minimize_scipy(loss, {"w": np.zeros(6), "b": 0.0}, method=method, options=options)
    assert res.success, res.message
    model = sklearn_linear.LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y01)
    np.testing.assert_allclose(res.x["w"], model.coef_[0], atol=1e-5)
    assert float(res.x["b"]) == pytest.approx(model.intercept_[0], abs=1e-5)


def test_nonfinite_stops_with_last_finite_iterate():
    # log of a negative number once L-BFGS-B's first long step leaves the domain
    calls = []

    def f(x):
        calls.append(x.copy())
        return np.sum(x**2) - 10.0 * np.sum(np.log(x)) + 100.0 * np.sum(x)

    with np.errstate(invalid="ignore"):
        res = minimize_scipy(f, np.array([3.0, 4.0]), method="BFGS")
    assert not res.success
    assert res.status == 2
    assert "non-finite" in res.message
    assert "iterations" in res.message
    assert np.all(np.isfinite(res.x))
    assert np.isfinite(res.fun)


def test_callback_history_and_counts():
    steps = []
    res = minimize_scipy(
        rosen,
        np.array([-1.2, 1.0]),
        method="BFGS",
        callback=lambda k, x, v, g: steps.append((k, v, g is not None)),
    )
    assert res.success
    assert len(res.history.value) == res.nit + 1
    assert [s[0] for s in steps] == list(range(res.nit + 1))  # step 0 is x0
    assert all(s[2] for s in steps)  # BFGS evaluates the gradient at each iterate
    assert np.all(np.diff(res.history.value) <= 0)
    assert res.nfev == res.njev  # one backprop call gives both
    stopped = minimize_scipy(rosen, np.array([-1.2, 1.0]), method="BFGS", callback=lambda k, x, v, g: k == 3)
    assert stopped.nit == 3


def test_numerical_and_callable_gradients_in_the_bridge():
    pytest.importorskip("chainrule.numerical")
    x0 = np.array([-1.2, 1.0])
    bp = minimize_scipy(rosen, x0, method="BFGS")
    num = minimize_scipy(rosen, x0, method="BFGS", gradient="numerical")
    hand = minimize_scipy(rosen, x0, method="BFGS", gradient=scipy_optimize.rosen_der)
    np.testing.assert_allclose(num.x, bp.x, atol=1e-5)
    np.testing.assert_allclose(hand.x, bp.x, atol=1e-8)
    assert num.nfev > 4 * num.njev
    with pytest.raises(ValueError, match="backprop"):
        minimize_scipy(rosen, x0, method="trust-ncg", gradient="numerical")


def test_refuses_jac_argument():
    with pytest.raises(TypeError, match="'jac'"):
        minimize_scipy(rosen, np.zeros(2), jac=True)
