"""A small convolutional network on the 8x8 handwritten digits, trained with Adam.

Same training loop as ``mlp.py``; only the network changes: the digits are
kept as ``(1, 8, 8)`` images and go through two 3x3 convolutions with max
pooling before a dense classifier. Backprop runs through the convolutions and
the pooling like through any other NumPy code; the gradient is checked once
against finite differences (random directional probes) before training.

Run::

    python examples/cnn.py [--steps 900] [--seed 0]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.optim import adam, apply_updates

# (1, 8, 8) -> conv (16, 8, 8) -> pool (16, 4, 4) -> conv (32, 4, 4) -> pool (32, 2, 2) -> 128 -> 10.
# padding=1 keeps the 8x8 size through each 3x3 convolution, so the strokes at
# the border of these tiny images are not cut off.
MODEL = nn.Sequential(
    nn.Conv2D(16, 3, padding=1),
    nn.Activation(nn.relu),
    nn.MaxPool2D(2),
    nn.Conv2D(32, 3, padding=1),
    nn.Activation(nn.relu),
    nn.MaxPool2D(2),
    nn.Flatten(),
    nn.Dense(64),
    nn.Activation(nn.relu),
    nn.Dense(10),
)


def loss(params: list[Any], x: np.ndarray, y: np.ndarray) -> Any:
    """Softmax cross-entropy of the logits against integer labels."""
    return nn.softmax_cross_entropy(MODEL.apply(params, x), y)


def accuracy(params: list[Any], x: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose largest logit is the true class."""
    return float(np.mean(np.argmax(MODEL.apply(params, x), axis=1) == y))


def main(steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Train for ``steps`` minibatch updates (default 900, 20 epochs); returns the key numbers.

    Parameters
    ----------
    steps
        Number of Adam updates on minibatches of 32.
    seed
        Seed of the split, the initialization, the minibatch order and the check.
    """
    steps = 900 if steps is None else steps
    data = nn.load_digits(seed=seed, images=True)
    rng = np.random.default_rng(seed)
    params = MODEL.init(rng, data.x_train.shape[1:])
    # A small positive bias keeps ReLU pre-activations off their kink at exactly 0,
    # which the blank background of the digits would otherwise hit (a zero patch
    # times any kernel plus a zero bias). At a kink the derivative is a
    # subgradient and finite differences disagree with it by design.
    params = [{k: v + 0.01 if k == "b" else v for k, v in layer.items()} for layer in params]
    n_params = sum(v.size for layer in params for v in layer.values())
    print(f"{MODEL!r}: {n_params} parameters, {len(data.y_train)} training images")

    # Random directional probes cost a few evaluations each whatever the number
    # of parameters, where a full element-by-element check would need ~4 per parameter.
    report = cr.check_grad(loss, params, data.x_train[:16], data.y_train[:16], mode="fast", seed=seed)
    print(f"gradient check (fast mode, {report.evaluations} evaluations): {report.verdict}")

    optimizer = adam(2e-3)
    state = optimizer.init(params)
    step = cr.value_and_grad(loss)
    initial_loss = float(loss(params, data.x_train, data.y_train))
    done = 0
    epoch = 0
    while done < steps:
        for xb, yb in nn.batches(data.x_train, data.y_train, 32, rng):
            value, grads = step(params, xb, yb)
            updates, state = optimizer.update(grads, state, params)
            params = apply_updates(params, updates)
            done += 1
            if done == steps:
                break
        epoch += 1
        if epoch % 5 == 0:
            print(f"epoch {epoch:3d}  minibatch loss {float(value):.4f}  "
                  f"test accuracy {accuracy(params, data.x_test, data.y_test):.1%}")  # fmt: skip

    out = {
        "initial_loss": initial_loss,
        "final_loss": float(loss(params, data.x_train, data.y_train)),
        "train_accuracy": accuracy(params, data.x_train, data.y_train),
        "test_accuracy": accuracy(params, data.x_test, data.y_test),
        "gradient_check_passed": report.passed,
        "steps": done,
    }
    print(f"training loss {initial_loss:.4f} -> {out['final_loss']:.4f} after {done} steps")
    print(f"train accuracy: {out['train_accuracy']:.1%}")
    print(f"test accuracy: {out['test_accuracy']:.1%}")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="number of Adam updates")
    parser.add_argument("--seed", type=int, default=0, help="seed of split, initialization and batches")
    args = parser.parse_args()
    main(steps=args.steps, seed=args.seed)
