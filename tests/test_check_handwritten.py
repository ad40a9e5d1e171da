"""check_grad(grad=) and check_vjp: hand-written gradients and backward passes against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import CheckReport


def loss(p, x):
    # float() and math.exp: not traceable by chainrule, and it need not be
    return float(np.sum(np.tanh(x @ p["w"]) ** 2)) + math.exp(float(p["b"]))


def grad(p, x):
    t = np.tanh(x @ p["w"])
    return {"w": x.T @ (2.0 * t * (1.0 - t**2)), "b": math.exp(float(p["b"]))}


@pytest.fixture
def point():
    rng = np.random.default_rng(0)
    return {"w": rng.standard_normal((3, 2)), "b": 0.3}, rng.standard_normal((5, 3))


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_correct_hand_written_gradient_passes(point, mode):
    p, x = point
    report = cr.check_grad(loss, p, x, grad=grad, mode=mode)
    assert isinstance(report, CheckReport)
    assert report.verdict == "pass"
    assert report.max_rel_error < 1e-7
    assert any("hand-written" in n for n in report.notes)


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_wrong_element_is_named_by_its_tree_path(point, mode):
    p, x = point

    def bad(p, x):
        g = grad(p, x)
        g["w"] = g["w"].copy()
        g["w"][1, 0] *= 1.01  # one element off by 1%
        return g

    with pytest.raises(cr.GradientCheckError) as info:
        cr.check_grad(loss, p, x, grad=bad, mode=mode)
    report = info.value.report
    failing = {r.where for r in report.rows if r.status == "FAIL" and r.what == "d/dx"}
    assert failing == {"argument 0 ('p')['w'][1, 0]"}
    assert "['w']" in report.localization and "['b']" not in report.localization
    assert "argument 0 ('p')['w'][1, 0]" in str(info.value)  # the table names it


def test_grad_with_tuple_argnums_and_structure_errors(point):
    p, x = point
    f = lambda w, x: float(np.sum(np.sin(x @ w)))
    g = lambda w, x: (x.T @ np.cos(x @ w), np.cos(x @ w) @ w.T)
    assert cr.check_grad(f, p["w"], x, argnums=(0, 1), grad=g).verdict == "pass"
    with pytest.raises(TypeError, match="one gradient per differentiated argument"):
        cr.check_grad(f, p["w"], x, argnums=(0, 1), grad=lambda w, x: x.T @ np.cos(x @ w))
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*argument 0 \('w'\).*\(3, 2\)"):
        cr.check_grad(f, p["w"], x, grad=lambda w, x: np.zeros((2, 3)))
    with pytest.raises(TypeError, match="scalar"):
        cr.check_grad(lambda w, x: x @ w, p["w"], x, grad=lambda w, x: w)
    with pytest.raises(ValueError, match="order=1"):
        cr.check_grad(f, p["w"], x, grad=g, order=2)


def test_a_wrong_scale_fails_in_float32_too():
    x = np.linspace(0.1, 1.0, 6).astype(np.float32)
    f = lambda x: float(np.sum(np.log1p(x.astype(np.float64) ** 2)))
    good = lambda x: (2 * x / (1 + x**2)).astype(np.float32)
    assert cr.check_grad(f, x, grad=good).verdict == "pass"
    with pytest.raises(cr.GradientCheckError):
        cr.check_grad(f, x, grad=lambda x: good(x) * np.float32(1.01))


# -- check_vjp -----------------------------------------------------------------------


def dense_forward(x, w, b):
    out = np.tanh(x @ w + b)
    return out, (x, w, out)


def dense_backward(dout, cache):
    x, w, out = cache
    dz = dout * (1.0 - out**2)
    return dz @ w.T, x.T @ dz, dz.sum(axis=0)


@pytest.fixture
def layer():
    rng = np.random.default_rng(1)
    return rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)


@pytest.mark.parametrize("mode", ["fast", "full"])
def test_check_vjp_passes_a_correct_layer(layer, mode):
    report = cr.check_vjp(dense_forward, dense_backward, *layer, mode=mode, seed=0)
    assert report.verdict == "pass"
    assert {r.path for r in report.rows} >= {"argument 0 ('x')", "argument 1 ('w')", "argument 2 ('b')"}
    if mode == "full":  # element rows too
        assert any(r.index for r in report.rows)


@pytest.mark.parametrize(("wrong", "name"), [(0, "argument 0 ('x')"), (1, "argument 1 ('w')"),
                                             (2, "argument 2 ('b')")])  # fmt: skip
def test_check_vjp_names_the_wrong_argument(layer, wrong, name):
    def backward(dout, cache):
        grads = list(dense_backward(dout, cache))
        grads[wrong] = grads[wrong] * 1.05
        return tuple(grads)

    with pytest.raises(cr.GradientCheckError) as info:
        cr.check_vjp(dense_forward, backward, *layer, seed=0)
    report = info.value.report
    assert report.localization == f"the gradient of {name} is wrong"
    assert {r.path.split("[")[0] for r in report.rows if r.status == "FAIL"} == {name}
    # the failing argument is then compared element by element
    assert any(r.index and r.status == "FAIL" for r in report.rows)


def test_check_vjp_skips_none_gradients_and_validates(layer):
    x, w, _ = layer
    labels = np.array([0, 2, 1, 4])

    def fwd(scores, labels):
        z = scores - scores.max(axis=1, keepdims=True)
        logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
        return -np.mean(logp[np.arange(len(labels)), labels]), (np.exp(logp), labels)

    def bwd(dout, cache):
        probs, labels = cache
        d = probs.copy()
        d[np.arange(len(labels)), labels] -= 1.0
        return d * dout / len(labels), None

    scores = x @ w
    report = cr.check_vjp(fwd, bwd, scores, labels, seed=0)
    assert report.verdict == "pass"
    assert {r.path for r in report.rows} == {"argument 0 ('scores')"}
    with pytest.raises(TypeError, match=r"\(out, cache\)"):
        cr.check_vjp(lambda x: np.sin(x), lambda d, c: d, x)
    with pytest.raises(TypeError, match="one gradient per argument"):
        cr.check_vjp(dense_forward, lambda d, c: dense_backward(d, c)[:2], *layer)
    wrong_shape = lambda d, c: (dense_backward(d, c)[0], np.zeros(2), np.zeros(5))
    with pytest.raises(ValueError, match="argument 1 \\('w'\\)"):
        cr.check_vjp(dense_forward, wrong_shape, *layer)


def test_check_vjp_detects_a_transposed_square_weight():
    # a shape-preserving bug: x @ w with w square, backward uses w instead of w.T
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 4)), rng.standard_normal((4, 4))
    fwd = lambda x, w: (x @ w, (x, w))
    with pytest.raises(cr.GradientCheckError, match="argument 0"):
        cr.check_vjp(fwd, lambda d, c: (d @ c[1], c[0].T @ d), x, w, seed=0)
    assert cr.check_vjp(fwd, lambda d, c: (d @ c[1].T, c[0].T @ d), x, w, seed=0).passed


def test_an_element_the_fixed_step_cannot_resolve_is_re_measured():
    # w[0] = 1e-9 alone in its array: the step follows the array's scale, but here the loss's
    # cancellation makes the central difference too uncertain; the adaptive method resolves it,
    # so an error of 1e-6 in that element's gradient is still caught.
    f = lambda w: float(np.sum(np.cos(w * np.arange(1.0, 4.0)))) + 3.0
    g = lambda w: -np.sin(w * np.arange(1.0, 4.0)) * np.arange(1.0, 4.0)
    w = np.array([1e-9, 0.5, -0.3])
    report = cr.check_grad(f, w, grad=g)
    assert report.verdict == "pass"
    assert any("re-measured with method 'adaptive'" in n for n in report.notes)
    with pytest.raises(cr.GradientCheckError) as info:
        cr.check_grad(f, w, grad=lambda w: g(w) + np.array([1e-6, 0.0, 0.0]))
    assert {r.where for r in info.value.report.rows if r.status == "FAIL"} == {"argument 0 ('w')[0]"}
