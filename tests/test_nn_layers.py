"""chainrule.nn layers: gradients against finite differences, conv and pooling against naive loops."""

from __future__ import annotations

import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.check import check_derivatives


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# -- naive references ---------------------------------------------------------------
def naive_conv(x, w, s, p, d):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * p[0], wd + 2 * p[1]))
    xp[:, :, p[0] : p[0] + h, p[1] : p[1] + wd] = x
    oh = (h + 2 * p[0] - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (wd + 2 * p[1] - d[1] * (kw - 1) - 1) // s[1] + 1
    out = np.zeros((n, o, oh, ow))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    g = np.random.default_rng(9).standard_normal((n, o, oh, ow))  # cotangent for the reference gradient
    for b in range(n):
        for oc in range(o):
            for i in range(oh):
                for j in range(ow):
                    for ic in range(c):
                        for a in range(kh):
                            for e in range(kw):
                                r, q = i * s[0] + a * d[0], j * s[1] + e * d[1]
                                out[b, oc, i, j] += xp[b, ic, r, q] * w[oc, ic, a, e]
                                dxp[b, ic, r, q] += g[b, oc, i, j] * w[oc, ic, a, e]
                                dw[oc, ic, a, e] += g[b, oc, i, j] * xp[b, ic, r, q]
    return out, g, dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + wd], dw


def naive_pool(x, k, s, kind):
    n, c, h, w = x.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    out = np.zeros((n, c, oh, ow))
    g = np.random.default_rng(7).standard_normal(out.shape)
    dx = np.zeros_like(x)
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    win = x[b, ch, i * s[0] : i * s[0] + k[0], j * s[1] : j * s[1] + k[1]]
                    if kind == "max":
                        best, bi, bj = -np.inf, 0, 0
                        for a in range(k[0]):  # first maximum in row-major order
                            for e in range(k[1]):
                                if win[a, e] > best:
                                    best, bi, bj = win[a, e], a, e
                        out[b, ch, i, j] = best
                        dx[b, ch, i * s[0] + bi, j * s[1] + bj] += g[b, ch, i, j]
                    else:
                        out[b, ch, i, j] = win.mean()
                        dx[b, ch, i * s[0] : i * s[0] + k[0], j * s[1] : j * s[1] + k[1]] += (
                            g[b, ch, i, j] / win.size
                        )
    return out, g, dx


CONV_CASES = [  # (x shape, w shape, stride, padding, dilation)
    ((2, 3, 7, 6), (4, 3, 3, 2), (1, 1), (0, 0), (1, 1)),
    ((2, 3, 7, 6), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1)),
    ((1, 2, 8, 7), (3, 2, 3, 2), (1, 1), (2, 2), (2, 2)),
    ((2, 2, 9, 8), (2, 2, 2, 3), (2, 1), (1, 0), (1, 2)),
    ((1, 1, 5, 5), (1, 1, 5, 5), (1, 1), (0, 0), (1, 1)),
    ((2, 1, 6, 6), (2, 1, 1, 1), (3, 3), (1, 1), (1, 1)),
]


@pytest.mark.parametrize(("xs", "ws", "s", "p", "d"), CONV_CASES)
def test_conv2d_matches_naive_values_and_gradients(xs, ws, s, p, d):
    x, w = rand(*xs, seed=1), rand(*ws, seed=2)
    out, g, dx, dw = naive_conv(x, w, s, p, d)
    got, vjp_fn = cr.vjp(lambda x, w: nn.conv2d_raw(x, w, s, p, d), x, w)
    np.testing.assert_allclose(got, out, rtol=1e-12, atol=1e-12)
    gx, gw = vjp_fn(g)
    np.testing.assert_allclose(gx, dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, dw, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("xs", "ws", "s", "p", "d"), CONV_CASES[:4])
def test_conv2d_check_grads_second_order(xs, ws, s, p, d):
    check_derivatives(
        lambda x, w: nn.conv2d_raw(x, w, s, p, d), rand(*xs, seed=3), rand(*ws, seed=4), order=2
    )


def test_conv2d_third_order_through_its_own_rules():
    # Third derivatives stay inside conv2d / its two adjoints (no fallback to loops).
    check_derivatives(
        lambda x, w: np.sum(nn.conv2d_raw(x, w, 2, 1) ** 2), rand(1, 2, 5, 5), rand(2, 2, 3, 3), order=3
    )


def test_conv_layer_with_bias():
    params = nn.init_conv2d(np.random.default_rng(0), 2, 3, 3)
    params["b"] = rand(3)
    x = rand(2, 2, 6, 6)
    check_derivatives(
        lambda w, b, x: nn.conv2d({"w": w, "b": b}, x, padding=1), params["w"], params["b"], x, order=2
    )


