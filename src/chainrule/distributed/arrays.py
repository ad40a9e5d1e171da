"""Gradients of a loss over Dask arrays: chainrule on each chunk, the chunks' results summed by Dask.

A loss over a dataset is a sum (or mean) over its rows, and so is its
gradient. :func:`dask_value_and_grad` splits the data into its row chunks,
runs ``chainrule.value_and_grad`` of the loss on each chunk as one Dask task
(the chunk is read or generated, used and dropped: memory stays bounded by a
few chunks per worker), and adds the per-chunk results in a tree, on
whatever scheduler is active: Dask's threads by default, a
``distributed.Client`` when one exists (a LocalCluster, or a cluster by
address). The parameters are NumPy pytrees; Dask arrays as parameters are
refused (:func:`refuse_dask_parameters`).

:func:`dask_objective` gives ``(fun, grad)`` for
:func:`chainrule.optim.minimize`: one Dask graph per step for both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..derivatives import value_and_grad
from ..pytree import tree_flatten, tree_leaves, tree_unflatten
from .cluster import require_dask
from .parameters import is_dask_array, refuse_dask_parameters

__all__ = ["dask_objective", "dask_value_and_grad"]

_REDUCTIONS = ("mean", "sum")


def dask_value_and_grad(
    loss: Callable[..., Any],
    params: Any,
    *arrays: Any,
    reduction: str = "mean",
    block_rows: int | None = None,
) -> tuple[float, Any]:
    """``(value, gradient)`` of ``loss(params, *arrays)`` over Dask arrays, chunk by chunk.

    Parameters
    ----------
    loss
        ``loss(params, *chunks) -> scalar``, plain NumPy code, where each chunk
        is a NumPy block of rows of the corresponding array. It must be a mean
        (``reduction="mean"``) or a sum (``reduction="sum"``) over the rows
        (axis 0) of its data, so that the loss over all rows is the weighted
        mean (or the sum) of the chunks' losses. A loss that couples rows
        (a batch norm, a median) is not of this form and would be wrong.
    params
        A pytree of float NumPy arrays (the differentiated argument).
    *arrays
        Dask arrays (NumPy arrays are accepted too) with the same number of
        rows. They are rechunked to the row chunks of the first one, whole
        along every other axis.
    reduction
        "mean" (each chunk weighted by its share of the rows) or "sum".
    block_rows
        Differentiate each chunk in blocks of at most this many rows, summed
        in the task: the backward pass keeps the intermediate arrays of one
        block, so a worker's memory is bounded even when a chunk's
        activations (rows x hidden units, several times over) would not fit.

    Returns
    -------
    (float, gradient)
        The value, and the gradient as NumPy arrays in a tree like ``params``
        (float32 leaves stay float32).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(8.0).reshape(4, 2), chunks=(2, 2))
    >>> loss = lambda w, x: np.mean((x @ w) ** 2)
    >>> value, g = dask_value_and_grad(loss, np.array([1.0, -1.0]), x)
    >>> float(value), g  # x @ w = -1 on every row: the gradient is mean(2 (x @ w) x) = -2 mean(x)
    (1.0, array([-6., -8.]))
    """
    graph = _graph(loss, params, arrays, reduction, block_rows)
    (total,) = _dask().compute(graph)
    return _split(total, params)


def dask_objective(
    loss: Callable[..., Any],
    *arrays: Any,
    reduction: str = "mean",
    persist: bool = True,
    block_rows: int | None = None,
) -> tuple[Callable[[Any], float], Callable[[Any], Any]]:
    """``(fun, grad)`` of ``params -> loss`` over Dask arrays, for :func:`chainrule.optim.minimize`.

    ``minimize(fun, x0, gradient=grad)``: each step computes value and
    gradient in one Dask graph (``fun`` computes both and keeps the gradient
    for ``grad`` at the same parameters). With ``persist`` (the default) the
    data is computed once and kept in the cluster's memory
    (``dask.persist``); pass ``persist=False`` for data larger than the
    cluster's memory, which is then re-read (or regenerated) at each step.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from chainrule.optim import minimize
    >>> x = da.from_array(np.array([[1.0], [2.0], [3.0]]), chunks=(2, 1))
    >>> fun, grad = dask_objective(lambda w, x: np.mean((x[:, 0] * w[0] - 2.0 * x[:, 0]) ** 2), x)
    >>> result = minimize(fun, np.zeros(1), gradient=grad, progress=False)
    >>> np.round(result.x, 6)
    array([2.])
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction= must be 'mean' or 'sum', not {reduction!r}")
    dask = _dask()
    data = tuple(dask.persist(*_aligned(arrays))) if persist else arrays
    last: dict[str, Any] = {}

    def _evaluate(params: Any) -> tuple[float, Any]:
        key = [np.asarray(leaf).tobytes() for leaf in tree_leaves(params)]
        if last.get("key") != key:
            last["key"], last["result"] = (
                key,
                dask_value_and_grad(loss, params, *data, reduction=reduction, block_rows=block_rows),
            )
        result: tuple[float, Any] = last["result"]
        return result

    def fun(params: Any) -> float:
        return _evaluate(params)[0]

    def grad(params: Any) -> Any:
        return _evaluate(params)[1]

    return fun, grad


