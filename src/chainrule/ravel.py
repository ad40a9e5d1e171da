"""One flat vector for a whole parameter tree, and back (JAX's ``ravel_pytree``, autograd's ``flatten``).

Optimizers and solvers written for vectors (SciPy's, a hand-written Newton
step, ``np.linalg.solve`` on a Hessian) then work on trees of parameters.
Both directions are written with NumPy operations, so they are
differentiable: ``unflatten`` may run inside the function being differentiated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .pytree import tree_flatten, tree_unflatten

__all__ = ["flatten", "ravel_pytree"]


def ravel_pytree(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """``(vector, unflatten)``: the leaves of ``tree`` raveled and joined, and the way back.

    The vector has the leaves' common dtype (``np.result_type``), its entries
    in flattening order (dict keys sorted). ``unflatten(v)`` rebuilds a tree of
    the same structure, each leaf with its shape and dtype, from any vector of
    the right length (a traced one too).

    Examples
    --------
    >>> import numpy as np
    >>> v, unflatten = ravel_pytree({"w": np.ones((2, 2)), "b": np.zeros(2)})
    >>> v
    array([0., 0., 1., 1., 1., 1.])
    >>> unflatten(np.arange(6.0))["w"]
    array([[2., 3.],
           [4., 5.]])
    """
    leaves, treedef = tree_flatten(tree)
    shapes = [np.shape(leaf) for leaf in leaves]
    dtypes = [np.result_type(leaf) for leaf in leaves]
    sizes = [int(np.prod(shape)) for shape in shapes]
    total = sum(sizes)
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    if leaves:
        vector = np.concatenate([np.reshape(leaf, -1) for leaf in leaves])
        if vector.dtype != dtype:
            vector = vector.astype(dtype)
    else:
        vector = np.zeros(0, dtype=dtype)

    def unflatten(v: Any) -> Any:
        if np.ndim(v) != 1 or np.shape(v)[0] != total:
            raise ValueError(
                f"unflatten: expected a vector of length {total} (the size of the tree "
                f"{treedef!r}), got shape {np.shape(v)}"
            )
        out = []
        start = 0
        for shape, size, leaf_dtype in zip(shapes, sizes, dtypes):
            piece = np.reshape(v[start : start + size], shape)
            if piece.dtype != leaf_dtype:
                piece = piece.astype(leaf_dtype)
            out.append(piece)
            start += size
        return tree_unflatten(treedef, out)

    return vector, unflatten


def flatten(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """HIPS autograd's name for :func:`ravel_pytree` (``autograd.misc.flatten``)."""
    return ravel_pytree(tree)
