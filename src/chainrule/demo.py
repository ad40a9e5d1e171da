"""``chainrule demo``: backprop on a real network and real data, with the numbers that make its point.

1. Load the handwritten digits bundled with scikit-learn (no download).
2. Build a network (an MLP, or a small CNN) as plain parameter trees.
3. Check its gradient against finite differences ("fast" mode: random
   directional probes) and print the verdict.
4. Compare one full gradient by backprop with the same gradient by finite
   differences: time and number of function evaluations.
5. Train with Adam (the optimizer only consumes the gradients) and report
   accuracy and time per epoch.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import nn
from .check import check_grad
from .derivatives import value_and_grad
from .numerical import grad as numerical_grad
from .optim import adam, apply_updates

__all__ = ["DemoResult", "build_model", "run_demo"]


@dataclass
class DemoResult:
    """What the demo measured, for tests and for the plot."""

    train_accuracy: float
    test_accuracy: float
    seconds_per_epoch: float
    losses: list[float] = field(default_factory=list)
    test_accuracies: list[float] = field(default_factory=list)


def build_model(kind: str) -> nn.Sequential:
    """The demo's networks: ``mlp`` (64-128-64-10, tanh) or ``cnn`` (two 3x3 conv layers)."""
    if kind == "mlp":
        return nn.Sequential(
            nn.Dense(128), nn.Activation(nn.tanh), nn.Dense(64), nn.Activation(nn.tanh), nn.Dense(10)
        )
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2D(16, 3, padding=1), nn.Activation(nn.relu), nn.MaxPool2D(2),
            nn.Conv2D(32, 3, padding=1), nn.Activation(nn.relu), nn.MaxPool2D(2),
            nn.Flatten(), nn.Dense(64), nn.Activation(nn.relu), nn.Dense(10),
        )  # fmt: skip
    raise ValueError(f"unknown model {kind!r}: choose 'mlp' or 'cnn'")


def _accuracy(model: nn.Sequential, params: Any, x: np.ndarray, y: np.ndarray) -> float:
    correct = 0
    for start in range(0, len(x), 512):
        logits = model.apply(params, x[start : start + 512])
        correct += int(np.sum(np.argmax(logits, axis=1) == y[start : start + 512]))
    return correct / len(x)


def _progress(enabled: bool, total: int) -> Any:
    """A rich progress bar on a terminal, or nothing (logs and CI stay clean)."""
    if not (enabled and sys.stdout.isatty()):
        return None
    try:
        from rich.progress import Progress
    except ImportError:  # pragma: no cover - rich is in the demo extra
        return None
    bar = Progress(transient=True)
    bar.start()
    bar.add_task("training", total=total)
    return bar


