"""chainrule.check: verdicts, tolerances, kinks, float32, mutation tests and localization."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import CheckCostError, CheckReport, GradientCheckError, check_grad, taylor_test
from chainrule.errors import ChainruleError

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 3))
B = RNG.standard_normal(3)


def smooth(x, b):
    return np.sum(np.tanh(x * b) ** 2 + np.exp(0.3 * x) @ x)


@pytest.mark.parametrize("mode", ["full", "fast"])
@pytest.mark.parametrize("order", [1, 2])
def test_correct_gradients_pass(mode, order):
    report = check_grad(smooth, X, B, argnums=(0, 1), mode=mode, order=order, modes=("rev", "fwd"), seed=0)
    assert isinstance(report, CheckReport)
    assert report.verdict == "pass"
    assert report.max_rel_error < 1e-6
    assert report.evaluations > 1
    text = str(report)
    assert "tolerance" in text and "finite-difference error estimate" in text
    assert "<table" in report._repr_html_() or "<ul>" in report._repr_html_()


def test_vector_output_is_checked_as_vjp():
    report = check_grad(lambda x: np.sin(x) * x, np.array([0.2, 1.0, 3.0]), seed=0)
    assert report.passed
    assert any("VJP" in n for n in report.notes)


def test_fast_mode_states_probes_and_costs_little():
    x = RNG.standard_normal(2000)
    report = check_grad(lambda x: np.sum(np.sin(x) * x), x, mode="fast", seed=0)
    assert report.probes == 4
    assert "4 random unit-Gaussian probe(s)" in str(report)
    assert report.evaluations <= 1 + 4 * 5


# -- kinks ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.sum(np.abs(x)),
        lambda x: np.sum(np.maximum(x, 0.0)),  # relu
        lambda x: np.sum(np.where(x > 0, x, 0.0)),  # relu with the subgradient 0 at 0
        lambda x: np.sum(np.maximum(x, 2.0 * x)),
    ],
)
def test_kinks_are_not_failures(f):
    x = np.array([0.0, 1.0, -2.0])
    report = check_grad(f, x, seed=0)
    assert report.passed
    report = check_grad(f, x, mode="fast", seed=0)
    assert report.passed


def test_kink_reported_and_strict_fails():
    f = lambda x: np.sum(np.where(x > 0, x, 0.0))  # backprop 0 at 0; central difference 1/2
    report = check_grad(f, np.array([0.0, 1.0]), seed=0)
    assert report.verdict == "pass (with kinks)"
    assert report.kinks == ["argument 0 ('x')[0]"]
    with pytest.raises(GradientCheckError):
        check_grad(f, np.array([0.0, 1.0]), strict=True, localize=False)


# -- float32 -------------------------------------------------------------------
def mlp(params, x, y):
    h = np.tanh(x @ params["w1"] + params["b1"])
    out = h @ params["w2"] + params["b2"]
    return np.sum((out - y) ** 2) * (1.0 / y.size)


def _params(rng, dtype, sizes=(8, 16, 4)):
    return {
        "w1": (rng.standard_normal(sizes[:2]) / np.sqrt(sizes[0])).astype(dtype),
        "b1": (0.1 * rng.standard_normal(sizes[1])).astype(dtype),
        "w2": (rng.standard_normal(sizes[1:]) / np.sqrt(sizes[1])).astype(dtype),
        "b2": (0.1 * rng.standard_normal(sizes[2])).astype(dtype),
    }


@pytest.mark.parametrize("seed", range(3))
def test_float32_network_does_not_false_fail(seed):
    rng = np.random.default_rng(seed)
    params = _params(rng, np.float32)
    x = rng.standard_normal((32, 8)).astype(np.float32)
    y = rng.standard_normal((32, 4)).astype(np.float32)
    report = check_grad(mlp, params, x, y, seed=seed)
    assert report.verdict == "pass", str(report)
    assert "float32 default" in report.tolerance
    assert check_grad(mlp, params, x, y, mode="fast", seed=seed).passed


def test_float32_network_with_a_wrong_rule_fails():
    rng = np.random.default_rng(0)
    bad_tanh = cr.Primitive("bad_tanh", np.tanh)
    cr.defvjp(bad_tanh, lambda ans, x: lambda g: g * (1.0 - ans))  # should be 1 - ans**2

    def net(params, x, y):
        h = bad_tanh(x @ params["w1"] + params["b1"])
        return np.sum((h @ params["w2"] + params["b2"] - y) ** 2) * (1.0 / y.size)

    params = _params(rng, np.float32)
    x = rng.standard_normal((32, 8)).astype(np.float32)
    y = rng.standard_normal((32, 4)).astype(np.float32)
    with pytest.raises(GradientCheckError, match="bad_tanh"):
        check_grad(net, params, x, y, mode="fast", seed=0)


# -- mutation tests: each broken rule caught by "full" and "fast", and named ----------
def _mutants():
    sign = cr.Primitive("flipped_mul", np.multiply, broadcasts=True)
    cr.defvjp(sign, lambda ans, x, y: lambda g: -g * y, lambda ans, x, y: lambda g: g * x)

    twice = cr.Primitive("doubled_sin", np.sin)
    cr.defvjp(twice, lambda ans, x: lambda g: 2.0 * g * np.cos(x))

    nobroadcast = cr.Primitive("unreduced_add", np.add)  # broadcasts=False and no sum in the rule
    cr.defvjp(nobroadcast, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: g)

    transposed = cr.Primitive("transposed_matmul", np.matmul)
    cr.defvjp(
        transposed,
        lambda ans, a, b: lambda g: g @ b,  # should be g @ b.T
        lambda ans, a, b: lambda g: a.T @ g,
    )

    axis = cr.Primitive("wrong_axis_sum", lambda a: np.sum(a, axis=0))
    cr.defvjp(axis, lambda ans, a: lambda g: np.broadcast_to(np.reshape(g, (-1, 1)), np.shape(a)))

    product = cr.Primitive("x_sin_x", lambda x: x * np.sin(x))
    cr.defvjp(product, lambda ans, x: lambda g: g * np.sin(x))  # dropped the x cos(x) term

    return [
        ("flipped_mul", lambda x, b: np.sum(sign(np.sin(x), b))),
        ("doubled_sin", lambda x, b: np.sum(twice(x) * b)),
        ("unreduced_add", lambda x, b: np.sum(np.tanh(nobroadcast(x, b)))),
        ("transposed_matmul", lambda x, b: np.sum(np.sin(transposed(x, x + 1.0)) * b)),
        ("wrong_axis_sum", lambda x, b: np.sum(axis(np.exp(x)) * b)),
        ("x_sin_x", lambda x, b: np.sum(product(x) * b)),
    ]


MUTANTS = _mutants()


@pytest.mark.parametrize("mode", ["full", "fast"])
@pytest.mark.parametrize(("name", "f"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_broken_rule_is_caught_and_localized(name, f, mode):
    with pytest.raises(GradientCheckError) as info:
        check_grad(f, X, B, argnums=(0, 1), mode=mode, seed=0)
    err = info.value
    assert isinstance(err, ChainruleError)
    assert isinstance(err, AssertionError)
    assert err.report.verdict == "FAIL"
    assert err.report.culprit is not None, str(err)
    assert err.report.culprit.primitive == name
    assert "test_check_grad.py" in err.report.culprit.call_site
    message = str(err)
    assert f"culprit: the reverse rule of {name}" in message


def test_failure_message_is_a_table_of_elements():
    _name, f = MUTANTS[1]
    with pytest.raises(GradientCheckError) as info:
        check_grad(f, X, B, argnums=(0, 1), seed=0)
    message = str(info.value)
    header = next(line for line in message.splitlines() if line.startswith("element"))
    for column in ("backprop", "numerical", "abs err", "rel err"):
        assert column in header
    assert "d/dx argument 0 ('x')[" in message
    # doubled_sin doubles d/dx: backprop = 2 x numerical at the worst element
    worst = info.value.report.worst_rows(1)[0]
    assert worst.backprop == pytest.approx(2.0 * worst.numerical, rel=1e-6)


def test_localization_when_rules_are_right():
    # The function reads its argument through primal(): no rule is wrong, but the gradient is.
    f = lambda x: np.sum(x * cr.primal(x))
    with pytest.raises(GradientCheckError) as info:
        check_grad(f, np.array([1.0, 2.0]), seed=0)
    assert info.value.report.culprit is None
    assert "every one of the" in info.value.report.localization


def test_forward_rule_localized():
    p = cr.Primitive("bad_fwd_exp", np.exp)
    cr.defvjp(p, lambda ans, x: lambda g: g * ans)
    cr.defjvp(p, lambda t, ans, x: -t * ans)
    with pytest.raises(GradientCheckError) as info:
        check_grad(lambda x: np.sum(p(x)), np.array([0.5, 1.0]), modes=("rev", "fwd"), seed=0)
    assert info.value.report.culprit.primitive == "bad_fwd_exp"
    assert info.value.report.culprit.kind == "forward rule"


def test_cost_up_front():
    x = np.ones(1000)
    with pytest.raises(CheckCostError, match="mode='fast'"):
        check_grad(lambda x: np.sum(x**2), x, max_evaluations=500)
    assert check_grad(lambda x: np.sum(x**2), x, mode="fast", max_evaluations=500).passed


def test_rtol_atol_given_are_reported():
    report = check_grad(lambda x: np.sum(x**3), np.array([1.0, 2.0]), rtol=1e-4, atol=1e-9)
    assert "rtol=0.0001 (given)" in report.tolerance
    assert "atol=1e-09 (given)" in report.tolerance


# -- the Taylor test -------------------------------------------------------------
def test_taylor_test_passes_right_gradients_and_fails_wrong_ones():
    report = taylor_test(smooth, X, B, seed=0)
    assert report.passed
    assert abs(report.slope - 2.0) < 0.2
    _name, f = MUTANTS[0]
    report = taylor_test(f, X, B, seed=0)
    assert report.verdict == "FAIL"
    assert abs(report.slope - 1.0) < 0.2
    assert "observed slope" in str(report)


def test_taylor_test_linear_function():
    report = taylor_test(lambda x: np.sum(3.0 * x), np.array([1.0, 2.0]), seed=0)
    assert report.passed


def test_relu_network_sitting_on_many_kinks_is_not_a_false_failure():
    # Blank image patches with zero biases put many ReLU inputs exactly at 0. The central
    # difference then straddles kinks; the one-sided differences that judge "kink or bug"
    # must use the same step, or they miss the kink and a correct gradient is failed.
    from chainrule import nn

    rng = np.random.default_rng(0)
    x = np.zeros((4, 1, 6, 6))
    x[:, :, 2:4, 2:4] = rng.uniform(0.5, 1.0, (4, 1, 2, 2))
    params = {
        "w": rng.standard_normal((3, 1, 3, 3)) * 0.5,
        "b": np.zeros(3),
        "v": rng.standard_normal((27, 2)),
    }

    def loss(p):
        h = nn.relu(nn.conv2d_raw(x, p["w"], padding=1) + p["b"][:, None, None])
        h = nn.max_pool2d(h, 2)
        return np.sum(np.tanh(h.reshape(4, -1) @ p["v"]))

    report = check_grad(loss, params, mode="fast", seed=1)
    assert report.verdict in ("pass", "pass (with kinks)")


def test_second_order_failure_is_localized_to_the_rule_that_is_not_differentiable():
    # Right at first order, but the rule reads x through primal(): its own derivative is 0.
    cube = cr.Primitive("cube_with_frozen_rule", lambda x: x**3)
    cr.defvjp(cube, lambda ans, x: lambda g: g * 3.0 * cr.primal(x) ** 2)
    cr.defjvp(cube, lambda t, ans, x: t * 3.0 * cr.primal(x) ** 2)
    f = lambda x: np.sum(np.sin(cube(x)))
    x = np.array([0.3, 0.7, 1.1])
    assert check_grad(f, x, order=1).passed
    with pytest.raises(GradientCheckError) as info:
        check_grad(f, x, order=2, seed=0)
    culprit = info.value.report.culprit
    assert culprit is not None
    assert culprit.primitive == "cube_with_frozen_rule"
    assert culprit.kind == "rule's derivative"
