"""``numpy.linalg`` functions built from other rules: ``matrix_power``, ``multi_dot``, ``tensorsolve``,
``tensorinv``, ``cond``.

Each follows NumPy's own algorithm with traced operations (products, ``inv``,
``solve``, reshapes, ``svd``, norms), so values agree with NumPy's and every
order and mode comes from the rules of the parts.

* ``matrix_power(a, n)``: repeated squaring as NumPy does; ``n < 0`` inverts
  first (needs an invertible ``a``); ``n == 0`` is the identity, a constant.
* ``cond(x, p)``: ``p`` in ``None, 2, -2`` is a ratio of singular values (kinks
  where the extreme singular values tie, as ``svd``'s); other ``p`` are
  ``norm(x, p) * norm(inv(x), p)`` with the norms' own subgradients. A singular
  ``x`` has an infinite condition number; its derivative does not exist, and
  ``inv`` raises ``LinAlgError`` for the ``p`` that need it.
* ``matrix_rank``: an integer, evaluated on the plain value (zero derivative).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..extend import defnondiff, primal, raw_array, refuse_out, register_function
from .spectral_helpers import matrices, real_matrices

__all__: list[str] = []


def _matrix_power(a: Any, n: Any) -> Any:
    # Products and inv only: holomorphic, so complex matrices are supported.
    raw = matrices("numpy.linalg.matrix_power", a, square=True)
    try:
        n = operator.index(n)
    except TypeError as exc:
        raise TypeError(f"numpy.linalg.matrix_power: exponent must be an integer, got {n!r}") from exc
    if n == 0:
        # Constant in a: the identity, as NumPy returns it, carries no derivative.
        return np.broadcast_to(np.eye(raw.shape[-1], dtype=raw.dtype), raw.shape).copy()
    if n < 0:
        a, n = np.linalg.inv(a), -n
    if n == 1:
        return a
    if n == 2:
        return a @ a
    if n == 3:
        return (a @ a) @ a
    # Binary decomposition, the same products in the same order as NumPy's.
    z = result = None
    while n > 0:
        z = a if z is None else z @ z
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else result @ z
    return result


register_function(np.linalg.matrix_power, _matrix_power)


def _chain_order(dims: list[int]) -> list[list[int]]:
    """``split[i][j]``: where the cheapest product of matrices ``i..j`` splits (matrix-chain DP)."""
    count = len(dims) - 1
    cost = [[0] * count for _ in range(count)]
    split = [[0] * count for _ in range(count)]
    for length in range(1, count):
        for i in range(count - length):
            j = i + length
            best = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if best is None or c < best:
                    best, split[i][j] = c, k
            cost[i][j] = best or 0
    return split


def _multiply_chain(arrays: list[Any], split: list[list[int]], i: int, j: int) -> Any:
    if i == j:
        return arrays[i]
    k = split[i][j]
    return _multiply_chain(arrays, split, i, k) @ _multiply_chain(arrays, split, k + 1, j)


def _multi_dot(arrays: Any, *, out: Any = None) -> Any:
    refuse_out("numpy.linalg.multi_dot", out)
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("numpy.linalg.multi_dot: expecting at least two arrays.")
    shapes = [raw_array(x).shape for x in arrays]
    first_1d, last_1d = len(shapes[0]) == 1, len(shapes[-1]) == 1
    if first_1d:
        arrays[0] = np.reshape(arrays[0], (1, -1))
    if last_1d:
        arrays[-1] = np.reshape(arrays[-1], (-1, 1))
    for x in arrays:
        if np.ndim(x) != 2:
            raise np.linalg.LinAlgError(
                "numpy.linalg.multi_dot: the first and last arrays may be 1-D, the others must be 2-D; "
                f"got shapes {shapes}"
            )
    dims = [np.shape(arrays[0])[0]] + [np.shape(x)[1] for x in arrays]
    result = _multiply_chain(arrays, _chain_order(dims), 0, len(arrays) - 1)
    if first_1d and last_1d:
        return result[0, 0]
    if first_1d:
        return result[0]
    if last_1d:
        return result[:, 0]
    return result


register_function(np.linalg.multi_dot, _multi_dot)


def _tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    an = np.ndim(a)
    if axes is not None:
        order = list(range(an))
        for k in axes:
            order.remove(k)
            order.insert(an, k)
        a = np.transpose(a, order)
    oldshape = np.shape(a)[-(an - np.ndim(b)) :]
    size = int(np.prod(oldshape, dtype=np.int64))
    if np.size(primal(a)) != size**2:
        raise np.linalg.LinAlgError(
            "numpy.linalg.tensorsolve: input arrays must satisfy the requirement "
            "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])"
        )
    x = np.linalg.solve(np.reshape(a, (size, size)), np.reshape(b, (-1,)))
    return np.reshape(x, oldshape)


register_function(np.linalg.tensorsolve, _tensorsolve)


def _tensorinv(a: Any, ind: int = 2) -> Any:
    if ind <= 0:
        raise ValueError("numpy.linalg.tensorinv: ind must be a positive integer")
    shape = np.shape(a)
    size = int(np.prod(shape[:ind], dtype=np.int64))
    inverse = np.linalg.inv(np.reshape(a, (size, -1)))
    return np.reshape(inverse, shape[ind:] + shape[:ind])


register_function(np.linalg.tensorinv, _tensorinv)


def _cond(x: Any, p: Any = None) -> Any:
    raw = real_matrices("numpy.linalg.cond", x)
    if raw.size == 0:
        raise np.linalg.LinAlgError("numpy.linalg.cond is not defined on empty arrays")
    if p is None or p in (2, -2):
        s = np.linalg.svd(x, compute_uv=False)
        with np.errstate(all="ignore"):
            return s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    real_matrices("numpy.linalg.cond", x, square=True)
    return np.linalg.norm(x, p, axis=(-2, -1)) * np.linalg.norm(np.linalg.inv(x), p, axis=(-2, -1))


register_function(np.linalg.cond, _cond)

# An integer: piecewise constant in the matrix (it jumps where a singular value crosses the tolerance).
defnondiff(np.linalg.matrix_rank)
