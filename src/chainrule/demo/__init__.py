"""``chainrule demo``: backprop on a real network and real data, with the numbers that make its point.

1. Load the handwritten digits bundled with scikit-learn (no download).
2. Build a network (an MLP, or a small CNN) as plain parameter trees.
3. Check its gradient against finite differences ("fast" mode: random
   directional probes) and print the verdict.
4. Compare one full gradient by backprop (the median of repeated runs) with
   the same gradient by finite differences (2N+1 evaluations, with a progress
   bar and a running estimate of their cost), and say why they differ.
   With ``distributed`` (``chainrule demo --distributed [ADDRESS]``), the
   finite differences run again on a Dask cluster (a LocalCluster, or the
   scheduler at ADDRESS) and the speed-up is reported
   (:mod:`chainrule.demo.distributed`).
5. Train with Adam (the optimizer only consumes the gradients) and report
   accuracy and time per epoch; ``plot=PATH`` also draws the cost of one
   gradient versus the number of parameters N.

Needs the demo extra (scikit-learn for the digits, rich for progress bars,
matplotlib for the plot): ``pip install "chainrule[demo]"``. Without it,
:func:`run_demo` raises :class:`MissingExtraError` saying so.
"""

from __future__ import annotations

import io
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from .. import nn
from ..check import check_grad
from ..derivatives import value_and_grad
from ..distributed.cluster import require_dask
from ..numerical import grad as numerical_grad
from ..optim import adam, apply_updates
from .cost import CostPoint, cost_versus_n
from .distributed import distributed_finite_differences
from .plot import plot_result
from .progress import EvaluationProgress
from .timing import median_seconds, single_threaded_blas

__all__ = ["DemoResult", "MissingExtraError", "build_model", "run_demo"]

INSTALL_HINT = 'pip install "chainrule[demo]"'

WHY = (
    "why: finite differences perturb one parameter at a time, f(x+h*e_i) and f(x-h*e_i) for "
    "each of the N parameters plus f(x) once, so 2N+1 evaluations; backprop gets all N partial "
    "derivatives from one forward and one backward pass, about 3 function costs whatever N is."
)


class MissingExtraError(ImportError):
    """The demo needs a package from the ``demo`` extra that is not installed."""


@dataclass
class DemoResult:
    """What the demo measured, for tests and for the plot."""

    train_accuracy: float
    test_accuracy: float
    seconds_per_epoch: float
    losses: list[float] = field(default_factory=list)
    test_accuracies: list[float] = field(default_factory=list)
    backprop_seconds: float = 0.0
    function_seconds: float = 0.0
    finite_difference_seconds: float = 0.0
    finite_difference_cpu_seconds: float = 0.0
    finite_difference_evaluations: int = 0
    cost: list[CostPoint] = field(default_factory=list)
    finite_difference_point: tuple[int, float] | None = None
    distributed_seconds: float = 0.0
    distributed_workers: int = 0


def require_extra(plot: bool) -> None:
    """Raise :class:`MissingExtraError` naming the install command if a demo package is missing."""
    needed = ["sklearn"] + (["matplotlib"] if plot else [])
    for module in needed:
        try:
            __import__(module)
        except ImportError:
            name = {"sklearn": "scikit-learn"}.get(module, module)
            message = f"the demo needs {name}, which is not installed: {INSTALL_HINT}"
            raise MissingExtraError(message) from None


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
    out: TextIO | None = None,
    distributed: str | None = None,
) -> DemoResult:
    """Run the demo and print its report; returns what it measured.

    ``distributed``: also run the finite differences on Dask, on a new
    LocalCluster (``"local"``) or on the cluster whose scheduler is at this
    address, and report the speed-up.

    Raises :class:`MissingExtraError` (before any work) when scikit-learn, or
    matplotlib for ``plot``, is not installed, and
    :class:`~chainrule.distributed.MissingDaskError` when ``distributed`` is
    given without Dask.
    """
    require_extra(plot=bool(plot))
    if distributed is not None:
        require_dask("chainrule demo --distributed")
    with single_threaded_blas():
        return _run(model_kind, epochs, seed, learning_rate, batch_size, plot, progress,
                    compare_finite_differences, out, distributed)  # fmt: skip


