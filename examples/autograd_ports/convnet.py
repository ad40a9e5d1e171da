"""A small convolutional network on synthetic images (after autograd's convnet.py).

autograd's convnet calls its own ``autograd.scipy.signal.convolve``; here the
valid 2-D cross-correlation is written with slices and one ``np.einsum`` per
kernel offset, max pooling with a reshape, and the layers are plain
functions of a dict of parameters. The task tells horizontal from vertical
bars in 8x8 noisy images.

Run::

    python examples/autograd_ports/convnet.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.optim.loops import adam


def conv2d_valid(images: Any, kernels: Any) -> Any:
    """``(batch, in, H, W)`` with ``(out, in, kh, kw)`` -> ``(batch, out, H-kh+1, W-kw+1)``."""
    _, _, height, width = images.shape
    _, _, kh, kw = kernels.shape
    oh, ow = height - kh + 1, width - kw + 1
    out = 0.0
    for i in range(kh):
        for j in range(kw):
            out = out + np.einsum("bchw,oc->bohw", images[:, :, i : i + oh, j : j + ow], kernels[:, :, i, j])
    return out


def maxpool2(x: Any) -> Any:
    b, c, h, w = x.shape
    return np.max(np.reshape(x, (b, c, h // 2, 2, w // 2, 2)), axis=(3, 5))


def logsumexp(a: Any) -> Any:
    top = np.max(a, axis=1, keepdims=True)
    return top + np.log(np.sum(np.exp(a - top), axis=1, keepdims=True))


def predict(params: dict[str, Any], images: Any) -> Any:
    h = np.tanh(conv2d_valid(images, params["conv"]) + params["conv_b"][None, :, None, None])
    h = maxpool2(h)  # (batch, 4, 3, 3)
    h = np.reshape(h, (h.shape[0], -1))
    scores = h @ params["w"] + params["b"]
    return scores - logsumexp(scores)


def loss(params: dict[str, Any], images: Any, labels: Any) -> Any:
    return -np.mean(np.sum(predict(params, images) * labels, axis=1))


def make_data(seed: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = 0.3 * rng.standard_normal((n, 1, 8, 8))
    kind = rng.integers(0, 2, size=n)
    pos = rng.integers(1, 7, size=n)
    for k in range(n):
        if kind[k]:
            images[k, 0, pos[k], :] += 1.0
        else:
            images[k, 0, :, pos[k]] += 1.0
    return images, np.eye(2)[kind]


def init_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"conv": 0.3 * rng.standard_normal((4, 1, 3, 3)), "conv_b": np.zeros(4),
            "w": 0.3 * rng.standard_normal((36, 2)), "b": np.zeros(2)}  # fmt: skip


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    images, labels = make_data(seed, n=3)
    return (lambda p: loss(p, images, labels)), (init_params(np.random.default_rng(seed)),)


def main(seed: int = 0) -> dict[str, float]:
    images, labels = make_data(seed)
    params = init_params(np.random.default_rng(seed))
    initial = float(loss(params, images, labels))
    params = adam(cr.grad(lambda p, it: loss(p, images, labels)), params, num_iters=40, step_size=0.05)
    accuracy = float(np.mean(np.argmax(predict(params, images), axis=1) == np.argmax(labels, axis=1)))
    return {"initial_loss": initial, "final_loss": float(loss(params, images, labels)),
            "train_accuracy": accuracy}  # fmt: skip


if __name__ == "__main__":
    print(main())
