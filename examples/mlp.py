"""A multilayer perceptron on the 8x8 handwritten digits, trained with Adam.

The network is an ``nn.Sequential`` whose parameters are a plain list of dicts
of NumPy arrays; the loss is ordinary NumPy code on top of it. Backprop
(``chainrule.value_and_grad``) gives the gradient, and Adam, which never asks
where a gradient came from, turns it into an update.

Run::

    python examples/mlp.py [--steps 1500] [--seed 0]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.optim import adam, apply_updates

MODEL = nn.Sequential(
    nn.Dense(128),
    nn.Activation(nn.tanh),
    nn.Dense(64),
    nn.Activation(nn.tanh),
    nn.Dense(10),
)


def loss(params: list[Any], x: np.ndarray, y: np.ndarray) -> Any:
    """Softmax cross-entropy of the logits against integer labels, plus a little weight decay."""
    logits = MODEL.apply(params, x)
    # A small L2 penalty on the weights (not the biases) keeps the tanh units out
    # of saturation late in training; it is part of the differentiated function,
    # so backprop handles it like everything else.
    decay = sum(np.sum(layer["w"] ** 2) for layer in params if "w" in layer)
    return nn.softmax_cross_entropy(logits, y) + 1e-5 * decay


def accuracy(params: list[Any], x: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose largest logit is the true class."""
    return float(np.mean(np.argmax(MODEL.apply(params, x), axis=1) == y))


def main(steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Train for ``steps`` minibatch updates (default 1500, about 33 epochs); returns the key numbers.

    Parameters
    ----------
    steps
        Number of Adam updates on minibatches of 32.
    seed
        Seed of the split, the initialization and the minibatch order.
    """
    steps = 1500 if steps is None else steps
    data = nn.load_digits(seed=seed)
    rng = np.random.default_rng(seed)
    params = MODEL.init(rng, data.x_train.shape[1:])
    n_params = sum(v.size for layer in params for v in layer.values())
    print(f"{MODEL!r}: {n_params} parameters, {len(data.y_train)} training digits")

    optimizer = adam(3e-3)
    state = optimizer.init(params)
    # value_and_grad gives the loss for the log and the gradient for the update
    # from one forward and one backward pass.
    step = cr.value_and_grad(loss)
    initial_loss = float(loss(params, data.x_train, data.y_train))
    done = 0
    epoch = 0
    while done < steps:
        # One epoch = one shuffled pass; stop mid-epoch once the step budget is spent.
        for xb, yb in nn.batches(data.x_train, data.y_train, 32, rng):
            value, grads = step(params, xb, yb)
            updates, state = optimizer.update(grads, state, params)
            params = apply_updates(params, updates)
            done += 1
            if done == steps:
                break
        epoch += 1
        if epoch % 10 == 0:
            print(f"epoch {epoch:3d}  minibatch loss {float(value):.4f}  "
                  f"test accuracy {accuracy(params, data.x_test, data.y_test):.1%}")  # fmt: skip

    out = {
        "initial_loss": initial_loss,
        "final_loss": float(loss(params, data.x_train, data.y_train)),
        "train_accuracy": accuracy(params, data.x_train, data.y_train),
        "test_accuracy": accuracy(params, data.x_test, data.y_test),
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
