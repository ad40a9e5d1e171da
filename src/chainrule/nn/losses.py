"""Loss functions: scalar means over a batch, stable for large logits.

The cross-entropies take *logits* (unnormalized scores), never
probabilities, so that ``log`` is never taken of an underflowed 0:
softmax cross-entropy uses ``log_softmax`` (max-subtracted) and binary
cross-entropy uses ``softplus(z) - y * z`` with ``softplus`` as
``logaddexp(0, z)``. With logits of magnitude 1000 the loss and its gradient
stay finite. Huber's kink at ``|r| = delta`` is differentiable (the two
pieces meet with equal slope).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import primal
from .activations import log_softmax, softplus
from .validation import indices, real, same_shape

__all__ = ["binary_cross_entropy", "huber", "mse", "softmax_cross_entropy"]


def softmax_cross_entropy(logits: Any, labels: Any) -> Any:
    """Mean of ``-log softmax(logits)[label]`` over the batch.

    Parameters
    ----------
    logits
        ``(N, K)`` scores.
    labels
        ``(N,)`` integer class ids, or ``(N, K)`` one-hot (or any probability) rows.

    Examples
    --------
    >>> round(float(softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))), 6)
    0.693147
    """
    labels_arr = labels if hasattr(labels, "dtype") else np.asarray(labels)
    if np.issubdtype(labels_arr.dtype, np.integer):
        if np.ndim(logits) != 2:
            raise ValueError(
                f"softmax_cross_entropy: integer labels need logits of shape (N, K), got {np.shape(logits)}"
            )
        n, k = np.shape(logits)
        if np.shape(labels_arr) != (n,):
            raise ValueError(
                f"softmax_cross_entropy: integer labels must have shape ({n},) for logits of shape "
                f"{np.shape(logits)}; got {np.shape(labels_arr)}"
            )
        labels_arr = indices("softmax_cross_entropy", "labels", labels_arr, k, what="class")
        logp = log_softmax(logits, axis=-1)
        return -np.mean(logp[np.arange(n), labels_arr])
    if np.shape(labels_arr) != np.shape(logits):
        raise ValueError(
            f"softmax_cross_entropy: one-hot labels must have the logits' shape {np.shape(logits)}; "
            f"got {np.shape(labels_arr)}"
        )
    logp = log_softmax(logits, axis=-1)
    return -np.mean(np.sum(labels_arr * logp, axis=-1))


def binary_cross_entropy(logits: Any, targets: Any) -> Any:
    """Mean of ``-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))]`` from logits ``z``.

    >>> round(float(binary_cross_entropy(np.array([0.0]), np.array([1.0]))), 6)
    0.693147
    """
    same_shape("binary_cross_entropy", logits, targets)
    t = np.asarray(primal(targets))
    if t.dtype.kind not in "biuf" or (t.size and not (np.min(t) >= 0.0 and np.max(t) <= 1.0)):
        raise ValueError("binary_cross_entropy: targets must be probabilities in [0, 1] (labels 0/1 or soft "
                         "labels); logits are the first argument")  # fmt: skip
    return np.mean(softplus(logits) - targets * logits)


def mse(predictions: Any, targets: Any) -> Any:
    """Mean squared error.

    >>> float(mse(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
    5.0
    """
    same_shape("mse", predictions, targets)
    r = predictions - targets
    return np.mean(r * r)


def huber(predictions: Any, targets: Any, delta: float = 1.0) -> Any:
    """Mean Huber loss: ``r**2 / 2`` for ``|r| <= delta``, ``delta * (|r| - delta / 2)`` beyond.

    >>> float(huber(np.array([0.5, 3.0]), np.array([0.0, 0.0])))
    1.3125
    """
    delta = real("huber", "delta", delta, 0.0, low_open=True, hint="the residual where the loss turns linear")
    same_shape("huber", predictions, targets)
    r = predictions - targets
    a = np.abs(r)
    return np.mean(np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)))
