"""Data helpers: shuffled minibatches, and the digits data set that ships with scikit-learn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .validation import count, generator

__all__ = ["Digits", "batches", "load_digits"]


def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator, drop_last: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(x_batch, y_batch)`` pairs covering one shuffled pass over the data.

    Examples
    --------
    >>> xb = list(batches(np.arange(5.0), np.arange(5), 2, np.random.default_rng(0)))
    >>> [len(b[0]) for b in xb]
    [2, 2, 1]
    """
    n = len(x)
    if len(y) != n:
        raise ValueError(f"batches: x has {n} rows but y has {len(y)}")
    batch_size = count("batches", "batch_size", batch_size)
    generator("batches", "rng", rng)
    order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]


class Digits(NamedTuple):
    """Train and test splits of the 8x8 handwritten digits, pixels scaled to [0, 1]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(
    test_fraction: float = 0.2, seed: int = 0, images: bool = False, dtype: Any = np.float64
) -> Digits:
    """The 1797 handwritten digits bundled with scikit-learn (no download).

    Parameters
    ----------
    test_fraction
        Share of the samples held out, chosen by a seeded permutation.
    seed
        Seed of that permutation.
    images
        ``False``: rows of 64 pixels; ``True``: ``(N, 1, 8, 8)`` images for convolutions.
    dtype
        Floating dtype of the pixels; labels are ``int64`` in 0..9.
    """
    from sklearn.datasets import load_digits as _load

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"load_digits: test_fraction must be in (0, 1), got {test_fraction!r}")
    data = _load()
    x = (data.data / 16.0).astype(dtype)
    y = data.target.astype(np.int64)
    if images:
        x = x.reshape(-1, 1, 8, 8)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return Digits(x[train], y[train], x[test], y[test])