def run_demo(
    model_kind: str = "mlp",
    epochs: int | None = None,
    seed: int = 0,
    learning_rate: float | None = None,
    batch_size: int = 32,
    plot: str | None = None,
    progress: bool = True,
    compare_finite_differences: bool = True,
    out: Any = None,
) -> DemoResult:
    """Run the demo and print its report; returns what it measured."""
    say = (lambda *a: print(*a, file=out)) if out is not None else print
    epochs = epochs if epochs is not None else (30 if model_kind == "mlp" else 20)
    learning_rate = learning_rate if learning_rate is not None else (3e-3 if model_kind == "mlp" else 2e-3)
    data = nn.load_digits(seed=seed, images=model_kind == "cnn")
    model = build_model(model_kind)
    rng = np.random.default_rng(seed)
    params = model.init(rng, data.x_train.shape[1:])
    # A small positive bias keeps ReLU pre-activations off their kink at 0, which the
    # digits' blank background would otherwise hit exactly (zero patch + zero bias).
    params = [{k: v + 0.01 if k == "b" else v for k, v in layer.items()} for layer in params]
    n_params = sum(p.size for layer in params for p in layer.values())
    say(f"chainrule demo: {model!r}, {n_params} parameters, {len(data.y_train)} training digits")

    def loss(params: Any, x: np.ndarray, y: np.ndarray) -> Any:
        return nn.softmax_cross_entropy(model.apply(params, x), y)

    # 1. Is backprop right? Random directional probes against finite differences.
    xb, yb = data.x_train[:64], data.y_train[:64]
    report = check_grad(loss, params, xb, yb, mode="fast", seed=seed)
    say(f"gradient check (fast mode, {report.evaluations} evaluations): {report.verdict}")

    # 2. The same gradient two ways (on a smaller batch for the CNN: finite
    # differences cost 2 evaluations per parameter, and each costs a forward pass).
    if compare_finite_differences:
        xb, yb = (xb, yb) if model_kind == "mlp" else (xb[:8], yb[:8])
        step = value_and_grad(loss)
        start = time.perf_counter()
        _, g_backprop = step(params, xb, yb)
        t_backprop = time.perf_counter() - start
        calls = [0]

        def counted(*args: Any) -> Any:
            calls[0] += 1
            return loss(*args)

        start = time.perf_counter()
        g_numeric = numerical_grad(counted, params, xb, yb)
        t_numeric = time.perf_counter() - start
        flat_b = np.concatenate([np.ravel(v) for layer in g_backprop for v in layer.values()])
        flat_n = np.concatenate([np.ravel(v) for layer in g_numeric for v in layer.values()])
        say(f"one gradient of {n_params} parameters on a batch of {len(yb)}:")
        say(f"  backprop            {t_backprop * 1e3:9.1f} ms   1 forward + 1 backward pass")
        say(f"  finite differences  {t_numeric * 1e3:9.1f} ms   {calls[0]} evaluations  "
            f"({t_numeric / t_backprop:.0f}x slower)")  # fmt: skip
        say(f"  largest difference  {np.max(np.abs(flat_b - flat_n)):.1e}")

    # 3. Train: the optimizer consumes gradients and never asks where they came from.
    optimizer = adam(learning_rate)
    state = optimizer.init(params)
    step = value_and_grad(loss)
    result = DemoResult(0.0, 0.0, 0.0)
    steps_per_epoch = -(-len(data.y_train) // batch_size)
    bar = _progress(progress, epochs * steps_per_epoch)
    start = time.perf_counter()
    try:
        for epoch in range(epochs):
            total = 0.0
            for xb, yb in nn.batches(data.x_train, data.y_train, batch_size, rng):
                value, grads = step(params, xb, yb)
                updates, state = optimizer.update(grads, state, params)
                params = apply_updates(params, updates)
                total += float(value) * len(yb)
                if bar is not None:
                    bar.advance(bar.task_ids[0])
            result.losses.append(total / len(data.y_train))
            result.test_accuracies.append(_accuracy(model, params, data.x_test, data.y_test))
            if bar is None and (epoch % 5 == 4 or epoch == epochs - 1):
                accuracy = result.test_accuracies[-1]
                say(f"epoch {epoch + 1:3d}  loss {result.losses[-1]:.4f}  test accuracy {accuracy:.1%}")
    finally:
        if bar is not None:
            bar.stop()
    elapsed = time.perf_counter() - start
    result.seconds_per_epoch = elapsed / epochs
    result.train_accuracy = _accuracy(model, params, data.x_train, data.y_train)
    result.test_accuracy = result.test_accuracies[-1]
    say(f"time per epoch: {result.seconds_per_epoch * 1e3:.0f} ms")
    say(f"train accuracy: {result.train_accuracy:.1%}")
    say(f"test accuracy: {result.test_accuracy:.1%}")
    if plot:
        _plot(result, plot)
        say(f"wrote {plot}")
    return result


def _plot(result: DemoResult, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = np.arange(1, len(result.losses) + 1)
    left.plot(epochs, result.losses)
    left.set(xlabel="epoch", ylabel="training loss", title="loss")
    right.plot(epochs, np.array(result.test_accuracies) * 100)
    right.set(xlabel="epoch", ylabel="test accuracy (%)", title="accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