def test_conv2d_refuses_bad_shapes():
    with pytest.raises(ValueError, match="channels"):
        nn.conv2d_raw(np.zeros((1, 2, 5, 5)), np.zeros((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        nn.conv2d_raw(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="stride"):
        nn.conv2d_raw(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), stride=0)


POOL_CASES = [((2, 2), None), ((3, 3), (1, 1)), ((2, 3), (1, 2)), ((3, 2), (2, 1))]


@pytest.mark.parametrize(("k", "s"), POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_naive(k, s, kind):
    x = rand(2, 3, 7, 6, seed=5)
    out, g, dx = naive_pool(x, k, s or k, kind)
    fn = nn.max_pool2d if kind == "max" else nn.avg_pool2d
    got, vjp_fn = cr.vjp(lambda x: fn(x, k, s), x)
    np.testing.assert_allclose(got, out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(vjp_fn(g)[0], dx, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("k", "s"), POOL_CASES)
def test_pooling_check_grads(k, s):
    x = rand(2, 2, 7, 6, seed=6)  # random normal: no ties, away from max pooling's kinks
    check_derivatives(lambda x: nn.avg_pool2d(x, k, s), x, order=2)
    check_derivatives(lambda x: nn.max_pool2d(x, k, s), x, order=1)


def test_max_pool_ties_go_to_first():
    x = np.ones((1, 1, 2, 2))
    g = cr.grad(lambda x: np.sum(nn.max_pool2d(x, 2)))(x)
    np.testing.assert_array_equal(g, [[[[1.0, 0.0], [0.0, 0.0]]]])


def test_max_pool_overlapping_windows_accumulate():
    # Stride 1, kernel 2 on a peak in the middle: all four windows pick it.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0
    g = cr.grad(lambda x: np.sum(nn.max_pool2d(x, 2, 1)))(x)
    expected = np.zeros((1, 1, 3, 3))
    expected[0, 0, 1, 1] = 4.0
    np.testing.assert_array_equal(g, expected)


def test_dense_and_flatten():
    p = nn.init_dense(np.random.default_rng(0), 12, 5)
    check_derivatives(
        lambda w, b, x: nn.dense({"w": w, "b": b}, nn.flatten(x)), p["w"], rand(5), rand(3, 2, 2, 3), order=2
    )


def test_layer_norm():
    x = rand(4, 6)
    out = nn.layer_norm(nn.init_layer_norm(6), x)
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=-1), 1.0, rtol=1e-4)  # eps=1e-5 shrinks it slightly
    check_derivatives(
        lambda x, s, o: nn.layer_norm({"scale": s, "offset": o}, x),
        x,
        rand(6, seed=1),
        rand(6, seed=2),
        order=2,
    )


def test_embedding_duplicate_ids_accumulate():
    table = rand(5, 3)
    ids = np.array([[0, 2], [0, 0]])
    c = rand(2, 2, 3, seed=1)
    g = cr.grad(lambda t: np.sum(nn.embedding({"table": t}, ids) * c))(table)
    expected = np.zeros((5, 3))
    expected[0] = c[0, 0] + c[1, 0] + c[1, 1]
    expected[2] = c[0, 1]
    np.testing.assert_allclose(g, expected, rtol=1e-14)
    check_derivatives(lambda t: nn.embedding({"table": t}, ids), table, order=2)
    with pytest.raises(TypeError, match="integers"):
        nn.embedding({"table": table}, np.array([0.0]))


def test_dropout_deterministic_and_identity_in_eval():
    x = rand(50, 40)
    a = nn.dropout(x, 0.3, np.random.default_rng(1), train=True)
    b = nn.dropout(x, 0.3, np.random.default_rng(1), train=True)
    np.testing.assert_array_equal(a, b)
    assert nn.dropout(x, 0.3, np.random.default_rng(1), train=False) is x
    kept = a != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(a[kept], x[kept] / 0.7, rtol=1e-14)
    g = cr.grad(lambda x: np.sum(nn.dropout(x, 0.3, np.random.default_rng(1), train=True)))(x)
    np.testing.assert_allclose(g, kept / 0.7, rtol=1e-14)
    with pytest.raises(ValueError, match="rng"):
        nn.dropout(x, 0.3, None, train=True)


ACTIVATIONS = [
    (nn.tanh, 2), (nn.sigmoid, 2), (nn.softplus, 2), (nn.gelu, 2),
    (lambda x: nn.gelu(x, approximate=False), 2), (nn.elu, 1), (nn.relu, 1),
    (lambda x: nn.leaky_relu(x, 0.1), 1), (nn.softmax, 2), (nn.log_softmax, 2),
    (lambda x: nn.logsumexp(x, axis=0), 2),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "order"), ACTIVATIONS)
def test_activation_gradients(fn, order):
    x = rand(3, 4, seed=11)
    x = np.where(np.abs(x) < 0.05, 0.5, x)  # keep away from kinks at 0
    check_derivatives(fn, x, order=order)


def test_activation_values_and_kinks():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(cr.grad(lambda x: np.sum(nn.relu(x)))(x), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(nn.leaky_relu(x, 0.1)))(x), [0.1, 0.1, 1.0])
    np.testing.assert_allclose(nn.elu(x), [np.expm1(-2.0), 0.0, 3.0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(nn.sigmoid(x)))(np.zeros(1)), [0.25])
    np.testing.assert_allclose(nn.gelu(x), nn.gelu(x, approximate=False), atol=1e-3)
    s = nn.softmax(rand(3, 5))
    np.testing.assert_allclose(s.sum(axis=-1), 1.0)


