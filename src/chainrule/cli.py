"""The ``chainrule`` command (also ``python -m chainrule``).

``chainrule demo`` makes the library's point with real numbers: it fits a
softmax classifier to the handwritten digits bundled with scikit-learn,
compares one gradient by backprop with the same gradient by finite
differences (time and evaluation count), and reports test accuracy.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .transforms import value_and_grad

__all__ = ["main"]


def _load_digits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - the demo extra installs it
        raise SystemExit("chainrule demo needs scikit-learn: pip install 'chainrule[demo]'") from exc
    data = load_digits()
    x = data.data / 16.0
    y = data.target
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    split = int(0.8 * len(y))
    return x[:split], y[:split], x[split:], y[split:]


def _softmax_cross_entropy(params: dict[str, Any], x: np.ndarray, onehot: np.ndarray) -> Any:
    logits = x @ params["w"] + params["b"]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(onehot * log_probs) / x.shape[0] + 1e-4 * np.sum(params["w"] ** 2)


def _finite_difference_grad(f: Any, params: dict[str, np.ndarray], h: float = 1e-6) -> tuple[dict[str, np.ndarray], int]:
    grads, evaluations = {}, 0
    for key, value in params.items():
        g = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[key][index] += h
            up = f(shifted)
            shifted[key][index] -= 2 * h
            down = f(shifted)
            g[index] = (up - down) / (2 * h)
            evaluations += 2
        grads[key] = g
    return grads, evaluations


def demo(epochs: int = 30, seed: int = 0) -> float:
    """Run the demo; returns the test accuracy."""
    x_train, y_train, x_test, y_test = _load_digits(seed)
    onehot = np.eye(10)[y_train]
    rng = np.random.default_rng(seed)
    params = {"w": rng.standard_normal((64, 10)) * 0.01, "b": np.zeros(10)}
    loss = lambda p: _softmax_cross_entropy(p, x_train, onehot)
    step = value_and_grad(loss)

    start = time.perf_counter()
    _, g_backprop = step(params)
    t_backprop = time.perf_counter() - start
    start = time.perf_counter()
    g_numeric, evaluations = _finite_difference_grad(loss, params)
    t_numeric = time.perf_counter() - start
    worst = max(float(np.max(np.abs(g_backprop[k] - g_numeric[k]))) for k in params)
    n = sum(v.size for v in params.values())
    print(f"One gradient of {n} parameters on {len(y_train)} digits:")
    print(f"  backprop:            1 forward + 1 backward pass, {t_backprop * 1e3:8.2f} ms")
    print(f"  finite differences:  {evaluations} evaluations,        {t_numeric * 1e3:8.2f} ms")
    print(f"  largest difference:  {worst:.2e}")

    learning_rate = 0.5
    for epoch in range(epochs):
        value, g = step(params)
        params = {k: params[k] - learning_rate * g[k] for k in params}
        if epoch % 10 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d}  loss {float(value):.4f}")
    predictions = np.argmax(x_test @ params["w"] + params["b"], axis=1)
    accuracy = float(np.mean(predictions == y_test))
    print(f"test accuracy: {accuracy * 100:.1f}%")
    return accuracy


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Derivatives of plain NumPy code by backpropagation, checked by finite differences.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="fit a classifier to handwritten digits, comparing backprop with finite differences")
    p_demo.add_argument("--epochs", type=int, default=100, help="full-batch gradient steps (default 100)")
    p_demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(epochs=args.epochs, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
