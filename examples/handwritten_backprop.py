"""A two-layer network with backpropagation written by hand, one wrong line, and how to find it.

Every course on neural networks asks for this: write each layer as a pair of
functions, ``forward(*args) -> (out, cache)`` and ``backward(dout, cache) ->
one gradient per argument``, chain them, and check the result with finite
differences. Here the tanh layer's backward pass has a classic slip (the
derivative of ``tanh`` is ``1 - tanh**2``; the buggy line forgets the
square). ``chainrule.check_vjp`` checks each layer on its own and names the
argument whose gradient is wrong; ``chainrule.check_grad(loss, params,
grad=...)`` checks the whole hand-written gradient and names the wrong
leaves (``params['w1']``, ``params['b1']``: the layers below the slip). The
loss is written with ``float()`` and ``math.log``: the checks only evaluate
it, they never trace it. Training with the fixed gradient then works.

Run::

    python examples/handwritten_backprop.py [--steps 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

import chainrule as cr

# -- layers: forward(*args) -> (out, cache), backward(dout, cache) -> grads ----------


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Any]:
    return x @ w + b, (x, w)


def affine_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = np.tanh(x)
    return out, out


def tanh_backward(dout: np.ndarray, out: np.ndarray) -> tuple[np.ndarray]:
    return (dout * (1.0 - out**2),)


def tanh_backward_buggy(dout: np.ndarray, out: np.ndarray) -> tuple[np.ndarray]:
    return (dout * (1.0 - out),)  # the deliberate slip: d tanh/dx is 1 - tanh**2


def softmax_loss_forward(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, Any]:
    """Mean cross-entropy of softmax(scores) against integer labels (an array of shape ())."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    n = scores.shape[0]
    loss = -np.mean(np.log(probs[np.arange(n), labels]))
    return np.asarray(loss), (probs, labels)


def softmax_loss_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, None]:
    probs, labels = cache
    n = probs.shape[0]
    dscores = probs.copy()
    dscores[np.arange(n), labels] -= 1.0
    return dscores * (float(dout) / n), None  # labels are integers: no gradient


# -- the network: the layers chained, forward then backward ------------------------


def loss(params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray) -> float:
    """The network's loss, as plain Python would write it (float(), math.log: not traceable)."""
    h = np.tanh(x @ params["w1"] + params["b1"])
    scores = h @ params["w2"] + params["b2"]
    scores = scores - scores.max(axis=1, keepdims=True)
    total = 0.0
    for row, label in zip(scores, labels):
        total += math.log(float(np.sum(np.exp(row)))) - float(row[label])
    return total / len(labels)


def make_gradient(tanh_back: Any) -> Any:
    """The hand-written gradient of :func:`loss`, built from the layers' backward passes."""

    def gradient(params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        z1, c1 = affine_forward(x, params["w1"], params["b1"])
        h, c2 = tanh_forward(z1)
        scores, c3 = affine_forward(h, params["w2"], params["b2"])
        _, c4 = softmax_loss_forward(scores, labels)
        (dscores, _) = softmax_loss_backward(np.asarray(1.0), c4)
        dh, dw2, db2 = affine_backward(dscores, c3)
        (dz1,) = tanh_back(dh, c2)
        _, dw1, db1 = affine_backward(dz1, c1)
        return {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}

    gradient.__qualname__ = f"gradient with {tanh_back.__name__}"
    return gradient


def make_problem(seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Three noisy clusters in 6 dimensions, and a 6-12-3 network's initial parameters."""
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.standard_normal((3, 6))
    labels = rng.integers(0, 3, 48)
    x = centres[labels] + rng.standard_normal((48, 6))
    params = {
        "w1": rng.standard_normal((6, 12)) / math.sqrt(6),
        "b1": 0.1 * rng.standard_normal(12),
        "w2": rng.standard_normal((12, 3)) / math.sqrt(12),
        "b2": np.zeros(3),
    }
    return params, x, labels


def main(steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Check each layer and the whole gradient, find the slip, then train with the fixed gradient."""
    steps = 200 if steps is None else steps
    params, x, labels = make_problem(seed)
    z = x @ params["w1"] + params["b1"]
    out: dict[str, Any] = {}

    # 1. Layer by layer: <backward(dout), v> against <dout, J v> by finite differences.
    print("check_vjp, layer by layer:")
    layers = {
        "affine": (affine_forward, affine_backward, (x, params["w1"], params["b1"])),
        "tanh": (tanh_forward, tanh_backward, (z,)),
        "tanh (buggy)": (tanh_forward, tanh_backward_buggy, (z,)),
        "softmax loss": (softmax_loss_forward, softmax_loss_backward, (z[:, :3], labels)),
    }
    for name, (fwd, bwd, args) in layers.items():
        report = cr.check_vjp(fwd, bwd, *args, seed=seed, raise_on_failure=False)
        out[f"vjp {name}"] = report.verdict
        print(f"  {name:13s} {report.verdict:5s} {report.localization}")
    out["vjp culprit"] = cr.check_vjp(tanh_forward, tanh_backward_buggy, z, seed=seed,
                                      raise_on_failure=False).localization  # fmt: skip

    # 2. The whole hand-written gradient, leaf by leaf, against finite differences of the loss.
    print("\ncheck_grad(loss, params, x, labels, grad=...):")
    for name, back in (("correct", tanh_backward), ("buggy", tanh_backward_buggy)):
        report = cr.check_grad(loss, params, x, labels, grad=make_gradient(back), raise_on_failure=False)
        out[f"grad {name}"] = report.verdict
        print(f"  {name:8s} {report.verdict:5s} {report.localization}")
        if not report.passed:
            out["grad culprit"] = report.localization
            print("\n".join("    " + line for line in report.table(4).splitlines()))

    # 3. Train with the fixed gradient: plain gradient descent.
    gradient = make_gradient(tanh_backward)
    out["initial_loss"] = loss(params, x, labels)
    for _ in range(steps):
        g = gradient(params, x, labels)
        params = {k: v - 0.5 * g[k] for k, v in params.items()}
    out["final_loss"] = loss(params, x, labels)
    scores = np.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]
    out["train_accuracy"] = float(np.mean(np.argmax(scores, axis=1) == labels))
    out["steps"] = steps
    print(f"\n{steps} steps of gradient descent: loss {out['initial_loss']:.3f} -> {out['final_loss']:.3f}, "
          f"training accuracy {out['train_accuracy']:.0%}")  # fmt: skip
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    ns = parser.parse_args()
    main(ns.steps, ns.seed)
