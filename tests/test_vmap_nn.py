"""vmap of chainrule.nn's convolution and pooling primitives: folded into an axis, not looped.

Each batched result is compared with a Python loop over the examples (the
primitives' own results and chainrule's per-example derivatives, themselves
checked by finite differences in tests/test_nn*.py).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.check.vmapcheck import check_vmap
from chainrule.engine.batching import rule_kind
from chainrule.nn import conv, pooling

RNG = np.random.default_rng(156)


def _examples(shapes, count=3):
    return [tuple(RNG.standard_normal(s) for s in shapes) for _ in range(count)]


CONV_CASES = [
    ("conv2d", lambda x, w: nn.conv2d_raw(x, w, padding=1), [(2, 3, 5, 5), (4, 3, 3, 3)]),
    ("conv2d stride dilation", lambda x, w: nn.conv2d_raw(x, w, stride=2, dilation=2), [(1, 2, 7, 6), (3, 2, 2, 2)]),  # noqa: E501
    ("conv2d kernel first", lambda w, x: nn.conv2d_raw(x, w, stride=(1, 2)), [(4, 3, 2, 3), (2, 3, 5, 6)]),
    ("kernel grad", lambda x, g: nn.conv2d_kernel_grad(x, g, (3, 3), padding=1), [(2, 3, 5, 5), (2, 4, 5, 5)]),  # noqa: E501
    ("kernel grad g first", lambda g, x: nn.conv2d_kernel_grad(x, g, (2, 2), stride=2), [(2, 4, 2, 2), (2, 3, 5, 4)]),  # noqa: E501
    ("input grad", lambda g, w: nn.conv2d_input_grad(g, w, (5, 5), padding=1), [(2, 4, 5, 5), (4, 3, 3, 3)]),
    ("input grad w first", lambda w, g: nn.conv2d_input_grad(g, w, (6, 6), stride=2), [(4, 3, 2, 2), (1, 4, 3, 3)]),  # noqa: E501
    ("max pool", lambda x: nn.max_pool2d(x, 2), [(2, 3, 4, 6)]),
    ("max pool overlapping", lambda x: nn.max_pool2d(x, 3, 1), [(1, 2, 5, 5)]),
    ("avg pool", lambda x: nn.avg_pool2d(x, 3, 2), [(2, 3, 7, 7)]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fun", "shapes"), CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_and_pooling_batch(name, fun, shapes):
    # Both arguments batched (the stacked products on plain data; under grad(vmap), the loop),
    # the first batched along its last axis with the second shared (folded into an axis), and
    # the derivatives, whose rules are the other primitives batched the same ways.
    check_vmap(fun, _examples(shapes), rtol=1e-10)


@pytest.mark.parametrize(
    "prim",
    [conv.conv2d_p, conv.kernel_grad_p, conv.input_grad_p, pooling.window_sum_p, pooling.spread_p,
     pooling.gather_p, pooling.scatter_p, pooling.argmax_p],
    ids=lambda p: p.name,
)  # fmt: skip
def test_nn_primitives_have_rules(prim):
    assert rule_kind(prim) != "loop"


def _cnn_loss(params, x, y):
    h = nn.relu(nn.conv2d_raw(x[None], params["w"], padding=1))
    h = nn.max_pool2d(h, 2)
    logits = np.reshape(h, (-1,)) @ params["v"]
    return np.sum((logits - y) ** 2)


def test_per_example_gradients_of_a_cnn_without_a_loop(monkeypatch):
    params = {"w": RNG.standard_normal((4, 2, 3, 3)) * 0.3, "v": RNG.standard_normal((16, 3)) * 0.3}
    xs, ys = RNG.standard_normal((6, 2, 4, 4)), RNG.standard_normal((6, 3))
    want = [cr.grad(_cnn_loss)(params, x, y) for x, y in zip(xs, ys)]
    calls = []
    for prim in (conv.conv2d_p, conv.kernel_grad_p, conv.input_grad_p, pooling.gather_p, pooling.scatter_p):
        impl = prim.impl

        def counting(*args, _impl=impl, _name=prim.name):
            calls.append(_name)
            return _impl(*args)

        monkeypatch.setattr(prim, "impl", counting)
    got = cr.vmap(cr.grad(_cnn_loss), in_axes=(None, 0, 0))(params, xs, ys)
    for k in params:
        np.testing.assert_allclose(got[k], np.stack([w[k] for w in want]), rtol=1e-10, atol=1e-12)
    # one call of each primitive for all six examples (the kernel gradient: the stacked
    # product, not the primitive); a loop would call each six times
    assert calls.count("chainrule.nn.conv2d_raw") == 1
    assert calls.count("chainrule.nn.max_pool_gather") == 1
    assert calls.count("chainrule.nn.max_pool_scatter") == 1
    assert "chainrule.nn.conv2d_kernel_grad" not in calls


def test_conv_nested_vmap_out_axes_and_second_order():
    xs, ws = RNG.standard_normal((3, 1, 2, 4, 4)), RNG.standard_normal((2, 3, 2, 2, 2))
    # every input against every kernel: inner vmap over kernels, outer over inputs, out_axes=1
    table = cr.vmap(cr.vmap(nn.conv2d_raw, in_axes=(None, 0)), in_axes=(0, None), out_axes=1)(xs, ws)
    want = np.stack([np.stack([nn.conv2d_raw(x, w) for x in xs]) for w in ws])
    assert table.shape == want.shape
    np.testing.assert_allclose(table, want, rtol=1e-12)

    def energy(x, w):
        return np.sum(np.tanh(nn.conv2d_raw(x, w)) ** 2)

    small_x = RNG.standard_normal((3, 1, 1, 3, 3))
    w0 = ws[0][:, :1]
    hess = cr.vmap(cr.hessian(energy), in_axes=(0, None))(small_x, w0)
    np.testing.assert_allclose(hess, np.stack([cr.hessian(energy)(x, w0) for x in small_x]), rtol=1e-10)
