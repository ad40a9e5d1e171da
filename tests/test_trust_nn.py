"""Issue 11, class 11: chainrule.nn refuses what NumPy would silently wrap, truncate or misread.

Every public name of chainrule.nn has rows in BAD below (or a reason in
EXEMPT): the audit test fails when a new function arrives without them.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(0)
Z = RNG.standard_normal((2, 3))
IMG = RNG.standard_normal((1, 1, 5, 5))
CONV = {"w": RNG.standard_normal((1, 1, 3, 3)), "b": np.zeros(1)}
TABLE = {"table": RNG.standard_normal((4, 2))}


def _rng():
    return np.random.default_rng(0)


# name -> list of (call, error, message)
BAD = {
    "softmax_cross_entropy": [
        (lambda: nn.softmax_cross_entropy(Z, np.array([0, -1])), ValueError, "class -1, outside 0..2"),
        (lambda: nn.softmax_cross_entropy(Z, np.array([0, 3])), ValueError, "class 3, outside 0..2"),
        (lambda: nn.softmax_cross_entropy(Z, [0, -1]), ValueError, "class -1"),
        (lambda: nn.softmax_cross_entropy(Z[0], np.array([1])), ValueError, "logits of shape \\(N, K\\)"),
    ],
    "embedding": [
        (lambda: nn.embedding(TABLE, [-1]), ValueError, "row -1, outside 0..3"),
        (lambda: nn.embedding(TABLE, np.array([[0, 4]])), ValueError, "row 4, outside 0..3"),
        (lambda: nn.embedding(TABLE, np.array([0.0])), TypeError, "ids must be integers"),
    ],
    "huber": [
        (lambda: nn.huber(np.ones(3), np.zeros(3), delta=-1), ValueError, "delta=-1 must be finite and > 0"),
        (lambda: nn.huber(np.ones(3), np.zeros(3), delta=0), ValueError, "delta=0"),
        (lambda: nn.huber(np.ones(3), np.zeros(3), delta=np.inf), ValueError, "delta=inf"),
        (lambda: nn.huber(np.ones(3), np.zeros(3), delta="1"), TypeError, "delta must be a number"),
        (lambda: nn.huber(np.ones((3, 1)), np.zeros(3)), ValueError, "predictions have shape \\(3, 1\\)"),
    ],
    "mse": [(lambda: nn.mse(np.ones((3, 1)), np.zeros(3)), ValueError, "they must match")],
    "binary_cross_entropy": [
        (lambda: nn.binary_cross_entropy(np.ones(2), np.array([0.0, 2.0])), ValueError, "probabilities in"),
        (lambda: nn.binary_cross_entropy(np.ones((2, 1)), np.ones(2)), ValueError, "they must match"),
    ],
    "conv2d": [
        (lambda: nn.conv2d(CONV, IMG, stride=1.5), TypeError, "stride must be a whole number"),
        (lambda: nn.conv2d(CONV, IMG, stride=(1.5, 1.5)), TypeError, "would be truncated"),
        (lambda: nn.conv2d(CONV, IMG, padding=-1), ValueError, "padding=-1 must be at least 0"),
        (lambda: nn.conv2d(CONV, IMG, dilation=0), ValueError, "dilation=0 must be at least 1"),
        (lambda: nn.conv2d(CONV, IMG, stride=True), TypeError, "stride must be a whole number"),
    ],
    "conv2d_raw": [(lambda: nn.conv2d_raw(IMG, CONV["w"], stride=(1, 2, 3)), TypeError, "pair")],
    "conv2d_input_grad": [
        (lambda: nn.conv2d_input_grad(IMG, CONV["w"], (7, 7), stride=0), ValueError, "stride=0")
    ],
    "conv2d_kernel_grad": [
        (lambda: nn.conv2d_kernel_grad(IMG, IMG, (3, 3), dilation=0.5), TypeError, "dilation")
    ],
    "init_dense": [
        (lambda: nn.init_dense(None, 3, 4), TypeError, "rng must be a numpy.random.Generator"),
        (lambda: nn.init_dense(np.random.RandomState(0), 3, 4), TypeError, "not RandomState"),
        (lambda: nn.init_dense(_rng(), 3.0, 4), TypeError, "n_in must be a whole number"),
        (lambda: nn.init_dense(_rng(), 3, 0), ValueError, "n_out=0 must be at least 1"),
        (lambda: nn.init_dense(_rng(), 3, 4, dtype=np.int64), TypeError, "not a floating dtype"),
    ],
    "init_conv2d": [
        (lambda: nn.init_conv2d(_rng(), 1, 2, 1.5), TypeError, "kernel"),
        (lambda: nn.init_conv2d(_rng(), -1, 2, 3), ValueError, "in_channels=-1"),
    ],
    "init_embedding": [(lambda: nn.init_embedding(_rng(), 0, 2), ValueError, "vocab_size=0")],
    "init_layer_norm": [(lambda: nn.init_layer_norm(2.5), TypeError, "dim must be a whole number")],
    "layer_norm": [(lambda: nn.layer_norm(nn.init_layer_norm(3), Z, eps=-1e-5), ValueError, "eps=")],
    "dropout": [
        (lambda: nn.dropout(Z, 1.0), ValueError, "rate=1.0 must be in \\[0, 1\\)"),
        (lambda: nn.dropout(Z, -0.1), ValueError, "rate=-0.1"),
        (lambda: nn.dropout(Z, 0.5, rng=np.random.RandomState(0), train=True), TypeError, "rng must be"),
    ],
    "glorot_uniform": [(lambda: nn.glorot_uniform(None, (2, 2)), TypeError, "rng must be")],
    "he_normal": [(lambda: nn.he_normal(_rng(), (2, -2)), ValueError, "whole numbers >= 0")],
    "normal": [(lambda: nn.normal(_rng(), (2,), std=-1.0), ValueError, "std=-1.0")],
    "zeros": [(lambda: nn.zeros((2, 1.5)), ValueError, "whole numbers >= 0")],
    "leaky_relu": [(lambda: nn.leaky_relu(Z, alpha=np.nan), ValueError, "alpha=nan must be finite")],
    "elu": [(lambda: nn.elu(Z, alpha="1"), TypeError, "alpha must be a number")],
    "gelu": [(lambda: nn.gelu(Z, approximate="no"), TypeError, "approximate must be True or False")],
    "max_pool2d": [(lambda: nn.max_pool2d(IMG, 2.5), TypeError, "kernel")],
    "avg_pool2d": [(lambda: nn.avg_pool2d(IMG, 2, stride=0), ValueError, "stride=0")],
    "batches": [
        (lambda: list(nn.batches(np.ones(4), np.ones(4), 2.5, _rng())), TypeError, "batch_size"),
        (lambda: list(nn.batches(np.ones(4), np.ones(4), 2, None)), TypeError, "rng must be"),
    ],
    "Sequential": [
        (lambda: nn.Sequential(3), TypeError, "argument 0 is int 3, not a Layer"),
        (lambda: nn.Sequential([nn.Dense(2)]), TypeError, "Sequential\\(\\*layers\\)"),
        (lambda: nn.Sequential(nn.Dense(2)).init(None, (3,)), TypeError, "rng must be"),
        (lambda: nn.Sequential(nn.Dense(2)).init(_rng(), 3), TypeError, "input shape must be a tuple"),
        (lambda: nn.Sequential(nn.Dense(2)).output_shape((0,)), ValueError, "whole numbers >= 1"),
    ],
    "Dense": [
        (lambda: nn.Dense(-3), ValueError, "units=-3 must be at least 1"),
        (lambda: nn.Dense(2.0), TypeError, "units must be a whole number"),
        (lambda: nn.Sequential(nn.Dense(2)).init(_rng(), ()), ValueError, "at least one axis"),
    ],
    "Conv2D": [
        (
            lambda: nn.Sequential(nn.Conv2D(3, 3)).init(_rng(), (5, 5)),
            ValueError,
            "for one channel use \\(1, 5, 5\\)",
        ),
        (lambda: nn.Sequential(nn.Conv2D(3, 7)).init(_rng(), (1, 5, 5)), ValueError, "does not fit"),
        (lambda: nn.Conv2D(3, stride=1.5), TypeError, "stride"),
        (lambda: nn.Conv2D(0), ValueError, "out_channels=0"),
    ],
    "MaxPool2D": [
        (lambda: nn.Sequential(nn.MaxPool2D(2)).init(_rng(), (4, 4)), ValueError, "\\(C, H, W\\)"),
        (lambda: nn.Sequential(nn.MaxPool2D(5)).init(_rng(), (1, 4, 4)), ValueError, "does not fit"),
    ],
    "AvgPool2D": [(lambda: nn.AvgPool2D(2, stride=-1), ValueError, "stride=-1")],
    "Dropout": [(lambda: nn.Dropout(1.5), ValueError, "rate=1.5")],
    "LayerNorm": [(lambda: nn.LayerNorm(eps=0), ValueError, "eps=0")],
    "Embedding": [(lambda: nn.Embedding(10, -1), ValueError, "dim=-1")],
    "Activation": [(lambda: nn.Activation("relu"), TypeError, "fn must be a function")],
    "Flatten": [(lambda: nn.Sequential(nn.Flatten()).init(_rng(), "abc"), ValueError, "whole numbers")],
}

EXEMPT = {
    "Digits": "a NamedTuple of arrays (data)",
    "Layer": "a NamedTuple (init, apply) built by the layer constructors above",
    "conv_output_size": "arithmetic on sizes the callers have validated",
    "dense": "x @ w + b: NumPy's matmul refuses mismatched shapes itself",
    "flatten": "a reshape of the batch axis",
    "load_digits": "test_fraction is range-checked; needs scikit-learn",
    "logsumexp": "axis is checked by NumPy (AxisError)",
    "log_softmax": "axis is checked by NumPy (AxisError)",
    "softmax": "axis is checked by NumPy (AxisError)",
    "relu": "no hyperparameter",
    "sigmoid": "no hyperparameter",
    "softplus": "no hyperparameter",
    "tanh": "no hyperparameter",
}

CASES = [(name, i, *row) for name, rows in BAD.items() for i, row in enumerate(rows)]


def test_every_public_nn_name_is_audited():
    missing = sorted(set(nn.__all__) - set(BAD) - set(EXEMPT))
    assert not missing, f"add bad-argument rows (or an exemption) for {missing}"
    assert not set(BAD) & set(EXEMPT)


@pytest.mark.parametrize(
    ("name", "i", "call", "error", "message"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_bad_arguments_are_refused_by_name(name, i, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_issue_examples_no_longer_return_numbers():
    z = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]])
    with pytest.raises(ValueError, match="class -1"):
        cr.grad(lambda z: nn.softmax_cross_entropy(z, np.array([0, -1])))(z)
    with pytest.raises(ValueError, match="row -1"):
        cr.grad(lambda t: np.sum(nn.embedding({"table": t}, np.array([-1]))))(np.ones((3, 2)))
    with pytest.raises(ValueError, match="delta"):
        nn.huber(np.array([0.5, 3.0]), np.zeros(2), delta=-1)


def test_valid_arguments_still_work():
    # Integer-like NumPy scalars and tuples of them are whole numbers; labels at both ends are fine.
    p = nn.init_dense(_rng(), np.int64(3), 2, dtype=np.float32)
    assert p["w"].dtype == np.float32
    z = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]])
    want = -np.mean([nn.log_softmax(z)[0, 0], nn.log_softmax(z)[1, 2]])
    np.testing.assert_allclose(nn.softmax_cross_entropy(z, np.array([0, 2])), want)
    y = nn.conv2d(CONV, IMG, stride=(np.int64(2), 2))
    assert y.shape == (1, 1, 2, 2)
    net = nn.Sequential(nn.Conv2D(2, 3, padding=1), nn.MaxPool2D(2), nn.Flatten(), nn.Dense(3))
    assert net.output_shape((1, 5, 5)) == (3,)
    assert float(nn.huber(np.array([3.0]), 0.0, delta=1)) == 2.5  # a scalar target broadcasts
