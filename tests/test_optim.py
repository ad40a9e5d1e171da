"""chainrule.optim: gradient transformations, schedules and the minimize loop.

Convergence tables: each optimizer minimizes a convex quadratic (minimum
``A^-1 b``, solved exactly by NumPy) and the 2-D Rosenbrock function from the
standard start (-1.2, 1) (minimum (1, 1)). The other hyperparameters are the
documented defaults; learning rates, schedules and step counts are listed in
the tables, with the tolerance on ``max |x - x*|``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import (
    AdamState,
    EmptyState,
    GradientTransformation,
    adagrad,
    adam,
    adamw,
    add_decayed_weights,
    apply_updates,
    chain,
    clip,
    clip_by_global_norm,
    constant_schedule,
    cosine_decay_schedule,
    exponential_decay_schedule,
    lbfgs,
    linear_schedule,
    lion,
    minimize,
    momentum,
    nesterov,
    piecewise_constant_schedule,
    rmsprop,
    scale,
    sgd,
    step_decay_schedule,
    warmup_cosine_decay_schedule,
)
from chainrule.optim.base import tree_global_norm

A = np.array([[3.0, 1.0], [1.0, 2.0]])
B = np.array([1.0, -1.0])
X_QUAD = np.linalg.solve(A, B)


def quadratic(x):
    return 0.5 * x @ (A @ x) - B @ x


def rosenbrock(x):
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


def rosenbrock_grad(x):
    """The hand-derived gradient."""
    return np.array([-2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] ** 2), 200.0 * (x[1] - x[0] ** 2)])


ROSEN_START = np.array([-1.2, 1.0])

# name -> (optimizer, steps); tolerance 1e-6 on the quadratic.
QUADRATIC_TABLE = {
    "sgd(0.01) (default)": (sgd(), 3000),
    "momentum(0.01) (default)": (momentum(), 1500),
    "nesterov(0.01) (default)": (nesterov(), 1500),
    "adagrad(0.1) (default)": (adagrad(), 2000),
    "rmsprop(cosine 0.01 -> 0 over 3000)": (rmsprop(cosine_decay_schedule(0.01, 3000)), 3000),
    "adam(0.05)": (adam(0.05), 2000),
    "adamw(0.05, weight_decay=0)": (adamw(0.05, weight_decay=0.0), 2000),
    "lion(cosine 0.01 -> 0 over 3000)": (lion(cosine_decay_schedule(0.01, 3000)), 3000),
    "lbfgs() (default)": (lbfgs(), 50),
}

# name -> (optimizer, steps); tolerance 1e-3 on Rosenbrock.
ROSENBROCK_TABLE = {
    "sgd(1.5e-3)": (sgd(1.5e-3), 14000),
    "momentum(2e-3)": (momentum(2e-3), 1500),
    "nesterov(1e-3)": (nesterov(1e-3), 3000),
    "adagrad(0.5)": (adagrad(0.5), 11000),
    "rmsprop(0.01 halved every 1000)": (rmsprop(exponential_decay_schedule(0.01, 0.5, 1000)), 8000),
    "adam(0.05)": (adam(0.05), 2500),
    "adamw(0.05, weight_decay=0)": (adamw(0.05, weight_decay=0.0), 2500),
    "lion(3e-3 decaying 100x over 6000)": (lion(exponential_decay_schedule(3e-3, 0.01, 6000)), 6000),
    "lbfgs() (default)": (lbfgs(), 200),
}


@pytest.mark.parametrize("name", list(QUADRATIC_TABLE))
def test_reaches_quadratic_minimum(name):
    opt, steps = QUADRATIC_TABLE[name]
    res = minimize(quadratic, np.zeros(2), optimizer=opt, steps=steps, tol=1e-9)
    assert np.max(np.abs(res.x - X_QUAD)) < 1e-6, (name, res.x, res.message)
    assert res.fun == pytest.approx(quadratic(X_QUAD), abs=1e-10)


@pytest.mark.parametrize("name", list(ROSENBROCK_TABLE))
def test_reaches_rosenbrock_minimum(name):
    opt, steps = ROSENBROCK_TABLE[name]
    res = minimize(rosenbrock, ROSEN_START, optimizer=opt, steps=steps, tol=1e-9)
    assert np.max(np.abs(res.x - 1.0)) < 1e-3, (name, res.x, res.message)


# --- the sign convention and single steps derived by hand ----------------------------------


def test_sgd_update_is_minus_lr_times_grad_and_is_added():
    opt = sgd(0.5)
    params = {"w": np.array([1.0, 2.0])}
    g = {"w": np.array([4.0, -2.0])}
    updates, _ = opt.update(g, opt.init(params), params)
    np.testing.assert_array_equal(updates["w"], [-2.0, 1.0])
    np.testing.assert_array_equal(apply_updates(params, updates)["w"], [-1.0, 3.0])


def test_one_sgd_step_decreases_the_loss():
    f = lambda x: np.sum(x**2) + np.sum(np.exp(x))
    x = np.array([0.3, -1.0, 2.0])
    opt = sgd(1e-3)
    updates, _ = opt.update(cr.grad(f)(x), opt.init(x), x)
    assert f(apply_updates(x, updates)) < f(x)


def test_adam_first_step_is_lr_times_sign():
    # m_hat = g and v_hat = g**2 after one step, so the update is -lr * g / (|g| + eps).
    opt = adam(0.1)
    g = np.array([3.0, -0.5, 0.0])
    updates, state = opt.update(g, opt.init(np.zeros(3)))
    np.testing.assert_allclose(updates, [-0.1, 0.1, 0.0], rtol=1e-7)
    assert isinstance(state[0], AdamState)
    assert state[0].count == 1


def test_momentum_two_steps():
    opt = momentum(0.1, beta=0.5)
    state = opt.init(np.zeros(1))
    u1, state = opt.update(np.array([2.0]), state)
    u2, state = opt.update(np.array([2.0]), state)
    np.testing.assert_allclose(u1, [-0.2])  # m = 2
    np.testing.assert_allclose(u2, [-0.3])  # m = 2 + 0.5 * 2


def test_nesterov_looks_ahead():
    opt = nesterov(0.1, beta=0.5)
    u1, _ = opt.update(np.array([2.0]), opt.init(np.zeros(1)))
    np.testing.assert_allclose(u1, [-0.3])  # g + beta * m = 2 + 0.5 * 2


def test_adagrad_and_rmsprop_first_steps():
    g = np.array([2.0])
    opt = adagrad(0.1, initial_accumulator_value=0.0, eps=0.0)
    u, _ = opt.update(g, opt.init(g))
    np.testing.assert_allclose(u, [-0.1])  # s = 4, g / sqrt(s) = 1
    opt = rmsprop(0.1, decay=0.75, eps=0.0)
    u, _ = opt.update(g, opt.init(g))
    np.testing.assert_allclose(u, [-0.1 * 2.0 / math.sqrt(0.25 * 4.0)])


def test_lion_moves_each_coordinate_by_lr():
    opt = lion(0.01)
    u, _ = opt.update(np.array([100.0, -1e-6, 0.0]), opt.init(np.zeros(3)))
    np.testing.assert_array_equal(u, [-0.01, 0.01, 0.0])


def test_adamw_shrinks_weights_without_gradient():
    opt = adamw(0.1, weight_decay=0.5)
    params = np.array([2.0, -4.0])
    u, _ = opt.update(np.zeros(2), opt.init(params), params)
    np.testing.assert_allclose(u, [-0.1, 0.2])  # -lr * wd * params


def test_clip_by_value_and_by_global_norm():
    u, _ = clip(0.5).update({"a": np.array([1.0, -0.2]), "b": -3.0}, EmptyState())
    np.testing.assert_array_equal(u["a"], [0.5, -0.2])
    assert u["b"] == -0.5
    tree = {"a": np.array([3.0]), "b": np.array([[4.0]])}
    u, _ = clip_by_global_norm(2.5).update(tree, EmptyState())
    assert tree_global_norm(u) == pytest.approx(2.5)
    np.testing.assert_allclose(u["a"], [1.5])
    small, _ = clip_by_global_norm(10.0).update(tree, EmptyState())
    assert small is tree


def test_add_decayed_weights_needs_params():
    with pytest.raises(ValueError, match="needs the params"):
        add_decayed_weights(0.1).update(np.zeros(1), EmptyState())


def test_chain_composes_in_order():
    # scale then clip differs from clip then scale.
    g = np.array([1.0])
    opt = chain(scale(10.0), clip(2.0))
    u, _ = opt.update(g, opt.init(g))
    assert u[0] == 2.0
    opt = chain(clip(2.0), scale(10.0))
    u, _ = opt.update(g, opt.init(g))
    assert u[0] == 10.0
    with pytest.raises(TypeError, match="line-search"):
        chain(lbfgs())


def test_invalid_hyperparameters():
    with pytest.raises(ValueError, match="b1"):
        adam(b1=1.0)
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_global_norm(0.0)
    with pytest.raises(ValueError, match="memory"):
        lbfgs(memory=0)


# --- schedules --------------------------------------------------------------------------


def test_schedules_values():
    assert constant_schedule(0.3)(10**6) == 0.3
    s = step_decay_schedule(1.0, 10, 0.1)
    assert [s(0), s(9), s(10), s(25)] == pytest.approx([1.0, 1.0, 0.1, 0.01])
    s = piecewise_constant_schedule(2.0, {5: 0.5, 3: 0.1})
    assert [s(2), s(3), s(5)] == pytest.approx([2.0, 0.2, 0.1])
    s = linear_schedule(1.0, 0.0, 10)
    assert [s(0), s(5), s(10), s(11)] == pytest.approx([1.0, 0.5, 0.0, 0.0])
    s = cosine_decay_schedule(2.0, 4, alpha=0.5)
    assert [s(0), s(2), s(4)] == pytest.approx([2.0, 1.5, 1.0])
    s = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=4, decay_steps=8, end_value=0.2)
    assert [s(0), s(2), s(4), s(6), s(8), s(9)] == pytest.approx([0.0, 0.5, 1.0, 0.6, 0.2, 0.2])


def test_schedule_drives_the_step_size():
    opt = sgd(step_decay_schedule(1.0, 1, 0.5))
    state = opt.init(np.zeros(1))
    steps = []
    for _ in range(3):
        u, state = opt.update(np.array([1.0]), state)
        steps.append(float(u[0]))
    assert steps == [-1.0, -0.5, -0.25]


# --- dtypes -------------------------------------------------------------------------------

ALL_OPTIMIZERS = {
    "sgd": sgd(0.1),
    "momentum": momentum(0.1),
    "nesterov": nesterov(0.1),
    "adagrad": adagrad(0.1),
    "rmsprop": rmsprop(0.1),
    "adam": adam(0.1),
    "adamw": adamw(0.1, weight_decay=0.1),
    "lion": lion(0.1, weight_decay=0.1),
    "clipped adam": chain(clip_by_global_norm(1.0), clip(0.5), adam(0.1)),
    "scheduled sgd": sgd(warmup_cosine_decay_schedule(0.0, 0.1, 2, 10)),
}


@pytest.mark.parametrize("name", list(ALL_OPTIMIZERS))
def test_state_and_updates_keep_leaf_dtypes(name):
    opt = ALL_OPTIMIZERS[name]
    params = {"w32": np.array([1.0, -2.0], dtype=np.float32), "w64": np.array([0.5])}
    grads = {"w32": np.array([0.3, 0.1], dtype=np.float32), "w64": np.array([-1.0])}
    state = opt.init(params)
    for _ in range(2):
        updates, state = opt.update(grads, state, params)
        params = apply_updates(params, updates)
    assert updates["w32"].dtype == np.float32
    assert updates["w64"].dtype == np.float64
    assert params["w32"].dtype == np.float32
    for leaf, path in zip(cr.tree_leaves(state), cr.pytree.tree_paths(state)):
        if isinstance(leaf, np.ndarray):
            expected = np.float32 if "w32" in path else np.float64
            assert leaf.dtype == expected, path


@pytest.mark.parametrize("opt", [adam(0.05), lbfgs()], ids=["adam", "lbfgs"])
def test_minimize_keeps_float32(opt):
    x0 = {"a": np.zeros(3, dtype=np.float32), "b": np.float32(0.0)}
    f = lambda p: np.sum((p["a"] - 1.0) ** 2) + (p["b"] + 2.0) ** 2
    res = minimize(f, x0, optimizer=opt, steps=500, tol=1e-4)
    assert res.x["a"].dtype == np.float32
    assert np.result_type(res.x["b"]) == np.float32
    np.testing.assert_allclose(res.x["a"], 1.0, atol=1e-3)
    assert float(res.x["b"]) == pytest.approx(-2.0, abs=1e-3)


def test_apply_updates_keeps_param_dtype():
    out = apply_updates([np.ones(2, dtype=np.float32), 1.0], [np.full(2, 0.5), 0.25])
    assert out[0].dtype == np.float32
    assert out[1] == 1.25


# --- trees -------------------------------------------------------------------------------


def test_tree_mismatch_in_apply_updates_names_path():
    with pytest.raises(ValueError, match=r"at \['layer'\]: length 2 vs 1"):
        apply_updates({"layer": [np.ones(2), np.ones(2)]}, {"layer": [np.ones(2)]})
    with pytest.raises(ValueError, match=r"\['b'\]: shape \(2,\) vs \(3,\)"):
        apply_updates({"a": 1.0, "b": np.ones(2)}, {"a": 1.0, "b": np.ones(3)})


def test_tree_mismatch_between_gradient_and_state_names_path():
    opt = adam()
    state = opt.init({"w": np.ones(2), "b": np.ones(1)})
    with pytest.raises(ValueError, match=r"gradient and optimizer state .* keys \['w'\] vs \['b', 'w'\]"):
        opt.update({"w": np.ones(2)}, state)


def test_minimize_refuses_a_gradient_with_another_tree():
    x0 = {"w": np.ones(2), "b": 0.0}
    f = lambda p: np.sum(p["w"] ** 2) + p["b"] ** 2
    bad = lambda p: {"w": 2 * p["w"], "bias": 2 * p["b"]}
    with pytest.raises(ValueError, match=r"keys \['b', 'w'\] vs \['bias', 'w'\]"):
        minimize(f, x0, optimizer=sgd(0.1), gradient=bad)
    wrong_shape = lambda p: {"w": np.ones(3), "b": 2 * p["b"]}
    with pytest.raises(ValueError, match=r"\['w'\]: shape \(2,\) vs \(3,\)"):
        minimize(f, x0, optimizer=sgd(0.1), gradient=wrong_shape)


def test_minimize_on_nested_tree():
    target = {"layers": [{"w": np.arange(3.0), "b": -1.0}, {"w": np.ones((2, 2)), "b": 2.0}]}
    f = lambda p: sum(
        np.sum((layer["w"] - t["w"]) ** 2) + (layer["b"] - t["b"]) ** 2
        for layer, t in zip(p["layers"], target["layers"])
    )
    x0 = cr.tree_map(lambda t: np.zeros(np.shape(t)), target)
    res = minimize(f, x0, optimizer=adam(0.1), steps=3000, tol=1e-8)
    assert res.success
    for got, want in zip(cr.tree_leaves(res.x), cr.tree_leaves(target)):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert cr.pytree.tree_structure(res.x) == cr.pytree.tree_structure(x0)


# --- non-finite input ------------------------------------------------------------------


def test_nonfinite_loss_stops_with_last_finite_iterate():
    # sum(log(x)) - sum(x): sgd with a huge step jumps to negative x, where log is NaN.
    f = lambda p: np.sum(np.log(p["x"])) * -1.0 + np.sum(p["x"]) + 0.0 * p["y"]
    x0 = {"x": np.array([0.5, 2.0]), "y": 1.0}
    seen = []
    with np.errstate(invalid="ignore"):
        res = minimize(
            f, x0, optimizer=sgd(5.0), steps=10, callback=lambda k, x, v, g: seen.append(x) and None
        )
    assert not res.success
    assert res.status == 2
    assert "step 1" in res.message
    assert "last finite iterate (step 0)" in res.message
    np.testing.assert_array_equal(res.x["x"], x0["x"])
    assert math.isfinite(res.fun)
    assert len(res.history.value) == res.nit + 1 == 1


def test_nonfinite_gradient_names_the_leaf():
    # A hand-written gradient that turns infinite in leaf 'b' once b is below 0.
    f = lambda p: np.sum(p["a"] ** 2) + p["b"] ** 2
    grad = lambda p: {"a": 2 * p["a"], "b": 2 * p["b"] if p["b"] > 0 else np.inf}
    res = minimize(f, {"a": np.ones(2), "b": 1.0}, optimizer=sgd(0.75), steps=10, gradient=grad)
    assert not res.success
    assert "gradient is non-finite at step 1" in res.message
    assert "['b']" in res.message
    assert res.x["b"] == 1.0  # the last finite iterate: the start
    assert res.nit == 0


def test_nonfinite_start_is_reported():
    with np.errstate(divide="ignore"):
        res = minimize(lambda x: np.sum(np.log(x)), np.array([1.0, 0.0]), optimizer=sgd(0.1))
    assert not res.success
    assert "step 0" in res.message


# --- gradient sources ------------------------------------------------------------------


def test_callable_gradient_gives_the_backprop_optimum():
    res_bp = minimize(rosenbrock, ROSEN_START, optimizer=adam(0.05), steps=300, tol=None)
    res_cb = minimize(
        rosenbrock, ROSEN_START, optimizer=adam(0.05), steps=300, tol=None, gradient=rosenbrock_grad
    )
    np.testing.assert_allclose(res_cb.x, res_bp.x, rtol=1e-10)
    assert res_cb.gradient == "callable"
    assert res_bp.gradient == "backprop"
    # backprop: one call of f per value-and-gradient
    assert res_bp.nfev == res_bp.njev == 301


@pytest.mark.parametrize("opt", [adam(0.05), lbfgs()], ids=["adam", "lbfgs"])
def test_numerical_gradient_reaches_the_backprop_optimum(opt):
    pytest.importorskip("chainrule.numerical")
    x0 = np.array([-1.2, 1.0, 0.5])
    f = lambda x: np.sum((x - np.array([1.0, -2.0, 0.5])) ** 2) + 0.1 * np.sum(x**4)
    bp = minimize(f, x0, optimizer=opt, steps=2000, tol=1e-8)
    num = minimize(f, x0, optimizer=opt, steps=2000, tol=1e-6, gradient="numerical")
    assert bp.success
    assert num.success, num.message
    np.testing.assert_allclose(num.x, bp.x, atol=1e-6)
    assert num.gradient == "numerical"
    # finite differences cost O(N) calls per gradient: at least 2N for central differences
    assert num.nfev >= 2 * x0.size * num.njev
    assert bp.nfev == bp.njev


def test_unknown_gradient_source():
    with pytest.raises(ValueError, match="'backprop'"):
        minimize(quadratic, np.zeros(2), gradient="magic")


# --- the loop --------------------------------------------------------------------------


def test_result_fields_and_history():
    res = minimize(quadratic, np.zeros(2), optimizer=sgd(0.1), steps=20, tol=None)
    assert res.success
    assert res.nit == 20
    assert res.message == "ran all steps=20"
    assert len(res.history.value) == len(res.history.grad_norm) == len(res.history.time) == 21
    assert np.all(np.diff(res.history.value) < 0)  # sgd with a small step descends
    assert res.history.grad_norm[-1] == pytest.approx(np.linalg.norm(A @ res.x - B))
    np.testing.assert_allclose(res.jac, A @ res.x - B)
    assert np.all(res.history.time >= 0)
    assert res["fun"] == res.fun
    assert "message" in repr(res)


def test_step_limit_is_not_success():
    res = minimize(quadratic, np.zeros(2), optimizer=sgd(1e-4), steps=3)
    assert not res.success
    assert res.status == 1
    assert "steps=3" in res.message


def test_callback_can_stop():
    calls = []

    def callback(step, x, value, grad):
        calls.append((step, value))
        return step == 4

    res = minimize(quadratic, np.zeros(2), optimizer=sgd(0.1), steps=100, callback=callback)
    assert res.nit == 4
    assert [c[0] for c in calls] == [0, 1, 2, 3, 4]
    assert res.status == 4
    assert not res.success


def test_minimize_refuses_bad_optimizer():
    with pytest.raises(TypeError, match="GradientTransformation"):
        minimize(quadratic, np.zeros(2), optimizer="adam")
    assert isinstance(sgd(), GradientTransformation)


def test_minimize_with_extra_args():
    f = lambda w, X, y: np.sum((X @ w - y) ** 2)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    w_true = np.array([1.0, -2.0, 0.5])
    res = minimize(f, np.zeros(3), args=(X, X @ w_true), tol=1e-10)
    np.testing.assert_allclose(res.x, w_true, atol=1e-8)


def test_progress_is_silent_when_not_a_terminal(capsys):
    minimize(quadratic, np.zeros(2), optimizer=sgd(0.1), steps=5, progress=True)
    assert capsys.readouterr().out == ""