def test_stable_activations_at_huge_inputs():
    x = np.array([-1000.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        np.testing.assert_array_equal(cr.grad(lambda x: np.sum(nn.sigmoid(x)))(x), [0.0, 0.0])
        np.testing.assert_array_equal(cr.grad(lambda x: np.sum(nn.softplus(x)))(x), [0.0, 1.0])
        np.testing.assert_array_equal(cr.grad(lambda x: np.sum(nn.elu(x)))(x), [0.0, 1.0])
        np.testing.assert_allclose(nn.logsumexp(x), 1000.0)
        np.testing.assert_allclose(cr.grad(lambda x: nn.logsumexp(x))(x), [0.0, 1.0])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, w: nn.conv2d_raw(x, w, 1, 1),
        lambda x, w: nn.max_pool2d(x * w[0, 0, 0, 0], 2),
        lambda x, w: nn.avg_pool2d(x * w[0, 0, 0, 0], 2),
        lambda x, w: nn.relu(nn.flatten(x)) @ w.reshape(-1, 1)[:16],
    ],
)
def test_float32_preserved(fn):
    x = rand(2, 1, 4, 4).astype(np.float32)
    w = rand(2, 1, 3, 3, seed=1).astype(np.float32)
    out = fn(x, w)
    assert out.dtype == np.float32
    gx, gw = cr.grad(lambda x, w: np.sum(fn(x, w)), argnums=(0, 1))(x, w)
    assert gx.dtype == np.float32
    assert gw.dtype == np.float32


def test_sequential_exposes_parameters_and_shapes():
    net = nn.Sequential(
        nn.Conv2D(4, 3, padding=1), nn.Activation(nn.relu), nn.MaxPool2D(2), nn.Dropout(0.5),
        nn.Flatten(), nn.Dense(10),
    )  # fmt: skip
    params = net.init(np.random.default_rng(0), (1, 8, 8))
    assert isinstance(params, list)
    assert params[0]["w"].shape == (4, 1, 3, 3)
    assert params[5]["w"].shape == (64, 10)
    assert net.output_shape((1, 8, 8)) == (10,)
    x = rand(3, 1, 8, 8)
    assert net.apply(params, x).shape == (3, 10)
    a = net.apply(params, x, rng=np.random.default_rng(2), train=True)
    b = net.apply(params, x, rng=np.random.default_rng(2), train=True)
    np.testing.assert_array_equal(a, b)
    g = cr.grad(lambda p: np.sum(net.apply(p, x) ** 2))(params)
    assert [sorted(gi) for gi in g] == [sorted(pi) for pi in params]


def test_sequential_gradient_matches_finite_differences():
    net = nn.Sequential(
        nn.Conv2D(2, 3, stride=2), nn.Activation(nn.tanh), nn.AvgPool2D(2), nn.Flatten(), nn.Dense(3)
    )
    params = net.init(np.random.default_rng(0), (1, 9, 9))
    leaves, treedef = cr.tree_flatten(params)
    x = rand(2, 1, 9, 9)
    check_derivatives(lambda *ls: net.apply(cr.tree_unflatten(treedef, list(ls)), x), *leaves, order=2)


def test_mlp_on_digits_reaches_90_percent_quickly():
    start = time.perf_counter()
    data = nn.load_digits(seed=0)
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Dense(64), nn.Activation(nn.relu), nn.Dense(10))
    params = net.init(rng, (64,))
    grad_fn = cr.grad(lambda p, x, y: nn.softmax_cross_entropy(net.apply(p, x), y))
    for _ in range(8):
        for xb, yb in nn.batches(data.x_train, data.y_train, 32, rng):
            g = grad_fn(params, xb, yb)
            params = cr.tree_map(lambda p, g: p - 0.1 * g, params, g)
    accuracy = np.mean(np.argmax(net.apply(params, data.x_test), axis=-1) == data.y_test)
    assert accuracy > 0.9
    assert time.perf_counter() - start < 10.0