def _run(
    model_kind: str,
    epochs: int | None,
    seed: int,
    learning_rate: float | None,
    batch_size: int,
    plot: str | None,
    progress: bool,
    compare_finite_differences: bool,
    out: TextIO | None,
    distributed: str | None = None,
) -> DemoResult:
    stream = out if out is not None else sys.stdout

    def say(*parts: Any) -> None:
        print(*parts, file=stream)

    epochs = epochs if epochs is not None else (30 if model_kind == "mlp" else 20)
    learning_rate = learning_rate if learning_rate is not None else (3e-3 if model_kind == "mlp" else 2e-3)
    data = nn.load_digits(seed=seed, images=model_kind == "cnn")
    model = build_model(model_kind)
    rng = np.random.default_rng(seed)
    params = model.init(rng, data.x_train.shape[1:])
    # A small positive bias keeps ReLU pre-activations off their kink at 0, which the
    # digits' blank background would otherwise hit exactly (zero patch + zero bias).
    params = [{k: v + 0.01 if k == "b" else v for k, v in layer.items()} for layer in params]
    n_params = sum(int(p.size) for layer in params for p in layer.values())
    say(f"chainrule demo: {n_params} parameters, {len(data.y_train)} training digits")
    for line in textwrap.wrap(f"network: {model!r}", 78, initial_indent="  ", subsequent_indent="    "):
        say(line)

    def loss(params: Any, x: np.ndarray, y: np.ndarray) -> Any:
        return nn.softmax_cross_entropy(model.apply(params, x), y)

    # 1. Is backprop right? Random directional probes against finite differences.
    xb, yb = data.x_train[:64], data.y_train[:64]
    report = check_grad(loss, params, xb, yb, mode="fast", seed=seed)
    say(f"gradient check (fast mode, {report.evaluations} evaluations): {report.verdict}")
    result = DemoResult(0.0, 0.0, 0.0)

    # 2. The same gradient two ways (on a smaller batch for the CNN: finite
    # differences cost 2 evaluations per parameter, and each costs a forward pass).
    if compare_finite_differences:
        xb, yb = (xb, yb) if model_kind == "mlp" else (xb[:8], yb[:8])
        g_numeric = _compare(loss, params, xb, yb, n_params, result, say, stream, progress)
        if distributed is not None:
            address = None if distributed == "local" else distributed
            result.distributed_seconds, result.distributed_workers = distributed_finite_differences(
                loss, (params, xb, yb), (g_numeric, result.finite_difference_seconds),
                result.backprop_seconds, address, say, stream, progress, result.function_seconds,
                serial_cpu_seconds=result.finite_difference_cpu_seconds,
            )  # fmt: skip
        if model_kind == "mlp":  # the measured point on the plot's curve (same network family)
            result.finite_difference_point = (n_params, result.finite_difference_seconds)
    if plot:
        flat = data.x_train[:64].reshape(64, -1)
        result.cost = cost_versus_n(flat, data.y_train[:64], seed=seed)

    # 3. Train: the optimizer consumes gradients and never asks where they came from.
    params = _train(model, loss, params, data, epochs, learning_rate, batch_size, rng, progress, result, say)
    result.train_accuracy = _accuracy(model, params, data.x_train, data.y_train)
    result.test_accuracy = result.test_accuracies[-1]
    say(f"time per epoch: {result.seconds_per_epoch * 1e3:.0f} ms")
    say(f"train accuracy: {result.train_accuracy:.1%}")
    say(f"test accuracy: {result.test_accuracy:.1%}")
    if plot:
        plot_result(result, plot)
        say(f"wrote {plot}")
    return result


def _compare(
    loss: Callable[..., Any],
    params: Any,
    xb: np.ndarray,
    yb: np.ndarray,
    n_params: int,
    result: DemoResult,
    say: Callable[..., None],
    stream: TextIO,
    progress: bool,
) -> Any:
    """One gradient by backprop (median of repeats) and by central differences (2N+1 calls).

    Returns the finite-difference gradient.
    """
    step = value_and_grad(loss)
    result.function_seconds = median_seconds(lambda: loss(params, xb, yb))
    result.backprop_seconds = median_seconds(lambda: step(params, xb, yb))
    _, g_backprop = step(params, xb, yb)
    say(f"one gradient of N = {n_params} parameters on a batch of {len(yb)} (median of repeated runs):")
    say(f"  the function alone  {result.function_seconds * 1e3:9.2f} ms")
    say(f"  backprop            {result.backprop_seconds * 1e3:9.2f} ms   forward + backward "
        f"= {result.backprop_seconds / result.function_seconds:.1f} function costs")  # fmt: skip
    total = 2 * n_params + 1
    # A live bar on a terminal, a line per quarter in a log, nothing when progress is off.
    shown = stream if progress else io.StringIO()
    bar = EvaluationProgress(total, result.backprop_seconds, out=shown, live=None if progress else False)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        g_numeric = numerical_grad(bar.wrap(loss), params, xb, yb)
    finally:
        bar.close()
    result.finite_difference_seconds = time.perf_counter() - start
    result.finite_difference_cpu_seconds = time.process_time() - cpu
    result.finite_difference_evaluations = bar.calls
    flat_b = np.concatenate([np.ravel(v) for layer in g_backprop for v in layer.values()])
    flat_n = np.concatenate([np.ravel(v) for layer in g_numeric for v in layer.values()])
    ratio = result.finite_difference_seconds / result.backprop_seconds
    say(f"  finite differences  {result.finite_difference_seconds * 1e3:9.0f} ms   "
        f"{bar.calls} evaluations = 2N+1 ({ratio:,.0f}x slower)")  # fmt: skip
    say(f"  largest difference  {np.max(np.abs(flat_b - flat_n)):.1e}")
    for line in textwrap.wrap(WHY, width=78, initial_indent="  ", subsequent_indent="  "):
        say(line)
    return g_numeric


def _train(
    model: nn.Sequential,
    loss: Callable[..., Any],
    params: Any,
    data: nn.Digits,
    epochs: int,
    learning_rate: float,
    batch_size: int,
    rng: np.random.Generator,
    progress: bool,
    result: DemoResult,
    say: Callable[..., None],
) -> Any:
    """Adam on mini-batches; records the loss and test accuracy of each epoch in ``result``."""
    optimizer = adam(learning_rate)
    state = optimizer.init(params)
    step = value_and_grad(loss)
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
    result.seconds_per_epoch = (time.perf_counter() - start) / epochs
    return params