# -- the graph ----------------------------------------------------------------------------


def _dask() -> Any:
    require_dask("chainrule.distributed.dask_value_and_grad", "dask.array")
    import dask

    return dask


def _aligned(arrays: Sequence[Any]) -> list[Any]:
    """The arrays as Dask arrays with common row chunks, each whole along its other axes."""
    require_dask("chainrule.distributed.dask_value_and_grad", "dask.array")
    import dask.array as da

    if not arrays:
        raise TypeError("dask_value_and_grad needs at least one data array after params")
    out = []
    for k, a in enumerate(arrays):
        a = a if is_dask_array(a) else da.asarray(a)
        if a.ndim == 0:
            raise ValueError(f"data array {k} is a scalar; the data must have rows (axis 0)")
        if any(np.isnan(c) for c in a.chunks[0]):
            raise ValueError(
                f"data array {k} has unknown chunk sizes (after a boolean mask or similar): call "
                "x.compute_chunk_sizes() first, so that each chunk's weight is known"
            )
        out.append(a)
    rows = out[0].shape[0]
    for k, a in enumerate(out[1:], 1):
        if a.shape[0] != rows:
            raise ValueError(
                f"data array {k} has {a.shape[0]} rows and array 0 has {rows}: the arrays are rows "
                "of one dataset and must have as many"
            )
    chunks = out[0].chunks[0]
    return [a.rechunk((chunks, *(-1 for _ in range(a.ndim - 1)))) for a in out]


def _chunk(loss: Callable[..., Any], params: Any, weight: float, block_rows: int | None, reduction: str,
           *blocks: np.ndarray) -> np.ndarray:  # fmt: skip
    """One chunk's ``weight * [value, gradient...]`` as one flat float64 vector (a Dask task)."""
    rows = len(blocks[0])
    step = rows if block_rows is None else max(1, block_rows)
    total = None
    for start in range(0, rows, step):
        part = [b[start : start + step] for b in blocks]
        value, g = value_and_grad(loss)(params, *part)
        leaves = [np.ravel(np.asarray(leaf, dtype=np.float64)) for leaf in tree_leaves(g)]
        share = len(part[0]) / rows if reduction == "mean" else 1.0
        vector = share * np.concatenate([np.atleast_1d(np.float64(value)), *leaves])
        total = vector if total is None else total + vector
    if total is None:  # an empty chunk
        return np.zeros(1 + sum(int(np.size(leaf)) for leaf in tree_leaves(params)))
    return weight * total


def _graph(
    loss: Callable[..., Any], params: Any, arrays: Sequence[Any], reduction: str, block_rows: int | None
) -> Any:
    if block_rows is not None and (not isinstance(block_rows, int) or block_rows < 1):
        raise ValueError(f"block_rows= must be a positive int or None, not {block_rows!r}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction= must be 'mean' or 'sum', not {reduction!r}")
    refuse_dask_parameters(params, "dask_value_and_grad")
    if not tree_leaves(params):
        raise ValueError("dask_value_and_grad: params has no leaves to differentiate")
    dask = _dask()
    data = _aligned(arrays)
    rows = data[0].shape[0]
    blocks = [a.to_delayed().reshape(-1) for a in data]
    sizes = data[0].chunks[0]
    shared = dask.delayed(params, traverse=False)  # one key, not a copy in every task
    task = dask.delayed(_chunk, pure=True)
    parts = [
        task(
            loss,
            shared,
            (size / rows) if reduction == "mean" else 1.0,
            block_rows,
            reduction,
            *(b[i] for b in blocks),
        )
        for i, size in enumerate(sizes)
    ]
    add = dask.delayed(np.add, pure=True)
    while len(parts) > 1:  # a tree of sums: no task holds more than two partial results
        pairs = [parts[i : i + 2] for i in range(0, len(parts), 2)]
        parts = [add(*pair) if len(pair) == 2 else pair[0] for pair in pairs]
    return parts[0]


def _split(total: np.ndarray, params: Any) -> tuple[float, Any]:
    leaves, treedef = tree_flatten(params)
    out, pos = [], 1
    for leaf in leaves:
        arr = np.asarray(leaf)
        dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float64)
        piece = total[pos : pos + arr.size].reshape(arr.shape).astype(dtype)
        out.append(piece[()] if isinstance(leaf, float) else piece)
        pos += arr.size
    return float(total[0]), tree_unflatten(treedef, out)
