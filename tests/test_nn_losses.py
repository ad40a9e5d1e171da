"""chainrule.nn losses: values, exact gradients, finite differences, and stability at huge logits."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.check import check_derivatives

STABLE = {"over": "raise", "divide": "raise", "invalid": "raise"}


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def one_hot(labels, k):
    return np.eye(k)[labels]


def test_softmax_cross_entropy_value_and_exact_gradient():
    logits = rand(4, 3)
    labels = np.array([0, 2, 1, 2])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(4), labels]))
    np.testing.assert_allclose(nn.softmax_cross_entropy(logits, labels), expected, rtol=1e-12)
    np.testing.assert_allclose(nn.softmax_cross_entropy(logits, one_hot(labels, 3)), expected, rtol=1e-12)
    g = cr.grad(nn.softmax_cross_entropy)(logits, labels)
    np.testing.assert_allclose(g, (p - one_hot(labels, 3)) / 4, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    "loss",
    [
        lambda z: nn.softmax_cross_entropy(z, np.array([0, 2, 1])),
        lambda z: nn.softmax_cross_entropy(z, np.full((3, 3), 1.0 / 3.0)),
        lambda z: nn.binary_cross_entropy(z, np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.3], [0.5, 1.0, 0.0]])),
        lambda z: nn.mse(z, np.ones((3, 3))),
        lambda z: nn.huber(z, np.zeros((3, 3)), delta=0.7),
    ],
)
def test_loss_gradients_second_order(loss):
    z = rand(3, 3, seed=3) * 2.0
    check_derivatives(loss, z, order=2)


def test_softmax_cross_entropy_huge_logits():
    logits = np.array([[1000.0, -1000.0], [1000.0, -1000.0]])
    labels = np.array([0, 1])
    with np.errstate(**STABLE):
        value, g = cr.value_and_grad(nn.softmax_cross_entropy)(logits, labels)
        _, g_hot = cr.value_and_grad(nn.softmax_cross_entropy)(logits, one_hot(labels, 2))
    # sample 0 is right with certainty (loss 0), sample 1 is wrong by 2000.
    np.testing.assert_allclose(value, 1000.0)
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.5, -0.5]])
    np.testing.assert_allclose(g_hot, g)


def test_binary_cross_entropy_values_and_huge_logits():
    z = np.array([0.0, 2.0, -3.0])
    y = np.array([1.0, 0.0, 1.0])
    s = 1.0 / (1.0 + np.exp(-z))
    expected = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(nn.binary_cross_entropy(z, y), expected, rtol=1e-12)
    np.testing.assert_allclose(cr.grad(nn.binary_cross_entropy)(z, y), (s - y) / 3, rtol=1e-12)
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    with np.errstate(**STABLE):
        value, g = cr.value_and_grad(nn.binary_cross_entropy)(z, y)
    np.testing.assert_allclose(value, 500.0)  # two samples wrong by 1000, two right
    np.testing.assert_allclose(g, [0.25, -0.25, 0.0, 0.0])


def test_mse_and_huber_values():
    p, t = np.array([0.5, -3.0, 1.0]), np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(nn.mse(p, t), (0.25 + 9.0) / 3)
    np.testing.assert_allclose(nn.huber(p, t), (0.125 + 2.5 + 0.0) / 3)
    np.testing.assert_allclose(cr.grad(nn.huber)(p, t), [0.5 / 3, -1.0 / 3, 0.0])
    # At the kink |r| = delta both pieces have slope delta.
    np.testing.assert_allclose(cr.grad(nn.huber)(np.array([1.0]), np.array([0.0])), [1.0])


def test_losses_keep_float32():
    z = rand(4, 3).astype(np.float32)
    for loss in (
        lambda z: nn.softmax_cross_entropy(z, np.array([0, 1, 2, 0])),
        lambda z: nn.binary_cross_entropy(z, np.ones((4, 3), np.float32)),
        lambda z: nn.mse(z, np.zeros((4, 3), np.float32)),
        lambda z: nn.huber(z, np.zeros((4, 3), np.float32)),
    ):
        value, g = cr.value_and_grad(loss)(z)
        assert value.dtype == np.float32
        assert g.dtype == np.float32


def test_softmax_cross_entropy_refuses_mismatched_labels():
    with pytest.raises(ValueError, match="integer labels"):
        nn.softmax_cross_entropy(np.zeros((3, 2)), np.array([0, 1]))
    with pytest.raises(ValueError, match="one-hot"):
        nn.softmax_cross_entropy(np.zeros((3, 2)), np.zeros((3, 3)))
