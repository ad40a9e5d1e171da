"""The demo's picture: training loss, test accuracy, and the cost of a gradient versus N."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from . import DemoResult

__all__ = ["plot_result"]


def plot_result(result: DemoResult, path: str) -> None:
    """Write the loss and accuracy curves, and (when measured) the cost-versus-N panel, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if result.cost else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 3.6))
    epochs = np.arange(1, len(result.losses) + 1)
    axes[0].plot(epochs, result.losses, ".-")
    axes[0].set(xlabel="epoch", ylabel="training loss", title="loss")
    axes[1].plot(epochs, np.array(result.test_accuracies) * 100, ".-")
    axes[1].set(xlabel="epoch", ylabel="test accuracy (%)", title="accuracy")
    if result.cost:
        ax = axes[2]
        n = np.array([p.parameters for p in result.cost])
        ax.loglog(n, [p.finite_difference_seconds for p in result.cost], "o-",
                  label="finite differences: (2N+1) x f")  # fmt: skip
        ax.loglog(n, [p.backprop_seconds for p in result.cost], "s-", label="backprop (measured)")
        ax.loglog(n, [p.function_seconds for p in result.cost], ":", color="grey", label="f alone")
        if result.finite_difference_point is not None:
            n_fd, seconds = result.finite_difference_point
            ax.loglog([n_fd], [seconds], "k*", markersize=10, label="finite differences (measured)")
        ax.set(xlabel="parameters N", ylabel="seconds per gradient", title="cost of one gradient")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
