"""Derivative rules of linear algebra: products, einsum, and the numpy.linalg solvers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import defjvp, defvjp
from .broadcasting import unbroadcast


def _matmul_vjp_a(ans: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 2 and np.ndim(b) == 2:
        return lambda g: g @ np.swapaxes(b, -1, -2)
    return lambda g: _matmul_grads(g, a, b, 0)


def _matmul_vjp_b(ans: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 2 and np.ndim(b) == 2:
        return lambda g: np.swapaxes(a, -1, -2) @ g
    return lambda g: _matmul_grads(g, a, b, 1)


def _matmul_grads(g: Any, a: Any, b: Any, which: int) -> Any:
    """Cotangent of ``a`` (which=0) or ``b`` for 1-D and batched operands."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 1 and b_nd == 1:
        return g * (b if which == 0 else a)
    A = a if a_nd > 1 else np.reshape(a, (1, -1))
    B = b if b_nd > 1 else np.reshape(b, (-1, 1))
    G = g
    if a_nd == 1:
        G = np.expand_dims(G, -2)
    if b_nd == 1:
        G = np.expand_dims(G, -1)
    if which == 0:
        r = unbroadcast(G @ np.swapaxes(B, -1, -2), np.shape(A))
        return np.reshape(r, np.shape(a))
    r = unbroadcast(np.swapaxes(A, -1, -2) @ G, np.shape(B))
    return np.reshape(r, np.shape(b))


defvjp(np.matmul, _matmul_vjp_a, _matmul_vjp_b)
defjvp(np.matmul, lambda t, ans, a, b: t @ b, lambda t, ans, a, b: a @ t)
# matmul broadcasts batch dimensions itself; its rules undo that, not the engine.
np_matmul_prim = defvjp(np.matmul)
np_matmul_prim.broadcasts = False
